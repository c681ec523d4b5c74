/* ir.c — ops, dtypes, and building and editing SSA tensor functions.
 *
 * The builder checks nothing: it trusts its caller (sema, passes, the IR
 * parser) and ir_verify checks every invariant afterwards.  Editing is by
 * forwarding: ir_replace marks a node as replaced, and ir_compact resolves
 * forwards, drops unreachable nodes and renumbers. */
#include <string.h>

#include "ir.h"

const OpInfo op_info[OP_COUNT] = {
#define OP(E, name, arity, attr, shape, dtr, flags) {name, arity, attr, shape, dtr, flags},
#include "ops.def"
#undef OP
};

int op_from_name(const char *name) {
  for (int i = 0; i < OP_COUNT; i++)
    if (strcmp(op_info[i].name, name) == 0) return i;
  return -1;
}

const char *const dtype_names[DT_COUNT] = {"f32", "f64", "i32", "i64", "bool"};
const int dtype_sizes[DT_COUNT] = {4, 8, 4, 8, 1};

bool dtype_is_float(DType t) { return t == DT_F32 || t == DT_F64; }
bool dtype_is_int(DType t) { return t == DT_I32 || t == DT_I64; }

static int64_t wrap_to(int bits, uint64_t v) { return bits == 32 ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v; }

int64_t ir_int_binop(Op op, int bits, int64_t a, int64_t b) {
  bool by_zero = b == 0, by_minus1 = b == -1; /* the two divisors C (and LLVM's sdiv) do not define for every a */
  bool count_out = (uint64_t)b >= (uint64_t)bits; /* negative counts too */
  int64_t q = by_zero || by_minus1 ? 0 : a / b, r = by_zero || by_minus1 ? 0 : a % b;
  bool adjust = r != 0 && ((r < 0) != (b < 0));
  switch (op) {
  case OP_FLOORDIV: return by_zero ? 0 : by_minus1 ? wrap_to(bits, 0 - (uint64_t)a) : q - adjust;
  case OP_MOD: return adjust ? r + b : r;
  case OP_BITAND: return a & b;
  case OP_BITOR: return a | b;
  case OP_BITXOR: return a ^ b;
  case OP_SHL: return count_out ? 0 : wrap_to(bits, (uint64_t)a << b);
  case OP_SHR: return count_out ? (a < 0 ? -1 : 0) : a >> b; /* arithmetic: GCC and Clang define >> of negatives so */
  default: ice("not an integer op: %s", op_info[op].name);
  }
}

int dtype_from_name(const char *name) {
  for (int i = 0; i < DT_COUNT; i++)
    if (strcmp(dtype_names[i], name) == 0) return i;
  return -1;
}

/* ---- modules and functions ---------------------------------------------- */

IrModule *ir_module_new(const char *name) {
  IrModule *m = tex_calloc(1, sizeof *m);
  m->dims = dim_table_new();
  m->name = arena_strdup(&m->arena, name);
  return m;
}

void ir_module_free(IrModule *m) {
  if (!m) return;
  for (int i = 0; i < m->funcs.len; i++) vec_free(&((IrFunc *)m->funcs.items[i])->body);
  for (int i = 0; i < m->regions.len; i++) vec_free(&((IrFunc *)m->regions.items[i])->body);
  vec_free(&m->funcs);
  vec_free(&m->regions);
  vec_free(&m->imports);
  dim_table_free(m->dims);
  arena_free(&m->arena);
  tex_free(m);
}

IrFunc *ir_func_new(IrModule *m, const char *name, SrcLoc loc) {
  IrFunc *f = ARENA_NEW(&m->arena, IrFunc);
  f->name = arena_strdup(&m->arena, name);
  f->loc = loc;
  f->exported = true;
  f->built = true;
  vec_push(&m->funcs, f);
  return f;
}

