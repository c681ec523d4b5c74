/* simplify.c — the rewrite engine: rule tables applied to a fixed point.
 *
 * Rules (passes/rules.c) are rows {name, root op, class, function}; the
 * engine buckets them by root op and walks each function in order, offering
 * every node to the rules of its op.  A rule only looks (it never mutates
 * what it matches) and returns a replacement built at the node's position,
 * or NULL.  Rounds repeat until nothing fires; a cap names the rule that kept
 * firing.  Classes (design §8):
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

/* One pass over f; returns the index of a rule that fired, or -1. */
static int simplify_round(IrModule *m, IrFunc *f) {
  int fired = -1;
  PtrVec old = f->body;
  memset(&f->body, 0, sizeof f->body);
  Ad ad = {m, f, {0}};
  for (int i = 0; i < old.len; i++) {
    IrNode *n = old.items[i], *r = NULL;
    for (int j = 0; j < n->nargs; j++) n->args[j] = ir_resolve(n->args[j]);
    ad.loc = n->loc;
    for (int k = 0; k < rule_count && !r; k++) {
      if ((rules[k].root != n->op && rules[k].root != OP_COUNT) || !enabled(m, &rules[k])) continue;
      if ((r = rules[k].apply(&ad, n))) m->rule_hits[k]++, fired = k;
    }
    if (r)
      ir_replace(n, r);
    else
      vec_push(&f->body, n);
  }
  vec_free(&old);
  for (int k = 0; k < f->nresults; k++) f->results[k] = ir_resolve(f->results[k]);
  ir_renumber(f);
  return fired;
}

void pass_simplify(IrModule *m) {
  for (int i = 0; i < m->funcs.len; i++) {
    IrFunc *f = m->funcs.items[i];
    int last = -1;
    for (int round = 0; round < MAX_ROUNDS; round++)
      if ((last = simplify_round(m, f)) < 0) break;
    if (last >= 0)
      fprintf(stderr, "texc: warning: rewrites in %s() did not settle in %d rounds; rule '%s' kept firing\n", f->name,
              MAX_ROUNDS, rules[last].name);
  }
}

void pass_print_rule_stats(FILE *out, const IrModule *m) {
  for (int k = 0; k < rule_count; k++)
    if (m->rule_hits[k]) fprintf(out, "rule %-28s %-9s %d\n", rules[k].name, rule_class_names[rules[k].cls], m->rule_hits[k]);
}
