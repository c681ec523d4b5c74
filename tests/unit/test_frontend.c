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
#include "passes.h"

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

/* Lowers src, which must have no errors; the caller frees the module. */
static IrModule *compile_ok(const char *src) {
  Diag d;
  Captured err;
  capture(&err);
  diag_init(&d, err.f);
  IrModule *m = fe_compile_text("t.tex", src, "t", &d);
  char *errors = release(&err);
  if (!m) fail_msg("expected no errors, got\n%s", errors);
  free(errors);
  assert_int_equal(ir_verify(m, stderr, "sema"), 0);
  return m;
}

static IrFunc *func(IrModule *m, const char *name) {
  IrFunc *f = ir_find_func(m, name);
  if (!f) fail_msg("no function @%s", name);
  return f;
}

/* The nth node (from 0) of op in f's body. */
static IrNode *nth_op(IrFunc *f, Op op, int nth) {
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    if (n->op == op && nth-- == 0) return n;
  }
  fail_msg("@%s has no %s #%d", f->name, op_info[op].name, nth);
  return NULL;
}

static int count_op(const IrFunc *f, Op op) {
  int k = 0;
  for (int i = 0; i < f->body.len; i++) k += ((IrNode *)f->body.items[i])->op == op;
  return k;
}

/* The ops of f's body, without params and constants: "exp sub ...". */
static char *op_sequence(const IrFunc *f) {
  Captured out;
  capture(&out);
  for (int i = 0; i < f->body.len; i++) {
    const IrNode *n = f->body.items[i];
    if (n->op != OP_PARAM && n->op != OP_CONST) fprintf(out.f, "%s ", op_info[n->op].name);
  }
  return release(&out);
}

static void assert_shape(IrModule *m, const IrNode *n, const char *want) {
  char buf[256];
  ir_type_snprint(m, n->dtype, n->rank, n->shape, buf, sizeof buf);
  assert_string_equal(buf, want);
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
  vec_free(&p.imports);
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


static void test_lexer_keywords(void **state) {
  (void)state;
  Arena a = {0};
  Diag d;
  diag_init(&d, stderr);
  Lexer lx;
  lexer_init(&lx, "t.tex", "grad inout update gradient updates _ inouts", &a, &d);
  int expected[] = {GRAD, INOUT, UPDATE, IDENT, IDENT, IDENT, IDENT, YYEOF};
  YYSTYPE v;
  YYLTYPE l;
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) assert_int_equal(yylex(&v, &l, &lx), expected[i]);
  arena_free(&a);
}

