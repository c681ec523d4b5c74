/* shape.c — size symbols as values, dims written as polynomials, and the
 * shape builtins (one table row each, below): zeros, ones, full, zeros_like,
 * ones_like, reshape, broadcast_to, permute, squeeze, expand_dims.
 *
 * A size symbol `N` of the function (bound by a parameter's plain dim) is a
 * value in expressions: an i64 scalar, OP_DIMSIZE in the IR.  No let or
 * parameter may take a symbol's name, so a name always means one thing.
 * Shapes are written as a type (`zeros(f32[N, 3])`) or, where no dtype is
 * wanted, as a dim or a parenthesised list of dims (`reshape(x, (N, D))`);
 * a dim is an integer polynomial (+ - *) over literals and size symbols. */
#include <string.h>

#include "frontend.h"

/* ---- size symbols -------------------------------------------------------------- */

int sema_fn_symbol(Sema *s, const char *name) {
  IrFunc *f = sema_enclosing_fn(s);
  for (int i = 0; f && i < f->nparams; i++)
    for (int d = 0; d < f->params[i]->rank; d++) {
      int sym = dim_as_sym(f->params[i]->shape[d]);
      if (sym >= 0 && strcmp(dim_symbol_name(s->m->dims, sym), name) == 0) return sym;
    }
  return -1;
}

bool sema_check_not_symbol(Sema *s, const char *name, SrcLoc at, const char *what) {
  /* a polymorphic function's symbols are its caller's: its body never names
   * them, so its own names (a library's `let H = dim(x, 2)`) may shadow them */
  if (s->spec || sema_fn_symbol(s, name) < 0) return true;
  sema_error(s, at, "%s '%s' has the name of a size symbol of %s(); size symbols are values too (the extent), so pick another name", what,
             name, sema_enclosing_fn(s)->name);
  return false;
}

bool sema_size_symbol(Sema *s, const Expr *e, Val *out) {
  int sym = sema_fn_symbol(s, e->name);
  if (sym < 0) return false;
  IrNode *n = ir_node(s->m, s->fn, OP_DIMSIZE, DT_I64, 0, NULL, 0, NULL, e->loc);
  n->attr.dim = dim_sym(s->m->dims, e->name);
  *out = sema_typed(n);
  return true;
}

/* ---- dims as expressions ------------------------------------------------------- */

static bool dim_fail(Sema *s, const Expr *e, const char *fmt, const char *arg) {
  sema_error(s, e->loc, fmt, arg);
  return false;
}

/* dim(x, k): the extent of axis k of the array x, as a dim (what names a
 * dim in a function whose parameters have no types). */
static bool dim_of_array(Sema *s, const Expr *e, Dim *out) {
  int64_t k;
  bool neg = e->nargs == 2 && e->args[1].value->kind == E_UNARY && e->args[1].value->op == U_NEG;
  const Expr *ke = e->nargs == 2 ? (neg ? e->args[1].value->lhs : e->args[1].value) : NULL;
  if (e->nargs != 2 || e->args[0].name || e->args[1].name || ke->kind != E_INT)
    return dim_fail(s, e, "dim(x, k) takes an array and an integer literal axis%s", "");
  /* A name is looked up, not lowered: inside index notation an array
   * cannot be lowered whole, but its extents are still known. */
  const Expr *xe = e->args[0].value;
  const Binding *b = xe->kind == E_NAME ? sema_lookup(s, xe->name) : NULL;
  Val x = b && b->val.node ? b->val : sema_lower_expr(s, xe);
  if (x.poison) return false;
  if (x.weak || x.ntuple) return dim_fail(s, e, "dim(x, k) needs an array%s", "");
  k = neg ? x.node->rank - ke->ival : ke->ival;
  if (k < 0 || k >= x.node->rank) return dim_fail(s, e->args[1].value, "axis out of range for dim(x, k)%s", "");
  *out = x.node->shape[k];
  return true;
}

