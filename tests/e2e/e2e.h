/* e2e.h — what the two halves of the end-to-end suite share: driver.c (the
 * .tex programs against refs.c) and errors.c (call-time errors through a
 * real .so, two modules loaded at once).
 *
 * The program descriptions parsed from the `# e2e:` directives, failure
 * collection (Ctx, e2e_failf), compiling and loading a program's .so (Lib,
 * e2e_compile/e2e_load/e2e_unload), calling a generated function, and the
 * settings main() fills in.  Everything else in either file is static. */
#ifndef E2E_E2E_H
#define E2E_E2E_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "texrt.h"

enum {
  MAX_FNS = 128,
  MAX_SIZES = 24,
  MAX_SIZE_VALS = 16,
  MAX_RANGES = 32,
  MAX_PRIVATE = 16,
};

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

/* ---- settings (main, driver.c) ------------------------------------------------ */

extern char e2e_tmpdir[PATH_MAX]; /* the mkdtemp folder every .so is built in */
extern const char *e2e_texc_path; /* the compiler (TEXC) */
extern const char *e2e_dir;       /* the folder of the .tex programs */
extern bool e2e_verbose;          /* E2E_VERBOSE=1 */

/* ---- small utilities ----------------------------------------------------------- */

/* snprintf through a va_list: the same, minus GCC's truncation guesses about
 * paths that are PATH_MAX long in theory and short in practice. */
int e2e_fmt(char *buf, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));

/* The DLPack dtype of a TEX_* dtype (bool: kDLUInt, 8 bits). */
DLDataType e2e_dl_dtype(int dtype);

/* ---- failure collection ------------------------------------------------------ */

typedef struct Ctx {
  const Program *p;
  int failures;
  int suppressed;
} Ctx;

/* Counts a failure and prints it (the first 60), tagged with the program. */
void e2e_failf(Ctx *c, const char *f, ...) __attribute__((format(printf, 2, 3)));

/* ---- compiling, loading, calling ---------------------------------------------- */

typedef struct Lib {
  void *h;
  char prefix[128];
  char so[PATH_MAX];
  char header[PATH_MAX];
  const TexModuleInfo *mi;
  const char *(*last_error)(void);
  int (*set_threads)(int n); /* <prefix>_set_num_threads */
  const char *what; /* "default", "-O0", "x86-64-v2" */
} Lib;

/* Compiles p with extra flags into lib<prefix>.so in e2e_tmpdir. */
bool e2e_compile(Ctx *c, const Program *p, const char *prefix, const char *flags, Lib *lib);
/* dlopens lib->so and finds <prefix>_module_info and <prefix>_last_error. */
bool e2e_load(Ctx *c, Lib *lib);
void e2e_unload(Lib *lib);
/* Calls a generated function with n tensor arguments (n <= 8); -1 for more. */
int e2e_call_fn(void *fp, int n, DLTensor **a);

/* ---- the tests of errors.c ------------------------------------------------------ */

void e2e_test_call_errors(void **state);
void e2e_test_two_modules(void **state);
/* errors_index.c: TEX_ERR_INDEX from gathers, scatters and computed subscripts. */
void e2e_test_index_errors(void **state);

#endif
