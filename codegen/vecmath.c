/* vecmath.c — exp/log/tanh/sigmoid/expm1/log1p/erf/erfc/log1mexp as inline
 * LLVM IR.
 *
 * Every function here emits straight-line IR at the builder's position: range
 * reduction, a polynomial or rational approximation, integer bit manipulation
 * (through bitcasts) for 2^k scaling and exponent extraction, and `select` for
 * special cases.  There are no branches and no calls except LLVM intrinsics
 * that lower to single instructions on x86-64 and NVPTX (fma, fabs, copysign,
 * roundeven, minnum, maxnum), so a loop calling cg_math on scalars vectorises,
 * the same code works on <N x float>/<N x double>, and the NVPTX backend can
 * lower it unchanged.  No fast-math flags are set anywhere: the error analysis
 * depends on every operation being correctly rounded as written.
 *
 * The algorithms are the classic fdlibm/musl ones (exp, log, expm1, log1p,
 * erf, erfc: their structure and coefficients), rewritten without branches,
 * with double-word arithmetic where fdlibm's roundings would cost more than
 * an ulp.  f32 is computed in f32 (musl's *f variants; exp its own
 * division-free variant) so that vectors stay 16 lanes wide on AVX-512,
 * except erf, erfc and log1mexp, which are computed in double and rounded
 * once.  lang/math.md documents each function and the measured accuracy;
 * tests/unit/test_vecmath.c measures it. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdbool.h>
#include <string.h>

#include "vecmath_impl.h"

/* ---- constants ---------------------------------------------------------- */

/* A splat of `scalar` to the vector type vty.  LLVM 19's C API has no splat
 * constructor, so this uses a throw-away builder with no insertion point:
 * IRBuilder folds insertelement/shufflevector of constants into a constant,
 * which needs no lane array whatever the width. */
static LLVMValueRef splat_constant(LLVMTypeRef vty, LLVMValueRef scalar) {
  LLVMContextRef ctx = LLVMGetTypeContext(vty);
  LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
  LLVMBuilderRef tb = LLVMCreateBuilderInContext(ctx);
  LLVMValueRef one = LLVMBuildInsertElement(tb, LLVMGetPoison(vty), scalar, LLVMConstInt(i32, 0, 0), "");
  LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(i32, LLVMGetVectorSize(vty)));
  LLVMValueRef v = LLVMBuildShuffleVector(tb, one, LLVMGetPoison(vty), zeros, "");
  LLVMDisposeBuilder(tb);
  return v;
}

LLVMValueRef cg_const_real(LLVMTypeRef ty, double v) {
  if (LLVMGetTypeKind(ty) == LLVMVectorTypeKind) return splat_constant(ty, LLVMConstReal(LLVMGetElementType(ty), v));
  return LLVMConstReal(ty, v);
}

LLVMValueRef cg_const_int(LLVMTypeRef ty, long long v) {
  if (LLVMGetTypeKind(ty) == LLVMVectorTypeKind) return splat_constant(ty, LLVMConstInt(LLVMGetElementType(ty), (unsigned long long)v, 1));
  return LLVMConstInt(ty, (unsigned long long)v, 1);
}

/* x limited to [lo, hi]; NaN becomes a number (callers select NaN back). */
static LLVMValueRef clamp(const Em *e, LLVMValueRef x, double lo, double hi) {
  LLVMValueRef a[2] = {x, kf(e, hi)};
  LLVMValueRef m = intrinsic(e, "llvm.minnum", a, 2);
  LLVMValueRef c[2] = {m, kf(e, lo)};
  return intrinsic(e, "llvm.maxnum", c, 2);
}

/* x limited to [lo, hi] by an ordered compare and a select at each end:
 * NaN fails both compares and comes through unchanged, and on x86 each
 * select is one minps/maxps. */
static LLVMValueRef clamp_keep_nan(const Em *e, LLVMValueRef x, double lo, double hi) {
  LLVMValueRef h = kf(e, hi), l = kf(e, lo);
  LLVMValueRef m = sel(e, fcmp(e, LLVMRealOGT, x, h), h, x);
  return sel(e, fcmp(e, LLVMRealOLT, m, l), l, m);
}

/* ---- float format facts ------------------------------------------------- */

static int mant_bits(const Em *e) { return e->f64 ? 52 : 23; }
static int exp_bias(const Em *e) { return e->f64 ? 1023 : 127; }

/* 2^k for integer k in the normal exponent range, built from its bits. */
static LLVMValueRef pow2_int(const Em *e, LLVMValueRef k) {
  return from_bits(e, ishl(e, iadd(e, k, ki(e, exp_bias(e))), ki(e, mant_bits(e))));
}

/* y * 2^k in two exact factors 2^(k>>1) and 2^(k-(k>>1)), so that k up to
 * twice the exponent range works: results that overflow become inf, and
 * results in the subnormal range are rounded once, by the last multiply. */
static LLVMValueRef scale_pow2(const Em *e, LLVMValueRef y, LLVMValueRef k) {
  LLVMValueRef k1 = iashr(e, k, ki(e, 1));
  LLVMValueRef k2 = isub(e, k, k1);
  return ir_fmul(e, ir_fmul(e, y, pow2_int(e, k1)), pow2_int(e, k2));
}

static Dw fast_add_dw(const Em *e, LLVMValueRef a, Dw b) {
  Dw s;
  s.hi = ir_fadd(e, a, b.hi);
  s.lo = ir_fadd(e, ir_fadd(e, ir_fsub(e, a, s.hi), b.hi), b.lo);
  return s;
}

static Dw dw_neg(const Em *e, Dw a) {
  Dw n = {ir_fneg(e, a.hi), ir_fneg(e, a.lo)};
  return n;
}

/* Double-word division n/d, the shared part: q0 = n.hi*(1/d.hi) and the
 * remainder n - q0*d (exact by fma, the low parts folded in).  One division.
 * d.lo may be NULL (zero).  d.hi must be finite and nonzero. */
static LLVMValueRef dw_div_remainder(const Em *e, Dw n, Dw d, LLVMValueRef *q0, LLVMValueRef *inv) {
  *inv = ir_fdiv(e, kf(e, 1.0), d.hi);
  *q0 = ir_fmul(e, n.hi, *inv);
  LLVMValueRef rem = ir_fadd(e, ir_fma(e, ir_fneg(e, *q0), d.hi, n.hi), n.lo);
  return d.lo ? ir_fma(e, ir_fneg(e, *q0), d.lo, rem) : rem;
}

/* n/d as a double-word q0 + rem/d.hi. */
static Dw dw_div_dw(const Em *e, Dw n, Dw d) {
  LLVMValueRef q0, inv, rem = dw_div_remainder(e, n, d, &q0, &inv);
  Dw q = {q0, ir_fmul(e, rem, inv)};
  return q;
}

/* n/d rounded once at the end (error ~0.5 ulp + 2^-2p relative): one
 * Newton-style correction of q0 by the remainder. */
static LLVMValueRef dw_div(const Em *e, Dw n, Dw d) {
  LLVMValueRef q0, inv, rem = dw_div_remainder(e, n, d, &q0, &inv);
  return ir_fma(e, rem, inv, q0);
}

/* ---- exp ---------------------------------------------------------------- */

/* e^x as a double-word y and an integer k, e^x = (y.hi + y.lo) * 2^k with
 * y in [sqrt(1/2), sqrt(2)], following fdlibm e_exp.c / musl expf.c:
 *   k = roundeven(x/ln2), hi = x - k*ln2hi (exact: ln2hi has trailing zero
 *   bits and fma rounds once), lo = k*ln2lo, r = hi - lo, |r| <= ln2/2;
 *   c = r - r^2*P(r^2), P fdlibm's Remez fit of (r*(e^r+1)/(e^r-1) - 2)/r^2
 *   (|error| < 2^-59 for double; musl's float P: 2^-27.7), and
 *   e^r = 1 + (hi + (r*c/(2-c) - lo)).
 * fdlibm rounds the last two additions; here they are exact (TwoSum then
 * Fast2Sum), so y.hi + y.lo is within ~2^-56 (double; float: ~2^-26) of
 * e^r, where y.hi alone is off by up to 0.5 ulp.
 * x is clamped to +-800 (+-160 for float) so that k fits the integer type;
 * beyond that the 2^k scaling saturates to inf or 0 by itself.  NaN becomes
 * a number here: callers select it back. */
typedef struct ExpParts {
  Dw y;
  LLVMValueRef k;
} ExpParts;

static ExpParts exp_parts(const Em *e, LLVMValueRef x) {
  static const double pd[5] = {1.66666666666666019037e-01, -2.77777777770155933842e-03, 6.61375632143793436117e-05,
                               -1.65339022054652515390e-06, 4.13813679705723846039e-08};
  static const double pf[2] = {1.6666625440e-1f, -2.7667332906e-3f};
  LLVMValueRef xc = e->f64 ? clamp(e, x, -800.0, 800.0) : clamp(e, x, -160.0, 160.0);
  LLVMValueRef kr = ir_roundeven(e, ir_fmul(e, xc, kdf(e, 0x1.71547652b82fep+0, 0x1.715476p+0f)));
  LLVMValueRef hi = ir_fma(e, kr, kdf(e, -0x1.62e42feep-1, -0x1.62e4p-1f), xc);
  LLVMValueRef lo = ir_fmul(e, kr, kdf(e, 0x1.a39ef35793c76p-33, 0x1.7f7d1cp-20f));
  LLVMValueRef r = ir_fsub(e, hi, lo);
  LLVMValueRef rr = ir_fmul(e, r, r);
  LLVMValueRef p = e->f64 ? horner(e, rr, pd, 5) : horner(e, rr, pf, 2);
  LLVMValueRef c = ir_fma(e, ir_fneg(e, rr), p, r);
  LLVMValueRef q = ir_fdiv(e, ir_fmul(e, r, c), ir_fsub(e, kf(e, 2.0), c));
  ExpParts ep;
  ep.y = fast_add_dw(e, kf(e, 1.0), two_sum(e, hi, ir_fsub(e, q, lo)));
  ep.k = to_int(e, kr);
  return ep;
}

/* e^x = (y.hi + y.lo) * 2^k, each part scaled (for callers that keep the
 * double-word; in the subnormal range only .hi matters). */
static Dw exp_dw(const Em *e, LLVMValueRef x) {
  ExpParts ep = exp_parts(e, x);
  Dw t = {scale_pow2(e, ep.y.hi, ep.k), scale_pow2(e, ep.y.lo, ep.k)};
  return t;
}

/* exp(x): y rounded once to working precision, then scaled by 2^k in two
 * factors, so overflow gives +inf, and subnormal results are rounded once
 * more (gradual underflow).  exp(+-0) = 1 exactly, exp(-inf) = +0. */
static LLVMValueRef emit_exp(const Em *e, LLVMValueRef x) {
  ExpParts ep = exp_parts(e, x);
  LLVMValueRef res = scale_pow2(e, ir_fadd(e, ep.y.hi, ep.y.lo), ep.k);
  return sel(e, is_nan(e, x), x, res);
}

