/* refs_loop.c — references for the differentiable-loop proofs (issue 10):
 * lstm.tex, rk4.tex and loop_grad.tex.  Each is the recurrence written
 * out in double with ordinary loops, and its gradients by hand: the
 * backward pass (backpropagation through time, the discrete adjoint of an
 * RK4 step) derived on paper from the forward one, never from the
 * compiler's output and with no automatic differentiation. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "refs.h"

static double *dalloc(int64_t n) { return calloc((size_t)(n > 0 ? n : 1), sizeof(double)); }

static double sigm(double x) { return 1 / (1 + exp(-x)); }

/* ---- lstm.tex ------------------------------------------------------------------
 * Inputs: tok[S, N], E[V, D], W[D, 4H], U[H, 4H], b[4H], Wo[H, V], bo[V],
 * h0[N, H], c0[N, H].  Step t < S - 1, row n, with x = E[tok[t, n]]:
 *   z = x W + h U + b;  i, f, g, o = sig(z[0:H]), sig(z[H:2H]), tanh(z[2H:3H]), sig(z[3H:4H])
 *   c' = f c + i g;  h' = o tanh(c');  p = softmax(h' Wo + bo)
 *   loss += -log p[tok[t + 1, n]] / N
 * Backward, row by row, from step S - 2 down to 0 (dh, dc flow back):
 *   dlogit = (p - onehot(y)) / N;  dWo += h' dlogit;  dbo += dlogit
 *   dh' = dh + Wo dlogit;  dc' = dc + dh' o (1 - tanh(c')^2)
 *   dz_i = dc' g i (1 - i);  dz_f = dc' c f (1 - f);  dz_g = dc' i (1 - g^2)
 *   dz_o = dh' tanh(c') o (1 - o)
 *   dW += x dz;  dU += h dz;  db += dz;  dE[tok] += W dz;  dh = U dz;  dc = dc' f */

typedef struct Lstm {
  int64_t S, N, D, H, V, G; /* G = 4H */
  const double *tok, *E, *W, *U, *b, *Wo, *bo, *h0, *c0;
  double *hs, *cs, *gates; /* hs, cs: [S][N][H] (step t's input state); gates: [S-1][N][4H] after the nonlinearity */
  double *p;               /* [S-1][N][V] softmax */
  double loss;
} Lstm;

static void lstm_forward(Lstm *m) {
  int64_t N = m->N, D = m->D, H = m->H, V = m->V, G = m->G;
  memcpy(m->hs, m->h0, sizeof(double) * (size_t)(N * H));
  memcpy(m->cs, m->c0, sizeof(double) * (size_t)(N * H));
  m->loss = 0;
  for (int64_t t = 0; t + 1 < m->S; t++)
    for (int64_t n = 0; n < N; n++) {
      const double *x = m->E + (int64_t)m->tok[t * N + n] * D, *h = m->hs + (t * N + n) * H, *c = m->cs + (t * N + n) * H;
      double *gt = m->gates + (t * N + n) * G, *hn = m->hs + ((t + 1) * N + n) * H, *cn = m->cs + ((t + 1) * N + n) * H;
      for (int64_t j = 0; j < G; j++) {
        double z = m->b[j];
        for (int64_t d = 0; d < D; d++) z += x[d] * m->W[d * G + j];
        for (int64_t k = 0; k < H; k++) z += h[k] * m->U[k * G + j];
        gt[j] = j >= 2 * H && j < 3 * H ? tanh(z) : sigm(z);
      }
      for (int64_t k = 0; k < H; k++) {
        cn[k] = gt[H + k] * c[k] + gt[k] * gt[2 * H + k];
        hn[k] = gt[3 * H + k] * tanh(cn[k]);
      }
      double *p = m->p + (t * N + n) * V, mx = -INFINITY, se = 0;
      for (int64_t v = 0; v < V; v++) {
        p[v] = m->bo[v];
        for (int64_t k = 0; k < H; k++) p[v] += hn[k] * m->Wo[k * V + v];
        mx = fmax(mx, p[v]);
      }
      for (int64_t v = 0; v < V; v++) se += exp(p[v] - mx);
      int64_t y = (int64_t)m->tok[(t + 1) * N + n];
      m->loss -= (p[y] - mx - log(se)) / (double)N;
      for (int64_t v = 0; v < V; v++) p[v] = exp(p[v] - mx) / se;
    }
}

