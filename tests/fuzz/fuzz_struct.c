/* fuzz_struct.c — a structure-aware harness: the fuzz bytes are decisions of
 * a generator of well-typed texc programs, which are compiled through the
 * whole compiler to verified LLVM IR (fuzz.h, as fuzz_llvm).  Byte mutation
 * of source text rarely makes programs that are both valid and deep or wide;
 * here every input is a valid program (a compile error is itself a finding:
 * FUZZ_STRICT=1 makes it abort, FUZZ_PRINT=1 prints each program).
 *
 * What it makes: helper functions (private or exported, one to three
 * results) and a last exported function; parameters of every dtype, ranks 0
 * to 8, dims that are size symbols or literals (literal 1 often, so
 * broadcasts stretch them); values built bottom-up from a pool: every
 * elementwise op and builtin, broadcasts, reductions with axis/keepdims,
 * softmax/log_softmax/logsumexp, transpose, matmul of every rank
 * combination, casts, where, comparisons and logic, calls (let patterns
 * with `_`), grad / value_and_grad / jvp / vjp of earlier helpers (so
 * derivatives of derivatives), gradient rules, inout + update, long let
 * chains or deeply nested expressions, and `# RUN:` options (-O0,
 * --fast-math, --grad-all).
 *
 * The generator goes up to the language's limits (parameters, symbols,
 * nesting) and differentiates through matmuls.  TEXC_FUZZ_SMALL=1 keeps it
 * below what issue 8's bugs (b), (d), (e) needed (no derivative of a function
 * with a matmul, at most 8 parameters, 12 symbols, nesting depth 40), for
 * comparing coverage with the runs from before their fixes. */
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- bytes and text --------------------------------------------------------- */

typedef struct Bytes {
  const uint8_t *p, *end;
} Bytes;

enum { TEXT_CAP = 1 << 20, MAX_POOL = 256, MAX_FNS = 8, MAX_SIG = 24, MAX_P = 48, MAX_SYMS_GEN = 80 };
enum { T_F32, T_F64, T_I32, T_I64, T_BOOL };
static const char *const dt_name[] = {"f32", "f64", "i32", "i64", "bool"};

typedef struct GType {
  uint8_t dt, rank;
  int16_t dim[8]; /* >= 0: a literal; -1..-999: symbol -(d + 1); <= -1000: that symbol - 1 (a slice 1:) */
} GType;

typedef struct GVal {
  GType t;
  const char *text; /* a name or a (parenthesised) expression */
  int depth;        /* nesting of text */
  bool matmul;      /* a matmul went into it (known bug (b)) */
} GVal;

typedef struct GFn {
  char name[8];
  int nparams;
  GType params[MAX_P];
  int nres;
  GType res[3];
  bool matmul, exported, inout;
} GFn;

typedef struct Gen {
  Bytes b;
  char *heap;
  size_t hused;
  bool full;
  char *body; /* the statements of the function being made */
  size_t blen;
  char *out; /* the program */
  size_t olen;
  bool known;
  int max_params, max_depth, nsyms;
  GType sig[MAX_SIG];
  int nsig;
  GFn fns[MAX_FNS];
  int nfns;
  GVal pool[MAX_POOL];
  int npool, nparams, nlets;
} Gen;

static uint8_t byte(Gen *g) { return g->b.p < g->b.end ? *g->b.p++ : 0; }
static bool done(Gen *g) { return g->b.p >= g->b.end || g->full; }

