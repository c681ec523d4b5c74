/* demo.c — trains the compiled examples/logreg.tex on real data.
 *
 * Loads the handwritten-digits set (1,797 8x8 images, 10 classes), holds out
 * every fifth image, and trains multinomial logistic regression with the
 * compiled logreg_train_step (forward, gradient and SGD update in one call,
 * updating W and b in place), minibatch by minibatch.  Prints the loss per
 * epoch, the held-out accuracy from logreg_predict, what a wrong call
 * returns, and the module's metadata. */
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
      printf("    %-5s %-5s %s[", pi->role == TEX_OUT ? "out" : pi->role == TEX_INOUT ? "inout" : "in", pi->name, dtypes[pi->dtype]);
      for (int d = 0; d < pi->rank; d++) print_dim(&pi->dims[d], f), printf("%s", d + 1 < pi->rank ? ", " : "");
      printf("]\n");
    }
  }
}

static double seconds(struct timespec a, struct timespec b) { return (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9; }

/* Split: every fifth image is held out; labels become one-hot rows. */
static int split(const float *x, const int *y, int n, float *xtr, float *ytr, float *xte, int *yte, int *ntest) {
  int ntrain = 0;
  *ntest = 0;
  for (int i = 0; i < n; i++) {
    if (i % 5 == 4) {
      memcpy(&xte[*ntest * D], &x[i * D], sizeof(float) * D);
      yte[(*ntest)++] = y[i];
      continue;
    }
    memcpy(&xtr[ntrain * D], &x[i * D], sizeof(float) * D);
    for (int k = 0; k < K; k++) ytr[ntrain * K + k] = k == y[i];
    ntrain++;
  }
  return ntrain;
}

static double accuracy(DLTensor *tW, DLTensor *tb, float *xte, const int *yte, int ntest, float *probs) {
  int64_t xshape[2] = {ntest, D}, pshape[2] = {ntest, K};
  DLTensor tx = tensor(xte, 2, xshape), tp = tensor(probs, 2, pshape);
  int rc = logreg_predict(tW, tb, &tx, &tp);
  if (rc) return fprintf(stderr, "logreg_predict failed (%s): %s\n", tex_status_text(rc), logreg_last_error()), -1;
  int correct = 0;
  for (int i = 0; i < ntest; i++) {
    int best = 0;
    for (int k = 1; k < K; k++)
      if (probs[i * K + k] > probs[i * K + best]) best = k;
    correct += best == yte[i];
  }
  return (double)correct / ntest;
}

int main(int argc, char **argv) {
  static float x[MAX_ROWS * D], xtr[MAX_ROWS * D], ytr[MAX_ROWS * K], xte[MAX_ROWS * D], probs[MAX_ROWS * K];
  static int y[MAX_ROWS], yte[MAX_ROWS];
  static float W[D * K], b[K];
  enum { EPOCHS = 30, BATCH = 128 };
  float lr = 0.5f;
  int n = load_digits(argc > 1 ? argv[1] : "digits.csv", x, y), ntest;
  if (n <= 0) return fprintf(stderr, "demo: cannot read the digits data\n"), 1;
  int ntrain = split(x, y, n, xtr, ytr, xte, yte, &ntest);
  printf("digits: %d images: %d to train on, %d held out\n", n, ntrain, ntest);

  int64_t wshape[2] = {D, K}, bshape[1] = {K}, scalar[1];
  DLTensor tW = tensor(W, 2, wshape), tb = tensor(b, 1, bshape), tlr = tensor(&lr, 0, scalar);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int epoch = 1; epoch <= EPOCHS; epoch++) {
    double total = 0;
    for (int start = 0; start < ntrain; start += BATCH) {
      int rows = ntrain - start < BATCH ? ntrain - start : BATCH; /* the last batch is smaller */
      int64_t xshape[2] = {rows, D}, yshape[2] = {rows, K};
      float l;
      DLTensor tx = tensor(&xtr[start * D], 2, xshape), ty = tensor(&ytr[start * K], 2, yshape), tl = tensor(&l, 0, scalar);
      int rc = logreg_train_step(&tW, &tb, &tx, &ty, &tlr, &tl);
      if (rc) return fprintf(stderr, "logreg_train_step failed (%s): %s\n", tex_status_text(rc), logreg_last_error()), 1;
      total += (double)l * rows;
    }
    if (epoch <= 5 || epoch % 5 == 0) printf("epoch %2d  loss %.4f\n", epoch, total / ntrain);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%d epochs in %.1f ms\n", EPOCHS, seconds(t0, t1) * 1e3);
  double acc = accuracy(&tW, &tb, xte, yte, ntest, probs);
  if (acc < 0) return 1;
  printf("held-out accuracy: %.2f\n", acc);

  /* A mistake on purpose: x with 63 features instead of 64. */
  int64_t bad[2] = {ntest, D - 1}, pshape[2] = {ntest, K};
  DLTensor tbad = tensor(xte, 2, bad), tp = tensor(probs, 2, pshape);
  int rc = logreg_predict(&tW, &tb, &tbad, &tp);
  printf("\ncalling with a wrong shape returns %d (%s):\n  %s\n\n", rc, tex_status_text(rc), logreg_last_error());
  print_metadata(logreg_module_info());
  return 0;
}