/* a // b and a % b of dims in Python's semantics: both literal (after
 * constants and literal dims are substituted), or a // c of any dim by a
 * positive literal (ir.h, dim_floordiv: a derived symbol); a % of symbols
 * has no dim. */
static bool dims_floordiv(Sema *s, const Expr *e, bool bound, Dim *out) {
  Dim a, b;
  int64_t x, y;
  if (!sema_dim_of_expr(s, e->lhs, bound, &a) || !sema_dim_of_expr(s, e->rhs, bound, &b)) return false;
  const char *op = e->op == B_FLOORDIV ? "//" : "%";
  if (e->op == B_FLOORDIV && !dim_is_lit(a, &x) && dim_is_lit(b, &y) && y > 0) return *out = dim_floordiv(s->m->dims, a, y), true;
  if (!dim_is_lit(a, &x) || !dim_is_lit(b, &y))
    return dim_fail(s, e,
                    e->op == B_FLOORDIV ? "'%s' in a dim needs a positive literal divisor"
                                        : "'%s' in a dim needs both sides known at compile time (literals, constants, literal dims)",
                    op);
  if (y == 0) return dim_fail(s, e->rhs, "this dim divides by zero (with '%s')", op);
  if (x == INT64_MIN && y == -1) return dim_fail(s, e, "this dim overflows 64-bit integers%s", "");
  int64_t q = x / y, r = x % y;
  if (r != 0 && (r < 0) != (y < 0)) q -= 1, r += y; /* floor, as Python */
  *out = dim_lit(s->m->dims, e->op == B_FLOORDIV ? q : r);
  return true;
}

/* e as a dim: + - * over integer literals and symbols (bound ones only if
 * bound: symbols of the function's parameters), dim(x, k), // and % of
 * literal dims, and names bound
 * to integer compile-time constants (a polymorphic function's constant
 * parameters, a let of integer literal arithmetic), which are literals. */
bool sema_dim_of_expr(Sema *s, const Expr *e, bool bound, Dim *out) {
  DimTable *t = s->m->dims;
  if (e->kind == E_INT) return *out = dim_lit(t, e->ival), true;
  if (e->kind == E_NAME) {
    if (bound && sema_fn_symbol(s, e->name) < 0) {
      const Binding *c = sema_lookup(s, e->name);
      if (c && c->val.weak && !c->val.weak_float) return *out = dim_lit(t, c->val.i), true; /* a constant: a literal */
      if (c)
        return dim_fail(s, e, "'%s' is a value, not a size symbol; dims are written with the size symbols of the parameters' types",
                        e->name);
      return dim_fail(s, e, "'%s' is not a size symbol of any parameter of this function", e->name);
    }
    return *out = dim_sym(t, e->name), true;
  }
  Dim a, b;
  if (e->kind == E_CALL && strcmp(e->name, "dim") == 0) return dim_of_array(s, e, out);
  if (e->kind == E_UNARY && e->op == U_NEG) {
    if (!sema_dim_of_expr(s, e->lhs, bound, &a)) return false;
    *out = dim_sub(t, dim_lit(t, 0), a);
    return dim_overflowed(t) ? dim_fail(s, e, "this dim overflows 64-bit integers%s", "") : true;
  }
  if (e->kind == E_BINARY && (e->op == B_FLOORDIV || e->op == B_MOD)) return dims_floordiv(s, e, bound, out);
  if (e->kind != E_BINARY || (e->op != B_ADD && e->op != B_SUB && e->op != B_MUL))
    return dim_fail(s, e, "a dim is an integer polynomial over size symbols: literals and symbols with + - *%s", "");
  if (!sema_dim_of_expr(s, e->lhs, bound, &a) || !sema_dim_of_expr(s, e->rhs, bound, &b)) return false;
  *out = e->op == B_ADD ? dim_add(t, a, b) : e->op == B_SUB ? dim_sub(t, a, b) : dim_mul(t, a, b);
  if (dim_overflowed(t)) return dim_fail(s, e, "this dim overflows 64-bit integers%s", "");
  return true;
}

