/* test_frontend.c — the lexer, the parser and sema, one layer at a time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "parser.h"

/* ---- helpers ---------------------------------------------------------------- */

typedef struct Captured {
  char *text;
  size_t len;
  FILE *f;
} Captured;

static void capture(Captured *c) {
  c->text = NULL;
  c->len = 0;
  c->f = open_memstream(&c->text, &c->len);
}

static char *release(Captured *c) {
  fclose(c->f);
  return c->text;
}

/* Lowers src; returns the printed IR (caller frees) and the diagnostics. */
static char *lower(const char *src, char **errors) {
  Diag d;
  Captured err, out;
  capture(&err);
  diag_init(&d, err.f);
  IrModule *m = fe_compile_text("t.tex", src, "t", &d);
  capture(&out);
  if (m) ir_print_module(out.f, m);
  if (m) assert_int_equal(ir_verify(m, stderr, "sema"), 0);
  ir_module_free(m);
  *errors = release(&err);
  return release(&out);
}

static void expect_ir(const char *src, const char *needle) {
  char *errors, *ir = lower(src, &errors);
  if (!strstr(ir, needle)) fail_msg("expected IR to contain\n  %s\ngot\n%s%s", needle, ir, errors);
  free(ir);
  free(errors);
}

static void expect_error(const char *src, const char *needle) {
  char *errors, *ir = lower(src, &errors);
  if (!strstr(errors, needle)) fail_msg("expected an error containing\n  %s\ngot\n%s", needle, errors);
  assert_string_equal(ir, "");
  free(ir);
  free(errors);
}

/* ---- lexer -------------------------------------------------------------- */

static void test_lexer_tokens(void **state) {
  (void)state;
  Arena a = {0};
  Diag d;
  diag_init(&d, stderr);
  Lexer lx;
  lexer_init(&lx, "t.tex", "fn f(x: f32[N, 3]) -> f32 { # comment\n let y = x ** 2.5e1 <= 1 }", &a, &d);
  int expected[] = {FN, IDENT, '(', IDENT, ':', DTYPE, '[', IDENT, ',', INT, ']', ')', ARROW, DTYPE, '{',
                    LET, IDENT, '=', IDENT, POW, FLOAT, LE, INT, '}', YYEOF};
  YYSTYPE v;
  YYLTYPE l;
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
    int tok = yylex(&v, &l, &lx);
    assert_int_equal(tok, expected[i]);
    if (tok == FLOAT) assert_true(v.fval == 25.0);
    if (tok == LET) assert_int_equal(l.first_line, 2), assert_int_equal(l.first_column, 2);
  }
  assert_int_equal(d.errors, 0);
  arena_free(&a);
}

static void test_lexer_errors(void **state) {
  (void)state;
  Arena a = {0};
  Diag d;
  Captured err;
  capture(&err);
  diag_init(&d, err.f);
  Lexer lx;
  lexer_init(&lx, "t.tex", "x $ 99999999999999999999", &a, &d);
  YYSTYPE v;
  YYLTYPE l;
  while (yylex(&v, &l, &lx) != YYEOF)
    ;
  assert_int_equal(d.errors, 2);
  char *text = release(&err);
  assert_non_null(strstr(text, "unexpected character '$'"));
  assert_non_null(strstr(text, "too large"));
  free(text);
  arena_free(&a);
}

/* ---- parser ------------------------------------------------------------- */

static char *parse_print(const char *src, int *errors) {
  Arena a = {0};
  Program p = {0};
  Diag d;
  Captured err, out;
  capture(&err);
  diag_init(&d, err.f);
  *errors = fe_parse(&p, "t.tex", src, &a, &d);
  capture(&out);
  ast_print(out.f, &p);
  free(release(&err));
  vec_free(&p.fns);
  arena_free(&a);
  return release(&out);
}

