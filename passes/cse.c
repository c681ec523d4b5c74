/* cse.c — common subexpression elimination.
 *
 * Requires: a verified function.  Preserves: results bit for bit; the
 * earliest node of each class survives, so diagnostics and golden tests keep
 * the first source location.  Breaks: nothing; replaced nodes are dropped.
 * Constants compare by bits (so 0.0 and -0.0 stay apart, NaNs with equal
 * payloads merge).  The operands of a commutative op (F_COMM in ops.def)
 * compare as an unordered pair, so b * a merges with a * b: IEEE results of
 * these ops do not depend on operand order (texc's max and min are IEEE
 * maximum/minimum, which order -0 below +0; a NaN's payload is unspecified). */
#include <string.h>

#include "passes.h"

static bool same_attr(const IrNode *a, const IrNode *b) {
  switch (op_info[a->op].attr) {
  case ATTR_NONE: return true;
  case ATTR_INDEX: return a->attr.i == b->attr.i;
  case ATTR_VALUE: return memcmp(&a->attr.f, &b->attr.f, sizeof(double)) == 0 && a->attr.i == b->attr.i;
  case ATTR_DIM: return a->attr.dim == b->attr.dim;
  case ATTR_CALLEE: return a->attr.callee == b->attr.callee;
  case ATTR_REGION: return a->attr.region == b->attr.region;
  case ATTR_BODY: return false; /* loops are never merged (cse_func skips them) */
  case ATTR_BRANCHES: return false; /* nor ifs */
  case ATTR_AXES:
  case ATTR_REDUCE:
    return a->attr.naxes == b->attr.naxes && a->attr.keepdims == b->attr.keepdims &&
           memcmp(a->attr.axes, b->attr.axes, sizeof(int64_t) * (size_t)a->attr.naxes) == 0;
  }
  return false;
}

static bool commutes(const IrNode *n) { return (op_info[n->op].flags & F_COMM) && n->nargs == 2; }

static bool same_args(const IrNode *a, const IrNode *b) {
  bool same = true;
  for (int i = 0; i < a->nargs; i++) same = same && a->args[i] == b->args[i];
  return same || (commutes(a) && a->args[0] == b->args[1] && a->args[1] == b->args[0]);
}

static bool equivalent(const IrNode *a, const IrNode *b) {
  if (a->op != b->op || a->dtype != b->dtype || a->nargs != b->nargs || !ir_same_shape(a, b)) return false;
  return same_args(a, b) && same_attr(a, b);
}

static uint64_t node_hash(const IrNode *n) {
  uint64_t h = (uint64_t)n->op * 0x9E3779B97F4A7C15ull ^ (uint64_t)n->dtype;
  bool swap = commutes(n) && (uintptr_t)n->args[0] > (uintptr_t)n->args[1]; /* an unordered pair */
  for (int i = 0; i < n->nargs; i++) h = (h ^ (uint64_t)(uintptr_t)n->args[swap ? 1 - i : i]) * 0x100000001B3ull;
  if (op_info[n->op].attr == ATTR_VALUE) {
    uint64_t bits;
    memcpy(&bits, &n->attr.f, sizeof bits);
    h = (h ^ bits ^ (uint64_t)n->attr.i) * 0x100000001B3ull;
  }
  return h;
}

static void cse_func(void *ctx, IrFunc *f) {
  (void)ctx;
  int cap = 1;
  while (cap < f->body.len * 2) cap *= 2;
  IrNode **table = tex_calloc((size_t)cap, sizeof(IrNode *));
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    for (int j = 0; j < n->nargs; j++) n->args[j] = ir_resolve(n->args[j]);
    if (n->op == OP_PARAM || n->op == OP_CALL || n->op == OP_LOOP || n->op == OP_IF) continue;
    size_t k = (size_t)node_hash(n) & (size_t)(cap - 1);
    while (table[k] && !equivalent(table[k], n)) k = (k + 1) & (size_t)(cap - 1);
    if (table[k])
      ir_replace(n, table[k]);
    else
      table[k] = n;
  }
  tex_free(table);
  ir_compact(f);
}

void pass_cse_func(IrFunc *f) { cse_func(NULL, f); }

void pass_cse(IrModule *m) { ir_module_each_body(m, cse_func, NULL); /* inside loop bodies too (each is closed) */ }
