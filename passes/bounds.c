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
 * assumes every loop runs at least once: if one has extent 0, nothing reads. */
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

static Interval interval_of(IrModule *m, const IrRegion *r, const IrNode *x, int depth) {
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
               ? interval_of(m, r, x->args[0], depth + 1)
               : u;
  case OP_NEG:
    a = interval_of(m, r, x->args[0], depth + 1);
    return a.known ? (Interval){true, dim_sub(t, dim_lit(t, 0), a.hi), dim_sub(t, dim_lit(t, 0), a.lo)} : u;
  case OP_ADD:
  case OP_SUB:
    a = interval_of(m, r, x->args[0], depth + 1), b = interval_of(m, r, x->args[1], depth + 1);
    if (!a.known || !b.known) return u;
    if (x->op == OP_ADD) return (Interval){true, dim_add(t, a.lo, b.lo), dim_add(t, a.hi, b.hi)};
    return (Interval){true, dim_sub(t, a.lo, b.hi), dim_sub(t, a.hi, b.lo)};
  case OP_MUL:
    a = interval_of(m, r, x->args[0], depth + 1), b = interval_of(m, r, x->args[1], depth + 1);
    if (a.known && a.lo == a.hi && dim_is_lit(a.lo, &c) && c >= 0 && b.known)
      return (Interval){true, dim_mul(t, a.lo, b.lo), dim_mul(t, a.lo, b.hi)};
    if (b.known && b.lo == b.hi && dim_is_lit(b.lo, &c) && c >= 0 && a.known)
      return (Interval){true, dim_mul(t, b.lo, a.lo), dim_mul(t, b.lo, a.hi)};
    return u;
  case OP_MAX: /* max >= either lower bound; <= the larger upper bound, if provable */
  case OP_MIN: /* min <= either upper bound; >= the smaller lower bound, if provable */
    a = interval_of(m, r, x->args[0], depth + 1), b = interval_of(m, r, x->args[1], depth + 1);
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

bool bounds_in_range(IrModule *m, const IrRegion *r, const IrNode *sub, Dim extent) {
  Interval v = interval_of(m, r, sub, 0);
  if (!v.known || dim_overflowed(m->dims)) return false;
  return nonneg(v.lo) && nonneg(dim_sub(m->dims, dim_sub(m->dims, extent, dim_lit(m->dims, 1)), v.hi)) && !dim_overflowed(m->dims);
}
