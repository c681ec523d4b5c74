/* grad_region.c — the gradient rules of gen and scatter (index notation).
 *
 * A region's body is scalar code, so its derivatives are built by running
 * the elementwise rules of grad_rules.c on a copy of the body, inside a new
 * region over the same index space:
 *
 *   vjp  For each read of operand X at subscripts s(I), the point I adds
 *        ct(I) * d(value)/d(read) into X's cotangent at s(I): a scatter.
 *        When s is a permutation of plain index variables spanning X's axes
 *        (x[i, k] in sum[k] ... over i, j, k) no two points collide except
 *        through the other variables, so the scatter is a gen that sums over
 *        those instead (dX[i, k] = sum[j] ...): a reduction, not a scatter.
 *        ct(I) is ct read at the output indices (gen) or at the subscripts
 *        (scatter).  max/min reductions split it evenly between tied maxima,
 *        as reduce_max does (lang/reference.md, "Sub-gradients").
 *   jvp  The same body with tangents pushed forward: a read of X gives a
 *        read of X's tangent at the same subscripts; the tangent of a
 *        reduction is the reduction of the tangent (for max/min, the mean
 *        tangent of the tied maxima).
 *
 * The new region reads y's operands (same numbers) and, after them, the
 * cotangent, tangents and whatever else it needs. */
#include <string.h>

#include "passes.h"

typedef struct RBuild {
  IrBuilder ib;      /* ib.f is the new region's body */
  IrRegion *r;
  PtrVec ops;        /* the new node's operands */
  IrNode **map;      /* old body node id -> its copy */
} RBuild;

static int rb_operand(RBuild *b, IrNode *x) {
  for (int i = 0; i < b->ops.len; i++)
    if (b->ops.items[i] == x) return i;
  vec_push(&b->ops, x);
  return b->ops.len - 1;
}

static IrNode *rb_read(RBuild *b, IrNode *x, IrNode *const *subs) {
  IrNode *rd = ir_node(b->ib.m, b->ib.f, OP_READ, x->dtype, 0, NULL, x->rank, subs, b->ib.loc);
  rd->attr.i = rb_operand(b, x);
  return rd;
}

/* How a derivative's region lays out y's index space: old variable k is
 * new variable to[k]. */
typedef struct Layout {
  int nidx;
  const char *names[IR_MAX_INDICES];
  Dim extent[IR_MAX_INDICES];
  int to[IR_MAX_INDICES]; /* -1: a solved variable, k = p - m (solve_p: new p, solve_m: old m) */
  int solve_p[IR_MAX_INDICES], solve_m[IR_MAX_INDICES];
} Layout;

static void layout_identity(const IrRegion *r, Layout *L) {
  L->nidx = r->nidx;
  for (int k = 0; k < r->nidx; k++) L->to[k] = k, L->names[k] = r->body->params[k]->name, L->extent[k] = r->extent[k], L->solve_m[k] = -1;
}

/* A new region over y's index space laid out by L (NULL: as it is), with
 * y's operands first and a copy of y's body. */
static void rb_open(RBuild *b, IrBuilder *ib, const IrNode *y, const Layout *L) {
  const IrRegion *r = y->attr.region;
  Layout own;
  if (!L) layout_identity(r, &own), L = &own;
  b->r = ir_region_new(ib->m, L->nidx, L->names, L->extent, ib->loc);
  b->r->reduce = r->reduce;
  b->ib = (IrBuilder){ib->m, b->r->body, ib->loc};
  b->ops = (PtrVec){0};
  for (int i = 0; i < y->nargs; i++) vec_push(&b->ops, y->args[i]);
  ir_renumber(r->body);
  b->map = tex_calloc((size_t)r->body->body.len + 1, sizeof(IrNode *));
  for (int k = 0; k < r->nidx; k++)
    if (L->to[k] >= 0) b->map[r->body->params[k]->id] = b->r->body->params[L->to[k]];
  for (int k = 0; k < r->nidx; k++) /* a solved variable: k = p - m */
    if (L->to[k] < 0)
      b->map[r->body->params[k]->id] = irb_bin(&b->ib, OP_SUB, b->r->body->params[L->solve_p[k]], b->r->body->params[L->to[L->solve_m[k]]]);
  for (int i = 0; i < r->body->body.len; i++) {
    IrNode *n = r->body->body.items[i];
    if (n->op == OP_PARAM) continue;
    IrNode *args[IR_MAX_RANK + 3];
    for (int a = 0; a < n->nargs; a++) args[a] = b->map[n->args[a]->id];
    IrNode *c = ir_node(ib->m, b->r->body, n->op, n->dtype, 0, NULL, n->nargs, args, n->loc);
    c->attr = n->attr;
    b->map[i] = c;
  }
}

