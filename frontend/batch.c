/* batch.c — the batch dims of a matrix product: `[B, M, K] @ [B, K, N]`,
 * with the leading dims broadcast as NumPy does (right-aligned, a literal 1
 * stretches, a missing dim is added).  A mismatch names both shapes. */
#include "frontend.h"

bool sema_check_matmul_batch(Sema *s, const IrNode *a, const IrNode *b, SrcLoc at) {
  int nbatch;
  Dim batch[IR_MAX_RANK * 2];
  if (a->rank > IR_MAX_RANK || b->rank > IR_MAX_RANK) return false;
  if (ir_matmul_batch(a, b, &nbatch, batch)) {
    int rank = nbatch + (a->rank >= 2) + (b->rank >= 2);
    if (rank <= IR_MAX_RANK) return true;
    sema_error(s, at, "matrix product has rank %d, above the limit of %d", rank, IR_MAX_RANK);
    return false;
  }
  int na = a->rank > 2 ? a->rank - 2 : 0, nb = b->rank > 2 ? b->rank - 2 : 0, n = na > nb ? na : nb;
  for (int i = 0; i < n; i++) {
    int ia = i - (n - na), ib = i - (n - nb);
    if (ia < 0 || ib < 0) continue;
    Dim da = a->shape[ia], db = b->shape[ib];
    if (da == db || dim_is_one(da) || dim_is_one(db)) continue;
    char ta[256], tb[256], sa[64], sb[64];
    dim_snprint(s->m->dims, da, sa, sizeof sa);
    dim_snprint(s->m->dims, db, sb, sizeof sb);
    sema_error(s, at, "matrix product %s @ %s: batch dims %s and %s do not broadcast", sema_type_text(s, a, ta, sizeof ta),
               sema_type_text(s, b, tb, sizeof tb), sa, sb);
    return false;
  }
  ice("batch dims that broadcast and do not");
}
