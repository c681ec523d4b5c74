/* verify.c — the invariants of the IR, checked after every pass in tests and
 * under --verify:
 *   - every operand is defined earlier in the same function (SSA order);
 *   - params are the first nodes, in order, and results are in the body;
 *   - operand counts match op arity; call arity matches the callee;
 *   - dtypes and shapes are what the op's rules infer from the operands;
 *   - no node is left forwarded (passes must ir_compact);
 *   - every size symbol a function uses is bound by a parameter's dim;
 *   - no function reaches itself through calls, derivations or grad rules;
 *   - a derived function or a grad rule has the signature ir_derive gives.
 * IR read from a file is user input: texc verifies it before any pass runs,
 * so passes and codegen may rely on all of this. */
#include <string.h>

#include "ir.h"

typedef struct Verifier {
  IrModule *m;
  FILE *out;
  const char *after;
  int problems;
} Verifier;

static void problem(Verifier *v, const IrFunc *f, const IrNode *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void problem(Verifier *v, const IrFunc *f, const IrNode *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(v->out, "verify%s%s: @%s", v->after ? " after " : "", v->after ? v->after : "", f->name);
  if (n) fprintf(v->out, " %%%d (%s)", n->id, op_info[n->op].name);
  fputs(": ", v->out);
  vfprintf(v->out, fmt, ap);
  fputc('\n', v->out);
  va_end(ap);
  v->problems++;
}

/* The callee's dims with its size symbols bound by the call's operands, as
 * inlining will bind them: each param dim that is a symbol binds it (the
 * first one; the others must agree), every other dim must then equal the
 * operand's.  Returns the binding (caller frees), or NULL after a problem. */
static Dim *bind_call(Verifier *v, IrFunc *f, IrNode *n, IrFunc *callee) {
  DimTable *t = v->m->dims;
  Dim *map = tex_calloc((size_t)dim_nsymbols(t) + 1, sizeof(Dim));
  for (int i = 0; i < n->nargs; i++)
    for (int a = 0; a < n->args[i]->rank; a++) {
      int sym = dim_as_sym(callee->params[i]->shape[a]);
      if (sym >= 0 && !map[sym]) map[sym] = n->args[i]->shape[a];
    }
  for (int i = 0; i < n->nargs; i++)
    for (int a = 0; a < n->args[i]->rank; a++)
      if (dim_subst(t, callee->params[i]->shape[a], map) != n->args[i]->shape[a]) {
        problem(v, f, n, "operand %d: dim %d disagrees with param %%%s of @%s", i, a, callee->params[i]->name, callee->name);
        tex_free(map);
        return NULL;
      }
  return map;
}

/* Result r of callee, as this call gives it, against node n's type. */
static bool result_fits(Verifier *v, const IrFunc *callee, int r, const IrNode *n, const Dim *map) {
  const IrNode *want = callee->results[r];
  if (want->dtype != n->dtype || want->rank != n->rank) return false;
  for (int a = 0; a < n->rank; a++)
    if (dim_subst(v->m->dims, want->shape[a], map) != n->shape[a]) return false;
  return true;
}

static void verify_call(Verifier *v, IrFunc *f, IrNode *n) {
  IrFunc *callee = n->attr.callee;
  if (!callee) {
    problem(v, f, n, "call without callee");
    return;
  }
  if (callee->nparams != n->nargs) {
    problem(v, f, n, "%d operands for %d params of @%s", n->nargs, callee->nparams, callee->name);
    return;
  }
  for (int i = 0; i < n->nargs; i++)
    if (n->args[i]->dtype != callee->params[i]->dtype || n->args[i]->rank != callee->params[i]->rank) {
      problem(v, f, n, "operand %d does not match param %%%s of @%s", i, callee->params[i]->name, callee->name);
      return;
    }
  Dim *map = callee->results ? bind_call(v, f, n, callee) : NULL;
  if (map && callee->nresults == 1 && !result_fits(v, callee, 0, n, map))
    problem(v, f, n, "type differs from the result of @%s", callee->name);
  for (int i = n->id + 1; map && callee->nresults > 1 && i < f->body.len; i++) {
    IrNode *p = f->body.items[i];
    if (p->op == OP_PROJ && p->args[0] == n && p->attr.i >= 0 && p->attr.i < callee->nresults &&
        !result_fits(v, callee, (int)p->attr.i, p, map))
      problem(v, f, p, "proj type differs from result %lld of @%s", (long long)p->attr.i, callee->name);
  }
  tex_free(map);
}

static void verify_types(Verifier *v, IrFunc *f, IrNode *n) {
  DType t;
  if (!ir_infer_dtype(n, &t))
    problem(v, f, n, "operand dtypes do not fit the op");
  else if (t != n->dtype)
    problem(v, f, n, "dtype is %s, op gives %s", dtype_names[n->dtype], dtype_names[t]);
  int rank;
  Dim shape[IR_MAX_RANK];
  if (!ir_infer_shape(v->m, n, &rank, shape)) {
    problem(v, f, n, "operand shapes or attributes do not fit the op");
    return;
  }
  bool same = rank == n->rank;
  for (int i = 0; same && i < rank; i++) same = shape[i] == n->shape[i];
  if (!same) problem(v, f, n, "shape differs from the one the op infers");
}

static bool same_type(const IrNode *a, const IrNode *b);
static void verify_body(Verifier *v, IrFunc *f);

/* A revolve loop (ir.h, loop.c): S >= 1 and primal states among the
 * states; the advance body has the body's params and gives the states; each
 * body returns the states it does not compute unchanged. */
static void verify_revolve(Verifier *v, IrFunc *f, IrNode *n, int ns) {
  IrFunc *b = n->attr.body, *a = n->attr.orelse;
  int np = n->attr.nprim;
  if (!a->built || n->attr.snaps < 1 || np < 0 || np > ns || a->nparams != b->nparams || a->nresults != ns) {
    problem(v, f, n, "malformed revolve loop");
    return;
  }
  for (int i = 0; i < b->nparams; i++)
    if (!same_type(a->params[i], b->params[i])) problem(v, f, n, "param %d of the advance body differs from the body's", i);
  for (int k = 0; k < ns; k++) {
    const IrFunc *keeps = k < np ? b : a; /* the body that passes state k through */
    if (!a->results[k] || !same_type(a->results[k], n->args[IR_LOOP_FIXED + k]))
      problem(v, f, n, "advance result %d differs from the type of state %d", k, k);
    else if (!keeps->results[k] || ir_resolve(keeps->results[k]) != keeps->params[1 + k])
      problem(v, f, n, "the %s does not return state %d unchanged", k < np ? "body" : "advance body", k);
  }
  verify_body(v, a);
}

/* ---- loops ---------------------------------------------------------------------
 * Operands (trip count, states, captures) against the body's params (t,
 * states, captures); the body's results are the states, of their types. */
static void verify_loop(Verifier *v, IrFunc *f, IrNode *n) {
  IrFunc *b = n->attr.body;
  int ns = ir_loop_nstates(n), ny = ir_loop_nouts(n);
  if (!b || !b->built || ns < 0 || ny < 0 || ns + ny < 1 || n->nargs < IR_LOOP_FIXED + ns || b->nparams != 1 + n->nargs - IR_LOOP_FIXED) {
    problem(v, f, n, "malformed loop");
    return;
  }
  const IrNode *trip = n->args[0];
  if (trip->dtype != DT_I64 || trip->rank != 0) problem(v, f, n, "the trip count is not an i64 scalar");
  if (b->params[0]->dtype != DT_I64 || b->params[0]->rank != 0) problem(v, f, n, "the body's index is not an i64 scalar");
  for (int k = IR_LOOP_FIXED; k < n->nargs; k++)
    if (!same_type(n->args[k], b->params[1 + k - IR_LOOP_FIXED])) problem(v, f, n, "operand %d differs from its body param", k);
  for (int k = 0; k < ns; k++)
    if (!b->results[k] || !same_type(b->results[k], n->args[IR_LOOP_FIXED + k]))
      problem(v, f, n, "body result %d differs from the type of state %d", k, k);
  if (n->attr.naxes < 0 || n->attr.naxes > IR_MAX_RANK) problem(v, f, n, "checkpoint= has %d levels", n->attr.naxes);
  for (int i = 0; i < n->attr.naxes && n->attr.naxes <= IR_MAX_RANK; i++)
    if (n->attr.axes[i] < 1 || (i && n->attr.axes[i] >= n->attr.axes[i - 1]))
      problem(v, f, n, "checkpoint= levels are not positive and decreasing");
  if (n->attr.is_while && (ns < 1 || ny || n->attr.naxes || n->args[IR_LOOP_FIXED]->dtype != DT_BOOL || n->args[IR_LOOP_FIXED]->rank))
    problem(v, f, n, "a while loop's state 0 is its bool scalar flag, and it has no stacked outputs or checkpoint=");
  DType t;
  int rank;
  Dim shape[IR_MAX_RANK];
  for (int k = 0; k < ns + ny; k++)
    if (!b->results[k] || !ir_loop_proj_type(v->m, n, k, &t, &rank, shape))
      problem(v, f, n, "stacked output %d: the trip count is not a size, or the rank exceeds %d", k - ns, IR_MAX_RANK);
    else if (k == 0 && (t != n->dtype || rank != n->rank || memcmp(shape, n->shape, sizeof(Dim) * (size_t)rank) != 0))
      problem(v, f, n, "the loop's type differs from its first state or output");
  if (n->attr.snaps < 0 || (n->attr.snaps && (n->attr.naxes || n->attr.is_while)))
    problem(v, f, n, "checkpoint=revolve(%d) with checkpoint levels or on a while loop", n->attr.snaps);
  verify_body(v, b);
  if (n->attr.orelse) verify_revolve(v, f, n, ns);
}

/* ---- ifs ------------------------------------------------------------------------
 * A bool scalar condition; both bodies' params match the captures
 * (operands 1..), and their results have the same types, value 0 the node's. */
static void verify_if(Verifier *v, IrFunc *f, IrNode *n) {
  IrFunc *b[2] = {n->attr.body, n->attr.orelse};
  int nv = ir_if_nvalues(n);
  if (!b[0] || !b[1] || !b[0]->built || !b[1]->built || nv < 1 || b[1]->nresults != nv || n->nargs < IR_IF_FIXED) {
    problem(v, f, n, "malformed if");
    return;
  }
  if (n->args[0]->dtype != DT_BOOL || n->args[0]->rank != 0) problem(v, f, n, "the condition is not a bool scalar");
  for (int k = 0; k < 2; k++) {
    if (b[k]->nparams != n->nargs - IR_IF_FIXED) {
      problem(v, f, n, "the %s body has %d params for %d captured values", k ? "else" : "then", b[k]->nparams, n->nargs - IR_IF_FIXED);
      continue;
    }
    for (int a = IR_IF_FIXED; a < n->nargs; a++)
      if (!same_type(n->args[a], b[k]->params[a - IR_IF_FIXED]))
        problem(v, f, n, "operand %d differs from its %s param", a, k ? "else" : "then");
    for (int r = 0; r < nv; r++)
      if (!b[k]->results[r] || !b[0]->results[r] || !same_type(b[k]->results[r], b[0]->results[r]))
        problem(v, f, n, "value %d of the else body differs from the then body's", r);
  }
  if (b[0]->results[0] && !same_type(n, b[0]->results[0])) problem(v, f, n, "the if's type differs from value 0");
  verify_body(v, b[0]);
  verify_body(v, b[1]);
}

/* ---- regions ------------------------------------------------------------------ */

static bool region_op_allowed(const IrNode *x, int index, int nidx) {
  if (x->op == OP_PARAM) return index < nidx;
  return x->op == OP_CONST || x->op == OP_DIMSIZE || x->op == OP_READ || (op_info[x->op].flags & F_ELEM);
}

/* A read loads an element of operand attr.i of the region's node g. */
static void verify_read(Verifier *v, IrFunc *body, const IrNode *g, const IrNode *x) {
  if (x->attr.i < 0 || x->attr.i >= g->nargs) {
    problem(v, body, x, "reads operand %lld of a node with %d", (long long)x->attr.i, g->nargs);
    return;
  }
  const IrNode *src = g->args[x->attr.i];
  if (x->nargs != src->rank) problem(v, body, x, "%d subscripts for an operand of rank %d", x->nargs, src->rank);
  if (x->dtype != src->dtype) problem(v, body, x, "dtype %s, the operand is %s", dtype_names[x->dtype], dtype_names[src->dtype]);
  for (int a = 0; a < x->nargs; a++)
    if (!dtype_is_int(x->args[a]->dtype)) problem(v, body, x, "subscript %d is not an integer", a);
}

static void verify_region_node(Verifier *v, IrFunc *body, const IrNode *g, IrNode *x, int index, int nidx) {
  if (x->forward) problem(v, body, x, "replaced node still in the body");
  if (x->rank != 0) problem(v, body, x, "a region's values are scalars");
  if (!region_op_allowed(x, index, nidx)) problem(v, body, x, "op not allowed in a region");
  if (x->op == OP_PARAM && (x->dtype != DT_I64 || body->params[index] != x))
    problem(v, body, x, "index variable %d is not an i64 param", index);
  if (op_info[x->op].arity >= 0 && x->nargs != op_info[x->op].arity)
    problem(v, body, x, "%d operands, op takes %d", x->nargs, op_info[x->op].arity);
  for (int a = 0; a < x->nargs; a++)
    if (!x->args[a] || x->args[a]->id >= index || body->body.items[x->args[a]->id] != x->args[a]) {
      problem(v, body, x, "operand %d is not defined before its use", a);
      return;
    }
  if (x->op == OP_READ)
    verify_read(v, body, g, x);
  else if (op_info[x->op].flags & F_ELEM)
    verify_types(v, body, x);
}

/* The results a region's body must give (ir.h, "region.c"). */
static void verify_region_results(Verifier *v, IrFunc *f, const IrNode *n, const IrRegion *r) {
  IrFunc *body = r->body;
  int want = n->op == OP_SCATTER ? 1 + n->rank : 1;
  if (body->nresults != want) {
    problem(v, f, n, "the region returns %d values, %d expected", body->nresults, want);
    return;
  }
  for (int i = 0; i < want; i++) {
    const IrNode *x = body->results[i];
    if (!x || x->id >= body->body.len || body->body.items[x->id] != x)
      problem(v, f, n, "region result %d is not in its body", i);
    else if (i == 0 ? x->dtype != n->dtype : !dtype_is_int(x->dtype))
      problem(v, f, n, "region result %d has dtype %s", i, dtype_names[x->dtype]);
  }
}

static void verify_region(Verifier *v, IrFunc *f, IrNode *n) {
  const IrRegion *r = n->attr.region;
  if (!r || !r->body || r->nidx != r->body->nparams || r->nidx > IR_MAX_INDICES) {
    problem(v, f, n, "malformed region");
    return;
  }
  if (n->op == OP_GEN && r->nidx < n->rank) problem(v, f, n, "%d index variables for rank %d", r->nidx, n->rank);
  for (int a = 0; n->op == OP_GEN && a < n->rank && a < r->nidx; a++)
    if (r->extent[a] != n->shape[a]) problem(v, f, n, "index variable %d does not range over axis %d", a, a);
  bool reduces = n->op == OP_GEN && r->nidx > n->rank;
  if (reduces && r->reduce != OP_SUM && r->reduce != OP_RMAX && r->reduce != OP_RMIN) problem(v, f, n, "bad reduction");
  if ((reduces || n->op == OP_SCATTER) && n->dtype == DT_BOOL) problem(v, f, n, "reduces bool values");
  ir_renumber(r->body);
  for (int i = 0; i < r->body->body.len; i++) verify_region_node(v, r->body, n, r->body->body.items[i], i, r->nidx);
  verify_region_results(v, f, n, r);
}

static void verify_node(Verifier *v, IrFunc *f, IrNode *n, int index) {
  const OpInfo *info = &op_info[n->op];
  if (n->forward) problem(v, f, n, "replaced node still in the body");
  if (n->id != index) problem(v, f, n, "id %d at position %d (not renumbered)", n->id, index);
  if (info->arity >= 0 && n->nargs != info->arity) problem(v, f, n, "%d operands, op takes %d", n->nargs, info->arity);
  for (int i = 0; i < n->nargs; i++) {
    IrNode *a = n->args[i];
    if (!a || a->id >= index || f->body.items[a->id] != a) {
      problem(v, f, n, "operand %d is not defined before its use", i);
      return;
    }
  }
  if (n->op == OP_PARAM && (index >= f->nparams || f->params[index] != n)) problem(v, f, n, "param out of place");
  if (n->op == OP_READ) problem(v, f, n, "a read outside a region");
  if (n->op == OP_INDEX) problem(v, f, n, "a loop counter outside a kernel");
  if (info->attr == ATTR_REGION) {
    verify_region(v, f, n);
    return;
  }
  if (n->op == OP_CALL) {
    verify_call(v, f, n);
    return;
  }
  if (n->op == OP_LOOP) {
    verify_loop(v, f, n);
    return;
  }
  if (n->op == OP_IF) {
    verify_if(v, f, n);
    return;
  }
  if (n->op == OP_PROJ && n->args[0]->op == OP_IF) {
    const IrNode *c = n->args[0];
    int nv = ir_if_nvalues(c);
    if (n->attr.i < 0 || n->attr.i >= nv || nv < 2)
      problem(v, f, n, "proj %lld of an if with %d values", (long long)n->attr.i, nv);
    else if (!same_type(n, c->attr.body->results[n->attr.i]))
      problem(v, f, n, "proj type differs from value %lld of the if", (long long)n->attr.i);
    return;
  }
  if (n->op == OP_PROJ && n->args[0]->op == OP_LOOP) {
    const IrNode *l = n->args[0];
    int nproj = ir_loop_nstates(l) + ir_loop_nouts(l);
    DType t;
    int rank;
    Dim shape[IR_MAX_RANK];
    if (n->attr.i < 0 || n->attr.i >= nproj || nproj < 2)
      problem(v, f, n, "proj %lld of a loop with %d states and outputs", (long long)n->attr.i, nproj);
    else if (!ir_loop_proj_type(v->m, l, (int)n->attr.i, &t, &rank, shape) || t != n->dtype || rank != n->rank ||
             memcmp(shape, n->shape, sizeof(Dim) * (size_t)rank) != 0)
      problem(v, f, n, "proj type differs from state or output %lld of the loop", (long long)n->attr.i);
    return;
  }
  if (n->op == OP_PROJ) {
    const IrNode *c = n->args[0];
    if (c->op != OP_CALL || !c->attr.callee || n->attr.i < 0 || n->attr.i >= c->attr.callee->nresults)
      problem(v, f, n, "proj of something other than a result of a call");
    else if (c->attr.callee->results[n->attr.i]->dtype != n->dtype || c->attr.callee->results[n->attr.i]->rank != n->rank)
      problem(v, f, n, "proj type differs from result %lld of @%s", (long long)n->attr.i, c->attr.callee->name);
    return;
  }
  verify_types(v, f, n);
}

/* ---- size symbols ------------------------------------------------------------ */

static bool dim_bound(Dim d, const bool *bound) {
  for (int t = 0; t < d->nterms; t++)
    for (int i = 0; i < d->terms[t].nfactors; i++)
      if (!bound[d->terms[t].factors[i].sym]) return false;
  return true;
}

static void check_dims(Verifier *v, IrFunc *f, const IrNode *n, const bool *bound, const char *what) {
  for (int a = 0; a < n->rank; a++)
    if (!dim_bound(n->shape[a], bound)) {
      char text[256];
      dim_snprint(v->m->dims, n->shape[a], text, sizeof text);
      problem(v, f, n->op == OP_PARAM ? NULL : n, "%s dim %s uses a size symbol no parameter binds", what, text);
      return;
    }
  if (op_info[n->op].attr == ATTR_DIM && n->attr.dim && !dim_bound(n->attr.dim, bound))
    problem(v, f, n, "dim attribute uses a size symbol no parameter binds");
  const IrRegion *r = op_info[n->op].attr == ATTR_REGION ? n->attr.region : NULL;
  for (int i = 0; r && i < r->nidx && i < IR_MAX_INDICES; i++)
    if (!r->extent[i] || !dim_bound(r->extent[i], bound))
      problem(v, f, n, "index variable %d's range uses a size symbol no parameter binds", i);
  for (int i = 0; r && r->body && i < r->body->body.len; i++) {
    const IrNode *x = r->body->body.items[i];
    if (x->op == OP_DIMSIZE && x->attr.dim && !dim_bound(x->attr.dim, bound))
      problem(v, f, n, "a dim in its region uses a size symbol no parameter binds");
  }
}

/* Symbols are bound at call time by parameters whose dim is that symbol;
 * a derived symbol is bound if its definition is (definitions only use
 * symbols made before them). */
static void verify_symbols(Verifier *v, IrFunc *f) {
  int nsyms = dim_nsymbols(v->m->dims);
  bool *bound = tex_calloc((size_t)nsyms + 1, sizeof(bool));
  for (int i = 0; i < f->nparams; i++)
    for (int a = 0; a < f->params[i]->rank; a++) {
      int sym = dim_as_sym(f->params[i]->shape[a]);
      if (sym >= 0) bound[sym] = true;
    }
  for (int s = 0; s < nsyms; s++) {
    Dim num;
    if (dim_derived(v->m->dims, s, &num, NULL)) bound[s] = dim_bound(num, bound);
  }
  for (int i = 0; !f->built && i < f->nresults; i++) /* built: the results are body nodes */
    if (f->results[i]) check_dims(v, f, f->results[i], bound, "result");
  PtrVec all = {0};
  if (f->built) ir_all_nodes(f, &all); /* and the loop bodies in it */
  for (int i = 0; i < all.len; i++) check_dims(v, f, all.items[i], bound, "a");
  vec_free(&all);
  tex_free(bound);
}

/* ---- derived functions and grad rules ------------------------------------------ */

static bool same_type(const IrNode *a, const IrNode *b) {
  if (a->dtype != b->dtype || a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->shape[i] != b->shape[i]) return false;
  return true;
}

/* f's signature against the one ir_derive would declare from of. */
static void verify_derived_signature(Verifier *v, IrFunc *f, IrFunc *of, DeriveKind kind, const ParamSet *wrt) {
  for (int i = ps_next(wrt, -1); i >= 0; i = ps_next(wrt, i))
    if (i >= of->nparams || !dtype_is_float(of->params[i]->dtype)) {
      problem(v, f, NULL, "wrt names %d, not a floating-point parameter of @%s", i, of->name);
      return;
    }
  if (ps_empty(wrt)) problem(v, f, NULL, "wrt is empty");
  IrModule *scratch = ir_module_new("verify");
  DimTable *own = scratch->dims;
  scratch->dims = v->m->dims; /* the same hash-consed dims, so types compare by pointer */
  IrFunc *want = ir_derive(scratch, of, kind, wrt, "want", f->loc);
  bool ok = want->nparams == f->nparams && want->nresults == f->nresults;
  for (int i = 0; ok && i < f->nparams; i++) ok = same_type(want->params[i], f->params[i]);
  for (int i = 0; ok && i < f->nresults; i++) ok = same_type(want->results[i], f->results[i]);
  if (!ok)
    problem(v, f, NULL, "signature differs from the %s of @%s (%d params, %d results expected)", derive_kind_names[kind], of->name,
            want->nparams, want->nresults);
  scratch->dims = own;
  ir_module_free(scratch);
}

static void verify_links(Verifier *v, IrFunc *f) {
  if (f->derive) verify_derived_signature(v, f, f->derive_of, f->derive, &f->wrt);
  if (f->custom_vjp) {
    ParamSet all = ir_float_params(f);
    verify_derived_signature(v, f->custom_vjp, f, DERIVE_VJP_CT, &all);
  }
}

/* ---- recursion ------------------------------------------------------------------ */

/* What f needs before it can be built or inlined: callees, derive_of, its rule. */
static void push_edges(IrFunc *f, PtrVec *out) {
  if (f->derive_of) vec_push(out, f->derive_of);
  if (f->custom_vjp) vec_push(out, f->custom_vjp);
  PtrVec all = {0};
  if (f->built) ir_all_nodes(f, &all); /* calls inside loop bodies too */
  for (int i = 0; i < all.len; i++) {
    IrNode *n = all.items[i];
    if (n->op == OP_CALL && n->attr.callee) vec_push(out, n->attr.callee);
  }
  vec_free(&all);
}

static int func_index(IrModule *m, const IrFunc *f) {
  for (int i = 0; i < m->funcs.len; i++)
    if (m->funcs.items[i] == f) return i;
  return -1;
}

/* Depth-first search with an explicit stack: 0 unseen, 1 on the path, 2 done. */
static void verify_no_recursion(Verifier *v) {
  int nf = v->m->funcs.len;
  char *state = tex_calloc((size_t)nf + 1, 1);
  PtrVec stack = {0}, edges = {0};
  for (int root = 0; root < nf; root++) {
    if (state[root]) continue;
    vec_push(&stack, v->m->funcs.items[root]);
    while (stack.len) {
      IrFunc *f = stack.items[stack.len - 1];
      int fi = func_index(v->m, f);
      if (fi < 0 || state[fi] == 2) {
        stack.len--;
        continue;
      }
      if (state[fi] == 1) { /* its callees are done: so is it */
        state[fi] = 2;
        stack.len--;
        continue;
      }
      state[fi] = 1;
      edges.len = 0;
      push_edges(f, &edges);
      for (int e = 0; e < edges.len; e++) {
        int gi = func_index(v->m, edges.items[e]);
        if (gi >= 0 && state[gi] == 1)
          problem(v, f, NULL, "reaches itself through @%s (recursion)", ((IrFunc *)edges.items[e])->name);
        else if (gi >= 0 && state[gi] == 0)
          vec_push(&stack, edges.items[e]);
      }
    }
  }
  vec_free(&edges);
  vec_free(&stack);
  tex_free(state);
}

static void verify_func(Verifier *v, IrFunc *f) {
  verify_symbols(v, f);
  verify_links(v, f);
  if (!f->built) return; /* a derived function not yet built: its signature only */
  verify_body(v, f);
}

/* A function's or a loop's body (a loop body's size symbols are its
 * function's, checked with it). */
static void verify_body(Verifier *v, IrFunc *f) {
  for (int i = 0; i < f->nparams; i++)
    if (i >= f->body.len || f->body.items[i] != f->params[i]) problem(v, f, NULL, "param %d is not node %d", i, i);
  for (int i = 0; i < f->body.len; i++) verify_node(v, f, f->body.items[i], i);
  if (f->nresults < 1) problem(v, f, NULL, "no results");
  for (int i = 0; i < f->nresults; i++) {
    IrNode *r = f->results[i];
    if (!r || r->id >= f->body.len || f->body.items[r->id] != r) problem(v, f, NULL, "result %d is not in the body", i);
  }
}

int ir_verify(IrModule *m, FILE *out, const char *after) {
  Verifier v = {m, out ? out : stderr, after, 0};
  for (int i = 0; i < m->funcs.len; i++) verify_func(&v, m->funcs.items[i]);
  if (!v.problems) verify_no_recursion(&v);
  return v.problems;
}
