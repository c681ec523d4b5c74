/* test_ir.c — unit tests of the IR core without LLVM: the text form round trip
 * (ir/print.c and ir/parse.c), the parser's diagnostics, symbolic dims
 * (ir/dims.c) and ir_verify on hand-written modules.
 *
 * Round trip: text -> ir_parse -> ir_print_module -> ir_parse -> print; both
 * prints must be equal, equal to the input when it is written canonically, and
 * every module must pass ir_verify.  Set TEST_VERBOSE=1 to print every
 * diagnostic an error test checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ir.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------ */

/* A memstream: write through f, read buf after close_buf. */
typedef struct MemOut {
  FILE *f;
  char *buf;
  size_t len;
} MemOut;

static void mem_open(MemOut *o) {
  o->buf = NULL;
  o->len = 0;
  o->f = open_memstream(&o->buf, &o->len);
  assert_non_null(o->f);
}

static char *mem_close(MemOut *o) {
  fclose(o->f);
  return o->buf;
}

static char *print_module(IrModule *m) {
  MemOut o;
  mem_open(&o);
  ir_print_module(o.f, m);
  return mem_close(&o);
}

/* Parses text that must be valid; fails with the diagnostics otherwise. */
static IrModule *parse_ok(const char *text) {
  MemOut o;
  Diag d;
  mem_open(&o);
  diag_init(&d, o.f);
  IrModule *m = ir_parse("t.ir", text, &d);
  char *msg = mem_close(&o);
  if (!m || d.errors) fail_msg("parse failed:\n%s\ninput:\n%s", msg, text);
  free(msg);
  return m;
}

static void expect_verified(IrModule *m) {
  MemOut o;
  mem_open(&o);
  int problems = ir_verify(m, o.f, "parse");
  char *msg = mem_close(&o);
  if (problems) fail_msg("%d verify problems:\n%s", problems, msg);
  free(msg);
}

/* Parse, print, parse, print: the prints agree, and agree with text when
 * canonical is set; both modules verify. */
static void roundtrip(const char *text, bool canonical) {
  IrModule *m1 = parse_ok(text);
  expect_verified(m1);
  char *p1 = print_module(m1);
  IrModule *m2 = parse_ok(p1);
  expect_verified(m2);
  char *p2 = print_module(m2);
  assert_string_equal(p1, p2);
  if (canonical) assert_string_equal(p1, text);
  free(p1);
  free(p2);
  ir_module_free(m1);
  ir_module_free(m2);
}

/* Parses invalid text: NULL, at least one error, and the diagnostics contain
 * needle. */
static void expect_error(const char *text, const char *needle) {
  MemOut o;
  Diag d;
  mem_open(&o);
  diag_init(&d, o.f);
  IrModule *m = ir_parse("bad.ir", text, &d);
  char *msg = mem_close(&o);
  if (getenv("TEST_VERBOSE")) printf("%s", msg);
  if (m) fail_msg("parsed invalid input:\n%s", text);
  assert_true(d.errors > 0);
  if (!strstr(msg, needle)) fail_msg("diagnostic \"%s\" lacks \"%s\"", msg, needle);
  free(msg);
}

/* The first node of the first function that is not a param. */
static IrNode *first_node(IrModule *m, int func, int k) {
  IrFunc *f = m->funcs.items[func];
  return f->body.items[f->nparams + k];
}

static uint64_t bits64(double v) {
  uint64_t b;
  memcpy(&b, &v, sizeof b);
  return b;
}

/* ---- round trips -------------------------------------------------------------- */

static const char *const elementwise_ir = "func @elementwise(%x: f32[N, 3], %y: f32[N, 3], %c: bool[N, 3]) -> (f32[N, 3], bool[N, 3]) {\n"
                                          "  %3 = neg %x : f32[N, 3]\n"
                                          "  %4 = abs %3 : f32[N, 3]\n"
                                          "  %5 = exp %4 : f32[N, 3]\n"
                                          "  %6 = log %5 : f32[N, 3]\n"
                                          "  %7 = sqrt %6 : f32[N, 3]\n"
                                          "  %8 = tanh %7 : f32[N, 3]\n"
                                          "  %9 = sigmoid %8 : f32[N, 3]\n"
                                          "  %10 = copy %9 : f32[N, 3]\n"
                                          "  %11 = add %10, %y : f32[N, 3]\n"
                                          "  %12 = sub %11, %y : f32[N, 3]\n"
                                          "  %13 = mul %12, %y : f32[N, 3]\n"
                                          "  %14 = div %13, %y : f32[N, 3]\n"
                                          "  %15 = pow %14, %y : f32[N, 3]\n"
                                          "  %16 = max %15, %y : f32[N, 3]\n"
                                          "  %17 = min %16, %y : f32[N, 3]\n"
                                          "  %18 = select %c, %17, %x : f32[N, 3]\n"
                                          "  %19 = eq %18, %y : bool[N, 3]\n"
                                          "  %20 = ne %18, %y : bool[N, 3]\n"
                                          "  %21 = lt %18, %y : bool[N, 3]\n"
                                          "  %22 = le %18, %y : bool[N, 3]\n"
                                          "  %23 = gt %18, %y : bool[N, 3]\n"
                                          "  %24 = ge %18, %y : bool[N, 3]\n"
                                          "  %25 = and %19, %20 : bool[N, 3]\n"
                                          "  %26 = or %25, %21 : bool[N, 3]\n"
                                          "  %27 = not %26 : bool[N, 3]\n"
                                          "  %28 = and %27, %c : bool[N, 3]\n"
                                          "  return %18, %28\n"
                                          "}\n"
                                          "\n"
                                          "func @ints(%i: i32[K], %j: i64[K], %x: f64[K]) -> (i32[K], i64[K], f32[K], f64[K]) {\n"
                                          "  %3 = neg %i : i32[K]\n"
                                          "  %4 = abs %3 : i32[K]\n"
                                          "  %5 = max %4, %i : i32[K]\n"
                                          "  %6 = mul %j, %j : i64[K]\n"
                                          "  %7 = cast %5 : f32[K]\n"
                                          "  %8 = cast %x : i64[K]\n"
                                          "  %9 = sub %6, %8 : i64[K]\n"
                                          "  %10 = cast %9 : f64[K]\n"
                                          "  %11 = div %10, %x : f64[K]\n"
                                          "  return %5, %9, %7, %11\n"
                                          "}\n";

static void test_roundtrip_elementwise(void **state) { roundtrip(elementwise_ir, true); }

