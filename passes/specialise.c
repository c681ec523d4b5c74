/* specialise.c — re-type a module from f32 to f64 (texc check-grad).
 *
 * Finite differences need f64 to mean anything, so check-grad compiles the
 * function under test with every f32 value, parameter and constant made f64.
 * Nothing else changes: shapes, ops and the order of operations stay, so a
 * gradient rule that is right in f64 is the same rule the f32 code uses.
 *
 * Requires: IR straight from sema (no kernels).  Preserves: everything but
 * the float width.  Breaks: nothing. */
#include "passes.h"

static void widen(IrNode *n) {
  if (n->dtype == DT_F32) n->dtype = DT_F64;
}

void pass_specialise_f64(IrModule *m) {
  for (int i = 0; i < m->funcs.len; i++) {
    IrFunc *f = m->funcs.items[i];
    for (int j = 0; j < f->body.len; j++) widen(f->body.items[j]);
    for (int r = 0; r < f->nresults; r++) widen(f->results[r]);
  }
  for (int i = 0; i < m->regions.len; i++) { /* region bodies: their reads and values */
    IrFunc *f = m->regions.items[i];
    for (int j = 0; j < f->body.len; j++) widen(f->body.items[j]);
  }
}
