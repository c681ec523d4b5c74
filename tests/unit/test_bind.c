/* test_bind.c — unit tests of the runtime (the files in runtime/) without LLVM.
 *
 * Metadata tables are written by hand here the way texc emits them, so every
 * call-time check of texrt_bind, the dim bytecode, the CPU feature check and
 * texrt_run (with two tiny C kernels standing in for generated code) can be
 * tested on its own.  Set TEST_VERBOSE=1 to print every error message checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "texrt.h"

/* ---- helpers ------------------------------------------------------------------ */

/* Asserts the status and that the message contains every needle (NULL-ended). */
static void expect_fail(int st, int code, ...) {
  const char *msg = texrt_last_error();
  if (getenv("TEST_VERBOSE")) printf("    [%s] %s\n", tex_status_text(st), msg);
  if (st != code) fail_msg("status %d (%s), want %d; message: %s", st, tex_status_text(st), code, msg);
  va_list ap;
  va_start(ap, code);
  for (const char *n; (n = va_arg(ap, const char *));)
    if (!strstr(msg, n)) fail_msg("message \"%s\" lacks \"%s\"", msg, n);
  va_end(ap);
}

/* A DLTensor with room for its shape and strides. Never copied after init. */
typedef struct Arg {
  DLTensor t;
  int64_t shape[4], strides[4];
} Arg;

static void arg_init(Arg *a, void *data, uint8_t code, uint8_t bits, int ndim, ...) {
  memset(a, 0, sizeof *a);
  a->t.data = data;
  a->t.device.device_type = kDLCPU;
  a->t.ndim = ndim;
  a->t.dtype.code = code;
  a->t.dtype.bits = bits;
  a->t.dtype.lanes = 1;
  va_list ap;
  va_start(ap, ndim);
  for (int k = 0; k < ndim; k++) a->shape[k] = va_arg(ap, int64_t);
  va_end(ap);
  a->t.shape = ndim ? a->shape : NULL;
}

static void set_strides(Arg *a, int64_t s0, int64_t s1) {
  a->strides[0] = s0;
  a->strides[1] = s1;
  a->t.strides = a->strides;
}

#define E(...) {(const int64_t[]){__VA_ARGS__}, sizeof((const int64_t[]){__VA_ARGS__}) / 8}
#define SYM(s) E(TEX_DIM_SYM, s)
#define LIT(v) E(TEX_DIM_LIT, v)
#define SERIAL {NULL, 0}, 0 /* TexStep.work and .split: one call */

static const TexModuleInfo module = {TEX_ABI_VERSION, "m", "m.tex", "test", "cpu", "testcpu", "", 0, NULL};
/* Static like every real module: texrt_check_cpu caches by module address. */
static const TexModuleInfo module_sse2 = {TEX_ABI_VERSION, "m", "m.tex", "test", "cpu", "testcpu", "sse2,some-tuning-flag", 0, NULL};
static const TexModuleInfo module_xop = {TEX_ABI_VERSION, "m", "m.tex", "test", "cpu", "testcpu", "sse2,xop", 0, NULL};

/* ---- f(W: f32[D, K], x: f32[N, D]) -> f32[N, K] ---------------------------------- */

enum { D, K, N };
static const char *const f_syms[] = {"D", "K", "N"};
static const TexDimExpr W_dims[] = {SYM(D), SYM(K)}, x_dims[] = {SYM(N), SYM(D)}, o_dims[] = {SYM(N), SYM(K)};
static const TexParamInfo f_params[] = {
    {"W", TEX_F32, TEX_IN, 2, W_dims},
    {"x", TEX_F32, TEX_IN, 2, x_dims},
    {"out", TEX_F32, TEX_OUT, 2, o_dims},
};
static const TexFuncInfo func_f = {"f", "m_f", 3, 2, f_params, 3, f_syms, 0, NULL, NULL};

typedef struct FCall {
  float W[12], x[8], out[6];
  Arg a[3];
  const DLTensor *p[3];
  void *bufs[3];
  int64_t syms[3];
} FCall;

/* W [4, 3], x [2, 4], out [2, 3]: a valid call. */
static void f_setup(FCall *c) {
  memset(c, 0, sizeof *c);
  arg_init(&c->a[0], c->W, kDLFloat, 32, 2, (int64_t)4, (int64_t)3);
  arg_init(&c->a[1], c->x, kDLFloat, 32, 2, (int64_t)2, (int64_t)4);
  arg_init(&c->a[2], c->out, kDLFloat, 32, 2, (int64_t)2, (int64_t)3);
  for (int i = 0; i < 3; i++) c->p[i] = &c->a[i].t;
}

static int f_bind(FCall *c) { return texrt_bind(&module, &func_f, c->p, c->bufs, c->syms); }

static void bind_ok(void **state) {
  (void)state;
  FCall c;
  float xb[10];
  f_setup(&c);
  c.a[1].t.data = xb;
  c.a[1].t.byte_offset = 8; /* x starts two floats in */
  assert_int_equal(f_bind(&c), TEX_OK);
  assert_int_equal(c.syms[D], 4);
  assert_int_equal(c.syms[K], 3);
  assert_int_equal(c.syms[N], 2);
  assert_ptr_equal(c.bufs[0], c.W);
  assert_ptr_equal(c.bufs[1], xb + 2);
  assert_ptr_equal(c.bufs[2], c.out);
}

static void bind_null(void **state) {
  (void)state;
  FCall c;
  f_setup(&c);
  expect_fail(texrt_bind(&module, &func_f, NULL, c.bufs, c.syms), TEX_ERR_NULL, "m_f", NULL);
  c.p[1] = NULL;
  expect_fail(f_bind(&c), TEX_ERR_NULL, "m_f: argument 'x' (#2)", "NULL", NULL);
  f_setup(&c);
  c.a[2].t.shape = NULL;
  expect_fail(f_bind(&c), TEX_ERR_NULL, "output 'out' (#3)", "shape", NULL);
  f_setup(&c);
  c.a[0].t.data = NULL;
  expect_fail(f_bind(&c), TEX_ERR_NULL, "'W' (#1)", "12 elements", NULL);
}

/* NULL data is fine when there is nothing to point at. */
static void bind_null_data_empty(void **state) {
  (void)state;
  FCall c;
  f_setup(&c);
  c.a[1].shape[0] = 0;
  c.a[2].shape[0] = 0;
  c.a[1].t.data = c.a[2].t.data = NULL;
  assert_int_equal(f_bind(&c), TEX_OK);
  assert_int_equal(c.syms[N], 0);
  assert_null(c.bufs[1]);
  assert_null(c.bufs[2]);
}

static void bind_device(void **state) {
  (void)state;
  FCall c;
  f_setup(&c);
  c.a[1].t.device.device_type = kDLCUDA;
  expect_fail(f_bind(&c), TEX_ERR_DEVICE, "'x' (#2)", "CUDA", NULL);
  c.a[1].t.device.device_type = kDLCUDAHost; /* pinned host memory is CPU memory */
  assert_int_equal(f_bind(&c), TEX_OK);
}