static const char *const consts_ir =
    "func @consts() -> (f32, f32, f32, f32, f32, f32, f32, f32, f64, f64, f64, f64, f64, i32, i32, i64, i64, bool, "
    "bool) {\n"
    "  %0 = const 2.5 : f32\n"
    "  %1 = const inf : f32\n"
    "  %2 = const -inf : f32\n"
    "  %3 = const nan : f32\n"
    "  %4 = const -0.0 : f32\n"
    "  %5 = const 0.100000001 : f32\n"
    "  %6 = const 3.0 : f32\n"
    "  %7 = const 3.40282347e+38 : f32\n"
    "  %8 = const 0.10000000000000001 : f64\n"
    "  %9 = const 1.0000000000000001e+300 : f64\n"
    "  %10 = const 4.9406564584124654e-324 : f64\n"
    "  %11 = const -0.001 : f64\n"
    "  %12 = const 16777216.0 : f64\n"
    "  %13 = const -2147483648 : i32\n"
    "  %14 = const 7 : i32\n"
    "  %15 = const 9223372036854775807 : i64\n"
    "  %16 = const -9223372036854775808 : i64\n"
    "  %17 = const true : bool\n"
    "  %18 = const false : bool\n"
    "  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18\n"
    "}\n";

static void test_roundtrip_consts(void **state) {
  roundtrip(consts_ir, true);
  IrModule *m = parse_ok(consts_ir);
  assert_true(isinf(first_node(m, 0, 1)->attr.f) && first_node(m, 0, 1)->attr.f > 0);
  assert_true(isinf(first_node(m, 0, 2)->attr.f) && first_node(m, 0, 2)->attr.f < 0);
  assert_true(isnan(first_node(m, 0, 3)->attr.f));
  assert_true(first_node(m, 0, 4)->attr.f == 0.0 && signbit(first_node(m, 0, 4)->attr.f));
  assert_true(first_node(m, 0, 7)->attr.f == (double)3.40282347e+38f);
  assert_int_equal(first_node(m, 0, 13)->attr.i, INT32_MIN);
  assert_int_equal(first_node(m, 0, 15)->attr.i, INT64_MAX);
  assert_true(first_node(m, 0, 16)->attr.i == INT64_MIN);
  assert_int_equal(first_node(m, 0, 17)->attr.i, 1);
  assert_int_equal(first_node(m, 0, 18)->attr.i, 0);
  ir_module_free(m);
}

/* 0.1 as f64 and as f32 (rounded once, to float) survive two round trips. */
static void test_constants_bit_exact(void **state) {
  const char *text = "func @c() -> (f64, f32, f32) {\n"
                     "  %0 = const 0.1 : f64\n"
                     "  %1 = const 0.1 : f32\n"
                     "  %2 = const -1e-3 : f32\n"
                     "  return %0, %1, %2\n"
                     "}\n";
  IrModule *m1 = parse_ok(text);
  char *p1 = print_module(m1);
  IrModule *m2 = parse_ok(p1);
  for (int k = 0; k < 3; k++) {
    double want = k == 0 ? 0.1 : k == 1 ? (double)0.1f : (double)-1e-3f;
    assert_true(bits64(first_node(m1, 0, k)->attr.f) == bits64(want));
    assert_true(bits64(first_node(m2, 0, k)->attr.f) == bits64(want));
  }
  assert_non_null(strstr(p1, "%0 = const 0.10000000000000001 : f64"));
  assert_non_null(strstr(p1, "%1 = const 0.100000001 : f32"));
  assert_non_null(strstr(p1, "%2 = const -0.00100000005 : f32"));
  free(p1);
  ir_module_free(m1);
  ir_module_free(m2);
}

static const char *const dims_ir = "func @dims(%x: f32[N, D], %y: f32[D*N + 1], %z: f32[2*N, -N + 3]) -> (i64, i64, i64, i64, f32) {\n"
                                   "  %3 = dimsize D*N + 1 : i64\n"
                                   "  %4 = dimsize 2*N : i64\n"
                                   "  %5 = dimsize -N + 3 : i64\n"
                                   "  %6 = dimsize 0 : i64\n"
                                   "  %7 = dimsize D*N*N - 2*D + 7 : f32\n"
                                   "  return %3, %4, %5, %6, %7\n"
                                   "}\n";

static void test_roundtrip_dims(void **state) {
  roundtrip(dims_ir, true);
  IrModule *m = parse_ok(dims_ir);
  IrFunc *f = m->funcs.items[0];
  /* the dimsize attr and the param's shape are the same hash-consed dim */
  assert_ptr_equal(first_node(m, 0, 0)->attr.dim, f->params[1]->shape[0]);
  assert_ptr_equal(first_node(m, 0, 1)->attr.dim, f->params[2]->shape[0]);
  ir_module_free(m);
}

static const char *const layout_ir =
    "func @layout(%b: f32[K], %s: f32, %m: f32[N, K], %r: f32[1, K]) -> (f32[N, K], f32[N, K], f32[K, N], f32[N, K]) {\n"
    "  %4 = broadcast %b, axes=[1] : f32[N, K]\n"
    "  %5 = broadcast %s, axes=[] : f32[N, K]\n"
    "  %6 = broadcast %r, axes=[0, 1] : f32[N, K]\n"
    "  %7 = transpose %m, axes=[1, 0] : f32[K, N]\n"
    "  %8 = add %4, %5 : f32[N, K]\n"
    "  %9 = add %8, %6 : f32[N, K]\n"
    "  return %9, %4, %7, %m\n"
    "}\n"
    "\n"
    "func @reductions(%m: f32[N, K], %i: i32[N, K, 4]) -> (f32[N], f32[1, 1], f32[K], f32[N, 1], i32[N, 4], i32[1, K, "
    "1], f32[N, K]) {\n"
    "  %2 = sum %m, axes=[1] : f32[N]\n"
    "  %3 = sum %m, axes=[0, 1], keepdims=true : f32[1, 1]\n"
    "  %4 = reduce_max %m, axes=[0] : f32[K]\n"
    "  %5 = reduce_min %m, axes=[1], keepdims=true : f32[N, 1]\n"
    "  %6 = reduce_max %i, axes=[1] : i32[N, 4]\n"
    "  %7 = reduce_min %i, axes=[0, 2], keepdims=true : i32[1, K, 1]\n"
    "  %8 = sum %m, axes=[] : f32[N, K]\n"
    "  return %2, %3, %4, %5, %6, %7, %8\n"
    "}\n"
    "\n"
    "func @matmuls(%a: f32[M, K], %b: f32[K, N], %v: f32[K]) -> (f32[M, N], f32[M], f32[N], f32) {\n"
    "  %3 = matmul %a, %b : f32[M, N]\n"
    "  %4 = matmul %a, %v : f32[M]\n"
    "  %5 = matmul %v, %b : f32[N]\n"
    "  %6 = matmul %v, %v : f32\n"
    "  return %3, %4, %5, %6\n"
    "}\n";

