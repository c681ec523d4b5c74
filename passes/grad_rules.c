/* grad_rules.c — the gradient rules of every differentiable op, beside the
 * op table: one reverse rule (vjp) per op, giving the cotangent of each
 * input, and one forward rule (jvp), giving the tangent of the output.
 *
 * Notation: y is the (cloned) primal node, x = y->args, ct the cotangent of
 * y; t[i] the tangent of x[i] (NULL: zero).  Every rule returns a value with
 * exactly the shape of what it differentiates (or NULL for zero).
 * Sub-gradients (documented in lang/reference.md):
 *   abs'(0) = 0; max/min split the cotangent evenly between tied operands;
 *   reduce_max/min split it evenly between tied maxima; where() sends it to
 *   the branch taken; pow's exponent gets 0 where the base is <= 0. */
#include <math.h>
#include <string.h>

#include "passes.h"

#define X(i) (y->args[i])

/* ---- reverse rules ------------------------------------------------------- */

static IrNode *vjp_neg(Ad *ad, IrNode *y, int i, IrNode *ct) { return ad_un(ad, OP_NEG, ct); }
static IrNode *vjp_copy(Ad *ad, IrNode *y, int i, IrNode *ct) { return ct; }
static IrNode *vjp_none(Ad *ad, IrNode *y, int i, IrNode *ct) { return NULL; }
static IrNode *vjp_cast(Ad *ad, IrNode *y, int i, IrNode *ct) {
  return dtype_is_float(X(0)->dtype) ? ad_cast(ad, ct, X(0)->dtype) : NULL;
}
static IrNode *vjp_exp(Ad *ad, IrNode *y, int i, IrNode *ct) { return ad_bin(ad, OP_MUL, ct, y); }
static IrNode *vjp_log(Ad *ad, IrNode *y, int i, IrNode *ct) { return ad_bin(ad, OP_DIV, ct, X(0)); }
static IrNode *vjp_sqrt(Ad *ad, IrNode *y, int i, IrNode *ct) {
  return ad_bin(ad, OP_DIV, ct, ad_bin(ad, OP_ADD, y, y));
}
static IrNode *vjp_tanh(Ad *ad, IrNode *y, int i, IrNode *ct) {
  return ad_bin(ad, OP_MUL, ct, ad_bin(ad, OP_SUB, ad_fill(ad, y, 1), ad_bin(ad, OP_MUL, y, y)));
}
static IrNode *vjp_sigmoid(Ad *ad, IrNode *y, int i, IrNode *ct) {
  return ad_bin(ad, OP_MUL, ct, ad_bin(ad, OP_MUL, y, ad_bin(ad, OP_SUB, ad_fill(ad, y, 1), y)));
}
static IrNode *vjp_log1p(Ad *ad, IrNode *y, int i, IrNode *ct) {
  return ad_bin(ad, OP_DIV, ct, ad_bin(ad, OP_ADD, ad_fill(ad, y, 1), X(0)));
}
/* expm1'(x) = exp(x), not expm1(x) + 1: that sum cancels to 0 below x = -37 */
static IrNode *vjp_expm1(Ad *ad, IrNode *y, int i, IrNode *ct) { return ad_bin(ad, OP_MUL, ct, ad_un(ad, OP_EXP, X(0))); }
static IrNode *vjp_softplus(Ad *ad, IrNode *y, int i, IrNode *ct) {
  return ad_bin(ad, OP_MUL, ct, ad_un(ad, OP_SIGMOID, X(0)));
}
/* erf'(x) = 2/sqrt(pi) * exp(-x^2), erfc' its negative */
static IrNode *gauss(Ad *ad, IrNode *x, double scale) {
  return ad_bin(ad, OP_MUL, ad_fill(ad, x, scale), ad_un(ad, OP_EXP, ad_un(ad, OP_NEG, ad_bin(ad, OP_MUL, x, x))));
}
static IrNode *vjp_erf(Ad *ad, IrNode *y, int i, IrNode *ct) { return ad_bin(ad, OP_MUL, ct, gauss(ad, X(0), M_2_SQRTPI)); }
static IrNode *vjp_erfc(Ad *ad, IrNode *y, int i, IrNode *ct) { return ad_bin(ad, OP_MUL, ct, gauss(ad, X(0), -M_2_SQRTPI)); }
/* d/dx log(1 - e^x) = -e^x/(1 - e^x) = -1/expm1(-x): no cancellation near 0 */
static IrNode *vjp_log1mexp(Ad *ad, IrNode *y, int i, IrNode *ct) {
  return ad_un(ad, OP_NEG, ad_bin(ad, OP_DIV, ct, ad_un(ad, OP_EXPM1, ad_un(ad, OP_NEG, X(0)))));
}
/* x > 0 ? ct : x < 0 ? -ct : 0 */
static IrNode *signed_ct(Ad *ad, IrNode *x, IrNode *ct) {
  IrNode *zero = ad_fill(ad, x, 0);
  return ad_sel(ad, ad_bin(ad, OP_GT, x, zero), ct, ad_sel(ad, ad_bin(ad, OP_LT, x, zero), ad_un(ad, OP_NEG, ct), zero));
}
static IrNode *vjp_abs(Ad *ad, IrNode *y, int i, IrNode *ct) { return signed_ct(ad, X(0), ct); }
static IrNode *vjp_add(Ad *ad, IrNode *y, int i, IrNode *ct) { return ct; }
static IrNode *vjp_sub(Ad *ad, IrNode *y, int i, IrNode *ct) { return i ? ad_un(ad, OP_NEG, ct) : ct; }
static IrNode *vjp_mul(Ad *ad, IrNode *y, int i, IrNode *ct) { return ad_bin(ad, OP_MUL, ct, X(1 - i)); }
static IrNode *vjp_div(Ad *ad, IrNode *y, int i, IrNode *ct) {
  IrNode *q = ad_bin(ad, OP_DIV, ct, X(1));
  return i ? ad_un(ad, OP_NEG, ad_bin(ad, OP_MUL, q, y)) : q;
}
/* d(a**b)/da = b * a**(b-1); d/db = y * log(a) where a > 0, else 0 */
static IrNode *pow_partial(Ad *ad, IrNode *y, int i) {
  if (i == 0) return ad_bin(ad, OP_MUL, X(1), ad_bin(ad, OP_POW, X(0), ad_bin(ad, OP_SUB, X(1), ad_fill(ad, y, 1))));
  IrNode *zero = ad_fill(ad, y, 0);
  return ad_sel(ad, ad_bin(ad, OP_GT, X(0), zero), ad_bin(ad, OP_MUL, y, ad_un(ad, OP_LOG, X(0))), zero);
}
static IrNode *vjp_pow(Ad *ad, IrNode *y, int i, IrNode *ct) { return ad_bin(ad, OP_MUL, ct, pow_partial(ad, y, i)); }
/* Weight of operand i in max/min: 1 where it wins, 1/2 on a tie, else 0. */
static IrNode *extremum_weight(Ad *ad, IrNode *y, int i) {
  Op wins = y->op == OP_MAX ? OP_GT : OP_LT;
  IrNode *zero = ad_fill(ad, y, 0);
  return ad_sel(ad, ad_bin(ad, wins, X(i), X(1 - i)), ad_fill(ad, y, 1),
                ad_sel(ad, ad_bin(ad, OP_EQ, X(i), X(1 - i)), ad_fill(ad, y, 0.5), zero));
}
static IrNode *vjp_extremum(Ad *ad, IrNode *y, int i, IrNode *ct) { return ad_bin(ad, OP_MUL, ct, extremum_weight(ad, y, i)); }
static IrNode *vjp_select(Ad *ad, IrNode *y, int i, IrNode *ct) {
  if (i == 0) return NULL;
  IrNode *zero = ad_fill(ad, y, 0);
  return i == 1 ? ad_sel(ad, X(0), ct, zero) : ad_sel(ad, X(0), zero, ct);
}

