/* bounds.c — which subscripts of a region are provably in range.
 *
 * Interval arithmetic over a region's integer values with dims as bounds:
 * an index variable i < E lies in [0, E - 1], constants and dims are points,
 * and + - * by a nonnegative literal, negation, integer casts, max and min
 * combine intervals (so a clamped subscript, min(max(i - 1, 0), N - 1), is
 * proved).  A subscript is in range of an axis of extent D when its lower
 * bound is provably >= 0 and D - 1 - upper is provably >= 0 (dims are
 * polynomials over sizes, which are >= 0, so "provably" means: no negative
 * coefficient).  Anything else (a value read from an array, a product of two
 * variables) is unknown and checked when the kernel runs.  The analysis
 * assumes every loop runs at least once: if one has extent 0, nothing reads.
 *
 * A read in a branch of where happens only where the branch's conditions
 * hold (bounds_in_range_under): a conjunct `v >= lo`, `v > lo`, `v < hi`,
 * `v <= hi` (either way round, lo and hi literals or sizes) bounds the value
 * v, so `where(i >= 1 and i <= N, x[i - 1], 0.0)` reads x unchecked, and so
 * does the gradient of a comprehension's read at r + u (grad_region.c). */
#include "passes.h"

typedef struct Interval {
  bool known;
  Dim lo, hi;
} Interval;

static bool nonneg(Dim d) {
  for (int t = 0; t < d->nterms; t++)
    if (d->terms[t].coef < 0) return false;
  return true;
}

typedef struct Facts {
  const IrNode *const *conds; /* conditions that hold where the read happens */
  int n;
} Facts;

/* A literal or a size as a dim, or NULL. */
static Dim point_of(IrModule *m, const IrNode *v) {
  if (v->op == OP_CONST && dtype_is_int(v->dtype)) return dim_lit(m->dims, v->attr.i);
  return v->op == OP_DIMSIZE ? v->attr.dim : NULL;
}

/* Whether a and b compute the same integer (the same node, or the same op
 * on the same values: sema builds `i + 1` anew at each use). */
static bool same_value(const IrNode *a, const IrNode *b, int depth) {
  if (a == b) return true;
  if (depth > 8 || a->op != b->op || a->dtype != b->dtype || a->nargs != b->nargs) return false;
  switch (a->op) {
  case OP_PARAM:
  case OP_CONST: return a->attr.i == b->attr.i && (a->op == OP_PARAM || dtype_is_int(a->dtype));
  case OP_DIMSIZE: return a->attr.dim == b->attr.dim;
  default:
    if (!(op_info[a->op].flags & F_ELEM) || a->op == OP_CAST) return false;
    for (int i = 0; i < a->nargs; i++)
      if (!same_value(a->args[i], b->args[i], depth + 1)) return false;
    return true;
  }
}

/* The bounds conjunct c puts on x (lo <= x <= hi), in *lo / *hi. */
static void fact_bounds(IrModule *m, const IrNode *c, const IrNode *x, Dim *lo, Dim *hi, int depth) {
  if (depth > 16) return;
  if (c->op == OP_AND) {
    fact_bounds(m, c->args[0], x, lo, hi, depth + 1), fact_bounds(m, c->args[1], x, lo, hi, depth + 1);
    return;
  }
  if (c->op != OP_GE && c->op != OP_GT && c->op != OP_LE && c->op != OP_LT) return;
  Op op = c->op;
  const IrNode *a = c->args[0], *b = c->args[1];
  if (same_value(b, x, 0)) { /* lo <= x is x >= lo */
    const IrNode *tmp = a;
    a = b, b = tmp;
    op = op == OP_GE ? OP_LE : op == OP_GT ? OP_LT : op == OP_LE ? OP_GE : OP_GT;
  }
  Dim v = same_value(a, x, 0) ? point_of(m, b) : NULL;
  if (!v) return;
  DimTable *t = m->dims;
  if (op == OP_GE || op == OP_GT) *lo = op == OP_GE ? v : dim_add(t, v, dim_lit(t, 1));
  if (op == OP_LE || op == OP_LT) *hi = op == OP_LE ? v : dim_sub(t, v, dim_lit(t, 1));
}

static Interval interval_plain(IrModule *m, const IrRegion *r, const IrNode *x, int depth, const Facts *fx);

static Interval interval_of(IrModule *m, const IrRegion *r, const IrNode *x, int depth, const Facts *fx) {
  Interval v = interval_plain(m, r, x, depth, fx);
  if (!fx) return v;
  Dim lo = NULL, hi = NULL;
  for (int i = 0; i < fx->n; i++) fact_bounds(m, fx->conds[i], x, &lo, &hi, 0);
  if (!v.known && !(lo && hi)) return v;
  return (Interval){true, lo ? lo : v.lo, hi ? hi : v.hi};
}