static void test_roundtrip_layout(void **state) { roundtrip(layout_ir, true); }

static const char *const calls_ir = "func @main(%x: f32[N, D], %W: f32[D, K]) -> f32[N, K] {\n"
                                    "  %2 = call @helper %x, %W : f32[N, K] @model.tex:4:12\n"
                                    "  %3 = tanh %2 : f32[N, K] @dir/sub-dir/my.model.tex:10:3\n"
                                    "  %4 = call @one : f32\n"
                                    "  return %3\n"
                                    "}\n"
                                    "\n"
                                    "func private @helper(%a: f32[N, D], %b: f32[D, K]) -> f32[N, K] {\n"
                                    "  %2 = matmul %a, %b : f32[N, K] @model.tex:2:5\n"
                                    "  return %2\n"
                                    "}\n"
                                    "\n"
                                    "func private @one() -> f32 {\n"
                                    "  %0 = const 1.0 : f32 @model.tex:1:1\n"
                                    "  return %0\n"
                                    "}\n"
                                    "\n"
                                    "func private @pair(%p: f32) -> (f32, f32) {\n"
                                    "  %1 = neg %p : f32\n"
                                    "  return %1, %p\n"
                                    "}\n";

static void test_calls_and_locations(void **state) {
  const char *text = calls_ir;
  roundtrip(text, true);

  IrModule *m = parse_ok(text);
  IrFunc *mainf = m->funcs.items[0], *helper = m->funcs.items[1];
  assert_true(mainf->exported);
  assert_false(helper->exported);
  IrNode *call = first_node(m, 0, 0), *tanh_node = first_node(m, 0, 1);
  assert_ptr_equal(call->attr.callee, helper);
  assert_null(call->aux);
  assert_string_equal(call->loc.file, "model.tex");
  assert_int_equal(call->loc.line, 4);
  assert_int_equal(call->loc.col, 12);
  assert_string_equal(tanh_node->loc.file, "dir/sub-dir/my.model.tex");
  assert_int_equal(tanh_node->loc.line, 10);
  assert_int_equal(tanh_node->loc.col, 3);
  assert_ptr_equal(call->loc.file, first_node(m, 1, 0)->loc.file); /* interned */
  assert_null(first_node(m, 0, 2)->loc.file);
  assert_int_equal(((IrFunc *)m->funcs.items[3])->nresults, 2);
  ir_module_free(m);
}

/* In-place params and updates, multi-result calls and proj, derived
 * functions not built yet, user gradient rules. */
static const char autodiff_ir[] = "func @loss(%W: f32[D, K], %x: f32[N, D]) -> f32 {\n"
                                  "  %2 = matmul %x, %W : f32[N, K]\n"
                                  "  %3 = sum %2, axes=[0, 1] : f32\n"
                                  "  return %3\n"
                                  "}\n"
                                  "\n"
                                  "func private @loss__value_and_grad(%W: f32[D, K], %x: f32[N, D]) -> (f32, f32[D, K], f32[N, D]) derive "
                                  "value_and_grad @loss wrt=[0, 1]\n"
                                  "\n"
                                  "func @step(%W: inout f32[D, K], %x: f32[N, D], %lr: f32) -> f32 {\n"
                                  "  %3 = call @loss__value_and_grad %W, %x : f32\n"
                                  "  %4 = proj %3, index=0 : f32\n"
                                  "  %5 = proj %3, index=1 : f32[D, K]\n"
                                  "  %6 = broadcast %lr, axes=[] : f32[D, K]\n"
                                  "  %7 = mul %6, %5 : f32[D, K]\n"
                                  "  %8 = sub %W, %7 : f32[D, K]\n"
                                  "  update %W = %8\n"
                                  "  return %4\n"
                                  "}\n"
                                  "\n"
                                  "func @sq(%x: f32[N]) -> f32[N] rule @sq__rule {\n"
                                  "  %1 = mul %x, %x : f32[N]\n"
                                  "  return %1\n"
                                  "}\n"
                                  "\n"
                                  "func private @sq__rule(%x: f32[N], %d: f32[N]) -> f32[N] {\n"
                                  "  %2 = mul %d, %x : f32[N]\n"
                                  "  return %2\n"
                                  "}\n";

static void test_roundtrip_autodiff(void **state) {
  (void)state;
  roundtrip(autodiff_ir, true);
  IrModule *m = parse_ok(autodiff_ir);
  IrFunc *g = ir_find_func(m, "loss__value_and_grad"), *step = ir_find_func(m, "step"), *sq = ir_find_func(m, "sq");
  assert_int_equal(g->derive, DERIVE_VALUE_AND_GRAD);
  assert_ptr_equal(g->derive_of, ir_find_func(m, "loss"));
  assert_int_equal(g->wrt.w[0], 3);
  assert_false(g->built);
  assert_int_equal(step->nupdates, 1);
  assert_int_equal(step->update_param[0], 0);
  assert_true(step->params[0]->inout);
  assert_ptr_equal(sq->custom_vjp, ir_find_func(m, "sq__rule"));
  assert_int_equal(ir_verify(m, stderr, "parse"), 0);
  ir_module_free(m);
}

static void test_zero_results(void **state) {
  /* no results: it parses and prints, but ir_verify rejects it */
  IrModule *m = parse_ok("func @empty() -> () {\n  return\n}\n");
  char *p = print_module(m);
  assert_string_equal(p, "func @empty() -> () {\n  return\n}\n");
  MemOut o;
  mem_open(&o);
  assert_true(ir_verify(m, o.f, NULL) > 0);
  free(mem_close(&o));
  free(p);
  ir_module_free(m);
}

