/* test_pool.c — the runtime's thread pool (runtime/pool.c) with hand-made
 * kernels: every outer iteration runs exactly once at every thread count,
 * the chunks really run on several threads, the reported index error is the
 * one a serial run meets first, concurrent callers and a forked child work,
 * and texrt_set_num_threads rejects bad counts (fork: not under TSan).  main sets
 * TEX_PARALLEL_MIN_WORK=0 before the runtime reads it, so every call with
 * more than one thread splits.  tests/tsan/run.sh also builds this file with
 * -fsanitize=thread (the kernels here are instrumented, unlike generated ones). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "texrt.h"

enum { MAXN = 4096 };

/* ops[0]: an int32 per iteration, incremented; ops[1]: the thread that ran
 * each iteration (a pthread_t's address tag). */
static int32_t k_count(void *const *ops, const int64_t *syms, int64_t begin, int64_t end, TexIndexError *err) {
  int32_t *hits = ops[0];
  uintptr_t *who = ops[1];
  (void)syms, (void)err;
  for (int64_t i = begin; i < end; i++) hits[i]++, who[i] = (uintptr_t)pthread_self();
  if (syms[0]) usleep((useconds_t)syms[0]); /* slow chunks: the others must help */
  return 0;
}

/* Fails at every iteration listed in syms[1..syms[0]], the first it meets
 * in its own order, with where[0] = the iteration. */
static int32_t k_fail(void *const *ops, const int64_t *syms, int64_t begin, int64_t end, TexIndexError *err) {
  (void)ops;
  for (int64_t i = begin; i < end; i++)
    for (int64_t j = 1; j <= syms[0]; j++)
      if (syms[j] == i) {
        memset(err, 0, sizeof *err);
        err->check = (int32_t)j, err->value = -i, err->where[0] = i;
        return 1;
      }
  return 0;
}

static int run_count(int64_t extent, int64_t delay_us, int32_t *hits, uintptr_t *who) {
  void *ops[2] = {hits, who};
  int64_t syms[1] = {delay_us};
  TexIndexError err;
  memset(hits, 0, sizeof(int32_t) * MAXN);
  return texrt_parallel_for(k_count, ops, syms, extent, 1, &err);
}

static void every_iteration_once(void **state) {
  (void)state;
  static int32_t hits[MAXN];
  static uintptr_t who[MAXN];
  const int counts[] = {1, 2, 3, 7, 16};
  const int64_t extents[] = {0, 1, 2, 3, 6, 7, 8, 63, 64, 65, 127, 129, 200, 1000, 4096};
  for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
    assert_int_equal(texrt_set_num_threads(counts[c]), TEX_OK);
    assert_int_equal(texrt_num_threads(), counts[c]);
    for (size_t e = 0; e < sizeof extents / sizeof *extents; e++) {
      assert_int_equal(run_count(extents[e], 0, hits, who), 0);
      for (int64_t i = 0; i < MAXN; i++) assert_int_equal(hits[i], i < extents[e] ? 1 : 0);
    }
  }
}

/* With slow chunks at 4 threads, more than one thread runs them. */
static void chunks_on_several_threads(void **state) {
  (void)state;
  static int32_t hits[MAXN];
  static uintptr_t who[MAXN];
  assert_int_equal(texrt_set_num_threads(4), TEX_OK);
  bool several = false;
  for (int round = 0; round < 20 && !several; round++) {
    assert_int_equal(run_count(400, 2000, hits, who), 0);
    for (int i = 1; i < 400; i++) several |= who[i] != who[0];
  }
  assert_true(several);
}

static atomic_int_fast64_t longest; /* the longest chunk that k_len ran */

static int32_t k_len(void *const *ops, const int64_t *syms, int64_t begin, int64_t end, TexIndexError *err) {
  (void)ops, (void)syms, (void)err;
  int64_t m = atomic_load(&longest);
  while (end - begin > m && !atomic_compare_exchange_weak(&longest, &m, end - begin)) {}
  return 0;
}

/* The chunks split the extent evenly up to rounding to 64 iterations (long
 * chunks) or 8 (shorter ones): 784 rows at 2 threads are 392 + 392. */
