/* poly.c — polymorphic functions, specialised at each call (design §8).
 *
 * A parameter without a type (`x`) takes any dtype and rank, its dims being
 * the argument's; a parameter with a literal default (`axis = -1`) is a
 * compile-time constant.  A function with either is *polymorphic*: it has no
 * IrFunc of its own.  Each call specialises it for the call's argument
 * types and constant values: a private IrFunc (`relu__f32_2`) whose params
 * have the argument's types, lowered from the same AST with the constants
 * bound as literals, so calls, inlining and differentiation treat it like
 * any other function.  Specialisations are memoised per (dtypes, ranks, the
 * pattern of dims, constants): a second call with the same pattern calls the
 * first one's IrFunc, binding its size symbols as any call does.
 *
 * Dims of a specialisation: literal dims stay literal; each distinct
 * non-literal dim of the arguments is one size symbol (the caller's symbol
 * where the dim is one, else a symbol named by the dim's text), so two
 * arguments whose dims are equal at the call are equal inside the body.
 *
 * Errors inside a specialised body point at the body, with a note at the
 * call ("in relu(x) called here with f32[N, 10]"); recursion through
 * polymorphic functions is an error, since every call would specialise
 * again. */
#include <string.h>

#include "frontend.h"

/* A constant parameter's value. */
typedef enum ConstKind { C_INT, C_FLOAT, C_BOOL } ConstKind;
typedef struct ConstVal {
  ConstKind kind;
  int64_t i;
  double f;
} ConstVal;

/* One specialisation of decl: its key and its function (NULL: its body had errors). */
typedef struct PolySpec {
  const FnDecl *decl;
  int nkey;
  int64_t *key;
  const char *base;  /* its name without the count ("relu__f32_2") */
  IrFunc *f;
} PolySpec;

/* One call being specialised. */
typedef struct PolyCall {
  const Expr *e;
  const FnDecl *d;
  Unit *u;
  const char *label;     /* "relu", "nn.relu" */
  const Expr **given;    /* per param: the argument expression, or NULL */
  Val *vals;             /* per param: the argument (array params) */
  ConstVal *consts;      /* per param: the value (constant params) */
  Dim *canon;            /* per array param and axis: the specialisation's dim */
  int64_t key[2 * TEX_MAX_PARAMS * (IR_MAX_RANK + 1) + 2];
  int nkey;
  const char *syms[TEX_MAX_PARAMS * IR_MAX_RANK]; /* typed params' size symbols ... */
  Dim dims[TEX_MAX_PARAMS * IR_MAX_RANK];         /* ... and the dims the call binds */
  int nsyms;
  Dim seen[TEX_MAX_PARAMS * IR_MAX_RANK];         /* make_key: the non-literal dims */
} PolyCall;

static bool is_const_param(const Param *p) { return p->def != NULL; }
static bool is_array_param(const Param *p) { return !p->def; }

bool sema_decl_is_poly(const FnDecl *d) {
  for (int i = 0; i < d->nparams; i++)
    if (d->params[i].poly || d->params[i].def) return true;
  return !d->is_rule && d->nresults == 0;
}

/* A literal: an integer, a number, true or false, or a negated number. */
static bool const_of_expr(const Expr *e, ConstVal *out) {
  bool neg = e->kind == E_UNARY && e->op == U_NEG;
  const Expr *x = neg ? e->lhs : e;
  if (x->kind == E_INT)
    *out = (ConstVal){C_INT, neg ? -x->ival : x->ival, 0};
  else if (x->kind == E_FLOAT)
    *out = (ConstVal){C_FLOAT, 0, neg ? -x->fval : x->fval};
  else if (x->kind == E_BOOL && !neg)
    *out = (ConstVal){C_BOOL, x->ival, 0};
  else
    return false;
  return true;
}

/* ---- definitions ------------------------------------------------------------- */

