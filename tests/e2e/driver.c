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
 *     and the -O0 and x86-64-v2 builds' outputs bitwise identical (memcmp).
 * Then one test calls a generated .so with every kind of bad argument.
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

enum {
  MAX_PROGRAMS = 128,
  MAX_FNS = 128,
  MAX_SIZES = 24,
  MAX_SIZE_VALS = 16,
  MAX_RANGES = 32,
  MAX_PRIVATE = 16,
  MAX_PARAMS = 12,
  GUARD = 64,
  MAX_PRINT = 4, /* mismatches printed per call */
};

static const int64_t default_sizes[] = {1, 4, 33, 100, 257};

/* ---- program descriptions ----------------------------------------------------- */

typedef struct SizeSpec {
  char name[32];
  int64_t vals[MAX_SIZE_VALS];
  int n;
} SizeSpec;

typedef struct RangeSpec {
  char name[96]; /* PARAM, FN.PARAM or * */
  double lo, hi, q;
} RangeSpec;

typedef struct FnSpec {
  char name[64];
  char ref[64];
  double rtol, atol, ulp;
  char scale[64], rscale[64];
  bool specials, signzero, nozero;
  int trials;
  int line;
} FnSpec;

typedef struct Program {
  char path[PATH_MAX];
  char file[128]; /* NAME.tex */
  char base[96];  /* NAME */
  SizeSpec sizes[MAX_SIZES];
  int nsizes;
  RangeSpec ranges[MAX_RANGES];
  int nranges;
  FnSpec fns[MAX_FNS];
  int nfns;
  char privates[MAX_PRIVATE][64];
  int nprivates;
  char xfail[256];
  bool parse_ok;
  char parse_error[512];
} Program;

static Program *programs[MAX_PROGRAMS];
static int nprograms;
static char tmpdir[PATH_MAX];
static const char *texc_path;
static const char *e2e_dir;
static uint64_t base_seed = 20240601;
static bool verbose;

/* ---- small utilities ----------------------------------------------------------- */

/* snprintf through a va_list: the same, minus GCC's truncation guesses about
 * paths that are PATH_MAX long in theory and short in practice. */