static void chunks_balanced(void **state) {
  (void)state;
  const struct {
    int n;
    int64_t extent, longest;
  } cases[] = {{2, 784, 392}, {2, 512, 256}, {3, 784, 264}, {7, 4096, 592}, {2, 4096, 2048}, {2, 2100, 1088}, {2, 100, 50}, {2, 15, 8}};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    TexIndexError err;
    atomic_store(&longest, 0);
    assert_int_equal(texrt_set_num_threads(cases[c].n), TEX_OK);
    assert_int_equal(texrt_parallel_for(k_len, NULL, NULL, cases[c].extent, 1, &err), 0);
    assert_int_equal(atomic_load(&longest), cases[c].longest);
  }
}

static void first_error_wins(void **state) {
  (void)state;
  const int counts[] = {1, 2, 3, 7};
  int64_t syms[4] = {3, 150, 37, 90}; /* fails at 37, 90, 150: a serial run meets 37 first */
  for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
    assert_int_equal(texrt_set_num_threads(counts[c]), TEX_OK);
    for (int r = 0; r < 20; r++) {
      TexIndexError err;
      memset(&err, 0, sizeof err);
      assert_int_equal(texrt_parallel_for(k_fail, NULL, syms, 200, 1, &err), 1);
      assert_int_equal(err.where[0], 37);
      assert_int_equal(err.check, 2);
    }
    TexIndexError err;
    assert_int_equal(texrt_parallel_for(k_fail, NULL, syms, 30, 1, &err), 0); /* none inside [0, 30) */
  }
}

static void bad_counts(void **state) {
  (void)state;
  assert_int_equal(texrt_set_num_threads(3), TEX_OK);
  assert_int_equal(texrt_set_num_threads(0), TEX_ERR_ARG);
  assert_non_null(strstr(texrt_last_error(), "n = 0"));
  assert_int_equal(texrt_set_num_threads(-5), TEX_ERR_ARG);
  assert_int_equal(texrt_set_num_threads(TEX_MAX_THREADS + 1), TEX_ERR_ARG);
  assert_non_null(strstr(texrt_last_error(), "from 1 to 256"));
  assert_int_equal(texrt_num_threads(), 3); /* unchanged */
  assert_int_equal(texrt_set_num_threads(TEX_MAX_THREADS), TEX_OK);
  assert_int_equal(texrt_set_num_threads(1), TEX_OK);
}

/* Several caller threads at once: one gets the pool, the others run
 * serially; every result is right. */
static atomic_int concurrent_bad;

static void *caller(void *arg) {
  (void)arg;
  int32_t *hits = malloc(sizeof(int32_t) * MAXN);
  uintptr_t *who = malloc(sizeof(uintptr_t) * MAXN);
  for (int r = 0; r < 200 && hits && who; r++) {
    int64_t extent = 1 + (r * 37) % MAXN;
    if (run_count(extent, 0, hits, who) != 0) atomic_fetch_add(&concurrent_bad, 1);
    for (int64_t i = 0; i < MAXN; i++)
      if (hits[i] != (i < extent)) atomic_fetch_add(&concurrent_bad, 1);
  }
  free(hits), free(who);
  return NULL;
}

static void concurrent_callers(void **state) {
  (void)state;
  assert_int_equal(texrt_set_num_threads(3), TEX_OK);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, caller, NULL), 0);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  assert_int_equal(atomic_load(&concurrent_bad), 0);
}

/* After the pool has run, a forked child can use it (its workers are new). */
static void fork_child(void **state) {
  (void)state;
#ifdef __SANITIZE_THREAD__
  skip(); /* ThreadSanitizer cannot start threads after a multi-threaded fork */
#endif
  static int32_t hits[MAXN];
  static uintptr_t who[MAXN];
  assert_int_equal(texrt_set_num_threads(3), TEX_OK);
  assert_int_equal(run_count(1000, 0, hits, who), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) { /* right results, and chunks on new workers */
    bool several = false, bad = false;
    for (int round = 0; round < 20 && !several && !bad; round++) {
      bad |= run_count(400, 2000, hits, who) != 0;
      for (int i = 0; i < 400; i++) bad |= hits[i] != 1, several |= who[i] != who[0];
    }
    _exit(bad || !several);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void) {
  setenv("TEX_PARALLEL_MIN_WORK", "0", 1);
  unsetenv("TEX_NUM_THREADS");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_iteration_once), cmocka_unit_test(chunks_on_several_threads),
      cmocka_unit_test(chunks_balanced),      cmocka_unit_test(first_error_wins),
      cmocka_unit_test(bad_counts),           cmocka_unit_test(concurrent_callers),
      cmocka_unit_test(fork_child),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
