/* vecmath_gamma.c — lgamma, digamma, trigamma and tetragamma as inline LLVM IR: rows of
 * vecmath.c's math_fns table, built on its double-word log and division
 * (vecmath_impl.h).
 *
 * Like the rest of vecmath: straight-line IR, selects instead of branches,
 * no calls but single-instruction intrinsics (fma, fabs, floor, roundeven),
 * no fast-math flags.  Everything is computed in double-word arithmetic on
 * double and rounded once at the end; float is widened, computed in double
 * and narrowed once.  For a = |x| > 0 (lang/math.md has the full story):
 *   - shift: y = a + n with n = 8 - floor(a) for a < 8 (so y in [8, 9)),
 *     using lgamma(a) = lgamma(y) - log(a (a+1) ... (a+n-1)),
 *     psi(a) = psi(y) - sum 1/(a+k), psi1(a) = psi1(y) + sum 1/(a+k)^2,
 *     psi2(a) = psi2(y + 1) - 2 sum 1/(a+k)^3 (k <= n),
 *     each a + k exact as a TwoSum, the product and the sums double-words;
 *   - the asymptotic (Stirling) series at y >= 8, its leading terms in
 *     double-word and the Bernoulli tail in double;
 *   - where the result is near a zero the shift would cancel: Taylor series
 *     of lgamma at 1 and 2 (|a - 1|, |a - 2| <= 1/4, t = a - 1 exact) and of
 *     psi at its positive zero x0 (|a - x0| <= 1/4, t = a - x0 a double-word),
 *     their first four Horner steps in double-word.
 * Negative non-integer x uses the reflection formulas with sin(pi x) and
 * cos(pi x) from x = q/2 + r (q = roundeven(2x), r exact, |r| <= 1/4) and
 * Taylor polynomials of sin(pi r)/r and cos(pi r) (double-word):
 *   lgamma(x) = log(pi) - log|x sin(pi x)| - lgamma(-x)
 *   psi(x)    = psi(-x) - 1/x - pi cot(pi x)
 *   psi1(x)   = pi^2 / sin^2(pi x) - psi1(-x) + 1/x^2
 *   psi2(x)   = psi2(-x) - 2/x^3 - 2 pi^3 cot(pi x) / sin^2(pi x)
 * Near the zeros of lgamma, psi and psi2 on the negative axis these cancel, and
 * the double-word log (relative error 2^-70) bounds the absolute error: see
 * lang/math.md for what that costs.  Coefficients: tests/unit/gamma_coefs.py
 * (mpmath). */
#include <math.h>

#include "vecmath_impl.h"

/* ---- coefficients (tests/unit/gamma_coefs.py) --------------------------- */

static const double lg1_hi[30] = {
    -0x1.2788cfc6fb619p-1, 0x1.a51a6625307d3p-1, -0x1.9a4d55beab2d7p-2, 0x1.151322ac7d848p-2, -0x1.a8b9c17aa6149p-3, 0x1.5b40cb100c306p-3,
    -0x1.2703a1dcea3aep-3, 0x1.010b36af86397p-3, -0x1.c806706d57db4p-4, 0x1.9a01e385d5f8fp-4, -0x1.748c33114c6d6p-4, 0x1.556ad63243bc4p-4,
    -0x1.3b1d971fc5985p-4, 0x1.2496df8320c5fp-4, -0x1.11133476e7fe0p-4, 0x1.00010064cdeb2p-4, -0x1.e1e2d311e8abdp-5, 0x1.c71ce3a20b419p-5,
    -0x1.af28a1b5688a0p-5, 0x1.9999b3352d5bap-5, -0x1.86186db77bfbfp-5, 0x1.745d1d1778df9p-5, -0x1.642c88591b66dp-5, 0x1.555556aaafdcdp-5,
    -0x1.47ae151eb9fb7p-5, 0x1.3b13b189d925ep-5, -0x1.2f684c00002bcp-5, 0x1.24924936db7bcp-5, -0x1.1a7b961a7b9aap-5, 0x1.111111155556dp-5};
