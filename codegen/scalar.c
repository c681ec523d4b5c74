/* scalar.c — one op of a kernel body, on scalars or on vectors alike.
 *
 * The same function serves the elementwise loops (scalar code that LLVM's
 * loop vectoriser widens) and the explicit <32 x T> reduction loops, so an op
 * has one definition in codegen.  No fast-math flags: results are IEEE, and
 * identical at every -O level.  Semantics follow lang/reference.md:
 *   max/min propagate NaN (llvm.maximum/minimum); comparisons are ordered
 *   except != ; float->int casts truncate and saturate (NaN -> 0). */
#include <string.h>

#include "codegen.h"

LLVMTypeRef cg_type(LLVMContextRef c, DType t) {
  switch (t) {
  case DT_F32: return LLVMFloatTypeInContext(c);
  case DT_F64: return LLVMDoubleTypeInContext(c);
  case DT_I32: return LLVMInt32TypeInContext(c);
  case DT_I64: return LLVMInt64TypeInContext(c);
  case DT_BOOL: return LLVMInt1TypeInContext(c);
  default: ice("bad dtype %d", t);
  }
}

LLVMTypeRef cg_mem_type(LLVMContextRef c, DType t) { return t == DT_BOOL ? LLVMInt8TypeInContext(c) : cg_type(c, t); }

/* ty with x's vector shape (ty itself when x is a scalar). */
static LLVMTypeRef like(LLVMValueRef x, LLVMTypeRef ty) {
  LLVMTypeRef xt = LLVMTypeOf(x);
  return LLVMGetTypeKind(xt) == LLVMVectorTypeKind ? LLVMVectorType(ty, LLVMGetVectorSize(xt)) : ty;
}

LLVMValueRef cg_intrinsic(LLVMBuilderRef b, const char *name, LLVMTypeRef *overloads, int noverloads, LLVMValueRef *args, int nargs) {
  LLVMModuleRef mod = LLVMGetGlobalParent(LLVMGetBasicBlockParent(LLVMGetInsertBlock(b)));
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  if (!id) ice("unknown intrinsic %s", name);
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(mod, id, overloads, (size_t)noverloads);
  LLVMTypeRef fty = LLVMIntrinsicGetType(LLVMGetModuleContext(mod), id, overloads, (size_t)noverloads);
  return LLVMBuildCall2(b, fty, fn, args, (unsigned)nargs, "");
}

static LLVMValueRef intrinsic1(LLVMBuilderRef b, const char *name, LLVMValueRef *args, int nargs) {
  LLVMTypeRef ty = LLVMTypeOf(args[0]);
  return cg_intrinsic(b, name, &ty, 1, args, nargs);
}