/* A dim that is a negative literal is an error; any other is a size. */
static bool dim_nonnegative(Sema *s, Dim d, SrcLoc at) {
  int64_t v;
  if (!dim_is_lit(d, &v) || v >= 0) return true;
  sema_error(s, at, "this dim is %lld; extents are at least 0 (-1 in reshape() infers one dim)", (long long)v);
  return false;
}

static bool type_shape(Sema *s, const TypeExpr *ty, int *rank, Dim *shape) {
  if (ty->rank > IR_MAX_RANK) {
    sema_error(s, ty->loc, "rank %d is more than the supported %d", ty->rank, IR_MAX_RANK);
    return false;
  }
  *rank = ty->rank;
  for (int d = 0; d < ty->rank; d++) {
    const DimExpr *de = &ty->dims[d];
    Expr tmp = {.kind = de->sym ? E_NAME : E_INT, .loc = de->loc, .name = de->sym, .ival = de->lit};
    if (!sema_dim_of_expr(s, de->poly ? de->poly : &tmp, true, &shape[d]) || !dim_nonnegative(s, shape[d], de->loc)) return false;
  }
  return true;
}

/* A shape argument: a type (its dtype is checked against want unless
 * want is DT_COUNT), a parenthesised list of dims, or one dim.  With infer,
 * one dim may be -1 (*inferred is its axis, else -1). */
static bool shape_arg(Sema *s, const Expr *e, DType want, bool infer, int *rank, Dim *shape, int *inferred) {
  *inferred = -1;
  if (e->kind == E_TYPE) {
    if (want != DT_COUNT && e->type->dtype != want) {
      sema_error(s, e->loc, "the type is %s but the array is %s; the shape op does not convert (cast first)", dtype_names[e->type->dtype],
                 dtype_names[want]);
      return false;
    }
    return type_shape(s, e->type, rank, shape);
  }
  bool list = e->kind == E_TUPLE || e->kind == E_LIST; /* (N, D) or [N, D] */
  int n = list ? e->nargs : 1;
  if (n > IR_MAX_RANK) {
    sema_error(s, e->loc, "rank %d is more than the supported %d", n, IR_MAX_RANK);
    return false;
  }
  *rank = n;
  for (int d = 0; d < n; d++) {
    const Expr *de = list ? e->args[d].value : e;
    if (infer && de->kind == E_UNARY && de->op == U_NEG && de->lhs->kind == E_INT && de->lhs->ival == 1) {
      if (*inferred >= 0) {
        sema_error(s, de->loc, "only one dim can be -1 (inferred)");
        return false;
      }
      *inferred = d;
      shape[d] = dim_lit(s->m->dims, 1);
      continue;
    }
    if (!sema_dim_of_expr(s, de, true, &shape[d]) || !dim_nonnegative(s, shape[d], de->loc)) return false;
  }
  return true;
}

/* "[N, 3]" for messages. */
static const char *shape_text(Sema *s, int rank, const Dim *shape, char *buf, size_t len) {
  size_t k = 0;
  k += (size_t)snprintf(buf, len, "[");
  for (int d = 0; d < rank && k < len; d++) {
    if (d) k += (size_t)snprintf(buf + k, len - k, ", ");
    if (k < len) k += (size_t)dim_snprint(s->m->dims, shape[d], buf + k, len - k);
  }
  if (k < len) snprintf(buf + k, len - k, "]");
  return buf;
}

/* ---- arguments ----------------------------------------------------------------- */

/* Positional arguments (up to 2) and the one named argument a row allows. */
typedef struct ShapeArgs {
  const Expr *pos[2];
  int npos;
  const Expr *named; /* the value of axis= or axes= */
} ShapeArgs;

typedef struct ShapeBuiltin ShapeBuiltin;
struct ShapeBuiltin {
  const char *name;
  Val (*lower)(Sema *s, const Expr *e, const ShapeBuiltin *b, const ShapeArgs *a);
  int npos;
  const char *named;    /* "axis", "axes" or NULL */
  bool named_required;
  double fill;          /* zeros, ones */
};

