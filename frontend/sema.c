/* sema.c — checks the AST and lowers it to SSA tensor IR in one walk.
 *
 * Requires: a parsed Program.  Produces: one IrFunc per fn, with explicit
 * broadcasts, dtypes and symbolic shapes on every node, and OP_CALL for calls
 * to other functions (the inline pass removes them); one IrFunc `f__rule`
 * per gradient rule `grad f(...)`, linked as f's custom_vjp; and a derived
 * function (ir_derive, built by the autodiff passes) per grad / vjp / jvp
 * used.  The builtins are in builtins.c.
 *
 * Typing rules (lang/reference.md):
 *   - literals are weak: an int literal takes any numeric dtype, a float
 *     literal any float dtype, at the point where it meets a typed value;
 *     literal-only arithmetic folds exactly (f64 / i64) and stays weak;
 *   - arrays of different dtypes never mix: casts are explicit (`f64(x)`);
 *   - NumPy broadcasting, where only a literal 1 stretches;
 *   - a call to a function with several results is a tuple, which only
 *     `let (a, b) = ...` and `return` take apart;
 *   - each error is reported once; a value that failed to type-check is
 *     "poisoned" so it causes no further errors. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"

void sema_error(Sema *s, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(s->diag, loc, fmt, ap);
  va_end(ap);
}

const char *sema_type_text(Sema *s, const IrNode *n, char *buf, size_t len) {
  ir_type_snprint(s->m, n->dtype, n->rank, n->shape, buf, len);
  return buf;
}

const char *sema_val_text(Sema *s, const Val *v, char *buf, size_t len) {
  if (v->node) return sema_type_text(s, v->node, buf, len);
  if (v->ntuple)
    snprintf(buf, len, "%d values", v->ntuple);
  else if (v->weak_float)
    snprintf(buf, len, "float literal %g", v->f);
  else
    snprintf(buf, len, "integer literal %lld", (long long)v->i);
  return buf;
}

/* ---- scopes -------------------------------------------------------------- */

/* The scope is an array in binding order (suggest() walks it) with a hash
 * index, so a lookup does not walk every earlier let: a function of 50,000
 * lets was quadratic. */
static uint32_t name_hash(const char *name) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) h = (h ^ *p) * 16777619u;
  return h;
}

static int *index_slot(Sema *s, const char *name) {
  uint32_t mask = (uint32_t)s->indexcap - 1;
  for (uint32_t h = name_hash(name) & mask;; h = (h + 1) & mask) {
    int b = s->index[h];
    if (!b || strcmp(s->scope[b - 1].name, name) == 0) return &s->index[h];
  }
}

static void reindex(Sema *s) {
  tex_free(s->index);
  s->indexcap = s->indexcap ? s->indexcap * 2 : 64;
  s->index = tex_calloc((size_t)s->indexcap, sizeof(int));
  for (int i = 0; i < s->nscope; i++) *index_slot(s, s->scope[i].name) = i + 1;
}

static void clear_scope(Sema *s) {
  s->nscope = 0;
  if (s->index) memset(s->index, 0, sizeof(int) * (size_t)s->indexcap);
}

static void bind(Sema *s, const char *name, Val v) {
  if (s->nscope == s->scopecap) {
    s->scopecap = s->scopecap ? s->scopecap * 2 : 16;
    s->scope = tex_realloc(s->scope, sizeof(Binding) * (size_t)s->scopecap);
  }
  s->scope[s->nscope++] = (Binding){name, v};
  if (2 * s->nscope > s->indexcap)
    reindex(s);
  else
    *index_slot(s, name) = s->nscope;
}

void sema_bind(Sema *s, const char *name, Val v) { bind(s, name, v); }

void sema_unbind_to(Sema *s, int mark) {
  if (mark >= s->nscope) return;
  s->nscope = mark;
  memset(s->index, 0, sizeof(int) * (size_t)s->indexcap);
  for (int i = 0; i < s->nscope; i++) *index_slot(s, s->scope[i].name) = i + 1;
}

const Binding *sema_lookup(Sema *s, const char *name) {
  if (!s->nscope) return NULL;
  int b = *index_slot(s, name);
  return b ? &s->scope[b - 1] : NULL;
}

int sema_edit_distance(const char *a, const char *b) {
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
    int d = sema_edit_distance(name, s->scope[i].name);
    if (d <= bestd && d > 0) best = s->scope[i].name, bestd = d;
  }
  return best;
}

/* ---- literals and dtypes ------------------------------------------------- */

static IrNode *constant(Sema *s, DType t, const Val *v) {
  return ir_const(s->m, s->fn, t, v->weak_float ? v->f : (double)v->i, v->i, v->loc);
}

/* Gives a weak literal the dtype t, or reports why it cannot have it. */
Val sema_materialize(Sema *s, Val v, DType t) {
  if (!v.weak) return v;
  if (t == DT_BOOL) {
    sema_error(s, v.loc, "a number cannot be used as bool; write true or false");
    return sema_poison();
  }
  if (v.weak_float && !dtype_is_float(t)) {
    sema_error(s, v.loc, "float literal %g cannot be used as %s; cast explicitly", v.f, dtype_names[t]);
    return sema_poison();
  }
  if (t == DT_I32 && (v.i < INT32_MIN || v.i > INT32_MAX)) {
    sema_error(s, v.loc, "integer literal %lld does not fit in i32", (long long)v.i);
    return sema_poison();
  }
  return sema_typed(constant(s, t, &v));
}

/* The default dtype of a literal with nothing typed to meet: f32 or i32. */
Val sema_materialize_default(Sema *s, Val v) { return v.weak ? sema_materialize(s, v, v.weak_float ? DT_F32 : DT_I32) : v; }

/* Makes a and b the same dtype: weak literals adapt to typed values. */
static bool unify_dtypes(Sema *s, Val *a, Val *b, SrcLoc at) {
  if (a->weak && b->weak) {
    *a = sema_materialize_default(s, *a);
    *b = sema_materialize_default(s, *b);
    if (a->poison || b->poison) return false;
  } else if (a->weak) {
    *a = sema_materialize(s, *a, b->node->dtype);
  } else if (b->weak) {
    *b = sema_materialize(s, *b, a->node->dtype);
  }
  if (a->poison || b->poison) return false;
  if (a->node->dtype != b->node->dtype) {
    char ta[256], tb[256];
    sema_error(s, at, "cannot mix %s and %s: arrays never convert implicitly; cast one, e.g. %s(x)",
               sema_type_text(s, a->node, ta, sizeof ta), sema_type_text(s, b->node, tb, sizeof tb), dtype_names[a->node->dtype]);
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
      sema_error(s, at, "cannot broadcast %s with %s", sema_type_text(s, vals[j < i ? j : 0].node, ta, sizeof ta),
                 sema_type_text(s, x, tb, sizeof tb));
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
  if (n == 1) vals[0] = sema_materialize_default(s, vals[0]);
  int rank;
  Dim shape[IR_MAX_RANK];
  if (!broadcast_shape(s, vals, n, at, &rank, shape)) return false;
  for (int i = 0; i < n; i++) vals[i].node = broadcast_to(s, vals[i].node, rank, shape, at);
  return true;
}

bool sema_conform(Sema *s, Val *vals, int n, SrcLoc at) { return conform(s, vals, n, 0, at); }

/* ---- expressions ---------------------------------------------------------- */

static const struct {
  BinOp bin;
  Op op;
} binop_ops[] = {
    {B_ADD, OP_ADD}, {B_SUB, OP_SUB},       {B_MUL, OP_MUL},     {B_DIV, OP_DIV},
    {B_POW, OP_POW}, {B_EQ, OP_EQ},         {B_NE, OP_NE},       {B_LT, OP_LT},
    {B_LE, OP_LE},   {B_GT, OP_GT},         {B_GE, OP_GE},       {B_AND, OP_AND},
    {B_OR, OP_OR},   {U_NEG, OP_NEG},       {U_NOT, OP_NOT},     {B_FLOORDIV, OP_FLOORDIV},
    {B_MOD, OP_MOD}, {B_BITAND, OP_BITAND}, {B_BITOR, OP_BITOR}, {B_BITXOR, OP_BITXOR},
    {B_SHL, OP_SHL}, {B_SHR, OP_SHR},
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
  if (sema_is_int_operator(op)) return *out = sema_fold_int_literals(s, op, a, b, at), true;
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
    sema_error(s, at, "integer literal arithmetic overflows 64 bits");
    *out = sema_poison();
  }
  return true;
}