/* Sums ct over the axes the broadcast created or stretched. */
static IrNode *vjp_broadcast(Ad *ad, IrNode *y, int i, IrNode *ct) {
  const IrNode *x = X(0);
  unsigned stretched = 0, created = (1u << y->rank) - 1;
  for (int a = 0; a < x->rank; a++) {
    int o = (int)y->attr.axes[a];
    created &= ~(1u << o);
    if (dim_is_one(x->shape[a]) && !dim_is_one(y->shape[o])) stretched |= 1u << o;
  }
  IrNode *r = ad_reduce(ad, OP_SUM, ct, stretched, true);
  r = ad_reduce(ad, OP_SUM, r, created, false);
  return r;
}
static IrNode *vjp_transpose(Ad *ad, IrNode *y, int i, IrNode *ct) {
  int64_t inv[IR_MAX_RANK];
  for (int a = 0; a < y->rank; a++) inv[y->attr.axes[a]] = a;
  return ad_transpose(ad, ct, inv);
}
/* ct back to the reduced input's shape. */
static IrNode *unreduce(Ad *ad, IrNode *y, IrNode *ct) {
  const IrNode *x = X(0);
  unsigned mask = 0;
  for (int a = 0; a < y->attr.naxes; a++) mask |= 1u << y->attr.axes[a];
  int64_t axes[IR_MAX_RANK];
  for (int a = 0, j = 0; a < x->rank; a++)
    if (y->attr.keepdims) axes[a] = a;
    else if (!(mask & (1u << a))) axes[j++] = a;
  return ad_bcast_axes(ad, ct, x->rank, x->shape, axes);
}
static IrNode *vjp_sum(Ad *ad, IrNode *y, int i, IrNode *ct) { return unreduce(ad, y, ct); }
/* The maxima of reduce_max/min share the cotangent evenly. */
static IrNode *extremum_mask(Ad *ad, IrNode *y, IrNode **share_of, IrNode *v) {
  IrNode *mask = ad_bin(ad, OP_EQ, X(0), unreduce(ad, y, y));
  unsigned axes = 0;
  for (int a = 0; a < y->attr.naxes; a++) axes |= 1u << y->attr.axes[a];
  IrNode *count = ad_reduce(ad, OP_SUM, ad_cast(ad, mask, y->dtype), axes, y->attr.keepdims);
  *share_of = ad_bin(ad, OP_DIV, v, count);
  return mask;
}
static IrNode *vjp_reduce_extremum(Ad *ad, IrNode *y, int i, IrNode *ct) {
  IrNode *share;
  IrNode *mask = extremum_mask(ad, y, &share, ct);
  return ad_sel(ad, mask, unreduce(ad, y, share), ad_fill(ad, X(0), 0));
}
/* outer(u[M], v[K]) -> [M, K] */
static IrNode *outer(Ad *ad, IrNode *u, IrNode *v) {
  Dim shape[2] = {u->shape[0], v->shape[0]};
  static const int64_t a0[1] = {0}, a1[1] = {1};
  return ad_bin(ad, OP_MUL, ad_bcast_axes(ad, u, 2, shape, a0), ad_bcast_axes(ad, v, 2, shape, a1));
}
static IrNode *vjp_matmul(Ad *ad, IrNode *y, int i, IrNode *ct) {
  IrNode *a = X(0), *b = X(1);
  if (a->rank == 2 && b->rank == 2) return i == 0 ? ad_matmul(ad, ct, ad_t(ad, b)) : ad_matmul(ad, ad_t(ad, a), ct);
  if (a->rank == 2) return i == 0 ? outer(ad, ct, b) : ad_matmul(ad, ad_t(ad, a), ct);
  if (b->rank == 2) return i == 0 ? ad_matmul(ad, b, ct) : outer(ad, a, ct);
  return ad_bin(ad, OP_MUL, ad_bcast_like(ad, ct, X(1 - i)), X(1 - i));
}
/* Calls and projections are differentiated by the passes themselves
 * (through the callee's derived or user-written rule). */
