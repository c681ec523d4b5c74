/* ir.h — the SSA tensor IR and the base every phase shares.
 *
 * Sections follow the files of ir/:
 *   base.c     allocation hook, arenas, interned strings, ice()
 *   diag.c     source locations and caret diagnostics
 *   dims.c     symbolic dims: hash-consed integer polynomials
 *   ir.c       ops, dtypes, nodes, functions, modules, the builder
 *   print.c    the text form        parse.c  reading it back
 *   verify.c   the invariants every pass must keep
 *   kernel.c   kernels: the seam between passes and codegen
 *   dot.c      Graphviz pictures of the IR and its kernels
 */
#ifndef TEXC_IR_H
#define TEXC_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TEXC_VERSION "0.1.0"

/* ==== base.c ============================================================= */

/* texc's exit statuses (README, "Command line").  An internal compiler
 * error is not among them: ice() aborts, so it can never pass for one. */
typedef enum TexcExit {
  TEXC_EXIT_OK = 0,
  TEXC_EXIT_ERROR = 1,  /* the program has errors (diagnostics on stderr) */
  TEXC_EXIT_USAGE = 2,  /* a bad command line, or an input that cannot be read */
  TEXC_EXIT_OUTPUT = 3, /* an output cannot be written, or the link failed */
  TEXC_EXIT_NOMEM = 4,  /* out of memory: "texc: out of memory ..." */
} TexcExit;

/* The one allocation hook of the compiler, realloc-shaped (fn(NULL, n)
 * allocates, fn(p, n) resizes; freeing is always free()): every byte the
 * compiler allocates comes through it, so a test can make allocation fail.
 * Failure is fatal: "texc: out of memory", exit TEXC_EXIT_NOMEM.  NULL
 * restores libc's realloc. */
typedef void *(*TexReallocFn)(void *p, size_t n);
void tex_set_allocator(TexReallocFn fn);
void *tex_malloc(size_t n);
void *tex_calloc(size_t n, size_t size);
void *tex_realloc(void *p, size_t n);
void tex_free(void *p);
char *tex_strdup(const char *s);
/* A write-only stream into a string on the hook, like open_memstream: after
 * fclose, *buf is the NUL-terminated text (free it with tex_free) and *len
 * its length.  Unbuffered, so stdio allocates nothing but the FILE. */
FILE *tex_memstream(char **buf, size_t *len);
/* True if name is an item of the comma-separated list (NULL: empty). */
bool tex_in_list(const char *list, const char *name);

/* Internal compiler error: names the compiler's file and line, then aborts. */
#define ice(...) ice_at(__FILE__, __LINE__, __VA_ARGS__)
_Noreturn void ice_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Bump allocator in chunks; freed all at once.  Memory is zeroed. */
typedef struct ArenaChunk ArenaChunk;
typedef struct Arena {
  ArenaChunk *head; /* newest chunk first */
  size_t used;      /* bytes used in head */
} Arena;
void *arena_alloc(Arena *a, size_t n);
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(Arena *a);
#define ARENA_NEW(a, T) ((T *)arena_alloc((a), sizeof(T)))
#define ARENA_ARRAY(a, T, n) ((T *)arena_alloc((a), sizeof(T) * (size_t)(n)))

/* Growable array of pointers (heap, not arena: passes grow and drop them). */
typedef struct PtrVec {
  void **items;
  int len, cap;
} PtrVec;
void vec_push(PtrVec *v, void *p);
void vec_free(PtrVec *v);

/* ==== diag.c ============================================================= */

typedef struct SrcLoc {
  const char *file; /* interned; NULL for synthesised nodes */
  int line, col;    /* 1-based */
} SrcLoc;

/* Collects diagnostics for one compilation.  Knows the source text of every
 * file so errors can show the line and a caret. */
enum { DIAG_MAX_FILES = 64, DIAG_MAX_CONTEXT = 16 };
typedef struct Diag {
  const char *files[DIAG_MAX_FILES]; /* the main file and the modules it imports
                                        (sema refuses more: FE_MAX_MODULES) */
  const char *texts[DIAG_MAX_FILES];
  int nfiles;
  /* Context notes: while sema lowers a specialised function, each error
   * inside it is followed by "in f(x) called here with ..." for every
   * active context, innermost first (texts owned by the caller). */
  SrcLoc ctx_loc[DIAG_MAX_CONTEXT];
  const char *ctx_text[DIAG_MAX_CONTEXT];
  int nctx;          /* active contexts (only the first DIAG_MAX_CONTEXT are kept) */
  bool ctx_pending;  /* an error was reported inside a context: its notes are due */
  int errors;
  FILE *out;     /* stderr by default */
  bool color;
} Diag;
void diag_init(Diag *d, FILE *out);
void diag_add_source(Diag *d, const char *file, const char *text);
void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_verror(Diag *d, SrcLoc loc, const char *fmt, va_list ap);
void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Opens and closes a context (see Diag): text is shown as a note at loc. */
void diag_push_context(Diag *d, SrcLoc loc, const char *text);
void diag_pop_context(Diag *d);

/* ==== dims.c ============================================================= */

/* A dim is an integer polynomial over size symbols, hash-consed in a DimTable
 * so that two dims are equal exactly when their pointers are equal.  Terms are
 * kept sorted; a polynomial with no symbols is a literal. */
