/* driver.c — texc end-to-end suite: .tex programs compiled with the real
 * compiler, loaded with dlopen, called through the DLPack ABI, compared with
 * plain C references (refs.c).
 *
 *   TEXC=build/texc build/tests/e2e tests/e2e
 *
 * Environment: TEXC (the compiler, default build/texc), TEXRT_INCLUDE (the
 * folder of texrt.h for the header check, default "runtime"), E2E_SEED (the
 * random seed, default 20240601), E2E_ONLY (run only programs whose file name
 * contains this), E2E_KEEP=1 (keep the temporary folder), E2E_VERBOSE=1.
 *
 * ---- The directives ---------------------------------------------------------
 * Every tests/e2e/NAME.tex is a program.  Its comment lines that start with
 * `# e2e:` tell this driver what to do; fields are separated by blanks:
 *
 *   # e2e: fn NAME ref=REF [tol=RTOL,ATOL] [scale=EXPR] [rscale=EXPR]
 *                          [ulp=U] [specials] [signzero] [nozero] [trials=R]
 *       Calls the exported function NAME and compares it with reference REF
 *       of refs.c.  An element of a float output passes when
 *         |got - want| <= RTOL*rscale*|want| + ATOL*scale
 *       or (with ulp=U) |got - want| <= U ulps of want in the output dtype,
 *       where want is the double reference rounded to the output dtype.
 *       EXPR is a sum of products of size symbols and integers ("K", "D*H",
 *       "N+M"), evaluated per call, at least 1.  The default tol is 0,0:
 *       exact.  NaN matches any NaN; infinities match only themselves;
 *       `signzero` also requires zeros to have the sign of want.  Integer and
 *       bool outputs are always exact.  `specials` puts 0, -0, +-inf, NaN,
 *       denormals, huge and overflow-threshold values at the start of every
 *       float input.  `nozero` drops the size 0 from the lists below for this
 *       function.  trials=R sets the number of random-size trials (default 3).
 *   # e2e: sizes SYM=V,V,... ...
 *       The sizes a symbol takes (default 1,4,33,100,257).
 *   # e2e: range PARAM=LO,HI[,Q] ...
 *       Input values uniform in [LO, HI] (multiples of Q if given; PARAM may
 *       be FN.PARAM, or * for every parameter).  Defaults: floats [-2, 2],
 *       integers [-20, 20], bools 0/1.
 *   # e2e: private NAME ...
 *       NAME must not be exported: absent from dlsym and from the metadata.
 *   # e2e: xfail REASON
 *       A known compiler bug: failures are reported but do not fail the run;
 *       a program that passes anyway fails (remove the xfail).
 *
 * Every exported function (from the metadata) must have an `fn` directive
 * and every directive must name an exported function.
 *
 * ---- What runs ------------------------------------------------------------------
 * Per program, in a mkdtemp folder:
 *   - three builds: default (-O2, host CPU, prefix NAME), -O0 (prefix
 *     NAME_O0), --cpu=x86-64-v2 (prefix NAME_v2);
 *   - `nm -D --undefined-only` of each: no scalar libm exp/log/tanh family;
 *   - the header: `cc -fsyntax-only` alone, and included with texrt.h from a
 *     C file (and a C++ file) that takes the address of every function with
 *     the exact prototype the metadata implies;
 *   - the metadata of each build (ABI version, prefix, symbols, roles, dims);
 *   - per function, trials: trial t < L (L = the longest sizes list among the
 *     function's symbols) gives each symbol list[t % len], so every listed
 *     size is used; R more trials draw each symbol from 1..9.  Output shapes
 *     come from the metadata's dim bytecode, evaluated here.  The trials also
 *     vary the layout: NULL or explicit strides (with odd strides on extent-1
 *     axes), data pointer or byte_offset, aligned or misaligned data.
 *     Every call checks: status 0, the output within tolerance of the
 *     reference, guard bytes around the output untouched, inputs unchanged,
 *     and the -O0 and x86-64-v2 builds' outputs, and the default build's at 2, 3
 *     and 7 threads (thread_runs), bitwise identical to the default build's at
 *     1 thread (memcmp; TEX_PARALLEL_MIN_WORK=0 splits even small steps).
 * Then one test calls a generated .so with every kind of bad argument, and
 * one loads two modules at once (errors.c; e2e.h is what the two share).
 * Inputs are reproducible: each trial's generator is seeded from E2E_SEED,
 * the program, the function and the trial number, all printed on failure. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <float.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "texrt.h"
#include "refs.h"
#include "e2e.h"

enum {
  MAX_PROGRAMS = 128,
  MAX_PARAMS = 12,
  GUARD = 64,
  MAX_PRINT = 4, /* mismatches printed per call */
};

static const int64_t default_sizes[] = {1, 4, 33, 100, 257};

/* ---- program descriptions (the types: e2e.h) ------------------------------------ */

static Program *programs[MAX_PROGRAMS];
static int nprograms;
char e2e_tmpdir[PATH_MAX];
const char *e2e_texc_path;
const char *e2e_dir;
static uint64_t base_seed = 20240601;
bool e2e_verbose;

/* ---- small utilities ----------------------------------------------------------- */

/* snprintf through a va_list: the same, minus GCC's truncation guesses about
 * paths that are PATH_MAX long in theory and short in practice. */
int e2e_fmt(char *buf, size_t cap, const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  int n = vsnprintf(buf, cap, f, ap);
  va_end(ap);
  return n;
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) {
    fprintf(stderr, "e2e: out of memory\n");
    abort();
  }
  return p;
}

static uint64_t fnv1a(uint64_t h, const char *s) {
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return h;
}

typedef struct Rng {
  uint64_t s;
} Rng;

