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
 * read at row t and passed as the cotangent of that step's value.  A
 * captured value the body reads only as row t (x[t]) is no running sum:
 * the vjp is that of a copy of the body taking the row as a param
 * (row_body), and each backward step emits the row's cotangent as a
 * stacked output (last step first; reversed once after the sweep).
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

/* A run of n steps from t0: the states it starts with, the captures where
 * it is built (the loop's captures, or the params of an enclosing derived
 * loop that captures them). */
typedef struct Range {
  Dim n;
  IrNode *trip, *t0; /* n and the first step's t, as values */
  IrNode **start, **caps;
} Range;

/* checkpoint= level K over a range: the states at the start of each of its
 * nfull = n // K full segments (seg[k], nfull rows), and those where its
 * last rem = n % K steps start (tail[k]). */
typedef struct Segments {
  int64_t K;
  Dim rem_dim;
  IrNode *nfull, *rem, *kval; /* as values */
  IrNode **seg, **tail;
} Segments;

/* What the forward sweep keeps for the backward sweep (passes.h).  Without
 * checkpointing: the states at the start of every step, stacks[k] (T rows).
 * With checkpoint=(K1, K2, ...): level K1's segments (top); the backward
 * sweep recomputes one segment at a time, each by the next level's
 * segments, down to a segment of the last level, whose steps it stacks. */
struct LoopTape {
  LoopParts p;        /* the primal loop (its body is only read) */
  IrFunc *pristine;   /* a copy of the body: the forward steps call it; its vjp, the backward */
  IrNode **args;      /* the loop's operands in the derived function */
  IrNode **val;       /* the value of each proj there */
  const char *why;    /* reverse mode cannot go through this loop */
  IrNode **stacks;
  Dim trip;           /* the trip count, NULL if not a size */
  const int64_t *levels; /* checkpoint= segment lengths, decreasing */
  int nlevels;
  Range all;          /* the whole loop */
  Segments top;       /* level 0's segments, if nlevels */
  int snaps;          /* checkpoint=revolve(S): S, else 0 */
};

/* A loop over j < trip computing the body at t = t0 + j from `init`; with
 * `stack`, it also stacks the states each step starts with (proj ns + ny + k)
 * and, with `outs`, the per-step outputs (proj ns + j).  Captures: the
 * loop's captures (caps), then t0. */
static IrNode *forward_steps(IrBuilder *ib, const LoopTape *tp, IrNode *const *caps, IrNode *trip, IrNode *t0, IrNode *const *init,
                             bool outs, bool stack) {
  const LoopParts *p = &tp->p;
  int ny = outs ? p->ny : 0, nres = p->ns + ny + (stack ? p->ns : 0);
  IrNode **lc = tex_calloc((size_t)p->ncap + 2, sizeof(IrNode *)), **res = tex_calloc((size_t)nres + 1, sizeof(IrNode *));
  IrNode **args = tex_calloc((size_t)p->body->nparams + 1, sizeof(IrNode *)),
         **val = tex_calloc((size_t)(p->ns + p->ny) + 1, sizeof(IrNode *));
  memcpy(lc, caps, sizeof(IrNode *) * (size_t)p->ncap);
  lc[p->ncap] = t0;
  NewLoop l;
  loop_open(&l, ib, init, p->ns, lc, p->ncap + 1);
  args[0] = irb_bin(&l.ib, OP_ADD, l.cap[p->ncap], l.t);
  for (int k = 0; k < p->ns; k++) args[1 + k] = l.state[k];
  for (int c = 0; c < p->ncap; c++) args[1 + p->ns + c] = l.cap[c];
  irb_call(&l.ib, tp->pristine, args, val);
  memcpy(res, val, sizeof(IrNode *) * (size_t)(p->ns + ny));
  for (int k = 0; stack && k < p->ns; k++) res[p->ns + ny + k] = l.state[k];
  IrNode *loop = loop_close(&l, ib, trip, init, lc, res, nres - p->ns);
  tex_free(val);
  tex_free(args);
  tex_free(res);
  tex_free(lc);
  return loop;
}

static IrNode **projs(IrBuilder *ib, IrNode *loop, int from, int n) {
  IrNode **v = tex_calloc((size_t)n + 1, sizeof(IrNode *));
  for (int k = 0; k < n; k++) v[k] = loop_proj(ib, loop, from + k);
  return v;
}

static IrNode *dimsize(IrBuilder *ib, Dim d) {
  IrNode *n = ir_node(ib->m, ib->f, OP_DIMSIZE, DT_I64, 0, NULL, 0, NULL, ib->loc);
  n->attr.dim = d;
  return n;
}