IrFunc *ir_find_func(IrModule *m, const char *name) {
  for (int i = 0; i < m->funcs.len; i++) {
    IrFunc *f = m->funcs.items[i];
    if (strcmp(f->name, name) == 0) return f;
  }
  return NULL;
}

IrNode *ir_param(IrModule *m, IrFunc *f, const char *name, DType t, int rank, const Dim *shape, SrcLoc loc) {
  IrNode *n = ir_node(m, f, OP_PARAM, t, rank, shape, 0, NULL, loc);
  n->name = arena_strdup(&m->arena, name);
  n->attr.i = f->nparams;
  IrNode **params = ARENA_ARRAY(&m->arena, IrNode *, f->nparams + 1);
  if (f->nparams) memcpy(params, f->params, sizeof(IrNode *) * (size_t)f->nparams);
  params[f->nparams++] = n;
  f->params = params;
  return n;
}

void ir_set_results(IrModule *m, IrFunc *f, int n, IrNode *const *results) {
  f->nresults = n;
  f->results = ARENA_ARRAY(&m->arena, IrNode *, n);
  f->result_names = ARENA_ARRAY(&m->arena, const char *, n);
  for (int i = 0; i < n; i++) {
    f->results[i] = results[i];
    f->result_names[i] = n == 1 ? "out" : arena_printf(&m->arena, "out%d", i);
  }
}

IrNode *ir_placeholder(IrModule *m, DType t, int rank, const Dim *shape) {
  IrNode *r = ARENA_NEW(&m->arena, IrNode);
  r->op = OP_PARAM;
  r->dtype = t;
  r->rank = rank;
  r->shape = ARENA_ARRAY(&m->arena, Dim, rank);
  if (rank) memcpy(r->shape, shape, sizeof(Dim) * (size_t)rank);
  r->id = -1;
  return r;
}

/* ---- derived functions ---------------------------------------------------- */

const char *const derive_kind_names[] = {"", "grad", "value_and_grad", "vjp", "vjp_ct", "jvp"};

bool ps_empty(const ParamSet *s) { return ps_next(s, -1) < 0; }

bool ps_equal(const ParamSet *a, const ParamSet *b) { return memcmp(a->w, b->w, sizeof a->w) == 0; }

int ps_count(const ParamSet *s) {
  int n = 0;
  for (int i = 0; i < IR_MAX_PARAMS / 64; i++) n += __builtin_popcountll(s->w[i]);
  return n;
}

int ps_next(const ParamSet *s, int i) {
  for (int j = i + 1; j < IR_MAX_PARAMS; j++) {
    if (j % 64 == 0 && !s->w[j / 64]) {
      j += 63; /* an empty word */
      continue;
    }
    if (ps_has(s, j)) return j;
  }
  return -1;
}

ParamSet ir_float_params(const IrFunc *f) {
  ParamSet set = {{0}};
  for (int i = 0; i < f->nparams; i++)
    if (dtype_is_float(f->params[i]->dtype)) ps_add(&set, i);
  return set;
}

/* The value results of f: all but the in-place updates. */
static int value_results(const IrFunc *f) { return f->nresults - f->nupdates; }

/* A param of g like p, named name (name_2, ... if g has one of that name:
 * the vjp of a vjp has two d_out, and printed IR must parse back). */
static IrNode *like_param(IrModule *m, IrFunc *g, const IrNode *p, const char *name) {
  const char *n = name;
  for (int k = 2;; k++) {
    bool used = false;
    for (int i = 0; i < g->nparams && !used; i++) used = strcmp(g->params[i]->name, n) == 0;
    if (!used) break;
    n = arena_printf(&m->arena, "%s_%d", name, k);
  }
  return ir_param(m, g, n, p->dtype, p->rank, p->shape, p->loc);
}