/* Value in memory form (bool as i8) -> value form (bool as i1), and back. */
LLVMValueRef cg_from_mem(LLVMBuilderRef b, DType t, LLVMValueRef v) {
  if (t != DT_BOOL) return v;
  return LLVMBuildICmp(b, LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
}

LLVMValueRef cg_to_mem(LLVMBuilderRef b, DType t, LLVMValueRef v) {
  if (t != DT_BOOL) return v;
  return LLVMBuildZExt(b, v, like(v, LLVMInt8TypeInContext(LLVMGetTypeContext(LLVMTypeOf(v)))), "");
}

static LLVMValueRef cast(LLVMBuilderRef b, DType to, DType from, LLVMValueRef x) {
  LLVMContextRef c = LLVMGetTypeContext(LLVMTypeOf(x));
  LLVMTypeRef ty = like(x, cg_type(c, to));
  if (to == from) return x;
  if (to == DT_BOOL) {
    if (dtype_is_float(from)) return LLVMBuildFCmp(b, LLVMRealUNE, x, LLVMConstNull(LLVMTypeOf(x)), "");
    return LLVMBuildICmp(b, LLVMIntNE, x, LLVMConstNull(LLVMTypeOf(x)), "");
  }
  if (from == DT_BOOL) return dtype_is_float(to) ? LLVMBuildUIToFP(b, x, ty, "") : LLVMBuildZExt(b, x, ty, "");
  if (dtype_is_float(to) && dtype_is_float(from)) return to == DT_F64 ? LLVMBuildFPExt(b, x, ty, "") : LLVMBuildFPTrunc(b, x, ty, "");
  if (dtype_is_float(to)) return LLVMBuildSIToFP(b, x, ty, "");
  if (dtype_is_float(from)) {
    LLVMTypeRef ov[2] = {ty, LLVMTypeOf(x)};
    return cg_intrinsic(b, "llvm.fptosi.sat", ov, 2, &x, 1);
  }
  return to == DT_I64 ? LLVMBuildSExt(b, x, ty, "") : LLVMBuildTrunc(b, x, ty, "");
}

typedef struct CmpRow {
  Op op;
  LLVMRealPredicate fp;
  LLVMIntPredicate si, ui; /* ui: bool compares as unsigned 0/1 */
} CmpRow;

static const CmpRow compares[] = {
    {OP_EQ, LLVMRealOEQ, LLVMIntEQ, LLVMIntEQ},   {OP_NE, LLVMRealUNE, LLVMIntNE, LLVMIntNE},
    {OP_LT, LLVMRealOLT, LLVMIntSLT, LLVMIntULT}, {OP_LE, LLVMRealOLE, LLVMIntSLE, LLVMIntULE},
    {OP_GT, LLVMRealOGT, LLVMIntSGT, LLVMIntUGT}, {OP_GE, LLVMRealOGE, LLVMIntSGE, LLVMIntUGE},
};

static LLVMValueRef compare(LLVMBuilderRef b, Op op, DType t, LLVMValueRef x, LLVMValueRef y) {
  for (size_t i = 0; i < sizeof compares / sizeof compares[0]; i++) {
    if (compares[i].op != op) continue;
    if (dtype_is_float(t)) return LLVMBuildFCmp(b, compares[i].fp, x, y, "");
    return LLVMBuildICmp(b, t == DT_BOOL ? compares[i].ui : compares[i].si, x, y, "");
  }
  ice("not a comparison: %s", op_info[op].name);
}

/* softplus(x) = max(x, 0) + log1p(exp(-|x|)): no overflow, no cancellation,
 * exact x for large x and exp(x) for very negative x. */
static LLVMValueRef softplus(LLVMBuilderRef b, LLVMValueRef x) {
  LLVMValueRef ax = intrinsic1(b, "llvm.fabs", &x, 1);
  LLVMValueRef e = cg_math(b, OP_EXP, LLVMBuildFNeg(b, ax, ""));
  LLVMValueRef mx[2] = {x, cg_const_real(LLVMTypeOf(x), 0.0)};
  return LLVMBuildFAdd(b, intrinsic1(b, "llvm.maxnum", mx, 2), cg_math(b, OP_LOG1P, e), "");
}

/* Floor division and modulo (lang/reference.md): the divisor is replaced by
 * 1 where it is 0 or -1, so LLVM's sdiv/srem never see the two cases they
 * leave undefined (x/0, INT_MIN/-1); those lanes then select 0 (x // 0,
 * x % 0, x % -1) or the wrapping -x (x // -1).  The truncated quotient is
 * moved down by one where the remainder is nonzero and its sign differs
 * from the divisor's, and the remainder moved up by the divisor. */
static LLVMValueRef int_divide(LLVMBuilderRef b, Op op, LLVMValueRef x, LLVMValueRef y) {
  LLVMTypeRef ty = LLVMTypeOf(x);
  LLVMValueRef zero = cg_const_int(ty, 0), one = cg_const_int(ty, 1), m1 = cg_const_int(ty, -1);
  LLVMValueRef by0 = LLVMBuildICmp(b, LLVMIntEQ, y, zero, ""), bym1 = LLVMBuildICmp(b, LLVMIntEQ, y, m1, "");
  LLVMValueRef d = LLVMBuildSelect(b, LLVMBuildOr(b, by0, bym1, ""), one, y, "");
  LLVMValueRef q = LLVMBuildSDiv(b, x, d, ""), r = LLVMBuildSRem(b, x, d, "");
  LLVMValueRef signs_differ = LLVMBuildICmp(b, LLVMIntSLT, LLVMBuildXor(b, r, y, ""), zero, "");
  LLVMValueRef adjust = LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntNE, r, zero, ""), signs_differ, "");
  if (op == OP_MOD) return LLVMBuildSelect(b, adjust, LLVMBuildAdd(b, r, y, ""), r, "");
  q = LLVMBuildSelect(b, adjust, LLVMBuildSub(b, q, one, ""), q, "");
  q = LLVMBuildSelect(b, bym1, LLVMBuildNeg(b, x, ""), q, "");
  return LLVMBuildSelect(b, by0, zero, q, "");
}

/* x << y and x >> y (arithmetic): a count outside [0, bits), negative
 * included (compared unsigned), gives 0 or the sign fill x >> (bits - 1)
 * instead of LLVM's poison. */
