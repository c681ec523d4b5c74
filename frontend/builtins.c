/* builtins.c — the surface builtins: sugar over IR ops, one table row each.
 *
 * Elementwise math (exp, log, ...) needs no row: every op flagged F_BUILTIN
 * in ops.def is callable by its name with one argument per operand.  The
 * rows are the reductions (sum, mean, max, min), where, transpose, the casts,
 * the numerically stable logsumexp / log_softmax / softmax, and the
 * differentiation builtins grad, value_and_grad, vjp and jvp, which take a
 * function name first and call a function derived from it (ir_derive). */
#include <string.h>

#include "frontend.h"

typedef struct Builtin Builtin;
typedef Val (*LowerBuiltin)(Sema *s, const Expr *e, const Builtin *b);
struct Builtin {
  const char *name;
  LowerBuiltin lower;
  Op op;              /* elementwise op (or the only op) */
  Op reduce_op;       /* max/min: the reduction taken with one argument */
  int min_pos, max_pos;
  bool axis_arg;      /* accepts axis= */
  bool keepdims_arg;  /* accepts keepdims= */
  bool ddof_arg;      /* accepts ddof= (var, std) */
  DeriveKind derive;  /* grad, value_and_grad, vjp, jvp */
};

/* Positional and named arguments of a builtin call, checked. */
typedef struct CallArgs {
  Val pos[3];
  int npos;
  bool has_axis, keepdims;
  int64_t axis;
  int64_t ddof;
  SrcLoc axis_loc;
} CallArgs;

static bool literal_int(const Expr *e, int64_t *out) {
  if (e->kind == E_INT) return *out = e->ival, true;
  if (e->kind == E_UNARY && e->op == U_NEG && e->lhs->kind == E_INT) return *out = -e->lhs->ival, true;
  return false;
}

/* axis=k and keepdims=b take literals, or the constant parameters of a
 * polymorphic function (poly.c binds them as literals). */
static bool const_int(Sema *s, const Expr *e, int64_t *out) {
  if (literal_int(e, out)) return true;
  const Binding *b = e->kind == E_NAME ? sema_lookup(s, e->name) : NULL;
  if (!b || !b->val.weak || b->val.weak_float) return false;
  *out = b->val.i;
  return true;
}

bool sema_const_int(Sema *s, const Expr *e, int64_t *out) { return const_int(s, e, out); }

static bool const_bool(Sema *s, const Expr *e, bool *out) {
  if (e->kind == E_BOOL) return *out = e->ival, true;
  const Binding *b = e->kind == E_NAME ? sema_lookup(s, e->name) : NULL;
  const IrNode *n = b ? b->val.node : NULL;
  if (!n || n->op != OP_CONST || n->dtype != DT_BOOL || n->rank) return false;
  *out = n->attr.i;
  return true;
}

static bool given_twice(Sema *s, const Expr *e, const Arg *a) {
  for (const Arg *prev = e->args; prev < a; prev++)
    if (prev->name && strcmp(prev->name, a->name) == 0) {
      sema_error(s, a->loc, "%s= is given twice", a->name);
      return true;
    }
  return false;
}

static void unknown_named_arg(Sema *s, const Expr *e, const Arg *a, const char *const *known, int nknown) {
  for (int i = 0; i < nknown; i++)
    if (sema_edit_distance(a->name, known[i]) <= 2) {
      sema_error(s, a->loc, "%s() has no argument named '%s'; did you mean '%s'?", e->name, a->name, known[i]);
      return;
    }
  sema_error(s, a->loc, "%s() has no argument named '%s'", e->name, a->name);
}

static bool named_arg(Sema *s, const Expr *e, const Builtin *b, const Arg *a, CallArgs *out) {
  if (given_twice(s, e, a)) return false;
  if (b->axis_arg && strcmp(a->name, "axis") == 0) {
    out->has_axis = true;
    out->axis_loc = a->value->loc;
    if (const_int(s, a->value, &out->axis)) return true;
    sema_error(s, a->value->loc, "axis= must be an integer literal");
    return false;
  }
  if (b->keepdims_arg && strcmp(a->name, "keepdims") == 0) {
    if (const_bool(s, a->value, &out->keepdims)) return true;
    sema_error(s, a->value->loc, "keepdims= must be true or false");
    return false;
  }
  if (b->axis_arg && strcmp(a->name, "keepdims") == 0) {
    sema_error(s, a->loc, "%s() keeps the shape of its argument and takes no keepdims=", e->name);
    return false;
  }
  if (b->ddof_arg && strcmp(a->name, "ddof") == 0) {
    if (literal_int(a->value, &out->ddof) && out->ddof >= 0) return true;
    sema_error(s, a->value->loc, "ddof= must be a non-negative integer literal");
    return false;
  }
  const char *known[3];
  int nknown = 0;
  if (b->axis_arg) known[nknown++] = "axis";
  if (b->keepdims_arg) known[nknown++] = "keepdims";
  if (b->ddof_arg) known[nknown++] = "ddof";
  unknown_named_arg(s, e, a, known, nknown);
  return false;
}