/* Level K's segments of r: a loop over s < nfull, each running K steps
 * from t0 + s*K (an inner loop) and stacking the states it starts with. */
static Segments segments(IrBuilder *ib, const LoopTape *tp, const Range *r, int64_t K) {
  IrModule *m = ib->m;
  const LoopParts *p = &tp->p;
  Dim nfull = dim_floordiv(m->dims, r->n, K);
  Segments sg = {.K = K, .rem_dim = dim_sub(m->dims, r->n, dim_mul(m->dims, nfull, dim_lit(m->dims, K)))};
  sg.nfull = dimsize(ib, nfull), sg.rem = dimsize(ib, sg.rem_dim), sg.kval = irb_const(ib, DT_I64, (double)K);
  IrNode **lc = tex_calloc((size_t)p->ncap + 2, sizeof(IrNode *)), **res = tex_calloc((size_t)(2 * p->ns) + 1, sizeof(IrNode *));
  memcpy(lc, r->caps, sizeof(IrNode *) * (size_t)p->ncap);
  lc[p->ncap] = r->t0;
  NewLoop l;
  loop_open(&l, ib, r->start, p->ns, lc, p->ncap + 1);
  IrNode *kv = irb_const(&l.ib, DT_I64, (double)K);
  IrNode *t0 = irb_add(&l.ib, l.cap[p->ncap], irb_bin(&l.ib, OP_MUL, l.t, kv));
  IrNode **next = projs(&l.ib, forward_steps(&l.ib, tp, l.cap, kv, t0, l.state, false, false), 0, p->ns);
  memcpy(res, next, sizeof(IrNode *) * (size_t)p->ns);
  memcpy(res + p->ns, l.state, sizeof(IrNode *) * (size_t)p->ns);
  IrNode *outer = loop_close(&l, ib, sg.nfull, r->start, lc, res, p->ns);
  sg.tail = projs(ib, outer, 0, p->ns);
  sg.seg = projs(ib, outer, p->ns, p->ns);
  tex_free(next);
  tex_free(res);
  tex_free(lc);
  return sg;
}

static void segments_free(Segments *sg) { tex_free(sg->seg), tex_free(sg->tail); }

/* The range of r's last rem steps. */
static Range tail_range(IrBuilder *ib, const Range *r, const Segments *sg) {
  return (Range){sg->rem_dim, sg->rem, irb_add(ib, r->t0, irb_bin(ib, OP_MUL, sg->nfull, sg->kval)), sg->tail, r->caps};
}

/* The loop's values (its projs) are those of a forward sweep's. */
static void take_values(IrBuilder *ib, LoopTape *tp, IrNode *sweep) {
  IrNode **v = projs(ib, sweep, 0, tp->p.ns + tp->p.ny);
  memcpy(tp->val, v, sizeof(IrNode *) * (size_t)(tp->p.ns + tp->p.ny));
  tex_free(v);
}

/* The sweep that gives the loop's values: one forward sweep from the start
 * (stacking every step's states without checkpointing), or level 0's
 * segments, then its tail (a scan's outputs: a sweep of their own, as the
 * segments keep states only). */
static void forward_sweep(IrBuilder *ib, LoopTape *tp) {
  const LoopParts *p = &tp->p;
  Range *r = &tp->all;
  if (tp->snaps) { /* the backward sweep recomputes the states itself (revolve_backward) */
    take_values(ib, tp, forward_steps(ib, tp, r->caps, r->trip, r->t0, r->start, true, false));
    return;
  }
  if (!tp->nlevels) {
    IrNode *fwd = forward_steps(ib, tp, r->caps, r->trip, r->t0, r->start, true, true);
    take_values(ib, tp, fwd);
    tp->stacks = projs(ib, fwd, p->ns + p->ny, p->ns);
    return;
  }
  tp->top = segments(ib, tp, r, tp->levels[0]);
  Range tail = tail_range(ib, r, &tp->top);
  IrNode **fin = projs(ib, forward_steps(ib, tp, r->caps, tail.trip, tail.t0, tail.start, false, false), 0, p->ns);
  memcpy(tp->val, fin, sizeof(IrNode *) * (size_t)p->ns);
  tex_free(fin);
  if (p->ny) take_values(ib, tp, forward_steps(ib, tp, r->caps, r->trip, r->t0, r->start, true, false));
}

