/* ast.c — AST constructors and a printer (texc --emit=ast, parser tests). */
#include "frontend.h"

Expr *ast_expr(Arena *a, ExprKind kind, SrcLoc loc) {
  Expr *e = ARENA_NEW(a, Expr);
  e->kind = kind;
  e->loc = loc;
  return e;
}

const char *ast_binop_text(BinOp op) {
  static const char *const text[] = {
      [B_ADD] = "+",    [B_SUB] = "-",   [B_MUL] = "*",    [B_DIV] = "/",   [B_POW] = "**",      [B_MATMUL] = "@",
      [B_EQ] = "==",    [B_NE] = "!=",   [B_LT] = "<",     [B_LE] = "<=",   [B_GT] = ">",        [B_GE] = ">=",
      [B_AND] = "and",  [B_OR] = "or",   [U_NEG] = "-",    [U_NOT] = "not", [B_FLOORDIV] = "//", [B_MOD] = "%",
      [B_BITAND] = "&", [B_BITOR] = "|", [B_BITXOR] = "^", [B_SHL] = "<<",  [B_SHR] = ">>",
  };
  return text[op];
}

static void print_expr(FILE *out, const Expr *e);
static void print_stmt(FILE *out, const Stmt *st);

/* A left-leaning chain ((a + b) + c) + ... as a loop over its left spine, so
 * a long sum does not recurse once per term (sema walks it the same way). */
static void print_binary(FILE *out, const Expr *e) {
  int n = 0;
  const Expr *x = e;
  for (; x->kind == E_BINARY; x = x->lhs) n++, fputc('(', out);
  print_expr(out, x);
  const Expr **spine = tex_calloc((size_t)n + 1, sizeof *spine);
  int i = n;
  for (x = e; x->kind == E_BINARY; x = x->lhs) spine[--i] = x;
  for (i = 0; i < n; i++) {
    fprintf(out, " %s ", ast_binop_text(spine[i]->op));
    print_expr(out, spine[i]->rhs);
    fputc(')', out);
  }
  tex_free(spine);
}

static void print_type(FILE *out, const TypeExpr *t);

static void print_list(FILE *out, const Arg *args, int n) {
  for (int i = 0; i < n; i++) {
    if (i) fputs(", ", out);
    if (args[i].name) fprintf(out, "%s=", args[i].name);
    print_expr(out, args[i].value);
  }
}

static void print_opt(FILE *out, const Expr *e) {
  if (e) print_expr(out, e);
}

/* Fully parenthesised, so tests can see how the grammar grouped things. */
static void print_expr(FILE *out, const Expr *e) {
  switch (e->kind) {
  case E_INT: fprintf(out, "%lld", (long long)e->ival); break;
  case E_FLOAT: fprintf(out, "%.17g", e->fval); break;
  case E_BOOL: fputs(e->ival ? "true" : "false", out); break;
  case E_NAME: fputs(e->name, out); break;
  case E_ERROR: fputs("<error>", out); break;
  case E_TYPE: print_type(out, e->type); break;
  case E_UNARY:
    fprintf(out, "(%s%s", ast_binop_text(e->op), e->op == U_NOT ? " " : "");
    print_expr(out, e->lhs);
    fputc(')', out);
    break;
  case E_BINARY: print_binary(out, e); break;
  case E_CALL:
  case E_TUPLE:
    fprintf(out, "%s(", e->kind == E_CALL ? e->name : "");
    print_list(out, e->args, e->nargs);
    fputc(')', out);
    break;
  case E_INDEX:
  case E_LIST:
    if (e->kind == E_INDEX) print_expr(out, e->lhs);
    fputc('[', out);
    print_list(out, e->args, e->nargs);
    fputc(']', out);
    break;
  case E_SLICE:
    print_opt(out, e->lhs);
    fputc(':', out);
    print_opt(out, e->rhs);
    if (e->step) fputc(':', out), print_expr(out, e->step);
    break;
  case E_LOOP:
    if (e->rhs) {
      fputs("while ", out);
      print_expr(out, e->rhs);
    } else {
      fprintf(out, "%s %s < ", e->scan ? "scan" : "loop", e->name);
      print_expr(out, e->lhs);
    }
    fputs(" with (", out);
    print_list(out, e->args, e->nargs);
    fputs(")", out);
    if (e->opt) fprintf(out, " %s=", e->opt->name), print_expr(out, e->opt->value);
    fputs(" {\n", out);
    for (int i = 0; i < e->nstmts; i++) print_stmt(out, &e->stmts[i]);
    fputc('}', out);
    break;
  case E_IF:
    fputs("if ", out);
    print_expr(out, e->lhs);
    fputc(' ', out);
    print_expr(out, e->rhs);
    fputs(" else ", out);
    print_expr(out, e->orelse);
    break;
  case E_BLOCK:
    fputs("{\n", out);
    for (int i = 0; i < e->nstmts; i++) print_stmt(out, &e->stmts[i]);
    fputs("  yield ", out);
    print_list(out, e->args, e->nargs);
    fputs("\n}", out);
    break;
  case E_REDUCE:
    fprintf(out, "(%s[", e->name ? e->name : "?");
    print_list(out, e->args, e->nargs);
    fputs("] ", out);
    print_expr(out, e->lhs);
    fputc(')', out);
    break;
  }
}