/* The node of the finished region (its operands are b->ops). */
static IrNode *rb_close(RBuild *b, IrBuilder *ib, Op op, IrNode *const *results, int nresults, const IrNode *like, int rank,
                        const Dim *shape) {
  ir_set_results(ib->m, b->r->body, nresults, results);
  IrNode *n = ir_node(ib->m, ib->f, op, like->dtype, rank, shape, b->ops.len, (IrNode *const *)b->ops.items, ib->loc);
  n->attr.region = b->r;
  vec_free(&b->ops);
  tex_free(b->map);
  return n;
}

static void rb_drop(RBuild *b) {
  vec_free(&b->ops);
  tex_free(b->map);
}

/* y's output index a at the point (a gen's variable a, as laid out). */
static IrNode *out_index(RBuild *b, const IrNode *y, int a) {
  const IrRegion *r = y->attr.region;
  return b->map[y->op == OP_GEN ? r->body->params[a]->id : ir_resolve(r->body->results[a + 1])->id];
}

/* ct at the point: at the output indices of a gen, at the subscripts of a scatter. */
static IrNode *ct_here(RBuild *b, const IrNode *y, IrNode *ct) {
  IrNode *subs[IR_MAX_RANK];
  for (int a = 0; a < y->rank; a++) subs[a] = out_index(b, y, a);
  return rb_read(b, ct, subs);
}

/* ---- max/min: the share of each tied maximum --------------------------------------- */

/* (value == y[out]) as the value's dtype, in b (a copy of y's body). */
static IrNode *is_extremum(RBuild *b, IrNode *y) {
  IrNode *subs[IR_MAX_RANK];
  for (int a = 0; a < y->rank; a++) subs[a] = out_index(b, y, a);
  IrNode *v = b->map[ir_resolve(y->attr.region->body->results[0])->id];
  return irb_cast(&b->ib, irb_bin(&b->ib, OP_EQ, v, rb_read(b, y, subs)), y->dtype);
}

/* How many points of the reduction equal the extremum, per output element. */
static IrNode *tie_count(IrBuilder *ib, IrNode *y) {
  RBuild b;
  rb_open(&b, ib, y, NULL);
  b.r->reduce = OP_SUM;
  IrNode *hit = is_extremum(&b, y);
  return rb_close(&b, ib, OP_GEN, &hit, 1, y, y->rank, y->shape);
}

/* ---- reverse ------------------------------------------------------------------------ */

/* Adjoints of the copied body, seeded at its value, by the elementwise rules. */
static void sweep(RBuild *b, const IrRegion *r, IrNode *seed, IrNode **adj) {
  IrFunc *body = r->body;
  adj[ir_resolve(body->results[0])->id] = seed;
  for (int i = body->body.len - 1; i >= 0; i--) {
    IrNode *n = body->body.items[i];
    if (!adj[i] || n->op == OP_READ || n->op == OP_PARAM || !(op_info[n->op].flags & F_ELEM) || !vjp_rules[n->op]) continue;
    for (int a = 0; a < n->nargs; a++) {
      if (!dtype_is_float(n->args[a]->dtype)) continue;
      IrNode *d = vjp_rules[n->op](&b->ib, b->map[i], a, adj[i]);
      int j = n->args[a]->id;
      if (d) adj[j] = adj[j] ? irb_bin(&b->ib, OP_ADD, adj[j], d) : d;
    }
  }
}

/* Of the two variables of a subscript k + m, the one to solve for (k = p -
 * m): an output index of a gen rather than a reduced one (r in x[r + u]
 * with u summed), else the one with the larger literal extent, so the
 * cotangent sums over the fewer values. */
static bool solve_first(const IrNode *y, const IrNode *s0, const IrNode *s1) {
  const IrRegion *r = y->attr.region;
  bool out0 = y->op == OP_GEN && s0->attr.i < y->rank, out1 = y->op == OP_GEN && s1->attr.i < y->rank;
  if (out0 != out1) return out0;
  int64_t e0, e1;
  return !(dim_is_lit(r->extent[s0->attr.i], &e0) && dim_is_lit(r->extent[s1->attr.i], &e1) && e1 > e0);
}

/* The layout making read rd's subscripts the leading variables, if each is
 * a plain variable ranging exactly over its axis, or a sum k + m of two
 * variables (a window: x[r + u]), all distinct.  Then the cotangent is a
 * gen over X's shape summing over the other variables: for k + m, the new
 * variable p runs over the axis and k = p - m where 0 <= p - m < k's extent
 * (vjp_read masks the rest), m is summed.  False: a scatter (a subscript of
 * any other form, which may collide in ways a gen cannot express). */
