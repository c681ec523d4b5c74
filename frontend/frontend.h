/* frontend.h — source text -> tokens -> AST -> checked, lowered IR.
 *
 * Sections follow the files of frontend/:
 *   lexer.re   re2c lexer (reentrant: all state in Lexer)
 *   parser.y   Bison LALR(1) grammar, pure, with locations; builds the AST
 *   ast.c      AST constructors and a debugging printer
 *   sema.c     names, dtypes, symbolic shapes, broadcasting; lowers to IR
 *   builtins.c the builtins: sugar over IR ops (mean, softmax, ...) and the
 *              differentiation builtins (grad, value_and_grad, vjp, jvp)
 *   shape.c    size symbols as values, polynomial dims, the shape builtins
 *   main.c     the texc command line
 */
#ifndef TEXC_FRONTEND_H
#define TEXC_FRONTEND_H

#include "ir.h"

/* ==== AST ================================================================ */

typedef enum ExprKind {
  E_INT,
  E_FLOAT,
  E_BOOL,
  E_NAME,
  E_UNARY,
  E_BINARY,
  E_CALL,
  E_TUPLE,
  E_INDEX,   /* lhs[args...]: subscripts (each an expression or an E_SLICE) */
  E_SLICE,   /* lhs:rhs:step inside a subscript; each part may be NULL */
  E_REDUCE,  /* name[args...] lhs: a reduction in index notation, `sum[k] x[i, k]` */
  E_LIST,    /* [args...]: an array literal */
  E_TYPE,  /* an array type as an argument: zeros(f32[N, 3]) */
  E_LOOP,  /* loop name < lhs with (args) { stmts }, or while rhs with (args) max=N { stmts }: frontend/loop.c */
  E_IF,    /* if lhs rhs else orelse (E_BLOCKs; else if: a block whose value is an E_IF): frontend/cond.c */
  E_BLOCK, /* { stmts yield args }: a branch of an if; args are its values */
  E_ERROR,
} ExprKind;

/* Operators of E_UNARY / E_BINARY. */
typedef enum BinOp {
  B_ADD,
  B_SUB,
  B_MUL,
  B_DIV,
  B_POW,
  B_MATMUL,
  B_EQ,
  B_NE,
  B_LT,
  B_LE,
  B_GT,
  B_GE,
  B_AND,
  B_OR,
  B_FLOORDIV, /* issue 9: integer division and bit ops */
  B_MOD,
  B_BITAND,
  B_BITOR,
  B_BITXOR,
  B_SHL,
  B_SHR,
  U_NEG,
  U_NOT,
} BinOp;

typedef struct Expr Expr;
typedef struct Arg {
  const char *name;  /* named argument (`axis=1`), else NULL */
  Expr *value;
  SrcLoc loc;
} Arg;

struct Expr {
  ExprKind kind;
  SrcLoc loc;        /* the operator, the callee name, or the literal */
  BinOp op;          /* E_UNARY, E_BINARY */
  Expr *lhs, *rhs;   /* E_UNARY uses lhs */
  Expr *step;        /* E_SLICE */
  const char *name;  /* E_NAME, E_CALL (callee) */
  const char *qual;  /* E_CALL `nn.relu(x)`: the module name ("nn"), else NULL */
  int64_t ival;      /* E_INT, E_BOOL */
  double fval;       /* E_FLOAT */
  int nargs;         /* E_CALL; E_TUPLE `(a, b)`: its elements (unnamed) */
  Arg *args;
  struct TypeExpr *type; /* E_TYPE */
  struct Stmt *stmts;    /* E_LOOP: the body, ending in S_NEXT */
  int nstmts;
  bool body_bad;         /* E_LOOP, E_BLOCK: statements of the body were dropped (syntax) */
  Arg *opt;              /* E_LOOP: `checkpoint=K` (`max=N` of a while) after the states, else NULL */
  bool scan;             /* E_LOOP: a scan (its body ends in S_EMIT) */
  Expr *orelse;          /* E_IF: the else block */
};

