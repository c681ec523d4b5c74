/* sema.c — checks the AST and lowers it to SSA tensor IR in one walk.
 *
 * Requires: a parsed Program.  Produces: one IrFunc per fn, with explicit
 * broadcasts, dtypes and symbolic shapes on every node, and OP_CALL for calls
 * to other functions (the inline pass removes them).
 *
 * Typing rules (lang/reference.md):
 *   - literals are weak: an int literal takes any numeric dtype, a float
 *     literal any float dtype, at the point where it meets a typed value;
 *     literal-only arithmetic folds exactly (f64 / i64) and stays weak;
 *   - arrays of different dtypes never mix: casts are explicit (`f64(x)`);
 *   - NumPy broadcasting, where only a literal 1 stretches;
 *   - each error is reported once; a value that failed to type-check is
 *     "poisoned" so it causes no further errors. */
#include <math.h>
#include <string.h>

#include "frontend.h"

enum { TEX_MAX_CALL_ARGS = 64 };

/* A value during lowering: an IR node, a weak literal, or a poisoned value. */
typedef struct Val {
  IrNode *node;      /* typed value */
  bool weak;         /* literal without a dtype yet */
  bool weak_float;   /* weak: float literal (else int) */
  bool poison;       /* an error was already reported */
  double f;
  int64_t i;
  SrcLoc loc;
} Val;

typedef struct Binding {
  const char *name;
  Val val;
} Binding;

typedef struct Sema {
  IrModule *m;
  Diag *diag;
  const Program *prog;
  IrFunc **funcs;      /* per FnDecl, created before any body is lowered */
  IrFunc *fn;          /* the function being lowered */
  const FnDecl *decl;
  Binding *scope;
  int nscope, scopecap;
} Sema;

static Val poison(void) { return (Val){.poison = true}; }
static Val typed(IrNode *n) { return (Val){.node = n, .loc = n->loc}; }

static void error(Sema *s, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void error(Sema *s, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(s->diag, loc, fmt, ap);
  va_end(ap);
}

/* "f32[N, 10]" for messages; buf must hold 256 bytes. */
static const char *type_text(Sema *s, const IrNode *n, char *buf) {
  ir_type_snprint(s->m, n->dtype, n->rank, n->shape, buf, 256);
  return buf;
}

static const char *val_text(Sema *s, const Val *v, char *buf) {
  if (v->node) return type_text(s, v->node, buf);
  if (v->weak_float) snprintf(buf, 256, "float literal %g", v->f);
  else snprintf(buf, 256, "integer literal %lld", (long long)v->i);
  return buf;
}

/* ---- scopes -------------------------------------------------------------- */

static void bind(Sema *s, const char *name, Val v) {
  if (s->nscope == s->scopecap) {
    s->scopecap = s->scopecap ? s->scopecap * 2 : 16;
    s->scope = tex_realloc(s->scope, sizeof(Binding) * (size_t)s->scopecap);
  }
  s->scope[s->nscope++] = (Binding){name, v};
}

static const Binding *lookup(Sema *s, const char *name) {
  for (int i = s->nscope - 1; i >= 0; i--)
    if (strcmp(s->scope[i].name, name) == 0) return &s->scope[i];
  return NULL;
}

static int edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b), d[32][32];
  if (la > 30 || lb > 30) return 99;
  for (int i = 0; i <= la; i++) d[i][0] = i;
  for (int j = 0; j <= lb; j++) d[0][j] = j;
  for (int i = 1; i <= la; i++)
    for (int j = 1; j <= lb; j++) {
      int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      d[i][j] = best;
    }
  return d[la][lb];
}

/* The closest name in scope, for "did you mean" hints. */
static const char *suggest(Sema *s, const char *name) {
  const char *best = NULL;
  int bestd = (int)strlen(name) / 3 + 1;
  for (int i = 0; i < s->nscope; i++) {
    int d = edit_distance(name, s->scope[i].name);
    if (d <= bestd && d > 0) best = s->scope[i].name, bestd = d;
  }
  return best;
}

/* ---- literals and dtypes ------------------------------------------------- */

static IrNode *constant(Sema *s, DType t, const Val *v) {
  return ir_const(s->m, s->fn, t, v->weak_float ? v->f : (double)v->i, v->i, v->loc);
}

/* Gives a weak literal the dtype t, or reports why it cannot have it. */
static Val materialize(Sema *s, Val v, DType t) {
  if (!v.weak) return v;
  if (t == DT_BOOL) {
    error(s, v.loc, "a number cannot be used as bool; write true or false");
    return poison();
  }
  if (v.weak_float && !dtype_is_float(t)) {
    error(s, v.loc, "float literal %g cannot be used as %s; cast explicitly", v.f, dtype_names[t]);
    return poison();
  }
  if (t == DT_I32 && (v.i < INT32_MIN || v.i > INT32_MAX)) {
    error(s, v.loc, "integer literal %lld does not fit in i32", (long long)v.i);
    return poison();
  }
  return typed(constant(s, t, &v));
}

/* The default dtype of a literal with nothing typed to meet: f32 or i32. */
static Val materialize_default(Sema *s, Val v) {
  return v.weak ? materialize(s, v, v.weak_float ? DT_F32 : DT_I32) : v;
}

