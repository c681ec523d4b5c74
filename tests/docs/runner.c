/* runner.c — calls every exported function of a compiled .so with
 * generated inputs (tests/docs/run.sh: the runnable examples of
 * lang/reference.md).
 *
 *   runner LIB.so PREFIX [SYM=V ...]
 *
 * Every size symbol is 3 unless given; float inputs are uniform in
 * [0.25, 1] (so log, sqrt and division are defined), integer inputs 0 or 1
 * (so they index any axis), bools alternate.  Each call must return 0 and
 * every float output must be finite.  Exit status 0 when all pass. */
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "texrt.h"

enum { MAX_P = 64 };

static size_t esize(int dtype) { return dtype == TEX_F64 || dtype == TEX_I64 ? 8 : dtype == TEX_BOOL ? 1 : 4; }

static DLDataType dl_dtype(int dtype) {
  switch (dtype) {
  case TEX_F32: return (DLDataType){kDLFloat, 32, 1};
  case TEX_F64: return (DLDataType){kDLFloat, 64, 1};
  case TEX_I32: return (DLDataType){kDLInt, 32, 1};
  case TEX_I64: return (DLDataType){kDLInt, 64, 1};
  default: return (DLDataType){kDLUInt, 8, 1};
  }
}

static void fill(void *data, int dtype, int64_t n, uint64_t *seed) {
  for (int64_t i = 0; i < n; i++) {
    *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
    double u = 0.25 + 0.75 * (double)(*seed >> 11) * 0x1.0p-53;
    switch (dtype) {
    case TEX_F32: ((float *)data)[i] = (float)u; break;
    case TEX_F64: ((double *)data)[i] = u; break;
    case TEX_I32: ((int32_t *)data)[i] = (int32_t)(*seed >> 63); break;
    case TEX_I64: ((int64_t *)data)[i] = (int64_t)(*seed >> 63); break;
    default: ((uint8_t *)data)[i] = (uint8_t)(i & 1); break;
    }
  }
}

static bool finite_all(const void *data, int dtype, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if ((dtype == TEX_F32 && !isfinite(((const float *)data)[i])) || (dtype == TEX_F64 && !isfinite(((const double *)data)[i])))
      return false;
  return true;
}

static int run_fn(const TexFuncInfo *f, int index, int (*call)(int, const DLTensor *const *), int argc, char **argv) {
  int64_t syms[TEX_MAX_SYMS];
  for (int s = 0; s < f->nsyms && s < TEX_MAX_SYMS; s++) {
    syms[s] = 3;
    for (int a = 0; a < argc; a++) {
      size_t len = strlen(f->sym_names[s]);
      if (strncmp(argv[a], f->sym_names[s], len) == 0 && argv[a][len] == '=') syms[s] = strtoll(argv[a] + len + 1, NULL, 10);
    }
  }
  if (f->nparams > MAX_P) {
    fprintf(stderr, "%s: too many parameters for the runner\n", f->symbol);
    return 1;
  }
  DLTensor t[MAX_P];
  const DLTensor *args[MAX_P];
  int64_t shapes[MAX_P][8], numel[MAX_P];
  void *data[MAX_P] = {0};
  uint64_t seed = 42;
  int bad = 0;
  for (int k = 0; k < f->nparams; k++) {
    const TexParamInfo *p = &f->params[k];
    numel[k] = 1;
    for (int d = 0; d < p->rank; d++) {
      if (texrt_dim_eval(&p->dims[d], syms, &shapes[k][d]) != TEX_OK || shapes[k][d] < 0) {
        fprintf(stderr, "%s: cannot size '%s' (give its symbols: runner LIB PREFIX SYM=V)\n", f->symbol, p->name);
        return 1;
      }
      numel[k] *= shapes[k][d];
    }
    data[k] = calloc((size_t)numel[k] + 1, esize(p->dtype));
    if (k < f->ninputs) fill(data[k], p->dtype, numel[k], &seed);
    memset(&t[k], 0, sizeof t[k]);
    t[k].data = data[k];
    t[k].device = (DLDevice){kDLCPU, 0};
    t[k].dtype = dl_dtype(p->dtype);
    t[k].ndim = p->rank;
    t[k].shape = shapes[k];
    args[k] = &t[k];
  }
  int rc = call(index, args);
  if (rc != TEX_OK) {
    fprintf(stderr, "%s: returned %d\n", f->symbol, rc);
    bad = 1;
  }
  for (int k = 0; k < f->nparams && !bad; k++)
    if (f->params[k].role != TEX_IN && !finite_all(data[k], f->params[k].dtype, numel[k])) {
      fprintf(stderr, "%s: output '%s' is not finite\n", f->symbol, f->params[k].name);
      bad = 1;
    }
  for (int k = 0; k < f->nparams; k++) free(data[k]);
  if (!bad) printf("  ran %s\n", f->symbol);
  return bad;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: runner LIB.so PREFIX [SYM=V ...]\n");
    return 2;
  }
  void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "runner: %s\n", dlerror());
    return 1;
  }
  char name[256];
  snprintf(name, sizeof name, "%s_module_info", argv[2]);
  const TexModuleInfo *(*info)(void) = (const TexModuleInfo *(*)(void))dlsym(h, name);
  snprintf(name, sizeof name, "%s_call", argv[2]);
  int (*call)(int, const DLTensor *const *) = (int (*)(int, const DLTensor *const *))dlsym(h, name);
  snprintf(name, sizeof name, "%s_last_error", argv[2]);
  const char *(*last_error)(void) = (const char *(*)(void))dlsym(h, name);
  if (!info || !call || !last_error) {
    fprintf(stderr, "runner: %s lacks the %s_* entry points\n", argv[1], argv[2]);
    return 1;
  }
  const TexModuleInfo *mi = info();
  int bad = 0;
  for (int i = 0; i < mi->nfuncs; i++)
    if (run_fn(&mi->funcs[i], i, call, argc - 3, argv + 3)) {
      fprintf(stderr, "  %s\n", last_error());
      bad = 1;
    }
  return bad;
}
