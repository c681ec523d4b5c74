/* refs_index.c — references for index notation, slicing, gathers,
 * scatters and array literals (tests/e2e/index_*.tex), written from the
 * meaning of each construct (lang/reference.md, "Index notation"), with
 * plain loops over the output in double:
 *   - comprehensions: out[i..] = body, reductions sum/max/min in double (the
 *     programs' tolerances cover the order);
 *   - slices a:b:c and negative literal indices as NumPy;
 *   - x[idx], take(x, idx, axis=k): out = x.shape[:k] + idx.shape +
 *     x.shape[k+1:], read at idx's value;
 *   - index_add / scatter_add: the sum over the index space in row-major
 *     order, emulated in f32 (a zero accumulator per element, then x +
 *     that), so repeated indices give the compiled result exactly;
 *   - one_hot(y, K): 1.0 at y, a row of zeros where y is outside [0, K);
 *   - gradients written by hand (softmax cross-entropy with integer labels,
 *     an embedding bag, pairwise distances, the k-means cost). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "refs.h"

static int64_t dim(const RefArgs *a, int k, int d) { return a->in_shape[k][d]; }

/* ---- index_comp.tex ---------------------------------------------------------------- */

static void ix_pdist(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), D = dim(a, 0, 1), K = dim(a, 1, 0);
  for (int64_t i = 0; i < N; i++)
    for (int64_t j = 0; j < K; j++) {
      double s = 0;
      for (int64_t k = 0; k < D; k++) {
        double t = a->in[0][i * D + k] - a->in[1][j * D + k];
        s += t * t;
      }
      a->out[i * K + j] = s;
    }
}

static void ix_matvec(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), D = dim(a, 0, 1);
  for (int64_t i = 0; i < N; i++) {
    double s = 0;
    for (int64_t j = 0; j < D; j++) s += a->in[0][i * D + j] * a->in[1][j];
    a->out[i] = s;
  }
}

static void ix_contract(const RefArgs *a) {
  int64_t B = dim(a, 0, 0), N = dim(a, 0, 1), D = dim(a, 0, 2), K = dim(a, 1, 2);
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < N; i++)
      for (int64_t k = 0; k < K; k++) {
        double s = 0;
        for (int64_t j = 0; j < D; j++) s += a->in[0][(b * N + i) * D + j] * a->in[1][(b * D + j) * K + k];
        a->out[(b * N + i) * K + k] = s;
      }
}

static void ix_rowdot(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), D = dim(a, 0, 1);
  for (int64_t i = 0; i < N; i++) {
    double s = 0;
    for (int64_t j = 0; j < D; j++) s += a->in[0][i * D + j] * a->in[1][i * D + j];
    a->out[i] = s;
  }
}

static void ix_perm(const RefArgs *a) {
  int64_t B = dim(a, 0, 0), N = dim(a, 0, 1), D = dim(a, 0, 2);
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < N; i++)
      for (int64_t j = 0; j < D; j++) a->out[(i * B + b) * D + j] = a->in[0][(b * N + i) * D + j];
}

static void ix_trace(const RefArgs *a) {
  int64_t B = dim(a, 0, 0), K = dim(a, 0, 1);
  for (int64_t b = 0; b < B; b++) {
    double s = 0;
    for (int64_t i = 0; i < K; i++) s += a->in[0][(b * K + i) * K + i];
    a->out[b] = s;
  }
}

static void ix_total(const RefArgs *a) {
  double s = 0;
  for (int64_t i = 0; i < a->in_numel[0]; i++) s += a->in[0][i];
  a->out[0] = s;
}

static void ix_dot(const RefArgs *a) {
  double s = 0;
  for (int64_t i = 0; i < a->in_numel[0]; i++) s += a->in[0][i] * a->in[1][i];
  a->out[0] = s;
}