LoopTape *loop_tape(IrBuilder *ib, IrNode *n, IrNode *const *args) {
  LoopTape *tp = tex_calloc(1, sizeof *tp);
  tp->p = parts_of(n);
  const LoopParts *p = &tp->p;
  tp->args = tex_calloc((size_t)n->nargs + 1, sizeof(IrNode *));
  memcpy(tp->args, args, sizeof(IrNode *) * (size_t)n->nargs);
  tp->val = tex_calloc((size_t)(p->ns + p->ny) + 1, sizeof(IrNode *));
  tp->pristine = pristine_body(ib->m, p->body);
  tp->trip = ir_loop_trip_dim(ib->m, n);
  tp->levels = n->attr.axes, tp->nlevels = n->attr.naxes, tp->snaps = n->attr.snaps;
  tp->all = (Range){tp->trip, args[0], irb_const(ib, DT_I64, 0), tp->args + IR_LOOP_FIXED, tp->args + IR_LOOP_FIXED + p->ns};
  if (!tp->trip && !tp->snaps)
    tp->why = "reverse mode through a loop keeps every step's states, so its trip count must be a size known when the call starts: "
              "a literal, a size symbol or an expression of them (to loop over an argument's axis, loop to its size symbol), not an "
              "integer value";
  if (n->attr.is_while)
    tp->why = "reverse mode cannot go through a while loop: the number of steps it would have to store is known only when it "
              "stops; write it as loop t < N with a fixed trip count (states that have converged can stay put), or "
              "differentiate in forward mode (jvp)";
  if (n->attr.orelse)
    tp->why = "reverse mode cannot go through the backward sweep of a loop with checkpoint=revolve(S) yet (a derivative of its "
              "gradient); give that loop checkpoint=K instead";
  if (tp->why) { /* values only: the sweep reports why */
    take_values(ib, tp, forward_steps(ib, tp, tp->all.caps, args[0], tp->all.t0, tp->all.start, true, false));
    return tp;
  }
  forward_sweep(ib, tp);
  return tp;
}

IrNode *loop_tape_value(const LoopTape *tp, int k) { return tp->val[k]; }

void loop_tape_free(LoopTape *tp) {
  if (!tp) return;
  tex_free(tp->args), tex_free(tp->val), tex_free(tp->stacks), segments_free(&tp->top);
  tex_free(tp);
}

/* ---- captures read as row t ------------------------------------------------------ */

/* Whether n (in body) is x[t]: a gen copying row t (the counter, param 0)
 * of param x, as the frontend lowers it and irb_row builds it. */
static bool is_row_read(const IrFunc *body, const IrNode *n, const IrNode *x) {
  if (n->op != OP_GEN || n->nargs != 2 || n->args[0] != body->params[0] || n->args[1] != x || n->dtype != x->dtype) return false;
  const IrRegion *r = n->attr.region;
  if (r->nidx != x->rank - 1 || r->body->nresults != 1) return false;
  for (int d = 1; d < x->rank; d++)
    if (r->extent[d - 1] != x->shape[d]) return false;
  const IrNode *v = ir_resolve(r->body->results[0]), *s = v->nargs ? v->args[0] : NULL;
  if (v->op != OP_READ || v->attr.i != 1 || v->nargs != x->rank || s->op != OP_READ || s->attr.i != 0 || s->nargs) return false;
  for (int d = 1; d < x->rank; d++)
    if (v->args[d] != r->body->params[d - 1]) return false;
  return true;
}

/* The followed captures that the body reads only as row t, the loop
 * running over all their rows: their cotangents are not running sums
 * (a T x ... state of the backward sweep, each step adding a scatter of one
 * row) but rows the backward sweep emits, one per step. */
static ParamSet row_captures(const LoopParts *p, const IrFunc *body, const ParamSet *w, Dim trip, int nlevels) {
  ParamSet rows = {{0}};
  ir_renumber((IrFunc *)body);
  for (int param = 1 + p->ns; param < body->nparams; param++) {
    const IrNode *x = body->params[param];
    bool ok = ps_has(w, param) && x->rank >= 1 && x->shape[0] == trip && (!nlevels || x->rank < IR_MAX_RANK), used = false;
    for (int k = 0; ok && k < body->nresults; k++) ok = ir_resolve(body->results[k]) != x;
    for (int i = 0; ok && i < body->body.len; i++) {
      const IrNode *n = body->body.items[i];
      for (int a = 0; ok && a < n->nargs; a++)
        if (n->args[a] == x) ok = is_row_read(body, n, x), used = true;
    }
    if (ok && used) ps_add(&rows, param);
  }
  return rows;
}