/* Hand-written input: comments, sparse and unordered ids, parens, spacing. */
static void test_noncanonical_input(void **state) {
  const char *text = "// after cse\n"
                     "# a comment line\n"
                     "func   @f( %x :f32[ (N) , D ] ,%y: f32[N,D])->(f32[N, D],f32[N, (N + 1)*(N - 1) ]) {  # trailing\n"
                     "  %100 = add %x,%y:f32[N,D]\n"
                     "  %7 = mul %100 , %x : f32[N, D] @m.tex:1:2   // comment\n"
                     "  %50 = sum %7, axes=[1], keepdims=false : f32[N]\n"
                     "  %2 = dimsize (N+1)*(N-1) : i64\n"
                     "  %3 = dimsize -(N) + 3 - 0*D : i64\n"
                     "  %4 = const -1e-3 : f64\n"
                     "  %5 = const 3 : f32\n"
                     "  %1 = neg %x : f32[N, D]\n"
                     "  %9 = broadcast %50, axes=[0] : f32[N, N*N - 1]\n"
                     "  return %7,%9\n"
                     "}\n";
  const char *want = "func @f(%x: f32[N, D], %y: f32[N, D]) -> (f32[N, D], f32[N, N*N - 1]) {\n"
                     "  %2 = add %x, %y : f32[N, D]\n"
                     "  %3 = mul %2, %x : f32[N, D] @m.tex:1:2\n"
                     "  %4 = sum %3, axes=[1] : f32[N]\n"
                     "  %5 = dimsize N*N - 1 : i64\n"
                     "  %6 = dimsize -N + 3 : i64\n"
                     "  %7 = const -0.001 : f64\n"
                     "  %8 = const 3.0 : f32\n"
                     "  %9 = neg %x : f32[N, D]\n"
                     "  %10 = broadcast %4, axes=[0] : f32[N, N*N - 1]\n"
                     "  return %3, %10\n"
                     "}\n";
  IrModule *m = parse_ok(text);
  char *p = print_module(m);
  assert_string_equal(p, want);
  free(p);
  ir_module_free(m);
  roundtrip(want, true);
}

static void test_empty_input(void **state) {
  IrModule *m = parse_ok("// nothing here\n\n  # at all\n");
  assert_int_equal(m->funcs.len, 0);
  ir_module_free(m);
  m = parse_ok("");
  assert_int_equal(m->funcs.len, 0);
  ir_module_free(m);
}

/* ---- dims ------------------------------------------------------------------------ */

static void expect_dim_text(DimTable *t, Dim d, const char *want) {
  char buf[128];
  int n = dim_snprint(t, d, buf, sizeof buf);
  assert_string_equal(buf, want);
  assert_int_equal(n, (int)strlen(want));
}

static void test_dims_hash_consing(void **state) {
  DimTable *t = dim_table_new();
  Dim n = dim_sym(t, "N"), d = dim_sym(t, "D"), one = dim_lit(t, 1);
  assert_ptr_equal(dim_add(t, n, one), dim_add(t, n, one));
  assert_ptr_equal(dim_add(t, n, one), dim_add(t, one, n));
  assert_ptr_equal(dim_sym(t, "N"), n);
  assert_ptr_equal(dim_mul(t, n, d), dim_mul(t, d, n));
  /* (N+1)*(N-1) == N*N - 1 */
  Dim lhs = dim_mul(t, dim_add(t, n, one), dim_sub(t, n, one));
  assert_ptr_equal(lhs, dim_sub(t, dim_mul(t, n, n), one));
  /* cancelling to literal 0 */
  Dim zero = dim_sub(t, dim_add(t, n, d), dim_add(t, d, n));
  int64_t v = -1;
  assert_ptr_equal(zero, dim_lit(t, 0));
  assert_true(dim_is_lit(zero, &v));
  assert_int_equal(v, 0);
  assert_int_equal(zero->nterms, 0);
  assert_ptr_equal(dim_mul(t, n, zero), zero);
  assert_ptr_equal(dim_sub(t, dim_add(t, n, dim_lit(t, 5)), n), dim_lit(t, 5));
  assert_true(dim_is_one(dim_sub(t, dim_add(t, n, one), n)));
  assert_int_equal(dim_as_sym(d), dim_symbol(t, "D"));
  assert_int_equal(dim_as_sym(dim_add(t, d, one)), -1);
  assert_int_equal(dim_as_sym(dim_mul(t, dim_lit(t, 2), d)), -1);
  assert_false(dim_is_lit(n, NULL));
  assert_int_equal(dim_nsymbols(t), 2);
  assert_string_equal(dim_symbol_name(t, 1), "D");
  dim_table_free(t);
}

static void test_dims_many(void **state) {
  /* enough distinct dims to grow the intern table several times */
  DimTable *t = dim_table_new();
  Dim n = dim_sym(t, "N");
  Dim first[1000];
  for (int i = 0; i < 1000; i++) first[i] = dim_add(t, dim_mul(t, dim_lit(t, i), n), dim_lit(t, i + 7));
  for (int i = 0; i < 1000; i++) assert_ptr_equal(first[i], dim_add(t, dim_lit(t, i + 7), dim_mul(t, n, dim_lit(t, i))));
  dim_table_free(t);
}

static void test_dims_print(void **state) {
  DimTable *t = dim_table_new();
  Dim n = dim_sym(t, "N"), d = dim_sym(t, "D"), one = dim_lit(t, 1), two = dim_lit(t, 2), three = dim_lit(t, 3);
  expect_dim_text(t, dim_add(t, dim_mul(t, n, d), one), "D*N + 1");
  expect_dim_text(t, dim_add(t, dim_mul(t, d, n), one), "D*N + 1"); /* factors in name order */
  expect_dim_text(t, dim_mul(t, two, n), "2*N");
  expect_dim_text(t, dim_sub(t, three, n), "-N + 3");
  expect_dim_text(t, dim_sub(t, n, one), "N - 1");
  expect_dim_text(t, dim_lit(t, 0), "0");
  expect_dim_text(t, dim_lit(t, -4), "-4");
  expect_dim_text(t, dim_mul(t, n, n), "N*N");
  expect_dim_text(t, dim_sub(t, dim_lit(t, 0), dim_mul(t, n, n)), "-N*N");
  expect_dim_text(t, dim_mul(t, dim_lit(t, -2), dim_mul(t, n, d)), "-2*D*N");
  expect_dim_text(t, dim_sub(t, dim_mul(t, n, n), dim_mul(t, three, d)), "N*N - 3*D");
  expect_dim_text(t, dim_add(t, n, d), "D + N");
  /* degree first: the literal goes last, the cubic first */
  expect_dim_text(t, dim_add(t, dim_add(t, one, d), dim_mul(t, n, dim_mul(t, n, d))), "D*N*N + D + 1");
  /* truncation: returns the full length, writes what fits */
  char small[4];
  assert_int_equal(dim_snprint(t, dim_add(t, dim_mul(t, n, d), one), small, sizeof small), 7);
  assert_string_equal(small, "D*N");
  dim_table_free(t);
}

