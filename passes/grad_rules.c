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
#define T(i) (t[i])

/* ---- reverse rules ------------------------------------------------------- */

static IrNode *vjp_neg(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_un(ib, OP_NEG, ct); }
static IrNode *vjp_copy(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return ct; }
static IrNode *vjp_none(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return NULL; }
static IrNode *vjp_cast(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  return dtype_is_float(X(0)->dtype) ? irb_cast(ib, ct, X(0)->dtype) : NULL;
}
static IrNode *vjp_exp(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_bin(ib, OP_MUL, ct, y); }
static IrNode *vjp_log(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_bin(ib, OP_DIV, ct, X(0)); }
static IrNode *vjp_sqrt(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_bin(ib, OP_DIV, ct, irb_bin(ib, OP_ADD, y, y)); }
static IrNode *vjp_tanh(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  return irb_bin(ib, OP_MUL, ct, irb_bin(ib, OP_SUB, irb_fill(ib, y, 1), irb_bin(ib, OP_MUL, y, y)));
}
static IrNode *vjp_sigmoid(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  return irb_bin(ib, OP_MUL, ct, irb_bin(ib, OP_MUL, y, irb_bin(ib, OP_SUB, irb_fill(ib, y, 1), y)));
}
static IrNode *vjp_log1p(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  return irb_bin(ib, OP_DIV, ct, irb_bin(ib, OP_ADD, irb_fill(ib, y, 1), X(0)));
}
/* expm1'(x) = exp(x), not expm1(x) + 1: that sum cancels to 0 below x = -37 */
static IrNode *vjp_expm1(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_bin(ib, OP_MUL, ct, irb_un(ib, OP_EXP, X(0))); }
static IrNode *vjp_softplus(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_bin(ib, OP_MUL, ct, irb_un(ib, OP_SIGMOID, X(0))); }
/* erf'(x) = 2/sqrt(pi) * exp(-x^2), erfc' its negative */
static IrNode *gauss(IrBuilder *ib, IrNode *x, double scale) {
  return irb_bin(ib, OP_MUL, irb_fill(ib, x, scale), irb_un(ib, OP_EXP, irb_un(ib, OP_NEG, irb_bin(ib, OP_MUL, x, x))));
}
static IrNode *vjp_erf(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_bin(ib, OP_MUL, ct, gauss(ib, X(0), M_2_SQRTPI)); }
static IrNode *vjp_erfc(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_bin(ib, OP_MUL, ct, gauss(ib, X(0), -M_2_SQRTPI)); }
/* d/dx log(1 - e^x) = -e^x/(1 - e^x) = -1/expm1(-x): no cancellation near 0 */
static IrNode *vjp_log1mexp(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  return irb_un(ib, OP_NEG, irb_bin(ib, OP_DIV, ct, irb_un(ib, OP_EXPM1, irb_un(ib, OP_NEG, X(0)))));
}
/* sin' = cos, cos' = -sin */
static IrNode *vjp_sin(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_bin(ib, OP_MUL, ct, irb_un(ib, OP_COS, X(0))); }
static IrNode *vjp_cos(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  return irb_un(ib, OP_NEG, irb_bin(ib, OP_MUL, ct, irb_un(ib, OP_SIN, X(0))));
}
/* x > 0 ? ct : x < 0 ? -ct : 0 */
static IrNode *signed_ct(IrBuilder *ib, IrNode *x, IrNode *ct) {
  IrNode *zero = irb_fill(ib, x, 0);
  return irb_sel(ib, irb_bin(ib, OP_GT, x, zero), ct, irb_sel(ib, irb_bin(ib, OP_LT, x, zero), irb_un(ib, OP_NEG, ct), zero));
}
static IrNode *vjp_abs(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return signed_ct(ib, X(0), ct); }
static IrNode *vjp_add(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return ct; }
static IrNode *vjp_sub(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return i ? irb_un(ib, OP_NEG, ct) : ct; }
static IrNode *vjp_mul(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_bin(ib, OP_MUL, ct, X(1 - i)); }
static IrNode *vjp_div(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  IrNode *q = irb_bin(ib, OP_DIV, ct, X(1));
  return i ? irb_un(ib, OP_NEG, irb_bin(ib, OP_MUL, q, y)) : q;
}
/* d(a**b)/da = b * a**(b-1); d/db = y * log(a) where a > 0, else 0 */
static IrNode *pow_partial(IrBuilder *ib, IrNode *y, int i) {
  if (i == 0) return irb_bin(ib, OP_MUL, X(1), irb_bin(ib, OP_POW, X(0), irb_bin(ib, OP_SUB, X(1), irb_fill(ib, y, 1))));
  IrNode *zero = irb_fill(ib, y, 0);
  return irb_sel(ib, irb_bin(ib, OP_GT, X(0), zero), irb_bin(ib, OP_MUL, y, irb_un(ib, OP_LOG, X(0))), zero);
}
static IrNode *vjp_pow(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_bin(ib, OP_MUL, ct, pow_partial(ib, y, i)); }
/* Weight of operand i in max/min: 1 where it wins, 1/2 on a tie, else 0. */
static IrNode *extremum_weight(IrBuilder *ib, IrNode *y, int i) {
  Op wins = y->op == OP_MAX ? OP_GT : OP_LT;
  IrNode *zero = irb_fill(ib, y, 0);
  return irb_sel(ib, irb_bin(ib, wins, X(i), X(1 - i)), irb_fill(ib, y, 1),
                 irb_sel(ib, irb_bin(ib, OP_EQ, X(i), X(1 - i)), irb_fill(ib, y, 0.5), zero));
}
static IrNode *vjp_extremum(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_bin(ib, OP_MUL, ct, extremum_weight(ib, y, i)); }
static IrNode *vjp_select(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  if (i == 0) return NULL;
  IrNode *zero = irb_fill(ib, y, 0);
  return i == 1 ? irb_sel(ib, X(0), ct, zero) : irb_sel(ib, X(0), zero, ct);
}

