/* hoist.c — loop-invariant code motion.
 *
 * A node of a loop body whose operands are all loop-invariant (captured
 * values, constants, sizes, or other invariant nodes; never t nor a state)
 * computes the same value in every iteration: it is moved in front of the
 * loop, into the function that holds it, and passed into the body as one
 * more captured value.  Bodies nested in bodies go first (ir_each_body is
 * innermost first), so an invariant of an inner loop that is also invariant
 * in the outer one ends up in front of the outer loop.  The moved nodes are
 * the same ops on the same operands, so results are bit for bit the same.
 *
 * What moves (lang/reference.md, "Loops"):
 *   - invariant computing nodes: elementwise ops, reductions, matmuls,
 *     gens, scatters, and whole invariant loops, ifs and calls (with the
 *     projs of them).  Constants, sizes, broadcasts, transposes and reshapes
 *     only move as operands of a moved node (copied: a broadcast stays in
 *     the body for the body's own uses, where kernels fold it into an
 *     access map instead of materialising it).  One exception: a transpose
 *     of an invariant value that a matmul in the body reads moves as a
 *     computing node (materialised once in front of the loop): packing a
 *     transposed operand every step costs more than the product itself
 *     (`dz @ transpose(Wh)` in a backward loop: 2.7x the time of
 *     `dz @ Wt`, bench/lstm.tex), a copy once per call is cheap.
 *   - a node that can fail when it runs (a gather or scatter whose
 *     subscripts bounds.c cannot prove in range, a loop: its trip count can
 *     be negative, or an if or call containing one) moves only out of a loop
 *     whose trip count is a literal >= 1: there iteration 0 runs it anyway,
 *     so hoisting it makes no call fail that did not fail.  A loop that may
 *     run 0 times keeps it in its body.
 *   - nothing moves out of an if's branches (they are lazy): a loop inside
 *     a branch hoists into the branch.
 *
 * Requires: verified IR, calls inlined (it runs after cse).  Preserves:
 * values bit for bit, the order of the ops each element goes through.
 * Breaks: nothing; a body gets one capture param per moved value that the
 * body still reads, and the moved nodes' leftovers in the body (constants,
 * broadcasts no longer used) are removed, and so are the capture params
 * (and loop operands) a body no longer reads, of every loop. */
#include <stdio.h>
#include <string.h>

#include "passes.h"

/* Nodes that only name or rearrange a value, not worth a buffer of their
 * own: constants, sizes, views, and integer scalars computed from sizes and
 * constants by + - * (they must stay: a scan's trip count must be such a
 * size expression in its own body, ir_loop_trip_dim).  cheap[] holds the
 * answer for the body's earlier nodes. */
static bool is_cheap(const IrNode *n, const bool *cheap) {
  if (n->op == OP_CONST || n->op == OP_DIMSIZE || n->op == OP_BROADCAST || n->op == OP_TRANSPOSE || n->op == OP_RESHAPE) return true;
  bool size = n->rank == 0 && dtype_is_int(n->dtype) && (n->op == OP_ADD || n->op == OP_SUB || n->op == OP_MUL || n->op == OP_CAST);
  for (int a = 0; a < n->nargs && size; a++) size = n->args[a]->op != OP_PARAM && cheap[n->args[a]->id];
  return size;
}

static bool func_can_fail(IrModule *m, const IrFunc *f, int depth);

/* A gather or scatter whose subscripts are not all provably in range. */
static bool region_can_fail(IrModule *m, const IrNode *n) {
  const IrRegion *r = n->attr.region;
  const IrFunc *b = r->body;
  for (int i = 0; i < b->body.len; i++) {
    const IrNode *rd = b->body.items[i];
    if (rd->op != OP_READ) continue;
    const IrNode *x = n->args[rd->attr.i];
    for (int a = 0; a < rd->nargs; a++)
      if (!bounds_in_range(m, r, rd->args[a], x->shape[a])) return true;
  }
  if (n->op == OP_SCATTER)
    for (int a = 0; a < n->rank; a++)
      if (a + 1 >= b->nresults || !bounds_in_range(m, r, b->results[a + 1], n->shape[a])) return true;
  return false;
}