/* Makes a and b the same dtype: weak literals adapt to typed values. */
static bool unify_dtypes(Sema *s, Val *a, Val *b, SrcLoc at) {
  if (a->weak && b->weak) {
    *a = materialize_default(s, *a);
    *b = materialize_default(s, *b);
    if (a->poison || b->poison) return false;
  } else if (a->weak) {
    *a = materialize(s, *a, b->node->dtype);
  } else if (b->weak) {
    *b = materialize(s, *b, a->node->dtype);
  }
  if (a->poison || b->poison) return false;
  if (a->node->dtype != b->node->dtype) {
    char ta[256], tb[256];
    error(s, at, "cannot mix %s and %s: arrays never convert implicitly; cast one, e.g. %s(x)",
          type_text(s, a->node, ta), type_text(s, b->node, tb), dtype_names[a->node->dtype]);
    return false;
  }
  return true;
}

/* ---- broadcasting -------------------------------------------------------- */

/* The NumPy broadcast of the shapes of vals[0..n): right-aligned, dims must be
 * provably equal or a literal 1.  Reports the first pair that fails. */
static bool broadcast_shape(Sema *s, Val *vals, int n, SrcLoc at, int *rank, Dim *shape) {
  *rank = 0;
  for (int i = 0; i < n; i++)
    if (vals[i].node->rank > *rank) *rank = vals[i].node->rank;
  for (int d = 0; d < *rank; d++) shape[d] = dim_lit(s->m->dims, 1);
  for (int i = 0; i < n; i++) {
    const IrNode *x = vals[i].node;
    for (int d = 0; d < x->rank; d++) {
      int o = d + *rank - x->rank;
      Dim xd = x->shape[d];
      if (xd == shape[o] || dim_is_one(xd)) continue;
      if (dim_is_one(shape[o])) {
        shape[o] = xd;
        continue;
      }
      char ta[256], tb[256];
      int j = 0;
      while (j < i && (vals[j].node->rank < *rank - o || vals[j].node->shape[o - (*rank - vals[j].node->rank)] != shape[o])) j++;
      error(s, at, "cannot broadcast %s with %s", type_text(s, vals[j < i ? j : 0].node, ta), type_text(s, x, tb));
      return false;
    }
  }
  return true;
}

static IrNode *broadcast_to(Sema *s, IrNode *x, int rank, const Dim *shape, SrcLoc at) {
  bool same = x->rank == rank;
  for (int d = 0; same && d < rank; d++) same = x->shape[d] == shape[d];
  return same ? x : ir_broadcast(s->m, s->fn, x, rank, shape, at);
}

/* Unifies the dtypes of vals[first..n) and broadcasts all n operands to one
 * shape (where() keeps its bool condition out of the dtype unification). */
static bool conform(Sema *s, Val *vals, int n, int first, SrcLoc at) {
  for (int i = 0; i < n; i++)
    if (vals[i].poison) return false;
  for (int i = first + 1; i < n; i++)
    if (!unify_dtypes(s, &vals[first], &vals[i], at)) return false;
  for (int i = first + 1; i < n; i++) /* vals[first] may have been weak when vals[i] was */
    if (!unify_dtypes(s, &vals[i], &vals[first], at)) return false;
  if (n == 1) vals[0] = materialize_default(s, vals[0]);
  int rank;
  Dim shape[IR_MAX_RANK];
  if (!broadcast_shape(s, vals, n, at, &rank, shape)) return false;
  for (int i = 0; i < n; i++) vals[i].node = broadcast_to(s, vals[i].node, rank, shape, at);
  return true;
}

/* ---- expressions ---------------------------------------------------------- */

static Val lower_expr(Sema *s, const Expr *e);

static const struct {
  BinOp bin;
  Op op;
} binop_ops[] = {
    {B_ADD, OP_ADD}, {B_SUB, OP_SUB}, {B_MUL, OP_MUL}, {B_DIV, OP_DIV}, {B_POW, OP_POW},
    {B_EQ, OP_EQ},   {B_NE, OP_NE},   {B_LT, OP_LT},   {B_LE, OP_LE},   {B_GT, OP_GT},
    {B_GE, OP_GE},   {B_AND, OP_AND}, {B_OR, OP_OR},   {U_NEG, OP_NEG}, {U_NOT, OP_NOT},
};

static Op op_of(BinOp b) {
  for (size_t i = 0; i < sizeof binop_ops / sizeof binop_ops[0]; i++)
    if (binop_ops[i].bin == b) return binop_ops[i].op;
  ice("no op for operator %d", b);
}

/* Integer power by repeated multiplication; false on overflow. */
static bool int_pow(int64_t base, int64_t exp, int64_t *out) {
  int64_t r = 1;
  for (int64_t i = 0; i < exp; i++)
    if (__builtin_mul_overflow(r, base, &r)) return false;
  *out = r;
  return true;
}

/* Literal-only arithmetic, folded in f64 (integers in i64) so `1.0 / 3.0`
 * rounds once, when it meets its dtype.  `/` of literals is true division
 * and `**` of an integer by a negative one is a float, as in Python. */