/* Sums ct over the axes the broadcast created or stretched. */
static IrNode *vjp_broadcast(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  const IrNode *x = X(0);
  unsigned stretched = 0, created = (1u << y->rank) - 1;
  for (int a = 0; a < x->rank; a++) {
    int o = (int)y->attr.axes[a];
    created &= ~(1u << o);
    if (dim_is_one(x->shape[a]) && !dim_is_one(y->shape[o])) stretched |= 1u << o;
  }
  IrNode *r = irb_reduce(ib, OP_SUM, ct, stretched, true);
  r = irb_reduce(ib, OP_SUM, r, created, false);
  return r;
}
static IrNode *vjp_transpose(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  int64_t inv[IR_MAX_RANK];
  for (int a = 0; a < y->rank; a++) inv[y->attr.axes[a]] = a;
  return irb_transpose(ib, ct, inv);
}
/* ct back to the reduced input's shape. */
static IrNode *unreduce(IrBuilder *ib, IrNode *y, IrNode *ct) {
  const IrNode *x = X(0);
  unsigned mask = 0;
  for (int a = 0; a < y->attr.naxes; a++) mask |= 1u << y->attr.axes[a];
  int64_t axes[IR_MAX_RANK];
  for (int a = 0, j = 0; a < x->rank; a++)
    if (y->attr.keepdims)
      axes[a] = a;
    else if (!(mask & (1u << a)))
      axes[j++] = a;
  return irb_bcast_axes(ib, ct, x->rank, x->shape, axes);
}
static IrNode *vjp_reshape(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_reshape_like(ib, ct, X(0)); }
static IrNode *vjp_sum(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return unreduce(ib, y, ct); }
/* The maxima of reduce_max/min share the cotangent evenly. */
static IrNode *extremum_mask(IrBuilder *ib, IrNode *y, IrNode **share_of, IrNode *v) {
  IrNode *mask = irb_bin(ib, OP_EQ, X(0), unreduce(ib, y, y));
  unsigned axes = 0;
  for (int a = 0; a < y->attr.naxes; a++) axes |= 1u << y->attr.axes[a];
  IrNode *count = irb_reduce(ib, OP_SUM, irb_cast(ib, mask, y->dtype), axes, y->attr.keepdims);
  *share_of = irb_bin(ib, OP_DIV, v, count);
  return mask;
}
static IrNode *vjp_reduce_extremum(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  IrNode *share;
  IrNode *mask = extremum_mask(ib, y, &share, ct);
  return irb_sel(ib, mask, unreduce(ib, y, share), irb_fill(ib, X(0), 0));
}
/* outer(u[M], v[K]) -> [M, K] */
static IrNode *outer(IrBuilder *ib, IrNode *u, IrNode *v) {
  Dim shape[2] = {u->shape[0], v->shape[0]};
  static const int64_t a0[1] = {0}, a1[1] = {1};
  return irb_bin(ib, OP_MUL, irb_bcast_axes(ib, u, 2, shape, a0), irb_bcast_axes(ib, v, 2, shape, a1));
}
/* ---- issue 9: prod, cumsum, batched matmul ---- */

