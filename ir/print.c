/* print.c — the IR's text form.  ir_parse reads exactly this back, and a test
 * checks the round trip, so golden pass tests can be written as text.
 *
 *   func @affine(%W: f32[D, K], %x: f32[N, D]) -> f32[N, K] {
 *     %2 = matmul %x, %W : f32[N, K] @model.tex:4:12
 *     %3 = tanh %2 : f32[N, K] @model.tex:4:12
 *     return %3
 *   }
 */
#include <math.h>
#include <string.h>

#include "ir.h"

int ir_type_snprint(IrModule *m, DType t, int rank, const Dim *shape, char *buf, size_t len) {
  char sink[1]; /* where writes go once buf is full: snprintf then only counts */
#define AT(n) (len > (size_t)(n) ? buf + (n) : sink), (len > (size_t)(n) ? len - (size_t)(n) : 0)
  int n = snprintf(buf, len, "%s", dtype_names[t]);
  if (rank == 0) return n;
  for (int i = 0; i < rank; i++) {
    n += snprintf(AT(n), i ? ", " : "[");
    n += dim_snprint(m->dims, shape[i], AT(n));
  }
  n += snprintf(AT(n), "]");
  return n;
#undef AT
}

static void print_type(FILE *out, IrModule *m, DType t, int rank, const Dim *shape) {
  char probe[1];
  int n = ir_type_snprint(m, t, rank, shape, probe, sizeof probe);
  char *buf = tex_malloc((size_t)n + 1);
  ir_type_snprint(m, t, rank, shape, buf, (size_t)n + 1);
  fputs(buf, out);
  tex_free(buf);
}

static void print_ref(FILE *out, const IrNode *n) {
  if (n->op == OP_PARAM)
    fprintf(out, "%%%s", n->name);
  else
    fprintf(out, "%%%d", n->id);
}

/* Floats print with enough digits to read back bit-exactly. */
void ir_print_value(FILE *out, DType t, double f, int64_t i) {
  if (t == DT_BOOL)
    fputs(i ? "true" : "false", out);
  else if (dtype_is_int(t))
    fprintf(out, "%lld", (long long)i);
  else if (isnan(f))
    fputs("nan", out);
  else if (isinf(f))
    fputs(f < 0 ? "-inf" : "inf", out);
  else {
    char buf[64];
    snprintf(buf, sizeof buf, t == DT_F32 ? "%.9g" : "%.17g", f);
    if (!strpbrk(buf, ".eE")) strcat(buf, ".0");
    fputs(buf, out);
  }
}

static void print_axes(FILE *out, const char *key, const IrAttr *a) {
  fprintf(out, "%s=[", key);
  for (int i = 0; i < a->naxes; i++) fprintf(out, "%s%lld", i ? ", " : "", (long long)a->axes[i]);
  fputc(']', out);
}

static void print_node(FILE *out, IrModule *m, const IrNode *n, int indent);

/* ') {' the nodes of f, 'return' its results '}': a region's or a loop's body. */
static void print_block(FILE *out, IrModule *m, IrFunc *f, int indent) {
  fputs(") {\n", out);
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    if (n->op != OP_PARAM) print_node(out, m, n, indent + 2);
  }
  fprintf(out, "%*sreturn", indent + 2, "");
  for (int i = 0; i < f->nresults; i++) {
    fputs(i ? ", " : " ", out);
    print_ref(out, f->results[i]);
  }
  fprintf(out, "\n%*s}", indent, "");
}

/* ' region(%i < N, %k < D) {' nodes 'return' ... '}' after a gen or scatter. */
static void print_region(FILE *out, IrModule *m, const IrRegion *r, int indent) {
  IrFunc *f = r->body;
  ir_renumber(f);
  fputs(" region(", out);
  for (int i = 0; i < r->nidx; i++) {
    fprintf(out, "%s%%%s < ", i ? ", " : "", f->params[i]->name);
    dim_fprint(m->dims, r->extent[i], out);
  }
  print_block(out, m, f, indent);
}

/* ' body(%t: i64, %h: T, ...) {' nodes 'return' ... '}' after a loop;
 * ' then(...) {...} else(...) {...}' after an if. */
static void print_loop_body(FILE *out, IrModule *m, IrFunc *f, int indent, const char *kw) {
  ir_renumber(f);
  fprintf(out, " %s(", kw);
  for (int i = 0; i < f->nparams; i++) {
    fprintf(out, "%s%%%s: ", i ? ", " : "", f->params[i]->name);
    print_type(out, m, f->params[i]->dtype, f->params[i]->rank, f->params[i]->shape);
  }
  print_block(out, m, f, indent);
}

