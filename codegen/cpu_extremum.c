/* cpu_extremum.c — the fast path of a float max/min reduction.
 *
 * The defined order (lang/reference.md, reduction order) combines with
 * llvm.maximum/minimum: NaN propagates and -0.0 < +0.0.  LLVM expands that
 * into about six dependent instructions per vector on the accumulator, so a
 * row max waits on the chain.  But a max does not depend on its order:
 *
 *   Let S be the elements.  If S has no NaN, every combine of the defined
 *   order returns one of its operands, and the result is an element m of S
 *   with m >= s for all s in S (-0.0 counting below +0.0).  A plain
 *   compare-and-select max (x > a ? x : a, one vmaxps) in any order also
 *   returns an element m' of S with m' >= s numerically for all s, so
 *   m' == m numerically.  Two floats that compare equal have the same bits
 *   unless both are zeros of opposite signs; hence m' and m are bitwise
 *   equal unless m' == 0.  (Subnormals compare exactly: texc never sets
 *   flush-to-zero or denormals-are-zero.)  An empty S gives the identity
 *   (-inf) on both paths.
 *
 * So the fast loop keeps a flag of unordered compares (one per two loaded
 * vectors: `x0 uno x1` is true if either holds a NaN), and the caller
 * recomputes the output by the defined order where the flag is set or the
 * result is a zero.  min is the mirror image.  Only the inputs cross the
 * loop: two vectors are combined with each other before the accumulator,
 * so the accumulator's chain is one vmaxps per two vectors. */
#include "cpu_impl.h"

enum { W = TEX_REDUCE_LANES };

bool cg_k_extremum_kernel(const KEmit *e) {
  const Kernel *k = e->k;
  return (k->combiner == OP_MAX || k->combiner == OP_MIN) && dtype_is_float(k->body[k->nbody - 1].dtype);
}

/* a or b, whichever is larger (smaller for min) by an ordered compare: b if
 * they are equal or either is NaN (x86's maxps/minps exactly). */
static LLVMValueRef pick(KEmit *e, LLVMValueRef a, LLVMValueRef b) {
  LLVMRealPredicate p = e->k->combiner == OP_MAX ? LLVMRealOGT : LLVMRealOLT;
  return LLVMBuildSelect(e->g->b, LLVMBuildFCmp(e->g->b, p, a, b, ""), a, b, "");
}

static LLVMValueRef unordered(KEmit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFCmp(e->g->b, LLVMRealUNO, a, b, ""); }

/* A value carried around loop l (opened, builder in its body): a phi in its
 * header, init on entry; carry_close gives it the latch's value. */
static LLVMValueRef carry_open(KEmit *e, const Loop *l, LLVMValueRef init) {
  LLVMBasicBlockRef body = LLVMGetInsertBlock(e->g->b), pre = LLVMGetIncomingBlock(l->iv, 0);
  LLVMPositionBuilderBefore(e->g->b, LLVMGetNextInstruction(l->iv));
  LLVMValueRef phi = LLVMBuildPhi(e->g->b, LLVMTypeOf(init), "");
  LLVMAddIncoming(phi, &init, &pre, 1);
  LLVMPositionBuilderAtEnd(e->g->b, body);
  return phi;
}

static void carry_close(KEmit *e, LLVMValueRef phi, LLVMValueRef v) {
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->g->b);
  LLVMAddIncoming(phi, &v, &latch, 1);
}

/* Elements [lo, hi) by steps of `per` vectors of W (hi - lo a multiple of
 * per * W): acc and nan updated in place. */
static void fast_loop(KEmit *e, Access *vec, LLVMValueRef lo, LLVMValueRef hi, int per, LLVMValueRef *acc, LLVMValueRef *nan) {
  LLVMBuilderRef B = e->g->b;
  Loop l;
  LLVMValueRef i = loop_open(e, &l, lo, hi, (int64_t)per * W);
  LLVMValueRef a = carry_open(e, &l, *acc), n = carry_open(e, &l, *nan), x[2];
  for (int j = 0; j < per; j++) {
    vec->flat = j ? LLVMBuildAdd(B, i, i64c(e, (int64_t)j * W), "") : i;
    x[j] = eval_body(e, vec);
  }
  LLVMValueRef m = per == 2 ? pick(e, x[0], x[1]) : x[0];
  LLVMValueRef a1 = pick(e, m, a), n1 = LLVMBuildOr(B, n, unordered(e, x[0], x[per - 1]), "");
  carry_close(e, a, a1);
  carry_close(e, n, n1);
  loop_close(e, &l);
  *acc = a, *nan = n;
}

LLVMValueRef cg_k_extremum_fast(KEmit *e, Access *vec, LLVMValueRef count, LLVMValueRef *redo) {
  LLVMBuilderRef B = e->g->b;
  DType t = e->k->body[e->k->nbody - 1].dtype;
  LLVMTypeRef vt = vty(e, t, W, false), bt = LLVMVectorType(LLVMInt1TypeInContext(e->g->ctx), W);
  LLVMValueRef acc = cg_identity(vt, e->k->combiner, t), nan = LLVMConstNull(bt);
  LLVMValueRef full2 = LLVMBuildAnd(B, count, i64c(e, ~(int64_t)(2 * W - 1)), "");
  LLVMValueRef full = LLVMBuildAnd(B, count, i64c(e, ~(int64_t)(W - 1)), "");
  fast_loop(e, vec, i64c(e, 0), full2, 2, &acc, &nan);
  fast_loop(e, vec, full2, full, 1, &acc, &nan); /* at most once */
  for (int w = W / 2; w >= 1; w /= 2) {         /* the lanes, in any order */
    LLVMValueRef lo[W / 2], hi[W / 2];
    for (int j = 0; j < w; j++) lo[j] = LLVMConstInt(e->g->i32, (unsigned)j, 0), hi[j] = LLVMConstInt(e->g->i32, (unsigned)(j + w), 0);
    LLVMValueRef a = LLVMBuildShuffleVector(B, acc, LLVMGetPoison(LLVMTypeOf(acc)), LLVMConstVector(lo, (unsigned)w), "");
    LLVMValueRef b = LLVMBuildShuffleVector(B, acc, LLVMGetPoison(LLVMTypeOf(acc)), LLVMConstVector(hi, (unsigned)w), "");
    acc = pick(e, a, b);
  }
  LLVMValueRef r = LLVMBuildExtractElement(B, acc, LLVMConstInt(e->g->i32, 0, 0), "");
  LLVMValueRef any = LLVMBuildICmp(B, LLVMIntNE, LLVMBuildBitCast(B, nan, LLVMIntTypeInContext(e->g->ctx, W), ""),
                                   LLVMConstInt(LLVMIntTypeInContext(e->g->ctx, W), 0, 0), "");
  Loop tail; /* the last count mod W elements, one by one */
  Access sc = *vec;
  sc.width = 1;
  sc.flat = loop_open(e, &tail, full, count, 1);
  LLVMValueRef tr = carry_open(e, &tail, r), tn = carry_open(e, &tail, any);
  LLVMValueRef x = LLVMBuildExtractElement(B, eval_body(e, &sc), LLVMConstInt(e->g->i32, 0, 0), "");
  carry_close(e, tr, pick(e, x, tr));
  carry_close(e, tn, LLVMBuildOr(B, tn, unordered(e, x, x), ""));
  loop_close(e, &tail);
  LLVMValueRef zero = LLVMBuildFCmp(B, LLVMRealOEQ, tr, cg_const_real(LLVMTypeOf(tr), 0.0), "");
  *redo = LLVMBuildOr(B, tn, zero, "");
  return tr;
}
