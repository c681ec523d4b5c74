/* manager.c — the pass table and the pipeline.
 *
 * Order: specialise (sema) -> stabilize -> AD (autodiff, jvp) -> inline ->
 * simplify -> constfold -> CSE -> hoist -> DCE -> kernels.  stabilize and simplify
 * are the same rewrite engine; neither is an optimising pass: the stability
 * rules are the language's semantics, so they run at -O0 too (stabilize
 * first, so derivatives are taken of the stable forms).  A pass's name is its command-line name: --print-after=cse
 * dumps the IR after it, --disable-pass=cse skips it.  Inlining is lowering,
 * not optimisation, so it runs at every -O level. */
#include <string.h>
#include <time.h>

#include "passes.h"

const Pass pass_table[] = {
    {"stabilize", "the rewrite rules before differentiation, so derivatives are of the stable forms", false, pass_simplify},
    {"autodiff", "build reverse-mode derivatives (grad, value_and_grad, vjp)", false, pass_autodiff},
    {"jvp", "build forward-mode derivatives (jvp)", false, pass_jvp},
    {"inline", "inline every call to a user function", false, pass_inline},
    {"simplify", "rewrite rules: exact and stability always, value-changing with --fast-math", false, pass_simplify},
    {"constfold", "fold ops whose operands are constants (bit-exact)", true, pass_constfold},
    {"cse", "merge identical computations, keeping the earliest location", true, pass_cse},
    {"hoist", "move loop-invariant code out of loop bodies", true, pass_hoist},
    {"dce", "remove values no result depends on", true, pass_dce},
};
const int pass_count = sizeof pass_table / sizeof pass_table[0];

const Pass *pass_find(const char *name) {
  for (int i = 0; i < pass_count; i++)
    if (strcmp(pass_table[i].name, name) == 0) return &pass_table[i];
  return NULL;
}

const char *pass_unknown_in(const char *list, char *buf, size_t len) {
  for (const char *p = list; p && *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    snprintf(buf, len, "%.*s", (int)n, p);
    if (!pass_find(buf) && strcmp(buf, "all") != 0 && strcmp(buf, "none") != 0) return buf;
    p = end ? end + 1 : NULL;
  }
  return NULL;
}

static bool enabled(const Pass *p, const PassOptions *o) {
  if (o->only) return tex_in_list(o->only, p->name);
  if (p->optimising && o->opt_level == 0) return false;
  return !tex_in_list(o->disabled, p->name);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int pass_run_pipeline(IrModule *m, const PassOptions *o) {
  int problems = 0;
  if (o->verify) problems += ir_verify(m, stderr, "sema");
  for (int i = 0; i < pass_count && !problems; i++) {
    const Pass *p = &pass_table[i];
    if (!enabled(p, o)) continue;
    double t0 = now_ms();
    p->run(m);
    if (o->stats) fprintf(o->stats, "pass %-10s %8.3f ms\n", p->name, now_ms() - t0);
    if (o->verify) problems += ir_verify(m, stderr, p->name);
    if (o->print_after && (strcmp(o->print_after, "all") == 0 || tex_in_list(o->print_after, p->name))) {
      fprintf(o->dump ? o->dump : stderr, "// after %s\n", p->name);
      ir_print_module(o->dump ? o->dump : stderr, m);
    }
  }
  return problems;
}
