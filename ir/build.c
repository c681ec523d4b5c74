/* build.c — the IR builder passes write with: rewrite rules, gradient rules
 * and derived functions (ir.h, section build.c).
 *
 * Every helper appends to the function being built and gives the new node
 * the builder's source location (the node being rewritten or differentiated),
 * so an error in generated code still names the user's line. */
#include <string.h>

#include "ir.h"

IrNode *irb_const(IrBuilder *ib, DType t, double v) { return ir_const(ib->m, ib->f, t, v, (int64_t)v, ib->loc); }

IrNode *irb_bcast_axes(IrBuilder *ib, IrNode *x, int rank, const Dim *shape, const int64_t *axes) {
  bool same = x->rank == rank;
  for (int d = 0; same && d < rank; d++) same = x->shape[d] == shape[d] && axes[d] == d;
  if (same) return x;
  IrNode *n = ir_node(ib->m, ib->f, OP_BROADCAST, x->dtype, rank, shape, 1, &x, ib->loc);
  n->attr.naxes = x->rank;
  memcpy(n->attr.axes, axes, sizeof(int64_t) * (size_t)x->rank);
  return n;
}

/* x broadcast right-aligned to like's shape (x is a scalar or has like's rank). */
IrNode *irb_bcast_like(IrBuilder *ib, IrNode *x, const IrNode *like) {
  int64_t axes[IR_MAX_RANK];
  for (int i = 0; i < x->rank; i++) axes[i] = i + (like->rank - x->rank);
  return irb_bcast_axes(ib, x, like->rank, like->shape, axes);
}

IrNode *irb_fill(IrBuilder *ib, const IrNode *like, double v) { return irb_bcast_like(ib, irb_const(ib, like->dtype, v), like); }

IrNode *irb_un(IrBuilder *ib, Op op, IrNode *x) { return ir_unary(ib->m, ib->f, op, x, ib->loc); }

IrNode *irb_bin(IrBuilder *ib, Op op, IrNode *a, IrNode *b) {
  if (a->rank < b->rank) a = irb_bcast_like(ib, a, b);
  if (b->rank < a->rank) b = irb_bcast_like(ib, b, a);
  return ir_binary(ib->m, ib->f, op, a, b, ib->loc);
}

IrNode *irb_sel(IrBuilder *ib, IrNode *c, IrNode *a, IrNode *b) {
  IrNode *args[3] = {c, a, b};
  return ir_node(ib->m, ib->f, OP_SELECT, a->dtype, a->rank, a->shape, 3, args, ib->loc);
}

IrNode *irb_cast(IrBuilder *ib, IrNode *x, DType t) { return x->dtype == t ? x : ir_cast(ib->m, ib->f, x, t, ib->loc); }

IrNode *irb_reduce(IrBuilder *ib, Op op, IrNode *x, unsigned mask, bool keepdims) {
  return mask ? ir_reduce(ib->m, ib->f, op, x, mask, keepdims, ib->loc) : x;
}

IrNode *irb_transpose(IrBuilder *ib, IrNode *x, const int64_t *perm) { return ir_transpose(ib->m, ib->f, x, perm, ib->loc); }

IrNode *irb_matmul(IrBuilder *ib, IrNode *a, IrNode *b) { return ir_matmul(ib->m, ib->f, a, b, ib->loc); }
IrNode *irb_reshape_like(IrBuilder *ib, IrNode *x, const IrNode *like) {
  return ir_same_shape(x, like) ? x : ir_reshape(ib->m, ib->f, x, like->rank, like->shape, ib->loc);
}

IrNode *irb_scan(IrBuilder *ib, Op op, IrNode *x, int axis) { return ir_scan(ib->m, ib->f, op, x, axis, ib->loc); }

/* a + b where either may be NULL (a zero). */
IrNode *irb_add(IrBuilder *ib, IrNode *a, IrNode *b) {
  if (!a) return b;
  if (!b) return a;
  return irb_bin(ib, OP_ADD, a, b);
}

IrNode *irb_or_zeros(IrBuilder *ib, IrNode *x, const IrNode *like) { return x ? x : irb_fill(ib, like, 0.0); }

/* The matrix transpose: the last two axes swapped (a batch of matrices
 * transposes each one); rank 0 and 1 are left alone. */
IrNode *irb_t(IrBuilder *ib, IrNode *x) {
  int64_t perm[IR_MAX_RANK];
  if (x->rank < 2) return x;
  for (int a = 0; a < x->rank; a++) perm[a] = a;
  perm[x->rank - 2] = x->rank - 1, perm[x->rank - 1] = x->rank - 2;
  return irb_transpose(ib, x, perm);
}

