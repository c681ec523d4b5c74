/* peak.c — the FMA peak, measured in the same run as the benchmarks: each
 * of THREADS threads runs 16 independent chains of vector FMAs (AVX-512
 * where the compiler targets it, else AVX2+FMA: build with -march=native)
 * for a fixed count; GFLOP/s counts 2 per lane per FMA.  Best of 5.
 * Prints "f32 GFLOP/s, f64 GFLOP/s".
 *
 *   peak [THREADS] */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { ITERS = 20000000, CHAINS = 16, MAXT = 64 };
#ifdef __AVX512F__
typedef __m512 VF;
typedef __m512d VD;
#define LANES 16
#define SET_PS _mm512_set1_ps
#define SET_PD _mm512_set1_pd
#define FMA_PS _mm512_fmadd_ps
#define FMA_PD _mm512_fmadd_pd
#define ADD_PS _mm512_add_ps
#define ADD_PD _mm512_add_pd
#define SUM_PS _mm512_reduce_add_ps
#define SUM_PD _mm512_reduce_add_pd
#else
typedef __m256 VF;
typedef __m256d VD;
#define LANES 8
#define SET_PS _mm256_set1_ps
#define SET_PD _mm256_set1_pd
#define FMA_PS _mm256_fmadd_ps
#define FMA_PD _mm256_fmadd_pd
#define ADD_PS _mm256_add_ps
#define ADD_PD _mm256_add_pd
/* the sums only keep the chains live: one lane is enough */
static float SUM_PS(VF v) {
  float f[8];
  _mm256_storeu_ps(f, v);
  return f[0];
}
static double SUM_PD(VD v) {
  double d[4];
  _mm256_storeu_pd(d, v);
  return d[0];
}
#endif

static volatile double sink;
static int dbl;

static void *work(void *arg) {
  (void)arg;
  if (!dbl) {
    VF acc[CHAINS], m = SET_PS(0.999999f), k = SET_PS(1e-7f);
    for (int j = 0; j < CHAINS; j++) acc[j] = SET_PS((float)j);
    for (long i = 0; i < ITERS / 2; i++)
#pragma GCC unroll 16
      for (int j = 0; j < CHAINS; j++) acc[j] = FMA_PS(acc[j], m, k);
    for (int j = 1; j < CHAINS; j++) acc[0] = ADD_PS(acc[0], acc[j]);
    sink = SUM_PS(acc[0]);
  } else {
    VD acc[CHAINS], m = SET_PD(0.999999), k = SET_PD(1e-7);
    for (int j = 0; j < CHAINS; j++) acc[j] = SET_PD((double)j);
    for (long i = 0; i < ITERS / 2; i++)
#pragma GCC unroll 16
      for (int j = 0; j < CHAINS; j++) acc[j] = FMA_PD(acc[j], m, k);
    for (int j = 1; j < CHAINS; j++) acc[0] = ADD_PD(acc[0], acc[j]);
    sink = SUM_PD(acc[0]);
  }
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double gflops(int nthreads, int is_double) {
  double best = 1e30;
  dbl = is_double;
  for (int r = 0; r < 5; r++) {
    pthread_t th[MAXT];
    double t0 = now();
    for (int t = 0; t < nthreads; t++) pthread_create(&th[t], NULL, work, NULL);
    for (int t = 0; t < nthreads; t++) pthread_join(th[t], NULL);
    double s = now() - t0;
    if (s < best) best = s;
  }
  double lanes = is_double ? LANES / 2 : LANES;
  return 2.0 * lanes * CHAINS * (ITERS / 2) * nthreads / best / 1e9;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1;
  if (n < 1 || n > MAXT) return fprintf(stderr, "peak: 1..%d threads\n", MAXT), 2;
  printf("%.1f %.1f\n", gflops(n, 0), gflops(n, 1));
  return 0;
}