static LLVMValueRef int_shift(LLVMBuilderRef b, Op op, LLVMValueRef x, LLVMValueRef y) {
  LLVMTypeRef ty = LLVMTypeOf(x);
  LLVMTypeRef elem = LLVMGetTypeKind(ty) == LLVMVectorTypeKind ? LLVMGetElementType(ty) : ty;
  long long bits = (long long)LLVMGetIntTypeWidth(elem);
  LLVMValueRef out = LLVMBuildICmp(b, LLVMIntUGE, y, cg_const_int(ty, bits), "");
  LLVMValueRef n = LLVMBuildSelect(b, out, cg_const_int(ty, bits - 1), y, "");
  if (op == OP_SHR) return LLVMBuildAShr(b, x, n, "");
  return LLVMBuildSelect(b, out, cg_const_int(ty, 0), LLVMBuildShl(b, x, n, ""), "");
}

/* sign(x): -1, 0 or 1; floats keep +-0 and NaN (x itself). */
static LLVMValueRef sign(LLVMBuilderRef b, bool f, LLVMValueRef x) {
  LLVMTypeRef ty = LLVMTypeOf(x);
  if (!f) {
    LLVMValueRef pos = LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntSGT, x, cg_const_int(ty, 0), ""), ty, "");
    return LLVMBuildSub(b, pos, LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntSLT, x, cg_const_int(ty, 0), ""), ty, ""), "");
  }
  LLVMValueRef zero = cg_const_real(ty, 0.0);
  LLVMValueRef r = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOLT, x, zero, ""), cg_const_real(ty, -1.0), x, "");
  return LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, x, zero, ""), cg_const_real(ty, 1.0), r, "");
}

/* logaddexp(a, b) = m + log1p(e), m = max(a, b) (NaN propagates) and
 * e = exp(-|a - b|).  a - b = d + lo exactly (TwoSum), and e is corrected
 * by the rounding error lo of d (e * (1 -+ lo)): otherwise exp would turn
 * d's absolute error (up to 2^-48 for |a - b| ~ 20 in f64) into as many ulps
 * of e.  Where a == b (both infinite included, where a - b is NaN) the
 * difference is taken as 0, so +-inf + log(2) = +-inf; lo is taken as 0
 * where it is NaN (an infinite operand). */
static LLVMValueRef logaddexp(LLVMBuilderRef b, LLVMValueRef *a) {
  LLVMTypeRef ty = LLVMTypeOf(a[0]);
  LLVMValueRef zero = cg_const_real(ty, 0.0), nb = LLVMBuildFNeg(b, a[1], "");
  LLVMValueRef m = intrinsic1(b, "llvm.maximum", a, 2);
  LLVMValueRef d = LLVMBuildFAdd(b, a[0], nb, "");
  LLVMValueRef bb = LLVMBuildFSub(b, d, a[0], "");
  LLVMValueRef lo = LLVMBuildFAdd(b, LLVMBuildFSub(b, a[0], LLVMBuildFSub(b, d, bb, ""), ""), LLVMBuildFSub(b, nb, bb, ""), "");
  LLVMValueRef neg = LLVMBuildFCmp(b, LLVMRealOLT, d, zero, "");
  LLVMValueRef nd = LLVMBuildFNeg(b, intrinsic1(b, "llvm.fabs", &d, 1), "");
  LLVMValueRef nd_lo = LLVMBuildSelect(b, neg, lo, LLVMBuildFNeg(b, lo, ""), "");
  LLVMValueRef same = LLVMBuildFCmp(b, LLVMRealOEQ, a[0], a[1], "");
  nd = LLVMBuildSelect(b, same, zero, nd, "");
  nd_lo = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealORD, lo, lo, ""), nd_lo, zero, "");
  LLVMValueRef e = cg_math(b, OP_EXP, nd);
  LLVMValueRef fma_args[3] = {e, nd_lo, e};
  e = intrinsic1(b, "llvm.fma", fma_args, 3);
  return LLVMBuildFAdd(b, m, cg_math(b, OP_LOG1P, e), "");
}

/* The ops of issue 9's block in ops.def; NULL for any other op. */
static LLVMValueRef elementwise_ext(LLVMBuilderRef b, Op op, bool f, LLVMValueRef *a) {
  switch (op) {
  case OP_FLOORDIV: return int_divide(b, op, a[0], a[1]);
  case OP_MOD: return f ? cg_math2(b, op, a[0], a[1]) : int_divide(b, op, a[0], a[1]); /* floats: vecmath_mod.c */
  case OP_BITAND: return LLVMBuildAnd(b, a[0], a[1], "");
  case OP_BITOR: return LLVMBuildOr(b, a[0], a[1], "");
  case OP_BITXOR: return LLVMBuildXor(b, a[0], a[1], "");
  case OP_SHL:
  case OP_SHR: return int_shift(b, op, a[0], a[1]);
  case OP_SIGN: return sign(b, f, a[0]);
  case OP_FLOOR: return intrinsic1(b, "llvm.floor", a, 1); /* exact; one roundss/vrndscale with SSE4.1 */
  case OP_CEIL: return intrinsic1(b, "llvm.ceil", a, 1);
  case OP_ROUND: return intrinsic1(b, "llvm.roundeven", a, 1);
  case OP_LOGADDEXP: return logaddexp(b, a);
  default: return NULL;
  }
}