static bool gather_layout(const IrNode *y, const IrNode *rd, const IrNode *x, Layout *L) {
  const IrRegion *r = y->attr.region;
  unsigned used = 0, placed = 0;
  for (int k = 0; k < r->nidx; k++) L->solve_m[k] = -1;
  for (int a = 0; a < rd->nargs; a++) {
    const IrNode *s = rd->args[a];
    if (s->op == OP_ADD && s->args[0]->op == OP_PARAM && s->args[1]->op == OP_PARAM) {
      bool first = solve_first(y, s->args[0], s->args[1]);
      int k = (int)s->args[first ? 0 : 1]->attr.i, m = (int)s->args[first ? 1 : 0]->attr.i;
      if (k == m || (used >> k & 1) || (used >> m & 1)) return false;
      used |= 1u << k | 1u << m, placed |= 1u << k;
      L->to[k] = -1, L->solve_p[k] = a, L->solve_m[k] = m, L->names[a] = r->body->params[k]->name, L->extent[a] = x->shape[a];
      continue;
    }
    if (s->op != OP_PARAM || (used >> s->attr.i & 1) || r->extent[s->attr.i] != x->shape[a]) return false;
    used |= 1u << s->attr.i, placed |= 1u << s->attr.i, L->to[s->attr.i] = a, L->names[a] = s->name, L->extent[a] = x->shape[a];
  }
  L->nidx = rd->nargs;
  for (int k = 0; k < r->nidx; k++)
    if (!(placed >> k & 1)) L->to[k] = L->nidx, L->names[L->nidx] = r->body->params[k]->name, L->extent[L->nidx++] = r->extent[k];
  return true;
}

/* 0 <= k < extent for each solved variable k (its value p - m), or NULL. */
static IrNode *solved_range(RBuild *b, const IrRegion *r, const Layout *L) {
  IrNode *all = NULL;
  for (int k = 0; k < r->nidx; k++) {
    if (L->to[k] >= 0) continue;
    IrNode *v = b->map[r->body->params[k]->id], *hi;
    int64_t e;
    if (dim_is_lit(r->extent[k], &e)) {
      hi = irb_const(&b->ib, DT_I64, (double)e);
    } else {
      hi = ir_node(b->ib.m, b->ib.f, OP_DIMSIZE, DT_I64, 0, NULL, 0, NULL, b->ib.loc);
      hi->attr.dim = r->extent[k];
    }
    IrNode *in = irb_bin(&b->ib, OP_AND, irb_bin(&b->ib, OP_GE, v, irb_const(&b->ib, DT_I64, 0)), irb_bin(&b->ib, OP_LT, v, hi));
    all = all ? irb_bin(&b->ib, OP_AND, all, in) : in;
  }
  return all;
}

/* When node `of` of y's body matters, as a condition in b (NULL: always):
 * a value used only in a branch of where matters only where that branch
 * is taken.  The cotangent of a read there is put under the same
 * condition, so, like the read, it is neither computed nor scattered where
 * the branch is not taken (a subscript there may be out of range). */
static IrNode *guard_of(RBuild *b, const IrRegion *r, const IrNode *of) {
  IrFunc *body = r->body;
  int n = body->body.len;
  IrNode **g = tex_calloc((size_t)n + 1, sizeof(IrNode *));
  bool *seen = tex_calloc((size_t)n + 1, sizeof(bool));
  seen[ir_resolve(body->results[0])->id] = true; /* g NULL: always */
  for (int i = n - 1; i > of->id; i--) {
    IrNode *u = body->body.items[i];
    if (!seen[i]) continue;
    for (int a = 0; a < u->nargs; a++) {
      IrNode *c = g[i], *arg = u->args[a];
      if (u->op == OP_SELECT && a > 0) {
        IrNode *cond = b->map[u->args[0]->id];
        if (a == 2) cond = irb_un(&b->ib, OP_NOT, cond);
        c = c ? irb_bin(&b->ib, OP_AND, c, cond) : cond;
      }
      if (!seen[arg->id])
        g[arg->id] = c, seen[arg->id] = true;
      else if (g[arg->id])
        g[arg->id] = c ? irb_bin(&b->ib, OP_OR, g[arg->id], c) : NULL;
    }
  }
  IrNode *guard = g[of->id];
  tex_free(g);
  tex_free(seen);
  return guard;
}

