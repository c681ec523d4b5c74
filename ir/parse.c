/* parse.c — reads the IR text form (print.c) back into a module, so golden
 * pass tests can be written as text and `texc FILE.ir` works.
 *
 * Grammar.  Blanks and newlines between tokens do not matter; `//` and `#`
 * start comments that run to the end of the line, except that inside a
 * dim's parentheses `//` is floor division (a derived dim, `((N + 1) // 2)`).
 *
 *   module  := func*
 *   func    := 'func' ['private'] '@'NAME '(' [param (',' param)*] ')'
 *              '->' results '{' node* 'return' [ref (',' ref)*] '}'
 *   param   := '%'NAME ':' type
 *   results := type | '(' [type (',' type)*] ')'
 *   node    := '%'INT '=' OPNAME ['@'NAME] [ref (',' ref)*] [attr] ':' type ['@'LOC]
 *   attr    := value                  ATTR_VALUE (const): read before the type,
 *                                     assigned once the dtype is known
 *            | dim                    ATTR_DIM (dimsize)
 *            | ',' 'axes' '=' '[' [int (',' int)*] ']' [',' 'keepdims' '=' BOOL]
 *                                     ATTR_AXES, ATTR_REDUCE (keepdims: reduce only)
 *   value   := ['-'] (NUMBER | 'inf' | 'nan') | 'true' | 'false'
 *   ref     := '%'NAME (a param) | '%'INT (a node defined on an earlier line)
 *   type    := DTYPE ['[' dim (',' dim)* ']']
 *   dim     := term (('+' | '-') term)*
 *   term    := factor ('*' factor)*
 *   factor  := INT | SYMBOL | '(' dim ')' | '-' factor
 *   LOC     := FILE ':' INT ':' INT   FILE: any non-blank chars but "(),{}#%"
 *
 * The '@'NAME after `call` names a function anywhere in the module; calls are
 * resolved once every function is read.  Node ids need not be dense or sorted
 * (ir_renumber runs after each function).  The parser checks syntax, names and
 * arity only; ir_verify checks dtypes, shapes and attributes.
 *
 * Errors: the first one is reported (with the IR file's line and column) and
 * parsing stops; ir_parse then frees the module and returns NULL.  The lexer is
 * a hand-written cursor over the NUL-terminated text, and every count (rank,
 * axes, operands, name lengths, dim sizes, nesting) is bounded, so garbage
 * input gives an error, never a crash. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

enum {
  MAX_NAME = 256,        /* longest name or number token */
  MAX_ARGS = 256,        /* operands of one node, results of one function */
  MAX_UPDATES = 64,      /* update lines of one function */
  MAX_DEPTH = 64,        /* nesting of dim expressions */
  MAX_DIM_TERMS = 4096,  /* terms of an expanded dim product */
};
/* Bound on the sum of |coefficients| of any dim built here, so that dims.c's
 * int64 arithmetic can never overflow on hostile input. */
#define DIM_LIMIT ((uint64_t)1 << 62)

/* ---- tokens -------------------------------------------------------------- */

typedef enum TokKind {
  T_EOF,
  T_IDENT,  /* [A-Za-z_][A-Za-z0-9_]* */
  T_NUM,    /* 12, 2.5, 1e-3 (no sign) */
  T_REF,    /* %name, %12 (s includes the '%') */
  T_AT,     /* @name, @file:line:col (s includes the '@') */
  T_PUNCT,  /* ( ) [ ] { } , : = * + - -> */
  T_BAD,    /* a character that starts no token */
} TokKind;

typedef struct Token {
  TokKind kind;
  const char *s;
  int len;
  int line, col;
} Token;

typedef struct Parser {
  const char *file;  /* the IR file, for diagnostics */
  const char *p;     /* cursor into the text */
  int dim_parens;    /* inside a dim's parentheses, `//` divides (not a comment) */
  int line, col;     /* position of *p */
  Token tok;         /* the current (lookahead) token */
  Diag *d;
  IrModule *m;
  IrFunc *f;         /* function being read */
  PtrVec files;      /* location file names interned in m->arena */
  int depth;         /* dim expression nesting */
  bool failed;
  PtrVec links;      /* Link*: derive/rule references resolved at the end */
  int nupdates;      /* `update %p = %v` lines of the function being read */
  int update_param[MAX_UPDATES];
  IrNode *update_value[MAX_UPDATES];
} Parser;

/* `derive KIND @of wrt=[..]` or `rule @r`, until all functions are known. */
typedef struct Link {
  IrFunc *f;
  const char *target;
  DeriveKind kind;   /* DERIVE_NONE: a rule */
  ParamSet wrt;
  Token at;
} Link;

/* A const literal, kept as text until the dtype after ':' is known. */
typedef struct Literal {
  Token tok;  /* T_NUM or T_IDENT inf/nan/true/false */
  bool neg;
} Literal;

/* One node line as read, before it becomes an IrNode. */
typedef struct Line {
  Token op_tok;
  int id;
  Op op;
  Token callee;
  int nargs;
  IrNode *args[MAX_ARGS];
  IrAttr attr;
  Literal lit;
  DType dtype;
  int rank;
  Dim shape[IR_MAX_RANK];
  SrcLoc loc;
  int nouts; /* a loop's stacked outputs */
} Line;

/* A declared result type from the signature. */
typedef struct TypeSig {
  DType dtype;
  int rank;
  Dim shape[IR_MAX_RANK];
  bool any; /* not known yet: the first body returning it sets it (an if's values) */
} TypeSig;

/* A call's callee name until the whole module is read (kept in node->aux). */
typedef struct PendingCall {
  const char *name;
  SrcLoc at;
} PendingCall;

/* ---- errors -------------------------------------------------------------- */