typedef const struct DimPoly *Dim;

typedef struct DimFactor {
  int sym;   /* symbol id in the table */
  int pow;   /* >= 1 */
} DimFactor;

typedef struct DimTerm {
  int64_t coef;        /* nonzero */
  int nfactors;
  DimFactor *factors;  /* sorted by sym */
} DimTerm;

struct DimPoly {
  int nterms;          /* 0 means the literal 0 */
  DimTerm *terms;      /* sorted: by degree descending, then factors */
  uint64_t hash;
  bool derived;        /* a bare derived symbol (dim_floordiv) */
};

typedef struct DimTable DimTable;
DimTable *dim_table_new(void);
void dim_table_free(DimTable *t);
int dim_symbol(DimTable *t, const char *name);     /* interns a symbol name */
const char *dim_symbol_name(DimTable *t, int sym);
int dim_nsymbols(DimTable *t);

Dim dim_lit(DimTable *t, int64_t v);
Dim dim_sym(DimTable *t, const char *name);
Dim dim_add(DimTable *t, Dim a, Dim b);
Dim dim_sub(DimTable *t, Dim a, Dim b);
Dim dim_mul(DimTable *t, Dim a, Dim b);
bool dim_is_lit(Dim d, int64_t *value);   /* value may be NULL */
bool dim_is_one(Dim d);
int dim_as_sym(Dim d);                    /* symbol id if d is a bare size symbol, else -1 */
/* a // c (c >= 1, floor): exact, a literal, or a derived symbol "(a // c)"
 * that stands for it (an atom of the polynomials, never bound by an
 * argument: its value comes from its definition). */
Dim dim_floordiv(DimTable *t, Dim a, int64_t c);
/* True if symbol sym is derived, with its definition num // den. */
bool dim_derived(DimTable *t, int sym, Dim *num, int64_t *den);
/* Replaces each symbol s by map[s] (NULL keeps s). */
Dim dim_subst(DimTable *t, Dim d, Dim const *map);
/* Appends a printed form ("N*D + 1") to buf; returns chars written. */
int dim_snprint(DimTable *t, Dim d, char *buf, size_t len);
void dim_fprint(DimTable *t, Dim d, FILE *f);
/* Evaluates with sym_values[symbol id] (derived symbols from their
 * definitions); false on overflow. */
bool dim_eval(DimTable *t, Dim d, const int64_t *sym_values, int64_t *out);
/* True (once) if arithmetic since the last call overflowed int64; the
 * result of that arithmetic is meaningless and must be reported. */
bool dim_overflowed(DimTable *t);

/* ==== ir.c =============================================================== */

typedef enum DType { DT_F32, DT_F64, DT_I32, DT_I64, DT_BOOL, DT_COUNT } DType;
extern const char *const dtype_names[DT_COUNT];
extern const int dtype_sizes[DT_COUNT];
bool dtype_is_float(DType t);
bool dtype_is_int(DType t);
int dtype_from_name(const char *name); /* -1 if unknown */

typedef enum Op {
#define OP(E, name, arity, attr, shape, dtr, flags) OP_##E,
#include "ops.def"
#undef OP
  OP_COUNT
} Op;

enum OpFlags {
  F_ELEM = 1 << 0,
  F_REDUCE = 1 << 1,
  F_COMM = 1 << 2,
  F_DIFF = 1 << 3,
  F_FOLD = 1 << 4,
  F_BUILTIN = 1 << 5,
};
typedef enum AttrKind {
  ATTR_NONE,
  ATTR_INDEX,
  ATTR_VALUE,
  ATTR_DIM,
  ATTR_AXES,
  ATTR_REDUCE,
  ATTR_CALLEE,
  ATTR_REGION,
  ATTR_BODY,
  ATTR_BRANCHES
} AttrKind;
/* SHAPE_SCAN: the operand's shape, along one axis of it (attr axes[0]). */
typedef enum ShapeRule {
  SHAPE_LEAF,
  SHAPE_SAME,
  SHAPE_BROADCAST,
  SHAPE_TRANSPOSE,
  SHAPE_REDUCE,
  SHAPE_MATMUL,
  SHAPE_SCAN,
  SHAPE_RESHAPE
} ShapeRule;
/* Result dtype and operand constraint. */
typedef enum DTypeRule {
  DTR_ATTR,   /* given by the node (param, const, cast, call) */
  DTR_SAME,   /* any dtype; result = operand 0 */
  DTR_NUM,    /* operands numeric (not bool), equal; result = operand 0 */
  DTR_FLOAT,  /* operands floating point, equal; result = operand 0 */
  DTR_INT,    /* operands integer (i32/i64), equal; result = operand 0 */
  DTR_CMP,    /* operands equal dtype; result bool */
  DTR_BOOL,   /* operands bool; result bool */
  DTR_SELECT, /* bool, T, T -> T */
  DTR_INDEX,  /* operand numeric (not bool); result i64 (argmax, argmin) */
} DTypeRule;