static unsigned reduced_axes(const IrNode *y) {
  unsigned axes = 0;
  for (int a = 0; a < y->attr.naxes; a++) axes |= 1u << y->attr.axes[a];
  return axes;
}
/* d prod / d x_i = the product of the other elements of x_i's slice, found by
 * counting zeros, so it is right where elements are exactly 0: with no zero
 * in the slice it is p / x_i (p the product of the slice), with one zero it
 * is the product of the nonzero elements at the zero and 0 elsewhere, with
 * two or more it is 0. */
static IrNode *prod_others(IrBuilder *ib, IrNode *y) {
  IrNode *x = X(0), *zero = irb_fill(ib, x, 0);
  unsigned axes = reduced_axes(y);
  IrNode *is0 = irb_bin(ib, OP_EQ, x, zero);
  IrNode *p = unreduce(ib, y, irb_reduce(ib, OP_PROD, irb_sel(ib, is0, irb_fill(ib, x, 1), x), axes, y->attr.keepdims));
  IrNode *nzeros = unreduce(ib, y, irb_reduce(ib, OP_SUM, irb_cast(ib, is0, x->dtype), axes, y->attr.keepdims));
  IrNode *at_zero = irb_sel(ib, irb_bin(ib, OP_EQ, nzeros, irb_fill(ib, x, 1)), p, zero);
  IrNode *elsewhere = irb_sel(ib, irb_bin(ib, OP_EQ, nzeros, zero), irb_bin(ib, OP_DIV, p, x), zero);
  return irb_sel(ib, is0, at_zero, elsewhere);
}
static IrNode *vjp_prod(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  return irb_bin(ib, OP_MUL, unreduce(ib, y, ct), prod_others(ib, y));
}
static IrNode *jvp_prod(IrBuilder *ib, IrNode *y, IrNode **t) {
  if (!T(0)) return NULL;
  return irb_reduce(ib, OP_SUM, irb_bin(ib, OP_MUL, prod_others(ib, y), T(0)), reduced_axes(y), y->attr.keepdims);
}
/* The cotangent of a running sum is the running sum of the cotangent from
 * the other end. */
static IrNode *vjp_scan(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  return irb_scan(ib, y->op == OP_CUMSUM ? OP_CUMSUM_REV : OP_CUMSUM, ct, (int)y->attr.axes[0]);
}
/* g, a gradient with the product's batch dims, summed to like's shape: over
 * the batch axes like lacks, and those it has as a literal 1. */