static bool error_at(Parser *P, Token t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reports the first error only (later ones would be cascades); returns false
 * so callers can `return error_at(...)`. */
static bool error_at(Parser *P, Token t, const char *fmt, ...) {
  if (!P->failed) {
    va_list ap;
    va_start(ap, fmt);
    diag_verror(P->d, (SrcLoc){P->file, t.line, t.col}, fmt, ap);
    va_end(ap);
  }
  P->failed = true;
  return false;
}

/* "expected WHAT, got ..." for the current token. */
static bool unexpected(Parser *P, const char *what) {
  Token t = P->tok;
  unsigned char c = t.len ? (unsigned char)t.s[0] : 0;
  if (t.kind == T_EOF) return error_at(P, t, "unexpected end of file, expected %s", what);
  if (t.kind == T_BAD && c > ' ' && c < 0x7f) return error_at(P, t, "unexpected character '%c', expected %s", c, what);
  if (t.kind == T_BAD) return error_at(P, t, "unexpected character 0x%02x, expected %s", c, what);
  return error_at(P, t, "expected %s, got '%.*s'", what, t.len > 40 ? 40 : t.len, t.s);
}

/* ---- lexer --------------------------------------------------------------- */

static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_name(int c) { return is_alpha(c) || is_digit(c) || c == '.'; }
static bool is_blank(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
/* Ends the run after '@': a blank or the punctuation that may follow a name. */
static bool ends_at_run(int c) { return c == 0 || is_blank(c) || strchr("(),{}#%", c); }

static void bump(Parser *P) {
  if (*P->p == '\n') {
    P->line++;
    P->col = 1;
  } else {
    P->col++;
  }
  P->p++;
}

static void skip_blank(Parser *P) {
  for (;;) {
    char c = *P->p;
    if (is_blank(c))
      bump(P);
    else if (c == '#' || (c == '/' && P->p[1] == '/' && !P->dim_parens))
      while (*P->p && *P->p != '\n') bump(P);
    else
      return;
  }
}

/* digits ['.' digits] [('e'|'E') ['+'|'-'] digits] */
static void lex_number(Parser *P) {
  while (is_digit(*P->p)) bump(P);
  if (*P->p == '.') {
    bump(P);
    while (is_digit(*P->p)) bump(P);
  }
  if (*P->p != 'e' && *P->p != 'E') return;
  const char *q = P->p + 1;
  if (*q == '+' || *q == '-') q++;
  if (!is_digit(*q)) return;
  while (P->p < q || is_digit(*P->p)) bump(P);
}

/* Reads the next token into P->tok. */
static void next(Parser *P) {
  skip_blank(P);
  Token t = {T_PUNCT, P->p, 0, P->line, P->col};
  unsigned char c = (unsigned char)*P->p;
  if (!c) {
    t.kind = T_EOF;
  } else if (is_alpha(c)) {
    t.kind = T_IDENT;
    while (is_alpha(*P->p) || is_digit(*P->p)) bump(P);
  } else if (is_digit(c)) {
    t.kind = T_NUM;
    lex_number(P);
  } else if (c == '%' && is_name(P->p[1])) {
    t.kind = T_REF;
    for (bump(P); is_name(*P->p);) bump(P);
  } else if (c == '@' && !ends_at_run(P->p[1])) {
    t.kind = T_AT;
    for (bump(P); !ends_at_run(*P->p);) bump(P);
  } else if (c == '-' && P->p[1] == '>') {
    bump(P);
    bump(P);
  } else {
    if (!strchr("()[]{},:=*+-</", c)) t.kind = T_BAD;
    bump(P);
  }
  t.len = (int)(P->p - t.s);
  P->tok = t;
}

/* ---- token helpers ------------------------------------------------------- */

static bool tok_is(const Token *t, TokKind kind, const char *text) {
  return t->kind == kind && (size_t)t->len == strlen(text) && memcmp(t->s, text, (size_t)t->len) == 0;
}

static bool accept(Parser *P, const char *punct) {
  if (!tok_is(&P->tok, T_PUNCT, punct)) return false;
  next(P);
  return true;
}

static bool expect(Parser *P, const char *punct) {
  char what[8];
  snprintf(what, sizeof what, "'%s'", punct);
  return accept(P, punct) || unexpected(P, what);
}

static bool accept_word(Parser *P, const char *word) {
  if (!tok_is(&P->tok, T_IDENT, word)) return false;
  next(P);
  return true;
}

static bool expect_word(Parser *P, const char *word) {
  char what[32];
  snprintf(what, sizeof what, "'%s'", word);
  return accept_word(P, word) || unexpected(P, what);
}

/* Copies the text of t (skip: leading chars to drop, the sigil) into buf. */
static bool tok_text(Parser *P, const Token *t, int skip, char *buf) {
  int n = t->len - skip;
  if (n >= MAX_NAME) return error_at(P, *t, "token too long (%d chars)", n);
  memcpy(buf, t->s + skip, (size_t)n);
  buf[n] = 0;
  return true;
}

/* Parses n decimal digits at s; false on a non-digit, no digits or overflow. */
static bool digits_u64(const char *s, int n, uint64_t *out) {
  uint64_t v = 0;
  if (n <= 0) return false;
  for (int i = 0; i < n; i++) {
    if (!is_digit(s[i])) return false;
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(s[i] - '0'), &v)) return false;
  }
  *out = v;
  return true;
}

/* ['-'] INT, with |value| <= limit. */
static bool parse_int(Parser *P, uint64_t limit, int64_t *out) {
  Token at = P->tok;
  bool neg = accept(P, "-");
  uint64_t v;
  if (P->tok.kind != T_NUM) return unexpected(P, "an integer");
  if (!digits_u64(P->tok.s, P->tok.len, &v) || v > limit)
    return error_at(P, at, "bad integer '%.*s'", P->tok.len > 40 ? 40 : P->tok.len, P->tok.s);
  next(P);
  *out = neg ? -(int64_t)v : (int64_t)v;
  return true;
}

/* ---- dims ---------------------------------------------------------------- */

static uint64_t dim_l1(Dim a) {
  uint64_t s = 0;
  for (int i = 0; i < a->nterms; i++) s += (uint64_t)(a->terms[i].coef < 0 ? -a->terms[i].coef : a->terms[i].coef);
  return s;
}

/* a op b for op in + - *, refused when the result could leave DIM_LIMIT (its
 * coefficients are bounded by the sum or product of the operands' L1 norms). */
static bool dim_op(Parser *P, Token at, char op, Dim a, Dim b, Dim *out) {
  uint64_t la = dim_l1(a), lb = dim_l1(b), bound;
  bool over = op == '*' ? __builtin_mul_overflow(la, lb, &bound) : __builtin_add_overflow(la, lb, &bound);
  if (over || bound > DIM_LIMIT || (op == '*' && (int64_t)a->nterms * b->nterms > MAX_DIM_TERMS))
    return error_at(P, at, "dim expression too large");
  DimTable *t = P->m->dims;
  *out = op == '*' ? dim_mul(t, a, b) : op == '+' ? dim_add(t, a, b) : dim_sub(t, a, b);
  return true;
}