static Val lower_matmul(Sema *s, const Expr *e, Val a, Val b) {
  if (a.poison || b.poison) return sema_poison();
  if (a.weak || b.weak) {
    sema_error(s, e->loc, "'@' needs arrays on both sides, not a literal");
    return sema_poison();
  }
  if (!unify_dtypes(s, &a, &b, e->loc)) return sema_poison();
  char ta[256], tb[256];
  IrNode *x = a.node, *y = b.node;
  if (x->dtype == DT_BOOL) {
    sema_error(s, e->loc, "'@' needs numbers, not bool arrays");
    return sema_poison();
  }
  if (x->rank < 1 || y->rank < 1) {
    sema_error(s, e->loc, "'@' takes matrices and vectors (rank 1 or more), got %s @ %s", sema_type_text(s, x, ta, sizeof ta),
               sema_type_text(s, y, tb, sizeof tb));
    return sema_poison();
  }
  Dim kx = x->shape[x->rank - 1], ky = y->shape[y->rank == 1 ? 0 : y->rank - 2];
  if (kx != ky) {
    char da[64], db[64];
    dim_snprint(s->m->dims, kx, da, sizeof da);
    dim_snprint(s->m->dims, ky, db, sizeof db);
    bool hint = y->rank == 2 && kx == y->shape[1];
    sema_error(s, e->loc, "matrix product %s @ %s: inner dims %s and %s differ%s", sema_type_text(s, x, ta, sizeof ta),
               sema_type_text(s, y, tb, sizeof tb), da, db, hint ? "; did you mean a @ transpose(b)?" : "");
    return sema_poison();
  }
  if (!sema_check_matmul_batch(s, x, y, e->loc)) return sema_poison();
  return sema_typed(ir_matmul(s->m, s->fn, x, y, e->loc));
}

/* Checks an operand class for op: numbers, floats or bools. */
bool sema_check_operand_class(Sema *s, Op op, const Val *v, const char *what, SrcLoc at) {
  DType t = v->node->dtype;
  DTypeRule rule = op_info[op].dtype;
  char tb[256];
  if ((rule == DTR_NUM || rule == DTR_FLOAT || rule == DTR_INDEX) && t == DT_BOOL) {
    sema_error(s, at, "%s needs numbers, got %s", what, sema_type_text(s, v->node, tb, sizeof tb));
    return false;
  }
  if (rule == DTR_FLOAT && !dtype_is_float(t)) {
    sema_error(s, at, "%s needs floating point, got %s; cast first, e.g. f32(x)", what, sema_type_text(s, v->node, tb, sizeof tb));
    return false;
  }
  if (rule == DTR_INT && !dtype_is_int(t)) {
    sema_error(s, at, "%s needs integers (i32 or i64), got %s%s", what, sema_type_text(s, v->node, tb, sizeof tb),
               t == DT_BOOL ? "; for bools use and, or, !=" : "");
    return false;
  }
  if (rule == DTR_BOOL && t != DT_BOOL) {
    sema_error(s, at, "%s needs bool operands, got %s", what, sema_type_text(s, v->node, tb, sizeof tb));
    return false;
  }
  return true;
}

/* An elementwise op on conformed operands: the common path of operators and
 * builtins alike. */
Val sema_elementwise(Sema *s, Op op, Val *vals, int n, const char *what, SrcLoc at) {
  int first = op == OP_SELECT ? 1 : 0;
  if (op == OP_SELECT && !vals[0].poison && (vals[0].weak || vals[0].node->dtype != DT_BOOL)) {
    char tb[256];
    sema_error(s, vals[0].loc, "where() needs a bool condition, got %s", sema_val_text(s, &vals[0], tb, sizeof tb));
    return sema_poison();
  }
  if (!conform(s, vals, n, first, at)) return sema_poison();
  if (!sema_check_operand_class(s, op, &vals[first], what, at)) return sema_poison();
  IrNode *args[3];
  for (int i = 0; i < n; i++) args[i] = vals[i].node;
  DType t = op_info[op].dtype == DTR_CMP || op_info[op].dtype == DTR_BOOL ? DT_BOOL : args[first]->dtype;
  return sema_typed(ir_node(s->m, s->fn, op, t, args[first]->rank, args[first]->shape, n, args, at));
}

/* a OP e->rhs, where a is e->lhs already lowered. */
static Val binary_step(Sema *s, const Expr *e, Val a) {
  Val b = sema_lower_expr(s, e->rhs);
  if (e->op == B_MATMUL) return lower_matmul(s, e, a, b);
  if (a.poison || b.poison) return sema_poison();
  Val folded;
  if (a.weak && b.weak && fold_weak(s, e->op, &a, &b, e->loc, &folded)) return folded;
  if (!sema_check_int_divisor(s, e->op, &b)) return sema_poison();
  char what[32];
  snprintf(what, sizeof what, "'%s'", ast_binop_text(e->op));
  Val vals[2] = {a, b};
  return sema_elementwise(s, op_of(e->op), vals, 2, what, e->loc);
}

/* A chain of binary operators leans left (a + b + c + ... parses as
 * ((a + b) + c) + ...), so its left spine is walked as a loop: a sum of
 * 100,000 terms needs no deeper stack than one of two. */
static Val lower_binary(Sema *s, const Expr *e) {
  int n = 0;
  for (const Expr *x = e; x->kind == E_BINARY; x = x->lhs) n++;
  const Expr **spine = tex_calloc((size_t)n + 1, sizeof *spine);
  int i = n;
  for (const Expr *x = e; x->kind == E_BINARY; x = x->lhs) spine[--i] = x;
  Val a = sema_lower_expr(s, spine[0]->lhs);
  for (i = 0; i < n; i++) a = binary_step(s, spine[i], a);
  tex_free(spine);
  return a;
}

static Val lower_unary(Sema *s, const Expr *e) {
  Val a = sema_lower_expr(s, e->lhs);
  if (a.poison) return sema_poison();
  if (a.weak && e->op == U_NEG) {
    a.f = -a.f;
    a.i = -a.i;
    a.loc = e->loc;
    return a;
  }
  a = sema_materialize_default(s, a);
  char what[32];
  snprintf(what, sizeof what, "'%s'", ast_binop_text(e->op));
  return sema_elementwise(s, op_of(e->op), &a, 1, what, e->loc);
}

/* ---- calls ---------------------------------------------------------------- */

/* How a message shows param i of callee, "f(x: f32[N])"; the cotangent and
 * tangent params of a derived function stand alone ("d_out: f32[N]"). */
static const char *param_sig(Sema *s, const IrFunc *callee, int i, char *buf, size_t len) {
  const IrFunc *owner = callee->derive_of ? callee->derive_of : callee;
  const IrNode *p = callee->params[i];
  char tb[256];
  sema_type_text(s, p, tb, sizeof tb);
  if (i < owner->nparams)
    snprintf(buf, len, "%s(%s: %s)", owner->name, p->name, tb);
  else
    snprintf(buf, len, "%s: %s", p->name, tb);
  return buf;
}

/* Binds the callee's size symbols in param i's dims to the argument's dims,
 * or reports the first dim that disagrees. */
/* Pass 1 (!poly) binds and checks the dims that are plain symbols; pass 2
 * (poly), once every argument has bound its symbols, checks the others
 * (`N*D`, `(N + 1) // 2`, literals) with the call's binding substituted. */
static bool bind_arg_dims(Sema *s, IrFunc *callee, const char *label, int i, const Val *arg, Dim *map, int *binder, bool poly) {
  IrNode *p = callee->params[i], *a = arg->node;
  for (int d = 0; d < p->rank; d++) {
    int sym = dim_as_sym(p->shape[d]);
    if ((sym >= 0) == poly) continue;
    if (sym >= 0 && !map[sym]) map[sym] = a->shape[d], binder[sym] = i * IR_MAX_RANK + d;
    Dim want = sym >= 0 ? map[sym] : dim_subst(s->m->dims, p->shape[d], map);
    if (want == a->shape[d]) continue;
    char ta[256], tb[256], sig[600], dw[64], dg[64];
    dim_snprint(s->m->dims, want, dw, sizeof dw);
    dim_snprint(s->m->dims, a->shape[d], dg, sizeof dg);
    if (sym >= 0)
      sema_error(s, arg->loc, "argument '%s' of %s is %s, which does not fit %s: %s is %s from dim %d of '%s', but dim %d is %s", p->name,
                 label, sema_type_text(s, a, tb, sizeof tb), param_sig(s, callee, i, sig, sizeof sig), dim_symbol_name(s->m->dims, sym), dw,
                 binder[sym] % IR_MAX_RANK, callee->params[binder[sym] / IR_MAX_RANK]->name, d, dg);
    else
      sema_error(s, arg->loc, "argument '%s' of %s must be %s, got %s: dim %d is %s, not %s", p->name, label,
                 sema_type_text(s, p, ta, sizeof ta), sema_type_text(s, a, tb, sizeof tb), d, dg, dw);
    return false;
  }
  return true;
}

