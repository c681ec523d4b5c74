/* intops.c — the integer operators // % & | ^ << >> in sema (and % on
 * floats, Python's semantics: see fold_float_mod): literal-only
 * arithmetic folded at compile time with Python's semantics (arbitrary
 * precision, so a result that does not fit 64 bits is an error, as for
 * + - * **), and the checks that need a literal operand (a literal zero
 * divisor).  Arrays get the ops of ops.def (DTR_INT), whose semantics, the
 * same as ir_int_binop's, are in lang/reference.md. */
#include <math.h>

#include "frontend.h"

bool sema_is_int_operator(BinOp op) { return op >= B_FLOORDIV && op <= B_SHR; }

static Val fold_error(Sema *s, SrcLoc at, const char *msg, const char *op) {
  sema_error(s, at, msg, op);
  return sema_poison();
}

/* Literal-only float %, Python's semantics (fmod is exact; the divisor's
 * sign; a zero divisor is an error, as in Python).  The result stays a weak
 * float literal. */
static Val fold_float_mod(Sema *s, const Val *a, const Val *b, SrcLoc at) {
  double x = a->weak_float ? a->f : (double)a->i, y = b->weak_float ? b->f : (double)b->i;
  if (y == 0) return fold_error(s, b->loc, "'%s' by zero", "%");
  double m = fmod(x, y);
  if (m == 0)
    m = copysign(0.0, y);
  else if ((m < 0) != (y < 0))
    m += y;
  return (Val){.weak = true, .weak_float = true, .f = m, .loc = at};
}

Val sema_fold_int_literals(Sema *s, BinOp op, const Val *a, const Val *b, SrcLoc at) {
  const char *text = ast_binop_text(op);
  if (op == B_MOD && (a->weak_float || b->weak_float)) return fold_float_mod(s, a, b, at);
  if (a->weak_float || b->weak_float)
    return fold_error(s, a->weak_float ? a->loc : b->loc, "'%s' needs integers, got a float literal", text);
  int64_t x = a->i, y = b->i;
  Val out = {.weak = true, .loc = at};
  switch (op) {
  case B_FLOORDIV:
  case B_MOD:
    if (y == 0) return fold_error(s, b->loc, "'%s' by zero", text);
    if (op == B_FLOORDIV && x == INT64_MIN && y == -1) return fold_error(s, at, "integer literal arithmetic overflows 64 bits%s", "");
    out.i = ir_int_binop(op == B_MOD ? OP_MOD : OP_FLOORDIV, 64, x, y);
    return out;
  case B_SHL:
  case B_SHR:
    if (y < 0) return fold_error(s, b->loc, "'%s' by a negative count", text);
    if (op == B_SHR) {
      out.i = ir_int_binop(OP_SHR, 64, x, y); /* counts past 63 give the sign fill, as in Python */
      return out;
    }
    if (x == 0) return out; /* out.i is 0 */
    __int128 r = y > 63 ? 0 : (__int128)x * ((__int128)1 << y);
    if (y > 63 || r < INT64_MIN || r > INT64_MAX) return fold_error(s, at, "integer literal arithmetic overflows 64 bits%s", "");
    out.i = (int64_t)r;
    return out;
  case B_BITAND: out.i = x & y; return out;
  case B_BITOR: out.i = x | y; return out;
  case B_BITXOR: out.i = x ^ y; return out;
  default: ice("not an integer operator: %s", text);
  }
}

bool sema_check_int_divisor(Sema *s, BinOp op, const Val *b) {
  if ((op != B_FLOORDIV && op != B_MOD) || !b->weak || b->weak_float || b->i != 0) return true;
  sema_error(s, b->loc, "'%s' by zero", ast_binop_text(op));
  return false;
}
