/* threads.c — one compiled function called from 8 threads at once, under
 * ThreadSanitizer (tests/tsan/run.sh links it with `texc --emit=obj
 * --prefix=tsan` output and a -fsanitize=thread runtime archive).
 *
 * The module is tests/tsan/rows.tex: rows(x: f32[N, K]) -> f32[N, K], with
 * temporaries (the row maxima and sums).  Every thread gets its own data and
 * its own N; all start together at a barrier, so even the module's first
 * call (its CPU check) is concurrent.  Each thread sizes its own workspace,
 * then calls tsan_rows and tsan_rows_ws ROUNDS times; every result must
 * equal its first one bit for bit, and after the threads the same calls made
 * serially must give those bits too.  An odd thread also makes a call with a wrong
 * shape between the good ones: its error message must be its own (the
 * message is thread-local).  The generated kernels are not instrumented;
 * the runtime and this file are. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "texrt.h"

int tsan_rows(const DLTensor *x, DLTensor *out);
int tsan_rows_ws(const DLTensor *x, DLTensor *out, void *ws, size_t ws_bytes);
int tsan_rows_workspace_size(const DLTensor *x, DLTensor *out, size_t *bytes);
const char *tsan_last_error(void);

enum { THREADS = 8, K = 37, ROUNDS = 20 };

typedef struct Job {
  int id;
  int64_t shape[2], bad_shape[2];
  float *x, *first, *got;
  void *ws;
  size_t ws_bytes;
  int bad; /* mismatches found by the thread */
} Job;

static pthread_barrier_t start;

static DLTensor tensor(float *data, int64_t *shape) {
  return (DLTensor){data, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, NULL, 0};
}

static size_t elems(const Job *j) { return (size_t)(j->shape[0] * j->shape[1]); }

static void job_init(Job *j, int id) {
  memset(j, 0, sizeof *j);
  j->id = id;
  j->shape[0] = 3 + 5 * id; /* a different N per thread */
  j->shape[1] = K;
  j->bad_shape[0] = j->shape[0] + 1;
  j->bad_shape[1] = K;
  j->x = malloc(elems(j) * sizeof(float));
  j->first = calloc(elems(j), sizeof(float));
  j->got = calloc(elems(j) + K, sizeof(float)); /* room for the bad shape */
  for (size_t i = 0; i < elems(j); i++) j->x[i] = (float)((i * 31 + (size_t)id * 17) % 97) / 9.0f - 4.0f;
}

/* Compares got with the thread's first result; counts a mismatch. */
static void expect_same(Job *j, int st, const char *what) {
  if (st != TEX_OK) {
    fprintf(stderr, "thread %d: %s returned %d: %s\n", j->id, what, st, tsan_last_error());
    j->bad++;
  } else if (memcmp(j->got, j->first, elems(j) * sizeof(float)) != 0) {
    fprintf(stderr, "thread %d: %s gave other bits than its first call\n", j->id, what);
    j->bad++;
  }
  memset(j->got, 0, elems(j) * sizeof(float));
}

/* A call with a wrong output shape: the message must name this thread's N. */
static void bad_call(Job *j) {
  DLTensor x = tensor(j->x, j->shape), out = tensor(j->got, j->bad_shape);
  char want[64];
  snprintf(want, sizeof want, "N = %lld", (long long)j->shape[0]);
  int st = tsan_rows(&x, &out);
  if (st != TEX_ERR_SHAPE || !strstr(tsan_last_error(), want)) {
    fprintf(stderr, "thread %d: wrong-shape call gave %d, '%s' (want '%s')\n", j->id, st, tsan_last_error(), want);
    j->bad++;
  }
}

static void *worker(void *arg) {
  Job *j = arg;
  DLTensor x = tensor(j->x, j->shape), out = tensor(j->got, j->shape), first = tensor(j->first, j->shape);
  pthread_barrier_wait(&start);
  int st = tsan_rows(&x, &first);
  if (st == TEX_OK) st = tsan_rows_workspace_size(&x, &out, &j->ws_bytes);
  if (st != TEX_OK || !(j->ws = malloc(j->ws_bytes))) {
    fprintf(stderr, "thread %d: first call or workspace size: %d: %s\n", j->id, st, tsan_last_error());
    j->bad++;
    return NULL;
  }
  for (int r = 0; r < ROUNDS; r++) {
    expect_same(j, tsan_rows(&x, &out), "tsan_rows");
    if (j->id % 2) bad_call(j);
    expect_same(j, tsan_rows_ws(&x, &out, j->ws, j->ws_bytes), "tsan_rows_ws");
  }
  return NULL;
}

int main(void) {
  Job jobs[THREADS];
  pthread_t threads[THREADS];
  int bad = 0;
  for (int i = 0; i < THREADS; i++) job_init(&jobs[i], i);
  pthread_barrier_init(&start, NULL, THREADS);
  for (int i = 0; i < THREADS; i++)
    if (pthread_create(&threads[i], NULL, worker, &jobs[i]) != 0) return fprintf(stderr, "pthread_create failed\n"), 1;
  for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
  pthread_barrier_destroy(&start);
  for (int i = 0; i < THREADS; i++) { /* the same calls, serially */
    Job *j = &jobs[i];
    DLTensor x = tensor(j->x, j->shape), out = tensor(j->got, j->shape);
    expect_same(j, tsan_rows(&x, &out), "the serial tsan_rows");
    if (j->ws) expect_same(j, tsan_rows_ws(&x, &out, j->ws, j->ws_bytes), "the serial tsan_rows_ws");
    bad += j->bad;
    free(j->x), free(j->first), free(j->got), free(j->ws);
  }
  printf("tsan: %d threads x %d rounds of tsan_rows and tsan_rows_ws: %d mismatches\n", THREADS, ROUNDS, bad);
  return bad ? 1 : 0;
}