static uint64_t rng_next(Rng *r) { /* splitmix64 */
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double rng_unit(Rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

static int64_t rng_int(Rng *r, int64_t lo, int64_t hi) {
  return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static size_t esize(int dtype) {
  switch (dtype) {
  case TEX_F32: case TEX_I32: return 4;
  case TEX_F64: case TEX_I64: return 8;
  case TEX_BOOL: return 1;
  default: return 0;
  }
}

static const char *dtype_name(int dtype) {
  static const char *const names[] = {"f32", "f64", "i32", "i64", "bool"};
  return dtype >= 0 && dtype < TEX_DTYPE_COUNT ? names[dtype] : "?";
}

DLDataType e2e_dl_dtype(int dtype) {
  switch (dtype) {
  case TEX_F32: return (DLDataType){kDLFloat, 32, 1};
  case TEX_F64: return (DLDataType){kDLFloat, 64, 1};
  case TEX_I32: return (DLDataType){kDLInt, 32, 1};
  case TEX_I64: return (DLDataType){kDLInt, 64, 1};
  default: return (DLDataType){kDLUInt, 8, 1};
  }
}

/* Element i of a typed buffer as double; memcpy, because data may be misaligned. */
static double load_elem(const unsigned char *data, int dtype, int64_t i) {
  size_t es = esize(dtype);
  const unsigned char *p = data + (size_t)i * es;
  switch (dtype) {
  case TEX_F32: { float v; memcpy(&v, p, 4); return v; }
  case TEX_F64: { double v; memcpy(&v, p, 8); return v; }
  case TEX_I32: { int32_t v; memcpy(&v, p, 4); return v; }
  case TEX_I64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
  default: return *p;
  }
}

static void store_elem(unsigned char *data, int dtype, int64_t i, double x) {
  size_t es = esize(dtype);
  unsigned char *p = data + (size_t)i * es;
  switch (dtype) {
  case TEX_F32: { float v = (float)x; memcpy(p, &v, 4); break; }
  case TEX_F64: memcpy(p, &x, 8); break;
  case TEX_I32: { int32_t v = (int32_t)x; memcpy(p, &v, 4); break; }
  case TEX_I64: { int64_t v = (int64_t)x; memcpy(p, &v, 8); break; }
  default: *p = x != 0; break;
  }
}

static bool str_ends(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Runs a shell command; its output goes to log (appended). 0 on exit status 0. */
static int run_cmd(const char *cmd, const char *log) {
  char full[PATH_MAX * 3];
  e2e_fmt(full, sizeof full, "%s >>'%s' 2>&1", cmd, log);
  int st = system(full);
  return st == 0 ? 0 : -1;
}

static void print_file(const char *path, const char *indent) {
  FILE *f = fopen(path, "r");
  char line[1024];
  if (!f) return;
  int n = 0;
  while (fgets(line, sizeof line, f) && n++ < 40) print_error("%s%s", indent, line);
  fclose(f);
}

/* ---- failure collection (Ctx: e2e.h) ----------------------------------------- */

void e2e_failf(Ctx *c, const char *f, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, f);
  vsnprintf(msg, sizeof msg, f, ap);
  va_end(ap);
  c->failures++;
  if (c->failures > 60) {
    c->suppressed++;
    return;
  }
  print_error("[%s] FAIL: %s\n", c->p ? c->p->file : "e2e", msg);
}

/* ---- parsing the directives ------------------------------------------------- */

static bool parse_list(const char *s, int64_t *vals, int *n, int max) {
  *n = 0;
  while (*s) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0 || *n == max) return false;
    vals[(*n)++] = v;
    s = end;
    if (*s == ',') s++;
    else if (*s) return false;
  }
  return *n > 0;
}

static bool parse_fn_field(Program *p, FnSpec *f, const char *tok) {
  const char *eq = strchr(tok, '=');
  char key[32];
  size_t kl = eq ? (size_t)(eq - tok) : strlen(tok);
  if (kl >= sizeof key) return false;
  memcpy(key, tok, kl);
  key[kl] = 0;
  const char *v = eq ? eq + 1 : NULL;
  if (!v) {
    if (strcmp(key, "specials") == 0) return f->specials = true;
    if (strcmp(key, "signzero") == 0) return f->signzero = true;
    if (strcmp(key, "nozero") == 0) return f->nozero = true;
    if (!f->name[0] && strlen(tok) < sizeof f->name) return e2e_fmt(f->name, sizeof f->name, "%s", tok), true;
    return false;
  }
  if (strcmp(key, "ref") == 0) return e2e_fmt(f->ref, sizeof f->ref, "%s", v) < (int)sizeof f->ref;
  if (strcmp(key, "tol") == 0) return sscanf(v, "%lf,%lf", &f->rtol, &f->atol) == 2;
  if (strcmp(key, "ulp") == 0) return sscanf(v, "%lf", &f->ulp) == 1;
  if (strcmp(key, "scale") == 0) return e2e_fmt(f->scale, sizeof f->scale, "%s", v) < (int)sizeof f->scale;
  if (strcmp(key, "rscale") == 0) return e2e_fmt(f->rscale, sizeof f->rscale, "%s", v) < (int)sizeof f->rscale;
  if (strcmp(key, "trials") == 0) return sscanf(v, "%d", &f->trials) == 1 && f->trials >= 0;
  (void)p;
  return false;
}

static bool parse_directive(Program *p, char *line, int lineno) {
  char *save = NULL, *kind = strtok_r(line, " \t\r\n", &save), *tok;
  if (!kind) return true;
  if (strcmp(kind, "xfail") == 0) {
    char *rest = save ? save : "";
    while (*rest == ' ' || *rest == '\t') rest++;
    e2e_fmt(p->xfail, sizeof p->xfail, "%s", *rest ? rest : "(no reason given)");
    p->xfail[strcspn(p->xfail, "\r\n")] = 0;
    return true;
  }
  if (strcmp(kind, "fn") == 0) {
    if (p->nfns == MAX_FNS) return false;
    FnSpec *f = &p->fns[p->nfns];
    memset(f, 0, sizeof *f);
    f->trials = 3;
    f->line = lineno;
    while ((tok = strtok_r(NULL, " \t\r\n", &save)))
      if (!parse_fn_field(p, f, tok)) return false;
    if (!f->name[0] || !f->ref[0]) return false;
    p->nfns++;
    return true;
  }
  if (strcmp(kind, "sizes") == 0) {
    while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
      char *eq = strchr(tok, '=');
      if (!eq || p->nsizes == MAX_SIZES || (size_t)(eq - tok) >= sizeof p->sizes[0].name) return false;
      SizeSpec *s = &p->sizes[p->nsizes++];
      memcpy(s->name, tok, (size_t)(eq - tok));
      s->name[eq - tok] = 0;
      if (!parse_list(eq + 1, s->vals, &s->n, MAX_SIZE_VALS)) return false;
    }
    return true;
  }
  if (strcmp(kind, "range") == 0) {
    while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
      char *eq = strchr(tok, '=');
      if (!eq || p->nranges == MAX_RANGES || (size_t)(eq - tok) >= sizeof p->ranges[0].name) return false;
      RangeSpec *r = &p->ranges[p->nranges++];
      memcpy(r->name, tok, (size_t)(eq - tok));
      r->name[eq - tok] = 0;
      r->q = 0;
      int n = sscanf(eq + 1, "%lf,%lf,%lf", &r->lo, &r->hi, &r->q);
      if (n < 2 || r->hi < r->lo || r->q < 0) return false;
    }
    return true;
  }
  if (strcmp(kind, "private") == 0) {
    while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
      if (p->nprivates == MAX_PRIVATE || strlen(tok) >= sizeof p->privates[0]) return false;
      e2e_fmt(p->privates[p->nprivates++], sizeof p->privates[0], "%s", tok);
    }
    return true;
  }
  return false;
}

static Program *load_program(const char *dir, const char *file) {
  Program *p = xcalloc(1, sizeof *p);
  e2e_fmt(p->path, sizeof p->path, "%s/%s", dir, file);
  e2e_fmt(p->file, sizeof p->file, "%s", file);
  e2e_fmt(p->base, sizeof p->base, "%.*s", (int)(strlen(file) - 4), file);
  p->parse_ok = true;
  FILE *f = fopen(p->path, "r");
  if (!f) {
    p->parse_ok = false;
    e2e_fmt(p->parse_error, sizeof p->parse_error, "cannot open %s: %s", p->path, strerror(errno));
    return p;
  }
  char line[2048];
  int lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char *s = line;
    while (*s == ' ' || *s == '\t') s++;
    if (*s != '#') continue;
    s++;
    while (*s == ' ' || *s == '\t') s++;
    if (strncmp(s, "e2e:", 4) != 0) continue;
    char copy[2048];
    e2e_fmt(copy, sizeof copy, "%s", s + 4);
    if (!parse_directive(p, copy, lineno) && p->parse_ok) {
      p->parse_ok = false;
      e2e_fmt(p->parse_error, sizeof p->parse_error, "%s:%d: bad e2e directive: %s", p->file, lineno, s);
      p->parse_error[strcspn(p->parse_error, "\n")] = 0;
    }
  }
  fclose(f);
  return p;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp((*(Program *const *)a)->file, (*(Program *const *)b)->file);
}