static void ix_outer(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), K = dim(a, 1, 0);
  for (int64_t i = 0; i < N; i++)
    for (int64_t j = 0; j < K; j++) a->out[i * K + j] = (double)(float)(a->in[0][i] * a->in[1][j]);
}

static void ix_rowmax(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), D = dim(a, 0, 1);
  for (int64_t i = 0; i < N; i++) {
    double m = -INFINITY;
    for (int64_t k = 0; k < D; k++) m = fmax(m, a->in[0][i * D + k]);
    a->out[i] = m;
  }
}

static void ix_colmin(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), D = dim(a, 0, 1);
  for (int64_t k = 0; k < D; k++) {
    double m = INFINITY;
    for (int64_t i = 0; i < N; i++) m = fmin(m, (double)(float)(a->in[0][i * D + k] * a->in[1][i]));
    a->out[k] = m;
  }
}

static void ix_ivals(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), K = dim(a, 1, 1);
  for (int64_t i = 0; i < N; i++)
    for (int64_t j = 0; j < K; j++) {
      float t = (float)i * (float)a->in[0][i];
      t = t - (float)(j * 2);
      a->out[i * K + j] = t + (float)(a->in[1][i * K + j] * 3);
    }
}

static void ix_conv(const RefArgs *a) {
  int64_t B = dim(a, 0, 0), C = dim(a, 0, 1), H = dim(a, 0, 2), W = dim(a, 0, 3), O = dim(a, 1, 0);
  const double *x = a->in[0], *w = a->in[1];
  for (int64_t n = 0; n < B; n++)
    for (int64_t o = 0; o < O; o++)
      for (int64_t r = 0; r < H - 2; r++)
        for (int64_t c = 0; c < W - 2; c++) {
          double s = 0;
          for (int64_t i = 0; i < C; i++)
            for (int64_t u = 0; u < 3; u++)
              for (int64_t v = 0; v < 3; v++) s += x[((n * C + i) * H + r + u) * W + c + v] * w[((o * C + i) * 3 + u) * 3 + v];
          a->out[((n * O + o) * (H - 2) + r) * (W - 2) + c] = s;
        }
}

static void ix_interleave(const RefArgs *a) {
  int64_t N = dim(a, 1, 0);
  for (int64_t i = 0; i < N; i++) {
    a->out[i * 2] = a->in[0][i * 2];
    a->out[i * 2 + 1] = (float)a->in[0][i * 2 + 1] - (float)a->in[1][i];
  }
}

static void ix_unpack(const RefArgs *a) {
  int64_t D = dim(a, 1, 0);
  for (int64_t i = 0; i < D; i++)
    for (int64_t j = 0; j < D; j++) a->out[i * D + j] = j <= i ? a->in[0][i * (i + 1) + 2 * j] : a->in[1][j];
}

static void ix_tril(const RefArgs *a) {
  int64_t N = dim(a, 0, 0);
  for (int64_t i = 0; i < N; i++)
    for (int64_t j = 0; j < N; j++) a->out[i * N + j] = j <= i ? a->in[0][i * N + j] : 0.0;
}

static void ix_rev(const RefArgs *a) {
  int64_t N = dim(a, 0, 0);
  for (int64_t i = 0; i < N; i++) a->out[i] = a->in[0][N - 1 - i];
}

/* ---- index_slice.tex ------------------------------------------------------------------- */

static void sl_mid(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), n = 0;
  for (int64_t i = 1; i < N - 1; i++)
    for (int64_t j = 0; j < 6; j += 2) a->out[n++] = a->in[0][i * 6 + j];
}

static void sl_col(const RefArgs *a) {
  for (int64_t i = 0; i < dim(a, 0, 0); i++) a->out[i] = a->in[0][i * 6 + 4];
}

static void sl_tail(const RefArgs *a) {
  for (int64_t j = 0; j < 3; j++) a->out[j] = a->in[0][4 * 6 + 3 + j];
}

static void sl_revrow(const RefArgs *a) {
  for (int64_t j = 0; j < 6; j++) a->out[j] = a->in[0][5 - j];
}

