/* revolve.c — the binomial checkpointing schedule (Griewank's revolve) that
 * runs a loop's backward sweep with at most S stored states (texrt.h,
 * texrt_revolve; lang/reference.md, "Differentiating loops").
 *
 * The backward sweep runs steps t = T-1, ..., 0 back, each needing the
 * state step t starts with (P_t) in the current-state buffers.  Only the
 * initial state is known; P_{t+1} = advance(t, P_t).  With s slots, one of
 * them holding P_t0, the n steps t0 .. t0+n-1 are run back by
 *   n = 1: restore P_t0, run step t0 back;
 *   s = 1: for i = n-1 .. 0: restore P_t0, advance i steps, run t0+i back;
 *   else:  advance m steps from P_t0 and store P_{t0+m} in the next slot,
 *          run t0+m .. t0+n-1 back with s-1 slots, then t0 .. t0+m-1 with s.
 * (A restore is skipped when the current state already is the one wanted.)
 * The split m is the optimal one: with r the least integer for which
 * beta(s, r) = C(s+r, s) >= n, m = max(1, beta(s, r-2), n - beta(s-1, r)),
 * and the number of advances is then r*n - beta(s+1, r-1), the minimum
 * for s slots (Griewank 1992; tests/unit/test_revolve.c checks both
 * against a dynamic program).  Every step is run back exactly once, in
 * order T-1 .. 0; the recursion is s deep. */
#include "texrt.h"

#include <stdint.h>

/* C(s+r, s), saturated at INT64_MAX; 0 for r < 0. */
int64_t texrt_revolve_beta(int64_t s, int64_t r) {
  if (r < 0 || s < 0) return 0;
  __int128 c = 1;
  for (int64_t i = 1; i <= r; i++) {
    c = c * (s + i) / i; /* exact: c is C(s+i-1, i-1) before, C(s+i, i) after */
    if (c > INT64_MAX) return INT64_MAX;
  }
  return (int64_t)c;
}

/* The least r with beta(s, r) >= n (n >= 1, s >= 1). */
static int64_t reps_for(int64_t n, int64_t s) {
  int64_t r = 0;
  __int128 c = 1;
  while (c < n) {
    r++;
    c = c * (s + r) / r;
  }
  return r;
}

int64_t texrt_revolve_split(int64_t n, int64_t s) {
  int64_t r = reps_for(n, s), m = n - texrt_revolve_beta(s - 1, r), lo = texrt_revolve_beta(s, r - 2);
  if (m < lo) m = lo;
  if (m < 1) m = 1;
  if (m > n - 1) m = n - 1;
  return m;
}

int64_t texrt_revolve_advances(int64_t n, int64_t s) {
  if (n <= 1) return 0;
  int64_t r = reps_for(n, s);
  return r * n - texrt_revolve_beta(s + 1, r - 1);
}

typedef struct Rev {
  const TexRevolveOps *ops;
  int64_t pos; /* the step whose start state is in the current buffers, -1 if none */
} Rev;

/* The current state becomes P_to, from slot `slot` holding P_from. */
static int reach(Rev *v, int32_t slot, int64_t from, int64_t to) {
  int st = 0;
  if (v->pos < from || v->pos > to) {
    st = v->ops->restore(v->ops->ctx, slot);
    v->pos = from;
  }
  for (; st == 0 && v->pos < to; v->pos++) st = v->ops->advance(v->ops->ctx, v->pos);
  return st;
}

/* Steps t0 .. t0+n-1 back, slot `slot` holding P_t0 and s slots from it on. */
static int reverse(Rev *v, int64_t t0, int64_t n, int32_t slot, int32_t s) {
  int st = 0;
  while (n > 0 && st == 0) {
    if (n == 1 || s == 1) {
      if ((st = reach(v, slot, t0, t0 + n - 1)) == 0) st = v->ops->back(v->ops->ctx, t0 + n - 1);
      n--;
      continue;
    }
    int64_t m = texrt_revolve_split(n, s);
    if ((st = reach(v, slot, t0, t0 + m)) != 0) return st;
    if ((st = v->ops->store(v->ops->ctx, slot + 1)) != 0) return st;
    st = reverse(v, t0 + m, n - m, slot + 1, s - 1);
    n = m;
  }
  return st;
}

int texrt_revolve(int64_t trip, int32_t snaps, const TexRevolveOps *ops) {
  if (trip <= 0) return 0;
  if (snaps < 1) return -1;
  Rev v = {ops, 0}; /* the current buffers hold P_0 */
  int st = ops->store(ops->ctx, 0);
  return st ? st : reverse(&v, 0, trip, 0, snaps);
}