static IrNode *vjp_by_pass(Ad *ad, IrNode *y, int i, IrNode *ct) { ice("%s is differentiated by the autodiff pass", op_info[y->op].name); }

const VjpRule vjp_rules[OP_COUNT] = {
    [OP_NEG] = vjp_neg,         [OP_CAST] = vjp_cast,       [OP_COPY] = vjp_copy,
    [OP_ABS] = vjp_abs,         [OP_EXP] = vjp_exp,         [OP_LOG] = vjp_log,
    [OP_SQRT] = vjp_sqrt,       [OP_TANH] = vjp_tanh,       [OP_SIGMOID] = vjp_sigmoid,
    [OP_LOG1P] = vjp_log1p,     [OP_EXPM1] = vjp_expm1,     [OP_SOFTPLUS] = vjp_softplus,
    [OP_ERF] = vjp_erf,         [OP_ERFC] = vjp_erfc,       [OP_LOG1MEXP] = vjp_log1mexp,
    [OP_STOP_GRADIENT] = vjp_none,
    [OP_ADD] = vjp_add,         [OP_SUB] = vjp_sub,         [OP_MUL] = vjp_mul,
    [OP_DIV] = vjp_div,         [OP_POW] = vjp_pow,         [OP_MAX] = vjp_extremum,
    [OP_MIN] = vjp_extremum,    [OP_SELECT] = vjp_select,   [OP_BROADCAST] = vjp_broadcast,
    [OP_TRANSPOSE] = vjp_transpose, [OP_SUM] = vjp_sum,     [OP_RMAX] = vjp_reduce_extremum,
    [OP_RMIN] = vjp_reduce_extremum, [OP_MATMUL] = vjp_matmul, [OP_CALL] = vjp_by_pass,
    [OP_PROJ] = vjp_by_pass,
};

/* ---- forward rules ------------------------------------------------------- */

#define T(i) (t[i])

/* Elementwise ops with one input: tangent = t * (d y / d x), reusing the
 * reverse rule with the tangent as the cotangent (they are scalar-linear). */