/* Params of a derived function: those of `of`, then cotangents or tangents. */
static void derive_params(IrModule *m, IrFunc *g, IrFunc *of, DeriveKind kind, const ParamSet *wrt) {
  for (int i = 0; i < of->nparams; i++) like_param(m, g, of->params[i], of->params[i]->name);
  int nv = value_results(of);
  if (kind == DERIVE_VJP || kind == DERIVE_VJP_CT)
    for (int r = 0; r < nv; r++)
      if (dtype_is_float(of->results[r]->dtype))
        like_param(m, g, of->results[r], nv == 1 ? "d_out" : arena_printf(&m->arena, "d_out%d", r));
  if (kind == DERIVE_JVP)
    for (int i = 0; i < of->nparams; i++)
      if (ps_has(wrt, i)) like_param(m, g, of->params[i], arena_printf(&m->arena, "t_%s", of->params[i]->name));
}

/* Result placeholders and their ABI names. */
static void derive_results(IrModule *m, IrFunc *g, IrFunc *of, DeriveKind kind, const ParamSet *wrt) {
  int n = 0, nv = value_results(of);
  IrNode **res = tex_calloc((size_t)(nv + nv + of->nparams) + 1, sizeof(IrNode *));
  const char **names = tex_calloc((size_t)(nv + nv + of->nparams) + 1, sizeof(char *));
  bool value = kind == DERIVE_VALUE_AND_GRAD || kind == DERIVE_VJP;
  for (int r = 0; value && r < nv; r++, n++) {
    res[n] = ir_placeholder(m, of->results[r]->dtype, of->results[r]->rank, of->results[r]->shape);
    names[n] = nv == 1 ? "value" : arena_printf(&m->arena, "value%d", r);
  }
  if (kind == DERIVE_JVP) {
    for (int r = 0; r < nv; r++)
      if (dtype_is_float(of->results[r]->dtype)) {
        res[n] = ir_placeholder(m, of->results[r]->dtype, of->results[r]->rank, of->results[r]->shape);
        names[n++] = nv == 1 ? "tangent" : arena_printf(&m->arena, "tangent%d", r);
      }
  } else {
    for (int i = 0; i < of->nparams; i++)
      if (ps_has(wrt, i)) {
        const IrNode *p = of->params[i];
        res[n] = ir_placeholder(m, p->dtype, p->rank, p->shape);
        names[n++] = arena_printf(&m->arena, "d_%s", p->name);
      }
  }
  ir_set_results(m, g, n, res);
  for (int i = 0; i < n; i++) g->result_names[i] = names[i];
  tex_free(names);
  tex_free(res);
}

/* "f__grad" for every float param, else "f__grad_w" and the set in hex. */
static const char *derived_name(IrModule *m, IrFunc *of, DeriveKind kind, const ParamSet *wrt) {
  ParamSet all = ir_float_params(of);
  if (ps_equal(wrt, &all)) return arena_printf(&m->arena, "%s__%s", of->name, derive_kind_names[kind]);
  int top = IR_MAX_PARAMS / 64 - 1;
  while (top > 0 && !wrt->w[top]) top--;
  char *hex = tex_calloc((size_t)(top + 1) * 16 + 1, 1), *p = hex;
  p += sprintf(p, "%llx", (unsigned long long)wrt->w[top]);
  for (int i = top - 1; i >= 0; i--) p += sprintf(p, "%016llx", (unsigned long long)wrt->w[i]);
  const char *name = arena_printf(&m->arena, "%s__%s_w%s", of->name, derive_kind_names[kind], hex);
  tex_free(hex);
  return name;
}

IrFunc *ir_derive(IrModule *m, IrFunc *of, DeriveKind kind, const ParamSet *wrt, const char *name, SrcLoc loc) {
  for (int i = 0; i < m->funcs.len; i++) {
    IrFunc *g = m->funcs.items[i];
    if (g->derive == kind && g->derive_of == of && ps_equal(&g->wrt, wrt) && (!name || strcmp(g->name, name) == 0)) return g;
  }
  /* sema bounds what a program can ask for far below this */
  if (2 * of->nparams + value_results(of) > IR_MAX_PARAMS) ice("@%s: %d parameters are too many to differentiate", of->name, of->nparams);
  if (!name) name = derived_name(m, of, kind, wrt);
  IrFunc *g = ir_func_new(m, name, loc);
  g->exported = false;
  g->derive = kind;
  g->derive_of = of;
  g->wrt = *wrt;
  g->built = false;
  derive_params(m, g, of, kind, wrt);
  derive_results(m, g, of, kind, wrt);
  return g;
}

