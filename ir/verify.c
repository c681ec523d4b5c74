/* verify.c — the invariants of the IR, checked after every pass in tests and
 * under --verify:
 *   - every operand is defined earlier in the same function (SSA order);
 *   - params are the first nodes, in order, and results are in the body;
 *   - operand counts match op arity; call arity matches the callee;
 *   - dtypes and shapes are what the op's rules infer from the operands;
 *   - no node is left forwarded (passes must ir_compact). */
#include <string.h>

#include "ir.h"

typedef struct Verifier {
  IrModule *m;
  FILE *out;
  const char *after;
  int problems;
} Verifier;

static void problem(Verifier *v, const IrFunc *f, const IrNode *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(Verifier *v, const IrFunc *f, const IrNode *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(v->out, "verify%s%s: @%s", v->after ? " after " : "", v->after ? v->after : "", f->name);
  if (n) fprintf(v->out, " %%%d (%s)", n->id, op_info[n->op].name);
  fputs(": ", v->out);
  vfprintf(v->out, fmt, ap);
  fputc('\n', v->out);
  va_end(ap);
  v->problems++;
}

static void verify_call(Verifier *v, IrFunc *f, IrNode *n) {
  IrFunc *callee = n->attr.callee;
  if (!callee) {
    problem(v, f, n, "call without callee");
    return;
  }
  if (callee->nparams != n->nargs) problem(v, f, n, "%d operands for %d params of @%s", n->nargs, callee->nparams, callee->name);
  if (callee->nresults == 1 && (callee->results[0]->dtype != n->dtype || callee->results[0]->rank != n->rank))
    problem(v, f, n, "type differs from the result of @%s", callee->name);
  for (int i = 0; i < n->nargs && i < callee->nparams; i++)
    if (n->args[i]->dtype != callee->params[i]->dtype || n->args[i]->rank != callee->params[i]->rank)
      problem(v, f, n, "operand %d does not match param %%%s of @%s", i, callee->params[i]->name, callee->name);
}

static void verify_types(Verifier *v, IrFunc *f, IrNode *n) {
  DType t;
  if (!ir_infer_dtype(n, &t))
    problem(v, f, n, "operand dtypes do not fit the op");
  else if (t != n->dtype)
    problem(v, f, n, "dtype is %s, op gives %s", dtype_names[n->dtype], dtype_names[t]);
  int rank;
  Dim shape[IR_MAX_RANK];
  if (!ir_infer_shape(v->m, n, &rank, shape)) {
    problem(v, f, n, "operand shapes or attributes do not fit the op");
    return;
  }
  bool same = rank == n->rank;
  for (int i = 0; same && i < rank; i++) same = shape[i] == n->shape[i];
  if (!same) problem(v, f, n, "shape differs from the one the op infers");
}

static void verify_node(Verifier *v, IrFunc *f, IrNode *n, int index) {
  const OpInfo *info = &op_info[n->op];
  if (n->forward) problem(v, f, n, "replaced node still in the body");
  if (n->id != index) problem(v, f, n, "id %d at position %d (not renumbered)", n->id, index);
  if (info->arity >= 0 && n->nargs != info->arity) problem(v, f, n, "%d operands, op takes %d", n->nargs, info->arity);
  for (int i = 0; i < n->nargs; i++) {
    IrNode *a = n->args[i];
    if (!a || a->id >= index || f->body.items[a->id] != a) {
      problem(v, f, n, "operand %d is not defined before its use", i);
      return;
    }
  }
  if (n->op == OP_PARAM && (index >= f->nparams || f->params[index] != n)) problem(v, f, n, "param out of place");
  if (n->op == OP_CALL) {
    verify_call(v, f, n);
    return;
  }
  if (n->op == OP_PROJ) {
    const IrNode *c = n->args[0];
    if (c->op != OP_CALL || !c->attr.callee || n->attr.i < 0 || n->attr.i >= c->attr.callee->nresults)
      problem(v, f, n, "proj of something other than a result of a call");
    else if (c->attr.callee->results[n->attr.i]->dtype != n->dtype || c->attr.callee->results[n->attr.i]->rank != n->rank)
      problem(v, f, n, "proj type differs from result %lld of @%s", (long long)n->attr.i, c->attr.callee->name);
    return;
  }
  verify_types(v, f, n);
}

static void verify_func(Verifier *v, IrFunc *f) {
  if (!f->built) return; /* a derived function not yet built: its signature only */
  for (int i = 0; i < f->nparams; i++)
    if (i >= f->body.len || f->body.items[i] != f->params[i]) problem(v, f, NULL, "param %d is not node %d", i, i);
  for (int i = 0; i < f->body.len; i++) verify_node(v, f, f->body.items[i], i);
  if (f->nresults < 1) problem(v, f, NULL, "no results");
  for (int i = 0; i < f->nresults; i++) {
    IrNode *r = f->results[i];
    if (!r || r->id >= f->body.len || f->body.items[r->id] != r) problem(v, f, NULL, "result %d is not in the body", i);
  }
}

int ir_verify(IrModule *m, FILE *out, const char *after) {
  Verifier v = {m, out ? out : stderr, after, 0};
  for (int i = 0; i < m->funcs.len; i++) verify_func(&v, m->funcs.items[i]);
  return v.problems;
}
