/* charlstm.c — trains the compiled examples/charlstm.tex, a character-level
 * LSTM language model, on a text file, and samples text from it before and
 * after training.
 *
 *   charlstm [FILE [STEPS]]     default /usr/share/common-licenses/GPL-3
 *                               (Debian's base-files, on every system), 500
 *
 * Vocabulary: V = 96 classes, newline -> 0 and the printable ASCII bytes
 * ' '..'~' -> 1..95; every other byte (tab, CR, non-ASCII) is read as a
 * space.  The last tenth of the file is held out.  Each step takes B random
 * windows of T + 1 characters from the rest, calls charlstm_loss_grad
 * (the loss summed over the T steps, and its gradient), clips the gradient
 * of the per-character loss to norm 5 and takes an Adam step, here in C.
 * Prints the training loss per character every 50 steps, the held-out loss
 * before and after, and 200 characters sampled at temperature 0.8 after the
 * prompt "The " (the same seed both times), via charlstm_sample_step. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "charlstm.h"
#include "texrt.h"

enum { V = 96, D = 32, H = 128, B = 32, T = 32, NPARAM = 6, SAMPLE = 200, EVAL_BATCHES = 4 };

static const DLDataType F32 = {kDLFloat, 32, 1}, I64 = {kDLInt, 64, 1};
static DLTensor tensor(void *data, DLDataType t, int ndim, int64_t *shape) {
  DLTensor r = {data, {kDLCPU, 0}, ndim, t, shape, NULL, 0};
  return r;
}

static uint64_t rng_state;
static double uniform(void) { /* xorshift64*, in (0, 1) */
  rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
  return ((rng_state * 0x2545f4914f6cdd1du) >> 11) * 0x1.0p-53 + 0x1.0p-54;
}
static double normal(void) { return sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform()); }

static int char_class(int ch) { return ch == '\n' ? 0 : ch >= ' ' && ch <= '~' ? ch - ' ' + 1 : 1; }
static int class_char(int k) { return k == 0 ? '\n' : ' ' + k - 1; }

/* A weight with its gradient and Adam moments. */
typedef struct Param {
  const char *name;
  int64_t n, shape[2];
  int ndim;
  float *w, *g, *m, *v;
  DLTensor tw, tg;
} Param;

static Param params[NPARAM] = {
    {.name = "E", .n = V * D, .shape = {V, D}, .ndim = 2},          {.name = "Wx", .n = D * 4 * H, .shape = {D, 4 * H}, .ndim = 2},
    {.name = "Wh", .n = H * 4 * H, .shape = {H, 4 * H}, .ndim = 2}, {.name = "b", .n = 4 * H, .shape = {4 * H}, .ndim = 1},
    {.name = "Wy", .n = H * V, .shape = {H, V}, .ndim = 2},         {.name = "by", .n = V, .shape = {V}, .ndim = 1},
};

static void init_params(void) {
  double s = 1 / sqrt(H); /* PyTorch's nn.LSTM scale; the embedding is normal(0, 1) */
  for (int p = 0; p < NPARAM; p++) {
    Param *q = &params[p];
    q->w = calloc((size_t)q->n, sizeof(float)), q->g = calloc((size_t)q->n, sizeof(float));
    q->m = calloc((size_t)q->n, sizeof(float)), q->v = calloc((size_t)q->n, sizeof(float));
    for (int64_t i = 0; i < q->n; i++) q->w[i] = (float)(p == 0 ? normal() : s * (2 * uniform() - 1));
    q->tw = tensor(q->w, F32, q->ndim, q->shape), q->tg = tensor(q->g, F32, q->ndim, q->shape);
  }
  for (int j = H; j < 2 * H; j++) params[3].w[j] = 1.0f; /* forget-gate bias 1: remember at first */
}

static void fail(const char *what, int rc) {
  fprintf(stderr, "charlstm: %s failed (%s): %s\n", what, tex_status_text(rc), charlstm_last_error());
  exit(1);
}

