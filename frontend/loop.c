/* loop.c — `loop t < T with (h = h0, c = c0) { ...; next h2, c2 }`: a
 * forward loop with carried state (issue 10, lang/reference.md "loop").
 *
 * The body is lowered into a function of its own (ir.h, "loop.c"): its
 * params are the index t (i64), the states, then every value of the
 * enclosing code the body reads, captured when a name bound outside the
 * body is first used in it (sema_loop_capture; nested loops capture
 * through each other).  So the body reads nothing but its params, and the
 * passes treat it as any function.  The loop node's operands are the trip
 * count (i64), the initial states and the captured values.  A state keeps
 * its type: `next` must give each state the type it had at `with`. */
#include <string.h>

#include "frontend.h"

typedef struct Capture {
  IrNode *outer; /* a value of the enclosing code */
  IrNode *param; /* the body's param that stands for it */
} Capture;

struct SemaLoop {
  IrFunc *body;
  IrFunc *outer;    /* s->fn before the body */
  int scope_mark;   /* bindings of the enclosing code end here */
  int nstates;
  int nouts;        /* a scan's emitted values */
  PtrVec caps;      /* Capture*, in param order */
  SemaLoop *prev;   /* the loop whose body this one is in */
};

IrFunc *sema_loop_fn(Sema *s) {
  SemaLoop *l = s->loop;
  while (l && l->prev) l = l->prev;
  return l ? l->outer : s->fn;
}

/* A param name no other param of body has (captures are named after the
 * binding they come from; printed IR must parse back). */
static const char *fresh_name(Sema *s, IrFunc *body, const char *name) {
  const char *n = name;
  for (int k = 2;; k++) {
    bool used = false;
    for (int i = 0; i < body->nparams && !used; i++) used = strcmp(body->params[i]->name, n) == 0;
    if (!used) return n;
    n = arena_printf(&s->m->arena, "%s_%d", name, k);
  }
}

static IrNode *capture_into(Sema *s, SemaLoop *l, int idx, const char *name, IrNode *x) {
  if (idx >= l->scope_mark) return x;
  if (l->prev) x = capture_into(s, l->prev, idx, name, x);
  for (int k = 0; k < l->caps.len; k++)
    if (((Capture *)l->caps.items[k])->outer == x) return ((Capture *)l->caps.items[k])->param;
  Capture *c = ARENA_NEW(&s->m->arena, Capture);
  c->outer = x;
  c->param = ir_loop_capture_param(s->m, l->body, fresh_name(s, l->body, name), x, x->loc);
  vec_push(&l->caps, c);
  return c->param;
}

Val sema_loop_capture(Sema *s, const Binding *b, Val v) {
  if (!s->loop || v.poison || v.weak || v.ntuple || !v.node) return v;
  v.node = capture_into(s, s->loop, (int)(b - s->scope), b->name, v.node);
  return v;
}

/* ---- the trip count and the states ------------------------------------------ */

/* The trip count (what: "the trip count of a loop"), or a while loop's max=. */
static IrNode *trip_count(Sema *s, const Expr *e, const char *what) {
  Val v = sema_lower_expr(s, e);
  if (v.poison) return NULL;
  char tb[256];
  if (v.weak && !v.weak_float) {
    if (v.i < 0) {
      sema_error(s, e->loc, "%s is %lld; it must not be negative", what, (long long)v.i);
      return NULL;
    }
    return ir_const(s->m, s->fn, DT_I64, 0, v.i, e->loc);
  }
  if (v.weak || !dtype_is_int(v.node->dtype) || v.node->rank != 0) {
    sema_error(s, e->loc, "%s is an integer scalar (a literal, a size symbol, or an i32 or i64 value), not %s", what,
               sema_val_text(s, &v, tb, sizeof tb));
    return NULL;
  }
  return v.node->dtype == DT_I64 ? v.node : ir_cast(s->m, s->fn, v.node, DT_I64, e->loc);
}