static const double lg1_lo[4] = {0x1.6cb90701fbfabp-58, 0x1.1873d8912200cp-56, 0x1.4c26d1b465993p-59, 0x1.b5f91211196e5p-57};
static const double lg2_hi[20] = {0x1.b0ee6072093cep-2,   0x1.4a34cc4a60fa6p-2,  -0x1.13e001a557607p-4,  0x1.51322ac7d8483p-6,
                                  -0x1.e404fc218f5f2p-8,  0x1.7add6eadb6c30p-9,  -0x1.38ac5c2bf8e08p-10, 0x1.0b36af86396e9p-11,
                                  -0x1.d3fd4c76d2fc8p-13, 0x1.a127b0f17d65ap-14, -0x1.78de5bd7c81efp-15, 0x1.580dcee66eb02p-16,
                                  -0x1.3cbc963ce2243p-17, 0x1.2597a39f34aacp-18, -0x1.11b2eb7679541p-19, 0x1.0064cdeb22f0fp-20,
                                  -0x1.e2600d93cfd2fp-22, 0x1.c76bbb3f07a4dp-23, -0x1.af5a6cbbf8a97p-24, 0x1.99b93c2070b0fp-25};
static const double lg2_lo[4] = {0x1.6cb90701fbfabp-58, 0x1.1873d8912200cp-56, 0x1.fb68be2f8821fp-58, 0x1.afc89088cb729p-60};
static const double psi_x0[2] = {0x1.762d86356be3fp+0, 0x1.b86a722197829p-54};
static const double psi0_hi[25] = {
    0x1.ef72bc8ee38acp-1,   -0x1.c563b54aa1a35p-2,  0x1.08b4294d50381p-2,   -0x1.4fc1317257da8p-3,  0x1.b9a5b6370f3abp-4,
    -0x1.27baba261cc2cp-4,  0x1.8fce02b239ca7p-5,   -0x1.0fa7ec36a7d8fp-5,  0x1.723d6807edcc0p-6,   -0x1.f970508e1b6a2p-7,
    0x1.5955caaa962f3p-7,   -0x1.d828079282eb8p-8,  0x1.42e1acf81d8dcp-8,   -0x1.b9afc7cee8a14p-9,  0x1.2e23345f79aafp-9,
    -0x1.9d626f71d1f7ap-10, 0x1.1acebbd761089p-10,  -0x1.82f6345c65b35p-11, 0x1.08bdae1a261d4p-11,  -0x1.6a3fddea11304p-12,
    0x1.efacab6fb8985p-13,  -0x1.531f5dc5eb563p-13, 0x1.d0080f810fab5p-14,  -0x1.3d7972688af67p-14, 0x1.b2691182c5c34p-15};
static const double psi0_lo[4] = {-0x1.3879eb97bf58dp-55, -0x1.c760306906dfep-56, -0x1.14c9424b7ffe7p-56, -0x1.86b1cc35dbc77p-58};
static const double sinpi_hi[10] = {0x1.921fb54442d18p+1,  -0x1.4abbce625be53p+2, 0x1.466bc6775aae2p+1,  -0x1.32d2cce62bd86p-1,
                                    0x1.50783487ee782p-4,  -0x1.e3074fde8871fp-8, 0x1.e8f434d018d63p-12, -0x1.6fadb9f155744p-16,
                                    0x1.aaec32af93359p-21, -0x1.8a404211f9547p-26};
static const double sinpi_lo[3] = {0x1.1a62633145c07p-53, 0x1.05511c68476a8p-52, -0x1.6dc0cbddb0fc3p-54};
static const double cospi_hi[10] = {0x1.0000000000000p+0,  -0x1.3bd3cc9be45dep+2, 0x1.03c1f081b5ac4p+2,  -0x1.55d3c7e3cbffap+0,
                                    0x1.e1f506891babbp-3,  -0x1.a6d1f2a204a8cp-6, 0x1.f9d38a3763cc3p-10, -0x1.b6e24f44b128fp-14,
                                    0x1.20c62c2f2d7f5p-18, -0x1.2a0c591af8314p-23};
