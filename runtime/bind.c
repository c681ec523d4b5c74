/* bind.c — texrt_bind: every call-time check on the arguments, in one place.
 *
 * The module's metadata (TexFuncInfo) is the single source of the checks:
 * this file walks it, so what the metadata says and what a call accepts can
 * never disagree.  Order of the checks, first failure wins:
 *   1. per argument, in ABI order: NULL, device, dtype, rank, shape pointer,
 *      negative dims, byte size overflow, NULL data, strides;
 *   2. bind: the first input dim that is exactly a symbol binds it;
 *   3. every dim of every argument (outputs included) equals its expression;
 *   4. the function's shape assertions hold;
 *   5. no written argument overlaps another argument.
 * Each failure names the exported symbol and the argument by name and 1-based
 * position, and shows the values involved, because the person reading it is
 * usually calling from Python with no debugger at hand.
 */
#include "texrt.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DL_CODE_BOOL 6 /* kDLBool in DLPack >= 0.8; Debian's 0.6 has no name for it */

/* DLPack spelling of each TexDType; bool is one byte, sent as uint8 by 0.6. */
static const struct {
  const char *name;
  uint8_t code, bits;
} tex_dtypes[TEX_DTYPE_COUNT] = {
    [TEX_F32] = {"f32", kDLFloat, 32}, [TEX_F64] = {"f64", kDLFloat, 64}, [TEX_I32] = {"i32", kDLInt, 32},
    [TEX_I64] = {"i64", kDLInt, 64},   [TEX_BOOL] = {"bool", kDLUInt, 8},
};

int texrt_dtype_bytes(int dtype) { return dtype >= 0 && dtype < TEX_DTYPE_COUNT ? tex_dtypes[dtype].bits / 8 : 0; }

/* State of one texrt_bind call, shared by the check helpers. */
typedef struct Bind {
  const TexFuncInfo *f;
  const DLTensor *const *args;
  int64_t *syms;
  uint64_t bytes[TEX_MAX_ARGS];     /* each argument's size in bytes */
  int16_t bound_arg[TEX_MAX_SYMS];  /* argument that bound each symbol; -1: none yet */
  int16_t bound_axis[TEX_MAX_SYMS]; /* and its axis */
} Bind;

/* ---- text for messages ----------------------------------------------------- */

static const char *func_name(const TexFuncInfo *f) { return f->symbol ? f->symbol : f->name ? f->name : "?"; }

static const char *role_word(uint8_t role) { return role == TEX_OUT ? "output" : role == TEX_INOUT ? "in-place argument" : "argument"; }

static const char *param_name(const TexParamInfo *p) { return p->name ? p->name : "?"; }

static const char *sym_name(const TexFuncInfo *f, int64_t s, char *tmp, size_t cap) {
  if (f->sym_names && s >= 0 && s < f->nsyms && f->sym_names[s]) return f->sym_names[s];
  snprintf(tmp, cap, "s%lld", (long long)s);
  return tmp;
}

/* "f32", or DLPack's own words for types texc never uses ("uint16", "float32x4"). */
static void dtype_text(DLDataType t, char *out, size_t cap) {
  static const char *const codes[] = {"int", "uint", "float", "opaque", "bfloat", "complex", "bool"};
  for (int d = 0; d < TEX_DTYPE_COUNT && t.lanes == 1; d++)
    if (t.code == tex_dtypes[d].code && t.bits == tex_dtypes[d].bits && t.code != kDLUInt) {
      snprintf(out, cap, "%s", tex_dtypes[d].name);
      return;
    }
  if (t.code == DL_CODE_BOOL && t.bits == 8 && t.lanes == 1) {
    snprintf(out, cap, "bool"); /* but kDLUInt/8 stays "uint8": it may not be a bool */
    return;
  }
  const char *c = t.code < sizeof codes / sizeof codes[0] ? codes[t.code] : "code";
  int n = snprintf(out, cap, "%s%u", c, (unsigned)t.bits);
  if (t.lanes != 1 && n >= 0 && (size_t)n < cap) snprintf(out + n, cap - (size_t)n, "x%u", (unsigned)t.lanes);
}

