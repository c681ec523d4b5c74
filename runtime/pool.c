/* pool.c — the runtime's thread pool: one kernel step's outer parallel loop
 * [0, extent) cut into contiguous chunks run by several threads.
 *
 * Every kernel computes the outer iterations [begin, end) it is given, and
 * a step the compiler marked `split` writes disjoint outputs per outer
 * iteration (codegen/module.c says which kinds), so the chunk boundaries
 * cannot change a single bit of the result: any thread may run any chunk,
 * and the chunks are claimed dynamically (a descheduled thread on a busy
 * machine does not hold the others up).
 *
 * The pool is process-wide state of this copy of the runtime (each .so has
 * its own): a mutex, two condition variables and the workers, created lazily
 * on the first step worth splitting.  One caller at a time owns it (`busy`);
 * a second caller thread meanwhile runs its steps serially, so concurrent
 * calls never wait for each other and never deadlock.  Idle workers spin a
 * few microseconds (POOL_SPIN) and then sleep on the condition variable, so
 * they never fight another pool (OpenMP's spinning is the counter-example).
 *
 * Errors: a chunk whose kernel finds a subscript out of range stops there;
 * of all failed chunks the one with the smallest begin is reported, which is
 * the error a serial run meets first (the kernel stops at the first one in
 * its order): the message does not depend on the thread count.
 *
 * fork: a pthread_atfork child handler forgets the workers (they do not
 * exist in the child) and resets the lock, so the child can use the pool
 * again.  dlclose: a destructor stops and joins the workers before the code
 * they run is unmapped.
 */
#include "texrt.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef POOL_SPIN
#define POOL_SPIN 400 /* pause instructions before sleeping: 10 us on this Zen 4 (25 ns each, measured) */
#endif
#define DEFAULT_MIN_WORK 131072 /* element-operations below which a step stays serial */
#define ALIGN_ITERS 64          /* chunks are multiples of this many iterations when long */
#define ROW_ITERS 8             /* ... or of this many when shorter (a matmul's MR rows) */

typedef struct Job {
  TexKernelFn fn;
  void *const *ops;
  const int64_t *syms;
  int64_t extent, chunk, nchunks;
  atomic_int_fast64_t next;   /* the next chunk to claim */
  atomic_int_fast64_t failed; /* smallest begin of a failed chunk, or INT64_MAX */
  int slots;                  /* workers that may join */
  TexIndexError err;          /* the error of chunk `failed` (under pool.lock) */
} Job;

static struct {
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  atomic_bool busy;        /* a caller owns the pool */
  atomic_uint_fast64_t gen; /* bumped (under lock) for every job */
  atomic_bool stop;
  atomic_int active;       /* workers inside the current job (changed under lock) */
  Job *job;                /* under lock: the current job or NULL */
  int joined;              /* under lock: workers that joined the current job */
  int nworkers;            /* under lock: workers created */
  bool create_failed;      /* under lock: pthread_create failed once; do not retry */
  pthread_t tid[TEX_MAX_THREADS];
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static atomic_int nthreads;           /* the thread count, callers included */
static atomic_int_fast64_t min_work; /* see DEFAULT_MIN_WORK */
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* ---- configuration ----------------------------------------------------------- */

/* A decimal integer in [lo, hi], nothing else (no sign, no blanks). */
static bool parse_count(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  int64_t v = 0;
  if (!s || !*s) return false;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > (hi - (*s - '0')) / 10) return false;
    v = v * 10 + (*s - '0');
  }
  if (v < lo) return false;
  *out = v;
  return true;
}

static int affinity_cpus(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n < 1 ? 1 : n > TEX_MAX_THREADS ? TEX_MAX_THREADS : n;
}

static void prepare_fork(void) { pthread_mutex_lock(&pool.lock); }
static void parent_fork(void) { pthread_mutex_unlock(&pool.lock); }