/* A copy of body whose row captures are params of one row, each x[t] read
 * of them that param: its vjp gives a row's cotangent. */
static IrFunc *row_body(IrModule *m, IrFunc *body, const ParamSet *rows) {
  IrFunc *c = ir_loop_body_new(m, body->loc);
  c->name = arena_printf(&m->arena, "loop%d", m->regions.len - 1);
  ir_renumber(body);
  IrNode **map = tex_calloc((size_t)body->body.len + 1, sizeof(IrNode *)), **res = tex_calloc((size_t)body->nresults + 1, sizeof(IrNode *));
  for (int i = 0; i < body->nparams; i++) {
    const IrNode *x = body->params[i];
    bool row = ps_has(rows, i);
    map[x->id] = ir_param(m, c, x->name, x->dtype, x->rank - row, x->shape + row, x->loc);
  }
  for (int i = 0; i < body->body.len; i++) {
    IrNode *n = body->body.items[i];
    if (n->op == OP_PARAM) continue;
    bool row = n->op == OP_GEN && n->nargs == 2 && n->args[1]->op == OP_PARAM && ps_has(rows, (int)n->args[1]->attr.i);
    map[i] = row ? map[n->args[1]->id] : irb_clone_node(m, c, n, map);
  }
  for (int k = 0; k < body->nresults; k++) res[k] = map[ir_resolve(body->results[k])->id];
  ir_set_results(m, c, body->nresults, res);
  tex_free(res);
  tex_free(map);
  return c;
}

/* A row capture's cotangent rows over a range of n steps, from those of
 * its parts as the backward sweeps emit them, last step first: the tail's
 * (rem rows) then, with segs, the segment loop's (nfull x K rows: it runs
 * the segments from the last).  The result's row f is step n - 1 - f, or
 * with `in_order` step f.  shape: [n, the row's axes]. */
static IrNode *range_rows(IrBuilder *ib, const IrNode *x, Dim n, IrNode *tail, IrNode *segs, const Segments *sg, bool in_order) {
  IrModule *m = ib->m;
  Dim shape[IR_MAX_RANK];
  memcpy(shape, x->shape, sizeof(Dim) * (size_t)x->rank);
  shape[0] = n;
  IrRegion *r = ir_region_new(m, x->rank, NULL, shape, ib->loc);
  IrBuilder rb = {m, r->body, ib->loc};
  IrNode *ops[2] = {tail, segs}, *subs[IR_MAX_RANK], *ssubs[IR_MAX_RANK + 1], *f = r->body->params[0];
  if (in_order) f = irb_bin(&rb, OP_SUB, dimsize(&rb, dim_sub(m->dims, n, dim_lit(m->dims, 1))), f);
  for (int d = 1; d < x->rank; d++) subs[d] = ssubs[d + 1] = r->body->params[d];
  subs[0] = f;
  IrNode *v = ir_node(m, r->body, OP_READ, x->dtype, 0, NULL, x->rank, subs, ib->loc);
  if (segs) { /* f >= rem: segment loop row (f - rem) // K, its row (f - rem) % K */
    IrNode *rem = dimsize(&rb, sg->rem_dim), *k = irb_const(&rb, DT_I64, (double)sg->K), *g = irb_bin(&rb, OP_SUB, f, rem);
    ssubs[0] = irb_bin(&rb, OP_FLOORDIV, g, k), ssubs[1] = irb_bin(&rb, OP_MOD, g, k);
    IrNode *sv = ir_node(m, r->body, OP_READ, x->dtype, 0, NULL, x->rank + 1, ssubs, ib->loc);
    sv->attr.i = 1;
    v = irb_sel(&rb, irb_bin(&rb, OP_LT, f, rem), v, sv);
  }
  if (in_order) v = irb_bin(&rb, OP_ADD, irb_const(&rb, x->dtype, 0), v); /* -0 is +0, as in a gather's cotangent */
  ir_set_results(m, r->body, 1, &v);
  IrNode *g = ir_node(m, ib->f, OP_GEN, x->dtype, x->rank, shape, segs ? 2 : 1, ops, ib->loc);
  g->attr.region = r;
  return g;
}

/* The backward sweep's states: a cotangent per followed state, then a sum
 * per followed capture not read by rows; its stacked outputs: the rows of
 * the cotangent of each row capture. */
typedef struct Backward {
  const LoopTape *tp;
  ParamSet w, rows;  /* followed params; the row captures among them */
  IrFunc *vjp;       /* of the body (of its row_body if rows), wrt w */
  int nw, nrow;      /* states (w less rows), stacked outputs */
  int *row_param;    /* the body param of each row capture */
} Backward;