typedef struct OpInfo {
  const char *name;
  int arity;
  AttrKind attr;
  ShapeRule shape;
  DTypeRule dtype;
  unsigned flags;
} OpInfo;
extern const OpInfo op_info[OP_COUNT];
int op_from_name(const char *name); /* -1 if unknown */
/* The integer ops floordiv, mod, bitand, bitor, bitxor, shl, shr exactly as
 * generated code computes them (lang/reference.md): floor division, modulo
 * with the divisor's sign, x // 0 = x % 0 = 0, INT_MIN // -1 wraps to
 * INT_MIN, a shift count outside [0, bits) gives 0 (<<) or the sign fill
 * (>>).  bits is 32 or 64; a and b are values of that width, and so is the
 * result. */
int64_t ir_int_binop(Op op, int bits, int64_t a, int64_t b);

#define IR_MAX_RANK 8

typedef struct IrFunc IrFunc;
typedef struct IrNode IrNode;
typedef struct IrRegion IrRegion;

/* Op-specific data; op_info[op].attr says which fields are meaningful. */
typedef struct IrAttr {
  int64_t axes[IR_MAX_RANK]; /* ATTR_AXES: broadcast: output axis of each input axis;
                                transpose: perm (output axis i = input axis axes[i]);
                                ATTR_REDUCE: reduced axes, ascending;
                                ATTR_BODY (loop): checkpoint= levels, decreasing */
  int naxes;
  bool keepdims;             /* ATTR_REDUCE */
  double f;                  /* ATTR_VALUE for float dtypes */
  int64_t i;                 /* ATTR_VALUE for int/bool; ATTR_INDEX */
  Dim dim;                   /* ATTR_DIM: the value is this dim */
  IrFunc *callee;            /* ATTR_CALLEE */
  IrRegion *region;          /* ATTR_REGION (gen, scatter); immutable, so copies share it */
  IrFunc *body;              /* ATTR_BODY (loop): owned by the node (inlining copies it);
                                ATTR_BRANCHES (if): the then body */
  IrFunc *orelse;            /* ATTR_BRANCHES: the else body (owned like body);
                                ATTR_BODY: a revolve loop's advance body, else NULL */
  int snaps;                 /* ATTR_BODY: checkpoint=revolve(S): S (0: none); with orelse set,
                                a revolve loop (loop.c) keeping at most S primal states */
  int nprim;                 /* ATTR_BODY, a revolve loop: its primal states (the first ones) */
  bool is_while;             /* ATTR_BODY: a while loop: state 0 is its bool "go on" flag (the
                                body computes it for the next states), the trip count its
                                maximum; reaching it with the flag set is an error */
} IrAttr;

struct IrNode {
  Op op;
  DType dtype;
  int rank;
  Dim *shape;          /* rank dims, arena */
  int nargs;
  IrNode **args;       /* operands, defined earlier in the same function */
  IrAttr attr;
  SrcLoc loc;          /* the user's source position this value came from */
  const char *name;    /* params: the parameter name; else NULL */
  bool inout;          /* params: updated in place (`inout`) */
  int id;              /* index in the function's body after ir_renumber */
  IrNode *forward;     /* set by ir_replace: every use is redirected here */
  int uses;            /* scratch: use count, valid after ir_count_uses */
  void *aux;           /* scratch for the pass that owns it */
};

/* Functions the autodiff and jvp passes build from another one (ARCHITECTURE.md, seam 2).
 * Until built, a derived function has its signature (params, result types)
 * but no body, so calls to it can be checked and lowered before AD runs. */
/* A set of parameter indices: wrt=, the active arguments of a call.  A
 * source function takes at most TEX_MAX_PARAMS parameters (sema says so at
 * the parameter); derived functions nest (the jvp of a jvp doubles them
 * twice), so the set has room for IR_MAX_PARAMS. */
enum { IR_MAX_PARAMS = 4096 };
typedef struct ParamSet {
  uint64_t w[IR_MAX_PARAMS / 64];
} ParamSet;

static inline bool ps_has(const ParamSet *s, int i) { return i >= 0 && i < IR_MAX_PARAMS && (s->w[i / 64] >> (i % 64) & 1); }
static inline void ps_add(ParamSet *s, int i) {
  if (i >= 0 && i < IR_MAX_PARAMS) s->w[i / 64] |= UINT64_C(1) << (i % 64);
}
bool ps_empty(const ParamSet *s);
bool ps_equal(const ParamSet *a, const ParamSet *b);
int ps_count(const ParamSet *s);
/* The smallest member above i, or -1. */
int ps_next(const ParamSet *s, int i);

typedef enum DeriveKind {
  DERIVE_NONE,
  DERIVE_GRAD,           /* params -> gradient per wrt param (scalar result, seed 1) */
  DERIVE_VALUE_AND_GRAD, /* params -> value, gradient per wrt param */
  DERIVE_VJP,            /* params, cotangent per float result -> value(s), cotangent per wrt param */
  DERIVE_VJP_CT,         /* params, cotangent per float result -> cotangent per wrt param */
  DERIVE_JVP,            /* params, tangent per wrt param -> tangent per float result */
} DeriveKind;