/* exp for float in float arithmetic, without a division (exp_parts' float
 * path has one and ~45 vector instructions per 16 lanes; this has 20):
 *   x is clamped to [-104, 89] (beyond, the result is 0 or inf either way)
 *   by compares and selects, which let NaN through;
 *   k = round(x/ln2) by adding the shifter 1.5*2^23 + 254 (the integer
 *   254 + k lands in the low mantissa bits); r_hi = x - k*ln2hi is exact
 *   (ln2hi has 15 bits, |k| <= 150), r = r_hi - k*ln2lo is rounded and only
 *   feeds the polynomial;
 *   e^r - 1 = r_hi + (r^2*h(r) - k*ln2lo) = t, h a degree-4 Remez fit of
 *   (e^r-1-r)/r^2 on [-ln2/2, ln2/2] weighted by r^2/e^r (relative error of
 *   e^r < 2^-27.9 with the float coefficients).  Rounding t (up to 1/4 ulp of
 *   the result where 1 + t < 1) and 1 + t dominate: max error 0.875 ulp over
 *   all float inputs (t = r + r^2*h, two operations shorter, reaches 0.99).
 * The result is (1+t)*2^k in two factors, 2^ceil(k/2) and then 2^floor(k/2),
 * both normal for k in [-150, 128]: overflow to inf and the rounding of
 * subnormal results happen once, in the last multiply.  Both factors come
 * from kd's bits by shifts, and (1+t)*2^ceil(k/2) = fma(t, f1, f1) rounds
 * exactly like 1 + t.  NaN passes through every operation, so it needs no
 * select; exp(+-0) = 1 exactly (t = 0). */
static LLVMValueRef emit_exp_f32(const Em *e, LLVMValueRef x) {
  static const double h[5] = {0x1.fffffcp-2, 0x1.555492p-3, 0x1.5558f2p-5, 0x1.1239d4p-7, 0x1.6a244cp-10};
  LLVMValueRef xc = clamp_keep_nan(e, x, -104.0, 89.0);
  LLVMValueRef shifter = kf(e, 0x1.8p23 + 254.0);
  LLVMValueRef kd = ir_fma(e, xc, kf(e, 0x1.715476p+0), shifter);
  LLVMValueRef k = ir_fsub(e, kd, shifter);
  LLVMValueRef ln2lo = kf(e, -0x1.7f7d1cp-20);
  LLVMValueRef r_hi = ir_fma(e, k, kf(e, -0x1.62e4p-1), xc);
  LLVMValueRef r = ir_fma(e, k, ln2lo, r_hi);
  LLVMValueRef u = ir_fma(e, ir_fmul(e, r, r), horner(e, r, h, 5), ir_fmul(e, k, ln2lo));
  LLVMValueRef t = ir_fadd(e, r_hi, u);
    /* kd's bits are 0x4b4000fe + k.  Shifted right by one and then left by
     * 23, they are (127 + floor(k/2)) << 23, 2^floor(k/2); shifted left by 23
     * they are (254 + k) << 23 (mod 2^32), and the difference is the bits of
     * 2^ceil(k/2). */
  LLVMValueRef kbits = to_bits(e, kd);
  LLVMValueRef f2 = ishl(e, ilshr(e, kbits, ki(e, 1)), ki(e, 23));
  LLVMValueRef f1 = from_bits(e, isub(e, ishl(e, kbits, ki(e, 23)), f2));
  f2 = from_bits(e, f2);
  return ir_fmul(e, ir_fma(e, t, f1, f1), f2);
}

/* ---- float functions evaluated in double ------------------------------ */

/* The double-typed context of x's shape (<N x float> -> <N x double>). */
static Em em_double(const Em *e) {
  LLVMContextRef ctx = LLVMGetTypeContext(e->fty);
  bool vec = LLVMGetTypeKind(e->fty) == LLVMVectorTypeKind;
  Em d = *e;
  d.f64 = true;
  d.fty = LLVMDoubleTypeInContext(ctx);
  d.ity = LLVMInt64TypeInContext(ctx);
  if (vec) {
    d.fty = LLVMVectorType(d.fty, LLVMGetVectorSize(e->fty));
    d.ity = LLVMVectorType(d.ity, LLVMGetVectorSize(e->fty));
  }
  return d;
}

typedef LLVMValueRef (*EmitFn)(const Em *e, LLVMValueRef x, bool from_f32);

/* fn on double x as is; on float x, widened to double (exact), computed in
 * double and narrowed once.  For erf, erfc and log1mexp the float algorithms
 * in float arithmetic are not faithful (their results come from differences
 * and products of rounded pieces), while in double every intermediate error
 * is below 2^-40 of the result, so the narrowing is the one rounding that
 * shows: max error 0.5 ulp + the approximation's error. */
static LLVMValueRef in_double(const Em *e, LLVMValueRef x, EmitFn fn) {
  if (e->f64) return fn(e, x, false);
  Em d = em_double(e);
  LLVMValueRef r = fn(&d, LLVMBuildFPExt(e->b, x, d.fty, ""), true);
  return LLVMBuildFPTrunc(e->b, r, e->fty, "");
}

/* e^a in double for a in [-700, 700], relative error < 2^-32: enough for
 * float results computed in double.  k = round(a/ln2) by adding 1.5*2^52
 * (the integer lands in the low mantissa bits); r = a - k*ln2 in one fma
 * (|r| <= ln2/2, error < 2^-46); e^r = 1 + r*Q(r), Q the degree-6 Chebyshev
 * interpolant of (e^r-1)/r on that interval (relative error < 2^-33); 2^k is
 * added to the exponent field (k << 52 from the shifted bits: the result is
 * a normal double).  No division, no special cases. */
typedef struct ShortExp {
  LLVMValueRef r, rq; /* r and r*Q(r) ~ e^r - 1 before its last rounding */
  LLVMValueRef k52;   /* k << 52, to add to a double's bits */
} ShortExp;

static ShortExp exp_short_parts(const Em *d, LLVMValueRef a) {
  static const double q[7] = {0x1.0000000000000p+0, 0x1.000000287f871p-1,  0x1.55555567532adp-3, 0x1.5554accfdb593p-5,
                              0x1.1110c632a3088p-7, 0x1.6d7543e4127b8p-10, 0x1.a15179d80ae96p-13};
  LLVMValueRef shifter = kf(d, 0x1.8p52);
  LLVMValueRef kd = ir_fma(d, a, kf(d, 0x1.71547652b82fep+0), shifter);
  LLVMValueRef k = ir_fsub(d, kd, shifter);
  ShortExp se;
  se.r = ir_fma(d, k, kf(d, -0x1.62e42fefa39efp-1), a);
  se.rq = horner(d, se.r, q, 7);
  se.k52 = ishl(d, to_bits(d, kd), ki(d, 52));
  return se;
}

static LLVMValueRef exp_short(const Em *d, LLVMValueRef a) {
  ShortExp se = exp_short_parts(d, a);
  LLVMValueRef er = ir_fma(d, se.r, se.rq, kf(d, 1.0));
  return from_bits(d, iadd(d, to_bits(d, er), se.k52));
}

/* ---- log and log1p: the shared kernel ----------------------------------- */

/* The pieces of log(1+f) + k*ln2 + c for f in [sqrt(1/2)-1, sqrt(2)-1), the
 * integer k (as a float) and a correction c ~ log(1+x) - log(u) (0 for log),
 * following fdlibm e_log.c / musl logf.c:  s = f/(2+f),
 * log(1+f) = f - hfsq + s*(hfsq + R(s^2)) with hfsq = f^2/2 and R an
 * odd-series Remez fit (|error| < 2^-58.45 for double, 2^-34.24 for float),
 * evaluated as two interleaved polynomials in s^4.  Sets *hfsq and returns
 * the small part acc = s*(hfsq+R) + (k*ln2lo + c). */
static LLVMValueRef log_small_part(const Em *e, LLVMValueRef f, LLVMValueRef dk, LLVMValueRef c, LLVMValueRef *hfsq) {
  static const double lgd_odd[4] = {6.666666666666735130e-01, 2.857142874366239149e-01, 1.818357216161805012e-01, 1.479819860511658591e-01};
  static const double lgd_even[3] = {3.999999999940941908e-01, 2.222219843214978396e-01, 1.531383769920937332e-01};
  static const double lgf_odd[2] = {0x1.555554p-1f /* 0xaaaaaa.0p-24 */, 0x1.23d3dcp-2f /* 0x91e9ee.0p-25 */};
  static const double lgf_even[2] = {0x1.999c26p-2f /* 0xccce13.0p-25 */, 0x1.f13c4cp-3f /* 0xf89e26.0p-26 */};
  *hfsq = ir_fmul(e, ir_fmul(e, kf(e, 0.5), f), f);
  LLVMValueRef s = ir_fdiv(e, f, ir_fadd(e, kf(e, 2.0), f));
  LLVMValueRef z = ir_fmul(e, s, s);
  LLVMValueRef w = ir_fmul(e, z, z);
  LLVMValueRef t1 = ir_fmul(e, w, e->f64 ? horner(e, w, lgd_even, 3) : horner(e, w, lgf_even, 2));
  LLVMValueRef t2 = ir_fmul(e, z, e->f64 ? horner(e, w, lgd_odd, 4) : horner(e, w, lgf_odd, 2));
  LLVMValueRef rr = ir_fadd(e, t2, t1);
  LLVMValueRef ln2lo = ir_fmul(e, dk, kdf(e, 0x1.a39ef35793c76p-33, 0x1.2fefa2p-17f));
  return ir_fadd(e, ir_fmul(e, s, ir_fadd(e, *hfsq, rr)), ir_fadd(e, ln2lo, c));
}

static LLVMValueRef ln2hi_times(const Em *e, LLVMValueRef dk) { return ir_fmul(e, dk, kdf(e, 0x1.62e42feep-1, 0x1.62e3p-1f)); }

/* log(1+f) + k*ln2 + c summed as fdlibm does, left to right:
 * acc - hfsq + f + k*ln2hi. */
static LLVMValueRef log_kernel(const Em *e, LLVMValueRef f, LLVMValueRef dk, LLVMValueRef c) {
  LLVMValueRef hfsq;
  LLVMValueRef acc = log_small_part(e, f, dk, c, &hfsq);
  return ir_fadd(e, ir_fadd(e, ir_fsub(e, acc, hfsq), f), ln2hi_times(e, dk));
}

/* The same value with the large terms k*ln2hi + f - hfsq summed exactly
 * (hfsq as hi + lo by fma, two TwoSums), so the result is rounded once and
 * only the small part's errors add to it: about 0.55 ulp where log_kernel
 * has up to 0.78 (f - hfsq and + k*ln2hi are both rounded there). */
static LLVMValueRef log_kernel_precise(const Em *e, LLVMValueRef f, LLVMValueRef dk, LLVMValueRef c) {
  LLVMValueRef hfsq;
  LLVMValueRef acc = log_small_part(e, f, dk, c, &hfsq);
  LLVMValueRef hfsq_lo = ir_fma(e, ir_fmul(e, kf(e, 0.5), f), f, ir_fneg(e, hfsq));
  Dw t = two_sum(e, ln2hi_times(e, dk), f);
  Dw u = two_sum(e, t.hi, ir_fneg(e, hfsq));
  return ir_fadd(e, u.hi, ir_fadd(e, ir_fadd(e, u.lo, t.lo), ir_fsub(e, acc, hfsq_lo)));
}