/* One backward step at t = t0 + j, j = trip - 1 - t': the body's vjp at
 * step t's states (row j of the stacks, or prim when given).  The loop's
 * captures: trip, t0, the stacks, the loop's captures, the outputs'
 * cotangents.  next: the
 * next states, then the row captures' rows. */
static void backward_body(const Backward *bw, NewLoop *l, IrNode *const *ycts, IrNode **next, IrNode *const *prim) {
  const LoopParts *p = &bw->tp->p;
  IrBuilder *ib = &l->ib;
  IrNode **args = tex_calloc((size_t)bw->vjp->nparams + 1, sizeof(IrNode *)),
         **out = tex_calloc((size_t)bw->vjp->nresults + 1, sizeof(IrNode *));
  IrNode *j = irb_bin(ib, OP_SUB, irb_bin(ib, OP_SUB, l->cap[0], irb_const(ib, DT_I64, 1)), l->t), *t = irb_bin(ib, OP_ADD, l->cap[1], j);
  int n = 0, ct = 0, yc = 2 + p->ns + p->ncap;
  args[n++] = t;
  for (int k = 0; k < p->ns; k++) args[n++] = prim ? prim[k] : irb_row(ib, l->cap[2 + k], j);
  for (int c = 0; c < p->ncap; c++) {
    IrNode *x = l->cap[2 + p->ns + c];
    args[n++] = ps_has(&bw->rows, 1 + p->ns + c) ? irb_row(ib, x, t) : x;
  }
  for (int k = 0; k < p->ns + p->ny; k++) { /* a cotangent per float result */
    IrNode *r = p->body->results[k];
    if (!dtype_is_float(r->dtype)) continue;
    if (k < p->ns)
      args[n++] = ps_has(&bw->w, 1 + k) ? l->state[ct++] : irb_fill(ib, p->body->params[1 + k], 0.0);
    else
      args[n++] = ycts[k - p->ns] ? irb_row(ib, l->cap[yc++], t) : irb_fill(ib, r, 0.0);
  }
  irb_call(ib, bw->vjp, args, out);
  int o = 0, s = 0, y = bw->nw;
  for (int param = 1; param < p->body->nparams; param++) {
    if (!ps_has(&bw->w, param)) continue;
    if (ps_has(&bw->rows, param))
      next[y++] = out[o];
    else
      next[s] = param <= p->ns ? out[o] : irb_add(ib, l->state[s], out[o]), s++;
    o++;
  }
  tex_free(out);
  tex_free(args);
}

/* The backward sweep over steps t0 .. t0 + trip - 1 (their states in
 * stacks), from the cotangents and sums in `from`; its states in `to`, its
 * stacked rows (last step first) in `rows`.  `caps` are the loop's
 * captures where this is built. */
static void backward_steps(IrBuilder *ib, const Backward *bw, IrNode *trip, IrNode *t0, IrNode *const *stacks, IrNode *const *caps,
                           IrNode *const *ycts, IrNode *const *from, IrNode **to, IrNode **rows) {
  const LoopParts *p = &bw->tp->p;
  IrNode **lc = tex_calloc((size_t)(2 + p->ns + p->ncap + p->ny) + 1, sizeof(IrNode *)),
         **next = tex_calloc((size_t)(bw->nw + bw->nrow) + 1, sizeof(IrNode *));
  int nc = 0;
  lc[nc++] = trip;
  lc[nc++] = t0;
  for (int k = 0; k < p->ns; k++) lc[nc++] = stacks[k];
  for (int c = 0; c < p->ncap; c++) lc[nc++] = caps[c];
  for (int j = 0; j < p->ny; j++)
    if (ycts[j]) lc[nc++] = ycts[j];
  NewLoop l;
  loop_open(&l, ib, from, bw->nw, lc, nc);
  backward_body(bw, &l, ycts, next, NULL);
  IrNode *back = loop_close(&l, ib, trip, from, lc, next, bw->nrow);
  for (int s = 0; s < bw->nw; s++) to[s] = loop_proj(ib, back, s);
  for (int r = 0; r < bw->nrow; r++) rows[r] = loop_proj(ib, back, bw->nw + r);
  tex_free(next);
  tex_free(lc);
}

static void reverse_segments(IrBuilder *ib, const Backward *bw, const Range *r, const Segments *sg, const int64_t *levels, int nlev,
                             IrNode *const *ycts, IrNode *const *from, IrNode **to, IrNode **rows);