static void scan_programs(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  const char *only = getenv("E2E_ONLY");
  if (!d) return;
  while ((e = readdir(d)) && nprograms < MAX_PROGRAMS) {
    if (!str_ends(e->d_name, ".tex") || strlen(e->d_name) >= 100) continue;
    if (only && *only && !strstr(e->d_name, only)) continue;
    programs[nprograms++] = load_program(dir, e->d_name);
  }
  closedir(d);
  qsort(programs, (size_t)nprograms, sizeof programs[0], cmp_names);
}

/* ---- dims ------------------------------------------------------------------------- */

/* Our own evaluator of the metadata's dim bytecode: 0 on success. */
static int dim_eval(const TexDimExpr *e, const int64_t *syms, int nsyms, int64_t *out) {
  int64_t st[32];
  int sp = 0;
  if (!e || (!e->code && e->len)) return -1;
  for (int32_t pc = 0; pc < e->len; pc++) {
    int64_t op = e->code[pc];
    if (op == TEX_DIM_LIT || op == TEX_DIM_SYM) {
      if (pc + 1 >= e->len || sp == 32) return -1;
      int64_t imm = e->code[++pc];
      if (op == TEX_DIM_SYM && (imm < 0 || imm >= nsyms)) return -1;
      st[sp++] = op == TEX_DIM_LIT ? imm : syms[imm];
      continue;
    }
    if (sp < 2) return -1;
    int64_t b = st[--sp], a = st[--sp], r;
    switch (op) {
    case TEX_DIM_ADD: if (__builtin_add_overflow(a, b, &r)) return -1; break;
    case TEX_DIM_SUB: if (__builtin_sub_overflow(a, b, &r)) return -1; break;
    case TEX_DIM_MUL: if (__builtin_mul_overflow(a, b, &r)) return -1; break;
    case TEX_DIM_FLOORDIV:
      if (b == 0) return -1;
      r = a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
      break;
    case TEX_DIM_MOD:
      if (b == 0) return -1;
      r = a % b;
      if (r != 0 && ((r < 0) != (b < 0))) r += b;
      break;
    case TEX_DIM_MIN: r = a < b ? a : b; break;
    case TEX_DIM_MAX: r = a > b ? a : b; break;
    case TEX_DIM_EQ: r = a == b; break;
    case TEX_DIM_LE: r = a <= b; break;
    default: return -1;
    }
    st[sp++] = r;
  }
  if (sp != 1) return -1;
  *out = st[0];
  return 0;
}

/* "N*K + 2": sum of products of symbols/integers, at least 1. */
static double eval_scale(const char *expr, const TexFuncInfo *f, const int64_t *syms, bool *ok) {
  double total = 0;
  const char *s = expr;
  *ok = true;
  if (!*s) return 1;
  while (*s) {
    double prod = 1;
    for (;;) {
      char name[32];
      size_t n = strcspn(s, "*+");
      if (n == 0 || n >= sizeof name) {
        *ok = false;
        return 1;
      }
      memcpy(name, s, n);
      name[n] = 0;
      s += n;
      char *end;
      double v = strtod(name, &end);
      if (*end) {
        int k;
        for (k = 0; k < f->nsyms && strcmp(f->sym_names[k], name) != 0; k++) {}
        if (k == f->nsyms) {
          *ok = false;
          return 1;
        }
        v = (double)syms[k];
      }
      prod *= v;
      if (*s != '*') break;
      s++;
    }
    total += prod;
    if (*s == '+') s++;
  }
  return total < 1 ? 1 : total;
}

/* ---- compiling and loading (Lib: e2e.h) ------------------------------------------- */

/* Compiles p with extra flags into lib<prefix>.so in e2e_tmpdir. */
bool e2e_compile(Ctx *c, const Program *p, const char *prefix, const char *flags, Lib *lib) {
  char cmd[PATH_MAX * 3], log[PATH_MAX];
  e2e_fmt(lib->prefix, sizeof lib->prefix, "%s", prefix);
  e2e_fmt(lib->so, sizeof lib->so, "%s/lib%s.so", e2e_tmpdir, prefix);
  e2e_fmt(lib->header, sizeof lib->header, "%s/%s.h", e2e_tmpdir, prefix);
  e2e_fmt(log, sizeof log, "%s/%s.log", e2e_tmpdir, prefix);
  e2e_fmt(cmd, sizeof cmd, "'%s' '%s' -o '%s' %s", e2e_texc_path, p->path, lib->so, flags);
  if (run_cmd(cmd, log) != 0) {
    e2e_failf(c, "compile failed: %s", cmd);
    print_file(log, "    ");
    return false;
  }
  return true;
}

void e2e_unload(Lib *lib) {
  if (lib->h) dlclose(lib->h);
  lib->h = NULL;
  lib->mi = NULL;
}

bool e2e_load(Ctx *c, Lib *lib) {
  char sym[256];
  lib->h = dlopen(lib->so, RTLD_NOW | RTLD_LOCAL);
  if (!lib->h) {
    e2e_failf(c, "dlopen %s: %s", lib->so, dlerror());
    return false;
  }
  e2e_fmt(sym, sizeof sym, "%s_module_info", lib->prefix);
  const TexModuleInfo *(*info)(void) = (const TexModuleInfo *(*)(void))dlsym(lib->h, sym);
  e2e_fmt(sym, sizeof sym, "%s_last_error", lib->prefix);
  lib->last_error = (const char *(*)(void))dlsym(lib->h, sym);
  e2e_fmt(sym, sizeof sym, "%s_set_num_threads", lib->prefix);
  lib->set_threads = (int (*)(int))dlsym(lib->h, sym);
  if (!info || !lib->last_error || !lib->set_threads) {
    e2e_failf(c, "%s: %s_module_info, %s_last_error or %s_set_num_threads is not exported", lib->so, lib->prefix,
              lib->prefix, lib->prefix);
    e2e_unload(lib);
    return false;
  }
  lib->mi = info();
  if (!lib->mi) {
    e2e_failf(c, "%s: module_info() returned NULL", lib->so);
    e2e_unload(lib);
    return false;
  }
  return true;
}

/* ---- item 4: no scalar libm imports ------------------------------------------------ */

static void check_imports(Ctx *c, const Lib *lib) {
  static const char *const banned[] = {"expf", "logf", "tanhf", "exp", "log", "tanh",
                                       "expm1f", "log1pf", "expm1", "log1p",
                                       "erff", "erfcf", "erf", "erfc", "sinf", "cosf", "sin", "cos", "pow", "powf",
                                       "lgamma", "lgammaf", "lgamma_r", "lgammaf_r", "tgamma", "tgammaf", NULL};
  char cmd[PATH_MAX + 64], line[512];
  e2e_fmt(cmd, sizeof cmd, "nm -D --undefined-only '%s' 2>&1", lib->so);
  FILE *f = popen(cmd, "r");
  int nlines = 0;
  if (!f) {
    e2e_failf(c, "popen(%s) failed", cmd);
    return;
  }
  while (fgets(line, sizeof line, f)) {
    char type[8], name[256];
    nlines++;
    if (sscanf(line, " %7s %255s", type, name) != 2) continue;
    name[strcspn(name, "@")] = 0;
    for (int i = 0; banned[i]; i++)
      if (strcmp(name, banned[i]) == 0)
        e2e_failf(c, "%s (%s build) imports scalar libm '%s': exp/log/tanh must be vectorised inline", lib->so,
                  lib->what, name);
  }
  int st = pclose(f);
  if (st != 0 || nlines == 0) e2e_failf(c, "`%s` failed (status %d)", cmd, st);
}

/* ---- item 5: the generated header compiles -------------------------------------------- */

