/* refs.c — plain C references for the end-to-end programs (see refs.h).
 *
 * Written from lang/reference.md, independently of the compiler: ordinary
 * loops, double accumulation (long double for the f64 elementary
 * functions), NumPy broadcasting re-implemented below.  A few references
 * deliberately emulate f32 arithmetic to check exact semantics (weak
 * literals rounded once; the documented reduction order in sum_order.tex);
 * they say so.  Each reference is named in the `# e2e: fn` directives. */
#include "refs.h"
#include "unit/gamma_ref.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------- */

/* Input i at output coordinates idx, NumPy style: shapes aligned at the
 * right, extent-1 axes stretched, missing leading axes added. */
static double bget(const RefArgs *a, int i, const int64_t *idx) {
  int r = a->in_rank[i], off = a->out_rank - r;
  int64_t flat = 0;
  for (int d = 0; d < r; d++) {
    int64_t ext = a->in_shape[i][d];
    flat = flat * ext + (ext == 1 ? 0 : idx[d + off]);
  }
  return a->in[i][flat];
}

static void next_index(int64_t *idx, const int64_t *shape, int rank) {
  for (int d = rank - 1; d >= 0; d--) {
    if (++idx[d] < shape[d]) return;
    idx[d] = 0;
  }
}

typedef double (*Elem)(const double *v);

/* out[idx] = f(in_0[idx], in_1[idx], ...) with broadcasting. */
static void elementwise(const RefArgs *a, Elem f) {
  int64_t idx[REF_MAX_RANK] = {0};
  double v[REF_MAX_ARGS];
  for (int64_t o = 0; o < a->out_numel; o++) {
    for (int i = 0; i < a->nin; i++) v[i] = bget(a, i, idx);
    a->out[o] = f(v);
    next_index(idx, a->out_shape, a->out_rank);
  }
}

#define EW(name, expr)                                                                                                                     \
  static double name##_elem(const double *v) { return (expr); }                                                                            \
  static void name(const RefArgs *a) { elementwise(a, name##_elem); }

/* Splits input 0 around one axis (or all axes, axis == ALL) into
 * outer x len x inner. */
enum { ALL = -100 };
static void split(const RefArgs *a, int i, int axis, int64_t *outer, int64_t *len, int64_t *inner) {
  int r = a->in_rank[i];
  const int64_t *sh = a->in_shape[i];
  *outer = *len = *inner = 1;
  if (axis == ALL) {
    *len = a->in_numel[i];
    return;
  }
  if (axis < 0) axis += r;
  for (int d = 0; d < r; d++) {
    if (d < axis)
      *outer *= sh[d];
    else if (d == axis)
      *len = sh[d];
    else
      *inner *= sh[d];
  }
}

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_SUMSQ };

/* The reduction of input 0 over one axis or all; the output has
 * outer*inner elements whatever keepdims says. */
static void reduce(const RefArgs *a, int op, int axis) {
  int64_t outer, len, inner;
  split(a, 0, axis, &outer, &len, &inner);
  const double *x = a->in[0];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double acc = op == R_MAX ? -INFINITY : op == R_MIN ? INFINITY : 0.0;
      for (int64_t k = 0; k < len; k++) {
        double v = x[(o * len + k) * inner + i];
        switch (op) {
        case R_SUM:
        case R_MEAN: acc += v; break;
        case R_SUMSQ: acc += v * v; break;
        case R_MAX:
          if (v > acc || isnan(v)) acc = v;
          break;
        case R_MIN:
          if (v < acc || isnan(v)) acc = v;
          break;
        }
      }
      if (op == R_MEAN) acc = acc / (double)len; /* 0/0 = NaN for an empty axis */
      a->out[o * inner + i] = acc;
    }
}

#define REDUCE_REFS(name, op)                                                                                                              \
  static void name##_all(const RefArgs *a) { reduce(a, op, ALL); }                                                                         \
  static void name##_ax0(const RefArgs *a) { reduce(a, op, 0); }                                                                           \
  static void name##_ax1(const RefArgs *a) { reduce(a, op, 1); }                                                                           \
  static void name##_ax2(const RefArgs *a) { reduce(a, op, 2); }                                                                           \
  static void name##_axm1(const RefArgs *a) { reduce(a, op, -1); }

REDUCE_REFS(sum, R_SUM)
REDUCE_REFS(mean, R_MEAN)
REDUCE_REFS(max, R_MAX)
REDUCE_REFS(min, R_MIN)
static void sumsq_ax1(const RefArgs *a) { reduce(a, R_SUMSQ, 1); }

/* C = A @ B in the four rank forms, into c (M*N values). */
static void matmul_into(const double *A, int ra, const int64_t *sa, const double *B, int rb, const int64_t *sb, double *c) {
  int64_t M = ra == 2 ? sa[0] : 1, K = sa[ra - 1], N = rb == 2 ? sb[1] : 1;
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      double acc = 0;
      for (int64_t k = 0; k < K; k++) acc += A[m * K + k] * B[k * N + n];
      c[m * N + n] = acc;
    }
}

static void matmul(const RefArgs *a) {
  matmul_into(a->in[0], a->in_rank[0], a->in_shape[0], a->in[1], a->in_rank[1], a->in_shape[1], a->out);
}

static void copy_in(const RefArgs *a, int i) { memcpy(a->out, a->in[i], sizeof(double) * (size_t)a->out_numel); }

static void ident(const RefArgs *a) { copy_in(a, 0); }

/* Every element 0: counts of what must not happen (stdlib_stable.tex,
 * nn_models.tex). */
static void zero(const RefArgs *a) {
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = 0;
}

/* ---- bcast.tex ------------------------------------------------------------- */

EW(bc_scalar, v[0] * v[1] + v[1])
EW(bc_add, v[0] + v[1])
EW(bc_sub, v[0] - v[1])
EW(bc_mul, v[0] * v[1])
EW(bc_div, v[0] / v[1])
EW(bc_fma3, v[0] * v[1] + v[2])
EW(bc_colrow, (v[0] - v[1]) * v[2])
EW(bc_scal3, v[1] - v[0] / 2)

/* ---- matmul.tex, mlp.tex ------------------------------------------------------ */

/* mm_bias: A @ B + bias (broadcast); relu variant. */
static void mm_bias(const RefArgs *a) {
  int64_t idx[REF_MAX_RANK] = {0};
  matmul(a);
  for (int64_t o = 0; o < a->out_numel; o++) {
    a->out[o] += bget(a, 2, idx);
    next_index(idx, a->out_shape, a->out_rank);
  }
}

static void mm_bias_relu(const RefArgs *a) {
  mm_bias(a);
  for (int64_t o = 0; o < a->out_numel; o++) a->out[o] = a->out[o] > 0 ? a->out[o] : 0;
}

static void vm_bias2(const RefArgs *a) { /* v @ W * 2 + s */
  matmul(a);
  for (int64_t o = 0; o < a->out_numel; o++) a->out[o] = a->out[o] * 2 + a->in[2][0];
}

static void mm_chain(const RefArgs *a) { /* (a @ b) @ c */
  const int64_t *sa = a->in_shape[0], *sb = a->in_shape[1];
  int64_t tmp_shape[2] = {sa[0], sb[1]};
  double *t = calloc((size_t)(sa[0] * sb[1]) + 1, sizeof(double));
  matmul_into(a->in[0], 2, sa, a->in[1], 2, sb, t);
  matmul_into(t, 2, tmp_shape, a->in[2], 2, a->in_shape[2], a->out);
  free(t);
}

static void mlp2(const RefArgs *a) { /* tanh(x @ W1 + b1) @ W2 + b2 */
  const int64_t *sx = a->in_shape[0], *sw1 = a->in_shape[1], *sw2 = a->in_shape[3];
  int64_t N = sx[0], D = sx[1], H = sw1[1], K = sw2[1];
  double *h = calloc((size_t)(N * H) + 1, sizeof(double));
  for (int64_t n = 0; n < N; n++)
    for (int64_t j = 0; j < H; j++) {
      double acc = 0;
      for (int64_t d = 0; d < D; d++) acc += a->in[0][n * D + d] * a->in[1][d * H + j];
      h[n * H + j] = tanh(acc + a->in[2][j]);
    }
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++) {
      double acc = 0;
      for (int64_t j = 0; j < H; j++) acc += h[n * H + j] * a->in[3][j * K + k];
      a->out[n * K + k] = acc + a->in[4][k];
    }
  free(h);
}

/* ---- transpose.tex ------------------------------------------------------------ */

/* Reverses the axes of input 0. */
static void transpose(const RefArgs *a) {
  int r = a->in_rank[0];
  const int64_t *sh = a->in_shape[0];
  int64_t idx[REF_MAX_RANK] = {0};
  for (int64_t i = 0; i < a->in_numel[0]; i++) {
    int64_t o = 0;
    for (int d = r - 1; d >= 0; d--) o = o * sh[d] + idx[d];
    a->out[o] = a->in[0][i];
    next_index(idx, sh, r);
  }
}