/* Matches the call's arguments against the callee's parameter types, binding
 * the callee's size symbols to the caller's dims. */
static bool bind_call_args(Sema *s, IrFunc *callee, const char *label, Val *args, Dim *map, int *binder) {
  char ta[256], tb[256];
  for (int i = 0; i < callee->nparams; i++) {
    IrNode *p = callee->params[i];
    if (args[i].weak) {
      if (p->rank != 0) {
        sema_error(s, args[i].loc, "argument '%s' of %s is %s, but a literal was given", p->name, label,
                   sema_type_text(s, p, ta, sizeof ta));
        return false;
      }
      args[i] = sema_materialize(s, args[i], p->dtype);
    }
    if (args[i].poison) return false;
    IrNode *a = args[i].node;
    if (a->dtype != p->dtype || a->rank != p->rank) {
      sema_error(s, args[i].loc, "argument '%s' of %s must be %s, got %s", p->name, label, sema_type_text(s, p, ta, sizeof ta),
                 sema_type_text(s, a, tb, sizeof tb));
      return false;
    }
    if (!bind_arg_dims(s, callee, label, i, &args[i], map, binder, false)) return false;
  }
  for (int i = 0; i < callee->nparams; i++)
    if (!bind_arg_dims(s, callee, label, i, &args[i], map, binder, true)) return false;
  return true;
}

static void result_shape(Sema *s, const IrNode *r, const Dim *map, Dim *shape) {
  for (int d = 0; d < r->rank; d++) shape[d] = dim_subst(s->m->dims, r->shape[d], map);
}

/* OP_CALL, typed as result 0; with several results, one OP_PROJ each, which
 * together are the tuple the call gives. */
static Val emit_call(Sema *s, IrFunc *callee, const Val *args, int nargs, const Dim *map, SrcLoc at, const char *producer) {
  IrNode **ops = tex_calloc((size_t)nargs + 1, sizeof(IrNode *));
  for (int i = 0; i < nargs; i++) ops[i] = args[i].node;
  Dim shape[IR_MAX_RANK];
  const IrNode *r0 = callee->results[0];
  result_shape(s, r0, map, shape);
  IrNode *call = ir_node(s->m, s->fn, OP_CALL, r0->dtype, r0->rank, shape, nargs, ops, at);
  call->attr.callee = callee;
  tex_free(ops);
  if (callee->nresults == 1) return sema_typed(call);
  IrNode **projs = ARENA_ARRAY(&s->m->arena, IrNode *, callee->nresults);
  for (int k = 0; k < callee->nresults; k++) {
    const IrNode *r = callee->results[k];
    result_shape(s, r, map, shape);
    projs[k] = ir_node(s->m, s->fn, OP_PROJ, r->dtype, r->rank, shape, 1, &call, at);
    projs[k]->attr.i = k;
  }
  return (Val){.ntuple = callee->nresults, .tuple = projs, .producer = producer, .loc = at};
}

Val sema_call(Sema *s, IrFunc *callee, Val *args, int nargs, SrcLoc at, const char *label, const char *producer) {
  if (nargs != callee->nparams) ice("%d arguments for the %d params of @%s", nargs, callee->nparams, callee->name);
  int nsyms = dim_nsymbols(s->m->dims);
  Dim *map = tex_calloc((size_t)nsyms + 1, sizeof(Dim));
  int *binder = tex_calloc((size_t)nsyms + 1, sizeof(int));
  Val result = sema_poison();
  if (bind_call_args(s, callee, label, args, map, binder)) result = emit_call(s, callee, args, nargs, map, at, producer);
  tex_free(binder);
  tex_free(map);
  return result;
}

/* Rules have no inout params (lower_params says so). */
static bool is_inout(const FnDecl *d, int i) { return d->params[i].inout && !d->is_rule; }

/* The index of f's first inout param, or -1. */
static int first_inout(const FnDecl *d) {
  for (int i = 0; i < d->nparams; i++)
    if (is_inout(d, i)) return i;
  return -1;
}

/* Only functions without in-place updates have derivatives. */
bool sema_check_differentiable(Sema *s, const FnDecl *d, SrcLoc at, const char *what) {
  int p = first_inout(d);
  if (p < 0) return true;
  sema_error(s, at, "cannot %s %s(): it updates '%s' in place (inout); only functions without inout parameters have derivatives", what,
             d->name, d->params[p].name);
  diag_note(s->diag, d->params[p].loc, "'%s' is declared inout here", d->params[p].name);
  return false;
}

/* Only entry points update in place: a caller inside the module would not
 * see the update (calls are inlined as values). */
static bool check_callable(Sema *s, const Expr *e, const FnDecl *d) {
  int p = first_inout(d);
  if (p < 0) return true;
  sema_error(s, e->loc, "cannot call %s() from another function: it updates '%s' in place (inout), which only entry points may do", d->name,
             d->params[p].name);
  diag_note(s->diag, d->params[p].loc, "'%s' is declared inout here", d->params[p].name);
  return false;
}

Val sema_user_call(Sema *s, const Expr *e, IrFunc *callee, const FnDecl *d, const char *name) {
  if (!check_callable(s, e, d)) return sema_poison();
  if (!callee->results) return sema_poison(); /* its signature had errors */
  if (e->nargs != callee->nparams) {
    sema_error(s, e->loc, "%s() takes %d argument%s, got %d", name, callee->nparams, callee->nparams == 1 ? "" : "s", e->nargs);
    return sema_poison();
  }
  Val *args = tex_calloc((size_t)e->nargs + 1, sizeof(Val)); /* nargs == nparams, within TEX_MAX_PARAMS */
  bool ok = true;
  for (int i = 0; i < e->nargs; i++) {
    if (e->args[i].name) {
      sema_error(s, e->args[i].loc, "%s() takes positional arguments only", name);
      ok = false;
    }
    args[i] = sema_lower_expr(s, e->args[i].value);
    ok = ok && !args[i].poison;
  }
  char label[160];
  snprintf(label, sizeof label, "%s()", name);
  Val v = ok ? sema_call(s, callee, args, e->nargs, e->loc, label, name) : sema_poison();
  tex_free(args);
  return v;
}

/* The slot of name in s->fn_slot: its first definition, or an empty slot. */
static uint32_t fn_name_slot(const Sema *s, const char *name) {
  uint32_t h = name_hash(name) & (s->fn_nslots - 1);
  while (s->fn_slot[h] && strcmp(((const FnDecl *)s->prog->fns.items[s->fn_slot[h] - 1])->name, name) != 0)
    h = (h + 1) & (s->fn_nslots - 1);
  return h;
}

const FnDecl *sema_find_fn(Sema *s, const char *name, IrFunc **f) {
  int i = s->fn_slot[fn_name_slot(s, name)] - 1;
  if (i < 0) return NULL;
  if (f) *f = s->funcs[i];
  return s->prog->fns.items[i];
}

/* The closest function of the file within *bestd, or NULL. */
static const char *closest_user_function(Sema *s, const char *name, int *bestd) {
  const char *best = NULL;
  for (int i = 0; i < s->prog->fns.len; i++) {
    const FnDecl *d = s->prog->fns.items[i];
    int dist = sema_edit_distance(name, d->name);
    if (!d->is_rule && dist > 0 && dist <= *bestd) best = d->name, *bestd = dist;
  }
  return best;
}

const char *sema_suggest_function(Sema *s, const char *name, bool builtins) {
  int bestd = (int)strlen(name) / 3 + 1;
  const char *best = closest_user_function(s, name, &bestd);
  const char *builtin = builtins ? sema_closest_builtin(name, &bestd) : NULL;
  return builtin ? builtin : best;
}

