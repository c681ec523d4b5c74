/* rules.c — the rewrite rules, one row each (the engine is simplify.c).
 *
 * The stability rewrites are the ones a Theano-class optimiser performs
 * (the list in Theano's optimiser): they deliberately change results to
 * avoid overflow and cancellation, and they are part of the language's
 * semantics (lang/reference.md).  Each rule only looks at its root and
 * operands and returns a replacement (or NULL); patterns that a rewrite's
 * own output would match again carry a guard. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"

const char *const rule_class_names[] = {"exact", "stability", "fast-math"};

/* ---- matching helpers ------------------------------------------------------- */

/* The scalar value of a constant, possibly broadcast. */
static bool const_value(const IrNode *n, double *v) {
  while (n->op == OP_BROADCAST) n = n->args[0];
  if (n->op != OP_CONST) return false;
  *v = dtype_is_float(n->dtype) ? n->attr.f : (double)n->attr.i;
  return true;
}

static bool is_const(const IrNode *n, double want) {
  double v;
  return const_value(n, &v) && v == want && !(want == 0 && signbit(v) != signbit(want));
}

static bool is_op(const IrNode *n, Op op) { return n->op == op; }

/* The same value: one node, or the same op on the same values (so patterns
 * match whether or not CSE has run: -O0 and -O2 rewrite alike). */
static bool same_value(const IrNode *a, const IrNode *b, int depth) {
  if (a == b) return true;
  if (depth == 0 || a->op != b->op || a->dtype != b->dtype || a->nargs != b->nargs || !ir_same_shape(a, b)) return false;
  if (a->op == OP_PARAM || a->op == OP_CALL || memcmp(&a->attr, &b->attr, sizeof a->attr) != 0) return false;
  for (int i = 0; i < a->nargs; i++)
    if (!same_value(a->args[i], b->args[i], depth - 1)) return false;
  return true;
}
#define SAME(a, b) same_value((a), (b), 8)

/* 1 + x or x + 1: sets *x to the other operand. */
static bool one_plus(const IrNode *n, IrNode **x) {
  if (!is_op(n, OP_ADD)) return false;
  if (is_const(n->args[0], 1)) return *x = n->args[1], true;
  if (is_const(n->args[1], 1)) return *x = n->args[0], true;
  return false;
}

/* x - stop_gradient?(broadcast(reduce_max(...))): already shifted by its max. */
static bool max_shifted(const IrNode *x) {
  if (!is_op(x, OP_SUB)) return false;
  const IrNode *m = x->args[1];
  while (m->op == OP_BROADCAST || m->op == OP_STOP_GRADIENT) m = m->args[0];
  return m->op == OP_RMAX;
}

/* Operands of different shapes meet through broadcasts, so a pattern's
 * operand may be op(x) under a chain of broadcasts (exp(x) + exp(y) with x
 * of shape [1] and y of shape [3]).  below() finds the node under the chain;
 * over() puts a value of that node's shape back under the same chain.
 * Stability rules are language semantics: they must match either way. */
static IrNode *below(IrNode *n) {
  while (is_op(n, OP_BROADCAST)) n = n->args[0];
  return n;
}

static IrNode *over(IrBuilder *ib, const IrNode *operand, IrNode *x) {
  if (!is_op(operand, OP_BROADCAST)) return x;
  IrNode *inner = over(ib, operand->args[0], x);
  IrNode *b = ir_node(ib->m, ib->f, OP_BROADCAST, x->dtype, operand->rank, operand->shape, 1, &inner, ib->loc);
  b->attr = operand->attr;
  return b;
}

/* The argument of operand n if n is op(x) under broadcasts, broadcast like n. */
static bool is_under(IrNode *n, Op op) { return is_op(below(n), op); }
static IrNode *arg_under(IrBuilder *ib, IrNode *n) { return over(ib, n, below(n)->args[0]); }

static unsigned reduce_mask(const IrNode *r) {
  unsigned mask = 0;
  for (int a = 0; a < r->attr.naxes; a++) mask |= 1u << r->attr.axes[a];
  return mask;
}

/* ---- exact ------------------------------------------------------------------- */

