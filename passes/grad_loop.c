/* grad_loop.c — the derivatives of a loop (issue 10; lang/reference.md,
 * "Differentiating loops").
 *
 * Reverse mode.  The backward sweep needs every step's states, so the
 * forward sweep keeps them: the loop's copy in the derived function also
 * stacks the states it starts each step with (T x state, one more stacked
 * output per state).  The backward sweep is a loop of its own, over
 * t = T-1, ..., 0, whose states are the cotangents of the differentiated
 * states and the running sums of the captured values' cotangents.  Its body
 * reads step t's states back (row t of each stack) and calls the vjp of the
 * loop's body: a function derived from a copy of the body, so the vjp of a
 * loop inside the body is built by this same code, and the inliner then
 * merges everything into one function.  A stacked output's cotangent is
 * read at row t and passed as the cotangent of that step's value.
 *
 * Forward mode.  A loop carrying each state and its tangent: its body calls
 * the loop's body and its jvp (CSE merges the primal work they share).
 *
 * Both derived bodies are calls until the inliner runs, like any call. */
#include <string.h>

#include "passes.h"

typedef struct LoopParts {
  IrNode *loop;
  IrFunc *body;
  int ns, ny, ncap;  /* states, stacked outputs, captured values */
} LoopParts;

static LoopParts parts_of(IrNode *loop) {
  LoopParts p = {loop, loop->attr.body, ir_loop_nstates(loop), ir_loop_nouts(loop), 0};
  p.ncap = loop->nargs - IR_LOOP_FIXED - p.ns;
  return p;
}

/* Operand a of the loop is param a + 1 - IR_LOOP_FIXED of its body (t is param 0). */
static int param_of_operand(int a) { return a + 1 - IR_LOOP_FIXED; }

/* Which of body's params the derivative follows: the float captures that
 * are active, and the float states whose initial value is active or whose
 * next value depends on a followed param (to a fixed point). */
static ParamSet followed_params(const LoopParts *p, const bool *active) {
  ParamSet w = {{0}};
  IrFunc *b = p->body;
  for (int a = IR_LOOP_FIXED; a < p->loop->nargs; a++)
    if (active[a] && dtype_is_float(p->loop->args[a]->dtype)) ps_add(&w, param_of_operand(a));
  ir_renumber(b);
  bool *dep = tex_calloc((size_t)b->body.len + 1, sizeof(bool));
  for (bool grew = true; grew;) {
    grew = false;
    for (int i = 0; i < b->body.len; i++) {
      IrNode *n = b->body.items[i];
      dep[i] = n->op == OP_PARAM && ps_has(&w, (int)n->attr.i);
      for (int j = 0; j < n->nargs && !dep[i]; j++) dep[i] = dep[n->args[j]->id];
    }
    for (int k = 0; k < p->ns; k++) {
      int param = 1 + k;
      if (!ps_has(&w, param) && dtype_is_float(b->params[param]->dtype) && dep[ir_resolve(b->results[k])->id]) {
        ps_add(&w, param);
        grew = true;
      }
    }
  }
  tex_free(dep);
  return w;
}

/* A copy of the body to differentiate, named after its place so that each
 * loop's derivative is a function of its own. */
static IrFunc *pristine_body(IrModule *m, IrFunc *body) {
  IrFunc *c = ir_loop_body_copy(m, body, NULL);
  c->name = arena_printf(&m->arena, "loop%d", m->regions.len - 1);
  return c;
}

/* proj k of a loop (the loop itself when it has one state and no outputs). */
static IrNode *loop_proj(IrBuilder *ib, IrNode *loop, int k) {
  if (ir_loop_nstates(loop) + ir_loop_nouts(loop) == 1) return loop;
  DType t;
  int rank;
  Dim shape[IR_MAX_RANK];
  if (!ir_loop_proj_type(ib->m, loop, k, &t, &rank, shape)) ice("loop has no proj %d", k);
  IrNode *n = ir_node(ib->m, ib->f, OP_PROJ, t, rank, shape, 1, &loop, ib->loc);
  n->attr.i = k;
  return n;
}

/* A loop over `trip` in ib->f with these initial states and captures; the
 * body is built by the caller between loop_open and loop_close. */
typedef struct NewLoop {
  IrBuilder ib;      /* ib.f: the new body */
  IrNode *t;         /* its counter */
  IrNode **state;    /* its state params */
  IrNode **cap;      /* its capture params */
  int ns, ncap;
} NewLoop;