static const double cospi_lo[3] = {0x0.0p+0, -0x1.692b71366cc04p-52, -0x1.32b33f87fc145p-52};
static const double stirling[13] = {0x1.5555555555555p-4,  -0x1.6c16c16c16c17p-9,  0x1.a01a01a01a01ap-11, -0x1.3813813813814p-11,
                                    0x1.b951e2b18ff23p-11, -0x1.f6ab0d9993c7dp-10, 0x1.a41a41a41a41ap-8,  -0x1.e4286cb0f5398p-6,
                                    0x1.6fe96381e0680p-3,  -0x1.6476701181f3ap+0,  0x1.ace44322ce006p+3,  -0x1.39b2525cccc1bp+7,
                                    0x1.12234e81b4e82p+11};
static const double psi_asym[15] = {0x1.5555555555555p-4,  -0x1.1111111111111p-7,  0x1.0410410410410p-8, -0x1.1111111111111p-8,
                                    0x1.f07c1f07c1f08p-8,  -0x1.5995995995996p-6,  0x1.5555555555555p-4, -0x1.c5e5e5e5e5e5ep-2,
                                    0x1.86e7f9b9fe6e8p+1,  -0x1.a74ca514ca515p+4,  0x1.1975cc0ed7304p+8, -0x1.c2f0566566566p+11,
                                    0x1.ac572aaaaaaabp+15, -0x1.dc0b1a5cfbe16p+19, 0x1.31fad7cbf3c00p+24};
static const double psi1_asym[17] = {0x1.5555555555555p-3,  -0x1.1111111111111p-5,  0x1.8618618618618p-6,  -0x1.1111111111111p-5,
                                     0x1.364d9364d9365p-4,  -0x1.0330330330330p-2,  0x1.2aaaaaaaaaaabp+0,  -0x1.c5e5e5e5e5e5ep+2,
                                     0x1.b7c4f8f13e3c5p+5,  -0x1.088fe72cfe72dp+9,  0x1.8301f89467e25p+12, -0x1.523440cc0cc0dp+16,
                                     0x1.5c06d2aaaaaabp+20, -0x1.a089b7115c654p+24, 0x1.1edb2a4f34840p+29, -0x1.c280563b8bcbdp+33,
                                     0x1.901c1cddd4aabp+38};
static const double half_log_2pi[2] = {0x1.d67f1c864beb5p-1, -0x1.65b5a1b7ff5dfp-55};
static const double log_pi[2] = {0x1.250d048e7a1bdp+0, 0x1.7abf2ad8d5088p-57};
static const double pi[2] = {0x1.921fb54442d18p+1, 0x1.1a62633145c07p-53};
static const double psi2_asym[16] = {0x1.0000000000000p-1,  -0x1.5555555555555p-3,  0x1.5555555555555p-3,  -0x1.3333333333333p-2,
                                     0x1.aaaaaaaaaaaabp-1,  -0x1.a52e52e52e52ep+1,  0x1.1800000000000p+4,  -0x1.e244444444444p+6,
                                     0x1.051cf3cf3cf3dp+10, -0x1.5b3cdf6b0df6bp+13, 0x1.16296aaaaaaabp+17, -0x1.0838d29f69f6ap+21,
                                     0x1.25a5c1c000000p+25, -0x1.797ccde7bbbbcp+29, 0x1.15e450fcbadfep+34, -0x1.d09458ed682a3p+38};
static const double two_pi3[2] = {0x1.f019b59389d7cp+5, 0x1.e019558e5380dp-51};
static const double pi2[2] = {0x1.3bd3cc9be45dep+3, 0x1.692b71366cc04p-51};
static const double euler[2] = {0x1.2788cfc6fb619p-1, -0x1.6cb90701fbfabp-58};

enum { GAMMA_SHIFT = 8 }; /* y = a + n >= 8: where the asymptotic series above suffice */

/* ---- double-word helpers ------------------------------------------------ */

