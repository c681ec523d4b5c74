/* dce.c — dead code elimination.
 *
 * Requires: a verified function.  Preserves: every value a result depends
 * on, params (they are the ABI).  Breaks: nothing; node ids are renumbered. */
#include "passes.h"

static void dce_func(void *ctx, IrFunc *f) {
  (void)ctx;
  for (int i = 0; i < f->body.len; i++) ((IrNode *)f->body.items[i])->aux = NULL;
  for (int i = 0; i < f->nresults; i++) f->results[i]->aux = f->results[i];
  /* The body is topological, so one backward sweep marks everything live. */
  for (int i = f->body.len - 1; i >= 0; i--) {
    IrNode *n = f->body.items[i];
    if (n->aux)
      for (int j = 0; j < n->nargs; j++) n->args[j]->aux = n->args[j];
  }
  int out = 0;
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    if (n->aux || n->op == OP_PARAM) f->body.items[out++] = n;
    n->aux = NULL;
  }
  f->body.len = out;
  ir_renumber(f);
}

void pass_dce(IrModule *m) { ir_module_each_body(m, dce_func, NULL); /* loop bodies too: their params stay */ }