/* The child has only the forking thread: no workers, nobody owns the pool. */
static void child_fork(void) {
  pthread_mutex_init(&pool.lock, NULL);
  pthread_cond_init(&pool.wake, NULL);
  pthread_cond_init(&pool.done, NULL);
  atomic_store(&pool.busy, false);
  atomic_store(&pool.active, 0);
  pool.job = NULL, pool.joined = 0, pool.nworkers = 0, pool.create_failed = false;
}

/* TEX_NUM_THREADS: a count 1..TEX_MAX_THREADS; anything else is ignored
 * with one line on stderr, and the default (the CPUs this process may run
 * on) applies.  TEX_PARALLEL_MIN_WORK: the work below which a step is not
 * split (0 splits every splittable step: the tests use it). */
static void read_config(void) {
  int64_t v;
  const char *s = getenv("TEX_NUM_THREADS");
  int n = affinity_cpus();
  if (s && parse_count(s, 1, TEX_MAX_THREADS, &v))
    n = (int)v;
  else if (s)
    fprintf(stderr, "texc runtime: TEX_NUM_THREADS='%.40s' is not a count from 1 to %d; using %d threads\n", s, TEX_MAX_THREADS, n);
  atomic_store(&nthreads, n);
  s = getenv("TEX_PARALLEL_MIN_WORK");
  atomic_store(&min_work, s && parse_count(s, 0, INT64_MAX, &v) ? v : DEFAULT_MIN_WORK);
  pthread_atfork(prepare_fork, parent_fork, child_fork);
}

int texrt_num_threads(void) {
  pthread_once(&config_once, read_config);
  return atomic_load(&nthreads);
}

int texrt_set_num_threads(int n) {
  pthread_once(&config_once, read_config);
  if (n < 1 || n > TEX_MAX_THREADS)
    return texrt_fail(TEX_ERR_ARG, "set_num_threads: n = %d; the thread count must be from 1 to %d", n, TEX_MAX_THREADS);
  atomic_store(&nthreads, n);
  return TEX_OK;
}

/* ---- running a job ----------------------------------------------------------------- */

/* Claims chunks until none is left; a chunk after a failed one is skipped
 * (its error could not be the first). */
static void run_chunks(Job *j) {
  int64_t c;
  while ((c = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed)) < j->nchunks) {
    int64_t begin = c * j->chunk, end = begin + j->chunk < j->extent ? begin + j->chunk : j->extent;
    if (begin > atomic_load_explicit(&j->failed, memory_order_relaxed)) continue;
    TexIndexError err;
    if (!j->fn(j->ops, j->syms, begin, end, &err)) continue;
    pthread_mutex_lock(&pool.lock);
    if (begin < atomic_load_explicit(&j->failed, memory_order_relaxed)) {
      j->err = err;
      atomic_store_explicit(&j->failed, begin, memory_order_relaxed);
    }
    pthread_mutex_unlock(&pool.lock);
  }
}

/* With the lock held: waits until gen moves past *seen or the pool stops;
 * spins POOL_SPIN pauses first (a step right after another wakes no one). */
static void wait_for_work(uint64_t seen) {
  pthread_mutex_unlock(&pool.lock);
  for (int i = 0; i < POOL_SPIN && atomic_load_explicit(&pool.gen, memory_order_relaxed) == seen && !atomic_load(&pool.stop); i++)
    cpu_relax();
  pthread_mutex_lock(&pool.lock);
  while (atomic_load_explicit(&pool.gen, memory_order_relaxed) == seen && !atomic_load(&pool.stop))
    pthread_cond_wait(&pool.wake, &pool.lock);
}

static void *worker(void *arg) {
  uint64_t seen = (uint64_t)(uintptr_t)arg;
  pthread_mutex_lock(&pool.lock);
  while (!atomic_load(&pool.stop)) {
    uint64_t g = atomic_load_explicit(&pool.gen, memory_order_relaxed);
    Job *j = pool.job;
    if (g == seen || !j || pool.joined >= j->slots) {
      wait_for_work(seen = g);
      continue;
    }
    seen = g;
    pool.joined++;
    atomic_fetch_add(&pool.active, 1);
    pthread_mutex_unlock(&pool.lock);
    run_chunks(j);
    pthread_mutex_lock(&pool.lock);
    if (atomic_fetch_sub(&pool.active, 1) == 1) pthread_cond_signal(&pool.done);
  }
  pthread_mutex_unlock(&pool.lock);
  return NULL;
}

