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

static int int_token(Lexer *lx, YYSTYPE *lval) {
  char buf[64];
  size_t n = (size_t)(lx->cur - lx->tok);
  if (n >= sizeof buf) n = sizeof buf - 1;
  memcpy(buf, lx->tok, n);
  buf[n] = 0;
  errno = 0;
  long long v = strtoll(buf, NULL, 10);
  if (errno == ERANGE) diag_error(lx->diag, here(lx), "integer literal %s is too large (the limit is 2^63-1)", buf);
  lval->ival = v;
  return INT;
}

static int float_token(Lexer *lx, YYSTYPE *lval) {
  char *s = arena_strndup(lx->arena, lx->tok, (size_t)(lx->cur - lx->tok));
  errno = 0;
  lval->fval = strtod(s, NULL);
  if (errno == ERANGE && (lval->fval > 1 || lval->fval < -1))
    diag_error(lx->diag, here(lx), "float literal %s is too large (the f64 limit is about 1.8e308)", s);
  return FLOAT;
}

static int dtype_token(Lexer *lx, YYSTYPE *lval) {
  char *s = arena_strndup(lx->arena, lx->tok, (size_t)(lx->cur - lx->tok));
  lval->ival = dtype_from_name(s);
  return DTYPE;
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
      "true"      { lval->ival = 1; return BOOL; }
      "false"     { lval->ival = 0; return BOOL; }
      "and"       { return AND; }
      "or"        { return OR; }
      "not"       { return NOT; }
      "f32" | "f64" | "i32" | "i64" | "bool" { return dtype_token(lx, lval); }

      digits                                  { return int_token(lx, lval); }
      digits "." digits exp? | digits exp     { return float_token(lx, lval); }
      ident       { lval->str = arena_strndup(lx->arena, lx->tok, (size_t)(lx->cur - lx->tok)); return IDENT; }

      "->"        { return ARROW; }
      "**"        { return POW; }
      "=="        { return EQ; }
      "!="        { return NE; }
      "<="        { return LE; }
      ">="        { return GE; }
      [-+*/@<>=(){}[\],:] { return (unsigned char)lx->tok[0]; }

      * { unsigned char c = (unsigned char)lx->tok[0];
          if (c >= 0x20 && c < 0x7f)
            diag_error(lx->diag, loc, "unexpected character '%c'", c);
          else
            diag_error(lx->diag, loc, "unexpected byte 0x%02x", c);
          continue; }
    */
  }
}