/* The backward sweep over the range r, from the cotangents and sums in
 * `from` to `to`; the row captures' rows over it, last step first, in
 * `rows`.  With checkpoint levels left, level K's segments of r, run back
 * one at a time; without, its states stacked by a forward sweep. */
static void reverse_range(IrBuilder *ib, const Backward *bw, const Range *r, const int64_t *levels, int nlev, IrNode *const *ycts,
                          IrNode *const *from, IrNode **to, IrNode **rows) {
  const LoopParts *p = &bw->tp->p;
  if (nlev) {
    Segments sg = segments(ib, bw->tp, r, levels[0]);
    reverse_segments(ib, bw, r, &sg, levels + 1, nlev - 1, ycts, from, to, rows);
    segments_free(&sg);
    return;
  }
  IrNode **st = projs(ib, forward_steps(ib, bw->tp, r->caps, r->trip, r->t0, r->start, false, true), p->ns, p->ns);
  backward_steps(ib, bw, r->trip, r->t0, st, r->caps, ycts, from, to, rows);
  tex_free(st);
}

/* The segments' loop of reverse_segments: its captures are the segments'
 * starts, the loop's captures, nfull, t0 and the outputs' cotangents. */
typedef struct SegLoop {
  NewLoop l;
  IrNode **lc, **iy;
  int nc;
} SegLoop;

static void seg_loop_open(SegLoop *sl, IrBuilder *ib, const LoopParts *p, const Range *r, const Segments *sg, IrNode *const *ycts,
                          IrNode *const *from, int nw) {
  sl->lc = tex_calloc((size_t)(p->ns + p->ncap + 2 + p->ny) + 1, sizeof(IrNode *));
  sl->iy = tex_calloc((size_t)p->ny + 1, sizeof(IrNode *));
  sl->nc = 0;
  for (int k = 0; k < p->ns; k++) sl->lc[sl->nc++] = sg->seg[k];
  for (int c = 0; c < p->ncap; c++) sl->lc[sl->nc++] = r->caps[c];
  sl->lc[sl->nc++] = sg->nfull;
  sl->lc[sl->nc++] = r->t0;
  for (int j = 0; j < p->ny; j++)
    if (ycts[j]) sl->lc[sl->nc++] = ycts[j];
  loop_open(&sl->l, ib, from, nw, sl->lc, sl->nc);
  for (int j = 0, c = p->ns + p->ncap + 2; j < p->ny; j++) sl->iy[j] = ycts[j] ? sl->l.cap[c++] : NULL;
}

/* Runs r back by its segments sg: the tail, then the full segments from
 * the last, each from the state stacked where it starts, by the levels
 * after sg's. */
static void reverse_segments(IrBuilder *ib, const Backward *bw, const Range *r, const Segments *sg, const int64_t *levels, int nlev,
                             IrNode *const *ycts, IrNode *const *from, IrNode **to, IrNode **rows) {
  const LoopParts *p = &bw->tp->p;
  IrNode **mid = tex_calloc((size_t)bw->nw + 1, sizeof(IrNode *)), **tailrows = tex_calloc((size_t)bw->nrow + 1, sizeof(IrNode *));
  Range tail = tail_range(ib, r, sg);
  reverse_range(ib, bw, &tail, levels, nlev, ycts, from, mid, tailrows);
  SegLoop sl;
  seg_loop_open(&sl, ib, p, r, sg, ycts, mid, bw->nw);
  IrBuilder *lb = &sl.l.ib;
  IrNode **cap = sl.l.cap, **next = tex_calloc((size_t)(bw->nw + bw->nrow) + 1, sizeof(IrNode *)),
         **start = tex_calloc((size_t)p->ns + 1, sizeof(IrNode *));
  IrNode *kv = irb_const(lb, DT_I64, (double)sg->K); /* segment s = nfull - 1 - t starts at t0 + s*K */
  IrNode *s = irb_bin(lb, OP_SUB, irb_bin(lb, OP_SUB, cap[p->ns + p->ncap], irb_const(lb, DT_I64, 1)), sl.l.t);
  for (int k = 0; k < p->ns; k++) start[k] = irb_row(lb, cap[k], s);
  Range seg = {dim_lit(ib->m->dims, sg->K), kv, irb_add(lb, cap[p->ns + p->ncap + 1], irb_bin(lb, OP_MUL, s, kv)), start, cap + p->ns};
  reverse_range(lb, bw, &seg, levels, nlev, sl.iy, sl.l.state, next, next + bw->nw);
  IrNode *back = loop_close(&sl.l, ib, sg->nfull, mid, sl.lc, next, bw->nrow);
  for (int k = 0; k < bw->nw; k++) to[k] = loop_proj(ib, back, k);
  for (int k = 0; k < bw->nrow; k++) {
    const IrNode *x = bw->tp->args[IR_LOOP_FIXED + bw->row_param[k] - 1];
    rows[k] = range_rows(ib, x, r->n, tailrows[k], loop_proj(ib, back, bw->nw + k), sg, false);
  }
  tex_free(start), tex_free(next), tex_free(sl.lc), tex_free(sl.iy), tex_free(tailrows), tex_free(mid);
}

