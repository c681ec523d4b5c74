/* cond.c — `if c { a } else { b }`: the lazy conditional (issue 10,
 * lang/reference.md "Conditionals: if").
 *
 * Each branch is lowered into a body function of its own, capturing the
 * values of the enclosing code it reads as loop bodies do (loop.c,
 * sema_body_open).  The else body is seeded with the then body's captures,
 * and the then body then gets the captures only the else body made, so
 * both have the same params in the same order: the if node's operands
 * after the condition.  Both branches give the same number of values, each
 * of one dtype and shape (a weak literal adapts to the other branch's
 * value); the node is value 0, and with several values a tuple of projs. */
#include <string.h>

#include "frontend.h"

typedef struct Branch {
  IrFunc *body;
  SemaLoop *l;
  int n;                          /* values */
  Val vals[TEX_MAX_RESULTS];
  SrcLoc at[TEX_MAX_RESULTS];     /* where each value is written */
  bool ok;
} Branch;

static IrNode *condition(Sema *s, const Expr *e) {
  Val v = sema_lower_value(s, e);
  if (v.poison) return NULL;
  if (v.node && v.node->dtype == DT_BOOL && v.node->rank == 0) return v.node;
  char tb[256];
  if (v.node && v.node->dtype == DT_BOOL)
    sema_error(s, e->loc, "the condition of an if is a bool scalar, not %s; reduce it first (any(c), all(c)) or use where() elementwise",
               sema_val_text(s, &v, tb, sizeof tb));
  else
    sema_error(s, e->loc, "the condition of an if is a bool scalar, not %s", sema_val_text(s, &v, tb, sizeof tb));
  return NULL;
}

/* The statements before a branch's value: lets only. */
static bool statements(Sema *s, const Expr *b) {
  for (int i = 0; i < b->nstmts; i++) {
    const Stmt *st = &b->stmts[i];
    switch (st->kind) {
    case S_LET: sema_lower_let(s, st); break;
    case S_UPDATE:
      sema_error(s, st->loc, "update is not allowed in a branch of an if; give the new value as a value of the if");
      return false;
    case S_RETURN:
      sema_error(s, st->loc, "'return' inside a branch of an if; a branch ends with its value ({ x } or { let ... yield x })");
      return false;
    case S_NEXT:
      sema_error(s, st->loc, "'next' inside a branch of an if; let the if give the value and end the loop body with next");
      return false;
    case S_EMIT: /* the grammar puts emit only at the end of a scan's body */
      sema_error(s, st->loc, "'emit' inside a branch of an if; let the if give the value and emit it at the end of the scan's body");
      return false;
    }
  }
  if (b->nargs == 0) sema_error(s, b->loc, "this branch of the if gives no value; end it with yield and its value");
  return b->nargs > 0;
}

/* The branch's values: `yield a, b`, `{ (a, b) }`, or one expression that
 * is itself a tuple (an inner if, a call with several results). */
static bool values(Sema *s, const Expr *b, Branch *br) {
  const Arg *args = b->args;
  int n = b->nargs;
  if (n == 1 && args[0].value->kind == E_TUPLE) n = args[0].value->nargs, args = args[0].value->args;
  if (n > TEX_MAX_RESULTS) {
    sema_error(s, args[TEX_MAX_RESULTS].loc, "an if gives at most %d values", TEX_MAX_RESULTS);
    return false;
  }
  bool ok = true;
  if (n == 1) {
    Val v = sema_lower_value(s, args[0].value);
    if (v.poison) return false;
    br->n = v.ntuple ? v.ntuple : 1;
    for (int k = 0; k < br->n; k++) br->vals[k] = v.ntuple ? sema_typed(v.tuple[k]) : v, br->at[k] = args[0].value->loc;
    return true;
  }
  br->n = n;
  for (int k = 0; k < n; k++) {
    br->vals[k] = sema_lower_expr(s, args[k].value);
    br->at[k] = args[k].value->loc;
    ok = !br->vals[k].poison && ok;
  }
  return ok;
}

/* Lowers one branch into a body of its own; seed: the then branch, whose
 * captures the else body takes first. */
static void lower_branch(Sema *s, const Expr *b, Branch *br, const char *name, const Branch *seed) {
  br->body = ir_loop_body_new(s->m, b->loc);
  br->body->name = name;
  br->l = sema_body_open(s, br->body);
  for (int k = 0; seed && k < sema_body_ncaps(seed->l); k++)
    sema_body_seed(s, br->l, sema_body_cap(seed->l, k, false), sema_body_cap(seed->l, k, true)->name);
  br->ok = statements(s, b) && values(s, b, br);
  sema_body_close(s, br->l);
}

