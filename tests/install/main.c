/* main.c — the install test's driver (tests/install/run.sh): calls
 * model_predict through the installed texrt.h and compares it with a
 * softmax computed here in double.  Exit status 0 when every element is
 * within 1e-6 of the reference. */
#include <math.h>
#include <stdio.h>

#include "model.h"

enum { N = 3, D = 4, K = 5 };

int main(void) {
  float W[D][K], b[K], x[N][D], p[N][K];
  for (int i = 0; i < D; i++)
    for (int k = 0; k < K; k++) W[i][k] = (float)((i * 7 + k * 3) % 11 - 5) / 4.0f;
  for (int k = 0; k < K; k++) b[k] = (float)k / 8.0f - 0.25f;
  for (int n = 0; n < N; n++)
    for (int i = 0; i < D; i++) x[n][i] = (float)((n * 5 + i * 2) % 7 - 3) / 2.0f;
  int64_t sW[] = {D, K}, sb[] = {K}, sx[] = {N, D}, sp[] = {N, K};
  DLDataType f32 = {kDLFloat, 32, 1};
  DLDevice cpu = {kDLCPU, 0};
  DLTensor tW = {W, cpu, 2, f32, sW, NULL, 0}, tb = {b, cpu, 1, f32, sb, NULL, 0};
  DLTensor tx = {x, cpu, 2, f32, sx, NULL, 0}, tp = {p, cpu, 2, f32, sp, NULL, 0};
  if (model_predict(&tW, &tb, &tx, &tp) != 0) {
    fprintf(stderr, "model_predict: %s\n", model_last_error());
    return 1;
  }
  double worst = 0;
  for (int n = 0; n < N; n++) {
    double z[K], m = -INFINITY, s = 0;
    for (int k = 0; k < K; k++) {
      z[k] = b[k];
      for (int i = 0; i < D; i++) z[k] += (double)x[n][i] * W[i][k];
      if (z[k] > m) m = z[k];
    }
    for (int k = 0; k < K; k++) s += exp(z[k] - m);
    for (int k = 0; k < K; k++) {
      double err = fabs(p[n][k] - exp(z[k] - m) / s);
      if (err > worst) worst = err;
    }
  }
  printf("install test: worst error %.3g\n", worst);
  return worst <= 1e-6 ? 0 : 1;
}
