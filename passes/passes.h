/* passes.h — IR -> IR passes, the pass manager, and kernel formation.
 *
 * Sections follow the files of passes/:
 *   manager.c   the pass table, the pipeline, --print-after / --disable-pass
 *   autodiff.c  build reverse-mode derived functions (grad, vjp)
 *   jvp.c       build forward-mode derived functions (jvp)
 *   derive.c    build a derived function on demand (either kind)
 *   grad_rules.c the vjp and jvp rule of every differentiable op
 *   inline.c    inline every call (lowering: always runs, also at -O0)
 *   constfold.c fold ops on constants, bit-exactly as codegen computes them
 *   cse.c       merge identical nodes, keeping the earliest source location
 *   dce.c       drop nodes no result depends on
 *   hoist.c     move loop-invariant code in front of its loop
 *   kernels.c   group IR nodes into kernels (the seam to codegen)
 *   kernels_steps.c  one-kernel loops (a loop whose body is elementwise)
 *   kernels_rows.c   row groups: kernels over the same rows run row block by row block
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
void pass_hoist(IrModule *m);
/* CSE of one function (not of the bodies nested in it): hoist.c merges
 * what it moved with what was there. */
void pass_cse_func(IrFunc *f);

/* ==== constfold.c ======================================================== */

/* Evaluates op on scalar constants exactly as the generated code does.
 * Returns false when op is not foldable (e.g. transcendental). */
bool fold_scalar(Op op, DType t, DType arg_t, int nargs, const double *f, const int64_t *i, double *out_f, int64_t *out_i);

/* ==== grad_rules.c / autodiff.c / jvp.c / derive.c ======================= */

/* Cotangent of input i of y given the cotangent ct of y (NULL: zero). */
typedef IrNode *(*VjpRule)(IrBuilder *ib, IrNode *y, int i, IrNode *ct);
/* Tangent of y given the tangents t[i] of its inputs (NULL: zero). */
typedef IrNode *(*JvpRule)(IrBuilder *ib, IrNode *y, IrNode **t);
extern const VjpRule vjp_rules[OP_COUNT];
/* grad_loop.c: the derivatives of a loop.  Reverse mode: loop_tape builds
 * the forward sweep of primal loop n where ib builds (args: its operands
 * there), keeping what the backward sweep needs; loop_tape_value is the
 * value of proj k of n.  loop_vjp: cts has one cotangent (or NULL) per
 * proj of n (its states, then its stacked outputs), active one flag per
 * operand; it sets out[a] to the cotangent of each active operand a that
 * gets one.  NULL, or why it cannot. */
typedef struct LoopTape LoopTape;
LoopTape *loop_tape(IrBuilder *ib, IrNode *n, IrNode *const *args);
IrNode *loop_tape_value(const LoopTape *tp, int k);
const char *loop_vjp(IrBuilder *ib, LoopTape *tp, IrNode *const *cts, const bool *active, IrNode **out);
void loop_tape_free(LoopTape *tp);
/* loop_jvp: n is a loop of the primal function, args its operands where
 * the derivative is built and tans their tangents (NULL: zero); builds
 * there one loop carrying states and tangents, and sets prim[k] and tan[k]
 * (NULL: zero) for each proj k of n. */
void loop_jvp(IrBuilder *ib, const IrNode *n, IrNode *const *args, IrNode *const *tans, IrNode **prim, IrNode **tan);
/* grad_region.c: the rules of gen and scatter (t has one entry per operand). */
IrNode *vjp_region(IrBuilder *ib, IrNode *y, int i, IrNode *ct);
IrNode *jvp_region(IrBuilder *ib, IrNode *y, IrNode **t);
/* The jvp rule of op: derived from its vjp rule for an elementwise op,
 * unless grad_rules.c names an exception; NULL if op has none. */
JvpRule jvp_rule(Op op);

/* derive.c: builds f's body if f is a derived function not built yet
 * (building what it is derived from first).  autodiff.c and jvp.c build one
 * kind each. */
void derive_ensure_built(IrModule *m, IrFunc *f);
bool derive_is_reverse(DeriveKind k);
/* autodiff.c: records (in m->nondiff_op/at) that n, an op without a
 * derivative rule, would need one; the driver reports it. */
void autodiff_note_nondiff(IrModule *m, const IrNode *n);
/* A derivative cannot be built through n, for the reason why (the first
 * one is the driver's error, at n). */
void autodiff_fail(IrModule *m, const IrNode *n, const char *why);
void autodiff_build(IrModule *m, IrFunc *g);
void jvp_build(IrModule *m, IrFunc *g);
/* grad_if.c (issue 10): the derivatives of if n, built with ib, whose
 * operands are args in the derived function.  Reverse: cts[k] is value k's
 * cotangent (NULL: zero); out gets one cotangent per capture in wrt (param
 * indices of the bodies).  Forward: tans[k] is capture k's tangent for k in
 * wrt; values gets the if's values, tangents one per float value. */
void grad_if_reverse(IrBuilder *ib, const IrNode *n, IrNode *const *args, IrNode *const *cts, const ParamSet *wrt, IrNode **out);
void grad_if_forward(IrBuilder *ib, const IrNode *n, IrNode *const *args, IrNode *const *tans, const ParamSet *wrt, IrNode **values,
                     IrNode **tangents);

/* ==== simplify.c / rules.c =============================================== */

typedef enum RuleClass { RULE_EXACT, RULE_STABLE, RULE_FAST } RuleClass;
extern const char *const rule_class_names[];

/* A rewrite: looks at n (root op `root`) and returns its replacement, built
 * with ib at n's position, or NULL.  It must not change n or its operands. */
typedef struct Rule {
  const char *name;
  Op root;            /* OP_COUNT: offered every node */
  RuleClass cls;
  IrNode *(*apply)(IrBuilder *ib, IrNode *n);
} Rule;
extern const Rule rules[];
extern const int rule_count;

void pass_simplify(IrModule *m);
/* "rule NAME CLASS HITS" for every rule that fired (--stats). */
void pass_print_rule_stats(FILE *out, const IrModule *m);

/* ==== bounds.c =========================================================== */

/* True if subscript sub (a value of region r) is provably in [0, extent). */
bool bounds_in_range(IrModule *m, const IrRegion *r, const IrNode *sub, Dim extent);
/* The same for a read that happens only where conds[0..n) all hold (the
 * conditions of the branches of where it is in): their bounds on the
 * subscript's values count too. */
bool bounds_in_range_under(IrModule *m, const IrRegion *r, const IrNode *sub, Dim extent, const IrNode *const *conds, int nconds);

/* ==== kernels.c ========================================================== */

/* Builds the kernels of an inlined, exported function: one kernel per
 * computing op; broadcasts, transposes and constants are folded into
 * operand access maps instead of being materialised. */
KProgram *kernels_build(IrModule *m, IrFunc *f);
void kernels_free(KProgram *p);
/* kernels_steps.c: makes loop l (its kernels the last of p, no loop or if
 * nested) a one-kernel loop if it can be one (named <fn>_k<first>_steps);
 * true if it did. */
bool kernels_fuse_steps(IrModule *m, KProgram *p, KLoop *l);
/* kernels_rows.c (issue 11): temporaries in results and row groups (Kernel.rows),
 * after the temporaries are ordered and before memory planning, which calls
 * kernels_rows_liveness: a buffer a group touches lives through the group. */
void kernels_rows(KProgram *p);
void kernels_rows_liveness(const KProgram *p, int *first, int *last);

#endif /* TEXC_PASSES_H */