static bool fold_weak(Sema *s, BinOp op, const Val *a, const Val *b, SrcLoc at, Val *out) {
  bool isf = a->weak_float || b->weak_float || op == B_DIV || (op == B_POW && b->i < 0);
  double x = a->weak_float ? a->f : (double)a->i, y = b->weak_float ? b->f : (double)b->i;
  *out = (Val){.weak = true, .weak_float = isf, .loc = at};
  if (isf) {
    switch (op) {
    case B_ADD: out->f = x + y; return true;
    case B_SUB: out->f = x - y; return true;
    case B_MUL: out->f = x * y; return true;
    case B_DIV: out->f = x / y; return true;
    case B_POW: out->f = pow(x, y); return true;
    default: return false;
    }
  }
  bool overflow = false;
  switch (op) {
  case B_ADD: overflow = __builtin_add_overflow(a->i, b->i, &out->i); break;
  case B_SUB: overflow = __builtin_sub_overflow(a->i, b->i, &out->i); break;
  case B_MUL: overflow = __builtin_mul_overflow(a->i, b->i, &out->i); break;
  case B_POW: overflow = !int_pow(a->i, b->i, &out->i); break;
  default: return false;
  }
  if (overflow) {
    error(s, at, "integer literal arithmetic overflows 64 bits");
    *out = poison();
  }
  return true;
}

static Val lower_matmul(Sema *s, const Expr *e, Val a, Val b) {
  if (a.poison || b.poison) return poison();
  if (a.weak || b.weak) {
    error(s, e->loc, "'@' needs arrays on both sides, not a literal");
    return poison();
  }
  if (!unify_dtypes(s, &a, &b, e->loc)) return poison();
  char ta[256], tb[256];
  IrNode *x = a.node, *y = b.node;
  if (x->dtype == DT_BOOL) {
    error(s, e->loc, "'@' needs numbers, not bool arrays");
    return poison();
  }
  if (x->rank < 1 || x->rank > 2 || y->rank < 1 || y->rank > 2) {
    error(s, e->loc, "'@' takes matrices and vectors (rank 1 or 2), got %s @ %s", type_text(s, x, ta), type_text(s, y, tb));
    return poison();
  }
  if (x->shape[x->rank - 1] != y->shape[0]) {
    char da[64], db[64];
    dim_snprint(s->m->dims, x->shape[x->rank - 1], da, sizeof da);
    dim_snprint(s->m->dims, y->shape[0], db, sizeof db);
    bool hint = y->rank == 2 && x->shape[x->rank - 1] == y->shape[1];
    error(s, e->loc, "matrix product %s @ %s: inner dims %s and %s differ%s", type_text(s, x, ta), type_text(s, y, tb), da, db,
          hint ? "; did you mean a @ transpose(b)?" : "");
    return poison();
  }
  return typed(ir_matmul(s->m, s->fn, x, y, e->loc));
}

/* Checks an operand class for op: numbers, floats or bools. */
static bool check_operand_class(Sema *s, Op op, const Val *v, const char *what, SrcLoc at) {
  DType t = v->node->dtype;
  DTypeRule rule = op_info[op].dtype;
  char tb[256];
  if ((rule == DTR_NUM || rule == DTR_FLOAT) && t == DT_BOOL) {
    error(s, at, "%s needs numbers, got %s", what, type_text(s, v->node, tb));
    return false;
  }
  if (rule == DTR_FLOAT && !dtype_is_float(t)) {
    error(s, at, "%s needs floating point, got %s; cast first, e.g. f32(x)", what, type_text(s, v->node, tb));
    return false;
  }
  if (rule == DTR_BOOL && t != DT_BOOL) {
    error(s, at, "%s needs bool operands, got %s", what, type_text(s, v->node, tb));
    return false;
  }
  return true;
}

/* An elementwise op on conformed operands: the common path of operators and
 * builtins alike. */
static Val elementwise(Sema *s, Op op, Val *vals, int n, const char *what, SrcLoc at) {
  int first = op == OP_SELECT ? 1 : 0;
  if (op == OP_SELECT && !vals[0].poison && (vals[0].weak || vals[0].node->dtype != DT_BOOL)) {
    char tb[256];
    error(s, vals[0].loc, "where() needs a bool condition, got %s", val_text(s, &vals[0], tb));
    return poison();
  }
  if (!conform(s, vals, n, first, at)) return poison();
  if (!check_operand_class(s, op, &vals[first], what, at)) return poison();
  IrNode *args[3];
  for (int i = 0; i < n; i++) args[i] = vals[i].node;
  DType t = op_info[op].dtype == DTR_CMP || op_info[op].dtype == DTR_BOOL ? DT_BOOL : args[first]->dtype;
  return typed(ir_node(s->m, s->fn, op, t, args[first]->rank, args[first]->shape, n, args, at));
}

static Val lower_binary(Sema *s, const Expr *e) {
  Val a = lower_expr(s, e->lhs), b = lower_expr(s, e->rhs);
  if (e->op == B_MATMUL) return lower_matmul(s, e, a, b);
  if (a.poison || b.poison) return poison();
  Val folded;
  if (a.weak && b.weak && fold_weak(s, e->op, &a, &b, e->loc, &folded)) return folded;
  char what[32];
  snprintf(what, sizeof what, "'%s'", ast_binop_text(e->op));
  Val vals[2] = {a, b};
  return elementwise(s, op_of(e->op), vals, 2, what, e->loc);
}