static IrNode *sum_to(IrBuilder *ib, IrNode *g, const IrNode *like) {
  int lead = g->rank - like->rank;
  unsigned created = (1u << lead) - 1, stretched = 0;
  for (int a = 0; a < like->rank; a++)
    if (dim_is_one(like->shape[a]) && !dim_is_one(g->shape[a + lead])) stretched |= 1u << (a + lead);
  return irb_reduce(ib, OP_SUM, irb_reduce(ib, OP_SUM, g, stretched, true), created, false);
}
/* x with a literal-1 axis inserted before axis `at`. */
static IrNode *insert_one(IrBuilder *ib, IrNode *x, int at) {
  Dim shape[IR_MAX_RANK];
  int64_t axes[IR_MAX_RANK];
  for (int a = 0, j = 0; a <= x->rank; a++) {
    if (a == at) {
      shape[a] = dim_lit(ib->m->dims, 1);
      continue;
    }
    shape[a] = x->shape[j];
    axes[j++] = a;
  }
  return irb_bcast_axes(ib, x, x->rank + 1, shape, axes);
}
/* A batched product: vectors are made matrices ([K] -> [1, K] on the left,
 * [K, 1] on the right, and ct gets the matching extent-1 axes), then
 * dA = ct @ B^T and dB = A^T @ ct per batch, summed over broadcast batch
 * dims, and the inserted axis summed away (exactly: its extent is 1). */
static IrNode *vjp_batched_matmul(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  IrNode *a = X(0), *b = X(1);
  int nb = y->rank - (a->rank >= 2) - (b->rank >= 2);
  if (a->rank == 1) a = insert_one(ib, a, 0), ct = insert_one(ib, ct, nb);
  if (X(1)->rank == 1) b = insert_one(ib, b, 1), ct = insert_one(ib, ct, ct->rank);
  IrNode *g = i == 0 ? sum_to(ib, irb_matmul(ib, ct, irb_t(ib, b)), a) : sum_to(ib, irb_matmul(ib, irb_t(ib, a), ct), b);
  if (i == 0 && X(0)->rank == 1) g = irb_reduce(ib, OP_SUM, g, 1u << 0, false);
  if (i == 1 && X(1)->rank == 1) g = irb_reduce(ib, OP_SUM, g, 1u << 1, false);
  return g;
}

static IrNode *vjp_matmul(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  IrNode *a = X(0), *b = X(1);
  if (a->rank > 2 || b->rank > 2) return vjp_batched_matmul(ib, y, i, ct);
  if (a->rank == 2 && b->rank == 2) return i == 0 ? irb_matmul(ib, ct, irb_t(ib, b)) : irb_matmul(ib, irb_t(ib, a), ct);
  if (a->rank == 2) return i == 0 ? outer(ib, ct, b) : irb_matmul(ib, irb_t(ib, a), ct);
  if (b->rank == 2) return i == 0 ? irb_matmul(ib, b, ct) : outer(ib, a, ct);
  return irb_bin(ib, OP_MUL, irb_bcast_like(ib, ct, X(1 - i)), X(1 - i));
}
/* Calls and projections are differentiated by the passes themselves
 * (through the callee's derived or user-written rule). */
static IrNode *vjp_by_pass(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  ice("%s is differentiated by the autodiff pass", op_info[y->op].name);
}

/* rsqrt'(x) = -rsqrt(x)^3 / 2 */
static IrNode *vjp_rsqrt(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  return irb_bin(ib, OP_MUL, ct, irb_bin(ib, OP_MUL, irb_bin(ib, OP_MUL, y, y), irb_bin(ib, OP_MUL, y, irb_fill(ib, y, -0.5))));
}
/* d/da logaddexp(a, b) = e^a / (e^a + e^b) = sigmoid(a - b) */
static IrNode *vjp_logaddexp(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  return irb_bin(ib, OP_MUL, ct, irb_un(ib, OP_SIGMOID, irb_bin(ib, OP_SUB, X(i), X(1 - i))));
}

/* lgamma' = digamma, digamma' = trigamma, trigamma' = tetragamma
 * (tetragamma has no rule: see autodiff_note_nondiff) */