struct IrFunc {
  const char *name;
  bool exported;       /* not `private`; gets a C symbol */
  SrcLoc loc;
  int nparams;
  IrNode **params;     /* OP_PARAM nodes; also the first nodes of body */
  PtrVec body;         /* IrNode*, topological order */
  int nresults;
  IrNode **results;
  const char **result_names;  /* ABI names of the outputs ("out", ...) */
  int nupdates;        /* the last nupdates results are written back into */
  int *update_param;   /* ... these inout params, not returned */
  /* derived functions */
  DeriveKind derive;
  IrFunc *derive_of;
  ParamSet wrt;        /* param i of derive_of is differentiated */
  bool built;          /* the body exists (always true when derive is NONE) */
  IrFunc *custom_vjp;  /* a user rule `grad f(...)`, with the DERIVE_VJP_CT signature */
};

typedef struct IrModule {
  Arena arena;         /* nodes, shapes, names */
  DimTable *dims;
  const char *name;    /* the prefix */
  const char *source;  /* file it came from */
  PtrVec funcs;        /* IrFunc* */
  PtrVec regions;      /* IrFunc*: the bodies of regions (not functions of the module) */
  PtrVec imports;      /* const char*: real paths of the modules `import` read (--depfile) */
  bool fast_math;      /* --fast-math: value-changing rewrites allowed */
  int rule_hits[128];  /* times each rewrite rule fired (--stats) */
  /* The first op autodiff or jvp had to differentiate without a rule
   * (trigamma): the driver reports it as an error.  NULL if none. */
  const char *nondiff_op;
  const char *nondiff_why; /* the error's text when it is not a missing rule */
  SrcLoc nondiff_at;
} IrModule;

IrModule *ir_module_new(const char *name);
void ir_module_free(IrModule *m);
IrFunc *ir_func_new(IrModule *m, const char *name, SrcLoc loc);
IrFunc *ir_find_func(IrModule *m, const char *name);
IrNode *ir_param(IrModule *m, IrFunc *f, const char *name, DType t, int rank, const Dim *shape, SrcLoc loc);
void ir_set_results(IrModule *m, IrFunc *f, int n, IrNode *const *results);
/* A result placeholder: a typed node outside any body, for signatures. */
IrNode *ir_placeholder(IrModule *m, DType t, int rank, const Dim *shape);
/* The derived function of `of` (memoised per kind and wrt): declared now,
 * built by the autodiff/jvp pass.  name NULL: "<of>__<kind>". */
IrFunc *ir_derive(IrModule *m, IrFunc *of, DeriveKind kind, const ParamSet *wrt, const char *name, SrcLoc loc);
extern const char *const derive_kind_names[];
/* Floating-point params of f as a wrt set. */
ParamSet ir_float_params(const IrFunc *f);

/* The builder appends to f's body.  It checks nothing (ir_verify does) and does
 * not hash-cons (CSE is a pass). */
IrNode *ir_node(IrModule *m, IrFunc *f, Op op, DType t, int rank, const Dim *shape, int nargs, IrNode *const *args, SrcLoc loc);
IrNode *ir_const(IrModule *m, IrFunc *f, DType t, double fv, int64_t iv, SrcLoc loc);
IrNode *ir_unary(IrModule *m, IrFunc *f, Op op, IrNode *a, SrcLoc loc);
IrNode *ir_binary(IrModule *m, IrFunc *f, Op op, IrNode *a, IrNode *b, SrcLoc loc);
IrNode *ir_cast(IrModule *m, IrFunc *f, IrNode *a, DType t, SrcLoc loc);
IrNode *ir_broadcast(IrModule *m, IrFunc *f, IrNode *a, int rank, const Dim *shape, SrcLoc loc);
IrNode *ir_transpose(IrModule *m, IrFunc *f, IrNode *a, const int64_t *perm, SrcLoc loc);
IrNode *ir_reduce(IrModule *m, IrFunc *f, Op op, IrNode *a, unsigned axis_mask, bool keepdims, SrcLoc loc);
IrNode *ir_matmul(IrModule *m, IrFunc *f, IrNode *a, IrNode *b, SrcLoc loc);
/* cumsum or cumsum_rev of a along axis (0 <= axis < rank). */
IrNode *ir_scan(IrModule *m, IrFunc *f, Op op, IrNode *a, int axis, SrcLoc loc);
/* The broadcast batch dims of a @ b (all but the matrix dims); false if they
 * do not broadcast.  batch has room for IR_MAX_RANK dims. */
bool ir_matmul_batch(const IrNode *a, const IrNode *b, int *nbatch, Dim *batch);
IrNode *ir_reshape(IrModule *m, IrFunc *f, IrNode *a, int rank, const Dim *shape, SrcLoc loc);
/* The element count of a shape, as a dim. */
Dim ir_numel(IrModule *m, int rank, const Dim *shape);

/* Shape inference by op_info[op].shape for a node with its args and attrs set;
 * false if the operands do not fit (ir_verify reports it). */
bool ir_infer_shape(IrModule *m, const IrNode *n, int *rank, Dim *shape);
/* Dtype inference by op_info[op].dtype; false if the operands do not fit. */
bool ir_infer_dtype(const IrNode *n, DType *out);

/* Redirects every use of old to new; takes effect as users are resolved. */
void ir_replace(IrNode *old, IrNode *new_node);
IrNode *ir_resolve(IrNode *n);
/* Follows forwards in all operands and results, drops the replaced nodes and
 * renumbers.  Passes call it when done.  (Unused nodes stay: that is DCE.) */
