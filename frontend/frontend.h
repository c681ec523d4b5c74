/* frontend.h — source text -> tokens -> AST -> checked, lowered IR.
 *
 * Sections follow the files of frontend/:
 *   lexer.re   re2c lexer (reentrant: all state in Lexer)
 *   parser.y   Bison LALR(1) grammar, pure, with locations; builds the AST
 *   ast.c      AST constructors and a debugging printer
 *   sema.c     names, dtypes, symbolic shapes, broadcasting; lowers to IR
 *   builtins.c the surface builtins that are sugar over IR ops (mean, ...)
 *   main.c     the texc command line
 */
#ifndef TEXC_FRONTEND_H
#define TEXC_FRONTEND_H

#include "ir.h"

/* ==== AST ================================================================ */

typedef enum ExprKind {
  E_INT, E_FLOAT, E_BOOL, E_NAME, E_UNARY, E_BINARY, E_CALL, E_ERROR,
} ExprKind;

/* Operators of E_UNARY / E_BINARY. */
typedef enum BinOp {
  B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MATMUL,
  B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE, B_AND, B_OR,
  U_NEG, U_NOT,
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
  const char *name;  /* E_NAME, E_CALL (callee) */
  int64_t ival;      /* E_INT, E_BOOL */
  double fval;       /* E_FLOAT */
  int nargs;         /* E_CALL */
  Arg *args;
};

typedef struct DimExpr {
  const char *sym;   /* symbol name, or NULL for a literal */
  int64_t lit;
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
  SrcLoc loc;
} Param;

typedef enum StmtKind { S_LET, S_RETURN } StmtKind;
typedef struct Stmt {
  StmtKind kind;
  const char *name;  /* S_LET */
  Expr *value;
  SrcLoc loc;
} Stmt;

typedef struct FnDecl {
  const char *name;
  bool private_;
  int nparams;
  Param *params;
  TypeExpr result;
  int nstmts;
  Stmt *stmts;
  SrcLoc loc;        /* the name */
  bool had_syntax_error; /* statements were dropped: sema stays quiet about
                            what they may have defined */
} FnDecl;

typedef struct Program {
  Arena *arena;
  const char *file;
  PtrVec fns;        /* FnDecl* */
} Program;

/* ==== lexer.re =========================================================== */

typedef struct Lexer {
  const char *file;  /* interned name used in every SrcLoc */
  const char *start; /* whole text, NUL-terminated */
  const char *cur, *tok, *marker, *line_start;
  const char *end;   /* the terminating NUL */
  int line;
  Arena *arena;
  Diag *diag;
} Lexer;

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
 * OP_CALL, inlined later).  Returns the number of errors reported to diag. */
int fe_lower(const Program *prog, IrModule *m, Diag *diag);

/* Reads, parses and lowers one .tex file (text owned by the caller). */
IrModule *fe_compile_text(const char *file, const char *text, const char *prefix, Diag *diag);

#endif /* TEXC_FRONTEND_H */
