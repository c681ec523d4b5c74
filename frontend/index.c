/* index.c — index notation, indexing, slicing, array literals and gathers.
 *
 * All of them lower to gen (and scatter) nodes, whose regions compute one
 * element from its indices (ir.h, "region.c"):
 *
 *   let d[i, j] = sum[k] (x[i, k] - c[j, k]) ** 2   a comprehension
 *   x[1:N-1, :, 2]                                  a slice: gen [i < N-2, j < M] x[i + 1, j, 2]
 *   x[idx, :]                                       a gather: gen [p < P, j < M] x[idx[p], j]
 *   [[c, -s], [s, c]]                               a literal: gen [i < 2] where(i == 0, ..)
 *
 * While a region's body is lowered, s->gen is set and s->fn is the body:
 * index variables are i64 scalars, an array of the enclosing function is
 * read through `read` nodes (its operands), and everything else (literals,
 * operators, where, casts, elementwise builtins) lowers as usual, on scalars.
 * The range of an index variable is declared (`i < D`) or inferred from the
 * axes it indexes as a plain subscript; ir_verify and the kernel builder see
 * only the finished node.  Subscripts that the kernel builder cannot prove
 * in range are checked when the function runs (TEX_ERR_INDEX). */
#include <string.h>

#include "frontend.h"

typedef struct IdxVar {
  const char *name;
  SrcLoc loc;
  Dim extent;        /* declared, or inferred from a plain subscript */
  bool declared;
  const IrNode *from; /* inferred: the array whose axis gave the extent */
  int from_axis;
  SrcLoc from_loc;
} IdxVar;

struct SemaGen {
  IrRegion *r;
  IrFunc *outer;     /* s->fn before the body */
  int nvars;
  IdxVar var[IR_MAX_INDICES];
  PtrVec ops;        /* the outer values the body reads: the gen's operands */
  int nested;        /* a nested reduction: its first `nested` variables are the body's */
  int scope_mark;    /* bindings of the enclosing function end here */
  struct SemaGen *prev;
};

/* ---- dims written as expressions ------------------------------------------ */

IrFunc *sema_enclosing_fn(Sema *s) { return s->loop ? sema_loop_fn(s) : s->gen ? s->gen->outer : s->fn; }

static const char *dim_text(Sema *s, Dim d, char *buf, size_t len) {
  dim_snprint(s->m->dims, d, buf, len);
  return buf;
}

/* ---- building a region -------------------------------------------------------- */

static void gen_open(Sema *s, SemaGen *g, SrcLoc at) {
  const char *names[IR_MAX_INDICES];
  Dim zero[IR_MAX_INDICES];
  for (int i = 0; i < g->nvars; i++) names[i] = g->var[i].name, zero[i] = dim_lit(s->m->dims, 0);
  g->r = ir_region_new(s->m, g->nvars, names, zero, at);
  g->outer = s->fn;
  g->prev = s->gen;
  g->scope_mark = s->nscope;
  s->gen = g;
  s->fn = g->r->body;
}

/* A region over the index space `extent` (n variables, unnamed). */
static void gen_open_over(Sema *s, SemaGen *g, int n, const Dim *extent, SrcLoc at) {
  *g = (SemaGen){.nvars = n};
  for (int k = 0; k < n; k++) g->var[k].extent = extent[k];
  gen_open(s, g, at);
}

/* Ends the body: back in the enclosing function, with the index variables
 * out of scope. */
static void gen_leave(Sema *s, SemaGen *g) {
  s->fn = g->outer;
  s->gen = g->prev;
  sema_unbind_to(s, g->scope_mark);
}

/* The node of a finished region: gen over the first `rank` variables, the
 * rest reduced by `reduce`; or scatter (results: value, subscripts). */
static IrNode *gen_node(Sema *s, SemaGen *g, Op op, IrNode *const *results, int nresults, int rank, const Dim *shape, Op reduce,
                        SrcLoc at) {
  for (int i = 0; i < g->nvars; i++) g->r->extent[i] = g->var[i].extent;
  g->r->reduce = reduce;
  ir_set_results(s->m, g->r->body, nresults, results);
  IrNode *n = ir_node(s->m, s->fn, op, results[0]->dtype, rank, shape, g->ops.len, (IrNode *const *)g->ops.items, at);
  n->attr.region = g->r;
  vec_free(&g->ops);
  return n;
}

static int gen_operand(SemaGen *g, IrNode *x) {
  for (int i = 0; i < g->ops.len; i++)
    if (g->ops.items[i] == x) return i;
  vec_push(&g->ops, x);
  return g->ops.len - 1;
}

/* x[subs] inside the body; x belongs to the enclosing function. */
static IrNode *gen_read(Sema *s, SemaGen *g, IrNode *x, IrNode *const *subs, SrcLoc at) {
  IrNode *rd = ir_node(s->m, s->fn, OP_READ, x->dtype, 0, NULL, x->rank, subs, at);
  rd->attr.i = gen_operand(g, x);
  return rd;
}

static IrNode *var_node(SemaGen *g, int k) { return g->r->body->params[k]; }

static IrNode *dim_node(Sema *s, Dim d, SrcLoc at) {
  int64_t v;
  if (dim_is_lit(d, &v)) return ir_const(s->m, s->fn, DT_I64, 0, v, at);
  IrNode *n = ir_node(s->m, s->fn, OP_DIMSIZE, DT_I64, 0, NULL, 0, NULL, at);
  n->attr.dim = d;
  return n;
}

/* The index variable a name is bound to inside the body, or -1. */
static int index_var_of(Sema *s, const Val *v) {
  for (SemaGen *g = s->gen; g && v->node; g = NULL)
    for (int k = 0; k < g->nvars; k++)
      if (v->node == var_node(g, k)) return k;
  return -1;
}

/* Only scalar arithmetic can be computed element by element. */
static bool check_body(Sema *s, SemaGen *g) {
  IrFunc *b = g->r->body;
  for (int i = 0; i < b->body.len; i++) {
    const IrNode *n = b->body.items[i];
    if (n->op == OP_PARAM || n->op == OP_CONST || n->op == OP_DIMSIZE || n->op == OP_READ || (op_info[n->op].flags & F_ELEM)) continue;
    sema_error(s, n->loc, "%s is not supported inside index notation; compute it outside and index the result",
               n->op == OP_CALL ? "a call" : op_info[n->op].name);
    return false;
  }
  return true;
}

/* ---- names inside a body ---------------------------------------------------------- */

/* A name bound outside the body: a scalar is read; an array must be indexed. */
Val sema_gen_name(Sema *s, const Expr *e, Val v) {
  if (v.poison || v.weak || v.ntuple || index_var_of(s, &v) >= 0) return v;
  if (v.node->rank == 0) return sema_typed(gen_read(s, s->gen, v.node, NULL, e->loc));
  char tb[256];
  sema_error(s, e->loc, "'%s' is %s; inside index notation, index it: %s[...] with one subscript per axis", e->name,
             sema_type_text(s, v.node, tb, sizeof tb), e->name);
  return sema_poison();
}

