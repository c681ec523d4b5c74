/* test_stability.c — every stability rewrite, end to end: at an input where
 * the expression as written overflows or loses all precision in f32 (shown
 * by evaluating it naively in C float), the compiled program is accurate.
 * Needs $TEXC. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "texrt.h"

static const char src[] =
    "fn log_one_plus(x: f32) -> f32 { return log(1.0 + x) }\n"
    "fn log_one_minus(x: f32) -> f32 { return log(1.0 - x) }\n"
    "fn exp_minus_one(x: f32) -> f32 { return exp(x) - 1.0 }\n"
    "fn log_add_exp(x: f32, y: f32) -> f32 { return log(exp(x) + exp(y)) }\n"
    "fn log_sigmoid(x: f32) -> f32 { return log(sigmoid(x)) }\n"
    "fn log_one_minus_sigmoid(x: f32) -> f32 { return log(1.0 - sigmoid(x)) }\n"
    "fn log1p_exp(x: f32) -> f32 { return log1p(exp(x)) }\n"
    "fn log1p_neg_sigmoid(x: f32) -> f32 { return log1p(-sigmoid(x)) }\n"
    "fn sigmoid_from_exp(x: f32) -> f32 { return exp(x) / (1.0 + exp(x)) }\n"
    "fn one_over_one_plus_exp(x: f32) -> f32 { return 1.0 / (1.0 + exp(x)) }\n"
    "fn one_minus_sigmoid(x: f32) -> f32 { return 1.0 - sigmoid(x) }\n"
    "fn log_exp(x: f32) -> f32 { return log(exp(x)) }\n"
    "fn log1p_expm1(x: f32) -> f32 { return log1p(expm1(x)) }\n"
    "fn sqrt_square(x: f32) -> f32 { return sqrt(x * x) }\n"
    "fn one_minus_erf(x: f32) -> f32 { return 1.0 - erf(x) }\n"
    "fn one_plus_erf(x: f32) -> f32 { return 1.0 + erf(x) }\n"
    "fn log1p_neg_exp(x: f32) -> f32 { return log1p(-exp(x)) }\n"
    "fn log_neg_expm1(x: f32) -> f32 { return log(-expm1(x)) }\n"
    "fn log_sum_exp(z: f32[N, K]) -> f32[N] { return log(sum(exp(z), axis=1)) }\n"
    "fn softmax_rows(z: f32[N, K]) -> f32[N, K] { return exp(z) / sum(exp(z), axis=1, keepdims=true) }\n"
    "fn log_softmax_rows(z: f32[N, K]) -> f32[N, K] { return log(exp(z) / sum(exp(z), axis=1, keepdims=true)) }\n"
    "fn lae_bcast(x: f32[1], y: f32[3]) -> f32[3] { return log(exp(x) + exp(y)) }\n"
    "fn lae_bcast64(x: f64, y: f64[N]) -> f64[N] { return log(exp(y) + exp(x)) }\n"
    "fn ratio_bcast(z: f32[1], s: f32[3]) -> f32[3] { return log(exp(z) / s) }\n"
    "fn ce_grad(z: f32[N, K], y: f32[N, K]) -> f32 { return -sum(y * log(exp(z) / sum(exp(z), axis=1, keepdims=true))) }\n";

/* naive(x, y): the expression as written, in C float */
typedef struct Case {
  const char *fn;
  float x, y;
  double want;                  /* the exact value, by hand */
  float (*naive)(float x, float y);
} Case;

static float n_log_one_plus(float x, float y) { (void)y; return logf(1.0f + x); }
static float n_log_one_minus(float x, float y) { (void)y; return logf(1.0f - x); }
static float n_exp_minus_one(float x, float y) { (void)y; return expf(x) - 1.0f; }
static float n_log_add_exp(float x, float y) { return logf(expf(x) + expf(y)); }
static float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }
static float n_log_sigmoid(float x, float y) { (void)y; return logf(sigm(x)); }
static float n_log_one_minus_sigmoid(float x, float y) { (void)y; return logf(1.0f - sigm(x)); }
static float n_log1p_exp(float x, float y) { (void)y; return log1pf(expf(x)); }
static float n_log1p_neg_sigmoid(float x, float y) { (void)y; return log1pf(-sigm(x)); }
static float n_sigmoid_from_exp(float x, float y) { (void)y; return expf(x) / (1.0f + expf(x)); }
static float n_one_over_one_plus_exp(float x, float y) { (void)y; return 1.0f / (1.0f + expf(x)); }
static float n_one_minus_sigmoid(float x, float y) { (void)y; return 1.0f - sigm(x); }
static float n_log_exp(float x, float y) { (void)y; return logf(expf(x)); }
static float n_log1p_expm1(float x, float y) { (void)y; return log1pf(expm1f(x)); }
static float n_sqrt_square(float x, float y) { (void)y; return sqrtf(x * x); }
static float n_one_minus_erf(float x, float y) { (void)y; return 1.0f - erff(x); }
static float n_one_plus_erf(float x, float y) { (void)y; return 1.0f + erff(x); }
static float n_log1p_neg_exp(float x, float y) { (void)y; return log1pf(-expf(x)); }
static float n_log_neg_expm1(float x, float y) { (void)y; return logf(-expm1f(x)); }