static bool parse_dim(Parser *P, Dim *out);
static bool parse_factor(Parser *P, Dim *out);

static bool parse_factor_inner(Parser *P, Dim *out) {
  Token t = P->tok;
  char name[MAX_NAME];
  int64_t v;
  Dim x;
  if (accept(P, "-")) return parse_factor(P, &x) && dim_op(P, t, '-', dim_lit(P->m->dims, 0), x, out);
  if (tok_is(&t, T_PUNCT, "(")) { /* (dim) or a derived symbol (dim // INT) */
    P->dim_parens++;
    next(P);
    bool ok = parse_dim(P, out);
    if (ok && accept(P, "/")) {
      ok = expect(P, "/") && parse_int(P, DIM_LIMIT, &v);
      if (ok && v < 1) ok = error_at(P, t, "a dim divides by %lld; the divisor must be at least 1", (long long)v);
      if (ok) *out = dim_floordiv(P->m->dims, *out, v);
    }
    P->dim_parens--;
    return ok && expect(P, ")");
  }
  if (t.kind == T_NUM) {
    if (!parse_int(P, DIM_LIMIT, &v)) return false;
    *out = dim_lit(P->m->dims, v);
    return true;
  }
  if (t.kind != T_IDENT) return unexpected(P, "a dim");
  if (!tok_text(P, &t, 0, name)) return false;
  next(P);
  *out = dim_sym(P->m->dims, name);
  return true;
}

/* factor := INT | SYMBOL | '(' dim ')' | '-' factor, nesting bounded. */
static bool parse_factor(Parser *P, Dim *out) {
  if (P->depth >= MAX_DEPTH) return error_at(P, P->tok, "dim expression nested too deeply");
  P->depth++;
  bool ok = parse_factor_inner(P, out);
  P->depth--;
  return ok;
}

static bool parse_term(Parser *P, Dim *out) {
  if (!parse_factor(P, out)) return false;
  for (;;) {
    Token t = P->tok;
    Dim rhs;
    if (!accept(P, "*")) return true;
    if (!parse_factor(P, &rhs) || !dim_op(P, t, '*', *out, rhs, out)) return false;
  }
}

static bool parse_dim(Parser *P, Dim *out) {
  if (!parse_term(P, out)) return false;
  for (;;) {
    Token t = P->tok;
    Dim rhs;
    if (!accept(P, "+") && !accept(P, "-")) return true;
    if (!parse_term(P, &rhs) || !dim_op(P, t, t.s[0], *out, rhs, out)) return false;
  }
}

/* ---- types --------------------------------------------------------------- */

/* DTYPE ['[' dim (',' dim)* ']'] */
static bool parse_type(Parser *P, DType *dtype, int *rank, Dim *shape) {
  Token t = P->tok;
  char name[MAX_NAME];
  if (t.kind != T_IDENT) return unexpected(P, "a type");
  if (!tok_text(P, &t, 0, name)) return false;
  int dt = dtype_from_name(name);
  if (dt < 0) return error_at(P, t, "unknown dtype '%s'", name);
  *dtype = (DType)dt;
  *rank = 0;
  next(P);
  if (!accept(P, "[")) return true;
  do {
    if (*rank == IR_MAX_RANK) return error_at(P, P->tok, "rank exceeds %d", IR_MAX_RANK);
    if (!parse_dim(P, &shape[(*rank)++])) return false;
  } while (accept(P, ","));
  return expect(P, "]");
}

/* ---- values -------------------------------------------------------------- */

/* The node a printed id names (ids are stored in n->id until ir_renumber);
 * params are named, never numbered. */
static IrNode *find_node(IrFunc *f, int64_t id) {
  if (id < f->body.len) {
    IrNode *n = f->body.items[id];
    if (n->op != OP_PARAM && n->id == id) return n;
  }
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    if (n->op != OP_PARAM && n->id == id) return n;
  }
  return NULL;
}

static IrNode *find_param(IrFunc *f, const char *name) {
  for (int i = 0; i < f->nparams; i++)
    if (strcmp(f->params[i]->name, name) == 0) return f->params[i];
  return NULL;
}

/* The node id of a '%'INT token, -1 if the token is not one. */
static int64_t ref_id(const Token *t) {
  uint64_t v;
  if (t->kind != T_REF || !digits_u64(t->s + 1, t->len - 1, &v) || v > 0x7fffffff) return -1;
  return (int64_t)v;
}

/* '%'NAME or '%'INT, which must already be defined. */
static bool parse_ref(Parser *P, IrNode **out) {
  Token t = P->tok;
  char name[MAX_NAME];
  if (t.kind != T_REF) return unexpected(P, "a value like %3 or %x");
  if (!tok_text(P, &t, 1, name)) return false;
  int64_t id = ref_id(&t);
  *out = is_digit(name[0]) ? (id >= 0 ? find_node(P->f, id) : NULL) : find_param(P->f, name);
  if (!*out) return error_at(P, t, "undefined value %%%s", name);
  next(P);
  return true;
}

/* ---- const literals ------------------------------------------------------ */

static bool parse_literal(Parser *P, Literal *lit) {
  lit->neg = accept(P, "-");
  lit->tok = P->tok;
  const Token *t = &P->tok;
  bool word = tok_is(t, T_IDENT, "inf") || tok_is(t, T_IDENT, "nan");
  if (!lit->neg) word = word || tok_is(t, T_IDENT, "true") || tok_is(t, T_IDENT, "false");
  if (t->kind != T_NUM && !word) return unexpected(P, "a constant");
  next(P);
  return true;
}

static bool bad_literal(Parser *P, const Literal *lit, DType t) {
  return error_at(P, lit->tok, "bad constant '%s%.*s' for %s", lit->neg ? "-" : "", lit->tok.len > 40 ? 40 : lit->tok.len, lit->tok.s,
                  dtype_names[t]);
}

static bool lit_bool(Parser *P, const Literal *lit, int64_t *out) {
  if (tok_is(&lit->tok, T_IDENT, "true") || tok_is(&lit->tok, T_IDENT, "false")) {
    *out = lit->tok.s[0] == 't';
    return true;
  }
  return bad_literal(P, lit, DT_BOOL);
}

