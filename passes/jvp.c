/* jvp.c — forward-mode automatic differentiation (Theano's Rop) as an
 * IR -> IR pass of its own.
 *
 * Builds the body of every derived function of kind jvp: copy the primal
 * body, give the wrt parameters their tangent parameters, and push tangents
 * forward in topological order with each op's forward rule (grad_rules.c).
 * A call gets its tangent from a jvp derived from the callee (a user's
 * `grad f` rule is a reverse rule and is not used in forward mode: the
 * callee's own body is differentiated).  Forward mode composes with reverse
 * mode: jvp of a grad is a Hessian-vector product.
 *
 * Requires: verified IR.  Produces: verified IR. */
#include <string.h>

#include "passes.h"

typedef struct LoopOut {
  IrNode **prim, **tan; /* per proj of a loop with tangents (grad_loop.c) */
} LoopOut;

typedef struct Fwd {
  IrBuilder ib;
  IrFunc *of;
  IrNode **map;   /* primal node id -> copy */
  IrNode **tan;   /* primal node id -> tangent (NULL: zero) */
  LoopOut *lout;  /* primal loop or if id -> its projs, when it carries tangents */
} Fwd;

static int nvalues(const IrFunc *f) { return f->nresults - f->nupdates; }

/* A call: a jvp derived from the callee for the arguments with tangents. */
static void forward_call(Fwd *w, IrNode *call) {
  IrFunc *callee = call->attr.callee;
  ParamSet active = {{0}};
  for (int j = 0; j < call->nargs; j++)
    if (w->tan[call->args[j]->id] && dtype_is_float(call->args[j]->dtype)) ps_add(&active, j);
  if (ps_empty(&active)) return;
  IrFunc *jvp = ir_derive(w->ib.m, callee, DERIVE_JVP, &active, NULL, callee->loc);
  IrNode **args = tex_calloc((size_t)jvp->nparams + 1, sizeof(IrNode *));
  IrNode **out = tex_calloc((size_t)jvp->nresults + 1, sizeof(IrNode *));
  int n = 0;
  for (int j = 0; j < call->nargs; j++) args[n++] = w->map[call->args[j]->id];
  for (int j = 0; j < call->nargs; j++)
    if (ps_has(&active, j)) args[n++] = w->tan[call->args[j]->id];
  irb_call(&w->ib, jvp, args, out);
  /* out holds one tangent per float result of the callee */
  int o = 0;
  for (int k = 0; k < nvalues(callee); k++) {
    if (!dtype_is_float(callee->results[k]->dtype)) continue;
    if (callee->nresults == 1) w->tan[call->id] = out[o];
    for (int i = call->id + 1; callee->nresults > 1 && i < w->of->body.len; i++) {
      IrNode *p = w->of->body.items[i];
      if (p->op == OP_PROJ && p->args[0] == call && p->attr.i == k) w->tan[p->id] = out[o];
    }
    o++;
  }
  tex_free(out);
  tex_free(args);
}

/* A loop with a tangent operand becomes one loop carrying states and
 * tangents (grad_loop.c); false if it has none (it is copied). */
static bool forward_loop(Fwd *w, IrNode *n) {
  IrNode **args = tex_calloc((size_t)n->nargs + 1, sizeof(IrNode *)), **tans = tex_calloc((size_t)n->nargs + 1, sizeof(IrNode *));
  bool any = false;
  for (int a = 0; a < n->nargs; a++) {
    args[a] = w->map[n->args[a]->id];
    tans[a] = w->tan[n->args[a]->id];
    any = any || tans[a];
  }
  if (any) {
    int nproj = ir_loop_nstates(n) + ir_loop_nouts(n);
    LoopOut *o = &w->lout[n->id];
    o->prim = tex_calloc((size_t)nproj + 1, sizeof(IrNode *));
    o->tan = tex_calloc((size_t)nproj + 1, sizeof(IrNode *));
    loop_jvp(&w->ib, n, args, tans, o->prim, o->tan);
    w->map[n->id] = o->prim[0];
    w->tan[n->id] = o->tan[0];
  }
  tex_free(tans);
  tex_free(args);
  return any;
}

/* An if (issue 10, grad_if.c) with a tangent operand: an if on the same
 * condition gives the values and the tangents of the float ones, which
 * stand for the if and its projs (as a loop's do); false if it has none. */
