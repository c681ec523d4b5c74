/* region.c — the regions of index notation (ir.h, "region.c"): creating a
 * region's body and renaming the size symbols a region mentions. */
#include <string.h>

#include "ir.h"

IrRegion *ir_region_new(IrModule *m, int nidx, const char *const *names, const Dim *extent, SrcLoc loc) {
  if (nidx < 0 || nidx > IR_MAX_INDICES) ice("region with %d index variables", nidx);
  IrRegion *r = ARENA_NEW(&m->arena, IrRegion);
  IrFunc *f = ARENA_NEW(&m->arena, IrFunc);
  f->name = "region";
  f->loc = loc;
  f->built = true;
  vec_push(&m->regions, f);
  r->body = f;
  r->nidx = nidx;
  r->reduce = OP_SUM;
  for (int i = 0; i < nidx; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "i%d", i);
    ir_param(m, f, names && names[i] ? names[i] : buf, DT_I64, 0, NULL, loc);
    r->extent[i] = extent[i];
  }
  return r;
}

/* True if substituting map changes d. */
static bool changes(IrModule *m, Dim d, const Dim *map) { return d && dim_subst(m->dims, d, map) != d; }

static bool region_changes(IrModule *m, const IrRegion *r, const Dim *map) {
  for (int i = 0; i < r->nidx; i++)
    if (changes(m, r->extent[i], map)) return true;
  for (int i = 0; i < r->body->body.len; i++) {
    const IrNode *n = r->body->body.items[i];
    if (n->op == OP_DIMSIZE && changes(m, n->attr.dim, map)) return true;
    if (op_info[n->op].attr == ATTR_REGION) ice("a region inside a region");
  }
  return false;
}

IrRegion *ir_region_subst(IrModule *m, IrRegion *r, const Dim *map) {
  if (!region_changes(m, r, map)) return r;
  Dim extent[IR_MAX_INDICES];
  const char *names[IR_MAX_INDICES];
  for (int i = 0; i < r->nidx; i++) extent[i] = dim_subst(m->dims, r->extent[i], map), names[i] = r->body->params[i]->name;
  IrRegion *c = ir_region_new(m, r->nidx, names, extent, r->body->loc);
  c->reduce = r->reduce;
  IrFunc *from = r->body;
  ir_renumber(from);
  IrNode **copy = tex_calloc((size_t)from->body.len + 1, sizeof(IrNode *));
  for (int i = 0; i < from->body.len; i++) {
    const IrNode *n = from->body.items[i];
    if (n->op == OP_PARAM) {
      copy[i] = c->body->params[n->attr.i];
      continue;
    }
    IrNode *args[IR_MAX_RANK + 3];
    for (int a = 0; a < n->nargs; a++) args[a] = copy[n->args[a]->id];
    IrNode *k = ir_node(m, c->body, n->op, n->dtype, 0, NULL, n->nargs, args, n->loc);
    k->attr = n->attr;
    if (n->op == OP_DIMSIZE) k->attr.dim = dim_subst(m->dims, n->attr.dim, map);
    copy[i] = k;
  }
  IrNode *res[IR_MAX_RANK + 1];
  for (int i = 0; i < from->nresults; i++) res[i] = copy[ir_resolve(from->results[i])->id];
  ir_set_results(m, c->body, from->nresults, res);
  tex_free(copy);
  return c;
}