/* Splits positive normal `v` as 2^k * m with m in [sqrt(1/2), sqrt(2)):
 * adding 1-sqrt(1/2) in the exponent field carries into the exponent exactly
 * when the mantissa is >= sqrt(2) (fdlibm's trick).  Returns m's bits and
 * sets *k to the unbiased k (as an integer). */
static LLVMValueRef split_mantissa(const Em *e, LLVMValueRef v, LLVMValueRef *k) {
  long long sqrt_half_bits = e->f64 ? 0x3fe6a09e00000000LL : 0x3f3504f3LL;
  long long one_bits = e->f64 ? 0x3ff0000000000000LL : 0x3f800000LL;
  LLVMValueRef iv = iadd(e, to_bits(e, v), ki(e, one_bits - sqrt_half_bits));
  *k = isub(e, ilshr(e, iv, ki(e, mant_bits(e))), ki(e, exp_bias(e)));
  LLVMValueRef mant_mask = ki(e, (1LL << mant_bits(e)) - 1);
  return iadd(e, iand(e, iv, mant_mask), ki(e, sqrt_half_bits));
}

/* log(x): subnormals are first scaled by 2^54 (2^25 for float) so they are
 * normal, then split into 2^k*m and fed to log_kernel with f = m-1.  log(1)
 * is +0 exactly (every term is +0).  Special cases by select: +inf -> +inf,
 * +-0 -> -inf, x<0 or NaN -> NaN. */
static LLVMValueRef emit_log(const Em *e, LLVMValueRef x) {
  int up = e->f64 ? 54 : 25;
  LLVMValueRef tiny = fcmp(e, LLVMRealOLT, x, kdf(e, 0x1p-1022, 0x1p-126f));
  LLVMValueRef xs = sel(e, tiny, ir_fmul(e, x, kf(e, ldexp(1.0, up))), x);
  LLVMValueRef k;
  LLVMValueRef m = from_bits(e, split_mantissa(e, xs, &k));
  k = iadd(e, k, sel(e, tiny, ki(e, -up), ki(e, 0)));
  LLVMValueRef f = ir_fsub(e, m, kf(e, 1.0));
  LLVMValueRef res = log_kernel(e, f, to_real(e, k), kf(e, 0.0));
  res = sel(e, fcmp(e, LLVMRealOEQ, x, kf(e, INFINITY)), x, res);
  res = sel(e, fcmp(e, LLVMRealOEQ, x, kf(e, 0.0)), kf(e, -INFINITY), res);
  return sel(e, fcmp(e, LLVMRealULT, x, kf(e, 0.0)), kf(e, NAN), res);
}

/* log1p(x), musl log1p.c / log1pf.c: for 1+x in [sqrt(1/2), sqrt(2)) the
 * kernel runs on f = x itself (k = 0, no rounding at all); otherwise on
 * u = 1+x split as 2^k*m, with c = (x - (u-1))/u (or (1-(u-x))/u when k>=2)
 * the rounding error of u, dropped once k is so large it cannot matter.
 * Special cases: |x| tiny -> x (keeps -0 and subnormals), -1 -> -inf,
 * x < -1 or NaN -> NaN, +inf -> +inf. */
static LLVMValueRef emit_log1p(const Em *e, LLVMValueRef x) {
  LLVMValueRef one = kf(e, 1.0);
  LLVMValueRef near0 = bool_and(e, fcmp(e, LLVMRealOLT, x, kdf(e, 0x1.a827ap-2, 0x1.a827ap-2f)),
                                fcmp(e, LLVMRealOGE, x, kdf(e, -0x1.2bec4ffffffffp-2, -0x1.2bec32p-2f)));
  LLVMValueRef u = ir_fadd(e, one, x);
  LLVMValueRef ku;
  LLVMValueRef mu = from_bits(e, split_mantissa(e, u, &ku));
  LLVMValueRef c_small = ir_fsub(e, x, ir_fsub(e, u, one));
  LLVMValueRef c_big = ir_fsub(e, one, ir_fsub(e, u, x));
  LLVMValueRef cu = sel(e, icmp(e, LLVMIntSGE, ku, ki(e, 2)), c_big, c_small);
  cu = ir_fdiv(e, cu, u);
  cu = sel(e, icmp(e, LLVMIntSLT, ku, ki(e, e->f64 ? 54 : 25)), cu, kf(e, 0.0));
  LLVMValueRef f = sel(e, near0, x, ir_fsub(e, mu, one));
  LLVMValueRef c = sel(e, near0, kf(e, 0.0), cu);
  LLVMValueRef k = sel(e, near0, ki(e, 0), ku);
  LLVMValueRef res = log_kernel(e, f, to_real(e, k), c);
  LLVMValueRef tiny = fcmp(e, LLVMRealOLT, ir_fabs(e, x), kdf(e, 0x1p-53, 0x1p-24f));
  res = sel(e, tiny, x, res);
  res = sel(e, fcmp(e, LLVMRealOEQ, x, kf(e, INFINITY)), x, res);
  res = sel(e, fcmp(e, LLVMRealOEQ, x, kf(e, -1.0)), kf(e, -INFINITY), res);
  return sel(e, fcmp(e, LLVMRealULT, x, kf(e, -1.0)), kf(e, NAN), res);
}

/* ---- expm1 -------------------------------------------------------------- */

/* The pieces of musl's expm1 after reduction: r (reduced x), c (its rounding
 * error), hxs = r^2/2 and e (the correction such that
 * expm1(r) = r - (r*e - hxs)). */
typedef struct Expm1Parts {
  LLVMValueRef r, c, hxs, err;
} Expm1Parts;

/* musl s_expm1.c / expm1f.c core: r1 = 1 + hxs*Q(hxs), where Q is a Remez
 * fit of the scaled 6/x*(1+2*(1/(e^x-1)-1/x)) (|error| < 2^-61 for double,
 * 2^-30.04 for float), t = 3 - r1*r/2, e = hxs*((r1-t)/(6-r*t)). */
static Expm1Parts expm1_core(const Em *e, LLVMValueRef r, LLVMValueRef c) {
  static const double qd[6] = {1.0,
                               -3.33333333333331316428e-02,
                               1.58730158725481460165e-03,
                               -7.93650757867487942473e-05,
                               4.00821782732936239552e-06,
                               -2.01099218183624371326e-07};
  static const double qf[3] = {1.0, -3.3333212137e-2f, 1.5807170421e-3f};
  Expm1Parts p;
  LLVMValueRef hfx = ir_fmul(e, kf(e, 0.5), r);
  p.r = r;
  p.c = c;
  p.hxs = ir_fmul(e, r, hfx);
  LLVMValueRef r1 = e->f64 ? horner(e, p.hxs, qd, 6) : horner(e, p.hxs, qf, 3);
  LLVMValueRef t = ir_fsub(e, kf(e, 3.0), ir_fmul(e, r1, hfx));
  LLVMValueRef q = ir_fdiv(e, ir_fsub(e, r1, t), ir_fsub(e, kf(e, 6.0), ir_fmul(e, r, t)));
  p.err = ir_fmul(e, p.hxs, q);
  return p;
}

/* expm1 = 2^k*(1 + r - e2) - 1 for k != 0, written per range of k exactly as
 * musl does so that the subtraction of 1 loses nothing:
 *   k = -1: (r-e2)/2 - 1/2;  k = 1: 2*(r+1/2-e2) or 1 + 2*(r-e2);
 *   k < 0 or k > 56: 2^k*(r - e2 + 1) - 1;  2 <= k < 20 (23 for float):
 *   2^k*(r - e2 + (1-2^-k));  else 2^k*(r - (e2 + 2^-k) + 1).
 * (2^-k is garbage for k outside the exponent range; those lanes are not
 * selected.) */
static LLVMValueRef expm1_scaled(const Em *e, Expm1Parts p, LLVMValueRef k) {
  LLVMValueRef one = kf(e, 1.0), half = kf(e, 0.5), two = kf(e, 2.0);
  LLVMValueRef e2 = ir_fsub(e, ir_fsub(e, ir_fmul(e, p.r, ir_fsub(e, p.err, p.c)), p.c), p.hxs);
  LLVMValueRef r_e2 = ir_fsub(e, p.r, e2);
  LLVMValueRef km1 = ir_fsub(e, ir_fmul(e, half, r_e2), half);
  LLVMValueRef kp1_lo = ir_fmul(e, kf(e, -2.0), ir_fsub(e, e2, ir_fadd(e, p.r, half)));
  LLVMValueRef kp1_hi = ir_fadd(e, one, ir_fmul(e, two, r_e2));
  LLVMValueRef kp1 = sel(e, fcmp(e, LLVMRealOLT, p.r, kf(e, -0.25)), kp1_lo, kp1_hi);
  LLVMValueRef far = ir_fsub(e, scale_pow2(e, ir_fadd(e, r_e2, one), k), one);
  LLVMValueRef two_mk = pow2_int(e, isub(e, ki(e, 0), k));
  LLVMValueRef two_k = pow2_int(e, k);
  LLVMValueRef near_lo = ir_fmul(e, ir_fadd(e, r_e2, ir_fsub(e, one, two_mk)), two_k);
  LLVMValueRef near_hi = ir_fmul(e, ir_fadd(e, ir_fsub(e, p.r, ir_fadd(e, e2, two_mk)), one), two_k);
  LLVMValueRef near = sel(e, icmp(e, LLVMIntSLT, k, ki(e, e->f64 ? 20 : 23)), near_lo, near_hi);
  LLVMValueRef is_far = bool_or(e, icmp(e, LLVMIntSLT, k, ki(e, 0)), icmp(e, LLVMIntSGT, k, ki(e, 56)));
  LLVMValueRef res = sel(e, is_far, far, near);
  res = sel(e, icmp(e, LLVMIntEQ, k, ki(e, 1)), kp1, res);
  return sel(e, icmp(e, LLVMIntEQ, k, ki(e, -1)), km1, res);
}

/* expm1(x), musl s_expm1.c / expm1f.c without branches: k = roundeven(x/ln2)
 * (musl picks the same k up to ties), Cody-Waite reduction keeping the
 * rounding error c of r, the rational core, then the k-dependent
 * reconstruction above; k = 0 is r - (r*e - hxs).  Special cases: |x| tiny
 * -> x, x below -56 ln2 (-27 ln2 for float) -> -1, above the overflow
 * threshold -> +inf, NaN -> NaN. */
static LLVMValueRef emit_expm1(const Em *e, LLVMValueRef x) {
  LLVMValueRef xc = e->f64 ? clamp(e, x, -60.0, 710.0) : clamp(e, x, -30.0, 89.0);
  LLVMValueRef kr = ir_roundeven(e, ir_fmul(e, xc, kdf(e, 0x1.71547652b82fep+0, 0x1.715476p+0f)));
  LLVMValueRef hi = ir_fma(e, kr, kdf(e, -0x1.62e42feep-1, -0x1.62e3p-1f), xc);
  LLVMValueRef lo = ir_fmul(e, kr, kdf(e, 0x1.a39ef35793c76p-33, 0x1.2fefa2p-17f));
  LLVMValueRef r = ir_fsub(e, hi, lo);
  LLVMValueRef c = ir_fsub(e, ir_fsub(e, hi, r), lo);
  Expm1Parts p = expm1_core(e, r, c);
  LLVMValueRef k = to_int(e, kr);
  LLVMValueRef k0 = ir_fsub(e, r, ir_fsub(e, ir_fmul(e, r, p.err), p.hxs));
  LLVMValueRef res = sel(e, icmp(e, LLVMIntEQ, k, ki(e, 0)), k0, expm1_scaled(e, p, k));
  res = sel(e, fcmp(e, LLVMRealOLT, ir_fabs(e, x), kdf(e, 0x1p-54, 0x1p-25f)), x, res);
  res = sel(e, fcmp(e, LLVMRealOLE, x, kdf(e, -0x1.3687ap+5, -0x1.2b7088p+4f)), kf(e, -1.0), res);
  res = sel(e, fcmp(e, LLVMRealOGT, x, kdf(e, 0x1.62e42fefa39efp+9, 0x1.62e42ep+6f)), kf(e, INFINITY), res);
  return sel(e, is_nan(e, x), x, res);
}