static bool forward_if(Fwd *w, IrNode *n) {
  ParamSet active = {{0}};
  int nv = ir_if_nvalues(n);
  IrNode **args = tex_calloc((size_t)n->nargs + 1, sizeof(IrNode *)), **tans = tex_calloc((size_t)n->nargs + 1, sizeof(IrNode *));
  IrNode **vals = tex_calloc((size_t)nv + 1, sizeof(IrNode *)), **out = tex_calloc((size_t)nv + 1, sizeof(IrNode *));
  for (int a = 0; a < n->nargs; a++) args[a] = w->map[n->args[a]->id];
  for (int a = IR_IF_FIXED; a < n->nargs; a++)
    if (w->tan[n->args[a]->id] && dtype_is_float(n->args[a]->dtype))
      ps_add(&active, a - IR_IF_FIXED), tans[a - IR_IF_FIXED] = w->tan[n->args[a]->id];
  bool any = !ps_empty(&active);
  if (any) {
    grad_if_forward(&w->ib, n, args, tans, &active, vals, out);
    LoopOut *o = &w->lout[n->id];
    o->prim = tex_calloc((size_t)nv + 1, sizeof(IrNode *));
    o->tan = tex_calloc((size_t)nv + 1, sizeof(IrNode *));
    for (int k = 0, f = 0; k < nv; k++) {
      o->prim[k] = vals[k];
      if (dtype_is_float(n->attr.body->results[k]->dtype)) o->tan[k] = out[f++];
    }
    w->map[n->id] = o->prim[0];
    w->tan[n->id] = o->tan[0];
  }
  tex_free(out);
  tex_free(vals);
  tex_free(tans);
  tex_free(args);
  return any;
}

static void push_tangents(Fwd *w) {
  int most = 3;
  for (int i = 0; i < w->of->body.len; i++)
    if (((IrNode *)w->of->body.items[i])->nargs > most) most = ((IrNode *)w->of->body.items[i])->nargs;
  IrNode **t = tex_calloc((size_t)most, sizeof(IrNode *));
  for (int i = 0; i < w->of->body.len; i++) {
    IrNode *n = w->of->body.items[i];
    if (n->op == OP_PARAM) continue;
    w->ib.loc = n->loc;
    if (n->op == OP_LOOP && forward_loop(w, n)) continue;
    if (n->op == OP_IF && forward_if(w, n)) continue;
    if (n->op == OP_PROJ && w->lout[n->args[0]->id].prim) {
      w->map[i] = w->lout[n->args[0]->id].prim[n->attr.i];
      w->tan[i] = w->lout[n->args[0]->id].tan[n->attr.i];
      continue;
    }
    w->map[i] = irb_clone_node(w->ib.m, w->ib.f, n, w->map); /* the primal, in order with the tangents */
    if (n->op == OP_PROJ) continue;
    if (n->op == OP_CALL) {
      forward_call(w, n);
      continue;
    }
    JvpRule rule = jvp_rule(n->op);
    if (!dtype_is_float(n->dtype)) continue;
    bool any = false;
    for (int j = 0; j < n->nargs; j++) {
      t[j] = w->tan[n->args[j]->id];
      any = any || t[j];
    }
    if (any && !rule) autodiff_note_nondiff(w->ib.m, n);
    if (any && rule) w->tan[i] = rule(&w->ib, w->map[i], t);
  }
  tex_free(t);
}

void jvp_build(IrModule *m, IrFunc *g) {
  IrFunc *of = g->derive_of;
  derive_ensure_built(m, of);
  Fwd w = {{m, g, g->loc}, of, NULL, NULL, NULL};
  ir_renumber(of);
  w.map = tex_calloc((size_t)of->body.len + 1, sizeof(IrNode *));
  for (int i = 0; i < of->nparams; i++) w.map[of->params[i]->id] = g->params[i];
  w.tan = tex_calloc((size_t)of->body.len + 1, sizeof(IrNode *));
  w.lout = tex_calloc((size_t)of->body.len + 1, sizeof(LoopOut));
  for (int i = 0, next = of->nparams; i < of->nparams; i++)
    if (ps_has(&g->wrt, i)) w.tan[of->params[i]->id] = g->params[next++];
  push_tangents(&w);
  IrNode **res = tex_calloc((size_t)nvalues(of) + 1, sizeof(IrNode *));
  int n = 0;
  for (int k = 0; k < nvalues(of); k++) {
    IrNode *r = of->results[k];
    if (dtype_is_float(r->dtype)) res[n++] = irb_or_zeros(&w.ib, w.tan[r->id], w.map[r->id]);
  }
  if (n != g->nresults) ice("derived @%s: %d results for %d declared", g->name, n, g->nresults);
  memcpy(g->results, res, sizeof(IrNode *) * (size_t)n);
  tex_free(res);
  g->built = true;
  ir_renumber(g);
  for (int i = 0; i < of->body.len; i++) tex_free(w.lout[i].prim), tex_free(w.lout[i].tan);
  tex_free(w.lout);
  tex_free(w.tan);
  tex_free(w.map);
}

void pass_jvp(IrModule *m) {
  for (int i = 0; i < m->funcs.len; i++) {
    IrFunc *f = m->funcs.items[i];
    if (f->derive == DERIVE_JVP) derive_ensure_built(m, f);
  }
}
