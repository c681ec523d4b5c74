/* test_regress.c — programs that once crashed texc, stopped with an internal
 * error or compiled to wrong code (issue 8), each run through the real
 * compiler ($TEXC).  A case is a source (or a generator of one), the texc
 * arguments, and what must happen: check-grad passes, or the compile exits
 * with a given status and prints a given text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend.h"

enum { TEX_MAX_PARAMS_TEST = TEX_MAX_PARAMS };

/* A growable string for generated sources. */
typedef struct Text {
  char *s;
  size_t len, cap;
} Text;

static void put(Text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (t->len + (size_t)n + 1 > t->cap) {
    t->cap = (t->len + (size_t)n + 1) * 2;
    t->s = realloc(t->s, t->cap);
  }
  vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  t->len += (size_t)n;
}

/* Writes src to a temporary .tex file; returns its path (static buffer). */
static const char *write_source(const char *src) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/texc-regress-XXXXXX.tex");
  int fd = mkstemps(path, 4);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs(src, f);
  fclose(f);
  return path;
}

/* Runs `texc ARGS` (ARGS contains %s for the source path); returns the exit
 * status, and the first 64 KB of stdout+stderr in out. */
static int run_texc(const char *src, const char *args, char *out, size_t outsz) {
  const char *path = write_source(src);
  char cmd[1024], fmt[512];
  const char *texc = getenv("TEXC") ? getenv("TEXC") : "build/texc";
  snprintf(fmt, sizeof fmt, "%s %s 2>&1", texc, args);
  snprintf(cmd, sizeof cmd, fmt, path);
  FILE *p = popen(cmd, "r");
  size_t n = fread(out, 1, outsz - 1, p);
  out[n] = 0;
  while (fgetc(p) != EOF) {}
  int rc = pclose(p);
  unlink(path);
  char so[128];
  snprintf(so, sizeof so, "%.*s.so", (int)(strlen(path) - 4), path);
  unlink(so);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

/* The compile must exit with status want and print text (NULL: anything). */
static void expect(const char *name, const char *src, const char *args, int want, const char *text) {
  static char out[1 << 16];
  int rc = run_texc(src, args, out, sizeof out);
  if (rc != want || (text && !strstr(out, text)))
    fail_msg("%s: texc %s exited %d (want %d%s%s):\n%.2000s", name, args, rc, want, text ? ", printing " : "",
             text ? text : "", out);
}

static void expect_grad_ok(const char *name, const char *src) {
  expect(name, src, "check-grad %s f --jvp", 0, "check-grad: ok");
}

/* ---- a matrix product fed a constant ---------------------------------------- */

static void test_matmul_of_broadcast_constant(void **state) {
  (void)state;
  /* the seed 1.0 of sum() is a broadcast constant, the A operand of b's
   * gradient matmul: it must be materialised, not left out of the kernel */
  expect_grad_ok("sum(b @ c)", "fn f(b: f64[3, 4], c: f64[4, 5]) -> f64 { return sum(b @ c) }");
  expect("sum(b @ c) --grad", "fn f(b: f32[N, K], c: f32[K, M]) -> f32 { return sum(b @ c) }", "--grad f %s -o /dev/null", 0, NULL);
  expect_grad_ok("sum(r @ A @ c)",
                 "fn f(A: f64[N, N], r: f64[M, N], c: f64[N, K]) -> f64 { return sum(r @ A @ c) }");
  /* the unused second result's zero cotangent feeds a matmul */
  expect_grad_ok("unused result", "fn two(a: f64[N, K], b: f64[K, M]) -> (f64[N, M], f64[N, M]) {\n"
                                  "  let p = a @ b\n  return p, p * 2.0\n}\n"
                                  "fn f(a: f64[N, K], b: f64[K, M], c: f64[M, J]) -> f64 {\n"
                                  "  let (p, q) = two(a, b)\n  return sum(p @ c)\n}");
  expect_grad_ok("vector seed", "fn f(a: f64[K], b: f64[K, M]) -> f64 { return sum(a @ b) }");
}

/* ---- a loop extent with a constant term ---------------------------------------- */

static void test_dim_with_constant_term(void **state) {
  (void)state;
  /* N*D + 1: the kernel's extent dropped the term 1 (coefficient 1, no
   * symbol) and LLVM's verifier saw a null operand: an internal error */
  expect("N*D + 1", "fn f(x: f32[N, D], y: f32[N*D + 1]) -> f32[N*D + 1] { return y * 2.0 }", "%s -o /dev/null", 0, NULL);
  expect("N + 1", "fn f(x: f32[N], y: f64[N + 1, 2]) -> f64[2, N + 1] { return transpose(y) }", "%s -o /dev/null", 0, NULL);
}

/* ---- limits: split kernels, dynamic derivation, diagnostics ------------------- */

/* fn f(a0: T, ..., a{n-1}: T) -> R { return a0 OP a1 OP ... } */
static char *sum_of_params(int n, const char *type, const char *result, const char *op) {
  Text t = {0};
  put(&t, "fn f(");
  for (int i = 0; i < n; i++) put(&t, "%sa%d: %s", i ? ", " : "", i, type);
  put(&t, ") -> %s { return ", result);
  for (int i = 0; i < n; i++) put(&t, "%sa%d", i ? op : "", i);
  put(&t, " }\n");
  return t.s;
}

static void test_wide_fusion_splits(void **state) {
  (void)state;
  /* 17 and 40 inputs fused into one expression: once "kernel with more than
   * 16 inputs"; now the group splits */
  char *src = sum_of_params(17, "f32[N]", "f32[N]", " + ");
  expect("17 inputs", src, "%s -o /dev/null", 0, NULL);
  expect("17 inputs -O0", src, "-O0 %s -o /dev/null", 0, NULL);
  free(src);
  src = sum_of_params(40, "f64[N, K]", "f64", " * ");
  char *wrapped = malloc(strlen(src) + 32);
  sprintf(wrapped, "%s", src);
  char *ret = strstr(wrapped, "return ");
  memmove(ret + strlen("return sum("), ret + strlen("return "), strlen(ret + strlen("return ")) + 1);
  memcpy(ret, "return sum(", strlen("return sum("));
  strcpy(strrchr(wrapped, '}') - 1, ") }\n");
  expect_grad_ok("40 inputs under a sum", wrapped);
  free(wrapped);
  free(src);
  /* 17 copies of sum(a) at -O0, where CSE does not merge them */
  Text t = {0};
  put(&t, "fn f(a: f32[N]) -> f32 { return ");
  for (int i = 0; i < 17; i++) put(&t, "%ssum(a)", i ? " + " : "");
  put(&t, " }\n");
  expect("17 x sum(a) -O0", t.s, "-O0 %s -o /dev/null", 0, NULL);
  free(t.s);
}

static void test_many_parameters(void **state) {
  (void)state;
  /* params + results once passed the ABI's 64 ("too many parameters") */
  char *src = sum_of_params(64, "f32", "f32", " * ");
  expect("grad of 64 params", src, "--grad f %s -o /dev/null", 0, NULL);
  free(src);
  src = sum_of_params(80, "f64", "f64", " * ");
  expect_grad_ok("80 params", src); /* check-grad's own limit is lower */
  free(src);
  src = sum_of_params(TEX_MAX_PARAMS_TEST, "f32", "f32", " + ");
  expect("256 params, value_and_grad", src, "--grad f %s -o /dev/null", 0, NULL);
  free(src);
  src = sum_of_params(TEX_MAX_PARAMS_TEST + 1, "f32", "f32", " + ");
  expect("257 params", src, "%s -o /dev/null", 1, "f() has 257 parameters; a function takes at most 256");
  free(src);
  /* --wrt naming parameter 65 once shifted 1ull << 64 */
  src = sum_of_params(70, "f64", "f64", " * ");
  expect("--wrt a66", src, "--grad f --wrt a66 %s --emit=ir -o -", 0, "wrt=[66]");
  free(src);
}

static void test_many_symbols(void **state) {
  (void)state;
  /* 80 size symbols once wrote past names[64] in codegen */
  Text t = {0};
  put(&t, "fn f(");
  for (int i = 0; i < 80; i++) put(&t, "%sa%d: f32[S%d]", i ? ", " : "", i, i);
  put(&t, ") -> f32 { return sum(a0) + sum(a79) }\n");
  expect("80 symbols", t.s, "%s -o /dev/null", 0, NULL);
  free(t.s);
  t = (Text){0};
  put(&t, "fn f(");
  for (int i = 0; i < 130; i++) put(&t, "%sa%d: f32[S%d, T%d]", i ? ", " : "", i, i, i);
  put(&t, ") -> f32 { return sum(a0) }\n");
  expect("260 symbols", t.s, "%s -o /dev/null", 1, "f() has more than 256 size symbols; a function may use at most 256");
  free(t.s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_matmul_of_broadcast_constant),
      cmocka_unit_test(test_dim_with_constant_term),
      cmocka_unit_test(test_wide_fusion_splits),
      cmocka_unit_test(test_many_parameters),
      cmocka_unit_test(test_many_symbols),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
