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

/* ---- rk4.tex -------------------------------------------------------------------
 * Per pendulum: y = (q, p), F(y) = (p, -a sin q - b p + c) with th = (a, b, c);
 * 40 RK4 steps of size dt; loss = sum q^2 + p^2 / 2.  The discrete adjoint of
 * a step y' = y + dt/6 (k1 + 2 k2 + 2 k3 + k4), k_i = F(y_i), y_1 = y,
 * y_2 = y + dt/2 k1, y_3 = y + dt/2 k2, y_4 = y + dt k3, from ybar' = l:
 *   kbar = dt/6 l, dt/3 l, dt/3 l, dt/6 l;  ybar = l;  then i = 4, 3, 2, 1:
 *   s = J(y_i)^T kbar_i;  thbar += F_th(y_i)^T kbar_i;  ybar += s;
 *   kbar_{i-1} += (dt, dt/2, dt/2)[i] s
 * with J^T (u, v) = (-a cos(q) v, u - b v) and F_th^T v = (-sin(q) v, -p v, v). */

enum { RK_STEPS = 40 };

static void rk_f(const double *th, double q, double p, double *fq, double *fp) {
  *fq = p;
  *fp = -th[0] * sin(q) - th[1] * p + th[2];
}

/* One step from (q, p); the four stage points into yq[4], yp[4]. */
static void rk_step(const double *th, double dt, double *q, double *p, double *yq, double *yp) {
  double kq[4], kp[4];
  const double c[4] = {0, 0.5 * dt, 0.5 * dt, dt};
  for (int i = 0; i < 4; i++) {
    yq[i] = i ? *q + c[i] * kq[i - 1] : *q;
    yp[i] = i ? *p + c[i] * kp[i - 1] : *p;
    rk_f(th, yq[i], yp[i], &kq[i], &kp[i]);
  }
  *q += dt / 6 * (kq[0] + 2 * kq[1] + 2 * kq[2] + kq[3]);
  *p += dt / 6 * (kp[0] + 2 * kp[1] + 2 * kp[2] + kp[3]);
}

/* The adjoint of one step: (lq, lp) is ybar after it on entry, before it on return. */
static void rk_step_adj(const double *th, double dt, const double *yq, const double *yp, double *lq, double *lp, double *gth) {
  const double w[4] = {dt / 6, dt / 3, dt / 3, dt / 6}, c[4] = {0, 0.5 * dt, 0.5 * dt, dt};
  double kbq[4], kbp[4], bq = *lq, bp = *lp;
  for (int i = 0; i < 4; i++) kbq[i] = w[i] * *lq, kbp[i] = w[i] * *lp;
  for (int i = 3; i >= 0; i--) {
    double sq = -th[0] * cos(yq[i]) * kbp[i], sp = kbq[i] - th[1] * kbp[i];
    gth[0] += -sin(yq[i]) * kbp[i], gth[1] += -yp[i] * kbp[i], gth[2] += kbp[i];
    bq += sq, bp += sp;
    if (i > 0) kbq[i - 1] += c[i] * sq, kbp[i - 1] += c[i] * sp;
  }
  *lq = bq, *lp = bp;
}

/* Pendulum n: its final state, its loss term, and (if gq) the gradients. */
static void rk_one(const RefArgs *a, int64_t n, double *qT, double *pT, double *gq, double *gp, double *gth) {
  const double *th = a->in[2], dt = a->in[3][0];
  double q = a->in[0][n], p = a->in[1][n], yq[RK_STEPS][4], yp[RK_STEPS][4];
  for (int t = 0; t < RK_STEPS; t++) rk_step(th, dt, &q, &p, yq[t], yp[t]);
  *qT = q, *pT = p;
  if (!gq) return;
  double lq = 2 * q, lp = p;
  for (int t = RK_STEPS - 1; t >= 0; t--) rk_step_adj(th, dt, yq[t], yp[t], &lq, &lp, gth);
  *gq = lq, *gp = lp;
}

