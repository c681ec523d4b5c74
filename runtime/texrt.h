/* texrt.h — the texc runtime ABI: the only API that generated code and users see.
 *
 * Every .so that texc writes exports, for a module with prefix P:
 *   int P_<fn>(const DLTensor *in..., DLTensor *out...);   0 or a TexStatus
 *   int P_<fn>_workspace_size(<the same arguments>, size_t *bytes);
 *   int P_<fn>_ws(<the same arguments>, void *workspace, size_t bytes);
 *                                   the same call with no allocation inside
 *   const char *P_last_error(void);       thread-local message of the last failure
 *   const TexModuleInfo *P_module_info(void);   the metadata below
 *   int P_call(int index, const DLTensor *const *args);
 *                                   function #index of the metadata, its
 *                                   arguments as an array (generic loaders)
 *   int P_set_num_threads(int n);   this module's thread count (see Threads)
 *
 * The metadata is the single source of the call-time checks: one runtime
 * function, texrt_bind, reads it to check every argument and bind the size
 * symbols, so metadata and checks cannot disagree.  The runtime is linked
 * statically into each .so with hidden visibility; texrt_* never leaks out.
 */
#ifndef TEXRT_H
#define TEXRT_H

#include <stddef.h>
#include <stdint.h>
#include <dlpack/dlpack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below changes layout. */
#define TEX_ABI_VERSION 9

/* Error codes returned by every generated function. 0 is success. */
#define TEX_STATUS_LIST(X)                                                                                                                 \
  X(TEX_OK, "ok")                                                                                                                          \
  X(TEX_ERR_NULL, "null pointer")                                                                                                          \
  X(TEX_ERR_DTYPE, "wrong dtype")                                                                                                          \
  X(TEX_ERR_RANK, "wrong rank")                                                                                                            \
  X(TEX_ERR_SHAPE, "wrong shape")                                                                                                          \
  X(TEX_ERR_LAYOUT, "unsupported layout")                                                                                                  \
  X(TEX_ERR_DEVICE, "wrong device")                                                                                                        \
  X(TEX_ERR_ALIAS, "overlapping arguments")                                                                                                \
  X(TEX_ERR_INDEX, "index out of range")                                                                                                   \
  X(TEX_ERR_ALLOC, "out of memory")                                                                                                        \
  X(TEX_ERR_OVERFLOW, "size overflow")                                                                                                     \
  X(TEX_ERR_CPU, "unsupported cpu")                                                                                                        \
  X(TEX_ERR_CUDA, "cuda error")                                                                                                            \
  X(TEX_ERR_ASSERT, "shape assertion failed")                                                                                              \
  X(TEX_ERR_TRIP, "negative trip count")                                                                                                   \
  X(TEX_ERR_MAXITER, "while loop reached its maximum")                                                                                     \
  X(TEX_ERR_ARG, "bad argument")

typedef enum TexStatus {
#define TEX_STATUS_ENUM(name, text) name,
  TEX_STATUS_LIST(TEX_STATUS_ENUM)
#undef TEX_STATUS_ENUM
      TEX_STATUS_COUNT
} TexStatus;

/* A short English name for a status code ("wrong shape"). */
static inline const char *tex_status_text(int code) {
  static const char *const text[] = {
#define TEX_STATUS_TEXT(name, text) text,
      TEX_STATUS_LIST(TEX_STATUS_TEXT)
#undef TEX_STATUS_TEXT
  };
  return code >= 0 && code < TEX_STATUS_COUNT ? text[code] : "unknown status";
}

/* Element types, in the compiler's order. bool travels as one byte (0 or 1):
 * DLPack 0.6 has no kDLBool, so bool accepts kDLUInt/8 and kDLBool (6)/8. */
typedef enum TexDType { TEX_F32, TEX_F64, TEX_I32, TEX_I64, TEX_BOOL, TEX_DTYPE_COUNT } TexDType;

/* Dim expressions are a tiny postfix bytecode over int64: each op pops its
 * operands and pushes one result.  LIT and SYM carry one immediate word. */
enum TexDimOp {
  TEX_DIM_LIT,      /* push the next word */
  TEX_DIM_SYM,      /* push the value of symbol number (next word) */
  TEX_DIM_ADD,
  TEX_DIM_SUB,
  TEX_DIM_MUL,
  TEX_DIM_FLOORDIV, /* division by zero is an error */
  TEX_DIM_MOD,      /* floor modulo; by zero is an error */
  TEX_DIM_MIN,
  TEX_DIM_MAX,
  TEX_DIM_EQ,       /* 1 if equal else 0: used by assertions */
  TEX_DIM_LE
};

