/* loop.c — the bodies of loop nodes (ir.h, "loop.c"): creating one, adding
 * the params of captured values, copying one with its size symbols renamed,
 * and walking the functions nested in a function. */
#include <string.h>

#include "ir.h"

IrFunc *ir_loop_body_new(IrModule *m, SrcLoc loc) {
  IrFunc *f = ARENA_NEW(&m->arena, IrFunc);
  f->name = "loop";
  f->loc = loc;
  f->built = true;
  vec_push(&m->regions, f);
  return f;
}

IrNode *ir_loop_capture_param(IrModule *m, IrFunc *body, const char *name, const IrNode *like, SrcLoc loc) {
  IrNode *p = ir_param(m, body, name, like->dtype, like->rank, like->shape, loc);
  /* params are the first nodes: move it from the end to after the others */
  int at = body->nparams - 1;
  memmove(&body->body.items[at + 1], &body->body.items[at], sizeof(void *) * (size_t)(body->body.len - 1 - at));
  body->body.items[at] = p;
  ir_renumber(body);
  return p;
}

int ir_loop_nstates(const IrNode *loop) {
  const IrFunc *b = loop->attr.body;
  return b ? b->nresults - (int)loop->attr.i : 0;
}

int ir_loop_nouts(const IrNode *loop) { return (int)loop->attr.i; }

/* An integer scalar as a dim: sizes and literals combined by + - * (the
 * trip count `T - 1` is add(dimsize T, const -1) by then), else NULL. */
static Dim dim_of_value(IrModule *m, IrNode *x, int depth) {
  x = ir_resolve(x);
  if (x->rank != 0 || !dtype_is_int(x->dtype) || depth > 64) return NULL;
  if (x->op == OP_DIMSIZE) return x->attr.dim;
  if (x->op == OP_CONST) return dim_lit(m->dims, x->attr.i);
  if (x->op == OP_CAST) return dim_of_value(m, x->args[0], depth + 1);
  if (x->op != OP_ADD && x->op != OP_SUB && x->op != OP_MUL) return NULL;
  Dim a = dim_of_value(m, x->args[0], depth + 1), b = a ? dim_of_value(m, x->args[1], depth + 1) : NULL;
  if (!b) return NULL;
  Dim d = x->op == OP_ADD ? dim_add(m->dims, a, b) : x->op == OP_SUB ? dim_sub(m->dims, a, b) : dim_mul(m->dims, a, b);
  return dim_overflowed(m->dims) ? NULL : d;
}

Dim ir_loop_trip_dim(IrModule *m, const IrNode *loop) { return dim_of_value(m, loop->args[0], 0); }

bool ir_loop_proj_type(IrModule *m, const IrNode *loop, int k, DType *t, int *rank, Dim *shape) {
  int ns = ir_loop_nstates(loop);
  const IrFunc *b = loop->attr.body;
  if (!b || k < 0 || k >= b->nresults || !b->results[k]) return false;
  const IrNode *x = k < ns ? loop->args[IR_LOOP_FIXED + k] : b->results[k];
  *t = x->dtype;
  if (k < ns) {
    *rank = x->rank;
    memcpy(shape, x->shape, sizeof(Dim) * (size_t)x->rank);
    return true;
  }
  Dim trip = ir_loop_trip_dim(m, loop);
  if (!trip || x->rank + 1 > IR_MAX_RANK) return false;
  *rank = x->rank + 1;
  shape[0] = trip;
  memcpy(shape + 1, x->shape, sizeof(Dim) * (size_t)x->rank);
  return true;
}

int ir_if_nvalues(const IrNode *n) { return n->attr.body ? n->attr.body->nresults : 0; }

int ir_node_bodies(const IrNode *n, IrFunc **out) {
  int k = 0;
  if ((n->op == OP_LOOP || n->op == OP_IF) && n->attr.body) out[k++] = n->attr.body;
  if ((n->op == OP_IF || n->op == OP_LOOP) && n->attr.orelse) out[k++] = n->attr.orelse; /* else, or advance */
  return k;
}

static Dim subst(IrModule *m, Dim d, const Dim *map) { return map && d ? dim_subst(m->dims, d, map) : d; }

IrFunc *ir_loop_body_copy(IrModule *m, IrFunc *from, const Dim *map) {
  IrFunc *c = ir_loop_body_new(m, from->loc);
  c->name = from->name;
  ir_renumber(from);
  IrNode **copy = tex_calloc((size_t)from->body.len + 1, sizeof(IrNode *));
  Dim shape[IR_MAX_RANK];
  for (int i = 0; i < from->body.len; i++) {
    const IrNode *n = from->body.items[i];
    for (int d = 0; d < n->rank; d++) shape[d] = subst(m, n->shape[d], map);
    if (n->op == OP_PARAM) {
      copy[i] = ir_param(m, c, n->name, n->dtype, n->rank, shape, n->loc);
      continue;
    }
    IrNode **args = tex_calloc((size_t)n->nargs + 1, sizeof(IrNode *));
    for (int a = 0; a < n->nargs; a++) args[a] = copy[n->args[a]->id];
    IrNode *k = ir_node(m, c, n->op, n->dtype, n->rank, shape, n->nargs, args, n->loc);
    tex_free(args);
    k->attr = n->attr;
    if (op_info[n->op].attr == ATTR_DIM) k->attr.dim = subst(m, n->attr.dim, map);
    if (op_info[n->op].attr == ATTR_REGION && map) k->attr.region = ir_region_subst(m, n->attr.region, map);
    if (op_info[n->op].attr == ATTR_BODY || op_info[n->op].attr == ATTR_BRANCHES) k->attr.body = ir_loop_body_copy(m, n->attr.body, map);
    if (n->attr.orelse && (op_info[n->op].attr == ATTR_BRANCHES || op_info[n->op].attr == ATTR_BODY))
      k->attr.orelse = ir_loop_body_copy(m, n->attr.orelse, map);
    copy[i] = k;
  }
  IrNode **res = tex_calloc((size_t)from->nresults + 1, sizeof(IrNode *));
  for (int i = 0; i < from->nresults; i++) res[i] = copy[ir_resolve(from->results[i])->id];
  ir_set_results(m, c, from->nresults, res);
  tex_free(res);
  tex_free(copy);
  return c;
}

void ir_each_body(IrFunc *f, void (*fn)(void *ctx, IrFunc *f), void *ctx) {
  for (int i = 0; i < f->body.len; i++) {
    IrFunc *b[2];
    for (int k = 0, nb = ir_node_bodies(f->body.items[i], b); k < nb; k++) ir_each_body(b[k], fn, ctx);
  }
  fn(ctx, f);
}

void ir_module_each_body(IrModule *m, void (*fn)(void *ctx, IrFunc *f), void *ctx) {
  for (int i = 0; i < m->funcs.len; i++) {
    IrFunc *f = m->funcs.items[i];
    if (f->built) ir_each_body(f, fn, ctx);
  }
}

void ir_all_nodes(IrFunc *f, PtrVec *out) {
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    IrFunc *b[2];
    vec_push(out, n);
    for (int k = 0, nb = ir_node_bodies(n, b); k < nb; k++) ir_all_nodes(b[k], out);
  }
}
