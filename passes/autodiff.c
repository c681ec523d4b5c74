/* autodiff.c — reverse-mode automatic differentiation as an IR -> IR pass.
 *
 * Builds the body of every derived function of a reverse kind (grad,
 * value_and_grad, vjp, vjp_ct; see DeriveKind in ir.h):
 *   1. copy the primal body;
 *   2. mark the values that depend on a wrt parameter (activity);
 *   3. seed the cotangents of the results (1 for a scalar grad, else the
 *      d_out parameters);
 *   4. walk the copy in reverse topological order, applying each op's rule
 *      from grad_rules.c and summing cotangents that meet (broadcasts are
 *      explicit in the IR, so their rule sums over the broadcast axes);
 *   5. return the values and the wrt parameters' cotangents.
 * A call is differentiated through its callee's user rule (`grad f(...)`)
 * or a vjp_ct function derived from the callee, so functions stay calls
 * until after AD and the inliner later merges the recomputed
 * forward code with CSE.  Integer and bool values carry no cotangent.
 *
 * Requires: verified IR; no recursion.  Produces: verified IR with no
 * unbuilt derived function.  The derivative is optimised by the same passes
 * as everything else. */
#include <string.h>

#include "passes.h"

typedef struct Rev {
  IrBuilder ib;
  IrFunc *of;
  IrNode **map;     /* primal node id -> copy in the derived function */
  IrNode **adj;     /* primal node id -> cotangent (NULL: zero) */
  bool *active;     /* primal node id -> depends on a wrt parameter */
  LoopTape **tape;  /* primal loop id -> its forward sweep, if active */
} Rev;

static int nvalues(const IrFunc *f) { return f->nresults - f->nupdates; }

static void accumulate(Rev *r, const IrNode *n, IrNode *ct) {
  if (ct) r->adj[n->id] = irb_add(&r->ib, r->adj[n->id], ct);
}

static void mark_active(Rev *r, const ParamSet *wrt) {
  IrFunc *of = r->of;
  for (int i = 0; i < of->body.len; i++) {
    IrNode *n = of->body.items[i];
    bool a = n->op == OP_PARAM && ps_has(wrt, (int)n->attr.i);
    for (int j = 0; j < n->nargs && !a; j++) a = r->active[n->args[j]->id];
    r->active[i] = a && (n->op == OP_CALL || n->op == OP_LOOP || n->op == OP_IF || dtype_is_float(n->dtype));
  }
}

/* The copy of the primal body; an active loop becomes its forward sweep,
 * which keeps what the backward sweep needs (grad_loop.c). */
static void forward_sweep(Rev *r) {
  IrFunc *of = r->of, *g = r->ib.f;
  r->map = tex_calloc((size_t)of->body.len + 1, sizeof(IrNode *));
  r->tape = tex_calloc((size_t)of->body.len + 1, sizeof(LoopTape *));
  for (int i = 0; i < of->body.len; i++) {
    IrNode *n = of->body.items[i];
    r->ib.loc = n->loc;
    if (n->op == OP_PARAM) {
      r->map[i] = g->params[n->attr.i];
    } else if (n->op == OP_LOOP && r->active[i]) {
      IrNode **args = tex_calloc((size_t)n->nargs + 1, sizeof(IrNode *));
      for (int a = 0; a < n->nargs; a++) args[a] = r->map[n->args[a]->id];
      r->tape[i] = loop_tape(&r->ib, n, args);
      r->map[i] = loop_tape_value(r->tape[i], 0);
      tex_free(args);
    } else if (n->op == OP_PROJ && r->tape[n->args[0]->id]) {
      r->map[i] = loop_tape_value(r->tape[n->args[0]->id], (int)n->attr.i);
    } else {
      r->map[i] = irb_clone_node(r->ib.m, g, n, r->map);
    }
  }
  r->ib.loc = g->loc;
}

/* Seeds: 1 for a scalar grad, else the d_out params, one per float result. */
static void seed(Rev *r, IrFunc *g) {
  bool unit = g->derive == DERIVE_GRAD || g->derive == DERIVE_VALUE_AND_GRAD;
  int next = r->of->nparams;
  for (int k = 0; k < nvalues(r->of); k++) {
    IrNode *res = r->of->results[k];
    if (!dtype_is_float(res->dtype)) continue;
    IrNode *ct = unit ? irb_fill(&r->ib, res, 1.0) : g->params[next++];
    if (r->active[res->id]) accumulate(r, res, ct);
  }
}