static bool builtin_args(Sema *s, const Expr *e, const Builtin *b, CallArgs *out) {
  bool ok = true;
  memset(out, 0, sizeof *out);
  for (int i = 0; i < e->nargs; i++) {
    const Arg *a = &e->args[i];
    if (a->name) {
      ok = named_arg(s, e, b, a, out) && ok;
    } else if (out->npos < 3) {
      out->pos[out->npos] = sema_lower_expr(s, a->value);
      ok = ok && !out->pos[out->npos].poison;
      out->npos++;
    } else {
      out->npos++;
    }
  }
  if (ok && (out->npos < b->min_pos || out->npos > b->max_pos)) {
    if (b->min_pos == b->max_pos)
      sema_error(s, e->loc, "%s() takes %d argument%s, got %d", e->name, b->min_pos, b->min_pos == 1 ? "" : "s", out->npos);
    else
      sema_error(s, e->loc, "%s() takes %d to %d arguments, got %d", e->name, b->min_pos, b->max_pos, out->npos);
    return false;
  }
  return ok;
}

static Val lower_elementwise_builtin(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return sema_poison();
  if (a.npos == 1) a.pos[0] = sema_materialize_default(s, a.pos[0]);
  char what[64];
  snprintf(what, sizeof what, "%s()", e->name);
  return sema_elementwise(s, b->op, a.pos, a.npos, what, e->loc);
}

/* ---- reductions ------------------------------------------------------------ */

/* The reduced-axes mask of x for axis=, or all axes. */
static bool reduction_axes(Sema *s, const CallArgs *a, const IrNode *x, unsigned *mask) {
  if (!a->has_axis) {
    *mask = (1u << x->rank) - 1;
    return true;
  }
  int64_t ax = a->axis < 0 ? a->axis + x->rank : a->axis;
  if (ax < 0 || ax >= x->rank) {
    char tb[256];
    sema_error(s, a->axis_loc, "axis %lld is out of range for %s (rank %d)", (long long)a->axis, sema_type_text(s, x, tb, sizeof tb),
               x->rank);
    return false;
  }
  *mask = 1u << ax;
  return true;
}

static Val reduce(Sema *s, const Expr *e, Op op, CallArgs *a) {
  Val x = sema_materialize_default(s, a->pos[0]);
  if (x.poison) return sema_poison();
  char what[64];
  snprintf(what, sizeof what, "%s()", e->name);
  unsigned mask;
  if (!sema_check_operand_class(s, op, &x, what, e->loc) || !reduction_axes(s, a, x.node, &mask)) return sema_poison();
  if (mask == 0 && op_info[op].dtype == DTR_INDEX) return sema_typed(ir_const(s->m, s->fn, DT_I64, 0, 0, e->loc)); /* argmax of a scalar */
  if (mask == 0) return x; /* a scalar: nothing to reduce */
  return sema_typed(ir_reduce(s->m, s->fn, op, x.node, mask, a->keepdims, e->loc));
}

static Val lower_reduction(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return sema_poison();
  if (a.npos == 2 && b->reduce_op != OP_COUNT) {
    if (a.has_axis || a.keepdims) {
      sema_error(s, e->loc, "%s(a, b) is elementwise and takes no axis=; %s(x, axis=k) reduces", e->name, e->name);
      return sema_poison();
    }
    char what[64];
    snprintf(what, sizeof what, "%s()", e->name);
    return sema_elementwise(s, b->op, a.pos, 2, what, e->loc);
  }
  return reduce(s, e, b->reduce_op != OP_COUNT ? b->reduce_op : b->op, &a);
}

/* The one argument of a float-only builtin, with a default dtype. */
static bool float_operand(Sema *s, const Expr *e, Val *x) {
  *x = sema_materialize_default(s, *x);
  if (x->poison) return false;
  if (dtype_is_float(x->node->dtype)) return true;
  char tb[256];
  sema_error(s, e->loc, "%s() needs floating point, got %s; cast first, e.g. f32(x)", e->name, sema_type_text(s, x->node, tb, sizeof tb));
  return false;
}