static IrNode *jvp_unary(Ad *ad, IrNode *y, IrNode **t) { return T(0) ? vjp_rules[y->op](ad, y, 0, T(0)) : NULL; }
static IrNode *jvp_none(Ad *ad, IrNode *y, IrNode **t) { return NULL; }
static IrNode *jvp_add(Ad *ad, IrNode *y, IrNode **t) { return ad_add(ad, T(0), T(1)); }
static IrNode *jvp_sub(Ad *ad, IrNode *y, IrNode **t) { return ad_add(ad, T(0), T(1) ? ad_un(ad, OP_NEG, T(1)) : NULL); }
/* Binary elementwise ops: the sum of each input's partial product. */
static IrNode *jvp_binary(Ad *ad, IrNode *y, IrNode **t) {
  IrNode *r = NULL;
  for (int i = 0; i < 2; i++)
    if (T(i)) r = ad_add(ad, r, vjp_rules[y->op](ad, y, i, T(i)));
  return r;
}
static IrNode *jvp_select(Ad *ad, IrNode *y, IrNode **t) {
  if (!T(1) && !T(2)) return NULL;
  return ad_sel(ad, X(0), ad_or_zeros(ad, T(1), y), ad_or_zeros(ad, T(2), y));
}
/* Linear ops with attributes: apply the same op to the tangent. */
static IrNode *jvp_same_op(Ad *ad, IrNode *y, IrNode **t) {
  if (!T(0)) return NULL;
  IrNode *n = ir_node(ad->m, ad->f, y->op, T(0)->dtype, y->rank, y->shape, 1, &T(0), ad->loc);
  n->attr = y->attr;
  return n;
}
static IrNode *jvp_cast(Ad *ad, IrNode *y, IrNode **t) { return T(0) && dtype_is_float(y->dtype) ? ad_cast(ad, T(0), y->dtype) : NULL; }
static IrNode *jvp_reduce_extremum(Ad *ad, IrNode *y, IrNode **t) {
  if (!T(0)) return NULL;
  IrNode *share;
  IrNode *mask = extremum_mask(ad, y, &share, ad_fill(ad, y, 1));
  unsigned axes = 0;
  for (int a = 0; a < y->attr.naxes; a++) axes |= 1u << y->attr.axes[a];
  IrNode *picked = ad_reduce(ad, OP_SUM, ad_sel(ad, mask, T(0), ad_fill(ad, X(0), 0)), axes, y->attr.keepdims);
  return ad_bin(ad, OP_MUL, picked, share);
}
static IrNode *jvp_matmul(Ad *ad, IrNode *y, IrNode **t) {
  IrNode *a = T(0) ? ad_matmul(ad, T(0), X(1)) : NULL;
  IrNode *b = T(1) ? ad_matmul(ad, X(0), T(1)) : NULL;
  return ad_add(ad, a, b);
}
static IrNode *jvp_by_pass(Ad *ad, IrNode *y, IrNode **t) { ice("%s is differentiated by the jvp pass", op_info[y->op].name); }

const JvpRule jvp_rules[OP_COUNT] = {
    [OP_NEG] = jvp_unary,       [OP_CAST] = jvp_cast,       [OP_COPY] = jvp_unary,
    [OP_ABS] = jvp_unary,       [OP_EXP] = jvp_unary,       [OP_LOG] = jvp_unary,
    [OP_SQRT] = jvp_unary,      [OP_TANH] = jvp_unary,      [OP_SIGMOID] = jvp_unary,
    [OP_LOG1P] = jvp_unary,     [OP_EXPM1] = jvp_unary,     [OP_SOFTPLUS] = jvp_unary,
    [OP_ERF] = jvp_unary,       [OP_ERFC] = jvp_unary,      [OP_LOG1MEXP] = jvp_unary,
    [OP_STOP_GRADIENT] = jvp_none,
    [OP_ADD] = jvp_add,         [OP_SUB] = jvp_sub,         [OP_MUL] = jvp_binary,
    [OP_DIV] = jvp_binary,      [OP_POW] = jvp_binary,      [OP_MAX] = jvp_binary,
    [OP_MIN] = jvp_binary,      [OP_SELECT] = jvp_select,   [OP_BROADCAST] = jvp_same_op,
    [OP_TRANSPOSE] = jvp_same_op, [OP_SUM] = jvp_same_op,   [OP_RMAX] = jvp_reduce_extremum,
    [OP_RMIN] = jvp_reduce_extremum, [OP_MATMUL] = jvp_matmul, [OP_CALL] = jvp_by_pass,
    [OP_PROJ] = jvp_by_pass,
};
