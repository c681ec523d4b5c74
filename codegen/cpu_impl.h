/* cpu_impl.h — what codegen/cpu.c shares with codegen/matmul.c and nothing
 * else includes: the per-kernel emission state, loops, operand access, and
 * the cpu.c helpers matmul.c builds on.  The helpers keep their short names
 * inside the two files; the macros give the exported symbols the cg_k_
 * prefix. */
#ifndef TEXC_CPU_IMPL_H
#define TEXC_CPU_IMPL_H

#include "codegen.h"

/* The state of the kernel being emitted: the CPU emitter's own, beside the
 * module-level codegen state it shares with module.c (g). */
typedef struct KEmit {
  Cg *g;
  const Kernel *k;
  LLVMValueRef fn;
  LLVMValueRef sym_val[TEX_MAX_SYMS];
  LLVMValueRef extent[IR_MAX_RANK + 1];
  LLVMValueRef base[K_MAX_INPUTS + 1];            /* inputs, then the output */
  Dim lstride[K_MAX_INPUTS + 1][IR_MAX_RANK + 1]; /* elements per loop step */
  LLVMValueRef iv[IR_MAX_RANK + 1];
  LLVMValueRef syms;                              /* i64 *: the symbols' values */
  LLVMValueRef err;                               /* TexIndexError *: filled by a failed check */
  int *depth;                                     /* per instruction: loops it needs (placement) */
  int *check_depth;                               /* per instruction: loops its checks need */
  bool *checked;                                  /* per instruction: its checks are emitted */
} KEmit;

typedef struct Loop {
  LLVMBasicBlockRef header, exit;
  LLVMValueRef iv;
  int64_t step;
} Loop;

/* How operands are read while evaluating a body. */
typedef struct Access {
  unsigned loop_mask;       /* loops whose ivs address the operands */
  int width;                /* 0: scalar; else vector lanes (reductions) */
  LLVMValueRef flat;        /* vector mode: flat index into the reduced block */
  LLVMValueRef par_off[K_MAX_INPUTS]; /* vector mode: offset of the parallel point */
  bool broadcast[K_MAX_INPUTS];       /* vector mode: operand constant over the block */
  LLVMValueRef acc;                   /* K_MATMUL: the finished accumulator */
  LLVMValueRef mask;                  /* vector mode, K_MATMUL: lanes that exist (masked loads), or NULL */
} Access;

/* ---- one-line helpers ---------------------------------------------------- */

static inline LLVMValueRef i64c(KEmit *e, int64_t v) { return LLVMConstInt(e->g->i64, (unsigned long long)v, 1); }

static inline LLVMValueRef load(KEmit *e, LLVMTypeRef ty, LLVMValueRef p, int align) {
  LLVMValueRef v = LLVMBuildLoad2(e->g->b, ty, p, "");
  LLVMSetAlignment(v, (unsigned)align);
  return v;
}

static inline void store(KEmit *e, LLVMValueRef v, LLVMValueRef p, int align) {
  LLVMSetAlignment(LLVMBuildStore(e->g->b, v, p), (unsigned)align);
}

static inline LLVMTypeRef vty(KEmit *e, DType t, int width, bool mem) {
  LLVMTypeRef elem = mem ? cg_mem_type(e->g->ctx, t) : cg_type(e->g->ctx, t);
  return width ? LLVMVectorType(elem, (unsigned)width) : elem;
}

/* ---- cpu.c ---------------------------------------------------------------- */

#define entry_alloca cg_k_entry_alloca
#define emit_dim cg_k_emit_dim
#define address cg_k_address
#define loop_open cg_k_loop_open
#define loop_close cg_k_loop_close
#define splat cg_k_splat
#define load_operand cg_k_load_operand
#define eval_body cg_k_eval_body
#define store_out cg_k_store_out
#define kemit_init cg_k_init
#define kemit_fini cg_k_fini
#define flat_access cg_k_flat_access

/* Sets e up to emit kernel k into fn at the builder's position: operand
 * bases ops (inputs, then the output), the symbols' array syms, the error
 * record err; kemit_fini frees what it allocated. */
void kemit_init(KEmit *e, const Kernel *k, LLVMValueRef fn, const LLVMValueRef *ops, LLVMValueRef syms, LLVMValueRef err);
void kemit_fini(KEmit *e);
/* An alloca in the entry block (promoted to registers by sroa). */
LLVMValueRef entry_alloca(KEmit *e, LLVMTypeRef ty, const char *name);
/* The value of size expression d (i64). */
LLVMValueRef emit_dim(KEmit *e, Dim d);
/* Pointer to the element of operand slot (inputs, then K_MAX_INPUTS = the
 * output) at the current induction variables of the loops in loop_mask. */