static void sl_revall(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), M = dim(a, 0, 1);
  for (int64_t i = 0; i < N; i++)
    for (int64_t j = 0; j < M; j++) a->out[i * M + j] = a->in[0][(N - 1 - i) * M + (M - 1 - j)];
}

static void sl_scaled(const RefArgs *a) {
  for (int64_t i = 6; i < a->in_numel[0]; i++) a->out[i - 6] = a->in[0][i] * 2.0;
}

static void sl_evens(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), M = dim(a, 0, 1), n = 0;
  for (int64_t i = 0; i < N; i += 2)
    for (int64_t j = 2; j < M; j += 3) a->out[n++] = a->in[0][i * M + j];
}

/* sum(x[::-2] * 2) + sum(x[N // 2:]) in texc's order: lane i mod 32 of each sum */
static double lane_sum_d(const double *v, int64_t n) {
  double lane[32];
  for (int j = 0; j < 32; j++) lane[j] = -0.0;
  for (int64_t i = 0; i < n; i++) lane[i % 32] += v[i];
  for (int w = 16; w >= 1; w /= 2)
    for (int j = 0; j < w; j++) lane[j] += lane[j + w];
  return n ? lane[0] : 0.0;
}

static void sl_revstep(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), n = 0;
  double *v = calloc((size_t)N + 1, sizeof(double));
  for (int64_t i = N - 1; i >= 0; i -= 2) v[n++] = a->in[0][i] * 2.0;
  double s1 = lane_sum_d(v, n);
  n = 0;
  for (int64_t i = N / 2; i < N; i++) v[n++] = a->in[0][i];
  a->out[0] = s1 + lane_sum_d(v, n);
  free(v);
}

static void sl_negstep(const RefArgs *a) {
  a->out[0] = a->in[0][6];
  a->out[1] = a->in[0][3];
}

static void sl_elem(const RefArgs *a) { a->out[0] = a->in[0][1 * 6 + 3]; }

static void sl_twice(const RefArgs *a) {
  for (int64_t i = 0; i < dim(a, 0, 0); i++) {
    a->out[i * 2] = a->in[0][i * 9 + 1];
    a->out[i * 2 + 1] = a->in[0][i * 9 + 4];
  }
}

static void sl_rank3(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), M = dim(a, 0, 1);
  for (int64_t j = 0; j < M; j++)
    for (int64_t k = 0; k < 2; k++) a->out[j * 2 + k] = a->in[0][((N - 1) * M + j) * 4 + 3 - k];
}

static void sl_last(const RefArgs *a) {
  int64_t N = dim(a, 0, 0);
  for (int64_t j = 0; j < 6; j++) a->out[j] = (float)a->in[0][(N - 1) * 6 + j] + (float)a->in[0][5 - j];
}

static void sl_diff(const RefArgs *a) {
  for (int64_t i = 0; i + 1 < a->in_numel[0]; i++) a->out[i] = (float)a->in[0][i + 1] - (float)a->in[0][i];
}

/* ---- index_gather.tex -------------------------------------------------------------------- */

/* outer x extent x inner of input k around axis `axis`. */
static void around(const RefArgs *a, int k, int axis, int64_t *outer, int64_t *ext, int64_t *inner) {
  *outer = *inner = 1;
  *ext = dim(a, k, axis);
  for (int d = 0; d < axis; d++) *outer *= dim(a, k, d);
  for (int d = axis + 1; d < a->in_rank[k]; d++) *inner *= dim(a, k, d);
}