/* ---- the builder --------------------------------------------------------- */

IrNode *ir_node(IrModule *m, IrFunc *f, Op op, DType t, int rank, const Dim *shape, int nargs, IrNode *const *args, SrcLoc loc) {
  if (rank > IR_MAX_RANK) ice("rank %d exceeds IR_MAX_RANK", rank);
  IrNode *n = ARENA_NEW(&m->arena, IrNode);
  n->op = op;
  n->dtype = t;
  n->rank = rank;
  n->shape = ARENA_ARRAY(&m->arena, Dim, rank);
  if (rank) memcpy(n->shape, shape, sizeof(Dim) * (size_t)rank);
  n->nargs = nargs;
  n->args = ARENA_ARRAY(&m->arena, IrNode *, nargs);
  if (nargs) memcpy(n->args, args, sizeof(IrNode *) * (size_t)nargs);
  n->loc = loc;
  n->id = f->body.len;
  vec_push(&f->body, n);
  return n;
}

IrNode *ir_const(IrModule *m, IrFunc *f, DType t, double fv, int64_t iv, SrcLoc loc) {
  IrNode *n = ir_node(m, f, OP_CONST, t, 0, NULL, 0, NULL, loc);
  if (dtype_is_float(t)) {
    n->attr.f = t == DT_F32 ? (double)(float)fv : fv;
  } else {
    n->attr.i = t == DT_BOOL ? iv != 0 : t == DT_I32 ? (int64_t)(int32_t)iv : iv;
  }
  return n;
}

IrNode *ir_unary(IrModule *m, IrFunc *f, Op op, IrNode *a, SrcLoc loc) {
  return ir_node(m, f, op, a->dtype, a->rank, a->shape, 1, &a, loc);
}

IrNode *ir_binary(IrModule *m, IrFunc *f, Op op, IrNode *a, IrNode *b, SrcLoc loc) {
  IrNode *args[2] = {a, b};
  DType t = op_info[op].dtype == DTR_CMP || op_info[op].dtype == DTR_BOOL ? DT_BOOL : a->dtype;
  return ir_node(m, f, op, t, a->rank, a->shape, 2, args, loc);
}

IrNode *ir_cast(IrModule *m, IrFunc *f, IrNode *a, DType t, SrcLoc loc) { return ir_node(m, f, OP_CAST, t, a->rank, a->shape, 1, &a, loc); }

/* Right-aligned NumPy broadcast of a to shape: input axis i goes to output
 * axis i + (rank - a->rank). */
IrNode *ir_broadcast(IrModule *m, IrFunc *f, IrNode *a, int rank, const Dim *shape, SrcLoc loc) {
  IrNode *n = ir_node(m, f, OP_BROADCAST, a->dtype, rank, shape, 1, &a, loc);
  n->attr.naxes = a->rank;
  for (int i = 0; i < a->rank; i++) n->attr.axes[i] = i + (rank - a->rank);
  return n;
}

IrNode *ir_transpose(IrModule *m, IrFunc *f, IrNode *a, const int64_t *perm, SrcLoc loc) {
  Dim shape[IR_MAX_RANK];
  for (int i = 0; i < a->rank; i++) shape[i] = a->shape[perm[i]];
  IrNode *n = ir_node(m, f, OP_TRANSPOSE, a->dtype, a->rank, shape, 1, &a, loc);
  n->attr.naxes = a->rank;
  memcpy(n->attr.axes, perm, sizeof(int64_t) * (size_t)a->rank);
  return n;
}