LLVMValueRef address(KEmit *e, int slot, DType t, unsigned loop_mask);
/* A loop from lo while < hi by step; its counter is returned (and l->iv). */
LLVMValueRef loop_open(KEmit *e, Loop *l, LLVMValueRef lo, LLVMValueRef hi, int64_t step);
void loop_close(KEmit *e, Loop *l);
/* x repeated in width lanes (x itself if width is 0). */
LLVMValueRef splat(KEmit *e, LLVMValueRef x, int width);
/* The value of input operand in->operand as ac says to read it. */
LLVMValueRef load_operand(KEmit *e, const KInstr *in, const Access *ac);
/* The kernel body's value (its last instruction) read as ac says. */
LLVMValueRef eval_body(KEmit *e, const Access *ac);
/* Stores v into the output at the loops in loop_mask. */
void store_out(KEmit *e, LLVMValueRef v, unsigned loop_mask);

/* The W-lane reading of a flat reduction (every input walks the reduced
 * loops as one contiguous block, or not at all) at the current parallel
 * indices (loops 0..npar), from element start; set .flat before eval_body. */
Access flat_access(KEmit *e, int npar, LLVMValueRef start);

/* ---- cpu_extremum.c --------------------------------------------------------- */

/* True if kernel e->k is a float max/min reduction (not argmax/argmin). */
bool cg_k_extremum_kernel(const KEmit *e);
/* The fast max/min of elements [0, count) read through vec (flat_access):
 * plain compare-and-select in any order.  *redo is an i1, true where the
 * result may differ from the defined order's (a NaN was seen, or the result
 * is a zero); elsewhere the two are bitwise equal (cpu_extremum.c). */
LLVMValueRef cg_k_extremum_fast(KEmit *e, Access *vec, LLVMValueRef count, LLVMValueRef *redo);

/* ---- cpu.c: reductions (shared with reduce_rows.c) -------------------------- */

#define combine cg_k_combine
#define acc_load cg_k_acc_load
#define acc_store cg_k_acc_store
#define fold_block cg_k_fold_block
#define outer_lanes cg_k_outer_lanes
#define wide_classify cg_k_wide_classify
#define wide_eval cg_k_wide_eval
#define use_rows cg_k_use_rows
#define reduce_rows cg_k_reduce_rows

/* The accumulator of a reduction: W lanes of values in memory form (bool as
 * i8, so lanes can be addressed one by one) and, for an indexed combiner
 * (argmax/argmin), W lanes of i64 indices into the flattened reduced axes. */
typedef struct Acc {
  LLVMValueRef val, idx; /* allocas; idx NULL unless indexed */
  DType t;               /* the values' dtype */
} Acc;

/* A body evaluated np lanes at a time along loop lp (cpu.c, K_REDUCE across
 * outputs): each instruction uniform, affine or a vector along lp. */
typedef struct Wide {
  int *cls;          /* per instruction: uniform, affine or vector along lp */
  int64_t *coef;     /* affine: the value's step per lane */
  LLVMValueRef *s;   /* uniform, affine: the value at lane 0 */
  LLVMValueRef *v;   /* vector: the vector */
  int lp;
  int np;            /* lanes per vector */
  LLVMValueRef mask; /* <np x i1>: the lanes that exist (masked loads), or NULL: all */
} Wide;

/* a := a (+) b by the kernel's combiner (with indices for argmax/argmin). */
void combine(KEmit *e, DType t, LLVMValueRef *a, LLVMValueRef *ai, LLVMValueRef b, LLVMValueRef bi);
LLVMValueRef acc_load(KEmit *e, const Acc *acc, int width, bool index);
void acc_store(KEmit *e, const Acc *acc, LLVMValueRef v, LLVMValueRef vi);
/* A finished block: acc's lane tree into lane `lane` of outer; acc reset. */
void fold_block(KEmit *e, const Acc *acc, const Acc *outer, LLVMValueRef lane);
/* The blocks' lanes (rule 4), set to the identity. */
Acc outer_lanes(KEmit *e, const Acc *acc);
/* Classifies the body along w->lp; false if it cannot be evaluated so. */
bool wide_classify(KEmit *e, Wide *w);
/* The body at lanes iv[lp] .. iv[lp] + np - 1 (loads masked by w->mask). */
LLVMValueRef wide_eval(KEmit *e, Wide *w);

/* ---- reduce_rows.c ----------------------------------------------------------- */

/* True if the reduction can take rows of its innermost reduced loop (w is
 * set up for it). */
bool use_rows(KEmit *e, int npar, Wide *w);
/* One output's reduction into acc's lanes (blocked: rule 4, the blocks'
 * lanes left in acc), as reduce_general would. */
void reduce_rows(KEmit *e, int npar, Wide *w, const Acc *acc, bool blocked);

/* ---- matmul.c ------------------------------------------------------------- */

/* A K_MATMUL kernel's loops over [begin, end) of its outermost loop. */
void cg_k_emit_matmul(KEmit *e, LLVMValueRef begin, LLVMValueRef end);

#endif /* TEXC_CPU_IMPL_H */