static void loop_open(NewLoop *l, IrBuilder *outer, IrNode *const *init, int ns, IrNode *const *caps, int ncap) {
  IrModule *m = outer->m;
  *l = (NewLoop){{m, ir_loop_body_new(m, outer->loc), outer->loc}, NULL, NULL, NULL, ns, ncap};
  l->t = ir_param(m, l->ib.f, "t", DT_I64, 0, NULL, outer->loc);
  l->state = tex_calloc((size_t)ns + 1, sizeof(IrNode *));
  l->cap = tex_calloc((size_t)ncap + 1, sizeof(IrNode *));
  for (int k = 0; k < ns; k++)
    l->state[k] = ir_param(m, l->ib.f, arena_printf(&m->arena, "s%d", k), init[k]->dtype, init[k]->rank, init[k]->shape, outer->loc);
  for (int c = 0; c < ncap; c++)
    l->cap[c] = ir_param(m, l->ib.f, arena_printf(&m->arena, "c%d", c), caps[c]->dtype, caps[c]->rank, caps[c]->shape, outer->loc);
}

/* Closes the body with the next states (and nouts stacked outputs after
 * them); the loop node, in outer->f. */
static IrNode *loop_close(NewLoop *l, IrBuilder *outer, IrNode *trip, IrNode *const *init, IrNode *const *caps, IrNode *const *next,
                          int nouts) {
  ir_set_results(outer->m, l->ib.f, l->ns + nouts, next);
  IrNode **args = tex_calloc((size_t)(IR_LOOP_FIXED + l->ns + l->ncap) + 1, sizeof(IrNode *));
  args[0] = trip;
  for (int k = 0; k < l->ns; k++) args[IR_LOOP_FIXED + k] = init[k];
  for (int c = 0; c < l->ncap; c++) args[IR_LOOP_FIXED + l->ns + c] = caps[c];
  IrNode *n = ir_node(outer->m, outer->f, OP_LOOP, DT_F32, 0, NULL, IR_LOOP_FIXED + l->ns + l->ncap, args, outer->loc);
  n->attr.body = l->ib.f;
  n->attr.i = nouts;
  Dim shape[IR_MAX_RANK];
  if (!ir_loop_proj_type(outer->m, n, 0, &n->dtype, &n->rank, shape)) ice("a derived loop's first output cannot be stacked");
  n->shape = ARENA_ARRAY(&outer->m->arena, Dim, n->rank);
  memcpy(n->shape, shape, sizeof(Dim) * (size_t)n->rank);
  tex_free(args);
  tex_free(l->state);
  tex_free(l->cap);
  return n;
}

/* ---- reverse mode -------------------------------------------------------------- */

/* The loop's copy also stacks the states each step starts with; returns
 * the stacks (one per state).  The body's original results keep their
 * places, so the copy's existing uses are unchanged. */
static IrNode **stack_states(IrBuilder *ib, const LoopParts *p) {
  IrFunc *b = p->body;
  int n = b->nresults;
  IrNode **res = tex_calloc((size_t)(n + p->ns) + 1, sizeof(IrNode *)), **stacks = tex_calloc((size_t)p->ns + 1, sizeof(IrNode *));
  memcpy(res, b->results, sizeof(IrNode *) * (size_t)n);
  for (int k = 0; k < p->ns; k++) res[n + k] = b->params[1 + k];
  ir_set_results(ib->m, b, n + p->ns, res);
  p->loop->attr.i += p->ns;
  for (int k = 0; k < p->ns; k++) stacks[k] = loop_proj(ib, p->loop, p->ns + p->ny + k);
  tex_free(res);
  return stacks;
}

/* The backward loop's state: a cotangent per followed state, then a sum per followed capture. */
typedef struct Backward {
  const LoopParts *p;
  ParamSet w;
  IrFunc *vjp;       /* of the pristine body, wrt w */
  int nct;           /* followed states */
  int ncap;          /* its captures: trip, stacks, the loop's captures, output cotangents */
} Backward;