static Interval interval_plain(IrModule *m, const IrRegion *r, const IrNode *x, int depth, const Facts *fx) {
  DimTable *t = m->dims;
  Interval u = {0}, a, b;
  int64_t c;
  if (depth > 64) return u; /* deep subscripts are rare: check them instead */
  switch (x->op) {
  case OP_PARAM: return (Interval){true, dim_lit(t, 0), dim_sub(t, r->extent[x->attr.i], dim_lit(t, 1))};
  case OP_CONST: return dtype_is_int(x->dtype) ? (Interval){true, dim_lit(t, x->attr.i), dim_lit(t, x->attr.i)} : u;
  case OP_DIMSIZE: return (Interval){true, x->attr.dim, x->attr.dim};
  case OP_CAST:
    return dtype_is_int(x->dtype) && dtype_is_int(x->args[0]->dtype) && dtype_sizes[x->dtype] >= dtype_sizes[x->args[0]->dtype]
               ? interval_of(m, r, x->args[0], depth + 1, fx)
               : u;
  case OP_NEG:
    a = interval_of(m, r, x->args[0], depth + 1, fx);
    return a.known ? (Interval){true, dim_sub(t, dim_lit(t, 0), a.hi), dim_sub(t, dim_lit(t, 0), a.lo)} : u;
  case OP_ADD:
  case OP_SUB:
    a = interval_of(m, r, x->args[0], depth + 1, fx), b = interval_of(m, r, x->args[1], depth + 1, fx);
    if (!a.known || !b.known) return u;
    if (x->op == OP_ADD) return (Interval){true, dim_add(t, a.lo, b.lo), dim_add(t, a.hi, b.hi)};
    return (Interval){true, dim_sub(t, a.lo, b.hi), dim_sub(t, a.hi, b.lo)};
  case OP_MUL:
    a = interval_of(m, r, x->args[0], depth + 1, fx), b = interval_of(m, r, x->args[1], depth + 1, fx);
    if (a.known && a.lo == a.hi && dim_is_lit(a.lo, &c) && c >= 0 && b.known)
      return (Interval){true, dim_mul(t, a.lo, b.lo), dim_mul(t, a.lo, b.hi)};
    if (b.known && b.lo == b.hi && dim_is_lit(b.lo, &c) && c >= 0 && a.known)
      return (Interval){true, dim_mul(t, b.lo, a.lo), dim_mul(t, b.lo, a.hi)};
    return u;
  case OP_MAX: /* max >= either lower bound; <= the larger upper bound, if provable */
  case OP_MIN: /* min <= either upper bound; >= the smaller lower bound, if provable */
    a = interval_of(m, r, x->args[0], depth + 1, fx), b = interval_of(m, r, x->args[1], depth + 1, fx);
    if (!a.known || !b.known) return u;
    if (x->op == OP_MAX) {
      Dim lo = nonneg(a.lo) ? a.lo : b.lo;
      if (nonneg(dim_sub(t, a.hi, b.hi))) return (Interval){true, lo, a.hi};
      return nonneg(dim_sub(t, b.hi, a.hi)) ? (Interval){true, lo, b.hi} : u;
    }
    if (nonneg(dim_sub(t, b.lo, a.lo))) return (Interval){true, a.lo, b.hi};
    return nonneg(dim_sub(t, a.lo, b.lo)) ? (Interval){true, b.lo, b.hi} : u;
  default: return u;
  }
}

static bool in_range(IrModule *m, const IrRegion *r, const IrNode *sub, Dim extent, const Facts *fx) {
  Interval v = interval_of(m, r, sub, 0, fx);
  if (!v.known || dim_overflowed(m->dims)) return false;
  return nonneg(v.lo) && nonneg(dim_sub(m->dims, dim_sub(m->dims, extent, dim_lit(m->dims, 1)), v.hi)) && !dim_overflowed(m->dims);
}

bool bounds_in_range(IrModule *m, const IrRegion *r, const IrNode *sub, Dim extent) { return in_range(m, r, sub, extent, NULL); }

bool bounds_in_range_under(IrModule *m, const IrRegion *r, const IrNode *sub, Dim extent, const IrNode *const *conds, int nconds) {
  Facts fx = {conds, nconds};
  return in_range(m, r, sub, extent, NULL) || (nconds > 0 && in_range(m, r, sub, extent, &fx));
}