/* printf into the per-input heap (text that lives until the input ends). */
static const char *hprintf(Gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *hprintf(Gen *g, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = TEXT_CAP - g->hused;
  int n = vsnprintf(g->heap + g->hused, room, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n + 1 >= room) {
    g->full = true;
    return "0";
  }
  const char *s = g->heap + g->hused;
  g->hused += (size_t)n + 1;
  return s;
}

static void append(char *buf, size_t *len, bool *full, const char *fmt, va_list ap) {
  size_t room = TEXT_CAP - *len;
  int n = vsnprintf(buf + *len, room, fmt, ap);
  if (n < 0 || (size_t)n >= room) *full = true;
  else *len += (size_t)n;
}

static void emit(Gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(Gen *g, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  append(g->body, &g->blen, &g->full, fmt, ap);
  va_end(ap);
}

static void out(Gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(Gen *g, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  append(g->out, &g->olen, &g->full, fmt, ap);
  va_end(ap);
}

/* ---- types ------------------------------------------------------------------ */

static const char *sym_name(int s) {
  static const char *const common[] = {"N", "M", "K", "D", "B", "H", "W", "C"};
  static char names[MAX_SYMS_GEN][8];
  if (s < 8) return common[s];
  if (!names[s][0]) snprintf(names[s], sizeof names[s], "S%d", s);
  return names[s];
}

static const char *type_text(Gen *g, const GType *t) {
  if (t->rank == 0) return dt_name[t->dt];
  char buf[256];
  size_t n = (size_t)snprintf(buf, sizeof buf, "%s[", dt_name[t->dt]);
  for (int k = 0; k < t->rank; k++) {
    int16_t d = t->dim[k];
    if (d >= 0) n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%d", k ? ", " : "", d);
    else if (d <= -1000) n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s - 1", k ? ", " : "", sym_name(-(d + 1000) - 1));
    else n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", k ? ", " : "", sym_name(-d - 1));
  }
  snprintf(buf + n, sizeof buf - n, "]");
  return hprintf(g, "%s", buf);
}

static bool type_eq(const GType *a, const GType *b) {
  if (a->dt != b->dt || a->rank != b->rank) return false;
  for (int k = 0; k < a->rank; k++)
    if (a->dim[k] != b->dim[k]) return false;
  return true;
}

static bool is_float(int dt) { return dt == T_F32 || dt == T_F64; }
static bool is_num(int dt) { return dt != T_BOOL; }

/* NumPy broadcasting of two shapes (dtype from a); false if they clash. */
static bool bcast(const GType *a, const GType *b, GType *r) {
  int rank = a->rank > b->rank ? a->rank : b->rank;
  GType t = {.dt = a->dt, .rank = (uint8_t)rank};
  for (int k = 0; k < rank; k++) {
    int ia = a->rank - rank + k, ib = b->rank - rank + k;
    int16_t da = ia >= 0 ? a->dim[ia] : 1, db = ib >= 0 ? b->dim[ib] : 1;
    if (da == db || db == 1) t.dim[k] = da;
    else if (da == 1) t.dim[k] = db;
    else return false;
  }
  *r = t;
  return true;
}

/* A random type: the function's dtype mostly, dims symbols or literals. */
static GType random_type(Gen *g, int fdt) {
  uint8_t c = byte(g);
  GType t = {.dt = (uint8_t)(c < 200 ? fdt : c % 5)};
  c = byte(g);
  t.rank = (uint8_t)(c < 230 ? c % 4 : c % 9);
  for (int k = 0; k < t.rank; k++) {
    c = byte(g);
    t.dim[k] = c < 150 ? (int16_t)-(c % g->nsyms + 1) : c < 220 ? 1 : (int16_t)(c % 5);
  }
  return t;
}

/* ---- the pool of values ------------------------------------------------------ */

static void push(Gen *g, GType t, const char *text, int depth, bool matmul) {
  GVal v = {t, text, depth, matmul};
  if (g->npool < MAX_POOL) g->pool[g->npool++] = v;
  else g->pool[g->nparams + byte(g) % (MAX_POOL - g->nparams)] = v; /* the parameters stay */
}

/* The newest value as a let (long let chains) or kept inline (nesting);
 * past the depth limit it must be a let. */
static void maybe_let(Gen *g) {
  GVal *v = &g->pool[g->npool - 1];
  if (v->depth < g->max_depth && byte(g) < 150) return;
  const char *name = hprintf(g, "v%d", g->nlets++);
  emit(g, "    let %s = %s\n", name, v->text);
  v->text = name;
  v->depth = 0;
}

static GVal *pick(Gen *g) { return &g->pool[byte(g) % g->npool]; }

/* A pool value satisfying ok, searched from a random start; NULL if none. */
static GVal *find(Gen *g, bool (*ok)(const GVal *, const GVal *), const GVal *with) {
  int start = byte(g) % g->npool;
  for (int i = 0; i < g->npool; i++) {
    GVal *v = &g->pool[(start + i) % g->npool];
    if (ok(v, with)) return v;
  }
  return NULL;
}

static bool ok_float(const GVal *v, const GVal *w) { return (void)w, is_float(v->t.dt); }
static bool ok_num(const GVal *v, const GVal *w) { return (void)w, is_num(v->t.dt); }
static bool ok_bool(const GVal *v, const GVal *w) { return (void)w, v->t.dt == T_BOOL; }
static bool ok_partner(const GVal *v, const GVal *w) {
  GType r;
  return v->t.dt == w->t.dt && bcast(&w->t, &v->t, &r);
}

static int maxi(int a, int b) { return a > b ? a : b; }

static const char *literal(Gen *g, int dt) {
  static const char *const floats[] = {"2.0", "0.5", "1.0", "-1.0", "0.0", "1e-3", "1000.0", "3.0", "-0.0", "1e30"};
  static const char *const ints[] = {"2", "1", "0", "-3", "7", "100"};
  if (dt == T_BOOL) return byte(g) & 1 ? "true" : "false";
  if (is_float(dt)) return floats[byte(g) % 10];
  return ints[byte(g) % 6];
}

/* ---- elementwise ops --------------------------------------------------------- */

static void op_unary(Gen *g) {
  static const char *const fns[] = {"exp", "log", "sqrt", "tanh", "sigmoid", "log1p", "expm1", "softplus",
                                    "erf", "erfc", "log1mexp", "abs", "stop_gradient", "-"};
  GVal *v = find(g, ok_float, NULL);
  if (!v) return;
  const char *f = fns[byte(g) % 14];
  const char *text = f[0] == '-' ? hprintf(g, "(-%s)", v->text) : hprintf(g, "%s(%s)", f, v->text);
  push(g, v->t, text, v->depth + 1, v->matmul);
}

static void op_binary(Gen *g) {
  static const char *const ops[] = {"+", "-", "*", "/", "**", "max", "min"};
  GVal *a = find(g, ok_num, NULL);
  if (!a) return;
  const char *op = ops[byte(g) % 7];
  if ((op[0] == '/' || op[1] == '*') && !is_float(a->t.dt)) op = "*";
  GVal *b = byte(g) < 80 ? NULL : find(g, ok_partner, a);
  GType r = a->t;
  if (b) bcast(&a->t, &b->t, &r);
  const char *bt = b ? b->text : literal(g, a->t.dt);
  bool swap = byte(g) & 1;
  const char *x = swap ? bt : a->text, *y = swap ? a->text : bt;
  const char *text = op[0] == 'm' ? hprintf(g, "%s(%s, %s)", op, x, y) : hprintf(g, "(%s %s %s)", x, op, y);
  push(g, r, text, maxi(a->depth, b ? b->depth : 0) + 1, a->matmul || (b && b->matmul));
}

static void op_compare(Gen *g) {
  static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
  GVal *a = find(g, ok_num, NULL);
  if (!a) return;
  GVal *b = byte(g) < 100 ? NULL : find(g, ok_partner, a);
  GType r = a->t;
  if (b) bcast(&a->t, &b->t, &r);
  r.dt = T_BOOL;
  push(g, r, hprintf(g, "(%s %s %s)", a->text, ops[byte(g) % 6], b ? b->text : literal(g, a->t.dt)),
       maxi(a->depth, b ? b->depth : 0) + 1, a->matmul || (b && b->matmul));
}

static void op_logic(Gen *g) {
  GVal *a = find(g, ok_bool, NULL);
  if (!a) return;
  uint8_t c = byte(g);
  GVal *b = find(g, ok_partner, a);
  if (c < 80 || !b) {
    push(g, a->t, hprintf(g, "(not %s)", a->text), a->depth + 1, a->matmul);
    return;
  }
  GType r;
  bcast(&a->t, &b->t, &r);
  push(g, r, hprintf(g, "(%s %s %s)", a->text, c & 1 ? "and" : "or", b->text), maxi(a->depth, b->depth) + 1,
       a->matmul || b->matmul);
}

static void op_where(Gen *g) {
  GVal *c = find(g, ok_bool, NULL), *a = find(g, ok_num, NULL);
  GType ca, r;
  if (!c || !a) return;
  GType cb = c->t;
  cb.dt = a->t.dt;
  if (!bcast(&a->t, &cb, &ca)) return;
  GVal *b = byte(g) < 90 ? NULL : find(g, ok_partner, a);
  r = ca;
  if (b && !bcast(&ca, &b->t, &r)) b = NULL, r = ca;
  push(g, r, hprintf(g, "where(%s, %s, %s)", c->text, a->text, b ? b->text : literal(g, a->t.dt)),
       maxi(maxi(c->depth, a->depth), b ? b->depth : 0) + 1, a->matmul || c->matmul || (b && b->matmul));
}

static void op_cast(Gen *g) {
  GVal *v = pick(g);
  GType t = v->t;
  t.dt = byte(g) % 5;
  push(g, t, hprintf(g, "%s(%s)", dt_name[t.dt], v->text), v->depth + 1, v->matmul);
}

/* ---- layout, reductions, matmul ---------------------------------------------- */

static void op_reduce(Gen *g) {
  static const char *const fns[] = {"sum", "mean", "max", "min", "logsumexp"};
  GVal *v = find(g, ok_num, NULL);
  if (!v) return;
  int f = byte(g) % 5;
  if (f == 1 || f == 4) v = find(g, ok_float, NULL);
  if (!v) return;
  uint8_t c = byte(g);
  if (v->t.rank == 0 || c < 60) {
    GType t = {.dt = v->t.dt};
    push(g, t, hprintf(g, "%s(%s)", fns[f], v->text), v->depth + 1, v->matmul);
    return;
  }
  int k = c % v->t.rank;
  bool keep = byte(g) & 1, neg = c & 64;
  GType t = v->t;
  if (keep) t.dim[k] = 1;
  else {
    for (int i = k; i + 1 < t.rank; i++) t.dim[i] = t.dim[i + 1];
    t.rank--;
  }
  push(g, t, hprintf(g, "%s(%s, axis=%d%s)", fns[f], v->text, neg ? k - v->t.rank : k, keep ? ", keepdims=true" : ""),
       v->depth + 1, v->matmul);
}

static void op_softmax(Gen *g) {
  GVal *v = find(g, ok_float, NULL);
  if (!v || v->t.rank == 0) return;
  int k = byte(g) % v->t.rank;
  push(g, v->t, hprintf(g, "%s(%s, axis=%d)", byte(g) & 1 ? "softmax" : "log_softmax", v->text, k), v->depth + 1,
       v->matmul);
}

static void op_transpose(Gen *g) {
  GVal *v = pick(g);
  GType t = v->t;
  for (int k = 0; k < t.rank; k++) t.dim[k] = v->t.dim[t.rank - 1 - k];
  push(g, t, hprintf(g, "transpose(%s)", v->text), v->depth + 1, v->matmul);
}

static bool ok_mat(const GVal *v, const GVal *w) { return (void)w, is_num(v->t.dt) && v->t.rank >= 1 && v->t.rank <= 2; }
static bool ok_rhs(const GVal *v, const GVal *a) {
  return v->t.dt == a->t.dt && v->t.rank >= 1 && v->t.rank <= 2 && v->t.dim[0] == a->t.dim[a->t.rank - 1];
}

/* [M,K]@[K,N], [M,K]@[K], [K]@[K,N], [K]@[K]; the right operand is a pool
 * value whose first dim is K, or the left one transposed. */
static void op_matmul(Gen *g) {
  GVal *a = find(g, ok_mat, NULL);
  if (!a) return;
  GVal *b = find(g, ok_rhs, a);
  GType bt;
  const char *btext;
  if (b) bt = b->t, btext = b->text;
  else {
    bt = a->t;
    for (int k = 0; k < bt.rank; k++) bt.dim[k] = a->t.dim[bt.rank - 1 - k];
    btext = hprintf(g, "transpose(%s)", a->text);
  }
  GType r = {.dt = a->t.dt};
  if (a->t.rank == 2) r.dim[r.rank++] = a->t.dim[0];
  if (bt.rank == 2) r.dim[r.rank++] = bt.dim[1];
  push(g, r, hprintf(g, "(%s @ %s)", a->text, btext), maxi(a->depth, b ? b->depth : a->depth) + 1, true);
}

/* ---- index notation, slices, gathers (issue 9) -------------------------------- */

/* v as a name: index notation reads arrays, not expressions. */
static const char *as_name(Gen *g, GVal *v) {
  if (v->depth == 0) return v->text;
  const char *name = hprintf(g, "v%d", g->nlets++);
  emit(g, "    let %s = %s\n", name, v->text);
  v->text = name;
  v->depth = 0;
  return name;
}

/* One subscript per axis: a full slice, 0 (drops the axis), a reversal, a
 * literal range or step on literal dims, 1: on a plain symbol (dim S - 1). */
static void op_slice(Gen *g) {
  GVal *v = pick(g);
  if (v->t.rank == 0) return;
  GType t = {.dt = v->t.dt};
  char sub[256];
  size_t n = 0;
  for (int k = 0; k < v->t.rank; k++) {
    int16_t d = v->t.dim[k];
    uint8_t c = byte(g) % 8;
    const char *s = ":";
    int16_t nd = d;
    if (c == 1 && d != 0)
      s = "0", nd = -2000; /* dropped */
    else if (c == 2)
      s = "::-1";
    else if (c == 3 && d >= 1)
      s = "-1", nd = -2000;
    else if (c == 4 && d >= 2)
      s = "1:", nd = (int16_t)(d - 1);
    else if (c == 5 && d >= 2)
      s = "::2", nd = (int16_t)((d + 1) / 2);
    else if (c == 6 && d < 0 && d > -1000)
      s = "1:", nd = (int16_t)(d - 1000);
    else if (c == 7 && d >= 3)
      s = "-1:0:-2", nd = (int16_t)(d / 2);
    n += (size_t)snprintf(sub + n, sizeof sub - n, "%s%s", k ? ", " : "", s);
    if (nd != -2000) t.dim[t.rank++] = nd;
  }
  push(g, t, hprintf(g, "%s[%s]", v->text, sub), v->depth + 1, v->matmul);
}

/* x[i32(y)] or take(x, i64(y), axis=k): indices from any numeric value
 * (compiled, never run here). */
static void op_gather(Gen *g) {
  GVal *x = pick(g), *y = find(g, ok_num, NULL);
  if (!y || x->t.rank == 0 || x->t.rank - 1 + y->t.rank > 8) return;
  int k = byte(g) % x->t.rank;
  bool take = k > 0 || byte(g) & 1;
  GType t = {.dt = x->t.dt};
  for (int a = 0; a < k; a++) t.dim[t.rank++] = x->t.dim[a];
  for (int a = 0; a < y->t.rank; a++) t.dim[t.rank++] = y->t.dim[a];
  for (int a = k + 1; a < x->t.rank; a++) t.dim[t.rank++] = x->t.dim[a];
  const char *idx = hprintf(g, "%s(%s)", byte(g) & 1 ? "i32" : "i64", y->text);
  const char *text =
      take ? hprintf(g, "take(%s, %s, axis=%d)", x->text, idx, byte(g) & 1 ? k : k - x->t.rank) : hprintf(g, "%s[%s]", as_name(g, x), idx);
  push(g, t, text, maxi(x->depth, y->depth) + 2, x->matmul);
}

/* index_add(x, i(y), take(x, i(y), axis=k), axis=k), scatter_add(x, i64(x), x,
 * axis=k), one_hot(i32(y), 3). */
static void op_scatter(Gen *g) {
  GVal *x = find(g, ok_num, NULL), *y = find(g, ok_num, NULL);
  if (!x || !y) return;
  uint8_t c = byte(g) % 3;
  if (c == 2 && y->t.rank < 8) {
    GType t = y->t;
    t.dt = T_F32;
    t.dim[t.rank++] = 3;
    push(g, t, hprintf(g, "one_hot(i32(%s), 3)", y->text), y->depth + 2, y->matmul);
    return;
  }
  if (x->t.rank == 0) return;
  int k = byte(g) % x->t.rank;
  if (c == 1) {
    push(g, x->t, hprintf(g, "scatter_add(%s, i64(%s), %s, axis=%d)", x->text, x->text, x->text, k), x->depth + 2, x->matmul);
    return;
  }
  if (x->t.rank - 1 + y->t.rank > 8) return;
  const char *idx = hprintf(g, "i32(%s)", y->text);
  push(g, x->t, hprintf(g, "index_add(%s, %s, take(%s, %s, axis=%d), axis=%d)", x->text, idx, x->text, idx, k, k),
       maxi(x->depth, y->depth) + 3, x->matmul);
}

/* Comprehensions: elementwise (with a permutation), a reduction over the
 * last axis (sum, max, min), an outer product; always a let. */
static void op_comprehension(Gen *g) {
  GVal *v = find(g, ok_num, NULL);
  if (!v || v->t.rank == 0) return;
  const char *x = as_name(g, v);
  int r = v->t.rank;
  char lhs[128], sub[128];
  size_t nl = 0, ns = 0;
  uint8_t c = byte(g) % 4;
  GType t = {.dt = v->t.dt};
  const char *name = hprintf(g, "v%d", g->nlets++);
  for (int k = 0; k < r; k++) ns += (size_t)snprintf(sub + ns, sizeof sub - ns, "%si%d", k ? ", " : "", k);
  if (c == 0 || c == 1) { /* reversed index order on the left: a transpose */
    for (int k = 0; k < r; k++) {
      int j = c == 0 ? k : r - 1 - k;
      nl += (size_t)snprintf(lhs + nl, sizeof lhs - nl, "%si%d", k ? ", " : "", j);
      t.dim[t.rank++] = v->t.dim[j];
    }
    emit(g, "    let %s[%s] = %s[%s] * %s\n", name, lhs, x, sub, literal(g, v->t.dt));
  } else if (c == 2) {
    static const char *const red[] = {"sum", "max", "min"};
    for (int k = 0; k + 1 < r; k++) {
      nl += (size_t)snprintf(lhs + nl, sizeof lhs - nl, "%si%d", k ? ", " : "", k);
      t.dim[t.rank++] = v->t.dim[k];
    }
    if (r == 1)
      emit(g, "    let %s = %s[i0] %s[i0] * %s[i0]\n", name, red[byte(g) % 3], x, x); /* a scalar */
    else
      emit(g, "    let %s[%s] = %s[i%d] %s[%s]\n", name, lhs, red[byte(g) % 3], r - 1, x, sub);
  } else {
    GVal *w = find(g, ok_num, NULL);
    if (!w || w->t.dt != v->t.dt || w->t.rank != 1 || r != 1) return;
    const char *y = as_name(g, w);
    t.rank = 2, t.dim[0] = v->t.dim[0], t.dim[1] = w->t.dim[0];
    emit(g, "    let %s[a, b] = %s[a] * %s[b]\n", name, x, y);
  }
  push(g, t, name, 0, v->matmul);
}

/* [a, b] of two values of one type, or [a, literal] (broadcast). */
static void op_literal(Gen *g) {
  GVal *a = pick(g);
  if (a->t.rank >= 8) return;
  GVal *b = find(g, ok_partner, a);
  const char *bt = b && type_eq(&b->t, &a->t) ? b->text : literal(g, a->t.dt);
  GType t = {.dt = a->t.dt, .rank = (uint8_t)(a->t.rank + 1)};
  t.dim[0] = 2;
  for (int k = 0; k < a->t.rank; k++) t.dim[k + 1] = a->t.dim[k];
  push(g, t, hprintf(g, "[%s, %s]", a->text, bt), a->depth + 1, a->matmul);
}

/* ---- calls and derivatives --------------------------------------------------- */

/* Arguments for f from the pool (exact types); false if one is missing. */
static bool call_args(Gen *g, const GFn *f, const char **args, bool *matmul, int *depth) {
  for (int i = 0; i < f->nparams; i++) {
    int start = byte(g) % g->npool, j = 0;
    while (j < g->npool && !type_eq(&g->pool[(start + j) % g->npool].t, &f->params[i])) j++;
    if (j == g->npool) return false;
    GVal *v = &g->pool[(start + j) % g->npool];
    args[i] = v->text;
    *matmul |= v->matmul;
    *depth = maxi(*depth, v->depth + 1);
  }
  return true;
}

/* Binds the n values of a call to a let pattern (or one let). */
static void bind_results(Gen *g, const char *call, const GType *types, int n, bool matmul, int depth) {
  if (n == 1) {
    push(g, types[0], call, depth, matmul);
    maybe_let(g);
    return;
  }
  char pat[512];
  size_t len = 0;
  for (int i = 0; i < n; i++) {
    bool skip = byte(g) < 40 && i > 0;
    const char *name = skip ? "_" : hprintf(g, "v%d", g->nlets++);
    len += (size_t)snprintf(pat + len, sizeof pat - len, "%s%s", i ? ", " : "", name);
    if (!skip) push(g, types[i], name, 0, matmul);
  }
  emit(g, "    let (%s) = %s\n", pat, call);
}

static void op_call(Gen *g) {
  if (!g->nfns) return;
  const GFn *f = &g->fns[byte(g) % g->nfns];
  const char *args[MAX_P];
  bool mm = f->matmul;
  int depth = 1;
  if (f->inout || !call_args(g, f, args, &mm, &depth)) return;
  char *text = (char *)hprintf(g, "%s(", f->name);
  for (int i = 0; i < f->nparams; i++) text = (char *)hprintf(g, "%s%s%s", text, i ? ", " : "", args[i]);
  bind_results(g, hprintf(g, "%s)", text), f->res, f->nres, mm, depth);
}

static int float_results(const GFn *f, GType *out) {
  int n = 0;
  for (int i = 0; i < f->nres; i++)
    if (is_float(f->res[i].dt)) out[n++] = f->res[i];
  return n;
}

/* wrt: a nonempty subset of f's float parameters, as text and types. */
static int choose_wrt(Gen *g, const GFn *f, const char **text, GType *types) {
  int n = 0;
  char buf[1024];
  size_t len = 0;
  uint8_t mask = byte(g);
  for (int pass = 0; pass < 2 && !n; pass++)
    for (int i = 0; i < f->nparams && i < 48; i++)
      if (is_float(f->params[i].dt) && (pass || (mask >> (i % 8) & 1))) {
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%sp%d", n ? ", " : "", i);
        types[n++] = f->params[i];
      }
  *text = n == 1 ? hprintf(g, "%s", buf) : hprintf(g, "(%s)", buf);
  return n;
}

/* grad, value_and_grad, jvp or vjp of an earlier function. */
static void op_derive(Gen *g) {
  if (!g->nfns) return;
  const GFn *f = &g->fns[byte(g) % g->nfns];
  const char *args[MAX_P], *wrt;
  GType wrt_t[MAX_P], fres[3], res[MAX_P + 1];
  bool mm = f->matmul;
  int kind = byte(g) % 4, nf = float_results(f, fres), depth = 1;
  if (f->inout || (mm && !g->known) || !nf || !call_args(g, f, args, &mm, &depth)) return;
  if (kind < 2 && (f->nres != 1 || nf != 1 || f->res[0].rank != 0)) kind = 2 + (kind & 1);
  int nw = choose_wrt(g, f, &wrt, wrt_t);
  if (!nw) return;
  static const char *const names[] = {"grad", "value_and_grad", "jvp", "vjp"};
  char *text = (char *)hprintf(g, "%s(%s", names[kind], f->name);
  for (int i = 0; i < f->nparams; i++) text = (char *)hprintf(g, "%s, %s", text, args[i]);
  int nextra = kind == 2 ? nw : kind == 3 ? nf : 0, n = 0;
  for (int i = 0; i < nextra; i++) { /* tangents or cotangents: pool values of exactly that type */
    const GType *want = kind == 2 ? &wrt_t[i] : &fres[i];
    GFn one = {.nparams = 1, .params = {*want}};
    const char *a[1];
    if (!call_args(g, &one, a, &mm, &depth)) return;
    text = (char *)hprintf(g, "%s, %s", text, a[0]);
  }
  if (kind == 1) res[n++] = fres[0];
  for (int i = 0; kind != 2 && i < nw; i++) res[n++] = wrt_t[i];
  for (int i = 0; kind == 2 && i < nf; i++) res[n++] = fres[i];
  bind_results(g, hprintf(g, "%s, wrt=%s)", text, wrt), res, n, mm, depth);
}

/* ---- functions ------------------------------------------------------------------ */

static void one_op(Gen *g) {
  switch (byte(g) % 20) {
  case 16: op_slice(g); break;
  case 17: op_gather(g); break;
  case 18: op_scatter(g); break;
  case 19: byte(g) & 1 ? op_comprehension(g) : op_literal(g); break;
  case 0: case 1: op_unary(g); break;
  case 2: case 3: case 4: op_binary(g); break;
  case 5: op_compare(g); break;
  case 6: op_logic(g); break;
  case 7: op_where(g); break;
  case 8: op_cast(g); break;
  case 9: case 10: op_reduce(g); break;
  case 11: op_softmax(g); break;
  case 12: op_transpose(g); break;
  case 13: op_matmul(g); break;
  case 14: op_call(g); return;
  default: op_derive(g); return;
  }
  maybe_let(g);
}

/* The parameters: types of the program's signature list, mostly. */
static void make_params(Gen *g, GFn *f, int fdt) {
  f->nparams = 1 + byte(g) % g->max_params;
  for (int i = 0; i < f->nparams; i++) {
    uint8_t c = byte(g);
    f->params[i] = c < 200 ? g->sig[c % g->nsig] : random_type(g, fdt);
    push(g, f->params[i], hprintf(g, "p%d", i), 0, false);
  }
}

static void write_header(Gen *g, const GFn *f, bool priv, int inout_param) {
  out(g, "%sfn %s(", priv ? "private " : "", f->name);
  for (int i = 0; i < f->nparams; i++)
    out(g, "%sp%d: %s%s", i ? ", " : "", i, i == inout_param ? "inout " : "", type_text(g, &f->params[i]));
  out(g, ") -> %s", f->nres > 1 ? "(" : "");
  for (int i = 0; i < f->nres; i++) out(g, "%s%s", i ? ", " : "", type_text(g, &f->res[i]));
  out(g, "%s {\n", f->nres > 1 ? ")" : "");
}

/* `update p = ...`: the new value has exactly p's type. */
static int make_update(Gen *g, GFn *f) {
  for (int i = 0; i < f->nparams; i++) {
    if (!is_float(f->params[i].dt)) continue;
    GVal *p = &g->pool[i], *x = find(g, ok_partner, p);
    GType r;
    if (!x || !bcast(&p->t, &x->t, &r) || !type_eq(&r, &p->t)) return -1;
    emit(g, "    update p%d = p%d - 0.5 * %s\n", i, i, x->text);
    f->inout = true;
    return i;
  }
  return -1;
}

static int float_params(const GFn *f) {
  int n = 0;
  for (int i = 0; i < f->nparams; i++) n += is_float(f->params[i].dt);
  return n;
}

/* A gradient rule for f: each float parameter's cotangent is the parameter
 * scaled by the sum of the cotangents. */
static void make_rule(Gen *g, const GFn *f) {
  GType fres[3];
  int nf = float_results(f, fres), nfp = 0, many = float_params(f) > 1;
  out(g, "grad %s(", f->name);
  for (int i = 0; i < f->nparams; i++) out(g, "%sp%d: %s", i ? ", " : "", i, type_text(g, &f->params[i]));
  for (int i = 0; i < nf; i++) out(g, ", ct%d: %s", i, type_text(g, &fres[i]));
  out(g, ") -> %s", many ? "(" : "");
  for (int i = 0; i < f->nparams; i++)
    if (is_float(f->params[i].dt)) out(g, "%s%s", nfp++ ? ", " : "", type_text(g, &f->params[i]));
  out(g, "%s {\n    return ", many ? ")" : "");
  nfp = 0;
  for (int i = 0; i < f->nparams; i++)
    if (is_float(f->params[i].dt))
      out(g, "%sp%d * %s(sum(ct0))", nfp++ ? ", " : "", i, dt_name[f->params[i].dt]);
  out(g, "\n}\n");
}

static void make_fn(Gen *g, bool last) {
  GFn *f = &g->fns[g->nfns];
  memset(f, 0, sizeof *f);
  snprintf(f->name, sizeof f->name, last ? "main" : "h%d", g->nfns);
  g->npool = 0;
  g->blen = 0;
  int fdt = byte(g) & 1 ? T_F64 : T_F32;
  make_params(g, f, fdt);
  int nparams = g->nparams = g->npool, nops = last ? 4 + byte(g) % 60 : 1 + byte(g) % 20;
  for (int i = 0; i < nops && !done(g); i++) one_op(g);
  int inout = last && byte(g) < 60 ? make_update(g, f) : -1;
  f->nres = 1 + (byte(g) < 200 ? 0 : byte(g) % 3);
  emit(g, "    return ");
  for (int i = 0; i < f->nres; i++) {
    GVal *v = g->npool > nparams && byte(g) < 220 ? &g->pool[nparams + byte(g) % (g->npool - nparams)] : pick(g);
    f->res[i] = v->t;
    f->matmul |= v->matmul;
    emit(g, "%s%s", i ? ", " : "", v->text);
  }
  emit(g, "\n}\n");
  f->exported = last || byte(g) >= 200;
  write_header(g, f, !f->exported, inout);
  out(g, "%.*s", (int)g->blen, g->body);
  if (!last && byte(g) < 20 && float_results(f, (GType[3]){0}) >= 1 && float_params(f)) make_rule(g, f);
  if (!last) g->nfns++;
}

/* The options line comes first in the text but is decided last: without
 * TEXC_FUZZ_KNOWN, --grad-all only when no exported function has a matmul. */
static void make_program(Gen *g, char *run, size_t cap) {
  uint8_t c = byte(g);
  g->nsyms = 1 + byte(g) % (g->known ? MAX_SYMS_GEN : 12);
  g->nsig = 1 + byte(g) % MAX_SIG;
  int fdt = byte(g) & 1 ? T_F64 : T_F32;
  for (int i = 0; i < g->nsig; i++) g->sig[i] = random_type(g, fdt);
  int nhelpers = byte(g) % MAX_FNS;
  for (int i = 0; i < nhelpers && !done(g); i++) make_fn(g, false);
  make_fn(g, true);
  bool grad_all = c & 4;
  for (int i = 0; i <= g->nfns && i < MAX_FNS; i++) { /* texc rejects --grad-all of a scalar fn with no float param */
    const GFn *f = &g->fns[i];
    bool scalar = f->nres == 1 && f->res[0].rank == 0 && is_float(f->res[0].dt);
    grad_all &= !f->exported || ((g->known || !f->matmul) && (!scalar || float_params(f)));
  }
  snprintf(run, cap, "# RUN:%s%s%s\n", c & 1 ? " -O0" : "", c & 2 ? " --fast-math" : "", grad_all ? " --grad-all" : "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return -1;
  static char heap[TEXT_CAP], body[TEXT_CAP], prog[TEXT_CAP];
  static Gen g;
  memset(&g, 0, sizeof g);
  g.b = (Bytes){data, data + size};
  g.heap = heap, g.body = body, g.out = prog;
  g.known = getenv("TEXC_FUZZ_SMALL") == NULL;
  g.max_params = g.known ? MAX_P : 8;
  g.max_depth = g.known ? 5000 : 40;
  char run[64];
  make_program(&g, run, sizeof run);
  if (g.full) return -1;
  size_t rlen = strlen(run);
  memmove(prog + rlen, prog, g.olen + 1 > TEXT_CAP - rlen ? TEXT_CAP - rlen : g.olen + 1);
  memcpy(prog, run, rlen);
  if (getenv("FUZZ_PRINT")) fprintf(stderr, "%s----\n", prog);
  if (!fuzz_compile(prog, g.olen + rlen, false, true) && getenv("FUZZ_STRICT"))
    fuzz_bug("fuzz_struct made a program texc rejects (FUZZ_VERBOSE=1 shows why)", prog);
  return 0;
}