static bool shape_args(Sema *s, const Expr *e, const ShapeBuiltin *b, ShapeArgs *a) {
  memset(a, 0, sizeof *a);
  for (int i = 0; i < e->nargs; i++) {
    const Arg *arg = &e->args[i];
    if (!arg->name) {
      if (a->npos < 2) a->pos[a->npos] = arg->value;
      a->npos++;
    } else if (b->named && strcmp(arg->name, b->named) == 0 && !a->named) {
      a->named = arg->value;
    } else {
      sema_error(s, arg->loc, b->named ? "%s() takes %s= once and no other named argument" : "%s() takes no named argument%s", e->name,
                 b->named ? b->named : "");
      return false;
    }
  }
  if (a->npos != b->npos) {
    sema_error(s, e->loc, "%s() takes %d argument%s, got %d", e->name, b->npos, b->npos == 1 ? "" : "s", a->npos);
    return false;
  }
  if (b->named_required && !a->named) {
    sema_error(s, e->loc, "%s() needs %s=", e->name, b->named);
    return false;
  }
  return true;
}

static bool array_arg(Sema *s, const Expr *e, Val *x) {
  *x = sema_materialize_default(s, sema_lower_expr(s, e));
  return !x->poison;
}

/* An axis literal k for rank (negative counts from the end). */
static bool axis_value(Sema *s, const Expr *e, int rank, int *axis) {
  int64_t k;
  if (e->kind == E_INT)
    k = e->ival;
  else if (e->kind == E_UNARY && e->op == U_NEG && e->lhs->kind == E_INT)
    k = -e->lhs->ival;
  else {
    sema_error(s, e->loc, "an axis must be an integer literal");
    return false;
  }
  if (k < -rank || k >= rank) {
    sema_error(s, e->loc, "axis %lld is out of range for rank %d", (long long)k, rank);
    return false;
  }
  *axis = (int)(k < 0 ? k + rank : k);
  return true;
}

/* ---- zeros, ones, full, zeros_like, ones_like ------------------------------------- */

static Val filled(Sema *s, IrNode *v, int rank, const Dim *shape, SrcLoc at) {
  return sema_typed(rank ? ir_broadcast(s->m, s->fn, v, rank, shape, at) : v);
}

static Val lower_zeros(Sema *s, const Expr *e, const ShapeBuiltin *b, const ShapeArgs *a) {
  const Expr *t = a->pos[0];
  if (t->kind != E_TYPE) {
    sema_error(s, t->loc, "%s() takes an array type, e.g. %s(f32[N, 3])", e->name, e->name);
    return sema_poison();
  }
  int rank;
  Dim shape[IR_MAX_RANK];
  if (!type_shape(s, t->type, &rank, shape)) return sema_poison();
  IrNode *c = ir_const(s->m, s->fn, t->type->dtype, b->fill, (int64_t)b->fill, e->loc);
  return filled(s, c, rank, shape, e->loc);
}

static Val lower_like(Sema *s, const Expr *e, const ShapeBuiltin *b, const ShapeArgs *a) {
  Val x;
  if (!array_arg(s, a->pos[0], &x)) return sema_poison();
  IrNode *c = ir_const(s->m, s->fn, x.node->dtype, b->fill, (int64_t)b->fill, e->loc);
  return filled(s, c, x.node->rank, x.node->shape, e->loc);
}

/* x broadcast to shape by NumPy's rules: axes aligned at the right, a
 * missing leading axis or a literal-1 axis stretches. */