/* The count of the reduced axes, minus ddof, as a value of x's dtype. */
static IrNode *count_of(Sema *s, const IrNode *x, unsigned mask, int64_t ddof, SrcLoc at) {
  Dim prod = dim_lit(s->m->dims, 1);
  for (int d = 0; d < x->rank; d++)
    if (mask & (1u << d)) prod = dim_mul(s->m->dims, prod, x->shape[d]);
  IrNode *n = ir_node(s->m, s->fn, OP_DIMSIZE, x->dtype, 0, NULL, 0, NULL, at);
  n->attr.dim = ddof ? dim_sub(s->m->dims, prod, dim_lit(s->m->dims, ddof)) : prod;
  return n;
}

/* mean(x) = sum(x) / count, where count is the product of the reduced dims
 * (symbolic dims become a dimsize node evaluated at call time). */
static Val lower_mean(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return sema_poison();
  Val x = a.pos[0];
  unsigned mask;
  if (!float_operand(s, e, &x) || !reduction_axes(s, &a, x.node, &mask)) return sema_poison();
  if (mask == 0) return x;
  IrNode *sum = ir_reduce(s->m, s->fn, OP_SUM, x.node, mask, a.keepdims, e->loc);
  Val vals[2] = {sema_typed(sum), sema_typed(count_of(s, x.node, mask, 0, e->loc))};
  return sema_elementwise(s, OP_DIV, vals, 2, "mean()", e->loc);
}

/* ---- logsumexp, log_softmax, softmax ----------------------------------------
 * Written with the maximum subtracted, so logits of +-1e4 neither overflow
 * nor underflow to log(0).  The maximum goes through stop_gradient: the
 * result does not depend on it mathematically, and without it the gradient
 * would add the tie-splitting sub-gradient of max twice (once with each
 * sign), which cancels only up to rounding. */

static IrNode *node_op(Sema *s, Op op, IrNode *a, IrNode *b, SrcLoc at) {
  return b ? ir_binary(s->m, s->fn, op, a, b, at) : ir_unary(s->m, s->fn, op, a, at);
}

/* stop_gradient(max(x, axes, keepdims=true)) broadcast back to x's shape. */
static IrNode *stable_shift(Sema *s, IrNode *x, unsigned mask, SrcLoc at) {
  IrNode *m = ir_reduce(s->m, s->fn, OP_RMAX, x, mask, true, at);
  return node_op(s, OP_STOP_GRADIENT, m, NULL, at);
}

static IrNode *bcast(Sema *s, IrNode *kept, const IrNode *like, SrcLoc at) {
  return ir_broadcast(s->m, s->fn, kept, like->rank, like->shape, at);
}

/* A scalar broadcast to the shape x has after a keepdims reduction of mask. */
static IrNode *bcast_scalar(Sema *s, IrNode *scalar, const IrNode *x, unsigned mask) {
  Dim shape[IR_MAX_RANK];
  for (int d = 0; d < x->rank; d++) shape[d] = mask & (1u << d) ? dim_lit(s->m->dims, 1) : x->shape[d];
  return ir_broadcast(s->m, s->fn, scalar, x->rank, shape, scalar->loc);
}

/* m + log(sum(exp(x - m), axes, keepdims=true)), with the reduced axes kept. */
static IrNode *logsumexp_kept(Sema *s, IrNode *x, unsigned mask, SrcLoc at) {
  IrNode *m = stable_shift(s, x, mask, at);
  IrNode *e = node_op(s, OP_EXP, node_op(s, OP_SUB, x, bcast(s, m, x, at), at), NULL, at);
  IrNode *sum = ir_reduce(s->m, s->fn, OP_SUM, e, mask, true, at);
  return node_op(s, OP_ADD, m, node_op(s, OP_LOG, sum, NULL, at), at);
}

/* The float operand and the reduced axes of a stable builtin; softmax and
 * log_softmax reduce axis=-1 unless told otherwise. */
static bool stable_args(Sema *s, const Expr *e, const Builtin *b, CallArgs *a, unsigned *mask) {
  if (!builtin_args(s, e, b, a) || !float_operand(s, e, &a->pos[0])) return false;
  if (!a->has_axis && !b->keepdims_arg) a->has_axis = true, a->axis = -1, a->axis_loc = e->loc;
  return reduction_axes(s, a, a->pos[0].node, mask);
}

static Val lower_logsumexp(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  unsigned mask;
  if (!stable_args(s, e, b, &a, &mask)) return sema_poison();
  IrNode *x = a.pos[0].node;
  if (mask == 0) return sema_typed(x); /* a scalar: log(exp(x)) */
  IrNode *r = logsumexp_kept(s, x, mask, e->loc);
  /* dropping extent-1 axes: a sum over them is exact */
  if (!a.keepdims) r = ir_reduce(s->m, s->fn, OP_SUM, r, mask, false, e->loc);
  return sema_typed(r);
}

static Val lower_log_softmax(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  unsigned mask;
  if (!stable_args(s, e, b, &a, &mask)) return sema_poison();
  IrNode *x = a.pos[0].node;
  return sema_typed(node_op(s, OP_SUB, x, bcast(s, logsumexp_kept(s, x, mask, e->loc), x, e->loc), e->loc));
}