/* Whether running n can make the call fail (TEX_ERR_INDEX, TEX_ERR_TRIP). */
static bool node_can_fail(IrModule *m, const IrNode *n, int depth) {
  int64_t trip;
  switch (n->op) {
  case OP_GEN:
  case OP_SCATTER: return region_can_fail(m, n);
  case OP_CALL: return !n->attr.callee || !n->attr.callee->built || func_can_fail(m, n->attr.callee, depth + 1);
  case OP_LOOP: {
    Dim d = ir_loop_trip_dim(m, n);
    if (!d || !dim_is_lit(d, &trip) || trip < 0) return true;
    return func_can_fail(m, n->attr.body, depth + 1) || (n->attr.orelse && func_can_fail(m, n->attr.orelse, depth + 1));
  }
  case OP_IF: return func_can_fail(m, n->attr.body, depth + 1) || func_can_fail(m, n->attr.orelse, depth + 1);
  default: return false;
  }
}

static bool func_can_fail(IrModule *m, const IrFunc *f, int depth) {
  if (!f || depth > 64) return true;
  for (int i = 0; i < f->body.len; i++)
    if (node_can_fail(m, f->body.items[i], depth)) return true;
  return false;
}

/* What the hoisting of one loop works with: per body node (by id), whether
 * it is invariant, whether it is copied in front of the loop and its copy. */
typedef struct Hoist {
  IrModule *m;
  IrFunc *f;     /* holds the loop */
  IrNode *loop;
  IrFunc *body;
  IrFunc *other; /* a revolve loop's other body, which takes the same captures */
  bool *inv, *cheap, *moved, *mm_read;
  IrNode **copy;
} Hoist;

/* Marks in mm[] the transposes the body's matmuls read (by node id). */
static void mark_matmul_transposes(const IrFunc *b, bool *mm) {
  for (int i = 0; i < b->body.len; i++) {
    const IrNode *n = b->body.items[i];
    if (n->op != OP_MATMUL) continue;
    for (int a = 0; a < n->nargs; a++)
      if (n->args[a]->op == OP_TRANSPOSE && n->args[a]->rank >= 2) mm[n->args[a]->id] = true;
  }
}

/* Marks the invariant nodes of the body; returns whether any of them is
 * worth moving (a computing node, or a transpose a matmul reads). */
static bool mark_invariant(Hoist *h) {
  IrFunc *b = h->body;
  int64_t trip;
  Dim d = ir_loop_trip_dim(h->m, h->loop);
  bool runs = d && dim_is_lit(d, &trip) && trip >= 1;
  int first_capture = 1 + ir_loop_nstates(h->loop);
  bool any = false;
  mark_matmul_transposes(b, h->mm_read);
  for (int i = 0; i < b->body.len; i++) {
    IrNode *n = b->body.items[i];
    if (n->op == OP_PARAM) {
      h->inv[i] = i >= first_capture;
      continue;
    }
    bool inv = true;
    for (int a = 0; a < n->nargs && inv; a++) inv = h->inv[n->args[a]->id];
    if (inv && !runs && node_can_fail(h->m, n, 0)) inv = false;
    h->inv[i] = inv;
    h->cheap[i] = is_cheap(n, h->cheap) && !(inv && h->mm_read[i]);
    any = any || (inv && !h->cheap[i]);
  }
  return any;
}

/* Which nodes are copied in front of the loop: the invariant computing ones
 * and, backwards, the invariant operands they need (params excepted: a
 * captured param is the loop's operand of the same index). */
static void mark_moved(Hoist *h) {
  IrFunc *b = h->body;
  for (int i = b->body.len - 1; i >= 0; i--) {
    IrNode *n = b->body.items[i];
    if (n->op == OP_PARAM || !h->inv[i]) continue;
    if (!h->cheap[i]) h->moved[i] = true;
    if (!h->moved[i]) continue;
    for (int a = 0; a < n->nargs; a++)
      if (n->args[a]->op != OP_PARAM) h->moved[n->args[a]->id] = true;
  }
}

/* The copies, in body order, appended to h->f (in front of the loop). */
static void copy_out(Hoist *h) {
  IrFunc *b = h->body;
  for (int i = 0; i < b->body.len; i++) {
    IrNode *n = b->body.items[i];
    if (!h->moved[i]) continue;
    IrNode **args = tex_calloc((size_t)n->nargs + 1, sizeof(IrNode *));
    for (int a = 0; a < n->nargs; a++) {
      IrNode *x = n->args[a];
      args[a] = x->op == OP_PARAM ? h->loop->args[x->id] : h->copy[x->id];
    }
    IrNode *c = ir_node(h->m, h->f, n->op, n->dtype, n->rank, n->shape, n->nargs, args, n->loc);
    tex_free(args);
    c->attr = n->attr; /* a moved loop or if takes its bodies with it: the original is dropped */
    h->copy[i] = c;
  }
}