/* The cotangents of a call's results: of the call itself, or of its projs. */
static bool call_cotangents(Rev *r, const IrNode *call, int ncallee_results, IrNode **cts) {
  bool any = false;
  for (int k = 0; k < ncallee_results; k++) cts[k] = NULL;
  if (ncallee_results == 1) cts[0] = r->adj[call->id];
  for (int i = call->id + 1; ncallee_results > 1 && i < r->of->body.len; i++) {
    IrNode *p = r->of->body.items[i];
    if (p->op == OP_PROJ && p->args[0] == call) cts[p->attr.i] = irb_add(&r->ib, cts[p->attr.i], r->adj[p->id]);
  }
  for (int k = 0; k < ncallee_results; k++) any = any || cts[k];
  return any;
}

/* Whether a value result of f depends on param i.  A call argument its
 * callee ignores gets no cotangent at all: a zero cotangent multiplied
 * through the chain that computed the argument would turn into NaN where
 * that chain overflowed (0 * inf), where the true derivative is 0. */
static bool result_depends_on(IrModule *m, IrFunc *f, int i) {
  derive_ensure_built(m, f);
  ir_renumber(f);
  bool *dep = tex_calloc((size_t)f->body.len + 1, sizeof(bool)), any = false;
  for (int k = 0; k < f->body.len; k++) {
    IrNode *n = f->body.items[k];
    dep[k] = n->op == OP_PARAM && n->attr.i == i;
    for (int j = 0; j < n->nargs && !dep[k]; j++) dep[k] = dep[n->args[j]->id];
  }
  for (int r = 0; r < nvalues(f) && !any; r++) any = dep[f->results[r]->id];
  tex_free(dep);
  return any;
}

/* f restricted to the float results that have a cotangent (keep[k]), as
 * the private function f__keepK...: a result nobody uses gets no cotangent
 * at all, rather than a zero one that its chain would turn into NaN where
 * it overflowed (0 * inf).  Memoised by name; the pipeline drops the rest. */
static IrFunc *restrict_results(IrModule *m, IrFunc *f, IrNode *const *cts) {
  char name[512];
  int n = snprintf(name, sizeof name, "%s__keep", f->name);
  for (int k = 0; k < nvalues(f) && n < (int)sizeof name - 8; k++)
    if (cts[k]) n += snprintf(name + n, sizeof name - (size_t)n, "%d_", k);
  IrFunc *g = ir_find_func(m, name);
  if (g) return g;
  derive_ensure_built(m, f);
  g = ir_func_new(m, name, f->loc);
  g->exported = false;
  for (int i = 0; i < f->nparams; i++)
    ir_param(m, g, f->params[i]->name, f->params[i]->dtype, f->params[i]->rank, f->params[i]->shape, f->params[i]->loc);
  IrNode **map = irb_clone_body(m, f, g), **res = tex_calloc((size_t)f->nresults + 1, sizeof(IrNode *));
  int nres = 0;
  for (int k = 0; k < nvalues(f); k++)
    if (cts[k]) res[nres++] = map[f->results[k]->id];
  ir_set_results(m, g, nres, res);
  tex_free(res);
  tex_free(map);
  return g;
}

/* The callee a call is differentiated through: f itself when every float
 * result has a cotangent (or f has a user rule, which takes them all);
 * else f restricted to those that do, with cts compacted to match. */
static IrFunc *reverse_callee(Rev *r, IrFunc *f, IrNode **cts) {
  bool all = true;
  for (int k = 0; k < nvalues(f); k++) all = all && (cts[k] || !dtype_is_float(f->results[k]->dtype));
  if (all || f->custom_vjp) return f;
  IrFunc *g = restrict_results(r->ib.m, f, cts);
  int n = 0;
  for (int k = 0; k < nvalues(f); k++)
    if (cts[k]) cts[n++] = cts[k];
  return g;
}

/* A call: the callee's user rule, or its derived vjp_ct, gives the
 * cotangents of the active float arguments. */
static void reverse_call(Rev *r, IrNode *call) {
  IrFunc *original = call->attr.callee;
  IrNode **cts = tex_calloc((size_t)original->nresults + 1, sizeof(IrNode *));
  if (!call_cotangents(r, call, original->nresults, cts)) {
    tex_free(cts);
    return;
  }
  IrFunc *callee = reverse_callee(r, original, cts);
  ParamSet active = {{0}};
  for (int j = 0; j < call->nargs; j++)
    if (r->active[call->args[j]->id] && dtype_is_float(call->args[j]->dtype) &&
        (callee->custom_vjp || result_depends_on(r->ib.m, callee, j)))
      ps_add(&active, j);
  if (ps_empty(&active)) {
    tex_free(cts);
    return;
  }
  IrFunc *rule = callee->custom_vjp ? callee->custom_vjp : ir_derive(r->ib.m, callee, DERIVE_VJP_CT, &active, NULL, callee->loc);
  IrNode **args = tex_calloc((size_t)rule->nparams + 1, sizeof(IrNode *));
  IrNode **out = tex_calloc((size_t)rule->nresults + 1, sizeof(IrNode *));
  int n = 0;
  for (int j = 0; j < call->nargs; j++) args[n++] = r->map[call->args[j]->id];
  IrNode *copy = r->map[call->id];
  for (int k = 0, c = 0; k < nvalues(callee); k++) {
    if (!dtype_is_float(callee->results[k]->dtype)) continue;
    IrNode *like = callee->nresults == 1 && callee == original ? copy : irb_result_like(&r->ib, callee, args, k);
    args[n++] = irb_or_zeros(&r->ib, cts[callee == original ? k : c++], like);
  }
  irb_call(&r->ib, rule, args, out);
  ParamSet returned = callee->custom_vjp ? ir_float_params(callee) : active;
  for (int j = 0, o = 0; j < call->nargs; j++)
    if (ps_has(&returned, j)) {
      if (ps_has(&active, j)) accumulate(r, call->args[j], out[o]);
      o++;
    }
  tex_free(out);
  tex_free(args);
  tex_free(cts);
}