/* The dims of callee's symbols at this call: bound from the arguments. */
static Dim *bind_callee_dims(IrBuilder *ib, IrFunc *callee, IrNode *const *args) {
  Dim *map = tex_calloc((size_t)dim_nsymbols(ib->m->dims) + 1, sizeof(Dim));
  for (int i = 0; i < callee->nparams; i++)
    for (int d = 0; d < callee->params[i]->rank; d++) {
      int sym = dim_as_sym(callee->params[i]->shape[d]);
      if (sym >= 0 && !map[sym]) map[sym] = args[i]->shape[d];
    }
  return map;
}

static void subst_shape(IrBuilder *ib, const IrNode *r, const Dim *map, Dim *shape) {
  for (int d = 0; d < r->rank; d++) shape[d] = dim_subst(ib->m->dims, r->shape[d], map);
}

IrNode *irb_result_like(IrBuilder *ib, IrFunc *callee, IrNode *const *args, int k) {
  Dim *map = bind_callee_dims(ib, callee, args), shape[IR_MAX_RANK];
  subst_shape(ib, callee->results[k], map, shape);
  tex_free(map);
  return ir_placeholder(ib->m, callee->results[k]->dtype, callee->results[k]->rank, shape);
}

void irb_call(IrBuilder *ib, IrFunc *callee, IrNode *const *args, IrNode **results) {
  Dim *map = bind_callee_dims(ib, callee, args), shape[IR_MAX_RANK];
  const IrNode *r0 = callee->results[0];
  subst_shape(ib, r0, map, shape);
  IrNode *call = ir_node(ib->m, ib->f, OP_CALL, r0->dtype, r0->rank, shape, callee->nparams, args, ib->loc);
  call->attr.callee = callee;
  if (callee->nresults == 1) results[0] = call;
  for (int r = 0; callee->nresults > 1 && r < callee->nresults; r++) {
    const IrNode *res = callee->results[r];
    subst_shape(ib, res, map, shape);
    results[r] = ir_node(ib->m, ib->f, OP_PROJ, res->dtype, res->rank, shape, 1, &call, ib->loc);
    results[r]->attr.i = r;
  }
  tex_free(map);
}

IrNode *irb_clone_node(IrModule *m, IrFunc *g, const IrNode *n, IrNode *const *map) {
  IrNode **args = tex_calloc((size_t)n->nargs + 1, sizeof(IrNode *));
  for (int a = 0; a < n->nargs; a++) args[a] = map[n->args[a]->id];
  IrNode *c = ir_node(m, g, n->op, n->dtype, n->rank, n->shape, n->nargs, args, n->loc);
  tex_free(args);
  c->attr = n->attr;
  if (op_info[n->op].attr == ATTR_BODY) c->attr.body = ir_loop_body_copy(m, n->attr.body, NULL); /* one owner each */
  if (op_info[n->op].attr == ATTR_BODY && n->attr.orelse) c->attr.orelse = ir_loop_body_copy(m, n->attr.orelse, NULL);
  if (n->op == OP_IF) { /* an if's bodies have one owner each too */
    c->attr.body = ir_loop_body_copy(m, n->attr.body, NULL);
    c->attr.orelse = ir_loop_body_copy(m, n->attr.orelse, NULL);
  }
  return c;
}

IrNode **irb_clone_body(IrModule *m, IrFunc *of, IrFunc *g) {
  ir_renumber(of);
  IrNode **map = tex_calloc((size_t)of->body.len + 1, sizeof(IrNode *));
  for (int i = 0; i < of->body.len; i++) {
    IrNode *n = of->body.items[i];
    map[i] = n->op == OP_PARAM ? g->params[n->attr.i] : irb_clone_node(m, g, n, map);
  }
  return map;
}

IrNode *irb_row(IrBuilder *ib, IrNode *x, IrNode *t) {
  Dim extent[IR_MAX_INDICES];
  for (int d = 1; d < x->rank; d++) extent[d - 1] = x->shape[d];
  IrRegion *r = ir_region_new(ib->m, x->rank - 1, NULL, extent, ib->loc);
  IrNode *subs[IR_MAX_RANK];
  subs[0] = ir_node(ib->m, r->body, OP_READ, DT_I64, 0, NULL, 0, NULL, ib->loc); /* operand 0: t */
  for (int d = 1; d < x->rank; d++) subs[d] = r->body->params[d - 1];
  IrNode *v = ir_node(ib->m, r->body, OP_READ, x->dtype, 0, NULL, x->rank, subs, ib->loc);
  v->attr.i = 1;
  ir_set_results(ib->m, r->body, 1, &v);
  IrNode *ops[2] = {t, x}, *n = ir_node(ib->m, ib->f, OP_GEN, x->dtype, x->rank - 1, x->shape + 1, 2, ops, ib->loc);
  n->attr.region = r;
  return n;
}