static void test_parser_new_syntax(void **state) {
  (void)state;
  int errors;
  char *s = parse_print("fn f(W: inout f32[D, K], x: f32[N, D]) -> (f32, f32[N, K]) {\n"
                        " let (a, _) = g(x)\n update W = W - 1.0\n return a, x @ W\n}\n"
                        "grad f(W: f32[D, K], x: f32[N, D], d: f32) -> f32 { return grad(h, x, wrt=(u, v)) }\n",
                        &errors);
  assert_int_equal(errors, 0);
  assert_non_null(strstr(s, "fn f(W: inout f32[D, K], x: f32[N, D]) -> (f32, f32[N, K]) {"));
  assert_non_null(strstr(s, "  let (a, _) = g(x)\n  update W = (W - 1)\n  return a, (x @ W)\n"));
  assert_non_null(strstr(s, "grad f(W: f32[D, K], x: f32[N, D], d: f32) -> f32 {\n  return grad(h, x, wrt=(u, v))"));
  free(s);
  s = parse_print("fn f(x: f32) -> f32 { return (x) }", &errors); /* parentheses alone make no tuple */
  assert_int_equal(errors, 0);
  assert_non_null(strstr(s, "return x\n"));
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


/* ---- sema: several results, let patterns ----------------------------------- */

static const char stats_src[] = "fn stats(x: f32[N]) -> (f32, f32[N]) {\n let m = mean(x)\n return m, x - m\n}\n";

static void test_sema_multiple_results(void **state) {
  (void)state;
  char src[1024];
  snprintf(src, sizeof src, "%s%s", stats_src,
           "fn use(x: f32[5]) -> f32 {\n let (m, c) = stats(x)\n let (_, d) = stats(c)\n return m + sum(d)\n}\n"
           "fn pass(x: f32[N]) -> (f32, f32[N]) { return stats(x) }\n");
  IrModule *m = compile_ok(src);
  IrFunc *stats = func(m, "stats"), *use = func(m, "use"), *pass = func(m, "pass");
  assert_int_equal(stats->nresults, 2);
  assert_string_equal(stats->result_names[1], "out1");
  IrNode *call = nth_op(use, OP_CALL, 0);
  assert_ptr_equal(call->attr.callee, stats);
  assert_shape(m, call, "f32"); /* typed as result 0 */
  IrNode *p0 = nth_op(use, OP_PROJ, 0), *p1 = nth_op(use, OP_PROJ, 1);
  assert_ptr_equal(p0->args[0], call);
  assert_int_equal(p0->attr.i, 0);
  assert_int_equal(p1->attr.i, 1);
  assert_shape(m, p1, "f32[5]"); /* N substituted by the call's dim */
  assert_int_equal(count_op(use, OP_PROJ), 4); /* `_` still projects; DCE drops it */
  assert_ptr_equal(nth_op(use, OP_CALL, 1)->args[0], p1);
  assert_int_equal(pass->nresults, 2);
  assert_ptr_equal(pass->results[0], nth_op(pass, OP_PROJ, 0));
  assert_ptr_equal(pass->results[1], nth_op(pass, OP_PROJ, 1));
  ir_module_free(m);
}

static void test_sema_tuple_errors(void **state) {
  (void)state;
  char src[1024];
  snprintf(src, sizeof src, "%sfn f(x: f32[N]) -> f32[N] { return stats(x) * 2.0 }", stats_src);
  expect_error(src, "stats() returns 2 values; bind them with let (a, b) = stats(...)");
  snprintf(src, sizeof src, "%sfn f(x: f32[N]) -> f32 {\n let (a, b, c) = stats(x)\n return a\n}", stats_src);
  expect_error(src, "let binds 3 names, but stats() returns 2 values");
  snprintf(src, sizeof src, "%sfn f(x: f32[N]) -> f32 { return stats(x) }", stats_src);
  expect_error(src, "f() declares 1 result, but stats() returns 2 values");
  expect_error("fn f(x: f32[N]) -> (f32, f32) { return sum(x) }", "f() declares 2 results, but this return gives 1");
  expect_error("fn f(x: f32[N]) -> (f32, f32[N]) { return sum(x), sum(x) }", "result 2 of f() is f32, but its declared type is f32[N]");
  expect_error("fn f(x: f32[N]) -> f32 {\n let (a, b) = sum(x)\n return a\n}", "let binds 2 names, but there is one value (f32)");
  expect_error("fn f(x: f32[N]) -> f32[N] { return (x, x) }", "a list in parentheses is not a value");
}

/* ---- sema: inout and update ------------------------------------------------ */

static void test_sema_inout_update(void **state) {
  (void)state;
  IrModule *m = compile_ok("fn step(x: f32[N, D], W: inout f32[D, K], lr: f32, b: inout f32[K]) -> (f32, f32[N, K]) {\n"
                           " let y = x @ W + b\n update W = W - lr\n update W = W * 0.5\n update b = b + 1.0\n"
                           " return sum(y), y\n}\n");
  IrFunc *f = func(m, "step");
  assert_true(f->params[1]->inout && f->params[3]->inout);
  assert_false(f->params[0]->inout || f->params[2]->inout);
  assert_int_equal(f->nresults, 4); /* declared results, then W and b */
  assert_int_equal(f->nupdates, 2);
  assert_int_equal(f->update_param[0], 1);
  assert_int_equal(f->update_param[1], 3);
  assert_int_equal(f->results[2]->op, OP_MUL); /* the last update of W is written back */
  assert_ptr_equal(f->results[2]->args[0], nth_op(f, OP_SUB, 0)); /* W after the first update */
  assert_int_equal(f->results[3]->op, OP_ADD);
  assert_string_equal(f->result_names[0], "out0");
  ir_module_free(m);
  m = compile_ok("fn step(W: inout f32) -> f32 {\n update W = 2.0\n return W\n}");
  f = func(m, "step");
  assert_int_equal(f->results[1]->op, OP_CONST); /* a weak literal takes the param's type */
  assert_ptr_equal(f->results[0], f->results[1]); /* after the update, W is the new value */
  assert_string_equal(f->result_names[0], "out");
  ir_module_free(m);
}

static void test_sema_inout_errors(void **state) {
  (void)state;
  expect_error("fn f(W: inout f32[N], x: f32[N]) -> f32 { return sum(x) }", "inout parameter 'W' is never updated; drop inout");
  expect_error("fn f(W: f32[N]) -> f32 {\n update W = W\n return sum(W)\n}", "'W' is not inout; declare it as W: inout f32[N]");
  expect_error("fn f(W: inout f32[N]) -> f32 {\n let y = W\n update y = W\n update W = W\n return sum(W)\n}", "'y' is not a parameter");
  expect_error("fn f(W: inout f32[N]) -> f32 {\n update W = sum(W)\n return sum(W)\n}",
               "the new value of 'W' is f32, but 'W' is f32[N]; an update keeps the parameter's type");
  expect_error("fn f(W: inout f32[N]) -> f32 {\n update W = W\n return sum(W)\n}\nfn g(W: f32[N]) -> f32 { return f(W) }",
               "cannot call f() from another function: it updates 'W' in place (inout)");
  expect_error("fn f(W: inout f32[N]) -> f32 {\n update W = W\n return sum(W)\n}\nfn g(W: f32[N]) -> f32[N] { return grad(f, W) }",
               "cannot differentiate f(): it updates 'W' in place (inout)");
  expect_error("fn f(W: inout f32) -> f32 {\n update W = W\n return W\n}\ngrad f(W: f32, d: f32) -> f32 { return d }",
               "cannot write a grad rule for f(): it updates 'W' in place (inout)");
}

/* ---- sema: grad rules ------------------------------------------------------ */

static const char softplus_src[] = "fn softplus2(x: f32[N]) -> f32[N] { return log(1.0 + exp(x)) }\n";

static void test_sema_custom_rule(void **state) {
  (void)state;
  char src[1024];
  snprintf(src, sizeof src, "%sgrad softplus2(x: f32[N], dy: f32[N]) -> f32[N] { return dy * sigmoid(x) }\n"
                            "fn scale(x: f32[N], k: i32, s: f32) -> (f32[N], i32) { return x * s, k }\n"
                            "grad scale(x: f32[N], k: i32, s: f32, d: f32[N]) -> (f32[N], f32) { return d * s, sum(d * x) }\n",
           softplus_src);
  IrModule *m = compile_ok(src);
  IrFunc *f = func(m, "softplus2"), *rule = func(m, "softplus2__rule");
  assert_ptr_equal(f->custom_vjp, rule);
  assert_true(f->exported);
  assert_false(rule->exported);
  assert_int_equal(rule->nparams, 2);
  assert_int_equal(rule->nresults, 1);
  assert_int_equal(rule->derive, DERIVE_NONE);
  assert_ptr_equal(func(m, "scale")->custom_vjp, func(m, "scale__rule"));
  assert_int_equal(func(m, "scale__rule")->nresults, 2);
  ir_module_free(m);
}

static void test_sema_custom_rule_errors(void **state) {
  (void)state;
  char src[1024];
  expect_error("grad nope(x: f32, d: f32) -> f32 { return d }", "grad rule for unknown function 'nope'");
  snprintf(src, sizeof src, "%sgrad softplus2(x: inout f32[N], d: f32[N]) -> f32[N] { return d }", softplus_src);
  expect_error(src, "a grad rule's parameters cannot be inout");
  snprintf(src, sizeof src, "%sgrad softplus2(x: f32[N], d: f32[N]) -> f32[N] { return d }\ngrad softplus2(x: f32[N], d: f32[N]) -> f32[N] { return d }",
           softplus_src);
  expect_error(src, "softplus2() already has a grad rule");
  snprintf(src, sizeof src, "%sgrad softplus2(x: f32[N]) -> f32[N] { return x }", softplus_src);
  expect_error(src, "must take the 1 parameter of softplus2(), then 1 cotangent");
  snprintf(src, sizeof src, "%sgrad softplus2(y: f32[N], d: f32[N]) -> f32[N] { return d }", softplus_src);
  expect_error(src, "parameter 1 of the grad rule for softplus2() must be 'x: f32[N]', as in softplus2(); got 'y: f32[N]'");
  snprintf(src, sizeof src, "%sgrad softplus2(x: f32[N], d: f64[N]) -> f32[N] { return x }", softplus_src);
  expect_error(src, "is the cotangent of the result of softplus2(), so it must be f32[N]; got f64[N]");
  snprintf(src, sizeof src, "%sgrad softplus2(x: f32[N], d: f32[N]) -> f32 { return sum(d) }", softplus_src);
  expect_error(src, "result 1 of the grad rule for softplus2() is the cotangent of 'x', so it must be f32[N]; got f32");
  snprintf(src, sizeof src, "%sgrad softplus2(x: f32[N], d: f32[N]) -> (f32[N], f32[N]) { return d, d }", softplus_src);
  expect_error(src, "must return 1 cotangent, one per floating-point parameter of softplus2() (x); it declares 2");
  /* the note points at the function */
  char *errors, *ir = lower(src, &errors);
  assert_non_null(strstr(errors, "t.tex:1:4: note: softplus2() is defined here"));
  free(ir);
  free(errors);
}

/* ---- sema: grad, value_and_grad, vjp, jvp ------------------------------------ */

static const char loss_src[] = "fn loss(w: f32[D], k: i32, b: f32, x: f32[N, D]) -> f32 { return mean(x @ w + b) * f32(k) }\n"
                               "fn pred(w: f32[D], x: f32[N, D]) -> (f32[N], i32, f32) { return x @ w, 1, sum(w) }\n";

/* The derived function called by the nth call of fn. */
static IrFunc *derived_callee(IrModule *m, const char *fn, int nth, DeriveKind kind, const char *of, uint64_t wrt) {
  IrFunc *g = nth_op(func(m, fn), OP_CALL, nth)->attr.callee;
  assert_int_equal(g->derive, kind);
  assert_ptr_equal(g->derive_of, func(m, of));
  assert_int_equal(g->wrt.w[0], wrt); /* the test's sets fit in the first word */
  for (int i = 1; i < IR_MAX_PARAMS / 64; i++) assert_int_equal(g->wrt.w[i], 0);
  assert_false(g->built);
  return g;
}

static void test_sema_derive_builtins(void **state) {
  (void)state;
  char src[2048];
  snprintf(src, sizeof src, "%s%s", loss_src,
           "fn g(w: f32[D], k: i32, b: f32, x: f32[N, D]) -> f32[D] {\n"
           " let (dw, db, dx) = grad(loss, w, k, b, x)\n let gw = grad(loss, w, k, b, x, wrt=w)\n"
           " let (v, gw2, gb) = value_and_grad(loss, w, k, b, x, wrt=(w, b))\n"
           " let (cw, cx) = vjp(pred, w, x, x @ w, 2.0)\n"
           " let (t0, t1) = jvp(pred, w, x, w, wrt=w)\n"
           " return dw + gw + gw2 * v + cw + sum(cx) * sum(t0) * t1 * gb * db * sum(dx)\n}\n");
  IrModule *m = compile_ok(src);
  /* default wrt: the float params w, b, x (bits 0, 2, 3) */
  assert_string_equal(derived_callee(m, "g", 0, DERIVE_GRAD, "loss", 0xd)->name, "loss__grad");
  IrFunc *gw = derived_callee(m, "g", 1, DERIVE_GRAD, "loss", 0x1);
  assert_int_equal(gw->nresults, 1);
  assert_int_equal(nth_op(func(m, "g"), OP_CALL, 1)->rank, 1); /* one gradient: no tuple */
  IrFunc *vg = derived_callee(m, "g", 2, DERIVE_VALUE_AND_GRAD, "loss", 0x5);
  assert_int_equal(vg->nresults, 3); /* value, then d_w, d_b in parameter order */
  IrFunc *vjp = derived_callee(m, "g", 3, DERIVE_VJP_CT, "pred", 0x3);
  assert_int_equal(vjp->nparams, 4); /* w, x, then cotangents of the two float results */
  IrFunc *jvp = derived_callee(m, "g", 4, DERIVE_JVP, "pred", 0x1);
  assert_int_equal(jvp->nparams, 3);
  assert_int_equal(jvp->nresults, 2); /* tangents of the float results */
  /* the projections of vjp(...) carry the call's dims */
  IrNode *cx = nth_op(func(m, "g"), OP_PROJ, 7); /* after grad's 3 and value_and_grad's 3 */
  assert_int_equal(cx->attr.i, 1);
  assert_shape(m, cx, "f32[N, D]");
  ir_module_free(m);
}

/* Runs the whole pipeline with the verifier: derived functions get built. */
static void expect_pipeline_ok(const char *src) {
  IrModule *m = compile_ok(src);
  PassOptions o = {.opt_level = 2, .verify = true};
  assert_int_equal(pass_run_pipeline(m, &o), 0);
  ir_module_free(m);
}

static void test_sema_derive_nesting(void **state) {
  (void)state;
  /* higher order: the gradient of a function that calls grad */
  expect_pipeline_ok("private fn f(x: f32[N]) -> f32 { return sum(x * x * x) }\n"
                     "private fn g(x: f32[N]) -> f32 { return sum(grad(f, x)) }\n"
                     "fn h(x: f32[N]) -> f32[N] { return grad(g, x) }\n");
  /* Hessian-vector product: jvp of a function that calls grad */
  expect_pipeline_ok("private fn loss(W: f32[D, K], x: f32[N, D]) -> f32 { return mean(logsumexp(x @ W, axis=1)) }\n"
                     "private fn gl(W: f32[D, K], x: f32[N, D]) -> f32[D, K] { return grad(loss, W, x, wrt=W) }\n"
                     "fn hvp(W: f32[D, K], x: f32[N, D], v: f32[D, K]) -> f32[D, K] { return jvp(gl, W, x, v, wrt=W) }\n");
  /* a user rule, a training step with value_and_grad and update */
  char src[1024];
  snprintf(src, sizeof src, "%s%s", softplus_src,
           "grad softplus2(x: f32[N], dy: f32[N]) -> f32[N] { return dy * sigmoid(x) }\n"
           "private fn l(w: f32[D], x: f32[N, D]) -> f32 { return mean(softplus2(x @ w)) }\n"
           "fn step(w: inout f32[D], x: f32[N, D]) -> f32 {\n let (v, g) = value_and_grad(l, w, x, wrt=w)\n update w = w - 0.1 * g\n return v\n}\n");
  expect_pipeline_ok(src);
}

static void test_sema_derive_errors(void **state) {
  (void)state;
  char src[2048];
  snprintf(src, sizeof src, "%sfn g(x: f32[N, D], w: f32[D]) -> f32[N] { return grad(pred, w, x) }", loss_src);
  expect_error(src, "grad() needs one scalar floating-point result; pred() returns 3 values: use vjp()");
  expect_error("fn l(x: f32[N]) -> f32[N] { return x }\nfn g(x: f32[N]) -> f32[N] { return grad(l, x) }",
               "grad() needs one scalar floating-point result; l() returns f32[N]: use vjp()");
  snprintf(src, sizeof src, "%sfn g(w: f32[D], k: i32, b: f32, x: f32[N, D]) -> f32[D] { return grad(loss, w, k, b, x, wrt=k) }", loss_src);
  expect_error(src, "cannot differentiate with respect to 'k': it is i32; only floating-point parameters have gradients");
  snprintf(src, sizeof src, "%sfn g(w: f32[D], k: i32, b: f32, x: f32[N, D]) -> f32[D] { return grad(loss, w, k, b, x, wrt=ww) }", loss_src);
  expect_error(src, "loss() has no parameter 'ww'; did you mean 'w'?");
  snprintf(src, sizeof src, "%sfn g(w: f32[D], k: i32, b: f32, x: f32[N, D]) -> f32[D] {\n let (a, c) = grad(loss, w, k, b, x, wrt=(b, w))\n return c\n}", loss_src);
  expect_error(src, "wrt= lists 'w' after 'b', but loss() declares it first");
  snprintf(src, sizeof src, "%sfn g(w: f32[D], k: i32, b: f32, x: f32[N, D]) -> f32[D] { return grad(w, k, b, x) }", loss_src);
  expect_error(src, "'w' is a value, not a function");
  snprintf(src, sizeof src, "%sfn g(w: f32[D], k: i32, b: f32, x: f32[N, D]) -> f32[D] { return grad(loss, w, k, b) }", loss_src);
  expect_error(src, "grad(loss) takes the 4 arguments of loss(), got 3");
  snprintf(src, sizeof src, "%sfn g(w: f32[D], x: f32[N, D]) -> f32[D] { return vjp(pred, w, x, x @ w) }", loss_src);
  expect_error(src, "vjp(pred) takes the 2 arguments of pred(), then 2 cotangents (one per floating-point result); got 3 arguments");
  snprintf(src, sizeof src, "%sfn g(w: f32[D], x: f32[N, D]) -> f32[D] { return jvp(pred, w, x, wrt=w) }", loss_src);
  expect_error(src, "jvp(pred) takes the 2 arguments of pred(), then 1 tangent (one per wrt parameter); got 2 arguments");
  snprintf(src, sizeof src, "%sfn g(w: f32[D], k: i32, b: f32, x: f32[N, K]) -> f32[D] { return grad(loss, w, k, b, x, wrt=w) }", loss_src);
  expect_error(src, "argument 'x' of grad(loss) is f32[N, K], which does not fit loss(x: f32[N, D])");
  snprintf(src, sizeof src, "%sfn g(w: f32[D], k: i32, b: f32, x: f32[N, D]) -> f32[D] { return grad(loss, w, k, b, x, wrt=w, axis=1) }", loss_src);
  expect_error(src, "grad() has no argument named 'axis'");
  expect_error("fn f(x: f32[N]) -> f32 { return sum(grad(f, x)) }", "f() calls itself through grad(f)");
  expect_error("fn f(k: i32) -> f32 { return 1.0 }\nfn g(k: i32) -> i32 { return grad(f, k) }",
               "f() has no floating-point parameter to differentiate with respect to");
}

/* ---- sema: stable builtins ---------------------------------------------------- */

static void test_sema_stable_builtins(void **state) {
  (void)state;
  IrModule *m = compile_ok("fn a(x: f32[N, K]) -> f32[N] { return logsumexp(x, axis=1) }\n"
                           "fn b(x: f32[N, K]) -> f32[N, 1] { return logsumexp(x, axis=-1, keepdims=true) }\n"
                           "fn c(x: f64[N, K]) -> f64 { return logsumexp(x) }\n"
                           "fn d(x: f32[N, K]) -> f32[N, K] { return log_softmax(x) }\n"
                           "fn e(x: f32[N, K]) -> f32[N, K] { return softmax(x, axis=0) }\n"
                           "fn s(x: f32) -> f32 { return logsumexp(x) }\n");
  const char *lse = "reduce_max stop_gradient broadcast sub exp sum log add ";
  char want[256];
  snprintf(want, sizeof want, "%ssum ", lse); /* the kept axis dropped by an exact sum */
  char *seq = op_sequence(func(m, "a"));
  assert_string_equal(seq, want);
  free(seq);
  IrNode *max = nth_op(func(m, "a"), OP_RMAX, 0);
  assert_true(max->attr.keepdims);
  assert_int_equal(max->attr.axes[0], 1);
  assert_shape(m, func(m, "a")->results[0], "f32[N]");
  seq = op_sequence(func(m, "b"));
  assert_string_equal(seq, lse);
  free(seq);
  assert_int_equal(nth_op(func(m, "c"), OP_RMAX, 0)->attr.naxes, 2); /* every axis */
  assert_shape(m, func(m, "c")->results[0], "f64");
  snprintf(want, sizeof want, "%sbroadcast sub ", lse);
  seq = op_sequence(func(m, "d"));
  assert_string_equal(seq, want);
  free(seq);
  assert_int_equal(nth_op(func(m, "d"), OP_RMAX, 0)->attr.axes[0], 1); /* default axis=-1 */
  seq = op_sequence(func(m, "e"));
  assert_string_equal(seq, "reduce_max stop_gradient broadcast sub exp sum broadcast div ");
  free(seq);
  assert_int_equal(nth_op(func(m, "e"), OP_SUM, 0)->attr.axes[0], 0);
  assert_ptr_equal(func(m, "s")->results[0], func(m, "s")->params[0]);
  ir_module_free(m);
  expect_error("fn f(x: i32[N]) -> f32 { return logsumexp(x) }", "logsumexp() needs floating point, got i32[N]");
  expect_error("fn f(x: f32[N]) -> f32[N] { return softmax(x, keepdims=true) }", "softmax() keeps the shape of its argument");
  expect_error("fn f(x: f32) -> f32 { return softmax(x) }", "axis -1 is out of range for f32 (rank 0)");
  expect_error("fn softmax(x: f32) -> f32 { return x }", "'softmax' is a builtin");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lexer_tokens),          cmocka_unit_test(test_lexer_errors),
      cmocka_unit_test(test_parser_precedence),     cmocka_unit_test(test_parser_calls_and_types),
      cmocka_unit_test(test_parser_recovers),       cmocka_unit_test(test_sema_weak_literals),
      cmocka_unit_test(test_sema_dtypes),           cmocka_unit_test(test_sema_broadcasting),
      cmocka_unit_test(test_sema_reductions),       cmocka_unit_test(test_sema_matmul_and_calls),
      cmocka_unit_test(test_sema_reports_every_error),
      cmocka_unit_test(test_lexer_keywords),        cmocka_unit_test(test_parser_new_syntax),
      cmocka_unit_test(test_sema_multiple_results), cmocka_unit_test(test_sema_tuple_errors),
      cmocka_unit_test(test_sema_inout_update),     cmocka_unit_test(test_sema_inout_errors),
      cmocka_unit_test(test_sema_custom_rule),      cmocka_unit_test(test_sema_custom_rule_errors),
      cmocka_unit_test(test_sema_derive_builtins),  cmocka_unit_test(test_sema_derive_nesting),
      cmocka_unit_test(test_sema_derive_errors),    cmocka_unit_test(test_sema_stable_builtins),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
