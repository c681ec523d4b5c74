/* vecmath.c — exp/log/tanh/sigmoid/expm1/log1p as inline LLVM IR.
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
 * The algorithms are the classic fdlibm/musl ones (exp, log, expm1, log1p:
 * their structure and coefficients), rewritten without branches; f32 is
 * computed in f32 (musl's *f variants) so that vectors stay 16 lanes wide on
 * AVX-512.  lang/math.md documents each function and the measured accuracy;
 * tests/unit/test_vecmath.c measures it. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "codegen.h"

const char *const cg_math_names[CG_MATH_COUNT] = {"exp", "log", "tanh", "sigmoid", "expm1", "log1p"};

/* ---- constants ---------------------------------------------------------- */

/* A splat of `scalar` to the vector type vty.  LLVM 19's C API has no splat
 * constructor, so this uses a throw-away builder with no insertion point:
 * IRBuilder folds insertelement/shufflevector of constants into a constant,
 * which needs no lane array whatever the width. */
static LLVMValueRef splat_constant(LLVMTypeRef vty, LLVMValueRef scalar)
{
    LLVMContextRef ctx = LLVMGetTypeContext(vty);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
    LLVMBuilderRef tb = LLVMCreateBuilderInContext(ctx);
    LLVMValueRef one = LLVMBuildInsertElement(tb, LLVMGetPoison(vty), scalar, LLVMConstInt(i32, 0, 0), "");
    LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(i32, LLVMGetVectorSize(vty)));
    LLVMValueRef v = LLVMBuildShuffleVector(tb, one, LLVMGetPoison(vty), zeros, "");
    LLVMDisposeBuilder(tb);
    return v;
}

LLVMValueRef cg_const_real(LLVMTypeRef ty, double v)
{
    if (LLVMGetTypeKind(ty) == LLVMVectorTypeKind)
        return splat_constant(ty, LLVMConstReal(LLVMGetElementType(ty), v));
    return LLVMConstReal(ty, v);
}

LLVMValueRef cg_const_int(LLVMTypeRef ty, long long v)
{
    if (LLVMGetTypeKind(ty) == LLVMVectorTypeKind)
        return splat_constant(ty, LLVMConstInt(LLVMGetElementType(ty), (unsigned long long)v, 1));
    return LLVMConstInt(ty, (unsigned long long)v, 1);
}

/* ---- the emission context and one-line IR helpers ----------------------- */

/* What every helper needs: the builder, the module (for intrinsic
 * declarations), x's type and the integer type of the same shape whose
 * elements have the float's width (i32 for float, i64 for double). */
typedef struct Em {
    LLVMBuilderRef b;
    LLVMModuleRef mod;
    LLVMTypeRef fty;
    LLVMTypeRef ity;
    bool f64;
} Em;

static Em em_for(LLVMBuilderRef b, LLVMValueRef x)
{
    Em e;
    LLVMTypeRef ty = LLVMTypeOf(x);
    LLVMContextRef ctx = LLVMGetTypeContext(ty);
    bool vec = LLVMGetTypeKind(ty) == LLVMVectorTypeKind;
    LLVMTypeRef elem = vec ? LLVMGetElementType(ty) : ty;
    e.b = b;
    e.mod = LLVMGetGlobalParent(LLVMGetBasicBlockParent(LLVMGetInsertBlock(b)));
    e.fty = ty;
    e.f64 = LLVMGetTypeKind(elem) == LLVMDoubleTypeKind;
    LLVMTypeRef ielem = LLVMIntTypeInContext(ctx, e.f64 ? 64 : 32);
    e.ity = vec ? LLVMVectorType(ielem, LLVMGetVectorSize(ty)) : ielem;
    return e;
}

static LLVMValueRef kf(const Em *e, double v) { return cg_const_real(e->fty, v); }
static LLVMValueRef ki(const Em *e, long long v) { return cg_const_int(e->ity, v); }
/* The constant for dtype: `d` when computing in double, `f` in float. */
static LLVMValueRef kdf(const Em *e, double d, float f) { return kf(e, e->f64 ? d : (double)f); }