static Val lower_unary(Sema *s, const Expr *e) {
  Val a = lower_expr(s, e->lhs);
  if (a.poison) return poison();
  if (a.weak && e->op == U_NEG) {
    a.f = -a.f;
    a.i = -a.i;
    a.loc = e->loc;
    return a;
  }
  a = materialize_default(s, a);
  char what[32];
  snprintf(what, sizeof what, "'%s'", ast_binop_text(e->op));
  return elementwise(s, op_of(e->op), &a, 1, what, e->loc);
}

/* ---- calls ---------------------------------------------------------------- */

/* ---- builtins --------------------------------------------------------------
 * Surface functions that are sugar over IR ops, one row each.  Elementwise
 * math (exp, log, ...) needs no row: every op flagged F_BUILTIN in ops.def is
 * callable by its name with one argument per operand. */

typedef struct Builtin Builtin;
typedef Val (*LowerBuiltin)(Sema *s, const Expr *e, const Builtin *b);
struct Builtin {
  const char *name;
  LowerBuiltin lower;
  Op op;            /* elementwise op (or the only op) */
  Op reduce_op;     /* max/min: the reduction taken with one argument */
  int min_pos, max_pos;
  bool axis_args;   /* accepts axis= and keepdims= */
};

/* Positional and named arguments of a builtin call, checked. */
typedef struct CallArgs {
  Val pos[3];
  int npos;
  bool has_axis, keepdims;
  int64_t axis;
  SrcLoc axis_loc;
} CallArgs;

static bool literal_int(const Expr *e, int64_t *out) {
  if (e->kind == E_INT) return *out = e->ival, true;
  if (e->kind == E_UNARY && e->op == U_NEG && e->lhs->kind == E_INT) return *out = -e->lhs->ival, true;
  return false;
}

static bool named_arg(Sema *s, const Expr *e, const Builtin *b, const Arg *a, CallArgs *out) {
  for (const Arg *prev = e->args; prev < a; prev++)
    if (prev->name && strcmp(prev->name, a->name) == 0) {
      error(s, a->loc, "%s= is given twice", a->name);
      return false;
    }
  if (b->axis_args && strcmp(a->name, "axis") == 0) {
    out->has_axis = true;
    out->axis_loc = a->value->loc;
    if (literal_int(a->value, &out->axis)) return true;
    error(s, a->value->loc, "axis= must be an integer literal");
    return false;
  }
  if (b->axis_args && strcmp(a->name, "keepdims") == 0) {
    if (a->value->kind == E_BOOL) return out->keepdims = a->value->ival, true;
    error(s, a->value->loc, "keepdims= must be true or false");
    return false;
  }
  if (b->axis_args && edit_distance(a->name, "axis") <= 2)
    error(s, a->loc, "%s() has no argument named '%s'; did you mean 'axis'?", e->name, a->name);
  else if (b->axis_args && edit_distance(a->name, "keepdims") <= 2)
    error(s, a->loc, "%s() has no argument named '%s'; did you mean 'keepdims'?", e->name, a->name);
  else
    error(s, a->loc, "%s() has no argument named '%s'", e->name, a->name);
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
      out->pos[out->npos] = lower_expr(s, a->value);
      ok = ok && !out->pos[out->npos].poison;
      out->npos++;
    } else {
      out->npos++;
    }
  }
  if (ok && (out->npos < b->min_pos || out->npos > b->max_pos)) {
    if (b->min_pos == b->max_pos)
      error(s, e->loc, "%s() takes %d argument%s, got %d", e->name, b->min_pos, b->min_pos == 1 ? "" : "s", out->npos);
    else
      error(s, e->loc, "%s() takes %d to %d arguments, got %d", e->name, b->min_pos, b->max_pos, out->npos);
    return false;
  }
  return ok;
}

static Val lower_elementwise_builtin(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return poison();
  if (a.npos == 1) a.pos[0] = materialize_default(s, a.pos[0]);
  char what[64];
  snprintf(what, sizeof what, "%s()", e->name);
  return elementwise(s, b->op, a.pos, a.npos, what, e->loc);
}

/* The reduced-axes mask of x for axis=, or all axes. */
static bool reduction_axes(Sema *s, const CallArgs *a, const IrNode *x, unsigned *mask) {
  if (!a->has_axis) {
    *mask = (1u << x->rank) - 1;
    return true;
  }
  int64_t ax = a->axis < 0 ? a->axis + x->rank : a->axis;
  if (ax < 0 || ax >= x->rank) {
    char tb[256];
    error(s, a->axis_loc, "axis %lld is out of range for %s (rank %d)", (long long)a->axis, type_text(s, x, tb), x->rank);
    return false;
  }
  *mask = 1u << ax;
  return true;
}

static Val reduce(Sema *s, const Expr *e, Op op, CallArgs *a) {
  Val x = materialize_default(s, a->pos[0]);
  if (x.poison) return poison();
  char what[64];
  snprintf(what, sizeof what, "%s()", e->name);
  unsigned mask;
  if (!check_operand_class(s, op, &x, what, e->loc) || !reduction_axes(s, a, x.node, &mask)) return poison();
  if (mask == 0) return x; /* a scalar: nothing to reduce */
  return typed(ir_reduce(s->m, s->fn, op, x.node, mask, a->keepdims, e->loc));
}