/* ---- tanh and sigmoid --------------------------------------------------- */

/* tanh(x) = x + x^3*P(x^2) for |x| <= 0.625: P is a Chebyshev interpolant
 * of (tanh(x)-x)/x^3 in u = x^2 on [0, 0.390625] computed in 70-digit
 * arithmetic (degree 11 for double: relative error of the approximation
 * < 2^-56.8 with the coefficients rounded; degree 5 for float: < 2^-27.8). */
static LLVMValueRef tanh_small(const Em *e, LLVMValueRef ax) {
  static const double pd[12] = {-0x1.5555555555555p-2,  0x1.11111111110a8p-3,  -0x1.ba1ba1ba0f126p-5,  0x1.664f487e0a749p-6,
                                -0x1.226e3473dce5cp-7,  0x1.d6d39ae3905e2p-9,  -0x1.7d9f6f23e8682p-10, 0x1.3526e9ed54da1p-11,
                                -0x1.f243823c8c981p-13, 0x1.8445870f6fe41p-14, -0x1.05bbdae896297p-15, 0x1.b33642a122cddp-18};
  static const double pf[6] = {-0x1.555556p-2, 0x1.1110eap-3, -0x1.ba08c4p-5, 0x1.64a976p-6, -0x1.116a16p-7, 0x1.2c83cp-9};
  LLVMValueRef u = ir_fmul(e, ax, ax);
  LLVMValueRef p = e->f64 ? horner(e, u, pd, 12) : horner(e, u, pf, 6);
  return ir_fma(e, ir_fmul(e, ax, u), p, ax);
}

/* tanh(x) = sign(x) * tanh(|x|):
 *   |x| <= 0.625: the odd polynomial above;
 *   otherwise:    (1 - E)/(1 + E) with E = e^(-2|x|) as a double-word and
 *                 the double-word division (E <= 0.29, so 1 - E loses
 *                 nothing; huge |x| gives E = 0 and exactly 1).
 * copysign restores the sign (tanh(-0) = -0); tiny x gives x by the
 * polynomial itself (x + x^3*P rounds to x); NaN is selected back. */
static LLVMValueRef emit_tanh(const Em *e, LLVMValueRef x) {
  LLVMValueRef ax = ir_fabs(e, x);
  LLVMValueRef small = tanh_small(e, ax);
  Dw big_e = exp_dw(e, ir_fmul(e, ax, kf(e, -2.0)));
  LLVMValueRef one = kf(e, 1.0);
  LLVMValueRef big = dw_div(e, fast_add_dw(e, one, dw_neg(e, big_e)), fast_add_dw(e, one, big_e));
  LLVMValueRef r = sel(e, fcmp(e, LLVMRealOLE, ax, kf(e, 0.625)), small, big);
  r = ir_copysign(e, r, x);
  return sel(e, is_nan(e, x), x, r);
}

/* sigmoid(x) = 1/(1+e^-x) for x >= 0 and e^x/(1+e^x) for x < 0, both from
 * t = e^-|x| as a double-word and the double-word division, so neither the
 * rounding of t nor of 1+t shows (they would cost up to ~1.5 ulp), and large
 * negative x keeps full relative accuracy down to the subnormals (there t is
 * rounded once by its 2^k scaling and 1+t is 1). */
static LLVMValueRef emit_sigmoid(const Em *e, LLVMValueRef x) {
  Dw t = exp_dw(e, ir_fneg(e, ir_fabs(e, x)));
  LLVMValueRef neg = fcmp(e, LLVMRealOLT, x, kf(e, 0.0));
  Dw num = {sel(e, neg, t.hi, kf(e, 1.0)), sel(e, neg, t.lo, kf(e, 0.0))};
  LLVMValueRef r = dw_div(e, num, fast_add_dw(e, kf(e, 1.0), t));
  return sel(e, is_nan(e, x), x, r);
}

/* ---- log1mexp ----------------------------------------------------------- */

/* log1mexp for x from a float, in double: 29 spare bits make emit_log1mexp's
 * double-words unnecessary.  e^x = 2^k (1 + p), p = r*Q(r) from exp_short
 * (relative error < 2^-33, and p carries it relative to itself, so 1 - e^x
 * does not cancel): 1 - e^x = (1 - 2^k) - 2^k p in one fma, 1 - 2^k being
 * exact for k >= -52; its log by log_kernel.  Below x = -14 the log of a
 * double near 1 would lose the result (1 - e^x is rounded at 2^-53, the
 * result is ~e^x), so there log(1 - u) = -(u + u^2/2) with u = 2^k (1 + p)
 * (the next term, u^3/3, is < 2^-42 of it).  Errors are < 2^-33 of the
 * result before the narrowing.  Special cases as below. */
static LLVMValueRef log1mexp_for_f32(const Em *e, LLVMValueRef x) {
  LLVMValueRef one = kf(e, 1.0);
  ShortExp se = exp_short_parts(e, clamp_keep_nan(e, x, -110.0, 0.0));
  LLVMValueRef p = ir_fmul(e, se.r, se.rq);
  LLVMValueRef two_k = from_bits(e, iadd(e, to_bits(e, one), se.k52));
  LLVMValueRef v = ir_fma(e, ir_fneg(e, two_k), p, ir_fsub(e, one, two_k));
  LLVMValueRef k;
  LLVMValueRef m = from_bits(e, split_mantissa(e, v, &k));
  LLVMValueRef res = log_kernel(e, ir_fsub(e, m, one), to_real(e, k), kf(e, 0.0));
  LLVMValueRef u = ir_fma(e, two_k, p, two_k);
  LLVMValueRef far = ir_fneg(e, ir_fma(e, ir_fmul(e, kf(e, 0.5), u), u, u));
  res = sel(e, fcmp(e, LLVMRealOLT, x, kf(e, -14.0)), far, res);
  res = sel(e, fcmp(e, LLVMRealOEQ, x, kf(e, 0.0)), kf(e, -INFINITY), res);
  res = ir_fneg(e, ir_fabs(e, res));
  return sel(e, fcmp(e, LLVMRealUGT, x, kf(e, 0.0)), kf(e, NAN), res);
}

/* log1mexp(x) = log(1 - e^x) for x <= 0 (double; floats go to
 * log1mexp_for_f32).  Maechler's rule (x > -ln2 ?
 * log(-expm1(x)) : log1p(-exp(x))) avoids the cancellation in 1 - e^x, but
 * composes two rounded functions: about 1.5 ulp even with correctly rounded
 * parts, since near x = -ln2 the result is ~-0.69 and both roundings show.
 * Here 1 - e^x is formed once as a double-word from exp_parts' e^x =
 * 2^k (y.hi + y.lo): 1 - 2^k y.hi is exact for k in {0, -1} (x > -ln2, where
 * the cancellation is; the error left is that of y - 1 = hi + q - lo,
 * relative to 1 - e^x ~ -x small) and a Fast2Sum otherwise (1 - e^x >= 1/2).
 * Its log is log_kernel_precise on the high part with c = lo/hi.
 * Below x = -21, where 1 - e^x = 1 - u is too close to 1, the result is
 * -(u + u^2/2) from u's double-word directly; u's subnormals are rounded by
 * its 2^k scaling (as by exp).
 * Special cases: +-0 -> -inf; x > 0 or NaN -> NaN; zero results (x below
 * about -745, -inf) are -0: the function is negative everywhere. */
static LLVMValueRef emit_log1mexp(const Em *e, LLVMValueRef x, bool from_f32) {
  if (from_f32) return log1mexp_for_f32(e, x);
  ExpParts ep = exp_parts(e, x);
  Dw u = {scale_pow2(e, ep.y.hi, ep.k), scale_pow2(e, ep.y.lo, ep.k)};
  Dw s = fast_add_dw(e, kf(e, 1.0), dw_neg(e, u));
  Dw v = fast_two_sum(e, s.hi, s.lo);
    /* log of v.hi + v.lo as in emit_log: subnormals (v = -x for subnormal x)
     * are scaled by 2^54 first. */
  LLVMValueRef tiny = fcmp(e, LLVMRealOLT, v.hi, kf(e, 0x1p-1022));
  LLVMValueRef vs = sel(e, tiny, ir_fmul(e, v.hi, kf(e, 0x1p54)), v.hi);
  LLVMValueRef k;
  LLVMValueRef m = from_bits(e, split_mantissa(e, vs, &k));
  k = iadd(e, k, sel(e, tiny, ki(e, -54), ki(e, 0)));
    /* log(v.hi + v.lo) = k*ln2 + log(1 + f) + c with f = m - 1 and the
     * correction c = v.lo/v.hi.  Where k = 0, f = v.hi - 1 and c can be a
     * good part of the result (v.hi just below 1), so its rounding would show
     * (0.26 ulp): there f + v.lo is first made exact by Fast2Sum and only its
     * low part goes to c. */
  LLVMValueRef k0 = icmp(e, LLVMIntEQ, k, ki(e, 0));
  Dw f = fast_two_sum(e, ir_fsub(e, m, kf(e, 1.0)), sel(e, k0, v.lo, kf(e, 0.0)));
  LLVMValueRef c = ir_fdiv(e, sel(e, k0, f.lo, v.lo), v.hi);
  LLVMValueRef res = log_kernel_precise(e, f.hi, to_real(e, k), c);
    /* Below x = -21 (u < 2^-30), log(1 - u) = -(u + u^2/2) to 2^-62, from u's
     * double-word: 1 - u rounds to 1 from x = -36.7 on, and the result would
     * come from v.lo, already rounded (0.8 ulp). */
  LLVMValueRef far = ir_fneg(e, ir_fadd(e, u.hi, ir_fma(e, ir_fmul(e, kf(e, 0.5), u.hi), u.hi, u.lo)));
  res = sel(e, fcmp(e, LLVMRealOLT, x, kf(e, -21.0)), far, res);
  res = sel(e, fcmp(e, LLVMRealOEQ, v.hi, kf(e, 0.0)), kf(e, -INFINITY), res);
  res = ir_fneg(e, ir_fabs(e, res));
  return sel(e, fcmp(e, LLVMRealUGT, x, kf(e, 0.0)), kf(e, NAN), res);
}

/* ---- erf and erfc ------------------------------------------------------- */

