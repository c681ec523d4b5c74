/* vecmath_impl.h — what codegen/vecmath*.c share and nothing else includes:
 * the emission context, one-line IR helpers (static inline), double-word
 * arithmetic, and the vecmath.c pieces other vecmath files build on
 * (vecmath_gamma.c: lgamma, digamma, trigamma, tetragamma; vecmath_mod.c). */
#ifndef TEXC_VECMATH_IMPL_H
#define TEXC_VECMATH_IMPL_H

#include <stdbool.h>
#include <string.h>

#include "codegen.h"

/* ---- the emission context and one-line IR helpers ----------------------- */

/* What every helper needs: the builder, the module (for intrinsic
 * declarations), x's type and the integer type of the same shape whose
 * elements have the float's width (i32 for float, i64 for double). */
typedef struct Em {
  LLVMBuilderRef b;
  LLVMModuleRef mod;
  LLVMTypeRef fty;
  LLVMTypeRef ity;
  bool f64;
  bool from_f32; /* a float function computed in double (cg_math2's float case) */
} Em;

static inline Em em_for(LLVMBuilderRef b, LLVMValueRef x) {
  Em e;
  LLVMTypeRef ty = LLVMTypeOf(x);
  LLVMContextRef ctx = LLVMGetTypeContext(ty);
  bool vec = LLVMGetTypeKind(ty) == LLVMVectorTypeKind;
  LLVMTypeRef elem = vec ? LLVMGetElementType(ty) : ty;
  e.b = b;
  e.mod = LLVMGetGlobalParent(LLVMGetBasicBlockParent(LLVMGetInsertBlock(b)));
  e.fty = ty;
  e.f64 = LLVMGetTypeKind(elem) == LLVMDoubleTypeKind;
  e.from_f32 = false;
  LLVMTypeRef ielem = LLVMIntTypeInContext(ctx, e.f64 ? 64 : 32);
  e.ity = vec ? LLVMVectorType(ielem, LLVMGetVectorSize(ty)) : ielem;
  return e;
}

static inline LLVMValueRef kf(const Em *e, double v) { return cg_const_real(e->fty, v); }
static inline LLVMValueRef ki(const Em *e, long long v) { return cg_const_int(e->ity, v); }
/* The constant for dtype: `d` when computing in double, `f` in float. */
static inline LLVMValueRef kdf(const Em *e, double d, float f) { return kf(e, e->f64 ? d : (double)f); }

static inline LLVMValueRef ir_fadd(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildFAdd(e->b, a, c, ""); }
static inline LLVMValueRef ir_fsub(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildFSub(e->b, a, c, ""); }
static inline LLVMValueRef ir_fmul(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildFMul(e->b, a, c, ""); }
static inline LLVMValueRef ir_fdiv(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildFDiv(e->b, a, c, ""); }
static inline LLVMValueRef ir_fneg(const Em *e, LLVMValueRef a) { return LLVMBuildFNeg(e->b, a, ""); }
static inline LLVMValueRef iadd(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildAdd(e->b, a, c, ""); }
static inline LLVMValueRef isub(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildSub(e->b, a, c, ""); }
static inline LLVMValueRef iand(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildAnd(e->b, a, c, ""); }
static inline LLVMValueRef ishl(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildShl(e->b, a, c, ""); }
static inline LLVMValueRef ilshr(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildLShr(e->b, a, c, ""); }
static inline LLVMValueRef iashr(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildAShr(e->b, a, c, ""); }
static inline LLVMValueRef sel(const Em *e, LLVMValueRef c, LLVMValueRef t, LLVMValueRef f) { return LLVMBuildSelect(e->b, c, t, f, ""); }
static inline LLVMValueRef bool_or(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildOr(e->b, a, c, ""); }
static inline LLVMValueRef bool_and(const Em *e, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildAnd(e->b, a, c, ""); }
static inline LLVMValueRef fcmp(const Em *e, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef c) {
  return LLVMBuildFCmp(e->b, p, a, c, "");
}
static inline LLVMValueRef icmp(const Em *e, LLVMIntPredicate p, LLVMValueRef a, LLVMValueRef c) {
  return LLVMBuildICmp(e->b, p, a, c, "");
}
static inline LLVMValueRef is_nan(const Em *e, LLVMValueRef a) { return fcmp(e, LLVMRealUNO, a, a); }
static inline LLVMValueRef to_bits(const Em *e, LLVMValueRef a) { return LLVMBuildBitCast(e->b, a, e->ity, ""); }
static inline LLVMValueRef from_bits(const Em *e, LLVMValueRef a) { return LLVMBuildBitCast(e->b, a, e->fty, ""); }
static inline LLVMValueRef to_int(const Em *e, LLVMValueRef a) { return LLVMBuildFPToSI(e->b, a, e->ity, ""); }
static inline LLVMValueRef to_real(const Em *e, LLVMValueRef a) { return LLVMBuildSIToFP(e->b, a, e->fty, ""); }