static LLVMValueRef ir_fadd(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildFAdd(e->b, a, c, ""); }
static LLVMValueRef ir_fsub(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildFSub(e->b, a, c, ""); }
static LLVMValueRef ir_fmul(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildFMul(e->b, a, c, ""); }
static LLVMValueRef ir_fdiv(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildFDiv(e->b, a, c, ""); }
static LLVMValueRef ir_fneg(const Em *e, LLVMValueRef a) { return LLVMBuildFNeg(e->b, a, ""); }
static LLVMValueRef iadd(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildAdd(e->b, a, c, ""); }
static LLVMValueRef isub(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildSub(e->b, a, c, ""); }
static LLVMValueRef iand(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildAnd(e->b, a, c, ""); }
static LLVMValueRef ishl(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildShl(e->b, a, c, ""); }
static LLVMValueRef ilshr(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildLShr(e->b, a, c, ""); }
static LLVMValueRef iashr(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildAShr(e->b, a, c, ""); }
static LLVMValueRef sel(const Em *e, LLVMValueRef c, LLVMValueRef t, LLVMValueRef f) { return LLVMBuildSelect(e->b, c, t, f, ""); }
static LLVMValueRef bool_or(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildOr(e->b, a, c, ""); }
static LLVMValueRef bool_and(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildAnd(e->b, a, c, ""); }
static LLVMValueRef fcmp(const Em *e, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildFCmp(e->b, p, a, c, ""); }
static LLVMValueRef icmp(const Em *e, LLVMIntPredicate p, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildICmp(e->b, p, a, c, ""); }
static LLVMValueRef is_nan(const Em *e, LLVMValueRef a) { return fcmp(e, LLVMRealUNO, a, a); }
static LLVMValueRef to_bits(const Em *e, LLVMValueRef a) { return LLVMBuildBitCast(e->b, a, e->ity, ""); }
static LLVMValueRef from_bits(const Em *e, LLVMValueRef a) { return LLVMBuildBitCast(e->b, a, e->fty, ""); }
static LLVMValueRef to_int(const Em *e, LLVMValueRef a) { return LLVMBuildFPToSI(e->b, a, e->ity, ""); }
static LLVMValueRef to_real(const Em *e, LLVMValueRef a) { return LLVMBuildSIToFP(e->b, a, e->fty, ""); }

/* A call to the overloaded intrinsic `name` instantiated at x's type. */
static LLVMValueRef intrinsic(const Em *e, const char *name, LLVMValueRef *args, unsigned nargs)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMTypeRef overload = e->fty;
    LLVMTypeRef fn_ty = LLVMIntrinsicGetType(LLVMGetTypeContext(overload), id, &overload, 1);
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(e->mod, id, &overload, 1);
    return LLVMBuildCall2(e->b, fn_ty, fn, args, nargs, "");
}

static LLVMValueRef ir_fma(const Em *e, LLVMValueRef a, LLVMValueRef c, LLVMValueRef d)
{
    LLVMValueRef args[3] = {a, c, d};
    return intrinsic(e, "llvm.fma", args, 3);
}
static LLVMValueRef ir_fabs(const Em *e, LLVMValueRef a) { return intrinsic(e, "llvm.fabs", &a, 1); }
static LLVMValueRef ir_roundeven(const Em *e, LLVMValueRef a) { return intrinsic(e, "llvm.roundeven", &a, 1); }
static LLVMValueRef ir_copysign(const Em *e, LLVMValueRef mag, LLVMValueRef sgn)
{
    LLVMValueRef args[2] = {mag, sgn};
    return intrinsic(e, "llvm.copysign", args, 2);
}
/* x limited to [lo, hi]; NaN becomes a number (callers select NaN back). */
static LLVMValueRef clamp(const Em *e, LLVMValueRef x, double lo, double hi)
{
    LLVMValueRef a[2] = {x, kf(e, hi)};
    LLVMValueRef m = intrinsic(e, "llvm.minnum", a, 2);
    LLVMValueRef c[2] = {m, kf(e, lo)};
    return intrinsic(e, "llvm.maxnum", c, 2);
}

/* Horner's rule with fma: c[0] + t*(c[1] + t*(... + t*c[n-1])). */
static LLVMValueRef horner(const Em *e, LLVMValueRef t, const double *c, int n)
{
    LLVMValueRef p = kf(e, c[n - 1]);
    for (int i = n - 2; i >= 0; i--)
        p = ir_fma(e, t, p, kf(e, c[i]));
    return p;
}

/* ---- float format facts ------------------------------------------------- */

static int mant_bits(const Em *e) { return e->f64 ? 52 : 23; }
static int exp_bias(const Em *e) { return e->f64 ? 1023 : 127; }

/* 2^k for integer k in the normal exponent range, built from its bits. */
static LLVMValueRef pow2_int(const Em *e, LLVMValueRef k)
{
    return from_bits(e, ishl(e, iadd(e, k, ki(e, exp_bias(e))), ki(e, mant_bits(e))));
}

/* y * 2^k in two exact factors 2^(k>>1) and 2^(k-(k>>1)), so that k up to
 * twice the exponent range works: results that overflow become inf, and
 * results in the subnormal range are rounded once, by the last multiply. */
