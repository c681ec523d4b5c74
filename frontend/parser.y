/* parser.y — the grammar of .tex files (Bison, LALR(1), pure, with locations).
 *
 * Newlines are insignificant: every statement starts with a keyword (`let`,
 * `update`, `return`; a loop body ends with `next`), which is what keeps the grammar LALR(1) without
 * terminators.  A comma after `return`'s expression can only continue its
 * list of results, for the same reason.
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

/* The parser's stacks come from the allocation hook, and are bounded: Bison
 * reports "memory exhausted" past YYMAXDEPTH, which yyerror translates. */
#define YYMALLOC tex_malloc
#define YYFREE tex_free
#define YYMAXDEPTH FE_MAX_PARSE_DEPTH

static void yyerror(YYLTYPE *l, Lexer *lx, Program *prog, const char *msg) {
  (void)prog;
  if (lx->stopped) return; /* the lexer said why it stopped; "unexpected end of file" would be noise */
  if (strcmp(msg, "memory exhausted") == 0)
    diag_error(lx->diag, LOC(*l), "this expression nests too deeply: the parser's limit is %d levels of unary "
               "operators, '**', calls and brackets; stopping", YYMAXDEPTH);
  else
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

/* `loop`, `scan` and `while` (frontend/loop.c): a scan's body also emits
 * values, stacked along a new leading axis; a while has a condition (rhs)
 * and no name or trip count. */
static Expr *loop_expr(Lexer *lx, YYLTYPE at, const char *name, Expr *trip, Arg *states, int nstates, Arg opt, bool scan) {
  Expr *e = ast_expr(lx->arena, E_LOOP, LOC(at));
  e->name = name, e->lhs = trip, e->args = states, e->nargs = nstates, e->scan = scan;
  if (opt.value) {
    e->opt = ARENA_NEW(lx->arena, Arg);
    *e->opt = opt;
  }
  return e;
}

/* The statement ending a loop body: `next` or `emit` and its values. */
static Stmt body_end(Lexer *lx, StmtKind kind, Expr **values, int n, YYLTYPE at) {
  Stmt st;
  memset(&st, 0, sizeof st);
  st.kind = kind, st.values = values, st.nvalues = n, st.value = values[0], st.loc = LOC(at);
  return st;
}

static Expr *call(Lexer *lx, const char *name, Arg *args, int nargs, YYLTYPE at) {
  Expr *e = ast_expr(lx->arena, E_CALL, LOC(at));
  e->name = name;
  e->args = args;
  e->nargs = nargs;
  return e;
}

/* `import NAME`: only before the first function (imports are declarations
 * of the whole file, resolved before any body). */
static void add_import(Lexer *lx, Program *prog, const char *name, YYLTYPE at) {
  if (prog->fns.len) {
    diag_error(lx->diag, LOC(at), "import %s comes after a function; imports go at the top of the file", name);
    return;
  }
  Import *im = ARENA_NEW(lx->arena, Import);
  im->name = name;
  im->loc = LOC(at);
  vec_push(&prog->imports, im);
}

/* A function or a rule: the parts both share. */
static FnDecl *fn_decl(Lexer *lx, const char *name, YYLTYPE at, Param *params, int nparams, TypeExpr *results,
                       int nresults, Stmt *stmts, int nstmts, bool bad) {
  FnDecl *f = ARENA_NEW(lx->arena, FnDecl);
  f->name = name;
  f->params = params;
  f->nparams = nparams;
  f->results = results;
  f->nresults = nresults;
  f->stmts = stmts;
  f->nstmts = nstmts;
  f->had_syntax_error = bad;
  f->loc = LOC(at);
  return f;
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
  struct { TypeExpr *items; int n, cap; } types;
  struct { BindName *items; int n, cap; } names;
  BindName bname;
  struct { Expr **items; int n, cap; } exprs;
  FnDecl *fn;
  bool flag;
}

%token <str> IDENT "identifier"
%token <ival> INT "integer"
%token <fval> FLOAT "number"
%token <ival> BOOL "true or false"
%token <ival> DTYPE "dtype"
%token FN "'fn'" LET "'let'" RETURN "'return'" PRIVATE "'private'"
%token INOUT "'inout'" UPDATE "'update'" GRAD "'grad'" IMPORT "'import'"
%token AND "'and'" OR "'or'" NOT "'not'"
%token LOOP "'loop'" WITH "'with'" NEXT "'next'"
%token SCAN "'scan'" EMIT "'emit'" WHILE "'while'"
%token IF "'if'" ELSE "'else'" YIELD "'yield'"
%token ARROW "'->'" POW "'**'" EQ "'=='" NE "'!='" LE "'<='" GE "'>='"
%token FLOORDIV "'//'" SHL "'<<'" SHR "'>>'"

%type <expr> expr primary sub optexpr
%type <expr> ifexpr block
%type <args> args arglist
%type <arg> arg loopopt
%type <dims> dims
%type <dim> dim
%type <expr> dimsum dimprod dimatom
%type <type> type
%type <params> params paramlist
%type <param> param
%type <stmts> stmts
%type <stmt> stmt
%type <fn> fn rule
%type <types> results typelist
%type <names> names
%type <bname> bname
%type <exprs> exprs
%type <args> subs
%type <flag> private

%precedence BODY    /* `sum[k] body`: the body extends as far right as it can */
%left OR
%left AND
%precedence NOT
%nonassoc EQ NE '<' LE '>' GE
%left '|'
%left '^'
%left '&'
%left SHL SHR
%left '+' '-'
%left '*' '/' '@' FLOORDIV '%'
%precedence UMINUS
%right POW
%precedence '['
%precedence ']'  /* `x[i] - y` and `x[i][j]` index x: they do not start a reduction's body */

%%

/* module: ('import' NAME)* (fn | rule)* */
module
  : %empty
  | module IMPORT IDENT { add_import(lx, prog, $3, @3); }
  | module fn          { vec_push(&prog->fns, $2); }
  | module rule        { vec_push(&prog->fns, $2); }
  | module error
  ;

/* fn: 'private'? 'fn' NAME '(' params ')' '->' results '{' stmt* '}' */
fn
  : private FN IDENT '(' params ')' ARROW results '{' stmts '}' {
      $$ = fn_decl(lx, $3, @3, $5.items, $5.n, $8.items, $8.n, $10.items, $10.n, $10.bad);
      $$->private_ = $1;
    }
  | private FN IDENT '(' params ')' '{' stmts '}' { /* results inferred: polymorphic functions */
      $$ = fn_decl(lx, $3, @3, $5.items, $5.n, NULL, 0, $8.items, $8.n, $8.bad);
      $$->private_ = $1;
    }
  ;

/* rule: 'grad' NAME '(' params ')' '->' results '{' stmt* '}'
 * (a gradient rule for the function NAME) */
rule
  : GRAD IDENT '(' params ')' ARROW results '{' stmts '}' {
      $$ = fn_decl(lx, $2, @2, $4.items, $4.n, $7.items, $7.n, $9.items, $9.n, $9.bad);
      $$->is_rule = true;
    }
  ;

/* results: type | '(' type (',' type)* ')' */
results
  : type               { $$.items = NULL; $$.n = $$.cap = 0; APPEND(lx->arena, $$.items, $$.n, $$.cap, TypeExpr, $1); }
  | '(' typelist ')'   { $$ = $2; }
  ;

typelist
  : type               { $$.items = NULL; $$.n = $$.cap = 0; APPEND(lx->arena, $$.items, $$.n, $$.cap, TypeExpr, $1); }
  | typelist ',' type  { $$ = $1; APPEND(lx->arena, $$.items, $$.n, $$.cap, TypeExpr, $3); }
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

/* param: NAME ':' 'inout'? type | NAME | NAME '=' expr
 * (untyped and `= default` params make a function polymorphic: poly.c) */
param
  : IDENT ':' type       { memset(&$$, 0, sizeof $$); $$.name = $1; $$.type = $3; $$.loc = LOC(@1); }
  | IDENT ':' INOUT type { memset(&$$, 0, sizeof $$); $$.name = $1; $$.type = $4; $$.inout = true; $$.loc = LOC(@1); }
  | IDENT                { memset(&$$, 0, sizeof $$); $$.name = $1; $$.poly = true; $$.loc = LOC(@1); }
  | IDENT '=' expr       { memset(&$$, 0, sizeof $$); $$.name = $1; $$.def = $3; $$.loc = LOC(@1); }
  | IDENT type           { /* a forgotten ':' (else "expecting ')'" would mislead) */
      diag_error(lx->diag, LOC(@2), "expected ':' between the parameter '%s' and its type", $1);
      memset(&$$, 0, sizeof $$); $$.name = $1; $$.type = $2; $$.loc = LOC(@1);
    }
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

/* dim: an integer polynomial over size symbols: INT | NAME | dim ('+' | '-' | '*') dim | '(' dim ')' */
dim
  : dimsum {
      memset(&$$, 0, sizeof $$);
      $$.loc = LOC(@1);
      if ($1->kind == E_INT) $$.lit = $1->ival;
      else if ($1->kind == E_NAME) $$.sym = $1->name;
      else $$.poly = $1;
    }
  ;

dimsum
  : dimprod
  | dimsum '+' dimprod { $$ = binary(lx, B_ADD, $1, $3, @2); }
  | dimsum '-' dimprod { $$ = binary(lx, B_SUB, $1, $3, @2); }
  ;

dimprod
  : dimatom
  | dimprod '*' dimatom { $$ = binary(lx, B_MUL, $1, $3, @2); }
  | dimprod FLOORDIV dimatom { $$ = binary(lx, B_FLOORDIV, $1, $3, @2); }
  ;

dimatom
  : INT                { $$ = ast_expr(lx->arena, E_INT, LOC(@1)); $$->ival = $1; }
  | IDENT              { $$ = ast_expr(lx->arena, E_NAME, LOC(@1)); $$->name = $1; }
  | '(' dimsum ')'     { $$ = $2; }
  ;

stmts
  : %empty             { $$.items = NULL; $$.n = $$.cap = 0; $$.bad = false; }
  | stmts stmt         { $$ = $1; if ($2.value) APPEND(lx->arena, $$.items, $$.n, $$.cap, Stmt, $2); else $$.bad = true; }
  ;

/* stmt: 'let' NAME '=' expr | 'let' '(' NAME (',' NAME)* ')' '=' expr
 *     | 'update' NAME '=' expr | 'return' expr (',' expr)* */
stmt
  : LET IDENT '=' expr {
      memset(&$$, 0, sizeof $$);
      $$.kind = S_LET; $$.name = $2; $$.value = $4; $$.loc = LOC(@2);
    }
  | LET '(' names ')' '=' expr {
      memset(&$$, 0, sizeof $$);
      $$.kind = S_LET; $$.names = $3.items; $$.nnames = $3.n; $$.value = $6; $$.loc = LOC(@3);
    }
  | LET IDENT '[' subs ']' '=' expr {
      memset(&$$, 0, sizeof $$);
      $$.kind = S_LET; $$.name = $2; $$.value = $7; $$.loc = LOC(@2);
      $$.index = $4.items; $$.nindex = $4.n;
    }
  | UPDATE IDENT '=' expr {
      memset(&$$, 0, sizeof $$);
      $$.kind = S_UPDATE; $$.name = $2; $$.value = $4; $$.loc = LOC(@2);
    }
  | RETURN exprs {
      memset(&$$, 0, sizeof $$);
      $$.kind = S_RETURN; $$.values = $2.items; $$.nvalues = $2.n; $$.value = $2.items[0]; $$.loc = LOC(@1);
    }
  | error              { memset(&$$, 0, sizeof $$); }
  ;

names
  : bname              { $$.items = NULL; $$.n = $$.cap = 0; APPEND(lx->arena, $$.items, $$.n, $$.cap, BindName, $1); }
  | names ',' bname    { $$ = $1; APPEND(lx->arena, $$.items, $$.n, $$.cap, BindName, $3); }
  ;

bname
  : IDENT              { $$.name = $1; $$.loc = LOC(@1); }
  ;

exprs
  : expr               { $$.items = NULL; $$.n = $$.cap = 0; APPEND(lx->arena, $$.items, $$.n, $$.cap, Expr *, $1); }
  | exprs ',' expr     { $$ = $1; APPEND(lx->arena, $$.items, $$.n, $$.cap, Expr *, $3); }
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
  | expr FLOORDIV expr { $$ = binary(lx, B_FLOORDIV, $1, $3, @2); }
  | expr '%' expr      { $$ = binary(lx, B_MOD, $1, $3, @2); }
  | expr '&' expr      { $$ = binary(lx, B_BITAND, $1, $3, @2); }
  | expr '|' expr      { $$ = binary(lx, B_BITOR, $1, $3, @2); }
  | expr '^' expr      { $$ = binary(lx, B_BITXOR, $1, $3, @2); }
  | expr SHL expr      { $$ = binary(lx, B_SHL, $1, $3, @2); }
  | expr SHR expr      { $$ = binary(lx, B_SHR, $1, $3, @2); }
  | expr POW expr      { $$ = binary(lx, B_POW, $1, $3, @2); }
  | '-' expr %prec UMINUS { $$ = unary(lx, U_NEG, $2, @1); }
  | primary '[' subs ']' expr %prec BODY {
      $$ = ast_expr(lx->arena, E_REDUCE, LOC(@1));
      $$->name = $1->kind == E_NAME ? $1->name : NULL;
      $$->args = $3.items; $$->nargs = $3.n; $$->lhs = $5;
    }
  ;

/* primary: literal | NAME | NAME '(' args ')' | NAME '.' NAME '(' args ')' | DTYPE '(' args ')' | DTYPE '[' dims ']'
 *        | 'grad' '(' args ')' | primary '[' subs ']' | '[' exprs ']'
 *        | 'loop' NAME '<' expr 'with' '(' args ')' '{' stmt* 'next' expr (',' expr)* '}' | ifexpr
 *        | 'while' expr 'with' '(' args ')' 'max' '=' expr '{' stmt* 'next' expr (',' expr)* '}' 
 *        | '(' expr ')' | '(' expr ',' expr (',' expr)* ')'
 * A tuple `(a, b)` is only meaningful as wrt=(a, b); sema says so elsewhere. */
primary
  : INT                { $$ = ast_expr(lx->arena, E_INT, LOC(@1)); $$->ival = $1; }
  | FLOAT              { $$ = ast_expr(lx->arena, E_FLOAT, LOC(@1)); $$->fval = $1; }
  | BOOL               { $$ = ast_expr(lx->arena, E_BOOL, LOC(@1)); $$->ival = $1; }
  | IDENT              { $$ = ast_expr(lx->arena, E_NAME, LOC(@1)); $$->name = $1; }
  | IDENT '(' args ')' { $$ = call(lx, $1, $3.items, $3.n, @1); }
  | IDENT '.' IDENT '(' args ')' { $$ = call(lx, $3, $5.items, $5.n, @3); $$->qual = $1; }
  | DTYPE '(' args ')' { $$ = call(lx, dtype_names[$1], $3.items, $3.n, @1); }
  | DTYPE '[' dims ']' { /* a type as an argument: zeros(f32[N, 3]) */
      $$ = ast_expr(lx->arena, E_TYPE, LOC(@1));
      $$->type = ARENA_NEW(lx->arena, TypeExpr);
      *$$->type = (TypeExpr){(DType)$1, $3.n, $3.items, LOC(@1)};
    }
  | GRAD '(' args ')'  { $$ = call(lx, "grad", $3.items, $3.n, @1); }
  | LOOP IDENT '<' expr WITH '(' args ')' loopopt '{' stmts NEXT exprs '}' { /* issue 10: frontend/loop.c */
      $$ = loop_expr(lx, @1, $2, $4, $7.items, $7.n, $9, false);
      APPEND(lx->arena, $11.items, $11.n, $11.cap, Stmt, body_end(lx, S_NEXT, $13.items, $13.n, @12));
      $$->stmts = $11.items; $$->nstmts = $11.n; $$->body_bad = $11.bad;
    }
  | WHILE expr WITH '(' args ')' loopopt '{' stmts NEXT exprs '}' { /* frontend/loop.c: max=N is the loopopt */
      $$ = loop_expr(lx, @1, NULL, NULL, $5.items, $5.n, $7, false);
      $$->rhs = $2;
      APPEND(lx->arena, $9.items, $9.n, $9.cap, Stmt, body_end(lx, S_NEXT, $11.items, $11.n, @10));
      $$->stmts = $9.items; $$->nstmts = $9.n; $$->body_bad = $9.bad;
    }
  | SCAN IDENT '<' expr WITH '(' args ')' loopopt '{' stmts NEXT exprs EMIT exprs '}' { /* frontend/loop.c */
      $$ = loop_expr(lx, @1, $2, $4, $7.items, $7.n, $9, true);
      APPEND(lx->arena, $11.items, $11.n, $11.cap, Stmt, body_end(lx, S_NEXT, $13.items, $13.n, @12));
      APPEND(lx->arena, $11.items, $11.n, $11.cap, Stmt, body_end(lx, S_EMIT, $15.items, $15.n, @14));
      $$->stmts = $11.items; $$->nstmts = $11.n; $$->body_bad = $11.bad;
    }
  | SCAN IDENT '<' expr '{' stmts EMIT exprs '}' { /* a scan without states */
      $$ = loop_expr(lx, @1, $2, $4, NULL, 0, (Arg){0}, true);
      APPEND(lx->arena, $6.items, $6.n, $6.cap, Stmt, body_end(lx, S_EMIT, $8.items, $8.n, @7));
      $$->stmts = $6.items; $$->nstmts = $6.n; $$->body_bad = $6.bad;
    }
  | ifexpr
  | '(' expr ')'       { $$ = $2; }
  | primary '[' subs ']' {
      $$ = ast_expr(lx->arena, E_INDEX, LOC(@2));
      $$->lhs = $1; $$->args = $3.items; $$->nargs = $3.n;
    }
  | '[' exprs ']'      {
      $$ = ast_expr(lx->arena, E_LIST, LOC(@1));
      $$->nargs = $2.n;
      $$->args = ARENA_ARRAY(lx->arena, Arg, $2.n);
      for (int i = 0; i < $2.n; i++) $$->args[i] = (Arg){NULL, $2.items[i], $2.items[i]->loc};
    }
  | '(' expr ',' exprs ')' {
      $$ = ast_expr(lx->arena, E_TUPLE, LOC(@1));
      $$->nargs = $4.n + 1;
      $$->args = ARENA_ARRAY(lx->arena, Arg, $$->nargs);
      $$->args[0] = (Arg){NULL, $2, $2->loc};
      for (int i = 0; i < $4.n; i++) $$->args[i + 1] = (Arg){NULL, $4.items[i], $4.items[i]->loc};
    }
  ;

/* issue 10, frontend/cond.c: ifexpr: 'if' expr block 'else' (block | ifexpr);
 * block: '{' expr '}' | '{' stmt* 'yield' expr (',' expr)* '}'.  A value
 * after statements needs the keyword: newlines are insignificant, so
 * `let a = b  -c` would otherwise be ambiguous.  `else if` is an else
 * block whose value is the inner if. */
ifexpr
  : IF expr block ELSE block {
      $$ = ast_expr(lx->arena, E_IF, LOC(@1));
      $$->lhs = $2; $$->rhs = $3; $$->orelse = $5;
    }
  | IF expr block ELSE ifexpr {
      $$ = ast_expr(lx->arena, E_IF, LOC(@1));
      $$->lhs = $2; $$->rhs = $3;
      $$->orelse = ast_expr(lx->arena, E_BLOCK, $5->loc);
      $$->orelse->nargs = 1;
      $$->orelse->args = ARENA_NEW(lx->arena, Arg);
      $$->orelse->args[0] = (Arg){NULL, $5, $5->loc};
    }
  ;

block
  : '{' expr '}' {
      $$ = ast_expr(lx->arena, E_BLOCK, LOC(@1));
      $$->nargs = 1;
      $$->args = ARENA_NEW(lx->arena, Arg);
      $$->args[0] = (Arg){NULL, $2, $2->loc};
    }
  | '{' stmts '}' { /* no value: an error sema reports after the statements' own */
      $$ = ast_expr(lx->arena, E_BLOCK, LOC(@3));
      $$->stmts = $2.items; $$->nstmts = $2.n; $$->body_bad = $2.bad;
    }
  | '{' stmts NEXT exprs '}' { /* `next` ends loop bodies only: sema says so */
      $$ = ast_expr(lx->arena, E_BLOCK, LOC(@3));
      Stmt next;
      memset(&next, 0, sizeof next);
      next.kind = S_NEXT; next.values = $4.items; next.nvalues = $4.n; next.value = $4.items[0]; next.loc = LOC(@3);
      APPEND(lx->arena, $2.items, $2.n, $2.cap, Stmt, next);
      $$->stmts = $2.items; $$->nstmts = $2.n; $$->body_bad = $2.bad;
    }
  | '{' stmts YIELD exprs '}' {
      $$ = ast_expr(lx->arena, E_BLOCK, LOC(@1));
      $$->stmts = $2.items; $$->nstmts = $2.n; $$->body_bad = $2.bad;
      $$->nargs = $4.n;
      $$->args = ARENA_ARRAY(lx->arena, Arg, $4.n);
      for (int i = 0; i < $4.n; i++) $$->args[i] = (Arg){NULL, $4.items[i], $4.items[i]->loc};
    }
  ;

/* subs: sub (',' sub)*, sub: expr | [expr] ':' [expr] [':' [expr]] */
subs
  : sub                { $$.items = NULL; $$.n = $$.cap = 0; APPEND(lx->arena, $$.items, $$.n, $$.cap, Arg, ((Arg){NULL, $1, $1->loc})); }
  | subs ',' sub       { $$ = $1; APPEND(lx->arena, $$.items, $$.n, $$.cap, Arg, ((Arg){NULL, $3, $3->loc})); }
  ;
sub
  : expr
  | optexpr ':' optexpr {
      $$ = ast_expr(lx->arena, E_SLICE, LOC(@2)); $$->lhs = $1; $$->rhs = $3;
    }
  | optexpr ':' optexpr ':' optexpr {
      $$ = ast_expr(lx->arena, E_SLICE, LOC(@2)); $$->lhs = $1; $$->rhs = $3; $$->step = $5;
    }
  ;
optexpr
  : %empty             { $$ = NULL; }
  | expr
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
loopopt /* checkpoint=K after a loop's states */
  : %empty             { memset(&$$, 0, sizeof $$); }
  | IDENT '=' expr     { $$.name = $1; $$.value = $3; $$.loc = LOC(@1); }
  ;

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