static Dw dwk(const Em *e, const double c[2]) { return (Dw){kf(e, c[0]), kf(e, c[1])}; }
static Dw dw1(const Em *e, LLVMValueRef x) { return (Dw){x, kf(e, 0.0)}; }
static Dw dwneg(const Em *e, Dw a) { return (Dw){ir_fneg(e, a.hi), ir_fneg(e, a.lo)}; }
static Dw dwsel(const Em *e, LLVMValueRef c, Dw a, Dw b) { return (Dw){sel(e, c, a.hi, b.hi), sel(e, c, a.lo, b.lo)}; }
static Dw dwscale(const Em *e, Dw a, double s) { return (Dw){ir_fmul(e, a.hi, kf(e, s)), ir_fmul(e, a.lo, kf(e, s))}; } /* s = 2^k */

/* a + b, error ~2^-104 of the larger. */
static Dw dwadd(const Em *e, Dw a, Dw b) {
  Dw s = two_sum(e, a.hi, b.hi);
  return fast_two_sum(e, s.hi, ir_fadd(e, s.lo, ir_fadd(e, a.lo, b.lo)));
}
static Dw dwsub(const Em *e, Dw a, Dw b) { return dwadd(e, a, dwneg(e, b)); }
static Dw dwrecip(const Em *e, Dw d) { return cg_vm_dw_div_dw(e, dw1(e, kf(e, 1.0)), d); }

/* log(v.hi + v.lo) = log(v.hi) + v.lo/v.hi, v positive. */
static Dw dwlog(const Em *e, Dw v) {
  Dw l = cg_vm_log_dw(e, v.hi);
  return two_sum(e, l.hi, ir_fadd(e, l.lo, ir_fdiv(e, v.lo, v.hi)));
}

/* hi + lo rounded once; an infinite hi (overflow) stays (its lo is NaN). */
static LLVMValueRef dwround(const Em *e, Dw v) {
  return sel(e, fcmp(e, LLVMRealOEQ, ir_fabs(e, v.hi), kf(e, INFINITY)), v.hi, ir_fadd(e, v.hi, v.lo));
}

static LLVMValueRef ir_floor(const Em *e, LLVMValueRef a) { return intrinsic(e, "llvm.floor", &a, 1); }
static LLVMValueRef lt(const Em *e, LLVMValueRef a, double c) { return fcmp(e, LLVMRealOLT, a, kf(e, c)); }
static LLVMValueRef eq(const Em *e, LLVMValueRef a, double c) { return fcmp(e, LLVMRealOEQ, a, kf(e, c)); }
/* |a - c| <= r */
static LLVMValueRef near(const Em *e, LLVMValueRef a, double c, double r) {
  return fcmp(e, LLVMRealOLE, ir_fabs(e, ir_fsub(e, a, kf(e, c))), kf(e, r));
}

/* w * (c[0] + c[1] z + ... + c[n-1] z^(n-1)) with c[0] = 1/12 (both
 * asymptotic series start so): the leading term w/12 in double-word (it is
 * up to 2^-6.6 of the result, whose absolute error must stay near 2^-66
 * where the shift cancels), the rest, below 2^-18, in double. */
static Dw series_tail(const Em *e, Dw w, LLVMValueRef z, const double *c, int n) {
  static const double twelfth[2] = {0x1.5555555555555p-4, 0x1.5555555555555p-58};
  LLVMValueRef rest = ir_fmul(e, ir_fmul(e, w.hi, z), horner(e, z, c + 1, n - 1));
  return dwadd(e, cg_vm_dw_mul(e, w, dwk(e, twelfth)), dw1(e, rest));
}

/* ---- the shift a -> y = a + n ------------------------------------------- */

typedef struct Shift {
  Dw y;                               /* a + n, exact */
  Dw ak[GAMMA_SHIFT];                 /* a + k, exact */
  LLVMValueRef active[GAMMA_SHIFT];   /* k < n */
} Shift;

static Shift shift_up(const Em *e, LLVMValueRef a) {
  Shift s;
  LLVMValueRef n = sel(e, lt(e, a, GAMMA_SHIFT), ir_fsub(e, kf(e, GAMMA_SHIFT), ir_floor(e, a)), kf(e, 0.0));
  for (int k = 0; k < GAMMA_SHIFT; k++) {
    s.ak[k] = two_sum(e, a, kf(e, k));
    s.active[k] = fcmp(e, LLVMRealOGT, n, kf(e, k));
  }
  s.y = two_sum(e, a, n);
  return s;
}