static void check_header(Ctx *c, const Lib *lib) {
  char cmd[PATH_MAX * 4], log[PATH_MAX], src[PATH_MAX], cxx[PATH_MAX];
  const char *inc = getenv("TEXRT_INCLUDE");
  char guess[PATH_MAX];
  if (!inc || !*inc) {
    inc = "runtime"; /* the repository root is the usual working directory */
    e2e_fmt(guess, sizeof guess, "%s/../../runtime", e2e_dir);
    if (access("runtime/texrt.h", R_OK) != 0 && access(guess, R_OK) == 0) inc = guess;
  }
  e2e_fmt(log, sizeof log, "%s/%s.hdr.log", e2e_tmpdir, lib->prefix);
  if (access(lib->header, R_OK) != 0) {
    e2e_failf(c, "no header %s beside the .so", lib->header);
    return;
  }
  e2e_fmt(cmd, sizeof cmd, "cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -x c '%s'", lib->header);
  if (run_cmd(cmd, log) != 0) {
    e2e_failf(c, "the header does not compile on its own: %s", cmd);
    print_file(log, "    ");
  }
  /* A C file with texrt.h and the header (twice: include guard) that takes the
   * address of every function with the prototype the metadata implies. */
  e2e_fmt(src, sizeof src, "%s/%s_hdr.c", e2e_tmpdir, lib->prefix);
  e2e_fmt(cxx, sizeof cxx, "%s/%s_hdr.cc", e2e_tmpdir, lib->prefix);
  FILE *f = fopen(src, "w");
  if (!f) {
    e2e_failf(c, "cannot write %s", src);
    return;
  }
  fprintf(f, "#include \"texrt.h\"\n#include \"%s.h\"\n#include \"%s.h\"\n", lib->prefix, lib->prefix);
  fprintf(f, "const struct TexModuleInfo *(*e2e_info)(void) = %s_module_info;\n", lib->prefix);
  fprintf(f, "const char *(*e2e_err)(void) = %s_last_error;\n", lib->prefix);
  fprintf(f, "int (*e2e_thr)(int) = %s_set_num_threads;\n", lib->prefix);
  fprintf(f, "int e2e_abi = TEX_ABI_VERSION;\n");
  for (int i = 0; i < lib->mi->nfuncs; i++) {
    const TexFuncInfo *fi = &lib->mi->funcs[i];
    fprintf(f, "int (*e2e_fn%d)(", i);
    for (int k = 0; k < fi->nparams; k++)
      fprintf(f, "%s%sDLTensor *", k ? ", " : "", fi->params[k].role == TEX_IN ? "const " : "");
    if (fi->nparams == 0) fprintf(f, "void");
    fprintf(f, ") = %s;\n", fi->symbol);
  }
  fclose(f);
  e2e_fmt(cmd, sizeof cmd,
           "cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -I'%s' -I'%s' '%s' && "
           "cp '%s' '%s' && { ! command -v c++ >/dev/null || "
           "c++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only -I'%s' -I'%s' '%s'; }",
           inc, e2e_tmpdir, src, src, cxx, inc, e2e_tmpdir, cxx);
  if (run_cmd(cmd, log) != 0) {
    e2e_failf(c, "the header with texrt.h does not compile (TEXRT_INCLUDE=%s): %s", inc, cmd);
    print_file(log, "    ");
  }
}

/* ---- metadata ------------------------------------------------------------------------------ */

static const TexFuncInfo *find_func(const TexModuleInfo *mi, const char *name) {
  for (int i = 0; i < mi->nfuncs; i++)
    if (mi->funcs[i].name && strcmp(mi->funcs[i].name, name) == 0) return &mi->funcs[i];
  return NULL;
}

static void check_metadata(Ctx *c, const Program *p, const Lib *lib, const char *want_cpu) {
  const TexModuleInfo *mi = lib->mi;
  char sym[256];
  if (mi->abi_version != TEX_ABI_VERSION)
    e2e_failf(c, "%s: abi_version %u, want %d", lib->what, mi->abi_version, TEX_ABI_VERSION);
  if (!mi->prefix || strcmp(mi->prefix, lib->prefix) != 0)
    e2e_failf(c, "%s: metadata prefix '%s', want '%s'", lib->what, mi->prefix ? mi->prefix : "(null)", lib->prefix);
  if (!mi->source || !str_ends(mi->source, p->file))
    e2e_failf(c, "%s: metadata source '%s' does not name %s", lib->what, mi->source ? mi->source : "(null)", p->file);
  if (!mi->target || strcmp(mi->target, "cpu") != 0)
    e2e_failf(c, "%s: metadata target '%s', want cpu", lib->what, mi->target ? mi->target : "(null)");
  if (!mi->texc_version || !mi->cpu || !mi->cpu_features)
    e2e_failf(c, "%s: metadata texc_version/cpu/cpu_features missing", lib->what);
  if (want_cpu && (!mi->cpu || strcmp(mi->cpu, want_cpu) != 0))
    e2e_failf(c, "%s: metadata cpu '%s', want '%s'", lib->what, mi->cpu ? mi->cpu : "(null)", want_cpu);
  if (mi->nfuncs < 0 || (mi->nfuncs && !mi->funcs)) {
    e2e_failf(c, "%s: bad function table", lib->what);
    return;
  }
  for (int i = 0; i < mi->nfuncs; i++) {
    const TexFuncInfo *f = &mi->funcs[i];
    if (!f->name || !f->symbol) {
      e2e_failf(c, "%s: function #%d has no name/symbol", lib->what, i);
      continue;
    }
    e2e_fmt(sym, sizeof sym, "%s_%s", lib->prefix, f->name);
    if (strcmp(f->symbol, sym) != 0) e2e_failf(c, "%s: symbol '%s', want '%s'", lib->what, f->symbol, sym);
    if (!dlsym(lib->h, f->symbol)) e2e_failf(c, "%s: '%s' is in the metadata but not exported", lib->what, f->symbol);
    if (f->nparams < 1 || f->nparams > MAX_PARAMS || f->ninputs != f->nparams - 1 || !f->params) {
      e2e_failf(c, "%s: %s has %d params, %d inputs (want exactly one output)", lib->what, f->name, f->nparams,
                f->ninputs);
      continue;
    }
    if (f->nsyms < 0 || (f->nsyms && !f->sym_names) || f->nasserts < 0) e2e_failf(c, "%s: %s: bad symbol table", lib->what, f->name);
    for (int k = 0; k < f->nparams; k++) {
      const TexParamInfo *pi = &f->params[k];
      int want_role = k < f->ninputs ? TEX_IN : TEX_OUT;
      if (!pi->name || pi->role != want_role || pi->dtype >= TEX_DTYPE_COUNT || pi->rank > REF_MAX_RANK ||
          (pi->rank && !pi->dims))
        e2e_failf(c, "%s: %s param #%d: bad metadata (name %s role %d dtype %d rank %d)", lib->what, f->name, k,
                  pi->name ? pi->name : "(null)", pi->role, pi->dtype, pi->rank);
      if (k == f->nparams - 1 && pi->name && strcmp(pi->name, "out") != 0)
        e2e_failf(c, "%s: %s: output is named '%s', want 'out'", lib->what, f->name, pi->name);
    }
  }
  /* Every exported function has a directive and the other way round. */
  for (int i = 0; i < mi->nfuncs; i++) {
    bool found = false;
    for (int j = 0; j < p->nfns && !found; j++) found = mi->funcs[i].name && strcmp(p->fns[j].name, mi->funcs[i].name) == 0;
    if (!found) e2e_failf(c, "%s: exported function '%s' has no `# e2e: fn` directive", lib->what, mi->funcs[i].name);
  }
  for (int j = 0; j < p->nfns; j++)
    if (!find_func(mi, p->fns[j].name))
      e2e_failf(c, "%s: directive at line %d names '%s', which is not exported", lib->what, p->fns[j].line, p->fns[j].name);
  for (int j = 0; j < p->nprivates; j++) {
    e2e_fmt(sym, sizeof sym, "%s_%s", lib->prefix, p->privates[j]);
    dlerror();
    if (dlsym(lib->h, sym)) e2e_failf(c, "%s: private function '%s' is exported as %s", lib->what, p->privates[j], sym);
    if (find_func(mi, p->privates[j])) e2e_failf(c, "%s: private function '%s' is in the metadata", lib->what, p->privates[j]);
  }
}