static IrNode *mul_one(IrBuilder *ib, IrNode *n) {
  if (is_const(n->args[1], 1)) return n->args[0];
  return is_const(n->args[0], 1) ? n->args[1] : NULL;
}

static IrNode *div_one(IrBuilder *ib, IrNode *n) { return is_const(n->args[1], 1) ? n->args[0] : NULL; }

static IrNode *add_neg_zero(IrBuilder *ib, IrNode *n) {
  if (!dtype_is_float(n->dtype)) return NULL;
  if (is_const(n->args[1], -0.0)) return n->args[0];
  return is_const(n->args[0], -0.0) ? n->args[1] : NULL;
}

static IrNode *neg_neg(IrBuilder *ib, IrNode *n) { return is_op(n->args[0], OP_NEG) ? n->args[0]->args[0] : NULL; }

/* x / c == x * (1/c) exactly when 1/c is exact: c a power of two whose
 * reciprocal is a normal number of the dtype. */
static IrNode *div_pow2(IrBuilder *ib, IrNode *n) {
  double c;
  int e;
  if (!dtype_is_float(n->dtype) || !const_value(n->args[1], &c) || c == 0 || !isfinite(c)) return NULL;
  if (fabs(frexp(c, &e)) != 0.5) return NULL;
  int max_exp = n->dtype == DT_F32 ? 127 : 1023;
  if (abs(e - 1) >= max_exp) return NULL;
  return irb_bin(ib, OP_MUL, n->args[0], irb_const(ib, n->dtype, 1 / c));
}

static IrNode *transpose_transpose(IrBuilder *ib, IrNode *n) {
  const IrNode *inner = n->args[0];
  if (!is_op(inner, OP_TRANSPOSE)) return NULL;
  int64_t perm[IR_MAX_RANK];
  bool identity = true;
  for (int i = 0; i < n->rank; i++) {
    perm[i] = inner->attr.axes[n->attr.axes[i]];
    identity = identity && perm[i] == i;
  }
  return identity ? inner->args[0] : irb_transpose(ib, inner->args[0], perm);
}

/* A reshape to its operand's own shape is the operand; a reshape of a
 * reshape is one reshape, unless the inner one carries a call-time
 * assertion (its element count not provably its operand's), which stays. */
static IrNode *reshape_same(IrBuilder *ib, IrNode *n) { return ir_same_shape(n, n->args[0]) ? n->args[0] : NULL; }
static IrNode *reshape_reshape(IrBuilder *ib, IrNode *n) {
  IrNode *in = n->args[0];
  if (!is_op(in, OP_RESHAPE)) return NULL;
  IrNode *x = in->args[0];
  if (ir_numel(ib->m, in->rank, in->shape) != ir_numel(ib->m, x->rank, x->shape)) return NULL;
  return irb_reshape_like(ib, x, n);
}

static IrNode *broadcast_same(IrBuilder *ib, IrNode *n) { return ir_same_shape(n, n->args[0]) ? n->args[0] : NULL; }

/* cast(cast(x)) back to x's dtype through a wider type: the inner cast lost nothing. */
static IrNode *cast_cast(IrBuilder *ib, IrNode *n) {
  const IrNode *inner = n->args[0];
  if (n->dtype == inner->dtype) return n->args[0]; /* a cast to its own dtype */
  if (!is_op(inner, OP_CAST) || inner->args[0]->dtype != n->dtype) return NULL;
  DType from = n->dtype, via = inner->dtype;
  bool widening =
      (from == DT_F32 && via == DT_F64) || (from == DT_I32 && (via == DT_I64 || via == DT_F64)) || (from == DT_BOOL && via != DT_BOOL);
  return widening ? inner->args[0] : NULL;
}

/* f(broadcast(x)) -> broadcast(f(x)) for a one-operand elementwise f: the
 * same values, computed once per source element instead of per target. */