/* An integer literal in the range of t (i32 or i64). */
static bool lit_int(Parser *P, const Literal *lit, DType t, int64_t *out) {
  uint64_t v, max = t == DT_I32 ? (uint64_t)INT32_MAX : (uint64_t)INT64_MAX;
  if (lit->tok.kind != T_NUM || !digits_u64(lit->tok.s, lit->tok.len, &v) || v > max + lit->neg) return bad_literal(P, lit, t);
  *out = lit->neg ? (int64_t)(0 - v) : (int64_t)v;
  return true;
}

/* A float literal rounded once, straight to t (strtof for f32). */
static bool lit_float(Parser *P, const Literal *lit, DType t, double *out) {
  char buf[MAX_NAME];
  double v;
  if (tok_is(&lit->tok, T_IDENT, "inf"))
    v = (double)INFINITY;
  else if (tok_is(&lit->tok, T_IDENT, "nan"))
    v = (double)NAN;
  else if (lit->tok.kind != T_NUM)
    return bad_literal(P, lit, t);
  else if (!tok_text(P, &lit->tok, 0, buf))
    return false;
  else
    v = t == DT_F32 ? (double)strtof(buf, NULL) : strtod(buf, NULL);
  *out = lit->neg ? -v : v;
  return true;
}

static bool set_value(Parser *P, Line *l) {
  if (l->dtype == DT_BOOL) return lit_bool(P, &l->lit, &l->attr.i);
  if (dtype_is_int(l->dtype)) return lit_int(P, &l->lit, l->dtype, &l->attr.i);
  return lit_float(P, &l->lit, l->dtype, &l->attr.f);
}

/* ---- attributes ---------------------------------------------------------- */

/* 'axes' '=' '[' [int (',' int)*] ']' */
static bool parse_axes(Parser *P, IrAttr *a) {
  if (!expect_word(P, "axes") || !expect(P, "=") || !expect(P, "[")) return false;
  if (accept(P, "]")) return true;
  do {
    if (a->naxes == IR_MAX_RANK) return error_at(P, P->tok, "more than %d axes", IR_MAX_RANK);
    if (!parse_int(P, 0x7fffffff, &a->axes[a->naxes++])) return false;
  } while (accept(P, ","));
  return expect(P, "]");
}

/* a loop's checkpoint levels: int | '[' int (',' int)* ']' (ir_verify checks them) */
static bool parse_levels(Parser *P, IrAttr *a) {
  bool list = accept(P, "[");
  do {
    if (a->naxes == IR_MAX_RANK) return error_at(P, P->tok, "more than %d checkpoint levels", IR_MAX_RANK);
    if (!parse_int(P, 0x7fffffff, &a->axes[a->naxes++])) return false;
  } while (list && accept(P, ","));
  return !list || expect(P, "]");
}

/* levels, or 'revolve' '(' int ')' */
static bool parse_checkpoint(Parser *P, IrAttr *a) {
  if (!accept_word(P, "revolve")) return parse_levels(P, a);
  int64_t s;
  if (!expect(P, "(") || !parse_int(P, 0x7fffffff, &s) || !expect(P, ")")) return false;
  a->snaps = (int)s;
  return true;
}

/* a revolve loop's 'revolve' '=' int ',' 'primal' '=' int (its advance body follows its body) */
static bool parse_revolve(Parser *P, IrAttr *a) {
  int64_t s, np;
  if (!expect_word(P, "revolve") || !expect(P, "=") || !parse_int(P, 0x7fffffff, &s) || !expect(P, ",") || !expect_word(P, "primal") ||
      !expect(P, "=") || !parse_int(P, MAX_ARGS, &np))
    return false;
  a->snaps = (int)s, a->nprim = (int)np;
  a->orelse = (IrFunc *)1; /* parse_loop_body parses it */
  return true;
}

/* [',' 'keepdims' '=' ('true' | 'false')] */
static bool parse_keepdims(Parser *P, IrAttr *a) {
  if (!accept(P, ",")) return true;
  if (!expect_word(P, "keepdims") || !expect(P, "=")) return false;
  if (accept_word(P, "true")) {
    a->keepdims = true;
    return true;
  }
  return accept_word(P, "false") || unexpected(P, "'true' or 'false'");
}

/* [','] 'reduce=' (sum | reduce_max | reduce_min): a gen's reduction. */
static bool parse_reduce_attr(Parser *P, Line *l, bool comma) {
  char name[MAX_NAME];
  l->attr.region = NULL;
  l->lit.neg = false; /* reused as "reduce= was given" */
  if (!comma && !tok_is(&P->tok, T_IDENT, "reduce")) return true;
  if (!expect_word(P, "reduce") || !expect(P, "=")) return false;
  if (P->tok.kind != T_IDENT || !tok_text(P, &P->tok, 0, name)) return unexpected(P, "sum, reduce_max or reduce_min");
  int op = op_from_name(name);
  if (op != OP_SUM && op != OP_RMAX && op != OP_RMIN) return error_at(P, P->tok, "unknown reduction '%s'", name);
  l->attr.i = op;
  l->lit.neg = true;
  next(P);
  return true;
}