/* A plain subscript `i` gives i's range the extent of that axis. */
static void infer_from(Sema *s, SemaGen *g, int k, const IrNode *x, int axis, SrcLoc at) {
  IdxVar *v = &g->var[k];
  if (v->declared) return;
  if (!v->from) {
    v->extent = x->shape[axis], v->from = x, v->from_axis = axis, v->from_loc = at;
    return;
  }
  if (v->extent == x->shape[axis]) return;
  char a[128], b[128];
  sema_error(s, at,
             "index '%s' ranges over axis %d of extent %s here, but over axis %d of extent %s before; declare its range, e.g. %s < %s",
             v->name, axis, dim_text(s, x->shape[axis], a, sizeof a), v->from_axis, dim_text(s, v->extent, b, sizeof b), v->name, b);
  diag_note(s->diag, v->from_loc, "'%s' first indexed here", v->name);
  v->extent = x->shape[axis]; /* one error per variable */
  v->from = x, v->from_axis = axis;
}

/* One subscript inside a body: an integer scalar. */
static IrNode *body_subscript(Sema *s, const Expr *e) {
  if (e->kind == E_SLICE) {
    sema_error(s, e->loc, "slices are not allowed inside index notation; use an index variable");
    return NULL;
  }
  Val v = sema_lower_expr(s, e);
  if (v.weak && !v.weak_float) v = sema_materialize(s, v, DT_I64);
  if (v.poison) return NULL;
  if (v.weak || !dtype_is_int(v.node->dtype) || v.node->rank != 0) {
    char tb[256];
    sema_error(s, e->loc, "a subscript must be an integer, not %s", sema_val_text(s, &v, tb, sizeof tb));
    return NULL;
  }
  return v.node;
}

/* x[i, k + 1, idx[i]] inside a body. */
static Val body_index(Sema *s, const Expr *e) {
  SemaGen *g = s->gen;
  const Binding *b = e->lhs->kind == E_NAME ? sema_lookup(s, e->lhs->name) : NULL;
  if (!b || b->val.weak || (b->val.node && index_var_of(s, &b->val) >= 0)) {
    if (e->lhs->kind != E_NAME || b) {
      sema_error(s, e->loc, "inside index notation, only a named array can be indexed");
      return sema_poison();
    }
    return sema_lower_expr(s, e->lhs); /* unknown name: its own error */
  }
  if (b->val.poison) return sema_poison();
  Val bv = s->loop ? sema_loop_capture(s, b, b->val) : b->val; /* an array bound outside a loop body */
  IrNode *x = bv.node;
  if (b->val.ntuple || e->nargs != x->rank) {
    char tb[256];
    sema_error(s, e->loc, "'%s' is %s: index notation needs exactly one subscript per axis (%d)", e->lhs->name,
               b->val.ntuple ? "a tuple" : sema_type_text(s, x, tb, sizeof tb), b->val.ntuple ? 0 : x->rank);
    return sema_poison();
  }
  IrNode *subs[IR_MAX_RANK];
  for (int a = 0; a < e->nargs; a++) {
    if (!(subs[a] = body_subscript(s, e->args[a].value))) return sema_poison();
    Val sv = sema_typed(subs[a]);
    int k = e->args[a].value->kind == E_NAME ? index_var_of(s, &sv) : -1;
    if (k >= 0) infer_from(s, g, k, x, a, e->args[a].value->loc);
  }
  return sema_typed(gen_read(s, g, x, subs, e->loc));
}

/* ---- index lists: `i`, `j < M` ------------------------------------------------------ */

static bool add_var(Sema *s, SemaGen *g, const Expr *e) {
  const Expr *name = e;
  Dim extent = NULL;
  if (e->kind == E_BINARY && e->op == B_LT) {
    name = e->lhs;
    if (!sema_dim_of_expr(s, e->rhs, true, &extent)) return false;
  }
  if (name->kind != E_NAME) {
    sema_error(s, e->loc, "expected an index variable, `i`, or one with its range, `i < N`");
    return false;
  }
  if (!sema_check_not_symbol(s, name->name, name->loc, "index variable")) return false;
  for (int k = 0; k < g->nvars; k++)
    if (strcmp(g->var[k].name, name->name) == 0) {
      sema_error(s, name->loc, "index variable '%s' appears twice", name->name);
      return false;
    }
  if (g->nvars == IR_MAX_INDICES) {
    sema_error(s, name->loc, "more than %d index variables in one expression (the limit of index notation)", IR_MAX_INDICES);
    return false;
  }
  int64_t lit;
  if (extent && dim_is_lit(extent, &lit) && lit < 0) {
    sema_error(s, e->rhs->loc, "the range of '%s' has extent %lld", name->name, (long long)lit);
    return false;
  }
  g->var[g->nvars++] = (IdxVar){.name = name->name, .loc = name->loc, .extent = extent, .declared = extent != NULL};
  return true;
}

static bool add_vars(Sema *s, SemaGen *g, const Arg *args, int n) {
  for (int i = 0; i < n; i++)
    if (args[i].name || !add_var(s, g, args[i].value)) {
      if (args[i].name) sema_error(s, args[i].loc, "expected an index variable, not %s=", args[i].name);
      return false;
    }
  return true;
}

static const struct {
  const char *name;
  Op op;
} reductions[] = {{"sum", OP_SUM}, {"max", OP_RMAX}, {"min", OP_RMIN}, {"prod", OP_PROD}};

static bool reduction_op(Sema *s, const Expr *e, Op *op) {
  for (size_t i = 0; i < sizeof reductions / sizeof reductions[0]; i++)
    if (e->name && strcmp(e->name, reductions[i].name) == 0) return *op = reductions[i].op, true;
  sema_error(s, e->loc, "only sum[...], max[...], min[...] and prod[...] reduce in index notation");
  return false;
}

static const char *reduction_name(Op op) {
  for (size_t i = 0; i < sizeof reductions / sizeof reductions[0]; i++)
    if (reductions[i].op == op) return reductions[i].name;
  return "?";
}

/* Every variable has a range: declared, or inferred from a plain subscript. */
static bool check_ranges(Sema *s, SemaGen *g, SrcLoc at) {
  for (int k = 0; k < g->nvars; k++)
    if (!g->var[k].extent && k < g->nested) {
      sema_error(s, at,
                 "the range of index '%s' is not known where this reduction is lowered; declare it (%s < N) or subscript an array with it "
                 "to the left of the reduction",
                 g->var[k].name, g->var[k].name);
      return false;
    } else if (!g->var[k].extent) {
      sema_error(s, g->var[k].loc,
                 "cannot infer the range of index '%s': it is not a plain subscript of any array here; declare it, e.g. %s < N",
                 g->var[k].name, g->var[k].name);
      return false;
    }
  return true;
}

/* prod[..] in index notation: the gen of every factor (all variables are
 * its axes), then the prod op over the reduced ones: a product has no
 * region combiner, and prod's gradients (zeros included) are the op's.  The
 * factors go through memory (a gen does not fuse into a reduction yet). */