/* The builds must describe the same functions. */
static void compare_metadata(Ctx *c, const Lib *a, const Lib *b) {
  if (a->mi->nfuncs != b->mi->nfuncs) {
    e2e_failf(c, "%s and %s builds export %d and %d functions", a->what, b->what, a->mi->nfuncs, b->mi->nfuncs);
    return;
  }
  for (int i = 0; i < a->mi->nfuncs; i++) {
    const TexFuncInfo *fa = &a->mi->funcs[i], *fb = find_func(b->mi, fa->name ? fa->name : "");
    if (!fb || fa->nparams != fb->nparams || fa->nsyms != fb->nsyms) {
      e2e_failf(c, "%s: metadata differs between the %s and %s builds", fa->name, a->what, b->what);
      continue;
    }
    for (int k = 0; k < fa->nparams; k++) {
      const TexParamInfo *pa = &fa->params[k], *pb = &fb->params[k];
      bool same = pa->dtype == pb->dtype && pa->role == pb->role && pa->rank == pb->rank && pa->name && pb->name &&
                  strcmp(pa->name, pb->name) == 0;
      for (int d = 0; same && d < pa->rank; d++)
        same = pa->dims[d].len == pb->dims[d].len &&
               memcmp(pa->dims[d].code, pb->dims[d].code, sizeof(int64_t) * (size_t)pa->dims[d].len) == 0;
      if (!same) e2e_failf(c, "%s param #%d: metadata differs between the %s and %s builds", fa->name, k, a->what, b->what);
    }
  }
}

/* ---- calling ---------------------------------------------------------------------------- */

typedef int (*Fn1)(DLTensor *);
typedef int (*Fn2)(DLTensor *, DLTensor *);
typedef int (*Fn3)(DLTensor *, DLTensor *, DLTensor *);
typedef int (*Fn4)(DLTensor *, DLTensor *, DLTensor *, DLTensor *);
typedef int (*Fn5)(DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *);
typedef int (*Fn6)(DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *);
typedef int (*Fn7)(DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *);
typedef int (*Fn8)(DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *);
#define DL9 DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *, DLTensor *
typedef int (*Fn9)(DL9);
typedef int (*Fn10)(DL9, DLTensor *);
typedef int (*Fn11)(DL9, DLTensor *, DLTensor *);
typedef int (*Fn12)(DL9, DLTensor *, DLTensor *, DLTensor *);
#undef DL9

/* Calls a generated function with n tensor arguments (n <= MAX_PARAMS). */
int e2e_call_fn(void *fp, int n, DLTensor **a) {
  switch (n) {
  case 1: return ((Fn1)fp)(a[0]);
  case 2: return ((Fn2)fp)(a[0], a[1]);
  case 3: return ((Fn3)fp)(a[0], a[1], a[2]);
  case 4: return ((Fn4)fp)(a[0], a[1], a[2], a[3]);
  case 5: return ((Fn5)fp)(a[0], a[1], a[2], a[3], a[4]);
  case 6: return ((Fn6)fp)(a[0], a[1], a[2], a[3], a[4], a[5]);
  case 7: return ((Fn7)fp)(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
  case 8: return ((Fn8)fp)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
  case 9: return ((Fn9)fp)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]);
  case 10: return ((Fn10)fp)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
  case 11: return ((Fn11)fp)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
  case 12: return ((Fn12)fp)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]);
  default: return -1;
  }
}

/* One argument's memory: [front guard][payload][back guard]. */
typedef struct Buf {
  unsigned char *raw;
  size_t front, bytes, total;
} Buf;

static void buf_alloc(Buf *b, size_t bytes, size_t misalign) {
  b->front = GUARD + misalign;
  b->bytes = bytes;
  b->total = b->front + bytes + GUARD;
  b->raw = xcalloc(1, b->total);
  memset(b->raw, 0xCD, b->total);
}

static unsigned char *buf_data(const Buf *b) { return b->raw + b->front; }

static bool buf_guards_ok(const Buf *b) {
  for (size_t i = 0; i < b->front; i++)
    if (b->raw[i] != 0xCD) return false;
  for (size_t i = b->front + b->bytes; i < b->total; i++)
    if (b->raw[i] != 0xCD) return false;
  return true;
}

/* Layout variant of a trial: how the tensors are described. */
typedef struct Layout {
  bool strides;   /* explicit compact strides (odd ones on extent-1 axes) */
  bool offset;    /* data = buffer start, byte_offset = guard */
  size_t misalign_in, misalign_out;
  bool null_empty; /* NULL data for empty tensors, NULL shape for 0-d */
} Layout;

static Layout layout_of(int t) {
  switch (t % 4) {
  case 0: return (Layout){false, false, 0, 0, false};
  case 1: return (Layout){true, true, 0, 0, true};
  case 2: return (Layout){false, false, 1, 3, false};
  default: return (Layout){true, true, 2, 1, true};
  }
}

static void make_tensor(DLTensor *t, const Buf *b, int dtype, int rank, int64_t *shape, int64_t *strides,
                        const Layout *L, int64_t numel) {
  memset(t, 0, sizeof *t);
  t->device = (DLDevice){kDLCPU, 0};
  t->dtype = e2e_dl_dtype(dtype);
  t->ndim = rank;
  t->shape = rank == 0 && L->null_empty ? NULL : shape;
  if (L->strides && rank > 0) {
    int64_t step = 1;
    for (int d = rank - 1; d >= 0; d--) {
      strides[d] = shape[d] == 1 ? 12345 - d : step;
      step *= shape[d];
    }
    t->strides = strides;
  }
  if (numel == 0 && L->null_empty) {
    t->data = NULL;
  } else if (L->offset) {
    t->data = b->raw;
    t->byte_offset = b->front;
  } else {
    t->data = buf_data(b);
  }
}

/* ---- the values -------------------------------------------------------------------------------- */

static const double specials_f32[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1e-45, -1e-45, 1.5e-39, -1e-38,
                                      FLT_MAX, -FLT_MAX, 1.0, -1.0, 0.5, 88.0, 89.0, -87.0, -88.0, -104.0,
                                      -150.0, 20.0, -20.0, 9.0, -9.0, 1e-4, -1e-8, 3e38, 1e30};
static const double specials_f64[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 5e-324, -5e-324, 2e-308, -3e-310,
                                      DBL_MAX, -DBL_MAX, 1.0, -1.0, 0.5, 709.0, 710.0, -708.0, -745.0, -746.0,
                                      -800.0, 20.0, -20.0, 9.0, -9.0, 1e-10, -1e-17, 1e300, 1e30};

