/* bench.c — times one function of a texc-generated .so, called through its
 * metadata (any function, any shapes), and prints the median.
 *
 *   bench LIB.so PREFIX FN SYM=VAL[,SYM=VAL...] [REPS]
 *
 * Inputs are uniform in [-0.05, 0.05] (floats); the first call warms up.  One
 * thread: texc has no thread pool yet, and the peers are pinned to one too. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "texrt.h"

enum { MAX_ARGS = 24 };

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int64_t sym_value(const char *assign, const char *name) {
  size_t n = strlen(name);
  for (const char *p = assign; p && *p;) {
    if (strncmp(p, name, n) == 0 && p[n] == '=') return atoll(p + n + 1);
    p = strchr(p, ',');
    if (p) p++;
  }
  fprintf(stderr, "bench: no value for symbol %s\n", name);
  exit(2);
}

static int64_t eval_dim(const TexDimExpr *e, const int64_t *syms) {
  int64_t stack[16];
  int sp = 0;
  for (int i = 0; i < e->len; i++) {
    int64_t op = e->code[i];
    if (op == TEX_DIM_LIT) stack[sp++] = e->code[++i];
    else if (op == TEX_DIM_SYM) stack[sp++] = syms[e->code[++i]];
    else if (op == TEX_DIM_ADD) sp--, stack[sp - 1] += stack[sp];
    else if (op == TEX_DIM_MUL) sp--, stack[sp - 1] *= stack[sp];
    else { fprintf(stderr, "bench: dim op %lld\n", (long long)op); exit(2); }
  }
  return stack[0];
}



int main(int argc, char **argv) {
  if (argc < 5) return fprintf(stderr, "usage: bench LIB.so PREFIX FN SYM=VAL,... [REPS]\n"), 2;
  int reps = argc > 5 ? atoi(argv[5]) : 20;
  void *so = dlopen(argv[1], RTLD_NOW);
  if (!so) return fprintf(stderr, "bench: %s\n", dlerror()), 2;
  char sym[256];
  snprintf(sym, sizeof sym, "%s_module_info", argv[2]);
  const TexModuleInfo *mi = ((const TexModuleInfo *(*)(void))dlsym(so, sym))();
  const TexFuncInfo *f = NULL;
  for (int i = 0; i < mi->nfuncs; i++)
    if (strcmp(mi->funcs[i].name, argv[3]) == 0) f = &mi->funcs[i];
  if (!f) return fprintf(stderr, "bench: no function %s\n", argv[3]), 2;
  int64_t syms[64], shapes[MAX_ARGS][8];
  for (int s = 0; s < f->nsyms; s++) syms[s] = sym_value(argv[4], f->sym_names[s]);
  DLTensor t[MAX_ARGS], *a[MAX_ARGS];
  unsigned seed = 1;
  for (int p = 0; p < f->nparams; p++) {
    const TexParamInfo *pi = &f->params[p];
    int64_t n = 1;
    for (int d = 0; d < pi->rank; d++) n *= shapes[p][d] = eval_dim(&pi->dims[d], syms);
    float *data = aligned_alloc(64, (size_t)(n * 4 + 64) & ~(size_t)63);
    for (int64_t j = 0; j < n; j++) data[j] = ((float)(rand_r(&seed) % 2001) - 1000.0f) * 5e-5f;
    t[p] = (DLTensor){data, {kDLCPU, 0}, pi->rank, {kDLFloat, 32, 1}, shapes[p], NULL, 0};
    a[p] = &t[p];
  }
  snprintf(sym, sizeof sym, "%s_call", argv[2]);
  int (*call)(int, const DLTensor *const *) = (int (*)(int, const DLTensor *const *))dlsym(so, sym);
  int index = (int)(f - mi->funcs);
  double times[1000];
  if (reps > 1000) reps = 1000;
  if (call(index, (const DLTensor *const *)a) != 0) {
    snprintf(sym, sizeof sym, "%s_last_error", argv[2]);
    return fprintf(stderr, "bench: %s\n", ((const char *(*)(void))dlsym(so, sym))()), 1;
  }
  for (int r = 0; r < reps; r++) {
    double t0 = now_ms();
    call(index, (const DLTensor *const *)a);
    times[r] = now_ms() - t0;
  }
  qsort(times, (size_t)reps, sizeof(double), cmp_double);
  printf("%.4f\n", times[reps / 2]);
  return 0;
}
