/* test_passes.c — each pass on IR built from source, and kernel formation.
 * (Golden IR-in/IR-out tests live in tests/passes/.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "passes.h"

static IrModule *compile(const char *src) {
  Diag d;
  diag_init(&d, stderr);
  IrModule *m = fe_compile_text("t.tex", src, "t", &d);
  assert_non_null(m);
  return m;
}

static char *print(IrModule *m) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  ir_print_module(f, m);
  fclose(f);
  return text;
}

static int count_op(IrFunc *f, Op op) {
  int n = 0;
  for (int i = 0; i < f->body.len; i++) n += ((IrNode *)f->body.items[i])->op == op;
  return n;
}

static IrFunc *func(IrModule *m, const char *name) {
  IrFunc *f = ir_find_func(m, name);
  assert_non_null(f);
  return f;
}

/* ---- constfold ----------------------------------------------------------------- */

static double fold2(Op op, DType t, double a, double b) {
  double f[3] = {a, b, 0}, out = 0;
  int64_t i[3] = {0}, oi = 0;
  assert_true(fold_scalar(op, t, t, 2, f, i, &out, &oi));
  return out;
}

static void test_fold_float_semantics(void **state) {
  (void)state;
  assert_true(fold2(OP_ADD, DT_F32, 1.0, 1e-8) == 1.0);           /* rounded in f32 */
  assert_true(fold2(OP_ADD, DT_F64, 1.0, 1e-8) == 1.0 + 1e-8);
  assert_true(fold2(OP_DIV, DT_F32, 1.0, 3.0) == (double)(1.0f / 3.0f));
  assert_true(isnan(fold2(OP_MAX, DT_F32, NAN, 1.0)));             /* NaN propagates */
  assert_true(isnan(fold2(OP_MIN, DT_F64, 1.0, NAN)));
  assert_false(signbit(fold2(OP_MAX, DT_F32, -0.0, 0.0)));         /* -0 < +0 */
  assert_true(signbit(fold2(OP_MIN, DT_F32, 0.0, -0.0)));
  double f[3] = {2.0, 0, 0}, out;
  int64_t i[3] = {0}, oi;
  assert_false(fold_scalar(OP_EXP, DT_F32, DT_F32, 1, f, i, &out, &oi)); /* transcendental: never folded */
  assert_false(fold_scalar(OP_POW, DT_F32, DT_F32, 2, f, i, &out, &oi));
}

static void test_fold_int_and_casts(void **state) {
  (void)state;
  double f[3] = {0}, out;
  int64_t i[3] = {INT32_MAX, 1, 0}, oi;
  assert_true(fold_scalar(OP_ADD, DT_I32, DT_I32, 2, f, i, &out, &oi));
  assert_int_equal(oi, INT32_MIN); /* wraps */
  f[0] = 3.9e10;
  assert_true(fold_scalar(OP_CAST, DT_I32, DT_F32, 1, f, i, &out, &oi));
  assert_int_equal(oi, INT32_MAX); /* saturates */
  f[0] = NAN;
  assert_true(fold_scalar(OP_CAST, DT_I64, DT_F64, 1, f, i, &out, &oi));
  assert_int_equal(oi, 0);
  f[0] = -2.7;
  assert_true(fold_scalar(OP_CAST, DT_I32, DT_F64, 1, f, i, &out, &oi));
  assert_int_equal(oi, -2); /* toward zero */
  i[0] = 16777217;
  assert_true(fold_scalar(OP_CAST, DT_F32, DT_I64, 1, f, i, &out, &oi));
  assert_true(out == 16777216.0); /* rounded to f32 once */
  f[0] = 1.0;
  f[1] = NAN;
  assert_true(fold_scalar(OP_NE, DT_BOOL, DT_F32, 2, f, i, &out, &oi));
  assert_int_equal(oi, 1);
  assert_true(fold_scalar(OP_EQ, DT_BOOL, DT_F32, 2, f, i, &out, &oi));
  assert_int_equal(oi, 0);
}

static void test_constfold_pass(void **state) {
  (void)state;
  IrModule *m = compile("fn f(x: f32[N]) -> f32[N] { let c = f32(4) \n return x * (sqrt(c) + 1.0) + exp(c) }");
  pass_constfold(m);
  pass_dce(m);
  assert_int_equal(ir_verify(m, stderr, "constfold"), 0);
  char *ir = print(m);
  assert_non_null(strstr(ir, "const 3.0 : f32"));      /* sqrt(4) + 1 */
  assert_non_null(strstr(ir, "exp %"));                /* exp(4) stays */
  free(ir);
  ir_module_free(m);
}