/* fdlibm s_erf.c (double) and FreeBSD s_erff.c (float, the 2017 refit with
 * shorter polynomials), by |x| in four intervals:
 *   A  |x| < 0.84375:       erf = x + x*P(z)/Q(z), z = x^2
 *   B  |x| < 1.25:          erf = erx + P1(s)/Q1(s), s = |x| - 1
 *   C  |x| < 1/0.35:        erfc = exp(-x^2 - 0.5625 + R1(s)/S1(s))/x,
 *   D  beyond (to 28, f32: 11):      same with R2/S2, s = 1/x^2
 * and erf = 1 - erfc in C/D, erfc = 1 - erf in A/B, erfc(-x) = 2 - erfc(x).
 * R(s)/S(s) is evaluated as (w^n R(1/w))/(w^n S(1/w)) with w = x^2 and n
 * the degree of S: the same polynomials with their coefficients reversed,
 * which saves the division 1/x^2.  Each lane picks its interval's
 * coefficients by select (zero-padded to a common length), and one rational
 * num(t)/den(t) is evaluated, t = x^2 or |x| - 1: one division, not four. */
typedef struct ErfTable {
  double erx;    /* B's constant (fdlibm: 0.845062911 in 24 bits; FreeBSD float: erf(1) in 16) */
  double b_cd;   /* the C/D boundary, about 1/0.35 */
  double ax_max; /* |x| beyond which erfc is 0 and erf 1 in the dtype */
  int nnum[4], nden[4];
  double num[4][8], den[4][9]; /* P, P1, R1, R2 and Q, Q1, S1, S2: coefficient i, as in the sources */
} ErfTable;

/* Coefficient i of num(t) (den(t) with is_den) for interval r: C and D are
 * reversed (coefficient n - i of the source, n = S's degree). */
static double erf_coef(const ErfTable *tb, int r, int i, bool is_den) {
  int n = is_den ? tb->nden[r] : tb->nnum[r];
  const double *c = is_den ? tb->den[r] : tb->num[r];
  if (r >= 2) i = tb->nden[r] - 1 - i;
  return i >= 0 && i < n ? c[i] : 0.0;
}

/* fdlibm s_erf.c.  Errors of the fits: A |R - (erf(x)-x)/x| < 2^-57.90,
 * B |P1/Q1 - (erf(x)-erx)| < 2^-59.06, C < 2^-62.57, D < 2^-61.52. */
static const ErfTable erf_f64 = {
    8.45062911510467529297e-01,
    0x1.6db6ep+1,
    28.0,
    {5, 7, 8, 7},
    {6, 7, 9, 8},
    {{1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02, -5.77027029648944159157e-03,
      -2.37630166566501626084e-05},
     {-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01, 3.18346619901161753674e-01,
      -1.10894694282396677476e-01, 3.54783043256182359371e-02, -2.16637559486879084300e-03},
     {-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01, -6.23753324503260060396e+01,
      -1.62396669462573470355e+02, -1.84605092906711035994e+02, -8.12874355063065934246e+01, -9.81432934416914548592e+00},
     {-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01, -1.60636384855821916062e+02,
      -6.37566443368389627722e+02, -1.02509513161107724954e+03, -4.83519191608651397019e+02}},
    {{1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03, 1.32494738004321644526e-04,
      -3.96022827877536812320e-06},
     {1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02, 1.26171219808761642112e-01,
      1.36370839120290507362e-02, 1.19844998467991074170e-02},
     {1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02, 6.45387271733267880336e+02,
      4.29008140027567833386e+02, 1.08635005541779435134e+02, 6.57024977031928170135e+00, -6.04244152148580987438e-02},
     {1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03, 3.19985821950859553908e+03,
      2.55305040643316442583e+03, 4.74528541206955367215e+02, -2.24409524465858183362e+01}},
};

/* FreeBSD s_erff.c (float coefficients, used in double).  Errors of the
 * fits (the ranges its comments give): A 2^-30.8, B 2^-29.9, C 2^-27.6,
 * D 2^-29.3, absolute on the quantities above: at most ~0.2 ulp of a float
 * result (erfc near 1.25, where it is 0.077). */
static const ErfTable erf_f32 = {
    0x1.af76p-1,
    0x1.6db718p+1,
    11.0,
    {3, 4, 4, 3},
    {4, 4, 4, 4},
    {{0x1.06eba8p-3, -0x1.58185ap-2, -0x1.e845e8p-10},
     {0x1.e9f326p-19, 0x1.a9126ap-2, -0x1.acd7aap-3, 0x1.636696p-4},
     {-0x1.43cc98p-7, -0x1.165a64p-1, -0x1.ab149ap+0, -0x1.621364p-1},
     {-0x1.43415cp-7, -0x1.1899fcp-1, -0x1.d7560ep+0}},
    {{1.0, 0x1.3fd1f2p-2, 0x1.620280p-6, -0x1.04a622p-9},
     {1.0, 0x1.fb7456p-2, 0x1.7c2892p-2, 0x1.4184cep-5},
     {1.0, 0x1.1f179ap+2, 0x1.06e956p+2, 0x1.1b92e8p-1},
     {1.0, 0x1.37c3d4p+2, 0x1.8660bcp+1, -0x1.8617d8p-1}},
};

/* The last ndw Horner steps of c[0] + t*(c[1] + ...) in double-word
 * arithmetic, with t = t.hi + t.lo: the product by t exact by fma (plus the
 * t.lo and p.lo terms), the coefficient added by TwoSum.  Where the terms of
 * a polynomial are of one size (fdlibm's R1 and S1 near |x| = 1.25: terms up
 * to ~30 summing to ~-75), rounding each step costs ~2^-53 relative, and
 * erfc's error there is the error of R1/S1.  Measured max error of erfc f64
 * on 2 M samples of |x| in [1.25, 2.86]: 4 exact steps 0.92 ulp, 5: 0.79,
 * 6: 0.69, all: 0.69. */
static Dw horner_dw(const Em *e, Dw t, const LLVMValueRef *c, int n, int ndw) {
  LLVMValueRef p = c[n - 1];
  int i = n - 2;
  for (; i >= ndw; i--) p = ir_fma(e, t.hi, p, c[i]);
  Dw r = {p, NULL};
  for (; i >= 0; i--) {
    LLVMValueRef ph = ir_fmul(e, t.hi, r.hi);
    LLVMValueRef pl = ir_fmul(e, t.lo, r.hi);
    if (r.lo) pl = ir_fma(e, t.hi, r.lo, pl);
    pl = ir_fadd(e, ir_fma(e, t.hi, r.hi, ir_fneg(e, ph)), pl);
    Dw sum = two_sum(e, c[i], ph);
    r.hi = sum.hi;
    r.lo = ir_fadd(e, sum.lo, pl);
  }
  return r;
}

/* erf (want_erfc false) or erfc of double x.  from_f32: x came from a float
 * and the result will be narrowed: FreeBSD's float coefficients, all in
 * plain double arithmetic (its errors are ~2^-50 of the result).  Otherwise
 * fdlibm's coefficients and double-word arithmetic where the rounding
 * errors of fdlibm's evaluation would show in erfc (up to ~1.9 ulp where
 * erfc is a difference, 1 - x - x*y near 0.84 or (1-erx) - P1/Q1 near
 * 1.25, and ~1.2 ulp in C from R1/S1 near 1.25):
 *   - x^2 = w.hi + w.lo by fma;
 *   - the last six Horner steps of num and den (horner_dw) and
 *     q = num/den as a double-word (dw_div_dw);
 *   - A/B: erf(|x|) as a double-word (Fast2Sum), 1 -+ it by Fast2Sum;
 *   - C/D: the exponent -x^2 - 0.5625 + q as a double-word (fdlibm's
 *     splitting of x into z + (x - z) is what fma's exact x^2 replaces),
 *     e^hi by exp_parts (a double-word and 2^k), times 1 + lo, divided by
 *     |x| with dw_div and then scaled by 2^k (subnormal results are rounded
 *     there, once more, as by exp).
 * erf of tiny |x| (< 2^-28) is fma(x, efx, x), rounded once also where the
 * result is subnormal (fdlibm scales by 8 to avoid the underflow of x*efx,
 * which fma does not have).  |x| is limited to ax_max, where erfc
 * is 0 and erf 1 anyway (so x^2 stays finite); NaN passes through every
 * interval's formula.  erf(-0) = -0 by copysign. */
static LLVMValueRef erf_erfc(const Em *e, LLVMValueRef x, bool from_f32, bool want_erfc) {
  const ErfTable *tb = from_f32 ? &erf_f32 : &erf_f64;
  bool dw = !from_f32;
  LLVMValueRef one = kf(e, 1.0), zero = kf(e, 0.0);
  LLVMValueRef lim = kf(e, tb->ax_max);
  LLVMValueRef ax = ir_fabs(e, x);
  ax = sel(e, fcmp(e, LLVMRealOGT, ax, lim), lim, ax);
  LLVMValueRef in_b = fcmp(e, LLVMRealOGE, ax, kf(e, 0.84375));
  LLVMValueRef in_c = fcmp(e, LLVMRealOGE, ax, kf(e, 1.25));
  LLVMValueRef in_d = fcmp(e, LLVMRealOGE, ax, kf(e, tb->b_cd));
  Dw w = {ir_fmul(e, ax, ax), NULL};
  Dw t = {sel(e, in_b, sel(e, in_c, w.hi, ir_fsub(e, ax, one)), w.hi), NULL};
  if (dw) {
    w.lo = ir_fma(e, ax, ax, ir_fneg(e, w.hi));
    t.lo = sel(e, in_b, sel(e, in_c, w.lo, zero), w.lo);
  }
  int n = 0; /* the longest denominator; every numerator is shorter or reversed to its length */
  for (int r = 0; r < 4; r++) n = tb->nden[r] > n ? tb->nden[r] : n;
  LLVMValueRef cn[9], cd[9];
  for (int i = 0; i < n; i++) {
    LLVMValueRef c[2];
    for (int j = 0; j < 2; j++)
      c[j] = sel(e, in_d, kf(e, erf_coef(tb, 3, i, j)),
                 sel(e, in_c, kf(e, erf_coef(tb, 2, i, j)), sel(e, in_b, kf(e, erf_coef(tb, 1, i, j)), kf(e, erf_coef(tb, 0, i, j)))));
    cn[i] = c[0];
    cd[i] = c[1];
  }
  Dw q;
  LLVMValueRef erf_ab, big;
  if (dw) {
    q = dw_div_dw(e, horner_dw(e, t, cn, n, 6), horner_dw(e, t, cd, n, 6));
        /* A: |x| + |x|*q (|q| < 0.13); B: erx + q (|q| < 0.08). */
    LLVMValueRef p = ir_fmul(e, ax, q.hi);
    Dw ea = fast_two_sum(e, ax, p);
    ea.lo = ir_fadd(e, ea.lo, ir_fma(e, ax, q.lo, ir_fma(e, ax, q.hi, ir_fneg(e, p))));
    Dw eb = fast_two_sum(e, kf(e, tb->erx), q.hi);
    eb.lo = ir_fadd(e, eb.lo, q.lo);
    Dw eab = {sel(e, in_b, eb.hi, ea.hi), sel(e, in_b, eb.lo, ea.lo)};
    if (want_erfc) {
            /* 1 - erf(|x|) for x >= 0, 1 + erf(|x|) for x < 0. */
      LLVMValueRef sg = ir_copysign(e, one, x);
      Dw term = {ir_fneg(e, ir_copysign(e, eab.hi, x)), ir_fneg(e, ir_fmul(e, eab.lo, sg))};
      Dw r = fast_two_sum(e, one, term.hi);
      erf_ab = ir_fadd(e, r.hi, ir_fadd(e, r.lo, term.lo));
    } else {
      erf_ab = ir_fadd(e, eab.hi, eab.lo);
      LLVMValueRef tiny = ir_fma(e, ax, kf(e, 1.28379167095512586316e-01), ax);
      erf_ab = sel(e, fcmp(e, LLVMRealOLT, ax, kf(e, 0x1p-28)), tiny, erf_ab);
    }
    Dw a1 = fast_two_sum(e, ir_fneg(e, w.hi), kf(e, -0.5625));
    Dw a2 = fast_two_sum(e, a1.hi, q.hi);
    LLVMValueRef a_lo = ir_fadd(e, ir_fadd(e, a2.lo, a1.lo), ir_fsub(e, q.lo, w.lo));
    ExpParts ep = exp_parts(e, a2.hi);
    Dw y = {ep.y.hi, ir_fma(e, ep.y.hi, a_lo, ep.y.lo)};
    Dw d = {ax, NULL};
    big = scale_pow2(e, dw_div(e, y, d), ep.k);
  } else {
    q.hi = ir_fdiv(e, horner_dw(e, t, cn, n, 0).hi, horner_dw(e, t, cd, n, 0).hi);
    LLVMValueRef ea = ir_fma(e, ax, q.hi, ax), eb = ir_fadd(e, kf(e, tb->erx), q.hi);
    LLVMValueRef eab = sel(e, in_b, eb, ea);
    erf_ab = want_erfc ? ir_fsub(e, one, ir_copysign(e, eab, x)) : eab;
    LLVMValueRef a = ir_fadd(e, ir_fsub(e, ir_fneg(e, w.hi), kf(e, 0.5625)), q.hi);
    big = ir_fdiv(e, exp_short(e, a), ax);
  }
  if (!want_erfc) return ir_copysign(e, sel(e, in_c, ir_fsub(e, one, big), erf_ab), x);
  big = sel(e, fcmp(e, LLVMRealOLT, x, zero), ir_fsub(e, kf(e, 2.0), big), big);
  return sel(e, in_c, big, erf_ab);
}