static Val lower_reduction(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return poison();
  if (a.npos == 2 && b->reduce_op != OP_COUNT) {
    if (a.has_axis || a.keepdims) {
      error(s, e->loc, "%s(a, b) is elementwise and takes no axis=; %s(x, axis=k) reduces", e->name, e->name);
      return poison();
    }
    char what[64];
    snprintf(what, sizeof what, "%s()", e->name);
    return elementwise(s, b->op, a.pos, 2, what, e->loc);
  }
  return reduce(s, e, b->reduce_op != OP_COUNT ? b->reduce_op : b->op, &a);
}

/* mean(x) = sum(x) / count, where count is the product of the reduced dims
 * (symbolic dims become a dimsize node evaluated at call time). */
static Val lower_mean(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return poison();
  Val x = materialize_default(s, a.pos[0]);
  if (x.poison) return poison();
  if (!dtype_is_float(x.node->dtype)) {
    char tb[256];
    error(s, e->loc, "mean() needs floating point, got %s; cast first, e.g. f32(x)", type_text(s, x.node, tb));
    return poison();
  }
  unsigned mask;
  if (!reduction_axes(s, &a, x.node, &mask)) return poison();
  if (mask == 0) return x;
  Dim count = dim_lit(s->m->dims, 1);
  for (int d = 0; d < x.node->rank; d++)
    if (mask & (1u << d)) count = dim_mul(s->m->dims, count, x.node->shape[d]);
  IrNode *sum = ir_reduce(s->m, s->fn, OP_SUM, x.node, mask, a.keepdims, e->loc);
  IrNode *n = ir_node(s->m, s->fn, OP_DIMSIZE, x.node->dtype, 0, NULL, 0, NULL, e->loc);
  n->attr.dim = count;
  Val vals[2] = {typed(sum), typed(n)};
  return elementwise(s, OP_DIV, vals, 2, "mean()", e->loc);
}

static Val lower_where(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return poison();
  return elementwise(s, OP_SELECT, a.pos, 3, "where()", e->loc);
}

static Val lower_transpose(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return poison();
  Val x = materialize_default(s, a.pos[0]);
  if (x.poison || x.node->rank < 2) return x;
  int64_t perm[IR_MAX_RANK];
  for (int d = 0; d < x.node->rank; d++) perm[d] = x.node->rank - 1 - d;
  return typed(ir_transpose(s->m, s->fn, x.node, perm, e->loc));
}

/* f32(x), i64(x), ...: explicit conversion.  Float to int truncates toward
 * zero and saturates (NaN gives 0); anything to bool is x != 0. */
static Val lower_cast(Sema *s, const Expr *e, const Builtin *b) {
  CallArgs a;
  if (!builtin_args(s, e, b, &a)) return poison();
  DType t = (DType)dtype_from_name(e->name);
  Val x = a.pos[0];
  if (x.weak && x.weak_float && !dtype_is_float(t)) {
    x.weak_float = false;
    x.i = t == DT_BOOL ? x.f != 0 : (int64_t)x.f;
  }
  if (x.weak && t == DT_BOOL) return typed(ir_const(s->m, s->fn, DT_BOOL, 0, x.i != 0, x.loc));
  x = materialize(s, x, t);
  if (x.poison || x.node->dtype == t) return x;
  return typed(ir_cast(s->m, s->fn, x.node, t, e->loc));
}

static const Builtin builtins[] = {
    {"sum", lower_reduction, OP_SUM, OP_COUNT, 1, 1, true},
    {"mean", lower_mean, OP_SUM, OP_COUNT, 1, 1, true},
    {"max", lower_reduction, OP_MAX, OP_RMAX, 1, 2, true},
    {"min", lower_reduction, OP_MIN, OP_RMIN, 1, 2, true},
    {"where", lower_where, OP_SELECT, OP_COUNT, 3, 3, false},
    {"transpose", lower_transpose, OP_TRANSPOSE, OP_COUNT, 1, 1, false},
};

/* Finds a builtin by name: a row above, a cast, or an F_BUILTIN op. */
static bool find_builtin(const char *name, Builtin *out) {
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    if (strcmp(builtins[i].name, name) == 0) return *out = builtins[i], true;
  if (dtype_from_name(name) >= 0) return *out = (Builtin){name, lower_cast, OP_CAST, OP_COUNT, 1, 1, false}, true;
  int op = op_from_name(name);
  if (op >= 0 && (op_info[op].flags & F_BUILTIN))
    return *out = (Builtin){name, lower_elementwise_builtin, (Op)op, OP_COUNT, op_info[op].arity, op_info[op].arity, false}, true;
  return false;
}

/* Matches the call's arguments against the callee's parameter types, binding
 * the callee's size symbols to the caller's dims. */