/* ---- cse / dce ---------------------------------------------------------------- */

static void test_cse_keeps_earliest_location(void **state) {
  (void)state;
  IrModule *m = compile("fn f(x: f32[N]) -> f32[N] {\n let a = exp(x)\n let b = exp(x)\n return a + b\n}");
  IrFunc *f = func(m, "f");
  assert_int_equal(count_op(f, OP_EXP), 2);
  pass_cse(m);
  assert_int_equal(ir_verify(m, stderr, "cse"), 0);
  assert_int_equal(count_op(f, OP_EXP), 1);
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    if (n->op == OP_EXP) assert_int_equal(n->loc.line, 2);
    if (n->op == OP_ADD) assert_ptr_equal(n->args[0], n->args[1]);
  }
  ir_module_free(m);
}

static void test_cse_constants_by_bits(void **state) {
  (void)state;
  IrModule *m = compile("fn f(x: f32) -> f32 { return (x + 0.0) * (x + -0.0) * (x + 0.0) }");
  pass_cse(m);
  assert_int_equal(count_op(func(m, "f"), OP_CONST), 2); /* 0.0 and -0.0 stay apart */
  ir_module_free(m);
}

static void test_dce(void **state) {
  (void)state;
  IrModule *m = compile("fn f(x: f32[N], unused: f32) -> f32[N] {\n let dead = exp(x) * 2.0\n return x + 1.0\n}");
  IrFunc *f = func(m, "f");
  pass_dce(m);
  assert_int_equal(ir_verify(m, stderr, "dce"), 0);
  assert_int_equal(count_op(f, OP_EXP), 0);
  assert_int_equal(count_op(f, OP_PARAM), 2); /* params are the ABI: never removed */
  ir_module_free(m);
}

/* ---- inline ---------------------------------------------------------------------- */

static void test_inline_substitutes_dims(void **state) {
  (void)state;
  IrModule *m = compile("fn avg(x: f32[N, K]) -> f32[N] { return mean(x, axis=1) }\n"
                        "fn f(a: f32[B, 7]) -> f32[B] { return avg(a) * 2.0 }");
  pass_inline(m);
  assert_int_equal(ir_verify(m, stderr, "inline"), 0);
  IrFunc *f = func(m, "f");
  assert_int_equal(count_op(f, OP_CALL), 0);
  char *ir = print(m);
  assert_non_null(strstr(ir, "dimsize 7 : f32"));
  assert_non_null(strstr(ir, "sum %a, axes=[1] : f32[B]"));
  free(ir);
  pass_constfold(m);
  assert_int_equal(count_op(f, OP_DIMSIZE), 0); /* a literal count folds */
  ir_module_free(m);
}

static void test_pipeline_levels(void **state) {
  (void)state;
  const char *src = "fn f(x: f32[N]) -> f32[N] { let a = exp(x) \n let b = exp(x) \n return a + b * (2.0 * 3.0) }";
  IrModule *m0 = compile(src), *m2 = compile(src);
  PassOptions o0 = {.opt_level = 0, .verify = true}, o2 = {.opt_level = 2, .verify = true};
  assert_int_equal(pass_run_pipeline(m0, &o0), 0);
  assert_int_equal(pass_run_pipeline(m2, &o2), 0);
  assert_int_equal(count_op(func(m0, "f"), OP_EXP), 2);
  assert_int_equal(count_op(func(m2, "f"), OP_EXP), 1);
  ir_module_free(m0);
  ir_module_free(m2);
}

/* ---- kernels --------------------------------------------------------------------- */

static KProgram *build(IrModule *m, const char *name) {
  PassOptions o = {.opt_level = 2, .verify = true};
  assert_int_equal(pass_run_pipeline(m, &o), 0);
  return kernels_build(m, func(m, name));
}

static void test_kernels_absorb_views(void **state) {
  (void)state;
  IrModule *m = compile("fn f(x: f32[N, K], b: f32[K]) -> f32[K, N] { return transpose(x + b) * 2.0 }");
  KProgram *p = build(m, "f");
  /* one kernel: the broadcast, the transpose and the constant are maps, and
   * x + b (used once) is computed inside the multiply's loop */
  assert_int_equal(p->nkernels, 1);
  Kernel *k = &p->kernels[0];
  assert_int_equal(k->in[0].loop[0], 1); /* x[N, K] read at (i1, i0): through the transpose */
  assert_int_equal(k->in[0].loop[1], 0);
  assert_int_equal(k->in[1].loop[0], 0); /* b[K] with the K loop, which is i0 after the transpose */
  assert_int_equal(p->nbufs, 3);         /* x, b, out: no temporary */
  kernels_free(p);
  ir_module_free(m);
}

