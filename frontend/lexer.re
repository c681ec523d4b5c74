/* lexer.re — the tokens of .tex files (re2c generates lexer.c from this).
 *
 * Reentrant: all state lives in a Lexer.  Newlines are not tokens (every
 * statement starts with a keyword, so the grammar needs no terminators).
 * Every token carries its line and column for diagnostics. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "parser.h"

void lexer_init(Lexer *lx, const char *file, const char *text, Arena *arena, Diag *diag) {
  memset(lx, 0, sizeof *lx);
  lx->file = file;
  lx->start = lx->cur = lx->line_start = text;
  lx->end = text + strlen(text);
  lx->line = 1;
  lx->arena = arena;
  lx->diag = diag;
}

static SrcLoc here(const Lexer *lx) {
  return (SrcLoc){lx->file, lx->line, (int)(lx->tok - lx->line_start) + 1};
}

/* How a literal is shown in a message: whole, or its first 40 characters. */
static const char *ellipsis(const Lexer *lx) { return lx->cur - lx->tok > 40 ? "..." : ""; }

static int int_token(Lexer *lx, YYSTYPE *lval) {
  char buf[64];
  size_t n = (size_t)(lx->cur - lx->tok);
  if (n >= sizeof buf) n = sizeof buf - 1; /* too many digits for int64 anyway: strtoll says ERANGE */
  memcpy(buf, lx->tok, n);
  buf[n] = 0;
  errno = 0;
  long long v = strtoll(buf, NULL, 10);
  if (errno == ERANGE)
    diag_error(lx->diag, here(lx), "integer literal %.40s%s is too large (the limit is 2^63-1)", buf, ellipsis(lx));
  lval->ival = v;
  return INT;
}

static int float_token(Lexer *lx, YYSTYPE *lval) {
  char *s = arena_strndup(lx->arena, lx->tok, (size_t)(lx->cur - lx->tok));
  errno = 0;
  lval->fval = strtod(s, NULL);
  if (errno == ERANGE && (lval->fval > 1 || lval->fval < -1))
    diag_error(lx->diag, here(lx), "float literal %.40s%s is too large (the f64 limit is about 1.8e308)", s, ellipsis(lx));
  return FLOAT;
}

static int ident_token(Lexer *lx, YYSTYPE *lval) {
  size_t n = (size_t)(lx->cur - lx->tok);
  if (n > FE_MAX_IDENT) { /* an error token: the parser skips the statement, and no later message repeats the name */
    diag_error(lx->diag, here(lx), "this name is %zu characters long; the limit is %d", n, FE_MAX_IDENT);
    return YYerror;
  }
  lval->str = arena_strndup(lx->arena, lx->tok, n);
  return IDENT;
}

/* Nesting is bounded so that no later phase recurses without bound on
 * brackets; past the limit the rest of the file is skipped. */
static int open_bracket(Lexer *lx) {
  if (++lx->depth <= FE_MAX_NESTING) return (unsigned char)lx->tok[0];
  diag_error(lx->diag, here(lx), "parentheses and brackets nest more than %d deep here (the limit); stopping", FE_MAX_NESTING);
  lx->stopped = true;
  lx->cur = lx->end;
  return YYEOF;
}

static int close_bracket(Lexer *lx) {
  if (lx->depth > 0) lx->depth--;
  return (unsigned char)lx->tok[0];
}

static int dtype_token(Lexer *lx, YYSTYPE *lval) {
  char *s = arena_strndup(lx->arena, lx->tok, (size_t)(lx->cur - lx->tok));
  lval->ival = dtype_from_name(s);
  return DTYPE;
}

/* The code point of the UTF-8 sequence at p, or -1 if it is not valid UTF-8
 * (overlong forms, surrogates and values past U+10FFFF included). */
