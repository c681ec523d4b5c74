/* passes.h — IR -> IR passes, the pass manager, and kernel formation.
 *
 * Sections follow the files of passes/:
 *   manager.c   the pass table, the pipeline, --print-after / --disable-pass
 *   inline.c    inline every call (lowering: always runs, also at -O0)
 *   constfold.c fold ops on constants, bit-exactly as codegen computes them
 *   cse.c       merge identical nodes, keeping the earliest source location
 *   dce.c       drop nodes no result depends on
 *   kernels.c   group IR nodes into kernels (the seam to codegen)
 */
#ifndef TEXC_PASSES_H
#define TEXC_PASSES_H

#include "ir.h"

/* ==== manager.c ========================================================== */

typedef struct PassOptions {
  int opt_level;             /* 0 disables every optimising pass */
  const char *print_after;   /* pass name, or "all" */
  const char *disabled;      /* comma-separated pass names */
  const char *only;          /* comma-separated: run exactly these (tests) */
  bool verify;               /* ir_verify after every pass; abort on problems */
  FILE *dump;                /* where --print-after writes (stderr) */
  FILE *stats;               /* per-pass timings, or NULL */
} PassOptions;

typedef struct Pass {
  const char *name;          /* also the command-line name */
  const char *description;
  bool optimising;           /* off at -O0 */
  void (*run)(IrModule *m);
} Pass;

extern const Pass pass_table[];
extern const int pass_count;

/* Runs the pipeline on m.  Returns the number of verifier problems (0 when
 * verification is off). */
int pass_run_pipeline(IrModule *m, const PassOptions *o);
const Pass *pass_find(const char *name);
/* The first name in a comma-separated list that is not a pass ("all" and
 * "none" are allowed), copied into buf; NULL if every name is known. */
const char *pass_unknown_in(const char *list, char *buf, size_t len);

/* ==== the passes ========================================================= */

void pass_inline(IrModule *m);
void pass_constfold(IrModule *m);
void pass_cse(IrModule *m);
void pass_dce(IrModule *m);

/* ==== constfold.c ======================================================== */

/* Evaluates op on scalar constants exactly as the generated code does.
 * Returns false when op is not foldable (e.g. transcendental). */
bool fold_scalar(Op op, DType t, DType arg_t, int nargs, const double *f, const int64_t *i, double *out_f, int64_t *out_i);

/* ==== kernels.c ========================================================== */

/* Builds the kernels of an inlined, exported function: one kernel per
 * computing op; broadcasts, transposes and constants are folded into
 * operand access maps instead of being materialised. */
KProgram *kernels_build(IrModule *m, IrFunc *f);
void kernels_free(KProgram *p);

#endif /* TEXC_PASSES_H */