/* t * (c[0] + c[1] t + ...), the first ndw steps in double-word. */
static Dw taylor(const Em *e, Dw t, const double *hi, const double *lo, int n, int ndw) {
  return cg_vm_dw_mul(e, t, cg_vm_horner_dwc(e, t, hi, lo, n, ndw));
}
#define TAYLOR(e, t, name) taylor(e, t, name##_hi, name##_lo, (int)(sizeof name##_hi / sizeof name##_hi[0]), 4)
#define NCOEF(a) ((int)(sizeof a / sizeof a[0]))

/* ---- sin(pi a) and cos(pi a) -------------------------------------------- */

/* For finite a >= 0 below 2^52: s ~ +-sin(pi a) and c with
 * cot(pi a) = c/s, 1/sin^2(pi a) = 1/s^2 and |sin(pi a)| = |s|: a = q/2 + r
 * (q = roundeven(2a), r = a - q/2 exact, |r| <= 1/4); for even q,
 * (s, c) = (sin, cos)(pi r), for odd q (cos(pi r), -sin(pi r)). */
typedef struct SinCosPi {
  Dw s, c;
} SinCosPi;

static SinCosPi sincospi(const Em *e, LLVMValueRef a) {
  LLVMValueRef q = ir_roundeven(e, ir_fmul(e, a, kf(e, 2.0)));
  LLVMValueRef r = ir_fma(e, q, kf(e, -0.5), a);
  Dw z = cg_vm_dw_mul(e, dw1(e, r), dw1(e, r));
  Dw sn = cg_vm_dw_mul(e, dw1(e, r), cg_vm_horner_dwc(e, z, sinpi_hi, sinpi_lo, NCOEF(sinpi_hi), 3));
  Dw cs = cg_vm_horner_dwc(e, z, cospi_hi, cospi_lo, NCOEF(cospi_hi), 3);
  LLVMValueRef odd = LLVMBuildTrunc(e->b, LLVMBuildFPToSI(e->b, q, e->ity, ""), LLVMTypeOf(fcmp(e, LLVMRealOEQ, a, a)), "");
  SinCosPi p = {dwsel(e, odd, cs, sn), dwsel(e, odd, dwneg(e, sn), cs)};
  return p;
}

/* x is a pole of the gamma function: 0, a negative integer or -inf. */
static LLVMValueRef at_pole(const Em *e, LLVMValueRef x) {
  return bool_or(e, eq(e, x, 0.0), bool_and(e, lt(e, x, 0.0), fcmp(e, LLVMRealOEQ, ir_floor(e, x), x)));
}

/* ---- lgamma ------------------------------------------------------------- */

/* lgamma(a) for a > 0 finite, as a double-word (+inf where it overflows). */
static Dw lgamma_pos(const Em *e, LLVMValueRef a) {
  Shift s = shift_up(e, a);
  Dw p = dw1(e, kf(e, 1.0));
  for (int k = 0; k < GAMMA_SHIFT; k++) p = dwsel(e, s.active[k], cg_vm_dw_mul(e, p, s.ak[k]), p);
  /* (y - 1/2)(log y - 1) - 1/2 + log(2 pi)/2 + sum B2k / (2k (2k-1) y^(2k-1)) */
  Dw t = cg_vm_dw_mul(e, dwadd(e, s.y, dw1(e, kf(e, -0.5))), dwadd(e, dwlog(e, s.y), dw1(e, kf(e, -1.0))));
  LLVMValueRef ovf = eq(e, t.hi, INFINITY);
  Dw iy = dwrecip(e, s.y);
  Dw corr = series_tail(e, iy, ir_fmul(e, iy.hi, iy.hi), stirling, NCOEF(stirling));
  Dw c = {kf(e, half_log_2pi[0] - 0.5), kf(e, half_log_2pi[1])}; /* the subtraction is exact */
  Dw big = dwsub(e, dwadd(e, t, dwadd(e, c, corr)), dwlog(e, p));
  big = dwsel(e, ovf, dw1(e, kf(e, INFINITY)), big);
  Dw r1 = TAYLOR(e, dw1(e, ir_fsub(e, a, kf(e, 1.0))), lg1);
  Dw r2 = TAYLOR(e, dw1(e, ir_fsub(e, a, kf(e, 2.0))), lg2);
  return dwsel(e, near(e, a, 1.0, 0.25), r1, dwsel(e, near(e, a, 2.0, 0.25), r2, big));
}