/* The `with` list: one named initial value per state. */
static bool initial_states(Sema *s, const Expr *e, IrNode **init) {
  bool ok = true;
  if (e->nargs == 0 && !e->scan) {
    sema_error(s, e->loc, "a loop carries at least one state: with (h = h0)");
    return false;
  }
  if (e->nargs > TEX_MAX_RESULTS) {
    sema_error(s, e->args[TEX_MAX_RESULTS].loc, "a loop carries at most %d states", TEX_MAX_RESULTS);
    return false;
  }
  for (int i = 0; i < e->nargs; i++) {
    const Arg *a = &e->args[i];
    if (!a->name) {
      sema_error(s, a->loc, "each state of a loop is named with its initial value: with (h = h0)");
      ok = false;
      continue;
    }
    for (int j = 0; j < i; j++)
      if (e->args[j].name && strcmp(e->args[j].name, a->name) == 0) {
        sema_error(s, a->loc, "state '%s' is named twice in this loop", a->name);
        ok = false;
      }
    Val v = sema_materialize_default(s, sema_lower_expr(s, a->value));
    ok = sema_check_not_symbol(s, a->name, a->loc, "loop state") && !v.poison && ok;
    init[i] = v.poison ? NULL : v.node;
  }
  return ok;
}

/* ---- the body ------------------------------------------------------------------ */

/* The states `next` gives, each of the type its state had at `with`. */
static bool next_states(Sema *s, const Expr *e, const Stmt *st, IrNode **init, IrNode **res) {
  const Expr *const *vals = (const Expr *const *)st->values;
  int n = st->nvalues;
  const Expr *tuple[TEX_MAX_RESULTS];
  if (n == 1 && vals[0]->kind == E_TUPLE) { /* next (h2, c2) */
    n = vals[0]->nargs < TEX_MAX_RESULTS ? vals[0]->nargs : TEX_MAX_RESULTS;
    for (int i = 0; i < n; i++) tuple[i] = vals[0]->args[i].value;
    vals = tuple;
  }
  if (n != e->nargs) {
    sema_error(s, st->loc, "next gives %d value%s, but this loop carries %d state%s", n, n == 1 ? "" : "s", e->nargs,
               e->nargs == 1 ? "" : "s");
    return false;
  }
  bool ok = true;
  for (int i = 0; i < n; i++) {
    Val v = sema_lower_expr(s, vals[i]);
    if (v.poison || !init[i]) {
      ok = false;
      continue;
    }
    v = sema_materialize(s, v, init[i]->dtype);
    if (v.poison) {
      ok = false;
      continue;
    }
    if (v.node->dtype != init[i]->dtype || !ir_same_shape(v.node, init[i])) {
      char tn[256], ti[256];
      sema_error(s, vals[i]->loc, "next gives state '%s' the type %s, but it is %s at 'with'; a loop's state keeps its type",
                 e->args[i].name, sema_type_text(s, v.node, tn, sizeof tn), sema_type_text(s, init[i], ti, sizeof ti));
      diag_note(s->diag, e->args[i].loc, "state '%s' is %s here", e->args[i].name, ti);
      ok = false;
      continue;
    }
    res[i] = v.node;
  }
  return ok;
}

/* The values a scan's step emits (each stacked along a new leading axis):
 * their number, or -1. */
static int emitted(Sema *s, const Stmt *st, IrNode **out) {
  const Expr *const *vals = (const Expr *const *)st->values;
  int n = st->nvalues;
  if (n == 1 && vals[0]->kind == E_TUPLE) { /* emit (y, z) */
    n = vals[0]->nargs;
    if (n > TEX_MAX_RESULTS) n = TEX_MAX_RESULTS + 1;
    for (int i = 0; i < n && i < TEX_MAX_RESULTS; i++) out[i] = NULL;
  }
  if (n > TEX_MAX_RESULTS) {
    sema_error(s, st->loc, "a scan emits at most %d values per step", TEX_MAX_RESULTS);
    return -1;
  }
  bool ok = true;
  for (int i = 0; i < n; i++) {
    const Expr *x = st->nvalues == 1 && vals[0]->kind == E_TUPLE ? vals[0]->args[i].value : vals[i];
    Val v = sema_materialize_default(s, sema_lower_expr(s, x));
    if (!v.poison && v.node->rank + 1 > IR_MAX_RANK) {
      sema_error(s, x->loc, "a scan stacks what it emits along a new axis, so an emitted value has rank at most %d", IR_MAX_RANK - 1);
      v.poison = true;
    }
    ok = ok && !v.poison;
    out[i] = v.poison ? NULL : v.node;
  }
  return ok ? n : -1;
}

/* The body's statements; res gets the next states, then (a scan) what it
 * emits.  The number of emitted values, or -1. */
