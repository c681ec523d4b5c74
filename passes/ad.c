/* ad.c — the small IR builder that gradient rules are written with.
 *
 * Every helper appends to the function being built and gives the new node
 * the source location of the primal node it differentiates, so an error in
 * derivative code still names the user's line.  Scalars (rank 0) operands of
 * binary helpers are broadcast to the other operand's shape. */
#include <string.h>

#include "passes.h"

IrNode *ad_const(Ad *ad, DType t, double v) { return ir_const(ad->m, ad->f, t, v, (int64_t)v, ad->loc); }

IrNode *ad_bcast_axes(Ad *ad, IrNode *x, int rank, const Dim *shape, const int64_t *axes) {
  bool same = x->rank == rank;
  for (int d = 0; same && d < rank; d++) same = x->shape[d] == shape[d] && axes[d] == d;
  if (same) return x;
  IrNode *n = ir_node(ad->m, ad->f, OP_BROADCAST, x->dtype, rank, shape, 1, &x, ad->loc);
  n->attr.naxes = x->rank;
  memcpy(n->attr.axes, axes, sizeof(int64_t) * (size_t)x->rank);
  return n;
}

/* x broadcast right-aligned to like's shape (x is a scalar or has like's rank). */
IrNode *ad_bcast_like(Ad *ad, IrNode *x, const IrNode *like) {
  int64_t axes[IR_MAX_RANK];
  for (int i = 0; i < x->rank; i++) axes[i] = i + (like->rank - x->rank);
  return ad_bcast_axes(ad, x, like->rank, like->shape, axes);
}

IrNode *ad_fill(Ad *ad, const IrNode *like, double v) { return ad_bcast_like(ad, ad_const(ad, like->dtype, v), like); }

IrNode *ad_un(Ad *ad, Op op, IrNode *x) { return ir_unary(ad->m, ad->f, op, x, ad->loc); }

IrNode *ad_bin(Ad *ad, Op op, IrNode *a, IrNode *b) {
  if (a->rank < b->rank) a = ad_bcast_like(ad, a, b);
  if (b->rank < a->rank) b = ad_bcast_like(ad, b, a);
  return ir_binary(ad->m, ad->f, op, a, b, ad->loc);
}

IrNode *ad_sel(Ad *ad, IrNode *c, IrNode *a, IrNode *b) {
  IrNode *args[3] = {c, a, b};
  return ir_node(ad->m, ad->f, OP_SELECT, a->dtype, a->rank, a->shape, 3, args, ad->loc);
}

IrNode *ad_cast(Ad *ad, IrNode *x, DType t) { return x->dtype == t ? x : ir_cast(ad->m, ad->f, x, t, ad->loc); }

IrNode *ad_reduce(Ad *ad, Op op, IrNode *x, unsigned mask, bool keepdims) {
  return mask ? ir_reduce(ad->m, ad->f, op, x, mask, keepdims, ad->loc) : x;
}

IrNode *ad_transpose(Ad *ad, IrNode *x, const int64_t *perm) { return ir_transpose(ad->m, ad->f, x, perm, ad->loc); }

IrNode *ad_matmul(Ad *ad, IrNode *a, IrNode *b) { return ir_matmul(ad->m, ad->f, a, b, ad->loc); }

/* a + b where either may be NULL (a zero). */
IrNode *ad_add(Ad *ad, IrNode *a, IrNode *b) {
  if (!a) return b;
  if (!b) return a;
  return ad_bin(ad, OP_ADD, a, b);
}

IrNode *ad_or_zeros(Ad *ad, IrNode *x, const IrNode *like) { return x ? x : ad_fill(ad, like, 0.0); }

/* The reverse of a matrix (rank-2) transpose. */
IrNode *ad_t(Ad *ad, IrNode *x) {
  static const int64_t swap[2] = {1, 0};
  return x->rank == 2 ? ad_transpose(ad, x, swap) : x;
}

/* The dims of callee's symbols at this call: bound from the arguments. */
static Dim *bind_callee_dims(Ad *ad, IrFunc *callee, IrNode *const *args) {
  Dim *map = tex_calloc((size_t)dim_nsymbols(ad->m->dims) + 1, sizeof(Dim));
  for (int i = 0; i < callee->nparams; i++)
    for (int d = 0; d < callee->params[i]->rank; d++) {
      int sym = dim_as_sym(callee->params[i]->shape[d]);
      if (sym >= 0 && !map[sym]) map[sym] = args[i]->shape[d];
    }
  return map;
}

static void subst_shape(Ad *ad, const IrNode *r, const Dim *map, Dim *shape) {
  for (int d = 0; d < r->rank; d++) shape[d] = dim_subst(ad->m->dims, r->shape[d], map);
}

IrNode *ad_result_like(Ad *ad, IrFunc *callee, IrNode *const *args, int k) {
  Dim *map = bind_callee_dims(ad, callee, args), shape[IR_MAX_RANK];
  subst_shape(ad, callee->results[k], map, shape);
  tex_free(map);
  return ir_placeholder(ad->m, callee->results[k]->dtype, callee->results[k]->rank, shape);
}

void ad_call(Ad *ad, IrFunc *callee, IrNode *const *args, IrNode **results) {
  Dim *map = bind_callee_dims(ad, callee, args), shape[IR_MAX_RANK];
  const IrNode *r0 = callee->results[0];
  subst_shape(ad, r0, map, shape);
  IrNode *call = ir_node(ad->m, ad->f, OP_CALL, r0->dtype, r0->rank, shape, callee->nparams, args, ad->loc);
  call->attr.callee = callee;
  if (callee->nresults == 1) results[0] = call;
  for (int r = 0; callee->nresults > 1 && r < callee->nresults; r++) {
    const IrNode *res = callee->results[r];
    subst_shape(ad, res, map, shape);
    results[r] = ir_node(ad->m, ad->f, OP_PROJ, res->dtype, res->rank, shape, 1, &call, ad->loc);
    results[r]->attr.i = r;
  }
  tex_free(map);
}

IrNode **ad_clone_body(IrModule *m, IrFunc *of, IrFunc *g) {
  ir_renumber(of);
  IrNode **map = tex_calloc((size_t)of->body.len + 1, sizeof(IrNode *));
  for (int i = 0; i < of->body.len; i++) {
    IrNode *n = of->body.items[i];
    if (n->op == OP_PARAM) {
      map[i] = g->params[n->attr.i];
      continue;
    }
    IrNode **args = tex_calloc((size_t)n->nargs + 1, sizeof(IrNode *));
    for (int a = 0; a < n->nargs; a++) args[a] = map[n->args[a]->id];
    map[i] = ir_node(m, g, n->op, n->dtype, n->rank, n->shape, n->nargs, args, n->loc);
    tex_free(args);
    map[i]->attr = n->attr;
  }
  return map;
}