static LLVMValueRef emit_erf(const Em *e, LLVMValueRef x, bool from_f32) { return erf_erfc(e, x, from_f32, false); }
static LLVMValueRef emit_erfc(const Em *e, LLVMValueRef x, bool from_f32) { return erf_erfc(e, x, from_f32, true); }

/* ---- sin and cos -------------------------------------------------------- */

/* The bits of 2/pi for the Payne-Hanek reduction, in 23 chunks that cover
 * every double: chunk 0 is bits 1..23 after the binary point, chunk i >= 1
 * bits 53i-29 .. 53i+23 (so chunk i ends at bit 53i+23), each stored as its
 * integer value c_i times 2^-53, an exact double in [0, 1).  Computed in
 * 2000-bit arithmetic (mpmath). */
static const double two_over_pi_bits[23] = {
    0x1.45f3040000000p-31, 0x1.6e4e441529fc2p-1, 0x1.d5f47d4d37702p-2, 0x1.6d8a5664f10e4p-1, 0x1.07f9458eaf7a8p-4, 0x1.bc561b7246e3ap-1,
    0x1.09374b801924ap-2,  0x1.ba827464873f8p-1, 0x1.deb1cb129a73ep-2, 0x1.d1046bea5d768p-2, 0x1.213a671c09ad0p-2, 0x1.7df904e64758ep-1,
    0x1.835339f49c844p-2,  0x1.f8bbdf9283b1fp-1, 0x1.f12fffbc0b301p-1, 0x1.fbcbc462d6829p-1, 0x1.68fb69b3f6793p-1, 0x1.cb09b74f463f6p-1,
    0x1.a797fa8b5d49ep-2,  0x1.d63f5f2f8bd9ep-2, 0x1.0739f78a5292ep-2, 0x1.4d7f6bf623f1ap-2, 0x1.7421580cc11bep-2};

/* pi/2 = PIO2_1 + PIO2_2 + PIO2_3 to 160 bits, and 2/pi rounded. */
#define PIO2_1 0x1.921fb54442d18p+0
#define PIO2_2 0x1.1a62633145c07p-54
#define PIO2_3 (-0x1.f1976b7ed8fbcp-110)
#define INV_PIO2 0x1.45f306dc9c883p-1

/* |x| = (q + y) * pi/2 for an integer q (only q mod 4 matters) and the
 * reduced argument r = y * pi/2 = r.hi + r.lo, |r| <= pi/4 (a hair beyond
 * where x*2/pi rounds across a half-integer). */
typedef struct Reduced {
  Dw r;
  LLVMValueRef q; /* integer type */
} Reduced;

/* Cody-Waite for ax < 2^24 (larger lanes are clamped by the caller and not
 * used): k = roundeven(ax*2/pi) < 2^24, r = ax - k*(PIO2_1 + PIO2_2 + PIO2_3).
 * ax - k*PIO2_1 is exact in one fma (it is a multiple of 2^-52 below 1 for
 * ax >= 1, Sterbenz for ax < 1, where k <= 1); k*PIO2_2 is split exactly by
 * fma and subtracted by TwoSum; only the tail (k*PIO2_3 and the low parts,
 * < 2^-80) is rounded, and the 160-bit pi/2 leaves k*2^-160: an absolute
 * error ~2^-130.  The double closest to a multiple of pi/2 below 2^24,
 * 0x1.6c6cbc45dc8dep+5, leaves |r| ~ 2^-60.5, so r is good to ~2^-69
 * relative. */
static Reduced reduce_cody_waite(const Em *e, LLVMValueRef ax) {
  LLVMValueRef k = ir_roundeven(e, ir_fmul(e, ax, kf(e, INV_PIO2)));
  LLVMValueRef r1 = ir_fma(e, ir_fneg(e, k), kf(e, PIO2_1), ax);
  LLVMValueRef ph = ir_fmul(e, k, kf(e, PIO2_2));
  LLVMValueRef pl = ir_fma(e, k, kf(e, PIO2_2), ir_fneg(e, ph));
  Dw s = two_sum(e, r1, ir_fneg(e, ph));
  LLVMValueRef t = ir_fsub(e, ir_fsub(e, s.lo, pl), ir_fmul(e, k, kf(e, PIO2_3)));
  Reduced rd = {fast_two_sum(e, s.hi, t), to_int(e, k)};
  return rd;
}

/* v minus its nearest integer i (exact); i is added to *n, first reduced
 * mod 4 (to [-2, 2], exactly) when `big` (v may be beyond 2^53, where sums of
 * integers would round). */
static LLVMValueRef take_int(const Em *e, LLVMValueRef v, LLVMValueRef *n, bool big) {
  LLVMValueRef i = ir_roundeven(e, v);
  LLVMValueRef f = ir_fsub(e, v, i);
  if (big) i = ir_fma(e, ir_roundeven(e, ir_fmul(e, i, kf(e, 0.25))), kf(e, -4.0), i);
  *n = *n ? ir_fadd(e, *n, i) : i;
  return f;
}

/* Chunk j+t of 2/pi for the lanes in bucket j (ax in [2^(24+53j),
 * 2^(24+53(j+1)))), scaled by 2^(53j) so that ax*2^(-53j) times it is
 * ax times the chunk: c_{j+t} * 2^(-53t-23).  A chain of selects over the
 * buckets (no memory, no gather). */
static LLVMValueRef pick_bits(const Em *e, LLVMValueRef *in_bucket, int nb, int t) {
  LLVMValueRef c = kf(e, ldexp(two_over_pi_bits[t], 30 - 53 * t));
  for (int j = 1; j < nb; j++) c = sel(e, in_bucket[j], kf(e, ldexp(two_over_pi_bits[j + t], 30 - 53 * t)), c);
  return c;
}

/* Payne-Hanek for 2^24 <= ax (< 2^(24+53 nb)), without branches or tables:
 * ax = M 2^(e-52) with e in bucket j = floor((e-24)/53); the bits of 2/pi
 * before bit 53j-29 (chunks < j) give multiples of 4 (their lowest product
 * bit is 2^(e-52-(53j-30)) >= 4), the 5 chunks j..j+4 give the rest to
 * 2^-157 absolute.  With xs = ax 2^(-53j) in [2^24, 2^77), the products
 * P_t = xs * chunk = hi + lo (exact by fma) are < 2^(108-53t) and multiples
 * of 2^(-51-53t).  Their sum is reduced mod 1 in stages by grid, each exact:
 *   A: frac(P0.hi) + frac(P0.lo): both on grid 2^-51, <= 1: exact;
 *   B: + frac(P1.hi), frac(P1.lo) by TwoSums (grid 2^-104), the two low
 *      parts summing exactly (< 2^-52 on grid 2^-104);
 *   C: + frac(P2.hi) by TwoSum, integer removed; the small rest (< 2^-50:
 *      the low parts, P2.lo, P3) summed by TwoSums, the last bits (P3.lo,
 *      P4.hi, < 2^-104) plainly.
 * Where the result y is tiny the large terms have cancelled exactly, so its
 * error is ~2^-106 relative plus 2^-150 absolute; the closest double to a
 * multiple of pi/2 leaves |y| ~ 2^-62.  The integers go to q, mod 4. */
static Reduced reduce_payne_hanek(const Em *e, LLVMValueRef ax, int nb) {
  LLVMValueRef in_bucket[19];
  LLVMValueRef scale = kf(e, 1.0);
  for (int j = 1; j < nb; j++) {
    in_bucket[j] = fcmp(e, LLVMRealOGE, ax, kf(e, ldexp(1.0, 24 + 53 * j)));
    scale = sel(e, in_bucket[j], kf(e, ldexp(1.0, -53 * j)), scale);
  }
  LLVMValueRef xs = ir_fmul(e, ax, scale);
  Dw p[5];
  for (int t = 0; t < 5; t++) {
    LLVMValueRef c = pick_bits(e, in_bucket, nb, t);
    p[t].hi = ir_fmul(e, xs, c);
    p[t].lo = t < 4 ? ir_fma(e, xs, c, ir_fneg(e, p[t].hi)) : NULL;
  }
  LLVMValueRef n = NULL;
  LLVMValueRef fa = ir_fadd(e, take_int(e, p[0].hi, &n, true), take_int(e, p[0].lo, &n, true));
  Dw u = two_sum(e, take_int(e, p[1].hi, &n, true), take_int(e, p[1].lo, &n, false));
  Dw v = two_sum(e, fa, u.hi);
  LLVMValueRef vf = take_int(e, v.hi, &n, false);
  LLVMValueRef w = ir_fadd(e, v.lo, u.lo);
  Dw c = two_sum(e, vf, take_int(e, p[2].hi, &n, false));
  LLVMValueRef cf = take_int(e, c.hi, &n, false);
  Dw s1 = two_sum(e, w, c.lo);
  Dw s2 = two_sum(e, s1.hi, p[2].lo);
  Dw s3 = two_sum(e, s2.hi, p[3].hi);
  LLVMValueRef tail = ir_fadd(e, ir_fadd(e, s1.lo, s2.lo), ir_fadd(e, s3.lo, ir_fadd(e, p[3].lo, p[4].hi)));
  Dw y = two_sum(e, cf, s3.hi);
  y = fast_two_sum(e, y.hi, ir_fadd(e, y.lo, tail));
    /* r = y * pi/2 as a double-word. */
  LLVMValueRef rh = ir_fmul(e, y.hi, kf(e, PIO2_1));
  LLVMValueRef rl = ir_fma(e, y.lo, kf(e, PIO2_1), ir_fmul(e, y.hi, kf(e, PIO2_2)));
  rl = ir_fadd(e, ir_fma(e, y.hi, kf(e, PIO2_1), ir_fneg(e, rh)), rl);
  Reduced rd = {fast_two_sum(e, rh, rl), to_int(e, n)};
  return rd;
}

