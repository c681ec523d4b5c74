/* codegen.h — kernels -> LLVM IR -> x86-64 object -> .so and header.
 *
 * Sections follow the files of codegen/:
 *   vecmath.c  exp/log/tanh/sigmoid/... as inline LLVM IR (no libm calls)
 *   scalar.c   one op of a kernel body on scalars or vectors
 *   cpu.c      kernel loop nests for the CPU
 *   module.c   plans, metadata tables, exported wrappers, target, object file
 *   link.c     the .so (cc + libtexrt.a + version script) and the C header
 */
#ifndef TEXC_CODEGEN_H
#define TEXC_CODEGEN_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "ir.h"

/* ==== vecmath.c ========================================================== */

/* Elementary functions written by texc as range reduction + polynomial in
 * LLVM IR: no calls, so they vectorise on the CPU and lower the same way on
 * NVPTX.  Accuracy (ulps, per dtype) is documented in lang/math.md and tested
 * by tests/unit/test_vecmath.c. */
typedef enum CgMathFn { CG_EXP, CG_LOG, CG_TANH, CG_SIGMOID, CG_EXPM1, CG_LOG1P, CG_MATH_COUNT } CgMathFn;
extern const char *const cg_math_names[CG_MATH_COUNT];

/* x is float or double, scalar or a fixed vector of them; the result has x's
 * type.  Emits at the builder's position. */
LLVMValueRef cg_math(LLVMBuilderRef b, CgMathFn fn, LLVMValueRef x);

/* A constant of type ty (float/double/int, scalar or splat vector). */
LLVMValueRef cg_const_real(LLVMTypeRef ty, double v);
LLVMValueRef cg_const_int(LLVMTypeRef ty, long long v);

#endif /* TEXC_CODEGEN_H */
