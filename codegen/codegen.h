/* codegen.h — kernels -> LLVM IR -> x86-64 object -> .so and header.
 *
 * Sections follow the files of codegen/:
 *   vecmath.c  exp/log/tanh/sigmoid/... as inline LLVM IR (no libm calls);
 *              vecmath_gamma.c (lgamma, digamma, trigamma) and vecmath_mod.c
 *              (float %) add rows to its tables (vecmath_impl.h: shared)
 *   scalar.c   one op of a kernel body on scalars or vectors
 *   cpu.c      kernel loop nests for the CPU (the x86-64 target's emit_kernel)
 *   module.c   plans, metadata tables, exported wrappers (through the Target)
 *   target.c   the Target record and the x86-64 instance: LLVM target machine,
 *              pipeline, object emission
 *   link.c     the .so (cc + libtexrt.a + version script) and the C header
 */
#ifndef TEXC_CODEGEN_H
#define TEXC_CODEGEN_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "ir.h"
#include "texrt.h"

/* ==== vecmath.c ========================================================== */

/* Elementary functions written by texc as range reduction + polynomial in
 * LLVM IR: no calls, so they vectorise on the CPU and lower the same way on
 * NVPTX.  Accuracy (ulps, per dtype) is documented in lang/math.md and tested
 * by tests/unit/test_vecmath.c. */
/* True if op has an implementation here (a row of vecmath.c's table). */
bool cg_math_has(Op op);
/* x is float or double, scalar or a fixed vector of them; the result has x's
 * type.  Emits at the builder's position. */
LLVMValueRef cg_math(LLVMBuilderRef b, Op op, LLVMValueRef x);
/* The binary functions (pow): x and y of one type. */
bool cg_math2_has(Op op);
LLVMValueRef cg_math2(LLVMBuilderRef b, Op op, LLVMValueRef x, LLVMValueRef y);

/* A constant of type ty (float/double/int, scalar or splat vector). */
LLVMValueRef cg_const_real(LLVMTypeRef ty, double v);
LLVMValueRef cg_const_int(LLVMTypeRef ty, long long v);

/* ==== scalar.c =========================================================== */

LLVMTypeRef cg_type(LLVMContextRef c, DType t);      /* value form: bool is i1 */
LLVMTypeRef cg_mem_type(LLVMContextRef c, DType t);  /* memory form: bool is i8 */
LLVMValueRef cg_from_mem(LLVMBuilderRef b, DType t, LLVMValueRef v);
LLVMValueRef cg_to_mem(LLVMBuilderRef b, DType t, LLVMValueRef v);
/* One op on scalars or vectors; arg_t is the dtype of the (data) operands. */
LLVMValueRef cg_op(LLVMBuilderRef b, Op op, DType t, DType arg_t, LLVMValueRef *args);
LLVMValueRef cg_identity(LLVMTypeRef ty, Op combiner, DType t);
LLVMValueRef cg_intrinsic(LLVMBuilderRef b, const char *name, LLVMTypeRef *overloads, int noverloads, LLVMValueRef *args, int nargs);

/* ==== cpu.c ============================================================== */

/* Lanes of a reduction (lang/reference.md): element i of the flattened reduced axes
 * goes to lane i mod TEX_REDUCE_LANES, lanes accumulate in index order, and a
 * fixed tree combines lane j with lane j + w for w = 16, 8, 4, 2, 1.  The
 * same order on every target, thread count and -O level. */
#define TEX_REDUCE_LANES 32

/* Module-level code generation state, shared by module.c and the target's
 * kernel emitter (which keeps its per-kernel state to itself). */
typedef struct Target Target;

typedef struct Cg {
  const Target *target;
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  IrModule *m;
  LLVMTypeRef i64, i32, i8, ptr, voidt;
  int vec_bytes;            /* widest vector the target CPU has: 64 (AVX-512), 32 (AVX), 16 */
  struct Cg *home;          /* the Cg whose module defines functions kernels share (NULL: this) */
  const KProgram *p;
  int *abi_sym;             /* DimTable symbol id -> index in the syms argument */
  int nplaced;              /* kernels placed so far (module.c alternates modules) */
  PtrVec kernel_keys;       /* char*: what each emitted kernel computes ... */
  PtrVec kernel_fns;        /* ... and its LLVM function (shared between plans) */
} Cg;