static Val prod_of_gen(Sema *s, SemaGen *g, IrNode *body, int nout, SrcLoc at) {
  if (g->nvars > IR_MAX_RANK) {
    sema_error(s, at, "prod[...] over %d indices in all: at most %d (each becomes an array axis)", g->nvars, IR_MAX_RANK);
    vec_free(&g->ops);
    return sema_poison();
  }
  Dim shape[IR_MAX_RANK];
  for (int k = 0; k < g->nvars; k++) shape[k] = g->var[k].extent;
  IrNode *factors = gen_node(s, g, OP_GEN, &body, 1, g->nvars, shape, OP_SUM, at);
  unsigned mask = ((1u << g->nvars) - 1) & ~((1u << nout) - 1);
  return sema_typed(ir_reduce(s->m, s->fn, OP_PROD, factors, mask, false, at));
}

/* The comprehension over g's first nout variables (already added) of
 * `reduce[rvars] body`: binds the variables, lowers the body, builds the
 * gen.  A reduction of another kind inside it is lowered as nested. */
static Val comprehension_over(Sema *s, SemaGen *g, int nout, const Expr *body, SrcLoc at) {
  Op reduce = OP_SUM;
  if (body->kind == E_REDUCE && !reduction_op(s, body, &reduce)) return sema_poison();
  for (Op inner; body->kind == E_REDUCE; body = body->lhs) {
    if (!reduction_op(s, body, &inner)) return sema_poison();
    if (inner != reduce) break; /* e.g. sum[i] max[k] ..: the max is a nested reduction */
    if (!add_vars(s, g, body->args, body->nargs)) return sema_poison();
  }
  gen_open(s, g, at);
  for (int k = 0; k < g->nvars; k++) sema_bind(s, g->var[k].name, sema_typed(var_node(g, k)));
  Val v = sema_lower_expr(s, body);
  if (!v.poison) v = sema_materialize_default(s, v);
  bool ok = !v.poison && check_body(s, g) && check_ranges(s, g, at);
  gen_leave(s, g);
  if (ok && g->nvars > nout && (v.node->dtype == DT_BOOL)) {
    sema_error(s, at, "%s[...] of bool values: convert them first, e.g. i32(...)", reduction_name(reduce));
    ok = false;
  }
  if (!ok) {
    vec_free(&g->ops);
    return sema_poison();
  }
  if (reduce == OP_PROD) return prod_of_gen(s, g, v.node, nout, at);
  Dim shape[IR_MAX_RANK];
  for (int k = 0; k < nout; k++) shape[k] = g->var[k].extent;
  return sema_typed(gen_node(s, g, OP_GEN, &v.node, 1, nout, shape, reduce, at));
}

/* The comprehension `out[vars] = reduce[rvars] body`, or (nout = 0) a bare
 * reduction. */
static Val comprehension(Sema *s, const Arg *outv, int nout, const Expr *body, SrcLoc at) {
  SemaGen g = {0};
  if (!add_vars(s, &g, outv, nout)) return sema_poison();
  return comprehension_over(s, &g, nout, body, at);
}

/* let NAME[i, j < M] = body */
Val sema_lower_comprehension(Sema *s, const Stmt *st) {
  if (s->gen) ice("a comprehension inside a region");
  if (st->nindex > IR_MAX_RANK) {
    sema_error(s, st->index[IR_MAX_RANK].loc, "more than %d indices on the left (arrays have at most %d axes)", IR_MAX_RANK, IR_MAX_RANK);
    return sema_poison();
  }
  return comprehension(s, st->index, st->nindex, st->value, st->loc);
}

/* True if the name `name` appears anywhere in e. */
static bool mentions(const Expr *e, const char *name) {
  if (!e) return false;
  if (e->kind == E_NAME && e->name && strcmp(e->name, name) == 0) return true;
  if (mentions(e->lhs, name) || mentions(e->rhs, name) || mentions(e->step, name)) return true;
  for (int i = 0; i < e->nargs; i++)
    if (mentions(e->args[i].value, name)) return true;
  return false;
}

/* A reduction inside a comprehension's body (`exp(x[i, j] - max[k] x[i, k])`):
 * a gen of its own in the enclosing function, over the body's variables it
 * names (so max[k] above costs N*K, not N*M*K) and its reduced ones, read
 * back at those variables.  Ranges it infers count for the body too. */
static Val nested_reduction(Sema *s, const Expr *e) {
  SemaGen *outer = s->gen, g = {0};
  IrFunc *body = s->fn;
  int used[IR_MAX_INDICES], n = 0;
  for (int k = 0; k < outer->nvars; k++)
    if (mentions(e, outer->var[k].name)) used[n] = k, g.var[n++] = outer->var[k];
  g.nvars = g.nested = n;
  s->gen = outer->prev, s->fn = outer->outer;
  Val v = comprehension_over(s, &g, n, e, e->loc); /* adds the reduced variables after the n */
  s->gen = outer, s->fn = body;
  if (v.poison) return v;
  IrNode *subs[IR_MAX_INDICES];
  for (int j = 0; j < n; j++) {
    if (!outer->var[used[j]].extent) outer->var[used[j]] = g.var[j];
    subs[j] = var_node(outer, used[j]);
  }
  return sema_typed(gen_read(s, outer, v.node, subs, e->loc));
}

/* sum[k] body as an expression: a scalar, or inside index notation a
 * nested reduction. */
Val sema_lower_reduce(Sema *s, const Expr *e) {
  if (s->gen) return nested_reduction(s, e);
  return comprehension(s, NULL, 0, e, e->loc);
}

/* ---- indexing outside index notation: x[a:b, i, idx] ------------------------------ */

typedef enum SubKind { SUB_SLICE, SUB_SCALAR, SUB_ARRAY } SubKind;
typedef struct Sub {
  SubKind kind;
  Dim start, len;   /* SUB_SLICE: element start + step * v for v < len */
  int64_t step;
  IrNode *node;     /* SUB_SCALAR (NULL: the literal `lit`), SUB_ARRAY: the index value */
  int64_t lit;
  Dim lit_dim;      /* a literal index as a dim (negative ones count from the end) */
  SrcLoc loc;
} Sub;

static bool literal_step(Sema *s, const Expr *e, int64_t *step) {
  *step = 1;
  if (!e) return true;
  bool neg = e->kind == E_UNARY && e->op == U_NEG;
  const Expr *x = neg ? e->lhs : e;
  if (x->kind == E_INT && x->ival != 0) return *step = neg ? -x->ival : x->ival, true;
  sema_error(s, e->loc, "a slice step must be a nonzero integer literal");
  return false;
}

/* A slice bound: negative literals count from the end, as in NumPy. */
static bool slice_bound(Sema *s, const Expr *e, Dim extent, Dim *out) {
  if (!sema_dim_of_expr(s, e, true, out)) return false;
  int64_t v;
  if (dim_is_lit(*out, &v) && v < 0) *out = dim_add(s->m->dims, extent, *out);
  return true;
}