static LLVMValueRef scale_pow2(const Em *e, LLVMValueRef y, LLVMValueRef k)
{
    LLVMValueRef k1 = iashr(e, k, ki(e, 1));
    LLVMValueRef k2 = isub(e, k, k1);
    return ir_fmul(e, ir_fmul(e, y, pow2_int(e, k1)), pow2_int(e, k2));
}

/* ---- double-word arithmetic ------------------------------------------ */

/* A value hi + lo with |lo| about ulp(hi) or less: twice the working precision,
 * used where a result feeds a subtraction or division that would otherwise
 * amplify its rounding error (exp's last step, tanh, sigmoid). */
typedef struct Dw {
    LLVMValueRef hi, lo;
} Dw;

/* a + b exactly as a double-word, any magnitudes (Knuth's TwoSum). */
static Dw two_sum(const Em *e, LLVMValueRef a, LLVMValueRef b)
{
    Dw s;
    s.hi = ir_fadd(e, a, b);
    LLVMValueRef bb = ir_fsub(e, s.hi, a);
    s.lo = ir_fadd(e, ir_fsub(e, a, ir_fsub(e, s.hi, bb)), ir_fsub(e, b, bb));
    return s;
}

/* a + (b.hi + b.lo) for |a| >= |b.hi| (Dekker's Fast2Sum, then lo added). */
static Dw fast_add_dw(const Em *e, LLVMValueRef a, Dw b)
{
    Dw s;
    s.hi = ir_fadd(e, a, b.hi);
    s.lo = ir_fadd(e, ir_fadd(e, ir_fsub(e, a, s.hi), b.hi), b.lo);
    return s;
}

static Dw dw_neg(const Em *e, Dw a)
{
    Dw n = {ir_fneg(e, a.hi), ir_fneg(e, a.lo)};
    return n;
}

/* n/d for double-words, rounded once at the end (error ~0.5 ulp + 2^-2p
 * relative): q0 = n.hi*(1/d.hi), its exact remainder by fma, one Newton-style
 * correction.  One division.  d.hi must be finite and nonzero. */