static void tmatmul(const RefArgs *a) { /* a[K,M]^T @ b[K,D] */
  int64_t K = a->in_shape[0][0], M = a->in_shape[0][1], D = a->in_shape[1][1];
  for (int64_t m = 0; m < M; m++)
    for (int64_t d = 0; d < D; d++) {
      double acc = 0;
      for (int64_t k = 0; k < K; k++) acc += a->in[0][k * M + m] * a->in[1][k * D + d];
      a->out[m * D + d] = acc;
    }
}

static void gram(const RefArgs *a) { /* x[N,D]^T @ x */
  int64_t N = a->in_shape[0][0], D = a->in_shape[0][1];
  for (int64_t i = 0; i < D; i++)
    for (int64_t j = 0; j < D; j++) {
      double acc = 0;
      for (int64_t n = 0; n < N; n++) acc += a->in[0][n * D + i] * a->in[0][n * D + j];
      a->out[i * D + j] = acc;
    }
}

static void tadd(const RefArgs *a) { /* x[N,K] + 2 y[K,N]^T */
  int64_t N = a->in_shape[0][0], K = a->in_shape[0][1];
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++) a->out[n * K + k] = a->in[0][n * K + k] + 2 * a->in[1][k * N + n];
}

static void tcol(const RefArgs *a) { /* x[N,K]^T - c[K,1] */
  int64_t N = a->in_shape[0][0], K = a->in_shape[0][1];
  for (int64_t k = 0; k < K; k++)
    for (int64_t n = 0; n < N; n++) a->out[k * N + n] = a->in[0][n * K + k] - a->in[1][k];
}

/* ---- shape.tex, reshape_assert.tex ------------------------------------------------- */

static void sh_second(const RefArgs *a) { copy_in(a, 1); }

static void sh_affine(const RefArgs *a) { /* 2x + 1 over the flat elements */
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = 2 * a->in[0][i] + 1;
}

static void sh_rowsum(const RefArgs *a) { /* sum_d 0.5 w[n*D + d] + 0.5 x[n, d] */
  int64_t N = a->in_shape[0][0], D = a->in_shape[0][1];
  for (int64_t n = 0; n < N; n++) {
    double acc = 0;
    for (int64_t d = 0; d < D; d++) acc += 0.5 * a->in[1][n * D + d] + 0.5 * a->in[0][n * D + d];
    a->out[n] = acc;
  }
}

static void sh_rmm(const RefArgs *a) { /* x[N*D] as [N, D], @ w[D, K] */
  int64_t D = a->in_shape[1][0], K = a->in_shape[1][1], N = a->in_shape[2][0];
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++) {
      double acc = 0;
      for (int64_t d = 0; d < D; d++) acc += a->in[0][n * D + d] * a->in[1][d * K + k];
      a->out[n * K + k] = acc;
    }
}

static void sh_bget0(const RefArgs *a) { /* input 0 broadcast to the output's shape */
  int64_t idx[REF_MAX_RANK] = {0};
  for (int64_t o = 0; o < a->out_numel; o++) {
    a->out[o] = bget(a, 0, idx);
    next_index(idx, a->out_shape, a->out_rank);
  }
}
static void sh_outer(const RefArgs *a) { /* out[n, d] = x[n] * y[d] */
  int64_t N = a->in_shape[0][0], D = a->in_shape[1][0];
  for (int64_t n = 0; n < N; n++)
    for (int64_t d = 0; d < D; d++) a->out[n * D + d] = a->in[0][n] * a->in[1][d];
}
EW(sh_fills, (float)((float)(v[0] + 2.5) - 4.0)) /* f32 rounding per step, as computed */
EW(sh_likes, v[0] * 3 + 1)
EW(sh_fullint, 7 + v[0])

/* out[k, b, n] = x[b, n, k] */
static void sh_perm201(const RefArgs *a) {
  int64_t B = a->in_shape[0][0], N = a->in_shape[0][1], K = a->in_shape[0][2];
  for (int64_t b = 0; b < B; b++)
    for (int64_t n = 0; n < N; n++)
      for (int64_t k = 0; k < K; k++) a->out[(k * B + b) * N + n] = a->in[0][(b * N + n) * K + k];
}

/* out[n, b, k, d] = x[b, n, d, k] */
static void sh_perm1032(const RefArgs *a) {
  const int64_t *s = a->in_shape[0];
  for (int64_t b = 0; b < s[0]; b++)
    for (int64_t n = 0; n < s[1]; n++)
      for (int64_t d = 0; d < s[2]; d++)
        for (int64_t k = 0; k < s[3]; k++)
          a->out[((n * s[0] + b) * s[3] + k) * s[2] + d] = a->in[0][((b * s[1] + n) * s[2] + d) * s[3] + k];
}

static void sh_meann(const RefArgs *a) { /* sum(x, axis=0) / N */
  int64_t N = a->in_shape[0][0], D = a->in_shape[0][1];
  for (int64_t d = 0; d < D; d++) {
    double acc = 0;
    for (int64_t n = 0; n < N; n++) acc += a->in[0][n * D + d];
    a->out[d] = acc / (double)N;
  }
}

static void sh_sizes(const RefArgs *a) {
  int64_t N = a->in_shape[0][0], D = a->in_shape[0][1], B = a->in_shape[1][0];
  a->out[0] = (double)(N * D - 1 + B * B);
}

static void sh_poly(const RefArgs *a) { /* y * (N + 1) */
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = a->in[1][i] * (double)(a->in_shape[0][0] + 1);
}

static void sh_pairs(const RefArgs *a) { /* x[N] as [M, 2], times 2, then + y[M] per row */
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = 2 * a->in[0][i] + a->in[1][i / 2];
}

/* ---- where.tex -------------------------------------------------------------------- */

EW(w_relu, v[0] > 0 ? v[0] : 0)
EW(w_pick, v[0] < v[1] ? v[0] : v[1])
EW(w_maskrow, v[0] != 0 ? v[1] : v[2])
EW(w_clamp, v[0]<v[1] ? v[1] : v[0]> v[2] ? v[2] : v[0])
EW(w_le, v[0] <= v[1] ? v[0] : -1.5)
EW(w_sign, v[0] > 0 ? 1.0 : v[0] < 0 ? -1.0 : 0.0)
EW(w_eqne, v[0] == v[1] ? 0 : v[0] != v[1] ? v[0] - v[1] : 7)
EW(w_ge, v[0] >= v[1] ? v[0] : v[1])
EW(w_andor, (v[0] > 0 && v[1] > 0) || v[0] < -1 ? v[0] + v[1] : v[0] - v[1])
EW(w_bool, v[0] != 0 ? v[1] : v[2])
EW(w_not, !(v[0] >= v[1]) ? v[1] : v[0] * 2)

/* ---- int_ops.tex: Python's // and % by the definition (floor of the exact
 * quotient, here exact in double for these small values), 0 for a zero
 * divisor; results wrapped to the width where the test provokes it ------------------ */

static double ref_floordiv(double a, double b) { return b == 0 ? 0 : floor(a / b); }
static double ref_mod(double a, double b) { return b == 0 ? 0 : a - b * floor(a / b); }
/* (a // b) * b + a % b - a: 0 for b != 0, -a for b = 0 (both are 0 then) */
static double b_or_zero_divmod(double a, double b) { return b == 0 ? -a : 0; }
static double wrap32(int64_t v) { return (double)(int32_t)(uint32_t)(uint64_t)v; }
static double ref_shl(double a, double s, int bits) {
  if (s < 0 || s >= bits) return 0;
  uint64_t v = (uint64_t)(int64_t)a << (int)s;
  return bits == 32 ? wrap32((int64_t)v) : (double)(int64_t)v;
}
static double ref_shr(double a, double s, int bits) {
  if (s < 0 || s >= bits) return a < 0 ? -1 : 0;
  return floor(a / ldexp(1.0, (int)s)); /* arithmetic shift = floor division by 2^s */
}
static double ref_and(double a, double b) { return (double)((int64_t)a & (int64_t)b); }
static double ref_xor(double a, double b) { return (double)((int64_t)a ^ (int64_t)b); }
static double ref_or(double a, double b) { return (double)((int64_t)a | (int64_t)b); }
static double ref_sign(double a) { return a > 0 ? 1 : a < 0 ? -1 : a; }

EW(io_div, ref_floordiv(v[0], v[1]))
EW(io_mod, ref_mod(v[0], v[1]))
EW(io_divmod, b_or_zero_divmod(v[0], v[1]))
EW(io_bits, ref_or(ref_and(v[0], v[1]), ref_xor(v[0], ref_and(12345, v[1]))))
EW(io_shift32, ref_xor(ref_shl(v[0], v[1], 32), ref_shr(v[0], v[1], 32)))
EW(io_shl64, ref_shl(v[0], v[1], 64))
EW(io_shr64, ref_shr(v[0], v[1], 64))
/* m = INT_MIN + a; m // -1 wraps (INT_MIN // -1 = INT_MIN), then + m % b, wrapped */
EW(io_intmin32, wrap32((int64_t)wrap32((int64_t)ref_floordiv(v[0] - 2147483648.0, v[1])) + (int64_t)ref_mod(v[0] - 2147483648.0, v[1])))
EW(io_intmin64, v[0] == -1 ? -9223372036854775808.0 : ref_floordiv(-9223372036854775808.0, v[0]))
EW(io_weak, ref_mod(v[0], 7) + ref_floordiv(v[0], -3) + ref_floordiv(100, v[0] * v[0] + 1) + (-4 * 2) + 16 + (-1) + (2 | 9))
EW(io_clamp, (v[0] < -10  ? -10
              : v[0] > 12 ? 12
                          : v[0]) +
                 ref_sign(v[0]) * 100 + fabs(v[0]) - (v[0] > 3 ? v[0] : 3) + (v[0] < -4 ? v[0] : -4))