/* The gradients, accumulated into g[k] (k = the parameter number 1..8). */
static void lstm_backward(const Lstm *m, double *const g[9]) {
  int64_t N = m->N, D = m->D, H = m->H, V = m->V, G = m->G;
  double *dh = dalloc(H), *dc = dalloc(H), *dz = dalloc(G), *dl = dalloc(V);
  for (int64_t n = 0; n < N; n++) {
    memset(dh, 0, sizeof(double) * (size_t)H);
    memset(dc, 0, sizeof(double) * (size_t)H);
    for (int64_t t = m->S - 2; t >= 0; t--) {
      const double *gt = m->gates + (t * N + n) * G, *p = m->p + (t * N + n) * V;
      const double *h = m->hs + (t * N + n) * H, *c = m->cs + (t * N + n) * H;
      const double *hn = m->hs + ((t + 1) * N + n) * H, *cn = m->cs + ((t + 1) * N + n) * H;
      int64_t tk = (int64_t)m->tok[t * N + n], y = (int64_t)m->tok[(t + 1) * N + n];
      for (int64_t v = 0; v < V; v++) {
        dl[v] = (p[v] - (v == y)) / (double)N;
        g[6][v] += dl[v];
        for (int64_t k = 0; k < H; k++) g[5][k * V + v] += hn[k] * dl[v];
      }
      for (int64_t k = 0; k < H; k++) {
        double dhn = dh[k], th = tanh(cn[k]);
        for (int64_t v = 0; v < V; v++) dhn += m->Wo[k * V + v] * dl[v];
        double dcn = dc[k] + dhn * gt[3 * H + k] * (1 - th * th);
        double i = gt[k], f = gt[H + k], gg = gt[2 * H + k], o = gt[3 * H + k];
        dz[k] = dcn * gg * i * (1 - i);
        dz[H + k] = dcn * c[k] * f * (1 - f);
        dz[2 * H + k] = dcn * i * (1 - gg * gg);
        dz[3 * H + k] = dhn * th * o * (1 - o);
        dc[k] = dcn * f;
      }
      for (int64_t j = 0; j < G; j++) {
        g[4][j] += dz[j];
        for (int64_t d = 0; d < D; d++) g[2][d * G + j] += m->E[tk * D + d] * dz[j];
        for (int64_t k = 0; k < H; k++) g[3][k * G + j] += h[k] * dz[j];
      }
      for (int64_t d = 0; d < D; d++)
        for (int64_t j = 0; j < G; j++) g[1][tk * D + d] += m->W[d * G + j] * dz[j];
      for (int64_t k = 0; k < H; k++) {
        double acc = 0;
        for (int64_t j = 0; j < G; j++) acc += m->U[k * G + j] * dz[j];
        dh[k] = acc;
      }
    }
    for (int64_t k = 0; k < H; k++) g[7][n * H + k] = dh[k], g[8][n * H + k] = dc[k];
  }
  free(dh), free(dc), free(dz), free(dl);
}

/* which = 0: the loss; 1..8: the gradient with respect to parameter which. */
static void lstm_ref(const RefArgs *a, int which) {
  Lstm m = {.S = a->in_shape[0][0], .N = a->in_shape[0][1], .D = a->in_shape[1][1], .H = a->in_shape[7][1], .V = a->in_shape[1][0]};
  m.G = 4 * m.H;
  const double **ins[] = {&m.tok, &m.E, &m.W, &m.U, &m.b, &m.Wo, &m.bo, &m.h0, &m.c0};
  for (int k = 0; k < 9; k++) *ins[k] = a->in[k];
  m.hs = dalloc(m.S * m.N * m.H), m.cs = dalloc(m.S * m.N * m.H);
  m.gates = dalloc(m.S * m.N * m.G), m.p = dalloc(m.S * m.N * m.V);
  lstm_forward(&m);
  if (which == 0) {
    a->out[0] = m.loss;
  } else {
    double *g[9] = {0};
    for (int k = 1; k < 9; k++) g[k] = dalloc(a->in_numel[k]);
    lstm_backward(&m, g);
    memcpy(a->out, g[which], sizeof(double) * (size_t)a->out_numel);
    for (int k = 1; k < 9; k++) free(g[k]);
  }
  free(m.hs), free(m.cs), free(m.gates), free(m.p);
}

static void ls_loss(const RefArgs *a) { lstm_ref(a, 0); }
static void ls_gE(const RefArgs *a) { lstm_ref(a, 1); }
static void ls_gW(const RefArgs *a) { lstm_ref(a, 2); }
static void ls_gU(const RefArgs *a) { lstm_ref(a, 3); }
static void ls_gb(const RefArgs *a) { lstm_ref(a, 4); }
static void ls_gWo(const RefArgs *a) { lstm_ref(a, 5); }
static void ls_gbo(const RefArgs *a) { lstm_ref(a, 6); }
static void ls_gh0(const RefArgs *a) { lstm_ref(a, 7); }
static void ls_gc0(const RefArgs *a) { lstm_ref(a, 8); }

/* ---- the table ------------------------------------------------------------------- */

#define R(n) {#n, n}
static const struct {
  const char *name;
  RefFn fn;
} table[] = {
    R(ls_loss), R(ls_gE), R(ls_gW), R(ls_gU), R(ls_gb), R(ls_gWo), R(ls_gbo), R(ls_gh0), R(ls_gc0),
};
#undef R

RefFn ref_loop_lookup(const char *name) {
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].name, name) == 0) return table[i].fn;
  return NULL;
}

const char *ref_loop_name_at(int i) { return i >= 0 && (size_t)i < sizeof table / sizeof table[0] ? table[i].name : NULL; }