/* An if (issue 10, grad_if.c): an if on the same condition gives the
 * cotangents of the active float captures from its values' cotangents. */
static void reverse_if(Rev *r, IrNode *n) {
  int nv = ir_if_nvalues(n);
  IrNode **cts = tex_calloc((size_t)nv + 1, sizeof(IrNode *)), **args = tex_calloc((size_t)n->nargs + 1, sizeof(IrNode *));
  IrNode **out = tex_calloc((size_t)n->nargs + 1, sizeof(IrNode *));
  ParamSet active = {{0}};
  for (int a = IR_IF_FIXED; a < n->nargs; a++)
    if (r->active[n->args[a]->id] && dtype_is_float(n->args[a]->dtype)) ps_add(&active, a - IR_IF_FIXED);
  if (call_cotangents(r, n, nv, cts) && !ps_empty(&active)) {
    for (int a = 0; a < n->nargs; a++) args[a] = r->map[n->args[a]->id];
    grad_if_reverse(&r->ib, n, args, cts, &active, out);
    for (int k = ps_next(&active, -1), o = 0; k >= 0; k = ps_next(&active, k)) accumulate(r, n->args[IR_IF_FIXED + k], out[o++]);
  }
  tex_free(out);
  tex_free(args);
  tex_free(cts);
}

/* n carries a derivative but its op has no rule: a float elementwise op
 * without F_DIFF (trigamma).  Remembered for the driver's error. */
void autodiff_note_nondiff(IrModule *m, const IrNode *n) {
  if (m->nondiff_op) return;
  if (!(op_info[n->op].flags & F_ELEM) || (op_info[n->op].flags & F_DIFF) || !dtype_is_float(n->dtype)) return;
  m->nondiff_op = op_info[n->op].name;
  m->nondiff_at = n->loc;
}

void autodiff_fail(IrModule *m, const IrNode *n, const char *why) {
  if (m->nondiff_op) return;
  m->nondiff_op = op_info[n->op].name;
  m->nondiff_why = why;
  m->nondiff_at = n->loc;
}

/* A loop (grad_loop.c): the cotangents of its projs (a use of the loop
 * itself is proj 0) give its operands'. */
static void reverse_loop(Rev *r, IrNode *n) {
  int nproj = ir_loop_nstates(n) + ir_loop_nouts(n);
  IrNode **cts = tex_calloc((size_t)nproj + 1, sizeof(IrNode *)), **out = tex_calloc((size_t)n->nargs + 1, sizeof(IrNode *));
  bool *active = tex_calloc((size_t)n->nargs + 1, sizeof(bool)), any = (cts[0] = r->adj[n->id]) != NULL;
  for (int i = n->id + 1; i < r->of->body.len; i++) {
    IrNode *p = r->of->body.items[i];
    if (p->op == OP_PROJ && p->args[0] == n && r->adj[p->id]) {
      cts[p->attr.i] = irb_add(&r->ib, cts[p->attr.i], r->adj[p->id]);
      any = true;
    }
  }
  for (int a = 0; a < n->nargs; a++) active[a] = r->active[n->args[a]->id];
  const char *why = any ? loop_vjp(&r->ib, r->tape[n->id], cts, active, out) : NULL;
  if (why) autodiff_fail(r->ib.m, n, why);
  for (int a = 0; a < n->nargs; a++)
    if (out[a]) accumulate(r, n->args[a], out[a]);
  tex_free(active);
  tex_free(out);
  tex_free(cts);
}

