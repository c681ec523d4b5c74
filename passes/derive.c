/* derive.c — builds a derived function on demand.
 *
 * A derived function (ir_derive) is declared with its signature first and
 * built later: reverse-mode kinds by autodiff.c, jvp by jvp.c.  Each builder
 * needs the function it differentiates built first, which may be derived
 * itself (the jvp of a grad), so both call derive_ensure_built here instead
 * of each other.
 *
 * Requires: verified IR with no recursion (ir_verify checks it).  Produces:
 * the body of f and of everything it is derived from. */
#include "passes.h"

bool derive_is_reverse(DeriveKind k) { return k == DERIVE_GRAD || k == DERIVE_VALUE_AND_GRAD || k == DERIVE_VJP || k == DERIVE_VJP_CT; }

void derive_ensure_built(IrModule *m, IrFunc *f) {
  if (f->built) return;
  f->built = true; /* set first: a cycle would otherwise recurse forever */
  if (derive_is_reverse(f->derive))
    autodiff_build(m, f);
  else if (f->derive == DERIVE_JVP)
    jvp_build(m, f);
  else
    ice("@%s has no body and is not derived", f->name);
}