typedef struct DimExpr {
  const char *sym;   /* symbol name, or NULL for a literal */
  int64_t lit;
  Expr *poly;        /* else a polynomial (`N*D + 1`): + - * over literals and symbols */
  SrcLoc loc;
} DimExpr;

typedef struct TypeExpr {
  DType dtype;
  int rank;
  DimExpr *dims;
  SrcLoc loc;
} TypeExpr;

typedef struct Param {
  const char *name;
  TypeExpr type;
  bool inout;        /* `x: inout f32[N]`: updated in place */
  bool poly;         /* `x` without a type: any dtype and rank (poly.c) */
  Expr *def;         /* `axis = -1`: a compile-time constant with this default */
  SrcLoc loc;
} Param;

/* A name a statement binds; `_` in a let pattern binds nothing. */
typedef struct BindName {
  const char *name;
  SrcLoc loc;
} BindName;

typedef enum StmtKind { S_LET, S_RETURN, S_UPDATE, S_NEXT, S_EMIT } StmtKind;
typedef struct Stmt {
  StmtKind kind;
  const char *name;  /* S_LET `let x = ...`, S_UPDATE */
  int nnames;        /* S_LET with a pattern `let (a, _) = ...`: 0 otherwise */
  BindName *names;
  int nvalues;       /* S_RETURN `return a, b`, S_NEXT `next a, b`, S_EMIT: its values */
  Expr **values;
  Expr *value;       /* S_LET, S_UPDATE; S_RETURN: values[0] */
  int nindex;        /* S_LET in index notation, `let d[i, j < M] = ...`: its index list */
  Arg *index;
  SrcLoc loc;        /* S_LET, S_UPDATE: the (first) name; S_RETURN: 'return' */
} Stmt;

/* A function, or a gradient rule `grad NAME(...) -> ... { ... }` for the
 * function NAME (is_rule). */
typedef struct FnDecl {
  const char *name;
  bool private_;
  bool is_rule;
  int nparams;
  Param *params;
  int nresults;      /* `-> T` is one; `-> (T, U)` several; 0: no `-> T`
                        (inferred, polymorphic functions only) */
  TypeExpr *results;
  int nstmts;
  Stmt *stmts;
  SrcLoc loc;        /* the name */
  bool had_syntax_error; /* statements were dropped: sema stays quiet about
                            what they may have defined */
} FnDecl;

/* `import NAME` at the top of a file. */
typedef struct Import {
  const char *name;
  SrcLoc loc;
} Import;

typedef struct Program {
  Arena *arena;
  const char *file;
  PtrVec fns;        /* FnDecl*, functions and rules in source order */
  PtrVec imports;    /* Import*, in source order */
} Program;

/* ==== lexer.re =========================================================== */

typedef struct Lexer {
  const char *file;  /* interned name used in every SrcLoc */
  const char *start; /* whole text, NUL-terminated */
  const char *cur, *tok, *marker, *line_start;
  const char *end;   /* the terminating NUL */
  int line;
  int depth;         /* open parentheses and brackets */
  bool stopped;      /* nested past FE_MAX_NESTING: the rest of the file is skipped */
  Arena *arena;
  Diag *diag;
} Lexer;

/* Limits of the source text, each reported with a caret where it is passed.
 * FE_MAX_PARSE_DEPTH bounds the parser's stack (unary operators and `**`
 * chains nest without brackets); it fits FE_MAX_NESTING levels of brackets
 * with room for the states between them. */
enum { FE_MAX_IDENT = 1024, FE_MAX_NESTING = 256, FE_MAX_PARSE_DEPTH = 8 * FE_MAX_NESTING };
/* Operations in all functions once every call is inlined (sema checks it
 * before the inline pass builds them). */