void ir_compact(IrFunc *f);
void ir_renumber(IrFunc *f);
/* The one rebuild loop of the rewriting passes: f's body is walked in order,
 * each node's operands resolved first; visit returns NULL to keep n, a node
 * to replace it (built at n's position, so order stays topological), or
 * IR_DROPPED when it disposed of n itself.  Results are resolved and the
 * body renumbered at the end. */
typedef IrNode *(*IrVisit)(void *ctx, IrFunc *f, IrNode *n);
extern IrNode ir_dropped;
#define IR_DROPPED (&ir_dropped)
void ir_rewrite(IrFunc *f, IrVisit visit, void *ctx);
void ir_count_uses(IrFunc *f);
int64_t ir_numel_lit(const IrNode *n); /* element count if all dims literal, else -1 */
bool ir_same_shape(const IrNode *a, const IrNode *b);

/* ==== region.c =========================================================== */

/* Index notation (design §3: structured regions, no CFG).  A gen or scatter
 * node owns a region: a function of its index variables, each an i64 scalar
 * parameter of the region's body ranging over [0, extent).  Every node of
 * the body is a scalar; `read` (attr.i = K, one subscript per axis) loads an
 * element of the gen node's operand K.
 *   gen      out[i0..i(r-1)] = the body's value; index variables past the
 *            node's rank r are reduced by `reduce` (sum, max, min) in texc's
 *            reduction order over them, flattened row-major.
 *   scatter  out starts at zero; for every point of the index space, in
 *            row-major order, out[s0..s(r-1)] += v, where the body returns
 *            v, s0, ..., s(r-1).  (The gradient of a gather.)
 * Region bodies are not in the module's function list: passes that walk
 * functions leave them alone, and a region is never edited once built, so
 * inlining and cloning share it (ir_region_subst copies one when size
 * symbols are renamed). */
enum { IR_MAX_INDICES = IR_MAX_RANK + 1 }; /* index variables of one region */
struct IrRegion {
  IrFunc *body;     /* params: the index variables; results: see above */
  int nidx;         /* = body->nparams */
  Dim extent[IR_MAX_INDICES];
  Op reduce;        /* gen with reduced variables: OP_SUM, OP_RMAX or OP_RMIN */
};
/* A region body: an IrFunc outside the module's list, with nidx i64 params. */
IrRegion *ir_region_new(IrModule *m, int nidx, const char *const *names, const Dim *extent, SrcLoc loc);
/* r with every size symbol s replaced by map[s] (r itself if none changes). */
IrRegion *ir_region_subst(IrModule *m, IrRegion *r, const Dim *map);

/* ==== loop.c ============================================================= */

/* A forward loop with carried state (design §3: a structured region).
 *   %l = loop %T, %s0.., %c.. : type of state 0   body(%t: i64, %s: S.., %c: C..) { ... return %s1.. }
 * runs the body T times (T < 0 is a call-time error), t = 0, 1, ..., T - 1,
 * each time on the states the previous iteration returned (the initial ones
 * first); its value is the last states (the initial ones when T = 0).  The
 * body is a function of its own: it reads nothing of the enclosing function
 * but its params, so every pass that works on a function works on a body
 * unchanged; the captured values are the loop's trailing operands.  With
 * several states the loop is used only through OP_PROJ (one per state).
 * Bodies are kept in m->regions (freed with the module) and owned by one
 * node: inlining and cloning copy them (ir_loop_body_copy). */
/* A scan is a loop with stacked outputs (attr.i of them): its body returns
 * the next states, then one per-step value per output, and output j is
 * those values stacked along a new leading axis of the trip count's extent
 * (so that count must be a size: ir_loop_trip_dim).  A loop with stacked
 * outputs is used through OP_PROJ: proj k < nstates is a final state, proj
 * nstates + j is output j. */
/* A revolve loop (attr.orelse set: the backward sweep of a loop with
 * checkpoint=revolve(S), passes/grad_loop.c) has a second body, the advance
 * body, with the body's params; states 0 .. nprim-1 are primal states P,
 * the others the sweep's own C.  With P_0 the initial primal states and
 * P_{t+1} the first nprim results of advance(t, P_t, C, captures), iteration
 * t of the body runs on P_{T-1-t} and the current C; its results past the
 * primal ones are the next C (and its outputs).  Each body returns the
 * states it does not compute as they came (the advance body C, the body P),
 * and the loop's primal states are P_0 at the end.  The runtime keeps at
 * most attr.snaps of the P_t and recomputes the others (texrt_revolve).
 *   %l = loop %T, %p0.., %c0.., %x.., states=N, revolve=S, primal=M : T  body(...) { ... } advance(...) { ... } */
enum { IR_LOOP_FIXED = 1 }; /* operands before the states: the trip count */
IrFunc *ir_loop_body_new(IrModule *m, SrcLoc loc);
/* Inserts a param into a body after its existing params (captures are
 * found while the body is lowered). */
IrNode *ir_loop_capture_param(IrModule *m, IrFunc *body, const char *name, const IrNode *like, SrcLoc loc);
int ir_loop_nstates(const IrNode *loop);
int ir_loop_nouts(const IrNode *loop);
/* The trip count as a dim (a constant or a dimsize operand), else NULL. */
Dim ir_loop_trip_dim(IrModule *m, const IrNode *loop);
/* The type of proj k of a loop (a state, or a stacked output); false if
 * k is out of range or the output cannot be stacked (no trip dim, rank). */
