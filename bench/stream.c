/* stream.c — the memory-bandwidth floor, measured in the same run as the
 * benchmarks: a STREAM-like copy (one read, one write per element) over
 * 2^24 floats, one thread, best of 10.  Prints GB/s counting both streams. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(void) {
  enum { N = 1 << 24 };
  float *a = aligned_alloc(64, N * 4), *b = aligned_alloc(64, N * 4);
  for (long i = 0; i < N; i++) a[i] = (float)i, b[i] = 0;
  double best = 1e30;
  for (int r = 0; r < 10; r++) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < N; i++) b[i] = a[i] * 1.5f;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (s < best) best = s;
  }
  volatile float sink = b[N / 2];
  (void)sink;
  printf("%.2f\n", 2.0 * N * 4 / best / 1e9);
  return 0;
}