static bool check_poly_params(Sema *s, const FnDecl *d) {
  bool ok = true, poly = false;
  for (int i = 0; i < d->nparams; i++) {
    const Param *p = &d->params[i];
    poly = poly || p->poly || p->def;
    for (int j = 0; j < i; j++)
      if (strcmp(d->params[j].name, p->name) == 0) {
        sema_error(s, p->loc, "parameter '%s' is declared twice", p->name);
        ok = false;
      }
    ConstVal c;
    if (p->def && !const_of_expr(p->def, &c)) {
      sema_error(s, p->def->loc, "the default of '%s' must be a literal (a number, true or false): it is a compile-time constant", p->name);
      ok = false;
    }
    if (p->inout) {
      sema_error(s, p->loc, "'%s' is inout, but %s() is polymorphic; only entry points (typed, exported) update in place", p->name,
                 d->name);
      ok = false;
    }
  }
  if (!poly) {
    sema_error(s, d->loc,
               "%s() declares no result type; write -> T after its parameters (only polymorphic functions, with untyped "
               "parameters, infer it)",
               d->name);
    ok = false;
  }
  if (d->nparams > TEX_MAX_PARAMS) {
    sema_error(s, d->params[TEX_MAX_PARAMS].loc, "%s() has %d parameters; a function takes at most %d", d->name, d->nparams,
               TEX_MAX_PARAMS);
    ok = false;
  }
  return ok;
}

void sema_check_poly_decl(Sema *s, const FnDecl *d) {
  if (!s->unit->name && !d->private_)
    sema_error(s, d->loc,
               "cannot export polymorphic function '%s' (it has untyped or constant parameters): an exported function needs "
               "every parameter's type; declare it 'private fn %s', or give its parameters types",
               d->name, d->name);
  check_poly_params(s, d);
}

/* ---- arguments ---------------------------------------------------------------- */

static int param_named(const FnDecl *d, const char *name) {
  for (int i = 0; i < d->nparams; i++)
    if (strcmp(d->params[i].name, name) == 0) return i;
  return -1;
}

static void unknown_param(Sema *s, PolyCall *pc, const Arg *a) {
  int best = -1, bestd = (int)strlen(a->name) / 3 + 1;
  for (int i = 0; i < pc->d->nparams; i++) {
    int dist = sema_edit_distance(a->name, pc->d->params[i].name);
    if (dist <= bestd) best = i, bestd = dist;
  }
  if (best >= 0)
    sema_error(s, a->loc, "%s() has no parameter '%s'; did you mean '%s'?", pc->label, a->name, pc->d->params[best].name);
  else
    sema_error(s, a->loc, "%s() has no parameter '%s'", pc->label, a->name);
}

/* Which expression goes to which parameter: positional ones in order, then
 * named ones by name; a parameter without a default needs one. */
static bool match_args(Sema *s, PolyCall *pc) {
  const FnDecl *d = pc->d;
  const Expr *e = pc->e;
  bool ok = true, named = false;
  int npos = 0;
  for (int i = 0; i < e->nargs; i++) {
    const Arg *a = &e->args[i];
    if (!a->name) {
      if (named) {
        sema_error(s, a->loc, "a positional argument of %s() follows a named one", pc->label);
        return false;
      }
      if (npos < d->nparams) pc->given[npos] = a->value;
      npos++;
      continue;
    }
    named = true;
    int k = param_named(d, a->name);
    if (k < 0)
      unknown_param(s, pc, a), ok = false;
    else if (pc->given[k])
      sema_error(s, a->loc, "argument '%s' of %s() is given twice", a->name, pc->label), ok = false;
    else
      pc->given[k] = a->value;
  }
  if (npos > d->nparams) {
    sema_error(s, e->loc, "%s() takes %d argument%s, got %d", pc->label, d->nparams, d->nparams == 1 ? "" : "s", npos);
    return false;
  }
  for (int i = 0; ok && i < d->nparams; i++)
    if (!pc->given[i] && !d->params[i].def) {
      sema_error(s, e->loc, "%s() needs an argument for '%s'", pc->label, d->params[i].name);
      ok = false;
    }
  return ok;
}

/* A constant argument: a literal (or literal arithmetic, or a constant of
 * the caller) of the default's kind; an integer also fits a float default. */
