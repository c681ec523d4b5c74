/* modules.c — `import NAME` and qualified calls `NAME.f(...)`.
 *
 * A module is a .tex file whose functions the importing file calls by
 * qualified name.  `import nn` looks for nn.tex beside the importing file
 * first, then in the standard library folder: --stdlib DIR, else
 * $TEXC_STDLIB, else the installed one beside the compiler
 * (PREFIX/bin/texc -> PREFIX/share/texc/stdlib), else the source tree's
 * stdlib/ (build/texc -> stdlib/, found by walking up from the executable).
 *
 * Each module is read, parsed and lowered once per compilation (Modules
 * keeps every Unit, keyed by its real path), when it is first imported:
 * its typed functions become private IR functions named <module>__<name>;
 * its polymorphic ones are specialised at each call (poly.c).  A module's
 * functions are never exported from the importing .so; a `private fn` of a
 * module is not visible to importers.  Modules may import modules; an
 * import cycle is an error naming the cycle. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend.h"

/* ---- finding a module -------------------------------------------------------- */

static bool is_dir(const char *path) { return access(path, X_OK) == 0; }

/* The standard library folder, or NULL. */
static const char *stdlib_dir(Modules *mods, char *buf, size_t len) {
  if (mods->stdlib) return mods->stdlib;
  const char *env = getenv("TEXC_STDLIB");
  if (env && *env) return env;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return NULL;
  exe[n] = 0;
  char *slash = strrchr(exe, '/');
  if (slash) *slash = 0;
  static const char *const candidates[] = {"%s/../share/texc/stdlib", "%s/../stdlib", "%s/../../stdlib", "%s/../../../stdlib"};
  for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
    snprintf(buf, len, candidates[i], exe);
    char real[PATH_MAX];
    if (is_dir(buf) && realpath(buf, real)) return snprintf(buf, len, "%s", real), buf;
  }
  return NULL;
}

/* path as messages show it: relative to the working folder when inside it. */
static const char *shown_path(Sema *s, const char *path) {
  char cwd[PATH_MAX];
  size_t n = getcwd(cwd, sizeof cwd) ? strlen(cwd) : 0;
  if (n && strncmp(path, cwd, n) == 0 && path[n] == '/') path += n + 1;
  return arena_strdup(&s->m->arena, path);
}

/* The folder of file ("." for a bare name). */
static const char *dir_of(Sema *s, const char *file) {
  const char *slash = strrchr(file, '/');
  return slash ? arena_strndup(&s->m->arena, file, (size_t)(slash - file)) : ".";
}

/* ---- reading and lowering one module --------------------------------------------- */

/* The file's text in the module's arena (diagnostics show it until the
 * end), or NULL with an error. */
static const char *read_text(Sema *s, const char *path, SrcLoc at) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    sema_error(s, at, "cannot read %s: %s", path, strerror(errno));
    return NULL;
  }
  size_t len = 0, cap = 4096;
  char *buf = tex_malloc(cap);
  for (size_t got; (got = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
    len += got;
    if (cap - len - 1 == 0) buf = tex_realloc(buf, cap *= 2);
  }
  bool bad = ferror(f);
  fclose(f);
  buf[len] = 0;
  const char *text = NULL;
  if (bad)
    sema_error(s, at, "cannot read %s", path);
  else if (strlen(buf) != len)
    sema_error(s, at, "%s contains a NUL byte; a .tex file is text", path);
  else
    text = arena_strdup(&s->m->arena, buf);
  tex_free(buf);
  return text;
}

/* A prefix for u's IR functions that no other unit has. */
static const char *unique_irname(Sema *s, const char *name) {
  const char *irname = name;
  for (int k = 2;; k++) {
    bool taken = false;
    for (int i = 0; i < s->mods->units.len && !taken; i++) {
      const Unit *o = s->mods->units.items[i];
      taken = o->irname && strcmp(o->irname, irname) == 0;
    }
    if (!taken) return irname;
    irname = arena_printf(&s->m->arena, "%s%d", name, k);
  }
}