typedef struct TexDimExpr {
  const int64_t *code; /* postfix words */
  int32_t len;         /* number of words */
} TexDimExpr;

/* How a parameter travels. Inputs come first in ABI order, outputs last; an
 * in-place parameter keeps its input position and is written. */
enum TexRole { TEX_IN = 0, TEX_OUT = 1, TEX_INOUT = 2 };

typedef struct TexParamInfo {
  const char *name;        /* the .tex name; "out", "out1".. for results */
  uint8_t dtype;           /* TexDType */
  uint8_t role;            /* TexRole */
  uint16_t rank;
  const TexDimExpr *dims;  /* rank expressions over the function's symbols */
} TexParamInfo;

typedef struct TexFuncInfo {
  const char *name;              /* .tex name, e.g. "predict" */
  const char *symbol;            /* exported C symbol, e.g. "logreg_predict" */
  int32_t nparams;               /* all parameters in ABI order */
  int32_t ninputs;               /* the first ninputs are TEX_IN or TEX_INOUT */
  const TexParamInfo *params;
  int32_t nsyms;
  const char *const *sym_names;  /* size symbols, e.g. {"N", "D"} */
  int32_t nasserts;              /* expressions that must evaluate to nonzero */
  const TexDimExpr *asserts;
  const char *const *assert_notes; /* per assertion, what it checks ("reshape at m.tex:3:12
                                      from f32[N] to f32[M, 2]"), or NULL */
} TexFuncInfo;

typedef struct TexModuleInfo {
  uint32_t abi_version;          /* TEX_ABI_VERSION */
  const char *prefix;            /* symbol prefix, e.g. "logreg" */
  const char *source;            /* the .tex file it was compiled from */
  const char *texc_version;
  const char *target;            /* "cpu" (later "cuda") */
  const char *cpu;               /* LLVM CPU name the code was built for */
  const char *cpu_features;      /* comma-separated features checked at first call */
  int32_t nfuncs;
  const TexFuncInfo *funcs;
} TexModuleInfo;

/* ---- For generated code only (hidden inside each .so) -------------------- */

/* A kernel reads and writes its operands: the data pointers the step lists,
 * in the kernel's own order (so one kernel can serve several functions).  It
 * runs the outer iterations [begin, end) of its parallel loop, so the runtime
 * may split it over threads. */
#define TEX_MAX_WHERE 9

/* A kernel that finds a subscript out of range stops, fills this and
 * returns 1 (0: done).  `where` holds the position in the index array, or
 * the loop counters, as the check says. */
typedef struct TexIndexError {
  int32_t check;                 /* index into the step's checks */
  int32_t pad;
  int64_t value;                 /* the subscript */
  int64_t where[TEX_MAX_WHERE];
} TexIndexError;

typedef int32_t (*TexKernelFn)(void *const *operands, const int64_t *syms, int64_t begin, int64_t end, TexIndexError *err);

/* A subscript a kernel checks when it runs (a gather's index, a computed
 * subscript); the message is "FN: WHAT[where] = VALUE is out of range for
 * axis AXIS of extent E (ARRAY)", or with where_names "FN: WHAT (i = 3,
 * j = 5) = VALUE ...". */
typedef struct TexIndexCheck {
  const char *what;              /* "index array 'y' (#4): y", "index at model.tex:3:9" */
  const char *array;             /* "argument 'E' (#1)", "the value of model.tex:3:5" */
  const char *where_names;       /* NULL, or "i,j": the loop counters in where[] */
  int32_t axis;
  int32_t nwhere;
  TexDimExpr extent;
} TexIndexCheck;

