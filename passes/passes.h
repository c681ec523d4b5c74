/* passes.h — IR -> IR passes, the pass manager, and kernel formation.
 *
 * Sections follow the files of passes/:
 *   manager.c   the pass table, the pipeline, --print-after / --disable-pass
 *   autodiff.c  build reverse-mode derived functions (grad, vjp)
 *   jvp.c       build forward-mode derived functions (jvp)
 *   grad_rules.c the vjp and jvp rule of every differentiable op
 *   ad.c        the IR builder the rules are written with
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

/* Not in the pipeline: texc check-grad re-types the module to f64 first. */
void pass_specialise_f64(IrModule *m);
void pass_autodiff(IrModule *m);
void pass_jvp(IrModule *m);
void pass_inline(IrModule *m);
void pass_constfold(IrModule *m);
void pass_cse(IrModule *m);
void pass_dce(IrModule *m);

/* ==== constfold.c ======================================================== */

/* Evaluates op on scalar constants exactly as the generated code does.
 * Returns false when op is not foldable (e.g. transcendental). */
bool fold_scalar(Op op, DType t, DType arg_t, int nargs, const double *f, const int64_t *i, double *out_f, int64_t *out_i);

/* ==== ad.c / grad_rules.c / autodiff.c / jvp.c ========================== */

/* Where derivative code is being built, and the location it carries. */
typedef struct Ad {
  IrModule *m;
  IrFunc *f;
  SrcLoc loc;
} Ad;

IrNode *ad_const(Ad *ad, DType t, double v);
IrNode *ad_fill(Ad *ad, const IrNode *like, double v);
IrNode *ad_bcast_axes(Ad *ad, IrNode *x, int rank, const Dim *shape, const int64_t *axes);
IrNode *ad_bcast_like(Ad *ad, IrNode *x, const IrNode *like);
IrNode *ad_un(Ad *ad, Op op, IrNode *x);
IrNode *ad_bin(Ad *ad, Op op, IrNode *a, IrNode *b);
IrNode *ad_sel(Ad *ad, IrNode *c, IrNode *a, IrNode *b);
IrNode *ad_cast(Ad *ad, IrNode *x, DType t);
IrNode *ad_reduce(Ad *ad, Op op, IrNode *x, unsigned mask, bool keepdims);
IrNode *ad_transpose(Ad *ad, IrNode *x, const int64_t *perm);
IrNode *ad_t(Ad *ad, IrNode *x);
IrNode *ad_matmul(Ad *ad, IrNode *a, IrNode *b);
IrNode *ad_add(Ad *ad, IrNode *a, IrNode *b);
IrNode *ad_or_zeros(Ad *ad, IrNode *x, const IrNode *like);
/* Calls callee with args; writes one value per callee result into results
 * (shapes substituted from the arguments). */
void ad_call(Ad *ad, IrFunc *callee, IrNode *const *args, IrNode **results);
/* A placeholder with the type result k of callee has at this call. */
IrNode *ad_result_like(Ad *ad, IrFunc *callee, IrNode *const *args, int k);
/* Copies `of`'s body into g (params of `of` become g's first params);
 * returns the map from of-node ids to copies (caller frees). */
IrNode **ad_clone_body(IrModule *m, IrFunc *of, IrFunc *g);

/* Cotangent of input i of y given the cotangent ct of y (NULL: zero). */
typedef IrNode *(*VjpRule)(Ad *ad, IrNode *y, int i, IrNode *ct);
/* Tangent of y given the tangents t[i] of its inputs (NULL: zero). */
typedef IrNode *(*JvpRule)(Ad *ad, IrNode *y, IrNode **t);
extern const VjpRule vjp_rules[OP_COUNT];
extern const JvpRule jvp_rules[OP_COUNT];

/* Builds f's body if f is a derived function not built yet (recursively
 * building what it is derived from). */
void ad_ensure_built(IrModule *m, IrFunc *f);
void ad_build_reverse(IrModule *m, IrFunc *g);
void ad_build_jvp(IrModule *m, IrFunc *g);

/* ==== simplify.c / rules.c =============================================== */

typedef enum RuleClass { RULE_EXACT, RULE_STABLE, RULE_FAST } RuleClass;
extern const char *const rule_class_names[];

/* A rewrite: looks at n (root op `root`) and returns its replacement, built
 * with ad at n's position, or NULL.  It must not change n or its operands. */
typedef struct Rule {
  const char *name;
  Op root;            /* OP_COUNT: offered every node */
  RuleClass cls;
  IrNode *(*apply)(Ad *ad, IrNode *n);
} Rule;
extern const Rule rules[];
extern const int rule_count;

void pass_simplify(IrModule *m);
/* "rule NAME CLASS HITS" for every rule that fired (--stats). */
void pass_print_rule_stats(FILE *out, const IrModule *m);

/* ==== kernels.c ========================================================== */

/* Builds the kernels of an inlined, exported function: one kernel per
 * computing op; broadcasts, transposes and constants are folded into
 * operand access maps instead of being materialised. */
KProgram *kernels_build(IrModule *m, IrFunc *f);
void kernels_free(KProgram *p);

#endif /* TEXC_PASSES_H */