/* start:stop:step of an axis of this extent, checked at compile time where
 * the dims allow: a literal bound out of [0, extent] is an error. */
static bool lower_slice(Sema *s, const Expr *e, Dim extent, Sub *out) {
  DimTable *t = s->m->dims;
  int64_t step, a, b;
  char tb[128], tc[128];
  if (!literal_step(s, e->step, &step)) return false;
  Dim one = dim_lit(t, 1);
  Dim start = step > 0 ? dim_lit(t, 0) : dim_sub(t, extent, one), stop = step > 0 ? extent : dim_lit(t, -1);
  if ((e->lhs && !slice_bound(s, e->lhs, extent, &start)) || (e->rhs && !slice_bound(s, e->rhs, extent, &stop))) return false;
  Dim span = step > 0 ? dim_sub(t, stop, start) : dim_sub(t, start, stop);
  bool bad_start = step > 0 ? dim_is_lit(start, &a) && a < 0 : dim_is_lit(dim_sub(t, extent, start), &a) && a < 1;
  bool bad_stop = step > 0 ? dim_is_lit(dim_sub(t, extent, stop), &b) && b < 0 : dim_is_lit(stop, &b) && b < -1;
  if (bad_start || bad_stop || (dim_is_lit(span, &a) && a < 0) || (!e->lhs && dim_is_lit(start, &a) && a < 0 && step < 0)) {
    char td[128];
    sema_error(s, e->loc, "slice from %s to %s (step %lld) is out of range for an axis of extent %s", dim_text(s, start, tc, sizeof tc),
               dim_text(s, stop, td, sizeof td), (long long)step, dim_text(s, extent, tb, sizeof tb));
    return false;
  }
  int64_t absstep = step > 0 ? step : -step;
  *out = (Sub){.kind = SUB_SLICE, .start = start, .step = step, .loc = e->loc};
  /* ceil(span / |step|) elements: a derived dim when span is symbolic */
  out->len = absstep == 1 ? span : dim_floordiv(t, dim_add(t, span, dim_lit(t, absstep - 1)), absstep);
  return true;
}

/* A literal index: negative counts from the end; out of range is an error
 * where the extent is a literal (a symbolic one is checked when it runs). */
static bool literal_index(Sema *s, const Val *v, Dim extent, Sub *out) {
  DimTable *t = s->m->dims;
  int64_t n;
  Dim d = v->i < 0 ? dim_add(t, extent, dim_lit(t, v->i)) : dim_lit(t, v->i);
  /* A symbolic extent is checked at run time, x[-1] as x[0] (the extent may be 0). */
  bool out_of_range = dim_is_lit(extent, &n) && (v->i >= n || v->i < -n);
  if (out_of_range) {
    char tb[128];
    sema_error(s, v->loc, "index %lld is out of range for an axis of extent %s", (long long)v->i, dim_text(s, extent, tb, sizeof tb));
    return false;
  }
  *out = (Sub){.kind = SUB_SCALAR, .lit_dim = d, .loc = v->loc};
  return true;
}

static bool lower_subscript(Sema *s, const Expr *e, Dim extent, Sub *out) {
  if (e->kind == E_SLICE) return lower_slice(s, e, extent, out);
  Val v = sema_lower_expr(s, e);
  if (v.poison) return false;
  if (v.weak && !v.weak_float) return literal_index(s, &v, extent, out);
  char tb[256];
  if (v.weak || !dtype_is_int(v.node->dtype)) {
    const char *hint = !v.weak && v.node->dtype == DT_BOOL ? "; a bool mask would give a shape that depends on the data: use where(...)"
                                                           : "; convert it, e.g. i64(...)";
    sema_error(s, e->loc, "index %s %s: indices must be integers%s", v.weak || v.node->rank == 0 ? "is" : "array is",
               sema_val_text(s, &v, tb, sizeof tb), hint);
    return false;
  }
  *out = (Sub){.kind = v.node->rank ? SUB_ARRAY : SUB_SCALAR, .node = v.node, .loc = e->loc};
  return true;
}

/* x[subs]: one output axis per slice, the index array's axes where it
 * stands (at most one array), none for a scalar index. */
static Val lower_indexing(Sema *s, const Expr *e, IrNode *x) {
  Sub sub[IR_MAX_RANK];
  char tb[256];
  if (e->nargs > x->rank) {
    sema_error(s, e->loc, "%d subscripts for %s, which has %d ax%s", e->nargs, sema_type_text(s, x, tb, sizeof tb), x->rank,
               x->rank == 1 ? "is" : "es");
    return sema_poison();
  }
  int narrays = 0, rank = 0;
  for (int a = 0; a < x->rank; a++) {
    if (a >= e->nargs) {
      sub[a] = (Sub){.kind = SUB_SLICE, .start = dim_lit(s->m->dims, 0), .len = x->shape[a], .step = 1};
    } else if (e->args[a].name) {
      sema_error(s, e->args[a].loc, "a subscript cannot be named");
      return sema_poison();
    } else if (!lower_subscript(s, e->args[a].value, x->shape[a], &sub[a])) {
      return sema_poison();
    }
    if (sub[a].kind == SUB_ARRAY && ++narrays > 1) {
      sema_error(s, sub[a].loc, "one index array per subscript list is supported; index twice, or use index notation");
      return sema_poison();
    }
    rank += sub[a].kind == SUB_SLICE ? 1 : sub[a].kind == SUB_ARRAY ? sub[a].node->rank : 0;
  }
  if (rank > IR_MAX_RANK) {
    sema_error(s, e->loc, "the result would have %d axes; arrays have at most %d", rank, IR_MAX_RANK);
    return sema_poison();
  }
  bool identity = true;
  for (int a = 0; a < x->rank; a++)
    identity = identity && sub[a].kind == SUB_SLICE && sub[a].step == 1 && dim_is_lit(sub[a].start, NULL) && sub[a].len == x->shape[a];
  if (identity) return sema_typed(x);
  SemaGen g;
  Dim shape[IR_MAX_RANK];
  int nvars = 0;
  for (int a = 0; a < x->rank; a++) {
    int n = sub[a].kind == SUB_SLICE ? 1 : sub[a].kind == SUB_ARRAY ? sub[a].node->rank : 0;
    for (int i = 0; i < n; i++) shape[nvars++] = sub[a].kind == SUB_SLICE ? sub[a].len : sub[a].node->shape[i];
  }
  gen_open_over(s, &g, nvars, shape, e->loc);
  IrNode *subs[IR_MAX_RANK];
  int v = 0;
  for (int a = 0; a < x->rank; a++) {
    const Sub *u = &sub[a];
    if (u->kind == SUB_SLICE) {
      IrNode *i = var_node(&g, v++);
      if (u->step != 1) i = ir_binary(s->m, s->fn, OP_MUL, ir_const(s->m, s->fn, DT_I64, 0, u->step, u->loc), i, u->loc);
      subs[a] = dim_is_lit(u->start, NULL) && u->start->nterms == 0
                    ? i
                    : ir_binary(s->m, s->fn, OP_ADD, dim_node(s, u->start, u->loc), i, u->loc);
    } else if (u->kind == SUB_SCALAR) {
      subs[a] = u->node ? gen_read(s, &g, u->node, NULL, u->loc) : dim_node(s, u->lit_dim, u->loc);
    } else {
      IrNode *iv[IR_MAX_RANK];
      for (int i = 0; i < u->node->rank; i++) iv[i] = var_node(&g, v++);
      subs[a] = gen_read(s, &g, u->node, iv, u->loc);
    }
  }
  IrNode *value = gen_read(s, &g, x, subs, e->loc);
  gen_leave(s, &g);
  return sema_typed(gen_node(s, &g, OP_GEN, &value, 1, rank, shape, OP_SUM, e->loc));
}