static const char *device_name(int type) {
  switch (type) {
  case kDLCUDA: return "CUDA";
  case kDLCUDAManaged: return "CUDA managed";
  case kDLOpenCL: return "OpenCL";
  case kDLVulkan: return "Vulkan";
  case kDLMetal: return "Metal";
  case kDLROCM: return "ROCm";
  case kDLROCMHost: return "ROCm host";
  default: return "non-CPU";
  }
}

/* A saturating string builder: messages are cut, never overrun. */
typedef struct Text {
  char *s;
  size_t cap, used;
} Text;

static void text_add(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(Text *t, const char *fmt, ...) {
  if (t->used >= t->cap) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->s + t->used, t->cap - t->used, fmt, ap);
  va_end(ap);
  t->used = n < 0 ? t->cap : t->used + (size_t)n;
}

/* One operand of the infix printer: its text and how tightly it binds. */
typedef struct Frag {
  char s[160];
  int prec;
} Frag;
enum { PREC_CMP = 1, PREC_ADD, PREC_MUL, PREC_ATOM };

/* Joins a and b with a binary op into out (which may alias a). */
static void frag_join(int64_t op, const Frag *a, const Frag *b, Frag *out) {
  static const struct {
    const char *text;
    int prec, strict;
  } ops[] = {
      [TEX_DIM_ADD] = {" + ", PREC_ADD, 0},     [TEX_DIM_SUB] = {" - ", PREC_ADD, 1}, [TEX_DIM_MUL] = {"*", PREC_MUL, 0},
      [TEX_DIM_FLOORDIV] = {"//", PREC_MUL, 1}, [TEX_DIM_MOD] = {"%", PREC_MUL, 1},   [TEX_DIM_EQ] = {" == ", PREC_CMP, 1},
      [TEX_DIM_LE] = {" <= ", PREC_CMP, 1},
  };
  Frag r;
  Text t = {r.s, sizeof r.s, 0};
  if (op == TEX_DIM_MIN || op == TEX_DIM_MAX) {
    text_add(&t, "%s(%s, %s)", op == TEX_DIM_MIN ? "min" : "max", a->s, b->s);
    r.prec = PREC_ATOM;
  } else {
    int p = ops[op].prec, lp = a->prec < p, rp = b->prec < p || (ops[op].strict && b->prec == p);
    text_add(&t, lp ? "(%s)" : "%s", a->s);
    text_add(&t, "%s", ops[op].text);
    text_add(&t, rp ? "(%s)" : "%s", b->s);
    r.prec = p;
  }
  *out = r;
}

/* Prints a dim expression as infix text over the symbol names: `N*D + 1`. */
static void expr_text(const TexFuncInfo *f, const TexDimExpr *e, char *out, size_t cap) {
  Frag st[16];
  int d = 0;
  for (int32_t pc = 0; e->code && pc < e->len; pc++) {
    int64_t op = e->code[pc];
    if (op == TEX_DIM_LIT || op == TEX_DIM_SYM) {
      if (d == 16 || pc + 1 >= e->len) break;
      int64_t imm = e->code[++pc];
      char tmp[24];
      if (op == TEX_DIM_LIT)
        snprintf(st[d].s, sizeof st[d].s, "%lld", (long long)imm);
      else
        snprintf(st[d].s, sizeof st[d].s, "%s", sym_name(f, imm, tmp, sizeof tmp));
      st[d++].prec = PREC_ATOM;
    } else if (op >= TEX_DIM_ADD && op <= TEX_DIM_LE && d >= 2) {
      frag_join(op, &st[d - 2], &st[d - 1], &st[d - 2]);
      d--;
    } else {
      d = 0;
      break;
    }
  }
  snprintf(out, cap, "%s", d == 1 ? st[0].s : "<malformed expression>");
}

/* "f32[N, D]": the declared type, for rank messages. */
static void param_type_text(const TexFuncInfo *f, const TexParamInfo *p, char *out, size_t cap) {
  Text t = {out, cap, 0};
  char dim[96];
  text_add(&t, "%s[", p->dtype < TEX_DTYPE_COUNT ? tex_dtypes[p->dtype].name : "?");
  for (int k = 0; k < p->rank; k++) {
    expr_text(f, &p->dims[k], dim, sizeof dim);
    text_add(&t, "%s%s", k ? ", " : "", dim);
  }
  text_add(&t, "]");
}