static bool const_arg(Sema *s, PolyCall *pc, int i) {
  const Param *p = &pc->d->params[i];
  ConstVal def;
  const_of_expr(p->def, &def);
  if (!pc->given[i]) return pc->consts[i] = def, true;
  Val v = sema_lower_expr(s, pc->given[i]);
  if (v.poison) return false;
  ConstVal got;
  const IrNode *n = v.node;
  if (v.weak)
    got = (ConstVal){v.weak_float ? C_FLOAT : C_INT, v.i, v.weak_float ? v.f : (double)v.i};
  else if (n->op == OP_CONST && n->dtype == DT_BOOL && n->rank == 0)
    got = (ConstVal){C_BOOL, n->attr.i, 0};
  else {
    sema_error(s, v.loc, "argument '%s' of %s() is a compile-time constant: give a literal, not an array", p->name, pc->label);
    return false;
  }
  static const char *const kinds[] = {"an integer", "a number", "true or false"};
  bool fits = got.kind == def.kind || (def.kind == C_FLOAT && got.kind == C_INT);
  if (!fits) {
    sema_error(s, v.loc, "argument '%s' of %s() must be %s, like its default", p->name, pc->label, kinds[def.kind]);
    return false;
  }
  if (def.kind == C_FLOAT) got.kind = C_FLOAT;
  pc->consts[i] = got;
  return true;
}

/* A typed parameter of a polymorphic function: the argument must have its
 * dtype and rank, and its size symbols must agree (syms/dims: bound so far). */
static bool typed_arg(Sema *s, PolyCall *pc, int i) {
  const char **syms = pc->syms;
  Dim *dims = pc->dims;
  int *nsyms = &pc->nsyms;
  const Param *p = &pc->d->params[i];
  const IrNode *a = pc->vals[i].node;
  char ta[256];
  if (a->dtype != p->type.dtype || a->rank != p->type.rank) {
    sema_error(s, pc->vals[i].loc, "argument '%s' of %s() must be %s with %d ax%s, got %s", p->name, pc->label, dtype_names[p->type.dtype],
               p->type.rank, p->type.rank == 1 ? "is" : "es", sema_type_text(s, a, ta, sizeof ta));
    return false;
  }
  for (int k = 0; k < p->type.rank; k++) {
    const DimExpr *de = &p->type.dims[k];
    Dim want = NULL;
    if (!de->sym) want = dim_lit(s->m->dims, de->lit);
    for (int j = 0; de->sym && j < *nsyms && !want; j++)
      if (strcmp(syms[j], de->sym) == 0) want = dims[j];
    if (!want) syms[*nsyms] = de->sym, dims[(*nsyms)++] = want = a->shape[k];
    if (want == a->shape[k]) continue;
    char dw[64];
    dim_snprint(s->m->dims, want, dw, sizeof dw);
    sema_error(s, pc->vals[i].loc, "argument '%s' of %s() is %s, but dim %d must be %s%s%s", p->name, pc->label,
               sema_type_text(s, a, ta, sizeof ta), k, dw, de->sym ? ", as " : "", de->sym ? de->sym : "");
    return false;
  }
  return true;
}

static bool lower_args(Sema *s, PolyCall *pc) {
  bool ok = true;
  for (int i = 0; i < pc->d->nparams; i++) {
    const Param *p = &pc->d->params[i];
    if (is_const_param(p)) {
      ok = const_arg(s, pc, i) && ok;
      continue;
    }
    Val v = sema_lower_expr(s, pc->given[i]);
    if (v.weak) v = p->poly ? sema_materialize_default(s, v) : sema_materialize(s, v, p->type.dtype);
    pc->vals[i] = v;
    if (v.poison)
      ok = false;
    else if (!p->poly)
      ok = typed_arg(s, pc, i) && ok;
  }
  return ok;
}

/* ---- the key ----------------------------------------------------------------- */

/* The specialisation's dim for a non-literal dim of the arguments. */
static Dim canonical_dim(Sema *s, Dim d) {
  if (dim_as_sym(d) >= 0) return d;
  char text[256];
  dim_snprint(s->m->dims, d, text, sizeof text);
  return dim_sym(s->m->dims, text);
}