/* ---- unary_f32.tex, unary_f64.tex -------------------------------------------------- */

static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }
static long double sigmoid_l(long double x) { return 1.0L / (1.0L + expl(-x)); }

EW(u_exp, exp(v[0]))
EW(u_log, log(v[0]))
EW(u_sqrt, sqrt(v[0]))
EW(u_tanh, tanh(v[0]))
EW(u_sigmoid, sigmoid_d(v[0]))
EW(u_abs, fabs(v[0]))
EW(u_sin, sin(v[0]))
EW(u_cos, cos(v[0]))
EW(u_mix, exp(-fabs(v[0])) * tanh(v[0]) + sigmoid_d(v[0]) * sqrt(fabs(v[0])) - log(fabs(v[0]) + 1))
EW(u_exp_64, (double)expl(v[0]))
EW(u_log_64, (double)logl(v[0]))
EW(u_sqrt_64, sqrt(v[0])) /* IEEE sqrt is correctly rounded; sqrtl then a rounding to double is not */
EW(u_tanh_64, (double)tanhl(v[0]))
EW(u_sigmoid_64, (double)sigmoid_l(v[0]))
EW(u_abs_64, fabs(v[0]))
EW(u_sin_64, (double)sinl(v[0])) /* glibc's sinl/cosl reduce every argument exactly */
EW(u_cos_64, (double)cosl(v[0]))
EW(u_mix_64, (double)(expl(-fabsl(v[0])) * tanhl(v[0]) + sigmoid_l(v[0]) * sqrtl(fabsl(v[0])) - logl(fabsl(v[0]) + 1)))

/* issue 9: floor, ceil, round (ties to even: nearbyint in the default mode),
 * sign (keeps +-0 and NaN), rsqrt, logaddexp (log(e^a + e^b) in long double:
 * the larger plus log1p of the other's ratio, which is exact math) */
static long double lae_l(long double a, long double b) {
  if (isnan(a) || isnan(b)) return NAN;
  if (a == b) return a + logl(2.0L);
  long double m = a > b ? a : b, d = a > b ? b - a : a - b;
  return m + log1pl(expl(d));
}
EW(u_floor, floor(v[0]))
EW(u_ceil, ceil(v[0]))
EW(u_round, nearbyint(v[0]))
EW(u_sign, v[0] > 0 ? 1.0 : v[0] < 0 ? -1.0 : v[0])
EW(u_rsqrt, 1.0 / sqrt(v[0])) /* double: ~2^-52 relative, far below an f32 ulp */
EW(u_rsqrt_64, (double)(1.0L / sqrtl(v[0])))
EW(u_logaddexp, (double)lae_l(v[0], v[1]))
EW(u_logaddexp_64, (double)lae_l(v[0], v[1]))
EW(u_clamp, isnan(v[0]) ? v[0] : v[0] < v[1] ? v[1] : v[0] > 1.5 ? 1.5 : v[0])

/* ---- gamma.tex: glibc's lgamma/lgammal; digamma and trigamma in long
 * double (tests/unit/gamma_ref.h) ---------------------------------------- */
EW(u_lgamma, lgamma(v[0]))
EW(u_lgamma_64, (double)lgammal(v[0]))
EW(u_digamma, (double)gref_digamma_ld(v[0]))
EW(u_digamma_64, (double)gref_digamma_ld(v[0]))
EW(u_trigamma, (double)gref_trigamma_ld(v[0]))
EW(u_trigamma_64, (double)gref_trigamma_ld(v[0]))
EW(u_tetragamma, (double)gref_tetragamma_ld(v[0]))
EW(u_tetragamma_64, (double)gref_tetragamma_ld(v[0]))
EW(u_gamma_poles, (double)(lgammal(v[0]) + gref_trigamma_ld(v[0]) + gref_digamma_ld(v[0])))

/* ---- fmod.tex: Python's float %: glibc's fmod (exact), then the divisor's
 * sign, the one addition rounded in the dtype ----------------------------- */
static double pymod(double a, double b) {
  if (isnan(a) || isnan(b) || isinf(a) || b == 0) return NAN;
  double m = fmod(a, b);
  if (m == 0) return copysign(0.0, b);
  return (m < 0) != (b < 0) ? m + b : m;
}
static float pymodf(float a, float b) {
  if (isnan(a) || isnan(b) || isinf(a) || b == 0) return NAN;
  float m = fmodf(a, b);
  if (m == 0) return copysignf(0.0f, b);
  return (m < 0) != (b < 0) ? m + b : m;
}
EW(u_pymod, pymodf((float)v[0], (float)v[1]))
EW(u_pymod_64, pymod(v[0], v[1]))
EW(u_pymod_lit, pymod(v[0], -2.5) + (-0.5) * 0.5) /* 7.5 % -2.0 = -0.5, -7.5 % 2.0 = 0.5 */

/* ---- pow_neg.tex --------------------------------------------------------------------- */

EW(p_sq, pow(v[0], 2.0))
EW(p_negsq, -pow(v[0], 2.0))
EW(p_pow, pow(v[0], v[1]))
EW(p_rpow, pow(2.0, v[0]))
/* 2.0 ** 0.5 is literal-only; `**` is not folded, so it is an f32 power of
 * two f32 literals: the exponent is sqrt(2) rounded to f32. */
EW(p_right, pow(v[0], (double)(float)sqrt(2.0)))
EW(p_pow_64, (double)powl(v[0], v[1]))
EW(p_neg, -v[0])
EW(p_negneg, -(-v[0] - 1))

/* ---- weak.tex: f32 emulated exactly (literals rounded once to f32) -------------------- */

EW(wk_half, v[0] / 2)
EW(wk_plus1, (double)((float)v[0] + 1.0f))
EW(wk_affine, (double)(3.0f * (float)v[0] - 0.5f))
EW(wk_third, (double)((float)v[0] * (float)(1.0 / 3.0)))
EW(wk_ilit, v[0] * 2 + 3)
EW(wk_llit, 10000000000.0 + v[0] * 3)
EW(wk_dlit, v[0] * 0.1 + 1.0e-3)
EW(wk_fold, (double)(((float)v[0] + 6.0f) + 0.5f))
EW(wk_mixed, (double)(((float)v[0] + 1.0f) * (float)v[1] - 0.625f))
EW(wk_neglit, v[0] * -2)
static void wk_third_const(const RefArgs *a) { a->out[0] = (float)(1.0 / 3.0); }
static void wk_42(const RefArgs *a) { a->out[0] = 42; }
static void wk_point3(const RefArgs *a) { a->out[0] = 0.1 + 0.2; }

/* ---- int_arith.tex ----------------------------------------------------------------------- */

EW(ia_add, v[0] + v[1] * 3 - 1)
EW(ia_mul, v[0] * v[1] - v[0])
EW(ia_abs, fabs(v[0]) - v[0])
EW(ia_maxmin, (v[0] > v[1] ? v[0] : v[1]) - (v[0] < 0 ? v[0] : 0))
EW(ia_col, v[0] * v[1] + 7)
EW(ia_ge, v[0] >= v[1])
EW(ia_scal, v[0] * v[1] + 1)

static void ia_meanf(const RefArgs *a) {
  double s = 0;
  for (int64_t i = 0; i < a->in_numel[0]; i++) s += a->in[0][i];
  a->out[0] = s / (double)a->in_numel[0];
}

static void ia_dot(const RefArgs *a) {
  double s = 0;
  for (int64_t i = 0; i < a->in_numel[0]; i++) s += a->in[0][i] * a->in[1][i] - 1;
  a->out[0] = s;
}

/* ---- bools.tex ------------------------------------------------------------------------------ */

EW(b_lt, v[0] < v[1])
EW(b_gt, v[0] > v[1])
EW(b_cmp6, (v[0] <= v[1] && v[0] != v[1]) || v[0] == 0.5 || (v[0] > v[1] && v[0] >= 1.0))
EW(b_logic, (v[0] != 0 && v[1] == 0) || (v[2] != 0 && v[1] != 0))
EW(b_eq, v[0] == v[1])
EW(b_ne, v[0] != v[1])
EW(b_tonum, v[0] * 2 - 1)
EW(b_tobool, v[0] != 0) /* NaN != 0: true */
EW(b_nan_ne, v[0] != v[0])
EW(b_nan_cmp, v[0] < v[1] || v[0] >= v[1] || v[0] == v[1])
EW(b_lits, v[0])

/* ---- casts.tex ------------------------------------------------------------------------------ */