static Val lower_call(Sema *s, const Expr *e) {
  Val v;
  if (e->qual) return sema_lower_qualified_call(s, e);
  if (sema_lower_builtin(s, e, &v)) return v;
  IrFunc *f;
  const FnDecl *d = sema_find_fn(s, e->name, &f);
  if (d && !f) return sema_poly_call(s, e, d, s->unit, e->name);
  if (d) return sema_user_call(s, e, f, d, e->name);
  const char *hint = sema_suggest_function(s, e->name, true);
  if (hint)
    sema_error(s, e->loc, "unknown function '%s'; did you mean '%s'?", e->name, hint);
  else
    sema_error(s, e->loc, "unknown function '%s'", e->name);
  return sema_poison();
}

/* ---- values and tuples ------------------------------------------------------ */

/* "a, b, c": a let pattern of n names, for messages. */
static const char *pattern_text(int n, char *buf, size_t len) {
  int k = 0;
  for (int i = 0; i < n && i < 8; i++) k += snprintf(buf + k, len - (size_t)k, "%s%c", i ? ", " : "", 'a' + i);
  if (n > 8) snprintf(buf + k, len - (size_t)k, ", ...");
  return buf;
}

/* A tuple where one array is expected: say how to take it apart. */
static Val reject_tuple(Sema *s, Val v) {
  if (!v.ntuple) return v;
  char names[64];
  sema_error(s, v.loc, "%s() returns %d values; bind them with let (%s) = %s(...)", v.producer, v.ntuple,
             pattern_text(v.ntuple, names, sizeof names), v.producer);
  return sema_poison();
}

static Val lower_name(Sema *s, const Expr *e) {
  const Binding *b = sema_lookup(s, e->name);
  if (b) {
    Val v = b->val;
    v.loc = e->loc; /* errors about a use point at the use */
    if (s->loop) v = sema_loop_capture(s, b, v); /* a value bound outside a loop body */
    return s->gen ? sema_gen_name(s, e, v) : v;
  }
  Val sym;
  if (sema_size_symbol(s, e, &sym)) return sym; /* frontend/shape.c */
  if (s->decl->had_syntax_error) return sema_poison(); /* maybe a dropped `let` */
  const char *hint = suggest(s, e->name);
  if (hint)
    sema_error(s, e->loc, "unknown name '%s'; did you mean '%s'?", e->name, hint);
  else
    sema_error(s, e->loc, "unknown name '%s'", e->name);
  return sema_poison();
}

/* Any value, tuples included. */
static Val lower_kind(Sema *s, const Expr *e) {
  switch (e->kind) {
  case E_INT: return (Val){.weak = true, .i = e->ival, .f = (double)e->ival, .loc = e->loc};
  case E_FLOAT: return (Val){.weak = true, .weak_float = true, .f = e->fval, .loc = e->loc};
  case E_BOOL: return sema_typed(ir_const(s->m, s->fn, DT_BOOL, 0, e->ival, e->loc));
  case E_NAME: return lower_name(s, e);
  case E_UNARY: return lower_unary(s, e);
  case E_BINARY: return lower_binary(s, e);
  case E_CALL: return lower_call(s, e);
  case E_TUPLE:
    sema_error(s, e->loc, "a list in parentheses is not a value; it only names parameters (wrt=(W, b)) or dims (reshape(x, (N, D)))");
    return sema_poison();
  case E_INDEX: return sema_lower_index(s, e);
  case E_REDUCE: return sema_lower_reduce(s, e);
  case E_LIST: return sema_lower_list(s, e);
  case E_SLICE: sema_error(s, e->loc, "a slice a:b only appears inside brackets, x[a:b]"); return sema_poison();
  case E_TYPE: sema_error(s, e->loc, "a type is not a value; it only gives a shape, as in zeros(f32[N, 3])"); return sema_poison();
  case E_LOOP: return sema_lower_loop(s, e);
  case E_IF: return sema_lower_if(s, e);
  case E_BLOCK: /* only inside an if */
  case E_ERROR: return sema_poison();
  }
  ice("bad expression kind %d", e->kind);
}

/* Nesting (operands in parentheses on the right, calls, unary operators) recurses, so it is limited; one error per function is enough. */
Val sema_lower_value(Sema *s, const Expr *e) {
  if (s->depth >= TEX_MAX_NESTING) {
    if (!s->too_deep) sema_error(s, e->loc, "expressions nest more than %d levels deep here; split this one with let", TEX_MAX_NESTING);
    s->too_deep = true;
    return sema_poison();
  }
  s->depth++;
  Val v = lower_kind(s, e);
  s->depth--;
  return v;
}

Val sema_lower_expr(Sema *s, const Expr *e) { return reject_tuple(s, sema_lower_value(s, e)); }

/* ---- signatures ------------------------------------------------------------- */

/* "f()" or "the grad rule for f()": what messages call the function. */
static const char *decl_label(const FnDecl *d, char *buf, size_t len) {
  snprintf(buf, len, "%s%s()", d->is_rule ? "the grad rule for " : "", d->name);
  return buf;
}

static bool lower_type(Sema *s, const TypeExpr *t, int *rank, Dim *shape) {
  if (t->rank > IR_MAX_RANK) {
    sema_error(s, t->loc, "rank %d is more than the supported %d (arrays have at most %d axes)", t->rank, IR_MAX_RANK, IR_MAX_RANK);
    return false;
  }
  *rank = t->rank;
  int64_t bytes = dtype_sizes[t->dtype];
  for (int d = 0; d < t->rank; d++) {
    if (t->dims[d].poly) { /* frontend/shape.c; its symbols are checked with the signature */
      if (!sema_dim_of_expr(s, t->dims[d].poly, false, &shape[d])) return false;
      continue;
    }
    shape[d] = t->dims[d].sym ? dim_sym(s->m->dims, t->dims[d].sym) : dim_lit(s->m->dims, t->dims[d].lit);
    if (!t->dims[d].sym && __builtin_mul_overflow(bytes, t->dims[d].lit, &bytes)) { /* no call could pass it */
      sema_error(s, t->dims[d].loc, "this array would have more than 2^63 bytes");
      return false;
    }
  }
  return true;
}

/* The first symbol of d that no parameter binds (a derived symbol is bound
 * when its definition is), or -1. */
static int unbound_symbol(Sema *s, IrFunc *f, Dim d);

static bool symbol_bound_by_params(Sema *s, IrFunc *f, int sym) {
  Dim num;
  if (dim_derived(s->m->dims, sym, &num, NULL)) return unbound_symbol(s, f, num) < 0;
  for (int i = 0; i < f->nparams; i++)
    for (int d = 0; d < f->params[i]->rank; d++)
      if (dim_as_sym(f->params[i]->shape[d]) == sym) return true;
  return false;
}

static int unbound_symbol(Sema *s, IrFunc *f, Dim d) {
  for (int i = 0; i < d->nterms; i++)
    for (int k = 0; k < d->terms[i].nfactors; k++)
      if (!symbol_bound_by_params(s, f, d->terms[i].factors[k].sym)) return d->terms[i].factors[k].sym;
  return -1;
}

/* A dim written as a polynomial (`N*D`) binds nothing: every symbol in it
 * must be bound by some parameter dim that is just that symbol. */
static bool poly_dims_bound(Sema *s, IrFunc *f, const TypeExpr *t, const Dim *shape) {
  for (int a = 0; a < t->rank; a++) {
    int64_t v;
    if (!t->dims[a].poly) continue;
    if (dim_is_lit(shape[a], &v) && v < 0) {
      sema_error(s, t->dims[a].loc, "this dim is %lld; extents are at least 0", (long long)v);
      return false;
    }
    int sym = unbound_symbol(s, f, shape[a]);
    if (sym < 0) continue;
    sema_error(s, t->dims[a].loc,
               "size symbol '%s' is bound by no parameter; a symbol gets its value from a parameter dim that is just the symbol",
               dim_symbol_name(s->m->dims, sym));
    return false;
  }
  return true;
}

/* The limits a function's signature must keep (frontend.h). */
static bool check_signature_limits(Sema *s, const FnDecl *d, IrFunc *f) {
  char label[160];
  decl_label(d, label, sizeof label);
  if (d->nparams > TEX_MAX_PARAMS) {
    sema_error(s, d->params[TEX_MAX_PARAMS].loc, "%s has %d parameters; a function takes at most %d", label, d->nparams, TEX_MAX_PARAMS);
    return false;
  }
  int nsyms = 0;
  for (int i = 0; i < f->nparams; i++)
    for (int a = 0; a < f->params[i]->rank; a++) {
      int sym = dim_as_sym(f->params[i]->shape[a]);
      bool seen = sym < 0;
      for (int j = 0; j <= i && !seen; j++)
        for (int b = 0; b < (j < i ? f->params[j]->rank : a) && !seen; b++) seen = dim_as_sym(f->params[j]->shape[b]) == sym;
      if (!seen && ++nsyms > TEX_MAX_FN_SYMS) {
        sema_error(s, d->params[i].type.dims[a].loc, "%s has more than %d size symbols; a function may use at most %d", label,
                   TEX_MAX_FN_SYMS, TEX_MAX_FN_SYMS);
        return false;
      }
    }
  return true;
}

