/* parser.y — the grammar of .tex files (Bison, LALR(1), pure, with locations).
 *
 * Newlines are insignificant: every statement starts with a keyword (`let`,
 * `return`), which is what keeps the grammar LALR(1) without terminators.
 * After a syntax error the parser skips to the next statement or function,
 * so one run reports every independent error in the file. */
%define api.pure full
%define parse.error detailed
%locations
%param {Lexer *lx}
%parse-param {Program *prog}

%code requires {
#include "frontend.h"
}

%code provides {
int yylex(YYSTYPE *lval, YYLTYPE *lloc, Lexer *lx);
}

%code {
#include <string.h>

static SrcLoc loc_of(const Lexer *lx, YYLTYPE l) { return (SrcLoc){lx->file, l.first_line, l.first_column}; }
#define LOC(l) loc_of(lx, l)

static void yyerror(YYLTYPE *l, Lexer *lx, Program *prog, const char *msg) {
  (void)prog;
  diag_error(lx->diag, LOC(*l), "%s", msg);
}

/* Growable arrays in the arena: the parser only appends. */
#define APPEND(arena, items, n, cap, T, value)                               \
  do {                                                                       \
    if ((n) == (cap)) {                                                      \
      int newcap_ = (cap) ? (cap) * 2 : 4;                                   \
      T *grown_ = ARENA_ARRAY(arena, T, newcap_);                            \
      if (n) memcpy(grown_, items, sizeof(T) * (size_t)(n));                 \
      (items) = grown_;                                                      \
      (cap) = newcap_;                                                       \
    }                                                                        \
    (items)[(n)++] = (value);                                                \
  } while (0)

static Expr *binary(Lexer *lx, BinOp op, Expr *l, Expr *r, YYLTYPE at) {
  Expr *e = ast_expr(lx->arena, E_BINARY, LOC(at));
  e->op = op;
  e->lhs = l;
  e->rhs = r;
  return e;
}

static Expr *unary(Lexer *lx, BinOp op, Expr *x, YYLTYPE at) {
  Expr *e = ast_expr(lx->arena, E_UNARY, LOC(at));
  e->op = op;
  e->lhs = x;
  return e;
}
}

%union {
  int64_t ival;
  double fval;
  const char *str;
  Expr *expr;
  struct { Arg *items; int n, cap; } args;
  Arg arg;
  struct { DimExpr *items; int n, cap; } dims;
  DimExpr dim;
  TypeExpr type;
  struct { Param *items; int n, cap; } params;
  Param param;
  struct { Stmt *items; int n, cap; bool bad; } stmts;
  Stmt stmt;
  FnDecl *fn;
  bool flag;
}

%token <str> IDENT "identifier"
%token <ival> INT "integer"
%token <fval> FLOAT "number"
%token <ival> BOOL "true or false"
%token <ival> DTYPE "dtype"
%token FN "'fn'" LET "'let'" RETURN "'return'" PRIVATE "'private'"
%token AND "'and'" OR "'or'" NOT "'not'"
%token ARROW "'->'" POW "'**'" EQ "'=='" NE "'!='" LE "'<='" GE "'>='"

%type <expr> expr primary
%type <args> args arglist
%type <arg> arg
%type <dims> dims
%type <dim> dim
%type <type> type
%type <params> params paramlist
%type <param> param
%type <stmts> stmts
%type <stmt> stmt
%type <fn> fn
%type <flag> private

%left OR
%left AND
%precedence NOT
%nonassoc EQ NE '<' LE '>' GE
%left '+' '-'
%left '*' '/' '@'
%precedence UMINUS
%right POW

%%

/* module: fn* */
module
  : %empty
  | module fn          { vec_push(&prog->fns, $2); }
  | module error
  ;

/* fn: 'private'? 'fn' NAME '(' params ')' '->' type '{' stmt* '}' */
fn
  : private FN IDENT '(' params ')' ARROW type '{' stmts '}' {
      FnDecl *f = ARENA_NEW(lx->arena, FnDecl);
      f->name = $3;
      f->private_ = $1;
      f->params = $5.items;
      f->nparams = $5.n;
      f->result = $8;
      f->stmts = $10.items;
      f->nstmts = $10.n;
      f->had_syntax_error = $10.bad;
      f->loc = LOC(@3);
      $$ = f;
    }
  ;

private
  : %empty             { $$ = false; }
  | PRIVATE            { $$ = true; }
  ;

params
  : %empty             { $$.items = NULL; $$.n = $$.cap = 0; }
  | paramlist
  | paramlist ','
  ;

paramlist
  : param              { $$.items = NULL; $$.n = $$.cap = 0; APPEND(lx->arena, $$.items, $$.n, $$.cap, Param, $1); }
  | paramlist ',' param { $$ = $1; APPEND(lx->arena, $$.items, $$.n, $$.cap, Param, $3); }
  ;

/* param: NAME ':' type */
param
  : IDENT ':' type     { $$.name = $1; $$.type = $3; $$.loc = LOC(@1); }
  ;

/* type: DTYPE | DTYPE '[' dim (',' dim)* ']' */
type
  : DTYPE              { $$.dtype = (DType)$1; $$.rank = 0; $$.dims = NULL; $$.loc = LOC(@1); }
  | DTYPE '[' dims ']' { $$.dtype = (DType)$1; $$.rank = $3.n; $$.dims = $3.items; $$.loc = LOC(@1); }
  ;