/* "[3, 4]": a shape or strides. */
static void ints_text(const int64_t *v, int n, char *out, size_t cap) {
  Text t = {out, cap, 0};
  text_add(&t, "[");
  for (int k = 0; k < n; k++) text_add(&t, "%s%lld", k ? ", " : "", (long long)v[k]);
  text_add(&t, "]");
}

/* "N = 3, D = 4": the bound symbols an expression uses, each once. */
static void sym_values(const Bind *b, const TexDimExpr *e, char *out, size_t cap) {
  Text t = {out, cap, 0};
  bool seen[TEX_MAX_SYMS] = {0};
  char tmp[24];
  out[0] = '\0';
  for (int32_t pc = 0; pc + 1 < e->len; pc++) {
    int64_t op = e->code[pc], s = e->code[pc + 1];
    if (op != TEX_DIM_LIT && op != TEX_DIM_SYM) continue;
    pc++;
    if (op != TEX_DIM_SYM || s < 0 || s >= b->f->nsyms || s >= TEX_MAX_SYMS || seen[s]) continue;
    seen[s] = true;
    text_add(&t, "%s%s = %lld", t.used ? ", " : "", sym_name(b->f, s, tmp, sizeof tmp), (long long)b->syms[s]);
  }
}

/* Fails with "<symbol>: <role> '<name>' (#<pos>): <what>". */
static int arg_fail(const Bind *b, int i, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int arg_fail(const Bind *b, int i, int code, const char *fmt, ...) {
  char what[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  const TexParamInfo *p = &b->f->params[i];
  return texrt_fail(code, "%s: %s '%s' (#%d): %s", func_name(b->f), role_word(p->role), param_name(p), i + 1, what);
}

/* ---- 1. each argument on its own ------------------------------------------- */

static int dtype_matches(uint8_t want, DLDataType t) {
  if (t.lanes != 1 || t.bits != tex_dtypes[want].bits) return 0;
  return t.code == tex_dtypes[want].code || (want == TEX_BOOL && t.code == DL_CODE_BOOL);
}

/* NULL tensor, device, dtype, rank. */
static int check_header(const Bind *b, int i) {
  const TexParamInfo *p = &b->f->params[i];
  const DLTensor *t = b->args[i];
  char want[256], got[32];
  if (!t) return arg_fail(b, i, TEX_ERR_NULL, "tensor pointer is NULL");
  if (t->device.device_type != kDLCPU && t->device.device_type != kDLCUDAHost)
    return arg_fail(b, i, TEX_ERR_DEVICE,
                    "expected a CPU tensor (kDLCPU or kDLCUDAHost), got a %s tensor "
                    "(device type %d, id %d)",
                    device_name(t->device.device_type), (int)t->device.device_type, t->device.device_id);
  if (p->dtype >= TEX_DTYPE_COUNT) return arg_fail(b, i, TEX_ERR_DTYPE, "metadata has unknown dtype %d", p->dtype);
  if (p->rank > 0 && !p->dims) return arg_fail(b, i, TEX_ERR_SHAPE, "metadata has no dims");
  if (!dtype_matches(p->dtype, t->dtype)) {
    dtype_text(t->dtype, got, sizeof got);
    return arg_fail(b, i, TEX_ERR_DTYPE, "expected dtype %s, got %s", tex_dtypes[p->dtype].name, got);
  }
  if (t->ndim != p->rank) {
    param_type_text(b->f, p, want, sizeof want);
    return arg_fail(b, i, TEX_ERR_RANK, "expected rank %d (%s), got rank %d", p->rank, want, t->ndim);
  }
  return TEX_OK;
}

/* Shape pointer, negative dims, the byte size (into b->bytes[i]), data pointer. */
static int check_extent(Bind *b, int i) {
  const DLTensor *t = b->args[i];
  int64_t numel = 1, bytes, esize = tex_dtypes[b->f->params[i].dtype].bits / 8;
  int empty = 0, overflow = 0;
  if (t->ndim > 0 && !t->shape) return arg_fail(b, i, TEX_ERR_NULL, "shape pointer is NULL");
  for (int k = 0; k < t->ndim; k++) {
    if (t->shape[k] < 0) return arg_fail(b, i, TEX_ERR_SHAPE, "dim %d is %lld; dims must be >= 0", k, (long long)t->shape[k]);
    empty |= t->shape[k] == 0;
  }
  /* An empty tensor's size is 0 even when the other dims multiply past 2^63. */
  for (int k = 0; k < t->ndim && !empty; k++) overflow |= __builtin_mul_overflow(numel, t->shape[k], &numel);
  if (empty) numel = 0;
  if (overflow || __builtin_mul_overflow(numel, esize, &bytes) || (uint64_t)bytes > SIZE_MAX) {
    char shape[256];
    ints_text(t->shape, t->ndim, shape, sizeof shape);
    return arg_fail(b, i, TEX_ERR_OVERFLOW,
                    "shape %s is too large: its size in bytes "
                    "overflows a 64-bit integer",
                    shape);
  }
  if (bytes > 0 && !t->data) return arg_fail(b, i, TEX_ERR_NULL, "data is NULL but the tensor has %lld elements", (long long)numel);
  b->bytes[i] = (uint64_t)bytes;
  return TEX_OK;
}

/* Strides: NULL or compact row-major, ignoring extent-1 axes (PyTorch reports
 * arbitrary strides there) and empty tensors (nothing is addressed). */
static int check_layout(const Bind *b, int i) {
  const DLTensor *t = b->args[i];
  if (!t->strides || b->bytes[i] == 0) return TEX_OK;
  int64_t step = 1; /* cannot overflow: the element count fits in int64 */
  int ok = 1;
  for (int k = t->ndim - 1; k >= 0; k--) {
    ok &= t->shape[k] == 1 || t->strides[k] == step;
    step *= t->shape[k];
  }
  if (ok) return TEX_OK;
  char got[256], shape[256];
  ints_text(t->strides, t->ndim, got, sizeof got);
  ints_text(t->shape, t->ndim, shape, sizeof shape);
  return arg_fail(b, i, TEX_ERR_LAYOUT,
                  "non-compact strides %s for shape %s are not supported (only compact "
                  "row-major); make the array contiguous first, e.g. "
                  "numpy.ascontiguousarray(a) or tensor.contiguous()",
                  got, shape);
}

/* bufs[i] = data + byte_offset, in integers: DLPack allows any offset and the
 * sanitizers reject pointer arithmetic that leaves an object. */
static int set_buffer(const Bind *b, int i, void **bufs) {
  const DLTensor *t = b->args[i];
  uintptr_t p, end;
  if (!t->data) {
    bufs[i] = NULL;
    return TEX_OK;
  }
  if (__builtin_add_overflow((uintptr_t)t->data, t->byte_offset, &p) || __builtin_add_overflow(p, b->bytes[i], &end))
    return arg_fail(b, i, TEX_ERR_OVERFLOW, "data + byte_offset %llu wraps around memory", (unsigned long long)t->byte_offset);
  bufs[i] = (void *)p;
  return TEX_OK;
}

/* ---- 2-4. symbols, dims, assertions ---------------------------------------- */

/* True when e is exactly [SYM, s]: such a dim binds s at its first occurrence. */
static int plain_symbol(const TexDimExpr *e, int64_t *s) {
  if (e->len != 2 || !e->code || e->code[0] != TEX_DIM_SYM) return 0;
  *s = e->code[1];
  return 1;
}

/* 1 if every symbol e uses is a bound symbol of f; else 0 and *bad is one that is not. */
static int symbols_bound(const Bind *b, const TexDimExpr *e, int64_t *bad) {
  for (int32_t pc = 0; e->code && pc + 1 < e->len; pc++) {
    int64_t op = e->code[pc];
    if (op != TEX_DIM_LIT && op != TEX_DIM_SYM) continue;
    int64_t s = e->code[++pc];
    if (op == TEX_DIM_SYM && (s < 0 || s >= b->f->nsyms || b->bound_arg[s] < 0)) {
      *bad = s;
      return 0;
    }
  }
  return 1;
}

/* Pass 1: inputs' plain-symbol dims bind their symbols, first occurrence wins. */
static int bind_symbols(Bind *b) {
  for (int i = 0; i < b->f->nparams; i++) {
    const TexParamInfo *p = &b->f->params[i];
    if (p->role == TEX_OUT) continue;
    for (int k = 0; k < p->rank; k++) {
      int64_t s;
      if (!plain_symbol(&p->dims[k], &s)) continue;
      if (s < 0 || s >= b->f->nsyms) return arg_fail(b, i, TEX_ERR_SHAPE, "metadata names symbol %lld of %d", (long long)s, b->f->nsyms);
      if (b->bound_arg[s] >= 0) continue;
      b->syms[s] = b->args[i]->shape[k];
      b->bound_arg[s] = (int16_t)i;
      b->bound_axis[s] = (int16_t)k;
    }
  }
  return TEX_OK;
}

/* Evaluates e once its symbols are known bound; on failure why says why. */
static int eval_bound(const Bind *b, const TexDimExpr *e, int64_t *v, char *why, size_t cap) {
  int64_t bad;
  char tmp[24];
  if (!symbols_bound(b, e, &bad)) {
    snprintf(why, cap, "uses size symbol '%s', which no input binds", sym_name(b->f, bad, tmp, sizeof tmp));
    return TEX_ERR_SHAPE;
  }
  int st = texrt_dim_eval(e, b->syms, v);
  if (st != TEX_OK) snprintf(why, cap, "%s", texrt_last_error()); /* copy: we overwrite it */
  return st;
}

/* Explains why dim k of argument i is not the value v of its expression e. */
static int dim_mismatch(const Bind *b, int i, int k, const TexDimExpr *e, int64_t v) {
  int64_t got = b->args[i]->shape[k], s;
  char text[160], vals[256];
  if (plain_symbol(e, &s)) {
    const TexParamInfo *by = &b->f->params[b->bound_arg[s]];
    return arg_fail(b, i, TEX_ERR_SHAPE, "dim %d is %lld, but %s = %lld (bound by %s '%s' dim %d)", k, (long long)got,
                    sym_name(b->f, s, text, sizeof text), (long long)v, role_word(by->role), param_name(by), b->bound_axis[s]);
  }
  expr_text(b->f, e, text, sizeof text);
  sym_values(b, e, vals, sizeof vals);
  if (!vals[0]) return arg_fail(b, i, TEX_ERR_SHAPE, "dim %d is %lld, but it must be %s", k, (long long)got, text);
  return arg_fail(b, i, TEX_ERR_SHAPE, "dim %d is %lld, but %s = %lld (%s)", k, (long long)got, text, (long long)v, vals);
}

/* Pass 2: every dim of every argument equals its expression. */
static int check_dims(const Bind *b) {
  for (int i = 0; i < b->f->nparams; i++) {
    const TexParamInfo *p = &b->f->params[i];
    for (int k = 0; k < p->rank; k++) {
      const TexDimExpr *e = &p->dims[k];
      int64_t s, v;
      char why[512], text[160];
      if (plain_symbol(e, &s) && s >= 0 && s < b->f->nsyms && b->bound_arg[s] == i && b->bound_axis[s] == k)
        continue; /* the dim that bound s */
      int st = eval_bound(b, e, &v, why, sizeof why);
      if (st != TEX_OK) {
        expr_text(b->f, e, text, sizeof text);
        return arg_fail(b, i, st, "dim %d (%s): %s", k, text, why);
      }
      if (v != b->args[i]->shape[k]) return dim_mismatch(b, i, k, e, v);
    }
  }
  return TEX_OK;
}

/* The two sides of an assertion a == b (postfix: a's words, b's words, EQ):
 * b starts after the last point where the stack held one value. */
static int eq_sides(const TexDimExpr *e, const int64_t *syms, int64_t *l, int64_t *r) {
  if (!e->code || e->len < 5 || e->code[e->len - 1] != TEX_DIM_EQ) return 0;
  int32_t depth = 0, split = -1;
  for (int32_t pc = 0; pc < e->len - 1; pc++) {
    int64_t op = e->code[pc];
    if (op == TEX_DIM_LIT || op == TEX_DIM_SYM)
      pc++, depth++;
    else
      depth--;
    if (depth == 1 && pc + 1 < e->len - 1) split = pc + 1;
  }
  if (split < 0 || depth != 2) return 0;
  TexDimExpr a = {e->code, split}, b2 = {e->code + split, e->len - 1 - split};
  return texrt_dim_eval(&a, syms, l) == TEX_OK && texrt_dim_eval(&b2, syms, r) == TEX_OK;
}

/* Pass 3: the function's shape assertions, e.g. N == 2*D. */
static int check_asserts(const Bind *b) {
  for (int a = 0; a < b->f->nasserts; a++) {
    const TexDimExpr *e = &b->f->asserts[a];
    int64_t v;
    char why[512], text[160], vals[256];
    int st = eval_bound(b, e, &v, why, sizeof why);
    expr_text(b->f, e, text, sizeof text);
    if (st != TEX_OK) return texrt_fail(st, "%s: shape assertion %s: %s", func_name(b->f), text, why);
    if (v == 0) {
      sym_values(b, e, vals, sizeof vals);
      const char *note = b->f->assert_notes ? b->f->assert_notes[a] : NULL;
      int64_t l, r;
      if (note && eq_sides(e, b->syms, &l, &r))
        return texrt_fail(TEX_ERR_ASSERT, "%s: %s: it has %lld elements, the new shape %lld (shape assertion failed: %s with %s)",
                          func_name(b->f), note, (long long)l, (long long)r, text, vals);
      if (note) return texrt_fail(TEX_ERR_ASSERT, "%s: %s (shape assertion failed: %s with %s)", func_name(b->f), note, text, vals);
      return texrt_fail(TEX_ERR_ASSERT, "%s: shape assertion failed: %s (%s)", func_name(b->f), text, vals);
    }
  }
  return TEX_OK;
}

/* ---- 5. aliasing ------------------------------------------------------------ */

/* Two arguments may share memory only if both are read-only inputs.  Empty
 * ranges never overlap. */
static int check_alias(const Bind *b, void *const *bufs) {
  for (int j = 1; j < b->f->nparams; j++) {
    for (int i = 0; i < j; i++) {
      int wi = b->f->params[i].role != TEX_IN, wj = b->f->params[j].role != TEX_IN;
      uintptr_t pi = (uintptr_t)bufs[i], pj = (uintptr_t)bufs[j];
      if (!(wi || wj) || !b->bytes[i] || !b->bytes[j]) continue;
      if (pi >= pj + b->bytes[j] || pj >= pi + b->bytes[i]) continue;
      int lead = wj ? j : i, other = wj ? i : j;
      const TexParamInfo *o = &b->f->params[other];
      return arg_fail(b, lead, TEX_ERR_ALIAS,
                      "overlaps %s '%s' (#%d) in memory; an argument that is written must "
                      "not share memory with any other argument",
                      role_word(o->role), param_name(o), other + 1);
    }
  }
  return TEX_OK;
}

/* ---- the entry point --------------------------------------------------------- */

static int check_func(const TexFuncInfo *f, const DLTensor *const *args, void **bufs, int64_t *syms) {
  if (!f) return texrt_fail(TEX_ERR_NULL, "texrt_bind: function metadata is NULL");
  if (f->nparams < 0 || f->nparams > TEX_MAX_ARGS || f->nsyms < 0 || f->nsyms > TEX_MAX_SYMS)
    return texrt_fail(TEX_ERR_OVERFLOW,
                      "%s: %d parameters and %d size symbols; the runtime "
                      "supports at most %d and %d",
                      func_name(f), f->nparams, f->nsyms, TEX_MAX_ARGS, TEX_MAX_SYMS);
  if (!args) return texrt_fail(TEX_ERR_NULL, "%s: the argument array is NULL", func_name(f));
  if (!bufs || (!syms && f->nsyms) || (!f->params && f->nparams) || (!f->asserts && f->nasserts))
    return texrt_fail(TEX_ERR_NULL, "%s: texrt_bind got a NULL table", func_name(f));
  return TEX_OK;
}

int texrt_bind(const TexModuleInfo *module, const TexFuncInfo *func, const DLTensor *const *args, void **bufs, int64_t *syms) {
  (void)module; /* messages name the exported symbol, which includes the prefix */
  int st = check_func(func, args, bufs, syms);
  if (st != TEX_OK) return st;
  Bind b = {.f = func, .args = args, .syms = syms};
  memset(b.bound_arg, -1, sizeof b.bound_arg);
  for (int i = 0; i < func->nparams; i++) {
    if ((st = check_header(&b, i)) != TEX_OK || (st = check_extent(&b, i)) != TEX_OK || (st = check_layout(&b, i)) != TEX_OK ||
        (st = set_buffer(&b, i, bufs)) != TEX_OK)
      return st;
  }
  if ((st = bind_symbols(&b)) != TEX_OK || (st = check_dims(&b)) != TEX_OK || (st = check_asserts(&b)) != TEX_OK) return st;
  return check_alias(&b, bufs);
}