/* Truncation toward zero, saturating, NaN to 0 (lang/reference.md). */
static double trunc_sat(double x, double lo, double hi) {
  if (isnan(x)) return 0;
  if (x <= lo) return lo;
  if (x >= hi) return hi;
  return trunc(x);
}

EW(c_trunc_i32, trunc_sat(v[0], -2147483648.0, 2147483647.0))
EW(c_trunc_i64, trunc_sat(v[0], -9223372036854775808.0, (double)INT64_MAX))
/* x * 1.0e10 is an f32 product (1e10 is exact in f32), then truncated. */
EW(c_sat_i32, trunc_sat((double)((float)v[0] * 1.0e10f), -2147483648.0, 2147483647.0))
EW(c_quarter, v[0] / 4)
EW(c_times3, v[0] * 3)
EW(c_roundtrip, (double)(float)v[0] - v[0])
EW(c_bool2i, v[0] + 1)
static void c_castlit(const RefArgs *a) { a->out[0] = 2 + -2 * 10; }

/* ---- calls.tex -------------------------------------------------------------------------------- */

static void cl_twice(const RefArgs *a) {
  double s = 0;
  for (int64_t i = 0; i < a->in_numel[0]; i++) s += a->in[0][i] * a->in[0][i];
  for (int64_t i = 0; i < a->in_numel[1]; i++) s -= a->in[1][i] * a->in[1][i];
  a->out[0] = s;
}

static double c3_of(double x) { return (x + 1) * 2 - 3; }
EW(cl_c3, c3_of(v[0]))
EW(cl_c3c3, c3_of(c3_of(v[0])))

static void cl_swapped(const RefArgs *a) { /* max_k c3(y/2) + max_k x, over axis 0 of [K, N] */
  int64_t K = a->in_shape[0][0], N = a->in_shape[0][1];
  for (int64_t n = 0; n < N; n++) {
    double mx = -INFINITY, my = -INFINITY;
    for (int64_t k = 0; k < K; k++) {
      double x = a->in[0][k * N + n], y = c3_of(a->in[1][k * N + n] * 0.5);
      if (x > mx) mx = x;
      if (y > my) my = y;
    }
    a->out[n] = my + mx;
  }
}

static void cl_second(const RefArgs *a) { copy_in(a, 1); }

/* ---- scalars.tex ------------------------------------------------------------------------------- */

EW(s_axpy, v[0] * v[1] + v[2])
EW(s_sci, v[0] * v[1] - v[0])
EW(s_scred, 4 * v[0])

static void s_dot(const RefArgs *a) {
  double s = 0;
  for (int64_t i = 0; i < a->in_numel[0]; i++) s += a->in[0][i] * a->in[1][i];
  a->out[0] = s;
}

static void s_norm(const RefArgs *a) {
  long double s = 0;
  for (int64_t i = 0; i < a->in_numel[0]; i++) s += (long double)a->in[0][i] * a->in[0][i];
  a->out[0] = (double)sqrtl(s);
}

static void s_smat(const RefArgs *a) {
  double s = 0;
  for (int64_t i = 0; i < a->in_numel[1]; i++) s += a->in[1][i];
  a->out[0] = a->in[0][0] * s;
}

/* ---- softmax.tex ----------------------------------------------------------------------------------- */

static void softmax_axis(const RefArgs *a, int axis, bool logp) {
  int64_t outer, len, inner;
  split(a, 0, axis, &outer, &len, &inner);
  const double *x = a->in[0];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double m = -INFINITY, s = 0;
      for (int64_t k = 0; k < len; k++) m = fmax(m, x[(o * len + k) * inner + i]);
      for (int64_t k = 0; k < len; k++) s += exp(x[(o * len + k) * inner + i] - m);
      for (int64_t k = 0; k < len; k++) {
        double v = x[(o * len + k) * inner + i] - m;
        a->out[(o * len + k) * inner + i] = logp ? v - log(s) : exp(v) / s;
      }
    }
}

/* ---- rows.tex: row-resident kernels -------------------------------------------------------------------- */

static void row_softmax(const double *x, int64_t K, double *p, double *lse) {
  double m = -INFINITY, s = 0;
  for (int64_t k = 0; k < K; k++) m = fmax(m, x[k]);
  for (int64_t k = 0; k < K; k++) s += exp(x[k] - m);
  for (int64_t k = 0; k < K; k++) p[k] = exp(x[k] - m) / s;
  *lse = m + log(s);
}

static void rows_lse(const RefArgs *a) {
  int64_t N = a->in_shape[0][0], K = a->in_shape[0][1];
  double *p = malloc(sizeof(double) * (size_t)(K + 1));
  for (int64_t n = 0; n < N; n++) row_softmax(a->in[0] + n * K, K, p, &a->out[n]);
  free(p);
}

/* d/dx sum(softmax(x) w) = p (w - sum(p w)); of sum(log_softmax(x) w) = w - p sum(w);
 * of sum(logsumexp(x) w) = w_n p */
static void rows_grad(const RefArgs *a, int which) {
  int64_t N = a->in_shape[0][0], K = a->in_shape[0][1];
  double *p = malloc(sizeof(double) * (size_t)(K + 1)), lse;
  for (int64_t n = 0; n < N; n++) {
    const double *w = a->in[1] + (which == 2 ? n : n * K);
    double *g = a->out + n * K, pw = 0, sw = 0;
    row_softmax(a->in[0] + n * K, K, p, &lse);
    for (int64_t k = 0; which < 2 && k < K; k++) pw += p[k] * w[k], sw += w[k];
    for (int64_t k = 0; k < K; k++) g[k] = which == 0 ? p[k] * (w[k] - pw) : which == 1 ? w[k] - p[k] * sw : w[0] * p[k];
  }
  free(p);
}
static void rows_sm_grad(const RefArgs *a) { rows_grad(a, 0); }
static void rows_lsm_grad(const RefArgs *a) { rows_grad(a, 1); }
static void rows_lse_grad(const RefArgs *a) { rows_grad(a, 2); }

/* y = xhat g + b, xhat = (x - mu) r, r = 1/sqrt(var + eps); dy = w g:
 * dx = r (dy - mean(dy) - xhat mean(dy xhat)) */
static void rows_ln_grad(const RefArgs *a) {
  int64_t N = a->in_shape[0][0], D = a->in_shape[0][1];
  for (int64_t n = 0; n < N; n++) {
    const double *x = a->in[0] + n * D, *w = a->in[3] + n * D, *g = a->in[1];
    double mu = 0, var = 0, mdy = 0, mdyx = 0;
    for (int64_t d = 0; d < D; d++) mu += x[d];
    mu /= (double)D;
    for (int64_t d = 0; d < D; d++) var += (x[d] - mu) * (x[d] - mu);
    var /= (double)D;
    double r = 1 / sqrt(var + 1e-5);
    for (int64_t d = 0; d < D; d++) mdy += w[d] * g[d], mdyx += w[d] * g[d] * (x[d] - mu) * r;
    mdy /= (double)D, mdyx /= (double)D;
    for (int64_t d = 0; d < D; d++) a->out[n * D + d] = r * (w[d] * g[d] - mdy - (x[d] - mu) * r * mdyx);
  }
}

static void sm_ax0(const RefArgs *a) { softmax_axis(a, 0, false); }
static void sm_ax1(const RefArgs *a) { softmax_axis(a, 1, false); }
static void sm_axm1(const RefArgs *a) { softmax_axis(a, -1, false); }
static void lsm_axm1(const RefArgs *a) { softmax_axis(a, -1, true); }

/* ---- logreg.tex -------------------------------------------------------------------------------------- */

/* z[N,K] = x @ W + b for W[D,K] (or w[D]: K = 1), b[K] or scalar. */
static double *logits(const double *W, const int64_t *sw, int rw, const double *b, const double *x, const int64_t *sx, int64_t *kout) {
  int64_t N = sx[0], D = sx[1], K = rw == 2 ? sw[1] : 1;
  double *z = calloc((size_t)(N * K) + 1, sizeof(double));
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++) {
      double acc = 0;
      for (int64_t d = 0; d < D; d++) acc += x[n * D + d] * W[d * K + k];
      z[n * K + k] = acc + b[rw == 2 ? k : 0];
    }
  *kout = K;
  return z;
}

static void softmax_rows(double *z, int64_t N, int64_t K) {
  for (int64_t n = 0; n < N; n++) {
    double m = -INFINITY, s = 0;
    for (int64_t k = 0; k < K; k++) m = fmax(m, z[n * K + k]);
    for (int64_t k = 0; k < K; k++) s += exp(z[n * K + k] - m);
    for (int64_t k = 0; k < K; k++) z[n * K + k] = exp(z[n * K + k] - m) / s;
  }
}

static void lr_predict(const RefArgs *a) { /* W, b, x */
  int64_t K, N = a->in_shape[2][0];
  double *z = logits(a->in[0], a->in_shape[0], 2, a->in[1], a->in[2], a->in_shape[2], &K);
  softmax_rows(z, N, K);
  memcpy(a->out, z, sizeof(double) * (size_t)(N * K));
  free(z);
}