static Val broadcast_checked(Sema *s, const Expr *e, IrNode *x, int rank, const Dim *shape) {
  bool ok = x->rank <= rank;
  for (int d = 0; ok && d < x->rank; d++) {
    Dim xd = x->shape[d], td = shape[d + rank - x->rank];
    ok = xd == td || dim_is_one(xd);
  }
  if (!ok) {
    char tx[256], ts[256];
    sema_error(s, e->loc, "cannot broadcast %s to %s", sema_type_text(s, x, tx, sizeof tx), shape_text(s, rank, shape, ts, sizeof ts));
    return sema_poison();
  }
  bool same = x->rank == rank;
  for (int d = 0; same && d < rank; d++) same = x->shape[d] == shape[d];
  return sema_typed(same ? x : ir_broadcast(s->m, s->fn, x, rank, shape, e->loc));
}

static Val lower_full(Sema *s, const Expr *e, const ShapeBuiltin *b, const ShapeArgs *a) {
  const Expr *t = a->pos[0];
  if (t->kind != E_TYPE) {
    sema_error(s, t->loc, "full() takes an array type first, e.g. full(f32[N, 3], 2.5)");
    return sema_poison();
  }
  int rank;
  Dim shape[IR_MAX_RANK];
  if (!type_shape(s, t->type, &rank, shape)) return sema_poison();
  Val v = sema_lower_expr(s, a->pos[1]);
  if (v.poison) return v;
  v = sema_materialize(s, v, t->type->dtype);
  if (v.poison) return v;
  if (v.node->dtype != t->type->dtype) {
    char tb[256];
    sema_error(s, a->pos[1]->loc, "full() of type %s takes a value of dtype %s, got %s; cast first", dtype_names[t->type->dtype],
               dtype_names[t->type->dtype], sema_type_text(s, v.node, tb, sizeof tb));
    return sema_poison();
  }
  return broadcast_checked(s, e, v.node, rank, shape);
}

static Val lower_broadcast_to(Sema *s, const Expr *e, const ShapeBuiltin *b, const ShapeArgs *a) {
  Val x;
  int rank, inferred;
  Dim shape[IR_MAX_RANK];
  if (!array_arg(s, a->pos[0], &x) || !shape_arg(s, a->pos[1], x.node->dtype, false, &rank, shape, &inferred)) return sema_poison();
  return broadcast_checked(s, e, x.node, rank, shape);
}

/* ---- reshape, squeeze, expand_dims ------------------------------------------------- */

/* p / q when q is one term that divides every term of p exactly. */
static bool dim_div_exact(DimTable *t, Dim p, Dim q, Dim *out) {
  if (q->nterms != 1) return false;
  const DimTerm *qt = &q->terms[0];
  Dim r = dim_lit(t, 0);
  for (int i = 0; i < p->nterms; i++) {
    const DimTerm *pt = &p->terms[i];
    if (pt->coef % qt->coef != 0) return false;
    Dim term = dim_lit(t, pt->coef / qt->coef);
    for (int f = 0; f < pt->nfactors; f++) {
      int pow = pt->factors[f].pow;
      for (int g = 0; g < qt->nfactors; g++)
        if (qt->factors[g].sym == pt->factors[f].sym) pow -= qt->factors[g].pow;
      for (int k = 0; k < pow; k++) term = dim_mul(t, term, dim_sym(t, dim_symbol_name(t, pt->factors[f].sym)));
    }
    r = dim_add(t, r, term);
  }
  for (int g = 0; g < qt->nfactors; g++) { /* every factor of q appears in every term of p */
    for (int i = 0; i < p->nterms; i++) {
      int pow = 0;
      for (int f = 0; f < p->terms[i].nfactors; f++)
        if (p->terms[i].factors[f].sym == qt->factors[g].sym) pow = p->terms[i].factors[f].pow;
      if (pow < qt->factors[g].pow) return false;
    }
  }
  *out = r;
  return true;
}

/* x reshaped; element counts that can never be equal are an error, ones
 * not provably equal are asserted when the function is called. */