static IrNode *hoist_broadcast(IrBuilder *ib, IrNode *n) {
  if (!(op_info[n->op].flags & F_ELEM) || n->nargs != 1 || !is_op(n->args[0], OP_BROADCAST) || n->op == OP_COPY) return NULL;
  IrNode *b = n->args[0], *inner = b->args[0];
  IrNode *f = ir_node(ib->m, ib->f, n->op, n->dtype, inner->rank, inner->shape, 1, &inner, ib->loc);
  IrNode *out = ir_node(ib->m, ib->f, OP_BROADCAST, n->dtype, n->rank, n->shape, 1, &f, ib->loc);
  out->attr = b->attr;
  return out;
}

/* ---- stability ---------------------------------------------------------------- */

static IrNode *log_one_plus(IrBuilder *ib, IrNode *n) {
  IrNode *x;
  return one_plus(n->args[0], &x) ? irb_un(ib, OP_LOG1P, x) : NULL;
}

static IrNode *log_one_minus(IrBuilder *ib, IrNode *n) {
  const IrNode *a = n->args[0];
  if (!is_op(a, OP_SUB) || !is_const(a->args[0], 1)) return NULL;
  if (is_under(a->args[1], OP_SIGMOID)) return irb_un(ib, OP_NEG, irb_un(ib, OP_SOFTPLUS, arg_under(ib, a->args[1])));
  return irb_un(ib, OP_LOG1P, irb_un(ib, OP_NEG, a->args[1]));
}

static IrNode *exp_minus_one(IrBuilder *ib, IrNode *n) {
  return is_under(n->args[0], OP_EXP) && is_const(n->args[1], 1) ? irb_un(ib, OP_EXPM1, arg_under(ib, n->args[0])) : NULL;
}

static IrNode *log_exp(IrBuilder *ib, IrNode *n) { return is_under(n->args[0], OP_EXP) ? arg_under(ib, n->args[0]) : NULL; }

static IrNode *log1p_expm1(IrBuilder *ib, IrNode *n) { return is_under(n->args[0], OP_EXPM1) ? arg_under(ib, n->args[0]) : NULL; }

static IrNode *sqrt_square(IrBuilder *ib, IrNode *n) {
  const IrNode *a = n->args[0];
  return is_op(a, OP_MUL) && SAME(a->args[0], a->args[1]) ? irb_un(ib, OP_ABS, a->args[0]) : NULL;
}

static IrNode *log_sigmoid(IrBuilder *ib, IrNode *n) {
  if (!is_under(n->args[0], OP_SIGMOID)) return NULL;
  return irb_un(ib, OP_NEG, irb_un(ib, OP_SOFTPLUS, irb_un(ib, OP_NEG, arg_under(ib, n->args[0]))));
}

static IrNode *log1p_exp(IrBuilder *ib, IrNode *n) {
  return is_under(n->args[0], OP_EXP) ? irb_un(ib, OP_SOFTPLUS, arg_under(ib, n->args[0])) : NULL;
}

static IrNode *log1p_neg_sigmoid(IrBuilder *ib, IrNode *n) {
  const IrNode *a = n->args[0];
  if (!is_op(a, OP_NEG) || !is_op(a->args[0], OP_SIGMOID)) return NULL;
  return irb_un(ib, OP_NEG, irb_un(ib, OP_SOFTPLUS, a->args[0]->args[0]));
}

/* exp(x) / (1 + exp(x)) -> sigmoid(x);  c / (1 + exp(x)) -> c * sigmoid(-x) */
static IrNode *sigmoid_from_exp(IrBuilder *ib, IrNode *n) {
  IrNode *e;
  if (!one_plus(n->args[1], &e) || !is_under(e, OP_EXP)) return NULL;
  if (SAME(n->args[0], e)) return irb_un(ib, OP_SIGMOID, arg_under(ib, e));
  double c;
  if (!const_value(n->args[0], &c)) return NULL;
  IrNode *s = irb_un(ib, OP_SIGMOID, irb_un(ib, OP_NEG, arg_under(ib, e)));
  return c == 1 ? s : irb_bin(ib, OP_MUL, n->args[0], s);
}

/* 1 - erf(x) -> erfc(x);  1 + erf(x), erf(x) + 1 -> erfc(-x) */
static IrNode *one_minus_erf(IrBuilder *ib, IrNode *n) {
  return is_const(n->args[0], 1) && is_under(n->args[1], OP_ERF) ? irb_un(ib, OP_ERFC, arg_under(ib, n->args[1])) : NULL;
}
static IrNode *one_plus_erf(IrBuilder *ib, IrNode *n) {
  IrNode *e;
  return one_plus(n, &e) && is_under(e, OP_ERF) ? irb_un(ib, OP_ERFC, irb_un(ib, OP_NEG, arg_under(ib, e))) : NULL;
}

