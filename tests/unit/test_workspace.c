/* test_workspace.c — <prefix>_call (any function by its metadata index),
 * <prefix>_<fn>_workspace_size and <prefix>_<fn>_ws: a
 * call whose temporaries live in the caller's memory gives the same bits as
 * the plain call, at any alignment; a workspace too small or NULL is an
 * error naming the size needed.  Needs $TEXC. */
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

typedef int (*Plain)(const DLTensor *, DLTensor *);
typedef int (*Size)(const DLTensor *, DLTensor *, size_t *);
typedef int (*Ws)(const DLTensor *, DLTensor *, void *, size_t);

static void test_workspace_call(void **state) {
  (void)state;
  char dir[] = "/tmp/texc-ws-XXXXXX", tex[128], so[128], cmd[512];
  assert_non_null(mkdtemp(dir));
  snprintf(tex, sizeof tex, "%s/w.tex", dir);
  snprintf(so, sizeof so, "%s/libw.so", dir);
  FILE *f = fopen(tex, "w");
  fputs("fn f(x: f32[N, K]) -> f32[N, K] {\n let e = exp(x - max(x, axis=1, keepdims=true))\n return e / sum(e, axis=1, keepdims=true)\n}\n", f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "%s %s -o %s", getenv("TEXC") ? getenv("TEXC") : "build/texc", tex, so);
  assert_int_equal(system(cmd), 0);
  void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  assert_non_null(h);
  Plain plain = (Plain)dlsym(h, "w_f");
  Size size = (Size)dlsym(h, "w_f_workspace_size");
  Ws ws = (Ws)dlsym(h, "w_f_ws");
  const char *(*last_error)(void) = (const char *(*)(void))dlsym(h, "w_last_error");
  assert_true(plain && size && ws && last_error);
  enum { N = 7, K = 33 };
  float x[N * K], a[N * K], b[N * K];
  for (int i = 0; i < N * K; i++) x[i] = (float)((i * 37) % 101) / 10.0f;
  int64_t shape[2] = {N, K};
  DLTensor tx = {x, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, shape, NULL, 0};
  DLTensor ta = tx, tb = tx;
  ta.data = a, tb.data = b;
  assert_int_equal(plain(&tx, &ta), 0);
  size_t need = 0;
  assert_int_equal(size(&tx, &tb, &need), 0);
  assert_true(need >= (size_t)(2 * N * 4)); /* the row max and the row sum at least */
  char *mem = malloc(need + 3);
  assert_int_equal(ws(&tx, &tb, mem + 3, need), 0); /* unaligned on purpose */
  assert_memory_equal(a, b, sizeof a);
  assert_int_equal(ws(&tx, &tb, mem, need / 4), TEX_ERR_ALLOC);
  assert_non_null(strstr(last_error(), "workspace_size"));
  assert_int_equal(ws(&tx, &tb, NULL, need), TEX_ERR_NULL);
  assert_int_equal(size(&tx, &tb, NULL), TEX_ERR_NULL);
  /* the generic entry point: function #0 of the metadata, arguments as an array */
  int (*call)(int, const DLTensor *const *) = (int (*)(int, const DLTensor *const *))dlsym(h, "w_call");
  const DLTensor *args[2] = {&tx, &tb};
  memset(b, 0, sizeof b);
  assert_int_equal(call(0, args), 0);
  assert_memory_equal(a, b, sizeof a);
  assert_int_equal(call(1, args), TEX_ERR_INDEX);
  assert_non_null(strstr(last_error(), "no function #1"));
  free(mem);
  dlclose(h);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_workspace_call)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
