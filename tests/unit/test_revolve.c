/* test_revolve.c — the binomial checkpointing schedule (runtime/revolve.c)
 * on a simulated loop whose state is the step it starts: every step is run
 * back once, in order T-1 .. 0, with its own state; no slot outside
 * 0 .. S-1 is used and none is read before it is written; the advances are
 * the formula's count, which equals the optimum a dynamic program finds for
 * every T <= 120 and S <= 6; a failing callback stops the schedule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "texrt.h"

enum { MAX_SLOTS = 64 };

typedef struct Sim {
  int64_t cur;                 /* the state in the current buffers: the step it starts */
  int64_t slot[MAX_SLOTS];     /* -1: never written */
  int32_t snaps;
  int64_t next_back;           /* the step that must be run back next */
  int64_t advances, restores, stores;
  int64_t fail_at;             /* back(t) of this step fails (-1: none) */
  int bad;
} Sim;

static int sim_advance(void *ctx, int64_t t) {
  Sim *s = ctx;
  if (t != s->cur) s->bad++;
  s->cur = t + 1, s->advances++;
  return 0;
}

static int sim_back(void *ctx, int64_t t) {
  Sim *s = ctx;
  if (t != s->next_back || s->cur != t) s->bad++;
  s->next_back--;
  return t == s->fail_at ? 7 : 0;
}

static int sim_store(void *ctx, int32_t i) {
  Sim *s = ctx;
  if (i < 0 || i >= s->snaps) return s->bad++, 0;
  s->slot[i] = s->cur, s->stores++;
  return 0;
}

static int sim_restore(void *ctx, int32_t i) {
  Sim *s = ctx;
  if (i < 0 || i >= s->snaps || s->slot[i] < 0) return s->bad++, 0;
  s->cur = s->slot[i], s->restores++;
  return 0;
}

static Sim run_sim(int64_t trip, int32_t snaps, int64_t fail_at, int *st) {
  Sim s = {.cur = 0, .snaps = snaps, .next_back = trip - 1, .fail_at = fail_at};
  for (int i = 0; i < MAX_SLOTS; i++) s.slot[i] = -1;
  TexRevolveOps ops = {&s, sim_advance, sim_back, sim_store, sim_restore};
  *st = texrt_revolve(trip, snaps, &ops);
  return s;
}

/* The fewest advances that run n steps back with s slots, one holding the
 * first step's state: min over the first stored step m of
 * m + best(n-m, s-1) + best(m, s). */
enum { DP_N = 121, DP_S = 7 };
static int64_t dp[DP_N][DP_S];

static void fill_dp(void) {
  for (int s = 1; s < DP_S; s++)
    for (int n = 0; n < DP_N; n++) {
      if (n <= 1 || s == 1) {
        dp[n][s] = n <= 1 ? 0 : (int64_t)n * (n - 1) / 2;
        continue;
      }
      int64_t best = INT64_MAX;
      for (int m = 1; m < n; m++)
        if (m + dp[n - m][s - 1] + dp[m][s] < best) best = m + dp[n - m][s - 1] + dp[m][s];
      dp[n][s] = best;
    }
}

static void test_schedule_optimal(void **state) {
  (void)state;
  fill_dp();
  for (int32_t s = 1; s < DP_S; s++)
    for (int64_t n = 0; n < DP_N; n++) {
      int st;
      Sim sim = run_sim(n, s, -1, &st);
      assert_int_equal(st, 0);
      assert_int_equal(sim.bad, 0);
      assert_int_equal(sim.next_back, -1); /* every step run back */
      assert_int_equal(sim.advances, dp[n][s]);
      assert_int_equal(sim.advances, texrt_revolve_advances(n, s));
    }
}

/* Long loops: T = 10000 with S = 1 .. 12 (and S = 1 is T(T-1)/2). */
static void test_schedule_long(void **state) {
  (void)state;
  for (int32_t s = 1; s <= 12; s++) {
    int st;
    Sim sim = run_sim(10000, s, -1, &st);
    assert_int_equal(st, 0);
    assert_int_equal(sim.bad, 0);
    assert_int_equal(sim.next_back, -1);
    assert_int_equal(sim.advances, texrt_revolve_advances(10000, s));
    if (s == 1) assert_int_equal(sim.advances, 10000 * 9999 / 2);
    if (s == 3) assert_true(sim.advances < 10000 * 40); /* C(3+38, 3) > 10000: at most 38 per step */
  }
}

static void test_binomials(void **state) {
  (void)state;
  assert_int_equal(texrt_revolve_beta(3, 2), 10);
  assert_int_equal(texrt_revolve_beta(2, -1), 0);
  assert_int_equal(texrt_revolve_beta(5, 0), 1);
  assert_int_equal(texrt_revolve_beta(60, 60), INT64_MAX); /* saturates */
  assert_int_equal(texrt_revolve_split(4, 2), 1);
  assert_int_equal(texrt_revolve_split(10, 2), 6);
}

static void test_errors(void **state) {
  (void)state;
  int st;
  Sim sim = run_sim(50, 3, 20, &st);
  assert_int_equal(st, 7);
  assert_int_equal(sim.next_back, 19); /* stopped right after the failing step */
  sim = run_sim(5, 0, -1, &st);
  assert_int_equal(st, -1);
  sim = run_sim(0, 0, -1, &st); /* nothing to run: no slot needed */
  assert_int_equal(st, 0);
  assert_int_equal(sim.stores, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schedule_optimal),
      cmocka_unit_test(test_schedule_long),
      cmocka_unit_test(test_binomials),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