static void test_dims_subst_eval(void **state) {
  DimTable *t = dim_table_new();
  Dim n = dim_sym(t, "N"), d = dim_sym(t, "D"), m = dim_sym(t, "M"), one = dim_lit(t, 1);
  Dim e = dim_add(t, dim_mul(t, n, d), one); /* N*D + 1 */
  Dim map[3] = {dim_mul(t, dim_lit(t, 2), m), NULL, NULL}; /* N -> 2*M, D kept */
  Dim want = dim_add(t, dim_mul(t, dim_lit(t, 2), dim_mul(t, m, d)), one);
  assert_ptr_equal(dim_subst(t, e, map), want);
  Dim map2[3] = {dim_add(t, m, one), dim_sub(t, m, one), NULL}; /* (M+1)*(M-1) + 1 == M*M */
  assert_ptr_equal(dim_subst(t, e, map2), dim_mul(t, m, m));
  Dim none[3] = {NULL, NULL, NULL};
  assert_ptr_equal(dim_subst(t, e, none), e);

  int64_t vals[3] = {3, 4, 0}, out = 0;
  assert_true(dim_eval(t, e, vals, &out));
  assert_int_equal(out, 13);
  assert_true(dim_eval(t, dim_sub(t, dim_lit(t, 3), n), vals, &out));
  assert_int_equal(out, 0);
  assert_true(dim_eval(t, dim_lit(t, 0), vals, &out));
  assert_int_equal(out, 0);
  int64_t big[3] = {(int64_t)1 << 32, (int64_t)1 << 32, 0};
  assert_false(dim_eval(t, dim_mul(t, n, d), big, &out)); /* mul overflow */
  int64_t edge[3] = {INT64_MAX, 1, 0};
  assert_false(dim_eval(t, dim_add(t, n, d), edge, &out)); /* add overflow */
  assert_true(dim_eval(t, n, edge, &out));
  assert_true(out == INT64_MAX);
  dim_table_free(t);
}

/* Floor division: exact, literal, or a derived symbol that is an atom of
 * the polynomials, never bound, substituted and evaluated through its
 * definition. */
static void test_dims_floordiv(void **state) {
  DimTable *t = dim_table_new();
  Dim n = dim_sym(t, "N"), m = dim_sym(t, "M"), one = dim_lit(t, 1);
  assert_ptr_equal(dim_floordiv(t, dim_lit(t, -7), 2), dim_lit(t, -4)); /* floor, as Python */
  assert_ptr_equal(dim_floordiv(t, dim_mul(t, dim_lit(t, 4), n), 2), dim_mul(t, dim_lit(t, 2), n)); /* exact */
  assert_ptr_equal(dim_floordiv(t, n, 1), n);
  Dim h = dim_floordiv(t, dim_add(t, n, one), 2);
  assert_ptr_equal(h, dim_floordiv(t, dim_add(t, one, n), 2)); /* hash-consed */
  assert_int_equal(dim_as_sym(h), -1);                             /* never bound by an argument */
  char buf[64];
  dim_snprint(t, dim_add(t, dim_mul(t, dim_lit(t, 2), h), one), buf, sizeof buf);
  assert_string_equal(buf, "2*((N + 1) // 2) + 1");
  Dim num;
  int64_t den;
  assert_true(dim_derived(t, dim_symbol(t, "((N + 1) // 2)"), &num, &den));
  assert_ptr_equal(num, dim_add(t, n, one));
  assert_int_equal(den, 2);
  int64_t vals[8] = {4, 0};
  int64_t out;
  assert_true(dim_eval(t, dim_mul(t, h, dim_lit(t, 3)), vals, &out));
  assert_int_equal(out, 6); /* (4 + 1) // 2 * 3 */
  Dim map[8] = {dim_mul(t, dim_lit(t, 2), m)};                 /* N -> 2*M */
  assert_ptr_equal(dim_subst(t, h, map), dim_floordiv(t, dim_add(t, dim_mul(t, dim_lit(t, 2), m), one), 2));
  Dim lit[8] = {dim_lit(t, 9)};
  assert_ptr_equal(dim_subst(t, h, lit), dim_lit(t, 5));
  dim_table_free(t);
}

/* ---- errors ------------------------------------------------------------------------ */

#define HEAD "func @f(%x: f32[N], %y: f32[N]) -> f32[N] {\n"

static void test_errors_basic(void **state) {
  expect_error(HEAD "  %2 = frob %x : f32[N]\n  return %2\n}\n", "bad.ir:2:8: error: unknown op 'frob'");
  expect_error(HEAD "  %2 = neg %7 : f32[N]\n  return %2\n}\n", "undefined value %7");
  expect_error(HEAD "  %2 = neg %z : f32[N]\n  return %2\n}\n", "undefined value %z");
  expect_error(HEAD "  %2 = neg %3 : f32[N]\n  %3 = neg %x : f32[N]\n  return %2\n}\n", "bad.ir:2:12: error: undefined value %3");
  expect_error(HEAD "  %2 = neg %2 : f32[N]\n  return %2\n}\n", "undefined value %2");
  expect_error(HEAD "  %2 = neg %x : f32[N]\n  %2 = neg %x : f32[N]\n  return %2\n}\n", "duplicate value %2");
  expect_error(HEAD "  %2 = neg %x : f16[N]\n  return %2\n}\n", "unknown dtype 'f16'");
  expect_error("func @f(%x: float) -> f32 {\n  return %x\n}\n", "unknown dtype 'float'");
  expect_error(HEAD "  %2 = neg %x : f32[N, +]\n  return %2\n}\n", "expected a dim, got '+'");
  expect_error(HEAD "  %2 = neg %x : f32[N $]\n  return %2\n}\n", "unexpected character '$'");
  expect_error(HEAD "  %2 = neg %x : f32[]\n  return %2\n}\n", "expected a dim, got ']'");
  expect_error(HEAD "  %2 = neg %x : f32[N\n  return %2\n}\n", "expected ']', got 'return'");
  expect_error(HEAD "  %2 = neg %x : f32[N]\n}\n", "missing 'return' in @f");
  expect_error(HEAD "  %2 = neg %x : f32[N]\n", "missing 'return' in @f");
  expect_error(HEAD "  %2 = neg %x : f32[N]\n  return %2\n", "unexpected end of file, expected '}'");
  expect_error(HEAD "  %2 = call @nope %x : f32[N]\n  return %2\n}\n", "bad.ir:2:13: error: unknown callee @nope");
  expect_error(HEAD "  %2 = add %x : f32[N]\n  return %2\n}\n", "'add' takes 2 operands, got 1");
  expect_error(HEAD "  %2 = neg %x, %y : f32[N]\n  return %2\n}\n", "'neg' takes 1 operand, got 2");
  expect_error(HEAD "  %2 = select %x, %y : f32[N]\n  return %2\n}\n", "'select' takes 3 operands, got 2");
  expect_error(HEAD "  %2 = const %x 1.0 : f32[N]\n  return %2\n}\n", "'const' takes 0 operands, got 1");
  expect_error(HEAD "  %2 = neg %x :", "unexpected end of file, expected a type");
  expect_error("func @f(%x: f32[N]) -> f3", "unknown dtype 'f3'");
  expect_error("func @f(%x", "unexpected end of file, expected ':'");
  expect_error("\x01\x02\xff garbage", "unexpected character 0x01, expected 'func'");
  expect_error(HEAD "  %2 = neg %x \xc3\xa9 : f32[N]\n  return %2\n}\n", "unexpected character 0xc3");
  expect_error("garbage", "expected 'func', got 'garbage'");
  expect_error("func f() -> f32 {}", "expected a function name like @f, got 'f'");
}

