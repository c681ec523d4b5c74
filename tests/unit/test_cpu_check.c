/* test_cpu_check.c — a .so built for a CPU this machine is not refuses to run
 * with TEX_ERR_CPU (it does not die of SIGILL); a portable build runs.
 * Needs $TEXC (the compiler under test). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "texrt.h"

static char dir[] = "/tmp/texc-cpu-XXXXXX";

static int setup(void **state) {
  (void)state;
  if (!mkdtemp(dir)) return -1;
  char path[256];
  snprintf(path, sizeof path, "%s/m.tex", dir);
  FILE *f = fopen(path, "w");
  fputs("fn twice(x: f32[N]) -> f32[N] { return x * 2.0 }\n", f);
  fclose(f);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

/* Compiles m.tex for cpu; returns texc's exit status. */
static int compile_for(const char *cpu, const char *prefix) {
  const char *texc = getenv("TEXC") ? getenv("TEXC") : "build/texc";
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s %s/m.tex --cpu=%s --prefix=%s -o %s/lib%s.so 2>/dev/null", texc, dir, cpu, prefix, dir, prefix);
  int rc = system(cmd);
  return WEXITSTATUS(rc);
}

/* Calls <prefix>_twice on 3 floats; returns the status and the message. */
static int call(const char *prefix, char *msg, size_t len, float *out) {
  char path[512], sym[64];
  snprintf(path, sizeof path, "%s/lib%s.so", dir, prefix);
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  assert_non_null(h);
  snprintf(sym, sizeof sym, "%s_twice", prefix);
  int (*fn)(const DLTensor *, DLTensor *) = (int (*)(const DLTensor *, DLTensor *))dlsym(h, sym);
  snprintf(sym, sizeof sym, "%s_last_error", prefix);
  const char *(*last_error)(void) = (const char *(*)(void))dlsym(h, sym);
  assert_non_null(fn);
  float x[3] = {1, 2, 3};
  int64_t shape[1] = {3};
  DLTensor tx = {x, {kDLCPU, 0}, 1, {kDLFloat, 32, 1}, shape, NULL, 0};
  DLTensor ty = {out, {kDLCPU, 0}, 1, {kDLFloat, 32, 1}, shape, NULL, 0};
  int rc = fn(&tx, &ty);
  snprintf(msg, len, "%s", last_error());
  dlclose(h);
  return rc;
}

static void test_foreign_cpu_is_refused(void **state) {
  (void)state;
  assert_int_equal(compile_for("sapphirerapids", "spr"), 0);
  char msg[512];
  float out[3] = {0};
  int rc = call("spr", msg, sizeof msg, out);
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512fp16")) {
    assert_int_equal(rc, TEX_OK); /* this machine is such a CPU: nothing to refuse */
    return;
  }
  assert_int_equal(rc, TEX_ERR_CPU);
  assert_non_null(strstr(msg, "sapphirerapids"));
  assert_non_null(strstr(msg, "avx512fp16"));
  assert_true(out[0] == 0); /* nothing ran */
}

static void test_portable_build_runs(void **state) {
  (void)state;
  assert_int_equal(compile_for("x86-64-v2", "v2"), 0);
  char msg[512];
  float out[3] = {0};
  assert_int_equal(call("v2", msg, sizeof msg, out), TEX_OK);
  assert_true(out[0] == 2 && out[1] == 4 && out[2] == 6);
}

static void test_unknown_cpu_is_a_usage_error(void **state) {
  (void)state;
  assert_int_equal(compile_for("pentium-pro-max", "bad"), 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_foreign_cpu_is_refused),
      cmocka_unit_test(test_portable_build_runs),
      cmocka_unit_test(test_unknown_cpu_is_a_usage_error),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