/* One backward step at t = trip - 1 - t': the body's vjp at step t's states. */
static void backward_body(const Backward *bw, NewLoop *l, IrNode *const *ycts, IrNode **next) {
  const LoopParts *p = bw->p;
  IrBuilder *ib = &l->ib;
  IrNode **args = tex_calloc((size_t)bw->vjp->nparams + 1, sizeof(IrNode *)),
         **out = tex_calloc((size_t)bw->vjp->nresults + 1, sizeof(IrNode *));
  IrNode *t = irb_bin(ib, OP_SUB, irb_bin(ib, OP_SUB, l->cap[0], irb_const(ib, DT_I64, 1)), l->t);
  int n = 0, ct = 0, yc = 1 + p->ns + p->ncap;
  args[n++] = t;
  for (int k = 0; k < p->ns; k++) args[n++] = irb_row(ib, l->cap[1 + k], t);
  for (int c = 0; c < p->ncap; c++) args[n++] = l->cap[1 + p->ns + c];
  for (int k = 0; k < p->ns + p->ny; k++) { /* a cotangent per float result */
    IrNode *r = p->body->results[k];
    if (!dtype_is_float(r->dtype)) continue;
    if (k < p->ns)
      args[n++] = ps_has(&bw->w, 1 + k) ? l->state[ct++] : irb_fill(ib, p->body->params[1 + k], 0.0);
    else
      args[n++] = ycts[k - p->ns] ? irb_row(ib, l->cap[yc++], t) : irb_fill(ib, r, 0.0);
  }
  irb_call(ib, bw->vjp, args, out);
  int o = 0, s = 0;
  for (int param = 1; param < p->body->nparams; param++) {
    if (!ps_has(&bw->w, param)) continue;
    next[s] = param <= p->ns ? out[o] : irb_add(ib, l->state[s], out[o]);
    o++, s++;
  }
  tex_free(out);
  tex_free(args);
}

const char *loop_vjp(IrBuilder *ib, IrNode *loop, IrNode *const *cts, const bool *active, IrNode **out) {
  LoopParts p = parts_of(loop);
  if (!ir_loop_trip_dim(ib->m, loop))
    return "reverse mode through a loop keeps every step's states, so its trip count must be a size known when the call starts: "
           "a literal, a size symbol or an expression of them (to loop over an argument's axis, loop to its size symbol), not an "
           "integer value";
  Backward bw = {&p, followed_params(&p, active), NULL, 0, 0};
  if (ps_empty(&bw.w)) return NULL;
  IrFunc *pristine = pristine_body(ib->m, p.body);
  bw.vjp = ir_derive(ib->m, pristine, DERIVE_VJP_CT, &bw.w, arena_printf(&ib->m->arena, "%s__vjp", pristine->name), loop->loc);
  IrNode **stacks = stack_states(ib, &p);
  int nw = ps_count(&bw.w), ncap = 1 + p.ns + p.ncap + p.ny, nc = 0;
  IrNode **init = tex_calloc((size_t)nw + 1, sizeof(IrNode *)), **caps = tex_calloc((size_t)ncap + 1, sizeof(IrNode *));
  IrNode **next = tex_calloc((size_t)nw + 1, sizeof(IrNode *));
  for (int param = 1, s = 0; param < p.body->nparams; param++) {
    if (!ps_has(&bw.w, param)) continue;
    IrNode *x = loop->args[IR_LOOP_FIXED + param - 1];
    init[s++] = param <= p.ns ? irb_or_zeros(ib, cts[param - 1], x) : irb_fill(ib, x, 0.0);
    bw.nct += param <= p.ns;
  }
  caps[nc++] = loop->args[0];
  for (int k = 0; k < p.ns; k++) caps[nc++] = stacks[k];
  for (int c = 0; c < p.ncap; c++) caps[nc++] = loop->args[IR_LOOP_FIXED + p.ns + c];
  for (int j = 0; j < p.ny; j++)
    if (cts[p.ns + j] && dtype_is_float(cts[p.ns + j]->dtype)) caps[nc++] = cts[p.ns + j];
  NewLoop l;
  loop_open(&l, ib, init, nw, caps, nc);
  backward_body(&bw, &l, cts + p.ns, next);
  IrNode *back = loop_close(&l, ib, loop->args[0], init, caps, next, 0);
  for (int param = 1, s = 0; param < p.body->nparams; param++) {
    if (!ps_has(&bw.w, param)) continue;
    int a = IR_LOOP_FIXED + param - 1;
    if (active[a]) out[a] = loop_proj(ib, back, s);
    s++;
  }
  tex_free(next);
  tex_free(caps);
  tex_free(init);
  tex_free(stacks);
  return NULL;
}

/* ---- forward mode -------------------------------------------------------------- */

/* One step: the body's values and, by its jvp, their tangents: the next
 * states, their tangents (followed ones), the outputs, their tangents
 * (float ones). */