/* take(x, idx, axis): out[o, p, i] = x[o, idx[p], i]. */
static void take_ref(const RefArgs *a, int axis) {
  int64_t outer, V, inner, P = a->in_numel[1];
  around(a, 0, axis, &outer, &V, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t p = 0; p < P; p++)
      for (int64_t i = 0; i < inner; i++) a->out[(o * P + p) * inner + i] = a->in[0][(o * V + (int64_t)a->in[1][p]) * inner + i];
}
static void ga_rows(const RefArgs *a) { take_ref(a, 0); }
static void ga_cols(const RefArgs *a) { take_ref(a, 1); }
static void ga_take0(const RefArgs *a) { take_ref(a, 0); }
static void ga_take1(const RefArgs *a) { take_ref(a, 1); }
static void ga_takem1(const RefArgs *a) { take_ref(a, 1); }

static void ga_computed(const RefArgs *a) {
  take_ref(a, 0);
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = a->out[i] * 2.0 + 1.0;
}

static void ga_onehot(const RefArgs *a) {
  int64_t K = a->out_shape[a->out_rank - 1];
  for (int64_t p = 0; p < a->in_numel[0]; p++)
    for (int64_t c = 0; c < K; c++) a->out[p * K + c] = a->in[0][p] == (double)c;
}

/* index_add(x, idx, v, axis): acc[o, idx[p], i] += v[o, p, i] in row-major
 * order of v, in the dtype (f32 unless f64), then x + acc. */
static void index_add_ref(const RefArgs *a, int axis, bool f64) {
  int64_t outer, V, inner, P = a->in_numel[1];
  around(a, 0, axis, &outer, &V, &inner);
  double *acc = calloc((size_t)a->out_numel + 1, sizeof *acc);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t p = 0; p < P; p++)
      for (int64_t i = 0; i < inner; i++) {
        double *t = &acc[(o * V + (int64_t)a->in[1][p]) * inner + i];
        double s = *t + a->in[2][(o * P + p) * inner + i];
        *t = f64 ? s : (double)(float)s;
      }
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = f64 ? a->in[0][i] + acc[i] : (double)((float)a->in[0][i] + (float)acc[i]);
  free(acc);
}
static void ga_iadd0(const RefArgs *a) { index_add_ref(a, 0, false); }
static void ga_iadd1(const RefArgs *a) { index_add_ref(a, 1, false); }

/* scatter_add(x, idx, v, axis): for each point p of idx's shape, row-major,
 * acc[p with p[axis] = idx[p]] += v[p]; then x + acc. */
static void scatter_add_ref(const RefArgs *a, int axis, bool f64) {
  int r = a->in_rank[0];
  int64_t pt[REF_MAX_RANK] = {0};
  double *acc = calloc((size_t)a->out_numel + 1, sizeof *acc);
  for (int64_t p = 0; p < a->in_numel[1]; p++) {
    int64_t off = 0;
    for (int d = 0; d < r; d++) off = off * dim(a, 0, d) + (d == axis ? (int64_t)a->in[1][p] : pt[d]);
    double s = acc[off] + a->in[2][p];
    acc[off] = f64 ? s : (double)(float)s;
    for (int d = r - 1; d >= 0; d--) {
      if (++pt[d] < dim(a, 1, d)) break;
      pt[d] = 0;
    }
  }
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = f64 ? a->in[0][i] + acc[i] : (double)((float)a->in[0][i] + (float)acc[i]);
  free(acc);
}
static void ga_sadd0(const RefArgs *a) { scatter_add_ref(a, 0, false); }
static void ga_sadd1(const RefArgs *a) { scatter_add_ref(a, 1, true); }

static void ga_pick(const RefArgs *a) {
  for (int64_t n = 0; n < dim(a, 0, 0); n++) a->out[n] = a->in[0][n * 6 + (int64_t)fmax(a->in[1][n], 0)];
}

/* ---- index_lit.tex ------------------------------------------------------------------- */

static void lt_rot(const RefArgs *a) {
  double c = cos(a->in[0][0]), s = sin(a->in[0][0]);
  a->out[0] = c, a->out[1] = -s, a->out[2] = s, a->out[3] = c;
}