static const RangeSpec *find_range(const Program *p, const char *fn, const char *param) {
  char qual[160];
  e2e_fmt(qual, sizeof qual, "%s.%s", fn, param);
  for (int i = 0; i < p->nranges; i++)
    if (strcmp(p->ranges[i].name, qual) == 0) return &p->ranges[i];
  for (int i = 0; i < p->nranges; i++)
    if (strcmp(p->ranges[i].name, param) == 0) return &p->ranges[i];
  for (int i = 0; i < p->nranges; i++)
    if (strcmp(p->ranges[i].name, "*") == 0) return &p->ranges[i];
  return NULL;
}

static void fill_input(Rng *r, unsigned char *data, int dtype, int64_t n, const RangeSpec *rs, bool specials,
                       int argpos) {
  bool flt = dtype == TEX_F32 || dtype == TEX_F64;
  double lo = rs ? rs->lo : flt ? -2 : dtype == TEX_BOOL ? 0 : -20;
  double hi = rs ? rs->hi : flt ? 2 : dtype == TEX_BOOL ? 1 : 20;
  double q = rs ? rs->q : 0;
  for (int64_t i = 0; i < n; i++) {
    double v;
    if (flt) {
      if (q > 0) v = lo + q * floor(rng_unit(r) * (floor((hi - lo) / q) + 1));
      else v = lo + (hi - lo) * rng_unit(r);
      if (v > hi) v = hi;
    } else {
      v = (double)rng_int(r, (int64_t)lo, (int64_t)hi);
    }
    store_elem(data, dtype, i, v);
  }
  if (specials && flt) {
    const double *sp = dtype == TEX_F32 ? specials_f32 : specials_f64;
    int64_t ns = (int64_t)(sizeof specials_f32 / sizeof specials_f32[0]);
    for (int64_t i = 0; i < n && i < ns; i++) store_elem(data, dtype, i, sp[(i + 3 * argpos) % ns]);
  }
}

/* want rounded to the output dtype. */
static double round_to(int dtype, double want) {
  return dtype == TEX_F32 ? (double)(float)want : want;
}

static double ulp_of(int dtype, double x) {
  x = fabs(x);
  if (dtype == TEX_F32) {
    float f = (float)x;
    if (isinf(f)) return INFINITY;
    return (double)nextafterf(f, INFINITY) - (double)f;
  }
  if (isinf(x)) return INFINITY;
  return nextafter(x, INFINITY) - x;
}

/* ---- one function ----------------------------------------------------------------------------- */

typedef struct FnRun {
  Ctx *c;
  const Program *p;
  const FnSpec *spec;
  Lib *libs; /* [0] default, then the variants */
  int nlibs;
  RefFn ref;
  double worst_ratio, worst_err;
  int calls;
} FnRun;

static void shape_text(const int64_t *shape, int rank, char *out, size_t cap) {
  int n = e2e_fmt(out, cap, "[");
  for (int d = 0; d < rank && n > 0 && (size_t)n < cap; d++) n += e2e_fmt(out + n, cap - (size_t)n, "%s%lld", d ? "," : "", (long long)shape[d]);
  if (n > 0 && (size_t)n < cap) e2e_fmt(out + n, cap - (size_t)n, "]");
}

static void index_text(int64_t i, const int64_t *shape, int rank, char *out, size_t cap) {
  int64_t idx[REF_MAX_RANK];
  for (int d = rank - 1; d >= 0; d--) {
    idx[d] = shape[d] ? i % shape[d] : 0;
    i = shape[d] ? i / shape[d] : 0;
  }
  shape_text(idx, rank, out, cap);
}

/* Checks got against want for one element; returns the error ratio (<= 1 passes). */
static double elem_ratio(const FnSpec *s, int dtype, double got, double want, double rs, double as) {
  if (dtype != TEX_F32 && dtype != TEX_F64) {
    if (isnan(want)) return 0; /* REF_ANY */
    return got == want ? 0 : INFINITY;
  }
  want = round_to(dtype, want);
  if (isnan(want) || isnan(got)) return isnan(want) && isnan(got) ? 0 : INFINITY;
  if (isinf(want) || isinf(got)) return got == want ? 0 : INFINITY;
  if (s->signzero && got == 0 && want == 0 && signbit(got) != signbit(want)) return INFINITY;
  double err = fabs(got - want);
  if (err == 0) return 0;
  double allowed = s->rtol * rs * fabs(want) + s->atol * as;
  double ratio = allowed > 0 ? err / allowed : INFINITY;
  if (s->ulp > 0) {
    double u = err / (s->ulp * ulp_of(dtype, want));
    if (u < ratio) ratio = u;
  }
  return ratio;
}

static void describe_inputs(FnRun *fr, const TexFuncInfo *f, int64_t shapes[][REF_MAX_RANK], char *out, size_t cap) {
  int n = 0;
  out[0] = 0;
  for (int k = 0; k < f->nparams && n >= 0 && (size_t)n < cap; k++) {
    char sh[128];
    shape_text(shapes[k], f->params[k].rank, sh, sizeof sh);
    n += e2e_fmt(out + n, cap - (size_t)n, "%s%s: %s%s", k ? ", " : "", f->params[k].name, dtype_name(f->params[k].dtype), sh);
  }
  (void)fr;
}

/* The default build runs at 1 thread first (the reference of the bitwise
 * comparisons), then again at these counts; main sets TEX_PARALLEL_MIN_WORK=0
 * so every splittable step is split even at the suite's small sizes.  The
 * other builds run at the default count (TEX_NUM_THREADS or the CPUs). */
static const int thread_runs[] = {2, 3, 7};
#define N_THREAD_RUNS 3