/* sin(r.hi + r.lo) for |r| <= pi/4: fdlibm's __kernel_sin, S1..S6 its Remez
 * fit of sin(x)/x (|error| < 2^-58), the tail entering as r.lo*cos(r) ~
 * r.lo*(1 - z/2). */
static LLVMValueRef sin_kernel(const Em *e, Dw r) {
  static const double s[5] = {8.33333333332248946124e-03, -1.98412698298579493134e-04, 2.75573137070700676789e-06,
                              -2.50507602534068634195e-08, 1.58969099521155010221e-10};
  LLVMValueRef z = ir_fmul(e, r.hi, r.hi);
  LLVMValueRef v = ir_fmul(e, z, r.hi);
  LLVMValueRef t = ir_fsub(e, ir_fmul(e, kf(e, 0.5), r.lo), ir_fmul(e, v, horner(e, z, s, 5)));
  t = ir_fsub(e, ir_fmul(e, z, t), r.lo);
  return ir_fsub(e, r.hi, ir_fsub(e, t, ir_fmul(e, v, kf(e, -1.66666666666666324348e-01))));
}

/* cos(r.hi + r.lo) for |r| <= pi/4: fdlibm's __kernel_cos (C1..C6 its fit,
 * |error| < 2^-58): 1 - z/2 as w plus its exact rounding error
 * (1 - w) - z/2, then z^2 C(z) - r.hi*r.lo. */
static LLVMValueRef cos_kernel(const Em *e, Dw r) {
  static const double c[6] = {4.16666666666666019037e-02,  -1.38888888888741095749e-03, 2.48015872894767294178e-05,
                              -2.75573143513906633035e-07, 2.08757232129817482790e-09,  -1.13596475577881948265e-11};
  LLVMValueRef z = ir_fmul(e, r.hi, r.hi);
  LLVMValueRef hz = ir_fmul(e, kf(e, 0.5), z);
  LLVMValueRef w = ir_fsub(e, kf(e, 1.0), hz);
  LLVMValueRef zr = ir_fmul(e, ir_fmul(e, z, z), horner(e, z, c, 6));
  LLVMValueRef t = ir_fadd(e, ir_fsub(e, ir_fsub(e, kf(e, 1.0), w), hz), ir_fsub(e, zr, ir_fmul(e, r.hi, r.lo)));
  return ir_fadd(e, w, t);
}

/* For float results (in double, r.lo ignored): musl's __sindf/__cosdf fits,
 * |sin(x)/x - s(x)| < 2^-37.5 and |cos(x) - c(x)| < 2^-34.1 on [-pi/4, pi/4]:
 * at most 2^-9.5 ulp of a float. */
static LLVMValueRef sin_kernel_f32(const Em *e, LLVMValueRef r) {
  static const double s[4] = {-0x15555554cbac77.0p-55, 0x111110896efbb2.0p-59, -0x1a00f9e2cae774.0p-65, 0x16cd878c3b46a7.0p-71};
  LLVMValueRef z = ir_fmul(e, r, r);
  return ir_fma(e, ir_fmul(e, z, r), horner(e, z, s, 4), r);
}

static LLVMValueRef cos_kernel_f32(const Em *e, LLVMValueRef r) {
  static const double c[5] = {1.0, -0x1ffffffd0c5e81.0p-54, 0x155553e1053a42.0p-57, -0x16c087e80f1e27.0p-62, 0x199342e0ee5069.0p-68};
  return horner(e, ir_fmul(e, r, r), c, 5);
}

/* sin or cos of double x (from_f32: x came from a float and the result is
 * narrowed once).  |x| is reduced by Cody-Waite below 2^24 and by
 * Payne-Hanek above (both are computed; each lane selects one), to
 * (q, r); with both kernels evaluated, sin x = [s, c, -s, -c][q mod 4] and
 * cos x = the same at q + 1.  sin is odd: its result gets x's sign bit by
 * xor (sin(-0) = -0).  inf and NaN give NaN.  Clamps keep every lane's
 * integers in range (no poison from fptosi). */
static LLVMValueRef sin_cos(const Em *e, LLVMValueRef x, bool from_f32, bool want_cos) {
  LLVMValueRef ax = ir_fabs(e, x);
  LLVMValueRef a[2] = {ax, kf(e, 0x1p24)};
  Reduced cw = reduce_cody_waite(e, intrinsic(e, "llvm.minnum", a, 2));
  a[1] = kf(e, from_f32 ? 0x1p128 : DBL_MAX);
  Reduced ph = reduce_payne_hanek(e, intrinsic(e, "llvm.minnum", a, 2), from_f32 ? 2 : 19);
  LLVMValueRef big = fcmp(e, LLVMRealOGE, ax, kf(e, 0x1p24));
  Dw r = {sel(e, big, ph.r.hi, cw.r.hi), sel(e, big, ph.r.lo, cw.r.lo)};
  LLVMValueRef q = sel(e, big, ph.q, cw.q);
  if (want_cos) q = iadd(e, q, ki(e, 1));
  LLVMValueRef s = from_f32 ? sin_kernel_f32(e, r.hi) : sin_kernel(e, r);
  LLVMValueRef c = from_f32 ? cos_kernel_f32(e, r.hi) : cos_kernel(e, r);
  LLVMValueRef odd = icmp(e, LLVMIntNE, iand(e, q, ki(e, 1)), ki(e, 0));
  LLVMValueRef flip = ishl(e, iand(e, q, ki(e, 2)), ki(e, 62)); /* sign bit when q & 2 */
  if (!want_cos) flip = LLVMBuildXor(e->b, flip, iand(e, to_bits(e, x), ki(e, INT64_MIN)), "");
  LLVMValueRef res = from_bits(e, LLVMBuildXor(e->b, to_bits(e, sel(e, odd, c, s)), flip, ""));
  return sel(e, fcmp(e, LLVMRealOLT, ax, kf(e, INFINITY)), res, ir_fsub(e, x, x));
}

static LLVMValueRef emit_sin(const Em *e, LLVMValueRef x, bool from_f32) { return sin_cos(e, x, from_f32, false); }
static LLVMValueRef emit_cos(const Em *e, LLVMValueRef x, bool from_f32) { return sin_cos(e, x, from_f32, true); }

/* ---- rsqrt --------------------------------------------------------------- */

/* 1/sqrt(x).  For float, 1/sqrt in double (two roundings of 2^-53 each) and
 * one narrowing: faithful, nearly correctly rounded.  For double, s =
 * sqrt(x) and r = 1/s are corrected once: t = x - s^2 and e = 1 - r*s are
 * exact (fma; s and r are correctly rounded), and 1/sqrt(x) =
 * r*(1 + e)*(1 - t/(2 s^2)) up to terms of 2^-104, so the result is
 * fma(r, e - t*r*r/2, r), rounded once.  x below 2^-900 or above 2^900 is
 * scaled by 2^200 or 2^-200 first (and the result by 2^100 or 2^-100, both
 * exact) so that t and r*r stay normal.  0, inf, NaN and negative x take the
 * plain 1/sqrt(x): +-inf for +-0, +0 for +inf, NaN below 0. */
static LLVMValueRef emit_rsqrt(const Em *e, LLVMValueRef x, bool from_f32) {
  LLVMValueRef r0 = ir_fdiv(e, kf(e, 1.0), intrinsic(e, "llvm.sqrt", &x, 1));
  if (from_f32) return r0;
  LLVMValueRef tiny = fcmp(e, LLVMRealOLT, x, kf(e, 0x1p-900)), huge = fcmp(e, LLVMRealOGT, x, kf(e, 0x1p900));
  LLVMValueRef xs = ir_fmul(e, x, sel(e, tiny, kf(e, 0x1p200), sel(e, huge, kf(e, 0x1p-200), kf(e, 1.0))));
  LLVMValueRef s = intrinsic(e, "llvm.sqrt", &xs, 1);
  LLVMValueRef r = ir_fdiv(e, kf(e, 1.0), s);
  LLVMValueRef t = ir_fma(e, ir_fneg(e, s), s, xs);
  LLVMValueRef err = ir_fma(e, ir_fneg(e, r), s, kf(e, 1.0));
  LLVMValueRef c = ir_fsub(e, err, ir_fmul(e, ir_fmul(e, t, r), ir_fmul(e, r, kf(e, 0.5))));
  LLVMValueRef res = ir_fmul(e, ir_fma(e, r, c, r), sel(e, tiny, kf(e, 0x1p100), sel(e, huge, kf(e, 0x1p-100), kf(e, 1.0))));
  LLVMValueRef ok = bool_and(e, fcmp(e, LLVMRealOGT, x, kf(e, 0.0)), fcmp(e, LLVMRealOLT, x, kf(e, INFINITY)));
  return sel(e, ok, res, r0);
}

/* ---- pow ---------------------------------------------------------------- */

/* c[0] + t*(c[1] + t*(...)) with the last ndw steps in double-word
 * arithmetic and double-word coefficients (hi[i] + lo[i], i < ndw); the
 * coefficients are values (constants, or lanes gathered from a table). */
static Dw horner_dwv(const Em *e, Dw t, const LLVMValueRef *hi, const LLVMValueRef *lo, int n, int ndw) {
  LLVMValueRef p = hi[n - 1];
  int i = n - 2;
  for (; i >= ndw; i--) p = ir_fma(e, t.hi, p, hi[i]);
  Dw r = {p, kf(e, 0.0)};
  for (; i >= 0; i--) {
    LLVMValueRef ph = ir_fmul(e, t.hi, r.hi);
    LLVMValueRef pl = ir_fma(e, t.hi, r.lo, ir_fmul(e, t.lo, r.hi));
    pl = ir_fadd(e, ir_fma(e, t.hi, r.hi, ir_fneg(e, ph)), pl);
    Dw sum = two_sum(e, hi[i], ph);
    r.hi = sum.hi;
    r.lo = ir_fadd(e, sum.lo, ir_fadd(e, pl, lo[i]));
  }
  return r;
}

/* horner_dwv with constant coefficients. */
static Dw horner_dwc(const Em *e, Dw t, const double *hi, const double *lo, int n, int ndw) {
  enum { MAX_TERMS = 64 };
  LLVMValueRef h[MAX_TERMS], l[MAX_TERMS];
  if (n > MAX_TERMS || ndw > n) ice("horner_dwc: %d terms", n);
  for (int i = 0; i < n; i++) h[i] = kf(e, hi[i]);
  for (int i = 0; i < ndw; i++) l[i] = kf(e, lo[i]);
  return horner_dwv(e, t, h, l, n, ndw);
}