static Val lower_softmax(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  unsigned mask;
  if (!stable_args(s, e, b, &a, &mask)) return sema_poison();
  IrNode *x = a.pos[0].node;
  IrNode *ex = node_op(s, OP_EXP, node_op(s, OP_SUB, x, bcast(s, stable_shift(s, x, mask, e->loc), x, e->loc), e->loc), NULL, e->loc);
  IrNode *sum = ir_reduce(s->m, s->fn, OP_SUM, ex, mask, true, e->loc);
  return sema_typed(node_op(s, OP_DIV, ex, bcast(s, sum, x, e->loc), e->loc));
}

/* ---- var, std, cumsum ---------------------------------------------------------
 * var(x) = sum((x - mean(x))^2) / max(count - ddof, 0): two passes, the mean
 * first, so no cancellation of E[x^2] - E[x]^2; std is its sqrt.  Both are
 * sugar over sum, sub, mul, div and sqrt, so their gradients are those ops'. */

static IrNode *sum_kept(Sema *s, IrNode *x, unsigned mask, bool keepdims, SrcLoc at) {
  return mask ? ir_reduce(s->m, s->fn, OP_SUM, x, mask, keepdims, at) : x;
}

static Val lower_var(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return sema_poison();
  Val xv = a.pos[0];
  unsigned mask;
  if (!float_operand(s, e, &xv) || !reduction_axes(s, &a, xv.node, &mask)) return sema_poison();
  IrNode *x = xv.node;
  IrNode *mean = node_op(s, OP_DIV, sum_kept(s, x, mask, true, e->loc), bcast_scalar(s, count_of(s, x, mask, 0, e->loc), x, mask), e->loc);
  IrNode *d = node_op(s, OP_SUB, x, ir_broadcast(s->m, s->fn, mean, x->rank, x->shape, e->loc), e->loc);
  IrNode *ss = sum_kept(s, node_op(s, OP_MUL, d, d, e->loc), mask, a.keepdims, e->loc);
  IrNode *zero = ir_const(s->m, s->fn, x->dtype, 0, 0, e->loc);
  IrNode *den = node_op(s, OP_MAX, count_of(s, x, mask, a.ddof, e->loc), zero, e->loc);
  IrNode *v = node_op(s, OP_DIV, ss, ir_broadcast(s->m, s->fn, den, ss->rank, ss->shape, e->loc), e->loc);
  return sema_typed(b->op == OP_SQRT ? node_op(s, OP_SQRT, v, NULL, e->loc) : v);
}

/* cumsum(x, axis=k): the inclusive running sum along axis k, in index order.
 * A vector needs no axis=; a scalar is its own cumsum. */
static Val lower_cumsum(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return sema_poison();
  Val x = sema_materialize_default(s, a.pos[0]);
  unsigned mask;
  if (x.poison || !sema_check_operand_class(s, OP_CUMSUM, &x, "cumsum()", e->loc)) return sema_poison();
  if (x.node->rank == 0) return x;
  if (!a.has_axis && x.node->rank > 1) {
    char tb[256];
    sema_error(s, e->loc, "cumsum() of %s needs axis= (which axis to run along)", sema_type_text(s, x.node, tb, sizeof tb));
    return sema_poison();
  }
  if (!a.has_axis) a.has_axis = true, a.axis = 0;
  if (!reduction_axes(s, &a, x.node, &mask)) return sema_poison();
  return sema_typed(ir_scan(s->m, s->fn, OP_CUMSUM, x.node, __builtin_ctz(mask), e->loc));
}

/* ---- where, transpose, casts ------------------------------------------------ */

static Val lower_where(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return sema_poison();
  return sema_elementwise(s, OP_SELECT, a.pos, 3, "where()", e->loc);
}

/* clamp(x, lo, hi) = min(max(x, lo), hi), as NumPy's clip: NaN propagates,
 * lo > hi gives hi; its derivative is max's and min's (x gets the
 * cotangent strictly inside [lo, hi], the bound outside, half each at a
 * bound). */
static Val lower_clamp(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return sema_poison();
  Val lo[2] = {a.pos[0], a.pos[1]};
  Val hi[2] = {sema_elementwise(s, OP_MAX, lo, 2, "clamp()", e->loc), a.pos[2]};
  if (hi[0].poison) return hi[0];
  return sema_elementwise(s, OP_MIN, hi, 2, "clamp()", e->loc);
}