static void forward_body(const LoopParts *p, const ParamSet *w, IrFunc *pristine, IrFunc *jvp, NewLoop *l, IrNode **res) {
  IrBuilder *ib = &l->ib;
  int np = 1 + p->ns + p->ncap, nf = 0;
  IrNode **args = tex_calloc((size_t)jvp->nparams + 1, sizeof(IrNode *)), **val = tex_calloc((size_t)(p->ns + p->ny) + 1, sizeof(IrNode *));
  IrNode **tan = tex_calloc((size_t)jvp->nresults + 1, sizeof(IrNode *));
  args[0] = l->t;
  for (int k = 0; k < p->ns; k++) args[1 + k] = l->state[k];
  for (int c = 0; c < p->ncap; c++) args[1 + p->ns + c] = l->cap[c];
  irb_call(ib, pristine, args, val);
  for (int param = 1, ts = 0, tc = 0, n = np; param < np; param++)
    if (ps_has(w, param)) args[n++] = param <= p->ns ? l->state[p->ns + ts++] : l->cap[p->ncap + tc++];
  irb_call(ib, jvp, args, tan);
  int *tan_of = tex_calloc((size_t)(p->ns + p->ny) + 1, sizeof(int)); /* result k -> its tangent's index */
  for (int k = 0; k < p->ns + p->ny; k++) tan_of[k] = dtype_is_float(p->body->results[k]->dtype) ? nf++ : -1;
  int n = 0;
  for (int k = 0; k < p->ns; k++) res[n++] = val[k];
  for (int k = 0; k < p->ns; k++)
    if (ps_has(w, 1 + k)) res[n++] = tan[tan_of[k]];
  for (int j = 0; j < p->ny; j++) res[n++] = val[p->ns + j];
  for (int j = 0; j < p->ny; j++)
    if (tan_of[p->ns + j] >= 0) res[n++] = tan[tan_of[p->ns + j]];
  tex_free(tan_of);
  tex_free(tan);
  tex_free(val);
  tex_free(args);
}

void loop_jvp(IrBuilder *ib, const IrNode *n, IrNode *const *args, IrNode *const *tans, IrNode **prim, IrNode **tan) {
  LoopParts p = parts_of((IrNode *)n);
  bool *active = tex_calloc((size_t)n->nargs + 1, sizeof(bool));
  for (int a = 0; a < n->nargs; a++) active[a] = tans[a] != NULL;
  ParamSet w = followed_params(&p, active);
  tex_free(active);
  IrFunc *pristine = pristine_body(ib->m, p.body);
  IrFunc *jvp = ir_derive(ib->m, pristine, DERIVE_JVP, &w, arena_printf(&ib->m->arena, "%s__jvp", pristine->name), n->loc);
  int nws = 0, nwc = 0, nfy = 0;
  for (int param = 1; param < p.body->nparams; param++) param <= p.ns ? (nws += ps_has(&w, param)) : (nwc += ps_has(&w, param));
  for (int j = 0; j < p.ny; j++) nfy += dtype_is_float(p.body->results[p.ns + j]->dtype);
  IrNode **init = tex_calloc((size_t)(p.ns + nws) + 1, sizeof(IrNode *)), **caps = tex_calloc((size_t)(p.ncap + nwc) + 1, sizeof(IrNode *));
  IrNode **res = tex_calloc((size_t)(p.ns + nws + p.ny + nfy) + 1, sizeof(IrNode *));
  int ni = p.ns, nc = p.ncap;
  for (int k = 0; k < p.ns; k++) init[k] = args[IR_LOOP_FIXED + k];
  for (int c = 0; c < p.ncap; c++) caps[c] = args[IR_LOOP_FIXED + p.ns + c];
  for (int param = 1; param < p.body->nparams; param++) {
    int a = IR_LOOP_FIXED + param - 1;
    if (ps_has(&w, param) && param <= p.ns) init[ni++] = irb_or_zeros(ib, tans[a], args[a]);
    if (ps_has(&w, param) && param > p.ns) caps[nc++] = tans[a];
  }
  NewLoop l;
  loop_open(&l, ib, init, p.ns + nws, caps, nc);
  forward_body(&p, &w, pristine, jvp, &l, res);
  IrNode *f = loop_close(&l, ib, args[0], init, caps, res, p.ny + nfy);
  int nsf = p.ns + nws, ts = p.ns, ty = nsf + p.ny;
  for (int k = 0; k < p.ns; k++) {
    prim[k] = loop_proj(ib, f, k);
    tan[k] = ps_has(&w, 1 + k) ? loop_proj(ib, f, ts++) : NULL;
  }
  for (int j = 0; j < p.ny; j++) {
    prim[p.ns + j] = loop_proj(ib, f, nsf + j);
    tan[p.ns + j] = dtype_is_float(p.body->results[p.ns + j]->dtype) ? loop_proj(ib, f, ty++) : NULL;
  }
  tex_free(res);
  tex_free(caps);
  tex_free(init);
}