/* The cotangent of operand i that read rd (of y's body) contributes. */
static IrNode *vjp_read(IrBuilder *ib, IrNode *y, const IrNode *rd, IrNode *ct, IrNode *count) {
  const IrRegion *r = y->attr.region;
  IrNode *x = y->args[rd->attr.i];
  Layout L;
  bool as_gen = gather_layout(y, rd, x, &L);
  RBuild b;
  rb_open(&b, ib, y, as_gen ? &L : NULL);
  IrNode *seed = ct_here(&b, y, ct);
  if (y->op == OP_GEN && y->rank < r->nidx && r->reduce != OP_SUM) { /* max/min: the tied maxima share */
    IrNode *subs[IR_MAX_RANK];
    for (int a = 0; a < y->rank; a++) subs[a] = out_index(&b, y, a);
    seed = irb_bin(&b.ib, OP_DIV, irb_bin(&b.ib, OP_MUL, seed, is_extremum(&b, y)), rb_read(&b, count, subs));
  }
  IrNode **adj = tex_calloc((size_t)r->body->body.len + 1, sizeof(IrNode *));
  sweep(&b, r, seed, adj);
  IrNode *d = adj[rd->id];
  tex_free(adj);
  if (!d) {
    rb_drop(&b);
    return NULL;
  }
  b.r->reduce = OP_SUM;
  IrNode *guard = guard_of(&b, r, rd), *range = as_gen ? solved_range(&b, r, &L) : NULL;
  if (range) guard = guard ? irb_bin(&b.ib, OP_AND, range, guard) : range;
  if (guard) d = irb_sel(&b.ib, guard, d, irb_const(&b.ib, d->dtype, 0));
  if (as_gen) return rb_close(&b, ib, OP_GEN, &d, 1, x, x->rank, x->shape);
  IrNode *res[IR_MAX_RANK + 1] = {d};
  for (int a = 0; a < rd->nargs; a++) res[a + 1] = irb_cast(&b.ib, b.map[rd->args[a]->id], DT_I64);
  return rb_close(&b, ib, OP_SCATTER, res, rd->nargs + 1, x, x->rank, x->shape);
}

IrNode *vjp_region(IrBuilder *ib, IrNode *y, int i, IrNode *ct) {
  const IrRegion *r = y->attr.region;
  if (!dtype_is_float(y->args[i]->dtype) || !dtype_is_float(y->dtype)) return NULL;
  IrNode *count = y->op == OP_GEN && y->rank < r->nidx && r->reduce != OP_SUM ? tie_count(ib, y) : NULL;
  IrNode *total = NULL;
  ir_renumber(r->body);
  for (int j = 0; j < r->body->body.len; j++) {
    const IrNode *rd = r->body->body.items[j];
    if (rd->op == OP_READ && rd->attr.i == i) total = irb_add(ib, total, vjp_read(ib, y, rd, ct, count));
  }
  return total;
}

/* ---- forward ------------------------------------------------------------------------ */

IrNode *jvp_region(IrBuilder *ib, IrNode *y, IrNode **t) {
  const IrRegion *r = y->attr.region;
  if (!dtype_is_float(y->dtype)) return NULL;
  RBuild b;
  rb_open(&b, ib, y, NULL);
  ir_renumber(r->body);
  IrNode **tan = tex_calloc((size_t)r->body->body.len + 1, sizeof(IrNode *));
  for (int i = 0; i < r->body->body.len; i++) {
    IrNode *n = r->body->body.items[i], *c = b.map[i];
    if (n->op == OP_READ) {
      if (t[n->attr.i] && dtype_is_float(n->dtype)) tan[i] = rb_read(&b, t[n->attr.i], c->args);
      continue;
    }
    JvpRule rule = op_info[n->op].flags & F_ELEM ? jvp_rule(n->op) : NULL;
    if (!rule || !dtype_is_float(n->dtype)) continue;
    IrNode *ta[3] = {NULL, NULL, NULL};
    bool any = false;
    for (int a = 0; a < n->nargs && a < 3; a++) {
      ta[a] = tan[n->args[a]->id];
      any = any || ta[a];
    }
    if (any) tan[i] = rule(&b.ib, c, ta);
  }
  IrNode *d = tan[ir_resolve(r->body->results[0])->id];
  tex_free(tan);
  if (!d) {
    rb_drop(&b);
    return NULL;
  }
  bool extremum = y->op == OP_GEN && y->rank < r->nidx && r->reduce != OP_SUM;
  if (extremum) d = irb_bin(&b.ib, OP_MUL, d, is_extremum(&b, y));
  b.r->reduce = OP_SUM;
  if (y->op == OP_GEN) {
    IrNode *g = rb_close(&b, ib, OP_GEN, &d, 1, y, y->rank, y->shape);
    return extremum ? irb_bin(ib, OP_DIV, g, tie_count(ib, y)) : g;
  }
  IrNode *res[IR_MAX_RANK + 1] = {d};
  for (int a = 0; a < y->rank; a++) res[a + 1] = b.map[ir_resolve(r->body->results[a + 1])->id];
  return rb_close(&b, ib, OP_SCATTER, res, y->rank + 1, y, y->rank, y->shape);
}