static const Case cases[] = {
    {"log_one_plus", 1e-10f, 0, 1e-10, n_log_one_plus},
    {"log_one_minus", 1e-10f, 0, -1e-10, n_log_one_minus},
    {"exp_minus_one", 1e-10f, 0, 1e-10, n_exp_minus_one},
    {"log_add_exp", 100, 99, 100.31326168751822, n_log_add_exp},
    {"log_sigmoid", -200, 0, -200, n_log_sigmoid},
    {"log_one_minus_sigmoid", 200, 0, -200, n_log_one_minus_sigmoid},
    {"log1p_exp", 200, 0, 200, n_log1p_exp},
    {"log1p_neg_sigmoid", 200, 0, -200, n_log1p_neg_sigmoid},
    {"sigmoid_from_exp", 200, 0, 1, n_sigmoid_from_exp},
    {"one_over_one_plus_exp", 90, 0, 8.194012623990515e-40, n_one_over_one_plus_exp},
    {"one_minus_sigmoid", 20, 0, 2.0611536181902037e-09, n_one_minus_sigmoid},
    {"log_exp", 200, 0, 200, n_log_exp},
    {"log1p_expm1", 200, 0, 200, n_log1p_expm1},
    {"sqrt_square", 1e30f, 0, 1e30, n_sqrt_square},
    {"one_minus_erf", 5, 0, 1.5374597944280351e-12, n_one_minus_erf},
    {"one_plus_erf", -4, 0, 1.541725790028002e-08, n_one_plus_erf},
    {"log1p_neg_exp", -1e-10f, 0, -23.025850929990458, n_log1p_neg_exp},
    {"log_neg_expm1", -50, 0, -1.9287498479639178e-22, n_log_neg_expm1},
};

static void *so;
static char dir[] = "/tmp/texc-stab-XXXXXX";

static int setup(void **state) {
  (void)state;
  if (!mkdtemp(dir)) return -1;
  char tex[128], lib[128], cmd[512];
  snprintf(tex, sizeof tex, "%s/s.tex", dir);
  snprintf(lib, sizeof lib, "%s/libs.so", dir);
  FILE *f = fopen(tex, "w");
  fputs(src, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "%s %s --grad ce_grad --wrt z -o %s", getenv("TEXC") ? getenv("TEXC") : "build/texc", tex, lib);
  if (system(cmd) != 0) return -1;
  so = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  return so ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  if (so) dlclose(so);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

static void *fn(const char *name) {
  char sym[128];
  snprintf(sym, sizeof sym, "s_%s", name);
  void *p = dlsym(so, sym);
  if (!p) fail_msg("no %s", sym);
  return p;
}

static DLTensor T(float *data, int ndim, int64_t *shape) {
  return (DLTensor){data, {kDLCPU, 0}, ndim, {kDLFloat, 32, 1}, shape, NULL, 0};
}

/* Accurate to 1e-5 relative (subnormal results: to one f32 ulp). */
static bool accurate(double got, double want) {
  return fabs(got - want) <= 1e-5 * fabs(want) || fabs(got - want) <= 1.5e-45;
}

static void test_scalar_rewrites(void **state) {
  (void)state;
  int64_t s[1];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const Case *c = &cases[i];
    float x = c->x, y = c->y, out = NAN;
    DLTensor tx = T(&x, 0, s), ty = T(&y, 0, s), to = T(&out, 0, s);
    int rc = strcmp(c->fn, "log_add_exp") == 0 ? ((int (*)(DLTensor *, DLTensor *, DLTensor *))fn(c->fn))(&tx, &ty, &to)
                                               : ((int (*)(DLTensor *, DLTensor *))fn(c->fn))(&tx, &to);
    assert_int_equal(rc, 0);
    float naive = c->naive(x, y);
    if (accurate(naive, c->want)) fail_msg("%s: the naive f32 form is accurate at this input, so the test shows nothing", c->fn);
    if (!accurate(out, c->want)) fail_msg("%s(%g) = %.9g, want %.9g (naive f32: %.9g)", c->fn, (double)x, (double)out, c->want, (double)naive);
  }
}