enum { FE_MAX_INLINED = 1 << 20 };
/* checkpoint= segment lengths (the IR text form's limit too). */
enum { FE_MAX_CHECKPOINT = 0x7fffffff };
/* checkpoint=revolve(S): the stored states at most (each slot is a state's
 * memory, taken when the call starts, whatever the trip count). */
enum { FE_MAX_REVOLVE = 4096 };

void lexer_init(Lexer *lx, const char *file, const char *text, Arena *arena, Diag *diag);

/* ==== parser.y =========================================================== */

/* Parses a whole file into prog; errors go to diag (recovering at statement
 * and function boundaries).  Returns the number of syntax errors. */
int fe_parse(Program *prog, const char *file, const char *text, Arena *arena, Diag *diag);

/* ==== ast.c ============================================================== */

Expr *ast_expr(Arena *a, ExprKind kind, SrcLoc loc);
const char *ast_binop_text(BinOp op);
void ast_print(FILE *out, const Program *prog);

/* ==== sema.c ============================================================= */

/* Checks prog and lowers it into m: one IR function per fn (callees become
 * OP_CALL, inlined later).  The modules it imports are searched beside
 * prog->file, then in stdlib (NULL: the default, modules.c).  Returns the
 * number of errors reported to diag. */
int fe_lower(const Program *prog, IrModule *m, const char *stdlib, Diag *diag);

/* Reads, parses and lowers one .tex file (text owned by the caller). */
IrModule *fe_compile_text(const char *file, const char *text, const char *prefix, Diag *diag);
/* The same with a standard library folder (NULL: the default). */
IrModule *fe_compile_text_stdlib(const char *file, const char *text, const char *prefix, const char *stdlib, Diag *diag);

/* ==== modules.c ========================================================== */

/* A program has at most FE_MAX_MODULES modules besides its main file (each
 * file's source is kept for diagnostics); specialisations of polymorphic
 * functions nest at most FE_MAX_SPEC_DEPTH deep (a chain of calls between
 * them, each lowered inside the one before). */
enum { FE_MAX_MODULES = DIAG_MAX_FILES - 1, FE_MAX_SPEC_DEPTH = 64 };

/* One source file of a program: the main file or a module it imports. */
typedef struct Unit {
  const char *name;      /* module name ("nn"); NULL for the main file */
  const char *irname;    /* prefix of its IR functions ("nn" -> @nn__relu) */
  const char *path;      /* its file, as messages show it */
  const char *real;      /* its real path (modules: each file is loaded once) */
  const char *dir;       /* the folder its own imports are searched in first */
  Program prog;
  Arena ast;
  IrFunc **funcs;        /* per item of prog.fns; NULL for polymorphic functions */
  int *fn_slot;          /* name hash of prog.fns (sema.c) */
  uint32_t fn_nslots;
  struct Unit **imports; /* per item of prog.imports; NULL where it failed */
  bool loading;          /* on the import stack: importing it again is a cycle */
  PtrVec specs;          /* PolySpec* (poly.c): its memoised specialisations */
} Unit;

/* Every unit of one compilation: each module is parsed once. */
typedef struct Modules {
  PtrVec units;          /* Unit*, the main file first */
  PtrVec stack;          /* Unit* being loaded, outermost first (cycle messages) */
  const char *stdlib;    /* --stdlib / TEXC_STDLIB, or NULL */
} Modules;

struct Sema;
/* Loads the imports of s->unit (each module once, lowered on first use). */
void sema_load_imports(struct Sema *s);
/* `nn.relu(x)`: a call into an imported module. */
struct Val sema_lower_qualified_call(struct Sema *s, const Expr *e);
void sema_free_modules(Modules *mods);

/* ==== poly.c ============================================================= */

/* Whether d has an untyped or constant parameter (or no result types). */
bool sema_decl_is_poly(const FnDecl *d);
/* Checks a polymorphic function's definition (index i of s->prog). */
void sema_check_poly_decl(struct Sema *s, const FnDecl *d);
/* A call to the polymorphic function d of unit u, label as messages show
 * it ("relu", "nn.relu"): specialised for its arguments, memoised. */