/* which: 0 final q, 1 loss, 2 dq0, 3 dp0, 4 dth, 5 the gradients contracted with in[4..6]. */
static void rk_ref(const RefArgs *a, int which) {
  int64_t N = a->in_numel[0];
  double loss = 0, gth[3] = {0, 0, 0}, dot = 0;
  for (int64_t n = 0; n < N; n++) {
    double q, p, gq = 0, gp = 0;
    rk_one(a, n, &q, &p, &gq, &gp, gth);
    loss += q * q + 0.5 * p * p;
    if (which == 0) a->out[n] = q;
    if (which == 2) a->out[n] = gq;
    if (which == 3) a->out[n] = gp;
    if (which == 5) dot += gq * a->in[4][n] + gp * a->in[5][n];
  }
  if (which == 1) a->out[0] = loss;
  if (which == 4) memcpy(a->out, gth, sizeof gth);
  if (which == 5) a->out[0] = dot + gth[0] * a->in[6][0] + gth[1] * a->in[6][1] + gth[2] * a->in[6][2];
}

static void rk_q(const RefArgs *a) { rk_ref(a, 0); }
static void rk_loss(const RefArgs *a) { rk_ref(a, 1); }
static void rk_gq0(const RefArgs *a) { rk_ref(a, 2); }
static void rk_gp0(const RefArgs *a) { rk_ref(a, 3); }
static void rk_gth(const RefArgs *a) { rk_ref(a, 4); }
static void rk_jvp(const RefArgs *a) { rk_ref(a, 5); }

/* ---- loop_grad.tex: nest ---------------------------------------------------------
 * Inputs x[T, N], s0[N], w[N], a[M]; per row n, step t:
 *   v_0 = s;  v_{j+1} = tanh(v_j w + s a[j] + x[t]) (j < M);  s' = s + v_M / 2
 * loss sum s_T^2.  Backward from sb = 2 s_T, step t = T - 1 .. 0:
 *   vb = sb / 2 (then sb is s's own path);  j = M - 1 .. 0:
 *   zb = vb (1 - v_{j+1}^2);  wb += zb v_j;  sb += zb a[j];  ab[j] += zb s;
 *   xb[t] += zb;  vb = zb w;  after j: sb += vb (v_0 = s). */

/* which: 0 loss, 1 dx, 2 ds0, 3 dw, 4 da. */
static void nest_ref(const RefArgs *a, int which) {
  int64_t T = a->in_shape[0][0], N = a->in_shape[0][1], M = a->in_shape[3][0];
  const double *x = a->in[0], *w = a->in[2], *c = a->in[3];
  double *s = dalloc(T + 1), *v = dalloc(T * (M + 1)), *ab = dalloc(M), loss = 0;
  memset(a->out, 0, sizeof(double) * (size_t)a->out_numel);
  for (int64_t n = 0; n < N; n++) {
    s[0] = a->in[1][n];
    for (int64_t t = 0; t < T; t++) {
      double *vt = v + t * (M + 1);
      vt[0] = s[t];
      for (int64_t j = 0; j < M; j++) vt[j + 1] = tanh(vt[j] * w[n] + s[t] * c[j] + x[t * N + n]);
      s[t + 1] = s[t] + vt[M] * 0.5;
    }
    loss += s[T] * s[T];
    double sb = 2 * s[T], wb = 0;
    for (int64_t t = T - 1; t >= 0; t--) {
      const double *vt = v + t * (M + 1);
      double vb = sb * 0.5;
      for (int64_t j = M - 1; j >= 0; j--) {
        double zb = vb * (1 - vt[j + 1] * vt[j + 1]);
        wb += zb * vt[j], sb += zb * c[j], ab[j] += zb * s[t];
        if (which == 1) a->out[t * N + n] += zb;
        vb = zb * w[n];
      }
      sb += vb;
    }
    if (which == 2) a->out[n] = sb;
    if (which == 3) a->out[n] = wb;
  }
  if (which == 0) a->out[0] = loss;
  if (which == 4) memcpy(a->out, ab, sizeof(double) * (size_t)M);
  free(s), free(v), free(ab);
}