static void test_row_rewrites(void **state) {
  (void)state;
  float z[2][2] = {{1e4f, -1e4f}, {1000, 999}}, out[2][2], lse[2];
  int64_t shape[2] = {2, 2}, rows[1] = {2};
  DLTensor tz = T(&z[0][0], 2, shape), to = T(&out[0][0], 2, shape), tl = T(lse, 1, rows);
  assert_int_equal(((int (*)(DLTensor *, DLTensor *))fn("log_sum_exp"))(&tz, &tl), 0);
  if (!accurate(lse[0], 1e4) || !accurate(lse[1], 1000.3132616875182)) fail_msg("logsumexp = %g, %g", lse[0], lse[1]);
  assert_true(isinf(logf(expf(z[1][0]) + expf(z[1][1])))); /* naive overflows */
  assert_int_equal(((int (*)(DLTensor *, DLTensor *))fn("softmax_rows"))(&tz, &to), 0);
  if (!accurate(out[0][0], 1) || out[0][1] != 0 || !accurate(out[1][0], 0.7310585786300049)) fail_msg("softmax = %g %g %g", out[0][0], out[0][1], out[1][0]);
  assert_int_equal(((int (*)(DLTensor *, DLTensor *))fn("log_softmax_rows"))(&tz, &to), 0);
  if (out[0][0] != 0 || !accurate(out[0][1], -2e4) || !accurate(out[1][1], -1.3132616875182228)) fail_msg("log_softmax = %g %g %g", out[0][0], out[0][1], out[1][1]);
}

/* Stability rewrites are semantics, also when an operand is broadcast:
 * log(exp(x) + exp(y)) with x of shape [1] (or a scalar) and y of shape [3]
 * once gave inf at y = 100 (issue 8). */
static void test_broadcast_rewrites(void **state) {
  (void)state;
  float x = 0.5f, y[3] = {100, 1, -200}, out[3], z = 200, s3[3] = {2, 1, 0.5f};
  int64_t one[1] = {1}, three[1] = {3};
  DLTensor tx = T(&x, 1, one), ty = T(y, 1, three), to = T(out, 1, three);
  assert_int_equal(((int (*)(DLTensor *, DLTensor *, DLTensor *))fn("lae_bcast"))(&tx, &ty, &to), 0);
  double want[3] = {100, 1.4740769841801067, 0.5};
  for (int i = 0; i < 3; i++)
    if (!accurate(out[i], want[i])) fail_msg("lae_bcast[%d] = %.9g, want %.9g", i, (double)out[i], want[i]);
  assert_true(isinf(logf(expf(x) + expf(y[0])))); /* naive overflows */
  double x64 = 0.5, y64[2] = {1000, -1000}, o64[2];
  DLTensor tx64 = {&x64, {kDLCPU, 0}, 0, {kDLFloat, 64, 1}, three, NULL, 0};
  int64_t two[1] = {2};
  DLTensor ty64 = {y64, {kDLCPU, 0}, 1, {kDLFloat, 64, 1}, two, NULL, 0}, to64 = ty64;
  to64.data = o64;
  assert_int_equal(((int (*)(DLTensor *, DLTensor *, DLTensor *))fn("lae_bcast64"))(&tx64, &ty64, &to64), 0);
  if (o64[0] != 1000 || o64[1] != 0.5) fail_msg("lae_bcast64 = %.17g, %.17g, want 1000, 0.5", o64[0], o64[1]);
  DLTensor tz = T(&z, 1, one), ts = T(s3, 1, three);
  assert_int_equal(((int (*)(DLTensor *, DLTensor *, DLTensor *))fn("ratio_bcast"))(&tz, &ts, &to), 0);
  for (int i = 0; i < 3; i++)
    if (!accurate(out[i], 200 - log(s3[i]))) fail_msg("ratio_bcast[%d] = %.9g, want %.9g", i, (double)out[i], 200 - log(s3[i]));
}

/* The gradient of cross-entropy(softmax) stays finite at extreme logits:
 * d/dz = softmax(z) - y, built from the rewritten (stable) forward. */
static void test_cross_entropy_gradient(void **state) {
  (void)state;
  float z[2][3] = {{1e4f, -1e4f, 0}, {-1e4f, 50, 0}}, y[2][3] = {{0, 1, 0}, {0, 0, 1}}, v, dz[2][3];
  int64_t shape[2] = {2, 3}, s[1];
  DLTensor tz = T(&z[0][0], 2, shape), ty = T(&y[0][0], 2, shape), tv = T(&v, 0, s), td = T(&dz[0][0], 2, shape);
  assert_int_equal(((int (*)(DLTensor *, DLTensor *, DLTensor *, DLTensor *))fn("ce_grad_grad"))(&tz, &ty, &tv, &td), 0);
  double want[6] = {1, -1, 0, 0, 1, -1};
  for (int i = 0; i < 6; i++)
    if (!isfinite(dz[i / 3][i % 3]) || fabs(dz[i / 3][i % 3] - want[i]) > 1e-6) fail_msg("dz[%d] = %g, want %g", i, dz[i / 3][i % 3], want[i]);
  if (!isfinite(v) || !accurate(v, 2e4 + 50)) fail_msg("cross-entropy = %g", v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scalar_rewrites),
      cmocka_unit_test(test_row_rewrites),
      cmocka_unit_test(test_cross_entropy_gradient),
      cmocka_unit_test(test_broadcast_rewrites),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