struct Val sema_poly_call(struct Sema *s, const Expr *e, const FnDecl *d, Unit *u, const char *label);

/* ==== sema internals (sema.c, builtins.c) ================================ */

/* The language's limits, each reported by sema with a caret at the first
 * thing past it.  They keep every exported function, derivatives included,
 * inside the runtime's ABI limits (texrt.h), which no program can reach: a
 * gradient has at most 2 * TEX_MAX_PARAMS + TEX_MAX_RESULTS arguments. */
enum { TEX_MAX_PARAMS = 256, TEX_MAX_CALL_ARGS = TEX_MAX_PARAMS, TEX_MAX_RESULTS = 64, TEX_MAX_FN_SYMS = 256, TEX_MAX_NESTING = 1000 };

/* A value during lowering: an IR node, a weak literal, a tuple (the results
 * of a call with several), or a poisoned value. */
typedef struct Val {
  IrNode *node;      /* typed value */
  bool weak;         /* literal without a dtype yet */
  bool weak_float;   /* weak: float literal (else int) */
  bool poison;       /* an error was already reported */
  double f;
  int64_t i;
  SrcLoc loc;
  int ntuple;        /* a tuple (node is NULL): tuple[0..ntuple) are the
                        OP_PROJ of each result */
  IrNode **tuple;
  const char *producer; /* tuple: what returned it ("f", "grad"), for messages */
} Val;

typedef struct Binding {
  const char *name;
  Val val;
} Binding;

typedef struct SemaGen SemaGen; /* index.c: the region being lowered */
typedef struct SemaLoop SemaLoop; /* loop.c: the loop body being lowered */
/* A specialisation being lowered: the constant params' values. */
typedef struct SpecBinds {
  int nconst;
  const char **names;
  struct Val *vals;
} SpecBinds;

typedef struct Sema {
  IrModule *m;
  Modules *mods;
  Unit *unit;          /* the file whose names are in scope (prog, funcs, fn_slot are its) */
  const SpecBinds *spec; /* lowering a specialisation: bind these too */
  int spec_depth;      /* specialisations being lowered, nested */
  PtrVec active;       /* FnDecl* of those specialisations (recursion) */
  Diag *diag;
  const Program *prog;
  IrFunc **funcs;      /* per item of prog->fns (functions and rules), created
                          before any body is lowered */
  IrFunc *fn;          /* the function being lowered */
  const FnDecl *decl;
  Binding *scope;
  int nscope, scopecap;
  int *index;          /* hash of scope: slot -> 1 + newest binding of a name, 0 empty */
  int indexcap;        /* a power of two, over twice nscope */
  int *fn_slot;        /* hash of prog->fns by name: 1 + index of the first definition, 0 empty */
  uint32_t fn_nslots;  /* a power of two, over twice the number of functions */
  IrNode **updated;    /* per param of fn: its value after the last update */
  int depth;           /* expressions being lowered, innermost last */
  bool too_deep;       /* the nesting limit was reported */
  SemaGen *gen;        /* lowering the body of a region (index.c): fn is the body */
  SemaLoop *loop;      /* lowering the body of a loop (loop.c): fn is the body */
} Sema;

static inline Val sema_poison(void) { return (Val){.poison = true}; }
static inline Val sema_typed(IrNode *n) { return (Val){.node = n, .loc = n->loc}; }

