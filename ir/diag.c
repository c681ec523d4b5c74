/* diag.c — user-facing diagnostics: `file:line:col: error: msg`, the source
 * line, and a caret under the column.  Every phase reports through a Diag so
 * errors always point at the user's own text, never at compiler internals. */
#include <string.h>

#include "ir.h"

void diag_init(Diag *d, FILE *out) {
  memset(d, 0, sizeof *d);
  d->out = out ? out : stderr;
}

/* Sema refuses a program of more than DIAG_MAX_FILES files before it gets
 * here (FE_MAX_MODULES); an extra file would only lose its source lines. */
void diag_add_source(Diag *d, const char *file, const char *text) {
  if (d->nfiles == DIAG_MAX_FILES) return;
  d->files[d->nfiles] = file;
  d->texts[d->nfiles] = text;
  d->nfiles++;
}

static const char *source_of(const Diag *d, const char *file) {
  for (int i = 0; i < d->nfiles; i++)
    if (d->files[i] == file || (file && strcmp(d->files[i], file) == 0)) return d->texts[i];
  return NULL;
}

/* A hostile file must not make the messages huge: a long line is shown
 * around the caret, and after DIAG_MAX_ERRORS errors only the count goes on. */
enum { DIAG_LINE_WINDOW = 160, DIAG_MAX_ERRORS = 100 };

/* Prints the line `line` of text and a caret under column `col`; tabs in the
 * prefix are kept so the caret lines up in any terminal. */
static void show_line(FILE *out, const char *text, int line, int col) {
  const char *p = text;
  for (int l = 1; l < line && *p; p++)
    if (*p == '\n') l++;
  const char *end = strchr(p, '\n');
  int len = end ? (int)(end - p) : (int)strlen(p), from = 0, to = len;
  if (len > DIAG_LINE_WINDOW) {
    from = col - 1 - DIAG_LINE_WINDOW / 2;
    if (from > len - DIAG_LINE_WINDOW) from = len - DIAG_LINE_WINDOW;
    if (from < 0) from = 0;
    to = from + DIAG_LINE_WINDOW;
  }
  fprintf(out, "%5d | %s%.*s%s\n      | %s", line, from ? "..." : "", to - from, p + from, to < len ? "..." : "", from ? "   " : "");
  for (int i = from; i < col - 1 && i < to; i++) fputc(p[i] == '\t' ? '\t' : ' ', out);
  fputs("^\n", out);
}

static void report(Diag *d, const char *kind, SrcLoc loc, const char *fmt, va_list ap) {
  if (loc.file && loc.line > 0)
    fprintf(d->out, "%s:%d:%d: %s: ", loc.file, loc.line, loc.col, kind);
  else
    fprintf(d->out, "texc: %s: ", kind);
  vfprintf(d->out, fmt, ap);
  fputc('\n', d->out);
  const char *text = loc.line > 0 ? source_of(d, loc.file) : NULL;
  if (text) show_line(d->out, text, loc.line, loc.col);
}

static void note(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The context notes of the last error, after its own notes. */
static void flush_context(Diag *d) {
  if (!d->ctx_pending) return;
  d->ctx_pending = false;
  int shown = d->nctx < DIAG_MAX_CONTEXT ? d->nctx : DIAG_MAX_CONTEXT;
  for (int i = shown - 1; i >= 0; i--) note(d, d->ctx_loc[i], "%s", d->ctx_text[i]);
}

void diag_push_context(Diag *d, SrcLoc loc, const char *text) {
  flush_context(d);
  if (d->nctx < DIAG_MAX_CONTEXT) d->ctx_loc[d->nctx] = loc, d->ctx_text[d->nctx] = text;
  d->nctx++;
}

void diag_pop_context(Diag *d) {
  flush_context(d);
  if (d->nctx > 0) d->nctx--;
}

void diag_verror(Diag *d, SrcLoc loc, const char *fmt, va_list ap) {
  flush_context(d);
  if (d->nctx && d->errors < DIAG_MAX_ERRORS) d->ctx_pending = true;
  if (++d->errors <= DIAG_MAX_ERRORS)
    report(d, "error", loc, fmt, ap);
  else if (d->errors == DIAG_MAX_ERRORS + 1)
    fprintf(d->out, "texc: note: only the first %d errors are shown\n", DIAG_MAX_ERRORS);
}

void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(d, loc, fmt, ap);
  va_end(ap);
}

static void vnote(Diag *d, SrcLoc loc, const char *fmt, va_list ap) {
  if (d->errors > DIAG_MAX_ERRORS) return; /* its error was not shown */
  report(d, "note", loc, fmt, ap);
}

static void note(Diag *d, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vnote(d, loc, fmt, ap);
  va_end(ap);
}

void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vnote(d, loc, fmt, ap);
  va_end(ap);
}
