/* gemm.c — texc's sgemm/dgemm (bench/gemm.tex) against OpenBLAS's, one
 * thread, interleaved, medians; also checks that both give the same C up to
 * rounding (texc's k order is defined, OpenBLAS's is not).
 *
 *   texc bench/gemm.tex -o build/libgemm.so
 *   cc -O2 -Iruntime bench/gemm.c -ldl -o build/gemm
 *   OPENBLAS_NUM_THREADS=1 build/gemm build/libgemm.so f32|f64|texc32|blas32|texc64|blas64 N [REPS] */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "texrt.h"

typedef void (*Sgemm)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*Dgemm)(int, int, int, int, int, int, double, const double *, int, const double *, int, double, double *, int);
typedef int (*TexFn)(const DLTensor *, const DLTensor *, DLTensor *);

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 4) return fprintf(stderr, "usage: gemm LIB.so f32|f64|texc32|blas32|texc64|blas64 N [REPS]\n"), 2;
  const char *what = argv[2];
  int n = atoi(argv[3]), reps = argc > 4 ? atoi(argv[4]) : 5, f64 = strstr(what, "64") != NULL;
  int do_texc = strncmp(what, "blas", 4) != 0, do_blas = strncmp(what, "texc", 4) != 0;
  size_t es = f64 ? 8 : 4, bytes = (size_t)n * n * es;
  void *so = dlopen(argv[1], RTLD_NOW), *blas = dlopen("libopenblas.so.0", RTLD_NOW);
  if (!so || !blas) return fprintf(stderr, "gemm: %s\n", dlerror()), 1;
  TexFn tf = (TexFn)dlsym(so, f64 ? "gemm_dgemm" : "gemm_sgemm");
  Sgemm sg = (Sgemm)dlsym(blas, "cblas_sgemm");
  Dgemm dg = (Dgemm)dlsym(blas, "cblas_dgemm");
  char *a = aligned_alloc(64, bytes), *b = aligned_alloc(64, bytes), *c1 = aligned_alloc(64, bytes), *c2 = aligned_alloc(64, bytes);
  srand(1);
  for (size_t i = 0; i < (size_t)n * n; i++) {
    double x = rand() / (double)RAND_MAX - 0.5, y = rand() / (double)RAND_MAX - 0.5;
    if (f64)
      ((double *)a)[i] = x, ((double *)b)[i] = y;
    else
      ((float *)a)[i] = (float)x, ((float *)b)[i] = (float)y;
  }
  int64_t shape[2] = {n, n};
  DLDataType dt = {kDLFloat, (uint8_t)(es * 8), 1};
  DLTensor ta = {a, {kDLCPU, 0}, 2, dt, shape, NULL, 0}, tb = ta, tc = ta;
  tb.data = b, tc.data = c1;
  double *tt = calloc((size_t)reps, sizeof(double)), *tbl = calloc((size_t)reps, sizeof(double));
  for (int r = -1; r < reps; r++) { /* r = -1: warm-up */
    double t0 = now_ms();
    if (do_texc && tf(&ta, &tb, &tc)) return fprintf(stderr, "gemm: texc failed\n"), 1;
    double t1 = now_ms();
    if (do_blas && f64) dg(101, 111, 111, n, n, n, 1.0, (double *)a, n, (double *)b, n, 0.0, (double *)c2, n);
    if (do_blas && !f64) sg(101, 111, 111, n, n, n, 1.0f, (float *)a, n, (float *)b, n, 0.0f, (float *)c2, n);
    double t2 = now_ms();
    if (r >= 0) tt[r] = t1 - t0, tbl[r] = t2 - t1;
  }
  qsort(tt, (size_t)reps, sizeof(double), cmp);
  qsort(tbl, (size_t)reps, sizeof(double), cmp);
  double flop = 2.0 * n * (double)n * n, err = 0;
  for (size_t i = 0; do_texc && do_blas && i < (size_t)n * n; i++)
    err = fmax(err, fabs(f64 ? ((double *)c1)[i] - ((double *)c2)[i] : (double)((float *)c1)[i] - ((float *)c2)[i]));
  printf("%s n=%d texc %.2f ms (%.1f GFLOP/s)  openblas %.2f ms (%.1f GFLOP/s)  ratio %.2f  max|diff| %.2g\n", f64 ? "dgemm" : "sgemm", n,
         tt[reps / 2], flop / tt[reps / 2] / 1e6, tbl[reps / 2], flop / tbl[reps / 2] / 1e6, tbl[reps / 2] / tt[reps / 2], err);
  return 0;
}