/* The attribute after the operands; comma: the operand list ended in ','. */
static bool parse_attr(Parser *P, Line *l, bool comma) {
  AttrKind kind = op_info[l->op].attr;
  if (kind == ATTR_VALUE) return parse_literal(P, &l->lit);
  if (kind == ATTR_DIM) return parse_dim(P, &l->attr.dim);
  if (kind == ATTR_INDEX) { /* a read without subscripts has no comma before it */
    if ((!comma && !(l->op == OP_READ && l->nargs == 0)) || !expect_word(P, "index") || !expect(P, "="))
      return unexpected(P, "', index=N'");
    return parse_int(P, MAX_ARGS, &l->attr.i);
  }
  if (kind == ATTR_REGION) return parse_reduce_attr(P, l, comma);
  if (kind == ATTR_BODY) { /* a loop: ', states=N' [', outs=M'] [', while'] [', checkpoint=K'] */
    int64_t outs = 0;
    if (!comma || !expect_word(P, "states") || !expect(P, "=")) return unexpected(P, "', states=N'");
    if (!parse_int(P, MAX_ARGS, &l->attr.i)) return false;
    if (l->attr.i > l->nargs - 1)
      return error_at(P, P->tok, "a loop with %d operands cannot have %lld states", l->nargs, (long long)l->attr.i);
    bool comma2 = accept(P, ",");
    if (comma2 && tok_is(&P->tok, T_IDENT, "outs")) {
      if (!expect_word(P, "outs") || !expect(P, "=") || !parse_int(P, MAX_ARGS, &outs)) return false;
      comma2 = accept(P, ",");
    }
    if (comma2 && tok_is(&P->tok, T_IDENT, "while")) {
      if (!expect_word(P, "while")) return false;
      l->attr.is_while = true;
      comma2 = accept(P, ",");
    }
    if (comma2 && tok_is(&P->tok, T_IDENT, "checkpoint")) {
      if (!expect_word(P, "checkpoint") || !expect(P, "=") || !parse_checkpoint(P, &l->attr)) return false;
      comma2 = accept(P, ",");
    }
    if (comma2 && !parse_revolve(P, &l->attr)) return false;
    if (l->attr.i + outs < 1) return error_at(P, P->tok, "a loop has a state or a stacked output");
    l->nouts = (int)outs;
    return true;
  }
  if (kind == ATTR_BRANCHES) { /* an if: ', values=N' */
    if (!comma || !expect_word(P, "values") || !expect(P, "=")) return unexpected(P, "', values=N'");
    if (!parse_int(P, MAX_ARGS, &l->attr.i)) return false;
    if (l->attr.i < 1 || l->nargs < IR_IF_FIXED) return error_at(P, P->tok, "an if needs a condition and at least one value");
    return true;
  }
  if (kind != ATTR_AXES && kind != ATTR_REDUCE) return !comma || unexpected(P, "an operand");
  if (!comma) return unexpected(P, "', axes=[...]'");
  if (!parse_axes(P, &l->attr)) return false;
  return kind != ATTR_REDUCE || parse_keepdims(P, &l->attr);
}

/* ---- node lines ---------------------------------------------------------- */

/* OPNAME ['@'NAME]: the op, and the callee of a call. */
static bool parse_opname(Parser *P, Line *l) {
  char name[MAX_NAME];
  l->op_tok = P->tok;
  if (P->tok.kind != T_IDENT) return unexpected(P, "an op name");
  if (!tok_text(P, &P->tok, 0, name)) return false;
  int op = op_from_name(name);
  if (op < 0) return error_at(P, P->tok, "unknown op '%s'", name);
  if (op == OP_PARAM) return error_at(P, P->tok, "params are declared in the signature, not as nodes");
  l->op = (Op)op;
  next(P);
  if (op_info[op].attr != ATTR_CALLEE) return true;
  l->callee = P->tok;
  if (P->tok.kind != T_AT) return unexpected(P, "a callee like @f");
  next(P);
  return true;
}

/* '%'INT '=' OPNAME ['@'NAME] */
static bool parse_head(Parser *P, Line *l) {
  Token t = P->tok;
  l->id = (int)ref_id(&t);
  if (l->id < 0) return unexpected(P, "a node id like %3");
  if (find_node(P->f, l->id)) return error_at(P, t, "duplicate value %%%d", l->id);
  next(P);
  return expect(P, "=") && parse_opname(P, l);
}

/* [ref (',' ref)*], stopping at a ',' not followed by a ref (*comma set). */
static bool parse_operands(Parser *P, Line *l, bool *comma) {
  *comma = false;
  if (P->tok.kind != T_REF) return true;
  do {
    if (P->tok.kind != T_REF) {
      *comma = true;
      return true;
    }
    if (l->nargs == MAX_ARGS) return error_at(P, P->tok, "more than %d operands", MAX_ARGS);
    if (!parse_ref(P, &l->args[l->nargs++])) return false;
  } while (accept(P, ","));
  return true;
}

static bool check_arity(Parser *P, const Line *l) {
  const OpInfo *info = &op_info[l->op];
  if (info->arity < 0 || l->nargs == info->arity) return true;
  return error_at(P, l->op_tok, "'%s' takes %d operand%s, got %d", info->name, info->arity, info->arity == 1 ? "" : "s", l->nargs);
}

/* Interns a location's file name in the module arena. */
static const char *intern_file(Parser *P, const char *s, size_t n) {
  for (int i = 0; i < P->files.len; i++) {
    const char *f = P->files.items[i];
    if (strlen(f) == n && memcmp(f, s, n) == 0) return f;
  }
  char *f = arena_strndup(&P->m->arena, s, n);
  vec_push(&P->files, f);
  return f;
}

/* The 1..9 digits between s and end as an int. */
static bool loc_number(const char *s, const char *end, int *out) {
  uint64_t v;
  if (end - s > 9 || !digits_u64(s, (int)(end - s), &v)) return false;
  *out = (int)v;
  return true;
}

/* '@'FILE':'LINE':'COL, split at the last two colons. */
static bool parse_loc(Parser *P, SrcLoc *loc) {
  Token t = P->tok;
  const char *s = t.s + 1, *end = t.s + t.len, *c2 = end, *c1;
  while (c2 > s && c2[-1] != ':') c2--;
  for (c1 = c2 > s ? c2 - 1 : s; c1 > s && c1[-1] != ':';) c1--;
  bool ok = c2 > s && c1 > s + 1 && loc_number(c1, c2 - 1, &loc->line) && loc_number(c2, end, &loc->col);
  if (!ok) return error_at(P, t, "bad location '%.*s', expected @file:line:col", t.len > 60 ? 60 : t.len, t.s);
  loc->file = intern_file(P, s, (size_t)(c1 - 1 - s));
  next(P);
  return true;
}

static bool valid_name(const char *s, int n) {
  if (n <= 0 || is_digit(s[0])) return false;
  for (int i = 0; i < n; i++)
    if (!is_name(s[i])) return false;
  return true;
}

