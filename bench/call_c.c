/* call_c.c — the direct C call of the call-overhead case: tiny_add1 on 4
 * floats, through its exported symbol, timed in batches of 10000 calls.
 * Prints the median nanoseconds per call over 15 batches.
 *
 *   call_c LIBTINY.so */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "texrt.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: call_c LIBTINY.so\n"), 2;
  void *so = dlopen(argv[1], RTLD_NOW);
  if (!so) return fprintf(stderr, "call_c: %s\n", dlerror()), 2;
  int (*add1)(const DLTensor *, DLTensor *) = (int (*)(const DLTensor *, DLTensor *))dlsym(so, "tiny_add1");
  if (!add1) return fprintf(stderr, "call_c: no tiny_add1\n"), 2;
  float x[4] = {1, 2, 3, 4}, y[4];
  int64_t shape[1] = {4};
  DLTensor in = {x, {kDLCPU, 0}, 1, {kDLFloat, 32, 1}, shape, NULL, 0};
  DLTensor out = {y, {kDLCPU, 0}, 1, {kDLFloat, 32, 1}, shape, NULL, 0};
  double t[15];
  for (int b = -1; b < 15; b++) {
    double t0 = now_ns();
    for (int i = 0; i < 10000; i++)
      if (add1(&in, &out)) return fprintf(stderr, "call_c: the call failed\n"), 1;
    if (b >= 0) t[b] = (now_ns() - t0) / 10000;
  }
  if (y[3] != 5) return fprintf(stderr, "call_c: wrong result %g\n", y[3]), 1;
  qsort(t, 15, sizeof t[0], cmp_double);
  printf("%.1f\n", t[7]);
  return 0;
}
