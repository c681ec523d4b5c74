/* constfold.c — constant folding, bit-exact.
 *
 * An op whose operands are all scalar constants becomes a constant, computed
 * in the op's dtype exactly as the generated code computes it: f32 in float
 * arithmetic, integers wrapping, max/min propagating NaN, float-to-int casts
 * saturating.  Transcendental functions are not folded: texc's own vector
 * implementations define their values, not libm (lang/math.md).
 *
 * Requires: verified IR.  Preserves: results bit for bit.  Breaks: nothing;
 * folded nodes are forwarded to new constants and dropped. */
#include <math.h>
#include <string.h>

#include "passes.h"

/* IEEE maximum/minimum as LLVM's llvm.maximum: NaN wins, -0 < +0. */
static double fmax_nan(double a, double b, bool is_max) {
  if (isnan(a) || isnan(b)) return NAN;
  if (a == b) return (signbit(a) == is_max) ? b : a;
  return (a > b) == is_max ? a : b;
}

static bool fold_float(Op op, DType t, const double *x, double *out) {
  bool f32 = t == DT_F32;
#define R(expr) (f32 ? (double)(float)(expr) : (double)(expr))
  float a = (float)x[0], b = (float)x[1];
  switch (op) {
  case OP_NEG: *out = -x[0]; return true;
  case OP_ABS: *out = fabs(x[0]); return true;
  case OP_SQRT: *out = f32 ? (double)sqrtf(a) : sqrt(x[0]); return true;
  case OP_ADD: *out = f32 ? (double)(a + b) : x[0] + x[1]; return true;
  case OP_SUB: *out = f32 ? (double)(a - b) : x[0] - x[1]; return true;
  case OP_MUL: *out = f32 ? (double)(a * b) : x[0] * x[1]; return true;
  case OP_DIV: *out = f32 ? (double)(a / b) : x[0] / x[1]; return true;
  case OP_MAX: *out = R(fmax_nan(x[0], x[1], true)); return true;
  case OP_MIN: *out = R(fmax_nan(x[0], x[1], false)); return true;
  case OP_SIGN: *out = x[0] > 0 ? 1.0 : x[0] < 0 ? -1.0 : x[0]; return true; /* keeps +-0 and NaN */
  case OP_FLOOR: *out = floor(x[0]); return true;                           /* exact in either dtype */
  case OP_CEIL: *out = ceil(x[0]); return true;
  case OP_ROUND: *out = nearbyint(x[0]); return true; /* ties to even: the default rounding mode */
  default: return false;
  }
#undef R
}

/* Integer arithmetic wraps (two's complement), as LLVM add/sub/mul do. */
static bool fold_int(Op op, DType t, const int64_t *x, int64_t *out) {
  uint64_t a = (uint64_t)x[0], b = (uint64_t)x[1], r;
  switch (op) {
  case OP_NEG: r = 0 - a; break;
  case OP_ABS: r = x[0] < 0 ? 0 - a : a; break;
  case OP_ADD: r = a + b; break;
  case OP_SUB: r = a - b; break;
  case OP_MUL: r = a * b; break;
  case OP_MAX: r = (uint64_t)(x[0] > x[1] ? x[0] : x[1]); break;
  case OP_MIN: r = (uint64_t)(x[0] < x[1] ? x[0] : x[1]); break;
  case OP_SIGN: r = (uint64_t)(int64_t)((x[0] > 0) - (x[0] < 0)); break;
  case OP_FLOORDIV:
  case OP_MOD:
  case OP_BITAND:
  case OP_BITOR:
  case OP_BITXOR:
  case OP_SHL:
  case OP_SHR: r = (uint64_t)ir_int_binop(op, t == DT_I32 ? 32 : 64, x[0], x[1]); break;
  default: return false;
  }
  *out = t == DT_I32 ? (int64_t)(int32_t)(uint32_t)r : (int64_t)r;
  return true;
}

static bool fold_compare(Op op, bool isf, const double *f, const int64_t *i, int64_t *out) {
  int c; /* -2 unordered, else sign of a - b */
  if (isf)
    c = isnan(f[0]) || isnan(f[1]) ? -2 : (f[0] > f[1]) - (f[0] < f[1]);
  else
    c = (i[0] > i[1]) - (i[0] < i[1]);
  switch (op) {
  case OP_EQ: *out = c == 0; return true;
  case OP_NE: *out = c != 0; return true; /* unordered counts as not equal */
  case OP_LT: *out = c == -1; return true;
  case OP_LE: *out = c == -1 || c == 0; return true;
  case OP_GT: *out = c == 1; return true;
  case OP_GE: *out = c == 1 || c == 0; return true;
  default: return false;
  }
}

/* Float to int: truncate toward zero, saturate, NaN -> 0 (llvm.fptosi.sat). */
static int64_t float_to_int(double v, DType t) {
  double lo = t == DT_I32 ? -2147483648.0 : -9223372036854775808.0;
  double hi = t == DT_I32 ? 2147483647.0 : 9223372036854775807.0;
  if (isnan(v)) return 0;
  if (v <= lo) return t == DT_I32 ? INT32_MIN : INT64_MIN;
  if (v >= hi) return t == DT_I32 ? INT32_MAX : INT64_MAX;
  return (int64_t)v;
}

