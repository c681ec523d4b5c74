/* test_autodiff.c — end-to-end differentiation: programs are compiled with
 * $TEXC, loaded, and their derivatives compared with values derived by hand
 * (independently of texc): sub-gradients at ties, the stable primitives at
 * logits of +-1e4, a two-layer MLP with softmax cross-entropy, a training
 * step that updates its weights in place, a user gradient rule, and
 * Hessian-vector products by reverse-over-reverse and forward-over-reverse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "texrt.h"

/* ---- compiling and calling -------------------------------------------------- */

typedef struct Lib {
  void *so;
  char prefix[32];
} Lib;

static char dir[] = "/tmp/texc-ad-XXXXXX";

/* Compiles src (with extra texc flags) as lib<prefix>.so and loads it. */
static Lib build(const char *prefix, const char *src, const char *flags) {
  Lib lib = {0};
  snprintf(lib.prefix, sizeof lib.prefix, "%s", prefix);
  char tex[256], so[256], cmd[1024];
  snprintf(tex, sizeof tex, "%s/%s.tex", dir, prefix);
  snprintf(so, sizeof so, "%s/lib%s.so", dir, prefix);
  FILE *f = fopen(tex, "w");
  fputs(src, f);
  fclose(f);
  const char *texc = getenv("TEXC") ? getenv("TEXC") : "build/texc";
  snprintf(cmd, sizeof cmd, "%s %s %s -o %s", texc, tex, flags, so);
  if (system(cmd) != 0) fail_msg("texc failed on:\n%s", src);
  lib.so = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  if (!lib.so) fail_msg("dlopen: %s", dlerror());
  return lib;
}

static void *sym(Lib *lib, const char *fn) {
  char name[128];
  snprintf(name, sizeof name, "%s_%s", lib->prefix, fn);
  void *p = dlsym(lib->so, name);
  if (!p) fail_msg("no symbol %s", name);
  return p;
}

static const char *last_error(Lib *lib) { return ((const char *(*)(void))sym(lib, "last_error"))(); }

/* A tensor over caller memory: f64 unless bits says 32. */
static DLTensor T(void *data, int ndim, int64_t *shape, int bits) {
  return (DLTensor){data, {kDLCPU, 0}, ndim, {kDLFloat, (uint8_t)bits, 1}, shape, NULL, 0};
}

typedef DLTensor *P;
#define CALL(lib, fn, ...)                                                               \
  do {                                                                                   \
    P args_[] = {__VA_ARGS__};                                                           \
    int rc_ = call_n(sym(&(lib), fn), (int)(sizeof args_ / sizeof args_[0]), args_);     \
    if (rc_) fail_msg("%s failed: %s", fn, last_error(&(lib)));                          \
  } while (0)