static int lower_statements(Sema *s, const Expr *e, IrNode **init, IrNode **res) {
  bool ok = true;
  for (int i = 0; i < e->nstmts; i++) {
    const Stmt *st = &e->stmts[i];
    switch (st->kind) {
    case S_LET: sema_lower_let(s, st); break;
    case S_UPDATE: sema_error(s, st->loc, "update is not allowed in a loop body; carry the value as a state of the loop"); return -1;
    case S_RETURN: sema_error(s, st->loc, "'return' inside a loop body; the body ends with 'next' and the states it gives"); return -1;
    case S_NEXT: /* the last statement (the grammar's), or before emit */
      ok = next_states(s, e, st, init, res);
      if (!e->scan) return ok ? 0 : -1;
      break;
    case S_EMIT: {
      int n = emitted(s, st, res + e->nargs);
      return ok ? n : -1;
    }
    }
  }
  ice("a loop body without 'next'");
}

/* The option after the states: checkpoint=K or checkpoint=(K1, K2, ...) on
 * a loop or scan (reverse mode stores every K1-th state and recomputes the
 * steps in between by the next levels: positive integer literals, each
 * smaller than the one before), max=N on a while (required: the most
 * iterations it may run).  The levels go to loop->attr.axes. */
static bool is_revolve(const Expr *k) { return k->kind == E_CALL && !k->qual && strcmp(k->name, "revolve") == 0; }

/* checkpoint=revolve(S): binomial checkpointing keeping at most S states. */
static bool checkpoint_revolve(Sema *s, const Expr *k, IrAttr *a) {
  const Expr *v = k->nargs == 1 && !k->args[0].name ? k->args[0].value : NULL;
  if (!v || v->kind != E_INT || v->ival < 1) {
    sema_error(s, v ? v->loc : k->loc,
               "checkpoint=revolve(S) takes one positive integer literal, the most states reverse mode stores at once");
    return false;
  }
  if (v->ival > FE_MAX_REVOLVE) {
    sema_error(s, v->loc, "checkpoint=revolve(%lld) is over the limit of %d stored states", (long long)v->ival, FE_MAX_REVOLVE);
    return false;
  }
  a->snaps = (int)v->ival;
  return true;
}

static bool checkpoint_levels(Sema *s, const Expr *k, IrAttr *a) {
  if (is_revolve(k)) return checkpoint_revolve(s, k, a);
  int n = k->kind == E_TUPLE ? k->nargs : 1;
  if (n > IR_MAX_RANK) {
    sema_error(s, k->loc, "checkpoint= takes at most %d levels, not %d", IR_MAX_RANK, n);
    return false;
  }
  for (int i = 0; i < n; i++) {
    const Expr *v = k->kind == E_TUPLE ? k->args[i].value : k;
    if (is_revolve(v)) {
      sema_error(s, v->loc, "checkpoint=revolve(S) is a schedule of its own, not a level of checkpoint=(K1, K2, ...)");
      return false;
    }
    if (v->kind != E_INT || v->ival < 1) {
      sema_error(s, v->loc,
                 "checkpoint= takes a positive integer literal, the number of steps between the states reverse mode stores, or "
                 "a list of them, (K1, K2, ...), one per level");
      return false;
    }
    if (v->ival > FE_MAX_CHECKPOINT) { /* a segment's K states are allocated even if the loop runs fewer steps */
      sema_error(s, v->loc, "checkpoint=%lld is over the limit of %d steps per segment", (long long)v->ival, FE_MAX_CHECKPOINT);
      return false;
    }
    if (i && v->ival >= a->axes[i - 1]) {
      sema_error(s, v->loc, "checkpoint= levels are segment lengths, each smaller than the one before: %lld after %lld", (long long)v->ival,
                 (long long)a->axes[i - 1]);
      return false;
    }
    a->axes[a->naxes++] = v->ival;
  }
  return true;
}

static bool loop_option(Sema *s, const Expr *e, IrAttr *a, const Expr **max) {
  const Arg *opt = e->opt;
  *max = NULL;
  if (e->rhs) {
    if (opt && strcmp(opt->name, "max") == 0) return (*max = opt->value) != NULL;
    sema_error(s, opt ? opt->loc : e->loc,
               "a while loop takes max=N after its states: the most iterations it may run (reaching it with the condition "
               "still true is an error)%s",
               opt && strcmp(opt->name, "checkpoint") == 0 ? "; checkpoint= is for reverse mode, which cannot go through a while loop"
                                                           : "");
    return false;
  }
  if (!opt) return true;
  if (strcmp(opt->name, "checkpoint") != 0) {
    sema_error(s, opt->loc, "unknown loop option '%s'; a loop takes checkpoint=K (reverse mode stores every K-th state)", opt->name);
    return false;
  }
  return checkpoint_levels(s, opt->value, a);
}