static void lr_binary(const RefArgs *a) { /* w, b, x */
  int64_t K, N = a->in_shape[2][0];
  double *z = logits(a->in[0], a->in_shape[0], 1, a->in[1], a->in[2], a->in_shape[2], &K);
  for (int64_t n = 0; n < N; n++) a->out[n] = sigmoid_d(z[n]);
  free(z);
}

static void lr_classify(const RefArgs *a) {
  int64_t K, N = a->in_shape[2][0];
  double *z = logits(a->in[0], a->in_shape[0], 1, a->in[1], a->in[2], a->in_shape[2], &K);
  for (int64_t n = 0; n < N; n++) a->out[n] = fabs(z[n]) < 1e-4 ? REF_ANY : z[n] > 0;
  free(z);
}

static void lr_loss(const RefArgs *a) { /* W, b, x, y: -mean_n sum_k y log p */
  int64_t K, N = a->in_shape[2][0];
  double *z = logits(a->in[0], a->in_shape[0], 2, a->in[1], a->in[2], a->in_shape[2], &K);
  softmax_rows(z, N, K);
  double total = 0;
  for (int64_t n = 0; n < N; n++) {
    double s = 0;
    for (int64_t k = 0; k < K; k++) s += a->in[3][n * K + k] * log(z[n * K + k]);
    total += s;
  }
  a->out[0] = -(total / (double)N);
  free(z);
}

/* ---- errs.tex ---------------------------------------------------------------------------------------- */

static void errs_f(const RefArgs *a) {
  for (int64_t n = 0; n < a->out_numel; n++) a->out[n] = a->in[0][3 * n] + a->in[0][3 * n + 1] + a->in[0][3 * n + 2] + a->in[1][n];
}
EW(errs_g, v[0] != 0 ? v[1] : -v[1])
EW(errs_h, v[0] * 2)

/* ---- minmax2.tex: NaN propagates, max(-0, +0) = +0, min(-0, +0) = -0 ---------------------------------- */

static double max_d(double x, double y) {
  if (isnan(x) || isnan(y)) return NAN;
  if (x == 0 && y == 0) return signbit(x) && signbit(y) ? -0.0 : 0.0;
  return x > y ? x : y;
}

static double min_d(double x, double y) {
  if (isnan(x) || isnan(y)) return NAN;
  if (x == 0 && y == 0) return signbit(x) || signbit(y) ? -0.0 : 0.0;
  return x < y ? x : y;
}

EW(mm_max, max_d(v[0], v[1]))
EW(mm_min, min_d(v[0], v[1]))
EW(mm_clamp, min_d(max_d(v[0], v[1]), v[2]))
EW(mm_relu, max_d(v[0], 0.0))
EW(mm_zmin, min_d(0.0, v[0]))
EW(mm_lmaxmin, max_d(v[0], v[1]) - min_d(v[0], -v[1]))
EW(mm_nanprop, max_d(v[0], v[1]) - min_d(v[1], v[0]))

/* ---- layernorm.tex --------------------------------------------------------------------------------------- */

static void ln_layernorm(const RefArgs *a) { /* x[N,D], g[D], b[D] over the last axis */
  int64_t N = a->in_shape[0][0], D = a->in_shape[0][1];
  for (int64_t n = 0; n < N; n++) {
    const double *x = a->in[0] + n * D;
    double mu = 0, var = 0;
    for (int64_t d = 0; d < D; d++) mu += x[d];
    mu /= (double)D;
    for (int64_t d = 0; d < D; d++) var += (x[d] - mu) * (x[d] - mu);
    var /= (double)D;
    for (int64_t d = 0; d < D; d++) a->out[n * D + d] = (x[d] - mu) / sqrt(var + 1.0e-5) * a->in[1][d] + a->in[2][d];
  }
}

static void ln_standardize(const RefArgs *a) { /* x[N,D] over axis 0 */
  int64_t N = a->in_shape[0][0], D = a->in_shape[0][1];
  for (int64_t d = 0; d < D; d++) {
    double mu = 0, var = 0;
    for (int64_t n = 0; n < N; n++) mu += a->in[0][n * D + d];
    mu /= (double)N;
    for (int64_t n = 0; n < N; n++) var += (a->in[0][n * D + d] - mu) * (a->in[0][n * D + d] - mu);
    var /= (double)N;
    for (int64_t n = 0; n < N; n++) a->out[n * D + d] = (a->in[0][n * D + d] - mu) / sqrt(var + 1.0e-9);
  }
}

static void ln_rms3(const RefArgs *a) {
  reduce(a, R_SUMSQ, 2);
  int64_t D = a->in_shape[0][2];
  for (int64_t o = 0; o < a->out_numel; o++) a->out[o] = sqrt(a->out[o] / (double)D);
}

static void ln_center3(const RefArgs *a) { /* x[B,N,D] - mean over axis 0 */
  int64_t B = a->in_shape[0][0], R = a->in_shape[0][1] * a->in_shape[0][2];
  for (int64_t r = 0; r < R; r++) {
    double mu = 0;
    for (int64_t b = 0; b < B; b++) mu += a->in[0][b * R + r];
    mu /= (double)B;
    for (int64_t b = 0; b < B; b++) a->out[b * R + r] = a->in[0][b * R + r] - mu;
  }
}

/* ---- poly_dims.tex --------------------------------------------------------------------------------------------- */

/* y[n, i] = x[n, i + 2] - 4 x[n, i] + N for x [N, 6]: float(N), float(4) exact. */
static void pd_shift(const RefArgs *a) {
  int64_t N = a->in_shape[0][0];
  for (int64_t n = 0; n < N; n++)
    for (int64_t i = 0; i < 4; i++)
      a->out[n * 4 + i] = (double)(float)((float)a->in[0][n * 6 + i + 2] - (float)a->in[0][n * 6 + i] * 4.0f) + (double)N;
}

/* tril(A, k=-1): strictly below the diagonal. */
static void pd_tril(const RefArgs *a) {
  int64_t N = a->in_shape[0][0];
  for (int64_t i = 0; i < N; i++)
    for (int64_t j = 0; j < 5; j++) a->out[i * 5 + j] = j <= i - 1 ? a->in[0][i * 5 + j] : 0.0;
}

/* ---- kmeans.tex ---------------------------------------------------------------------------------------------- */

/* d[n,k] = sum_d (x[n,d] - c[k,d])^2 for x[N,...,D], c[...,K,D]. */
static double *dist2_of(const RefArgs *a, int64_t *pN, int64_t *pK) {
  int64_t N = a->in_shape[0][0], D = a->in_shape[0][a->in_rank[0] - 1];
  int64_t K = a->in_shape[1][a->in_rank[1] - 2];
  double *d = calloc((size_t)(N * K) + 1, sizeof(double));
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++) {
      double s = 0;
      for (int64_t j = 0; j < D; j++) {
        double t = a->in[0][n * D + j] - a->in[1][k * D + j];
        s += t * t;
      }
      d[n * K + k] = s;
    }
  *pN = N, *pK = K;
  return d;
}

static void km_dist2(const RefArgs *a) {
  int64_t N, K;
  double *d = dist2_of(a, &N, &K);
  memcpy(a->out, d, sizeof(double) * (size_t)(N * K));
  free(d);
}

static void km_pairwise(const RefArgs *a) { km_dist2(a); }

static void km_nearest(const RefArgs *a) {
  int64_t N, K;
  double *d = dist2_of(a, &N, &K);
  for (int64_t n = 0; n < N; n++) {
    double m = INFINITY;
    for (int64_t k = 0; k < K; k++) m = fmin(m, d[n * K + k]);
    a->out[n] = m;
  }
  free(d);
}

static void km_assign(const RefArgs *a) {
  int64_t N, K;
  double *d = dist2_of(a, &N, &K);
  for (int64_t n = 0; n < N; n++) {
    double m = INFINITY;
    int near = 0;
    for (int64_t k = 0; k < K; k++) m = fmin(m, d[n * K + k]);
    for (int64_t k = 0; k < K; k++) near += d[n * K + k] - m <= 1e-4;
    for (int64_t k = 0; k < K; k++) a->out[n * K + k] = d[n * K + k] - m > 1e-4 ? 0 : near == 1 ? 1 : REF_ANY;
  }
  free(d);
}

/* ---- sum_order.tex: texc's documented order, emulated in f32 ----------------------------------------------------- */

/* Element i (at x[i * stride]) to lane i mod 32, lanes from -0.0 in increasing
 * i, then lane j += lane j + 16, + 8, + 4, + 2, + 1.  Empty: +0.0.  Blocked
 * (rule 4): more than 4096 elements are summed per block of 4096 so, and the
 * block results, in order, once more so. */