Val sema_lower_index(Sema *s, const Expr *e) {
  if (s->gen) return body_index(s, e);
  if (e->lhs->kind == E_NAME && !sema_lookup(s, e->lhs->name) && sema_is_builtin(e->lhs->name)) {
    sema_error(s, e->loc,
               "'%s' is a builtin, not an array; a reduction in index notation is written %s[k] body (a body that starts with '-' needs "
               "parentheses)",
               e->lhs->name, e->lhs->name);
    return sema_poison();
  }
  Val base = sema_lower_expr(s, e->lhs);
  if (base.poison) return base;
  if (base.weak) {
    sema_error(s, e->loc, "a number cannot be indexed");
    return sema_poison();
  }
  return lower_indexing(s, e, base.node);
}

/* ---- array literals ---------------------------------------------------------------- */

/* vals[0..n) (one dtype and shape, conformed) stacked along a new axis
 * `axis`: gen [.., i < n, ..] where(i == 0, a[..], where(i == 1, b[..], ..)):
 * every read is at the same in-range subscripts. */
static Val stack_values(Sema *s, Val *vals, int n, int axis, SrcLoc at) {
  const IrNode *x0 = vals[0].node;
  SemaGen g;
  Dim shape[IR_MAX_RANK];
  for (int k = 0, a = 0; k <= x0->rank; k++) shape[k] = k == axis ? dim_lit(s->m->dims, n) : x0->shape[a++];
  gen_open_over(s, &g, x0->rank + 1, shape, at);
  IrNode *value = NULL, *subs[IR_MAX_RANK];
  for (int k = 0, a = 0; k < g.nvars; k++)
    if (k != axis) subs[a++] = var_node(&g, k);
  for (int i = n - 1; i >= 0; i--) {
    IrNode *rd = gen_read(s, &g, vals[i].node, subs, vals[i].loc);
    if (!value) {
      value = rd;
      continue;
    }
    IrNode *is_i = ir_binary(s->m, s->fn, OP_EQ, var_node(&g, axis), ir_const(s->m, s->fn, DT_I64, 0, i, at), at);
    IrNode *args[3] = {is_i, rd, value};
    value = ir_node(s->m, s->fn, OP_SELECT, rd->dtype, 0, NULL, 3, args, at);
  }
  gen_leave(s, &g);
  return sema_typed(gen_node(s, &g, OP_GEN, &value, 1, g.nvars, shape, OP_SUM, at));
}

/* Lowers args as arrays of one dtype and shape; false (reported) if not. */
static bool conformed_arrays(Sema *s, const Arg *args, int n, SrcLoc at, Val *vals) {
  bool ok = true;
  for (int i = 0; i < n; i++) vals[i] = sema_lower_expr(s, args[i].value), ok = ok && !vals[i].poison;
  if (ok) ok = sema_conform(s, vals, n, at);
  if (ok && vals[0].node->rank + 1 > IR_MAX_RANK) {
    sema_error(s, at, "the result would have %d axes; arrays have at most %d", vals[0].node->rank + 1, IR_MAX_RANK);
    ok = false;
  }
  return ok;
}

/* [a, b, c]: the elements stacked along a new first axis. */
Val sema_lower_list(Sema *s, const Expr *e) {
  if (s->gen) {
    sema_error(s, e->loc, "an array literal inside index notation: build it outside and index it");
    return sema_poison();
  }
  Val *vals = tex_calloc((size_t)e->nargs + 1, sizeof(Val));
  Val r = conformed_arrays(s, e->args, e->nargs, e->loc, vals) ? stack_values(s, vals, e->nargs, 0, e->loc) : sema_poison();
  tex_free(vals);
  return r;
}

/* ---- take, one_hot, index_add, scatter_add ------------------------------------------ */

/* The positional arguments of a call (unlowered) and its integer-literal
 * named arguments among `names` (axis=, k=). */
typedef struct LitArgs {
  const Arg *pos[TEX_MAX_CALL_ARGS];
  int npos;
  int64_t val[2];
  bool has[2];
  SrcLoc at[2];
} LitArgs;

static bool lit_args(Sema *s, const Expr *e, const char *const *names, int nnames, int min_pos, int max_pos, LitArgs *a) {
  memset(a, 0, sizeof *a);
  for (int i = 0; i < e->nargs; i++) {
    const Arg *g = &e->args[i];
    if (!g->name) {
      if (a->npos < TEX_MAX_CALL_ARGS) a->pos[a->npos] = g;
      a->npos++;
      continue;
    }
    int k = 0;
    while (k < nnames && strcmp(names[k], g->name) != 0) k++;
    const Expr *v = g->value;
    if (k == nnames || !sema_const_int(s, v, &a->val[k])) {
      sema_error(s, g->loc, k == nnames ? "%s() has no argument named '%s'" : "%s() needs an integer literal for %s=", e->name, g->name);
      return false;
    }
    a->has[k] = true, a->at[k] = v->loc;
  }
  if (a->npos < min_pos || a->npos > max_pos) {
    if (min_pos == max_pos)
      sema_error(s, e->loc, "%s() takes %d arguments, got %d", e->name, min_pos, a->npos);
    else
      sema_error(s, e->loc, "%s() takes %d to %d arrays, got %d", e->name, min_pos, max_pos, a->npos);
    return false;
  }
  return true;
}

/* Positional arguments of a gather builtin (lowered), and axis=. */
typedef struct GArgs {
  Val pos[3];
  int npos;
  int64_t axis;
  SrcLoc axis_loc;
} GArgs;

/* The first npos (all but the last unless lower_last) lowered. */
static bool gather_args(Sema *s, const Expr *e, int npos, bool lower_last, GArgs *g) {
  static const char *const names[] = {"axis"};
  LitArgs la;
  memset(g, 0, sizeof *g);
  if (!lit_args(s, e, names, 1, npos, npos, &la)) return false;
  g->npos = npos, g->axis = la.val[0], g->axis_loc = la.has[0] ? la.at[0] : e->loc;
  bool ok = true;
  for (int i = 0; i < (lower_last ? npos : npos - 1); i++) ok = !(g->pos[i] = sema_lower_expr(s, la.pos[i]->value)).poison && ok;
  return ok;
}