static void run_trial(FnRun *fr, const TexFuncInfo *const *funcs, int trial, const int64_t *syms) {
  const TexFuncInfo *f = funcs[0];
  const FnSpec *s = fr->spec;
  Ctx *c = fr->c;
  int np = f->nparams, nin = f->ninputs, nl = fr->nlibs;
  int64_t shapes[MAX_PARAMS][REF_MAX_RANK], strides[MAX_PARAMS][REF_MAX_RANK], numel[MAX_PARAMS];
  Layout L = layout_of(trial);
  uint64_t seed = fnv1a(fnv1a(fnv1a(base_seed * 0x9e3779b97f4a7c15ULL + 1469598103934665603ULL, fr->p->file), s->name),
                        "trial") ^ (uint64_t)trial * 0x2545F4914F6CDD1DULL;
  Rng rng = {seed};
  char symtext[256] = "", desc[1024];
  int tn = 0;
  for (int k = 0; k < f->nsyms; k++)
    tn += e2e_fmt(symtext + tn, sizeof symtext - (size_t)tn, "%s%s=%lld", k ? " " : "", f->sym_names[k], (long long)syms[k]);

  /* Shapes from the metadata's dim bytecode. */
  for (int k = 0; k < np; k++) {
    const TexParamInfo *pi = &f->params[k];
    numel[k] = 1;
    for (int d = 0; d < pi->rank; d++) {
      if (dim_eval(&pi->dims[d], syms, f->nsyms, &shapes[k][d]) != 0 || shapes[k][d] < 0) {
        e2e_failf(c, "%s: cannot evaluate dim %d of '%s' with %s", s->name, d, pi->name, symtext);
        return;
      }
      numel[k] *= shapes[k][d];
    }
  }
  describe_inputs(fr, f, shapes, desc, sizeof desc);

  /* Inputs. */
  Buf in[MAX_PARAMS], saved[MAX_PARAMS];
  double *din[MAX_PARAMS] = {0};
  DLTensor tens[MAX_PARAMS], *args[MAX_PARAMS];
  for (int k = 0; k < nin; k++) {
    const TexParamInfo *pi = &f->params[k];
    buf_alloc(&in[k], (size_t)numel[k] * esize(pi->dtype), L.misalign_in);
    fill_input(&rng, buf_data(&in[k]), pi->dtype, numel[k], find_range(fr->p, s->name, pi->name), s->specials, k);
    din[k] = xcalloc((size_t)numel[k], sizeof(double));
    for (int64_t i = 0; i < numel[k]; i++) din[k][i] = load_elem(buf_data(&in[k]), pi->dtype, i);
    saved[k].raw = xcalloc(1, in[k].total);
    memcpy(saved[k].raw, in[k].raw, in[k].total);
    make_tensor(&tens[k], &in[k], pi->dtype, pi->rank, shapes[k], strides[k], &L, numel[k]);
    args[k] = &tens[k];
  }

  /* The reference. */
  const TexParamInfo *po = &f->params[np - 1];
  int64_t on = numel[np - 1];
  double *want = xcalloc((size_t)on, sizeof(double));
  RefArgs ra;
  memset(&ra, 0, sizeof ra);
  ra.nin = nin;
  for (int k = 0; k < nin; k++) {
    ra.in[k] = din[k];
    ra.in_rank[k] = f->params[k].rank;
    ra.in_shape[k] = shapes[k];
    ra.in_numel[k] = numel[k];
  }
  ra.out = want;
  ra.out_rank = po->rank;
  ra.out_shape = shapes[np - 1];
  ra.out_numel = on;
  ra.nsyms = f->nsyms;
  ra.sym_names = f->sym_names;
  ra.syms = syms;
  fr->ref(&ra);

  bool sok = true;
  double as = eval_scale(s->scale, f, syms, &sok), rs = eval_scale(s->rscale, f, syms, &sok);
  if (!sok) e2e_failf(c, "%s: bad scale=/rscale= expression", s->name);

  /* Each build, same inputs. */
  size_t obytes = (size_t)on * esize(po->dtype);
  Buf out[8];
  for (int v = 0; v < nl + N_THREAD_RUNS; v++) {
    int lv = v < nl ? v : 0; /* past the builds: the default build again at more threads */
    char what[64];
    if (v == 0 || v >= nl) e2e_fmt(what, sizeof what, "default, %d thread%s,", v ? thread_runs[v - nl] : 1, v ? "s" : "");
    else e2e_fmt(what, sizeof what, "%s", what);
    if (v == 0 || v >= nl) fr->libs[0].set_threads(v == 0 ? 1 : thread_runs[v - nl]);
    buf_alloc(&out[v], obytes, L.misalign_out);
    memset(buf_data(&out[v]), 0xFF, obytes);
    DLTensor to;
    make_tensor(&to, &out[v], po->dtype, po->rank, shapes[np - 1], strides[np - 1], &L, on);
    args[np - 1] = &to;
    void *fp = dlsym(fr->libs[lv].h, funcs[lv]->symbol);
    int rc = fp ? e2e_call_fn(fp, np, args) : -1;
    fr->calls++;
    if (rc != 0) {
      e2e_failf(c, "%s (%s build) returned %d (%s): %s  [trial %d, %s, %s]", funcs[lv]->symbol, what, rc,
                tex_status_text(rc), fr->libs[lv].last_error(), trial, symtext, desc);
      continue;
    }
    if (!buf_guards_ok(&out[v]))
      e2e_failf(c, "%s (%s build) wrote outside its output [trial %d, %s]", funcs[lv]->symbol, what, trial,
                symtext);
    for (int k = 0; k < nin; k++)
      if (memcmp(saved[k].raw, in[k].raw, in[k].total) != 0)
        e2e_failf(c, "%s (%s build) modified its input '%s' [trial %d, %s]", funcs[lv]->symbol, what,
                  f->params[k].name, trial, symtext);
    if (v == 0) {
      int printed = 0, bad = 0;
      for (int64_t i = 0; i < on; i++) {
        double got = load_elem(buf_data(&out[0]), po->dtype, i);
        double ratio = elem_ratio(s, po->dtype, got, want[i], rs, as);
        if (ratio > fr->worst_ratio && ratio <= 1) fr->worst_ratio = ratio;
        if (ratio <= 1) {
          if ((po->dtype == TEX_F32 || po->dtype == TEX_F64) && isfinite(got) && isfinite(want[i])) {
            double err = fabs(got - round_to(po->dtype, want[i]));
            if (err > fr->worst_err) fr->worst_err = err;
          }
          continue;
        }
        bad++;
        if (printed++ < MAX_PRINT) {
          char at[128];
          index_text(i, shapes[np - 1], po->rank, at, sizeof at);
          e2e_failf(c, "%s: out%s = %.9g (%a), want %.9g (%a), err %.3g  [trial %d seed E2E_SEED=%llu, %s; %s]",
                    funcs[0]->symbol, at, got, got, round_to(po->dtype, want[i]), round_to(po->dtype, want[i]),
                    fabs(got - want[i]), trial, (unsigned long long)base_seed, symtext, desc);
        }
      }
      if (bad > MAX_PRINT) e2e_failf(c, "%s: ... %d of %lld elements wrong in trial %d", funcs[0]->symbol, bad, (long long)on, trial);
    } else if (memcmp(buf_data(&out[v]), buf_data(&out[0]), obytes) != 0) {
      /* bitwise, except that a NaN's sign and payload are not specified
       * (IEEE 754 leaves them open and LLVM does not preserve them) */
      int64_t i = 0;
      size_t es = esize(po->dtype);
      while (i < on && (memcmp(buf_data(&out[v]) + (size_t)i * es, buf_data(&out[0]) + (size_t)i * es, es) == 0 ||
                        (isnan(load_elem(buf_data(&out[v]), po->dtype, i)) && isnan(load_elem(buf_data(&out[0]), po->dtype, i)))))
        i++;
      if (i == on) continue;
      char at[128];
      index_text(i, shapes[np - 1], po->rank, at, sizeof at);
      e2e_failf(c, "%s: %s build is not bitwise identical to the default build at 1 thread: out%s = %a vs %a  [trial %d, %s]",
                s->name, what, at, load_elem(buf_data(&out[v]), po->dtype, i),
                load_elem(buf_data(&out[0]), po->dtype, i), trial, symtext);
    }
  }
  for (int v = 0; v < nl + N_THREAD_RUNS; v++) free(out[v].raw);
  for (int k = 0; k < nin; k++) {
    free(in[k].raw);
    free(saved[k].raw);
    free(din[k]);
  }
  free(want);
}

static const SizeSpec *find_sizes(const Program *p, const char *sym) {
  for (int i = 0; i < p->nsizes; i++)
    if (strcmp(p->sizes[i].name, sym) == 0) return &p->sizes[i];
  return NULL;
}

