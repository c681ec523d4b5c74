/* grad_if.c — the derivatives of an if (issue 10): the branch taken is
 * differentiated, so each derivative is an if on the same condition whose
 * bodies call a function derived from the primal bodies.
 *
 * Reverse mode (autodiff.c): operands (cond, the captures, one cotangent
 * per float value); the then body calls then's vjp_ct for the active
 * captures (wrt), the else body else's: the values are the captures'
 * cotangents.  Forward mode (jvp.c): operands (cond, the captures, the
 * active captures' tangents); each body calls its primal body and that
 * body's jvp, giving the values then one tangent per float value.  A
 * derived function of a body is a function of the module (body names are
 * all alike, so it is named after the function being built: f__if0_then_vjp)
 * and is differentiated again like any other (hvp). */
#include <string.h>

#include "passes.h"

/* The derived function of body (memoised per kind and wrt). */
static IrFunc *derive_body(IrBuilder *ib, IrFunc *body, DeriveKind kind, const ParamSet *wrt) {
  IrModule *m = ib->m;
  for (int i = 0; i < m->funcs.len; i++) {
    IrFunc *g = m->funcs.items[i];
    if (g->derive == kind && g->derive_of == body && ps_equal(&g->wrt, wrt)) return g;
  }
  const char *name = NULL;
  for (int k = 0; !name || ir_find_func(m, name); k++)
    name = arena_printf(&m->arena, "%s__if%d_%s_%s", ib->f->name, k, body->name, kind == DERIVE_JVP ? "jvp" : "vjp");
  return ir_derive(m, body, kind, wrt, name, body->loc);
}

/* A body whose params have the types of args[0..n) (named after like's
 * params where it has them) and whose results are the calls' results. */
static IrFunc *calling_body(IrBuilder *ib, IrFunc *like, IrNode *const *args, int n, IrFunc *const *callees, int ncallees) {
  IrFunc *b = ir_loop_body_new(ib->m, like->loc);
  b->name = like->name;
  for (int k = 0; k < n; k++) {
    const char *name = k < like->nparams ? like->params[k]->name : NULL;
    for (int j = k; !name; j++) { /* the derivatives' params: d<k>, unless a capture has that name */
      name = arena_printf(&ib->m->arena, "d%d", j);
      for (int i = 0; i < like->nparams && name; i++)
        if (strcmp(like->params[i]->name, name) == 0) name = NULL;
    }
    ir_param(ib->m, b, name, args[k]->dtype, args[k]->rank, args[k]->shape, args[k]->loc);
  }
  IrBuilder bb = {ib->m, b, ib->loc};
  int nres = 0;
  for (int c = 0; c < ncallees; c++) nres += callees[c]->nresults;
  IrNode **res = tex_calloc((size_t)nres + 1, sizeof(IrNode *));
  for (int c = 0, at = 0; c < ncallees; at += callees[c++]->nresults) irb_call(&bb, callees[c], b->params, res + at);
  ir_set_results(ib->m, b, nres, res);
  tex_free(res);
  return b;
}

/* The if node on args[0] with bodies t and e (same params), and its values. */
static void build_if(IrBuilder *ib, IrNode *const *args, int nargs, IrFunc *t, IrFunc *e, IrNode **values) {
  const IrNode *v0 = t->results[0];
  IrNode *n = ir_node(ib->m, ib->f, OP_IF, v0->dtype, v0->rank, v0->shape, nargs, args, ib->loc);
  n->attr.body = t;
  n->attr.orelse = e;
  if (t->nresults == 1) values[0] = n;
  for (int k = 0; t->nresults > 1 && k < t->nresults; k++) {
    const IrNode *r = t->results[k];
    values[k] = ir_node(ib->m, ib->f, OP_PROJ, r->dtype, r->rank, r->shape, 1, &n, ib->loc);
    values[k]->attr.i = k;
  }
}

void grad_if_reverse(IrBuilder *ib, const IrNode *n, IrNode *const *args, IrNode *const *cts, const ParamSet *wrt, IrNode **out) {
  IrFunc *then = n->attr.body, *orelse = n->attr.orelse;
  IrFunc *dt = derive_body(ib, then, DERIVE_VJP_CT, wrt), *de = derive_body(ib, orelse, DERIVE_VJP_CT, wrt);
  IrNode **ops = tex_calloc((size_t)(n->nargs + then->nresults) + 1, sizeof(IrNode *));
  int nops = 0;
  for (int a = 0; a < n->nargs; a++) ops[nops++] = args[a];
  for (int k = 0; k < then->nresults; k++) {
    const IrNode *r = then->results[k];
    if (dtype_is_float(r->dtype)) ops[nops++] = irb_or_zeros(ib, cts[k], ir_placeholder(ib->m, r->dtype, r->rank, r->shape));
  }
  IrFunc *t = calling_body(ib, then, ops + IR_IF_FIXED, nops - IR_IF_FIXED, &dt, 1);
  IrFunc *e = calling_body(ib, orelse, ops + IR_IF_FIXED, nops - IR_IF_FIXED, &de, 1);
  build_if(ib, ops, nops, t, e, out);
  tex_free(ops);
}

void grad_if_forward(IrBuilder *ib, const IrNode *n, IrNode *const *args, IrNode *const *tans, const ParamSet *wrt, IrNode **values,
                     IrNode **tangents) {
  IrFunc *then = n->attr.body, *orelse = n->attr.orelse;
  IrFunc *ct[2] = {then, derive_body(ib, then, DERIVE_JVP, wrt)}, *ce[2] = {orelse, derive_body(ib, orelse, DERIVE_JVP, wrt)};
  IrNode **ops = tex_calloc((size_t)(2 * n->nargs) + 1, sizeof(IrNode *));
  int nops = 0, nv = then->nresults;
  for (int a = 0; a < n->nargs; a++) ops[nops++] = args[a];
  for (int k = ps_next(wrt, -1); k >= 0; k = ps_next(wrt, k)) ops[nops++] = tans[k];
  IrFunc *t = calling_body(ib, then, ops + IR_IF_FIXED, nops - IR_IF_FIXED, ct, 2);
  IrFunc *e = calling_body(ib, orelse, ops + IR_IF_FIXED, nops - IR_IF_FIXED, ce, 2);
  IrNode **all = tex_calloc((size_t)t->nresults + 1, sizeof(IrNode *));
  build_if(ib, ops, nops, t, e, all);
  for (int k = 0; k < nv; k++) values[k] = all[k];
  for (int k = nv; k < t->nresults; k++) tangents[k - nv] = all[k];
  tex_free(all);
  tex_free(ops);
}