/* A name for capture param k of the body that no param has yet. */
static const char *fresh_name(Hoist *h, int *k) {
  for (;; (*k)++) {
    char buf[32];
    snprintf(buf, sizeof buf, "inv%d", *k);
    bool taken = false;
    for (int p = 0; p < h->body->nparams && !taken; p++) taken = strcmp(h->body->params[p]->name, buf) == 0;
    if (!taken) return arena_printf(&h->m->arena, "%s", buf);
  }
}

static char gone_mark, left_mark; /* n->aux while a body is edited */

/* Each moved computing node the body still reads becomes a capture: a new
 * param of the body, a new operand of the loop, and every use of the node
 * is forwarded to the param. */
static void capture_moved(Hoist *h) {
  IrFunc *b = h->body;
  int len = b->body.len, k = 0;
  bool *read = tex_calloc((size_t)len + 1, sizeof(bool));
  IrNode **old = tex_calloc((size_t)len + 1, sizeof(IrNode *));
  memcpy(old, b->body.items, sizeof(IrNode *) * (size_t)len);
  for (int i = 0; i < len; i++) {
    IrNode *n = old[i];
    bool gone = h->moved[i] && !h->cheap[i];
    n->aux = gone ? &gone_mark : h->inv[i] && n->op != OP_PARAM ? &left_mark : NULL;
    for (int a = 0; a < n->nargs && !gone; a++) read[n->args[a]->id] = true;
  }
  for (int r = 0; r < b->nresults; r++) read[ir_resolve(b->results[r])->id] = true;
  for (int i = 0; i < len; i++) {
    IrNode *n = old[i];
    if (n->aux != &gone_mark || !read[i]) continue;
    IrNode *p = ir_loop_capture_param(h->m, b, fresh_name(h, &k), n, n->loc);
    if (h->other) ir_loop_capture_param(h->m, h->other, p->name, n, n->loc);
    IrNode **args = ARENA_ARRAY(&h->m->arena, IrNode *, h->loop->nargs + 1);
    memcpy(args, h->loop->args, sizeof(IrNode *) * (size_t)h->loop->nargs);
    args[h->loop->nargs++] = h->copy[i];
    h->loop->args = args;
    ir_replace(n, p);
  }
  tex_free(old);
  tex_free(read);
}

/* Drops the moved nodes from the body, then the leftovers (constants,
 * broadcasts) nothing reads any more. */
static void sweep(IrFunc *b) {
  int out = 0;
  for (int i = 0; i < b->body.len; i++) {
    IrNode *n = b->body.items[i];
    if (n->aux != &gone_mark) b->body.items[out++] = n;
  }
  b->body.len = out;
  ir_compact(b);
  ir_count_uses(b);
  for (int i = b->body.len - 1; i >= 0; i--) {
    IrNode *n = b->body.items[i];
    if (n->aux != &left_mark || n->uses) continue;
    n->aux = &gone_mark;
    for (int a = 0; a < n->nargs; a++) n->args[a]->uses--;
  }
  out = 0;
  for (int i = 0; i < b->body.len; i++) {
    IrNode *n = b->body.items[i];
    if (n->aux != &gone_mark) b->body.items[out++] = n;
    n->aux = NULL;
  }
  b->body.len = out;
  ir_renumber(b);
}

/* Drops the nodes of b no result depends on (as dce.c does), so that
 * drop_unused_captures sees which params are really read. */
static void body_dce(IrFunc *b) {
  for (int i = 0; i < b->body.len; i++) ((IrNode *)b->body.items[i])->aux = NULL;
  for (int i = 0; i < b->nresults; i++) b->results[i]->aux = b->results[i];
  for (int i = b->body.len - 1; i >= 0; i--) {
    IrNode *n = b->body.items[i];
    if (n->aux)
      for (int j = 0; j < n->nargs; j++) n->args[j]->aux = n->args[j];
  }
  int out = 0;
  for (int i = 0; i < b->body.len; i++) {
    IrNode *n = b->body.items[i];
    if (n->aux || n->op == OP_PARAM) b->body.items[out++] = n;
    n->aux = NULL;
  }
  b->body.len = out;
  ir_renumber(b);
}