static void print_type(FILE *out, const TypeExpr *t) {
  fputs(dtype_names[t->dtype], out);
  for (int i = 0; i < t->rank; i++) {
    fputs(i ? ", " : "[", out);
    if (t->dims[i].poly)
      print_expr(out, t->dims[i].poly);
    else if (t->dims[i].sym)
      fputs(t->dims[i].sym, out);
    else
      fprintf(out, "%lld", (long long)t->dims[i].lit);
  }
  if (t->rank) fputc(']', out);
}

static void print_results(FILE *out, const FnDecl *f) {
  if (f->nresults != 1) fputc('(', out);
  for (int i = 0; i < f->nresults; i++) {
    if (i) fputs(", ", out);
    print_type(out, &f->results[i]);
  }
  if (f->nresults != 1) fputc(')', out);
}

static void print_stmt(FILE *out, const Stmt *st) {
  switch (st->kind) {
  case S_LET:
    if (st->nindex) {
      fprintf(out, "  let %s[", st->name);
      print_list(out, st->index, st->nindex);
      fputs("] = ", out);
      break;
    }
    if (!st->nnames) {
      fprintf(out, "  let %s = ", st->name);
      break;
    }
    fputs("  let (", out);
    for (int i = 0; i < st->nnames; i++) fprintf(out, "%s%s", i ? ", " : "", st->names[i].name);
    fputs(") = ", out);
    break;
  case S_UPDATE: fprintf(out, "  update %s = ", st->name); break;
  case S_RETURN:
  case S_NEXT:
  case S_EMIT:
    fputs(st->kind == S_RETURN ? "  return " : st->kind == S_NEXT ? "  next " : "  emit ", out);
    for (int i = 0; i + 1 < st->nvalues; i++) {
      print_expr(out, st->values[i]);
      fputs(", ", out);
    }
    break;
  }
  print_expr(out, st->kind == S_RETURN || st->kind == S_NEXT || st->kind == S_EMIT ? st->values[st->nvalues - 1] : st->value);
  fputc('\n', out);
}

void ast_print(FILE *out, const Program *prog) {
  for (int i = 0; i < prog->fns.len; i++) {
    const FnDecl *f = prog->fns.items[i];
    fprintf(out, "%s%s %s(", f->private_ ? "private " : "", f->is_rule ? "grad" : "fn", f->name);
    for (int p = 0; p < f->nparams; p++) {
      fprintf(out, "%s%s: %s", p ? ", " : "", f->params[p].name, f->params[p].inout ? "inout " : "");
      print_type(out, &f->params[p].type);
    }
    fputs(") -> ", out);
    print_results(out, f);
    fputs(" {\n", out);
    for (int s = 0; s < f->nstmts; s++) print_stmt(out, &f->stmts[s]);
    fputs("}\n", out);
  }
}