/* A loop of the plan (issue 10): the `nbody` steps after its own are run
 * once per t = 0 .. trip - 1, with t written into buffer `index` (an
 * int64) first; after each iteration buffers cur[k] and next[k] swap their
 * pointers (the body reads the states from cur and writes next), and at
 * the end the final states are in cur[k]'s own memory.  Before iteration
 * t, buffer slot[j] is pointed at row t of buffer stack[j] (a stacked
 * output, whose rows have slot[j]'s size), where the body writes it.  A
 * negative trip count is TEX_ERR_TRIP naming `where` ("model.tex:3:9").
 * A while loop (cond_state >= 0) runs iteration t only while that state, a
 * bool (uint8) scalar, is nonzero in cur; still nonzero after trip
 * iterations is TEX_ERR_MAXITER naming `where`.
 * A revolve loop (snaps > 0, the backward sweep of checkpoint=revolve(S)):
 * states 0 .. nprim-1 are primal states, the others the sweep's own.  The
 * nadvance steps after the body's nbody steps are the advance body: run
 * with step t in `index`, it turns the primal states P_t in cur into P_{t+1}
 * in next (those pointers then swap).  Iteration t of the body runs with
 * P_{trip-1-t} in cur (the runtime recomputes it by texrt_revolve's
 * schedule, keeping at most snaps of them, in the rows of buffer snap[k]
 * per primal state) and swaps only the other states; at the end the
 * primal states are P_0 again. */
typedef struct TexLoop {
  int32_t trip;                  /* buffer holding the trip count (int64) */
  int32_t index;
  int32_t nbody;
  int32_t nstates;
  const int32_t *cur, *next;     /* temporaries, per state */
  const char *where;
  int32_t nouts;
  const int32_t *slot, *stack;   /* temporaries, per stacked output */
  int32_t cond_state;            /* -1, or the while loop's flag state */
  int32_t once;                  /* 1: a one-kernel loop, whose one body step runs all
                                    the iterations itself, on cur[0] in place: run it once */
  int32_t nadvance;              /* revolve: the advance body's steps, after the body's */
  int32_t nprim;                 /* revolve: primal states (the first ones) */
  int32_t snaps;                 /* 0, or revolve: the stored states at most (S) */
  const int32_t *snap;           /* revolve: per primal state, a temporary of snaps rows */
} TexLoop;

/* An if step (issue 10): reads the bool (uint8) buffer `cond`, runs the
 * nthen steps after it if it is nonzero, else the nelse steps after those,
 * and continues after both.  Both branches write the if's values into the
 * same temporaries. */
typedef struct TexBranch {
  int32_t cond;
  int32_t nthen, nelse;
} TexBranch;

typedef struct TexStep {
  TexKernelFn fn;                /* NULL for a loop step */
  TexDimExpr extent;             /* iterations of the outer parallel loop */
  const int32_t *operands;       /* buffer numbers: arguments in ABI order, then temporaries */
  int32_t noperands;             /* 0: the kernel gets every buffer, in that order */
  const TexIndexCheck *checks;   /* the kernel's subscript checks */
  int32_t nchecks;
  const TexLoop *loop;           /* a loop step (fn NULL): the loop; else NULL */
  const TexBranch *branch;       /* an if step (fn NULL): the branches; else NULL */
  TexDimExpr work;               /* estimated element-operations per outer iteration */
  int32_t split;                 /* 1: outer iterations write disjoint memory, so the
                                    runtime may run [0, extent) as chunks on several
                                    threads (runtime/pool.c); 0: one call */
} TexStep;

#define TEX_MAX_OPERANDS 32

typedef struct TexTemp {
  TexDimExpr elems;              /* element count */
  uint8_t dtype;                 /* TexDType */
  int32_t reuses;                /* 0: memory of its own; k > 0: the memory of temporary
                                    k-1, whose value is dead by then (memory planning) */
} TexTemp;

/* Everything needed to run one exported function. */
typedef struct TexPlan {
  const TexModuleInfo *module;
  const TexFuncInfo *func;
  int32_t ntemps;
  const TexTemp *temps;
  int32_t nsteps;
  const TexStep *steps;
} TexPlan;

/* Limits of one function (sema keeps programs inside them). */
#define TEX_MAX_ARGS 1024
#define TEX_MAX_SYMS 256
#define TEX_MAX_TEMPS (1 << 20)

/* Checks the arguments against func, binds the symbols into syms[func->nsyms]
 * and writes each argument's data pointer (data + byte_offset) into bufs.  On
 * failure returns the status and sets the thread-local error message, which
 * names the function and the argument. */
int texrt_bind(const TexModuleInfo *module, const TexFuncInfo *func, const DLTensor *const *args, void **bufs, int64_t *syms);

/* Bytes per element of a TexDType (0 if unknown). */
int texrt_dtype_bytes(int dtype);

/* Evaluates a dim expression; returns TEX_OK or TEX_ERR_OVERFLOW/TEX_ERR_SHAPE
 * (division by zero, malformed code). */
int texrt_dim_eval(const TexDimExpr *e, const int64_t *syms, int64_t *out);