/* Fills pc->key and pc->canon: per param, a constant's kind and value, or
 * an array's dtype, rank, and per dim its literal value or the index of its
 * class among the arguments' non-literal dims. */
static void make_key(Sema *s, PolyCall *pc) {
  Dim *seen = pc->seen;
  int nseen = 0, n = 0, c = 0;
  for (int i = 0; i < pc->d->nparams; i++) {
    if (is_const_param(&pc->d->params[i])) {
      const ConstVal *v = &pc->consts[i];
      int64_t bits;
      memcpy(&bits, &v->f, sizeof bits);
      pc->key[n++] = v->kind;
      pc->key[n++] = v->kind == C_FLOAT ? bits : v->i;
      continue;
    }
    const IrNode *a = pc->vals[i].node;
    pc->key[n++] = (int64_t)a->dtype * 16 + a->rank;
    for (int k = 0; k < a->rank; k++, c++) {
      int64_t lit;
      if (dim_is_lit(a->shape[k], &lit)) {
        pc->key[n++] = lit;
        pc->canon[c] = a->shape[k];
        continue;
      }
      int j = 0;
      while (j < nseen && seen[j] != a->shape[k]) j++;
      if (j == nseen) seen[nseen++] = a->shape[k];
      pc->key[n++] = -1 - j; /* literal dims are >= 0 */
      pc->canon[c] = canonical_dim(s, a->shape[k]);
    }
  }
  pc->nkey = n;
}

static PolySpec *find_spec(const PolyCall *pc) {
  for (int i = 0; i < pc->u->specs.len; i++) {
    PolySpec *sp = pc->u->specs.items[i];
    if (sp->decl != pc->d) continue;
    if (sp->nkey == pc->nkey && memcmp(sp->key, pc->key, sizeof(int64_t) * (size_t)pc->nkey) == 0) return sp;
  }
  return NULL;
}

/* ---- building a specialisation -------------------------------------------------- */

/* "relu__f32_2", "nn__softmax__f32_2": the dtypes and ranks of its arrays. */
static const char *spec_base(Sema *s, PolyCall *pc) {
  char buf[512];
  int n = snprintf(buf, sizeof buf, "%s%s%s_", pc->u->irname ? pc->u->irname : "", pc->u->irname ? "__" : "", pc->d->name);
  for (int i = 0; i < pc->d->nparams && n < (int)sizeof buf - 32; i++) {
    if (is_const_param(&pc->d->params[i])) continue;
    const IrNode *a = pc->vals[i].node;
    n += snprintf(buf + n, sizeof buf - (size_t)n, "_%s_%d", dtype_names[a->dtype], a->rank);
  }
  return arena_strdup(&s->m->arena, buf);
}

/* "in relu(x) called here with f32[N, 10]": the note under errors inside it. */
static const char *context_text(Sema *s, PolyCall *pc) {
  char buf[1024], tb[256];
  int n = snprintf(buf, sizeof buf, "in %s(", pc->label);
  for (int i = 0; i < pc->d->nparams && n < (int)sizeof buf - 300; i++)
    n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%s", i ? ", " : "", pc->d->params[i].name);
  n += snprintf(buf + n, sizeof buf - (size_t)n, ") called here with ");
  for (int i = 0, k = 0; i < pc->d->nparams && n < (int)sizeof buf - 300; i++, k++) {
    const ConstVal *c = &pc->consts[i];
    if (!is_const_param(&pc->d->params[i]))
      n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%s", k ? ", " : "", sema_type_text(s, pc->vals[i].node, tb, sizeof tb));
    else if (c->kind == C_FLOAT)
      n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%s=%g", k ? ", " : "", pc->d->params[i].name, c->f);
    else
      n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%s=%s", k ? ", " : "", pc->d->params[i].name,
                    c->kind == C_BOOL ? (c->i ? "true" : "false") : arena_printf(&s->m->arena, "%lld", (long long)c->i));
  }
  return arena_strdup(&s->m->arena, buf);
}

