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
typedef enum CgMathFn {
  CG_EXP, CG_LOG, CG_TANH, CG_SIGMOID, CG_EXPM1, CG_LOG1P, CG_ERF, CG_ERFC, CG_LOG1MEXP, CG_MATH_COUNT
} CgMathFn;
extern const char *const cg_math_names[CG_MATH_COUNT];

/* x is float or double, scalar or a fixed vector of them; the result has x's
 * type.  Emits at the builder's position. */
LLVMValueRef cg_math(LLVMBuilderRef b, CgMathFn fn, LLVMValueRef x);

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
LLVMValueRef cg_intrinsic(LLVMBuilderRef b, const char *name, LLVMTypeRef *overloads, int noverloads,
                          LLVMValueRef *args, int nargs);

/* ==== cpu.c ============================================================== */

/* Lanes of a reduction (design §8): element i of the flattened reduced axes
 * goes to lane i mod TEX_REDUCE_LANES, lanes accumulate in index order, and a
 * fixed tree combines lane j with lane j + w for w = 16, 8, 4, 2, 1.  The
 * same order on every target, thread count and -O level. */
#define TEX_REDUCE_LANES 32

typedef struct Cg {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  IrModule *m;
  LLVMTypeRef i64, i32, i8, ptr, voidt;
  const KProgram *p;
  int *abi_sym;             /* DimTable symbol id -> index in the syms argument */
  int nplaced;              /* kernels placed so far (module.c alternates modules) */
  PtrVec kernel_keys;       /* char*: what each emitted kernel computes ... */
  PtrVec kernel_fns;        /* ... and its LLVM function (shared between plans) */
  /* state of the kernel being emitted */
  const Kernel *k;
  LLVMValueRef fn, entry_allocas_at;
  LLVMValueRef sym_val[64];
  LLVMValueRef extent[IR_MAX_RANK + 1];
  LLVMValueRef base[K_MAX_INPUTS + 1];               /* inputs, then the output */
  Dim lstride[K_MAX_INPUTS + 1][IR_MAX_RANK + 1];    /* elements per loop step */
  LLVMValueRef iv[IR_MAX_RANK + 1];
} Cg;

/* Emits kernel k as `void name(ptr ops, ptr syms, i64 begin, i64 end)`. */
LLVMValueRef cg_emit_kernel(Cg *cg, const Kernel *k);
/* Emits code computing d from the symbols (kernel entry only). */
LLVMValueRef cg_emit_dim(Cg *cg, Dim d);

/* ==== target.c / module.c ============================================== */

typedef struct CgModule {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMTargetMachineRef tm;
  char cpu[64];                /* LLVM CPU name */
  char checked_features[2048]; /* what the runtime checks at first call */
  int llvm_errors;             /* counted by the diagnostic handler */
} CgModule;

/* false if cpu is not a known --cpu name (NULL or "host": this machine). */
bool cg_module_init(CgModule *cm, const char *name, const char *cpu);
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

/* ==== driver.c =========================================================== */

typedef enum EmitKind { EMIT_SO, EMIT_IR, EMIT_KERNELS, EMIT_LLVM, EMIT_ASM, EMIT_OBJ, EMIT_HEADER, EMIT_AST, EMIT_DOT } EmitKind;

typedef struct TexcOptions {
  const char *input;
  const char *output;          /* NULL: stdout for text, lib<prefix>.so for EMIT_SO */
  EmitKind emit;
  const char *prefix;
  const char *cpu;
  int opt_level;
  const char *print_after, *disable_pass, *only_passes;
  bool verify, stats;
  const char *grad;            /* --grad NAME[,NAME]: export NAME_grad / NAME_vjp */
  const char *wrt;             /* --wrt P,Q: narrow the differentiated params */
  bool grad_all;               /* --grad-all: every exported scalar function */
  bool fast_math;              /* --fast-math: value-changing rewrites */
  const char *dims;            /* --dims N=1024,...: evaluate --stats sizes */
} TexcOptions;

/* Why the options cannot be used together (unknown pass names, a lowering
 * pass disabled, --passes with an emit that needs every lowering pass) in
 * buf, or NULL if they can. */
const char *texc_options_error(const TexcOptions *o, char *buf, size_t len);
/* Runs the whole compiler; returns the process exit status. */
int texc_compile(const TexcOptions *o);
/* Passes, kernels and code for a lowered module, emitted as o->emit says. */
int texc_emit_module(const TexcOptions *o, IrModule *m);
/* --grad / --grad-all: declares the derived functions o asks for in m;
 * false (reported to d) if one cannot be made. */
bool texc_request_gradients(IrModule *m, const TexcOptions *o, Diag *d);
/* The whole file, NUL-terminated; NULL if it cannot be read. */
char *texc_read_file(const char *path, size_t *len);

/* ==== checkgrad.c ======================================================== */

/* texc check-grad: the gradient of fn_name against finite differences. */
int texc_check_grad(const char *file, const char *fn_name, uint64_t seed, bool jvp);

#endif /* TEXC_CODEGEN_H */
