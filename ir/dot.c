/* dot.c — Graphviz pictures of the IR (texc --emit=dot): each value a box
 * labelled with its op and type, each operand an edge; after optimisation,
 * the values one kernel computes are drawn inside one cluster, so fusion
 * can be seen at a glance (Theano users had pydotprint). */
#include "ir.h"

static void dot_node(FILE *out, IrModule *m, const char *prefix, const IrNode *n) {
  char type[256];
  ir_type_snprint(m, n->dtype, n->rank, n->shape, type, sizeof type);
  const char *style = n->op == OP_PARAM                          ? ", style=filled, fillcolor=\"#dde8f5\""
                      : n->op == OP_CONST || n->op == OP_DIMSIZE ? ", style=dashed"
                                                                 : "";
  if (n->op == OP_PARAM)
    fprintf(out, "    %s%d [label=\"%s\\n%s\"%s];\n", prefix, n->id, n->name, type, style);
  else
    fprintf(out, "    %s%d [label=\"%s\\n%s\"%s];\n", prefix, n->id, op_info[n->op].name, type, style);
}

void ir_dot_func(FILE *out, IrModule *m, IrFunc *f, const char *prefix, const int *kernel_of, int nkernels) {
  ir_renumber(f);
  fprintf(out, "  subgraph cluster_%s {\n    label=\"%s\";\n", prefix, f->name);
  for (int k = -1; k < (kernel_of ? nkernels : 0); k++) {
    if (k >= 0) fprintf(out, "    subgraph cluster_%sk%d {\n    label=\"kernel %d\"; style=filled; fillcolor=\"#f4f4f4\";\n", prefix, k, k);
    for (int i = 0; i < f->body.len; i++)
      if ((kernel_of ? kernel_of[i] : -1) == k) dot_node(out, m, prefix, f->body.items[i]);
    if (k >= 0) fputs("    }\n", out);
  }
  for (int i = 0; i < f->body.len; i++) {
    const IrNode *n = f->body.items[i];
    for (int a = 0; a < n->nargs; a++) fprintf(out, "    %s%d -> %s%d;\n", prefix, n->args[a]->id, prefix, n->id);
  }
  for (int r = 0; r < f->nresults; r++)
    fprintf(out, "    %sout%d [label=\"%s\", shape=plaintext];\n    %s%d -> %sout%d;\n", prefix, r, f->result_names[r], prefix,
            f->results[r]->id, prefix, r);
  fputs("  }\n", out);
}