#define LANE_SUM(name, T)                                                                                                                  \
  static T name##_level(const double *x, int64_t stride, int64_t len) {                                                                    \
    T lane[32];                                                                                                                            \
    for (int j = 0; j < 32; j++) lane[j] = -(T)0.0;                                                                                        \
    for (int64_t i = 0; i < len; i++) lane[i % 32] = lane[i % 32] + (T)x[i * stride];                                                      \
    for (int w = 16; w >= 1; w /= 2)                                                                                                       \
      for (int j = 0; j < w; j++) lane[j] = lane[j] + lane[j + w];                                                                         \
    return lane[0];                                                                                                                        \
  }                                                                                                                                        \
  static T name(const double *x, int64_t stride, int64_t len) {                                                                            \
    if (len == 0) return (T)0.0;                                                                                                           \
    int64_t nb = (len + 4095) / 4096;                                                                                                      \
    double *blocks = malloc(sizeof(double) * (size_t)nb);                                                                                  \
    for (int64_t b = 0; b < nb; b++)                                                                                                       \
      blocks[b] = (double)name##_level(x + b * 4096 * stride, stride, len - b * 4096 < 4096 ? len - b * 4096 : 4096);                      \
    T r = name##_level(blocks, 1, nb); /* each block result is exactly a T */                                                              \
    free(blocks);                                                                                                                          \
    return r;                                                                                                                              \
  }
LANE_SUM(lane_sum, float)
LANE_SUM(lane_sum_f64, double)

static void ordered_sum(const RefArgs *a, int axis, bool mean) {
  int64_t outer, len, inner;
  split(a, 0, axis, &outer, &len, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      float s = lane_sum(a->in[0] + o * len * inner + i, inner, len);
      a->out[o * inner + i] = mean ? (double)(s / (float)len) : (double)s;
    }
}

static void so_sum_ax0_f64(const RefArgs *a) {
  int64_t outer, len, inner;
  split(a, 0, 0, &outer, &len, &inner);
  for (int64_t i = 0; i < inner; i++) a->out[i] = lane_sum_f64(a->in[0] + i, inner, len);
}
static void so_outer(const RefArgs *a) { /* sum(a * b, axis=0), a [N, R, D, 1], b [N, R, 1, D]: f64 products */
  int64_t N = a->in_shape[0][0], R = a->in_shape[0][1], D = a->in_shape[0][2];
  double *p = malloc(sizeof(double) * (size_t)(N + 1));
  for (int64_t r = 0; r < R; r++)
    for (int64_t i = 0; i < D; i++)
      for (int64_t j = 0; j < D; j++) {
        for (int64_t n = 0; n < N; n++) p[n] = a->in[0][(n * R + r) * D + i] * a->in[1][(n * R + r) * D + j];
        a->out[(r * D + i) * D + j] = lane_sum_f64(p, 1, N);
      }
  free(p);
}
static void so_sum_all(const RefArgs *a) { ordered_sum(a, ALL, false); }
static void so_sum_all_f64(const RefArgs *a) { a->out[0] = lane_sum_f64(a->in[0], 1, a->in_numel[0]); }
static void so_sumsq(const RefArgs *a) { /* sum(x * x) in f32: the products rounded to f32 first */
  int64_t n = a->in_numel[0];
  double *sq = malloc(sizeof(double) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) sq[i] = (double)((float)a->in[0][i] * (float)a->in[0][i]);
  a->out[0] = lane_sum(sq, 1, n);
  free(sq);
}
static void so_sumsq_exact(const RefArgs *a) { /* in f64: the accuracy the blocked order must get near */
  double sum = 0;
  for (int64_t i = 0; i < a->in_numel[0]; i++) sum += (double)((float)a->in[0][i] * (float)a->in[0][i]);
  a->out[0] = sum;
}
static void so_sum_t(const RefArgs *a) { /* sum(transpose(x)) of x [N, K]: x[n, k] is element k * N + n */
  int64_t N = a->in_shape[0][0], K = a->in_shape[0][1];
  double *t = malloc(sizeof(double) * (size_t)(N * K + 1));
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++) t[k * N + n] = a->in[0][n * K + k];
  a->out[0] = lane_sum(t, 1, N * K);
  free(t);
}
static void so_sum_ax0(const RefArgs *a) { ordered_sum(a, 0, false); }
static void so_sum_ax1(const RefArgs *a) { ordered_sum(a, 1, false); }
static void so_sum_axm1(const RefArgs *a) { ordered_sum(a, -1, false); }
static void so_mean_all(const RefArgs *a) { ordered_sum(a, ALL, true); }

static void so_negzero(const RefArgs *a) {
  int64_t n = a->in_numel[0];
  double *z = calloc((size_t)n + 1, sizeof(double));
  for (int64_t i = 0; i < n; i++) z[i] = -0.0;
  a->out[0] = lane_sum(z, 1, n);
  free(z);
}

static void so_matmul(const RefArgs *a) { /* fma(a, b, acc), k ascending from +0.0, in f32 */
  int64_t M = a->in_shape[0][0], K = a->in_shape[0][1], N = a->in_shape[1][1];
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      float acc = 0.0f;
      for (int64_t k = 0; k < K; k++) acc = fmaf((float)a->in[0][m * K + k], (float)a->in[1][k * N + n], acc);
      a->out[m * N + n] = acc;
    }
}

/* ---- the table ----------------------------------------------------------------------------------------------------- */

/* ---- loop_hoist.tex: loops with invariant code, in double ------------------- */

/* out = h0, then `steps` times h = tanh(h @ W + (x @ U + b)) */
static void lh_xu(const RefArgs *a) {
  int64_t N = a->in_shape[0][0], D = a->in_shape[0][1], H = a->in_shape[1][1], steps = (int64_t)a->in[5][0];
  double *h = malloc(sizeof(double) * (size_t)(N * H + 1)), *z = malloc(sizeof(double) * (size_t)(N * H + 1));
  for (int64_t i = 0; i < N * H; i++) h[i] = a->in[1][i];
  for (int64_t t = 0; t < steps; t++) {
    for (int64_t n = 0; n < N; n++)
      for (int64_t j = 0; j < H; j++) {
        double hw = 0, xu = 0;
        for (int64_t k = 0; k < H; k++) hw += h[n * H + k] * a->in[2][k * H + j];
        for (int64_t d = 0; d < D; d++) xu += a->in[0][n * D + d] * a->in[3][d * H + j];
        z[n * H + j] = tanh(hw + (xu + a->in[4][j]));
      }
    memcpy(h, z, sizeof(double) * (size_t)(N * H));
  }
  memcpy(a->out, h, sizeof(double) * (size_t)(N * H));
  free(h);
  free(z);
}

/* h = h * keep + x @ U[0], `trips` times (U's first row; not read if trips = 0) */
static void lh_rows(const RefArgs *a, int64_t trips, double keep) {
  int64_t N = a->in_shape[0][0], D = a->in_shape[0][1], H = a->in_shape[1][1];
  for (int64_t n = 0; n < N; n++)
    for (int64_t j = 0; j < H; j++) {
      double xu = 0, h = a->in[1][n * H + j];
      for (int64_t d = 0; d < D && trips > 0; d++) xu += a->in[0][n * D + d] * a->in[2][d * H + j];
      for (int64_t t = 0; t < trips; t++) h = h * keep + xu;
      a->out[n * H + j] = h;
    }
}
static void lh_row0(const RefArgs *a) { lh_rows(a, a->in_shape[2][0], 1.0); }
static void lh_row0_3(const RefArgs *a) { lh_rows(a, 3, 0.5); }

static void lh_inner(const RefArgs *a) { /* r = (v <- v/2 + 1, 4 times from w); p + 3r */
  for (int64_t i = 0; i < a->out_numel; i++) {
    double r = a->in[1][i], p = a->in[0][i];
    for (int j = 0; j < 4; j++) r = r * 0.5 + 1;
    for (int t = 0; t < 3; t++) p = p + r;
    a->out[i] = p;
  }
}

static void lh_emits(const RefArgs *a) { /* row t: (2 exp(w) + h_t) - exp(w), h_t = h0 + t exp(w) */
  int64_t T = a->in_shape[2][0], N = a->in_shape[0][0];
  for (int64_t i = 0; i < N; i++) {
    double e = exp(a->in[1][i]), h = a->in[0][i];
    for (int64_t t = 0; t < T; t++, h += e) a->out[t * N + i] = (e * 2 + h) - e;
  }
}

static void lh_pick(const RefArgs *a) { /* h = h/2 + (c > 0 ? exp(w) : 2w), 4 times */
  for (int64_t i = 0; i < a->out_numel; i++) {
    double g = a->in[2][0] > 0 ? exp(a->in[1][i]) : 2 * a->in[1][i], h = a->in[0][i];
    for (int t = 0; t < 4; t++) h = h * 0.5 + g;
    a->out[i] = h;
  }
}

#define R(name) {#name, name}
/* ---- conv_wide.tex ------------------------------------------------------------ */

/* y[n, o, r, q] = sum over (i, u, v) of x[n, i, r + u, q + v] * w[o, i, u, v] */
static void cw_conv(const RefArgs *a) {
  const double *x = a->in[0], *w = a->in[1];
  const int64_t *sx = a->in_shape[0], *sw = a->in_shape[1], *so = a->out_shape;
  int64_t C = sx[1], H = sx[2], Wd = sx[3], U = sw[2], V = sw[3], o = 0;
  for (int64_t n = 0; n < so[0]; n++)
    for (int64_t k = 0; k < so[1]; k++)
      for (int64_t r = 0; r < so[2]; r++)
        for (int64_t q = 0; q < so[3]; q++, o++) {
          double acc = 0;
          for (int64_t i = 0; i < C; i++)
            for (int64_t u = 0; u < U; u++)
              for (int64_t v = 0; v < V; v++) acc += x[((n * C + i) * H + r + u) * Wd + q + v] * w[((k * C + i) * U + u) * V + v];
          a->out[o] = acc;
        }
}