IrNode *ir_reduce(IrModule *m, IrFunc *f, Op op, IrNode *a, unsigned axis_mask, bool keepdims, SrcLoc loc) {
  IrNode tmp = {.op = op, .rank = 0, .nargs = 1, .args = &a, .dtype = a->dtype};
  for (int i = 0; i < a->rank; i++)
    if (axis_mask & (1u << i)) tmp.attr.axes[tmp.attr.naxes++] = i;
  tmp.attr.keepdims = keepdims;
  int rank;
  Dim shape[IR_MAX_RANK];
  DType t;
  if (!ir_infer_shape(m, &tmp, &rank, shape) || !ir_infer_dtype(&tmp, &t)) ice("bad reduction axes or dtype");
  IrNode *n = ir_node(m, f, op, t, rank, shape, 1, &a, loc);
  n->attr = tmp.attr;
  return n;
}

IrNode *ir_matmul(IrModule *m, IrFunc *f, IrNode *a, IrNode *b, SrcLoc loc) {
  IrNode *args[2] = {a, b};
  IrNode tmp = {.op = OP_MATMUL, .nargs = 2, .args = args};
  int rank;
  Dim shape[IR_MAX_RANK];
  if (!ir_infer_shape(m, &tmp, &rank, shape)) ice("bad matmul operands");
  return ir_node(m, f, OP_MATMUL, a->dtype, rank, shape, 2, args, loc);
}

IrNode *ir_scan(IrModule *m, IrFunc *f, Op op, IrNode *a, int axis, SrcLoc loc) {
  IrNode *n = ir_node(m, f, op, a->dtype, a->rank, a->shape, 1, &a, loc);
  n->attr.naxes = 1;
  n->attr.axes[0] = axis;
  return n;
}

IrNode *ir_reshape(IrModule *m, IrFunc *f, IrNode *a, int rank, const Dim *shape, SrcLoc loc) {
  return ir_node(m, f, OP_RESHAPE, a->dtype, rank, shape, 1, &a, loc);
}

Dim ir_numel(IrModule *m, int rank, const Dim *shape) {
  Dim n = dim_lit(m->dims, 1);
  for (int i = 0; i < rank; i++) n = dim_mul(m->dims, n, shape[i]);
  return n;
}

/* ---- inference (shared by the builder and the verifier) ----------------- */

bool ir_same_shape(const IrNode *a, const IrNode *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->shape[i] != b->shape[i]) return false;
  return true;
}

static bool infer_broadcast(const IrNode *n, int *rank, Dim *shape) {
  const IrNode *a = n->args[0];
  if (n->attr.naxes != a->rank) return false;
  *rank = n->rank;
  for (int i = 0; i < n->rank; i++) shape[i] = n->shape[i];
  for (int i = 0; i < a->rank; i++) {
    int64_t o = n->attr.axes[i];
    if (o < 0 || o >= n->rank || (i > 0 && o <= n->attr.axes[i - 1])) return false;
    if (a->shape[i] != n->shape[o] && !dim_is_one(a->shape[i])) return false;
  }
  return true;
}

static bool infer_transpose(const IrNode *n, int *rank, Dim *shape) {
  const IrNode *a = n->args[0];
  unsigned seen = 0;
  if (n->attr.naxes != a->rank) return false;
  *rank = a->rank;
  for (int i = 0; i < a->rank; i++) {
    int64_t p = n->attr.axes[i];
    if (p < 0 || p >= a->rank || (seen & (1u << p))) return false;
    seen |= 1u << p;
    shape[i] = a->shape[p];
  }
  return true;
}