static void lt_rows(const RefArgs *a) {
  int64_t N = dim(a, 0, 0);
  for (int64_t i = 0; i < N; i++) a->out[i] = a->in[0][i], a->out[N + i] = a->in[1][i];
}

static void lt_bcast(const RefArgs *a) {
  int64_t N = dim(a, 0, 0);
  for (int64_t i = 0; i < N; i++) a->out[i] = a->in[0][i], a->out[N + i] = a->in[1][0], a->out[2 * N + i] = -a->in[0][i];
}

static void lt_weak(const RefArgs *a) {
  int64_t N = dim(a, 0, 0);
  for (int64_t i = 0; i < N; i++) a->out[i] = 0.5, a->out[N + i] = a->in[0][i];
}

static void lt_deep(const RefArgs *a) {
  double x = a->in[0][0], y = a->in[1][0];
  double v[8] = {x, y, y, x, 1.0, 2.0, (double)(float)(x * y), 0.0};
  memcpy(a->out, v, sizeof v);
}

static void lt_ints(const RefArgs *a) {
  a->out[0] = a->in[0][0], a->out[1] = 2, a->out[2] = (double)(int32_t)((uint32_t)(int32_t)a->in[0][0] + 1u);
}

static void lt_turn(const RefArgs *a) {
  for (int64_t i = 0; i < dim(a, 0, 0); i++) {
    a->out[i * 2] = -a->in[0][i * 2 + 1];
    a->out[i * 2 + 1] = a->in[0][i * 2];
  }
}

/* ---- index_models.tex ------------------------------------------------------------------- */

/* log_softmax of row z[0..K) into lp. */
static void log_softmax_row(const double *z, int64_t K, double *lp) {
  double m = -INFINITY, s = 0;
  for (int64_t k = 0; k < K; k++) m = fmax(m, z[k]);
  for (int64_t k = 0; k < K; k++) s += exp(z[k] - m);
  for (int64_t k = 0; k < K; k++) lp[k] = z[k] - m - log(s);
}

/* Cross-entropy with integer labels of logits z[N, 10]; with dz, its
 * gradient (softmax - one_hot) / N. */
static double xent_of(const double *z, const double *y, int64_t N, double *dz) {
  double loss = 0, lp[10];
  for (int64_t n = 0; n < N; n++) {
    log_softmax_row(z + n * 10, 10, lp);
    loss -= lp[(int64_t)y[n]];
    for (int64_t k = 0; dz && k < 10; k++) dz[n * 10 + k] = (exp(lp[k]) - (k == (int64_t)y[n])) / (double)N;
  }
  return loss / (double)N;
}

static void md_xent(const RefArgs *a) { a->out[0] = xent_of(a->in[0], a->in[1], dim(a, 0, 0), NULL); }
static void md_xent_grad(const RefArgs *a) { xent_of(a->in[0], a->in[1], dim(a, 0, 0), a->out); }

/* The embedding bag: h = mean of the rows E[idx[b, :]], z = h @ W; returns
 * the loss, with dz, h and z (caller frees) filled. */
static double embbag_of(const RefArgs *a, double **h_out, double **dz_out) {
  int64_t D = dim(a, 0, 1), B = dim(a, 2, 0), L = dim(a, 2, 1);
  const double *E = a->in[0], *W = a->in[1], *idx = a->in[2];
  double *h = calloc((size_t)(B * D + 1), sizeof *h), *z = calloc((size_t)(B * 10), sizeof *z), *dz = calloc((size_t)(B * 10), sizeof *dz);
  for (int64_t b = 0; b < B; b++)
    for (int64_t l = 0; l < L; l++)
      for (int64_t d = 0; d < D; d++) h[b * D + d] += E[(int64_t)idx[b * L + l] * D + d] / (double)L;
  for (int64_t b = 0; b < B; b++)
    for (int64_t k = 0; k < 10; k++)
      for (int64_t d = 0; d < D; d++) z[b * 10 + k] += h[b * D + d] * W[d * 10 + k];
  double loss = xent_of(z, a->in[3], B, dz);
  free(z);
  *h_out = h, *dz_out = dz;
  return loss;
}