/* pos[k] must be an array; idx an integer array (the gather's index). */
static bool array_arg(Sema *s, const Expr *e, Val *v, int k, bool index) {
  *v = sema_materialize_default(s, *v);
  if (v->poison) return false;
  char tb[256];
  if (index && !dtype_is_int(v->node->dtype)) {
    sema_error(s, e->args[k].loc, "the indices of %s() must be integers, not %s; convert them, e.g. i64(...)", e->name,
               sema_type_text(s, v->node, tb, sizeof tb));
    return false;
  }
  return true;
}

static bool axis_of(Sema *s, const GArgs *g, const IrNode *x, int *axis) {
  int64_t a = g->axis < 0 ? g->axis + x->rank : g->axis;
  if (a < 0 || a >= x->rank) {
    char tb[256];
    sema_error(s, g->axis_loc, "axis %lld is out of range for %s", (long long)g->axis, sema_type_text(s, x, tb, sizeof tb));
    return false;
  }
  *axis = (int)a;
  return true;
}

/* The shape x.shape[:axis] + idx.shape + x.shape[axis+1:]: take's result,
 * index_add's values. */
static bool taken_shape(Sema *s, const Expr *e, const IrNode *x, const IrNode *idx, int axis, Dim *shape) {
  int rank = x->rank - 1 + idx->rank;
  if (rank > IR_MAX_RANK) {
    sema_error(s, e->loc, "the result would have %d axes; arrays have at most %d", rank, IR_MAX_RANK);
    return false;
  }
  int n = 0;
  for (int a = 0; a < axis; a++) shape[n++] = x->shape[a];
  for (int a = 0; a < idx->rank; a++) shape[n++] = idx->shape[a];
  for (int a = axis + 1; a < x->rank; a++) shape[n++] = x->shape[a];
  return true;
}

/* The subscripts of x for point `vars` of the taken shape: idx read at its
 * variables stands in for axis `axis`. */
static void taken_subscripts(Sema *s, SemaGen *g, IrNode *x, IrNode *idx, int axis, IrNode **subs, SrcLoc at) {
  IrNode *iv[IR_MAX_RANK];
  int v = 0;
  for (int a = 0; a < axis; a++) subs[a] = var_node(g, v++);
  for (int a = 0; a < idx->rank; a++) iv[a] = var_node(g, v++);
  subs[axis] = gen_read(s, g, idx, iv, at);
  for (int a = axis + 1; a < x->rank; a++) subs[a] = var_node(g, v++);
}

/* take(x, idx, axis=k) (NumPy): x.shape[:k] + idx.shape + x.shape[k+1:]. */
Val sema_lower_take(Sema *s, const Expr *e) {
  GArgs ga;
  int axis;
  Dim shape[IR_MAX_RANK];
  if (!gather_args(s, e, 2, true, &ga) || !array_arg(s, e, &ga.pos[0], 0, false) || !array_arg(s, e, &ga.pos[1], 1, true))
    return sema_poison();
  IrNode *x = ga.pos[0].node, *idx = ga.pos[1].node;
  if (!axis_of(s, &ga, x, &axis) || !taken_shape(s, e, x, idx, axis, shape)) return sema_poison();
  SemaGen g;
  gen_open_over(s, &g, x->rank - 1 + idx->rank, shape, e->loc);
  IrNode *subs[IR_MAX_RANK];
  taken_subscripts(s, &g, x, idx, axis, subs, e->args[1].loc);
  IrNode *value = gen_read(s, &g, x, subs, e->loc);
  gen_leave(s, &g);
  return sema_typed(gen_node(s, &g, OP_GEN, &value, 1, g.nvars, shape, OP_SUM, e->loc));
}

/* one_hot(y, K): y.shape + [K], f32, 1 where the last index equals y.  A
 * label outside [0, K) gives a row of zeros (it reads nothing). */
Val sema_lower_one_hot(Sema *s, const Expr *e) {
  GArgs ga;
  Dim k;
  if (!gather_args(s, e, 2, false, &ga) || !array_arg(s, e, &ga.pos[0], 0, true)) return sema_poison();
  if (!sema_dim_of_expr(s, e->args[1].value, true, &k)) return sema_poison();
  IrNode *y = ga.pos[0].node;
  if (y->rank + 1 > IR_MAX_RANK) {
    sema_error(s, e->loc, "the result would have %d axes; arrays have at most %d", y->rank + 1, IR_MAX_RANK);
    return sema_poison();
  }
  SemaGen g;
  Dim shape[IR_MAX_RANK];
  for (int a = 0; a < y->rank; a++) shape[a] = y->shape[a];
  shape[y->rank] = k;
  gen_open_over(s, &g, y->rank + 1, shape, e->loc);
  IrNode *iv[IR_MAX_RANK];
  for (int a = 0; a < y->rank; a++) iv[a] = var_node(&g, a);
  IrNode *label = ir_cast(s->m, s->fn, gen_read(s, &g, y, iv, e->loc), DT_I64, e->loc);
  IrNode *hit = ir_binary(s->m, s->fn, OP_EQ, label, var_node(&g, y->rank), e->loc);
  IrNode *value = ir_cast(s->m, s->fn, hit, DT_F32, e->loc);
  gen_leave(s, &g);
  return sema_typed(gen_node(s, &g, OP_GEN, &value, 1, g.nvars, shape, OP_SUM, e->loc));
}

/* x + the scatter of v at the subscripts `subs_of` gives for each point. */
static Val scatter_into(Sema *s, const Expr *e, IrNode *x, IrNode *v, SemaGen *g, IrNode *const *subs) {
  IrNode *iv[IR_MAX_RANK];
  for (int a = 0; a < v->rank; a++) iv[a] = var_node(g, a);
  IrNode *res[IR_MAX_RANK + 1];
  res[0] = gen_read(s, g, v, iv, e->loc);
  for (int a = 0; a < x->rank; a++) res[a + 1] = dtype_sizes[subs[a]->dtype] == 8 ? subs[a] : ir_cast(s->m, s->fn, subs[a], DT_I64, e->loc);
  gen_leave(s, g);
  IrNode *sc = gen_node(s, g, OP_SCATTER, res, x->rank + 1, x->rank, x->shape, OP_SUM, e->loc);
  return sema_typed(ir_binary(s->m, s->fn, OP_ADD, x, sc, e->loc));
}

/* Checks that v has shape `want`. */
static bool values_fit(Sema *s, const Expr *e, const IrNode *x, const IrNode *v, const Dim *want, int rank) {
  char tb[256], tw[256];
  if (v->dtype != x->dtype) {
    sema_error(s, e->args[2].loc, "%s() adds %s into %s: the dtypes differ", e->name, sema_type_text(s, v, tb, sizeof tb),
               sema_type_text(s, x, tw, sizeof tw));
    return false;
  }
  bool same = v->rank == rank;
  for (int a = 0; same && a < rank; a++) same = v->shape[a] == want[a];
  if (same) return true;
  ir_type_snprint(s->m, x->dtype, rank, want, tw, sizeof tw);
  sema_error(s, e->args[2].loc, "%s() needs values of type %s here, not %s", e->name, tw, sema_type_text(s, v, tb, sizeof tb));
  return false;
}