/* log1p(-exp(x)) -> log1mexp(x);  log(-expm1(x)) -> log1mexp(x) */
static IrNode *log1p_neg_exp(IrBuilder *ib, IrNode *n) {
  const IrNode *a = n->args[0];
  return is_op(a, OP_NEG) && is_op(a->args[0], OP_EXP) ? irb_un(ib, OP_LOG1MEXP, a->args[0]->args[0]) : NULL;
}
static IrNode *log_neg_expm1(IrBuilder *ib, IrNode *n) {
  const IrNode *a = n->args[0];
  return is_op(a, OP_NEG) && is_op(a->args[0], OP_EXPM1) ? irb_un(ib, OP_LOG1MEXP, a->args[0]->args[0]) : NULL;
}

static IrNode *one_minus_sigmoid(IrBuilder *ib, IrNode *n) {
  if (!is_const(n->args[0], 1) || !is_under(n->args[1], OP_SIGMOID)) return NULL;
  return irb_un(ib, OP_SIGMOID, irb_un(ib, OP_NEG, arg_under(ib, n->args[1])));
}

/* log(exp(x) + exp(y)) -> m + log1p(exp(min(x, y) - m)), m = max(x, y) */
static IrNode *log_add_exp(IrBuilder *ib, IrNode *n) {
  const IrNode *a = n->args[0];
  if (!is_op(a, OP_ADD) || !is_under(a->args[0], OP_EXP) || !is_under(a->args[1], OP_EXP)) return NULL;
  IrNode *x = arg_under(ib, a->args[0]), *y = arg_under(ib, a->args[1]);
  IrNode *m = irb_bin(ib, OP_MAX, x, y), *lo = irb_bin(ib, OP_MIN, x, y);
  return irb_bin(ib, OP_ADD, m, irb_un(ib, OP_LOG1P, irb_un(ib, OP_EXP, irb_bin(ib, OP_SUB, lo, m))));
}

/* x - max(x) over the axes of r, broadcast back; and that max (keepdims). */
static IrNode *shift_by_max(IrBuilder *ib, IrNode *x, unsigned mask, IrNode **max_kept) {
  /* the shift cancels mathematically: stop_gradient keeps its derivative 0 */
  *max_kept = irb_un(ib, OP_STOP_GRADIENT, irb_reduce(ib, OP_RMAX, x, mask, true));
  int64_t axes[IR_MAX_RANK];
  for (int a = 0; a < x->rank; a++) axes[a] = a;
  return irb_bin(ib, OP_SUB, x, irb_bcast_axes(ib, *max_kept, x->rank, x->shape, axes));
}

/* log(sum(exp(x), axes)) -> max(x) + log(sum(exp(x - max(x)), axes)) */
static IrNode *log_sum_exp(IrBuilder *ib, IrNode *n) {
  IrNode *s = n->args[0];
  if (!is_op(s, OP_SUM) || !is_under(s->args[0], OP_EXP) || max_shifted(below(s->args[0])->args[0])) return NULL;
  IrNode *x = arg_under(ib, s->args[0]), *mk;
  unsigned mask = reduce_mask(s);
  IrNode *sum = irb_reduce(ib, OP_SUM, irb_un(ib, OP_EXP, shift_by_max(ib, x, mask, &mk)), mask, s->attr.keepdims);
  IrNode *m = s->attr.keepdims ? mk : irb_un(ib, OP_STOP_GRADIENT, irb_reduce(ib, OP_RMAX, x, mask, false));
  return irb_bin(ib, OP_ADD, m, irb_un(ib, OP_LOG, sum));
}

/* exp(x) / broadcast(sum(exp(x), axes, keepdims)) -> the same, shifted by max(x).
 * Over extent-1 axes the sum already has x's shape and no broadcast is left. */