static void bind_dtype(void **state) {
  (void)state;
  FCall c;
  f_setup(&c);
  c.a[2].t.dtype.bits = 64;
  expect_fail(f_bind(&c), TEX_ERR_DTYPE, "m_f: output 'out' (#3): expected dtype f32, got f64", NULL);
  c.a[2].t.dtype = (DLDataType){kDLUInt, 16, 1};
  expect_fail(f_bind(&c), TEX_ERR_DTYPE, "got uint16", NULL);
  c.a[2].t.dtype = (DLDataType){kDLFloat, 16, 1};
  expect_fail(f_bind(&c), TEX_ERR_DTYPE, "got float16", NULL);
  c.a[2].t.dtype = (DLDataType){kDLFloat, 32, 4};
  expect_fail(f_bind(&c), TEX_ERR_DTYPE, "got float32x4", NULL);
  c.a[2].t.dtype = (DLDataType){kDLInt, 32, 1};
  expect_fail(f_bind(&c), TEX_ERR_DTYPE, "got i32", NULL);
  c.a[2].t.dtype = (DLDataType){kDLUInt, 8, 1};
  expect_fail(f_bind(&c), TEX_ERR_DTYPE, "got uint8", NULL);
  c.a[2].t.dtype = (DLDataType){6, 8, 1};
  expect_fail(f_bind(&c), TEX_ERR_DTYPE, "expected dtype f32, got bool", NULL);
}

static void bind_rank(void **state) {
  (void)state;
  FCall c;
  f_setup(&c);
  c.a[1].t.ndim = 3;
  expect_fail(f_bind(&c), TEX_ERR_RANK, "'x' (#2)", "expected rank 2 (f32[N, D]), got rank 3", NULL);
}

static void bind_negative_dim(void **state) {
  (void)state;
  FCall c;
  f_setup(&c);
  c.a[1].shape[0] = -1;
  expect_fail(f_bind(&c), TEX_ERR_SHAPE, "'x' (#2)", "dim 0 is -1", NULL);
}

static void bind_symbol_mismatch(void **state) {
  (void)state;
  FCall c;
  f_setup(&c);
  c.a[1].shape[1] = 5;
  expect_fail(f_bind(&c), TEX_ERR_SHAPE, "m_f: argument 'x' (#2): dim 1 is 5, but D = 4 (bound by argument 'W' dim 0)", NULL);
}

static void bind_output_shape(void **state) {
  (void)state;
  FCall c;
  f_setup(&c);
  c.a[2].shape[1] = 4;
  expect_fail(f_bind(&c), TEX_ERR_SHAPE, "output 'out' (#3): dim 1 is 4, but K = 3", NULL);
}

static void bind_size_overflow(void **state) {
  (void)state;
  FCall c;
  f_setup(&c);
  c.a[1].shape[0] = c.a[1].shape[1] = (int64_t)1 << 40;
  expect_fail(f_bind(&c), TEX_ERR_OVERFLOW, "'x' (#2)", "too large", NULL);
  c.a[1].shape[0] = (int64_t)1 << 61; /* elements fit, bytes do not */
  c.a[1].shape[1] = 1;
  expect_fail(f_bind(&c), TEX_ERR_OVERFLOW, "'x' (#2)", NULL);
  c.a[1].shape[1] = 0; /* empty: no overflow whatever the other dims */
  c.a[1].t.data = NULL;
  c.a[2].shape[0] = (int64_t)1 << 61;
  c.a[2].shape[1] = 3;
  expect_fail(f_bind(&c), TEX_ERR_OVERFLOW, "'out' (#3)", NULL);
}

static void bind_strides(void **state) {
  (void)state;
  FCall c;
  f_setup(&c);
  set_strides(&c.a[1], 4, 1); /* explicit compact strides */
  assert_int_equal(f_bind(&c), TEX_OK);
  set_strides(&c.a[1], 1, 2); /* a transposed view */
  expect_fail(f_bind(&c), TEX_ERR_LAYOUT, "'x' (#2)", "non-compact strides [1, 2]", "contiguous", NULL);
  c.a[1].shape[0] = 1; /* PyTorch's odd stride on an extent-1 axis */
  c.a[2].shape[0] = 1;
  set_strides(&c.a[1], 99, 1);
  assert_int_equal(f_bind(&c), TEX_OK);
  c.a[1].shape[0] = 0; /* an empty tensor addresses nothing */
  c.a[2].shape[0] = 0;
  set_strides(&c.a[1], 7, 7);
  assert_int_equal(f_bind(&c), TEX_OK);
}

static void bind_alias(void **state) {
  (void)state;
  FCall c;
  float big[32];
  f_setup(&c);
  c.a[0].t.data = c.a[1].t.data = big; /* two inputs may share memory */
  assert_int_equal(f_bind(&c), TEX_OK);
  c.a[2].t.data = big + 11; /* out overlaps the last float of W */
  expect_fail(f_bind(&c), TEX_ERR_ALIAS, "output 'out' (#3)", "argument 'W' (#1)", NULL);
  c.a[0].t.data = c.a[1].t.data = c.W;
  c.a[2].t.data = c.W + 12; /* adjacent is fine */
  assert_int_equal(f_bind(&c), TEX_OK);
  c.a[2].t.data = c.W;
  c.a[2].shape[0] = c.a[1].shape[0] = 0; /* empty ranges never overlap */
  assert_int_equal(f_bind(&c), TEX_OK);
}

/* ---- g(x: f32[N, D], c: f32[3]) -> f32[N*D + 1]; asserts N == 2*D ------------- */

static const TexDimExpr gx_dims[] = {SYM(1), SYM(0)}, gc_dims[] = {LIT(3)},
                        go_dims[] = {E(TEX_DIM_SYM, 1, TEX_DIM_SYM, 0, TEX_DIM_MUL, TEX_DIM_LIT, 1, TEX_DIM_ADD)};
static const char *const g_syms[] = {"D", "N"};
static const TexParamInfo g_params[] = {
    {"x", TEX_F32, TEX_IN, 2, gx_dims},
    {"c", TEX_F32, TEX_IN, 1, gc_dims},
    {"out", TEX_F32, TEX_OUT, 1, go_dims},
};
static const TexDimExpr g_asserts[] = {E(TEX_DIM_SYM, 1, TEX_DIM_LIT, 2, TEX_DIM_SYM, 0, TEX_DIM_MUL, TEX_DIM_EQ)};
static const TexFuncInfo func_g = {"g", "m_g", 3, 2, g_params, 2, g_syms, 1, g_asserts, NULL};

typedef struct GCall {
  float x[64], cc[3], out[64];
  Arg a[3];
  const DLTensor *p[3];
  void *bufs[3];
  int64_t syms[2];
} GCall;

/* x [4, 2], c [3], out [9] */
static void g_setup(GCall *c) {
  memset(c, 0, sizeof *c);
  arg_init(&c->a[0], c->x, kDLFloat, 32, 2, (int64_t)4, (int64_t)2);
  arg_init(&c->a[1], c->cc, kDLFloat, 32, 1, (int64_t)3);
  arg_init(&c->a[2], c->out, kDLFloat, 32, 1, (int64_t)9);
  for (int i = 0; i < 3; i++) c->p[i] = &c->a[i].t;
}

static int g_bind(GCall *c) { return texrt_bind(&module, &func_g, c->p, c->bufs, c->syms); }

