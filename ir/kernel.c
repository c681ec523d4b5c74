/* kernel.c — printing kernels (texc --emit=kernels).
 *
 *   kernel predict_k0_matmul  matmul  loops [m:N par, n:K par, k:D red]
 *     in  b0 f32[N, D] map (0, 2)
 *     ...
 * One line per kernel starting with "kernel NAME", then indented detail. */
#include "ir.h"

static const char *const kind_names[] = {"map", "reduce", "matmul", "scan", "scatter"};
_Static_assert(sizeof kind_names / sizeof kind_names[0] == K_SCATTER + 1, "a name per KernelKind");

static void print_operand(FILE *out, IrModule *m, const char *role, const KOperand *o, int inplace) {
  char buf[512];
  ir_type_snprint(m, o->dtype, o->rank, o->shape, buf, sizeof buf);
  fprintf(out, "    %s b%d %s %s (", role, o->buf, buf, o->gathered ? "gathered" : "map");
  for (int a = 0; a < o->rank && !o->gathered; a++) {
    if (a) fputs(", ", out);
    if (o->loop[a] < 0)
      fputc('0', out);
    else
      fprintf(out, "i%d", o->loop[a]);
  }
  fputc(')', out);
  if (inplace >= 0) fprintf(out, " in place of in%d", inplace);
  fputc('\n', out);
}

static void print_body(FILE *out, IrModule *m, const Kernel *k) {
  for (int i = 0; i < k->nbody; i++) {
    const KInstr *in = &k->body[i];
    fprintf(out, "    v%d = %s", i, in->op == OP_MATMUL ? "acc" : op_info[in->op].name);
    if (in->op == OP_MATMUL) /* the finished accumulator of the contraction */
      ;
    else if (in->op == OP_PARAM)
      fprintf(out, " in%d", in->operand);
    else if (in->op == OP_INDEX)
      fprintf(out, " i%lld", (long long)in->i);
    else if (in->op == OP_READ || in->op == OP_SCATTER) {
      if (in->op == OP_READ) fprintf(out, " in%d", in->operand);
      fputs(in->op == OP_READ ? "[" : " out[", out);
      for (int a = 0; a < in->nsub; a++) fprintf(out, "%sv%d%s", a ? ", " : "", in->sub[a], in->check >> a & 1 ? " checked" : "");
      fputc(']', out);
      if (in->op == OP_SCATTER) fprintf(out, " += v%d", in->args[0]);
      if (in->pred1) fprintf(out, " if v%d", in->pred1 - 1);
    } else if (in->op == OP_CONST) {
      fputc(' ', out);
      ir_print_value(out, in->dtype, in->f, in->i);
    } else if (in->op == OP_DIMSIZE) {
      fputc(' ', out);
      dim_fprint(m->dims, in->dim, out);
    } else
      for (int a = 0; a < op_info[in->op].arity; a++) fprintf(out, "%sv%d", a ? ", " : " ", in->args[a]);
    fprintf(out, " : %s\n", dtype_names[in->dtype]);
  }
}

Dim kernel_temp_bytes(IrModule *m, const KProgram *p, bool planned) {
  Dim total = dim_lit(m->dims, 0);
  for (int b = p->nparams; b < p->nbufs; b++) {
    const KBuffer *kb = &p->bufs[b];
    if (planned && kb->reuses >= 0) continue;
    Dim bytes = dim_lit(m->dims, dtype_sizes[kb->dtype]);
    for (int a = 0; a < kb->rank; a++) bytes = dim_mul(m->dims, bytes, kb->shape[a]);
    total = dim_add(m->dims, total, bytes);
  }
  return total;
}

void kernel_print(FILE *out, IrModule *m, const KProgram *p) {
  for (int i = 0; i < p->nkernels; i++) {
    const Kernel *k = &p->kernels[i];
    for (int j = 0; j < p->nbranches; j++) { /* issue 10: an if's step comes before its first kernel */
      const KBranch *br = &p->branches[j];
      if (br->first != i) continue;
      fprintf(out, "if b%d then kernels [%d, %d) else [%d, %d) values", br->cond, br->first, br->mid, br->mid, br->last);
      for (int v = 0; v < br->nvalues; v++) fprintf(out, " b%d", br->res[v]);
      fputc('\n', out);
    }
    fprintf(out, "kernel %s %s loops [", k->name, kind_names[k->kind]);
    for (int l = 0; l < k->nloops; l++) {
      if (l) fputs(", ", out);
      fprintf(out, "i%d<", l);
      dim_fprint(m->dims, k->extent[l], out);
      if (k->reduce[l]) fputs(" red", out);
    }
    fputs("]", out);
    if (k->kind == K_REDUCE) fprintf(out, " combine %s", op_info[k->combiner].name);
    if (k->kind == K_SCAN) fprintf(out, " scan %s%s", op_info[k->combiner].name, k->scan_reverse ? " reverse" : "");
    if (k->seq_trip >= 0) fprintf(out, " steps t<in%d state in%d", k->seq_trip, k->seq_state);
    if (k->blocks) fputs(" blocks", out);
    if (k->unblocked) fputs(" unblocked", out);
    if (k->rows > 0) fprintf(out, " rows %d", k->rows);
    if (k->rows < 0) fputs(" rows", out);
    fputc('\n', out);
    for (int j = 0; j < k->ninputs; j++) print_operand(out, m, "in ", &k->in[j], -1);
    print_operand(out, m, "out", &k->out, k->inplace);
    print_body(out, m, k);
  }
}
