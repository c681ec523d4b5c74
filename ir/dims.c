/* dims.c — symbolic dims as hash-consed integer polynomials over size symbols.
 *
 * Invariant: a DimTable holds at most one DimPoly per polynomial, so two dims
 * are equal iff their pointers are equal.  Polynomials are normalised before
 * interning: terms sorted (degree descending, then factors), like terms merged,
 * zero terms dropped.  Symbols are interned names; a function's symbols are the
 * ones its parameter types mention. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

struct DimTable {
  Arena arena;
  const char **names; /* symbol names by id */
  Dim *def;           /* derived symbols: the numerator of (def // den); NULL: a size symbol */
  int64_t *den;
  int nsyms, symcap;
  Dim *slots;         /* open-addressing intern table */
  int nslots, nused;
  bool overflowed;    /* a coefficient left int64: see dim_overflowed */
};

DimTable *dim_table_new(void) {
  DimTable *t = tex_calloc(1, sizeof *t);
  t->nslots = 256;
  t->slots = tex_calloc((size_t)t->nslots, sizeof(Dim));
  return t;
}

void dim_table_free(DimTable *t) {
  if (!t) return;
  arena_free(&t->arena);
  tex_free(t->names);
  tex_free(t->def);
  tex_free(t->den);
  tex_free(t->slots);
  tex_free(t);
}

int dim_symbol(DimTable *t, const char *name) {
  for (int i = 0; i < t->nsyms; i++)
    if (strcmp(t->names[i], name) == 0) return i;
  if (t->nsyms == t->symcap) {
    t->symcap = t->symcap ? t->symcap * 2 : 16;
    t->names = tex_realloc(t->names, sizeof(char *) * (size_t)t->symcap);
    t->def = tex_realloc(t->def, sizeof(Dim) * (size_t)t->symcap);
    t->den = tex_realloc(t->den, sizeof(int64_t) * (size_t)t->symcap);
  }
  t->names[t->nsyms] = arena_strdup(&t->arena, name);
  t->def[t->nsyms] = NULL, t->den[t->nsyms] = 0;
  return t->nsyms++;
}

const char *dim_symbol_name(DimTable *t, int sym) { return t->names[sym]; }
int dim_nsymbols(DimTable *t) { return t->nsyms; }

/* ---- normalisation and interning --------------------------------------- */

static int degree(const DimTerm *a) {
  int d = 0;
  for (int i = 0; i < a->nfactors; i++) d += a->factors[i].pow;
  return d;
}

/* Orders monomials (ignoring coefficients): higher degree first, then by
 * factors.  Returns 0 for like terms. */
static int monomial_cmp(const DimTerm *a, const DimTerm *b) {
  int da = degree(a), db = degree(b);
  if (da != db) return db - da;
  for (int i = 0; i < a->nfactors && i < b->nfactors; i++) {
    if (a->factors[i].sym != b->factors[i].sym) return a->factors[i].sym - b->factors[i].sym;
    if (a->factors[i].pow != b->factors[i].pow) return b->factors[i].pow - a->factors[i].pow;
  }
  return a->nfactors - b->nfactors;
}

static int term_qsort_cmp(const void *a, const void *b) { return monomial_cmp(a, b); }

static uint64_t hash_poly(const DimTerm *terms, int n) {
  uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < n; i++) {
    h = (h ^ (uint64_t)terms[i].coef) * 1099511628211ull;
    for (int j = 0; j < terms[i].nfactors; j++)
      h = (h ^ (uint64_t)(terms[i].factors[j].sym * 64 + terms[i].factors[j].pow)) * 1099511628211ull;
  }
  return h;
}

static bool poly_equal(Dim p, const DimTerm *terms, int n) {
  if (p->nterms != n) return false;
  for (int i = 0; i < n; i++)
    if (p->terms[i].coef != terms[i].coef || monomial_cmp(&p->terms[i], &terms[i]) != 0) return false;
  return true;
}

static void grow_slots(DimTable *t) {
  int n = t->nslots * 2;
  Dim *slots = tex_calloc((size_t)n, sizeof(Dim));
  for (int i = 0; i < t->nslots; i++) {
    if (!t->slots[i]) continue;
    int j = (int)(t->slots[i]->hash & (uint64_t)(n - 1));
    while (slots[j]) j = (j + 1) & (n - 1);
    slots[j] = t->slots[i];
  }
  tex_free(t->slots);
  t->slots = slots;
  t->nslots = n;
}