/* The constants, bound as literals (a bool as a constant node of f). */
static void const_binds(Sema *s, PolyCall *pc, IrFunc *f, SpecBinds *b) {
  for (int i = 0; i < pc->d->nparams; i++) {
    const Param *p = &pc->d->params[i];
    if (!is_const_param(p)) continue;
    const ConstVal *c = &pc->consts[i];
    Val v = {.weak = true, .weak_float = c->kind == C_FLOAT, .i = c->i, .f = c->kind == C_FLOAT ? c->f : (double)c->i, .loc = p->loc};
    if (c->kind == C_BOOL) v = sema_typed(ir_const(s->m, f, DT_BOOL, 0, c->i, p->loc));
    b->names[b->nconst] = p->name;
    b->vals[b->nconst++] = v;
  }
}

/* Declared results: their symbols are those of the typed params, which the
 * call bound to the caller's dims (syms/dims), each now a canonical dim. */
static bool declared_results(Sema *s, PolyCall *pc, IrFunc *f) {
  const char **syms = pc->syms;
  const Dim *dims = pc->dims;
  int nsyms = pc->nsyms;
  IrNode *res[TEX_MAX_RESULTS];
  const FnDecl *d = pc->d;
  if (d->nresults > TEX_MAX_RESULTS) {
    sema_error(s, d->results[TEX_MAX_RESULTS].loc, "%s() has %d results; a function returns at most %d", d->name, d->nresults,
               TEX_MAX_RESULTS);
    return false;
  }
  for (int k = 0; k < d->nresults; k++) {
    const TypeExpr *t = &d->results[k];
    Dim shape[IR_MAX_RANK];
    if (t->rank > IR_MAX_RANK) {
      sema_error(s, t->loc, "rank %d is more than the supported %d", t->rank, IR_MAX_RANK);
      return false;
    }
    for (int a = 0; a < t->rank; a++) {
      const DimExpr *de = &t->dims[a];
      int j = 0;
      while (de->sym && j < nsyms && strcmp(syms[j], de->sym) != 0) j++;
      if (de->sym && j == nsyms) {
        sema_error(s, de->loc,
                   "result dim '%s' of %s() is not a dim of a typed parameter; an untyped function's results can also be "
                   "left out (-> T is inferred)",
                   de->sym, d->name);
        return false;
      }
      shape[a] = de->sym ? canonical_dim(s, dims[j]) : dim_lit(s->m->dims, de->lit);
    }
    res[k] = ir_placeholder(s->m, t->dtype, t->rank, shape);
  }
  ir_set_results(s->m, f, d->nresults, res);
  return true;
}

/* Lowers d's body for this call's types into a new private function. */
/* The base name, with a count where several specialisations share it
 * (different dims or constants): relu__f32_2, relu__f32_2_2, ... */
static const char *spec_name(Sema *s, PolyCall *pc, const char *base) {
  int nth = 0;
  for (int i = 0; i < pc->u->specs.len; i++) nth += strcmp(((PolySpec *)pc->u->specs.items[i])->base, base) == 0;
  return nth ? arena_printf(&s->m->arena, "%s_%d", base, nth + 1) : base;
}

static IrFunc *specialise(Sema *s, PolyCall *pc, const char *name) {
  IrFunc *f = ir_func_new(s->m, name, pc->d->loc);
  f->exported = false;
  for (int i = 0, c = 0; i < pc->d->nparams; i++) {
    const Param *p = &pc->d->params[i];
    if (!is_array_param(p)) continue;
    const IrNode *a = pc->vals[i].node;
    ir_param(s->m, f, p->name, a->dtype, a->rank, pc->canon + c, p->loc);
    c += a->rank;
  }
  SpecBinds binds = {0, tex_calloc((size_t)pc->d->nparams + 1, sizeof(char *)), tex_calloc((size_t)pc->d->nparams + 1, sizeof(Val))};
  const_binds(s, pc, f, &binds);
  int errors = s->diag->errors;
  if (pc->d->nresults && !declared_results(s, pc, f)) errors = -1;
  if (errors >= 0) {
    Sema saved;
    sema_enter_unit(s, pc->u, &saved);
    s->spec = &binds;
    s->spec_depth++;
    vec_push(&s->active, (void *)pc->d);
    diag_push_context(s->diag, pc->e->loc, context_text(s, pc));
    sema_lower_body(s, pc->d, f);
    diag_pop_context(s->diag);
    s->active.len--;
    sema_leave_unit(s, &saved);
  }
  tex_free(binds.names);
  tex_free(binds.vals);
  return errors == s->diag->errors && f->results ? f : NULL;
}