bool ir_loop_proj_type(IrModule *m, const IrNode *loop, int k, DType *t, int *rank, Dim *shape);
/* A copy of body with every size symbol s replaced by map[s] (NULL: none). */
IrFunc *ir_loop_body_copy(IrModule *m, IrFunc *body, const Dim *map);
/* Calls fn on every loop body nested in f (innermost first), then on f. */
void ir_each_body(IrFunc *f, void (*fn)(void *ctx, IrFunc *f), void *ctx);
/* The same for every built function of m. */
void ir_module_each_body(IrModule *m, void (*fn)(void *ctx, IrFunc *f), void *ctx);
/* Appends every node of f and of the loop bodies nested in it (pre-order). */
void ir_all_nodes(IrFunc *f, PtrVec *out);
/* The lazy conditional (issue 10):
 *   %v = if %c, %x.., values=N : type of value 0  then(%x: X..) { ... return %a.. } else(%x: X..) { ... return %b.. }
 * runs only the body the bool scalar c picks; both bodies have the same
 * params (the captured values, operands 1..) and give N values of the same
 * types; the node is value 0, and with N > 1 it is used only through
 * OP_PROJ.  Bodies are made with ir_loop_body_new and owned like a loop's. */
enum { IR_IF_FIXED = 1 }; /* operands before the captures: the condition */
int ir_if_nvalues(const IrNode *n);
/* The bodies a node owns (a loop's, an if's two) into out[2]; their number. */
int ir_node_bodies(const IrNode *n, IrFunc **out);

/* ==== build.c =========================================================== */

/* The IR builder passes write with (rewrite rules, gradient rules, derived
 * functions): where code is being built and the source location it carries.
 * Scalar (rank 0) operands of binary helpers are broadcast to the other
 * operand's shape. */
typedef struct IrBuilder {
  IrModule *m;
  IrFunc *f;
  SrcLoc loc;
} IrBuilder;

IrNode *irb_const(IrBuilder *ib, DType t, double v);
IrNode *irb_fill(IrBuilder *ib, const IrNode *like, double v);
IrNode *irb_bcast_axes(IrBuilder *ib, IrNode *x, int rank, const Dim *shape, const int64_t *axes);
IrNode *irb_bcast_like(IrBuilder *ib, IrNode *x, const IrNode *like);
IrNode *irb_un(IrBuilder *ib, Op op, IrNode *x);
IrNode *irb_bin(IrBuilder *ib, Op op, IrNode *a, IrNode *b);
IrNode *irb_sel(IrBuilder *ib, IrNode *c, IrNode *a, IrNode *b);
IrNode *irb_cast(IrBuilder *ib, IrNode *x, DType t);
IrNode *irb_reduce(IrBuilder *ib, Op op, IrNode *x, unsigned mask, bool keepdims);
IrNode *irb_transpose(IrBuilder *ib, IrNode *x, const int64_t *perm);
IrNode *irb_t(IrBuilder *ib, IrNode *x);
IrNode *irb_matmul(IrBuilder *ib, IrNode *a, IrNode *b);
IrNode *irb_scan(IrBuilder *ib, Op op, IrNode *x, int axis);
/* x[t]: row t (an i64 scalar) of x, by a gen that reads it. */
IrNode *irb_row(IrBuilder *ib, IrNode *x, IrNode *t);
/* x with like's shape (no node if the shapes are equal). */
IrNode *irb_reshape_like(IrBuilder *ib, IrNode *x, const IrNode *like);
IrNode *irb_add(IrBuilder *ib, IrNode *a, IrNode *b);
IrNode *irb_or_zeros(IrBuilder *ib, IrNode *x, const IrNode *like);
/* Calls callee with args; writes one value per callee result into results
 * (shapes substituted from the arguments). */
void irb_call(IrBuilder *ib, IrFunc *callee, IrNode *const *args, IrNode **results);
/* A placeholder with the type result k of callee has at this call. */
IrNode *irb_result_like(IrBuilder *ib, IrFunc *callee, IrNode *const *args, int k);
/* A copy of n at the end of g, its operands mapped through map (by id). */
IrNode *irb_clone_node(IrModule *m, IrFunc *g, const IrNode *n, IrNode *const *map);
/* Copies `of`'s body into g (params of `of` become g's first params);
 * returns the map from of-node ids to copies (caller frees). */
IrNode **irb_clone_body(IrModule *m, IrFunc *of, IrFunc *g);

/* ==== print.c / parse.c ================================================== */

void ir_print_module(FILE *out, IrModule *m);
void ir_print_func(FILE *out, IrModule *m, IrFunc *f);
/* Shape as the user wrote it: "f32[N, 10]". */
int ir_type_snprint(IrModule *m, DType t, int rank, const Dim *shape, char *buf, size_t len);
/* A constant as the text form writes it: bit-exact digits, inf, nan, true. */
void ir_print_value(FILE *out, DType t, double f, int64_t i);
/* Parses the text form; reports errors through d.  NULL on error. */
IrModule *ir_parse(const char *file, const char *text, Diag *d);