static bool bind_call_args(Sema *s, const Expr *e, IrFunc *callee, Val *args, Dim *map, int *binder) {
  char ta[256], tb[256];
  for (int i = 0; i < callee->nparams; i++) {
    IrNode *p = callee->params[i];
    if (args[i].weak) {
      if (p->rank != 0) {
        error(s, args[i].loc, "argument '%s' of %s() is %s, but a literal was given", p->name, callee->name, type_text(s, p, ta));
        return false;
      }
      args[i] = materialize(s, args[i], p->dtype);
    }
    if (args[i].poison) return false;
    IrNode *a = args[i].node;
    if (a->dtype != p->dtype || a->rank != p->rank) {
      error(s, args[i].loc, "argument '%s' of %s() must be %s, got %s", p->name, callee->name, type_text(s, p, ta), type_text(s, a, tb));
      return false;
    }
    for (int d = 0; d < p->rank; d++) {
      int sym = dim_as_sym(p->shape[d]);
      if (sym >= 0 && !map[sym]) map[sym] = a->shape[d], binder[sym] = i * IR_MAX_RANK + d;
      Dim want = sym >= 0 ? map[sym] : p->shape[d];
      if (want == a->shape[d]) continue;
      char dw[64], dg[64];
      dim_snprint(s->m->dims, want, dw, sizeof dw);
      dim_snprint(s->m->dims, a->shape[d], dg, sizeof dg);
      if (sym >= 0)
        error(s, args[i].loc, "argument '%s' of %s() is %s, which does not fit %s(%s: %s): %s is %s from dim %d of '%s', but dim %d is %s",
              p->name, callee->name, type_text(s, a, tb), callee->name, p->name, type_text(s, p, ta),
              dim_symbol_name(s->m->dims, sym), dw, binder[sym] % IR_MAX_RANK, callee->params[binder[sym] / IR_MAX_RANK]->name, d, dg);
      else
        error(s, args[i].loc, "argument '%s' of %s() must be %s, got %s: dim %d is %s, not %s", p->name, callee->name,
              type_text(s, p, ta), type_text(s, a, tb), d, dg, dw);
      return false;
    }
  }
  return true;
}

static Val lower_user_call(Sema *s, const Expr *e, IrFunc *callee) {
  if (e->nargs != callee->nparams) {
    error(s, e->loc, "%s() takes %d argument%s, got %d", callee->name, callee->nparams, callee->nparams == 1 ? "" : "s", e->nargs);
    return poison();
  }
  Val args[TEX_MAX_CALL_ARGS];
  if (e->nargs > TEX_MAX_CALL_ARGS) {
    error(s, e->loc, "too many arguments (the limit is %d)", TEX_MAX_CALL_ARGS);
    return poison();
  }
  bool ok = true;
  for (int i = 0; i < e->nargs; i++) {
    if (e->args[i].name) {
      error(s, e->args[i].loc, "%s() takes positional arguments only", callee->name);
      ok = false;
    }
    args[i] = lower_expr(s, e->args[i].value);
    ok = ok && !args[i].poison;
  }
  if (!ok) return poison();
  int nsyms = dim_nsymbols(s->m->dims);
  Dim *map = tex_calloc((size_t)nsyms + 1, sizeof(Dim));
  int *binder = tex_calloc((size_t)nsyms + 1, sizeof(int));
  Val result = poison();
  if (bind_call_args(s, e, callee, args, map, binder)) {
    IrNode *r = callee->results[0], *ops[TEX_MAX_CALL_ARGS];
    Dim shape[IR_MAX_RANK];
    for (int d = 0; d < r->rank; d++) shape[d] = dim_subst(s->m->dims, r->shape[d], map);
    for (int i = 0; i < e->nargs; i++) ops[i] = args[i].node;
    IrNode *call = ir_node(s->m, s->fn, OP_CALL, r->dtype, r->rank, shape, e->nargs, ops, e->loc);
    call->attr.callee = callee;
    result = typed(call);
  }
  tex_free(binder);
  tex_free(map);
  return result;
}

/* The closest user function or builtin name, for "did you mean" hints. */
static const char *suggest_function(Sema *s, const char *name) {
  const char *best = NULL;
  int bestd = (int)strlen(name) / 3 + 1;
#define CONSIDER(cand)                                   \
  do {                                                   \
    int d_ = edit_distance(name, cand);                  \
    if (d_ > 0 && d_ <= bestd) best = (cand), bestd = d_; \
  } while (0)
  for (int i = 0; i < s->prog->fns.len; i++) CONSIDER(((const FnDecl *)s->prog->fns.items[i])->name);
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) CONSIDER(builtins[i].name);
  for (int i = 0; i < OP_COUNT; i++)
    if (op_info[i].flags & F_BUILTIN) CONSIDER(op_info[i].name);
#undef CONSIDER
  return best;
}

static Val lower_call(Sema *s, const Expr *e) {
  Builtin b;
  if (find_builtin(e->name, &b)) return b.lower(s, e, &b);
  for (int i = 0; i < s->prog->fns.len; i++) {
    const FnDecl *d = s->prog->fns.items[i];
    if (strcmp(d->name, e->name) == 0) {
      if (!s->funcs[i]->results) return poison(); /* its signature had errors */
      return lower_user_call(s, e, s->funcs[i]);
    }
  }
  const char *hint = suggest_function(s, e->name);
  if (hint)
    error(s, e->loc, "unknown function '%s'; did you mean '%s'?", e->name, hint);
  else
    error(s, e->loc, "unknown function '%s'", e->name);
  return poison();
}

