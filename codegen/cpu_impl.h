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

/* ---- matmul.c ------------------------------------------------------------- */

/* A K_MATMUL kernel's loops over [begin, end) of its outermost loop. */
void cg_k_emit_matmul(KEmit *e, LLVMValueRef begin, LLVMValueRef end);

#endif /* TEXC_CPU_IMPL_H */