static void bind_expr_dims(void **state) {
  (void)state;
  GCall c;
  g_setup(&c);
  assert_int_equal(g_bind(&c), TEX_OK);
  c.a[2].shape[0] = 8;
  expect_fail(g_bind(&c), TEX_ERR_SHAPE, "m_g: output 'out' (#3): dim 0 is 8, but N*D + 1 = 9", "N = 4, D = 2", NULL);
  g_setup(&c);
  c.a[1].shape[0] = 4;
  expect_fail(g_bind(&c), TEX_ERR_SHAPE, "argument 'c' (#2): dim 0 is 4, but it must be 3", NULL);
}

static void bind_assert(void **state) {
  (void)state;
  GCall c;
  g_setup(&c);
  c.a[0].shape[0] = 6; /* N = 6, D = 2: N*D + 1 = 13 */
  c.a[2].shape[0] = 13;
  expect_fail(g_bind(&c), TEX_ERR_ASSERT, "m_g: shape assertion failed: N == 2*D", "N = 6, D = 2", NULL);
}

/* An assertion with a note (a reshape's): the message names it and gives
 * both sides of the equation, evaluated. */
static void bind_assert_note(void **state) {
  (void)state;
  static const char *const notes[] = {"reshape at g.tex:3:12 from f32[N, D] to f32[2, D, D]"};
  TexFuncInfo noted = func_g;
  noted.assert_notes = notes;
  GCall c;
  g_setup(&c);
  c.a[0].shape[0] = 6;
  c.a[2].shape[0] = 13;
  expect_fail(texrt_bind(&module, &noted, c.p, c.bufs, c.syms), TEX_ERR_ASSERT,
              "m_g: reshape at g.tex:3:12 from f32[N, D] to f32[2, D, D]: it has 6 elements, the new shape 4 "
              "(shape assertion failed: N == 2*D with N = 6, D = 2)",
              NULL);
  g_setup(&c);
  assert_int_equal(texrt_bind(&module, &noted, c.p, c.bufs, c.syms), TEX_OK);
}

/* ---- one-output-expression functions for dim-eval failures --------------------- */

static const char *const n_syms[] = {"N", "M"};
static const TexDimExpr n_dims[] = {SYM(0)};

static int bind_out_expr(const TexDimExpr *out_dim, int64_t n, int64_t out) {
  const TexParamInfo params[] = {{"x", TEX_F32, TEX_IN, 1, n_dims}, {"out", TEX_F32, TEX_OUT, 1, out_dim}};
  const TexFuncInfo fn = {"e", "m_e", 2, 1, params, 2, n_syms, 0, NULL, NULL};
  static float x[4], y[4]; /* never read: bind only looks at the pointers */
  Arg a[2];
  arg_init(&a[0], x, kDLFloat, 32, 1, n);
  arg_init(&a[1], y, kDLFloat, 32, 1, out);
  const DLTensor *p[2] = {&a[0].t, &a[1].t};
  void *bufs[2];
  int64_t syms[2];
  return texrt_bind(&module, &fn, p, bufs, syms);
}

static void bind_dim_eval_errors(void **state) {
  (void)state;
  const TexDimExpr pow4 = E(TEX_DIM_SYM, 0, TEX_DIM_SYM, 0, TEX_DIM_MUL, TEX_DIM_SYM, 0, TEX_DIM_MUL, TEX_DIM_SYM, 0, TEX_DIM_MUL);
  expect_fail(bind_out_expr(&pow4, (int64_t)1 << 20, 1), TEX_ERR_OVERFLOW, "output 'out' (#2)", "N*N*N*N", "overflow", NULL);
  const TexDimExpr div0 = E(TEX_DIM_SYM, 0, TEX_DIM_SYM, 0, TEX_DIM_SYM, 0, TEX_DIM_SUB, TEX_DIM_FLOORDIV);
  expect_fail(bind_out_expr(&div0, 3, 1), TEX_ERR_SHAPE, "output 'out' (#2)", "N//(N - N)", "division by zero", NULL);
  const TexDimExpr unbound = SYM(1); /* M: no input binds it */
  expect_fail(bind_out_expr(&unbound, 3, 3), TEX_ERR_SHAPE, "output 'out' (#2)", "'M'", "no input binds", NULL);
  const TexDimExpr minmax = E(TEX_DIM_SYM, 0, TEX_DIM_LIT, 2, TEX_DIM_MIN, TEX_DIM_LIT, 1, TEX_DIM_MAX);
  assert_int_equal(bind_out_expr(&minmax, 3, 2), TEX_OK);
  expect_fail(bind_out_expr(&minmax, 3, 3), TEX_ERR_SHAPE, "max(min(N, 2), 1) = 2", NULL);
}

/* ---- h(mask: bool[N], idx: i64[N], s: f64) -> i32[N] ---------------------------------- */

static const TexDimExpr h_dims[] = {SYM(0)};
static const TexParamInfo h_params[] = {
    {"mask", TEX_BOOL, TEX_IN, 1, h_dims},
    {"idx", TEX_I64, TEX_IN, 1, h_dims},
    {"s", TEX_F64, TEX_IN, 0, NULL},
    {"out", TEX_I32, TEX_OUT, 1, h_dims},
};
static const TexFuncInfo func_h = {"h", "m_h", 4, 3, h_params, 1, n_syms, 0, NULL, NULL};

static void bind_bool_i64_scalar(void **state) {
  (void)state;
  uint8_t mask[5];
  int64_t idx[5];
  double s;
  int32_t out[5];
  Arg a[4];
  arg_init(&a[0], mask, kDLUInt, 8, 1, (int64_t)5);
  arg_init(&a[1], idx, kDLInt, 64, 1, (int64_t)5);
  arg_init(&a[2], &s, kDLFloat, 64, 0);
  arg_init(&a[3], out, kDLInt, 32, 1, (int64_t)5);
  const DLTensor *p[4] = {&a[0].t, &a[1].t, &a[2].t, &a[3].t};
  void *bufs[4];
  int64_t syms[1];
  assert_int_equal(texrt_bind(&module, &func_h, p, bufs, syms), TEX_OK);
  assert_int_equal(syms[0], 5);
  assert_ptr_equal(bufs[2], &s);
  a[0].t.dtype.code = 6; /* kDLBool of newer DLPack */
  assert_int_equal(texrt_bind(&module, &func_h, p, bufs, syms), TEX_OK);
  a[0].t.dtype.code = kDLInt;
  expect_fail(texrt_bind(&module, &func_h, p, bufs, syms), TEX_ERR_DTYPE, "argument 'mask' (#1): expected dtype bool, got int8", NULL);
  a[0].t.dtype.code = kDLUInt;
  a[1].t.dtype.bits = 32;
  expect_fail(texrt_bind(&module, &func_h, p, bufs, syms), TEX_ERR_DTYPE, "'idx' (#2): expected dtype i64, got i32", NULL);
  a[1].t.dtype.bits = 64;
  a[2].t.ndim = 1;
  expect_fail(texrt_bind(&module, &func_h, p, bufs, syms), TEX_ERR_RANK, "'s' (#3)", "expected rank 0 (f64[])", NULL);
}

/* ---- in-place parameters and several outputs -------------------------------------- */