/* Emits kernel k as `void name(ptr ops, ptr syms, i64 begin, i64 end)`: the
 * x86-64 target's emit_kernel. */
LLVMValueRef cg_cpu_emit_kernel(Cg *cg, const Kernel *k);
/* The step function of row group ks[0..n) (issue 11): fns[m] is member m's
 * kernel function, map[m][o] where its operand o is in the step's operands. */
LLVMValueRef cg_cpu_emit_rows(Cg *cg, const Kernel *ks, int n, const LLVMValueRef *fns, int *const *map);

/* ==== target.c / module.c ============================================== */

typedef struct CgModule {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMTargetMachineRef tm;
  char cpu[64];                /* LLVM CPU name */
  char checked_features[2048]; /* what the runtime checks at first call */
  int llvm_errors;             /* counted by the diagnostic handler */
  const Target *target;        /* set by init */
} CgModule;

/* A code generation target (QBE's Target): everything that differs between
 * machines, and nothing else.  module.c (metadata, plans, sharing kernels)
 * and the driver call through it.  A new target is an emitter file beside
 * cpu.c (emit_kernel), a runtime file beside runtime/cpu.c, and a record
 * like cg_target_x86_64 (target.c); ARCHITECTURE.md lists the steps. */
struct Target {
  const char *name;    /* "x86-64" */
  const char *device;  /* the metadata's target: what the runtime checks ("cpu") */
  bool (*init)(CgModule *cm, const char *module_name, const char *cpu);
  LLVMValueRef (*emit_kernel)(Cg *cg, const Kernel *k);
  /* a row group's step function (NULL: the target runs the members one by one) */
  LLVMValueRef (*emit_rows)(Cg *cg, const Kernel *ks, int n, const LLVMValueRef *fns, int *const *map);
  /* the exported C entry points of one function, which run plan */
  void (*emit_entry)(Cg *cg, const char *symbol, int nparams, LLVMValueRef plan);
  void (*optimize)(CgModule *cm, int opt_level);
  bool (*emit)(CgModule *cm, LLVMCodeGenFileType kind, FILE *out);
  bool (*link)(const char *const *obj_paths, int nobjs, const char *so_path, const char *prefix);
  void (*dispose)(CgModule *cm);
};
extern const Target cg_target_x86_64;

/* module.c: the CPU's entry points (texrt_run and friends). */
void cg_cpu_emit_entry(Cg *cg, const char *symbol, int nparams, LLVMValueRef plan);

/* The target's init; false if cpu is not a known --cpu name (NULL or
 * "host": this machine). */
bool cg_module_init(CgModule *cm, const Target *t, const char *name, const char *cpu);
const char *cg_known_cpus(void);
void cg_module_dispose(CgModule *cm);
/* Kernels, plans, metadata and entry points of every program into cm; with
 * a second module, every other kernel goes there (hidden, external) so the
 * two can be optimised and emitted by two threads. */
void cg_build_module(CgModule *cm, CgModule *second, IrModule *m, KProgram *const *progs, int nprogs);
void cg_optimize(CgModule *cm, int opt_level);
bool cg_emit(CgModule *cm, LLVMCodeGenFileType kind, FILE *out);

/* ==== link.c ============================================================= */

/* Links obj_path with libtexrt.a into so_path, exporting only prefix_*.
 * Reports failures on stderr; returns false on failure. */
bool cg_link(const char *const *obj_paths, int nobjs, const char *so_path, const char *prefix);
/* The runtime archive next to the texc executable (or $TEXC_RUNTIME). */
const char *cg_runtime_path(char *buf, size_t len);
/* The C header declaring the module's entry points. */
void cg_write_header(FILE *out, IrModule *m, KProgram *const *progs, int nprogs);

#endif /* TEXC_CODEGEN_H */