/* Coefficient arithmetic that records overflow instead of wrapping. */
static int64_t coef_add(DimTable *t, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) t->overflowed = true, r = 0;
  return r;
}

static int64_t coef_mul(DimTable *t, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) t->overflowed = true, r = 0;
  return r;
}

bool dim_overflowed(DimTable *t) {
  bool o = t->overflowed;
  t->overflowed = false;
  return o;
}

/* Sorts, merges like terms and drops zeros in place; returns the new count. */
static int normalise(DimTable *t, DimTerm *terms, int n) {
  qsort(terms, (size_t)n, sizeof *terms, term_qsort_cmp);
  int out = 0;
  for (int i = 0; i < n; i++) {
    if (out > 0 && monomial_cmp(&terms[out - 1], &terms[i]) == 0)
      terms[out - 1].coef = coef_add(t, terms[out - 1].coef, terms[i].coef);
    else
      terms[out++] = terms[i];
    if (terms[out - 1].coef == 0) out--;
  }
  return out;
}

/* Returns the unique DimPoly for the (unnormalised) terms, copying them into
 * the table's arena if new. */
static Dim intern(DimTable *t, DimTerm *terms, int n) {
  n = normalise(t, terms, n);
  uint64_t h = hash_poly(terms, n);
  int mask = t->nslots - 1, j = (int)(h & (uint64_t)mask);
  for (; t->slots[j]; j = (j + 1) & mask)
    if (t->slots[j]->hash == h && poly_equal(t->slots[j], terms, n)) return t->slots[j];
  struct DimPoly *p = ARENA_NEW(&t->arena, struct DimPoly);
  p->nterms = n;
  p->hash = h;
  p->terms = ARENA_ARRAY(&t->arena, DimTerm, n);
  for (int i = 0; i < n; i++) {
    p->terms[i] = terms[i];
    p->terms[i].factors = ARENA_ARRAY(&t->arena, DimFactor, terms[i].nfactors);
    if (terms[i].nfactors) memcpy(p->terms[i].factors, terms[i].factors, sizeof(DimFactor) * (size_t)terms[i].nfactors);
  }
  t->slots[j] = p;
  if (++t->nused * 2 > t->nslots) grow_slots(t);
  return p;
}

/* ---- constructors ------------------------------------------------------ */

Dim dim_lit(DimTable *t, int64_t v) {
  DimTerm term = {v, 0, NULL};
  return intern(t, &term, 1);
}

Dim dim_sym(DimTable *t, const char *name) {
  DimFactor f = {dim_symbol(t, name), 1};
  DimTerm term = {1, 1, &f};
  return intern(t, &term, 1);
}

static Dim add_scaled(DimTable *t, Dim a, Dim b, int64_t scale) {
  int n = a->nterms + b->nterms;
  DimTerm *terms = tex_calloc((size_t)n + 1, sizeof *terms);
  if (a->nterms) memcpy(terms, a->terms, sizeof *terms * (size_t)a->nterms);
  for (int i = 0; i < b->nterms; i++) {
    terms[a->nterms + i] = b->terms[i];
    terms[a->nterms + i].coef = coef_mul(t, terms[a->nterms + i].coef, scale);
  }
  Dim r = intern(t, terms, n);
  tex_free(terms);
  return r;
}

Dim dim_add(DimTable *t, Dim a, Dim b) { return add_scaled(t, a, b, 1); }
Dim dim_sub(DimTable *t, Dim a, Dim b) { return add_scaled(t, a, b, -1); }

/* The product of two monomials; factors merged in symbol order. */
static int mul_factors(const DimTerm *a, const DimTerm *b, DimFactor *out) {
  int i = 0, j = 0, n = 0;
  while (i < a->nfactors || j < b->nfactors) {
    if (j == b->nfactors || (i < a->nfactors && a->factors[i].sym < b->factors[j].sym))
      out[n++] = a->factors[i++];
    else if (i == a->nfactors || b->factors[j].sym < a->factors[i].sym)
      out[n++] = b->factors[j++];
    else {
      out[n] = a->factors[i++];
      out[n++].pow += b->factors[j++].pow;
    }
  }
  return n;
}