/* lgamma(x) = log|Gamma(x)|.  +inf at the poles (0, -0, negative integers)
 * and at +-inf; NaN gives NaN; |x| < 2^-60 gives -log|x| (the next term,
 * -euler x, is below 2^-66 of it). */
static LLVMValueRef lgamma_f64(const Em *e, LLVMValueRef x) {
  LLVMValueRef a = ir_fabs(e, x);
  Dw pos = lgamma_pos(e, a);
  SinCosPi p = sincospi(e, a);
  Dw as = cg_vm_dw_mul(e, dw1(e, a), p.s);
  as = dwsel(e, lt(e, as.hi, 0.0), dwneg(e, as), as);
  Dw neg = dwsub(e, dwsub(e, dwk(e, log_pi), dwlog(e, as)), pos);
  LLVMValueRef r = dwround(e, dwsel(e, lt(e, x, 0.0), neg, pos));
  r = sel(e, lt(e, a, 0x1p-60), ir_fneg(e, cg_vm_log_dw(e, a).hi), r);
  r = sel(e, bool_or(e, at_pole(e, x), eq(e, a, INFINITY)), kf(e, INFINITY), r);
  return sel(e, is_nan(e, x), x, r);
}

/* ---- digamma ------------------------------------------------------------ */

/* psi(a) for a > 0 finite, as a double-word. */
static Dw digamma_pos(const Em *e, LLVMValueRef a) {
  Shift s = shift_up(e, a);
  Dw sum = dw1(e, kf(e, 0.0));
  for (int k = 0; k < GAMMA_SHIFT; k++) sum = dwsel(e, s.active[k], dwadd(e, sum, dwrecip(e, s.ak[k])), sum);
  /* log y - 1/(2y) - sum B2k / (2k y^2k) */
  Dw iy = dwrecip(e, s.y);
  Dw z = cg_vm_dw_mul(e, iy, iy);
  Dw corr = series_tail(e, z, z.hi, psi_asym, NCOEF(psi_asym));
  Dw big = dwsub(e, dwsub(e, dwlog(e, s.y), dwadd(e, dwscale(e, iy, 0.5), corr)), sum);
  Dw t = two_sum(e, ir_fsub(e, a, kf(e, psi_x0[0])), kf(e, -psi_x0[1])); /* a - x0_hi is exact */
  return dwsel(e, near(e, a, psi_x0[0], 0.25), TAYLOR(e, t, psi0), big);
}

/* digamma(x) = Gamma'(x)/Gamma(x).  NaN at the poles (0, -0, negative
 * integers) and at -inf, +inf at +inf; |x| < 2^-60 gives -1/x - euler. */
static LLVMValueRef digamma_f64(const Em *e, LLVMValueRef x) {
  LLVMValueRef a = ir_fabs(e, x);
  Dw pos = digamma_pos(e, a);
  SinCosPi p = sincospi(e, a);
  /* psi(-a) = psi(a) + 1/a + pi cot(pi a) */
  Dw neg = dwadd(e, dwadd(e, pos, dwrecip(e, dw1(e, a))), cg_vm_dw_mul(e, dwk(e, pi), cg_vm_dw_div_dw(e, p.c, p.s)));
  LLVMValueRef r = dwround(e, dwsel(e, lt(e, x, 0.0), neg, pos));
  r = sel(e, lt(e, a, 0x1p-60), ir_fsub(e, ir_fdiv(e, kf(e, -1.0), x), kf(e, euler[0])), r);
  r = sel(e, eq(e, x, INFINITY), x, r);
  return sel(e, bool_or(e, at_pole(e, x), eq(e, x, -INFINITY)), kf(e, NAN), sel(e, is_nan(e, x), x, r));
}