/* index_add(x, idx, v, axis=k): x with v[.., j.., ..] added at x[.., idx[j..], ..]
 * (the inverse of take; repeated indices add up). */
Val sema_lower_index_add(Sema *s, const Expr *e) {
  GArgs ga;
  int axis;
  Dim shape[IR_MAX_RANK];
  if (!gather_args(s, e, 3, true, &ga) || !array_arg(s, e, &ga.pos[0], 0, false) || !array_arg(s, e, &ga.pos[1], 1, true))
    return sema_poison();
  IrNode *x = ga.pos[0].node, *idx = ga.pos[1].node;
  Val v = sema_materialize(s, ga.pos[2], x->dtype);
  if (v.poison || !axis_of(s, &ga, x, &axis) || !taken_shape(s, e, x, idx, axis, shape)) return sema_poison();
  if (!values_fit(s, e, x, v.node, shape, x->rank - 1 + idx->rank)) return sema_poison();
  SemaGen g;
  gen_open_over(s, &g, v.node->rank, shape, e->loc);
  IrNode *subs[IR_MAX_RANK];
  taken_subscripts(s, &g, x, idx, axis, subs, e->args[1].loc);
  return scatter_into(s, e, x, v.node, &g, subs);
}

/* scatter_add(x, idx, v, axis=k) (PyTorch): idx and v have one shape of x's
 * rank; x[.., idx[p], ..] += v[p] with idx[p] replacing index k of p. */
Val sema_lower_scatter_add(Sema *s, const Expr *e) {
  GArgs ga;
  int axis;
  if (!gather_args(s, e, 3, true, &ga) || !array_arg(s, e, &ga.pos[0], 0, false) || !array_arg(s, e, &ga.pos[1], 1, true))
    return sema_poison();
  IrNode *x = ga.pos[0].node, *idx = ga.pos[1].node;
  Val v = sema_materialize(s, ga.pos[2], x->dtype);
  if (v.poison || !axis_of(s, &ga, x, &axis)) return sema_poison();
  char tb[256], tx[256];
  if (idx->rank != x->rank) {
    sema_error(s, e->args[1].loc, "scatter_add() needs indices of rank %d like %s, not %s", x->rank, sema_type_text(s, x, tx, sizeof tx),
               sema_type_text(s, idx, tb, sizeof tb));
    return sema_poison();
  }
  if (!values_fit(s, e, x, v.node, idx->shape, idx->rank)) return sema_poison();
  SemaGen g;
  gen_open_over(s, &g, idx->rank, idx->shape, e->loc);
  IrNode *subs[IR_MAX_RANK], *iv[IR_MAX_RANK];
  for (int a = 0; a < idx->rank; a++) iv[a] = subs[a] = var_node(&g, a);
  subs[axis] = gen_read(s, &g, idx, iv, e->args[1].loc);
  return scatter_into(s, e, x, v.node, &g, subs);
}

/* ---- stack, concat, flip, tril, triu, diag, iota ------------------------------------ */

static bool axis_in(Sema *s, int64_t axis, int rank, SrcLoc at, int *out) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    sema_error(s, at, "axis %lld is out of range for rank %d", (long long)axis, rank);
    return false;
  }
  *out = (int)a;
  return true;
}

/* stack(a, b, ..., axis=k): a new axis k (default 0). */
Val sema_lower_stack(Sema *s, const Expr *e) {
  static const char *const names[] = {"axis"};
  LitArgs la;
  int axis;
  if (!lit_args(s, e, names, 1, 1, TEX_MAX_CALL_ARGS, &la)) return sema_poison();
  Arg args[TEX_MAX_CALL_ARGS];
  for (int i = 0; i < la.npos; i++) args[i] = *la.pos[i];
  Val *vals = tex_calloc((size_t)la.npos + 1, sizeof(Val));
  Val r = sema_poison();
  if (conformed_arrays(s, args, la.npos, e->loc, vals) && axis_in(s, la.val[0], vals[0].node->rank + 1, la.at[0], &axis))
    r = stack_values(s, vals, la.npos, axis, e->loc);
  tex_free(vals);
  return r;
}

/* concat(a, b, ..., axis=k): along axis k (default 0), the extents add up.
 * Each part is scattered into its place (subscripts provably in range, so
 * no part is ever read outside itself, also when one is empty), and the
 * parts add up. */
Val sema_lower_concat(Sema *s, const Expr *e) {
  static const char *const names[] = {"axis"};
  LitArgs la;
  int axis;
  char ta[256], tb[256];
  if (!lit_args(s, e, names, 1, 1, TEX_MAX_CALL_ARGS, &la)) return sema_poison();
  Val v0 = sema_materialize_default(s, sema_lower_expr(s, la.pos[0]->value));
  if (v0.poison || !axis_in(s, la.val[0], v0.node->rank, la.has[0] ? la.at[0] : e->loc, &axis)) return sema_poison();
  IrNode *parts[TEX_MAX_CALL_ARGS];
  Dim shape[IR_MAX_RANK];
  memcpy(shape, v0.node->shape, sizeof(Dim) * (size_t)v0.node->rank);
  parts[0] = v0.node;
  for (int i = 1; i < la.npos; i++) {
    Val v = sema_materialize(s, sema_lower_expr(s, la.pos[i]->value), v0.node->dtype);
    if (v.poison) return sema_poison();
    bool ok = v.node->dtype == v0.node->dtype && v.node->rank == v0.node->rank;
    for (int a = 0; ok && a < v.node->rank; a++) ok = a == axis || v.node->shape[a] == v0.node->shape[a];
    if (!ok) {
      sema_error(s, la.pos[i]->loc, "concat() along axis %d of %s and %s: the other dims must be equal and the dtypes the same", axis,
                 sema_type_text(s, v0.node, ta, sizeof ta), sema_type_text(s, v.node, tb, sizeof tb));
      return sema_poison();
    }
    parts[i] = v.node;
    shape[axis] = dim_add(s->m->dims, shape[axis], v.node->shape[axis]);
  }
  if (la.npos == 1) return v0;
  IrNode *sum = NULL;
  Dim offset = dim_lit(s->m->dims, 0);
  for (int i = 0; i < la.npos; i++) {
    IrNode *x = parts[i];
    SemaGen g;
    gen_open_over(s, &g, x->rank, x->shape, e->loc);
    IrNode *res[IR_MAX_RANK + 1], *iv[IR_MAX_RANK];
    for (int a = 0; a < x->rank; a++) iv[a] = res[a + 1] = var_node(&g, a);
    res[0] = gen_read(s, &g, x, iv, la.pos[i]->loc);
    res[axis + 1] = ir_binary(s->m, s->fn, OP_ADD, dim_node(s, offset, e->loc), iv[axis], e->loc);
    gen_leave(s, &g);
    IrNode *part = gen_node(s, &g, OP_SCATTER, res, x->rank + 1, x->rank, shape, OP_SUM, e->loc);
    sum = sum ? ir_binary(s->m, s->fn, OP_ADD, sum, part, e->loc) : part;
    offset = dim_add(s->m->dims, offset, x->shape[axis]);
  }
  return sema_typed(sum);
}