static void test_errors_attrs(void **state) {
  expect_error(HEAD "  %2 = const 1.5 : i32\n  return %x\n}\n", "bad constant '1.5' for i32");
  expect_error(HEAD "  %2 = const 3000000000 : i32\n  return %x\n}\n", "bad constant '3000000000' for i32");
  expect_error(HEAD "  %2 = const -2147483649 : i32\n  return %x\n}\n", "bad constant '-2147483649' for i32");
  expect_error(HEAD "  %2 = const 9223372036854775808 : i64\n  return %x\n}\n", "bad constant");
  expect_error(HEAD "  %2 = const true : f32\n  return %x\n}\n", "bad constant 'true' for f32");
  expect_error(HEAD "  %2 = const 1 : bool\n  return %x\n}\n", "bad constant '1' for bool");
  expect_error(HEAD "  %2 = const inf : i64\n  return %x\n}\n", "bad constant 'inf' for i64");
  expect_error(HEAD "  %2 = const -true : bool\n  return %x\n}\n", "expected a constant, got 'true'");
  expect_error(HEAD "  %2 = const : f32\n  return %x\n}\n", "expected a constant, got ':'");
  expect_error(HEAD "  %2 = sum %x : f32\n  return %x\n}\n", "expected ', axes=[...]'");
  expect_error(HEAD "  %2 = sum %x, axis=[0] : f32\n  return %x\n}\n", "expected 'axes', got 'axis'");
  expect_error(HEAD "  %2 = sum %x, axes=[0, 1, 2, 3, 4, 5, 6, 7, 8] : f32\n  return %x\n}\n", "more than 8 axes");
  expect_error(HEAD "  %2 = sum %x, axes=[0], keepdims=maybe : f32\n  return %x\n}\n", "expected 'true' or 'false'");
  expect_error(HEAD "  %2 = sum %x, axes=[99999999999] : f32\n  return %x\n}\n", "bad integer");
  expect_error(HEAD "  %2 = transpose %x, axes=[0], keepdims=true : f32[N]\n  return %x\n}\n", "expected ':', got ','");
  expect_error(HEAD "  %2 = add %x, %y, : f32[N]\n  return %2\n}\n", "expected an operand, got ':'");
  expect_error(HEAD "  %2 = dimsize : i64\n  return %x\n}\n", "expected a dim, got ':'");
  expect_error(HEAD "  %2 = param : f32\n  return %x\n}\n", "params are declared in the signature");
  expect_error(HEAD "  %2 = call %x : f32\n  return %x\n}\n", "expected a callee like @f");
  expect_error(HEAD "  %2 = neg %x : f32[N] @model.tex:4\n  return %2\n}\n", "bad location '@model.tex:4'");
  expect_error(HEAD "  %2 = neg %x : f32[N] @:4:5\n  return %2\n}\n", "bad location");
  expect_error(HEAD "  %2 = neg %x : f32[N] @a:b:5\n  return %2\n}\n", "bad location");
  expect_error(HEAD "  %2 = neg %x : f32[N] @a:1:9999999999\n  return %2\n}\n", "bad location");
}

static void test_errors_structure(void **state) {
  expect_error(HEAD "  return %x\n}\n\nfunc @f() -> f32 {\n  %0 = const 1.0 : f32\n  return %0\n}\n", "duplicate function @f");
  expect_error("func @f(%x: f32, %x: f32) -> f32 {\n  return %x\n}\n", "duplicate parameter %x");
  expect_error("func @f(%0: f32) -> f32 {\n  return %0\n}\n", "expected a parameter like %x");
  expect_error(HEAD "  %x = neg %x : f32[N]\n  return %x\n}\n", "expected a node id like %3");
  expect_error(HEAD "  return %x, %y\n}\n", "@f returns 2 values, its signature declares 1");
  expect_error(HEAD "  %2 = sum %x, axes=[0] : f32\n  return %2\n}\n", "result 0 is f32, the signature declares f32[N]");
  expect_error(HEAD "  return %x\n}\nfunc @g() -> f32 {\n  %0 = call @f!x : f32\n  return %0\n}\n", "bad callee name '@f!x'");
  expect_error("func @a:b() -> f32 {", "bad function name");
  expect_error("func @f() -> f32 {\n  %0 = const 1.0 : f32\n  retur %0\n}\n", "expected a node like '%3 = ...' or 'return'");
  expect_error("func @f() -> f32 {\n  %0 = const 1.0 : f32\n  return %0\nfunc @g() -> f32 {\n", "expected '}', got 'func'");
  expect_error("func @f() -> f32 {\n  %0 = const 1.0 : f32\nfunc @g() -> f32 {\n", "missing 'return' in @f");
  expect_error("func @f(%x: f32[A, B, C, D, E, F, G, H, I]) -> f32 {\n", "rank exceeds 8");
  expect_error("func @f(%x: f32[4611686018427387905]) -> f32 {\n", "bad integer");
  expect_error("func @f(%x: f32[99999999*99999999*9999]) -> f32 {\n", "dim expression too large");
  expect_error(
      "func @f(%x: f32[(A+B+C+D+E+F+G+H)*(A+B+C+D+E+F+G+H)*(A+B+C+D+E+F+G+H)*(A+B+C+D+E+F+G+H)*(A+B+C+D+E+F+G+H)*(A+B+C+D+E+F+G+H)]) -> "
      "f32 {\n",
      "dim expression too large");
  /* nesting and names beyond the bounds */
  char deep[400], name[600];
  memset(deep, '(', sizeof deep);
  memcpy(deep, "func @f(%x: f32[", 16);
  deep[sizeof deep - 1] = 0;
  expect_error(deep, "nested too deeply");
  memset(deep + 16, '-', sizeof deep - 17);
  expect_error(deep, "nested too deeply");
  memset(name, 'a', sizeof name);
  memcpy(name, "func @f(%x: f32[", 16);
  name[sizeof name - 1] = 0;
  expect_error(name, "token too long");
}