static Val lower_transpose(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return sema_poison();
  Val x = sema_materialize_default(s, a.pos[0]);
  if (x.poison || x.node->rank < 2) return x;
  int64_t perm[IR_MAX_RANK];
  for (int d = 0; d < x.node->rank; d++) perm[d] = x.node->rank - 1 - d;
  return sema_typed(ir_transpose(s->m, s->fn, x.node, perm, e->loc));
}

/* f32(x), i64(x), ...: explicit conversion.  Float to int truncates toward
 * zero and saturates (NaN gives 0); anything to bool is x != 0. */
static Val lower_cast(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return sema_poison();
  DType t = (DType)dtype_from_name(e->name);
  Val x = a.pos[0];
  if (x.weak && x.weak_float && !dtype_is_float(t)) {
    x.weak_float = false;
    x.i = t == DT_BOOL ? x.f != 0 : (int64_t)x.f;
  }
  if (x.weak && t == DT_BOOL) return sema_typed(ir_const(s->m, s->fn, DT_BOOL, 0, x.i != 0, x.loc));
  x = sema_materialize(s, x, t);
  if (x.poison || x.node->dtype == t) return x;
  return sema_typed(ir_cast(s->m, s->fn, x.node, t, e->loc));
}

/* ---- grad, value_and_grad, vjp, jvp -------------------------------------------
 * `grad(f, a1, ..., wrt=(p, q))` is a call to the function ir_derive declares
 * from f, so its arguments are checked exactly like a user call's. */

/* One derivative call being lowered. */
typedef struct DeriveCall {
  const Expr *e;
  const Builtin *b;
  const FnDecl *decl; /* f */
  IrFunc *of;
  ParamSet wrt;
  char label[160]; /* "grad(f)" in messages */
} DeriveCall;

static int float_results(const IrFunc *f) {
  int n = 0;
  for (int r = 0; r < f->nresults - f->nupdates; r++) n += dtype_is_float(f->results[r]->dtype);
  return n;
}

static void not_a_function(Sema *s, const Expr *e, const Expr *first) {
  const char *name = first->name;
  const char *hint = sema_suggest_function(s, name, false);
  if (sema_lookup(s, name))
    sema_error(s, first->loc, "'%s' is a value, not a function; %s() takes the name of a function of this file first", name, e->name);
  else if (sema_is_builtin(name))
    sema_error(s, first->loc, "%s() differentiates functions of this file, and '%s' is a builtin; wrap it in a function", e->name, name);
  else if (hint)
    sema_error(s, first->loc, "unknown function '%s'; did you mean '%s'?", name, hint);
  else
    sema_error(s, first->loc, "unknown function '%s'", name);
}

/* The function named by the first argument. */
static bool derive_target(Sema *s, DeriveCall *dc) {
  const Expr *e = dc->e;
  if (e->nargs == 0 || e->args[0].name || e->args[0].value->kind != E_NAME) {
    sema_error(s, e->nargs ? e->args[0].loc : e->loc, "%s() takes the name of a function first, e.g. %s(loss, x)", e->name, e->name);
    return false;
  }
  dc->decl = sema_find_fn(s, e->args[0].value->name, &dc->of);
  if (!dc->decl) {
    not_a_function(s, e, e->args[0].value);
    return false;
  }
  if (!dc->of) {
    sema_error(s, e->args[0].loc,
               "%s() is polymorphic (untyped or constant parameters): %s() needs its types; wrap the call in a "
               "function with typed parameters",
               dc->decl->name, e->name);
    return false;
  }
  snprintf(dc->label, sizeof dc->label, "%s(%s)", e->name, dc->of->name);
  if (!sema_check_differentiable(s, dc->decl, e->args[0].loc, "differentiate")) return false;
  return dc->of->results != NULL; /* its signature had errors */
}

/* One name of wrt=: a floating-point parameter of f, given once. */
/* The index of the param of f that name names, or -1 (reported). */
static int wrt_index(Sema *s, const DeriveCall *dc, const Expr *name) {
  if (name->kind != E_NAME) {
    sema_error(s, name->loc, "wrt= takes parameter names of %s(), e.g. wrt=x or wrt=(W, b)", dc->of->name);
    return -1;
  }
  int best = -1, bestd = (int)strlen(name->name) / 3 + 1;
  for (int i = 0; i < dc->of->nparams; i++) {
    int d = sema_edit_distance(name->name, dc->of->params[i]->name);
    if (d == 0) return i;
    if (d <= bestd) best = i, bestd = d;
  }
  if (best >= 0)
    sema_error(s, name->loc, "%s() has no parameter '%s'; did you mean '%s'?", dc->of->name, name->name, dc->of->params[best]->name);
  else
    sema_error(s, name->loc, "%s() has no parameter '%s'", dc->of->name, name->name);
  return -1;
}

/* One name of wrt=: a floating-point parameter of f, given once, after the
 * ones before it in f (the derivatives come in parameter order, so another
 * order would silently swap them). */