Dim dim_mul(DimTable *t, Dim a, Dim b) {
  int n = a->nterms * b->nterms, maxf = 0;
  for (int i = 0; i < a->nterms; i++)
    for (int j = 0; j < b->nterms; j++)
      if (a->terms[i].nfactors + b->terms[j].nfactors > maxf) maxf = a->terms[i].nfactors + b->terms[j].nfactors;
  DimTerm *terms = tex_calloc((size_t)n + 1, sizeof *terms);
  DimFactor *factors = tex_calloc((size_t)(n * maxf) + 1, sizeof *factors);
  for (int i = 0, k = 0; i < a->nterms; i++)
    for (int j = 0; j < b->nterms; j++, k++) {
      terms[k].coef = coef_mul(t, a->terms[i].coef, b->terms[j].coef);
      terms[k].factors = factors + k * maxf;
      terms[k].nfactors = mul_factors(&a->terms[i], &b->terms[j], terms[k].factors);
    }
  Dim r = intern(t, terms, n);
  tex_free(factors);
  tex_free(terms);
  return r;
}

/* ---- queries ----------------------------------------------------------- */

bool dim_is_lit(Dim d, int64_t *value) {
  if (d->nterms == 0) {
    if (value) *value = 0;
    return true;
  }
  if (d->nterms != 1 || d->terms[0].nfactors != 0) return false;
  if (value) *value = d->terms[0].coef;
  return true;
}

bool dim_is_one(Dim d) {
  int64_t v;
  return dim_is_lit(d, &v) && v == 1;
}

int dim_as_sym(Dim d) {
  if (d->derived) return -1; /* a derived symbol is computed, never bound */
  if (d->nterms == 1 && d->terms[0].coef == 1 && d->terms[0].nfactors == 1 && d->terms[0].factors[0].pow == 1)
    return d->terms[0].factors[0].sym;
  return -1;
}

bool dim_derived(DimTable *t, int sym, Dim *num, int64_t *den) {
  if (sym < 0 || sym >= t->nsyms || !t->def[sym]) return false;
  if (num) *num = t->def[sym];
  if (den) *den = t->den[sym];
  return true;
}

static int64_t floor_div(int64_t a, int64_t c) { return a / c - (a % c != 0 && (a < 0) != (c < 0)); }

/* a // c for c >= 1: exact when every coefficient of a is a multiple of c,
 * a literal when a is one, else the derived symbol "(a // c)": an atom of
 * the polynomials (nothing is assumed about it), whose value is computed
 * from its definition wherever a symbol's value is needed. */
Dim dim_floordiv(DimTable *t, Dim a, int64_t c) {
  int64_t v;
  if (c < 1) ice("dim_floordiv by %lld", (long long)c);
  if (dim_is_lit(a, &v)) return dim_lit(t, floor_div(v, c));
  bool exact = true;
  for (int i = 0; i < a->nterms; i++) exact = exact && a->terms[i].coef % c == 0;
  if (exact) {
    DimTerm *terms = tex_calloc((size_t)a->nterms + 1, sizeof *terms);
    memcpy(terms, a->terms, sizeof *terms * (size_t)a->nterms);
    for (int i = 0; i < a->nterms; i++) terms[i].coef /= c;
    Dim r = intern(t, terms, a->nterms);
    tex_free(terms);
    return r;
  }
  char num[512], name[600];
  dim_snprint(t, a, num, sizeof num);
  bool bare = a->nterms == 1 && a->terms[0].coef == 1; /* a product of symbols: no parentheses needed */
  snprintf(name, sizeof name, bare ? "(%s // %lld)" : "((%s) // %lld)", num, (long long)c);
  int sym = dim_symbol(t, name);
  t->def[sym] = a, t->den[sym] = c;
  Dim r = dim_sym(t, name);
  ((struct DimPoly *)r)->derived = true;
  return r;
}

Dim dim_subst(DimTable *t, Dim d, Dim const *map) {
  Dim r = dim_lit(t, 0);
  for (int i = 0; i < d->nterms; i++) {
    Dim term = dim_lit(t, d->terms[i].coef);
    for (int j = 0; j < d->terms[i].nfactors; j++) {
      const DimFactor *f = &d->terms[i].factors[j];
      Dim base = map[f->sym]      ? map[f->sym]
                 : t->def[f->sym] ? dim_floordiv(t, dim_subst(t, t->def[f->sym], map), t->den[f->sym])
                                  : dim_sym(t, t->names[f->sym]);
      for (int p = 0; p < f->pow; p++) term = dim_mul(t, term, base);
    }
    r = dim_add(t, r, term);
  }
  return r;
}