/* ---- checkpoint=revolve(S) ------------------------------------------------------
 * The backward sweep is a revolve loop (ir.h): its primal states are the
 * loop's states, which the runtime recomputes by the advance body (a call of
 * the pristine body) keeping at most S of them; its body is backward_body
 * on them.  Its captures are backward_steps', with the initial states where
 * the stacks were (unread: hoist drops them). */

/* The advance body of the revolve loop whose body is b: the primal states
 * (the first np) by the loop's body, the others as they came.  b's params:
 * t, the states, then trip, t0, np initial states, the loop's captures. */
static IrFunc *advance_body(IrBuilder *ib, const LoopTape *tp, const IrFunc *b, int ns) {
  const LoopParts *p = &tp->p;
  IrFunc *a = ir_loop_body_new(ib->m, ib->loc);
  for (int i = 0; i < b->nparams; i++) {
    const IrNode *x = b->params[i];
    ir_param(ib->m, a, x->name, x->dtype, x->rank, x->shape, ib->loc);
  }
  IrBuilder ab = {ib->m, a, ib->loc};
  IrNode **args = tex_calloc((size_t)p->body->nparams + 1, sizeof(IrNode *)),
         **val = tex_calloc((size_t)(p->ns + p->ny) + 1, sizeof(IrNode *)), **res = tex_calloc((size_t)ns + 1, sizeof(IrNode *));
  args[0] = a->params[0];
  for (int k = 0; k < p->ns; k++) args[1 + k] = a->params[1 + k];
  for (int c = 0; c < p->ncap; c++) args[1 + p->ns + c] = a->params[1 + ns + 2 + p->ns + c];
  irb_call(&ab, tp->pristine, args, val);
  for (int k = 0; k < ns; k++) res[k] = k < p->ns ? val[k] : a->params[1 + k];
  ir_set_results(ib->m, a, ns, res);
  tex_free(res), tex_free(val), tex_free(args);
  return a;
}

static void revolve_backward(IrBuilder *ib, const Backward *bw, IrNode *const *ycts, IrNode *const *from, IrNode **to, IrNode **rows) {
  const LoopTape *tp = bw->tp;
  const LoopParts *p = &tp->p;
  const Range *r = &tp->all;
  int np = p->ns, ns = np + bw->nw, nc = 0;
  IrNode **init = tex_calloc((size_t)ns + 1, sizeof(IrNode *)), **res = tex_calloc((size_t)(ns + bw->nrow) + 1, sizeof(IrNode *));
  IrNode **lc = tex_calloc((size_t)(2 + p->ns + p->ncap + p->ny) + 1, sizeof(IrNode *));
  memcpy(init, r->start, sizeof(IrNode *) * (size_t)np);
  memcpy(init + np, from, sizeof(IrNode *) * (size_t)bw->nw);
  lc[nc++] = r->trip;
  lc[nc++] = r->t0;
  for (int k = 0; k < p->ns; k++) lc[nc++] = r->start[k];
  for (int c = 0; c < p->ncap; c++) lc[nc++] = r->caps[c];
  for (int j = 0; j < p->ny; j++)
    if (ycts[j]) lc[nc++] = ycts[j];
  NewLoop l, lb;
  loop_open(&l, ib, init, ns, lc, nc);
  lb = l;
  lb.state = l.state + np; /* backward_body's states are the sweep's own */
  memcpy(res, l.state, sizeof(IrNode *) * (size_t)np);
  backward_body(bw, &lb, ycts, res + np, l.state);
  IrFunc *adv = advance_body(ib, tp, l.ib.f, ns);
  IrNode *back = loop_close(&l, ib, r->trip, init, lc, res, bw->nrow);
  back->attr.orelse = adv, back->attr.snaps = tp->snaps, back->attr.nprim = np;
  for (int s = 0; s < bw->nw; s++) to[s] = loop_proj(ib, back, np + s);
  for (int k = 0; k < bw->nrow; k++) rows[k] = loop_proj(ib, back, ns + k);
  tex_free(lc), tex_free(res), tex_free(init);
}

