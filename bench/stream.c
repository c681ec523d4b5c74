/* stream.c — the memory-bandwidth limits, measured in the same run as the
 * benchmarks: STREAM's copy (c = a) and triad (a = b + s * c) over 2^24
 * doubles per array (128 MiB each, 4x the L3), split over THREADS threads
 * (each its own slice, first-touched by its thread), best of 10.  Prints
 * "copy GB/s, triad GB/s", counting STREAM's bytes: 2 and 3 arrays' worth.
 *
 *   stream [THREADS] */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { N = 1 << 24, MAXT = 64 };
static double *a, *b, *c;
static int nthreads, kernel;
static pthread_barrier_t start, done;

static void *work(void *arg) {
  long t = (long)arg, lo = N / nthreads * t, hi = t == nthreads - 1 ? N : N / nthreads * (t + 1);
  for (long i = lo; i < hi; i++) a[i] = 1.0, b[i] = 2.0, c[i] = 0.0;
  for (;;) {
    pthread_barrier_wait(&start);
    if (kernel < 0) return NULL;
    if (kernel == 0)
      for (long i = lo; i < hi; i++) c[i] = a[i];
    else
      for (long i = lo; i < hi; i++) a[i] = b[i] + 3.0 * c[i];
    pthread_barrier_wait(&done);
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double best_of(int k) {
  double best = 1e30;
  for (int r = 0; r < 10; r++) {
    kernel = k;
    double t0 = now();
    pthread_barrier_wait(&start);
    pthread_barrier_wait(&done);
    double s = now() - t0;
    if (s < best) best = s;
  }
  return best;
}

int main(int argc, char **argv) {
  nthreads = argc > 1 ? atoi(argv[1]) : 1;
  if (nthreads < 1 || nthreads > MAXT) return fprintf(stderr, "stream: 1..%d threads\n", MAXT), 2;
  a = aligned_alloc(4096, N * 8), b = aligned_alloc(4096, N * 8), c = aligned_alloc(4096, N * 8);
  if (!a || !b || !c) return fprintf(stderr, "stream: out of memory\n"), 1;
  pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
  pthread_barrier_init(&done, NULL, (unsigned)nthreads + 1);
  pthread_t th[MAXT];
  for (long t = 0; t < nthreads; t++) pthread_create(&th[t], NULL, work, (void *)t);
  kernel = 0;
  best_of(0); /* first touch and warm-up */
  double copy = best_of(0), triad = best_of(1);
  kernel = -1;
  pthread_barrier_wait(&start);
  for (int t = 0; t < nthreads; t++) pthread_join(th[t], NULL);
  printf("%.2f %.2f\n", 2.0 * N * 8 / copy / 1e9, 3.0 * N * 8 / triad / 1e9);
  return 0;
}