static void md_embbag(const RefArgs *a) {
  double *h, *dz;
  a->out[0] = embbag_of(a, &h, &dz);
  free(h), free(dz);
}

static void md_embbag_gW(const RefArgs *a) {
  int64_t D = dim(a, 0, 1), B = dim(a, 2, 0);
  double *h, *dz;
  embbag_of(a, &h, &dz);
  memset(a->out, 0, sizeof(double) * (size_t)(D * 10));
  for (int64_t b = 0; b < B; b++)
    for (int64_t d = 0; d < D; d++)
      for (int64_t k = 0; k < 10; k++) a->out[d * 10 + k] += h[b * D + d] * dz[b * 10 + k];
  free(h), free(dz);
}

static void md_embbag_gE(const RefArgs *a) {
  int64_t D = dim(a, 0, 1), B = dim(a, 2, 0), L = dim(a, 2, 1);
  double *h, *dz;
  embbag_of(a, &h, &dz);
  memset(a->out, 0, sizeof(double) * (size_t)(20 * D));
  for (int64_t b = 0; b < B; b++)
    for (int64_t d = 0; d < D; d++) {
      double dh = 0;
      for (int64_t k = 0; k < 10; k++) dh += dz[b * 10 + k] * a->in[1][d * 10 + k];
      for (int64_t l = 0; l < L; l++) a->out[(int64_t)a->in[2][b * L + l] * D + d] += dh / (double)L;
    }
  free(h), free(dz);
}

/* wdist = sum_ij w_ij |x_i - c_j|^2; which: 0 value, 1 d/dx, 2 d/dc. */
static void wdist_ref(const RefArgs *a, int which) {
  int64_t N = dim(a, 0, 0), D = dim(a, 0, 1), K = dim(a, 1, 0);
  const double *x = a->in[0], *c = a->in[1], *w = a->in[2];
  memset(a->out, 0, sizeof(double) * (size_t)a->out_numel);
  for (int64_t i = 0; i < N; i++)
    for (int64_t j = 0; j < K; j++)
      for (int64_t k = 0; k < D; k++) {
        double t = x[i * D + k] - c[j * D + k];
        if (which == 0) a->out[0] += w[i * K + j] * t * t;
        if (which == 1) a->out[i * D + k] += 2 * w[i * K + j] * t;
        if (which == 2) a->out[j * D + k] -= 2 * w[i * K + j] * t;
      }
}
static void md_wdist(const RefArgs *a) { wdist_ref(a, 0); }
static void md_wdist_gx(const RefArgs *a) { wdist_ref(a, 1); }
static void md_wdist_gc(const RefArgs *a) { wdist_ref(a, 2); }

/* k-means: sum_i min_j |x_i - c_j|^2; with grad, d/dc (the nearest centre
 * of each point gets -2 (x_i - c_j)). */
static void kmeans_ref(const RefArgs *a, bool grad) {
  int64_t N = dim(a, 0, 0), D = dim(a, 0, 1), K = dim(a, 1, 0);
  const double *x = a->in[0], *c = a->in[1];
  memset(a->out, 0, sizeof(double) * (size_t)a->out_numel);
  for (int64_t i = 0; i < N; i++) {
    double best = INFINITY;
    int64_t arg = 0;
    for (int64_t j = 0; j < K; j++) {
      double s = 0;
      for (int64_t k = 0; k < D; k++) s += (x[i * D + k] - c[j * D + k]) * (x[i * D + k] - c[j * D + k]);
      if (s < best) best = s, arg = j;
    }
    if (!grad) a->out[0] += best;
    for (int64_t k = 0; grad && k < D; k++) a->out[arg * D + k] -= 2 * (x[i * D + k] - c[arg * D + k]);
  }
}
static void md_kmeans(const RefArgs *a) { kmeans_ref(a, false); }
static void md_kmeans_gc(const RefArgs *a) { kmeans_ref(a, true); }