static void sweep(Rev *r) {
  for (int i = r->of->body.len - 1; i >= 0; i--) {
    IrNode *n = r->of->body.items[i];
    if (!r->active[i] || n->op == OP_PARAM || n->op == OP_PROJ) continue;
    r->ib.loc = n->loc;
    if (n->op == OP_CALL) {
      reverse_call(r, n);
      continue;
    }
    if (n->op == OP_IF) { /* its values' cotangents sit on it or on its projs */
      reverse_if(r, n);
      continue;
    }
    if (n->op == OP_LOOP) {
      reverse_loop(r, n);
      continue;
    }
    IrNode *ct = r->adj[i];
    VjpRule rule = vjp_rules[n->op];
    if (ct && !rule) autodiff_note_nondiff(r->ib.m, n);
    if (!ct || !rule) continue;
    for (int j = 0; j < n->nargs; j++)
      if (r->active[n->args[j]->id]) accumulate(r, n->args[j], rule(&r->ib, r->map[i], j, ct));
  }
}

static void set_reverse_results(Rev *r, IrFunc *g) {
  IrNode **res = tex_calloc((size_t)(nvalues(r->of) + r->of->nparams) + 1, sizeof(IrNode *));
  int n = 0;
  if (g->derive == DERIVE_VALUE_AND_GRAD || g->derive == DERIVE_VJP)
    for (int k = 0; k < nvalues(r->of); k++) res[n++] = r->map[r->of->results[k]->id];
  for (int i = 0; i < r->of->nparams; i++)
    if (ps_has(&g->wrt, i)) {
      IrNode *p = r->of->params[i];
      r->ib.loc = p->loc;
      res[n++] = irb_or_zeros(&r->ib, r->adj[p->id], r->map[p->id]);
    }
  if (n != g->nresults) ice("derived @%s: %d results for %d declared", g->name, n, g->nresults);
  memcpy(g->results, res, sizeof(IrNode *) * (size_t)n);
  tex_free(res);
}

/* A function with a user rule is differentiated by calling the rule (and the
 * function itself for the values), whether it is called or derived directly. */
static void build_from_rule(IrModule *m, IrFunc *g) {
  IrFunc *of = g->derive_of;
  IrBuilder ib = {m, g, g->loc};
  size_t nv = (size_t)nvalues(of), np = (size_t)of->nparams;
  IrNode **args = tex_calloc(np + nv + 1, sizeof(IrNode *)), **values = tex_calloc(nv + 1, sizeof(IrNode *));
  IrNode **cts = tex_calloc(np + 1, sizeof(IrNode *)), **res = tex_calloc(nv + np + 1, sizeof(IrNode *));
  int n = 0, next = of->nparams, nres = 0;
  for (int i = 0; i < of->nparams; i++) args[n++] = g->params[i];
  bool with_value = g->derive == DERIVE_VALUE_AND_GRAD || g->derive == DERIVE_VJP;
  if (with_value) irb_call(&ib, of, args, values);
  for (int k = 0; k < nvalues(of); k++)
    if (dtype_is_float(of->results[k]->dtype))
      args[n++] = g->derive == DERIVE_GRAD || g->derive == DERIVE_VALUE_AND_GRAD ? irb_fill(&ib, irb_result_like(&ib, of, args, k), 1.0)
                                                                                 : g->params[next++];
  irb_call(&ib, of->custom_vjp, args, cts);
  for (int k = 0; with_value && k < nvalues(of); k++) res[nres++] = values[k];
  for (int i = 0, c = 0; i < of->nparams; i++) {
    if (!dtype_is_float(of->params[i]->dtype)) continue;
    if (ps_has(&g->wrt, i)) res[nres++] = cts[c];
    c++;
  }
  memcpy(g->results, res, sizeof(IrNode *) * (size_t)nres);
  tex_free(res);
  tex_free(cts);
  tex_free(values);
  tex_free(args);
  g->built = true;
  ir_renumber(g);
}

void autodiff_build(IrModule *m, IrFunc *g) {
  IrFunc *of = g->derive_of;
  derive_ensure_built(m, of);
  if (of->custom_vjp) {
    build_from_rule(m, g);
    return;
  }
  Rev r = {{m, g, g->loc}, of, NULL, NULL, NULL, NULL};
  ir_renumber(of);
  r.adj = tex_calloc((size_t)of->body.len + 1, sizeof(IrNode *));
  r.active = tex_calloc((size_t)of->body.len + 1, sizeof(bool));
  mark_active(&r, &g->wrt);
  forward_sweep(&r);
  seed(&r, g);
  sweep(&r);
  set_reverse_results(&r, g);
  g->built = true;
  ir_renumber(g);
  for (int i = 0; i < of->body.len; i++) loop_tape_free(r.tape[i]);
  tex_free(r.tape);
  tex_free(r.active);
  tex_free(r.adj);
  tex_free(r.map);
}

void pass_autodiff(IrModule *m) {
  for (int i = 0; i < m->funcs.len; i++) { /* building may declare more */
    IrFunc *f = m->funcs.items[i];
    if (derive_is_reverse(f->derive)) derive_ensure_built(m, f);
  }
}