/* With the lock held: creates workers up to `want` (signals blocked in
 * them, so the application's threads receive its signals); a failure is
 * remembered and the pool runs with the workers it has. */
static void grow(int want) {
  if (pool.nworkers >= want || pool.create_failed || atomic_load(&pool.stop)) return;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  while (pool.nworkers < want) {
    uint64_t g = atomic_load(&pool.gen);
    if (pthread_create(&pool.tid[pool.nworkers], NULL, worker, (void *)(uintptr_t)g) != 0) {
      pool.create_failed = true;
      break;
    }
    pool.nworkers++;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Chunk length: extent split n ways, rounded up to ALIGN_ITERS when long
 * (vector loops then start at aligned iterations), to ROW_ITERS when
 * shorter, so that rounding leaves the threads at most 1/16 (1/8) apart: a
 * matmul's 784 rows at 2 threads were 448 + 336 (the first thread 14%
 * longer than an even split), now 392 + 392, whole 8-row tiles each. */
static int64_t chunk_len(int64_t extent, int n) {
  int64_t c = (extent + n - 1) / n;
  int64_t q = c >= 16 * ALIGN_ITERS ? ALIGN_ITERS : c >= 8 * ROW_ITERS ? ROW_ITERS : 1;
  return (c + q - 1) / q * q;
}

/* The caller owns the pool: publish the job, run chunks, wait for the
 * workers that joined. */
static int run_parallel(Job *j, int n, TexIndexError *err) {
  pthread_mutex_lock(&pool.lock);
  grow(n - 1);
  j->slots = pool.nworkers < n - 1 ? pool.nworkers : n - 1;
  pool.job = j, pool.joined = 0;
  atomic_fetch_add(&pool.gen, 1);
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.lock);
  run_chunks(j);
  for (int i = 0; i < POOL_SPIN && atomic_load(&pool.active) > 0; i++) cpu_relax();
  pthread_mutex_lock(&pool.lock);
  while (atomic_load(&pool.active) > 0) pthread_cond_wait(&pool.done, &pool.lock);
  pool.job = NULL;
  int failed = atomic_load(&j->failed) != INT64_MAX;
  if (failed) *err = j->err;
  pthread_mutex_unlock(&pool.lock);
  return failed;
}

int32_t texrt_parallel_for(TexKernelFn fn, void *const *ops, const int64_t *syms, int64_t extent, int64_t work, TexIndexError *err) {
  int n = texrt_num_threads();
  int64_t total;
  if (n > extent) n = (int)extent;
  if (n <= 1 || (!__builtin_mul_overflow(extent, work < 1 ? 1 : work, &total) && total < atomic_load(&min_work)) ||
      atomic_exchange(&pool.busy, true))
    return fn(ops, syms, 0, extent, err);
  Job j = {.fn = fn, .ops = ops, .syms = syms, .extent = extent, .chunk = chunk_len(extent, n)};
  j.nchunks = (extent + j.chunk - 1) / j.chunk;
  atomic_init(&j.next, 0);
  atomic_init(&j.failed, INT64_MAX);
  int failed = run_parallel(&j, n, err);
  atomic_store(&pool.busy, false);
  return failed;
}

/* dlclose (or exit): the workers leave before their code goes away. */
__attribute__((destructor)) static void pool_shutdown(void) {
  pthread_mutex_lock(&pool.lock);
  atomic_store(&pool.stop, true);
  pthread_cond_broadcast(&pool.wake);
  int n = pool.nworkers;
  pthread_mutex_unlock(&pool.lock);
  for (int i = 0; i < n; i++) pthread_join(pool.tid[i], NULL);
  pthread_mutex_lock(&pool.lock);
  pool.nworkers = 0;
  pthread_mutex_unlock(&pool.lock);
}