static bool wrt_param(Sema *s, DeriveCall *dc, const Expr *name, ParamSet *set) {
  int i = wrt_index(s, dc, name);
  if (i < 0) return false;
  const IrNode *p = dc->of->params[i];
  char tb[256];
  if (!dtype_is_float(p->dtype)) {
    sema_error(s, name->loc, "cannot differentiate with respect to '%s': it is %s; only floating-point parameters have gradients", p->name,
               sema_type_text(s, p, tb, sizeof tb));
    return false;
  }
  if (ps_has(set, i)) {
    sema_error(s, name->loc, "'%s' appears twice in wrt=", p->name);
    return false;
  }
  int later = ps_next(set, i);
  if (later >= 0) {
    sema_error(s, name->loc,
               "wrt= lists '%s' after '%s', but %s() declares it first; the results come in parameter order, so list it first", p->name,
               dc->of->params[later]->name, dc->of->name);
    return false;
  }
  ps_add(set, i);
  return true;
}

static bool wrt_list(Sema *s, DeriveCall *dc, const Expr *v) {
  if (v->kind != E_TUPLE) return wrt_param(s, dc, v, &dc->wrt);
  bool ok = true;
  for (int i = 0; i < v->nargs; i++) ok = wrt_param(s, dc, v->args[i].value, &dc->wrt) && ok;
  return ok;
}

/* wrt= (the only named argument), or every floating-point parameter. */
static bool derive_wrt(Sema *s, DeriveCall *dc) {
  static const char *const known[] = {"wrt"};
  bool ok = true, given = false;
  for (int i = 1; i < dc->e->nargs; i++) {
    const Arg *a = &dc->e->args[i];
    if (!a->name) continue;
    if (strcmp(a->name, "wrt") != 0) {
      unknown_named_arg(s, dc->e, a, known, 1);
      ok = false;
      continue;
    }
    if (given_twice(s, dc->e, a)) {
      ok = false;
      continue;
    }
    given = true;
    ok = wrt_list(s, dc, a->value) && ok;
  }
  if (!ok || given) return ok;
  dc->wrt = ir_float_params(dc->of);
  if (!ps_empty(&dc->wrt)) return true;
  sema_error(s, dc->e->args[0].loc, "%s() has no floating-point parameter to differentiate with respect to", dc->of->name);
  return false;
}

/* grad and value_and_grad seed the result with 1: it must be a float scalar. */
static bool check_results(Sema *s, DeriveCall *dc) {
  const IrFunc *f = dc->of;
  int nvalues = f->nresults - f->nupdates;
  char tb[256];
  SrcLoc at = dc->e->args[0].loc;
  if (dc->b->derive == DERIVE_GRAD || dc->b->derive == DERIVE_VALUE_AND_GRAD) {
    const IrNode *r = f->results[0];
    if (nvalues == 1 && r->rank == 0 && dtype_is_float(r->dtype)) return true;
    if (nvalues > 1)
      sema_error(s, at, "%s() needs one scalar floating-point result; %s() returns %d values: use vjp()", dc->e->name, f->name, nvalues);
    else if (dtype_is_float(r->dtype))
      sema_error(s, at, "%s() needs one scalar floating-point result; %s() returns %s: use vjp()", dc->e->name, f->name,
                 sema_type_text(s, r, tb, sizeof tb));
    else
      sema_error(s, at, "%s() needs one scalar floating-point result; %s() returns %s, which has no gradient", dc->e->name, f->name,
                 sema_type_text(s, r, tb, sizeof tb));
    return false;
  }
  if (float_results(f)) return true;
  sema_error(s, at, "%s() needs a floating-point result; %s() returns %s", dc->e->name, f->name,
             nvalues == 1 ? sema_type_text(s, f->results[0], tb, sizeof tb) : "no floating-point value");
  return false;
}

/* The arguments after f: f's own, then cotangents (vjp) or tangents (jvp). */
static int expected_args(const DeriveCall *dc, const char **extra, int *nextra) {
  *nextra = 0;
  *extra = "";
  if (dc->b->derive == DERIVE_VJP_CT) *nextra = float_results(dc->of), *extra = "cotangent";
  if (dc->b->derive == DERIVE_JVP) *nextra = ps_count(&dc->wrt), *extra = "tangent";
  return dc->of->nparams + *nextra;
}