/* Windows starting at start[0..B-1] of text: x[t][b] = text[start[b] + t], y one later. */
static void windows(const uint8_t *text, const int64_t *start, int64_t *x, int64_t *y) {
  for (int t = 0; t < T; t++)
    for (int b = 0; b < B; b++) x[t * B + b] = text[start[b] + t], y[t * B + b] = text[start[b] + t + 1];
}

/* The held-out loss per character: EVAL_BATCHES x B windows spread evenly over it. */
static double heldout_loss(const uint8_t *text, int64_t from, int64_t to) {
  static int64_t x[T * B], y[T * B], start[B], s_xy[2] = {T, B}, scalar[1];
  double total = 0;
  for (int k = 0; k < EVAL_BATCHES; k++) {
    for (int b = 0; b < B; b++) start[b] = from + (to - from - T - 1) * (k * B + b) / (EVAL_BATCHES * B);
    windows(text, start, x, y);
    float l;
    DLTensor tx = tensor(x, I64, 2, s_xy), ty = tensor(y, I64, 2, s_xy), tl = tensor(&l, F32, 0, scalar);
    int rc = charlstm_loss(&params[0].tw, &params[1].tw, &params[2].tw, &params[3].tw, &params[4].tw, &params[5].tw, &tx, &ty, &tl);
    if (rc) fail("charlstm_loss", rc);
    total += l / T;
  }
  return total / EVAL_BATCHES;
}

/* Feeds the prompt, then samples SAMPLE characters at temperature temp. */
static void sample(const char *prompt, float temp, uint64_t seed) {
  static float h[H], c[H], h2[H], c2[H], probs[V];
  int64_t s_h[2] = {1, H}, s_x[1] = {1}, s_p[2] = {1, V}, scalar[1], x;
  DLTensor th = tensor(h, F32, 2, s_h), tc = tensor(c, F32, 2, s_h), th2 = tensor(h2, F32, 2, s_h), tc2 = tensor(c2, F32, 2, s_h);
  DLTensor tx = tensor(&x, I64, 1, s_x), tp = tensor(probs, F32, 2, s_p), tt = tensor(&temp, F32, 0, scalar);
  memset(h, 0, sizeof h), memset(c, 0, sizeof c);
  rng_state = seed;
  fputs("    | ", stdout);
  int len = (int)strlen(prompt);
  x = char_class((unsigned char)prompt[0]);
  for (int i = 0; i < len + SAMPLE; i++) { /* print x, then read it and pick the next */
    int ch = class_char((int)x);
    fputs(ch == '\n' ? "\n    | " : (char[2]){(char)ch, 0}, stdout);
    if (i + 1 == len + SAMPLE) break;
    int rc = charlstm_sample_step(&params[0].tw, &params[1].tw, &params[2].tw, &params[3].tw, &params[4].tw, &params[5].tw, &th, &tc, &tx,
                                  &tt, &th2, &tc2, &tp);
    if (rc) fail("charlstm_sample_step", rc);
    memcpy(h, h2, sizeof h), memcpy(c, c2, sizeof c);
    if (i + 1 < len) {
      x = char_class((unsigned char)prompt[i + 1]);
      continue;
    }
    double u = uniform(), acc = 0;
    for (x = 0; x < V - 1 && (acc += probs[x]) < u; x++) {}
  }
  fputs("\n", stdout);
}