static void bind_inout_and_outputs(void **state) {
  (void)state;
  const TexParamInfo params[] = {
      {"w", TEX_F32, TEX_INOUT, 1, n_dims},
      {"g", TEX_F32, TEX_IN, 1, n_dims},
      {"out", TEX_F32, TEX_OUT, 1, n_dims},
      {"out1", TEX_F32, TEX_OUT, 1, n_dims},
  };
  const TexFuncInfo fn = {"step", "m_step", 4, 2, params, 1, n_syms, 0, NULL, NULL};
  float buf[64];
  Arg a[4];
  for (int i = 0; i < 4; i++) arg_init(&a[i], buf + 8 * i, kDLFloat, 32, 1, (int64_t)8);
  const DLTensor *p[4] = {&a[0].t, &a[1].t, &a[2].t, &a[3].t};
  void *bufs[4];
  int64_t syms[1];
  assert_int_equal(texrt_bind(&module, &fn, p, bufs, syms), TEX_OK);
  a[3].t.data = buf + 20; /* out1 overlaps out */
  expect_fail(texrt_bind(&module, &fn, p, bufs, syms), TEX_ERR_ALIAS, "output 'out1' (#4)", "output 'out' (#3)", NULL);
  a[3].t.data = buf + 24;
  a[1].t.data = buf + 4; /* g overlaps the in-place w */
  expect_fail(texrt_bind(&module, &fn, p, bufs, syms), TEX_ERR_ALIAS, "in-place argument 'w' (#1)", "argument 'g' (#2)", NULL);
}

/* ---- texrt_dim_eval --------------------------------------------------------------- */

static int64_t eval(int *st, int32_t len, const int64_t *code) {
  const int64_t syms[2] = {10, -3};
  TexDimExpr e = {code, len};
  int64_t v = -12345;
  *st = texrt_dim_eval(&e, syms, &v);
  return v;
}

#define EVAL(st, ...) eval(&(st), sizeof((const int64_t[]){__VA_ARGS__}) / 8, (const int64_t[]){__VA_ARGS__})
#define BIN(a, op, b) EVAL(st, TEX_DIM_LIT, a, TEX_DIM_LIT, b, op)

static void dim_eval_ops(void **state) {
  (void)state;
  int st;
  assert_int_equal(EVAL(st, TEX_DIM_LIT, 7), 7);
  assert_int_equal(st, TEX_OK);
  assert_int_equal(EVAL(st, TEX_DIM_SYM, 0, TEX_DIM_SYM, 1, TEX_DIM_ADD), 7);
  assert_int_equal(BIN(3, TEX_DIM_SUB, 5), -2);
  assert_int_equal(BIN(-4, TEX_DIM_MUL, 5), -20);
  assert_int_equal(BIN(3, TEX_DIM_MIN, -5), -5);
  assert_int_equal(BIN(3, TEX_DIM_MAX, -5), 3);
  assert_int_equal(BIN(3, TEX_DIM_EQ, 3), 1);
  assert_int_equal(BIN(3, TEX_DIM_EQ, 4), 0);
  assert_int_equal(BIN(3, TEX_DIM_LE, 3), 1);
  assert_int_equal(BIN(4, TEX_DIM_LE, 3), 0);
  assert_int_equal(st, TEX_OK);
}

/* Python's // and %: floor, and the remainder takes the divisor's sign. */
static void dim_eval_floor(void **state) {
  (void)state;
  int st;
  assert_int_equal(BIN(7, TEX_DIM_FLOORDIV, 2), 3);
  assert_int_equal(BIN(-7, TEX_DIM_FLOORDIV, 2), -4);
  assert_int_equal(BIN(7, TEX_DIM_FLOORDIV, -2), -4);
  assert_int_equal(BIN(-7, TEX_DIM_FLOORDIV, -2), 3);
  assert_int_equal(BIN(-8, TEX_DIM_FLOORDIV, 2), -4);
  assert_int_equal(BIN(7, TEX_DIM_MOD, 2), 1);
  assert_int_equal(BIN(-7, TEX_DIM_MOD, 2), 1);
  assert_int_equal(BIN(7, TEX_DIM_MOD, -2), -1);
  assert_int_equal(BIN(-7, TEX_DIM_MOD, -2), -1);
  assert_int_equal(BIN(-8, TEX_DIM_MOD, 2), 0);
  assert_int_equal(BIN(INT64_MIN, TEX_DIM_MOD, -1), 0);
  assert_int_equal(st, TEX_OK);
}

static void dim_eval_errors(void **state) {
  (void)state;
  int st;
  BIN(INT64_MAX, TEX_DIM_ADD, 1);
  expect_fail(st, TEX_ERR_OVERFLOW, "overflow", NULL);
  BIN(INT64_MIN, TEX_DIM_SUB, 1);
  expect_fail(st, TEX_ERR_OVERFLOW, NULL);
  BIN(INT64_MAX / 2 + 1, TEX_DIM_MUL, 2);
  expect_fail(st, TEX_ERR_OVERFLOW, NULL);
  BIN(INT64_MIN, TEX_DIM_FLOORDIV, -1);
  expect_fail(st, TEX_ERR_OVERFLOW, NULL);
  BIN(1, TEX_DIM_FLOORDIV, 0);
  expect_fail(st, TEX_ERR_SHAPE, "division by zero", NULL);
  BIN(1, TEX_DIM_MOD, 0);
  expect_fail(st, TEX_ERR_SHAPE, "division by zero", NULL);
  EVAL(st, TEX_DIM_LIT, 1, TEX_DIM_ADD);
  expect_fail(st, TEX_ERR_SHAPE, "underflow", NULL);
  EVAL(st, TEX_DIM_LIT, 1, TEX_DIM_LIT, 2);
  expect_fail(st, TEX_ERR_SHAPE, "2 values left", NULL);
  EVAL(st, TEX_DIM_LIT, 1, 99);
  expect_fail(st, TEX_ERR_SHAPE, "bad opcode 99", NULL);
  EVAL(st, TEX_DIM_LIT);
  expect_fail(st, TEX_ERR_SHAPE, "missing immediate", NULL);
  EVAL(st, TEX_DIM_SYM, -1);
  expect_fail(st, TEX_ERR_SHAPE, "bad symbol", NULL);
  eval(&st, 0, (const int64_t[]){0});
  expect_fail(st, TEX_ERR_SHAPE, "0 values left", NULL);
  int64_t deep[34];
  for (int i = 0; i < 34; i += 2) deep[i] = TEX_DIM_LIT, deep[i + 1] = i;
  eval(&st, 34, deep); /* 17 pushes */
  expect_fail(st, TEX_ERR_SHAPE, "stack overflow", NULL);
  eval(&st, 32, deep); /* 16 fit, but 16 values are left */
  expect_fail(st, TEX_ERR_SHAPE, "16 values left", NULL);
}

/* ---- texrt_check_features / texrt_check_cpu ------------------------------------------ */

static int asked_unknown;

static int fake_has(const char *f) {
  if (strstr(f, "perlane") || strcmp(f, "64bit") == 0) asked_unknown = 1;
  return strcmp(f, "avx512f") != 0 && strcmp(f, "avx512bw") != 0;
}

static int all_has(const char *f) {
  (void)f;
  return 1;
}