static bool count_args(Sema *s, const DeriveCall *dc, int got) {
  const char *extra;
  int nextra, want = expected_args(dc, &extra, &nextra), n = dc->of->nparams;
  if (got == want) return true;
  const char *per = dc->b->derive == DERIVE_VJP_CT ? "one per floating-point result" : "one per wrt parameter";
  if (*extra)
    sema_error(s, dc->e->loc, "%s takes the %d argument%s of %s(), then %d %s%s (%s); got %d argument%s", dc->label, n, n == 1 ? "" : "s",
               dc->of->name, nextra, extra, nextra == 1 ? "" : "s", per, got, got == 1 ? "" : "s");
  else
    sema_error(s, dc->e->loc, "%s takes the %d argument%s of %s(), got %d", dc->label, n, n == 1 ? "" : "s", dc->of->name, got);
  return false;
}

static Val lower_derive(Sema *s, const Expr *e, const Builtin *b) {
  DeriveCall dc = {.e = e, .b = b};
  if (!derive_target(s, &dc)) return sema_poison();
  bool ok = derive_wrt(s, &dc);
  ok = ok && check_results(s, &dc);
  Val *args = tex_calloc((size_t)e->nargs + 1, sizeof(Val));
  int n = 0;
  for (int i = 1; i < e->nargs; i++) {
    if (e->args[i].name) continue;
    args[n] = sema_lower_expr(s, e->args[i].value);
    ok = ok && !args[n++].poison;
  }
  Val v = sema_poison();
  if (ok && count_args(s, &dc, n))
    v = sema_call(s, ir_derive(s->m, dc.of, b->derive, &dc.wrt, NULL, e->loc), args, n, e->loc, dc.label, e->name);
  tex_free(args);
  return v;
}

/* ---- the table ------------------------------------------------------------ */

#define ROW(NAME, LOWER, OP, REDUCE, MINP, MAXP)                                                                                           \
  .name = NAME, .lower = LOWER, .op = OP, .reduce_op = REDUCE, .min_pos = MINP, .max_pos = MAXP
/* The gathers of index.c parse their own arguments. */
static Val lower_take(Sema *s, const Expr *e, const Builtin *b) { return sema_lower_take(s, e); }
static Val lower_one_hot(Sema *s, const Expr *e, const Builtin *b) { return sema_lower_one_hot(s, e); }
static Val lower_index_add(Sema *s, const Expr *e, const Builtin *b) { return sema_lower_index_add(s, e); }
static Val lower_scatter_add(Sema *s, const Expr *e, const Builtin *b) { return sema_lower_scatter_add(s, e); }
static Val lower_stack(Sema *s, const Expr *e, const Builtin *b) { return sema_lower_stack(s, e); }
static Val lower_concat(Sema *s, const Expr *e, const Builtin *b) { return sema_lower_concat(s, e); }
static Val lower_flip(Sema *s, const Expr *e, const Builtin *b) { return sema_lower_flip(s, e); }
static Val lower_tri(Sema *s, const Expr *e, const Builtin *b) { return sema_lower_tri(s, e); }
static Val lower_diag(Sema *s, const Expr *e, const Builtin *b) { return sema_lower_diag(s, e); }
static Val lower_iota(Sema *s, const Expr *e, const Builtin *b) { return sema_lower_iota(s, e); }

