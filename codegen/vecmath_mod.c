/* vecmath_mod.c — `%` on floats with Python's semantics, as inline LLVM IR:
 * the OP_MOD row of vecmath.c's binary table (integers stay in scalar.c).
 *
 * a % b = fmod(a, b), plus b where that is nonzero and its sign differs from
 * b's (the result takes the divisor's sign); a zero result is +0 or -0 with
 * b's sign.  LLVM's frem would call libm's fmod, so fmod is computed here,
 * exactly and without branches: R = |a| mod |b| by steps that each remove up
 * to 51 bits of the exponent gap: with k = max(0, e(R) - e(B) - 51),
 * Bs = |b| 2^k (exact), q = trunc(R / Bs) (at most one too large),
 * R = fma(-q, Bs, R) (exact: it is a multiple of ulp(Bs) below 2 Bs) and
 * R += Bs if negative (exact).  42 steps cover every pair of doubles (gap
 * <= 2097), 6 every pair of floats (computed in double; the final addition
 * is done in float, so it rounds once).  Special values as Python, except
 * that a % 0 is NaN (Python raises): NaN operands, a = +-inf or b = +-0 give
 * NaN; b = +-inf gives a where a has b's sign (or is 0), else b. */
#include <math.h>

#include "vecmath_impl.h"

/* The unbiased exponent of positive finite x, subnormals included. */
static LLVMValueRef exponent_of(const Em *e, LLVMValueRef x) {
  LLVMValueRef sub = fcmp(e, LLVMRealOLT, x, kf(e, 0x1p-1022));
  LLVMValueRef bits = ilshr(e, to_bits(e, sel(e, sub, ir_fmul(e, x, kf(e, 0x1p52)), x)), ki(e, 52));
  return isub(e, bits, sel(e, sub, ki(e, 1023 + 52), ki(e, 1023)));
}

/* 2^k for k in [0, 1023]. */
static LLVMValueRef pow2_small(const Em *e, LLVMValueRef k) { return from_bits(e, ishl(e, iadd(e, k, ki(e, 1023)), ki(e, 52))); }

/* r mod (b 2^k), k as above: r in [0, b 2^k) afterwards, exactly. */
static LLVMValueRef mod_step(const Em *e, LLVMValueRef r, LLVMValueRef b, LLVMValueRef eb) {
  LLVMValueRef k = isub(e, isub(e, exponent_of(e, r), eb), ki(e, 51));
  k = sel(e, icmp(e, LLVMIntSLT, k, ki(e, 0)), ki(e, 0), k);
  LLVMValueRef k1 = ilshr(e, k, ki(e, 1));
  LLVMValueRef bs = ir_fmul(e, ir_fmul(e, b, pow2_small(e, k1)), pow2_small(e, isub(e, k, k1))); /* <= r: no overflow */
  LLVMValueRef quot = ir_fdiv(e, r, bs);
  LLVMValueRef q = intrinsic(e, "llvm.trunc", &quot, 1);
  LLVMValueRef rr = ir_fma(e, ir_fneg(e, q), bs, r);
  return sel(e, fcmp(e, LLVMRealOLT, rr, kf(e, 0.0)), ir_fadd(e, rr, bs), rr);
}

/* a + b rounded in the dtype the user computes in: float when from_f32 (a
 * and b are floats then, exactly), so that the sum rounds once. */
static LLVMValueRef add_in_dtype(const Em *e, LLVMValueRef a, LLVMValueRef b) {
  if (!e->from_f32) return ir_fadd(e, a, b);
  LLVMContextRef ctx = LLVMGetTypeContext(e->fty);
  LLVMTypeRef ft = LLVMFloatTypeInContext(ctx);
  if (LLVMGetTypeKind(e->fty) == LLVMVectorTypeKind) ft = LLVMVectorType(ft, LLVMGetVectorSize(e->fty));
  LLVMValueRef s = LLVMBuildFAdd(e->b, LLVMBuildFPTrunc(e->b, a, ft, ""), LLVMBuildFPTrunc(e->b, b, ft, ""), "");
  return LLVMBuildFPExt(e->b, s, e->fty, "");
}

LLVMValueRef cg_vm_mod(const Em *e, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef inf = kf(e, INFINITY), zero = kf(e, 0.0);
  LLVMValueRef aa = ir_fabs(e, a), ab = ir_fabs(e, b);
  LLVMValueRef b_ok = bool_and(e, fcmp(e, LLVMRealOGT, ab, zero), fcmp(e, LLVMRealOLT, ab, inf));
  LLVMValueRef a_ok = fcmp(e, LLVMRealOLT, aa, inf);
  LLVMValueRef bb = sel(e, b_ok, ab, kf(e, 1.0));
  LLVMValueRef r = sel(e, a_ok, aa, zero);
  LLVMValueRef eb = exponent_of(e, bb);
  int steps = e->from_f32 || !e->f64 ? 6 : 42;
  for (int i = 0; i < steps; i++) r = mod_step(e, r, bb, eb);
  LLVMValueRef m = ir_copysign(e, sel(e, b_ok, r, aa), a); /* fmod(a, b); a itself for b = +-inf */
  LLVMValueRef differ = LLVMBuildICmp(e->b, LLVMIntNE, fcmp(e, LLVMRealOLT, m, zero), fcmp(e, LLVMRealOLT, b, zero), "");
  LLVMValueRef res = sel(e, bool_and(e, fcmp(e, LLVMRealONE, m, zero), differ), add_in_dtype(e, m, b), m);
  res = sel(e, fcmp(e, LLVMRealOEQ, m, zero), ir_copysign(e, zero, b), res);
  LLVMValueRef nan =
      bool_or(e, bool_or(e, is_nan(e, a), is_nan(e, b)), bool_or(e, LLVMBuildNot(e->b, a_ok, ""), fcmp(e, LLVMRealOEQ, ab, zero)));
  return sel(e, nan, kf(e, NAN), res);
}