static bool lower_params(Sema *s, const FnDecl *d, IrFunc *f) {
  bool ok = true;
  for (int i = 0; i < d->nparams; i++) {
    const Param *p = &d->params[i];
    for (int j = 0; j < i; j++)
      if (strcmp(d->params[j].name, p->name) == 0) {
        sema_error(s, p->loc, "parameter '%s' is declared twice", p->name);
        diag_note(s->diag, d->params[j].loc, "first declared here");
        ok = false;
      }
    if (p->inout && d->is_rule) {
      sema_error(s, p->loc, "a grad rule's parameters cannot be inout");
      ok = false;
    }
    int rank;
    Dim shape[IR_MAX_RANK];
    if (!lower_type(s, &p->type, &rank, shape)) ok = false, rank = 0;
    ir_param(s->m, f, p->name, p->type.dtype, rank, shape, p->loc)->inout = is_inout(d, i);
  }
  for (int i = 0; ok && i < d->nparams; i++) ok = poly_dims_bound(s, f, &d->params[i].type, f->params[i]->shape);
  return check_signature_limits(s, d, f) && ok;
}

/* A placeholder per declared result: the body's values replace them. */
static bool lower_result_types(Sema *s, const FnDecl *d, IrFunc *f, IrNode **res) {
  bool ok = true;
  for (int k = 0; k < d->nresults; k++) {
    const TypeExpr *t = &d->results[k];
    int rank;
    Dim shape[IR_MAX_RANK];
    if (!lower_type(s, t, &rank, shape)) {
      ok = false;
      continue;
    }
    if (!poly_dims_bound(s, f, t, shape)) ok = false;
    for (int i = 0; i < t->rank; i++) {
      if (!t->dims[i].sym || symbol_bound_by_params(s, f, dim_symbol(s->m->dims, t->dims[i].sym))) continue;
      sema_error(s, t->dims[i].loc, "result dim '%s' does not appear in any parameter's type, so no call can give it a value",
                 t->dims[i].sym);
      ok = false;
    }
    res[k] = ir_placeholder(s->m, t->dtype, rank, shape);
  }
  return ok;
}

/* Creates the IrFunc's params and placeholder results carrying the declared
 * types, so calls can be lowered before the callee's body.  The results are
 * the declared ones, then one per inout param (its final value). */
static void lower_signature(Sema *s, const FnDecl *d, IrFunc *f) {
  f->exported = !d->private_ && !d->is_rule;
  bool ok = lower_params(s, d, f);
  if (d->nresults > TEX_MAX_RESULTS) {
    char label[160];
    sema_error(s, d->results[TEX_MAX_RESULTS].loc, "%s has %d results; a function returns at most %d", decl_label(d, label, sizeof label),
               d->nresults, TEX_MAX_RESULTS);
    return;
  }
  IrNode **res = tex_calloc((size_t)(d->nresults + d->nparams) + 1, sizeof(IrNode *));
  ok = lower_result_types(s, d, f, res) && ok;
  int n = d->nresults, nupdates = 0;
  int *update_param = ARENA_ARRAY(&s->m->arena, int, d->nparams + 1);
  for (int i = 0; i < d->nparams; i++)
    if (is_inout(d, i)) {
      const IrNode *p = f->params[i];
      update_param[nupdates++] = i;
      res[n++] = ir_placeholder(s->m, p->dtype, p->rank, p->shape);
    }
  if (ok) {
    ir_set_results(s->m, f, n, res);
    for (int k = 0; k < n; k++)
      f->result_names[k] = k >= d->nresults   ? f->params[update_param[k - d->nresults]]->name
                           : d->nresults == 1 ? "out"
                                              : arena_printf(&s->m->arena, "out%d", k);
    f->nupdates = nupdates;
    f->update_param = update_param;
  }
  tex_free(res);
}

/* ---- statements --------------------------------------------------------------- */

static bool is_wildcard(const char *name) { return strcmp(name, "_") == 0; }

static bool pattern_has_duplicates(Sema *s, const Stmt *st) {
  for (int i = 0; i < st->nnames; i++)
    for (int j = 0; j < i && !is_wildcard(st->names[i].name); j++)
      if (strcmp(st->names[i].name, st->names[j].name) == 0) {
        sema_error(s, st->names[i].loc, "'%s' is bound twice in this pattern", st->names[i].name);
        return true;
      }
  return false;
}

/* `let (a, _, c) = f(x)`: one name per value; `_` binds nothing. */
static void lower_let_pattern(Sema *s, const Stmt *st) {
  Val v = sema_lower_value(s, st->value);
  bool ok = !v.poison && !pattern_has_duplicates(s, st);
  int n = v.ntuple ? v.ntuple : 1;
  if (ok && n != st->nnames) {
    char tb[256];
    if (v.ntuple)
      sema_error(s, st->loc, "let binds %d name%s, but %s() returns %d values", st->nnames, st->nnames == 1 ? "" : "s", v.producer, n);
    else
      sema_error(s, st->loc, "let binds %d names, but there is one value (%s)", st->nnames, sema_val_text(s, &v, tb, sizeof tb));
    ok = false;
  }
  for (int i = 0; i < st->nnames; i++) {
    if (is_wildcard(st->names[i].name)) continue;
    bool named = sema_check_not_symbol(s, st->names[i].name, st->names[i].loc, "let");
    bind(s, st->names[i].name, !ok || !named ? sema_poison() : v.ntuple ? sema_typed(v.tuple[i]) : v);
  }
}

void sema_lower_let(Sema *s, const Stmt *st) {
  if (st->nindex) {
    Val v = sema_lower_comprehension(s, st);
    bind(s, st->name, sema_check_not_symbol(s, st->name, st->loc, "let") ? v : sema_poison());
    return;
  }
  if (st->nnames) {
    lower_let_pattern(s, st);
    return;
  }
  Val v = sema_lower_expr(s, st->value);
  bind(s, st->name, sema_check_not_symbol(s, st->name, st->loc, "let") ? v : sema_poison());
}

static int param_index(const IrFunc *f, const char *name) {
  for (int i = 0; i < f->nparams; i++)
    if (strcmp(f->params[i]->name, name) == 0) return i;
  return -1;
}

/* The param `update NAME = ...` writes: it must be inout. */
static int update_target(Sema *s, const Stmt *st) {
  int i = param_index(s->fn, st->name);
  if (i >= 0 && s->fn->params[i]->inout) return i;
  char tb[256];
  if (i >= 0)
    sema_error(s, st->loc, "'%s' is not inout; declare it as %s: inout %s to update it in place", st->name, st->name,
               sema_type_text(s, s->fn->params[i], tb, sizeof tb));
  else if (sema_lookup(s, st->name))
    sema_error(s, st->loc, "'%s' is not a parameter: update writes into inout parameters; use let to rebind a local value", st->name);
  else
    sema_error(s, st->loc, "unknown name '%s': update writes into an inout parameter", st->name);
  return -1;
}

static bool same_type(const IrNode *a, const IrNode *b) { return a->dtype == b->dtype && ir_same_shape(a, b); }

/* `update W = v`: v has W's exact type, and W means v from now on. */
static void lower_update(Sema *s, const Stmt *st) {
  int i = update_target(s, st);
  Val v = sema_lower_expr(s, st->value);
  if (i < 0) return;
  IrNode *p = s->fn->params[i];
  s->updated[i] = p; /* even if v is bad: "never updated" would be a second error */
  v = sema_materialize(s, v, p->dtype);
  if (!v.poison && !same_type(v.node, p)) {
    char tv[256], tp[256];
    sema_error(s, st->value->loc, "the new value of '%s' is %s, but '%s' is %s; an update keeps the parameter's type", st->name,
               sema_type_text(s, v.node, tv, sizeof tv), st->name, sema_type_text(s, p, tp, sizeof tp));
    v = sema_poison();
  }
  if (!v.poison) s->updated[i] = v.node;
  bind(s, st->name, v);
}