static Val reshaped(Sema *s, SrcLoc at, IrNode *x, int rank, const Dim *shape) {
  Dim from = ir_numel(s->m, x->rank, x->shape), to = ir_numel(s->m, rank, shape);
  int64_t diff;
  if (dim_is_lit(dim_sub(s->m->dims, from, to), &diff) && diff != 0) {
    char tx[256], ts[256], nf[64], nt[64];
    dim_snprint(s->m->dims, from, nf, sizeof nf);
    dim_snprint(s->m->dims, to, nt, sizeof nt);
    sema_error(s, at, "reshape whose sizes cannot match: %s has %s elements, %s has %s", sema_type_text(s, x, tx, sizeof tx), nf,
               shape_text(s, rank, shape, ts, sizeof ts), nt);
    return sema_poison();
  }
  bool same = x->rank == rank;
  for (int d = 0; same && d < rank; d++) same = x->shape[d] == shape[d];
  return sema_typed(same ? x : ir_reshape(s->m, s->fn, x, rank, shape, at));
}

static Val lower_reshape(Sema *s, const Expr *e, const ShapeBuiltin *b, const ShapeArgs *a) {
  Val x;
  int rank, inferred;
  Dim shape[IR_MAX_RANK];
  if (!array_arg(s, a->pos[0], &x) || !shape_arg(s, a->pos[1], x.node->dtype, true, &rank, shape, &inferred)) return sema_poison();
  if (inferred >= 0) {
    Dim known = ir_numel(s->m, rank, shape), from = ir_numel(s->m, x.node->rank, x.node->shape);
    if (!dim_div_exact(s->m->dims, from, known, &shape[inferred])) {
      char tx[256], nk[64];
      dim_snprint(s->m->dims, known, nk, sizeof nk);
      sema_error(s, a->pos[1]->loc, "reshape() cannot infer the -1 dim: the elements of %s are not provably a multiple of %s",
                 sema_type_text(s, x.node, tx, sizeof tx), nk);
      return sema_poison();
    }
  }
  return reshaped(s, e->loc, x.node, rank, shape);
}

static Val lower_squeeze(Sema *s, const Expr *e, const ShapeBuiltin *b, const ShapeArgs *a) {
  Val x;
  if (!array_arg(s, a->pos[0], &x)) return sema_poison();
  IrNode *n = x.node;
  int axis = -1, rank = 0;
  if (a->named && !axis_value(s, a->named, n->rank, &axis)) return sema_poison();
  if (axis >= 0 && !dim_is_one(n->shape[axis])) {
    char tx[256], td[64];
    dim_snprint(s->m->dims, n->shape[axis], td, sizeof td);
    sema_error(s, a->named->loc, "squeeze() drops only axes of extent 1; axis %d of %s has extent %s", axis,
               sema_type_text(s, n, tx, sizeof tx), td);
    return sema_poison();
  }
  Dim shape[IR_MAX_RANK];
  for (int d = 0; d < n->rank; d++)
    if (axis >= 0 ? d != axis : !dim_is_one(n->shape[d])) shape[rank++] = n->shape[d];
  return reshaped(s, e->loc, n, rank, shape);
}

/* A new axis of extent 1 at axis: a broadcast, so it is a view that costs nothing. */
static Val lower_expand_dims(Sema *s, const Expr *e, const ShapeBuiltin *b, const ShapeArgs *a) {
  Val x;
  int axis;
  if (!array_arg(s, a->pos[0], &x) || !axis_value(s, a->named, x.node->rank + 1, &axis)) return sema_poison();
  IrNode *n = x.node;
  if (n->rank + 1 > IR_MAX_RANK) {
    sema_error(s, e->loc, "expand_dims() would make rank %d, more than the supported %d", n->rank + 1, IR_MAX_RANK);
    return sema_poison();
  }
  Dim shape[IR_MAX_RANK];
  int64_t axes[IR_MAX_RANK];
  for (int d = 0, o = 0; d <= n->rank; d++) {
    if (d == axis) {
      shape[d] = dim_lit(s->m->dims, 1);
      continue;
    }
    axes[o] = d;
    shape[d] = n->shape[o++];
  }
  IrNode *r = ir_node(s->m, s->fn, OP_BROADCAST, n->dtype, n->rank + 1, shape, 1, &n, e->loc);
  r->attr.naxes = n->rank;
  memcpy(r->attr.axes, axes, sizeof(int64_t) * (size_t)n->rank);
  return sema_typed(r);
}

