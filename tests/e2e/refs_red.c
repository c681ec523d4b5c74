/* refs_red.c — references for the reductions and scans of red_more.tex,
 * red_argmax.tex, red_scan.tex and for batched matrix products in
 * bmm.tex, written from lang/reference.md:
 *   - prod follows the documented 32-lane order (identity 1), emulated in
 *     the output dtype (f32 or f64), so results are exact;
 *   - argmax/argmin: the first index of the maximum (minimum) in the
 *     flattened reduced axes; a NaN counts as the extremum (the first NaN);
 *     an empty axis gives -1;
 *   - cumsum runs in index order, y[0] = x[0], y[i] = y[i-1] + x[i], in the
 *     output dtype;
 *   - var/std: two passes in double (the program's tolerance covers the
 *     order);
 *   - C[b..,m,n] = fma(A[..,m,k], B[..,k,n], acc) for k ascending from +0.0,
 *     in f32 (fmaf), with the batch dims broadcast NumPy-style. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "refs.h"

enum { ALL = -100 };

/* outer x len x inner around one axis of input 0 (or all axes). */
static void split(const RefArgs *a, int axis, int64_t *outer, int64_t *len, int64_t *inner) {
  int r = a->in_rank[0];
  const int64_t *sh = a->in_shape[0];
  *outer = *len = *inner = 1;
  if (axis == ALL) {
    *len = a->in_numel[0];
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

/* ---- prod in the lane order ---- */

static double lane_prod(const double *x, int64_t stride, int64_t len, bool f32) {
  double lane[32];
  for (int j = 0; j < 32; j++) lane[j] = 1.0;
  for (int64_t i = 0; i < len; i++) {
    double p = lane[i % 32] * x[i * stride];
    lane[i % 32] = f32 ? (double)(float)p : p;
  }
  for (int w = 16; w >= 1; w /= 2)
    for (int j = 0; j < w; j++) lane[j] = f32 ? (double)(float)(lane[j] * lane[j + w]) : lane[j] * lane[j + w];
  return lane[0];
}

static void prod(const RefArgs *a, int axis, bool f32) {
  int64_t outer, len, inner;
  split(a, axis, &outer, &len, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) a->out[o * inner + i] = lane_prod(a->in[0] + o * len * inner + i, inner, len, f32);
}
static void prod_all(const RefArgs *a) { prod(a, ALL, true); }
static void prod_ax0(const RefArgs *a) { prod(a, 0, true); }
static void prod_ax1(const RefArgs *a) { prod(a, 1, true); }
static void prod_axm1(const RefArgs *a) { prod(a, -1, true); }
static void prod64_ax1(const RefArgs *a) { prod(a, 1, false); }
/* integer products wrap (two's complement), like the compiled code */
static void iprod_ax1(const RefArgs *a) {
  int64_t outer, len, inner;
  split(a, 1, &outer, &len, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      uint64_t p = 1;
      for (int64_t k = 0; k < len; k++) p *= (uint64_t)(int64_t)a->in[0][(o * len + k) * inner + i];
      a->out[o * inner + i] = (double)(int64_t)p;
    }
}

/* 2 * the product of the other elements of each row (the gradient of
 * sum(prod(x, axis=1) * 2)), by direct multiplication.  The compiled code
 * counts zeros and divides; for values in {-1, 0, 1} both are exact,
 * and a zero in the gradient is +0.0 (a zero product times 2 is +0 when
 * the product was +0: the sign checked is the compiled rule's, where the
 * gradient of an element is +0.0 when another zero is in the slice). */
static void prod_grad_ax1(const RefArgs *a) {
  int64_t N = a->in_shape[0][0], K = a->in_shape[0][1];
  const double *x = a->in[0];
  for (int64_t n = 0; n < N; n++)
    for (int64_t i = 0; i < K; i++) {
      double p = 1;
      for (int64_t j = 0; j < K; j++)
        if (j != i) p *= x[n * K + j];
      a->out[n * K + i] = p == 0 ? 0.0 : 2.0 * p;
    }
}

/* ---- argmax / argmin ---- */

static void argext(const RefArgs *a, int axis, bool max) {
  int64_t outer, len, inner;
  split(a, axis, &outer, &len, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t best = -1;
      double bv = 0;
      for (int64_t k = 0; k < len && !(best >= 0 && isnan(bv)); k++) {
        double v = a->in[0][(o * len + k) * inner + i];
        if (best < 0 || isnan(v) || (max ? v > bv : v < bv)) best = k, bv = v;
      }
      a->out[o * inner + i] = (double)best;
    }
}
static void argmax_all(const RefArgs *a) { argext(a, ALL, true); }
static void argmax_ax0(const RefArgs *a) { argext(a, 0, true); }
static void argmax_ax1(const RefArgs *a) { argext(a, 1, true); }
static void argmax_axm1(const RefArgs *a) { argext(a, -1, true); }
static void argmin_all(const RefArgs *a) { argext(a, ALL, false); }
static void argmin_ax0(const RefArgs *a) { argext(a, 0, false); }
static void argmin_axm1(const RefArgs *a) { argext(a, -1, false); }

/* ---- any / all ---- */

static void anyall(const RefArgs *a, int axis, bool any) {
  int64_t outer, len, inner;
  split(a, axis, &outer, &len, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      bool r = !any;
      for (int64_t k = 0; k < len; k++) {
        bool v = a->in[0][(o * len + k) * inner + i] != 0;
        r = any ? r || v : r && v;
      }
      a->out[o * inner + i] = r;
    }
}
static void any_all(const RefArgs *a) { anyall(a, ALL, true); }
static void any_ax0(const RefArgs *a) { anyall(a, 0, true); }
static void all_all(const RefArgs *a) { anyall(a, ALL, false); }
static void all_axm1(const RefArgs *a) { anyall(a, -1, false); }

/* ---- var / std ---- */

static void var(const RefArgs *a, int axis, int ddof, bool sd) {
  int64_t outer, len, inner;
  split(a, axis, &outer, &len, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double s = 0, ss = 0;
      for (int64_t k = 0; k < len; k++) s += a->in[0][(o * len + k) * inner + i];
      double mean = s / (double)len;
      for (int64_t k = 0; k < len; k++) {
        double d = a->in[0][(o * len + k) * inner + i] - mean;
        ss += d * d;
      }
      double den = (double)(len - ddof) > 0 ? (double)(len - ddof) : 0.0;
      double v = ss / den;
      a->out[o * inner + i] = sd ? sqrt(v) : v;
    }
}
static void var_all(const RefArgs *a) { var(a, ALL, 0, false); }
static void var_ax1(const RefArgs *a) { var(a, 1, 0, false); }
static void var_ax0_d1(const RefArgs *a) { var(a, 0, 1, false); }
static void std_all(const RefArgs *a) { var(a, ALL, 0, true); }
static void std_axm1_d1(const RefArgs *a) { var(a, -1, 1, true); }

/* ---- cumsum ---- */

static void cumsum(const RefArgs *a, int axis, bool f32, bool rev) {
  int64_t outer, len, inner;
  split(a, axis, &outer, &len, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double acc = -0.0;
      for (int64_t j = 0; j < len; j++) {
        int64_t k = rev ? len - 1 - j : j, at = (o * len + k) * inner + i;
        acc = f32 ? (double)((float)acc + (float)a->in[0][at]) : acc + a->in[0][at];
        a->out[at] = acc;
      }
    }
}
static void cumsum_ax0(const RefArgs *a) { cumsum(a, 0, true, false); }
static void cumsum_ax1(const RefArgs *a) { cumsum(a, 1, true, false); }
static void cumsum_axm1(const RefArgs *a) { cumsum(a, -1, true, false); }
static void cumsum64_ax0(const RefArgs *a) { cumsum(a, 0, false, false); }
/* integers: exact in double for the ranges used */
static void icumsum_ax0(const RefArgs *a) { cumsum(a, 0, false, false); }

/* ---- batched matmul ---- */

/* Index of input i at output batch coordinates (right-aligned, extent-1
 * dims stretched), times the matrix size. */
static int64_t batch_offset(const RefArgs *a, int i, const int64_t *bidx, int nb, int64_t msize) {
  int r = a->in_rank[i], ib = r > 2 ? r - 2 : 0;
  int64_t flat = 0;
  for (int d = 0; d < ib; d++) {
    int64_t ext = a->in_shape[i][d];
    flat = flat * ext + (ext == 1 ? 0 : bidx[d + nb - ib]);
  }
  return flat * msize;
}

static void bmm(const RefArgs *a) {
  int ra = a->in_rank[0], rb = a->in_rank[1];
  const int64_t *sa = a->in_shape[0], *sb = a->in_shape[1];
  int64_t M = ra >= 2 ? sa[ra - 2] : 1, K = sa[ra - 1], N = rb >= 2 ? sb[rb - 1] : 1;
  int nb = a->out_rank - (ra >= 2) - (rb >= 2);
  int64_t nbatch = 1, bidx[REF_MAX_RANK] = {0};
  for (int d = 0; d < nb; d++) nbatch *= a->out_shape[d];
  for (int64_t bi = 0; bi < nbatch; bi++) {
    const double *A = a->in[0] + batch_offset(a, 0, bidx, nb, M * K), *B = a->in[1] + batch_offset(a, 1, bidx, nb, K * N);
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) {
        float acc = 0.0f;
        for (int64_t k = 0; k < K; k++) acc = fmaf((float)A[m * K + k], (float)B[k * N + n], acc);
        a->out[(bi * M + m) * N + n] = acc;
      }
    for (int d = nb - 1; d >= 0; d--) {
      if (++bidx[d] < a->out_shape[d]) break;
      bidx[d] = 0;
    }
  }
}

/* ---- red_extremum.tex: rows built from classes (see the program) -------------
 * max/min by lang/reference.md: NaN anywhere gives NaN, max(-0.0, 0.0) is
 * 0.0 and min(-0.0, 0.0) is -0.0; the element values are computed in the
 * program's float type (f32 emulated with float). */
static double ext_val(const RefArgs *a, int64_t n, int64_t k, bool f64) {
  int64_t i = n * a->in_shape[0][1] + k;
  double x = a->in[0][i], ax = fabs(x);
  int c = (int)a->in[1][i], r = (int)a->in[2][n], g = (int)a->in[3][n];
  if (c == 0 && g == 1) return NAN;
  if (c >= 1 && c <= 4) return (const double[]){INFINITY, -INFINITY, -0.0, 0.0}[c - 1];
  switch (r) {
  case 0: return x;
  case 1: return -ax;
  case 2: return x * 0.0;
  case 3: return ax;
  case 4: return -0.0;
  default: return f64 ? x * 1e-310 : (double)((float)x * 1e-39f);
  }
}

static double ext_pick(double acc, double v, bool mx) {
  if (isnan(acc) || isnan(v)) return NAN;
  if (v == acc) return signbit(v) == mx ? acc : v; /* zeros: max keeps +0.0, min -0.0 */
  return (mx ? v > acc : v < acc) ? v : acc;
}

/* The extremum of row n (all rows if n < 0). */
static double ext_row(const RefArgs *a, int64_t n, bool mx, bool f64) {
  int64_t N = a->in_shape[0][0], K = a->in_shape[0][1];
  double m = mx ? -INFINITY : INFINITY;
  for (int64_t q = n < 0 ? 0 : n; q < (n < 0 ? N : n + 1); q++)
    for (int64_t k = 0; k < K; k++) m = ext_pick(m, ext_val(a, q, k, f64), mx);
  return m;
}

static void ext_rows(const RefArgs *a, bool mx, bool f64) {
  for (int64_t n = 0; n < a->in_shape[0][0]; n++) a->out[n] = ext_row(a, n, mx, f64);
}
static void ext_max_rows(const RefArgs *a) { ext_rows(a, true, false); }
static void ext_min_rows(const RefArgs *a) { ext_rows(a, false, false); }
static void ext_max_rows64(const RefArgs *a) { ext_rows(a, true, true); }
static void ext_min_rows64(const RefArgs *a) { ext_rows(a, false, true); }
static void ext_max_all(const RefArgs *a) { a->out[0] = ext_row(a, -1, true, false); }

static void ext_max_sub(const RefArgs *a) {
  int64_t N = a->in_shape[0][0], K = a->in_shape[0][1];
  for (int64_t n = 0; n < N; n++) {
    float m = (float)ext_row(a, n, true, false);
    for (int64_t k = 0; k < K; k++) a->out[n * K + k] = (double)((float)ext_val(a, n, k, false) - m);
  }
}

#define R(n) {#n, n}
static const struct {
  const char *name;
  RefFn fn;
} table[] = {
    R(prod_all),   R(prod_ax0),     R(prod_ax1),     R(prod_axm1),      R(prod64_ax1),     R(iprod_ax1),    R(prod_grad_ax1),
    R(argmax_all), R(argmax_ax0),   R(argmax_ax1),   R(argmax_axm1),    R(argmin_all),     R(argmin_ax0),   R(argmin_axm1),
    R(any_all),    R(any_ax0),      R(all_all),      R(all_axm1),       R(var_all),        R(var_ax1),      R(var_ax0_d1),
    R(std_all),    R(std_axm1_d1),  R(cumsum_ax0),   R(cumsum_ax1),     R(cumsum_axm1),    R(cumsum64_ax0), R(icumsum_ax0),
    R(bmm),        R(ext_max_rows), R(ext_min_rows), R(ext_max_rows64), R(ext_min_rows64), R(ext_max_all),  R(ext_max_sub),
};
#undef R

RefFn ref_red_lookup(const char *name) {
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].name, name) == 0) return table[i].fn;
  return ref_index_lookup(name);
}

const char *ref_red_name_at(int i) {
  int n = (int)(sizeof table / sizeof table[0]);
  return i >= 0 && i < n ? table[i].name : ref_index_name_at(i - n);
}