/* The values `return` gives: its list, or the tuple of one call. */
static int return_values(Sema *s, const Stmt *st, Val *vals, const char **producer) {
  *producer = NULL;
  if (st->nvalues == 1) {
    Val v = sema_lower_value(s, st->values[0]);
    if (!v.ntuple) return vals[0] = v, 1;
    *producer = v.producer;
    for (int k = 0; k < v.ntuple; k++) vals[k] = sema_typed(v.tuple[k]);
    return v.ntuple;
  }
  for (int i = 0; i < st->nvalues; i++) vals[i] = sema_lower_expr(s, st->values[i]);
  return st->nvalues;
}

/* Checks a returned value against its declared result type. */
static IrNode *check_result(Sema *s, int k, Val v, SrcLoc at) {
  const FnDecl *d = s->decl;
  IrNode *want = s->fn->results[k];
  v = sema_materialize(s, v, want->dtype);
  if (v.poison) return NULL;
  IrNode *got = v.node;
  if (same_type(got, want)) return got;
  if (d->had_syntax_error) return NULL; /* the statement was cut short */
  char tg[256], tw[256], label[160];
  decl_label(d, label, sizeof label);
  if (d->nresults == 1)
    sema_error(s, at, "%s returns %s, but its declared result is %s", label, sema_type_text(s, got, tg, sizeof tg),
               sema_type_text(s, want, tw, sizeof tw));
  else
    sema_error(s, at, "result %d of %s is %s, but its declared type is %s", k + 1, label, sema_type_text(s, got, tg, sizeof tg),
               sema_type_text(s, want, tw, sizeof tw));
  return NULL;
}

/* A polymorphic function without `-> T` returns what its body gives. */
static bool infer_results(Sema *s, Val *vals, int n) {
  IrNode *res[TEX_MAX_RESULTS];
  for (int k = 0; k < n; k++) {
    Val v = sema_materialize_default(s, vals[k]);
    if (v.poison) return false;
    res[k] = v.node;
  }
  ir_set_results(s->m, s->fn, n, res);
  return true;
}

static bool lower_return(Sema *s, const Stmt *st, IrNode **results) {
  const FnDecl *d = s->decl;
  if (st->nvalues > TEX_MAX_RESULTS) {
    sema_error(s, st->loc, "return gives %d values; a function returns at most %d", st->nvalues, TEX_MAX_RESULTS);
    return false;
  }
  Val vals[2 * TEX_MAX_RESULTS + 2];
  const char *producer;
  int n = return_values(s, st, vals, &producer);
  if (!d->nresults && s->spec) return n <= TEX_MAX_RESULTS && infer_results(s, vals, n);
  bool ok = s->fn->results != NULL;
  for (int k = 0; k < n; k++) ok = ok && !vals[k].poison;
  if (!ok) return false;
  if (n != d->nresults) {
    char label[160];
    decl_label(d, label, sizeof label);
    if (producer)
      sema_error(s, st->values[0]->loc, "%s declares %d result%s, but %s() returns %d values", label, d->nresults,
                 d->nresults == 1 ? "" : "s", producer, n);
    else
      sema_error(s, st->loc, "%s declares %d result%s, but this return gives %d", label, d->nresults, d->nresults == 1 ? "" : "s", n);
    return false;
  }
  for (int k = 0; k < n; k++) {
    results[k] = check_result(s, k, vals[k], st->values[producer ? 0 : k]->loc);
    ok = ok && results[k];
  }
  return ok;
}

/* ---- bodies -------------------------------------------------------------------- */

/* Each inout param's last update becomes one of the trailing results. */
static bool finish_updates(Sema *s, const FnDecl *d, IrNode **results) {
  bool ok = true;
  for (int i = 0, k = d->nresults; i < d->nparams; i++) {
    if (!is_inout(d, i)) continue;
    if (s->updated[i]) {
      results[k++] = s->updated[i];
      continue;
    }
    if (!d->had_syntax_error)
      sema_error(s, d->params[i].loc, "inout parameter '%s' is never updated; drop inout, or write update %s = ...", d->params[i].name,
                 d->params[i].name);
    ok = false;
  }
  return ok;
}

void sema_lower_body(Sema *s, const FnDecl *d, IrFunc *f) {
  s->fn = f;
  s->decl = d;
  s->too_deep = false;
  clear_scope(s);
  s->updated = tex_calloc((size_t)f->nparams + 1, sizeof(IrNode *));
  IrNode **results = tex_calloc((size_t)(d->nresults + d->nparams) + 1, sizeof(IrNode *));
  for (int i = 0; i < f->nparams; i++)
    bind(s, f->params[i]->name,
         sema_check_not_symbol(s, f->params[i]->name, f->params[i]->loc, "parameter") ? sema_typed(f->params[i]) : sema_poison());
  for (int i = 0; s->spec && i < s->spec->nconst; i++) bind(s, s->spec->names[i], s->spec->vals[i]);
  bool returned = false, ok = false;
  for (int i = 0; i < d->nstmts; i++) {
    const Stmt *st = &d->stmts[i];
    if (returned) {
      sema_error(s, st->loc, "statement after 'return' is never reached");
      break;
    }
    if (st->kind == S_LET) sema_lower_let(s, st);
    if (st->kind == S_UPDATE) lower_update(s, st);
    if (st->kind == S_RETURN) returned = true, ok = lower_return(s, st, results);
  }
  char label[160];
  if (!returned && !d->had_syntax_error) sema_error(s, d->loc, "%s has no 'return'", decl_label(d, label, sizeof label));
  ok = finish_updates(s, d, results) && ok;
  if (ok && f->results && d->nresults)
    memcpy(f->results, results, sizeof(IrNode *) * (size_t)f->nresults);
  else if (!ok)
    f->results = NULL; /* poisoned: callers stop here */
  tex_free(results);
  tex_free(s->updated);
  s->updated = NULL;
}

/* ---- gradient rules -------------------------------------------------------------
 * `grad f(params of f..., one cotangent per float result of f) -> (one
 * cotangent per float param of f)` becomes the non-exported @f__rule, with
 * the signature of f's DERIVE_VJP_CT, and f's custom_vjp. */

static void note_definition(Sema *s, const FnDecl *target) { diag_note(s->diag, target->loc, "%s() is defined here", target->name); }

static int nvalues(const IrFunc *f) { return f->nresults - f->nupdates; }

/* "its result" or "result 2 of f()": which result a cotangent belongs to. */
static const char *result_text(const IrFunc *f, int k, char *buf, size_t len) {
  if (nvalues(f) == 1)
    snprintf(buf, len, "the result of %s()", f->name);
  else
    snprintf(buf, len, "result %d of %s()", k + 1, f->name);
  return buf;
}

static int count_float_results(const IrFunc *f) {
  int n = 0;
  for (int k = 0; k < nvalues(f); k++) n += dtype_is_float(f->results[k]->dtype);
  return n;
}

static bool rule_param_is(Sema *s, const FnDecl *r, IrFunc *rf, int i, const IrNode *want, const char *want_name, const char *role) {
  const IrNode *got = rf->params[i];
  if (same_type(got, want) && (!want_name || strcmp(got->name, want_name) == 0)) return true;
  char tg[256], tw[256];
  sema_type_text(s, got, tg, sizeof tg);
  sema_type_text(s, want, tw, sizeof tw);
  if (want_name)
    sema_error(s, r->params[i].loc, "parameter %d of the grad rule for %s() must be '%s: %s', as in %s(); got '%s: %s'", i + 1, r->name,
               want_name, tw, r->name, got->name, tg);
  else
    sema_error(s, r->params[i].loc, "parameter %d of the grad rule for %s() is the cotangent of %s, so it must be %s; got %s", i + 1,
               r->name, role, tw, tg);
  return false;
}

/* f's params (same names and types), then one cotangent per float result. */
static bool check_rule_params(Sema *s, const FnDecl *r, IrFunc *rf, IrFunc *tf) {
  int nct = count_float_results(tf), want = tf->nparams + nct;
  if (r->nparams != want) {
    sema_error(s, r->loc,
               "the grad rule for %s() must take the %d parameter%s of %s(), then %d cotangent%s (one per floating-point result); "
               "it takes %d",
               r->name, tf->nparams, tf->nparams == 1 ? "" : "s", r->name, nct, nct == 1 ? "" : "s", r->nparams);
    return false;
  }
  for (int i = 0; i < tf->nparams; i++)
    if (!rule_param_is(s, r, rf, i, tf->params[i], tf->params[i]->name, NULL)) return false;
  for (int k = 0, i = tf->nparams; k < nvalues(tf); k++) {
    if (!dtype_is_float(tf->results[k]->dtype)) continue;
    char role[200];
    if (!rule_param_is(s, r, rf, i++, tf->results[k], NULL, result_text(tf, k, role, sizeof role))) return false;
  }
  return true;
}