void sema_error(Sema *s, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "f32[N, 10]" for messages, into buf (len bytes, truncated to fit). */
const char *sema_type_text(Sema *s, const IrNode *n, char *buf, size_t len);
const char *sema_val_text(Sema *s, const Val *v, char *buf, size_t len);
int sema_edit_distance(const char *a, const char *b);
const Binding *sema_lookup(Sema *s, const char *name);
void sema_bind(Sema *s, const char *name, Val v);
/* Drops the bindings made since the scope had `mark` of them. */
void sema_unbind_to(Sema *s, int mark);

/* Gives a weak literal the dtype t, or reports why it cannot have it. */
Val sema_materialize(Sema *s, Val v, DType t);
/* A weak literal with nothing typed to meet becomes f32 or i32. */
Val sema_materialize_default(Sema *s, Val v);
bool sema_check_operand_class(Sema *s, Op op, const Val *v, const char *what, SrcLoc at);
/* One dtype (weak literals adapt) and one broadcast shape for vals[0..n). */
bool sema_conform(Sema *s, Val *vals, int n, SrcLoc at);
/* An elementwise op on operands conformed by dtype and broadcasting. */
Val sema_elementwise(Sema *s, Op op, Val *vals, int n, const char *what, SrcLoc at);
/* Lowers an expression that must be one array (a tuple is an error). */
Val sema_lower_expr(Sema *s, const Expr *e);

/* ---- batch.c ---- */
/* The batch dims of a @ b broadcast (ir_matmul_batch), or an error at `at`
 * naming both shapes and the batch dims that differ. */
bool sema_check_matmul_batch(Sema *s, const IrNode *a, const IrNode *b, SrcLoc at);
/* Switches s to unit u (its names, a fresh scope), saving s in saved;
 * sema_leave_unit stores u's tables back and restores s. */
void sema_enter_unit(Sema *s, Unit *u, Sema *saved);
void sema_leave_unit(Sema *s, Sema *saved);
/* Lowers the functions and rules of s->unit (after sema_enter_unit). */
void sema_lower_unit(Sema *s);
/* Lowers d's statements into f, whose params are set; with s->spec, also
 * binds the constants, and without declared results infers them. */
void sema_lower_body(Sema *s, const FnDecl *d, IrFunc *f);
/* Lowers the call e's arguments and calls callee (a non-polymorphic user
 * function); label names it in messages ("f", "nn.f"). */
Val sema_user_call(Sema *s, const Expr *e, IrFunc *callee, const FnDecl *d, const char *label);

/* The function (not rule) named name, with its IrFunc; NULL if none. */
const FnDecl *sema_find_fn(Sema *s, const char *name, IrFunc **f);
/* The closest function name (of the file, and builtins if asked) for "did
 * you mean" hints, or NULL. */
const char *sema_suggest_function(Sema *s, const char *name, bool builtins);
/* Reports (as `cannot WHAT f()`) if f has an inout param: such functions
 * have no derivative. */
bool sema_check_differentiable(Sema *s, const FnDecl *f, SrcLoc at, const char *what);
/* Calls callee with checked args: dtypes, ranks and size symbols are matched
 * as for any user call.  label names the call in messages ("f()", "grad(f)");
 * a callee with several results gives a tuple that names producer. */
Val sema_call(Sema *s, IrFunc *callee, Val *args, int nargs, SrcLoc at, const char *label, const char *producer);

/* index.c: index notation, indexing, slicing and gathers (gen nodes). */
Val sema_lower_comprehension(Sema *s, const Stmt *st);
Val sema_lower_reduce(Sema *s, const Expr *e);
Val sema_lower_index(Sema *s, const Expr *e);
Val sema_lower_list(Sema *s, const Expr *e);
Val sema_lower_take(Sema *s, const Expr *e);
Val sema_lower_one_hot(Sema *s, const Expr *e);
Val sema_lower_index_add(Sema *s, const Expr *e);
Val sema_lower_scatter_add(Sema *s, const Expr *e);
Val sema_lower_stack(Sema *s, const Expr *e);
Val sema_lower_concat(Sema *s, const Expr *e);
Val sema_lower_flip(Sema *s, const Expr *e);
Val sema_lower_tri(Sema *s, const Expr *e);
Val sema_lower_diag(Sema *s, const Expr *e);
Val sema_lower_iota(Sema *s, const Expr *e);
/* The function being lowered (not a region's body). */
IrFunc *sema_enclosing_fn(Sema *s);
/* A name bound outside the region whose body is being lowered. */
Val sema_gen_name(Sema *s, const Expr *e, Val v);
/* loop.c: `loop t < T with (h = h0) { ...; next h2 }` (issue 10). */
Val sema_lower_loop(Sema *s, const Expr *e);
/* v, bound by b, as the loop body being lowered sees it: a value bound
 * outside the body becomes a param of the body (captured). */
Val sema_loop_capture(Sema *s, const Binding *b, Val v);
/* The function the loops being lowered are in (s->fn outside loops). */
IrFunc *sema_loop_fn(Sema *s);
/* Any body that captures (cond.c's branches): open makes body s->fn and
 * captures names bound before it; close restores s->fn and the scope. */
SemaLoop *sema_body_open(Sema *s, IrFunc *body);
void sema_body_close(Sema *s, SemaLoop *l);
void sema_body_free(SemaLoop *l);
int sema_body_ncaps(const SemaLoop *l);
/* Capture k: the body's param (param) or the enclosing code's value. */
IrNode *sema_body_cap(const SemaLoop *l, int k, bool param);
/* A param of body standing for `like`, named after name (made unique). */
IrNode *sema_body_add_param(Sema *s, IrFunc *body, const char *name, const IrNode *like);
/* Captures outer in l's body ahead of the names the body uses. */
void sema_body_seed(Sema *s, SemaLoop *l, IrNode *outer, const char *name);
/* sema.c: an expression that may be a tuple (sema_lower_expr rejects one). */
Val sema_lower_value(Sema *s, const Expr *e);
/* cond.c: `if c { a } else { b }` (issue 10). */
Val sema_lower_if(Sema *s, const Expr *e);
/* sema.c: one `let` statement (loop bodies are lowered by loop.c). */
void sema_lower_let(Sema *s, const Stmt *st);
/* intops.c: the integer operators // % & | ^ << >>. */
bool sema_is_int_operator(BinOp op);
/* Literal op literal, folded in Python's semantics; errors (a float literal,
 * division by zero, a negative shift count, overflow) give poison. */
Val sema_fold_int_literals(Sema *s, BinOp op, const Val *a, const Val *b, SrcLoc at);
/* False (reported) if b is a literal zero divisor of // or %. */
bool sema_check_int_divisor(Sema *s, BinOp op, const Val *b);

/* builtins.c: the surface builtins (rows of one table) and the elementwise
 * ops flagged F_BUILTIN in ops.def. */
bool sema_is_builtin(const char *name);
/* Lowers e if it calls a builtin (true), else leaves out alone (false). */
bool sema_lower_builtin(Sema *s, const Expr *e, Val *out);
/* The builtin name closest to name within max_distance, or NULL. */
const char *sema_closest_builtin(const char *name, int *max_distance);
/* An integer literal (or -literal), or a name bound to an integer constant
 * (a polymorphic function's constant parameter): its value. */
bool sema_const_int(Sema *s, const Expr *e, int64_t *out);

/* shape.c: size symbols as values, dims as polynomials, the shape builtins. */
/* The symbol id if name is a size symbol the function's parameters bind, else -1. */
int sema_fn_symbol(Sema *s, const char *name);
/* Reports (what: "let", "parameter") a name that is a size symbol of the function. */
bool sema_check_not_symbol(Sema *s, const char *name, SrcLoc at, const char *what);
/* e names a size symbol of the function: *out is its extent (i64). */
bool sema_size_symbol(Sema *s, const Expr *e, Val *out);
/* e as a dim (+ - * over literals and symbols); bound: only the function's symbols. */
bool sema_dim_of_expr(Sema *s, const Expr *e, bool bound, Dim *out);
bool sema_lower_shape_builtin(Sema *s, const Expr *e, Val *out);
/* The i-th shape builtin's name, NULL past the last. */
const char *sema_shape_builtin_name(int i);

#endif /* TEXC_FRONTEND_H */