static const Builtin builtins[] = {
    {ROW("sum", lower_reduction, OP_SUM, OP_COUNT, 1, 1), .axis_arg = true, .keepdims_arg = true},
    {ROW("mean", lower_mean, OP_SUM, OP_COUNT, 1, 1), .axis_arg = true, .keepdims_arg = true},
    {ROW("max", lower_reduction, OP_MAX, OP_RMAX, 1, 2), .axis_arg = true, .keepdims_arg = true},
    {ROW("min", lower_reduction, OP_MIN, OP_RMIN, 1, 2), .axis_arg = true, .keepdims_arg = true},
    /* issue 9: more reductions and the scan */
    {ROW("prod", lower_reduction, OP_PROD, OP_COUNT, 1, 1), .axis_arg = true, .keepdims_arg = true},
    {ROW("argmax", lower_reduction, OP_ARGMAX, OP_COUNT, 1, 1), .axis_arg = true, .keepdims_arg = true},
    {ROW("argmin", lower_reduction, OP_ARGMIN, OP_COUNT, 1, 1), .axis_arg = true, .keepdims_arg = true},
    {ROW("any", lower_reduction, OP_ANY, OP_COUNT, 1, 1), .axis_arg = true, .keepdims_arg = true},
    {ROW("all", lower_reduction, OP_ALL, OP_COUNT, 1, 1), .axis_arg = true, .keepdims_arg = true},
    {ROW("var", lower_var, OP_COUNT, OP_COUNT, 1, 1), .axis_arg = true, .keepdims_arg = true, .ddof_arg = true},
    {ROW("std", lower_var, OP_SQRT, OP_COUNT, 1, 1), .axis_arg = true, .keepdims_arg = true, .ddof_arg = true},
    {ROW("cumsum", lower_cumsum, OP_CUMSUM, OP_COUNT, 1, 1), .axis_arg = true},
    {ROW("logsumexp", lower_logsumexp, OP_COUNT, OP_COUNT, 1, 1), .axis_arg = true, .keepdims_arg = true},
    {ROW("log_softmax", lower_log_softmax, OP_COUNT, OP_COUNT, 1, 1), .axis_arg = true},
    {ROW("softmax", lower_softmax, OP_COUNT, OP_COUNT, 1, 1), .axis_arg = true},
    {ROW("where", lower_where, OP_SELECT, OP_COUNT, 3, 3)},
    {ROW("clamp", lower_clamp, OP_MAX, OP_COUNT, 3, 3)},
    {ROW("transpose", lower_transpose, OP_TRANSPOSE, OP_COUNT, 1, 1)},
    {ROW("grad", lower_derive, OP_COUNT, OP_COUNT, 0, 0), .derive = DERIVE_GRAD},
    {ROW("value_and_grad", lower_derive, OP_COUNT, OP_COUNT, 0, 0), .derive = DERIVE_VALUE_AND_GRAD},
    {ROW("vjp", lower_derive, OP_COUNT, OP_COUNT, 0, 0), .derive = DERIVE_VJP_CT},
    {ROW("jvp", lower_derive, OP_COUNT, OP_COUNT, 0, 0), .derive = DERIVE_JVP},
    {ROW("take", lower_take, OP_COUNT, OP_COUNT, 2, 2)},
    {ROW("one_hot", lower_one_hot, OP_COUNT, OP_COUNT, 2, 2)},
    {ROW("index_add", lower_index_add, OP_COUNT, OP_COUNT, 3, 3)},
    {ROW("scatter_add", lower_scatter_add, OP_COUNT, OP_COUNT, 3, 3)},
    {ROW("stack", lower_stack, OP_COUNT, OP_COUNT, 0, 0)},
    {ROW("concat", lower_concat, OP_COUNT, OP_COUNT, 0, 0)},
    {ROW("flip", lower_flip, OP_COUNT, OP_COUNT, 0, 0)},
    {ROW("tril", lower_tri, OP_COUNT, OP_COUNT, 0, 0)},
    {ROW("triu", lower_tri, OP_COUNT, OP_COUNT, 0, 0)},
    {ROW("diag", lower_diag, OP_COUNT, OP_COUNT, 0, 0)},
    {ROW("iota", lower_iota, OP_COUNT, OP_COUNT, 0, 0)},
    {ROW("arange", lower_iota, OP_COUNT, OP_COUNT, 0, 0)},
};
#undef ROW

/* Finds a builtin by name: a row above, a cast, or an F_BUILTIN op. */
static bool find_builtin(const char *name, Builtin *out) {
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    if (strcmp(builtins[i].name, name) == 0) return *out = builtins[i], true;
  if (dtype_from_name(name) >= 0)
    return *out = (Builtin){.name = name, .lower = lower_cast, .op = OP_CAST, .reduce_op = OP_COUNT, .min_pos = 1, .max_pos = 1}, true;
  int op = op_from_name(name);
  if (op >= 0 && (op_info[op].flags & F_BUILTIN))
    return *out = (Builtin){.name = name,
                            .lower = lower_elementwise_builtin,
                            .op = (Op)op,
                            .reduce_op = OP_COUNT,
                            .min_pos = op_info[op].arity,
                            .max_pos = op_info[op].arity},
           true;
  return false;
}

bool sema_is_builtin(const char *name) {
  Builtin b;
  for (int i = 0; sema_shape_builtin_name(i); i++)
    if (strcmp(sema_shape_builtin_name(i), name) == 0) return true;
  return find_builtin(name, &b);
}

bool sema_lower_builtin(Sema *s, const Expr *e, Val *out) {
  Builtin b;
  if (sema_lower_shape_builtin(s, e, out)) return true; /* frontend/shape.c */
  if (!find_builtin(e->name, &b)) return false;
  *out = b.lower(s, e, &b);
  return true;
}

const char *sema_closest_builtin(const char *name, int *max_distance) {
  const char *best = NULL;
#define CONSIDER(cand)                                                                                                                     \
  do {                                                                                                                                     \
    int d_ = sema_edit_distance(name, cand);                                                                                               \
    if (d_ > 0 && d_ <= *max_distance) best = (cand), *max_distance = d_;                                                                  \
  } while (0)
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) CONSIDER(builtins[i].name);
  for (int i = 0; sema_shape_builtin_name(i); i++) CONSIDER(sema_shape_builtin_name(i));
  for (int i = 0; i < OP_COUNT; i++)
    if (op_info[i].flags & F_BUILTIN) CONSIDER(op_info[i].name);
#undef CONSIDER
  return best;
}