static void test_parser_precedence(void **state) {
  (void)state;
  int errors;
  char *s = parse_print("fn f(a: f32, b: f32) -> f32 {\n return -a ** 2 + b * a @ b > 1 and not a == b or a < b\n}", &errors);
  assert_int_equal(errors, 0);
  assert_non_null(strstr(s, "((((-(a ** 2)) + ((b * a) @ b)) > 1) and (not (a == b))) or (a < b))"));
  free(s);
  s = parse_print("fn f(a: f32) -> f32 { return a ** 2 ** 3 - 1 - 2 }", &errors);
  assert_non_null(strstr(s, "(((a ** (2 ** 3)) - 1) - 2)"));
  free(s);
}

static void test_parser_calls_and_types(void **state) {
  (void)state;
  int errors;
  char *s = parse_print("private fn g(x: f64[N, 3, K],) -> i64[] { return sum(x, axis=-1, keepdims=true,) }", &errors);
  /* `i64[]` is not a type: rank 0 is written as the bare dtype */
  assert_int_equal(errors, 1);
  free(s);
  s = parse_print("private fn g(x: f64[N, 3, K],) -> i64 { return i64(sum(x, axis=-1, keepdims=true,)) }", &errors);
  assert_int_equal(errors, 0);
  assert_non_null(strstr(s, "private fn g(x: f64[N, 3, K]) -> i64"));
  assert_non_null(strstr(s, "i64(sum(x, axis=(-1), keepdims=true))"));
  free(s);
}

static void test_parser_recovers(void **state) {
  (void)state;
  int errors;
  char *s = parse_print("fn f(x: f32) -> f32 {\n let y = (x +\n return x\n}\n"
                        "fn g(x: f32) -> f32 {\n y = 1\n return x\n}\n"
                        "fn h(x: f32) -> f32 { return x }\n",
                        &errors);
  assert_int_equal(errors, 2);
  assert_non_null(strstr(s, "fn h(x: f32) -> f32"));
  free(s);
}

/* ---- sema ----------------------------------------------------------------- */

static void test_sema_weak_literals(void **state) {
  (void)state;
  expect_ir("fn f(x: f64[N]) -> f64[N] { return x / 2.0 + 1 }", "const 2.0 : f64");
  expect_ir("fn f(x: f32[N]) -> f32[N] { return x * (1.0 / 3.0) }", "const 0.333333343 : f32");
  expect_ir("fn f(i: i32[N]) -> i32[N] { return i * 3 }", "const 3 : i32");
  expect_ir("fn f(x: f32) -> f32 { return x + 2 * 3 }", "const 6.0 : f32");
  expect_error("fn f(i: i32[N]) -> i32[N] { return i + 1.5 }", "float literal 1.5 cannot be used as i32");
  expect_error("fn f(i: i32) -> i32 { return i + 3000000000 }", "does not fit in i32");
}

static void test_sema_dtypes(void **state) {
  (void)state;
  expect_error("fn f(a: f32[N], b: f64[N]) -> f32[N] { return a + b }", "cannot mix f32[N] and f64[N]");
  expect_ir("fn f(a: f32[N], b: f64[N]) -> f64[N] { return f64(a) + b }", "cast %a : f64[N]");
  expect_error("fn f(i: i32[N]) -> i32[N] { return i / 2 }", "needs floating point");
  expect_error("fn f(c: bool[N]) -> bool[N] { return c + c }", "needs numbers");
  expect_ir("fn f(a: f32[N], b: f32[N]) -> bool[N] { return a < b and not (a == b) }", "and %");
  expect_error("fn f(a: f32[N]) -> f32[N] { return where(a, a, a) }", "needs a bool condition");
}