/* One cotangent per float param of f, each of that param's type. */
static bool check_rule_results(Sema *s, const FnDecl *r, IrFunc *rf, IrFunc *tf) {
  int nfloat = 0, n = 0;
  char names[256] = "";
  for (int i = 0; i < tf->nparams; i++) {
    if (!dtype_is_float(tf->params[i]->dtype)) continue;
    nfloat++;
    if (n < (int)sizeof names - 64) n += snprintf(names + n, sizeof names - (size_t)n, "%s%s", n ? ", " : "", tf->params[i]->name);
  }
  if (r->nresults != nfloat) {
    sema_error(s, r->results[0].loc,
               "the grad rule for %s() must return %d cotangent%s, one per floating-point parameter of %s() (%s); it declares %d", r->name,
               nfloat, nfloat == 1 ? "" : "s", r->name, names, r->nresults);
    return false;
  }
  for (int i = 0, k = 0; i < tf->nparams; i++) {
    const IrNode *p = tf->params[i];
    if (!dtype_is_float(p->dtype)) continue;
    if (!same_type(rf->results[k], p)) {
      char tg[256], tw[256];
      sema_error(s, r->results[k].loc, "result %d of the grad rule for %s() is the cotangent of '%s', so it must be %s; got %s", k + 1,
                 r->name, p->name, sema_type_text(s, p, tw, sizeof tw), sema_type_text(s, rf->results[k], tg, sizeof tg));
      return false;
    }
    k++;
  }
  return true;
}

static const FnDecl *earlier_rule(Sema *s, int index) {
  const FnDecl *r = s->prog->fns.items[index];
  for (int i = 0; i < index; i++) {
    const FnDecl *d = s->prog->fns.items[i];
    if (d->is_rule && strcmp(d->name, r->name) == 0) return d;
  }
  return NULL;
}

static void unknown_rule_target(Sema *s, const FnDecl *r) {
  int bestd = (int)strlen(r->name) / 3 + 1;
  const char *hint = closest_user_function(s, r->name, &bestd);
  if (hint)
    sema_error(s, r->loc, "grad rule for unknown function '%s'; did you mean '%s'?", r->name, hint);
  else
    sema_error(s, r->loc, "grad rule for unknown function '%s'; a rule needs a function of the same name in this file", r->name);
}

/* Checks rule index against its function and links it as custom_vjp. */
static void link_rule(Sema *s, int index) {
  const FnDecl *r = s->prog->fns.items[index], *prev = earlier_rule(s, index);
  IrFunc *rf = s->funcs[index], *tf;
  const FnDecl *t = sema_find_fn(s, r->name, &tf);
  if (!t) return unknown_rule_target(s, r);
  if (!tf) {
    sema_error(s, r->loc,
               "%s() is polymorphic (it has untyped or constant parameters), so it cannot have a grad rule; give its "
               "parameters types",
               r->name);
    note_definition(s, t);
  } else if (prev) {
    sema_error(s, r->loc, "%s() already has a grad rule", r->name);
    diag_note(s->diag, prev->loc, "the first rule is here");
  } else if (sema_check_differentiable(s, t, r->loc, "write a grad rule for") && tf->results && rf->results) {
    if (check_rule_params(s, r, rf, tf) && check_rule_results(s, r, rf, tf))
      tf->custom_vjp = rf;
    else
      note_definition(s, t);
  }
}

/* ---- recursion and inlined size -------------------------------------------------------
 * Calls must form no cycle (every call is inlined): a depth-first search
 * with three colours, linear in the number of calls.  A cycle is reported at
 * the call that closes it, with the whole path.  A call to a derived
 * function (grad(f) ...) counts as a call to f: its body is built from f's.
 * The same search adds up how many operations each function has once its
 * calls are inlined: 30 functions that each call the one before twice make
 * 2^30, and the inline pass, which inlines into every function, makes the
 * sum over all functions (a chain of 20,000 calls: 2 * 10^8 nodes, 24 GB).
 * Past FE_MAX_INLINED the program is refused before any of that is built. */
typedef struct CallSearch {
  Sema *s;
  PtrVec path;     /* IrFunc* on the current path */
  int *colour;     /* per function index: 0 new, 1 on the path, 2 done */
  int64_t *size;   /* per function index: operations once calls are inlined (saturating) */
  int *slot;       /* hash of function pointers: 1 + index, 0 empty */
  uint32_t nslots; /* a power of two, over twice the number of functions */
} CallSearch;

enum { DERIVED_SIZE_FACTOR = 3 }; /* a derivative's body is about this many times its function's */

static uint32_t pointer_hash(const void *p) { return (uint32_t)(((uintptr_t)p >> 4) * 2654435761u); }

static uint32_t func_slot(const CallSearch *cs, const IrFunc *f) {
  uint32_t h = pointer_hash(f) & (cs->nslots - 1);
  while (cs->slot[h] && cs->s->m->funcs.items[cs->slot[h] - 1] != f) h = (h + 1) & (cs->nslots - 1);
  return h;
}

static int func_index(const CallSearch *cs, const IrFunc *f) {
  int i = cs->slot[func_slot(cs, f)] - 1;
  if (i < 0) ice("function @%s not in the module", f->name);
  return i;
}

static int64_t add_size(int64_t a, int64_t b) { return a > INT64_MAX / 4 - b ? INT64_MAX / 4 : a + b; }

static IrFunc *call_root(IrFunc *f) {
  while (f->derive_of) f = f->derive_of;
  return f;
}

static const char *surface_derive_name(DeriveKind k) { return k == DERIVE_VJP_CT ? "vjp" : derive_kind_names[k]; }

static void report_cycle(CallSearch *cs, const IrNode *call, IrFunc *callee) {
  char path[1024];
  int n = 0, from = 0;
  while (from < cs->path.len && cs->path.items[from] != callee) from++;
  for (int i = from; i < cs->path.len && n < (int)sizeof path - 64; i++)
    n += snprintf(path + n, sizeof path - (size_t)n, "%s() -> ", ((IrFunc *)cs->path.items[i])->name);
  snprintf(path + n, sizeof path - (size_t)n, "%s()", callee->name);
  IrFunc *caller = cs->path.items[cs->path.len - 1];
  const IrFunc *direct = call->attr.callee;
  if (caller == callee && direct != callee)
    sema_error(cs->s, call->loc, "%s() calls itself through %s(%s); functions are inlined, so recursion is not supported", caller->name,
               surface_derive_name(direct->derive), callee->name);
  else if (caller == callee)
    sema_error(cs->s, call->loc, "%s() calls itself; functions are inlined, so recursion is not supported", caller->name);
  else
    sema_error(cs->s, call->loc, "recursive calls %s; functions are inlined, so recursion is not supported", path);
}

static void visit_calls(CallSearch *cs, IrFunc *f) {
  int fi = func_index(cs, f);
  cs->colour[fi] = 1;
  vec_push(&cs->path, f);
  int64_t size = 0;
  PtrVec all = {0};
  ir_all_nodes(f, &all); /* calls in loop bodies too */
  for (int i = 0; i < all.len; i++) {
    IrNode *n = all.items[i];
    if (n->op != OP_CALL) {
      size = add_size(size, 1);
      continue;
    }
    IrFunc *callee = call_root(n->attr.callee);
    int ci = func_index(cs, callee);
    if (cs->colour[ci] == 1) report_cycle(cs, n, callee);
    if (cs->colour[ci] == 0) visit_calls(cs, callee);
    int64_t callee_size = cs->size[ci];
    for (int k = 1; k < (n->attr.callee->derive ? DERIVED_SIZE_FACTOR : 1); k++) callee_size = add_size(callee_size, cs->size[ci]);
    size = add_size(size, callee_size);
  }
  cs->size[fi] = size;
  cs->path.len--, vec_free(&all);
  cs->colour[fi] = 2;
}