static void features(void **state) {
  (void)state;
  const char *req = "sse4.2,avx,avx2,fma,avx512f,avx512bw";
  char missing[64];
  assert_int_equal(texrt_check_features(req, all_has, missing, sizeof missing), TEX_OK);
  assert_string_equal(missing, "");
  assert_int_equal(texrt_check_features(req, fake_has, missing, sizeof missing), TEX_ERR_CPU);
  assert_string_equal(missing, "avx512f, avx512bw");
  assert_int_equal(texrt_check_features("+sse2, +avx512f ,-avx512bw", fake_has, missing, sizeof missing), TEX_ERR_CPU);
  assert_string_equal(missing, "avx512f");
  assert_int_equal(texrt_check_features("fast-variable-perlane-shuffle,64bit,sse2", fake_has, missing, sizeof missing), TEX_OK);
  assert_int_equal(asked_unknown, 0);
  assert_int_equal(texrt_check_features(req, fake_has, missing, 10), TEX_ERR_CPU);
  assert_string_equal(missing, "avx512f"); /* whole names only */
  assert_int_equal(texrt_check_features(req, fake_has, NULL, 0), TEX_ERR_CPU);
  assert_int_equal(texrt_check_features("", fake_has, missing, sizeof missing), TEX_OK);
}

static void check_cpu(void **state) {
  (void)state;
  assert_int_equal(texrt_check_cpu(&module_sse2), TEX_OK);
  assert_int_equal(texrt_check_cpu(&module_sse2), TEX_OK); /* the cached path */
#if defined(__x86_64__) || defined(__i386__)
  if (!__builtin_cpu_supports("xop")) { /* AMD Bulldozer only: absent here */
    expect_fail(texrt_check_cpu(&module_xop), TEX_ERR_CPU, "m: this module was built for CPU 'testcpu'", "needs xop", "--cpu=x86-64-v2",
                NULL);
  }
#endif
}

/* ---- texrt_run ------------------------------------------------------------------------ */

static uintptr_t seen_tmp[2];
static int never_called;

/* tmp = in*2 (f32 temp), wide = tmp (f64 temp) */
static int32_t k_double(void *const *bufs, const int64_t *syms, int64_t begin, int64_t end, TexIndexError *err) {
  (void)syms;
  const float *in = bufs[0];
  float *tmp = bufs[2];
  double *wide = bufs[3];
  for (int64_t i = begin; i < end; i++) wide[i] = tmp[i] = in[i] * 2;
  seen_tmp[0] = (uintptr_t)bufs[2];
  seen_tmp[1] = (uintptr_t)bufs[3];
  (void)err;
  return 0;
}

/* Gets its operands as a compact array (the step lists buffers 3 and 1). */
static int32_t k_copy(void *const *ops, const int64_t *syms, int64_t begin, int64_t end, TexIndexError *err) {
  (void)syms;
  const double *wide = ops[0];
  float *out = ops[1];
  for (int64_t i = begin; i < end; i++) out[i] = (float)wide[i];
  (void)err;
  return 0;
}

static int32_t k_never(void *const *bufs, const int64_t *syms, int64_t begin, int64_t end, TexIndexError *err) {
  (void)bufs, (void)syms, (void)begin, (void)end;
  never_called = 1;
  (void)err;
  return 0;
}

static const TexParamInfo r_params[] = {{"in", TEX_F32, TEX_IN, 1, n_dims}, {"out", TEX_F32, TEX_OUT, 1, n_dims}};
static const TexFuncInfo func_r = {"r", "m_r", 2, 1, r_params, 1, n_syms, 0, NULL, NULL};
static const TexTemp r_temps[] = {{SYM(0), TEX_F32, 0}, {SYM(0), TEX_F64, 0}};
static const int32_t copy_ops[] = {3, 1};
static const TexStep r_steps[] = {{k_double, SYM(0), NULL, 0, NULL, 0, NULL, NULL, SERIAL},
                                  {k_never, E(TEX_DIM_SYM, 0, TEX_DIM_SYM, 0, TEX_DIM_SUB), NULL, 0, NULL, 0, NULL, NULL, SERIAL},
                                  {k_copy, SYM(0), copy_ops, 2, NULL, 0, NULL, NULL, SERIAL}};
static const TexPlan plan_r = {&module, &func_r, 2, r_temps, 3, r_steps};

static size_t allocs, last_align;

static void *count_alloc(size_t bytes, size_t align) {
  allocs++;
  last_align = align;
  return aligned_alloc(align, (bytes + align - 1) / align * align);
}

static void *fail_alloc(size_t bytes, size_t align) {
  (void)bytes, (void)align;
  return NULL;
}

static int run_r2(float *in, int64_t n_in, float *out, int64_t n_out) {
  Arg a[2];
  arg_init(&a[0], in, kDLFloat, 32, 1, n_in);
  arg_init(&a[1], out, kDLFloat, 32, 1, n_out);
  const DLTensor *p[2] = {&a[0].t, &a[1].t};
  return texrt_run(&plan_r, p);
}

static int run_r(float *in, float *out, int64_t n) { return run_r2(in, n, out, n); }

static void run_ok(void **state) {
  (void)state;
  float in[3] = {1, 2, 3}, out[3] = {0};
  allocs = 0;
  texrt_set_allocator(count_alloc, free);
  assert_int_equal(run_r(in, out, 3), TEX_OK);
  texrt_set_allocator(NULL, NULL);
  assert_true(out[0] == 2 && out[1] == 4 && out[2] == 6);
  assert_int_equal(allocs, 1); /* one block for both temporaries */
  assert_int_equal(last_align, 64);
  assert_int_equal(seen_tmp[0] % 64, 0);
  assert_int_equal(seen_tmp[1] % 64, 0);
  assert_int_equal(seen_tmp[1] - seen_tmp[0], 64); /* 12 bytes, rounded up to 64 */
  assert_int_equal(never_called, 0);
  allocs = 0; /* empty temporaries need no allocation */
  texrt_set_allocator(count_alloc, free);
  assert_int_equal(run_r(in, out, 0), TEX_OK);
  texrt_set_allocator(NULL, NULL);
  assert_int_equal(allocs, 0);
}

/* With the default allocator a thread keeps its temporaries between calls
 * (grown when a call needs more); a custom hook sees every call's block. */
static void run_cache(void **state) {
  (void)state;
  static float in[1000] = {1, 2, 3}, out[1000];
  assert_int_equal(run_r(in, out, 3), TEX_OK);
  uintptr_t first = seen_tmp[0];
  assert_int_equal(run_r(in, out, 2), TEX_OK);
  assert_int_equal(seen_tmp[0], first);
  assert_int_equal(run_r(in, out, 1000), TEX_OK); /* 12000 bytes: the block grows */
  assert_true(out[999] == 0 && out[2] == 6);
  allocs = 0;
  texrt_set_allocator(count_alloc, free);
  assert_int_equal(run_r(in, out, 3), TEX_OK);
  assert_int_equal(run_r(in, out, 3), TEX_OK);
  texrt_set_allocator(NULL, NULL);
  assert_int_equal(allocs, 2);
}