static IrNode *softmax_shift(IrBuilder *ib, IrNode *n) {
  IrNode *e = n->args[0], *b = n->args[1];
  if (!is_under(e, OP_EXP) || max_shifted(below(e)->args[0])) return NULL;
  IrNode *s = is_op(b, OP_BROADCAST) ? b->args[0] : b;
  if (!is_op(s, OP_SUM) || !SAME(s->args[0], e) || !s->attr.keepdims) return NULL;
  IrNode *mk, *e2 = irb_un(ib, OP_EXP, shift_by_max(ib, arg_under(ib, e), reduce_mask(s), &mk));
  IrNode *s2 = irb_reduce(ib, OP_SUM, e2, reduce_mask(s), true);
  int64_t axes[IR_MAX_RANK];
  for (int a = 0; a < e->rank; a++) axes[a] = a;
  return irb_bin(ib, OP_DIV, e2, irb_bcast_axes(ib, s2, e->rank, e->shape, axes));
}

/* log(exp(z) / s) -> z - log(s): log(softmax) becomes log_softmax */
static IrNode *log_of_ratio(IrBuilder *ib, IrNode *n) {
  const IrNode *d = n->args[0];
  if (!is_op(d, OP_DIV) || !is_under(d->args[0], OP_EXP)) return NULL;
  return irb_bin(ib, OP_SUB, arg_under(ib, d->args[0]), irb_un(ib, OP_LOG, d->args[1]));
}

/* x ** k for k in {-1, 2, 3, 4} by multiplication: correctly rounded steps
 * instead of the C library's pow (texc's definition of small powers). */
static IrNode *small_int_power(IrBuilder *ib, IrNode *n) {
  double k;
  if (!const_value(n->args[1], &k)) return NULL;
  IrNode *x = n->args[0];
  if (k == -1) return irb_bin(ib, OP_DIV, irb_fill(ib, x, 1), x);
  if (k != 2 && k != 3 && k != 4) return NULL;
  IrNode *sq = irb_bin(ib, OP_MUL, x, x);
  return k == 2 ? sq : k == 3 ? irb_bin(ib, OP_MUL, sq, x) : irb_bin(ib, OP_MUL, sq, sq);
}

/* ---- fast-math (value-changing) ---------------------------------------------- */

static IrNode *add_zero(IrBuilder *ib, IrNode *n) {
  if (is_const(n->args[1], 0)) return n->args[0];
  return is_const(n->args[0], 0) ? n->args[1] : NULL;
}

static IrNode *mul_zero(IrBuilder *ib, IrNode *n) { return is_const(n->args[0], 0) || is_const(n->args[1], 0) ? irb_fill(ib, n, 0) : NULL; }

static IrNode *sub_self(IrBuilder *ib, IrNode *n) { return SAME(n->args[0], n->args[1]) ? irb_fill(ib, n, 0) : NULL; }

static IrNode *pow_half(IrBuilder *ib, IrNode *n) { return is_const(n->args[1], 0.5) ? irb_un(ib, OP_SQRT, n->args[0]) : NULL; }

static IrNode *div_const(IrBuilder *ib, IrNode *n) {
  double c;
  if (!dtype_is_float(n->dtype) || !const_value(n->args[1], &c) || c == 0) return NULL;
  return irb_bin(ib, OP_MUL, n->args[0], irb_const(ib, n->dtype, 1 / c));
}

/* sum(x * c) -> c * sum(x) for a scalar c (rounding changes) */
static IrNode *sum_of_scaled(IrBuilder *ib, IrNode *n) {
  IrNode *m = n->args[0];
  if (!is_op(m, OP_MUL)) return NULL;
  for (int i = 0; i < 2; i++) {
    IrNode *c = m->args[i];
    if (!is_op(c, OP_BROADCAST) || c->args[0]->rank != 0) continue;
    IrNode *s = irb_reduce(ib, OP_SUM, m->args[1 - i], reduce_mask(n), n->attr.keepdims);
    return irb_bin(ib, OP_MUL, s, irb_bcast_like(ib, c->args[0], s));
  }
  return NULL;
}