static void test_kernels_fusion_limits(void **state) {
  (void)state;
  /* e is used twice: materialised once, not recomputed; the row sum of
   * exp is one reduction kernel with the exp inside */
  IrModule *m = compile("fn f(x: f32[N, K]) -> f32[N, K] {\n let e = exp(x)\n return e / sum(e, axis=1, keepdims=true)\n}\n"
                        "fn g(x: f32[N, K]) -> f32[N] { return sum(exp(x) * 2.0, axis=1) }\n"
                        "fn h(v: f32[K], x: f32[N, K]) -> f32[N, K] { return x * exp(v) }");
  KProgram *p = build(m, "f");
  /* e / sum(e) with e = exp(x) is the softmax pattern, which the stability
   * rewrite shifts by the row max: max, exp, sum, divide (e once) */
  assert_int_equal(p->nkernels, 4);
  kernels_free(p);
  p = kernels_build(m, func(m, "g"));
  assert_int_equal(p->nkernels, 1);
  assert_int_equal(p->kernels[0].kind, K_REDUCE);
  kernels_free(p);
  p = kernels_build(m, func(m, "h"));
  assert_int_equal(p->nkernels, 2); /* exp(v) is broadcast over N: computed once, not N times */
  kernels_free(p);
  ir_module_free(m);
}

/* Memory planning: a fused chain needs no temporaries; the MLP gradient's
 * temporaries shrink when dead ones hand their memory on. */
static void test_memory_planning(void **state) {
  (void)state;
  IrModule *m = compile("fn chain(x: f32[N], a: f32, b: f32) -> f32[N] {\n"
                        "  return tanh(sqrt(abs(exp(-x * x / 2.0) * a + b)) * 3.0 - x) + sigmoid(x)\n}\n"
                        "fn loss(W1: f32[D, H], b1: f32[H], W2: f32[H, K], x: f32[N, D], y: f32[N, K]) -> f32 {\n"
                        "  let h = tanh(x @ W1 + b1)\n  return -mean(sum(y * log_softmax(h @ W2, axis=1), axis=1))\n}\n"
                        "fn g(W1: f32[D, H], b1: f32[H], W2: f32[H, K], x: f32[N, D], y: f32[N, K]) -> (f32[D, H], f32[H], f32[H, K]) {\n"
                        "  return grad(loss, W1, b1, W2, x, y, wrt=(W1, b1, W2))\n}\n");
  KProgram *p = build(m, "chain");
  assert_int_equal(p->nkernels, 1); /* ten elementwise ops, one kernel */
  assert_ptr_equal(kernel_temp_bytes(m, p, true), dim_lit(m->dims, 0));
  kernels_free(p);
  p = kernels_build(m, func(m, "g"));
  int64_t syms[64] = {0}, planned, unplanned;
  for (int s = 0; s < dim_nsymbols(m->dims); s++) syms[s] = 64;
  assert_true(dim_eval(m->dims, kernel_temp_bytes(m, p, true), syms, &planned));
  assert_true(dim_eval(m->dims, kernel_temp_bytes(m, p, false), syms, &unplanned));
  assert_true(planned > 0 && planned < unplanned);
  for (int b = p->nparams; b < p->nbufs; b++) /* reuse only of earlier, equal-size temporaries */
    if (p->bufs[b].reuses >= 0) assert_true(p->bufs[b].reuses < b && p->bufs[b].reuses >= p->nparams);
  kernels_free(p);
  ir_module_free(m);
}

/* In place: y dies in the elementwise kernel that reads it element by
 * element, so z is written over y's memory; the kernel is marked so that
 * codegen does not declare the pair noalias. */