/* ---- loops (loop.tex): the recurrences, in double ----------------------- */

static void lp_rnn(const RefArgs *a) { /* h = tanh(h @ W + x[t] @ U + b), T times */
  int64_t T = a->in_shape[0][0], N = a->in_shape[0][1], D = a->in_shape[0][2], H = a->in_shape[1][1];
  double *h = malloc(sizeof(double) * (size_t)(N * H + 1)), *z = malloc(sizeof(double) * (size_t)(N * H + 1));
  for (int64_t i = 0; i < N * H; i++) h[i] = a->in[1][i];
  for (int64_t t = 0; t < T; t++) {
    for (int64_t n = 0; n < N; n++)
      for (int64_t j = 0; j < H; j++) {
        double acc = a->in[4][j];
        for (int64_t k = 0; k < H; k++) acc += h[n * H + k] * a->in[2][k * H + j];
        for (int64_t d = 0; d < D; d++) acc += a->in[0][(t * N + n) * D + d] * a->in[3][d * H + j];
        z[n * H + j] = tanh(acc);
      }
    memcpy(h, z, sizeof(double) * (size_t)(N * H));
  }
  memcpy(a->out, h, sizeof(double) * (size_t)(N * H));
  free(h);
  free(z);
}

/* Backpropagation through time for sum(h_T * h_T) of lp_rnn's recurrence:
 * the gradient with respect to W (which=0) or to x (which=1). */
static void rnn_grad(const RefArgs *a, int which) {
  int64_t T = a->in_shape[0][0], N = a->in_shape[0][1], D = a->in_shape[0][2], H = a->in_shape[1][1];
  const double *x = a->in[0], *W = a->in[2], *U = a->in[3], *b = a->in[4];
  double *hs = calloc((size_t)((T + 1) * N * H + 1), sizeof(double)), *dh = calloc((size_t)(N * H + 1), sizeof(double));
  double *dz = calloc((size_t)(N * H + 1), sizeof(double));
  for (int64_t i = 0; i < N * H; i++) hs[i] = a->in[1][i];
  for (int64_t t = 0; t < T; t++)
    for (int64_t n = 0; n < N; n++)
      for (int64_t j = 0; j < H; j++) {
        double acc = b[j];
        for (int64_t k = 0; k < H; k++) acc += hs[(t * N + n) * H + k] * W[k * H + j];
        for (int64_t d = 0; d < D; d++) acc += x[(t * N + n) * D + d] * U[d * H + j];
        hs[((t + 1) * N + n) * H + j] = tanh(acc);
      }
  memset(a->out, 0, sizeof(double) * (size_t)a->out_numel);
  for (int64_t i = 0; i < N * H; i++) dh[i] = 2 * hs[T * N * H + i];
  for (int64_t t = T - 1; t >= 0; t--) {
    const double *hn = hs + (t + 1) * N * H, *h = hs + t * N * H;
    for (int64_t i = 0; i < N * H; i++) dz[i] = dh[i] * (1 - hn[i] * hn[i]);
    for (int64_t n = 0; n < N; n++)
      for (int64_t j = 0; j < H; j++) {
        if (which == 0)
          for (int64_t k = 0; k < H; k++) a->out[k * H + j] += h[n * H + k] * dz[n * H + j];
        if (which == 1)
          for (int64_t d = 0; d < D; d++) a->out[(t * N + n) * D + d] += dz[n * H + j] * U[d * H + j];
      }
    for (int64_t n = 0; n < N; n++)
      for (int64_t k = 0; k < H; k++) {
        double acc = 0;
        for (int64_t j = 0; j < H; j++) acc += dz[n * H + j] * W[k * H + j];
        dh[n * H + k] = acc;
      }
  }
  free(dz);
  free(dh);
  free(hs);
}

static void lp_rnn_gW(const RefArgs *a) { rnn_grad(a, 0); }
static void lp_rnn_gx(const RefArgs *a) { rnn_grad(a, 1); }

static void lp_euler(const RefArgs *a) { /* y += dt * (-a*y + cos(y)), steps times */
  int64_t steps = (int64_t)a->in[3][0];
  for (int64_t i = 0; i < a->out_numel; i++) {
    double y = a->in[0][i];
    for (int64_t t = 0; t < steps; t++) y = y + a->in[2][0] * (-a->in[1][i] * y + cos(y));
    a->out[i] = y;
  }
}

static void lp_fib(const RefArgs *a) { /* (p, q) -> (q, p + q), K times; p - 2q */
  int64_t K = a->in_shape[2][0];
  for (int64_t i = 0; i < a->out_numel; i++) {
    double p = a->in[0][i], q = a->in[1][i];
    for (int64_t t = 0; t < K; t++) {
      double r = p + q;
      p = q, q = r;
    }
    a->out[i] = p - 2 * q;
  }
}

static void lp_grid(const RefArgs *a) { /* s = (v <- v/2 + j, j < t + 1) + a0, t < k */
  int64_t k = (int64_t)a->in[1][0];
  for (int64_t i = 0; i < a->out_numel; i++) {
    double s = a->in[0][i];
    for (int64_t t = 0; t < k; t++) {
      double v = s;
      for (int64_t j = 0; j <= t; j++) v = v * 0.5 + (double)j;
      s = v + a->in[0][i];
    }
    a->out[i] = s;
  }
}

static void errs_lp(const RefArgs *a) { /* x * 2^k: exact */
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = ldexp(a->in[0][i], (int)a->in[1][0]);
}

static void errs_wh(const RefArgs *a) { /* x / 2^k, k the halvings until max |x| <= 1 (exact) */
  double m = 0;
  for (int64_t i = 0; i < a->out_numel; i++) m = fmax(m, fabs(a->in[0][i]));
  int k = 0;
  for (; m > 1; m *= 0.5) k++;
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = ldexp(a->in[0][i], -k);
}

static void lp_inl(const RefArgs *a) { /* a / 4 + a / 8 */
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = a->in[0][i] / 4 + a->in[0][i] / 8;
}

static void lp_called(const RefArgs *a) { /* h = (h / 4) * w + 1 + t, 5 times */
  for (int64_t i = 0; i < a->out_numel; i++) {
    double h = a->in[0][i];
    for (int t = 0; t < 5; t++) h = h * 0.25 * a->in[1][i] + 1 + t;
    a->out[i] = h;
  }
}

/* ---- ifs (cond.tex): the same choices, in double ------------------------------- */

static void if_pick(const RefArgs *a) { /* s > 0 ? x*s + 1 : tanh(x)^2 - s */
  double s = a->in[1][0];
  for (int64_t i = 0; i < a->out_numel; i++) {
    double x = a->in[0][i], y = tanh(x);
    a->out[i] = s > 0 ? x * s + 1 : y * y - s;
  }
}

static void if_pair(const RefArgs *a) { /* s > 0 ? sum(x^2) * s : sum(x) * 3s */
  double s = a->in[1][0], sq = 0, sx = 0;
  for (int64_t i = 0; i < a->in_numel[0]; i++) sq += a->in[0][i] * a->in[0][i], sx += a->in[0][i];
  a->out[0] = s > 0 ? sq * s : sx * (s * 3);
}

static void if_chain(const RefArgs *a) { /* s > 1: x + 1; s > 0: 2x; s > -1: -x; else x^2 */
  double s = a->in[1][0];
  for (int64_t i = 0; i < a->out_numel; i++) {
    double x = a->in[0][i];
    a->out[i] = s > 1 ? x + 1 : s > 0 ? x * 2 : s > -1 ? -x : x * x;
  }
}

static void if_iter(const RefArgs *a) { /* v = even t ? v / 2 : v + x, k times */
  int64_t k = (int64_t)a->in[1][0];
  for (int64_t i = 0; i < a->out_numel; i++) {
    double v = a->in[0][i];
    for (int64_t t = 0; t < k; t++) v = t % 2 == 0 ? v * 0.5 : v + a->in[0][i];
    a->out[i] = v;
  }
}

static void if_powsum(const RefArgs *a) { /* s > 0 ? x s^3 : x - s */
  double s = a->in[1][0];
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = s > 0 ? a->in[0][i] * s * s * s : a->in[0][i] - s;
}

static void if_bysize(const RefArgs *a) { /* K > 1 ? x[0] + x[1] : sum(y) + 0.5 */
  double sy = 0.5;
  for (int64_t i = 0; i < a->in_numel[1]; i++) sy += a->in[1][i];
  a->out[0] = a->in_shape[0][0] > 1 ? a->in[0][0] + a->in[0][1] : sy;
}