/* Appends the node; a call keeps its callee name in aux until resolve_calls. */
static bool build_node(Parser *P, Line *l) {
  if (op_info[l->op].attr == ATTR_VALUE && !set_value(P, l)) return false;
  IrNode *n = ir_node(P->m, P->f, l->op, l->dtype, l->rank, l->shape, l->nargs, l->args, l->loc);
  n->attr = l->attr;
  n->id = l->id;
  if (l->op != OP_CALL) return true;
  if (!valid_name(l->callee.s + 1, l->callee.len - 1))
    return error_at(P, l->callee, "bad callee name '%.*s'", l->callee.len > 40 ? 40 : l->callee.len, l->callee.s);
  PendingCall *pc = ARENA_NEW(&P->m->arena, PendingCall);
  pc->name = arena_strndup(&P->m->arena, l->callee.s + 1, (size_t)l->callee.len - 1);
  pc->at = (SrcLoc){P->file, l->callee.line, l->callee.col};
  n->aux = pc;
  return true;
}

static bool parse_body(Parser *P, const PtrVec *sigs);

/* '%'NAME '<' dim: an index variable of a region. */
static bool parse_index_var(Parser *P, const char **name, Dim *extent) {
  Token t = P->tok;
  char buf[MAX_NAME];
  if (t.kind != T_REF || is_digit(t.s[1])) return unexpected(P, "an index variable like %i");
  if (!tok_text(P, &t, 1, buf)) return false;
  *name = arena_strdup(&P->m->arena, buf);
  next(P);
  return expect(P, "<") && parse_dim(P, extent);
}

/* The region's results: gen one value of the node's dtype; scatter the value
 * and one i64 subscript per axis. */
static void region_sigs(Parser *P, const Line *l, PtrVec *sigs) {
  int n = l->op == OP_SCATTER ? 1 + l->rank : 1;
  for (int i = 0; i < n; i++) {
    TypeSig *s = ARENA_NEW(&P->m->arena, TypeSig);
    s->dtype = i ? DT_I64 : l->dtype;
    vec_push(sigs, s);
  }
}

/* 'region' '(' var (',' var)* ')' '{' node* 'return' refs '}' */
static bool parse_region(Parser *P, Line *l) {
  const char *names[IR_MAX_INDICES];
  Dim extent[IR_MAX_INDICES];
  int n = 0;
  Token at = P->tok;
  if (!expect_word(P, "region") || !expect(P, "(")) return false;
  if (!tok_is(&P->tok, T_PUNCT, ")")) do {
      if (n == IR_MAX_INDICES) return error_at(P, P->tok, "more than %d index variables", IR_MAX_INDICES);
      if (!parse_index_var(P, &names[n], &extent[n])) return false;
      n++;
    } while (accept(P, ","));
  if (!expect(P, ")")) return false;
  IrRegion *r = ir_region_new(P->m, n, names, extent, (SrcLoc){P->file, at.line, at.col});
  if (l->lit.neg) r->reduce = (Op)l->attr.i;
  l->attr.i = 0;
  l->attr.region = r;
  IrFunc *outer = P->f;
  int nupdates = P->nupdates;
  PtrVec sigs = {0};
  region_sigs(P, l, &sigs);
  P->f = r->body;
  bool ok = parse_body(P, &sigs);
  if (ok) ir_renumber(r->body);
  vec_free(&sigs);
  P->f = outer;
  P->nupdates = nupdates;
  return ok;
}

static bool parse_param(Parser *P);

/* KW '(' param (',' param)* ')' '{' node* 'return' refs '}': a loop's body
 * or a branch of an if, whose results have the types sigs gives. */
static IrFunc *parse_sub_body(Parser *P, const char *kw, const PtrVec *sigs) {
  Token at = P->tok;
  if (!expect_word(P, kw)) return NULL;
  IrFunc *outer = P->f, *body = ir_loop_body_new(P->m, (SrcLoc){P->file, at.line, at.col});
  body->name = kw;
  int nupdates = P->nupdates;
  P->f = body;
  bool ok = expect(P, "(");
  if (ok && !accept(P, ")")) {
    do ok = parse_param(P);
    while (ok && accept(P, ","));
    ok = ok && expect(P, ")");
  }
  ok = ok && parse_body(P, sigs);
  if (ok) ir_renumber(body);
  P->f = outer;
  P->nupdates = nupdates;
  return ok ? body : NULL;
}

/* 'body' ...: a loop's body, whose results are the states (operands
 * 1..states), then a scan's per-step outputs (any type: ir_verify checks
 * the projs). */
static bool parse_loop_body(Parser *P, Line *l) {
  PtrVec sigs = {0};
  for (int k = 0; k < l->attr.i; k++) {
    TypeSig *s = ARENA_NEW(&P->m->arena, TypeSig);
    const IrNode *x = l->args[IR_LOOP_FIXED + k];
    *s = (TypeSig){x->dtype, x->rank, {0}, false};
    memcpy(s->shape, x->shape, sizeof(Dim) * (size_t)x->rank);
    vec_push(&sigs, s);
  }
  for (int k = 0; k < l->nouts; k++) {
    TypeSig *s = ARENA_NEW(&P->m->arena, TypeSig);
    s->any = true;
    vec_push(&sigs, s);
  }
  IrFunc *body = parse_sub_body(P, "body", &sigs);
  IrFunc *adv = NULL;
  if (body && l->attr.orelse) { /* a revolve loop: the advance body gives the states */
    sigs.len = (int)l->attr.i;
    adv = parse_sub_body(P, "advance", &sigs);
    if (adv) adv->name = "loop";
  }
  vec_free(&sigs);
  bool ok = body && (!l->attr.orelse || adv);
  l->attr.orelse = adv;
  l->attr.i = l->nouts;
  l->attr.body = body;
  if (body) body->name = "loop";
  return ok;
}

/* 'then' ... 'else' ...: an if's bodies; value 0 has the node's type, the
 * others the types the then body gives them (ir_verify checks the rest). */
static bool parse_if_bodies(Parser *P, Line *l) {
  PtrVec sigs = {0};
  for (int k = 0; k < l->attr.i; k++) {
    TypeSig *s = ARENA_NEW(&P->m->arena, TypeSig);
    *s = (TypeSig){l->dtype, l->rank, {0}, k > 0};
    memcpy(s->shape, l->shape, sizeof(Dim) * (size_t)l->rank);
    vec_push(&sigs, s);
  }
  l->attr.i = 0;
  l->attr.body = parse_sub_body(P, "then", &sigs);
  l->attr.orelse = l->attr.body ? parse_sub_body(P, "else", &sigs) : NULL;
  vec_free(&sigs);
  return l->attr.orelse != NULL;
}