/* A gen over x's shape whose value is built by `body` from the variables. */
typedef IrNode *(*GenBody)(Sema *s, SemaGen *g, IrNode *x, const int64_t *opt, SrcLoc at);

static Val gen_like(Sema *s, IrNode *x, GenBody body, const int64_t *opt, SrcLoc at) {
  SemaGen g;
  gen_open_over(s, &g, x->rank, x->shape, at);
  IrNode *value = body(s, &g, x, opt, at);
  gen_leave(s, &g);
  return sema_typed(gen_node(s, &g, OP_GEN, &value, 1, x->rank, x->shape, OP_SUM, at));
}

/* flip: x[.., n - 1 - i, ..] along opt[0] (-1: every axis). */
static IrNode *flip_body(Sema *s, SemaGen *g, IrNode *x, const int64_t *opt, SrcLoc at) {
  IrNode *subs[IR_MAX_RANK];
  for (int a = 0; a < x->rank; a++) {
    subs[a] = var_node(g, a);
    if (opt[0] >= 0 && a != opt[0]) continue;
    IrNode *last = dim_node(s, dim_sub(s->m->dims, x->shape[a], dim_lit(s->m->dims, 1)), at);
    subs[a] = ir_binary(s->m, s->fn, OP_SUB, last, subs[a], at);
  }
  return gen_read(s, g, x, subs, at);
}

/* tril (opt[1] = 0) / triu (1): x where j <= i + k (j >= i + k), else 0, on the last two axes. */
static IrNode *tri_body(Sema *s, SemaGen *g, IrNode *x, const int64_t *opt, SrcLoc at) {
  IrNode *subs[IR_MAX_RANK];
  for (int a = 0; a < x->rank; a++) subs[a] = var_node(g, a);
  IrNode *i = subs[x->rank - 2], *j = subs[x->rank - 1];
  IrNode *ik = ir_binary(s->m, s->fn, OP_ADD, i, ir_const(s->m, s->fn, DT_I64, 0, opt[0], at), at);
  IrNode *keep = ir_binary(s->m, s->fn, opt[1] ? OP_GE : OP_LE, j, ik, at);
  IrNode *zero = ir_const(s->m, s->fn, x->dtype, 0, 0, at), *args[3] = {keep, gen_read(s, g, x, subs, at), zero};
  return ir_node(s->m, s->fn, OP_SELECT, x->dtype, 0, NULL, 3, args, at);
}

static Val one_array(Sema *s, const Expr *e, const LitArgs *la, int min_rank) {
  Val x = sema_materialize_default(s, sema_lower_expr(s, la->pos[0]->value));
  if (x.poison) return x;
  if (x.node->rank < min_rank) {
    char tb[256];
    sema_error(s, la->pos[0]->loc, "%s() needs an array of rank %d or more, not %s", e->name, min_rank,
               sema_type_text(s, x.node, tb, sizeof tb));
    return sema_poison();
  }
  return x;
}

Val sema_lower_flip(Sema *s, const Expr *e) {
  static const char *const names[] = {"axis"};
  LitArgs la;
  int axis = -1;
  if (!lit_args(s, e, names, 1, 1, 1, &la)) return sema_poison();
  Val x = one_array(s, e, &la, 0);
  if (x.poison || (la.has[0] && !axis_in(s, la.val[0], x.node->rank, la.at[0], &axis))) return sema_poison();
  int64_t opt[2] = {axis, 0};
  return gen_like(s, x.node, flip_body, opt, e->loc);
}

/* tril(x, k=0) / triu(x, k=0) on the last two axes (NumPy). */
Val sema_lower_tri(Sema *s, const Expr *e) {
  static const char *const names[] = {"k"};
  LitArgs la;
  if (!lit_args(s, e, names, 1, 1, 1, &la)) return sema_poison();
  Val x = one_array(s, e, &la, 2);
  if (x.poison) return x;
  int64_t opt[2] = {la.val[0], strcmp(e->name, "triu") == 0};
  return gen_like(s, x.node, tri_body, opt, e->loc);
}

/* diag(v): the square matrix with v on its diagonal; diag(m) of a square
 * matrix: its diagonal. */
Val sema_lower_diag(Sema *s, const Expr *e) {
  LitArgs la;
  if (!lit_args(s, e, NULL, 0, 1, 1, &la)) return sema_poison();
  Val x = one_array(s, e, &la, 1);
  if (x.poison) return x;
  IrNode *v = x.node;
  char tb[256];
  if (v->rank > 2 || (v->rank == 2 && v->shape[0] != v->shape[1])) {
    sema_error(s, la.pos[0]->loc, "diag() takes a vector or a square matrix, not %s", sema_type_text(s, v, tb, sizeof tb));
    return sema_poison();
  }
  SemaGen g;
  Dim shape[2] = {v->shape[0], v->shape[0]};
  gen_open_over(s, &g, 3 - v->rank, shape, e->loc);
  IrNode *i = var_node(&g, 0), *value;
  if (v->rank == 2) {
    IrNode *subs[2] = {i, i};
    value = gen_read(s, &g, v, subs, e->loc);
  } else {
    IrNode *on = ir_binary(s->m, s->fn, OP_EQ, i, var_node(&g, 1), e->loc);
    IrNode *args[3] = {on, gen_read(s, &g, v, &i, e->loc), ir_const(s->m, s->fn, v->dtype, 0, 0, e->loc)};
    value = ir_node(s->m, s->fn, OP_SELECT, v->dtype, 0, NULL, 3, args, e->loc);
  }
  gen_leave(s, &g);
  return sema_typed(gen_node(s, &g, OP_GEN, &value, 1, g.nvars, shape, OP_SUM, e->loc));
}

/* iota(N) / arange(N): i64[N] holding 0, 1, ..., N - 1. */
Val sema_lower_iota(Sema *s, const Expr *e) {
  Dim n;
  if (e->nargs != 1 || e->args[0].name) {
    sema_error(s, e->loc, "%s() takes one size, e.g. %s(N)", e->name, e->name);
    return sema_poison();
  }
  if (!sema_dim_of_expr(s, e->args[0].value, true, &n)) return sema_poison();
  SemaGen g;
  gen_open_over(s, &g, 1, &n, e->loc);
  IrNode *value = var_node(&g, 0);
  gen_leave(s, &g);
  return sema_typed(gen_node(s, &g, OP_GEN, &value, 1, 1, &n, OP_SUM, e->loc));
}