dims
  : dim                { $$.items = NULL; $$.n = $$.cap = 0; APPEND(lx->arena, $$.items, $$.n, $$.cap, DimExpr, $1); }
  | dims ',' dim       { $$ = $1; APPEND(lx->arena, $$.items, $$.n, $$.cap, DimExpr, $3); }
  ;

/* dim: INT | NAME */
dim
  : INT                { $$.sym = NULL; $$.lit = $1; $$.loc = LOC(@1); }
  | IDENT              { $$.sym = $1; $$.lit = 0; $$.loc = LOC(@1); }
  ;

stmts
  : %empty             { $$.items = NULL; $$.n = $$.cap = 0; $$.bad = false; }
  | stmts stmt         { $$ = $1; if ($2.value) APPEND(lx->arena, $$.items, $$.n, $$.cap, Stmt, $2); else $$.bad = true; }
  ;

/* stmt: 'let' NAME '=' expr | 'return' expr */
stmt
  : LET IDENT '=' expr { $$.kind = S_LET; $$.name = $2; $$.value = $4; $$.loc = LOC(@2); }
  | RETURN expr        { $$.kind = S_RETURN; $$.name = NULL; $$.value = $2; $$.loc = LOC(@1); }
  | error              { $$.kind = S_LET; $$.name = NULL; $$.value = NULL; }
  ;

expr
  : primary
  | expr OR expr       { $$ = binary(lx, B_OR, $1, $3, @2); }
  | expr AND expr      { $$ = binary(lx, B_AND, $1, $3, @2); }
  | NOT expr           { $$ = unary(lx, U_NOT, $2, @1); }
  | expr EQ expr       { $$ = binary(lx, B_EQ, $1, $3, @2); }
  | expr NE expr       { $$ = binary(lx, B_NE, $1, $3, @2); }
  | expr '<' expr      { $$ = binary(lx, B_LT, $1, $3, @2); }
  | expr LE expr       { $$ = binary(lx, B_LE, $1, $3, @2); }
  | expr '>' expr      { $$ = binary(lx, B_GT, $1, $3, @2); }
  | expr GE expr       { $$ = binary(lx, B_GE, $1, $3, @2); }
  | expr '+' expr      { $$ = binary(lx, B_ADD, $1, $3, @2); }
  | expr '-' expr      { $$ = binary(lx, B_SUB, $1, $3, @2); }
  | expr '*' expr      { $$ = binary(lx, B_MUL, $1, $3, @2); }
  | expr '/' expr      { $$ = binary(lx, B_DIV, $1, $3, @2); }
  | expr '@' expr      { $$ = binary(lx, B_MATMUL, $1, $3, @2); }
  | expr POW expr      { $$ = binary(lx, B_POW, $1, $3, @2); }
  | '-' expr %prec UMINUS { $$ = unary(lx, U_NEG, $2, @1); }
  ;

/* primary: literal | NAME | NAME '(' args ')' | DTYPE '(' args ')' | '(' expr ')' */
primary
  : INT                { $$ = ast_expr(lx->arena, E_INT, LOC(@1)); $$->ival = $1; }
  | FLOAT              { $$ = ast_expr(lx->arena, E_FLOAT, LOC(@1)); $$->fval = $1; }
  | BOOL               { $$ = ast_expr(lx->arena, E_BOOL, LOC(@1)); $$->ival = $1; }
  | IDENT              { $$ = ast_expr(lx->arena, E_NAME, LOC(@1)); $$->name = $1; }
  | IDENT '(' args ')' {
      $$ = ast_expr(lx->arena, E_CALL, LOC(@1));
      $$->name = $1;
      $$->args = $3.items;
      $$->nargs = $3.n;
    }
  | DTYPE '(' args ')' {
      $$ = ast_expr(lx->arena, E_CALL, LOC(@1));
      $$->name = dtype_names[$1];
      $$->args = $3.items;
      $$->nargs = $3.n;
    }
  | '(' expr ')'       { $$ = $2; }
  ;

args
  : %empty             { $$.items = NULL; $$.n = $$.cap = 0; }
  | arglist
  | arglist ','
  ;

arglist
  : arg                { $$.items = NULL; $$.n = $$.cap = 0; APPEND(lx->arena, $$.items, $$.n, $$.cap, Arg, $1); }
  | arglist ',' arg    { $$ = $1; APPEND(lx->arena, $$.items, $$.n, $$.cap, Arg, $3); }
  ;

/* arg: expr | NAME '=' expr */
arg
  : expr               { $$.name = NULL; $$.value = $1; $$.loc = $1->loc; }
  | IDENT '=' expr     { $$.name = $1; $$.value = $3; $$.loc = LOC(@1); }
  ;

%%

int fe_parse(Program *prog, const char *file, const char *text, Arena *arena, Diag *diag) {
  Lexer lx;
  int before = diag->errors;
  lexer_init(&lx, file, text, arena, diag);
  prog->arena = arena;
  prog->file = file;
  yyparse(&lx, prog);
  return diag->errors - before;
}