/* bind, CPU check, temporaries, steps: the body of every exported function. */
int texrt_run(const TexPlan *plan, const DLTensor *const *args);

/* The same with the temporaries in the caller's workspace: no allocation. */
int texrt_run_ws(const TexPlan *plan, const DLTensor *const *args, void *workspace, size_t workspace_bytes);

/* Per-thread scratch memory of at least `bytes` (4096-aligned), kept between
 * calls and freed at thread exit; NULL if it cannot be had.  Generated
 * kernels call it (the packed matmul's panels: runtime/scratch.c). */
void *texrt_scratch(size_t bytes);

/* Bytes of workspace texrt_run_ws needs for these arguments (0 if none). */
int texrt_workspace_size(const TexPlan *plan, const DLTensor *const *args, size_t *bytes);

/* plans[index] run on args: <prefix>_call(index, args) lets a generic loader
 * call function #index of module_info()->funcs with an array of tensors. */
int texrt_call(const TexPlan *const *plans, int32_t nplans, int32_t index, const DLTensor *const *args);

/* Thread-local message of the last failure in this module ("" if none). */
const char *texrt_last_error(void);

/* Sets the message; returns code so callers can `return texrt_fail(...)`. */
int texrt_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Checks once per process that the running CPU has every feature named in
 * module->cpu_features (comma-separated LLVM feature names). */
int texrt_check_cpu(const TexModuleInfo *module);

/* The check itself, with the CPU's features given by a predicate: unit-testable. */
int texrt_check_features(const char *required, int (*has)(const char *feature), char *missing, size_t missing_len);

/* ---- Threads (runtime/pool.c) ----------------------------------------------
 * A step marked split whose extent * work reaches TEX_PARALLEL_MIN_WORK
 * (default 131072) runs as contiguous chunks of its outer loop on a pool of
 * threads; results are bitwise identical at every thread count.  The count
 * is read once from TEX_NUM_THREADS (1..TEX_MAX_THREADS; another value is
 * ignored with a line on stderr), else the CPUs of sched_getaffinity.  Each
 * module (.so) has its own pool; <prefix>_set_num_threads calls the setter. */
#define TEX_MAX_THREADS 256

/* Sets the thread count (callers included) for later steps; 1 runs every
 * step on the calling thread.  TEX_ERR_ARG for n outside 1..TEX_MAX_THREADS. */
int texrt_set_num_threads(int n);
int texrt_num_threads(void);

/* Runs fn over [0, extent), split over the pool when worth it: 0, or 1
 * with *err the failure a serial run would have met first. */
int32_t texrt_parallel_for(TexKernelFn fn, void *const *ops, const int64_t *syms, int64_t extent, int64_t work, TexIndexError *err);

/* ---- Binomial checkpointing (runtime/revolve.c) ------------------------------
 * texrt_revolve runs steps trip-1 .. 0 back (back(t), each once, in that
 * order) with the state each starts with in the current buffers, keeping at
 * most `snaps` states (slots 0 .. snaps-1): the current buffers hold P_0
 * when it starts, advance(t) turns P_t into P_{t+1}, store(i) copies the
 * current state into slot i, restore(i) slot i into the current state.  The
 * advances are the fewest possible, texrt_revolve_advances(trip, snaps).
 * Returns 0, the first nonzero status of a callback, or -1 for snaps < 1. */
typedef struct TexRevolveOps {
  void *ctx;
  int (*advance)(void *ctx, int64_t t);
  int (*back)(void *ctx, int64_t t);
  int (*store)(void *ctx, int32_t slot);
  int (*restore)(void *ctx, int32_t slot);
} TexRevolveOps;
int texrt_revolve(int64_t trip, int32_t snaps, const TexRevolveOps *ops);
int64_t texrt_revolve_advances(int64_t n, int64_t snaps);
/* C(s+r, s) saturated at INT64_MAX (0 for r < 0); the split of n steps. */
int64_t texrt_revolve_beta(int64_t s, int64_t r);
int64_t texrt_revolve_split(int64_t n, int64_t s);

/* The one allocation hook of the runtime; tests replace it to inject failures. */
typedef void *(*TexAllocFn)(size_t bytes, size_t align);
typedef void (*TexFreeFn)(void *p);
void texrt_set_allocator(TexAllocFn alloc, TexFreeFn release);

#ifdef __cplusplus
}
#endif
#endif /* TEXRT_H */