static bool infer_reduce(IrModule *m, const IrNode *n, int *rank, Dim *shape) {
  const IrNode *a = n->args[0];
  unsigned mask = 0;
  for (int i = 0; i < n->attr.naxes; i++) {
    int64_t ax = n->attr.axes[i];
    if (ax < 0 || ax >= a->rank || (i > 0 && ax <= n->attr.axes[i - 1])) return false;
    mask |= 1u << ax;
  }
  *rank = 0;
  for (int i = 0; i < a->rank; i++) {
    if (!(mask & (1u << i)))
      shape[(*rank)++] = a->shape[i];
    else if (n->attr.keepdims)
      shape[(*rank)++] = dim_lit(m->dims, 1);
  }
  return true;
}

/* The batch dims of a matmul: a's and b's leading dims (all but the last two
 * of a matrix; a vector has none), broadcast NumPy-style (right-aligned, a
 * literal 1 stretches).  False if they do not broadcast. */
bool ir_matmul_batch(const IrNode *a, const IrNode *b, int *nbatch, Dim *batch) {
  int na = a->rank > 2 ? a->rank - 2 : 0, nb = b->rank > 2 ? b->rank - 2 : 0;
  *nbatch = na > nb ? na : nb;
  for (int i = 0; i < *nbatch; i++) {
    int ia = i - (*nbatch - na), ib = i - (*nbatch - nb);
    Dim da = ia >= 0 ? a->shape[ia] : NULL, db = ib >= 0 ? b->shape[ib] : NULL;
    if (da && db && da != db && !dim_is_one(da) && !dim_is_one(db)) return false;
    batch[i] = !da || (dim_is_one(da) && db) ? db : da;
  }
  return true;
}

static bool infer_matmul(const IrNode *n, int *rank, Dim *shape) {
  const IrNode *a = n->args[0], *b = n->args[1];
  if (a->rank < 1 || b->rank < 1) return false;
  Dim ka = a->shape[a->rank - 1], kb = b->shape[b->rank == 1 ? 0 : b->rank - 2];
  if (ka != kb || !ir_matmul_batch(a, b, rank, shape)) return false;
  if (a->rank >= 2) shape[(*rank)++] = a->shape[a->rank - 2];
  if (b->rank >= 2) shape[(*rank)++] = b->shape[b->rank - 1];
  return *rank <= IR_MAX_RANK;
}

static bool infer_scan(const IrNode *n, int *rank, Dim *shape) {
  const IrNode *a = n->args[0];
  if (n->attr.naxes != 1 || n->attr.axes[0] < 0 || n->attr.axes[0] >= a->rank || n->attr.keepdims) return false;
  *rank = a->rank;
  for (int i = 0; i < a->rank; i++) shape[i] = a->shape[i];
  return true;
}

/* A reshape keeps its own shape; element counts that are both literal must
 * agree (symbolic ones are asserted at call time, codegen/module.c). */
static bool infer_reshape(IrModule *m, const IrNode *n, int *rank, Dim *shape) {
  int64_t a, b;
  if (dim_is_lit(ir_numel(m, n->args[0]->rank, n->args[0]->shape), &a) && dim_is_lit(ir_numel(m, n->rank, n->shape), &b) && a != b)
    return false;
  *rank = n->rank;
  for (int i = 0; i < n->rank; i++) shape[i] = n->shape[i];
  return true;
}

bool ir_infer_shape(IrModule *m, const IrNode *n, int *rank, Dim *shape) {
  switch (op_info[n->op].shape) {
  case SHAPE_LEAF:
    *rank = n->rank;
    for (int i = 0; i < n->rank; i++) shape[i] = n->shape[i];
    return true;
  case SHAPE_SAME:
    for (int i = 1; i < n->nargs; i++)
      if (!ir_same_shape(n->args[0], n->args[i])) return false;
    *rank = n->args[0]->rank;
    for (int i = 0; i < *rank; i++) shape[i] = n->args[0]->shape[i];
    return true;
  case SHAPE_BROADCAST: return infer_broadcast(n, rank, shape);
  case SHAPE_TRANSPOSE: return infer_transpose(n, rank, shape);
  case SHAPE_REDUCE: return infer_reduce(m, n, rank, shape);
  case SHAPE_MATMUL: return infer_matmul(n, rank, shape);
  case SHAPE_SCAN: return infer_scan(n, rank, shape);
  case SHAPE_RESHAPE: return infer_reshape(m, n, rank, shape);
  }
  return false;
}