/* ---- trigamma ----------------------------------------------------------- */

/* psi1(a) for a > 0 finite, as a double-word. */
static Dw trigamma_pos(const Em *e, LLVMValueRef a) {
  Shift s = shift_up(e, a);
  Dw sum = dw1(e, kf(e, 0.0));
  for (int k = 0; k < GAMMA_SHIFT; k++) sum = dwsel(e, s.active[k], dwadd(e, sum, dwrecip(e, cg_vm_dw_mul(e, s.ak[k], s.ak[k]))), sum);
  /* 1/y + 1/(2y^2) + sum B2k / y^(2k+1) */
  Dw iy = dwrecip(e, s.y);
  Dw iy2 = cg_vm_dw_mul(e, iy, iy);
  LLVMValueRef corr = ir_fmul(e, ir_fmul(e, iy2.hi, iy.hi), horner(e, iy2.hi, psi1_asym, NCOEF(psi1_asym)));
  return dwadd(e, dwadd(e, iy, dwadd(e, dwscale(e, iy2, 0.5), dw1(e, corr))), sum);
}

/* trigamma(x) = digamma'(x).  +inf at the poles (0, -0, negative
 * integers), +0 at +inf, NaN at -inf and NaN; |x| < 2^-30 gives
 * 1/x^2 + pi^2/6. */
static LLVMValueRef trigamma_f64(const Em *e, LLVMValueRef x) {
  LLVMValueRef a = ir_fabs(e, x);
  Dw pos = trigamma_pos(e, a);
  SinCosPi p = sincospi(e, a);
  /* psi1(-a) = pi^2 / sin^2(pi a) - psi1(a) + 1/a^2 */
  Dw ia = dwrecip(e, dw1(e, a));
  Dw ia2 = cg_vm_dw_mul(e, ia, ia);
  Dw csc2 = cg_vm_dw_mul(e, dwk(e, pi2), dwrecip(e, cg_vm_dw_mul(e, p.s, p.s)));
  Dw neg = dwadd(e, dwsub(e, csc2, pos), ia2);
  LLVMValueRef r = dwround(e, dwsel(e, lt(e, x, 0.0), neg, pos));
  Dw tiny = {ia2.hi, ir_fadd(e, ia2.lo, kf(e, 0x1.a51a6625307d3p+0))};
  r = sel(e, lt(e, a, 0x1p-30), dwround(e, tiny), r);
  r = sel(e, eq(e, x, INFINITY), kf(e, 0.0), r);
  r = sel(e, at_pole(e, x), kf(e, INFINITY), r);
  return sel(e, bool_or(e, is_nan(e, x), eq(e, x, -INFINITY)), kf(e, NAN), r);
}

/* ---- tetragamma ---------------------------------------------------------- */

static Dw dwcube(const Em *e, Dw a) { return cg_vm_dw_mul(e, cg_vm_dw_mul(e, a, a), a); }

/* psi2(a) for a > 0 finite, as a double-word (negative).  One recurrence
 * step more than the others (y + 1 >= 9), where the series reaches 2^-64. */
static Dw tetragamma_pos(const Em *e, LLVMValueRef a) {
  Shift s = shift_up(e, a);
  Dw sum = dwcube(e, dwrecip(e, s.y)); /* not 1/y^3: y^3 overflows */
  for (int k = 0; k < GAMMA_SHIFT; k++) sum = dwsel(e, s.active[k], dwadd(e, sum, dwrecip(e, dwcube(e, s.ak[k]))), sum);
  /* -1/y^2 - 1/y^3 - sum (2k+1) B2k / y^(2k+2), at y + 1; its leading 1/(2 y^4) in double-word */
  Dw iy = dwrecip(e, dwadd(e, s.y, dw1(e, kf(e, 1.0))));
  Dw iy2 = cg_vm_dw_mul(e, iy, iy);
  LLVMValueRef z = iy2.hi;
  LLVMValueRef rest = ir_fmul(e, ir_fmul(e, z, ir_fmul(e, z, z)), horner(e, z, psi2_asym + 1, NCOEF(psi2_asym) - 1));
  Dw corr = dwadd(e, dwscale(e, cg_vm_dw_mul(e, iy2, iy2), 0.5), dw1(e, rest));
  Dw asym = dwneg(e, dwadd(e, iy2, dwadd(e, cg_vm_dw_mul(e, iy2, iy), corr)));
  return dwsub(e, asym, dwscale(e, sum, 2.0));
}

