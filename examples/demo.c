/* demo.c — calls the compiled examples/logreg.tex on real data.
 *
 * Loads the handwritten-digits set (1,797 8x8 images, 10 classes), holds out
 * every fifth image, sets the weights of the linear model from the training
 * images' class means (the nearest-centroid classifier written as a linear
 * layer: W[:,k] = mean_k, b[k] = -|mean_k|^2 / 2; gradient training arrives
 * with `texc --grad`), then runs logreg_predict on the held-out images and
 * prints the accuracy and the module's metadata. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logreg.h"
#include "texrt.h"

enum { D = 64, K = 10, MAX_ROWS = 2000 };

static int load_digits(const char *path, float *x, int *y) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int n = 0;
  while (n < MAX_ROWS) {
    int ok = 1;
    for (int j = 0; j < D && ok; j++) ok = fscanf(f, "%f,", &x[n * D + j]) == 1;
    if (!ok || fscanf(f, "%d", &y[n]) != 1) break;
    for (int j = 0; j < D; j++) x[n * D + j] /= 16.0f; /* pixels are 0..16 */
    n++;
  }
  fclose(f);
  return n;
}

static DLTensor tensor(float *data, int ndim, int64_t *shape) {
  DLTensor t = {data, {kDLCPU, 0}, ndim, {kDLFloat, 32, 1}, shape, NULL, 0};
  return t;
}

/* Prints a dim expression from the metadata bytecode (texrt.h). */
static void print_dim(const TexDimExpr *e, const TexFuncInfo *f) {
  for (int i = 0; i < e->len; i++) {
    int64_t op = e->code[i];
    printf("%s", i ? " " : "");
    if (op == TEX_DIM_LIT) printf("%lld", (long long)e->code[++i]);
    else if (op == TEX_DIM_SYM) printf("%s", f->sym_names[e->code[++i]]);
    else printf("%s", op == TEX_DIM_ADD ? "+" : op == TEX_DIM_MUL ? "*" : "?");
  }
}

static void print_metadata(const TexModuleInfo *m) {
  static const char *const dtypes[] = {"f32", "f64", "i32", "i64", "bool"};
  printf("module %s (abi %u, from %s, texc %s, cpu %s); dims decoded from the metadata bytecode:\n", m->prefix, m->abi_version, m->source, m->texc_version, m->cpu);
  for (int i = 0; i < m->nfuncs; i++) {
    const TexFuncInfo *f = &m->funcs[i];
    printf("  %s: %d params (%d inputs), symbols:", f->symbol, f->nparams, f->ninputs);
    for (int s = 0; s < f->nsyms; s++) printf(" %s", f->sym_names[s]);
    printf("\n");
    for (int p = 0; p < f->nparams; p++) {
      const TexParamInfo *pi = &f->params[p];
      printf("    %-4s %-4s %s[", pi->role == TEX_OUT ? "out" : "in", pi->name, dtypes[pi->dtype]);
      for (int d = 0; d < pi->rank; d++) print_dim(&pi->dims[d], f), printf("%s", d + 1 < pi->rank ? ", " : "");
      printf("]\n");
    }
  }
}

int main(int argc, char **argv) {
  static float x[MAX_ROWS * D], xtest[MAX_ROWS * D], probs[MAX_ROWS * K];
  static int y[MAX_ROWS], ytest[MAX_ROWS];
  static float W[D * K], b[K], mean[K][D];
  int count[K] = {0};
  int n = load_digits(argc > 1 ? argv[1] : "digits.csv", x, y);
  if (n <= 0) return fprintf(stderr, "demo: cannot read the digits data\n"), 1;

  int ntest = 0;
  for (int i = 0; i < n; i++) {
    if (i % 5 == 4) { /* held out */
      memcpy(&xtest[ntest * D], &x[i * D], sizeof(float) * D);
      ytest[ntest++] = y[i];
      continue;
    }
    count[y[i]]++;
    for (int j = 0; j < D; j++) mean[y[i]][j] += x[i * D + j];
  }
  for (int k = 0; k < K; k++) {
    float norm = 0;
    for (int j = 0; j < D; j++) {
      mean[k][j] /= (float)count[k];
      W[j * K + k] = mean[k][j];
      norm += mean[k][j] * mean[k][j];
    }
    b[k] = -norm / 2;
  }
  printf("digits: %d images, %d for the class means, %d held out\n", n, n - ntest, ntest);

  int64_t wshape[2] = {D, K}, bshape[1] = {K}, xshape[2] = {ntest, D}, pshape[2] = {ntest, K};
  DLTensor tW = tensor(W, 2, wshape), tb = tensor(b, 1, bshape), tx = tensor(xtest, 2, xshape), tp = tensor(probs, 2, pshape);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int rc = logreg_predict(&tW, &tb, &tx, &tp);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (rc) return fprintf(stderr, "logreg_predict failed (%s): %s\n", tex_status_text(rc), logreg_last_error()), 1;

  int correct = 0;
  double worst_sum_error = 0;
  for (int i = 0; i < ntest; i++) {
    int best = 0;
    double total = 0;
    for (int k = 0; k < K; k++) {
      total += probs[i * K + k];
      if (probs[i * K + k] > probs[i * K + best]) best = k;
    }
    worst_sum_error = fmax(worst_sum_error, fabs(total - 1));
    correct += best == ytest[i];
  }
  printf("logreg_predict on %d images: %.3f ms; rows sum to 1 within %.1e\n", ntest,
         (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, worst_sum_error);
  printf("held-out accuracy: %.2f\n", (double)correct / ntest);

  /* A mistake on purpose: x with 63 features instead of 64. */
  int64_t bad[2] = {ntest, D - 1};
  DLTensor tbad = tensor(xtest, 2, bad);
  rc = logreg_predict(&tW, &tb, &tbad, &tp);
  printf("\ncalling with a wrong shape returns %d (%s):\n  %s\n\n", rc, tex_status_text(rc), logreg_last_error());
  print_metadata(logreg_module_info());
  return 0;
}