/* ==== verify.c =========================================================== */

/* Checks SSA order, operand counts, dtypes, shapes and attributes of every
 * node.  Returns the number of problems, each printed to out as
 * "verify: <func> %id: <problem>".  after names the pass that ran last. */
int ir_verify(IrModule *m, FILE *out, const char *after);

/* ==== kernel.c =========================================================== */

/* A kernel is a loop nest over an iteration space with a scalar body: the seam
 * between passes (which build kernels) and codegen (CPU or NVPTX); ARCHITECTURE.md, seam 3.
 *
 * Operands are buffers of the plan.  Each operand axis is indexed by one loop
 * (loop[a] >= 0) or fixed at index 0 (loop[a] == -1, an extent-1 axis), so a
 * stride-0 broadcast or a transpose is just an access map. */
typedef enum KernelKind {
  K_MAP,      /* elementwise: every loop parallel */
  K_REDUCE,   /* trailing loops are reductions, combined in texc's order */
  K_MATMUL,   /* C[b..,m,n] = sum_k A[b..,m,k]*B[b..,k,n], k ascending with fma;
                 batch loops (parallel) come first */
  K_SCAN,     /* the last loop is sequential: the output at each of its points
                 combines the body's values up to there (from the end when
                 scan_reverse), in index order: an inclusive scan (cumsum) */
  K_SCATTER,  /* the body ends in OP_SCATTER: out[subs] += value, every loop in
                 order (the output is zeroed by the kernel before); loops are
                 sequential, since two points may add into one element */
} KernelKind;

typedef struct KOperand {
  int buf;                 /* plan buffer index */
  bool gathered;           /* read (or, the output, written) only at computed
                              subscripts (OP_READ, OP_SCATTER): no access map */
  DType dtype;
  int rank;
  Dim shape[IR_MAX_RANK];  /* the buffer's shape (compact row-major) */
  int loop[IR_MAX_RANK];   /* loop indexing each axis, or -1 */
} KOperand;

/* One scalar instruction of a kernel body: SSA over indices into body. */
typedef struct KInstr {
  Op op;                   /* OP_PARAM = load operand `operand`; OP_CONST = immediate;
                              OP_MATMUL = the accumulator of a K_MATMUL kernel;
                              OP_INDEX = the counter of loop `i` (i64);
                              OP_READ = load operand `operand` at subscripts sub;
                              OP_SCATTER = out[sub] += args[0] (last, K_SCATTER) */
  DType dtype;
  int args[3];
  int operand;             /* OP_PARAM, OP_READ: input operand index */
  double f;                /* OP_CONST */
  int64_t i;
  Dim dim;                 /* OP_DIMSIZE */
  int nsub;                /* OP_READ, OP_SCATTER: one subscript (an instruction) per axis */
  int sub[IR_MAX_RANK];
  unsigned check;          /* ... subscripts not proven in range: checked when run */
  int check_id;            /* ... the first of their entries in Kernel.checks */
  int pred1;               /* ... 1 + the bool instruction under which it happens
                              (a branch of where: neither read nor checked where it
                              is false; a read then gives 0), or 0: always */
} KInstr;

/* A subscript checked when the kernel runs.  Out of range, the kernel stops
 * and returns the check's number, the bad value and the values of `where`
 * (instructions) for the runtime's message (runtime/texrt.h, TexIndexCheck). */
typedef struct KCheck {
  int axis;                /* of the indexed operand */
  Dim extent;
  const char *what;        /* "index array 'y' (#4)", or "index at model.tex:3:9" */
  const char *array;       /* the indexed array: "argument 'E' (#1)" or "the value of model.tex:3:5" */
  const char *where_names; /* NULL: where[] are positions in the index array ("y[3, 2]");
                              else the names of the loop counters in where[] ("i,j") */
  int nwhere;
  int where[IR_MAX_RANK + 1];
} KCheck;

