/* errors_index.c — call-time TEX_ERR_INDEX through a real .so (see
 * driver.c): tests/e2e/errs_index.tex compiled with --prefix=ierr and called
 * with indices out of range, negative and extreme, from take(), integer-
 * array indexing, a computed subscript, a scatter (index_add) and a gather
 * of a computed value; each checked for its status and exact message.
 *
 * Memory safety: every argument and the workspace (the _ws entry point, so
 * temporaries too) live in their own mapping between two PROT_NONE pages,
 * placed once flush against the page after them and once against the page
 * before them: a read or write just past either end of any buffer faults
 * (the generated code is not instrumented, so ASan alone would not see it).
 * Inputs must be unchanged after an error; what outputs hold is recorded in
 * the verbose log (E2E_VERBOSE=1) and documented in lang/reference.md:
 * the elements computed before the failing one may have been written, the
 * rest keep what the caller left there.  An inout parameter is written only
 * after the whole function has run, so an error leaves it as it was. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "texrt.h"
#include "e2e.h"

enum { MAX_ARGS = 4 };

/* A buffer between two inaccessible pages, flush against one of them. */
typedef struct Guarded {
  unsigned char *map;
  size_t maplen;
  void *data;
} Guarded;

static void *guarded(Guarded *g, size_t bytes, bool at_end) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE), body = (bytes + page - 1) / page * page;
  if (body == 0) body = page;
  g->maplen = body + 2 * page;
  g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g->map == MAP_FAILED) fail_msg("mmap of %zu bytes failed", g->maplen);
  if (mprotect(g->map, page, PROT_NONE) != 0 || mprotect(g->map + page + body, page, PROT_NONE) != 0) fail_msg("mprotect failed");
  g->data = at_end ? g->map + page + body - bytes : g->map + page;
  return g->data;
}

static void unguard(Guarded *g) {
  if (g->map) munmap(g->map, g->maplen);
  memset(g, 0, sizeof *g);
}

/* One call: its tensors (inputs then outputs) in guarded memory. */
typedef struct Call {
  int n;
  DLTensor t[MAX_ARGS];
  int64_t shape[MAX_ARGS][4];
  Guarded mem[MAX_ARGS], ws;
  unsigned char *saved[MAX_ARGS];
  size_t bytes[MAX_ARGS];
} Call;

static size_t elem_size(int dtype) { return dtype == TEX_F64 || dtype == TEX_I64 ? 8 : dtype == TEX_BOOL ? 1 : 4; }

/* Adds a tensor of `dtype` and shape dims[0..rank) holding `init` (NULL: 0xEE bytes). */
static void *arg(Call *c, bool at_end, int dtype, int rank, const int64_t *dims, const void *init) {
  int k = c->n++;
  size_t n = 1;
  for (int d = 0; d < rank; d++) n *= (size_t)(c->shape[k][d] = dims[d]);
  c->bytes[k] = n * elem_size(dtype);
  void *p = guarded(&c->mem[k], c->bytes[k], at_end);
  if (init)
    memcpy(p, init, c->bytes[k]);
  else
    memset(p, 0xEE, c->bytes[k]);
  memset(&c->t[k], 0, sizeof c->t[k]);
  c->t[k].data = p;
  c->t[k].device = (DLDevice){kDLCPU, 0};
  c->t[k].dtype = e2e_dl_dtype(dtype);
  c->t[k].ndim = rank;
  c->t[k].shape = c->shape[k];
  c->saved[k] = malloc(c->bytes[k] + 1);
  memcpy(c->saved[k], p, c->bytes[k]);
  return p;
}

static void call_free(Call *c) {
  for (int k = 0; k < c->n; k++) unguard(&c->mem[k]), free(c->saved[k]);
  unguard(&c->ws);
  memset(c, 0, sizeof *c);
}

typedef int (*Size2)(const DLTensor *, DLTensor *, size_t *);
typedef int (*Ws2)(const DLTensor *, DLTensor *, void *, size_t);
typedef int (*Size3)(const DLTensor *, const DLTensor *, DLTensor *, size_t *);
typedef int (*Ws3)(const DLTensor *, const DLTensor *, DLTensor *, void *, size_t);
typedef int (*Size4)(const DLTensor *, const DLTensor *, const DLTensor *, DLTensor *, size_t *);
typedef int (*Ws4)(const DLTensor *, const DLTensor *, const DLTensor *, DLTensor *, void *, size_t);

