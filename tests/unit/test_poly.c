/* test_poly.c — polymorphic functions (frontend/poly.c) and modules
 * (frontend/modules.c): memoised specialisations, derivatives through
 * them, each module loaded once, the module limit. */
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
#include "passes.h"

/* Lowers file (src written there if given); errors into *errors (caller frees). */
static IrModule *compile(const char *file, const char *src, char **errors) {
  char *text = NULL;
  size_t len = 0;
  FILE *err = open_memstream(&text, &len);
  Diag d;
  diag_init(&d, err);
  IrModule *m = fe_compile_text(file, src, "t", &d);
  fclose(err);
  *errors = text;
  if (m) assert_int_equal(ir_verify(m, stderr, "sema"), 0);
  return m;
}

static int count_funcs(const IrModule *m, const char *prefix) {
  int n = 0;
  for (int i = 0; i < m->funcs.len; i++) n += strncmp(((IrFunc *)m->funcs.items[i])->name, prefix, strlen(prefix)) == 0;
  return n;
}

static void test_specialisations_are_memoised(void **state) {
  (void)state;
  char *errors;
  IrModule *m = compile("t.tex",
                        "private fn relu(x) { return max(x, 0.0) }\n"
                        "private fn sm(x, axis = -1) { return softmax(x, axis=axis) }\n"
                        "fn f(a: f32[N, 3], b: f32[M, 3], c: f32[N, N], d: f32[N, M]) -> f32 {\n"
                        "  return sum(relu(a)) + sum(relu(b)) + sum(relu(c)) + sum(relu(d)) + sum(sm(a)) + sum(sm(a, axis=-1))\n"
                        "         + sum(sm(a, axis=0)) + f32(sum(relu(f64(a))))\n"
                        "}\n",
                        &errors);
  if (!m) fail_msg("%s", errors);
  /* [N, 3] and [M, 3] share one; [N, N] and [N, M] differ in pattern; f64 is its own */
  assert_non_null(ir_find_func(m, "relu__f32_2"));
  assert_non_null(ir_find_func(m, "relu__f32_2_2"));
  assert_non_null(ir_find_func(m, "relu__f32_2_3"));
  assert_non_null(ir_find_func(m, "relu__f64_2"));
  assert_int_equal(count_funcs(m, "relu__"), 4);
  assert_int_equal(count_funcs(m, "sm__"), 2); /* axis=-1 twice (default and given), axis=0 */
  for (int i = 0; i < m->funcs.len; i++)
    if (strstr(((IrFunc *)m->funcs.items[i])->name, "__")) assert_false(((IrFunc *)m->funcs.items[i])->exported);
  ir_module_free(m);
  free(errors);
}

/* grad, vjp and jvp through a call to a specialisation build and verify. */
static void test_derivatives_through_specialisations(void **state) {
  (void)state;
  char *errors;
  IrModule *m = compile("t.tex",
                        "private fn act(x, slope = 0.1) { return where(x > 0.0, x, slope * x) * tanh(x) }\n"
                        "fn loss(W: f32[D, K], x: f32[N, D]) -> f32 { return sum(act(x @ W, slope=0.2)) }\n"
                        "fn g(W: f32[D, K], x: f32[N, D]) -> f32[D, K] { return grad(loss, W, x, wrt=W) }\n"
                        "fn t(W: f32[D, K], x: f32[N, D], v: f32[D, K]) -> f32 { return jvp(loss, W, x, v, wrt=W) }\n",
                        &errors);
  if (!m) fail_msg("%s", errors);
  PassOptions o = {.opt_level = 2, .verify = true};
  assert_int_equal(pass_run_pipeline(m, &o), 0);
  ir_module_free(m);
  free(errors);
}

static char dir[] = "/tmp/texc-poly-XXXXXX";

static void write_file(const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* A diamond: main imports b and c, both import d; d is loaded once. */
static void test_module_loaded_once(void **state) {
  (void)state;
  write_file("d.tex", "fn g(x: f32[N]) -> f32[N] { return x * 2.0 }\nfn h(x) { return x + 1.0 }\n");
  write_file("b.tex", "import d\nfn fb(x: f32[N]) -> f32[N] { return d.g(x) + d.h(x) }\n");
  write_file("c.tex", "import d\nfn fc(x) { return d.g(x) * d.h(x) }\n");
  char main_path[256], *errors;
  snprintf(main_path, sizeof main_path, "%s/main.tex", dir);
  IrModule *m = compile(main_path, "import b\nimport c\nfn f(x: f32[N]) -> f32[N] { return b.fb(x) + c.fc(x) }\n", &errors);
  if (!m) fail_msg("%s", errors);
  assert_int_equal(count_funcs(m, "d__g"), 1);
  assert_int_equal(count_funcs(m, "d__h__"), 1); /* one specialisation, shared by b and c */
  assert_false(ir_find_func(m, "b__fb")->exported);
  assert_true(ir_find_func(m, "f")->exported);
  ir_module_free(m);
  free(errors);
}

/* More than FE_MAX_MODULES modules is an error, not a lost source file. */
static void test_module_limit(void **state) {
  (void)state;
  char src[8192] = "", name[64];
  int n = 0;
  for (int i = 0; i <= FE_MAX_MODULES; i++) {
    snprintf(name, sizeof name, "m%d.tex", i);
    write_file(name, "fn g(x) { return x }\n");
    n += snprintf(src + n, sizeof src - (size_t)n, "import m%d\n", i);
  }
  snprintf(src + n, sizeof src - (size_t)n, "fn f(x: f32) -> f32 { return x }\n");
  char main_path[256], *errors;
  snprintf(main_path, sizeof main_path, "%s/many.tex", dir);
  IrModule *m = compile(main_path, src, &errors);
  assert_null(m);
  if (!strstr(errors, "a program imports at most 63 modules")) fail_msg("%s", errors);
  free(errors);
}

int main(void) {
  if (!mkdtemp(dir)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_specialisations_are_memoised),
      cmocka_unit_test(test_derivatives_through_specialisations),
      cmocka_unit_test(test_module_loaded_once),
      cmocka_unit_test(test_module_limit),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) rc = 1;
  return rc;
}