/* Drops the capture params the body does not read, with their operands of
 * the loop (so a moved value's inputs need not live through the loop), and
 * merges captures of the same value. */
static void drop_unused_captures(IrNode *loop) {
  IrFunc *bs[2];
  int nb = ir_node_bodies(loop, bs), first = 1 + ir_loop_nstates(loop); /* a revolve loop's two bodies share the captures */
  for (int p = first; p < bs[0]->nparams; p++) {
    loop->args[p] = ir_resolve(loop->args[p]);
    for (int q = first; q < p; q++)
      if (loop->args[q] == loop->args[p] && !bs[0]->params[q]->forward) {
        for (int k = 0; k < nb; k++) ir_replace(bs[k]->params[p], bs[k]->params[q]);
        break;
      }
  }
  for (int k = 0; k < nb; k++) {
    ir_compact(bs[k]);
    body_dce(bs[k]);
    ir_count_uses(bs[k]);
  }
  int out = first, n0 = bs[0]->nparams;
  for (int p = out; p < n0; p++) {
    bool keep = false;
    for (int k = 0; k < nb; k++) keep = keep || (bs[k]->params[p]->uses && !bs[k]->params[p]->forward);
    for (int k = 0; k < nb; k++) {
      IrNode *x = bs[k]->params[p];
      if (!keep) {
        x->aux = x; /* dropped */
        continue;
      }
      x->attr.i = out;
      bs[k]->params[out] = x;
    }
    if (keep) loop->args[out++] = loop->args[p];
  }
  if (out == n0) return;
  loop->nargs = out;
  for (int k = 0; k < nb; k++) {
    IrFunc *b = bs[k];
    b->nparams = out;
    int kept = 0;
    for (int i = 0; i < b->body.len; i++) {
      IrNode *n = b->body.items[i];
      if (n->op != OP_PARAM || n->aux != n) b->body.items[kept++] = n;
      n->aux = NULL;
    }
    b->body.len = kept;
    ir_renumber(b);
  }
}

/* Moves the invariant code of loop n (a node of f, being rebuilt by
 * ir_rewrite, so nodes built now land in front of n). */
static bool hoist_body(IrModule *m, IrFunc *f, IrNode *n, IrFunc *b, IrFunc *other) {
  ir_renumber(b);
  size_t len = (size_t)b->body.len + 1;
  Hoist h = {m,
             f,
             n,
             b,
             other,
             tex_calloc(len, sizeof(bool)),
             tex_calloc(len, sizeof(bool)),
             tex_calloc(len, sizeof(bool)),
             tex_calloc(len, sizeof(bool)),
             tex_calloc(len, sizeof(IrNode *))};
  bool any = mark_invariant(&h);
  if (any) {
    mark_moved(&h);
    copy_out(&h);
    capture_moved(&h);
    sweep(b);
  }
  tex_free(h.inv);
  tex_free(h.moved);
  tex_free(h.cheap);
  tex_free(h.mm_read);
  tex_free(h.copy);
  return any;
}

static bool hoist_loop(IrModule *m, IrFunc *f, IrNode *n) {
  bool any = hoist_body(m, f, n, n->attr.body, n->attr.orelse);
  if (n->attr.orelse) any = hoist_body(m, f, n, n->attr.orelse, n->attr.body) || any;
  return any;
}

typedef struct HoistPass {
  IrModule *m;
  bool moved; /* something moved out of a loop of the function being done */
} HoistPass;

static IrNode *visit(void *ctx, IrFunc *f, IrNode *n) {
  HoistPass *hp = ctx;
  if (n->op == OP_LOOP && n->attr.body && hoist_loop(hp->m, f, n)) hp->moved = true;
  return NULL;
}

/* Hoists out of f's loops; then merges the moved values with equal ones
 * already in f (CSE), so two loops computing x @ U share one, and each
 * loop drops the captures it no longer reads or has twice. */
static void hoist_func(void *ctx, IrFunc *f) {
  HoistPass *hp = ctx;
  hp->moved = false;
  ir_rewrite(f, visit, hp);
  if (hp->moved) pass_cse_func(f);
  for (int i = 0; i < f->body.len; i++) {
    IrNode *n = f->body.items[i];
    if (n->op == OP_LOOP && n->attr.body) drop_unused_captures(n);
  }
}

void pass_hoist(IrModule *m) {
  HoistPass hp = {m, false};
  ir_module_each_body(m, hoist_func, &hp);
}