#define K_MAX_INPUTS 16
#define K_MAX_FUSED_DEPTH 128 /* ops chained in one kernel body (fusion splits deeper trees) */
typedef struct Kernel {
  const char *name;
  KernelKind kind;
  int nloops;
  Dim extent[IR_MAX_RANK + 1];
  bool reduce[IR_MAX_RANK + 1];  /* reduction loops come after parallel ones */
  int ninputs;
  KOperand in[K_MAX_INPUTS];
  KOperand out;
  int nbody;
  KInstr *body;            /* value of the last instruction is the result */
  Op combiner;             /* K_REDUCE: OP_ADD, OP_MUL, OP_MAX, OP_MIN, OP_OR, OP_AND
                              (values of the body's dtype), or OP_ARGMAX / OP_ARGMIN:
                              an indexed combiner, whose accumulator is a pair (value,
                              index in the flattened reduced axes) and whose result is
                              the index (kernel_indexed); K_SCAN: OP_ADD */
  bool scan_reverse;       /* K_SCAN: run from the last index down */
  int mm_m, mm_n, mm_k;    /* K_MATMUL: the loops of C's rows, C's columns and the
                              contraction, or -1 (a vector operand has no m or n);
                              an output axis of literal extent 1 has no loop in
                              its map, so the roles are recorded here */
  int inplace;             /* K_MAP: the input operand whose memory the output
                              overwrites element by element (memory planning), or -1 */
  int nchecks;
  KCheck *checks;          /* run-time subscript checks (gathers, computed subscripts) */
  int seq_trip;            /* K_MAP of a one-kernel loop (issue 10): the input holding
                              the trip count T, or -1.  The kernel runs the T steps itself:
                              a sequential loop inside its element loops, whose counter is
                              OP_INDEX i = nloops (t) */
  int seq_state;           /* ... the input that is the loop's state, or -1: read at the
                              output's element, and the output is the same buffer */
  int rows;                /* issue 11, a row group (passes/kernels_rows.c): on its first
                              kernel the number of kernels in it (>= 2), -1 on the others
                              (run by the first's step, row block by row block), else 0 */
  bool blocks;             /* issue 11, K_REDUCE over every loop (no parallel loop): one
                              result per block of TEX_REDUCE_BLOCK elements, out[b] for the
                              blocks b in [begin, end) (out is [ceil(L / B)]) */
  bool unblocked;          /* K_REDUCE: rules 2-3 of the reduction order only, never
                              blocked (the final combination of a blocks kernel's results) */
  SrcLoc loc;
} Kernel;
/* lang/reference.md, reduction order, rule 4: reductions of more elements are
 * blocked, and a full reduction's blocks are the range threads split. */
#define TEX_REDUCE_BLOCK 4096
#define TEX_ROWS_MAX_OPERANDS 32 /* operands of a row group's step (texrt.h TEX_MAX_OPERANDS) */

/* A loop of the plan (issue 10): the kernels [first, last) are its body
 * (nested loops' kernels included), run `trip` times by the runtime, which
 * writes the counter into `index` before each iteration.  The body reads
 * the states from cur[k] and writes the next ones into next[k]; the runtime
 * swaps the two pointers after each iteration (double buffering, nothing
 * allocated), and after the last one leaves the final state in cur[k]'s
 * own memory, which the code after the loop reads. */
typedef struct KLoop {
  int first, last;
  int trip;                /* rank-0 i64 buffer: the trip count */
  int index;               /* rank-0 i64 temporary: t */
  int nstates;
  int *cur, *next;         /* temporaries, per state */
  int nouts;               /* stacked outputs: before iteration t the runtime points */
  int *slot, *stack;       /* slot[j] at row t of stack[j], where the body writes it */
  int cond_state;          /* -1, or a while loop's bool flag state (runs while it is set) */
  bool once;               /* a one-kernel loop: its body is one kernel (seq_trip) that
                              runs every step on cur[0] in place; the runtime runs it once */
  SrcLoc loc;
  int mid;                 /* revolve: the body is [first, mid), the advance body [mid, last);
                              else last */
  int snaps, nprim;        /* revolve: S, the primal states (the first nprim) */
  int *snap;               /* revolve: per primal state, a temporary of snaps rows */
} KLoop;

/* An if of the plan (issue 10): the runtime reads the bool scalar buffer
 * `cond` before kernel `first`, then runs the then kernels [first, mid) or
 * the else kernels [mid, last) (nested loops' and ifs' included); both
 * write value k into res[k]. */
typedef struct KBranch {
  int first, mid, last;
  int cond;
  int nvalues;
  int *res;                /* temporaries, per value (consecutive when built) */
} KBranch;

/* The compiled form of one function: its buffers and kernels in order. */
typedef struct KBuffer {
  DType dtype;
  int rank;
  Dim shape[IR_MAX_RANK];
  bool is_param;           /* an ABI argument; else a temporary */
  bool inout;              /* an input the function also writes (updated in place) */
  int reuses;              /* temporaries: the buffer whose memory this one takes over
                              (memory planning), or -1 */
  bool repointed;          /* a loop's output slot: the runtime points it into a stack */
} KBuffer;

typedef struct KProgram {
  IrFunc *func;
  int nbufs;
  KBuffer *bufs;           /* ABI arguments in order (inputs, outputs), then temporaries */
  int nparams, ninputs;
  int nkernels;
  Kernel *kernels;
  int nsyms;
  int *syms;               /* DimTable symbol ids of the function, in ABI order */
  int *kernel_of;          /* per IR node id: the kernel computing it, or -1 */
  int nloops;
  KLoop *loops;            /* outer loops before the loops nested in them */
  int nbranches;
  KBranch *branches;       /* outer ifs before the ifs nested in them */
} KProgram;

void kernel_print(FILE *out, IrModule *m, const KProgram *p);
/* True if k's combiner carries an index beside the value (argmax/argmin). */
static inline bool kernel_indexed(const Kernel *k) { return k->kind == K_REDUCE && (k->combiner == OP_ARGMAX || k->combiner == OP_ARGMIN); }
/* One function as a Graphviz cluster named by prefix; with kernel_of, the
 * values of each kernel are drawn inside a nested cluster (ir/dot.c). */
void ir_dot_func(FILE *out, IrModule *m, IrFunc *f, const char *prefix, const int *kernel_of, int nkernels);
/* Bytes of temporaries a call needs: with the planned reuse, or without. */
Dim kernel_temp_bytes(IrModule *m, const KProgram *p, bool planned);

#endif /* TEXC_IR_H */