static void lower_module(Sema *s, Unit *u) {
  u->loading = true;
  vec_push(&s->mods->stack, u);
  Sema saved;
  sema_enter_unit(s, u, &saved);
  sema_lower_unit(s);
  sema_leave_unit(s, &saved);
  s->mods->stack.len--;
  u->loading = false;
}

/* "a.tex imports b, b.tex imports a": the cycle that importing u closes. */
static void report_cycle(Sema *s, const Import *im, const Unit *u) {
  char path[1024];
  int n = 0, from = 0;
  while (from < s->mods->stack.len && s->mods->stack.items[from] != u) from++;
  for (int i = from; i < s->mods->stack.len && n < (int)sizeof path - 300; i++) {
    const Unit *a = s->mods->stack.items[i];
    const Unit *b = i + 1 < s->mods->stack.len ? s->mods->stack.items[i + 1] : NULL;
    n += snprintf(path + n, sizeof path - (size_t)n, "%s%s imports %s", i > from ? ", " : "", a->path, b ? b->name : im->name);
  }
  sema_error(s, im->loc, "recursive import: %s; modules cannot import each other in a cycle", path);
}

/* The unit of file path (real: its real path), loaded on first use. */
static Unit *module_at(Sema *s, const Import *im, const char *path, const char *real) {
  for (int i = 0; i < s->mods->units.len; i++) {
    Unit *u = s->mods->units.items[i];
    if (!u->real || strcmp(u->real, real) != 0) continue;
    if (!u->loading) return u;
    report_cycle(s, im, u);
    return NULL;
  }
  if (s->mods->units.len > FE_MAX_MODULES) {
    sema_error(s, im->loc, "a program imports at most %d modules; this is one more", FE_MAX_MODULES);
    return NULL;
  }
  const char *text = read_text(s, path, im->loc);
  if (!text) return NULL;
  Unit *u = tex_calloc(1, sizeof(Unit));
  u->name = im->name;
  u->irname = unique_irname(s, im->name);
  u->path = shown_path(s, path);
  u->real = arena_strdup(&s->m->arena, real);
  u->dir = dir_of(s, path);
  vec_push(&s->mods->units, u);
  vec_push(&s->m->imports, (void *)u->real);
  diag_add_source(s->diag, u->path, text);
  fe_parse(&u->prog, u->path, text, &u->ast, s->diag);
  lower_module(s, u);
  return u;
}

/* Finds and loads the module im names, or reports where it looked. */
static Unit *load_import(Sema *s, const Import *im) {
  char std[PATH_MAX], path[PATH_MAX + 300], real[PATH_MAX];
  const char *dirs[2] = {s->unit->dir, stdlib_dir(s->mods, std, sizeof std)};
  for (int i = 0; i < 2; i++) {
    if (!dirs[i]) continue;
    snprintf(path, sizeof path, "%s%s%s.tex", strcmp(dirs[i], ".") ? dirs[i] : "", strcmp(dirs[i], ".") ? "/" : "", im->name);
    if (access(path, R_OK) == 0 && realpath(path, real)) return module_at(s, im, path, real);
  }
  if (dirs[1])
    sema_error(s, im->loc, "unknown module '%s': there is no %s.tex beside %s (in %s/) or in the standard library (%s/)", im->name,
               im->name, s->unit->path, s->unit->dir, shown_path(s, dirs[1]));
  else
    sema_error(s, im->loc,
               "unknown module '%s': there is no %s.tex beside %s (in %s/), and no standard library was found (use --stdlib DIR)", im->name,
               im->name, s->unit->path, s->unit->dir);
  return NULL;
}