static void if_lazy(const RefArgs *a) { /* 0 <= i < N ? x[i] : -1 */
  int64_t i = (int64_t)a->in[1][0];
  a->out[0] = i >= 0 && i < a->in_numel[0] ? a->in[0][i] : -1;
}

static void lt_nested(const RefArgs *a) { /* 3 times: w = v / 2^(k+1); v = w + sum(w) */
  int64_t k = (int64_t)a->in[1][0], n = a->out_numel;
  double *v = malloc(sizeof(double) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) v[i] = a->in[0][i];
  for (int t = 0; t < 3; t++) {
    double z = 0;
    for (int64_t i = 0; i < n; i++) {
      for (int64_t j = 0; j <= k; j++) v[i] *= 0.5;
      z += v[i];
    }
    for (int64_t i = 0; i < n; i++) v[i] += z;
  }
  memcpy(a->out, v, sizeof(double) * (size_t)n);
  free(v);
}

/* ---- while loops (while.tex) ---- */

static void wh_sqrt(const RefArgs *a) {
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = sqrt(a->in[0][i]);
}

static void wh_dsqrt(const RefArgs *a) {
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = a->in[1][i] / (2 * sqrt(a->in[0][i]));
}

/* Halvings until every |x| <= 1 (the same for all elements). */
static int64_t wh_count(const RefArgs *a) {
  double m = 0;
  for (int64_t i = 0; i < a->in_numel[0]; i++) m = fmax(m, fabs(a->in[0][i]));
  int64_t k = 0;
  for (; m > 1; m *= 0.5) k++;
  return k;
}

static void wh_halve(const RefArgs *a) {
  int64_t k = wh_count(a);
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = ldexp(a->in[0][i], (int)-k) + (double)k;
}

static void wh_halves(const RefArgs *a) { a->out[0] = (double)wh_count(a); }

static void wh_nested(const RefArgs *a) { /* K times: z = 3y + w[t], halved until max |z| <= 1; y = z + 1 */
  int64_t n = a->out_numel, K = a->in_numel[1];
  double *y = malloc(sizeof(double) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) y[i] = a->in[0][i];
  for (int64_t t = 0; t < K; t++) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) y[i] = y[i] * 3.0 + a->in[1][t], m = fmax(m, fabs(y[i]));
    for (int it = 0; it < 200 && m > 1; it++, m *= 0.5)
      for (int64_t i = 0; i < n; i++) y[i] *= 0.5;
    for (int64_t i = 0; i < n; i++) y[i] += 1.0;
  }
  memcpy(a->out, y, sizeof(double) * (size_t)n);
  free(y);
}

static const struct {
  const char *name;
  RefFn fn;
} table[] = {
    R(ident),          R(zero),           R(matmul),       R(sum_all),         R(sum_ax0),        R(sum_ax1),        R(sum_ax2),
    R(sum_axm1),       R(mean_all),       R(mean_ax0),     R(mean_ax1),        R(mean_ax2),       R(mean_axm1),      R(max_all),
    R(max_ax0),        R(max_ax1),        R(max_ax2),      R(max_axm1),        R(min_all),        R(min_ax0),        R(min_ax1),
    R(min_ax2),        R(min_axm1),       R(sumsq_ax1),    R(bc_scalar),       R(bc_add),         R(bc_sub),         R(bc_mul),
    R(bc_div),         R(bc_fma3),        R(bc_colrow),    R(bc_scal3),        R(mm_bias),        R(mm_bias_relu),   R(vm_bias2),
    R(mm_chain),       R(mlp2),           R(transpose),    R(tmatmul),         R(gram),           R(tadd),           R(tcol),
    R(w_relu),         R(w_pick),         R(w_maskrow),    R(w_clamp),         R(w_le),           R(w_sign),         R(w_eqne),
    R(w_ge),           R(w_andor),        R(w_bool),       R(w_not),           R(u_floor),        R(u_ceil),         R(u_round),
    R(u_sign),         R(u_rsqrt),        R(u_rsqrt_64),   R(u_logaddexp),     R(u_logaddexp_64), R(u_clamp),        R(u_lgamma),
    R(u_lgamma_64),    R(u_digamma),      R(u_digamma_64), R(u_trigamma),      R(u_trigamma_64),  R(u_gamma_poles),  R(u_pymod),
    R(u_pymod_64),     R(u_pymod_lit),    R(u_tetragamma), R(u_tetragamma_64), R(u_exp),          R(u_log),          R(u_sqrt),
    R(u_tanh),         R(u_sigmoid),      R(u_abs),        R(u_sin),           R(u_cos),          R(u_mix),          R(u_exp_64),
    R(u_log_64),       R(u_sqrt_64),      R(u_tanh_64),    R(u_sigmoid_64),    R(u_abs_64),       R(u_sin_64),       R(u_cos_64),
    R(u_mix_64),       R(p_sq),           R(p_negsq),      R(p_pow),           R(p_rpow),         R(p_right),        R(p_pow_64),
    R(p_neg),          R(p_negneg),       R(wk_half),      R(wk_plus1),        R(wk_affine),      R(wk_third),       R(wk_ilit),
    R(wk_llit),        R(wk_dlit),        R(wk_fold),      R(wk_mixed),        R(wk_neglit),      R(wk_third_const), R(wk_42),
    R(wk_point3),      R(io_div),         R(io_mod),       R(io_divmod),       R(io_bits),        R(io_shift32),     R(io_shl64),
    R(io_shr64),       R(io_intmin32),    R(io_intmin64),  R(io_weak),         R(io_clamp),       R(ia_add),         R(ia_mul),
    R(ia_abs),         R(ia_maxmin),      R(ia_col),       R(ia_ge),           R(ia_scal),        R(ia_meanf),       R(ia_dot),
    R(b_lt),           R(b_gt),           R(b_cmp6),       R(b_logic),         R(b_eq),           R(b_ne),           R(b_tonum),
    R(b_tobool),       R(b_nan_ne),       R(b_nan_cmp),    R(b_lits),          R(c_trunc_i32),    R(c_trunc_i64),    R(c_sat_i32),
    R(c_quarter),      R(c_times3),       R(c_roundtrip),  R(c_bool2i),        R(c_castlit),      R(cl_twice),       R(cl_c3),
    R(cl_c3c3),        R(cl_swapped),     R(cl_second),    R(s_axpy),          R(s_sci),          R(s_scred),        R(s_dot),
    R(s_norm),         R(s_smat),         R(sm_ax0),       R(sm_ax1),          R(sm_axm1),        R(lsm_axm1),       R(lr_predict),
    R(lr_binary),      R(lr_classify),    R(lr_loss),      R(errs_f),          R(errs_g),         R(errs_h),         R(mm_max),
    R(mm_min),         R(mm_clamp),       R(mm_relu),      R(mm_zmin),         R(mm_lmaxmin),     R(mm_nanprop),     R(ln_layernorm),
    R(ln_standardize), R(ln_rms3),        R(ln_center3),   R(km_dist2),        R(km_pairwise),    R(km_nearest),     R(km_assign),
    R(pd_shift),       R(pd_tril),        R(sh_second),    R(sh_affine),       R(sh_rowsum),      R(sh_rmm),         R(sh_bget0),
    R(sh_outer),       R(sh_fills),       R(sh_likes),     R(sh_fullint),      R(sh_perm201),     R(sh_perm1032),    R(sh_meann),
    R(sh_sizes),       R(sh_poly),        R(sh_pairs),     R(cw_conv),         R(so_sum_all),     R(so_sum_all_f64), R(so_sumsq),
    R(so_sumsq_exact), R(so_sum_ax0_f64), R(so_outer),     R(rows_lse),        R(rows_sm_grad),   R(rows_lsm_grad),  R(rows_lse_grad),
    R(rows_ln_grad),   R(so_sum_t),       R(so_sum_ax0),   R(so_sum_ax1),      R(so_sum_axm1),    R(so_mean_all),    R(so_negzero),
    R(so_matmul),      R(errs_lp),        R(errs_wh),      R(lp_rnn),          R(lp_rnn_gW),      R(lp_rnn_gx),      R(lp_euler),
    R(lp_fib),         R(lp_grid),        R(lp_called),    R(lp_inl),          R(if_pick),        R(if_pair),        R(if_chain),
    R(if_iter),        R(if_powsum),      R(if_bysize),    R(if_lazy),         R(lt_nested),      R(wh_sqrt),        R(wh_dsqrt),
    R(wh_halve),       R(wh_halves),      R(wh_nested),    R(lh_xu),           R(lh_row0),        R(lh_row0_3),      R(lh_inner),
    R(lh_emits),       R(lh_pick),
};
#undef R

RefFn ref_lookup(const char *name) {
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].name, name) == 0) return table[i].fn;
  RefFn mm = ref_mm_lookup(name);
  return mm ? mm : ref_red_lookup(name);
}

const char *ref_name_at(int i) {
  int n = (int)(sizeof table / sizeof table[0]), nmm = 0;
  while (ref_mm_name_at(nmm)) nmm++;
  if (i >= 0 && i < n) return table[i].name;
  return i - n < nmm ? ref_mm_name_at(i - n) : ref_red_name_at(i - n - nmm);
}