/* Calls ierr_<fn>_ws with the workspace in guarded memory (2 to 4 tensors). */
static int run_ws(Ctx *ctx, const Lib *lib, const char *fn, Call *c, bool at_end) {
  char name[128];
  e2e_fmt(name, sizeof name, "ierr_%s_workspace_size", fn);
  void *size_fn = dlsym(lib->h, name);
  e2e_fmt(name, sizeof name, "ierr_%s_ws", fn);
  void *ws_fn = dlsym(lib->h, name);
  if (!size_fn || !ws_fn || c->n < 2 || c->n > 4) {
    e2e_failf(ctx, "%s: no workspace entry points (or %d arguments)", fn, c->n);
    return -1;
  }
  DLTensor *t = c->t;
  size_t bytes = 0;
  int rc = c->n == 2   ? ((Size2)size_fn)(&t[0], &t[1], &bytes)
           : c->n == 3 ? ((Size3)size_fn)(&t[0], &t[1], &t[2], &bytes)
                       : ((Size4)size_fn)(&t[0], &t[1], &t[2], &t[3], &bytes);
  if (rc != TEX_OK) return rc;
  void *ws = guarded(&c->ws, bytes, at_end);
  if (c->n == 2) return ((Ws2)ws_fn)(&t[0], &t[1], ws, bytes);
  return c->n == 3 ? ((Ws3)ws_fn)(&t[0], &t[1], &t[2], ws, bytes) : ((Ws4)ws_fn)(&t[0], &t[1], &t[2], &t[3], ws, bytes);
}

/* Runs fn both ways (the plain entry point, then _ws) and checks the status
 * and the exact message; inputs (all but the last tensor) must be unchanged. */
static void expect_index_error(Ctx *ctx, const Lib *lib, const char *fn, Call *c, bool at_end, int want, const char *msg) {
  char name[128];
  e2e_fmt(name, sizeof name, "ierr_%s", fn);
  void *fp = dlsym(lib->h, name);
  DLTensor *a[MAX_ARGS];
  for (int k = 0; k < c->n; k++) a[k] = &c->t[k];
  for (int way = 0; way < 2; way++) {
    int rc = way == 0 ? (fp ? e2e_call_fn(fp, c->n, a) : -1) : run_ws(ctx, lib, fn, c, at_end);
    const char *got = lib->last_error();
    const char *how = way ? "_ws" : "";
    if (rc != want)
      e2e_failf(ctx, "%s%s: status %d (%s), want %d (%s): %s", name, how, rc, tex_status_text(rc), want, tex_status_text(want),
                got ? got : "(null)");
    else if (msg && (!got || strcmp(got, msg) != 0))
      e2e_failf(ctx, "%s%s: message\n      got:  %s\n      want: %s", name, how, got ? got : "(null)", msg);
    for (int k = 0; k < c->n - 1; k++)
      if (memcmp(c->t[k].data, c->saved[k], c->bytes[k]) != 0) e2e_failf(ctx, "%s%s: input #%d changed", name, how, k + 1);
    if (e2e_verbose && way == 0) {
      size_t n = c->bytes[c->n - 1], written = 0;
      const unsigned char *o = c->t[c->n - 1].data;
      for (size_t i = 0; i < n; i++) written += o[i] != 0xEE;
      print_message("    %-8s -> %s: %s (output: %zu of %zu bytes written)\n", fn, tex_status_text(rc), got ? got : "", written, n);
    }
    unguard(&c->ws);
  }
}

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})