static Val lower_expr(Sema *s, const Expr *e) {
  switch (e->kind) {
  case E_INT: return (Val){.weak = true, .i = e->ival, .f = (double)e->ival, .loc = e->loc};
  case E_FLOAT: return (Val){.weak = true, .weak_float = true, .f = e->fval, .loc = e->loc};
  case E_BOOL: return typed(ir_const(s->m, s->fn, DT_BOOL, 0, e->ival, e->loc));
  case E_NAME: {
    const Binding *b = lookup(s, e->name);
    if (b) {
      Val v = b->val;
      v.loc = e->loc; /* errors about a use point at the use */
      return v;
    }
    if (s->decl->had_syntax_error) return poison(); /* maybe a dropped `let` */
    const char *hint = suggest(s, e->name);
    if (hint)
      error(s, e->loc, "unknown name '%s'; did you mean '%s'?", e->name, hint);
    else
      error(s, e->loc, "unknown name '%s'", e->name);
    return poison();
  }
  case E_UNARY: return lower_unary(s, e);
  case E_BINARY: return lower_binary(s, e);
  case E_CALL: return lower_call(s, e);
  case E_ERROR: return poison();
  }
  ice("bad expression kind %d", e->kind);
}

/* ---- functions ------------------------------------------------------------- */

static bool lower_type(Sema *s, const TypeExpr *t, int *rank, Dim *shape) {
  if (t->rank > IR_MAX_RANK) {
    error(s, t->loc, "rank %d is more than the supported %d", t->rank, IR_MAX_RANK);
    return false;
  }
  *rank = t->rank;
  for (int d = 0; d < t->rank; d++)
    shape[d] = t->dims[d].sym ? dim_sym(s->m->dims, t->dims[d].sym) : dim_lit(s->m->dims, t->dims[d].lit);
  return true;
}

static bool symbol_bound_by_params(IrFunc *f, int sym) {
  for (int i = 0; i < f->nparams; i++)
    for (int d = 0; d < f->params[i]->rank; d++)
      if (dim_as_sym(f->params[i]->shape[d]) == sym) return true;
  return false;
}

/* Creates the IrFunc with its params, and a placeholder result carrying the
 * declared type, so calls can be lowered before the callee's body. */
static void lower_signature(Sema *s, const FnDecl *d, IrFunc *f) {
  bool ok = true;
  f->exported = !d->private_;
  for (int i = 0; i < d->nparams; i++) {
    const Param *p = &d->params[i];
    for (int j = 0; j < i; j++)
      if (strcmp(d->params[j].name, p->name) == 0) {
        error(s, p->loc, "parameter '%s' is declared twice", p->name);
        diag_note(s->diag, d->params[j].loc, "first declared here");
        ok = false;
      }
    int rank;
    Dim shape[IR_MAX_RANK];
    if (!lower_type(s, &p->type, &rank, shape)) ok = false, rank = 0;
    ir_param(s->m, f, p->name, p->type.dtype, rank, shape, p->loc);
  }
  int rank;
  Dim shape[IR_MAX_RANK];
  if (!lower_type(s, &d->result, &rank, shape)) return;
  for (int i = 0; i < d->result.rank; i++) {
    if (!d->result.dims[i].sym) continue;
    int sym = dim_symbol(s->m->dims, d->result.dims[i].sym);
    if (!symbol_bound_by_params(f, sym)) {
      error(s, d->result.dims[i].loc, "result dim '%s' does not appear in any parameter's type, so no call can give it a value",
            d->result.dims[i].sym);
      ok = false;
    }
  }
  if (!ok) return;
  IrNode proto = {.dtype = d->result.dtype, .rank = rank, .shape = shape};
  IrNode *r = ARENA_NEW(&s->m->arena, IrNode);
  *r = proto;
  r->shape = ARENA_ARRAY(&s->m->arena, Dim, rank);
  memcpy(r->shape, shape, sizeof(Dim) * (size_t)rank);
  ir_set_results(s->m, f, 1, &r); /* replaced by the body's value */
}

/* Checks the returned value against the declared result type. */
static IrNode *check_result(Sema *s, const FnDecl *d, IrFunc *f, Val v, SrcLoc at) {
  IrNode *want = f->results[0];
  v = materialize(s, v, want->dtype);
  if (v.poison) return NULL;
  IrNode *got = v.node;
  bool same = got->dtype == want->dtype && got->rank == want->rank;
  for (int i = 0; same && i < got->rank; i++) same = got->shape[i] == want->shape[i];
  if (!same && d->had_syntax_error) return NULL; /* the statement was cut short */
  if (!same) {
    char tg[256], tw[256];
    error(s, at, "%s() returns %s, but its declared result is %s", d->name, type_text(s, got, tg), type_text(s, want, tw));
    return NULL;
  }
  return got;
}

static void lower_body(Sema *s, const FnDecl *d, IrFunc *f) {
  s->fn = f;
  s->decl = d;
  s->nscope = 0;
  for (int i = 0; i < f->nparams; i++) bind(s, f->params[i]->name, typed(f->params[i]));
  IrNode *result = NULL;
  bool returned = false;
  for (int i = 0; i < d->nstmts; i++) {
    const Stmt *st = &d->stmts[i];
    if (returned) {
      error(s, st->loc, "statement after 'return' is never reached");
      break;
    }
    Val v = lower_expr(s, st->value);
    if (st->kind == S_LET) {
      bind(s, st->name, v);
      continue;
    }
    returned = true;
    if (f->results && !v.poison) result = check_result(s, d, f, v, st->value->loc);
  }
  if (!returned && !d->had_syntax_error) error(s, d->loc, "%s() has no 'return'", d->name);
  if (result) f->results[0] = result;
  else f->results = NULL; /* poisoned: callers stop here */
}

