/* simplify.c — the rewrite engine: rule tables applied to a fixed point.
 *
 * Rules (passes/rules.c) are rows {name, root op, class, function}; the
 * engine buckets them by root op and walks each function in order, offering
 * every node to the rules of its op.  A rule only looks (it never mutates
 * what it matches) and returns a replacement built at the node's position,
 * or NULL.  Rounds repeat until nothing fires; a cap names the rule that kept
 * firing.  Classes (lang/reference.md):
 *   exact      bitwise-identical results: always on;
 *   stability  deliberately more accurate (log(1+x) -> log1p(x), ...): always
 *              on, at every -O level, part of the language's semantics;
 *   fast       value-changing (reassociation, x*0 -> 0, ...): --fast-math only.
 *
 * Requires: verified IR.  Preserves: results (bit for bit for exact rules).
 * Breaks: nothing; replaced nodes are dropped, dead ones left for DCE. */
#include <string.h>

#include "passes.h"

enum { MAX_ROUNDS = 16 };

static bool enabled(const IrModule *m, const Rule *r) { return r->cls != RULE_FAST || m->fast_math; }

/* The enabled rules of each root op, in table order (a rule rooted at
 * OP_COUNT is offered every op): a node meets only the rules of its op. */
typedef struct Buckets {
  int *start;  /* per op: its rules are rule_of[start[op] .. start[op + 1]) */
  int *rule_of;
} Buckets;

static Buckets make_buckets(const IrModule *m) {
  Buckets b = {tex_calloc(OP_COUNT + 1, sizeof(int)), tex_calloc((size_t)(OP_COUNT * rule_count) + 1, sizeof(int))};
  int n = 0;
  for (int op = 0; op < OP_COUNT; op++) {
    b.start[op] = n;
    for (int k = 0; k < rule_count; k++)
      if ((rules[k].root == (Op)op || rules[k].root == OP_COUNT) && enabled(m, &rules[k])) b.rule_of[n++] = k;
  }
  b.start[OP_COUNT] = n;
  return b;
}

typedef struct Round {
  IrModule *m;
  const Buckets *bk;
  int fired;  /* a rule that fired this round, or -1 */
} Round;

/* The first rule of n's op that matches, applied. */
static IrNode *visit(void *ctx, IrFunc *f, IrNode *n) {
  Round *r = ctx;
  IrBuilder ib = {r->m, f, n->loc};
  for (int j = r->bk->start[n->op]; j < r->bk->start[n->op + 1]; j++) {
    int k = r->bk->rule_of[j];
    IrNode *out = rules[k].apply(&ib, n);
    if (out) {
      r->m->rule_hits[k]++, r->fired = k;
      return out;
    }
  }
  return NULL;
}

/* One pass over f; returns the index of a rule that fired, or -1. */
static int simplify_round(IrModule *m, IrFunc *f, const Buckets *bk) {
  Round r = {m, bk, -1};
  ir_rewrite(f, visit, &r);
  return r.fired;
}

static void simplify_fn(IrModule *m, IrFunc *f, const char *name, const Buckets *bk) {
  int last = -1;
  for (int round = 0; round < MAX_ROUNDS; round++)
    if ((last = simplify_round(m, f, bk)) < 0) break;
  if (last >= 0)
    fprintf(stderr, "texc: warning: rewrites in %s() did not settle in %d rounds; rule '%s' kept firing\n", name, MAX_ROUNDS,
            rules[last].name);
}

typedef struct SimplifyCtx {
  IrModule *m;
  const Buckets *bk;
  const char *name;
} SimplifyCtx;

/* Region bodies (gen, scatter) are functions of scalars and meet the same
 * rules: x ** 2 inside a comprehension is x * x, as it is outside
 * (small-int-power is the language's definition of small powers).  Loop
 * bodies are functions: they get every rule. */
static void simplify_body(void *ctx, IrFunc *f) {
  SimplifyCtx *c = ctx;
  simplify_fn(c->m, f, c->name, c->bk);
  for (int j = 0; j < f->body.len; j++) {
    const IrNode *n = f->body.items[j];
    if (op_info[n->op].attr == ATTR_REGION) simplify_fn(c->m, n->attr.region->body, c->name, c->bk);
  }
}

void pass_simplify(IrModule *m) {
  Buckets bk = make_buckets(m);
  for (int i = 0; i < m->funcs.len; i++) {
    IrFunc *f = m->funcs.items[i];
    SimplifyCtx c = {m, &bk, f->name};
    ir_each_body(f, simplify_body, &c);
  }
  tex_free(bk.rule_of);
  tex_free(bk.start);
}

void pass_print_rule_stats(FILE *out, const IrModule *m) {
  for (int k = 0; k < rule_count; k++)
    if (m->rule_hits[k]) fprintf(out, "rule %-28s %-9s %d\n", rules[k].name, rule_class_names[rules[k].cls], m->rule_hits[k]);
}