bool dim_eval(DimTable *t, Dim d, const int64_t *sym_values, int64_t *out) {
  int64_t sum = 0;
  for (int i = 0; i < d->nterms; i++) {
    int64_t v = d->terms[i].coef;
    for (int j = 0; j < d->terms[i].nfactors; j++) {
      int sym = d->terms[i].factors[j].sym;
      int64_t x = sym_values[sym];
      if (t->def[sym] && !dim_eval(t, t->def[sym], sym_values, &x)) return false;
      if (t->def[sym]) x = floor_div(x, t->den[sym]);
      for (int p = 0; p < d->terms[i].factors[j].pow; p++)
        if (__builtin_mul_overflow(v, x, &v)) return false;
    }
    if (__builtin_add_overflow(sum, v, &sum)) return false;
  }
  *out = sum;
  return true;
}

/* ---- printing ---------------------------------------------------------
 * Printing orders factors and terms by symbol *name*, not by interning order,
 * so the text of a dim does not depend on which symbol the program mentioned
 * first (the IR text form must read back to the same text). */

typedef struct PrintTerm {
  const DimTerm *term;
  DimFactor *factors; /* sorted by name */
  int nfactors;
} PrintTerm;

static int factor_name_cmp(const void *a, const void *b, void *table) {
  const DimTable *t = table;
  return strcmp(t->names[((const DimFactor *)a)->sym], t->names[((const DimFactor *)b)->sym]);
}

static int term_name_cmp(const void *a, const void *b, void *table) {
  const PrintTerm *x = a, *y = b;
  int dx = degree(x->term), dy = degree(y->term);
  if (dx != dy) return dy - dx;
  for (int i = 0; i < x->nfactors && i < y->nfactors; i++) {
    int c = factor_name_cmp(&x->factors[i], &y->factors[i], table);
    if (c) return c;
    if (x->factors[i].pow != y->factors[i].pow) return y->factors[i].pow - x->factors[i].pow;
  }
  return x->nfactors - y->nfactors;
}

/* The rest of buf after n chars; once buf is full, writes go to a local
 * sink of length 0, so snprintf only counts. */
#define AT(n) (len > (size_t)(n) ? buf + (n) : sink), (len > (size_t)(n) ? len - (size_t)(n) : 0)
#define PUT(...) n += snprintf(AT(n), __VA_ARGS__)

static int print_term(DimTable *t, const PrintTerm *pt, bool first, char *buf, size_t len) {
  char sink[1];
  int n = 0;
  uint64_t c = pt->term->coef < 0 ? 0 - (uint64_t)pt->term->coef : (uint64_t)pt->term->coef;
  bool neg = pt->term->coef < 0;
  if (!first)
    PUT(neg ? " - " : " + ");
  else if (neg)
    PUT("-");
  bool bare = pt->nfactors > 0 && c == 1;
  if (!bare) PUT("%llu", (unsigned long long)c);
  for (int j = 0; j < pt->nfactors; j++)
    for (int p = 0; p < pt->factors[j].pow; p++) PUT("%s%s", (!bare || j > 0 || p > 0) ? "*" : "", t->names[pt->factors[j].sym]);
  return n;
}

int dim_snprint(DimTable *t, Dim d, char *buf, size_t len) {
  char sink[1];
  if (d->nterms == 0) return snprintf(buf, len, "0");
  PrintTerm *terms = tex_calloc((size_t)d->nterms, sizeof *terms);
  for (int i = 0; i < d->nterms; i++) {
    terms[i].term = &d->terms[i];
    terms[i].nfactors = d->terms[i].nfactors;
    terms[i].factors = tex_calloc((size_t)terms[i].nfactors + 1, sizeof(DimFactor));
    if (terms[i].nfactors) memcpy(terms[i].factors, d->terms[i].factors, sizeof(DimFactor) * (size_t)terms[i].nfactors);
    qsort_r(terms[i].factors, (size_t)terms[i].nfactors, sizeof(DimFactor), factor_name_cmp, t);
  }
  qsort_r(terms, (size_t)d->nterms, sizeof *terms, term_name_cmp, t);
  int n = 0;
  for (int i = 0; i < d->nterms; i++) n += print_term(t, &terms[i], i == 0, AT(n));
  for (int i = 0; i < d->nterms; i++) tex_free(terms[i].factors);
  tex_free(terms);
  return n;
}
#undef PUT
#undef AT

void dim_fprint(DimTable *t, Dim d, FILE *f) {
  char probe[1];
  int n = dim_snprint(t, d, probe, sizeof probe);
  char *buf = tex_malloc((size_t)n + 1);
  dim_snprint(t, d, buf, (size_t)n + 1);
  fputs(buf, f);
  tex_free(buf);
}