/* a*b as a double-word (fma for the product's error, plus the cross terms). */
static Dw dw_mul(const Em *e, Dw a, Dw b) {
  Dw r;
  r.hi = ir_fmul(e, a.hi, b.hi);
  LLVMValueRef cross = ir_fma(e, a.hi, b.lo, ir_fmul(e, a.lo, b.hi));
  r.lo = ir_fadd(e, ir_fma(e, a.hi, b.hi, ir_fneg(e, r.hi)), cross);
  return r;
}

/* log(x) for positive finite double x as a double-word, relative error about
 * 2^-70 (what pow needs: |y*log(x)| up to 745 must be known to ~2^-60).
 * x = 2^k m as in log (subnormals scaled by 2^54 first), f = m - 1 (exact),
 * s = f/(2 + f) as a double-word (2 + f by TwoSum, dw_div_dw), and
 * log(m) = 2 atanh(s) = 2s A(s^2), A(z) = sum z^i/(2i+1) for i <= 12 (the
 * Taylor series: the first omitted term is below 2^-70 for
 * |s| <= 3 - 2 sqrt(2)), its last three Horner steps in double-word with
 * double-word coefficients.  k ln2 = k ln2hi (exact) + k ln2lo. */
static Dw log_dw(const Em *e, LLVMValueRef x) {
  static const double a_hi[13] = {1.0,        1.0 / 3,    1.0 / 5,    1.0 / 7,    1.0 / 9,  1.0 / 11, 1.0 / 13,
                                  1.0 / 15.0, 1.0 / 17.0, 1.0 / 19.0, 1.0 / 21.0, 1.0 / 23, 1.0 / 25};
  static const double a_lo[3] = {0.0, 0x1.5555555555555p-56, -0x1.999999999999ap-57}; /* 1/3, 1/5 - hi */
  LLVMValueRef tiny = fcmp(e, LLVMRealOLT, x, kf(e, 0x1p-1022));
  LLVMValueRef xs = sel(e, tiny, ir_fmul(e, x, kf(e, 0x1p54)), x);
  LLVMValueRef k;
  LLVMValueRef m = from_bits(e, split_mantissa(e, xs, &k));
  LLVMValueRef dk = to_real(e, iadd(e, k, sel(e, tiny, ki(e, -54), ki(e, 0))));
  LLVMValueRef f = ir_fsub(e, m, kf(e, 1.0));
  Dw num = {f, kf(e, 0.0)};
  Dw s = dw_div_dw(e, num, two_sum(e, kf(e, 2.0), f));
  Dw z = dw_mul(e, s, s);
  Dw lm = dw_mul(e, s, horner_dwc(e, z, a_hi, a_lo, 13, 3));
  Dw l = two_sum(e, ir_fmul(e, dk, kf(e, 0x1.62e42feep-1)), ir_fmul(e, lm.hi, kf(e, 2.0)));
  l.lo = ir_fadd(e, l.lo, ir_fma(e, lm.lo, kf(e, 2.0), ir_fmul(e, dk, kf(e, 0x1.a39ef35793c76p-33))));
  return fast_two_sum(e, l.hi, l.lo); /* renormalised: l.hi alone may be k*ln2hi, 32 bits */
}

/* x ** y, faithful: |x|^y = e^(y log|x|) with log|x| = L (log_dw), y*L =
 * p.hi + p.lo (fma; |p.lo| <= 2^-43, so e^p.lo = 1 + p.lo to 2^-87),
 * e^p.hi = (Y.hi + Y.lo) 2^k (exp_parts) and the result
 * 2^k (Y.hi + (Y.lo + Y.hi p.lo)), rounded once before the scaling (so, as
 * exp, subnormal results are rounded twice).  Special cases as C99's pow
 * (Annex F), by select: y = 0 or x = 1 gives 1 (NaN included); other NaN
 * operands give NaN; x = +-0, +-inf or y = +-inf give 0, 1 or inf by
 * whether |x| > 1 and y > 0; a negative x with a non-integer finite y gives
 * NaN; the sign of x shows for odd integer y.  Float computes all of this in
 * double and rounds once. */
static LLVMValueRef emit_pow(const Em *e, LLVMValueRef x, LLVMValueRef y) {
  LLVMValueRef one = kf(e, 1.0), zero = kf(e, 0.0), inf = kf(e, INFINITY);
  LLVMValueRef ax = ir_fabs(e, x), ay = ir_fabs(e, y);
  LLVMValueRef regular =
      bool_and(e, bool_and(e, fcmp(e, LLVMRealOGT, ax, zero), fcmp(e, LLVMRealOLT, ax, inf)), fcmp(e, LLVMRealOLT, ay, inf));
  Dw l = log_dw(e, sel(e, regular, ax, kf(e, 2.0)));
  LLVMValueRef yr = sel(e, regular, y, one);
  LLVMValueRef ph = ir_fmul(e, yr, l.hi);
  LLVMValueRef pl = ir_fma(e, yr, l.lo, ir_fma(e, yr, l.hi, ir_fneg(e, ph)));
  pl = sel(e, fcmp(e, LLVMRealOLT, ir_fabs(e, ph), kf(e, 800.0)), pl, kf(e, 0.0)); /* beyond, 0 or inf anyway */
  ExpParts ep = exp_parts(e, ph);
  LLVMValueRef mag = scale_pow2(e, ir_fadd(e, ep.y.hi, ir_fma(e, ep.y.hi, pl, ep.y.lo)), ep.k);
  LLVMValueRef up = LLVMBuildICmp(e->b, LLVMIntEQ, fcmp(e, LLVMRealOGT, ax, one), fcmp(e, LLVMRealOGT, y, zero), "");
  LLVMValueRef edge = sel(e, fcmp(e, LLVMRealOEQ, ax, one), one, sel(e, up, inf, zero));
  mag = sel(e, regular, mag, edge);
  LLVMValueRef fl = intrinsic(e, "llvm.floor", &y, 1);
  LLVMValueRef is_int = fcmp(e, LLVMRealOEQ, fl, y);
  LLVMValueRef half = ir_fmul(e, y, kf(e, 0.5));
  LLVMValueRef odd = bool_and(e, is_int, fcmp(e, LLVMRealONE, intrinsic(e, "llvm.floor", &half, 1), half));
  LLVMValueRef res = sel(e, odd, ir_copysign(e, mag, x), mag);
  LLVMValueRef neg_finite = bool_and(e, fcmp(e, LLVMRealOLT, x, zero), fcmp(e, LLVMRealOGT, x, ir_fneg(e, inf)));
  res = sel(e, bool_and(e, neg_finite, bool_and(e, fcmp(e, LLVMRealUNE, fl, y), fcmp(e, LLVMRealOLT, ay, inf))), kf(e, NAN), res);
  res = sel(e, bool_or(e, is_nan(e, x), is_nan(e, y)), ir_fadd(e, x, y), res);
  return sel(e, bool_or(e, fcmp(e, LLVMRealOEQ, y, zero), fcmp(e, LLVMRealOEQ, x, one)), one, res);
}

/* ---- entry point ------------------------------------------------------- */

static LLVMValueRef exp_any(const Em *e, LLVMValueRef x) { return e->f64 ? emit_exp(e, x) : emit_exp_f32(e, x); }
static LLVMValueRef erf_any(const Em *e, LLVMValueRef x) { return in_double(e, x, emit_erf); }
static LLVMValueRef erfc_any(const Em *e, LLVMValueRef x) { return in_double(e, x, emit_erfc); }
static LLVMValueRef log1mexp_any(const Em *e, LLVMValueRef x) { return in_double(e, x, emit_log1mexp); }
static LLVMValueRef sin_any(const Em *e, LLVMValueRef x) { return in_double(e, x, emit_sin); }
static LLVMValueRef cos_any(const Em *e, LLVMValueRef x) { return in_double(e, x, emit_cos); }
static LLVMValueRef rsqrt_any(const Em *e, LLVMValueRef x) { return in_double(e, x, emit_rsqrt); }

/* The pieces vecmath_gamma.c builds on (vecmath_impl.h). */
Dw cg_vm_log_dw(const Em *e, LLVMValueRef x) { return log_dw(e, x); }
Dw cg_vm_dw_div_dw(const Em *e, Dw n, Dw d) { return dw_div_dw(e, n, d); }
Dw cg_vm_dw_mul(const Em *e, Dw a, Dw b) { return dw_mul(e, a, b); }
Dw cg_vm_horner_dwc(const Em *e, Dw t, const double *hi, const double *lo, int n, int ndw) { return horner_dwc(e, t, hi, lo, n, ndw); }
Dw cg_vm_horner_dwv(const Em *e, Dw t, const LLVMValueRef *hi, const LLVMValueRef *lo, int n, int ndw) {
  return horner_dwv(e, t, hi, lo, n, ndw);
}
Em cg_vm_em_double(const Em *e) { return em_double(e); }

/* The one list of what this file implements, keyed by op: scalar.c sends an
 * op here exactly when its row is set, and the tests walk the same table. */
typedef LLVMValueRef (*MathFn)(const Em *e, LLVMValueRef x);
static const MathFn math_fns[OP_COUNT] = {
    [OP_EXP] = exp_any,
    [OP_LOG] = emit_log,
    [OP_TANH] = emit_tanh,
    [OP_SIGMOID] = emit_sigmoid,
    [OP_EXPM1] = emit_expm1,
    [OP_LOG1P] = emit_log1p,
    [OP_ERF] = erf_any,
    [OP_ERFC] = erfc_any,
    [OP_LOG1MEXP] = log1mexp_any,
    [OP_SIN] = sin_any,
    [OP_COS] = cos_any,
    [OP_RSQRT] = rsqrt_any,
    /* vecmath_gamma.c */
    [OP_LGAMMA] = cg_vm_lgamma,
    [OP_DIGAMMA] = cg_vm_digamma,
    [OP_TRIGAMMA] = cg_vm_trigamma,
    [OP_TETRAGAMMA] = cg_vm_tetragamma,
};

bool cg_math_has(Op op) { return op >= 0 && op < OP_COUNT && math_fns[op]; }

/* The binary ones, likewise keyed by op. */
typedef LLVMValueRef (*MathFn2)(const Em *e, LLVMValueRef x, LLVMValueRef y);
static const MathFn2 math_fns2[OP_COUNT] = {[OP_POW] = emit_pow, [OP_MOD] = cg_vm_mod /* floats; vecmath_mod.c */};

bool cg_math2_has(Op op) { return op >= 0 && op < OP_COUNT && math_fns2[op]; }

/* A float x and y are widened to double (exact), and the result narrowed
 * once (pow's float case). */
LLVMValueRef cg_math2(LLVMBuilderRef b, Op op, LLVMValueRef x, LLVMValueRef y) {
  if (!cg_math2_has(op)) ice("no vector implementation of %s", op_info[op].name);
  Em e = em_for(b, x);
  if (e.f64) return math_fns2[op](&e, x, y);
  Em d = em_double(&e);
  d.from_f32 = true;
  LLVMValueRef r = math_fns2[op](&d, LLVMBuildFPExt(b, x, d.fty, ""), LLVMBuildFPExt(b, y, d.fty, ""));
  return LLVMBuildFPTrunc(b, r, e.fty, "");
}

LLVMValueRef cg_math(LLVMBuilderRef b, Op op, LLVMValueRef x) {
  if (!cg_math_has(op)) ice("no vector implementation of %s", op_info[op].name);
  Em e = em_for(b, x);
  return math_fns[op](&e, x);
}
