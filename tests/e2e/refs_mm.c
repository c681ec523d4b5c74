/* refs_mm.c — references of mm_packed.tex: matrix products in texc's
 * defined order, C[m,n] = fma(A[m,k], B[k,n], acc) for k ascending from +0.0,
 * done in the program's dtype (fmaf for f32, fma for f64), so the compiled
 * code must agree bit for bit whatever its blocking, tile and vector width.
 * Operands may be stored transposed (ta: A as [K, M]; tb: B as [N, K]); an
 * epilogue is applied in the dtype after the sum. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "refs.h"

enum { EPI_NONE, EPI_BIAS_RELU, EPI_PLUS_CT };

static double rnd(bool f32, double x) { return f32 ? (double)(float)x : x; }

/* A[.., M, K] (or [K]) @ B[.., K, N] (or [K]); a leading batch of either may
 * be missing (broadcast). */
static void mm_ref(const RefArgs *a, bool f32, bool ta, bool tb, int epi) {
  int ra = a->in_rank[0], rb = a->in_rank[1];
  const int64_t *sa = a->in_shape[0], *sb = a->in_shape[1];
  int64_t M = ra >= 2 ? sa[ra - (ta ? 1 : 2)] : 1, K = ra >= 2 && ta ? sa[ra - 2] : sa[ra - 1];
  int64_t N = rb >= 2 ? sb[rb - (tb ? 2 : 1)] : 1;
  int64_t nbatch = M > 0 && N > 0 ? a->out_numel / (M * N) : 0;
  for (int64_t bi = 0; bi < nbatch; bi++) {
    const double *A = a->in[0] + (ra > 2 ? bi * M * K : 0), *B = a->in[1] + (rb > 2 ? bi * K * N : 0);
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) {
        double acc = 0.0;
        for (int64_t k = 0; k < K; k++) {
          double x = ta ? A[k * M + m] : A[m * K + k], y = tb ? B[n * K + k] : B[k * N + n];
          acc = f32 ? (double)fmaf((float)x, (float)y, (float)acc) : fma(x, y, acc);
        }
        if (epi == EPI_BIAS_RELU) acc = rnd(f32, acc + a->in[2][n]), acc = acc > 0 ? acc : 0.0;
        if (epi == EPI_PLUS_CT) acc = rnd(f32, acc + a->in[2][n * M + m]);
        a->out[(bi * M + m) * N + n] = acc;
      }
  }
}

static void pk32(const RefArgs *a) { mm_ref(a, true, false, false, EPI_NONE); }
static void pk64(const RefArgs *a) { mm_ref(a, false, false, false, EPI_NONE); }
static void pk32_ta(const RefArgs *a) { mm_ref(a, true, true, false, EPI_NONE); }
static void pk32_tb(const RefArgs *a) { mm_ref(a, true, false, true, EPI_NONE); }
static void pk32_tab(const RefArgs *a) { mm_ref(a, true, true, true, EPI_NONE); }
static void pk64_tb(const RefArgs *a) { mm_ref(a, false, false, true, EPI_NONE); }
static void pk32_relu(const RefArgs *a) { mm_ref(a, true, false, false, EPI_BIAS_RELU); }
static void pk64_relu(const RefArgs *a) { mm_ref(a, false, false, false, EPI_BIAS_RELU); }
static void pk32_tb_relu(const RefArgs *a) { mm_ref(a, true, false, true, EPI_BIAS_RELU); }
static void pk32_ct(const RefArgs *a) { mm_ref(a, true, false, false, EPI_PLUS_CT); }

#define R(n) {#n, n}
static const struct {
  const char *name;
  RefFn fn;
} table[] = {
    R(pk32), R(pk64), R(pk32_ta), R(pk32_tb), R(pk32_tab), R(pk64_tb), R(pk32_relu), R(pk64_relu), R(pk32_tb_relu), R(pk32_ct),
};
#undef R

RefFn ref_mm_lookup(const char *name) {
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].name, name) == 0) return table[i].fn;
  return NULL;
}

const char *ref_mm_name_at(int i) {
  int n = (int)(sizeof table / sizeof table[0]);
  return i >= 0 && i < n ? table[i].name : NULL;
}