static void test_function(Ctx *c, const Program *p, const FnSpec *s, Lib *libs, int nlibs) {
  const TexFuncInfo *funcs[8];
  for (int v = 0; v < nlibs; v++) {
    funcs[v] = find_func(libs[v].mi, s->name);
    if (!funcs[v]) return; /* reported by check_metadata */
  }
  const TexFuncInfo *f = funcs[0];
  if (f->nparams < 1 || f->nparams > MAX_PARAMS || f->ninputs != f->nparams - 1 || f->nsyms > 16) {
    e2e_failf(c, "%s: cannot call a function with %d params", s->name, f->nparams);
    return;
  }
  FnRun fr = {.c = c, .p = p, .spec = s, .libs = libs, .nlibs = nlibs, .ref = ref_lookup(s->ref)};
  if (!fr.ref) {
    e2e_failf(c, "%s: unknown reference '%s' (refs.c)", s->name, s->ref);
    return;
  }
  /* Size lists per symbol. */
  int64_t lists[16][MAX_SIZE_VALS + 8];
  int lens[16], L = 1;
  for (int k = 0; k < f->nsyms; k++) {
    const SizeSpec *ss = find_sizes(p, f->sym_names[k]);
    const int64_t *vals = ss ? ss->vals : default_sizes;
    int n = ss ? ss->n : (int)(sizeof default_sizes / sizeof default_sizes[0]);
    lens[k] = 0;
    for (int i = 0; i < n; i++)
      if (!(s->nozero && vals[i] == 0)) lists[k][lens[k]++] = vals[i];
    if (lens[k] == 0) lists[k][lens[k]++] = 1;
    if (lens[k] > L) L = lens[k];
  }
  int ntrials = L + (f->nsyms ? s->trials : 0);
  Rng sizes_rng = {fnv1a(fnv1a(base_seed, p->file), s->name)};
  for (int t = 0; t < ntrials; t++) {
    int64_t syms[16];
    for (int k = 0; k < f->nsyms; k++)
      syms[k] = t < L ? lists[k][t % lens[k]] : rng_int(&sizes_rng, 1, 9);
    run_trial(&fr, funcs, t, syms);
  }
  char tol[160];
  int n = e2e_fmt(tol, sizeof tol, "tol rtol=%g%s%s atol=%g%s%s", s->rtol, s->rscale[0] ? "*" : "", s->rscale,
                   s->atol, s->scale[0] ? "*" : "", s->scale);
  if (s->ulp > 0) e2e_fmt(tol + n, sizeof tol - (size_t)n, " or %g ulp", s->ulp);
  print_message("    %-14s %-18s %2d trials  %-44s worst err %.3g (%.0f%% of allowed)\n", s->name, s->ref, ntrials, tol,
                  fr.worst_err, fr.worst_ratio * 100);
}

/* ---- one program ------------------------------------------------------------------------------- */

static void test_program(void **state) {
  Program *p = *state;
  Ctx c = {.p = p};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (!p->parse_ok) fail_msg("%s", p->parse_error);
  if (p->nfns == 0) fail_msg("%s has no `# e2e: fn` directive", p->file);

  Lib libs[3];
  memset(libs, 0, sizeof libs);
  char prefix[128], flags[256];
  libs[0].what = "default";
  libs[1].what = "-O0";
  libs[2].what = "x86-64-v2";
  bool ok = e2e_compile(&c, p, p->base, "", &libs[0]);
  e2e_fmt(prefix, sizeof prefix, "%s_O0", p->base);
  e2e_fmt(flags, sizeof flags, "-O0 --prefix=%s", prefix);
  ok = e2e_compile(&c, p, prefix, flags, &libs[1]) && ok;
  e2e_fmt(prefix, sizeof prefix, "%s_v2", p->base);
  e2e_fmt(flags, sizeof flags, "--cpu=x86-64-v2 --prefix=%s", prefix);
  ok = e2e_compile(&c, p, prefix, flags, &libs[2]) && ok;
  if (ok) {
    for (int v = 0; v < 3; v++) check_imports(&c, &libs[v]);
    for (int v = 0; v < 3 && ok; v++) ok = e2e_load(&c, &libs[v]);
  }
  if (ok) {
    check_header(&c, &libs[0]);
    for (int v = 0; v < 3; v++) check_metadata(&c, p, &libs[v], v == 2 ? "x86-64-v2" : NULL);
    compare_metadata(&c, &libs[0], &libs[1]);
    compare_metadata(&c, &libs[0], &libs[2]);
    print_message("  %s: %d functions, each against its reference and bitwise across the 3 builds\n", p->file, p->nfns);
    for (int j = 0; j < p->nfns; j++) test_function(&c, p, &p->fns[j], libs, 3);
  }
  for (int v = 0; v < 3; v++) e2e_unload(&libs[v]);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  if (c.suppressed) print_error("[%s] ... %d more failures not shown\n", p->file, c.suppressed);
  if (p->xfail[0]) {
    if (c.failures) {
      print_message("[%s] XFAIL (%d failures, expected: %s) %.2fs\n", p->file, c.failures, p->xfail, secs);
      return;
    }
    fail_msg("%s passes but is marked xfail (%s): remove the xfail", p->file, p->xfail);
  }
  if (c.failures) fail_msg("%s: %d failures", p->file, c.failures);
  if (e2e_verbose) print_message("[%s] ok %.2fs\n", p->file, secs);
}

static void test_program_count(void **state) {
  (void)state;
  int n = 0;
  DIR *d = opendir(e2e_dir);
  struct dirent *e;
  assert_non_null(d);
  while ((e = readdir(d)))
    if (str_ends(e->d_name, ".tex")) n++;
  closedir(d);
  if (n < 22) fail_msg("%s holds %d .tex programs; the suite requires at least 22", e2e_dir, n);
}

/* ---- setup ---------------------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

static int group_setup(void **state) {
  (void)state;
  e2e_fmt(e2e_tmpdir, sizeof e2e_tmpdir, "%s/texc-e2e-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(e2e_tmpdir)) {
    fprintf(stderr, "e2e: mkdtemp: %s\n", strerror(errno));
    return -1;
  }
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  const char *keep = getenv("E2E_KEEP");
  if (keep && *keep == '1') {
    print_message("e2e: kept %s\n", e2e_tmpdir);
    return 0;
  }
  return nftw(e2e_tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(int argc, char **argv) {
  e2e_dir = argc > 1 ? argv[1] : "tests/e2e";
  e2e_texc_path = getenv("TEXC");
  if (!e2e_texc_path || !*e2e_texc_path) e2e_texc_path = "build/texc";
  if (access(e2e_texc_path, X_OK) != 0) {
    fprintf(stderr, "e2e: the compiler %s is not executable (set TEXC)\n", e2e_texc_path);
    return 1;
  }
  const char *seed = getenv("E2E_SEED");
  if (seed && *seed) base_seed = strtoull(seed, NULL, 0);
  e2e_verbose = getenv("E2E_VERBOSE") && *getenv("E2E_VERBOSE") == '1';
  setenv("TEX_PARALLEL_MIN_WORK", "0", 0); /* split every splittable step (read at a module's first call) */
  scan_programs(e2e_dir);
  printf("e2e: %d programs in %s, TEXC=%s, E2E_SEED=%llu\n", nprograms, e2e_dir, e2e_texc_path,
         (unsigned long long)base_seed);

  struct CMUnitTest *tests = xcalloc((size_t)nprograms + 4, sizeof *tests);
  size_t n = 0;
  tests[n++] = (struct CMUnitTest){"program_count", test_program_count, NULL, NULL, NULL};
  for (int i = 0; i < nprograms; i++)
    tests[n++] = (struct CMUnitTest){programs[i]->file, test_program, NULL, NULL, programs[i]};
  tests[n++] = (struct CMUnitTest){"call_errors", e2e_test_call_errors, NULL, NULL, NULL};
  tests[n++] = (struct CMUnitTest){"two_modules", e2e_test_two_modules, NULL, NULL, NULL};
  tests[n++] = (struct CMUnitTest){"index_errors", e2e_test_index_errors, NULL, NULL, NULL};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int failed = _cmocka_run_group_tests("e2e", tests, n, group_setup, group_teardown);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("e2e: %.1f s\n", (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
  for (int i = 0; i < nprograms; i++) free(programs[i]);
  free(tests);
  return failed ? 1 : 0;
}