static int call_n(void *fn, int n, P *a) {
  switch (n) {
  case 2: return ((int (*)(P, P))fn)(a[0], a[1]);
  case 3: return ((int (*)(P, P, P))fn)(a[0], a[1], a[2]);
  case 4: return ((int (*)(P, P, P, P))fn)(a[0], a[1], a[2], a[3]);
  case 5: return ((int (*)(P, P, P, P, P))fn)(a[0], a[1], a[2], a[3], a[4]);
  case 6: return ((int (*)(P, P, P, P, P, P))fn)(a[0], a[1], a[2], a[3], a[4], a[5]);
  case 7: return ((int (*)(P, P, P, P, P, P, P))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
  case 8: return ((int (*)(P, P, P, P, P, P, P, P))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
  case 11: return ((int (*)(P, P, P, P, P, P, P, P, P, P, P))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
  default: fail_msg("no call shape for %d arguments", n);
  }
  return -1;
}

static void expect_near(const char *what, const double *got, const double *want, int n, double tol) {
  for (int i = 0; i < n; i++)
    if (!(fabs(got[i] - want[i]) <= tol * fmax(1.0, fabs(want[i]))))
      fail_msg("%s[%d] = %.17g, expected %.17g (tolerance %g)", what, i, got[i], want[i], tol);
}

/* ---- sub-gradients ---------------------------------------------------------- */

static void test_subgradients(void **state) {
  (void)state;
  Lib lib = build("sub",
                  "fn f(x: f64[N], y: f64[N]) -> f64 {\n"
                  "    return sum(max(x, y) + abs(x) + where(x > 0.0, x, 2.0 * x))\n}\n"
                  "fn g(x: f64[N]) -> f64 {\n    return max(x) + min(x, axis=0)\n}\n",
                  "--grad f,g");
  double x[4] = {0, 1, -1, 2}, y[4] = {0, 0, 0, 3}, v, dx[4], dy[4];
  int64_t n[1] = {4}, s[1];
  DLTensor tx = T(x, 1, n, 64), ty = T(y, 1, n, 64), tv = T(&v, 0, s, 64), tdx = T(dx, 1, n, 64), tdy = T(dy, 1, n, 64);
  CALL(lib, "f_grad", &tx, &ty, &tv, &tdx, &tdy);
  /* max: wins 1, tie 1/2 each, loses 0; abs'(0) = 0; where: the branch taken */
  double want_dx[4] = {0.5 + 0 + 2, 1 + 1 + 1, 0 - 1 + 2, 0 + 1 + 1}, want_dy[4] = {0.5, 0, 1, 1};
  expect_near("d f / d x", dx, want_dx, 4, 0);
  expect_near("d f / d y", dy, want_dy, 4, 0);
  double z[4] = {1, 3, 3, -2};
  DLTensor tz = T(z, 1, n, 64);
  CALL(lib, "g_grad", &tz, &tv, &tdx);
  double want_dz[4] = {0, 0.5, 0.5, 1}; /* tied maxima share; the minimum takes all */
  expect_near("d g / d z", dx, want_dz, 4, 0);
}

/* ---- stable primitives at extreme logits --------------------------------------- */

static void test_stable_primitives_at_extremes(void **state) {
  (void)state;
  Lib lib = build("stable",
                  "fn ce(z: f32[N, K], y: f32[N, K]) -> f32 {\n"
                  "    return -sum(y * log_softmax(z, axis=1))\n}\n"
                  "fn lse(z: f32[N, K]) -> f32 {\n    return sum(logsumexp(z, axis=1))\n}\n"
                  "fn sm(z: f32[N, K], w: f32[N, K]) -> f32 {\n    return sum(softmax(z, axis=1) * w)\n}\n"
                  "fn sp(z: f32[N, K]) -> f32 {\n    return sum(softplus(z) + log1p(exp(-abs(z))) + expm1(-abs(z)))\n}\n",
                  "--grad ce,lse,sm,sp");
  float z[2][3] = {{1e4f, -1e4f, 0}, {-1e4f, -1e4f, 5}}, y[2][3] = {{0, 1, 0}, {0, 0, 1}}, v, dz[2][3], dy[2][3];
  int64_t shape[2] = {2, 3}, s[1];
  DLTensor tz = T(z, 2, shape, 32), ty = T(y, 2, shape, 32), tv = T(&v, 0, s, 32), tdz = T(dz, 2, shape, 32), tdy = T(dy, 2, shape, 32);
  CALL(lib, "ce_grad", &tz, &ty, &tv, &tdz, &tdy);
  /* row 0: log_softmax = (0, -2e4, -1e4) -> ce = 2e4; row 1: ~0.  d ce/dz = softmax - y */
  double got = v, want = 2e4;
  expect_near("cross-entropy", &got, &want, 1, 1e-6);
  double want_dz[6] = {1, -1, 0, 0, 0, 0};
  for (int i = 0; i < 6; i++) {
    double g = dz[i / 3][i % 3];
    if (!isfinite(g) || fabs(g - want_dz[i]) > 1e-6) fail_msg("d ce/dz[%d] = %g, expected %g", i, g, want_dz[i]);
  }
  CALL(lib, "lse_grad", &tz, &tv, &tdz);
  got = v, want = 1e4 + 5; /* rows: 1e4 + log(1 + e^-1e4 + e^-2e4), 5 + log(1 + 2 e^-10005) */
  expect_near("logsumexp", &got, &want, 1, 1e-6);
  for (int i = 0; i < 6; i++)
    if (!isfinite(dz[i / 3][i % 3])) fail_msg("d logsumexp/dz[%d] is not finite", i);
  CALL(lib, "sp_grad", &tz, &tv, &tdz);
  if (!isfinite(v)) fail_msg("softplus at +-1e4 is not finite: %g", v);
  for (int i = 0; i < 6; i++)
    if (!isfinite(dz[i / 3][i % 3])) fail_msg("d softplus/dz[%d] is not finite", i);
  float w[2][3] = {{1, 2, 3}, {4, 5, 6}};
  DLTensor tw = T(w, 2, shape, 32);
  CALL(lib, "sm_grad", &tz, &tw, &tv, &tdz, &tdy);
  got = v, want = 1 + 6; /* softmax rows (1,0,0) and (0,0,1) */
  expect_near("softmax", &got, &want, 1, 1e-6);
}

/* ---- a two-layer MLP against backpropagation derived by hand -------------------- */

enum { MN = 5, MD = 4, MH = 3, MK = 3 };

/* loss = mean_n -sum_k y log softmax(tanh(x W1 + b1) W2 + b2), and its
 * gradients by hand (double precision, independent of texc). */
static double mlp_by_hand(const double *x, const double *y, const double *W1, const double *b1, const double *W2,
                          const double *b2, double *gW1, double *gb1, double *gW2, double *gb2) {
  double loss = 0;
  memset(gW1, 0, sizeof(double) * MD * MH), memset(gb1, 0, sizeof(double) * MH);
  memset(gW2, 0, sizeof(double) * MH * MK), memset(gb2, 0, sizeof(double) * MK);
  for (int n = 0; n < MN; n++) {
    double h[MH], z[MK], m = -INFINITY, s = 0, dz[MK], dh[MH];
    for (int j = 0; j < MH; j++) {
      double a = b1[j];
      for (int d = 0; d < MD; d++) a += x[n * MD + d] * W1[d * MH + j];
      h[j] = tanh(a);
    }
    for (int k = 0; k < MK; k++) {
      z[k] = b2[k];
      for (int j = 0; j < MH; j++) z[k] += h[j] * W2[j * MK + k];
      m = fmax(m, z[k]);
    }
    for (int k = 0; k < MK; k++) s += exp(z[k] - m);
    for (int k = 0; k < MK; k++) {
      double logp = z[k] - m - log(s);
      loss -= y[n * MK + k] * logp / MN;
      dz[k] = (exp(logp) * 1.0 - y[n * MK + k]) / MN; /* rows of y sum to 1 */
    }
    for (int j = 0; j < MH; j++) {
      dh[j] = 0;
      for (int k = 0; k < MK; k++) gW2[j * MK + k] += h[j] * dz[k], dh[j] += W2[j * MK + k] * dz[k];
      dh[j] *= 1 - h[j] * h[j];
      gb1[j] += dh[j];
      for (int d = 0; d < MD; d++) gW1[d * MH + j] += x[n * MD + d] * dh[j];
    }
    for (int k = 0; k < MK; k++) gb2[k] += dz[k];
  }
  return loss;
}

static const char mlp_src[] =
    "fn loss(W1: f64[D, H], b1: f64[H], W2: f64[H, K], b2: f64[K], x: f64[N, D], y: f64[N, K]) -> f64 {\n"
    "    let h = tanh(x @ W1 + b1)\n"
    "    return -mean(sum(y * log_softmax(h @ W2 + b2, axis=1), axis=1))\n}\n"
    "fn step(W1: inout f64[D, H], b1: inout f64[H], W2: inout f64[H, K], b2: inout f64[K],\n"
    "        x: f64[N, D], y: f64[N, K], lr: f64) -> f64 {\n"
    "    let (l, g1, gb1, g2, gb2) = value_and_grad(loss, W1, b1, W2, b2, x, y, wrt=(W1, b1, W2, b2))\n"
    "    update W1 = W1 - lr * g1\n    update b1 = b1 - lr * gb1\n"
    "    update W2 = W2 - lr * g2\n    update b2 = b2 - lr * gb2\n"
    "    return l\n}\n";

static void fill(double *p, int n, unsigned *seed) {
  for (int i = 0; i < n; i++) p[i] = (double)(rand_r(seed) % 2001) / 1000.0 - 1.0;
}

static void test_mlp_matches_backprop_by_hand(void **state) {
  (void)state;
  Lib lib = build("mlp", mlp_src, "--grad loss --wrt W1,b1,W2,b2");
  unsigned seed = 7;
  double W1[MD * MH], b1[MH], W2[MH * MK], b2[MK], x[MN * MD], y[MN * MK] = {0}, v;
  double g[4][MD * MH], want[4][MD * MH];
  fill(W1, MD * MH, &seed), fill(b1, MH, &seed), fill(W2, MH * MK, &seed), fill(b2, MK, &seed), fill(x, MN * MD, &seed);
  for (int n = 0; n < MN; n++) y[n * MK + n % MK] = 1;
  int64_t sW1[2] = {MD, MH}, sb1[1] = {MH}, sW2[2] = {MH, MK}, sb2[1] = {MK}, sx[2] = {MN, MD}, sy[2] = {MN, MK}, s[1];
  DLTensor tW1 = T(W1, 2, sW1, 64), tb1 = T(b1, 1, sb1, 64), tW2 = T(W2, 2, sW2, 64), tb2 = T(b2, 1, sb2, 64);
  DLTensor tx = T(x, 2, sx, 64), ty = T(y, 2, sy, 64), tv = T(&v, 0, s, 64);
  DLTensor g1 = T(g[0], 2, sW1, 64), g2 = T(g[1], 1, sb1, 64), g3 = T(g[2], 2, sW2, 64), g4 = T(g[3], 1, sb2, 64);
  CALL(lib, "loss_grad", &tW1, &tb1, &tW2, &tb2, &tx, &ty, &tv, &g1, &g2, &g3, &g4);
  double want_loss = mlp_by_hand(x, y, W1, b1, W2, b2, want[0], want[1], want[2], want[3]);
  expect_near("loss", &v, &want_loss, 1, 1e-12);
  expect_near("dW1", g[0], want[0], MD * MH, 1e-12);
  expect_near("db1", g[1], want[1], MH, 1e-12);
  expect_near("dW2", g[2], want[2], MH * MK, 1e-12);
  expect_near("db2", g[3], want[3], MK, 1e-12);
}

/* The same MLP's gradient against finite differences (texc check-grad). */
static void test_mlp_matches_finite_differences(void **state) {
  (void)state;
  char tex[256], cmd[512], out[2048] = "";
  snprintf(tex, sizeof tex, "%s/mlp_fd.tex", dir);
  FILE *f = fopen(tex, "w");
  fputs(mlp_src, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "%s check-grad %s loss --jvp --seed 5 2>&1", getenv("TEXC") ? getenv("TEXC") : "build/texc", tex);
  FILE *p = popen(cmd, "r");
  out[fread(out, 1, sizeof out - 1, p)] = 0;
  if (pclose(p) != 0 || !strstr(out, "check-grad: ok")) fail_msg("check-grad on the MLP:\n%s", out);
  assert_non_null(strstr(out, "W1 max_rel_err="));
}

/* The in-language training step overwrites its weights: W <- W - lr * dW. */
static void test_train_step_updates_in_place(void **state) {
  (void)state;
  Lib lib = build("step", mlp_src, "");
  unsigned seed = 11;
  double W1[MD * MH], b1[MH], W2[MH * MK], b2[MK], x[MN * MD], y[MN * MK] = {0}, lr = 0.25, v = 0;
  double want[4][MD * MH], W1_0[MD * MH], b2_0[MK];
  fill(W1, MD * MH, &seed), fill(b1, MH, &seed), fill(W2, MH * MK, &seed), fill(b2, MK, &seed), fill(x, MN * MD, &seed);
  for (int n = 0; n < MN; n++) y[n * MK + (n * 2) % MK] = 1;
  double want_loss = mlp_by_hand(x, y, W1, b1, W2, b2, want[0], want[1], want[2], want[3]);
  memcpy(W1_0, W1, sizeof W1), memcpy(b2_0, b2, sizeof b2);
  int64_t sW1[2] = {MD, MH}, sb1[1] = {MH}, sW2[2] = {MH, MK}, sb2[1] = {MK}, sx[2] = {MN, MD}, sy[2] = {MN, MK}, s[1];
  DLTensor tW1 = T(W1, 2, sW1, 64), tb1 = T(b1, 1, sb1, 64), tW2 = T(W2, 2, sW2, 64), tb2 = T(b2, 1, sb2, 64);
  DLTensor tx = T(x, 2, sx, 64), ty = T(y, 2, sy, 64), tlr = T(&lr, 0, s, 64), tv = T(&v, 0, s, 64);
  CALL(lib, "step", &tW1, &tb1, &tW2, &tb2, &tx, &ty, &tlr, &tv);
  expect_near("loss returned by step", &v, &want_loss, 1, 1e-12);
  for (int i = 0; i < MD * MH; i++) want[0][i] = W1_0[i] - lr * want[0][i];
  for (int i = 0; i < MK; i++) want[3][i] = b2_0[i] - lr * want[3][i];
  expect_near("W1 after the step", W1, want[0], MD * MH, 1e-12);
  expect_near("b2 after the step", b2, want[3], MK, 1e-12);
  /* the metadata says W1 is updated in place */
  const TexModuleInfo *mi = ((const TexModuleInfo *(*)(void))sym(&lib, "module_info"))();
  for (int i = 0; i < mi->nfuncs; i++)
    if (strcmp(mi->funcs[i].name, "step") == 0) assert_int_equal(mi->funcs[i].params[0].role, TEX_INOUT);
}

/* ---- a user gradient rule ---------------------------------------------------------- */

static void test_custom_gradient_rule(void **state) {
  (void)state;
  /* softplus2's rule is the true derivative; twice's rule is deliberately
   * not (it says 3), which proves the rule, not the body, is differentiated */
  Lib lib = build("rule",
                  "fn softplus2(x: f64[N]) -> f64[N] {\n    return log(1.0 + exp(x))\n}\n"
                  "grad softplus2(x: f64[N], dy: f64[N]) -> f64[N] {\n    return dy * sigmoid(x)\n}\n"
                  "fn twice(x: f64[N]) -> f64[N] {\n    return x * 2.0\n}\n"
                  "grad twice(x: f64[N], dy: f64[N]) -> f64[N] {\n    return dy * 3.0\n}\n"
                  "fn f(x: f64[N]) -> f64 {\n    return sum(softplus2(x) + twice(x))\n}\n",
                  "--grad f");
  double x[3] = {-2, 0, 5}, v, dx[3], want[3];
  int64_t n[1] = {3}, s[1];
  DLTensor tx = T(x, 1, n, 64), tv = T(&v, 0, s, 64), tdx = T(dx, 1, n, 64);
  CALL(lib, "f_grad", &tx, &tv, &tdx);
  for (int i = 0; i < 3; i++) want[i] = 1 / (1 + exp(-x[i])) + 3;
  expect_near("d f / d x through user rules", dx, want, 3, 1e-15);
}

/* ---- Hessian-vector products -------------------------------------------------------- */

static void test_hessian_vector_products(void **state) {
  (void)state;
  /* f(x) = sum(x^4)/4 + sum(x)*sum(x)/2:  H = diag(3x^2) + ones  ->  Hv = 3x^2 v + sum(v) */
  Lib lib = build("hvp",
                  "fn f(x: f64[N]) -> f64 {\n    return sum(x * x * x * x) / 4.0 + sum(x) * sum(x) / 2.0\n}\n"
                  "fn gv(x: f64[N], v: f64[N]) -> f64 {\n    return sum(grad(f, x) * v)\n}\n"
                  "fn hvp_rev(x: f64[N], v: f64[N]) -> f64[N] {\n    return grad(gv, x, v, wrt=x)\n}\n"
                  "fn g(x: f64[N]) -> f64[N] {\n    return grad(f, x)\n}\n"
                  "fn hvp_fwd(x: f64[N], v: f64[N]) -> f64[N] {\n    return jvp(g, x, v)\n}\n",
                  "");
  double x[3] = {0.5, -1, 2}, v[3] = {1, 2, -0.5}, hv[3], want[3];
  int64_t n[1] = {3};
  DLTensor tx = T(x, 1, n, 64), tv = T(v, 1, n, 64), th = T(hv, 1, n, 64);
  for (int i = 0; i < 3; i++) want[i] = 3 * x[i] * x[i] * v[i] + (v[0] + v[1] + v[2]);
  CALL(lib, "hvp_rev", &tx, &tv, &th);
  expect_near("Hv reverse-over-reverse", hv, want, 3, 1e-12);
  memset(hv, 0, sizeof hv);
  CALL(lib, "hvp_fwd", &tx, &tv, &th);
  expect_near("Hv forward-over-reverse", hv, want, 3, 1e-12);
}

static int setup(void **state) {
  (void)state;
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_subgradients),
      cmocka_unit_test(test_stable_primitives_at_extremes),
      cmocka_unit_test(test_mlp_matches_backprop_by_hand),
      cmocka_unit_test(test_mlp_matches_finite_differences),
      cmocka_unit_test(test_train_step_updates_in_place),
      cmocka_unit_test(test_custom_gradient_rule),
      cmocka_unit_test(test_hessian_vector_products),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