/* A while loop's condition on the states vals (bound to the states' names
 * over the bindings up to mark, so the body's own lets are not seen): a
 * bool scalar, or NULL. */
static IrNode *while_condition(Sema *s, const Expr *e, IrNode *const *vals, int mark) {
  sema_unbind_to(s, mark);
  for (int i = 0; i < e->nargs; i++) sema_bind(s, e->args[i].name, sema_typed(vals[i]));
  Val c = sema_lower_expr(s, e->rhs);
  sema_unbind_to(s, mark);
  if (c.poison) return NULL;
  c = sema_materialize_default(s, c);
  if (c.poison || c.node->dtype != DT_BOOL || c.node->rank != 0) {
    char tb[256];
    if (!c.poison)
      sema_error(s, e->rhs->loc, "the condition of a while loop is a bool scalar, not %s", sema_val_text(s, &c, tb, sizeof tb));
    return NULL;
  }
  return c.node;
}

/* Opens the body (params: t, then the states), lowers it, closes it.  A
 * while loop's body has its flag as state 0 (computed last, on the next
 * states; not lowered again when !cond_ok), and its t is not named. */
static bool lower_body(Sema *s, const Expr *e, SemaLoop *l, IrNode **init, bool cond_ok) {
  int w = e->rhs != NULL;
  *l =
      (SemaLoop){.body = ir_loop_body_new(s->m, e->loc), .outer = s->fn, .scope_mark = s->nscope, .nstates = w + e->nargs, .prev = s->loop};
  s->loop = l;
  s->fn = l->body;
  IrNode *t = ir_param(s->m, l->body, w ? "_t" : e->name, DT_I64, 0, NULL, e->loc);
  if (!w) sema_bind(s, e->name, sema_check_not_symbol(s, e->name, e->loc, "loop index") ? sema_typed(t) : sema_poison());
  if (w) ir_param(s->m, l->body, "_go", DT_BOOL, 0, NULL, e->rhs->loc);
  for (int i = 0; i < e->nargs; i++) {
    const char *name = e->args[i].name ? e->args[i].name : arena_printf(&s->m->arena, "_state%d", i); /* reported */
    IrNode *p = init[i] ? ir_param(s->m, l->body, name, init[i]->dtype, init[i]->rank, init[i]->shape, e->args[i].loc)
                        : ir_param(s->m, l->body, name, DT_F32, 0, NULL, e->args[i].loc);
    sema_bind(s, name, init[i] ? sema_typed(p) : sema_poison());
  }
  int mark = s->nscope;
  IrNode *res[2 * TEX_MAX_RESULTS + 1];
  l->nouts = lower_statements(s, e, init, res + w);
  if (w && l->nouts >= 0 && !(cond_ok && (res[0] = while_condition(s, e, res + 1, mark)))) l->nouts = -1; /* once wrong is enough */
  if (l->nouts >= 0) ir_set_results(s->m, l->body, l->nstates + l->nouts, res);
  s->fn = l->outer;
  s->loop = l->prev;
  sema_unbind_to(s, l->scope_mark);
  return l->nouts >= 0;
}

/* The loop's value: its one state (or output), else a tuple of its states
 * then a scan's stacked outputs, each `[T, ...]` (T must be a size). */
static Val loop_value(Sema *s, const Expr *e, IrNode *loop) {
  int n = ir_loop_nstates(loop) + ir_loop_nouts(loop);
  IrNode **v = ARENA_ARRAY(&s->m->arena, IrNode *, n);
  Dim shape[IR_MAX_RANK];
  if (ir_loop_nouts(loop) && !ir_loop_trip_dim(s->m, loop)) {
    sema_error(s, e->lhs->loc,
               "a scan stacks what it emits along its trip count, so the trip count must be a size known when the "
               "call starts (a literal, a size symbol, or + - * of them), not an integer value that can change between calls or "
               "iterations");
    return sema_poison();
  }
  for (int k = n - 1; k >= 0; k--) { /* the loop is typed as proj 0 */
    v[k] = k ? ir_node(s->m, s->fn, OP_PROJ, DT_F32, 0, NULL, 1, &loop, e->loc) : loop;
    if (!ir_loop_proj_type(s->m, loop, k, &v[k]->dtype, &v[k]->rank, shape)) ice("loop proj %d has no type", k);
    v[k]->shape = ARENA_ARRAY(&s->m->arena, Dim, v[k]->rank);
    memcpy(v[k]->shape, shape, sizeof(Dim) * (size_t)v[k]->rank);
    if (k) v[k]->attr.i = k;
  }
  if (n > 1) { /* proj 0 as a node of its own, like every other */
    v[0] = ir_node(s->m, s->fn, OP_PROJ, loop->dtype, loop->rank, loop->shape, 1, &loop, e->loc);
    v[0]->attr.i = 0;
  }
  int w = loop->attr.is_while; /* its flag is not a value */
  if (n == 1) return sema_typed(loop);
  if (n == 2 && w) return sema_typed(v[1]);
  Val t = {.loc = e->loc, .ntuple = n - w, .producer = w ? "while" : e->scan ? "scan" : "loop", .tuple = v + w};
  return t;
}