/* ---- permute ------------------------------------------------------------------------ */

static Val lower_permute(Sema *s, const Expr *e, const ShapeBuiltin *b, const ShapeArgs *a) {
  Val x;
  if (!array_arg(s, a->pos[0], &x)) return sema_poison();
  IrNode *n = x.node;
  const Expr *list = a->named;
  bool many = list->kind == E_TUPLE || list->kind == E_LIST; /* (2, 0, 1) or [2, 0, 1] */
  int count = many ? list->nargs : 1;
  char tx[256];
  if (count != n->rank) {
    sema_error(s, list->loc, "permute() axes= must list each of the %d axes of %s once; it lists %d", n->rank,
               sema_type_text(s, n, tx, sizeof tx), count);
    return sema_poison();
  }
  int64_t perm[IR_MAX_RANK];
  unsigned seen = 0;
  bool identity = true;
  for (int i = 0; i < count; i++) {
    const Expr *ax = many ? list->args[i].value : list;
    int k;
    if (!axis_value(s, ax, n->rank, &k)) return sema_poison();
    if (seen & (1u << k)) {
      sema_error(s, ax->loc, "permute() axes= lists axis %d twice", k);
      return sema_poison();
    }
    seen |= 1u << k;
    perm[i] = k;
    identity = identity && k == i;
  }
  return identity ? x : sema_typed(ir_transpose(s->m, s->fn, n, perm, e->loc));
}

/* ---- dim(x, k) as a value ------------------------------------------------------------ */

/* The extent of axis k of x, an i64 scalar (a literal where the dim is). */
static Val lower_dim(Sema *s, const Expr *e, const ShapeBuiltin *b, const ShapeArgs *a) {
  (void)b, (void)a;
  Dim d;
  int64_t v;
  if (!dim_of_array(s, e, &d)) return sema_poison();
  if (dim_is_lit(d, &v)) return sema_typed(ir_const(s->m, s->fn, DT_I64, 0, v, e->loc));
  IrNode *n = ir_node(s->m, s->fn, OP_DIMSIZE, DT_I64, 0, NULL, 0, NULL, e->loc);
  n->attr.dim = d;
  return sema_typed(n);
}

/* ---- the table ------------------------------------------------------------------------ */

static const ShapeBuiltin shape_builtins[] = {
    {"zeros", lower_zeros, 1, NULL, false, 0},
    {"ones", lower_zeros, 1, NULL, false, 1},
    {"full", lower_full, 2, NULL, false, 0},
    {"zeros_like", lower_like, 1, NULL, false, 0},
    {"ones_like", lower_like, 1, NULL, false, 1},
    {"reshape", lower_reshape, 2, NULL, false, 0},
    {"broadcast_to", lower_broadcast_to, 2, NULL, false, 0},
    {"permute", lower_permute, 1, "axes", true, 0},
    {"squeeze", lower_squeeze, 1, "axis", false, 0},
    {"expand_dims", lower_expand_dims, 1, "axis", true, 0},
    {"dim", lower_dim, 2, NULL, false, 0},
};
enum { NSHAPE = sizeof shape_builtins / sizeof shape_builtins[0] };

const char *sema_shape_builtin_name(int i) { return i < NSHAPE ? shape_builtins[i].name : NULL; }

bool sema_lower_shape_builtin(Sema *s, const Expr *e, Val *out) {
  for (int i = 0; i < NSHAPE; i++)
    if (strcmp(shape_builtins[i].name, e->name) == 0) {
      ShapeArgs a;
      *out = shape_args(s, e, &shape_builtins[i], &a) ? shape_builtins[i].lower(s, e, &shape_builtins[i], &a) : sema_poison();
      return true;
    }
  return false;
}
