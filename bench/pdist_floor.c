/* pdist_floor.c — a floor for the pairwise-distance case of make bench:
 * d[i,j] = sum_k (x[i,k] - c[j,k])^2 computed in texc's reduction order
 * (lang/reference.md: element k goes to lane k mod 32, lanes combine by the
 * fixed tree), written by hand the fastest simple way: c is packed
 * transposed (rows padded so that the 64 rows a vector reads do not share
 * cache sets), 16 outputs j per vector, each output's 32 lanes evaluated
 * depth-first along the tree so every partial stays in a register.  Its
 * results are bitwise texc's (peer_index.py checks), so it measures what
 * the defined order costs on this machine, whatever texc's own code does.
 * Only K = 64 and M % 16 == 0 (the bench's shapes). */
#include <stdint.h>
#include <stdlib.h>

typedef float v16 __attribute__((vector_size(64)));

static v16 load16(const float *p) {
  v16 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

enum { K = 64, PAD = 16 };

/* lane l of 16 outputs: (x[l] - c[l])^2 + (x[l+32] - c[l+32])^2 (-0.0 + t is t) */
static inline __attribute__((always_inline)) v16 leaf(const float *x, const float *ct, int64_t ld, int l) {
  v16 a = x[l] - load16(ct + l * ld), b = x[l + 32] - load16(ct + (l + 32) * ld);
  return a * a + b * b;
}

/* the fixed tree, depth first: lane j with j + 16, then + 8, + 4, + 2, + 1 */
#define T16(j) (leaf(x, ct, ld, j) + leaf(x, ct, ld, j + 16))
#define T8(j) (T16(j) + T16(j + 8))
#define T4(j) (T8(j) + T8(j + 4))
#define T2(j) (T4(j) + T4(j + 2))

static v16 tree(const float *x, const float *ct, int64_t ld) { return T2(0) + T2(1); }

/* d f32[n, m] from x f32[n, 64], c f32[m, 64]; 0 on success */
int pdist_floor(const float *x, const float *c, float *d, int64_t n, int64_t k, int64_t m) {
  if (k != K || m % 16) return 1;
  int64_t ld = m + PAD;
  float *ct = malloc(sizeof(float) * (size_t)(K * ld));
  if (!ct) return 2;
  for (int64_t j = 0; j < m; j++)
    for (int l = 0; l < K; l++) ct[l * ld + j] = c[j * K + l];
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < m; j += 16) {
      v16 r = tree(x + i * K, ct + j, ld);
      __builtin_memcpy(d + i * m + j, &r, sizeof r);
    }
  free(ct);
  return 0;
}
