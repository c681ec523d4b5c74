/* inline.c — inline every call to a user function.
 *
 * Inlining is lowering, not optimisation: it runs at -O0 too, so
 * codegen never sees OP_CALL.  Callees are inlined bottom-up (sema rejects
 * recursion).  The callee's size symbols are substituted by the dims bound at
 * the call site; inlined nodes keep the callee's source locations, so an error
 * in a helper still points at the helper's line.
 *
 * Requires: verified IR without call cycles.  Preserves: values.  Breaks:
 * nothing; the callees stay in the module (exported ones are compiled too). */
#include <string.h>

#include "passes.h"

typedef struct Inliner {
  IrModule *m;
  const IrFunc **done;  /* functions already inlined: an open-addressing set */
  size_t cap;           /* a power of two, over twice the number of functions */
} Inliner;

/* Marks f done; false if it already was (a set, so 50,000 functions stay linear). */
static bool mark_done(Inliner *in, const IrFunc *f) {
  size_t i = ((uintptr_t)f >> 4) * 0x9E3779B97F4A7C15ull & (in->cap - 1);
  for (; in->done[i]; i = (i + 1) & (in->cap - 1))
    if (in->done[i] == f) return false;
  in->done[i] = f;
  return true;
}

/* Binds each callee symbol to the dim the call site gives it. */
static void bind_symbols(IrModule *m, const IrFunc *callee, IrNode *const *args, Dim *dimmap) {
  for (int i = 0; i < callee->nparams; i++)
    for (int d = 0; d < callee->params[i]->rank; d++) {
      int sym = dim_as_sym(callee->params[i]->shape[d]);
      if (sym >= 0 && sym < dim_nsymbols(m->dims)) dimmap[sym] = args[i]->shape[d];
    }
}

static IrNode *clone_node(IrModule *m, IrFunc *into, const IrNode *n, IrNode *const *map, const Dim *dimmap) {
  IrNode **args = tex_calloc((size_t)n->nargs + 1, sizeof(IrNode *));
  Dim shape[IR_MAX_RANK];
  for (int i = 0; i < n->nargs; i++) args[i] = map[n->args[i]->id];
  for (int d = 0; d < n->rank; d++) shape[d] = dim_subst(m->dims, n->shape[d], dimmap);
  IrNode *c = ir_node(m, into, n->op, n->dtype, n->rank, shape, n->nargs, args, n->loc);
  tex_free(args);
  c->attr = n->attr;
  if (op_info[n->op].attr == ATTR_DIM) c->attr.dim = dim_subst(m->dims, n->attr.dim, dimmap);
  if (op_info[n->op].attr == ATTR_REGION) c->attr.region = ir_region_subst(m, n->attr.region, dimmap);
  if (op_info[n->op].attr == ATTR_BODY) c->attr.body = ir_loop_body_copy(m, n->attr.body, dimmap); /* one owner each */
  if (op_info[n->op].attr == ATTR_BODY && n->attr.orelse) c->attr.orelse = ir_loop_body_copy(m, n->attr.orelse, dimmap);
  if (op_info[n->op].attr == ATTR_BRANCHES) {
    c->attr.body = ir_loop_body_copy(m, n->attr.body, dimmap);
    c->attr.orelse = ir_loop_body_copy(m, n->attr.orelse, dimmap);
  }
  return c;
}

/* Appends a copy of the callee's body to f.  A single-result call is
 * forwarded to the copy of the result; for several results, call->aux holds
 * the copies and each PROJ is forwarded when it is reached. */
static void inline_call(Inliner *in, IrFunc *f, IrNode *call) {
  IrFunc *callee = call->attr.callee;
  ir_renumber(callee);
  IrNode **map = tex_calloc((size_t)callee->body.len, sizeof(IrNode *));
  Dim *dimmap = tex_calloc((size_t)dim_nsymbols(in->m->dims) + 1, sizeof(Dim));
  bind_symbols(in->m, callee, call->args, dimmap);
  for (int i = 0; i < callee->body.len; i++) {
    IrNode *n = callee->body.items[i];
    map[i] = n->op == OP_PARAM ? call->args[n->attr.i] : clone_node(in->m, f, n, map, dimmap);
  }
  if (callee->nresults == 1) {
    ir_replace(call, map[callee->results[0]->id]);
  } else {
    IrNode **results = ARENA_ARRAY(&in->m->arena, IrNode *, callee->nresults);
    for (int r = 0; r < callee->nresults; r++) results[r] = map[callee->results[r]->id];
    call->aux = results;
  }
  tex_free(dimmap);
  tex_free(map);
}

/* A call becomes a copy of its callee's body; a proj, the copy of its
 * result.  A derived callee not built yet (`--passes=` without autodiff or
 * jvp before inline) stays a call. */
static IrNode *visit(void *ctx, IrFunc *f, IrNode *n) {
  if (n->op == OP_CALL && n->attr.callee->built) {
    inline_call(ctx, f, n);
    return IR_DROPPED;
  }
  if (n->op == OP_PROJ && n->args[0]->op == OP_CALL && n->args[0]->aux) return ((IrNode **)n->args[0]->aux)[n->attr.i];
  return NULL;
}

/* Loop bodies are functions too: their calls are inlined in them, and a
 * body inlined into a caller is copied with the callee's symbols renamed. */
static void inline_func(Inliner *in, IrFunc *f) {
  if (!mark_done(in, f)) return;
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    if (n->op == OP_CALL) inline_func(in, n->attr.callee);
    if (n->op == OP_LOOP) inline_func(in, n->attr.body);
    if (n->op == OP_LOOP && n->attr.orelse) inline_func(in, n->attr.orelse);
    if (n->op == OP_IF) inline_func(in, n->attr.body), inline_func(in, n->attr.orelse);
  }
  ir_rewrite(f, visit, in);
}

void pass_inline(IrModule *m) {
  Inliner in = {m, NULL, 16};
  while (in.cap < 2 * (size_t)(m->funcs.len + m->regions.len) + 2) in.cap *= 2;
  in.done = tex_calloc(in.cap, sizeof *in.done);
  PtrVec all = {0};
  for (int i = 0; i < m->funcs.len; i++) ir_all_nodes(m->funcs.items[i], &all);
  for (int j = 0; j < all.len; j++) ((IrNode *)all.items[j])->aux = NULL;
  vec_free(&all);
  for (int i = 0; i < m->funcs.len; i++) inline_func(&in, m->funcs.items[i]);
  tex_free(in.done);
}