/* ---- errs_index.tex ----------------------------------------------------------------------- */

static void ierr_tri2(const RefArgs *a) { ix_unpack(a); }

static void ierr_lastrow(const RefArgs *a) {
  for (int64_t j = 0; j < 3; j++) a->out[j] = a->in[0][a->in_numel[0] - 3 + j];
}

static void ierr_at(const RefArgs *a) {
  for (int64_t j = 0; j < 3; j++) a->out[j] = (float)a->in[0][3 + j] + (float)a->in[0][j];
}

static void ierr_inner(const RefArgs *a) {
  for (int64_t i = 0; i < a->out_numel; i++) a->out[i] = a->in[0][i + 1];
}

static void ix_softmax(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), D = dim(a, 0, 1);
  for (int64_t i = 0; i < N; i++) {
    const double *x = a->in[0] + i * D;
    double m = -INFINITY, s = 0;
    for (int64_t k = 0; k < D; k++) m = fmax(m, x[k]);
    for (int64_t k = 0; k < D; k++) s += exp(x[k] - m);
    for (int64_t j = 0; j < D; j++) a->out[i * D + j] = exp(x[j] - m) / s;
  }
}

static void ix_summax(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), D = dim(a, 0, 1);
  double s = 0;
  for (int64_t i = 0; i < N; i++) {
    double m = -INFINITY;
    for (int64_t k = 0; k < D; k++) m = fmax(m, a->in[0][i * D + k]);
    s += m;
  }
  a->out[0] = s;
}

static void ix_rowprod(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), D = dim(a, 0, 1);
  for (int64_t i = 0; i < N; i++) {
    double p = 1;
    for (int64_t k = 0; k < D; k++) p *= 1.0 + 0.01 * a->in[0][i * D + k];
    a->out[i] = p;
  }
}

/* ---- conv_grad.tex ------------------------------------------------------------------- */

/* The gradients of sum(conv(x, w) * g): dx[n, i, p, s] = sum over (o, u, v)
 * with r = p - u, q = s - v in range of g[n, o, r, q] * w[o, i, u, v];
 * dw[o, i, u, v] = sum over (n, r, q) of g[n, o, r, q] * x[n, i, r + u, q + v]. */
static void cg_dx(const RefArgs *a) {
  int64_t B = dim(a, 0, 0), C = dim(a, 0, 1), H = dim(a, 0, 2), W = dim(a, 0, 3), O = dim(a, 1, 0), U = dim(a, 1, 2);
  int64_t R = H - U + 1, Q = W - U + 1;
  const double *w = a->in[1], *g = a->in[2];
  for (int64_t n = 0; n < B; n++)
    for (int64_t i = 0; i < C; i++)
      for (int64_t p = 0; p < H; p++)
        for (int64_t s = 0; s < W; s++) {
          double acc = 0;
          for (int64_t o = 0; o < O; o++)
            for (int64_t u = 0; u < U; u++)
              for (int64_t v = 0; v < U; v++)
                if (p - u >= 0 && p - u < R && s - v >= 0 && s - v < Q)
                  acc += g[((n * O + o) * R + p - u) * Q + s - v] * w[((o * C + i) * U + u) * U + v];
          a->out[((n * C + i) * H + p) * W + s] = acc;
        }
}

static void cg_dw(const RefArgs *a) {
  int64_t B = dim(a, 0, 0), C = dim(a, 0, 1), H = dim(a, 0, 2), W = dim(a, 0, 3), O = dim(a, 1, 0), U = dim(a, 1, 2);
  int64_t R = H - U + 1, Q = W - U + 1;
  const double *x = a->in[0], *g = a->in[2];
  for (int64_t o = 0; o < O; o++)
    for (int64_t i = 0; i < C; i++)
      for (int64_t u = 0; u < U; u++)
        for (int64_t v = 0; v < U; v++) {
          double acc = 0;
          for (int64_t n = 0; n < B; n++)
            for (int64_t r = 0; r < R; r++)
              for (int64_t q = 0; q < Q; q++) acc += g[((n * O + o) * R + r) * Q + q] * x[((n * C + i) * H + r + u) * W + q + v];
          a->out[((o * C + i) * U + u) * U + v] = acc;
        }
}