/* src: the path texc was given (messages name it). */
static void index_cases(Ctx *ctx, const Lib *lib, const char *src, bool at_end) {
  enum { D = 64 };
  char want[512];
  static float E[5 * D], pbuf[20], z[4], v[4 * D];
  for (int i = 0; i < 5 * D; i++) E[i] = (float)i;
  for (int i = 0; i < 4 * D; i++) v[i] = 1.0f;
  Call c = {0};

  /* take(): 7 in the third place, E has 5 rows. */
  static const int32_t bad7[4] = {0, 3, 7, 1}, neg[4] = {0, -1, 2, 3}, huge[2] = {INT32_MIN, INT32_MAX};
  arg(&c, at_end, TEX_F32, 2, DIMS(5, D), E), arg(&c, at_end, TEX_I32, 1, DIMS(4), bad7), arg(&c, at_end, TEX_F32, 2, DIMS(4, D), NULL);
  expect_index_error(ctx, lib, "emb", &c, at_end, TEX_ERR_INDEX,
                     "ierr_emb: index array 'idx' (#2): idx[2] = 7 is out of range for axis 0 of extent 5 (argument 'E' (#1))");
  call_free(&c);
  /* Negative indices are errors (no wrap-around). */
  arg(&c, at_end, TEX_F32, 2, DIMS(5, D), E), arg(&c, at_end, TEX_I32, 1, DIMS(4), neg), arg(&c, at_end, TEX_F32, 2, DIMS(4, D), NULL);
  expect_index_error(ctx, lib, "emb", &c, at_end, TEX_ERR_INDEX,
                     "ierr_emb: index array 'idx' (#2): idx[1] = -1 is out of range for axis 0 of extent 5 (argument 'E' (#1))");
  call_free(&c);
  arg(&c, at_end, TEX_F32, 2, DIMS(5, D), E), arg(&c, at_end, TEX_I32, 1, DIMS(2), huge), arg(&c, at_end, TEX_F32, 2, DIMS(2, D), NULL);
  expect_index_error(ctx, lib, "emb", &c, at_end, TEX_ERR_INDEX,
                     "ierr_emb: index array 'idx' (#2): idx[0] = -2147483648 is out of range for axis 0 of extent 5 (argument 'E' (#1))");
  call_free(&c);

  /* x[idx] with a 2-d i64 index array: the position is idx[1, 2]. */
  static const int64_t bad2d[6] = {0, 1, 2, 3, 4, 5}, ext64[6] = {0, 1, 2, 3, INT64_MIN, INT64_MAX};
  arg(&c, at_end, TEX_F32, 2, DIMS(5, D), E), arg(&c, at_end, TEX_I64, 2, DIMS(2, 3), bad2d),
      arg(&c, at_end, TEX_F32, 3, DIMS(2, 3, D), NULL);
  expect_index_error(ctx, lib, "gat", &c, at_end, TEX_ERR_INDEX,
                     "ierr_gat: index array 'idx' (#2): idx[1, 2] = 5 is out of range for axis 0 of extent 5 (argument 'E' (#1))");
  call_free(&c);
  arg(&c, at_end, TEX_F32, 2, DIMS(5, D), E), arg(&c, at_end, TEX_I64, 2, DIMS(2, 3), ext64),
      arg(&c, at_end, TEX_F32, 3, DIMS(2, 3, D), NULL);
  expect_index_error(ctx, lib, "gat", &c, at_end, TEX_ERR_INDEX,
                     "ierr_gat: index array 'idx' (#2): idx[1, 1] = -9223372036854775808 is out of range for axis 0 of extent 5 (argument "
                     "'E' (#1))");
  call_free(&c);

  /* A computed subscript: p[i*(i+1) + 2*j] with D = 4 and P = 10 first
   * leaves p at i = 2, j = 2 (row-major order of the loops). */
  arg(&c, at_end, TEX_F32, 1, DIMS(10), pbuf), arg(&c, at_end, TEX_F32, 1, DIMS(4), z), arg(&c, at_end, TEX_F32, 2, DIMS(4, 4), NULL);
  e2e_fmt(want, sizeof want, "ierr_tri2: index at %s:44:42 (i = 2, j = 2) = 10 is out of range for axis 0 of extent 10 (argument 'p' (#1))",
          src);
  expect_index_error(ctx, lib, "tri2", &c, at_end, TEX_ERR_INDEX, want);
  call_free(&c);
  /* ... and with P = 20 = D*(D+1) it runs. */
  arg(&c, at_end, TEX_F32, 1, DIMS(20), pbuf), arg(&c, at_end, TEX_F32, 1, DIMS(4), z), arg(&c, at_end, TEX_F32, 2, DIMS(4, 4), NULL);
  expect_index_error(ctx, lib, "tri2", &c, at_end, TEX_OK, NULL);
  call_free(&c);

  /* index_add: a scatter whose index is out of range writes nothing outside
   * its (temporary) target; repeated indices before it are fine. */
  static const int32_t scat[4] = {1, 1, 9, 0};
  arg(&c, at_end, TEX_F32, 2, DIMS(5, D), E), arg(&c, at_end, TEX_I32, 1, DIMS(4), scat), arg(&c, at_end, TEX_F32, 2, DIMS(4, D), v),
      arg(&c, at_end, TEX_F32, 2, DIMS(5, D), NULL);
  e2e_fmt(want, sizeof want, "ierr_iadd: index array 'idx' (#2): idx[2] = 9 is out of range for axis 0 of extent 5 (the value of %s:31:12)",
          src);
  expect_index_error(ctx, lib, "iadd", &c, at_end, TEX_ERR_INDEX, want);
  call_free(&c);

  /* A gather from a computed value (a temporary). */
  arg(&c, at_end, TEX_F32, 2, DIMS(5, D), E), arg(&c, at_end, TEX_I32, 1, DIMS(4), neg), arg(&c, at_end, TEX_F32, 2, DIMS(4, D), NULL);
  e2e_fmt(want, sizeof want,
          "ierr_twice: index array 'idx' (#2): idx[1] = -1 is out of range for axis 0 of extent 5 (the value of %s:36:21)", src);
  expect_index_error(ctx, lib, "twice", &c, at_end, TEX_ERR_INDEX, want);
  call_free(&c);

  /* x[-1] of an empty axis (a literal counts from the end, checked at run
   * time where the extent is a symbol). */
  arg(&c, at_end, TEX_F32, 2, DIMS(0, 3), NULL), arg(&c, at_end, TEX_F32, 1, DIMS(3), NULL);
  e2e_fmt(want, sizeof want, "ierr_lastrow: index at %s:57:13 (i0 = 0) = -1 is out of range for axis 0 of extent 0 (argument 'x' (#1))",
          src);
  expect_index_error(ctx, lib, "lastrow", &c, at_end, TEX_ERR_INDEX, want);
  call_free(&c);
  /* Scalar indices that are values: k = 3 of 3 rows, then k - 1 = -1. */
  static const float rows3[9] = {0};
  static const int64_t k3 = 3, k0 = 0;
  arg(&c, at_end, TEX_F32, 2, DIMS(3, 3), rows3), arg(&c, at_end, TEX_I64, 0, NULL, &k3), arg(&c, at_end, TEX_F32, 1, DIMS(3), NULL);
  expect_index_error(ctx, lib, "at", &c, at_end, TEX_ERR_INDEX,
                     "ierr_at: index 'k' (#2) = 3 is out of range for axis 0 of extent 3 (argument 'x' (#1))");
  call_free(&c);
  arg(&c, at_end, TEX_F32, 2, DIMS(3, 3), rows3), arg(&c, at_end, TEX_I64, 0, NULL, &k0), arg(&c, at_end, TEX_F32, 1, DIMS(3), NULL);
  e2e_fmt(want, sizeof want, "ierr_at: index (the value of %s:65:23) = -1 is out of range for axis 0 of extent 3 (argument 'x' (#1))", src);
  expect_index_error(ctx, lib, "at", &c, at_end, TEX_ERR_INDEX, want);
  call_free(&c);

  /* A slice of extent N - 2 called with N = 1: the output cannot have -1
   * elements; the call is refused before anything runs. */
  static float one[1] = {1.0f};
  arg(&c, at_end, TEX_F32, 1, DIMS(1), one), arg(&c, at_end, TEX_F32, 1, DIMS(0), NULL);
  {
    DLTensor *a[2] = {&c.t[0], &c.t[1]};
    void *fp = dlsym(lib->h, "ierr_inner");
    int rc = fp ? e2e_call_fn(fp, 2, a) : -1;
    if (rc == TEX_OK) e2e_failf(ctx, "ierr_inner with N = 1 returned TEX_OK");
    if (e2e_verbose) print_message("    inner(N=1) -> %s: %s\n", tex_status_text(rc), lib->last_error());
  }
  call_free(&c);
}