void sema_load_imports(Sema *s) {
  Unit *u = s->unit;
  if (!u->dir) u->dir = dir_of(s, u->path);
  int n = s->prog->imports.len;
  u->imports = tex_calloc((size_t)n + 1, sizeof(Unit *));
  for (int i = 0; i < n; i++) {
    const Import *im = s->prog->imports.items[i];
    int j = 0;
    while (j < i && strcmp(((const Import *)s->prog->imports.items[j])->name, im->name) != 0) j++;
    if (j < i) {
      sema_error(s, im->loc, "module '%s' is imported twice", im->name);
      continue;
    }
    u->imports[i] = load_import(s, im);
  }
}

/* ---- qualified calls ------------------------------------------------------------- */

/* The import of the current unit named name: 1 + its index, or 0. */
static int import_index(Sema *s, const char *name) {
  for (int i = 0; i < s->prog->imports.len; i++)
    if (strcmp(((const Import *)s->prog->imports.items[i])->name, name) == 0) return i + 1;
  return 0;
}

/* d (and f) of the function name in unit u: sema_find_fn with u's tables. */
static const FnDecl *find_in(Sema *s, Unit *u, const char *name, IrFunc **f) {
  const Program *prog = s->prog;
  IrFunc **funcs = s->funcs;
  int *slot = s->fn_slot;
  uint32_t nslots = s->fn_nslots;
  s->prog = &u->prog, s->funcs = u->funcs, s->fn_slot = u->fn_slot, s->fn_nslots = u->fn_nslots;
  const FnDecl *d = u->fn_slot ? sema_find_fn(s, name, f) : NULL;
  s->prog = prog, s->funcs = funcs, s->fn_slot = slot, s->fn_nslots = nslots;
  return d;
}

static void unknown_in_module(Sema *s, const Expr *e, Unit *u) {
  const char *best = NULL;
  int bestd = (int)strlen(e->name) / 3 + 1;
  for (int i = 0; i < u->prog.fns.len; i++) {
    const FnDecl *d = u->prog.fns.items[i];
    int dist = sema_edit_distance(e->name, d->name);
    if (!d->is_rule && !d->private_ && dist > 0 && (dist < bestd || (!best && dist == bestd))) best = d->name, bestd = dist;
  }
  if (best)
    sema_error(s, e->loc, "module %s has no function '%s'; did you mean '%s.%s'?", e->qual, e->name, e->qual, best);
  else
    sema_error(s, e->loc, "module %s (%s) has no function '%s'", e->qual, u->path, e->name);
}

Val sema_lower_qualified_call(Sema *s, const Expr *e) {
  int k = import_index(s, e->qual);
  if (!k) {
    if (sema_lookup(s, e->qual))
      sema_error(s, e->loc, "'%s' is a value; NAME.f(...) calls function f of an imported module", e->qual);
    else
      sema_error(s, e->loc, "unknown module '%s'; write 'import %s' at the top of the file", e->qual, e->qual);
    return sema_poison();
  }
  Unit *u = s->unit->imports[k - 1];
  if (!u) return sema_poison(); /* its import failed, and said so */
  IrFunc *f = NULL;
  const FnDecl *d = find_in(s, u, e->name, &f);
  if (!d) {
    unknown_in_module(s, e, u);
    return sema_poison();
  }
  if (d->private_) {
    sema_error(s, e->loc, "%s.%s() is private to module %s", e->qual, e->name, e->qual);
    diag_note(s->diag, d->loc, "%s() is defined here", d->name);
    return sema_poison();
  }
  const char *label = arena_printf(&s->m->arena, "%s.%s", e->qual, e->name);
  return f ? sema_user_call(s, e, f, d, label) : sema_poly_call(s, e, d, u, label);
}

void sema_free_modules(Modules *mods) {
  for (int i = 0; i < mods->units.len; i++) {
    Unit *u = mods->units.items[i];
    vec_free(&u->prog.fns);
    vec_free(&u->prog.imports);
    arena_free(&u->ast);
    tex_free(u->funcs);
    tex_free(u->fn_slot);
    tex_free(u->imports);
    vec_free(&u->specs);
    tex_free(u);
  }
  vec_free(&mods->units);
  vec_free(&mods->stack);
}