/* node := '%'INT '=' OPNAME ['@'NAME] [refs] [attr] ':' type ['@'LOC] [region] */
static bool parse_node(Parser *P) {
  Line l;
  bool comma;
  memset(&l, 0, sizeof l);
  if (!parse_head(P, &l) || !parse_operands(P, &l, &comma) || !check_arity(P, &l)) return false;
  if (!parse_attr(P, &l, comma) || !expect(P, ":")) return false;
  if (!parse_type(P, &l.dtype, &l.rank, l.shape)) return false;
  if (P->tok.kind == T_AT && !parse_loc(P, &l.loc)) return false;
  if (op_info[l.op].attr == ATTR_REGION && !parse_region(P, &l)) return false;
  if (op_info[l.op].attr == ATTR_BODY && !parse_loop_body(P, &l)) return false;
  if (op_info[l.op].attr == ATTR_BRANCHES && !parse_if_bodies(P, &l)) return false;
  return build_node(P, &l);
}

/* ---- functions ----------------------------------------------------------- */

/* '%'NAME ':' type */
static bool parse_param(Parser *P) {
  Token t = P->tok;
  char name[MAX_NAME];
  DType dt;
  int rank;
  Dim shape[IR_MAX_RANK];
  if (t.kind != T_REF || is_digit(t.s[1])) return unexpected(P, "a parameter like %x");
  if (!tok_text(P, &t, 1, name)) return false;
  if (find_param(P->f, name)) return error_at(P, t, "duplicate parameter %%%s", name);
  next(P);
  if (!expect(P, ":")) return false;
  bool inout = accept_word(P, "inout");
  if (!parse_type(P, &dt, &rank, shape)) return false;
  ir_param(P->m, P->f, name, dt, rank, shape, (SrcLoc){0})->inout = inout;
  return true;
}

static bool parse_params(Parser *P) {
  if (!expect(P, "(")) return false;
  if (accept(P, ")")) return true;
  do {
    if (!parse_param(P)) return false;
  } while (accept(P, ","));
  return expect(P, ")");
}

static bool parse_sig_type(Parser *P, PtrVec *sigs) {
  if (sigs->len == MAX_ARGS) return error_at(P, P->tok, "more than %d results", MAX_ARGS);
  TypeSig *s = ARENA_NEW(&P->m->arena, TypeSig);
  vec_push(sigs, s);
  return parse_type(P, &s->dtype, &s->rank, s->shape);
}

/* '->' (type | '(' [type (',' type)*] ')') */
static bool parse_results(Parser *P, PtrVec *sigs) {
  if (!expect(P, "->")) return false;
  if (!accept(P, "(")) return parse_sig_type(P, sigs);
  if (accept(P, ")")) return true;
  do {
    if (!parse_sig_type(P, sigs)) return false;
  } while (accept(P, ","));
  return expect(P, ")");
}

/* The returned values must have the types the signature declares. */
static bool check_results(Parser *P, Token at, const PtrVec *sigs, IrNode **res, int n) {
  char want[512], got[512];
  if (n != sigs->len)
    return error_at(P, at, "@%s returns %d value%s, its signature declares %d", P->f->name, n, n == 1 ? "" : "s", sigs->len);
  for (int i = 0; i < n; i++) {
    TypeSig *s = sigs->items[i];
    if (s->any) {
      *s = (TypeSig){res[i]->dtype, res[i]->rank, {0}, false};
      memcpy(s->shape, res[i]->shape, sizeof(Dim) * (size_t)res[i]->rank);
    }
    bool same = s->dtype == res[i]->dtype && s->rank == res[i]->rank;
    for (int k = 0; same && k < s->rank; k++) same = s->shape[k] == res[i]->shape[k];
    if (same) continue;
    ir_type_snprint(P->m, s->dtype, s->rank, s->shape, want, sizeof want);
    ir_type_snprint(P->m, res[i]->dtype, res[i]->rank, res[i]->shape, got, sizeof got);
    return error_at(P, at, "result %d is %s, the signature declares %s", i, got, want);
  }
  return true;
}

/* 'return' [ref (',' ref)*] '}' */
static bool parse_return(Parser *P, const PtrVec *sigs) {
  Token at = P->tok;
  IrNode *res[MAX_ARGS + MAX_UPDATES];
  int n = 0;
  next(P);
  if (P->tok.kind == T_REF) {
    do {
      if (n == MAX_ARGS) return error_at(P, P->tok, "more than %d results", MAX_ARGS);
      if (!parse_ref(P, &res[n++])) return false;
    } while (accept(P, ","));
  }
  if (!expect(P, "}") || !check_results(P, at, sigs, res, n)) return false;
  for (int u = 0; u < P->nupdates; u++) res[n + u] = P->update_value[u];
  ir_set_results(P->m, P->f, n + P->nupdates, res);
  P->f->nupdates = P->nupdates;
  P->f->update_param = ARENA_ARRAY(&P->m->arena, int, P->nupdates);
  memcpy(P->f->update_param, P->update_param, sizeof(int) * (size_t)P->nupdates);
  return true;
}

/* 'update' '%'PARAM '=' ref: the value written back into an inout param */
static bool parse_update(Parser *P) {
  next(P);
  Token t = P->tok;
  char name[MAX_NAME];
  if (t.kind != T_REF || !tok_text(P, &t, 1, name)) return unexpected(P, "an inout parameter like %W");
  IrNode *p = find_param(P->f, name);
  if (!p || !p->inout) return error_at(P, t, "%%%s is not an inout parameter", name);
  if (P->nupdates == MAX_UPDATES) return error_at(P, t, "more than %d updates", MAX_UPDATES);
  next(P);
  P->update_param[P->nupdates] = (int)p->attr.i;
  return expect(P, "=") && parse_ref(P, &P->update_value[P->nupdates++]);
}

/* '{' (node | update)* 'return' ... '}' */
static bool parse_body(Parser *P, const PtrVec *sigs) {
  if (!expect(P, "{")) return false;
  P->nupdates = 0;
  for (;;) {
    if (P->tok.kind == T_REF) {
      if (!parse_node(P)) return false;
    } else if (tok_is(&P->tok, T_IDENT, "update")) {
      if (!parse_update(P)) return false;
    } else if (tok_is(&P->tok, T_IDENT, "return")) {
      return parse_return(P, sigs);
    } else if (P->tok.kind == T_EOF || tok_is(&P->tok, T_PUNCT, "}") || tok_is(&P->tok, T_IDENT, "func")) {
      return error_at(P, P->tok, "missing 'return' in @%s", P->f->name);
    } else {
      return unexpected(P, "a node like '%3 = ...' or 'return'");
    }
  }
}