static int fmt(char *buf, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static int fmt(char *buf, size_t cap, const char *f, ...) {
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

static DLDataType dl_dtype(int dtype) {
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
  fmt(full, sizeof full, "%s >>'%s' 2>&1", cmd, log);
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

/* ---- failure collection ------------------------------------------------------ */

typedef struct Ctx {
  const Program *p;
  int failures;
  int suppressed;
} Ctx;

static void failf(Ctx *c, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void failf(Ctx *c, const char *f, ...) {
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
    if (!f->name[0] && strlen(tok) < sizeof f->name) return fmt(f->name, sizeof f->name, "%s", tok), true;
    return false;
  }
  if (strcmp(key, "ref") == 0) return fmt(f->ref, sizeof f->ref, "%s", v) < (int)sizeof f->ref;
  if (strcmp(key, "tol") == 0) return sscanf(v, "%lf,%lf", &f->rtol, &f->atol) == 2;
  if (strcmp(key, "ulp") == 0) return sscanf(v, "%lf", &f->ulp) == 1;
  if (strcmp(key, "scale") == 0) return fmt(f->scale, sizeof f->scale, "%s", v) < (int)sizeof f->scale;
  if (strcmp(key, "rscale") == 0) return fmt(f->rscale, sizeof f->rscale, "%s", v) < (int)sizeof f->rscale;
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
    fmt(p->xfail, sizeof p->xfail, "%s", *rest ? rest : "(no reason given)");
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
      fmt(p->privates[p->nprivates++], sizeof p->privates[0], "%s", tok);
    }
    return true;
  }
  return false;
}

static Program *load_program(const char *dir, const char *file) {
  Program *p = xcalloc(1, sizeof *p);
  fmt(p->path, sizeof p->path, "%s/%s", dir, file);
  fmt(p->file, sizeof p->file, "%s", file);
  fmt(p->base, sizeof p->base, "%.*s", (int)(strlen(file) - 4), file);
  p->parse_ok = true;
  FILE *f = fopen(p->path, "r");
  if (!f) {
    p->parse_ok = false;
    fmt(p->parse_error, sizeof p->parse_error, "cannot open %s: %s", p->path, strerror(errno));
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
    fmt(copy, sizeof copy, "%s", s + 4);
    if (!parse_directive(p, copy, lineno) && p->parse_ok) {
      p->parse_ok = false;
      fmt(p->parse_error, sizeof p->parse_error, "%s:%d: bad e2e directive: %s", p->file, lineno, s);
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

/* ---- compiling and loading --------------------------------------------------------- */

typedef struct Lib {
  void *h;
  char prefix[128];
  char so[PATH_MAX];
  char header[PATH_MAX];
  const TexModuleInfo *mi;
  const char *(*last_error)(void);
  const char *what; /* "default", "-O0", "x86-64-v2" */
} Lib;

/* Compiles p with extra flags into lib<prefix>.so in tmpdir. */
static bool compile(Ctx *c, const Program *p, const char *prefix, const char *flags, Lib *lib) {
  char cmd[PATH_MAX * 3], log[PATH_MAX];
  fmt(lib->prefix, sizeof lib->prefix, "%s", prefix);
  fmt(lib->so, sizeof lib->so, "%s/lib%s.so", tmpdir, prefix);
  fmt(lib->header, sizeof lib->header, "%s/%s.h", tmpdir, prefix);
  fmt(log, sizeof log, "%s/%s.log", tmpdir, prefix);
  fmt(cmd, sizeof cmd, "'%s' '%s' -o '%s' %s", texc_path, p->path, lib->so, flags);
  if (run_cmd(cmd, log) != 0) {
    failf(c, "compile failed: %s", cmd);
    print_file(log, "    ");
    return false;
  }
  return true;
}

static void unload(Lib *lib) {
  if (lib->h) dlclose(lib->h);
  lib->h = NULL;
  lib->mi = NULL;
}

static bool load(Ctx *c, Lib *lib) {
  char sym[256];
  lib->h = dlopen(lib->so, RTLD_NOW | RTLD_LOCAL);
  if (!lib->h) {
    failf(c, "dlopen %s: %s", lib->so, dlerror());
    return false;
  }
  fmt(sym, sizeof sym, "%s_module_info", lib->prefix);
  const TexModuleInfo *(*info)(void) = (const TexModuleInfo *(*)(void))dlsym(lib->h, sym);
  fmt(sym, sizeof sym, "%s_last_error", lib->prefix);
  lib->last_error = (const char *(*)(void))dlsym(lib->h, sym);
  if (!info || !lib->last_error) {
    failf(c, "%s: %s_module_info or %s_last_error is not exported", lib->so, lib->prefix, lib->prefix);
    unload(lib);
    return false;
  }
  lib->mi = info();
  if (!lib->mi) {
    failf(c, "%s: module_info() returned NULL", lib->so);
    unload(lib);
    return false;
  }
  return true;
}

/* ---- item 4: no scalar libm imports ------------------------------------------------ */

static void check_imports(Ctx *c, const Lib *lib) {
  static const char *const banned[] = {"expf", "logf", "tanhf", "exp", "log", "tanh",
                                       "expm1f", "log1pf", "expm1", "log1p", NULL};
  char cmd[PATH_MAX + 64], line[512];
  fmt(cmd, sizeof cmd, "nm -D --undefined-only '%s' 2>&1", lib->so);
  FILE *f = popen(cmd, "r");
  int nlines = 0;
  if (!f) {
    failf(c, "popen(%s) failed", cmd);
    return;
  }
  while (fgets(line, sizeof line, f)) {
    char type[8], name[256];
    nlines++;
    if (sscanf(line, " %7s %255s", type, name) != 2) continue;
    name[strcspn(name, "@")] = 0;
    for (int i = 0; banned[i]; i++)
      if (strcmp(name, banned[i]) == 0)
        failf(c, "%s (%s build) imports scalar libm '%s': exp/log/tanh must be vectorised inline", lib->so,
              lib->what, name);
  }
  int st = pclose(f);
  if (st != 0 || nlines == 0) failf(c, "`%s` failed (status %d)", cmd, st);
}

/* ---- item 5: the generated header compiles -------------------------------------------- */

static void check_header(Ctx *c, const Lib *lib) {
  char cmd[PATH_MAX * 4], log[PATH_MAX], src[PATH_MAX], cxx[PATH_MAX];
  const char *inc = getenv("TEXRT_INCLUDE");
  char guess[PATH_MAX];
  if (!inc || !*inc) {
    inc = "runtime"; /* the repository root is the usual working directory */
    fmt(guess, sizeof guess, "%s/../../runtime", e2e_dir);
    if (access("runtime/texrt.h", R_OK) != 0 && access(guess, R_OK) == 0) inc = guess;
  }
  fmt(log, sizeof log, "%s/%s.hdr.log", tmpdir, lib->prefix);
  if (access(lib->header, R_OK) != 0) {
    failf(c, "no header %s beside the .so", lib->header);
    return;
  }
  fmt(cmd, sizeof cmd, "cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -x c '%s'", lib->header);
  if (run_cmd(cmd, log) != 0) {
    failf(c, "the header does not compile on its own: %s", cmd);
    print_file(log, "    ");
  }
  /* A C file with texrt.h and the header (twice: include guard) that takes the
   * address of every function with the prototype the metadata implies. */
  fmt(src, sizeof src, "%s/%s_hdr.c", tmpdir, lib->prefix);
  fmt(cxx, sizeof cxx, "%s/%s_hdr.cc", tmpdir, lib->prefix);
  FILE *f = fopen(src, "w");
  if (!f) {
    failf(c, "cannot write %s", src);
    return;
  }
  fprintf(f, "#include \"texrt.h\"\n#include \"%s.h\"\n#include \"%s.h\"\n", lib->prefix, lib->prefix);
  fprintf(f, "const struct TexModuleInfo *(*e2e_info)(void) = %s_module_info;\n", lib->prefix);
  fprintf(f, "const char *(*e2e_err)(void) = %s_last_error;\n", lib->prefix);
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
  fmt(cmd, sizeof cmd,
           "cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -I'%s' -I'%s' '%s' && "
           "cp '%s' '%s' && { ! command -v c++ >/dev/null || "
           "c++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only -I'%s' -I'%s' '%s'; }",
           inc, tmpdir, src, src, cxx, inc, tmpdir, cxx);
  if (run_cmd(cmd, log) != 0) {
    failf(c, "the header with texrt.h does not compile (TEXRT_INCLUDE=%s): %s", inc, cmd);
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
    failf(c, "%s: abi_version %u, want %d", lib->what, mi->abi_version, TEX_ABI_VERSION);
  if (!mi->prefix || strcmp(mi->prefix, lib->prefix) != 0)
    failf(c, "%s: metadata prefix '%s', want '%s'", lib->what, mi->prefix ? mi->prefix : "(null)", lib->prefix);
  if (!mi->source || !str_ends(mi->source, p->file))
    failf(c, "%s: metadata source '%s' does not name %s", lib->what, mi->source ? mi->source : "(null)", p->file);
  if (!mi->target || strcmp(mi->target, "cpu") != 0)
    failf(c, "%s: metadata target '%s', want cpu", lib->what, mi->target ? mi->target : "(null)");
  if (!mi->texc_version || !mi->cpu || !mi->cpu_features)
    failf(c, "%s: metadata texc_version/cpu/cpu_features missing", lib->what);
  if (want_cpu && (!mi->cpu || strcmp(mi->cpu, want_cpu) != 0))
    failf(c, "%s: metadata cpu '%s', want '%s'", lib->what, mi->cpu ? mi->cpu : "(null)", want_cpu);
  if (mi->nfuncs < 0 || (mi->nfuncs && !mi->funcs)) {
    failf(c, "%s: bad function table", lib->what);
    return;
  }
  for (int i = 0; i < mi->nfuncs; i++) {
    const TexFuncInfo *f = &mi->funcs[i];
    if (!f->name || !f->symbol) {
      failf(c, "%s: function #%d has no name/symbol", lib->what, i);
      continue;
    }
    fmt(sym, sizeof sym, "%s_%s", lib->prefix, f->name);
    if (strcmp(f->symbol, sym) != 0) failf(c, "%s: symbol '%s', want '%s'", lib->what, f->symbol, sym);
    if (!dlsym(lib->h, f->symbol)) failf(c, "%s: '%s' is in the metadata but not exported", lib->what, f->symbol);
    if (f->nparams < 1 || f->nparams > MAX_PARAMS || f->ninputs != f->nparams - 1 || !f->params) {
      failf(c, "%s: %s has %d params, %d inputs (want exactly one output)", lib->what, f->name, f->nparams,
            f->ninputs);
      continue;
    }
    if (f->nsyms < 0 || (f->nsyms && !f->sym_names) || f->nasserts < 0) failf(c, "%s: %s: bad symbol table", lib->what, f->name);
    for (int k = 0; k < f->nparams; k++) {
      const TexParamInfo *pi = &f->params[k];
      int want_role = k < f->ninputs ? TEX_IN : TEX_OUT;
      if (!pi->name || pi->role != want_role || pi->dtype >= TEX_DTYPE_COUNT || pi->rank > REF_MAX_RANK ||
          (pi->rank && !pi->dims))
        failf(c, "%s: %s param #%d: bad metadata (name %s role %d dtype %d rank %d)", lib->what, f->name, k,
              pi->name ? pi->name : "(null)", pi->role, pi->dtype, pi->rank);
      if (k == f->nparams - 1 && pi->name && strcmp(pi->name, "out") != 0)
        failf(c, "%s: %s: output is named '%s', want 'out'", lib->what, f->name, pi->name);
    }
  }
  /* Every exported function has a directive and the other way round. */
  for (int i = 0; i < mi->nfuncs; i++) {
    bool found = false;
    for (int j = 0; j < p->nfns && !found; j++) found = mi->funcs[i].name && strcmp(p->fns[j].name, mi->funcs[i].name) == 0;
    if (!found) failf(c, "%s: exported function '%s' has no `# e2e: fn` directive", lib->what, mi->funcs[i].name);
  }
  for (int j = 0; j < p->nfns; j++)
    if (!find_func(mi, p->fns[j].name))
      failf(c, "%s: directive at line %d names '%s', which is not exported", lib->what, p->fns[j].line, p->fns[j].name);
  for (int j = 0; j < p->nprivates; j++) {
    fmt(sym, sizeof sym, "%s_%s", lib->prefix, p->privates[j]);
    dlerror();
    if (dlsym(lib->h, sym)) failf(c, "%s: private function '%s' is exported as %s", lib->what, p->privates[j], sym);
    if (find_func(mi, p->privates[j])) failf(c, "%s: private function '%s' is in the metadata", lib->what, p->privates[j]);
  }
}

/* The builds must describe the same functions. */
static void compare_metadata(Ctx *c, const Lib *a, const Lib *b) {
  if (a->mi->nfuncs != b->mi->nfuncs) {
    failf(c, "%s and %s builds export %d and %d functions", a->what, b->what, a->mi->nfuncs, b->mi->nfuncs);
    return;
  }
  for (int i = 0; i < a->mi->nfuncs; i++) {
    const TexFuncInfo *fa = &a->mi->funcs[i], *fb = find_func(b->mi, fa->name ? fa->name : "");
    if (!fb || fa->nparams != fb->nparams || fa->nsyms != fb->nsyms) {
      failf(c, "%s: metadata differs between the %s and %s builds", fa->name, a->what, b->what);
      continue;
    }
    for (int k = 0; k < fa->nparams; k++) {
      const TexParamInfo *pa = &fa->params[k], *pb = &fb->params[k];
      bool same = pa->dtype == pb->dtype && pa->role == pb->role && pa->rank == pb->rank && pa->name && pb->name &&
                  strcmp(pa->name, pb->name) == 0;
      for (int d = 0; same && d < pa->rank; d++)
        same = pa->dims[d].len == pb->dims[d].len &&
               memcmp(pa->dims[d].code, pb->dims[d].code, sizeof(int64_t) * (size_t)pa->dims[d].len) == 0;
      if (!same) failf(c, "%s param #%d: metadata differs between the %s and %s builds", fa->name, k, a->what, b->what);
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

/* Calls a generated function with n tensor arguments (n <= 8). */
static int call_fn(void *fp, int n, DLTensor **a) {
  switch (n) {
  case 1: return ((Fn1)fp)(a[0]);
  case 2: return ((Fn2)fp)(a[0], a[1]);
  case 3: return ((Fn3)fp)(a[0], a[1], a[2]);
  case 4: return ((Fn4)fp)(a[0], a[1], a[2], a[3]);
  case 5: return ((Fn5)fp)(a[0], a[1], a[2], a[3], a[4]);
  case 6: return ((Fn6)fp)(a[0], a[1], a[2], a[3], a[4], a[5]);
  case 7: return ((Fn7)fp)(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
  case 8: return ((Fn8)fp)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
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
  t->dtype = dl_dtype(dtype);
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
  fmt(qual, sizeof qual, "%s.%s", fn, param);
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
  int n = fmt(out, cap, "[");
  for (int d = 0; d < rank && n > 0 && (size_t)n < cap; d++) n += fmt(out + n, cap - (size_t)n, "%s%lld", d ? "," : "", (long long)shape[d]);
  if (n > 0 && (size_t)n < cap) fmt(out + n, cap - (size_t)n, "]");
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
    n += fmt(out + n, cap - (size_t)n, "%s%s: %s%s", k ? ", " : "", f->params[k].name, dtype_name(f->params[k].dtype), sh);
  }
  (void)fr;
}

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
    tn += fmt(symtext + tn, sizeof symtext - (size_t)tn, "%s%s=%lld", k ? " " : "", f->sym_names[k], (long long)syms[k]);

  /* Shapes from the metadata's dim bytecode. */
  for (int k = 0; k < np; k++) {
    const TexParamInfo *pi = &f->params[k];
    numel[k] = 1;
    for (int d = 0; d < pi->rank; d++) {
      if (dim_eval(&pi->dims[d], syms, f->nsyms, &shapes[k][d]) != 0 || shapes[k][d] < 0) {
        failf(c, "%s: cannot evaluate dim %d of '%s' with %s", s->name, d, pi->name, symtext);
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
  if (!sok) failf(c, "%s: bad scale=/rscale= expression", s->name);

  /* Each build, same inputs. */
  size_t obytes = (size_t)on * esize(po->dtype);
  Buf out[8];
  for (int v = 0; v < nl; v++) {
    buf_alloc(&out[v], obytes, L.misalign_out);
    memset(buf_data(&out[v]), 0xFF, obytes);
    DLTensor to;
    make_tensor(&to, &out[v], po->dtype, po->rank, shapes[np - 1], strides[np - 1], &L, on);
    args[np - 1] = &to;
    void *fp = dlsym(fr->libs[v].h, funcs[v]->symbol);
    int rc = fp ? call_fn(fp, np, args) : -1;
    fr->calls++;
    if (rc != 0) {
      failf(c, "%s (%s build) returned %d (%s): %s  [trial %d, %s, %s]", funcs[v]->symbol, fr->libs[v].what, rc,
            tex_status_text(rc), fr->libs[v].last_error(), trial, symtext, desc);
      continue;
    }
    if (!buf_guards_ok(&out[v]))
      failf(c, "%s (%s build) wrote outside its output [trial %d, %s]", funcs[v]->symbol, fr->libs[v].what, trial,
            symtext);
    for (int k = 0; k < nin; k++)
      if (memcmp(saved[k].raw, in[k].raw, in[k].total) != 0)
        failf(c, "%s (%s build) modified its input '%s' [trial %d, %s]", funcs[v]->symbol, fr->libs[v].what,
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
          failf(c, "%s: out%s = %.9g (%a), want %.9g (%a), err %.3g  [trial %d seed E2E_SEED=%llu, %s; %s]",
                funcs[0]->symbol, at, got, got, round_to(po->dtype, want[i]), round_to(po->dtype, want[i]),
                fabs(got - want[i]), trial, (unsigned long long)base_seed, symtext, desc);
        }
      }
      if (bad > MAX_PRINT) failf(c, "%s: ... %d of %lld elements wrong in trial %d", funcs[0]->symbol, bad, (long long)on, trial);
    } else if (memcmp(buf_data(&out[v]), buf_data(&out[0]), obytes) != 0) {
      int64_t i = 0;
      size_t es = esize(po->dtype);
      while (i < on && memcmp(buf_data(&out[v]) + (size_t)i * es, buf_data(&out[0]) + (size_t)i * es, es) == 0) i++;
      char at[128];
      index_text(i, shapes[np - 1], po->rank, at, sizeof at);
      failf(c, "%s: %s build is not bitwise identical to the default build: out%s = %a vs %a  [trial %d, %s]",
            s->name, fr->libs[v].what, at, load_elem(buf_data(&out[v]), po->dtype, i),
            load_elem(buf_data(&out[0]), po->dtype, i), trial, symtext);
    }
  }
  for (int v = 0; v < nl; v++) free(out[v].raw);
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
  if (f->nparams < 1 || f->nparams > 8 || f->ninputs != f->nparams - 1 || f->nsyms > 16) {
    failf(c, "%s: cannot call a function with %d params", s->name, f->nparams);
    return;
  }
  FnRun fr = {.c = c, .p = p, .spec = s, .libs = libs, .nlibs = nlibs, .ref = ref_lookup(s->ref)};
  if (!fr.ref) {
    failf(c, "%s: unknown reference '%s' (refs.c)", s->name, s->ref);
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
  int n = fmt(tol, sizeof tol, "tol rtol=%g%s%s atol=%g%s%s", s->rtol, s->rscale[0] ? "*" : "", s->rscale,
                   s->atol, s->scale[0] ? "*" : "", s->scale);
  if (s->ulp > 0) fmt(tol + n, sizeof tol - (size_t)n, " or %g ulp", s->ulp);
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
  bool ok = compile(&c, p, p->base, "", &libs[0]);
  fmt(prefix, sizeof prefix, "%s_O0", p->base);
  fmt(flags, sizeof flags, "-O0 --prefix=%s", prefix);
  ok = compile(&c, p, prefix, flags, &libs[1]) && ok;
  fmt(prefix, sizeof prefix, "%s_v2", p->base);
  fmt(flags, sizeof flags, "--cpu=x86-64-v2 --prefix=%s", prefix);
  ok = compile(&c, p, prefix, flags, &libs[2]) && ok;
  if (ok) {
    for (int v = 0; v < 3; v++) check_imports(&c, &libs[v]);
    for (int v = 0; v < 3 && ok; v++) ok = load(&c, &libs[v]);
  }
  if (ok) {
    check_header(&c, &libs[0]);
    for (int v = 0; v < 3; v++) check_metadata(&c, p, &libs[v], v == 2 ? "x86-64-v2" : NULL);
    compare_metadata(&c, &libs[0], &libs[1]);
    compare_metadata(&c, &libs[0], &libs[2]);
    print_message("  %s: %d functions, each against its reference and bitwise across the 3 builds\n", p->file, p->nfns);
    for (int j = 0; j < p->nfns; j++) test_function(&c, p, &p->fns[j], libs, 3);
  }
  for (int v = 0; v < 3; v++) unload(&libs[v]);
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
  if (verbose) print_message("[%s] ok %.2fs\n", p->file, secs);
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

/* ---- item 2: call-time errors through a real .so --------------------------------------------- */

typedef struct ErrLib {
  Lib lib;
  void *f, *g, *h;
} ErrLib;

static void tensor(DLTensor *t, void *data, int dtype, int rank, int64_t *shape) {
  memset(t, 0, sizeof *t);
  t->data = data;
  t->device = (DLDevice){kDLCPU, 0};
  t->dtype = dl_dtype(dtype);
  t->ndim = rank;
  t->shape = shape;
}

/* Expects status want and a message naming the symbol and every name in names. */
static void expect_status(Ctx *c, const ErrLib *e, const char *what, int rc, int want, const char *const *names) {
  const char *msg = e->lib.last_error();
  if (rc != want) {
    failf(c, "%s: status %d (%s), want %d (%s); message: %s", what, rc, tex_status_text(rc), want,
          tex_status_text(want), msg ? msg : "(null)");
    return;
  }
  if (want == TEX_OK) return;
  if (!msg) {
    failf(c, "%s: last_error() is NULL", what);
    return;
  }
  for (int i = 0; names && names[i]; i++) {
    char quoted[96];
    fmt(quoted, sizeof quoted, "'%s'", names[i]);
    if (!strstr(msg, quoted)) failf(c, "%s: the message does not name %s: %s", what, quoted, msg);
  }
  if (!strstr(msg, "errchk_")) failf(c, "%s: the message does not name the function: %s", what, msg);
  if (verbose) print_message("    %-40s -> %s: %s\n", what, tex_status_text(rc), msg);
}

static bool all_bytes(const void *p, size_t n, unsigned char v) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != v) return false;
  return true;
}

static void test_call_errors(void **state) {
  (void)state;
  static Program prog;
  Ctx c = {.p = &prog};
  fmt(prog.path, sizeof prog.path, "%s/errs.tex", e2e_dir);
  fmt(prog.file, sizeof prog.file, "errs.tex (call errors)");
  ErrLib e;
  memset(&e, 0, sizeof e);
  e.lib.what = "default";
  if (!compile(&c, &prog, "errchk", "--prefix=errchk", &e.lib) || !load(&c, &e.lib))
    fail_msg("cannot build tests/e2e/errs.tex");
  e.f = dlsym(e.lib.h, "errchk_f");
  e.g = dlsym(e.lib.h, "errchk_g");
  e.h = dlsym(e.lib.h, "errchk_h");
  if (!e.f || !e.g || !e.h) {
    unload(&e.lib);
    fail_msg("errs.tex must export f(x: f32[N, 3], y: f32[N]) -> f32[N], g(m: bool[N], x: f32[N]) -> f32[N], "
             "h(x: f32[N, K]) -> f32[N, K]");
  }
  enum { N = 5, K = 7 };
  float x[N * 3], y[N], out[N + 4], xk[N * K], outk[N * K];
  double xd[N * 3];
  int64_t sx[2] = {N, 3}, sy[1] = {N}, so[1] = {N};
  for (int i = 0; i < N * 3; i++) x[i] = (float)(i % 7) - 2.5f, xd[i] = x[i];
  for (int i = 0; i < N; i++) y[i] = 0.25f * (float)i;
  for (int i = 0; i < N * K; i++) xk[i] = (float)i * 0.5f - 3.0f;
  DLTensor tx, ty, to, *a[3];
  const char *const nx[] = {"x", NULL}, *const ny[] = {"y", NULL}, *const nout[] = {"out", NULL},
                    *const nm[] = {"m", NULL}, *const nalias[] = {"out", "y", NULL};
#define RESET()                                            \
  do {                                                     \
    tensor(&tx, x, TEX_F32, 2, sx);                        \
    tensor(&ty, y, TEX_F32, 1, sy);                        \
    tensor(&to, out, TEX_F32, 1, so);                      \
    sx[0] = N, sx[1] = 3, sy[0] = N, so[0] = N;            \
    memset(out, 0xEE, sizeof out);                         \
    a[0] = &tx, a[1] = &ty, a[2] = &to;                    \
  } while (0)
#define UNTOUCHED(what)                                                                     \
  do {                                                                                      \
    if (!all_bytes(out, sizeof out, 0xEE)) failf(&c, "%s: the output was written", what); \
  } while (0)

  /* The good call first: f = sum(x, axis=1) + y. */
  RESET();
  int rc = call_fn(e.f, 3, a);
  expect_status(&c, &e, "good call", rc, TEX_OK, NULL);
  for (int i = 0; i < N && rc == 0; i++) {
    double want = xd[3 * i] + xd[3 * i + 1] + xd[3 * i + 2] + y[i];
    if (fabs(out[i] - want) > 1e-5) failf(&c, "good call: out[%d] = %g, want %g", i, out[i], want);
  }

  /* TEX_ERR_NULL: NULL tensor, NULL data with nonzero size, NULL shape. */
  RESET();
  a[0] = NULL;
  expect_status(&c, &e, "NULL input tensor", call_fn(e.f, 3, a), TEX_ERR_NULL, nx);
  UNTOUCHED("NULL input tensor");
  RESET();
  a[2] = NULL;
  expect_status(&c, &e, "NULL output tensor", call_fn(e.f, 3, a), TEX_ERR_NULL, nout);
  RESET();
  tx.data = NULL;
  expect_status(&c, &e, "NULL data, 15 elements", call_fn(e.f, 3, a), TEX_ERR_NULL, nx);
  UNTOUCHED("NULL data");
  RESET();
  to.data = NULL;
  expect_status(&c, &e, "NULL output data", call_fn(e.f, 3, a), TEX_ERR_NULL, nout);
  RESET();
  ty.shape = NULL;
  expect_status(&c, &e, "NULL shape pointer", call_fn(e.f, 3, a), TEX_ERR_NULL, ny);

  /* TEX_ERR_DTYPE: f64 for f32; int32 for f32; lanes. */
  RESET();
  tx.data = xd;
  tx.dtype = dl_dtype(TEX_F64);
  expect_status(&c, &e, "f64 for f32", call_fn(e.f, 3, a), TEX_ERR_DTYPE, nx);
  UNTOUCHED("f64 for f32");
  RESET();
  to.dtype = (DLDataType){kDLInt, 32, 1};
  expect_status(&c, &e, "int32 output for f32", call_fn(e.f, 3, a), TEX_ERR_DTYPE, nout);
  RESET();
  ty.dtype = (DLDataType){kDLFloat, 32, 4};
  expect_status(&c, &e, "float32x4 for f32", call_fn(e.f, 3, a), TEX_ERR_DTYPE, ny);

  /* bool: kDLUInt/8 and kDLBool(6)/8 accepted; kDLInt/8 rejected. g = where(m, x, -x). */
  {
    uint8_t m[N] = {1, 0, 1, 1, 0};
    float gx[N] = {1, 2, 3, 4, 5}, gout[N];
    int64_t sn[1] = {N}, sno[1] = {N};
    DLTensor tm, tgx, tgo, *ga[3] = {&tm, &tgx, &tgo};
    static const uint8_t codes[3] = {kDLUInt, 6, kDLInt};
    for (int k = 0; k < 3; k++) {
      tensor(&tm, m, TEX_BOOL, 1, sn);
      tm.dtype.code = codes[k];
      tensor(&tgx, gx, TEX_F32, 1, sn);
      tensor(&tgo, gout, TEX_F32, 1, sno);
      memset(gout, 0, sizeof gout);
      char what[64];
      fmt(what, sizeof what, "bool as %s (DLPack code %d, 8 bits)", k == 0 ? "kDLUInt" : k == 1 ? "kDLBool" : "kDLInt", codes[k]);
      rc = call_fn(e.g, 3, ga);
      expect_status(&c, &e, what, rc, k < 2 ? TEX_OK : TEX_ERR_DTYPE, nm);
      for (int i = 0; i < N && k < 2 && rc == 0; i++)
        if (gout[i] != (m[i] ? gx[i] : -gx[i])) failf(&c, "%s: out[%d] = %g", what, i, gout[i]);
    }
    tensor(&tm, m, TEX_BOOL, 1, sn);
    tm.dtype.bits = 32;
    expect_status(&c, &e, "bool as uint32", call_fn(e.g, 3, ga), TEX_ERR_DTYPE, nm);
  }

  /* TEX_ERR_RANK. */
  RESET();
  {
    int64_t s2[2] = {N, 1};
    ty.ndim = 2;
    ty.shape = s2;
    expect_status(&c, &e, "rank 2 for rank 1", call_fn(e.f, 3, a), TEX_ERR_RANK, ny);
  }
  RESET();
  to.ndim = 0;
  expect_status(&c, &e, "rank 0 output for rank 1", call_fn(e.f, 3, a), TEX_ERR_RANK, nout);
  UNTOUCHED("rank 0 output");

  /* TEX_ERR_SHAPE: a symbol disagreeing across two args, a literal dim, the
   * output shape, a negative dim. */
  RESET();
  sy[0] = N - 1;
  expect_status(&c, &e, "N disagrees between x and y", call_fn(e.f, 3, a), TEX_ERR_SHAPE, ny);
  UNTOUCHED("N disagrees");
  RESET();
  sx[1] = 2;
  expect_status(&c, &e, "literal dim 3 given 2", call_fn(e.f, 3, a), TEX_ERR_SHAPE, nx);
  RESET();
  so[0] = N + 1;
  expect_status(&c, &e, "output shape N+1", call_fn(e.f, 3, a), TEX_ERR_SHAPE, nout);
  UNTOUCHED("output shape");
  RESET();
  sy[0] = -1;
  expect_status(&c, &e, "negative dim", call_fn(e.f, 3, a), TEX_ERR_SHAPE, ny);

  /* TEX_ERR_OVERFLOW: the size product overflows (NULL data: bind must not
   * touch it); data + byte_offset wraps around. */
  {
    int64_t big[2] = {INT64_C(1) << 40, INT64_C(1) << 40}, sko[2] = {N, K};
    DLTensor tb, tko, *ha[2] = {&tb, &tko};
    tensor(&tb, NULL, TEX_F32, 2, big);
    tensor(&tko, outk, TEX_F32, 2, sko);
    expect_status(&c, &e, "shape 2^40 x 2^40", call_fn(e.h, 2, ha), TEX_ERR_OVERFLOW, nx);
    big[0] = INT64_MAX / 2, big[1] = 3;
    expect_status(&c, &e, "shape (2^62) x 3 f32 bytes", call_fn(e.h, 2, ha), TEX_ERR_OVERFLOW, nx);
    int64_t sk[2] = {N, K};
    tensor(&tb, xk, TEX_F32, 2, sk);
    tb.byte_offset = UINT64_MAX - 8;
    expect_status(&c, &e, "byte_offset wraps around", call_fn(e.h, 2, ha), TEX_ERR_OVERFLOW, nx);
  }

  /* TEX_ERR_LAYOUT: a transposed view; odd strides on extent-1 axes are fine. */
  {
    int64_t sk[2] = {N, K}, st[2] = {1, N}, sko[2] = {N, K};
    DLTensor tb, tko, *ha[2] = {&tb, &tko};
    tensor(&tb, xk, TEX_F32, 2, sk);
    tb.strides = st;
    tensor(&tko, outk, TEX_F32, 2, sko);
    expect_status(&c, &e, "transposed view (strides {1, N})", call_fn(e.h, 2, ha), TEX_ERR_LAYOUT, nx);
    int64_t sgood[2] = {K, 1}, spad[2] = {K + 1, 1};
    tb.strides = spad;
    expect_status(&c, &e, "padded rows (strides {K+1, 1})", call_fn(e.h, 2, ha), TEX_ERR_LAYOUT, nx);
    tb.strides = sgood;
    tko.strides = st;
    expect_status(&c, &e, "transposed output", call_fn(e.h, 2, ha), TEX_ERR_LAYOUT, nout);
    /* [1, K] with stride 999 on the extent-1 axis, [N, 1] with stride -7 there. */
    int64_t s1k[2] = {1, K}, st1k[2] = {999, 1}, sn1[2] = {N, 1}, stn1[2] = {1, -7};
    tensor(&tb, xk, TEX_F32, 2, s1k);
    tb.strides = st1k;
    tensor(&tko, outk, TEX_F32, 2, s1k);
    tko.strides = st1k;
    memset(outk, 0, sizeof outk);
    rc = call_fn(e.h, 2, ha);
    expect_status(&c, &e, "odd stride on extent-1 axis [1, K]", rc, TEX_OK, NULL);
    for (int i = 0; i < K && rc == 0; i++)
      if (outk[i] != 2 * xk[i]) failf(&c, "[1, K] odd strides: out[%d] = %g, want %g", i, outk[i], 2 * xk[i]);
    tensor(&tb, xk, TEX_F32, 2, sn1);
    tb.strides = stn1;
    tensor(&tko, outk, TEX_F32, 2, sn1);
    tko.strides = stn1;
    memset(outk, 0, sizeof outk);
    rc = call_fn(e.h, 2, ha);
    expect_status(&c, &e, "odd stride on extent-1 axis [N, 1]", rc, TEX_OK, NULL);
    for (int i = 0; i < N && rc == 0; i++)
      if (outk[i] != 2 * xk[i]) failf(&c, "[N, 1] odd strides: out[%d] = %g, want %g", i, outk[i], 2 * xk[i]);
  }

  /* byte_offset honoured; misaligned data (floats at address + 1 byte). */
  {
    enum { OFF = 6 };
    float bigbuf[N * K + OFF], bigout[N * K + 2];
    int64_t sk[2] = {N, K};
    DLTensor tb, tko, *ha[2] = {&tb, &tko};
    for (int i = 0; i < N * K + OFF; i++) bigbuf[i] = -100.0f - (float)i;
    memcpy(bigbuf + OFF, xk, sizeof xk);
    memset(bigout, 0, sizeof bigout);
    tensor(&tb, bigbuf, TEX_F32, 2, sk);
    tb.byte_offset = OFF * sizeof(float);
    tensor(&tko, bigout, TEX_F32, 2, sk);
    tko.byte_offset = 2 * sizeof(float);
    rc = call_fn(e.h, 2, ha);
    expect_status(&c, &e, "byte_offset", rc, TEX_OK, NULL);
    for (int i = 0; i < N * K && rc == 0; i++)
      if (bigout[i + 2] != 2 * xk[i]) {
        failf(&c, "byte_offset: out[%d] = %g, want %g", i, bigout[i + 2], 2 * xk[i]);
        break;
      }
    if (bigout[0] != 0 || bigout[1] != 0) failf(&c, "byte_offset: wrote before the output's byte_offset");

    unsigned char cin[sizeof xk + 16], cout[sizeof xk + 16];
    memset(cout, 0, sizeof cout);
    memcpy(cin + 1, xk, sizeof xk);
    tensor(&tb, cin, TEX_F32, 2, sk);
    tb.byte_offset = 1;
    tensor(&tko, cout + 3, TEX_F32, 2, sk); /* misaligned data pointer itself */
    rc = call_fn(e.h, 2, ha);
    expect_status(&c, &e, "misaligned input and output", rc, TEX_OK, NULL);
    for (int i = 0; i < N * K && rc == 0; i++) {
      float v;
      memcpy(&v, cout + 3 + sizeof(float) * (size_t)i, sizeof v);
      if (v != 2 * xk[i]) {
        failf(&c, "misaligned: out[%d] = %g, want %g", i, v, 2 * xk[i]);
        break;
      }
    }
    if (cout[0] || cout[1] || cout[2] || !all_bytes(cout + 3 + sizeof xk, sizeof cout - 3 - sizeof xk, 0))
      failf(&c, "misaligned: wrote outside the output");
  }

  /* TEX_ERR_DEVICE: CUDA memory; kDLCUDAHost (pinned host memory) is accepted. */
  RESET();
  tx.device = (DLDevice){kDLCUDA, 0};
  expect_status(&c, &e, "kDLCUDA input", call_fn(e.f, 3, a), TEX_ERR_DEVICE, nx);
  UNTOUCHED("kDLCUDA input");
  RESET();
  to.device = (DLDevice){kDLCUDA, 1};
  expect_status(&c, &e, "kDLCUDA output", call_fn(e.f, 3, a), TEX_ERR_DEVICE, nout);
  RESET();
  ty.device = (DLDevice){kDLCUDAHost, 0};
  expect_status(&c, &e, "kDLCUDAHost input", call_fn(e.f, 3, a), TEX_OK, NULL);

  /* TEX_ERR_ALIAS: the output overlapping an input, fully or partly; two
   * overlapping inputs are fine. */
  {
    float yo[N + 1];
    memcpy(yo, y, sizeof y);
    RESET();
    ty.data = yo;
    to.data = yo;
    expect_status(&c, &e, "output == input y", call_fn(e.f, 3, a), TEX_ERR_ALIAS, nalias);
    RESET();
    ty.data = yo;
    to.data = yo;
    to.byte_offset = sizeof(float) * (N - 1);
    expect_status(&c, &e, "output overlaps the last element of y", call_fn(e.f, 3, a), TEX_ERR_ALIAS, nalias);
    if (memcmp(yo, y, sizeof y) != 0) failf(&c, "alias: y was written");
    RESET();
    to.data = x;
    expect_status(&c, &e, "output inside x", call_fn(e.f, 3, a), TEX_ERR_ALIAS, nout);
    /* Adjacent, not overlapping: out right after y. */
    float yy[2 * N];
    memcpy(yy, y, sizeof y);
    RESET();
    ty.data = yy;
    to.data = yy + N;
    rc = call_fn(e.f, 3, a);
    expect_status(&c, &e, "output adjacent to y", rc, TEX_OK, NULL);
    /* Overlapping inputs: y is a view into x's buffer. */
    float xy[N * 3];
    memcpy(xy, x, sizeof x);
    RESET();
    tx.data = xy;
    ty.data = xy;
    rc = call_fn(e.f, 3, a);
    expect_status(&c, &e, "two inputs sharing memory", rc, TEX_OK, NULL);
    for (int i = 0; i < N && rc == 0; i++) {
      double want = (double)x[3 * i] + x[3 * i + 1] + x[3 * i + 2] + x[i];
      if (fabs(out[i] - want) > 1e-5) failf(&c, "shared inputs: out[%d] = %g, want %g", i, out[i], want);
    }
  }

  /* Empty tensors: N = 0 with NULL data everywhere is a valid call. */
  RESET();
  sx[0] = 0, sy[0] = 0, so[0] = 0;
  tx.data = ty.data = to.data = NULL;
  expect_status(&c, &e, "N = 0 with NULL data", call_fn(e.f, 3, a), TEX_OK, NULL);

  /* TEX_ERR_ASSERT needs a shape assertion, which no .tex construct emits yet. */
  for (int i = 0; i < e.lib.mi->nfuncs; i++)
    if (e.lib.mi->funcs[i].nasserts != 0)
      print_message("    note: %s has %d shape assertions; add a TEX_ERR_ASSERT case\n", e.lib.mi->funcs[i].name,
                    e.lib.mi->funcs[i].nasserts);
  /* The message of a good call after a failing one: the contract is "meaningful
   * only after a nonzero return", so only check it is still a string. */
  if (!e.lib.last_error()) failf(&c, "last_error() returned NULL");
#undef RESET
#undef UNTOUCHED
  unload(&e.lib);
  if (c.failures) fail_msg("call errors: %d failures", c.failures);
}

/* Two modules loaded at once keep their own symbols and metadata. */
static void test_two_modules(void **state) {
  (void)state;
  static Program prog;
  Ctx c = {.p = &prog};
  fmt(prog.path, sizeof prog.path, "%s/errs.tex", e2e_dir);
  fmt(prog.file, sizeof prog.file, "errs.tex (two modules)");
  Lib a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  a.what = b.what = "default";
  bool ok = compile(&c, &prog, "twomod_a", "--prefix=twomod_a", &a) && compile(&c, &prog, "twomod_b", "--prefix=twomod_b", &b) &&
            load(&c, &a) && load(&c, &b);
  if (ok) {
    if (a.mi == b.mi || strcmp(a.mi->prefix, "twomod_a") != 0 || strcmp(b.mi->prefix, "twomod_b") != 0)
      failf(&c, "two modules share metadata");
    if (dlsym(a.h, "texrt_bind") || dlsym(a.h, "texrt_run") || dlsym(b.h, "texrt_last_error"))
      failf(&c, "the runtime's texrt_* symbols leak out of the .so");
    /* An error in one module does not show in the other's message. */
    int64_t s[1] = {3}, s2[2] = {3, 2};
    float v[6] = {0};
    DLTensor tx, ty, to, *args[3] = {&tx, &ty, &to};
    tensor(&tx, v, TEX_F32, 2, s2);
    tensor(&ty, v, TEX_F32, 1, s);
    tensor(&to, v + 3, TEX_F32, 1, s);
    void *fa = dlsym(a.h, "twomod_a_f");
    if (fa && call_fn(fa, 3, args) != TEX_ERR_SHAPE) failf(&c, "twomod_a_f: want TEX_ERR_SHAPE");
    if (!strstr(a.last_error(), "twomod_a_f")) failf(&c, "module a's message: %s", a.last_error());
    if (strstr(b.last_error(), "twomod_a_f")) failf(&c, "module b shows module a's error: %s", b.last_error());
  }
  unload(&a);
  unload(&b);
  if (c.failures) fail_msg("two modules: %d failures", c.failures);
}

/* ---- setup ---------------------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

static int group_setup(void **state) {
  (void)state;
  fmt(tmpdir, sizeof tmpdir, "%s/texc-e2e-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(tmpdir)) {
    fprintf(stderr, "e2e: mkdtemp: %s\n", strerror(errno));
    return -1;
  }
#if defined(__SANITIZE_ADDRESS__)
  /* This driver is instrumented, and the texc beside it links each .so with
   * the instrumented libtexrt.a, whose __asan_/__ubsan_ references texc's
   * `-Wl,--no-undefined` rejects.  Link through a `cc` that adds the
   * sanitizer runtimes (shared, the same ones this process has loaded). */
  if (!getenv("TEXC_CC")) {
    char cc[PATH_MAX];
    fmt(cc, sizeof cc, "%s/cc-san", tmpdir);
    FILE *f = fopen(cc, "w");
    if (!f) return -1;
    fprintf(f, "#!/bin/sh\nexec cc \"$@\" -fsanitize=address,undefined\n");
    fclose(f);
    chmod(cc, 0755);
    setenv("TEXC_CC", cc, 1);
    print_message("e2e: sanitizer build: TEXC_CC=%s (cc ... -fsanitize=address,undefined)\n", cc);
  }
#endif
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  const char *keep = getenv("E2E_KEEP");
  if (keep && *keep == '1') {
    print_message("e2e: kept %s\n", tmpdir);
    return 0;
  }
  return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(int argc, char **argv) {
  e2e_dir = argc > 1 ? argv[1] : "tests/e2e";
  texc_path = getenv("TEXC");
  if (!texc_path || !*texc_path) texc_path = "build/texc";
  if (access(texc_path, X_OK) != 0) {
    fprintf(stderr, "e2e: the compiler %s is not executable (set TEXC)\n", texc_path);
    return 1;
  }
  const char *seed = getenv("E2E_SEED");
  if (seed && *seed) base_seed = strtoull(seed, NULL, 0);
  verbose = getenv("E2E_VERBOSE") && *getenv("E2E_VERBOSE") == '1';
  scan_programs(e2e_dir);
  printf("e2e: %d programs in %s, TEXC=%s, E2E_SEED=%llu\n", nprograms, e2e_dir, texc_path,
         (unsigned long long)base_seed);

  struct CMUnitTest *tests = xcalloc((size_t)nprograms + 4, sizeof *tests);
  size_t n = 0;
  tests[n++] = (struct CMUnitTest){"program_count", test_program_count, NULL, NULL, NULL};
  for (int i = 0; i < nprograms; i++)
    tests[n++] = (struct CMUnitTest){programs[i]->file, test_program, NULL, NULL, programs[i]};
  tests[n++] = (struct CMUnitTest){"call_errors", test_call_errors, NULL, NULL, NULL};
  tests[n++] = (struct CMUnitTest){"two_modules", test_two_modules, NULL, NULL, NULL};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int failed = _cmocka_run_group_tests("e2e", tests, n, group_setup, group_teardown);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("e2e: %.1f s\n", (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
  for (int i = 0; i < nprograms; i++) free(programs[i]);
  free(tests);
  return failed ? 1 : 0;
}