bool ir_infer_dtype(const IrNode *n, DType *out) {
  const OpInfo *info = &op_info[n->op];
  DType t0 = n->nargs ? n->args[0]->dtype : n->dtype;
  switch (info->dtype) {
  case DTR_ATTR: *out = n->dtype; return true;
  case DTR_SAME: *out = t0; return true;
  case DTR_NUM:
  case DTR_FLOAT:
  case DTR_INT:
  case DTR_CMP:
    for (int i = 0; i < n->nargs; i++)
      if (n->args[i]->dtype != t0) return false;
    if (info->dtype == DTR_NUM && t0 == DT_BOOL) return false;
    if (info->dtype == DTR_FLOAT && !dtype_is_float(t0)) return false;
    if (info->dtype == DTR_INT && !dtype_is_int(t0)) return false;
    *out = info->dtype == DTR_CMP ? DT_BOOL : t0;
    return true;
  case DTR_BOOL:
    for (int i = 0; i < n->nargs; i++)
      if (n->args[i]->dtype != DT_BOOL) return false;
    *out = DT_BOOL;
    return true;
  case DTR_SELECT:
    if (n->args[0]->dtype != DT_BOOL || n->args[1]->dtype != n->args[2]->dtype) return false;
    *out = n->args[1]->dtype;
    return true;
  case DTR_INDEX: *out = DT_I64; return t0 != DT_BOOL;
  }
  return false;
}

/* ---- editing -------------------------------------------------------------- */

void ir_replace(IrNode *old, IrNode *new_node) {
  if (old != new_node) old->forward = new_node;
}

IrNode *ir_resolve(IrNode *n) {
  while (n->forward) n = n->forward;
  return n;
}

void ir_compact(IrFunc *f) {
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    for (int j = 0; j < n->nargs; j++) n->args[j] = ir_resolve(n->args[j]);
  }
  for (int i = 0; i < f->nresults; i++) f->results[i] = ir_resolve(f->results[i]);
  int out = 0;
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    if (!n->forward) f->body.items[out++] = n;
  }
  f->body.len = out;
  ir_renumber(f);
}

IrNode ir_dropped;

void ir_rewrite(IrFunc *f, IrVisit visit, void *ctx) {
  PtrVec old = f->body;
  memset(&f->body, 0, sizeof f->body);
  for (int i = 0; i < old.len; i++) {
    IrNode *n = old.items[i];
    for (int j = 0; j < n->nargs; j++) n->args[j] = ir_resolve(n->args[j]);
    IrNode *r = visit(ctx, f, n);
    if (!r)
      vec_push(&f->body, n);
    else if (r != IR_DROPPED)
      ir_replace(n, r);
  }
  vec_free(&old);
  for (int i = 0; i < f->nresults; i++) f->results[i] = ir_resolve(f->results[i]);
  ir_renumber(f);
}

void ir_renumber(IrFunc *f) {
  for (int i = 0; i < f->body.len; i++) ((IrNode *)f->body.items[i])->id = i;
}

void ir_count_uses(IrFunc *f) {
  for (int i = 0; i < f->body.len; i++) ((IrNode *)f->body.items[i])->uses = 0;
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    for (int j = 0; j < n->nargs; j++) n->args[j]->uses++;
  }
  for (int i = 0; i < f->nresults; i++) f->results[i]->uses++;
}

int64_t ir_numel_lit(const IrNode *n) {
  int64_t total = 1, v;
  for (int i = 0; i < n->rank; i++) {
    if (!dim_is_lit(n->shape[i], &v)) return -1;
    total *= v;
  }
  return total;
}