/* The inline pass builds every function's inlined body: their sum is bounded. */
static void check_inlined_size(CallSearch *cs) {
  IrModule *m = cs->s->m;
  int64_t total = 0;
  int biggest = 0;
  for (int i = 0; i < m->funcs.len; i++) {
    IrFunc *f = m->funcs.items[i];
    if (f->derive) cs->size[i] = cs->size[func_index(cs, call_root(f))] * DERIVED_SIZE_FACTOR;
    total = add_size(total, cs->size[i]);
    if (cs->size[i] > cs->size[biggest]) biggest = i;
  }
  if (total <= FE_MAX_INLINED) return;
  IrFunc *f = m->funcs.items[biggest];
  sema_error(cs->s, f->loc,
             "calls are inlined, and once they are, %s() has about %lld operations and the module about %lld; the limit is %d",
             call_root(f)->name, (long long)cs->size[biggest], (long long)total, FE_MAX_INLINED);
}

static void check_recursion(Sema *s) {
  int n = s->m->funcs.len, errors = s->diag->errors;
  CallSearch cs = {s, {0}, tex_calloc((size_t)n + 1, sizeof(int)), tex_calloc((size_t)n + 1, sizeof(int64_t)), NULL, 16};
  while (cs.nslots < 2 * (uint32_t)n) cs.nslots *= 2;
  cs.slot = tex_calloc(cs.nslots, sizeof(int));
  for (int i = 0; i < n; i++) cs.slot[func_slot(&cs, s->m->funcs.items[i])] = i + 1;
  for (int i = 0; i < n; i++)
    if (!cs.colour[i]) visit_calls(&cs, s->m->funcs.items[i]);
  if (s->diag->errors == errors) check_inlined_size(&cs); /* sizes mean nothing around a cycle */
  vec_free(&cs.path);
  tex_free(cs.colour);
  tex_free(cs.size);
  tex_free(cs.slot);
}

/* ---- the module ----------------------------------------------------------------------- */

/* Builds the hash from function name to first definition that sema_find_fn
 * reads, reporting "defined again" on the way (a linear search per call,
 * and comparing every pair of names, took seconds for 20,000 functions). */
static void index_functions(Sema *s) {
  int n = s->prog->fns.len;
  s->fn_nslots = 16;
  while (s->fn_nslots < 2 * (uint32_t)n) s->fn_nslots *= 2;
  s->fn_slot = tex_calloc(s->fn_nslots, sizeof(int));
  for (int i = 0; i < n; i++) {
    const FnDecl *d = s->prog->fns.items[i];
    if (d->is_rule) continue;
    uint32_t h = fn_name_slot(s, d->name);
    if (!s->fn_slot[h]) {
      s->fn_slot[h] = i + 1;
      continue;
    }
    sema_error(s, d->loc, "function '%s' is defined again", d->name);
    diag_note(s->diag, ((const FnDecl *)s->prog->fns.items[s->fn_slot[h] - 1])->loc, "first defined here");
  }
}

/* Function names must be unique and must not shadow builtins.  A module's
 * functions are never exported, and may take a builtin's name: they are
 * only reached qualified (nn.softmax), and inside the module the plain name
 * still means the builtin. */
static void check_names(Sema *s) {
  bool main_file = !s->unit->name;
  for (int i = 0; i < s->prog->fns.len; i++) {
    const FnDecl *d = s->prog->fns.items[i];
    if (d->is_rule) continue;
    if (main_file && sema_is_builtin(d->name)) sema_error(s, d->loc, "'%s' is a builtin; choose another name", d->name);
    for (const char *const *r = (const char *const[]){"last_error", "module_info", "call", "set_num_threads", NULL}; main_file && *r; r++)
      if (strcmp(d->name, *r) == 0) sema_error(s, d->loc, "'%s' is reserved: every module exports <prefix>_%s", d->name, d->name);
    if (strstr(d->name, "__"))
      sema_error(s, d->loc, "'%s': names with '__' are reserved for the functions texc derives (f__grad, f__rule, ...)", d->name);
  }
  index_functions(s);
}

/* The IR function of declaration d of the current unit: a module's are
 * named <module>__<name> and never exported. */
static IrFunc *new_func(Sema *s, const FnDecl *d) {
  const char *name = d->is_rule ? arena_printf(&s->m->arena, "%s__rule", d->name) : d->name;
  if (s->unit->irname) name = arena_printf(&s->m->arena, "%s__%s", s->unit->irname, name);
  IrFunc *f = ir_func_new(s->m, name, d->loc);
  lower_signature(s, d, f);
  if (s->unit->irname) f->exported = false;
  return f;
}

void sema_lower_unit(Sema *s) {
  const Program *prog = s->prog;
  check_names(s);
  sema_load_imports(s);
  s->funcs = s->unit->funcs = tex_calloc((size_t)prog->fns.len + 1, sizeof(IrFunc *));
  for (int i = 0; i < prog->fns.len; i++) {
    const FnDecl *d = prog->fns.items[i];
    if (!d->is_rule && sema_decl_is_poly(d))
      sema_check_poly_decl(s, d); /* specialised at each call (poly.c) */
    else
      s->funcs[i] = new_func(s, d);
  }
  for (int i = 0; i < prog->fns.len; i++)
    if (((const FnDecl *)prog->fns.items[i])->is_rule) link_rule(s, i);
  for (int i = 0; i < prog->fns.len; i++) {
    const FnDecl *d = prog->fns.items[i];
    if (!s->funcs[i]) continue;
    sema_lower_body(s, d, s->funcs[i]);
    if (dim_overflowed(s->m->dims)) sema_error(s, d->loc, "a shape in %s() is larger than 2^63", d->name);
  }
}

/* The current unit's tables live in s while it is current. */
static void store_unit(Sema *s) {
  if (!s->unit) return;
  s->unit->funcs = s->funcs;
  s->unit->fn_slot = s->fn_slot;
  s->unit->fn_nslots = s->fn_nslots;
}

void sema_enter_unit(Sema *s, Unit *u, Sema *saved) {
  store_unit(s);
  *saved = *s;
  s->unit = u;
  s->prog = &u->prog;
  s->funcs = u->funcs;
  s->fn_slot = u->fn_slot;
  s->fn_nslots = u->fn_nslots;
  s->scope = NULL, s->nscope = s->scopecap = 0;
  s->index = NULL, s->indexcap = 0;
  s->updated = NULL;
  s->fn = NULL, s->decl = NULL, s->loop = NULL;
  s->too_deep = false;
}

void sema_leave_unit(Sema *s, Sema *saved) {
  store_unit(s);
  tex_free(s->scope);
  tex_free(s->index);
  tex_free(s->updated);
  /* what nested lowering shares with the caller's state */
  saved->active = s->active;
  *s = *saved;
}

int fe_lower(const Program *prog, IrModule *m, const char *stdlib, Diag *diag) {
  Modules mods = {.stdlib = stdlib};
  Unit *main_unit = tex_calloc(1, sizeof(Unit));
  main_unit->prog = *prog;
  main_unit->path = prog->file;
  char real[PATH_MAX]; /* NULL for a file that is not on disk (tests): */
  main_unit->real = prog->file && realpath(prog->file, real) ? arena_strdup(&m->arena, real) : NULL;
  main_unit->loading = true;
  vec_push(&mods.units, main_unit);
  vec_push(&mods.stack, main_unit);
  Sema s = {.m = m, .diag = diag, .mods = &mods}, saved;
  int before = diag->errors;
  sema_enter_unit(&s, main_unit, &saved);
  sema_lower_unit(&s);
  sema_leave_unit(&s, &saved);
  check_recursion(&s);
  main_unit->prog = (Program){0}; /* the caller's */
  sema_free_modules(&mods);
  vec_free(&s.active);
  return diag->errors - before;
}

IrModule *fe_compile_text(const char *file, const char *text, const char *prefix, Diag *diag) {
  return fe_compile_text_stdlib(file, text, prefix, NULL, diag);
}

IrModule *fe_compile_text_stdlib(const char *file, const char *text, const char *prefix, const char *stdlib, Diag *diag) {
  IrModule *m = ir_module_new(prefix);
  m->source = arena_strdup(&m->arena, file);
  Arena ast = {0};
  Program prog = {0};
  diag_add_source(diag, m->source, text);
  int errors = fe_parse(&prog, m->source, text, &ast, diag);
  errors += fe_lower(&prog, m, stdlib, diag);
  vec_free(&prog.fns);
  vec_free(&prog.imports);
  arena_free(&ast);
  if (errors) {
    ir_module_free(m);
    return NULL;
  }
  return m;
}