/* tetragamma(x) = trigamma'(x) = polygamma(2, x).  NaN at the poles (0, -0,
 * negative integers: the one-sided limits are -inf and +inf) and at -inf,
 * -0 at +inf; |x| < 2^-30 gives -2/x^3 (the next term, -2 zeta(3), is
 * below 2^-88 of it).  x = -a < 0:
 * psi2(x) = psi2(a) + 2/a^3 + 2 pi^3 cot(pi a) / sin^2(pi a). */
static LLVMValueRef tetragamma_f64(const Em *e, LLVMValueRef x) {
  LLVMValueRef a = ir_fabs(e, x);
  Dw pos = tetragamma_pos(e, a);
  SinCosPi p = sincospi(e, a);
  Dw refl = cg_vm_dw_mul(e, dwk(e, two_pi3), cg_vm_dw_mul(e, cg_vm_dw_div_dw(e, p.c, p.s), dwrecip(e, cg_vm_dw_mul(e, p.s, p.s))));
  Dw neg = dwadd(e, dwadd(e, pos, dwscale(e, dwrecip(e, dwcube(e, dw1(e, a))), 2.0)), refl);
  LLVMValueRef r = dwround(e, dwsel(e, lt(e, x, 0.0), neg, pos));
  Dw tiny = dwscale(e, dwcube(e, dwrecip(e, dw1(e, x))), -2.0);
  r = sel(e, lt(e, a, 0x1p-30), dwround(e, tiny), r);
  /* a > 2^484: -1/a^2 (the rest is below 2^-484 of it), from 1/(a 2^-600)
   * squared, so that its double-word does not fall into the subnormals */
  Dw inv = dwrecip(e, dw1(e, ir_fmul(e, a, kf(e, 0x1p-600))));
  LLVMValueRef big = ir_fmul(e, ir_fmul(e, dwround(e, cg_vm_dw_mul(e, inv, inv)), kf(e, -0x1p-600)), kf(e, 0x1p-600));
  r = sel(e, bool_and(e, fcmp(e, LLVMRealOGT, x, kf(e, 0x1p484)), lt(e, x, INFINITY)), big, r);
  r = sel(e, eq(e, x, INFINITY), kf(e, -0.0), r);
  return sel(e, bool_or(e, bool_or(e, at_pole(e, x), eq(e, x, -INFINITY)), is_nan(e, x)), kf(e, NAN), r);
}

/* ---- entry points (math_fns rows) --------------------------------------- */

/* fn on double x; float x widened (exact), computed in double, narrowed once. */
static LLVMValueRef via_double(const Em *e, LLVMValueRef x, LLVMValueRef (*fn)(const Em *, LLVMValueRef)) {
  if (e->f64) return fn(e, x);
  Em d = cg_vm_em_double(e);
  return LLVMBuildFPTrunc(e->b, fn(&d, LLVMBuildFPExt(e->b, x, d.fty, "")), e->fty, "");
}

LLVMValueRef cg_vm_lgamma(const Em *e, LLVMValueRef x) { return via_double(e, x, lgamma_f64); }
LLVMValueRef cg_vm_digamma(const Em *e, LLVMValueRef x) { return via_double(e, x, digamma_f64); }
LLVMValueRef cg_vm_trigamma(const Em *e, LLVMValueRef x) { return via_double(e, x, trigamma_f64); }
LLVMValueRef cg_vm_tetragamma(const Em *e, LLVMValueRef x) { return via_double(e, x, tetragamma_f64); }