/* Parses (and verifies what parses) every prefix of base, and base with each
 * byte replaced by each of a few troublesome characters; returns how many of
 * those inputs parsed. */
static int fuzz_one(const char *base, FILE *sink) {
  static const char subst[] = {'%', '@', ':', ',', '(', '-', '*', '9', 'x', '[', '}', ' ', '\n', '#', (char)0xff};
  size_t len = strlen(base);
  char *buf = malloc(len + 1);
  int parsed = 0;
  for (size_t i = 0; i <= len; i++) {
    for (size_t s = 0; s <= sizeof subst; s++) {
      if (i == len && s < sizeof subst) continue;
      memcpy(buf, base, len + 1);
      buf[i] = s == sizeof subst ? 0 : subst[s]; /* 0: truncated at i */
      Diag d;
      diag_init(&d, sink);
      IrModule *m = ir_parse("fuzz.ir", buf, &d);
      assert_true((m != NULL) == (d.errors == 0));
      if (m) ir_verify(m, sink, NULL);
      parsed += m != NULL;
      ir_module_free(m);
    }
  }
  free(buf);
  return parsed;
}

/* No input crashes the parser (the suite also runs under ASan/UBSan). */
static void test_errors_fuzz(void **state) {
  FILE *sink = fopen("/dev/null", "w");
  assert_non_null(sink);
  const char *bases[] = {layout_ir, calls_ir, consts_ir, dims_ir};
  for (size_t k = 0; k < sizeof bases / sizeof bases[0]; k++) {
    int parsed = fuzz_one(bases[k], sink);
    assert_true(parsed > 0 && (size_t)parsed < 16 * strlen(bases[k]));
  }
  fclose(sink);
}

/* ---- loops (issue 10) ------------------------------------------------------------- */

/* Two states (used through proj), a captured value, a nested loop, a call
 * inside a body, a state passed through unchanged. */
static const char *const loop_ir =
    "func private @step(%h: f32[N], %w: f32[N]) -> f32[N] {\n"
    "  %2 = mul %h, %w : f32[N]\n"
    "  return %2\n"
    "}\n"
    "\n"
    "func @two(%a: f32[N], %k: i64) -> (f32[N], f32[N]) {\n"
    "  %2 = const 2.0 : f32\n"
    "  %3 = broadcast %2, axes=[] : f32[N]\n"
    "  %4 = mul %a, %3 : f32[N]\n"
    "  %5 = loop %k, %a, %4, %3, states=2 : f32[N] body(%t: i64, %p: f32[N], %q: f32[N], %c: f32[N]) {\n"
    "    %4 = const 3 : i64\n"
    "    %5 = loop %4, %p, %q, states=1 : f32[N] body(%u: i64, %s: f32[N], %q: f32[N]) {\n"
    "      %3 = add %s, %q : f32[N]\n"
    "      return %3\n"
    "    }\n"
    "    %6 = call @step %5, %c : f32[N]\n"
    "    return %6, %p\n"
    "  }\n"
    "  %6 = proj %5, index=0 : f32[N]\n"
    "  %7 = proj %5, index=1 : f32[N]\n"
    "  return %6, %7\n"
    "}\n";

static void expect_verify_problem(const char *text, const char *needle);

static void test_roundtrip_loop(void **state) {
  (void)state;
  roundtrip(loop_ir, true);
}

static void test_verify_rejects_loops(void **state) {
  (void)state;
  expect_verify_problem("func @f(%x: f32[N], %k: i32) -> f32[N] {\n"
                        "  %2 = loop %k, %x, states=1 : f32[N] body(%t: i64, %h: f32[N]) {\n    return %h\n  }\n  return %2\n}\n",
                        "the trip count is not an i64 scalar");
  expect_verify_problem("func @f(%x: f32[N], %y: f32[M], %k: i64) -> f32[N] {\n"
                        "  %3 = loop %k, %x, %y, states=1 : f32[N] body(%t: i64, %h: f32[N], %c: f32[N]) {\n    return %h\n  }\n"
                        "  return %3\n}\n",
                        "operand 2 differs from its body param");
  expect_verify_problem("func @f(%x: f32[N], %k: i64) -> f32[N] {\n"
                        "  %2 = loop %k, %x, states=1 : f32[N] body(%t: i64, %h: f32[N], %c: f32[N]) {\n    return %h\n  }\n  return %2\n}\n",
                        "malformed loop");
  expect_verify_problem("func @f(%x: f32[N], %k: i64) -> f32[N] {\n"
                        "  %2 = loop %k, %x, states=1 : f32[N] body(%t: i64, %h: f32[N]) {\n    return %h\n  }\n"
                        "  %3 = proj %2, index=0 : f32[N]\n  return %3\n}\n",
                        "proj 0 of a loop with 1 states");
}

/* ---- ifs (issue 10) --------------------------------------------------------------- */

/* Two values (used through proj), captures in an order of their own, an if
 * nested in a branch, a loop in a branch, a call inside a body. */
static const char *const if_ir =
    "func private @sq(%h: f32[N]) -> f32[N] {\n"
    "  %1 = mul %h, %h : f32[N]\n"
    "  return %1\n"
    "}\n"
    "\n"
    "func @two(%a: f32[N], %s: f32, %k: i64) -> (f32[N], f32) {\n"
    "  %3 = const 0.0 : f32\n"
    "  %4 = gt %s, %3 : bool\n"
    "  %5 = if %4, %s, %a, %k, values=2 : f32[N] then(%s: f32, %a: f32[N], %k: i64) {\n"
    "    %3 = call @sq %a : f32[N]\n"
    "    %4 = lt %s, %s : bool\n"
    "    %5 = if %4, %a, values=1 : f32[N] then(%a: f32[N]) {\n"
    "      return %a\n"
    "    } else(%a: f32[N]) {\n"
    "      %1 = neg %a : f32[N]\n"
    "      return %1\n"
    "    }\n"
    "    return %5, %s\n"
    "  } else(%s: f32, %a: f32[N], %k: i64) {\n"
    "    %3 = loop %k, %a, states=1 : f32[N] body(%t: i64, %h: f32[N]) {\n"
    "      %2 = add %h, %h : f32[N]\n"
    "      return %2\n"
    "    }\n"
    "    %4 = const 1.0 : f32\n"
    "    return %3, %4\n"
    "  }\n"
    "  %6 = proj %5, index=0 : f32[N]\n"
    "  %7 = proj %5, index=1 : f32\n"
    "  return %6, %7\n"
    "}\n";