/* ---- calls ---------------------------------------------------------------------- */

static bool check_recursion(Sema *s, PolyCall *pc) {
  if (s->spec_depth >= FE_MAX_SPEC_DEPTH) {
    sema_error(s, pc->e->loc,
               "polymorphic functions call each other more than %d deep here (each call is specialised inside the "
               "one before); the limit is %d",
               FE_MAX_SPEC_DEPTH, FE_MAX_SPEC_DEPTH);
    return false;
  }
  int from = 0;
  while (from < s->active.len && s->active.items[from] != pc->d) from++;
  if (from == s->active.len) return true;
  char path[1024];
  int n = 0;
  for (int i = from; i < s->active.len && n < (int)sizeof path - 128; i++)
    n += snprintf(path + n, sizeof path - (size_t)n, "%s() -> ", ((const FnDecl *)s->active.items[i])->name);
  snprintf(path + n, sizeof path - (size_t)n, "%s()", pc->d->name);
  sema_error(s, pc->e->loc, "recursive calls %s; a polymorphic function is specialised at each call, so recursion is not supported", path);
  return false;
}

/* The call itself: the array arguments, against the specialisation. */
static Val call_spec(Sema *s, PolyCall *pc, IrFunc *f) {
  Val *args = tex_calloc((size_t)pc->d->nparams + 1, sizeof(Val));
  int n = 0;
  for (int i = 0; i < pc->d->nparams; i++)
    if (is_array_param(&pc->d->params[i])) args[n++] = pc->vals[i];
  char label[160];
  snprintf(label, sizeof label, "%s()", pc->label);
  Val v = sema_call(s, f, args, n, pc->e->loc, label, pc->label);
  tex_free(args);
  return v;
}

static Val poly_call(Sema *s, PolyCall *pc) {
  if (!match_args(s, pc) || !lower_args(s, pc)) return sema_poison();
  if (!check_recursion(s, pc)) return sema_poison();
  make_key(s, pc);
  PolySpec *sp = find_spec(pc);
  if (!sp) {
    sp = ARENA_NEW(&s->m->arena, PolySpec);
    sp->decl = pc->d;
    sp->nkey = pc->nkey;
    sp->key = ARENA_ARRAY(&s->m->arena, int64_t, pc->nkey + 1);
    memcpy(sp->key, pc->key, sizeof(int64_t) * (size_t)pc->nkey);
    sp->base = spec_base(s, pc);
    const char *name = spec_name(s, pc, sp->base);
    vec_push(&pc->u->specs, sp);
    sp->f = specialise(s, pc, name);
  }
  return sp->f ? call_spec(s, pc, sp->f) : sema_poison();
}

Val sema_poly_call(Sema *s, const Expr *e, const FnDecl *d, Unit *u, const char *label) {
  if (d->had_syntax_error) return sema_poison();
  PolyCall *pc = tex_calloc(1, sizeof(PolyCall));
  int np = d->nparams + 1;
  *pc = (PolyCall){.e = e, .d = d, .u = u, .label = label};
  pc->given = tex_calloc((size_t)np, sizeof(Expr *));
  pc->vals = tex_calloc((size_t)np, sizeof(Val));
  pc->consts = tex_calloc((size_t)np, sizeof(ConstVal));
  pc->canon = tex_calloc((size_t)np * IR_MAX_RANK, sizeof(Dim));
  Val v = d->nparams > TEX_MAX_PARAMS ? sema_poison() : poly_call(s, pc);
  tex_free(pc->given);
  tex_free(pc->vals);
  tex_free(pc->consts);
  tex_free(pc->canon);
  tex_free(pc);
  return v;
}