static void print_node(FILE *out, IrModule *m, const IrNode *n, int indent) {
  const OpInfo *info = &op_info[n->op];
  fprintf(out, "%*s%%%d = %s", indent, "", n->id, info->name);
  if (info->attr == ATTR_CALLEE) fprintf(out, " @%s", n->attr.callee ? n->attr.callee->name : "?");
  for (int i = 0; i < n->nargs; i++) {
    fputs(i ? ", " : " ", out);
    print_ref(out, n->args[i]);
  }
  const char *sep = n->nargs ? ", " : " ";
  switch (info->attr) {
  case ATTR_VALUE:
    fputc(' ', out);
    ir_print_value(out, n->dtype, n->attr.f, n->attr.i);
    break;
  case ATTR_INDEX: fprintf(out, "%sindex=%lld", sep, (long long)n->attr.i); break;
  case ATTR_DIM:
    fputc(' ', out);
    dim_fprint(m->dims, n->attr.dim, out);
    break;
  case ATTR_AXES:
    fputs(sep, out);
    print_axes(out, "axes", &n->attr);
    break;
  case ATTR_REDUCE:
    fputs(sep, out);
    print_axes(out, "axes", &n->attr);
    if (n->attr.keepdims) fputs(", keepdims=true", out);
    break;
  case ATTR_REGION:
    if (n->op == OP_GEN && n->attr.region->nidx > n->rank) fprintf(out, "%sreduce=%s", sep, op_info[n->attr.region->reduce].name);
    break;
  case ATTR_BODY:
    fprintf(out, "%sstates=%d", sep, ir_loop_nstates(n));
    if (ir_loop_nouts(n)) fprintf(out, ", outs=%d", ir_loop_nouts(n));
    if (n->attr.is_while) fputs(", while", out);
    if (n->attr.naxes == 1) fprintf(out, ", checkpoint=%lld", (long long)n->attr.axes[0]);
    if (n->attr.naxes > 1) {
      fputs(", checkpoint=[", out);
      for (int i = 0; i < n->attr.naxes; i++) fprintf(out, "%s%lld", i ? ", " : "", (long long)n->attr.axes[i]);
      fputc(']', out);
    }
    if (n->attr.snaps && !n->attr.orelse) fprintf(out, ", checkpoint=revolve(%d)", n->attr.snaps);
    if (n->attr.orelse) fprintf(out, ", revolve=%d, primal=%d", n->attr.snaps, n->attr.nprim);
    break;
  case ATTR_BRANCHES: fprintf(out, "%svalues=%d", sep, ir_if_nvalues(n)); break;
  default: break;
  }
  fputs(" : ", out);
  print_type(out, m, n->dtype, n->rank, n->shape);
  if (n->loc.file) fprintf(out, " @%s:%d:%d", n->loc.file, n->loc.line, n->loc.col);
  if (info->attr == ATTR_REGION) print_region(out, m, n->attr.region, indent);
  if (info->attr == ATTR_BODY && n->attr.body) print_loop_body(out, m, n->attr.body, indent, "body");
  if (info->attr == ATTR_BODY && n->attr.orelse) print_loop_body(out, m, n->attr.orelse, indent, "advance");
  if (info->attr == ATTR_BRANCHES && n->attr.body && n->attr.orelse) {
    print_loop_body(out, m, n->attr.body, indent, "then");
    print_loop_body(out, m, n->attr.orelse, indent, "else");
  }
  fputc('\n', out);
}

/* func [private] @f(%x: [inout] T, ...) -> T | (T, ...) [derive KIND @g wrt=[..]] [rule @r] */
static void print_signature(FILE *out, IrModule *m, IrFunc *f) {
  int nvalues = f->nresults - f->nupdates;
  fprintf(out, "func %s@%s(", f->exported ? "" : "private ", f->name);
  for (int i = 0; i < f->nparams; i++) {
    fprintf(out, "%s%%%s: %s", i ? ", " : "", f->params[i]->name, f->params[i]->inout ? "inout " : "");
    print_type(out, m, f->params[i]->dtype, f->params[i]->rank, f->params[i]->shape);
  }
  fputs(") -> ", out);
  if (nvalues != 1) fputc('(', out);
  for (int i = 0; i < nvalues; i++) {
    if (i) fputs(", ", out);
    print_type(out, m, f->results[i]->dtype, f->results[i]->rank, f->results[i]->shape);
  }
  if (nvalues != 1) fputc(')', out);
  if (f->derive && ir_find_func(m, f->derive_of->name) == f->derive_of) { /* not of a body (an if's branch) */
    fprintf(out, " derive %s @%s wrt=[", derive_kind_names[f->derive], f->derive_of->name);
    for (int i = ps_next(&f->wrt, -1), first = 1; i >= 0; i = ps_next(&f->wrt, i), first = 0) fprintf(out, "%s%d", first ? "" : ", ", i);
    fputc(']', out);
  }
  if (f->custom_vjp) fprintf(out, " rule @%s", f->custom_vjp->name);
}

void ir_print_func(FILE *out, IrModule *m, IrFunc *f) {
  ir_renumber(f);
  print_signature(out, m, f);
  if (!f->built) { /* a derived function the autodiff pass has not built yet */
    fputc('\n', out);
    return;
  }
  fputs(" {\n", out);
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    if (n->op != OP_PARAM) print_node(out, m, n, 2);
  }
  int nvalues = f->nresults - f->nupdates;
  for (int u = 0; u < f->nupdates; u++) {
    fprintf(out, "  update %%%s = ", f->params[f->update_param[u]]->name);
    print_ref(out, f->results[nvalues + u]);
    fputc('\n', out);
  }
  fputs("  return", out);
  for (int i = 0; i < nvalues; i++) {
    fputs(i ? ", " : " ", out);
    print_ref(out, f->results[i]);
  }
  fputs("\n}\n", out);
}

void ir_print_module(FILE *out, IrModule *m) {
  for (int i = 0; i < m->funcs.len; i++) {
    if (i) fputc('\n', out);
    ir_print_func(out, m, m->funcs.items[i]);
  }
}