Val sema_lower_loop(Sema *s, const Expr *e) {
  if (s->gen) {
    sema_error(s, e->loc, "a loop cannot appear inside index notation; compute it with let before the comprehension");
    return sema_poison();
  }
  IrAttr levels = {0};
  const Expr *max;
  int w = e->rhs != NULL;
  bool ok = loop_option(s, e, &levels, &max);
  IrNode *trip = w ? (max ? trip_count(s, max, "max= of a while loop") : NULL) : trip_count(s, e->lhs, "the trip count of this loop");
  IrNode *init[TEX_MAX_RESULTS + 1] = {0};
  ok = initial_states(s, e, init + w) && trip && ok;
  if (ok && w) ok = (init[0] = while_condition(s, e, init + 1, s->nscope)) != NULL;
  SemaLoop l;
  ok = lower_body(s, e, &l, init + w, !w || init[0]) && ok;
  if (!ok) {
    vec_free(&l.caps);
    return sema_poison();
  }
  int nargs = 1 + l.nstates + l.caps.len;
  IrNode **args = tex_calloc((size_t)nargs, sizeof(IrNode *));
  args[0] = trip;
  for (int i = 0; i < l.nstates; i++) args[1 + i] = init[i];
  for (int k = 0; k < l.caps.len; k++) args[1 + l.nstates + k] = ((Capture *)l.caps.items[k])->outer;
  IrNode *loop = ir_node(s->m, s->fn, OP_LOOP, DT_F32, 0, NULL, nargs, args, e->loc);
  loop->attr.body = l.body;
  memcpy(loop->attr.axes, levels.axes, sizeof levels.axes);
  loop->attr.naxes = levels.naxes, loop->attr.snaps = levels.snaps;
  loop->attr.i = l.nouts;
  loop->attr.is_while = w;
  tex_free(args);
  vec_free(&l.caps);
  return loop_value(s, e, loop);
}

/* ---- bodies of other constructs (cond.c: an if's branches) ------------------------
 * The same capture machinery: while a body is open, a name bound outside it
 * becomes a param of the body (and of the bodies it is nested in). */

SemaLoop *sema_body_open(Sema *s, IrFunc *body) {
  SemaLoop *l = ARENA_NEW(&s->m->arena, SemaLoop);
  *l = (SemaLoop){.body = body, .outer = s->fn, .scope_mark = s->nscope, .prev = s->loop};
  s->loop = l;
  s->fn = body;
  return l;
}

void sema_body_close(Sema *s, SemaLoop *l) {
  s->fn = l->outer;
  s->loop = l->prev;
  sema_unbind_to(s, l->scope_mark);
}

void sema_body_free(SemaLoop *l) { vec_free(&l->caps); }

int sema_body_ncaps(const SemaLoop *l) { return l->caps.len; }

IrNode *sema_body_cap(const SemaLoop *l, int k, bool param) {
  const Capture *c = l->caps.items[k];
  return param ? c->param : c->outer;
}

IrNode *sema_body_add_param(Sema *s, IrFunc *body, const char *name, const IrNode *like) {
  return ir_loop_capture_param(s->m, body, fresh_name(s, body, name), like, like->loc);
}

void sema_body_seed(Sema *s, SemaLoop *l, IrNode *outer, const char *name) {
  Capture *c = ARENA_NEW(&s->m->arena, Capture);
  c->outer = outer;
  c->param = sema_body_add_param(s, l->body, name, outer);
  vec_push(&l->caps, c);
}