/* v, a value of branch br, typed like `like` if it is a weak literal (a
 * scalar literal is broadcast to like's shape). */
static Val adapt(Sema *s, Branch *br, Val v, const IrNode *like) {
  IrFunc *outer = s->fn;
  s->fn = br->body;
  v = like ? sema_materialize(s, v, like->dtype) : sema_materialize_default(s, v);
  if (!v.poison && like && v.node->rank == 0 && like->rank > 0)
    v.node = ir_broadcast(s->m, br->body, v.node, like->rank, like->shape, v.loc);
  s->fn = outer;
  return v;
}

/* Both branches give the same number of values, each of one type. */
static bool unify(Sema *s, Branch *t, Branch *f) {
  char ta[256], tb[256];
  if (t->n != f->n) {
    sema_error(s, f->at[0], "the branches of this if give different numbers of values: %d and %d", t->n, f->n);
    diag_note(s->diag, t->at[0], "the then branch gives %d value%s here", t->n, t->n == 1 ? "" : "s");
    return false;
  }
  bool ok = true;
  for (int k = 0; k < t->n; k++) {
    Val *a = &t->vals[k], *b = &f->vals[k];
    if (a->weak) *a = adapt(s, t, *a, b->weak ? NULL : b->node);
    if (b->weak && !a->poison) *b = adapt(s, f, *b, a->node);
    if (a->poison || b->poison) {
      ok = false;
      continue;
    }
    if (a->node->dtype == b->node->dtype && ir_same_shape(a->node, b->node)) continue;
    sema_error(s, f->at[k], "the branches of this if have different types: %s and %s", sema_type_text(s, a->node, ta, sizeof ta),
               sema_type_text(s, b->node, tb, sizeof tb));
    diag_note(s->diag, t->at[k], "the then branch gives %s here", ta);
    ok = false;
  }
  return ok;
}

/* The if node: condition, then the captures both bodies share. */
static Val build(Sema *s, const Expr *e, IrNode *cond, Branch *t, Branch *f) {
  for (int k = sema_body_ncaps(t->l); k < sema_body_ncaps(f->l); k++) /* captures only the else body made */
    sema_body_add_param(s, t->body, sema_body_cap(f->l, k, true)->name, sema_body_cap(f->l, k, false));
  IrNode *res[2][TEX_MAX_RESULTS];
  for (int k = 0; k < t->n; k++) res[0][k] = t->vals[k].node, res[1][k] = f->vals[k].node;
  ir_set_results(s->m, t->body, t->n, res[0]);
  ir_set_results(s->m, f->body, f->n, res[1]);
  int nargs = IR_IF_FIXED + sema_body_ncaps(f->l);
  IrNode **args = tex_calloc((size_t)nargs, sizeof(IrNode *));
  args[0] = cond;
  for (int k = 0; k + IR_IF_FIXED < nargs; k++) args[IR_IF_FIXED + k] = sema_body_cap(f->l, k, false);
  const IrNode *v0 = res[0][0];
  IrNode *n = ir_node(s->m, s->fn, OP_IF, v0->dtype, v0->rank, v0->shape, nargs, args, e->loc);
  n->attr.body = t->body;
  n->attr.orelse = f->body;
  tex_free(args);
  if (t->n == 1) return sema_typed(n);
  Val v = {.loc = e->loc, .ntuple = t->n, .producer = "if"};
  v.tuple = ARENA_ARRAY(&s->m->arena, IrNode *, t->n);
  for (int k = 0; k < t->n; k++) {
    v.tuple[k] = ir_node(s->m, s->fn, OP_PROJ, res[0][k]->dtype, res[0][k]->rank, res[0][k]->shape, 1, &n, e->loc);
    v.tuple[k]->attr.i = k;
  }
  return v;
}

Val sema_lower_if(Sema *s, const Expr *e) {
  if (s->gen) {
    sema_error(s, e->loc, "an if cannot appear inside index notation; use where(c, a, b) there, or compute the if with let before");
    return sema_poison();
  }
  IrNode *cond = condition(s, e->lhs);
  Branch t = {0}, f = {0};
  lower_branch(s, e->rhs, &t, "then", NULL);
  lower_branch(s, e->orelse, &f, "else", &t);
  bool ok = cond && t.ok && f.ok && unify(s, &t, &f);
  Val v = ok ? build(s, e, cond, &t, &f) : sema_poison();
  sema_body_free(t.l);
  sema_body_free(f.l);
  return v;
}