static void run_alloc_fail(void **state) {
  (void)state;
  float in[3] = {1, 2, 3}, out[3] = {0};
  texrt_set_allocator(fail_alloc, free);
  expect_fail(run_r(in, out, 3), TEX_ERR_ALLOC, "m_r", "out of memory", NULL);
  texrt_set_allocator(NULL, NULL);
  assert_int_equal(run_r(in, out, 3), TEX_OK); /* the default is back */
}

static void run_bind_error(void **state) {
  (void)state;
  float in[3] = {1, 2, 3}, out[4] = {0};
  expect_fail(run_r2(in, 3, out, 4), TEX_ERR_SHAPE, "m_r: output 'out' (#2): dim 0 is 4, but N = 3", NULL);
  assert_true(out[0] == 0); /* no kernel ran */
}

/* More temporaries than fit on the stack: bufs itself comes from the hook. */
static int many_ok;

static int32_t k_many(void *const *bufs, const int64_t *syms, int64_t begin, int64_t end, TexIndexError *err) {
  (void)syms, (void)begin, (void)end;
  many_ok = 1;
  for (int t = 0; t < 200; t++) {
    uintptr_t p = (uintptr_t)bufs[2 + t];
    many_ok &= p % 64 == 0 && (t == 0 || p - (uintptr_t)bufs[1 + t] == 64);
  }
  (void)err;
  return 0;
}

static void run_many_temps(void **state) {
  (void)state;
  static const int64_t three[] = {TEX_DIM_LIT, 3};
  static TexTemp temps[200];
  for (int t = 0; t < 200; t++) temps[t] = (TexTemp){{three, 2}, t % 2 ? TEX_BOOL : TEX_F64, 0};
  const TexStep steps[] = {{k_many, LIT(1), NULL, 0, NULL, 0, NULL, NULL, SERIAL}};
  TexPlan plan = {&module, &func_r, 200, temps, 1, steps};
  float in[3] = {0}, out[3] = {0};
  Arg a[2];
  arg_init(&a[0], in, kDLFloat, 32, 1, (int64_t)3);
  arg_init(&a[1], out, kDLFloat, 32, 1, (int64_t)3);
  const DLTensor *p[2] = {&a[0].t, &a[1].t};
  allocs = 0;
  texrt_set_allocator(count_alloc, free);
  assert_int_equal(texrt_run(&plan, p), TEX_OK);
  texrt_set_allocator(NULL, NULL);
  assert_int_equal(allocs, 2);
  assert_true(many_ok);
  plan.ntemps = TEX_MAX_TEMPS + 1;
  expect_fail(texrt_run(&plan, p), TEX_ERR_OVERFLOW, "m_r", NULL);
  const TexTemp bad[] = {{E(TEX_DIM_LIT, 1, TEX_DIM_LIT, 0, TEX_DIM_MOD), TEX_F32, 0}};
  plan.ntemps = 1;
  plan.temps = bad;
  expect_fail(texrt_run(&plan, p), TEX_ERR_SHAPE, "m_r: temporary #0", "division by zero", NULL);
  const TexTemp huge[] = {{LIT(INT64_MAX / 4), TEX_F64, 0}};
  plan.temps = huge;
  expect_fail(texrt_run(&plan, p), TEX_ERR_OVERFLOW, "m_r: temporary #0", NULL);
}

/* A planned reuse: temporary 1 takes over temporary 0's memory. */
static uintptr_t reuse_seen[2];

static int32_t k_seen(void *const *bufs, const int64_t *syms, int64_t begin, int64_t end, TexIndexError *err) {
  (void)syms, (void)begin, (void)end;
  reuse_seen[0] = (uintptr_t)bufs[2];
  reuse_seen[1] = (uintptr_t)bufs[3];
  (void)err;
  return 0;
}

/* A kernel whose subscript check fails: the runtime's message names the
 * check's index array and position, or the loop counters. */
static int32_t k_bad_index(void *const *bufs, const int64_t *syms, int64_t begin, int64_t end, TexIndexError *err) {
  (void)bufs, (void)syms, (void)begin, (void)end;
  err->check = 1;
  err->value = -3;
  err->where[0] = 2, err->where[1] = 7;
  return 1;
}

static void run_index_error(void **state) {
  (void)state;
  const TexIndexCheck checks[] = {{"index array 'y' (#4): y", "argument 'E' (#1)", NULL, 1, 2, SYM(0)},
                                  {"index at m.tex:3:9", "argument 'p' (#1)", "i,j", 0, 2, LIT(10)}};
  TexStep steps[] = {{k_bad_index, LIT(1), NULL, 0, checks, 2, NULL, NULL, SERIAL}};
  TexPlan plan = {&module, &func_r, 0, NULL, 1, steps};
  float in[3] = {0}, out[3] = {0};
  Arg a[2];
  arg_init(&a[0], in, kDLFloat, 32, 1, (int64_t)3);
  arg_init(&a[1], out, kDLFloat, 32, 1, (int64_t)3);
  const DLTensor *p[2] = {&a[0].t, &a[1].t};
  expect_fail(texrt_run(&plan, p), TEX_ERR_INDEX,
              "m_r: index at m.tex:3:9 (i = 2, j = 7) = -3 is out of range for axis 0 of extent 10 (argument 'p' (#1))", NULL);
  steps[0].checks = checks + 0; /* check 1 of a table of 1: malformed, still an error */
  steps[0].nchecks = 1;
  expect_fail(texrt_run(&plan, p), TEX_ERR_INDEX, "m_r: step #0: an index is out of range", NULL);
  const TexIndexCheck first[] = {checks[0], checks[0]};
  steps[0].checks = first;
  steps[0].nchecks = 2;
  expect_fail(texrt_run(&plan, p), TEX_ERR_INDEX,
              "m_r: index array 'y' (#4): y[2, 7] = -3 is out of range for axis 1 of extent 3 (argument 'E' (#1))", NULL);
}

static void run_reuse(void **state) {
  (void)state;
  const TexTemp temps[] = {{SYM(0), TEX_F32, 0}, {SYM(0), TEX_I32, 1}};
  const TexStep steps[] = {{k_seen, LIT(1), NULL, 0, NULL, 0, NULL, NULL, SERIAL}};
  TexPlan plan = {&module, &func_r, 2, temps, 1, steps};
  float in[3] = {0}, out[3] = {0};
  Arg a[2];
  arg_init(&a[0], in, kDLFloat, 32, 1, (int64_t)3);
  arg_init(&a[1], out, kDLFloat, 32, 1, (int64_t)3);
  const DLTensor *p[2] = {&a[0].t, &a[1].t};
  assert_int_equal(texrt_run(&plan, p), TEX_OK);
  assert_true(reuse_seen[0] != 0 && reuse_seen[0] == reuse_seen[1]);
}

/* ---- loops (issue 10): a LOOP step runs the steps after it ---------------------
 * l(in: f32[N], k: i64) -> f32[N]: cur = in; k times next = cur * 2 + t,
 * swap; out = cur.  Buffers: in 0, k 1, out 2, cur 3, next 4, t 5. */
static int32_t k_lcopy(void *const *ops, const int64_t *syms, int64_t begin, int64_t end, TexIndexError *err) {
  (void)syms, (void)err, (void)begin, (void)end;
  memcpy(ops[1], ops[0], sizeof(float) * (size_t)syms[0]);
  return 0;
}