/* Clips the gradient of the per-character loss (grad / T) to norm 5, then Adam. */
static void adam_step(int step, float lr) {
  double sq = 0;
  for (int p = 0; p < NPARAM; p++)
    for (int64_t i = 0; i < params[p].n; i++) sq += (double)params[p].g[i] * params[p].g[i];
  double norm = sqrt(sq) / T, scale = (norm > 5 ? 5 / norm : 1) / T;
  float c1 = 1 - powf(0.9f, (float)step), c2 = 1 - powf(0.999f, (float)step);
  for (int p = 0; p < NPARAM; p++) {
    Param *q = &params[p];
    for (int64_t i = 0; i < q->n; i++) {
      float g = (float)(q->g[i] * scale);
      q->m[i] = 0.9f * q->m[i] + 0.1f * g;
      q->v[i] = 0.999f * q->v[i] + 0.001f * g * g;
      q->w[i] -= lr * (q->m[i] / c1) / (sqrtf(q->v[i] / c2) + 1e-8f);
    }
  }
}

static double seconds(struct timespec a, struct timespec b) { return (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9; }

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "/usr/share/common-licenses/GPL-3";
  int steps = argc > 2 ? atoi(argv[2]) : 500;
  FILE *f = fopen(path, "rb");
  if (!f) return fprintf(stderr, "charlstm: cannot open %s\n", path), 1;
  static uint8_t text[1 << 24];
  int64_t n = 0;
  for (int ch; n < (int64_t)sizeof text && (ch = getc(f)) != EOF;) text[n++] = (uint8_t)char_class(ch);
  fclose(f);
  int64_t ntrain = n - n / 10;
  if (n / 10 < T + 2 || ntrain < T + 2) return fprintf(stderr, "charlstm: %s is too short\n", path), 1;
  printf("%s: %lld characters (%lld to train on, the last %lld held out), %d classes; "
         "embedding %d, LSTM %d, windows of %d, batch %d, %d Adam steps\n",
         path, (long long)n, (long long)ntrain, (long long)(n - ntrain), V, D, H, T, B, steps);
  rng_state = 0x9e3779b97f4a7c15u;
  init_params();
  double before = heldout_loss(text, ntrain, n);
  printf("held-out loss per character before training: %.3f nats (uniform guessing: ln 96 = %.3f)\n", before, log(V));
  printf("sampled before training (temperature 0.8):\n");
  sample("The ", 0.8f, 42);

  static int64_t x[T * B], y[T * B], start[B];
  int64_t s_xy[2] = {T, B}, scalar[1];
  uint64_t train_rng = 0x2545f4914f6cdd1du;
  double window_loss = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int step = 1; step <= steps; step++) {
    uint64_t keep = rng_state;
    rng_state = train_rng;
    for (int b = 0; b < B; b++) start[b] = (int64_t)(uniform() * (double)(ntrain - T - 1));
    train_rng = rng_state, rng_state = keep;
    windows(text, start, x, y);
    float l;
    DLTensor tx = tensor(x, I64, 2, s_xy), ty = tensor(y, I64, 2, s_xy), tl = tensor(&l, F32, 0, scalar);
    int rc = charlstm_loss_grad(&params[0].tw, &params[1].tw, &params[2].tw, &params[3].tw, &params[4].tw, &params[5].tw, &tx, &ty, &tl,
                                &params[0].tg, &params[1].tg, &params[2].tg, &params[3].tg, &params[4].tg, &params[5].tg);
    if (rc) fail("charlstm_loss_grad", rc);
    adam_step(step, 0.01f);
    window_loss += l / T;
    if (step % 50 == 0 || step == steps) {
      clock_gettime(CLOCK_MONOTONIC, &t1);
      int k = step % 50 ? step % 50 : 50;
      printf("step %4d  training loss per character %.3f  (%.1f s)\n", step, window_loss / k, seconds(t0, t1));
      window_loss = 0;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%d steps in %.1f s (%.1f ms per step of %d x %d characters)\n", steps, seconds(t0, t1),
         seconds(t0, t1) * 1e3 / (steps ? steps : 1), B, T);
  double after = heldout_loss(text, ntrain, n);
  printf("held-out loss per character: %.3f before training, %.3f after\n", before, after);
  printf("sampled after training (temperature 0.8, the same seed):\n");
  sample("The ", 0.8f, 42);
  return 0;
}