static int32_t utf8_decode(const unsigned char *p) {
  int n = p[0] >= 0xf0 ? 3 : p[0] >= 0xe0 ? 2 : p[0] >= 0xc0 ? 1 : -1;
  if (n < 0 || p[0] >= 0xf8) return -1;
  int32_t cp = p[0] & (0x3f >> n);
  for (int i = 1; i <= n; i++) {
    if ((p[i] & 0xc0) != 0x80) return -1;
    cp = cp << 6 | (p[i] & 0x3f);
  }
  static const int32_t least[] = {0, 0x80, 0x800, 0x10000};
  if (cp < least[n] || (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff) return -1;
  return cp;
}

/* A byte no token starts with.  A run of non-ASCII bytes is one error, not
 * one per byte (a binary file says so once, not a million times). */
static void bad_char(Lexer *lx, SrcLoc loc) {
  unsigned char c = (unsigned char)lx->tok[0];
  if (c < 0x80) {
    if (c >= 0x20 && c < 0x7f) diag_error(lx->diag, loc, "unexpected character '%c'", c);
    else diag_error(lx->diag, loc, "unexpected byte 0x%02x", c);
    return;
  }
  int32_t cp = utf8_decode((const unsigned char *)lx->tok);
  while ((unsigned char)*lx->cur >= 0x80) lx->cur++;
  if (cp >= 0) diag_error(lx->diag, loc, "unexpected character U+%04X; outside comments a .tex file is ASCII", (unsigned)cp);
  else diag_error(lx->diag, loc, "invalid UTF-8 (byte 0x%02x); a .tex file is text", c);
}

int yylex(YYSTYPE *lval, YYLTYPE *lloc, Lexer *lx);
int yylex(YYSTYPE *lval, YYLTYPE *lloc, Lexer *lx) {
  for (;;) {
    lx->tok = lx->cur;
    SrcLoc loc = here(lx);
    lloc->first_line = lloc->last_line = loc.line;
    lloc->first_column = lloc->last_column = loc.col;
    /*!re2c
      re2c:define:YYCTYPE = char;
      re2c:define:YYCURSOR = lx->cur;
      re2c:define:YYMARKER = lx->marker;
      re2c:yyfill:enable = 0;

      digits = [0-9]+;
      ident  = [a-zA-Z_][a-zA-Z0-9_]*;
      exp    = [eE] [+-]? digits;

      "\x00"      { if (lx->tok >= lx->end) { lx->cur = lx->tok; return YYEOF; }
                    diag_error(lx->diag, loc, "unexpected NUL byte in source"); continue; }
      [ \t\r]+    { continue; }
      "\n"        { lx->line++; lx->line_start = lx->cur; continue; }
      "#" [^\n\x00]* { continue; }

      "fn"        { return FN; }
      "let"       { return LET; }
      "return"    { return RETURN; }
      "private"   { return PRIVATE; }
      "inout"     { return INOUT; }
      "update"    { return UPDATE; }
      "grad"      { return GRAD; }
      "import"    { return IMPORT; }
      "loop"      { return LOOP; }
      "scan"      { return SCAN; }
      "while"     { return WHILE; }
      "emit"      { return EMIT; }
      "with"      { return WITH; }
      "next"      { return NEXT; }
      "if"        { return IF; }
      "else"      { return ELSE; }
      "yield"     { return YIELD; }
      "true"      { lval->ival = 1; return BOOL; }
      "false"     { lval->ival = 0; return BOOL; }
      "and"       { return AND; }
      "or"        { return OR; }
      "not"       { return NOT; }
      "f32" | "f64" | "i32" | "i64" | "bool" { return dtype_token(lx, lval); }

      digits                                  { return int_token(lx, lval); }
      digits "." digits exp? | digits exp     { return float_token(lx, lval); }
      ident       { return ident_token(lx, lval); }

      "->"        { return ARROW; }
      "**"        { return POW; }
      "//"        { return FLOORDIV; }
      "<<"        { return SHL; }
      ">>"        { return SHR; }
      "=="        { return EQ; }
      "!="        { return NE; }
      "<="        { return LE; }
      ">="        { return GE; }
      [([]        { return open_bracket(lx); }
      [)\]]       { return close_bracket(lx); }
      [-+*/@<>={},:.%&|^] { return (unsigned char)lx->tok[0]; }

      * { bad_char(lx, loc); continue; }
    */
  }
}