/* sum(sum(x, A), B) -> sum(x, A u B) (a different summation order) */
static IrNode *sum_of_sum(IrBuilder *ib, IrNode *n) {
  IrNode *in = n->args[0];
  if (!is_op(in, OP_SUM) || in->attr.keepdims || n->attr.keepdims) return NULL;
  unsigned inner = reduce_mask(in), outer = reduce_mask(n), all = inner;
  for (int a = 0, kept = 0; a < in->args[0]->rank; a++)
    if (!(inner & (1u << a)) && (outer & (1u << kept++))) all |= 1u << a;
  return irb_reduce(ib, OP_SUM, in->args[0], all, false);
}

const Rule rules[] = {
    /* exact */
    {"mul-by-one", OP_MUL, RULE_EXACT, mul_one},
    {"div-by-one", OP_DIV, RULE_EXACT, div_one},
    {"add-neg-zero", OP_ADD, RULE_EXACT, add_neg_zero},
    {"neg-neg", OP_NEG, RULE_EXACT, neg_neg},
    {"div-by-power-of-two", OP_DIV, RULE_EXACT, div_pow2},
    {"transpose-transpose", OP_TRANSPOSE, RULE_EXACT, transpose_transpose},
    {"broadcast-to-same", OP_BROADCAST, RULE_EXACT, broadcast_same},
    {"reshape-to-same", OP_RESHAPE, RULE_EXACT, reshape_same},
    {"reshape-reshape", OP_RESHAPE, RULE_EXACT, reshape_reshape},
    {"cast-cast", OP_CAST, RULE_EXACT, cast_cast},
    {"hoist-broadcast", OP_COUNT, RULE_EXACT, hoist_broadcast}, /* any one-operand elementwise op */
    /* stability (language semantics) */
    {"log-sigmoid", OP_LOG, RULE_STABLE, log_sigmoid},
    {"log-one-minus", OP_LOG, RULE_STABLE, log_one_minus},
    {"log-one-plus", OP_LOG, RULE_STABLE, log_one_plus},
    {"log-exp", OP_LOG, RULE_STABLE, log_exp},
    {"log-add-exp", OP_LOG, RULE_STABLE, log_add_exp},
    {"log-sum-exp", OP_LOG, RULE_STABLE, log_sum_exp},
    {"log-of-ratio", OP_LOG, RULE_STABLE, log_of_ratio},
    {"exp-minus-one", OP_SUB, RULE_STABLE, exp_minus_one},
    {"one-minus-sigmoid", OP_SUB, RULE_STABLE, one_minus_sigmoid},
    {"one-minus-erf", OP_SUB, RULE_STABLE, one_minus_erf},
    {"one-plus-erf", OP_ADD, RULE_STABLE, one_plus_erf},
    {"log1p-neg-exp", OP_LOG1P, RULE_STABLE, log1p_neg_exp},
    {"log-neg-expm1", OP_LOG, RULE_STABLE, log_neg_expm1},
    {"log1p-expm1", OP_LOG1P, RULE_STABLE, log1p_expm1},
    {"log1p-exp", OP_LOG1P, RULE_STABLE, log1p_exp},
    {"log1p-neg-sigmoid", OP_LOG1P, RULE_STABLE, log1p_neg_sigmoid},
    {"sqrt-square", OP_SQRT, RULE_STABLE, sqrt_square},
    {"sigmoid-from-exp", OP_DIV, RULE_STABLE, sigmoid_from_exp},
    {"softmax-shift", OP_DIV, RULE_STABLE, softmax_shift},
    {"small-int-power", OP_POW, RULE_STABLE, small_int_power},
    /* value-changing: --fast-math only */
    {"add-zero", OP_ADD, RULE_FAST, add_zero},
    {"mul-by-zero", OP_MUL, RULE_FAST, mul_zero},
    {"sub-self", OP_SUB, RULE_FAST, sub_self},
    {"pow-half", OP_POW, RULE_FAST, pow_half},
    {"div-by-constant", OP_DIV, RULE_FAST, div_const},
    {"sum-of-scaled", OP_SUM, RULE_FAST, sum_of_scaled},
    {"sum-of-sum", OP_SUM, RULE_FAST, sum_of_sum},
};
const int rule_count = sizeof rules / sizeof rules[0];