static void lg_nest(const RefArgs *a) { nest_ref(a, 0); }
static void lg_nest_gx(const RefArgs *a) { nest_ref(a, 1); }
static void lg_nest_gs0(const RefArgs *a) { nest_ref(a, 2); }
static void lg_nest_gw(const RefArgs *a) { nest_ref(a, 3); }
static void lg_nest_ga(const RefArgs *a) { nest_ref(a, 4); }

/* ---- loop_grad.tex: ifl ----------------------------------------------------------
 * Inputs x[T], v0[N], w[N]; per row, step t:
 *   x[t] > 0:  v' = tanh(v w) + x[t];   else  v' = v w x[t] + sin(v)
 * loss sum v_T^2.  Backward from vb = 2 v_T, t = T - 1 .. 0:
 *   then: zb = vb (1 - tanh(v w)^2);  wb += zb v;  xb[t] += vb;  vb = zb w
 *   else: wb += vb v x[t];  xb[t] += vb v w;  vb = vb (w x[t] + cos(v)) */

/* which: 0 loss, 1 dx, 2 dv0, 3 dw. */
static void ifl_ref(const RefArgs *a, int which) {
  int64_t T = a->in_shape[0][0], N = a->in_shape[1][0];
  const double *x = a->in[0], *w = a->in[2];
  double *v = dalloc(T + 1), loss = 0;
  memset(a->out, 0, sizeof(double) * (size_t)a->out_numel);
  for (int64_t n = 0; n < N; n++) {
    v[0] = a->in[1][n];
    for (int64_t t = 0; t < T; t++) v[t + 1] = x[t] > 0 ? tanh(v[t] * w[n]) + x[t] : v[t] * w[n] * x[t] + sin(v[t]);
    loss += v[T] * v[T];
    double vb = 2 * v[T], wb = 0;
    for (int64_t t = T - 1; t >= 0; t--) {
      if (x[t] > 0) {
        double th = tanh(v[t] * w[n]), zb = vb * (1 - th * th);
        wb += zb * v[t];
        if (which == 1) a->out[t] += vb;
        vb = zb * w[n];
      } else {
        wb += vb * v[t] * x[t];
        if (which == 1) a->out[t] += vb * v[t] * w[n];
        vb = vb * (w[n] * x[t] + cos(v[t]));
      }
    }
    if (which == 2) a->out[n] = vb;
    if (which == 3) a->out[n] = wb;
  }
  if (which == 0) a->out[0] = loss;
  free(v);
}

static void lg_ifl(const RefArgs *a) { ifl_ref(a, 0); }
static void lg_ifl_gx(const RefArgs *a) { ifl_ref(a, 1); }
static void lg_ifl_gv0(const RefArgs *a) { ifl_ref(a, 2); }
static void lg_ifl_gw(const RefArgs *a) { ifl_ref(a, 3); }

/* ---- the table ------------------------------------------------------------------- */

#define R(n) {#n, n}
static const struct {
  const char *name;
  RefFn fn;
} table[] = {
    R(ls_loss),    R(ls_gE),       R(ls_gW),      R(ls_gU),      R(ls_gb),  R(ls_gWo),    R(ls_gbo),     R(ls_gh0),
    R(ls_gc0),     R(rk_q),        R(rk_loss),    R(rk_gq0),     R(rk_gp0), R(rk_gth),    R(rk_jvp),     R(lg_nest),
    R(lg_nest_gx), R(lg_nest_gs0), R(lg_nest_gw), R(lg_nest_ga), R(lg_ifl), R(lg_ifl_gx), R(lg_ifl_gv0), R(lg_ifl_gw),
};
#undef R

RefFn ref_loop_lookup(const char *name) {
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].name, name) == 0) return table[i].fn;
  return NULL;
}

const char *ref_loop_name_at(int i) { return i >= 0 && (size_t)i < sizeof table / sizeof table[0] ? table[i].name : NULL; }