/* An inout parameter updated by a scatter (sparse SGD on embedding rows):
 * after an index error it holds its value on entry. */
static const char sgd_src[] = "fn sgd(E: inout f32[5, D], idx: i32[B], g: f32[B, D]) -> f32 {\n"
                              "    update E = index_add(E, idx, g * -0.5, axis=0)\n"
                              "    return sum(E)\n"
                              "}\n";

static void inout_cases(Ctx *ctx, bool at_end) {
  static Program prog;
  e2e_fmt(prog.path, sizeof prog.path, "%s/sgd.tex", e2e_tmpdir);
  e2e_fmt(prog.file, sizeof prog.file, "sgd.tex (index errors)");
  FILE *f = fopen(prog.path, "w");
  if (!f || fputs(sgd_src, f) < 0 || fclose(f) != 0) fail_msg("cannot write %s", prog.path);
  Lib lib;
  memset(&lib, 0, sizeof lib);
  lib.what = "default";
  if (!e2e_compile(ctx, &prog, "ierr", "--prefix=ierr", &lib) || !e2e_load(ctx, &lib)) fail_msg("cannot build sgd.tex");
  enum { D = 8 };
  static float E[5 * D], g[3 * D];
  for (int i = 0; i < 5 * D; i++) E[i] = (float)i;
  for (int i = 0; i < 3 * D; i++) g[i] = 1.0f;
  static const int32_t bad[3] = {4, 0, 5}, good[3] = {4, 0, 4};
  Call c = {0};
  arg(&c, at_end, TEX_F32, 2, DIMS(5, D), E), arg(&c, at_end, TEX_I32, 1, DIMS(3), bad), arg(&c, at_end, TEX_F32, 2, DIMS(3, D), g),
      arg(&c, at_end, TEX_F32, 0, NULL, NULL);
  char want[512];
  e2e_fmt(want, sizeof want, "ierr_sgd: index array 'idx' (#2): idx[2] = 5 is out of range for axis 0 of extent 5 (the value of %s:2:16)",
          prog.path);
  expect_index_error(ctx, &lib, "sgd", &c, at_end, TEX_ERR_INDEX, want); /* checks E (an input) is unchanged */
  call_free(&c);
  /* In range, E is updated: rows 4 (twice) and 0 move by -0.5 per hit. */
  float *e = arg(&c, at_end, TEX_F32, 2, DIMS(5, D), E);
  arg(&c, at_end, TEX_I32, 1, DIMS(3), good), arg(&c, at_end, TEX_F32, 2, DIMS(3, D), g), arg(&c, at_end, TEX_F32, 0, NULL, NULL);
  DLTensor *a[4] = {&c.t[0], &c.t[1], &c.t[2], &c.t[3]};
  void *fp = dlsym(lib.h, "ierr_sgd");
  int rc = fp ? e2e_call_fn(fp, 4, a) : -1;
  if (rc != TEX_OK) e2e_failf(ctx, "ierr_sgd in range: %s", tex_status_text(rc));
  for (int i = 0; i < 5 * D && rc == TEX_OK; i++) {
    float w = E[i] - (i >= 4 * D ? 1.0f : i < D ? 0.5f : 0.0f);
    if (e[i] != w) {
      e2e_failf(ctx, "ierr_sgd in range: E[%d] = %g, want %g", i, e[i], w);
      break;
    }
  }
  call_free(&c);
  e2e_unload(&lib);
}

void e2e_test_index_errors(void **state) {
  (void)state;
  static Program prog;
  Ctx c = {.p = &prog};
  e2e_fmt(prog.path, sizeof prog.path, "%s/errs_index.tex", e2e_dir);
  e2e_fmt(prog.file, sizeof prog.file, "errs_index.tex (index errors)");
  Lib lib;
  memset(&lib, 0, sizeof lib);
  lib.what = "default";
  if (!e2e_compile(&c, &prog, "ierr", "--prefix=ierr", &lib) || !e2e_load(&c, &lib)) fail_msg("cannot build tests/e2e/errs_index.tex");
  index_cases(&c, &lib, prog.path, true);
  index_cases(&c, &lib, prog.path, false);
  e2e_unload(&lib);
  inout_cases(&c, true);
  inout_cases(&c, false);
  if (c.failures) fail_msg("index errors: %d failures", c.failures);
}