static int32_t k_lstep(void *const *ops, const int64_t *syms, int64_t begin, int64_t end, TexIndexError *err) {
  (void)err, (void)begin, (void)end;
  const float *cur = ops[0];
  float *next = ops[2];
  for (int64_t i = 0; i < syms[0]; i++) next[i] = cur[i] * 2 + (float)*(const int64_t *)ops[1];
  return 0;
}

static const TexParamInfo l_params[] = {
    {"in", TEX_F32, TEX_IN, 1, n_dims}, {"k", TEX_I64, TEX_IN, 0, NULL}, {"out", TEX_F32, TEX_OUT, 1, n_dims}};
static const TexFuncInfo func_l = {"l", "m_l", 3, 2, l_params, 1, n_syms, 0, NULL, NULL};
static const TexTemp l_temps[] = {{SYM(0), TEX_F32, 0}, {SYM(0), TEX_F32, 0}, {LIT(1), TEX_I64, 0}};
static const int32_t l_in_ops[] = {0, 3}, l_step_ops[] = {3, 5, 4}, l_out_ops[] = {3, 2}, l_cur[] = {3}, l_next[] = {4};

/* Runs plan on in = {1, -2, 0.5}, a scalar argument and out (f32[3] each). */
static int run_in_scalar_out(const TexPlan *plan, void *scalar, uint8_t code, uint8_t bits, float *out) {
  float in[3] = {1, -2, 0.5f};
  Arg a[3];
  arg_init(&a[0], in, kDLFloat, 32, 1, (int64_t)3);
  arg_init(&a[1], scalar, code, bits, 0);
  arg_init(&a[2], out, kDLFloat, 32, 1, (int64_t)3);
  const DLTensor *p[3] = {&a[0].t, &a[1].t, &a[2].t};
  return texrt_run(plan, p);
}

static int run_l(TexLoop *loop, int64_t k, float *out) {
  const TexStep steps[] = {{k_lcopy, LIT(1), l_in_ops, 2, NULL, 0, NULL, NULL, SERIAL},
                           {NULL, LIT(1), NULL, 0, NULL, 0, loop, NULL, SERIAL},
                           {k_lstep, LIT(1), l_step_ops, 3, NULL, 0, NULL, NULL, SERIAL},
                           {k_lcopy, LIT(1), l_out_ops, 2, NULL, 0, NULL, NULL, SERIAL}};
  const TexPlan plan = {&module, &func_l, 3, l_temps, 4, steps};
  return run_in_scalar_out(&plan, &k, kDLInt, 64, out);
}

static void run_loops(void **state) {
  (void)state;
  TexLoop loop = {1, 5, 1, 1, l_cur, l_next, "m.tex:2:5", 0, NULL, NULL, -1, 0, 0, 0, 0, NULL};
  const float in[3] = {1, -2, 0.5f};
  for (int64_t k = 0; k <= 5; k++) { /* 0 trips: the initial state; odd counts end in the other buffer */
    float out[3];
    assert_int_equal(run_l(&loop, k, out), TEX_OK);
    for (int i = 0; i < 3; i++) {
      float want = in[i];
      for (int64_t t = 0; t < k; t++) want = want * 2 + (float)t;
      assert_true(out[i] == want);
    }
  }
  float out[3] = {7, 7, 7};
  expect_fail(run_l(&loop, -3, out), TEX_ERR_TRIP, "m_l: the trip count of the loop at m.tex:2:5 is -3", NULL);
  assert_true(out[0] == 7); /* nothing written */
  loop.cond_state = 1; /* a while flag past the states */
  expect_fail(run_l(&loop, 1, out), TEX_ERR_NULL, "malformed loop", NULL);
  loop.cond_state = -1, loop.nbody = 3; /* past the plan's steps */
  expect_fail(run_l(&loop, 1, out), TEX_ERR_NULL, "malformed loop", NULL);
  loop.nbody = 1, loop.nouts = 1; /* a stacked output without its slot */
  expect_fail(run_l(&loop, 1, out), TEX_ERR_NULL, "malformed loop", NULL);
  loop.slot = l_cur, loop.stack = (const int32_t[]){0}; /* a stack that is an argument */
  expect_fail(run_l(&loop, 1, out), TEX_ERR_NULL, "malformed loop", NULL);
  loop.nouts = 0, loop.cur = l_next, loop.next = (const int32_t[]){1}; /* a state that is an argument */
  expect_fail(run_l(&loop, 1, out), TEX_ERR_NULL, "malformed loop", NULL);
}

/* A one-kernel loop (once): its one body step does the k steps itself, in
 * place on cur (buffer 3), reading the trip count (buffer 1); the runtime
 * checks the trip count and runs the step once, swapping nothing. */
static int lonce_calls;
static int32_t k_lonce(void *const *ops, const int64_t *syms, int64_t begin, int64_t end, TexIndexError *err) {
  (void)err, (void)begin, (void)end;
  float *cur = ops[0];
  lonce_calls++;
  for (int64_t t = 0; t < *(const int64_t *)ops[1]; t++)
    for (int64_t i = 0; i < syms[0]; i++) cur[i] = cur[i] * 2 + (float)t;
  return 0;
}

static int run_once(int64_t k, float *out) {
  static const int32_t ops[] = {3, 1};
  static const TexLoop loop = {1, 5, 1, 1, l_cur, l_next, "m.tex:2:5", 0, NULL, NULL, -1, 1, 0, 0, 0, NULL};
  const TexStep steps[] = {{k_lcopy, LIT(1), l_in_ops, 2, NULL, 0, NULL, NULL, SERIAL},
                           {NULL, LIT(1), NULL, 0, NULL, 0, &loop, NULL, SERIAL},
                           {k_lonce, LIT(1), ops, 2, NULL, 0, NULL, NULL, SERIAL},
                           {k_lcopy, LIT(1), l_out_ops, 2, NULL, 0, NULL, NULL, SERIAL}};
  const TexPlan plan = {&module, &func_l, 3, l_temps, 4, steps};
  return run_in_scalar_out(&plan, &k, kDLInt, 64, out);
}

static void run_loops_once(void **state) {
  (void)state;
  const float in[3] = {1, -2, 0.5f};
  for (int64_t k = 0; k <= 5; k++) {
    float out[3];
    lonce_calls = 0;
    assert_int_equal(run_once(k, out), TEX_OK);
    assert_int_equal(lonce_calls, 1);
    for (int i = 0; i < 3; i++) {
      float want = in[i];
      for (int64_t t = 0; t < k; t++) want = want * 2 + (float)t;
      assert_true(out[i] == want);
    }
  }
  float out[3] = {7, 7, 7};
  lonce_calls = 0;
  expect_fail(run_once(-3, out), TEX_ERR_TRIP, "m_l: the trip count of the loop at m.tex:2:5 is -3", NULL);
  assert_int_equal(lonce_calls, 0);
  assert_true(out[0] == 7);
}

/* ---- ifs (issue 10): an if step runs the then steps or the else steps --------
 * c(in: f32[N], c: bool) -> f32[N]: tmp = c ? in * 2 + 0 (k_lstep with t = 0)
 * : in (k_lcopy); out = tmp.  Buffers: in 0, c 1, out 2, tmp 3, zero 4. */