static IrNode *vjp_lgamma(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_bin(ib, OP_MUL, ct, irb_un(ib, OP_DIGAMMA, X(0))); }
static IrNode *vjp_digamma(IrBuilder *ib, IrNode *y, int i, IrNode *ct) { return irb_bin(ib, OP_MUL, ct, irb_un(ib, OP_TRIGAMMA, X(0))); }
static IrNode *vjp_trigamma(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  return irb_bin(ib, OP_MUL, ct, irb_un(ib, OP_TETRAGAMMA, X(0)));
}

/* float a % b = a - b floor(a/b): d/da = 1, d/db = -floor(a/b) (piecewise) */
static IrNode *vjp_mod(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  if (i == 0) return ct;
  return irb_un(ib, OP_NEG, irb_bin(ib, OP_MUL, ct, irb_un(ib, OP_FLOOR, irb_bin(ib, OP_DIV, X(0), X(1)))));
}

const VjpRule vjp_rules[OP_COUNT] = {
    [OP_NEG] = vjp_neg,
    [OP_CAST] = vjp_cast,
    [OP_COPY] = vjp_copy,
    [OP_ABS] = vjp_abs,
    [OP_EXP] = vjp_exp,
    [OP_LOG] = vjp_log,
    [OP_SQRT] = vjp_sqrt,
    [OP_TANH] = vjp_tanh,
    [OP_SIGMOID] = vjp_sigmoid,
    [OP_LOG1P] = vjp_log1p,
    [OP_EXPM1] = vjp_expm1,
    [OP_SOFTPLUS] = vjp_softplus,
    [OP_ERF] = vjp_erf,
    [OP_ERFC] = vjp_erfc,
    [OP_LOG1MEXP] = vjp_log1mexp,
    [OP_SIN] = vjp_sin,
    [OP_COS] = vjp_cos,
    [OP_STOP_GRADIENT] = vjp_none,
    [OP_ADD] = vjp_add,
    [OP_SUB] = vjp_sub,
    [OP_MUL] = vjp_mul,
    [OP_DIV] = vjp_div,
    [OP_POW] = vjp_pow,
    [OP_MAX] = vjp_extremum,
    [OP_MIN] = vjp_extremum,
    [OP_SELECT] = vjp_select,
    [OP_BROADCAST] = vjp_broadcast,
    [OP_TRANSPOSE] = vjp_transpose,
    [OP_RESHAPE] = vjp_reshape,
    [OP_SUM] = vjp_sum,
    [OP_RMAX] = vjp_reduce_extremum,
    [OP_RMIN] = vjp_reduce_extremum,
    [OP_MATMUL] = vjp_matmul,
    [OP_GEN] = vjp_region,
    [OP_SCATTER] = vjp_region,
    [OP_PROD] = vjp_prod,
    [OP_CUMSUM] = vjp_scan,
    [OP_CUMSUM_REV] = vjp_scan,
    [OP_CALL] = vjp_by_pass,
    [OP_PROJ] = vjp_by_pass,
    [OP_IF] = vjp_by_pass, /* issue 10: grad_if.c */
    /* issue 9: floor, ceil, round and sign are flat (derivative 0) */
    [OP_SIGN] = vjp_none,
    [OP_FLOOR] = vjp_none,
    [OP_CEIL] = vjp_none,
    [OP_ROUND] = vjp_none,
    [OP_RSQRT] = vjp_rsqrt,
    [OP_LOGADDEXP] = vjp_logaddexp,
    /* issue 9: the gamma family */
    [OP_LGAMMA] = vjp_lgamma,
    [OP_DIGAMMA] = vjp_digamma,
    [OP_TRIGAMMA] = vjp_trigamma,
    [OP_MOD] = vjp_mod, /* floats (integers carry no cotangent) */
};

/* ---- forward rules ------------------------------------------------------- */

/* An elementwise op's Jacobian is diagonal, so its vjp rule multiplies the
 * cotangent by each partial derivative; fed a tangent instead, the same rule
 * gives that input's share of the tangent, and the shares add up.  This is
 * the jvp rule of every elementwise op the table below does not name. */