static void cg_colmax(const RefArgs *a) { /* max over (n, q) of x[n, k, q]; -inf if empty */
  int64_t N = dim(a, 0, 0), K = dim(a, 0, 1), M = dim(a, 0, 2);
  for (int64_t k = 0; k < K; k++) {
    double m = -INFINITY;
    for (int64_t n = 0; n < N; n++)
      for (int64_t q = 0; q < M; q++) m = fmax(m, a->in[0][(n * K + k) * M + q]);
    a->out[k] = m;
  }
}

static void cg_colsum(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), K = dim(a, 0, 1), M = dim(a, 0, 2);
  for (int64_t k = 0; k < K; k++) {
    double s = 0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t q = 0; q < M; q++) s += a->in[0][(n * K + k) * M + q] * a->in[0][(n * K + k) * M + q];
    a->out[k] = s;
  }
}

static void cg_pad(const RefArgs *a) {
  int64_t N = dim(a, 0, 0), M = dim(a, 0, 1);
  for (int64_t i = 0; i < N + 2; i++)
    for (int64_t j = 0; j < M; j++) a->out[i * M + j] = i >= 1 && i <= N ? a->in[0][(i - 1) * M + j] : 0.0;
}

/* ---- the table ------------------------------------------------------------------------ */

#define R(n) {#n, n}
static const struct {
  const char *name;
  RefFn fn;
} table[] = {
    R(ix_pdist),     R(ix_matvec),  R(ix_contract),  R(ix_rowdot),   R(ix_perm),      R(ix_trace),      R(ix_total),  R(ix_dot),
    R(ix_outer),     R(ix_rowmax),  R(ix_colmin),    R(ix_ivals),    R(ix_conv),      R(ix_interleave), R(ix_unpack), R(ix_tril),
    R(ix_rev),       R(sl_mid),     R(sl_col),       R(sl_tail),     R(sl_revrow),    R(sl_revall),     R(sl_scaled), R(sl_negstep),
    R(sl_evens),     R(sl_revstep), R(sl_elem),      R(sl_twice),    R(sl_rank3),     R(sl_diff),       R(ga_rows),   R(ga_cols),
    R(ga_take0),     R(ga_take1),   R(ga_takem1),    R(ga_computed), R(ga_onehot),    R(ga_iadd0),      R(ga_iadd1),  R(ga_sadd0),
    R(ga_sadd1),     R(ga_pick),    R(lt_rot),       R(lt_rows),     R(lt_bcast),     R(lt_weak),       R(lt_deep),   R(lt_ints),
    R(lt_turn),      R(md_xent),    R(md_xent_grad), R(md_embbag),   R(md_embbag_gW), R(md_embbag_gE),  R(md_wdist),  R(md_wdist_gx),
    R(md_wdist_gc),  R(md_kmeans),  R(ix_softmax),   R(ix_summax),   R(ix_rowprod),   R(md_kmeans_gc),  R(ierr_tri2), R(ierr_inner),
    R(ierr_lastrow), R(sl_last),    R(ierr_at),      R(cg_dx),       R(cg_dw),        R(cg_colmax),     R(cg_colsum), R(cg_pad),
};
#undef R

RefFn ref_index_lookup(const char *name) {
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].name, name) == 0) return table[i].fn;
  return ref_loop_lookup(name);
}

const char *ref_index_name_at(int i) {
  int n = (int)(sizeof table / sizeof table[0]);
  return i >= 0 && i < n ? table[i].name : ref_loop_name_at(i - n);
}