static void test_sema_broadcasting(void **state) {
  (void)state;
  expect_ir("fn f(x: f32[N, K], b: f32[K]) -> f32[N, K] { return x + b }", "broadcast %b, axes=[1] : f32[N, K]");
  expect_ir("fn f(x: f32[N, K], c: f32[N, 1]) -> f32[N, K] { return x * c }", "broadcast %c, axes=[0, 1] : f32[N, K]");
  expect_error("fn f(x: f32[N, 10], b: f32[784]) -> f32[N, 10] { return x + b }", "cannot broadcast f32[N, 10] with f32[784]");
  expect_error("fn f(x: f32[N], y: f32[M]) -> f32[N] { return x + y }", "cannot broadcast f32[N] with f32[M]");
}

static void test_sema_reductions(void **state) {
  (void)state;
  expect_ir("fn f(x: f32[N, K]) -> f32[N] { return sum(x, axis=-1) }", "sum %x, axes=[1] : f32[N]");
  expect_ir("fn f(x: f32[N, K]) -> f32[1, K] { return max(x, axis=0, keepdims=true) }", "reduce_max %x, axes=[0], keepdims=true");
  expect_ir("fn f(x: f32[N, K]) -> f32 { return mean(x) }", "dimsize K*N : f32");
  expect_error("fn f(x: f32[N, K]) -> f32[N] { return sum(x, axis=2) }", "axis 2 is out of range for f32[N, K]");
  expect_error("fn f(x: f32[N, K]) -> f32[N] { return sum(x, axes=1) }", "sum() has no argument named 'axes'");
  expect_error("fn f(x: i32[N]) -> i32 { return mean(x) }", "mean() needs floating point");
}

static void test_sema_matmul_and_calls(void **state) {
  (void)state;
  expect_ir("fn f(a: f32[M, K], b: f32[K, N]) -> f32[M, N] { return a @ b }", "matmul %a, %b : f32[M, N]");
  expect_ir("fn f(a: f32[M, K], v: f32[K]) -> f32[M] { return a @ v }", "matmul %a, %v : f32[M]");
  expect_error("fn f(a: f32[M, K], b: f32[N, K]) -> f32[M, N] { return a @ b }", "inner dims K and N differ");
  expect_ir("fn sq(x: f32[N]) -> f32[N] { return x * x }\nfn f(a: f32[3], b: f32[5]) -> f32 { return sum(sq(a)) + sum(sq(b)) }",
            "call @sq %b : f32[5]");
  expect_error("fn g(x: f32[N], y: f32[N]) -> f32[N] { return x + y }\nfn f(a: f32[3], b: f32[4]) -> f32[3] { return g(a, b) }",
               "N is 3 from dim 0 of 'x', but dim 0 is 4");
  expect_error("fn f(x: f32) -> f32 { return f(x) }", "calls itself");
  expect_error("fn f(x: f32[N]) -> f32[M] { return x }", "result dim 'M' does not appear");
  expect_error("fn f(x: f32[N]) -> f32 { return sum(y) }", "unknown name 'y'; did you mean 'x'?");
}

static void test_sema_reports_every_error(void **state) {
  (void)state;
  char *errors, *ir = lower("fn f(x: f32[N]) -> f32 { return sum(y) }\n"
                            "fn g(a: f32[N], b: f64[N]) -> f32[N] { return a + b }\n"
                            "fn h(x: f32[N]) -> f32[N] { return exp(x) + nope }\n",
                            &errors);
  int lines = 0;
  for (const char *p = errors; (p = strstr(p, ": error: ")); p++) lines++;
  assert_int_equal(lines, 3);
  free(ir);
  free(errors);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lexer_tokens),          cmocka_unit_test(test_lexer_errors),
      cmocka_unit_test(test_parser_precedence),     cmocka_unit_test(test_parser_calls_and_types),
      cmocka_unit_test(test_parser_recovers),       cmocka_unit_test(test_sema_weak_literals),
      cmocka_unit_test(test_sema_dtypes),           cmocka_unit_test(test_sema_broadcasting),
      cmocka_unit_test(test_sema_reductions),       cmocka_unit_test(test_sema_matmul_and_calls),
      cmocka_unit_test(test_sema_reports_every_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