/* A call to the overloaded intrinsic `name` instantiated at x's type. */
static inline LLVMValueRef intrinsic(const Em *e, const char *name, LLVMValueRef *args, unsigned nargs) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef overload = e->fty;
  LLVMTypeRef fn_ty = LLVMIntrinsicGetType(LLVMGetTypeContext(overload), id, &overload, 1);
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(e->mod, id, &overload, 1);
  return LLVMBuildCall2(e->b, fn_ty, fn, args, nargs, "");
}

static inline LLVMValueRef ir_fma(const Em *e, LLVMValueRef a, LLVMValueRef c, LLVMValueRef d) {
  LLVMValueRef args[3] = {a, c, d};
  return intrinsic(e, "llvm.fma", args, 3);
}
static inline LLVMValueRef ir_fabs(const Em *e, LLVMValueRef a) { return intrinsic(e, "llvm.fabs", &a, 1); }
static inline LLVMValueRef ir_roundeven(const Em *e, LLVMValueRef a) { return intrinsic(e, "llvm.roundeven", &a, 1); }
static inline LLVMValueRef ir_copysign(const Em *e, LLVMValueRef mag, LLVMValueRef sgn) {
  LLVMValueRef args[2] = {mag, sgn};
  return intrinsic(e, "llvm.copysign", args, 2);
}

/* Horner's rule with fma: c[0] + t*(c[1] + t*(... + t*c[n-1])). */
static inline LLVMValueRef horner(const Em *e, LLVMValueRef t, const double *c, int n) {
  LLVMValueRef p = kf(e, c[n - 1]);
  for (int i = n - 2; i >= 0; i--) p = ir_fma(e, t, p, kf(e, c[i]));
  return p;
}

/* ---- double-word arithmetic ------------------------------------------ */

/* A value hi + lo with |lo| about ulp(hi) or less: twice the working precision,
 * used where a result feeds a subtraction or division that would otherwise
 * amplify its rounding error (exp's last step, tanh, sigmoid). */
typedef struct Dw {
  LLVMValueRef hi, lo;
} Dw;

/* a + b exactly as a double-word, any magnitudes (Knuth's TwoSum). */
static inline Dw two_sum(const Em *e, LLVMValueRef a, LLVMValueRef b) {
  Dw s;
  s.hi = ir_fadd(e, a, b);
  LLVMValueRef bb = ir_fsub(e, s.hi, a);
  s.lo = ir_fadd(e, ir_fsub(e, a, ir_fsub(e, s.hi, bb)), ir_fsub(e, b, bb));
  return s;
}

/* a + (b.hi + b.lo) for |a| >= |b.hi| (Dekker's Fast2Sum, then lo added). */

/* a + b exactly as a double-word when |a| >= |b| or a = 0 (Fast2Sum). */
static inline Dw fast_two_sum(const Em *e, LLVMValueRef a, LLVMValueRef b) {
  Dw s;
  s.hi = ir_fadd(e, a, b);
  s.lo = ir_fadd(e, ir_fsub(e, a, s.hi), b);
  return s;
}

/* ---- vecmath.c pieces used by the other vecmath files ------------------- */

/* log(x) for positive finite double x as a double-word, relative error
 * about 2^-70 (subnormals included). */
Dw cg_vm_log_dw(const Em *e, LLVMValueRef x);
/* n/d as a double-word (one division; d.hi finite and nonzero). */
Dw cg_vm_dw_div_dw(const Em *e, Dw n, Dw d);
/* a*b as a double-word. */
Dw cg_vm_dw_mul(const Em *e, Dw a, Dw b);
/* hi[0]+lo[0] + t*(... + t*hi[n-1]) with the last ndw steps in double-word. */
Dw cg_vm_horner_dwc(const Em *e, Dw t, const double *hi, const double *lo, int n, int ndw);
/* the same with coefficients as values (a table's gathered lanes) */
Dw cg_vm_horner_dwv(const Em *e, Dw t, const LLVMValueRef *hi, const LLVMValueRef *lo, int n, int ndw);
/* The double-typed context of x's shape (<N x float> -> <N x double>). */
Em cg_vm_em_double(const Em *e);

/* ---- vecmath_gamma.c ---------------------------------------------------- */

LLVMValueRef cg_vm_lgamma(const Em *e, LLVMValueRef x);
LLVMValueRef cg_vm_digamma(const Em *e, LLVMValueRef x);
LLVMValueRef cg_vm_trigamma(const Em *e, LLVMValueRef x);
LLVMValueRef cg_vm_tetragamma(const Em *e, LLVMValueRef x);

/* ---- vecmath_mod.c ------------------------------------------------------ */

/* a % b on floats, Python's semantics (exact fmod, the divisor's sign). */
LLVMValueRef cg_vm_mod(const Em *e, LLVMValueRef a, LLVMValueRef b);

#endif