static const TexParamInfo c_params[] = {
    {"in", TEX_F32, TEX_IN, 1, n_dims}, {"c", TEX_BOOL, TEX_IN, 0, NULL}, {"out", TEX_F32, TEX_OUT, 1, n_dims}};
static const TexFuncInfo func_c = {"c", "m_c", 3, 2, c_params, 1, n_syms, 0, NULL, NULL};
static const TexTemp c_temps[] = {{SYM(0), TEX_F32, 0}, {LIT(1), TEX_I64, 0}};
static const int32_t c_then_ops[] = {0, 4, 3}, c_else_ops[] = {0, 3}, c_out_ops[] = {3, 2};

static int32_t k_czero(void *const *ops, const int64_t *syms, int64_t begin, int64_t end, TexIndexError *err) {
  (void)syms, (void)err, (void)begin, (void)end;
  *(int64_t *)ops[0] = 0;
  return 0;
}

static int run_c(const TexBranch *br, uint8_t c, float *out) {
  static const int32_t zero_ops[] = {4};
  const TexStep steps[] = {{k_czero, LIT(1), zero_ops, 1, NULL, 0, NULL, NULL, SERIAL},
                           {NULL, LIT(1), NULL, 0, NULL, 0, NULL, br, SERIAL},
                           {k_lstep, LIT(1), c_then_ops, 3, NULL, 0, NULL, NULL, SERIAL},
                           {k_lcopy, LIT(1), c_else_ops, 2, NULL, 0, NULL, NULL, SERIAL},
                           {k_lcopy, LIT(1), c_out_ops, 2, NULL, 0, NULL, NULL, SERIAL}};
  const TexPlan plan = {&module, &func_c, 2, c_temps, 5, steps};
  return run_in_scalar_out(&plan, &c, kDLUInt, 8, out);
}

static void run_branches(void **state) {
  (void)state;
  TexBranch br = {1, 1, 1};
  const float in[3] = {1, -2, 0.5f};
  for (int c = 0; c < 2; c++) {
    float out[3];
    assert_int_equal(run_c(&br, (uint8_t)c, out), TEX_OK);
    for (int i = 0; i < 3; i++) assert_true(out[i] == (c ? in[i] * 2 : in[i]));
  }
  float out[3];
  br.nelse = 3; /* past the plan's steps */
  expect_fail(run_c(&br, 1, out), TEX_ERR_NULL, "malformed if", NULL);
  br.nelse = 1, br.cond = 9; /* no such buffer */
  expect_fail(run_c(&br, 0, out), TEX_ERR_NULL, "malformed if", NULL);
}

static void run_limits_and_cpu(void **state) {
  (void)state;
  TexFuncInfo big = func_r;
  big.nparams = TEX_MAX_ARGS + 1;
  TexPlan plan = plan_r;
  plan.func = &big;
  expect_fail(texrt_run(&plan, NULL), TEX_ERR_OVERFLOW, "m_r", NULL);
  big = func_r;
  big.nsyms = TEX_MAX_SYMS + 1;
  expect_fail(texrt_run(&plan, NULL), TEX_ERR_OVERFLOW, "m_r", NULL);
  expect_fail(texrt_run(&plan_r, NULL), TEX_ERR_NULL, "m_r", NULL);
#if defined(__x86_64__) || defined(__i386__)
  if (!__builtin_cpu_supports("xop")) {
    plan = plan_r;
    plan.module = &module_xop;
    float in[3] = {0}, out[3] = {0};
    Arg a[2];
    arg_init(&a[0], in, kDLFloat, 32, 1, (int64_t)3);
    arg_init(&a[1], out, kDLFloat, 32, 1, (int64_t)3);
    const DLTensor *p[2] = {&a[0].t, &a[1].t};
    expect_fail(texrt_run(&plan, p), TEX_ERR_CPU, "needs xop", NULL);
  }
#endif
}

/* ---- messages and status text ----------------------------------------------------------- */

static void *other_thread(void *arg) {
  (void)arg;
  return (void *)(uintptr_t)(texrt_last_error()[0] == '\0');
}

static void messages(void **state) {
  (void)state;
  char big[3000];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(texrt_fail(TEX_ERR_SHAPE, "%s", big), TEX_ERR_SHAPE);
  const char *msg = texrt_last_error();
  assert_true(strlen(msg) < sizeof big && strlen(msg) > 1000);
  assert_string_equal(msg + strlen(msg) - 3, "...");
  pthread_t th;
  void *empty;
  assert_int_equal(pthread_create(&th, NULL, other_thread, NULL), 0);
  assert_int_equal(pthread_join(th, &empty), 0);
  assert_true(empty != NULL); /* each thread has its own message */
}

static void status_text(void **state) {
  (void)state;
  static const char *const want[] = {"ok",
                                     "null pointer",
                                     "wrong dtype",
                                     "wrong rank",
                                     "wrong shape",
                                     "unsupported layout",
                                     "wrong device",
                                     "overlapping arguments",
                                     "index out of range",
                                     "out of memory",
                                     "size overflow",
                                     "unsupported cpu",
                                     "cuda error",
                                     "shape assertion failed",
                                     "negative trip count",
                                     "while loop reached its maximum",
                                     "bad argument"};
  assert_int_equal(sizeof want / sizeof want[0], TEX_STATUS_COUNT);
  for (int c = 0; c < TEX_STATUS_COUNT; c++) assert_string_equal(tex_status_text(c), want[c]);
  assert_string_equal(tex_status_text(-1), "unknown status");
  assert_string_equal(tex_status_text(TEX_STATUS_COUNT), "unknown status");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bind_ok),
      cmocka_unit_test(bind_null),
      cmocka_unit_test(bind_null_data_empty),
      cmocka_unit_test(bind_device),
      cmocka_unit_test(bind_dtype),
      cmocka_unit_test(bind_rank),
      cmocka_unit_test(bind_negative_dim),
      cmocka_unit_test(bind_symbol_mismatch),
      cmocka_unit_test(bind_output_shape),
      cmocka_unit_test(bind_size_overflow),
      cmocka_unit_test(bind_strides),
      cmocka_unit_test(bind_alias),
      cmocka_unit_test(bind_expr_dims),
      cmocka_unit_test(bind_assert),
      cmocka_unit_test(bind_assert_note),
      cmocka_unit_test(bind_dim_eval_errors),
      cmocka_unit_test(bind_bool_i64_scalar),
      cmocka_unit_test(bind_inout_and_outputs),
      cmocka_unit_test(dim_eval_ops),
      cmocka_unit_test(dim_eval_floor),
      cmocka_unit_test(dim_eval_errors),
      cmocka_unit_test(features),
      cmocka_unit_test(check_cpu),
      cmocka_unit_test(run_ok),
      cmocka_unit_test(run_cache),
      cmocka_unit_test(run_alloc_fail),
      cmocka_unit_test(run_bind_error),
      cmocka_unit_test(run_many_temps),
      cmocka_unit_test(run_reuse),
      cmocka_unit_test(run_loops),
      cmocka_unit_test(run_loops_once),
      cmocka_unit_test(run_branches),
      cmocka_unit_test(run_index_error),
      cmocka_unit_test(run_limits_and_cpu),
      cmocka_unit_test(messages),
      cmocka_unit_test(status_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