LLVMValueRef cg_op(LLVMBuilderRef b, Op op, DType t, DType arg_t, LLVMValueRef *a) {
  bool f = dtype_is_float(arg_t);
  if (cg_math_has(op)) return cg_math(b, op, a[0]); /* texc's own vector math (vecmath.c) */
  LLVMValueRef ext = elementwise_ext(b, op, f, a);
  if (ext) return ext;
  switch (op) {
  case OP_COPY:
  case OP_STOP_GRADIENT: return a[0];
  case OP_SOFTPLUS: return softplus(b, a[0]);
  case OP_CAST: return cast(b, t, arg_t, a[0]);
  case OP_NEG: return f ? LLVMBuildFNeg(b, a[0], "") : LLVMBuildNeg(b, a[0], "");
  case OP_NOT: return LLVMBuildNot(b, a[0], "");
  case OP_ABS: {
    if (f) return intrinsic1(b, "llvm.fabs", a, 1);
    LLVMValueRef args[2] = {a[0], LLVMConstInt(LLVMInt1TypeInContext(LLVMGetTypeContext(LLVMTypeOf(a[0]))), 0, 0)};
    return intrinsic1(b, "llvm.abs", args, 2);
  }
  case OP_SQRT: return intrinsic1(b, "llvm.sqrt", a, 1);
  case OP_ADD: return f ? LLVMBuildFAdd(b, a[0], a[1], "") : LLVMBuildAdd(b, a[0], a[1], "");
  case OP_SUB: return f ? LLVMBuildFSub(b, a[0], a[1], "") : LLVMBuildSub(b, a[0], a[1], "");
  case OP_MUL: return f ? LLVMBuildFMul(b, a[0], a[1], "") : LLVMBuildMul(b, a[0], a[1], "");
  case OP_DIV: return LLVMBuildFDiv(b, a[0], a[1], "");
  case OP_POW: return cg_math2(b, OP_POW, a[0], a[1]); /* texc's own, vecmath.c */
  case OP_MAX: return intrinsic1(b, f ? "llvm.maximum" : "llvm.smax", a, 2);
  case OP_MIN: return intrinsic1(b, f ? "llvm.minimum" : "llvm.smin", a, 2);
  case OP_AND: return LLVMBuildAnd(b, a[0], a[1], "");
  case OP_OR: return LLVMBuildOr(b, a[0], a[1], "");
  case OP_SELECT: return LLVMBuildSelect(b, a[0], a[1], a[2], "");
  case OP_EQ:
  case OP_NE:
  case OP_LT:
  case OP_LE:
  case OP_GT:
  case OP_GE: return compare(b, op, arg_t, a[0], a[1]);
  default: ice("no scalar code for op %s", op_info[op].name);
  }
}

/* The identity of a reduction: -0.0 for float sums (so that -0.0 survives),
 * 1 for products, -inf/+inf for max/min (and the values of argmax/argmin),
 * the extreme integers, false for or and true for and. */
LLVMValueRef cg_identity(LLVMTypeRef ty, Op combiner, DType t) {
  bool f = dtype_is_float(t);
  int64_t imax = t == DT_I32 ? INT32_MAX : INT64_MAX, imin = t == DT_I32 ? INT32_MIN : INT64_MIN;
  switch (combiner) {
  case OP_ADD: return f ? cg_const_real(ty, -0.0) : cg_const_int(ty, 0);
  case OP_MAX: return f ? cg_const_real(ty, -__builtin_inf()) : cg_const_int(ty, imin);
  case OP_MIN:
  case OP_ARGMIN: return f ? cg_const_real(ty, __builtin_inf()) : cg_const_int(ty, imax);
  case OP_ARGMAX: return f ? cg_const_real(ty, -__builtin_inf()) : cg_const_int(ty, imin);
  case OP_MUL: return f ? cg_const_real(ty, 1.0) : cg_const_int(ty, 1);
  case OP_OR: return LLVMConstNull(ty);
  case OP_AND: return LLVMConstAllOnes(ty);
  default: ice("not a combiner: %s", op_info[combiner].name);
  }
}
