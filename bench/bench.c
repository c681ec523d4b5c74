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


static int call(void *fn, int n, DLTensor **a) {
  typedef DLTensor *T;
  switch (n) {
  case 1: return ((int (*)(T))fn)(a[0]);
  case 2: return ((int (*)(T, T))fn)(a[0], a[1]);
  case 3: return ((int (*)(T, T, T))fn)(a[0], a[1], a[2]);
  case 4: return ((int (*)(T, T, T, T))fn)(a[0], a[1], a[2], a[3]);
  case 5: return ((int (*)(T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4]);
  case 6: return ((int (*)(T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5]);
  case 7: return ((int (*)(T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
  case 8: return ((int (*)(T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
  case 9: return ((int (*)(T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]);
  case 10: return ((int (*)(T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
  case 11: return ((int (*)(T, T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
  case 12: return ((int (*)(T, T, T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]);
  case 13: return ((int (*)(T, T, T, T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12]);
  case 14: return ((int (*)(T, T, T, T, T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13]);
  case 15: return ((int (*)(T, T, T, T, T, T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14]);
  case 16: return ((int (*)(T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]);
  case 17: return ((int (*)(T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16]);
  case 18: return ((int (*)(T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16], a[17]);
  case 19: return ((int (*)(T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16], a[17], a[18]);
  case 20: return ((int (*)(T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16], a[17], a[18], a[19]);
  case 21: return ((int (*)(T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16], a[17], a[18], a[19], a[20]);
  case 22: return ((int (*)(T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16], a[17], a[18], a[19], a[20], a[21]);
  case 23: return ((int (*)(T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16], a[17], a[18], a[19], a[20], a[21], a[22]);
  case 24: return ((int (*)(T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T))fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], a[16], a[17], a[18], a[19], a[20], a[21], a[22], a[23]);
  default: fprintf(stderr, "bench: no call shape for %d arguments\n", n); exit(2);
  }
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
  void *fn = dlsym(so, f->symbol);
  double times[1000];
  if (reps > 1000) reps = 1000;
  if (call(fn, f->nparams, a) != 0) {
    snprintf(sym, sizeof sym, "%s_last_error", argv[2]);
    return fprintf(stderr, "bench: %s\n", ((const char *(*)(void))dlsym(so, sym))()), 1;
  }
  for (int r = 0; r < reps; r++) {
    double t0 = now_ms();
    call(fn, f->nparams, a);
    times[r] = now_ms() - t0;
  }
  qsort(times, (size_t)reps, sizeof(double), cmp_double);
  printf("%.4f\n", times[reps / 2]);
  return 0;
}
