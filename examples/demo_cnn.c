/* demo_cnn.c — trains the compiled examples/convnet.tex on the digits data.
 *
 * The same data and split as demo.c (1,797 8x8 images, every fifth held
 * out), integer labels.  The weights start from a seeded He initialisation;
 * each epoch visits the training images in a new random order, minibatch by
 * minibatch, through convnet_train_step (forward, gradient and SGD update
 * in one call, in place).  Prints the loss per epoch, the time, and the
 * held-out accuracy from convnet_predict. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convnet.h"
#include "texrt.h"

enum { D = 64, K = 10, C = 16, F = C * 16, MAX_ROWS = 2000, EPOCHS = 30, BATCH = 32 };

static int load_digits(const char *path, float *x, int32_t *y) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int n = 0;
  while (n < MAX_ROWS) {
    int ok = 1, label;
    for (int j = 0; j < D && ok; j++) ok = fscanf(f, "%f,", &x[n * D + j]) == 1;
    if (!ok || fscanf(f, "%d", &label) != 1) break;
    for (int j = 0; j < D; j++) x[n * D + j] /= 16.0f; /* pixels are 0..16 */
    y[n++] = label;
  }
  fclose(f);
  return n;
}

static DLTensor tensor(void *data, DLDataType t, int ndim, int64_t *shape) {
  DLTensor r = {data, {kDLCPU, 0}, ndim, t, shape, NULL, 0};
  return r;
}
static const DLDataType F32 = {kDLFloat, 32, 1}, I32 = {kDLInt, 32, 1}, I64 = {kDLInt, 64, 1};

static uint64_t rng = 0x9e3779b97f4a7c15u;
static double uniform(void) { /* xorshift64*, in (0, 1) */
  rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
  return ((rng * 0x2545f4914f6cdd1du) >> 11) * 0x1.0p-53 + 0x1.0p-54;
}
static void he_init(float *w, int n, int fan_in) { /* normal(0, 2 / fan_in), Box-Muller */
  for (int i = 0; i < n; i++) w[i] = (float)(sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform()) * sqrt(2.0 / fan_in));
}

static double seconds(struct timespec a, struct timespec b) { return (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9; }

int main(int argc, char **argv) {
  static float x[MAX_ROWS * D], xtr[MAX_ROWS * D], xte[MAX_ROWS * D], xb[BATCH * D];
  static int32_t y[MAX_ROWS], ytr[MAX_ROWS], yte[MAX_ROWS], yb[BATCH];
  static int64_t pred[MAX_ROWS];
  static int order[MAX_ROWS];
  static float w1[C * 9], b1[C], W2[F * K], b2[K];
  float lr = 0.1f;
  int n = load_digits(argc > 1 ? argv[1] : "digits.csv", x, y), ntrain = 0, ntest = 0;
  if (n <= 0) return fprintf(stderr, "demo_cnn: cannot read the digits data\n"), 1;
  for (int i = 0; i < n; i++) { /* every fifth image is held out */
    float *to = i % 5 == 4 ? &xte[ntest * D] : &xtr[ntrain * D];
    memcpy(to, &x[i * D], sizeof(float) * D);
    if (i % 5 == 4) yte[ntest++] = y[i];
    else ytr[ntrain++] = y[i];
  }
  printf("digits: %d images: %d to train on, %d held out; conv 3x3 (1 -> %d) + relu + max-pool 2x2 + linear (%d -> %d)\n", n,
         ntrain, ntest, C, F, K);
  he_init(w1, C * 9, 9), he_init(W2, F * K, F);

  int64_t s_w1[4] = {C, 1, 3, 3}, s_b1[1] = {C}, s_W2[2] = {F, K}, s_b2[1] = {K}, scalar[1];
  DLTensor tw1 = tensor(w1, F32, 4, s_w1), tb1 = tensor(b1, F32, 1, s_b1), tW2 = tensor(W2, F32, 2, s_W2), tb2 = tensor(b2, F32, 1, s_b2);
  DLTensor tlr = tensor(&lr, F32, 0, scalar);
  for (int i = 0; i < ntrain; i++) order[i] = i;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int epoch = 1; epoch <= EPOCHS; epoch++) {
    for (int i = ntrain - 1; i > 0; i--) { /* Fisher-Yates */
      int j = (int)(uniform() * (i + 1)), t = order[i];
      order[i] = order[j], order[j] = t;
    }
    double total = 0;
    for (int start = 0; start < ntrain; start += BATCH) {
      int rows = ntrain - start < BATCH ? ntrain - start : BATCH; /* the last batch is smaller */
      for (int r = 0; r < rows; r++) memcpy(&xb[r * D], &xtr[order[start + r] * D], sizeof(float) * D), yb[r] = ytr[order[start + r]];
      int64_t s_x[4] = {rows, 1, 8, 8}, s_y[1] = {rows};
      float l;
      DLTensor tx = tensor(xb, F32, 4, s_x), ty = tensor(yb, I32, 1, s_y), tl = tensor(&l, F32, 0, scalar);
      int rc = convnet_train_step(&tw1, &tb1, &tW2, &tb2, &tx, &ty, &tlr, &tl);
      if (rc) return fprintf(stderr, "convnet_train_step failed (%s): %s\n", tex_status_text(rc), convnet_last_error()), 1;
      total += (double)l * rows;
    }
    if (epoch <= 5 || epoch % 5 == 0) printf("epoch %2d  loss %.4f\n", epoch, total / ntrain);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%d epochs in %.1f ms (%.2f ms per epoch of %d images)\n", EPOCHS, seconds(t0, t1) * 1e3, seconds(t0, t1) * 1e3 / EPOCHS, ntrain);

  int64_t s_x[4] = {ntest, 1, 8, 8}, s_p[1] = {ntest};
  DLTensor tx = tensor(xte, F32, 4, s_x), tp = tensor(pred, I64, 1, s_p);
  int rc = convnet_predict(&tw1, &tb1, &tW2, &tb2, &tx, &tp);
  if (rc) return fprintf(stderr, "convnet_predict failed (%s): %s\n", tex_status_text(rc), convnet_last_error()), 1;
  int correct = 0;
  for (int i = 0; i < ntest; i++) correct += pred[i] == yte[i];
  printf("held-out accuracy: %.2f\n", (double)correct / ntest);
  return 0;
}