static bool fold_cast(DType to, DType from, double f, int64_t i, double *out_f, int64_t *out_i) {
  if (to == DT_BOOL) {
    *out_i = dtype_is_float(from) ? f != 0 : i != 0;
  } else if (dtype_is_float(to)) {
    double v = dtype_is_float(from) ? f : (double)i;
    if (!dtype_is_float(from) && from == DT_I64) v = to == DT_F32 ? (double)(float)i : (double)i;
    *out_f = to == DT_F32 ? (double)(float)v : v;
  } else {
    int64_t v = dtype_is_float(from) ? float_to_int(f, to) : i;
    *out_i = to == DT_I32 ? (int64_t)(int32_t)(uint32_t)(uint64_t)v : v;
  }
  return true;
}

bool fold_scalar(Op op, DType t, DType arg_t, int nargs, const double *f, const int64_t *i, double *out_f, int64_t *out_i) {
  if (!(op_info[op].flags & F_FOLD)) return false;
  switch (op_info[op].dtype) {
  case DTR_CMP: return fold_compare(op, dtype_is_float(arg_t), f, i, out_i);
  case DTR_BOOL: *out_i = op == OP_NOT ? !i[0] : op == OP_AND ? (i[0] && i[1]) : (i[0] || i[1]); return true;
  case DTR_SELECT:
    *out_f = i[0] ? f[1] : f[2];
    *out_i = i[0] ? i[1] : i[2];
    return true;
  default: break;
  }
  if (op == OP_CAST) return fold_cast(t, arg_t, f[0], i[0], out_f, out_i);
  (void)nargs;
  return dtype_is_float(t) ? fold_float(op, t, f, out_f) : fold_int(op, t, i, out_i);
}

/* A constant for n if all its operands are constants and the op folds. */
static IrNode *fold_node(IrModule *m, IrFunc *f, IrNode *n) {
  if (n->op == OP_DIMSIZE) {
    int64_t v;
    if (!dim_is_lit(n->attr.dim, &v)) return NULL;
    return ir_const(m, f, n->dtype, (double)v, v, n->loc);
  }
  if (!(op_info[n->op].flags & F_FOLD) || n->rank != 0 || n->nargs > 3) return NULL;
  double fv[3] = {0};
  int64_t iv[3] = {0};
  for (int k = 0; k < n->nargs; k++) {
    if (n->args[k]->op != OP_CONST) return NULL;
    fv[k] = n->args[k]->attr.f;
    iv[k] = n->args[k]->attr.i;
  }
  double of = 0;
  int64_t oi = 0;
  DType arg_t = n->args[n->op == OP_SELECT ? 1 : 0]->dtype;
  if (!fold_scalar(n->op, n->dtype, arg_t, n->nargs, fv, iv, &of, &oi)) return NULL;
  return ir_const(m, f, n->dtype, of, oi, n->loc);
}

/* An if on a constant condition is the branch taken, inlined here (its
 * bodies were folded first).  With several values the if is dropped and
 * aux holds the copies of its values, which its projs become. */
static IrNode *fold_if(IrModule *m, IrFunc *f, IrNode *n) {
  IrFunc *b = n->args[0]->attr.i ? n->attr.body : n->attr.orelse;
  ir_renumber(b);
  IrNode **map = tex_calloc((size_t)b->body.len + 1, sizeof(IrNode *));
  for (int i = 0; i < b->body.len; i++) {
    IrNode *x = b->body.items[i], **args = tex_calloc((size_t)x->nargs + 1, sizeof(IrNode *));
    for (int a = 0; a < x->nargs; a++) args[a] = map[x->args[a]->id];
    map[i] =
        x->op == OP_PARAM ? n->args[IR_IF_FIXED + x->attr.i] : ir_node(m, f, x->op, x->dtype, x->rank, x->shape, x->nargs, args, x->loc);
    if (x->op != OP_PARAM) map[i]->attr = x->attr; /* nested bodies move with it: the if is dropped */
    tex_free(args);
  }
  IrNode **values = ARENA_ARRAY(&m->arena, IrNode *, b->nresults);
  for (int r = 0; r < b->nresults; r++) values[r] = map[ir_resolve(b->results[r])->id];
  tex_free(map);
  if (b->nresults == 1) return values[0];
  n->aux = values;
  return IR_DROPPED;
}

static IrNode *visit(void *m, IrFunc *f, IrNode *n) {
  if (n->op == OP_IF && n->args[0]->op == OP_CONST) return fold_if(m, f, n);
  if (n->op == OP_PROJ && n->args[0]->op == OP_IF && n->args[0]->args[0]->op == OP_CONST) /* its if was folded */
    return ((IrNode **)n->args[0]->aux)[n->attr.i];
  return fold_node(m, f, n);
}

static void fold_func(void *m, IrFunc *f) { ir_rewrite(f, visit, m); }

void pass_constfold(IrModule *m) { ir_module_each_body(m, fold_func, m); /* loop bodies too */ }