/* The vjp the backward sweep calls: of the body, or of its row_body. */
static void backward_rule(IrBuilder *ib, LoopTape *tp, Backward *bw) {
  const LoopParts *p = &tp->p;
  bw->rows = row_captures(p, tp->pristine, &bw->w, tp->trip, tp->nlevels);
  bw->nrow = ps_count(&bw->rows);
  bw->nw = ps_count(&bw->w) - bw->nrow;
  bw->row_param = tex_calloc((size_t)bw->nrow + 1, sizeof(int));
  for (int param = 1, r = 0; param < p->body->nparams; param++)
    if (ps_has(&bw->rows, param)) bw->row_param[r++] = param;
  IrFunc *body = bw->nrow ? row_body(ib->m, tp->pristine, &bw->rows) : tp->pristine;
  bw->vjp = ir_derive(ib->m, body, DERIVE_VJP_CT, &bw->w, arena_printf(&ib->m->arena, "%s__vjp", body->name), p->loop->loc);
}

const char *loop_vjp(IrBuilder *ib, LoopTape *tp, IrNode *const *cts, const bool *active, IrNode **out) {
  const LoopParts *p = &tp->p;
  if (tp->why) return tp->why;
  Backward bw = {tp, followed_params(p, active), {{0}}, NULL, 0, 0, NULL};
  if (ps_empty(&bw.w)) return NULL;
  backward_rule(ib, tp, &bw);
  IrNode **from = tex_calloc((size_t)bw.nw + 1, sizeof(IrNode *)), **to = tex_calloc((size_t)bw.nw + 1, sizeof(IrNode *));
  IrNode **ycts = tex_calloc((size_t)p->ny + 1, sizeof(IrNode *)), **rows = tex_calloc((size_t)bw.nrow + 1, sizeof(IrNode *));
  for (int j = 0; j < p->ny; j++)
    if (cts[p->ns + j] && dtype_is_float(cts[p->ns + j]->dtype)) ycts[j] = cts[p->ns + j];
  for (int param = 1, s = 0; param < p->body->nparams; param++) {
    if (!ps_has(&bw.w, param) || ps_has(&bw.rows, param)) continue;
    IrNode *x = tp->args[IR_LOOP_FIXED + param - 1];
    from[s++] = param <= p->ns ? irb_or_zeros(ib, cts[param - 1], x) : irb_fill(ib, x, 0.0);
  }
  if (tp->snaps)
    revolve_backward(ib, &bw, ycts, from, to, rows);
  else if (tp->nlevels)
    reverse_segments(ib, &bw, &tp->all, &tp->top, tp->levels + 1, tp->nlevels - 1, ycts, from, to, rows);
  else
    backward_steps(ib, &bw, tp->all.trip, tp->all.t0, tp->stacks, tp->all.caps, ycts, from, to, rows);
  for (int param = 1, s = 0, r = 0; param < p->body->nparams; param++) {
    if (!ps_has(&bw.w, param)) continue;
    int a = IR_LOOP_FIXED + param - 1;
    bool row = ps_has(&bw.rows, param);
    IrNode *ct = row ? range_rows(ib, tp->args[a], tp->trip, rows[r], NULL, NULL, true) : to[s];
    if (active[a]) out[a] = ct;
    row ? r++ : s++;
  }
  tex_free(bw.row_param);
  tex_free(rows);
  tex_free(ycts);
  tex_free(to);
  tex_free(from);
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
  if (n->attr.orelse) { /* a revolve loop: the values, no tangents, and the error */
    autodiff_fail(ib->m, n,
                  "forward mode cannot go through the backward sweep of a loop with checkpoint=revolve(S) yet (a derivative "
                  "of its gradient); give that loop checkpoint=K instead");
    IrNode *c = ir_node(ib->m, ib->f, OP_LOOP, n->dtype, n->rank, n->shape, n->nargs, (IrNode **)args, n->loc);
    c->attr = n->attr;
    c->attr.body = ir_loop_body_copy(ib->m, n->attr.body, NULL), c->attr.orelse = ir_loop_body_copy(ib->m, n->attr.orelse, NULL);
    for (int k = 0; k < p.ns + p.ny; k++) prim[k] = loop_proj(ib, c, k), tan[k] = NULL;
    return;
  }
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
  f->attr.is_while = n->attr.is_while; /* its flag is state 0, which carries no tangent */
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