static IrNode *jvp_elementwise(IrBuilder *ib, IrNode *y, IrNode **t) {
  IrNode *r = NULL;
  for (int i = 0; i < y->nargs; i++)
    if (T(i)) r = irb_add(ib, r, vjp_rules[y->op](ib, y, i, T(i)));
  return r;
}
static IrNode *jvp_select(IrBuilder *ib, IrNode *y, IrNode **t) {
  if (!T(1) && !T(2)) return NULL;
  return irb_sel(ib, X(0), irb_or_zeros(ib, T(1), y), irb_or_zeros(ib, T(2), y));
}
/* Linear ops with attributes: apply the same op to the tangent. */
static IrNode *jvp_same_op(IrBuilder *ib, IrNode *y, IrNode **t) {
  if (!T(0)) return NULL;
  IrNode *n = ir_node(ib->m, ib->f, y->op, T(0)->dtype, y->rank, y->shape, 1, &T(0), ib->loc);
  n->attr = y->attr;
  return n;
}
static IrNode *jvp_cast(IrBuilder *ib, IrNode *y, IrNode **t) {
  return T(0) && dtype_is_float(y->dtype) ? irb_cast(ib, T(0), y->dtype) : NULL;
}
static IrNode *jvp_reduce_extremum(IrBuilder *ib, IrNode *y, IrNode **t) {
  if (!T(0)) return NULL;
  IrNode *share;
  IrNode *mask = extremum_mask(ib, y, &share, irb_fill(ib, y, 1));
  unsigned axes = 0;
  for (int a = 0; a < y->attr.naxes; a++) axes |= 1u << y->attr.axes[a];
  IrNode *picked = irb_reduce(ib, OP_SUM, irb_sel(ib, mask, T(0), irb_fill(ib, X(0), 0)), axes, y->attr.keepdims);
  return irb_bin(ib, OP_MUL, picked, share);
}
static IrNode *jvp_matmul(IrBuilder *ib, IrNode *y, IrNode **t) {
  IrNode *a = T(0) ? irb_matmul(ib, T(0), X(1)) : NULL;
  IrNode *b = T(1) ? irb_matmul(ib, X(0), T(1)) : NULL;
  return irb_add(ib, a, b);
}
static IrNode *jvp_by_pass(IrBuilder *ib, IrNode *y, IrNode **t) { ice("%s is differentiated by the jvp pass", op_info[y->op].name); }

/* The exceptions: ops that are not elementwise, and the elementwise ones
 * whose tangent is not their cotangent rule's (a cast changes the dtype the
 * other way; where() picks instead of adding two masked terms). */
static const JvpRule jvp_exceptions[OP_COUNT] = {
    [OP_CAST] = jvp_cast,   [OP_SELECT] = jvp_select,        [OP_BROADCAST] = jvp_same_op,    [OP_TRANSPOSE] = jvp_same_op,
    [OP_SUM] = jvp_same_op, [OP_RMAX] = jvp_reduce_extremum, [OP_RMIN] = jvp_reduce_extremum, [OP_MATMUL] = jvp_matmul,
    [OP_GEN] = jvp_region,  [OP_SCATTER] = jvp_region,       [OP_CALL] = jvp_by_pass,         [OP_PROJ] = jvp_by_pass,
    [OP_IF] = jvp_by_pass, /* issue 10: grad_if.c */
    [OP_PROD] = jvp_prod,   [OP_CUMSUM] = jvp_same_op,       [OP_CUMSUM_REV] = jvp_same_op,   [OP_RESHAPE] = jvp_same_op,
};

JvpRule jvp_rule(Op op) {
  if (op < 0 || op >= OP_COUNT) return NULL;
  if (jvp_exceptions[op]) return jvp_exceptions[op];
  return (op_info[op].flags & F_ELEM) && vjp_rules[op] ? jvp_elementwise : NULL;
}