/* Calls must form no cycle (every call is inlined): a depth-first search
 * with three colours, linear in the number of calls.  A cycle is reported at
 * the call that closes it, with the whole path. */
typedef struct CallSearch {
  Sema *s;
  PtrVec path;     /* IrFunc* on the current path */
  int *colour;     /* per function index: 0 new, 1 on the path, 2 done */
} CallSearch;

static int func_index(const Sema *s, const IrFunc *f) {
  for (int i = 0; i < s->m->funcs.len; i++)
    if (s->m->funcs.items[i] == f) return i;
  ice("function @%s not in the module", f->name);
}

static void report_cycle(CallSearch *cs, const IrNode *call) {
  char path[1024];
  int n = 0, from = 0;
  while (from < cs->path.len && cs->path.items[from] != call->attr.callee) from++;
  for (int i = from; i < cs->path.len && n < (int)sizeof path - 64; i++)
    n += snprintf(path + n, sizeof path - (size_t)n, "%s() -> ", ((IrFunc *)cs->path.items[i])->name);
  snprintf(path + n, sizeof path - (size_t)n, "%s()", call->attr.callee->name);
  IrFunc *caller = cs->path.items[cs->path.len - 1];
  if (caller == call->attr.callee)
    error(cs->s, call->loc, "%s() calls itself; functions are inlined, so recursion is not supported", caller->name);
  else
    error(cs->s, call->loc, "recursive calls %s; functions are inlined, so recursion is not supported", path);
}

static void visit_calls(CallSearch *cs, IrFunc *f) {
  int fi = func_index(cs->s, f);
  cs->colour[fi] = 1;
  vec_push(&cs->path, f);
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    if (n->op != OP_CALL) continue;
    int ci = func_index(cs->s, n->attr.callee);
    if (cs->colour[ci] == 1) report_cycle(cs, n);
    if (cs->colour[ci] == 0) visit_calls(cs, n->attr.callee);
  }
  cs->path.len--;
  cs->colour[fi] = 2;
}

static void check_recursion(Sema *s) {
  CallSearch cs = {s, {0}, tex_calloc((size_t)s->m->funcs.len + 1, sizeof(int))};
  for (int i = 0; i < s->m->funcs.len; i++)
    if (!cs.colour[i]) visit_calls(&cs, s->m->funcs.items[i]);
  vec_free(&cs.path);
  tex_free(cs.colour);
}

/* Function names must be unique and must not shadow builtins. */
static void check_names(Sema *s) {
  for (int i = 0; i < s->prog->fns.len; i++) {
    const FnDecl *d = s->prog->fns.items[i];
    Builtin b;
    if (find_builtin(d->name, &b))
      error(s, d->loc, "'%s' is a builtin; choose another name", d->name);
    if (strcmp(d->name, "last_error") == 0 || strcmp(d->name, "module_info") == 0)
      error(s, d->loc, "'%s' is reserved: every module exports <prefix>_%s", d->name, d->name);
    for (int j = 0; j < i; j++) {
      const FnDecl *first = s->prog->fns.items[j];
      if (strcmp(first->name, d->name) != 0) continue;
      error(s, d->loc, "function '%s' is defined again", d->name);
      diag_note(s->diag, first->loc, "first defined here");
      break;
    }
  }
}

int fe_lower(const Program *prog, IrModule *m, Diag *diag) {
  Sema s = {.m = m, .diag = diag, .prog = prog};
  int before = diag->errors;
  check_names(&s);
  s.funcs = tex_calloc((size_t)prog->fns.len + 1, sizeof(IrFunc *));
  for (int i = 0; i < prog->fns.len; i++) {
    const FnDecl *d = prog->fns.items[i];
    s.funcs[i] = ir_func_new(m, d->name, d->loc);
    lower_signature(&s, d, s.funcs[i]);
  }
  for (int i = 0; i < prog->fns.len; i++) {
    const FnDecl *d = prog->fns.items[i];
    lower_body(&s, d, s.funcs[i]);
    if (dim_overflowed(m->dims)) error(&s, d->loc, "a shape in %s() is larger than 2^63", d->name);
  }
  check_recursion(&s);
  tex_free(s.funcs);
  tex_free(s.scope);
  return diag->errors - before;
}

IrModule *fe_compile_text(const char *file, const char *text, const char *prefix, Diag *diag) {
  IrModule *m = ir_module_new(prefix);
  m->source = arena_strdup(&m->arena, file);
  Arena ast = {0};
  Program prog = {0};
  diag_add_source(diag, m->source, text);
  int errors = fe_parse(&prog, m->source, text, &ast, diag);
  errors += fe_lower(&prog, m, diag);
  vec_free(&prog.fns);
  arena_free(&ast);
  if (errors) {
    ir_module_free(m);
    return NULL;
  }
  return m;
}
