/* dim.c — texrt_dim_eval: the interpreter for dim expressions.
 *
 * Output dims, temporary sizes, loop extents and shape assertions are all
 * postfix bytecode over int64 (texrt.h, enum TexDimOp), so one small
 * interpreter serves bind and run.  Every arithmetic step is overflow-checked:
 * a size that wraps would turn into a short buffer and an out-of-bounds write.
 * FLOORDIV and MOD follow Python (floor division, remainder with the sign of
 * the divisor), which is what the .tex language means by `//` and `%`.
 * On failure the message states the reason only; callers prepend the
 * function, argument and expression.
 */
#include "texrt.h"

#define DIM_STACK 16 /* the compiler keeps expressions far shallower */

/* Python's a // b; b != 0 and not (INT64_MIN, -1), checked by the caller. */
static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) q--;
  return q;
}

/* Python's a % b: the result has the sign of b.  b == -1 is special-cased
 * because INT64_MIN % -1 is undefined in C (the answer is 0). */
static int64_t floor_mod(int64_t a, int64_t b) {
  if (b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

/* Applies a binary op to a and b; TEX_OK or the failure status. */
static int apply_binary(int64_t op, int64_t a, int64_t b, int64_t *r) {
  switch (op) {
  case TEX_DIM_ADD:
    if (__builtin_add_overflow(a, b, r)) break;
    return TEX_OK;
  case TEX_DIM_SUB:
    if (__builtin_sub_overflow(a, b, r)) break;
    return TEX_OK;
  case TEX_DIM_MUL:
    if (__builtin_mul_overflow(a, b, r)) break;
    return TEX_OK;
  case TEX_DIM_FLOORDIV:
  case TEX_DIM_MOD:
    if (b == 0) return texrt_fail(TEX_ERR_SHAPE, "division by zero");
    if (op == TEX_DIM_FLOORDIV && a == INT64_MIN && b == -1) break;
    *r = op == TEX_DIM_FLOORDIV ? floor_div(a, b) : floor_mod(a, b);
    return TEX_OK;
  case TEX_DIM_MIN: *r = a < b ? a : b; return TEX_OK;
  case TEX_DIM_MAX: *r = a > b ? a : b; return TEX_OK;
  case TEX_DIM_EQ: *r = a == b; return TEX_OK;
  case TEX_DIM_LE: *r = a <= b; return TEX_OK;
  default: /* unreachable: texrt_dim_eval checks the opcode first */ return texrt_fail(TEX_ERR_SHAPE, "malformed dim expression");
  }
  return texrt_fail(TEX_ERR_OVERFLOW, "integer overflow");
}

/* Reads the value pushed by LIT/SYM at code[pc] (its immediate is code[pc+1]). */
static int push_operand(const TexDimExpr *e, int32_t pc, const int64_t *syms, int64_t *v) {
  if (pc + 1 >= e->len) return texrt_fail(TEX_ERR_SHAPE, "malformed dim expression: missing immediate");
  int64_t imm = e->code[pc + 1];
  if (e->code[pc] == TEX_DIM_LIT) {
    *v = imm;
    return TEX_OK;
  }
  /* texrt_run's symbol array has TEX_MAX_SYMS entries; texrt_bind checks the
   * tighter bound func->nsyms before it evaluates anything. */
  if (!syms || imm < 0 || imm >= TEX_MAX_SYMS)
    return texrt_fail(TEX_ERR_SHAPE, "malformed dim expression: bad symbol %lld", (long long)imm);
  *v = syms[imm];
  return TEX_OK;
}

int texrt_dim_eval(const TexDimExpr *e, const int64_t *syms, int64_t *out) {
  int64_t stack[DIM_STACK];
  int depth = 0;
  if (!e || (e->len > 0 && !e->code)) return texrt_fail(TEX_ERR_SHAPE, "malformed dim expression: no code");
  for (int32_t pc = 0; pc < e->len; pc++) {
    int64_t op = e->code[pc], v = 0;
    int st;
    if (op == TEX_DIM_LIT || op == TEX_DIM_SYM) {
      if (depth == DIM_STACK) return texrt_fail(TEX_ERR_SHAPE, "malformed dim expression: stack overflow");
      if ((st = push_operand(e, pc++, syms, &v)) != TEX_OK) return st;
      stack[depth++] = v;
      continue;
    }
    if (op < TEX_DIM_ADD || op > TEX_DIM_LE) return texrt_fail(TEX_ERR_SHAPE, "malformed dim expression: bad opcode %lld", (long long)op);
    if (depth < 2) return texrt_fail(TEX_ERR_SHAPE, "malformed dim expression: stack underflow");
    if ((st = apply_binary(op, stack[depth - 2], stack[depth - 1], &v)) != TEX_OK) return st;
    stack[--depth - 1] = v;
  }
  if (depth != 1) return texrt_fail(TEX_ERR_SHAPE, "malformed dim expression: %d values left", depth);
  *out = stack[0];
  return TEX_OK;
}