static LLVMValueRef dw_div(const Em *e, Dw n, Dw d)
{
    LLVMValueRef inv = ir_fdiv(e, kf(e, 1.0), d.hi);
    LLVMValueRef q0 = ir_fmul(e, n.hi, inv);
    LLVMValueRef rem = ir_fma(e, ir_fneg(e, q0), d.hi, n.hi);
    rem = ir_fma(e, ir_fneg(e, q0), d.lo, ir_fadd(e, rem, n.lo));
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

static ExpParts exp_parts(const Em *e, LLVMValueRef x)
{
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
static Dw exp_dw(const Em *e, LLVMValueRef x)
{
    ExpParts ep = exp_parts(e, x);
    Dw t = {scale_pow2(e, ep.y.hi, ep.k), scale_pow2(e, ep.y.lo, ep.k)};
    return t;
}

/* exp(x): y rounded once to working precision, then scaled by 2^k in two
 * factors, so overflow gives +inf, and subnormal results are rounded once
 * more (gradual underflow).  exp(+-0) = 1 exactly, exp(-inf) = +0. */
static LLVMValueRef emit_exp(const Em *e, LLVMValueRef x)
{
    ExpParts ep = exp_parts(e, x);
    LLVMValueRef res = scale_pow2(e, ir_fadd(e, ep.y.hi, ep.y.lo), ep.k);
    return sel(e, is_nan(e, x), x, res);
}

/* ---- log and log1p: the shared kernel ----------------------------------- */

/* log(1+f) + k*ln2 given f in [sqrt(1/2)-1, sqrt(2)-1), the integer k (as a
 * float) and a correction c ~ log(1+x) - log(u) (0 for log): fdlibm e_log.c /
 * musl logf.c.  s = f/(2+f), log(1+f) = f - hfsq + s*(hfsq + R(s^2)) with
 * hfsq = f^2/2 and R an odd-series Remez fit (|error| < 2^-58.45 for double,
 * 2^-34.24 for float), evaluated as two interleaved polynomials in s^4. */
static LLVMValueRef log_kernel(const Em *e, LLVMValueRef f, LLVMValueRef dk, LLVMValueRef c)
{
    static const double lgd_odd[4] = {6.666666666666735130e-01, 2.857142874366239149e-01, 1.818357216161805012e-01,
                                      1.479819860511658591e-01};
    static const double lgd_even[3] = {3.999999999940941908e-01, 2.222219843214978396e-01, 1.531383769920937332e-01};
    static const double lgf_odd[2] = {0x1.555554p-1f /* 0xaaaaaa.0p-24 */, 0x1.23d3dcp-2f /* 0x91e9ee.0p-25 */};
    static const double lgf_even[2] = {0x1.999c26p-2f /* 0xccce13.0p-25 */, 0x1.f13c4cp-3f /* 0xf89e26.0p-26 */};
    LLVMValueRef hfsq = ir_fmul(e, ir_fmul(e, kf(e, 0.5), f), f);
    LLVMValueRef s = ir_fdiv(e, f, ir_fadd(e, kf(e, 2.0), f));
    LLVMValueRef z = ir_fmul(e, s, s);
    LLVMValueRef w = ir_fmul(e, z, z);
    LLVMValueRef t1 = ir_fmul(e, w, e->f64 ? horner(e, w, lgd_even, 3) : horner(e, w, lgf_even, 2));
    LLVMValueRef t2 = ir_fmul(e, z, e->f64 ? horner(e, w, lgd_odd, 4) : horner(e, w, lgf_odd, 2));
    LLVMValueRef rr = ir_fadd(e, t2, t1);
    LLVMValueRef ln2lo = ir_fmul(e, dk, kdf(e, 0x1.a39ef35793c76p-33, 0x1.2fefa2p-17f));
    LLVMValueRef ln2hi = ir_fmul(e, dk, kdf(e, 0x1.62e42feep-1, 0x1.62e3p-1f));
    /* s*(hfsq+R) + (dk*ln2_lo + c) - hfsq + f + dk*ln2_hi, left to right. */
    LLVMValueRef acc = ir_fadd(e, ir_fmul(e, s, ir_fadd(e, hfsq, rr)), ir_fadd(e, ln2lo, c));
    return ir_fadd(e, ir_fadd(e, ir_fsub(e, acc, hfsq), f), ln2hi);
}

/* Splits positive normal `v` as 2^k * m with m in [sqrt(1/2), sqrt(2)):
 * adding 1-sqrt(1/2) in the exponent field carries into the exponent exactly
 * when the mantissa is >= sqrt(2) (fdlibm's trick).  Returns m's bits and
 * sets *k to the unbiased k (as an integer). */
static LLVMValueRef split_mantissa(const Em *e, LLVMValueRef v, LLVMValueRef *k)
{
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
static LLVMValueRef emit_log(const Em *e, LLVMValueRef x)
{
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
static LLVMValueRef emit_log1p(const Em *e, LLVMValueRef x)
{
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
static Expm1Parts expm1_core(const Em *e, LLVMValueRef r, LLVMValueRef c)
{
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
static LLVMValueRef expm1_scaled(const Em *e, Expm1Parts p, LLVMValueRef k)
{
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
static LLVMValueRef emit_expm1(const Em *e, LLVMValueRef x)
{
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
static LLVMValueRef tanh_small(const Em *e, LLVMValueRef ax)
{
    static const double pd[12] = {-0x1.5555555555555p-2, 0x1.11111111110a8p-3,  -0x1.ba1ba1ba0f126p-5,
                                  0x1.664f487e0a749p-6,  -0x1.226e3473dce5cp-7, 0x1.d6d39ae3905e2p-9,
                                  -0x1.7d9f6f23e8682p-10, 0x1.3526e9ed54da1p-11, -0x1.f243823c8c981p-13,
                                  0x1.8445870f6fe41p-14, -0x1.05bbdae896297p-15, 0x1.b33642a122cddp-18};
    static const double pf[6] = {-0x1.555556p-2, 0x1.1110eap-3,   -0x1.ba08c4p-5,
                                 0x1.64a976p-6,  -0x1.116a16p-7, 0x1.2c83cp-9};
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
static LLVMValueRef emit_tanh(const Em *e, LLVMValueRef x)
{
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
static LLVMValueRef emit_sigmoid(const Em *e, LLVMValueRef x)
{
    Dw t = exp_dw(e, ir_fneg(e, ir_fabs(e, x)));
    LLVMValueRef neg = fcmp(e, LLVMRealOLT, x, kf(e, 0.0));
    Dw num = {sel(e, neg, t.hi, kf(e, 1.0)), sel(e, neg, t.lo, kf(e, 0.0))};
    LLVMValueRef r = dw_div(e, num, fast_add_dw(e, kf(e, 1.0), t));
    return sel(e, is_nan(e, x), x, r);
}

/* ---- entry point ------------------------------------------------------- */

LLVMValueRef cg_math(LLVMBuilderRef b, CgMathFn fn, LLVMValueRef x)
{
    Em e = em_for(b, x);
    switch (fn) {
    case CG_EXP: return emit_exp(&e, x);
    case CG_LOG: return emit_log(&e, x);
    case CG_TANH: return emit_tanh(&e, x);
    case CG_SIGMOID: return emit_sigmoid(&e, x);
    case CG_EXPM1: return emit_expm1(&e, x);
    case CG_LOG1P: return emit_log1p(&e, x);
    case CG_MATH_COUNT: break;
    }
    return NULL;
}