/* 'func' ['private'] '@'NAME: creates the function. */
static bool parse_func_name(Parser *P) {
  char name[MAX_NAME];
  Token kw = P->tok;
  if (!expect_word(P, "func")) return false;
  bool is_private = accept_word(P, "private");
  Token t = P->tok;
  if (t.kind != T_AT) return unexpected(P, "a function name like @f");
  if (!valid_name(t.s + 1, t.len - 1)) return error_at(P, t, "bad function name '%.*s'", t.len > 40 ? 40 : t.len, t.s);
  if (!tok_text(P, &t, 1, name)) return false;
  if (ir_find_func(P->m, name)) return error_at(P, t, "duplicate function @%s", name);
  P->f = ir_func_new(P->m, name, (SrcLoc){P->m->source, kw.line, kw.col});
  P->f->exported = !is_private;
  next(P);
  return true;
}

/* '@'NAME, remembered for resolve_links. */
static bool parse_link(Parser *P, DeriveKind kind) {
  Token t = P->tok;
  char name[MAX_NAME];
  if (t.kind != T_AT || !tok_text(P, &t, 1, name)) return unexpected(P, "a function name like @f");
  next(P);
  Link *l = ARENA_NEW(&P->m->arena, Link);
  *l = (Link){P->f, arena_strdup(&P->m->arena, name), kind, {{0}}, t};
  vec_push(&P->links, l);
  if (kind == DERIVE_NONE) return true;
  if (!expect_word(P, "wrt") || !expect(P, "=") || !expect(P, "[")) return false;
  if (accept(P, "]")) return true;
  do {
    int64_t i;
    if (!parse_int(P, IR_MAX_PARAMS - 1, &i)) return false;
    ps_add(&l->wrt, (int)i);
  } while (accept(P, ","));
  return expect(P, "]");
}

/* 'derive' KIND '@'NAME 'wrt=[..]': a derived function, not built yet. */
static bool parse_derive(Parser *P, const PtrVec *sigs) {
  char kind[MAX_NAME];
  if (P->tok.kind != T_IDENT || !tok_text(P, &P->tok, 0, kind)) return unexpected(P, "a derivative kind like grad");
  int k = DERIVE_GRAD;
  while (k <= DERIVE_JVP && strcmp(derive_kind_names[k], kind) != 0) k++;
  if (k > DERIVE_JVP) return error_at(P, P->tok, "unknown derivative kind '%s'", kind);
  next(P);
  if (!parse_link(P, (DeriveKind)k)) return false;
  IrNode *res[MAX_ARGS];
  for (int i = 0; i < sigs->len; i++) {
    const TypeSig *s = sigs->items[i];
    res[i] = ir_placeholder(P->m, s->dtype, s->rank, s->shape);
  }
  ir_set_results(P->m, P->f, sigs->len, res);
  P->f->built = false;
  return true;
}

static bool parse_func(Parser *P) {
  PtrVec sigs = {0};
  bool ok = parse_func_name(P) && parse_params(P) && parse_results(P, &sigs);
  if (ok && accept_word(P, "derive")) {
    ok = parse_derive(P, &sigs);
    /* printed after autodiff: a derived function with its body */
    if (ok && tok_is(&P->tok, T_PUNCT, "{")) ok = parse_body(P, &sigs), P->f->built = true;
  } else
    ok = ok && (!accept_word(P, "rule") || parse_link(P, DERIVE_NONE)) && parse_body(P, &sigs);
  vec_free(&sigs);
  if (ok) ir_renumber(P->f);
  return ok;
}

/* Sets derive_of and custom_vjp, now that all functions are known. */
static void resolve_links(Parser *P) {
  for (int i = 0; i < P->links.len; i++) {
    Link *l = P->links.items[i];
    IrFunc *target = ir_find_func(P->m, l->target);
    if (!target) {
      error_at(P, l->at, "unknown function @%s", l->target);
      continue;
    }
    if (l->kind == DERIVE_NONE) {
      l->f->custom_vjp = target;
    } else {
      l->f->derive = l->kind;
      l->f->derive_of = target;
      l->f->wrt = l->wrt;
    }
  }
}

/* Points every call at its callee, now that all functions are known. */
static void resolve_calls(Parser *P) {
  PtrVec all = {0};
  for (int i = 0; i < P->m->funcs.len; i++) ir_all_nodes(P->m->funcs.items[i], &all); /* loop bodies too */
  for (int j = 0; j < all.len; j++) {
    IrNode *n = all.items[j];
    PendingCall *pc = n->aux;
    if (n->op != OP_CALL || !pc) continue;
    n->attr.callee = ir_find_func(P->m, pc->name);
    n->aux = NULL;
    if (!n->attr.callee) error_at(P, (Token){.line = pc->at.line, .col = pc->at.col}, "unknown callee @%s", pc->name);
  }
  vec_free(&all);
}

/* "dir/cse.ir" -> "cse": the module name until the driver sets the prefix. */
static void module_name(const char *file, char *buf, size_t len) {
  const char *base = strrchr(file, '/');
  base = base ? base + 1 : file;
  size_t n = strcspn(base, ".");
  snprintf(buf, len, "%.*s", (int)(n ? n : strlen(base)), base);
}

IrModule *ir_parse(const char *file, const char *text, Diag *d) {
  Diag stderr_diag;
  char name[MAX_NAME];
  if (!d) diag_init(d = &stderr_diag, NULL);
  file = file ? file : "<ir>";
  text = text ? text : "";
  diag_add_source(d, file, text);
  module_name(file, name, sizeof name);
  Parser P = {.file = file, .p = text, .line = 1, .col = 1, .d = d, .m = ir_module_new(name)};
  P.m->source = arena_strdup(&P.m->arena, file);
  next(&P);
  while (P.tok.kind != T_EOF && parse_func(&P)) {}
  if (!P.failed) resolve_calls(&P);
  if (!P.failed) resolve_links(&P);
  vec_free(&P.files);
  vec_free(&P.links);
  if (!P.failed) return P.m;
  ir_module_free(P.m);
  return NULL;
}