static void test_roundtrip_if(void **state) {
  (void)state;
  roundtrip(if_ir, true);
}

static void test_verify_rejects_ifs(void **state) {
  (void)state;
  expect_verify_problem("func @f(%x: f32[N], %c: f32) -> f32[N] {\n"
                        "  %2 = if %c, %x, values=1 : f32[N] then(%x: f32[N]) {\n    return %x\n  } else(%x: f32[N]) {\n    return %x\n  }\n"
                        "  return %2\n}\n",
                        "the condition is not a bool scalar");
  expect_verify_problem("func @f(%x: f32[N], %c: bool[N]) -> f32[N] {\n"
                        "  %2 = if %c, %x, values=1 : f32[N] then(%x: f32[N]) {\n    return %x\n  } else(%x: f32[N]) {\n    return %x\n  }\n"
                        "  return %2\n}\n",
                        "the condition is not a bool scalar");
  expect_verify_problem("func @f(%x: f32[N], %y: f32[M], %c: bool) -> f32[N] {\n"
                        "  %3 = if %c, %x, values=1 : f32[N] then(%x: f32[N]) {\n    return %x\n  } else(%y: f32[M]) {\n"
                        "    %1 = sum %y, axes=[0] : f32\n    %2 = broadcast %1, axes=[] : f32[N]\n    return %2\n  }\n"
                        "  return %3\n}\n",
                        "operand 1 differs from its else param");
  expect_verify_problem("func @f(%x: f32[N], %c: bool) -> f32[N] {\n"
                        "  %2 = if %c, %x, values=1 : f32[N] then(%x: f32[N]) {\n    return %x\n  } else(%x: f32[N], %z: f32) {\n"
                        "    return %x\n  }\n  return %2\n}\n",
                        "the else body has 2 params for 1 captured values");
  expect_verify_problem("func @f(%x: f32[N], %c: bool) -> f32[N] {\n"
                        "  %2 = if %c, %x, values=1 : f32[N] then(%x: f32[N]) {\n    return %x\n  } else(%x: f32[N]) {\n    return %x\n  }\n"
                        "  %3 = proj %2, index=0 : f32[N]\n  return %3\n}\n",
                        "proj 0 of an if with 1 values");
}

/* ---- ir_verify on parseable but invalid modules ------------------------------------ */

static void expect_verify_problem(const char *text, const char *needle) {
  IrModule *m = parse_ok(text);
  MemOut o;
  mem_open(&o);
  int problems = ir_verify(m, o.f, "test");
  char *msg = mem_close(&o);
  if (getenv("TEST_VERBOSE")) printf("%s", msg);
  assert_true(problems > 0);
  if (!strstr(msg, needle)) fail_msg("verify output \"%s\" lacks \"%s\"", msg, needle);
  free(msg);
  ir_module_free(m);
}

static void test_verify_rejects(void **state) {
  expect_verify_problem("func @f(%x: f32[N], %y: f32[M]) -> f32[N] {\n  %2 = add %x, %y : f32[N]\n  return %2\n}\n",
                        "verify after test: @f %2 (add): operand shapes or attributes do not fit the op");
  expect_verify_problem("func @f(%x: f32[N], %y: f64[N]) -> f32[N] {\n  %2 = add %x, %y : f32[N]\n  return %2\n}\n",
                        "operand dtypes do not fit the op");
  expect_verify_problem("func @f(%x: f32[N]) -> f64[N] {\n  %1 = neg %x : f64[N]\n  return %1\n}\n", "dtype is f64, op gives f32");
  expect_verify_problem("func @f(%x: f32[N]) -> f32[M] {\n  %1 = neg %x : f32[M]\n  return %1\n}\n",
                        "shape differs from the one the op infers");
  expect_verify_problem("func @f(%x: bool[N]) -> bool[N] {\n  %1 = neg %x : bool[N]\n  return %1\n}\n", "operand dtypes do not fit the op");
  expect_verify_problem("func @f(%x: f32[N, K]) -> f32[N] {\n  %1 = sum %x, axes=[1, 0] : f32[N]\n  return %1\n}\n",
                        "operand shapes or attributes do not fit the op");
  expect_verify_problem("func @f(%x: f32[N, K]) -> f32[K, N] {\n  %1 = transpose %x, axes=[0, 0] : f32[K, N]\n  return %1\n}\n",
                        "operand shapes or attributes do not fit the op");
  expect_verify_problem("func @f(%x: f32[N, K]) -> f32 {\n  %1 = matmul %x, %x : f32\n  return %1\n}\n",
                        "operand shapes or attributes do not fit the op");
  expect_verify_problem("func @f(%x: f32[N]) -> f32[N] {\n  %1 = call @g %x, %x : f32[N]\n  return %1\n}\n"
                        "func @g(%a: f32[N]) -> f32[N] {\n  return %a\n}\n",
                        "2 operands for 1 params of @g");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_elementwise),
      cmocka_unit_test(test_roundtrip_consts),
      cmocka_unit_test(test_constants_bit_exact),
      cmocka_unit_test(test_roundtrip_dims),
      cmocka_unit_test(test_roundtrip_layout),
      cmocka_unit_test(test_calls_and_locations),
      cmocka_unit_test(test_zero_results),
      cmocka_unit_test(test_roundtrip_autodiff),
      cmocka_unit_test(test_noncanonical_input),
      cmocka_unit_test(test_empty_input),
      cmocka_unit_test(test_dims_hash_consing),
      cmocka_unit_test(test_dims_many),
      cmocka_unit_test(test_dims_print),
      cmocka_unit_test(test_dims_subst_eval),
      cmocka_unit_test(test_dims_floordiv),
      cmocka_unit_test(test_errors_basic),
      cmocka_unit_test(test_errors_attrs),
      cmocka_unit_test(test_errors_structure),
      cmocka_unit_test(test_errors_fuzz),
      cmocka_unit_test(test_verify_rejects),
      cmocka_unit_test(test_roundtrip_loop),
      cmocka_unit_test(test_verify_rejects_loops),
      cmocka_unit_test(test_roundtrip_if),
      cmocka_unit_test(test_verify_rejects_ifs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
