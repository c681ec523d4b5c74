/* test_codegen.c — properties of the generated LLVM module: identical
 * kernels are emitted once and shared by every function that runs them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "frontend.h"

/* Kernel functions in the LLVM text of src (the only internal functions once
 * the always-inline bodies are inlined). */
static int count_kernels(const char *src) {
  Diag d;
  diag_init(&d, stderr);
  IrModule *m = fe_compile_text("t.tex", src, "t", &d);
  assert_non_null(m);
  char path[] = "/tmp/texc-cg-XXXXXX.ll";
  int fd = mkstemps(path, 3);
  close(fd);
  TexcOptions o = {.emit = EMIT_LLVM, .output = path, .opt_level = 0};
  assert_int_equal(texc_emit_module(&o, m), 0);
  ir_module_free(m);
  FILE *f = fopen(path, "r");
  char line[4096];
  int n = 0;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "define internal i32 @", 21) == 0) n++;
  fclose(f);
  unlink(path);
  return n;
}

static void test_identical_kernels_are_shared(void **state) {
  (void)state;
  /* f's two kernels appear again inside g: 2 + 1, not 2 + 3 */
  int n = count_kernels("fn f(x: f32[N], y: f32[N]) -> f32 {\n let e = exp(x)\n return sum(e * y) + sum(e)\n}\n"
                        "fn g(x: f32[N], y: f32[N]) -> f32 {\n return f(x, y) * f(y, x) + sum(x)\n}\n");
  int alone = count_kernels("fn f(x: f32[N], y: f32[N]) -> f32 {\n let e = exp(x)\n return sum(e * y) + sum(e)\n}\n");
  assert_true(alone >= 2);
  assert_int_equal(n, alone + 1); /* + the sum(x) of g */
}

/* --emit=dot: the graph before, and after with one cluster per kernel. */
static void test_dot(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, stderr);
  IrModule *m = fe_compile_text("t.tex", "fn f(x: f32[N, D], W: f32[D, H], b: f32[H]) -> f32[N, H] { return max(x @ W + b, 0.0) }\n", "t", &d);
  char path[] = "/tmp/texc-dot-XXXXXX.dot", text[16384] = "";
  int fd = mkstemps(path, 4);
  close(fd);
  TexcOptions o = {.emit = EMIT_DOT, .output = path, .opt_level = 2};
  assert_int_equal(texc_emit_module(&o, m), 0);
  ir_module_free(m);
  FILE *f = fopen(path, "r");
  text[fread(text, 1, sizeof text - 1, f)] = 0;
  fclose(f);
  unlink(path);
  assert_non_null(strstr(text, "digraph texc {"));
  assert_non_null(strstr(text, "subgraph cluster_before"));
  assert_non_null(strstr(text, "subgraph cluster_after_0_k0")); /* matmul + bias + relu: one kernel */
  assert_null(strstr(text, "subgraph cluster_after_0_k1"));
  assert_non_null(strstr(text, "label=\"matmul\\nf32[N, H]\""));
}

/* Options that skip a lowering pass used to reach kernels and codegen with
 * calls left in the IR: `--disable-pass=inline` stopped with an internal
 * error, `--disable-pass=autodiff` read past a heap buffer, `--passes=cse`
 * with any emit but ir stopped with an internal error (found by fuzz_ir). */
static void test_options_that_skip_lowering(void **state) {
  (void)state;
  char why[256];
  TexcOptions ok = {.opt_level = 2, .disable_pass = "cse,dce", .only_passes = NULL};
  assert_null(texc_options_error(&ok, why, sizeof why));
  TexcOptions ir = {.emit = EMIT_IR, .only_passes = "cse"};
  assert_null(texc_options_error(&ir, why, sizeof why));
  const char *lowering[] = {"inline", "autodiff", "jvp", "stabilize", "simplify", "cse,inline"};
  for (size_t i = 0; i < sizeof lowering / sizeof lowering[0]; i++) {
    TexcOptions o = {.opt_level = 2, .disable_pass = lowering[i]};
    assert_non_null(texc_options_error(&o, why, sizeof why));
    assert_non_null(strstr(why, "always runs"));
  }
  TexcOptions kernels = {.emit = EMIT_KERNELS, .only_passes = "cse"};
  assert_non_null(texc_options_error(&kernels, why, sizeof why));
  assert_non_null(strstr(why, "--emit=ir"));
  TexcOptions unknown = {.emit = EMIT_IR, .only_passes = "cse,bogus"};
  assert_non_null(texc_options_error(&unknown, why, sizeof why));
  assert_non_null(strstr(why, "unknown pass 'bogus'"));
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_identical_kernels_are_shared), cmocka_unit_test(test_dot),
                                     cmocka_unit_test(test_options_that_skip_lowering)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