static void test_memory_in_place(void **state) {
  (void)state;
  IrModule *m = compile("fn f(a: f32[N, K], b: f32[K, M]) -> f32 {\n"
                        "  let y = a @ b\n  let z = tanh(y) * sum(y)\n  return sum(z) * max(z)\n}\n"
                        "fn g(a: f32[N, K], b: f32[K, M]) -> f32 {\n"
                        "  let y = a @ b\n  let z = tanh(transpose(y)) * sum(y)\n  return sum(z) * max(z)\n}\n");
  KProgram *p = build(m, "f");
  int inplace = 0;
  for (int i = 0; i < p->nkernels; i++) {
    const Kernel *k = &p->kernels[i];
    if (k->inplace < 0) continue;
    assert_int_equal(k->kind, K_MAP);
    int in = k->in[k->inplace].buf, slot = p->bufs[in].reuses >= 0 ? p->bufs[in].reuses : in;
    if (k->out.buf < p->nparams) { /* kernels_rows.c: sum(z) was computed into the result, scaled in place */
      assert_int_equal(in, k->out.buf);
      continue;
    }
    inplace++;
    assert_int_equal(p->bufs[k->out.buf].reuses, slot);
  }
  assert_int_equal(inplace, 1);
  kernels_free(p);
  /* y read transposed: element (i, j) of z needs y[j, i], which another
   * element may already have overwritten, so no in-place write */
  p = build(m, "g");
  for (int i = 0; i < p->nkernels; i++)
    if (p->kernels[i].out.buf >= p->nparams) assert_int_equal(p->kernels[i].inplace, -1);
  kernels_free(p);
  ir_module_free(m);
}

static void test_kernels_matmul_epilogue(void **state) {
  (void)state;
  IrModule *m = compile("fn layer(x: f32[N, D], W: f32[D, H], b: f32[H]) -> f32[N, H] { return max(x @ W + b, 0.0) }\n"
                        "fn twice(x: f32[N, D], W: f32[D, H]) -> f32[N, H] {\n let y = x @ W\n return y * y\n}\n"
                        "fn two(a: f32[N, D], b: f32[D, N]) -> f32[N, N] { return a @ b + transpose(b) @ transpose(a) }");
  KProgram *p = build(m, "layer");
  assert_int_equal(p->nkernels, 1); /* relu(x @ W + b): one matmul, the bias and relu its epilogue */
  assert_int_equal(p->kernels[0].kind, K_MATMUL);
  assert_int_equal(p->kernels[0].ninputs, 3);
  assert_int_equal(p->kernels[0].body[0].op, OP_MATMUL);
  kernels_free(p);
  p = kernels_build(m, func(m, "twice"));
  assert_int_equal(p->nkernels, 2); /* y is used twice: a plain matmul, then the multiply */
  kernels_free(p);
  p = kernels_build(m, func(m, "two"));
  int matmuls = 0;
  for (int i = 0; i < p->nkernels; i++) matmuls += p->kernels[i].kind == K_MATMUL;
  assert_int_equal(matmuls, 2); /* one epilogue hosts one matmul; the other has its own kernel */
  kernels_free(p);
  ir_module_free(m);
}

static void test_kernels_results(void **state) {
  (void)state;
  IrModule *m = compile("fn id(x: f32[N]) -> f32[N] { return x }\nfn r(x: f32[N, K]) -> f32[N, 1] { return sum(x, axis=1, keepdims=true) }");
  KProgram *p = build(m, "id");
  assert_int_equal(p->nkernels, 1); /* returning a parameter copies it */
  assert_int_equal(p->kernels[0].body[p->kernels[0].nbody - 1].op, OP_COPY);
  kernels_free(p);
  p = kernels_build(m, func(m, "r"));
  assert_int_equal(p->kernels[0].kind, K_REDUCE);
  assert_true(p->kernels[0].reduce[1] && !p->kernels[0].reduce[0]);
  assert_int_equal(p->kernels[0].out.loop[1], -1); /* kept axis */
  assert_int_equal(p->kernels[0].out.buf, 1);      /* written straight into the output */
  kernels_free(p);
  ir_module_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fold_float_semantics),    cmocka_unit_test(test_fold_int_and_casts),
      cmocka_unit_test(test_constfold_pass),          cmocka_unit_test(test_cse_keeps_earliest_location),
      cmocka_unit_test(test_cse_constants_by_bits),   cmocka_unit_test(test_dce),
      cmocka_unit_test(test_inline_substitutes_dims), cmocka_unit_test(test_pipeline_levels),
      cmocka_unit_test(test_kernels_absorb_views),    cmocka_unit_test(test_kernels_results),
      cmocka_unit_test(test_kernels_fusion_limits),  cmocka_unit_test(test_kernels_matmul_epilogue),
      cmocka_unit_test(test_memory_planning),
      cmocka_unit_test(test_memory_in_place),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
