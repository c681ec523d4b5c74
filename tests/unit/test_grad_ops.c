/* test_grad_ops.c — every differentiable op has a vjp and a jvp rule, a
 * finite-difference test in f64 and a jvp-vs-vjp test (texc check-grad
 * --jvp, run on a small program per op).  Needs $TEXC. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "passes.h"

/* One program per op; `f` is checked.  Random inputs are in [-1, 1] (or
 * [0.1, 1.1] where f is not finite there), so abs and max see no ties. */
static const struct {
  Op op;
  const char *src;
} programs[] = {
    {OP_NEG, "fn f(x: f32[N]) -> f32 { return sum(-x * x) }"},
    {OP_CAST, "fn f(x: f32[N]) -> f64 { return sum(f64(x) * f64(x)) }"},
    {OP_ABS, "fn f(x: f32[N]) -> f32 { return sum(abs(x) * x) }"},
    {OP_EXP, "fn f(x: f32[N]) -> f32 { return sum(exp(x)) }"},
    {OP_LOG, "fn f(x: f32[N]) -> f32 { return sum(log(x)) }"},
    {OP_SQRT, "fn f(x: f32[N]) -> f32 { return sum(sqrt(x)) }"},
    {OP_TANH, "fn f(x: f32[N]) -> f32 { return sum(tanh(x * 2.0)) }"},
    {OP_SIGMOID, "fn f(x: f32[N]) -> f32 { return sum(sigmoid(x * 3.0)) }"},
    {OP_LOG1P, "fn f(x: f32[N]) -> f32 { return sum(log1p(x * 0.5)) }"},
    {OP_EXPM1, "fn f(x: f32[N]) -> f32 { return sum(expm1(x)) }"},
    {OP_SOFTPLUS, "fn f(x: f32[N]) -> f32 { return sum(softplus(x * 4.0)) }"},
    {OP_ERF, "fn f(x: f32[N]) -> f32 { return sum(erf(x) * x) }"},
    {OP_ERFC, "fn f(x: f32[N]) -> f32 { return sum(erfc(x * 2.0)) }"},
    {OP_LOG1MEXP, "fn f(x: f32[N]) -> f32 { return sum(log1mexp(-x * x - 0.1)) }"},
    /* x*3 and x*2+1 cross several quadrants of the reduction */
    {OP_SIN, "fn f(x: f32[N]) -> f32 { return sum(sin(x * 3.0) * x) }"},
    {OP_COS, "fn f(x: f32[N]) -> f32 { return sum(cos(x * 2.0 + 1.0)) }"},
    /* stop_gradient is not the true derivative by design; in logsumexp the
     * blocked path has derivative 0, so finite differences still apply */
    {OP_STOP_GRADIENT, "fn f(x: f32[N]) -> f32 {\n let m = stop_gradient(max(x))\n return m + log(sum(exp(x - m)))\n}"},
    {OP_ADD, "fn f(x: f32[N], y: f32[N]) -> f32 { return sum((x + y) * x) }"},
    {OP_SUB, "fn f(x: f32[N], y: f32[N]) -> f32 { return sum((x - y) * y) }"},
    {OP_MUL, "fn f(x: f32[N], y: f32[N]) -> f32 { return sum(x * y * x) }"},
    {OP_DIV, "fn f(x: f32[N], y: f32[N]) -> f32 { return sum(x / (y * y + 1.0)) }"},
    {OP_POW, "fn f(x: f32[N], y: f32[N]) -> f32 { return sum(x ** y) }"},
    {OP_MAX, "fn f(x: f32[N], y: f32[N]) -> f32 { return sum(max(x, y) * x) }"},
    {OP_MIN, "fn f(x: f32[N], y: f32[N]) -> f32 { return sum(min(x, y) * y) }"},
    {OP_SELECT, "fn f(x: f32[N], y: f32[N]) -> f32 { return sum(where(x > y, x * y, y * 3.0)) }"},
    {OP_BROADCAST, "fn f(x: f32[N, K], b: f32[K], c: f32[N, 1], s: f32) -> f32 { return sum((x + b) * c * s) }"},
    {OP_TRANSPOSE, "fn f(x: f32[N, K], y: f32[K, N]) -> f32 { return sum(transpose(x) * y) }"},
    {OP_SUM, "fn f(x: f32[N, K, M]) -> f32 {\n"
             "  return sum(tanh(sum(x, axis=1))) * sum(sum(x, axis=-1, keepdims=true) * x) + sum(tanh(sum(x, axis=0)))\n}"},
    {OP_RMAX, "fn f(x: f32[N, K]) -> f32 { return sum(max(x, axis=1, keepdims=true) * max(x, axis=0, keepdims=true)) + max(x) * sum(max(x, "
              "axis=-1)) }"},
    {OP_RMIN, "fn f(x: f32[N, K]) -> f32 { return sum(min(x, axis=1, keepdims=true) * min(x, axis=0, keepdims=true)) + min(x) * sum(min(x, "
              "axis=-1)) }"},
    {OP_MATMUL, "fn f(a: f32[M, K], b: f32[K, N], v: f32[K], w: f32[M]) -> f32 {\n"
                "  return sum(tanh(a @ b)) + sum((a @ v) * w) + sum(w @ a) * (v @ v)\n}"},
    /* index notation: comprehensions, reductions in them, slices, gathers, literals */
    {OP_GEN, "fn f(x: f32[N, D], c: f32[M, D]) -> f32 {\n let d[i, j] = sum[k] (x[i, k] - c[j, k]) ** 2\n return sum(tanh(d))\n}"},
    {OP_GEN,
     "fn f(x: f32[N, D]) -> f32 {\n let m[i] = max[k] x[i, k] * 3.0\n let n[k] = min[i] x[i, k] + x[0, k]\n return sum(m * m) + sum(n)\n}"},
    {OP_GEN, "fn f(x: f32[N, D], w: f32[N, D]) -> f32 {\n let e[i, j] = exp(x[i, j] - max[k] x[i, k])\n"
             " let p[i, j] = e[i, j] / sum[k] e[i, k]\n let q[i] = prod[k] (1.0 + 0.1 * x[i, k])\n"
             " return sum(p * w) + (sum[i] w[i, 0] * max[k] x[i, k]) + sum(q)\n}"},
    {OP_GEN, "fn f(x: f32[N, 6], s: f32) -> f32 { return sum(tanh(x[1:, ::-2] * x[:-1, 0:6:2] * s)) + sum(x[:, 3]) * x[0, -1] }"},
    {OP_GEN, "fn f(E: f32[V, D], idx: i32[B, 3], y: i64[B]) -> f32 {\n let e = E[idx]\n let p[b] = e[b, 1, y[b]] * E[y[b], 0]\n"
             " return sum(e * e) + sum(p) + sum(take(E, y, axis=1) ** 2.0)\n}"},
    {OP_GEN, "fn f(c: f32, s: f32, x: f32[2]) -> f32 {\n let R = [[c, -s], [s, c * c]]\n return sum(tanh(R @ x)) + sum([x, x * s])\n}"},
    {OP_GEN, "fn f(x: f32[B, C, H, W], w: f32[O, C, 3, 3]) -> f32 {\n"
             " let y[n, o, r < H - 2, c < W - 2] = sum[i, u, v] x[n, i, r + u, c + v] * w[o, i, u, v]\n return sum(tanh(y))\n}"},
    {OP_GEN, "fn f(p: f32[10], y: i32[N]) -> f32 {\n let L[i < 4, j < 4] = where(j <= i, p[i * 2 + j], 0.0)\n"
             " return sum(L @ L) + sum(one_hot(y, 4) @ L)\n}"},
    {OP_SCATTER, "fn f(a: f32[N, 3], b: f32[M, 3], v: f32[4], m: f32[4, 4]) -> f32 {\n let c = concat(a, b * 2.0, axis=0)\n"
                 " let s = stack(v, v * v, axis=1)\n let t = tril(m) + triu(m, k=1) * 2.0 + diag(v) + flip(m, axis=0) + flip(m)\n"
                 " return sum(c * c) + sum(tanh(s)) + sum(t * m) + sum(diag(m) * f32(iota(4)))\n}"},
    /* steps on symbolic extents (derived dims), a strided convolution over symbolic sizes */
    {OP_GEN, "import nn\nfn f(x: f32[N, M], w: f32[4, 1, 3, 3], b: f32[4]) -> f32 {\n"
             " let c = nn.conv2d(reshape(x, [1, 1, N, M]), w, b, stride=2, padding=1)\n"
             " return sum(tanh(x[::2, 1::3])) + sum(x[::-2, 0]) * sum(x[N // 2:, 1]) + sum(c * c)\n}"},
    /* windows x[i + k]: the cotangent solves i = p - k under a mask (grad_region.c), with other reads at the
     * solved index (z[i], x[i]), a symbolic range, and a window over two reduced variables */
    {OP_GEN, "fn f(x: f32[N], w: f32[K], z: f32[N - K + 1]) -> f32 {\n"
             " let y[i < N - K + 1] = sum[k] tanh(x[i + k] * w[k] + z[i]) * x[i]\n"
             " let s = sum[a < 3, b < N - 2] x[a + b] * w[0] * z[0] * f32(a + 1)\n return sum(y * y) + s\n}"},
    /* a gather's axis= may be a polymorphic function's constant */
    {OP_GEN, "private fn pick(x, idx, ax = 1) { return take(x, idx, axis=ax) }\n"
             "fn f(x: f32[N, K], idx: i32[P]) -> f32 { return sum(tanh(pick(x, idx))) + sum(pick(x, idx, ax=0)) }"},
    /* where in index notation reads only the branch taken: padding without clamping, and its gradient */
    {OP_GEN, "fn f(x: f32[N], w: f32[N]) -> f32 {\n"
             " let y[i < N + 2] = where(i >= 1 and i <= N, x[i - 1] * w[i - 1], 0.0) + where(i < N, x[min(i, N - 1)], 1.0)\n"
             " return sum(y * y * y)\n}"},
    {OP_SCATTER,
     "fn f(x: f32[V, D], idx: i32[B], v: f32[B, D]) -> f32 {\n let r = index_add(x, idx, v * v, axis=0)\n return sum(r * r)\n}"},
    {OP_SCATTER,
     "fn f(x: f32[N, K], idx: i32[N, M], v: f32[N, M]) -> f32 {\n let r = scatter_add(x * x, idx, tanh(v), axis=1)\n return sum(r * x)\n}"},
    /* issue 9: prod (no zeros here: red_prod.tex checks the gradient at
     * exact zeros against a C reference), cumsum and its reverse (the
     * gradient of cumsum, reached through grad inside f), var/std (sugar),
     * batched and broadcast matmul with the vector forms */
    {OP_PROD,
     "fn f(x: f32[N, K]) -> f32 { return sum(prod(x, axis=1, keepdims=true) * prod(x, axis=0, keepdims=true)) + prod(x * 0.5 + 1.0) }"},
    {OP_CUMSUM, "fn f(x: f32[N, K]) -> f32 { return sum(tanh(cumsum(x, axis=0)) * cumsum(x * x, axis=-1)) }"},
    {OP_CUMSUM_REV, "fn g(x: f32[N, K]) -> f32 { return sum(tanh(cumsum(x, axis=1))) }\n"
                    "fn f(x: f32[N, K]) -> f32 { return sum(grad(g, x) * x) }"},
    {OP_SUM, "fn f(x: f32[N, K]) -> f32 { return sum(var(x, axis=1, keepdims=true) * std(x, axis=0, ddof=1, keepdims=true)) + std(x) }"},
    {OP_MATMUL, "fn f(a: f32[B, M, K], b: f32[B, K, N], c: f32[K, N], d: f32[B, 1, M, K], v: f32[K]) -> f32 {\n"
                "  return sum(tanh(a @ b)) + sum(a @ c) + sum(tanh(d @ b)) + sum(tanh(a @ v)) + sum(v @ b)\n}"},
    /* shape ops (frontend/shape.c): reshape in both directions, through a
     * fused producer and a view; permute of rank 3; squeeze, expand_dims, broadcast_to */
    {OP_RESHAPE, "fn f(x: f32[N, K], y: f32[K*N]) -> f32 {\n"
                 "  return sum(tanh(reshape(x * 2.0, N*K)) * y) + sum(reshape(y, (K, N)) * transpose(x)) + sum(reshape(transpose(x), (-1, "
                 "1)) * reshape(y, (K*N, 1)))\n}"},
    {OP_TRANSPOSE, "fn f(x: f32[N, K, M], y: f32[M, N, K]) -> f32 { return sum(tanh(permute(x, axes=(2, 0, 1))) * y) }"},
    {OP_BROADCAST, "fn f(x: f32[N, 1, K], y: f32[N, K]) -> f32 {\n"
                   "  return sum(tanh(squeeze(x, axis=1)) * y) + sum(broadcast_to(x, (2, N, 3, K)) * expand_dims(y, axis=1))\n}"},
    /* issue 9: floor/ceil/round/sign are flat (the inputs avoid their jumps
     * by far more than the finite-difference step); clamp is max and min */
    {OP_SIGN, "fn f(x: f32[N]) -> f32 { return sum(sign(x) * x * x) }"},
    {OP_FLOOR, "fn f(x: f32[N]) -> f32 { return sum(floor(x * 3.0) * x) }"},
    {OP_CEIL, "fn f(x: f32[N]) -> f32 { return sum(ceil(x * 3.0) * x) }"},
    {OP_ROUND, "fn f(x: f32[N]) -> f32 { return sum(round(x * 3.0) * x + clamp(x, -0.5, 0.5) * x) }"},
    {OP_RSQRT, "fn f(x: f32[N]) -> f32 { return sum(rsqrt(x * x + 0.25)) }"},
    {OP_LOGADDEXP, "fn f(x: f32[N], y: f32[N]) -> f32 { return sum(logaddexp(x * 3.0, y) * y) }"},
    /* issue 9: the gamma family, on both sides of 0 (between the poles -2 and
     * -1, -1 and 0); lgamma twice through grad() (digamma, then trigamma;
     * --jvp of it needs tetragamma); tetragamma itself has no derivative */
    /* float %: d/da = 1, d/db = -floor(a/b) (away from the jumps) */
    {OP_MOD, "fn f(x: f32[N], y: f32[N]) -> f32 { return sum((x * 3.0) % (y + 2.0) * x + (x * 5.0) % (-0.75 - y * y)) }"},
    {OP_LGAMMA, "fn f(x: f32[N]) -> f32 { return sum(lgamma(x * 2.0 + 3.0) * x + lgamma(x * 0.4 - 1.5)) }"},
    {OP_DIGAMMA, "fn f(x: f32[N]) -> f32 { return sum(digamma(x + 2.0) * x + digamma(x * 0.3 - 0.5)) }"},
    {OP_TRIGAMMA, "fn f(x: f32[N]) -> f32 { return sum(trigamma(x + 2.0) * x + trigamma(x * 0.3 - 0.5)) }"},
    {OP_LGAMMA, "fn g(x: f32[N]) -> f32 { return sum(lgamma(x * x + 0.5)) }\n"
                "fn f(x: f32[N]) -> f32 { return sum(grad(g, x) * x) }"},
    {OP_CALL, "fn g(x: f32[N], y: f32[N]) -> f32[N] { return x * tanh(y) }\n"
              "fn f(x: f32[N], y: f32[N]) -> f32 { return sum(g(x, y) * g(y, x)) }"},
    /* issue 10: loops, reverse mode (states stacked, a backward loop) and
     * forward mode (tangents as states).  A recurrent net over x[t]; */
    {OP_LOOP, "fn f(x: f32[T, N, D], h0: f32[N, H], W: f32[H, H], U: f32[D, H], b: f32[H]) -> f32 {\n"
              "  let h = loop t < T with (h = h0) { next tanh(h @ W + x[t] @ U + b) }\n  return sum(h * h)\n}"},
    /* several states (one an integer), a call, a nested loop, t as a value, a size expression as trip count; */
    {OP_LOOP, "fn g(a: f32[N], w: f32[N]) -> f32[N] { return sin(a * w) + a }\n"
              "fn f(p0: f32[N], q0: f32[N], w: f32[N]) -> f32 {\n"
              "  let (p, q, k) = loop t < N + 1 with (p = p0, q = q0, k = 1) {\n"
              "    let r = loop j < 2 with (v = q) { next tanh(v * w + f32(j)) }\n"
              "    next (g(q, w) * 0.5, p + r * f32(t) * 0.1, k * 2)\n  }\n"
              "  return sum(p * q) * f32(k) / 64.0\n}"},
    /* an optimiser inside the model: grad of an inner function in the body
     * (the gradient of a gradient through a loop); */
    {OP_LOOP, "fn g(w: f32[N], x: f32[N]) -> f32 { return sum((tanh(w * x) - 0.5) ** 2.0) }\n"
              "fn f(w0: f32[N], x: f32[N]) -> f32 {\n"
              "  let w = loop t < 3 with (w = w0) { next w - 0.3 * grad(g, w, x, wrt=w) }\n  return g(w, x) + sum(w * w)\n}"},
    /* scan: stacked outputs (their cotangents read back row by row), two
     * emitted values, checkpoint=2 on it, a state-less scan, and
     * checkpoint=2 on a loop; */
    {OP_LOOP, "fn f(x: f32[T, N, D], h0: f32[N, H], W: f32[H, H], U: f32[D, H]) -> f32 {\n"
              "  let (h, all, s) = scan t < T with (h = h0) checkpoint=2 {\n    let h2 = tanh(h @ W + x[t] @ U)\n    next h2 emit (h2, "
              "sum(h2 * h2))\n  }\n"
              "  let m = scan t < T { emit sin(x[t]) }\n"
              "  let g = loop t < T + 1 with (g = h) checkpoint=2 { next tanh(g * 0.5 + h) }\n"
              "  return sum(all * all) * 0.5 + sum(s) + sum(g) + sum(m * m)\n}"},
    /* an if whose branch holds a loop, and a loop whose body holds an if; */
    {OP_IF, "fn f(x: f32[N], s: f32) -> f32 {\n"
            "  let a = if s > 0.0 { let h = loop t < 3 with (h = x) { next sin(h * s) + x }\n yield sum(h * h) } else { sum(x * x * s) }\n"
            "  let b = loop t < N with (v = x) { next if t % 2 == 0 { tanh(v * s) } else { v * x } }\n"
            "  return a + sum(b)\n}"},
    /* a Hessian-vector product: the reverse sweep's loop differentiated again. */
    {OP_LOOP, "fn g(x: f32[N], w: f32[N]) -> f32 {\n"
              "  let h = loop t < 4 with (h = x) { next sin(h * w) + x }\n  return sum(h * h)\n}\n"
              "fn f(x: f32[N], w: f32[N], v: f32[N]) -> f32 { return sum(grad(g, x, w, wrt=x) * v) }"},
    /* issue 10, the proofs of tests/e2e/lstm.tex, rk4.tex and loop_grad.tex:
     * an LSTM language model (a gather of the token's embedding, fused
     * gates, a per-step cross-entropy of the next token as a third state),
     * checkpointed every 2 steps; */
    {OP_LOOP, "fn f(tok: i64[S, N], E: f32[V, D], W: f32[D, 4 * H], U: f32[H, 4 * H], b: f32[4 * H], Wo: f32[H, V], bo: f32[V],\n"
              "      h0: f32[N, H], c0: f32[N, H]) -> f32 {\n"
              "  let (h, c, L) = loop t < S - 1 with (h = h0, c = c0, L = 0.0) checkpoint=2 {\n"
              "    let z = E[tok[t]] @ W + h @ U + b\n"
              "    let c2 = sigmoid(z[:, H:2*H]) * c + sigmoid(z[:, 0:H]) * tanh(z[:, 2*H:3*H])\n"
              "    let h2 = sigmoid(z[:, 3*H:4*H]) * tanh(c2)\n"
              "    let lp = log_softmax(h2 @ Wo + bo, axis=1)\n"
              "    let y = tok[t + 1]\n    let p[n] = lp[n, y[n]]\n    next (h2, c2, L - sum(p))\n  }\n"
              "  return L / f32(N) + sum(h * c)\n}"},
    /* RK4 steps of a pendulum with parameters th (a call giving two results, four times per step); */
    {OP_LOOP, "fn rhs(q: f32[N], p: f32[N], th: f32[3]) -> (f32[N], f32[N]) { return p, -th[0] * sin(q) - th[1] * p + th[2] }\n"
              "fn f(q0: f32[N], p0: f32[N], th: f32[3], dt: f32) -> f32 {\n"
              "  let (q, p) = loop t < 8 with (q = q0, p = p0) {\n"
              "    let (k1q, k1p) = rhs(q, p, th)\n"
              "    let (k2q, k2p) = rhs(q + 0.5 * dt * k1q, p + 0.5 * dt * k1p, th)\n"
              "    let (k3q, k3p) = rhs(q + 0.5 * dt * k2q, p + 0.5 * dt * k2p, th)\n"
              "    let (k4q, k4p) = rhs(q + dt * k3q, p + dt * k3p, th)\n"
              "    next (q + dt / 6.0 * (k1q + 2.0 * k2q + 2.0 * k3q + k4q), p + dt / 6.0 * (k1p + 2.0 * k2p + 2.0 * k3p + k4p))\n  }\n"
              "  return sum(q * q) + 0.5 * sum(p * p)\n}"},
    /* an inner loop reading the outer state and the inner counter's a[j] (outer checkpoint=2); */
    {OP_LOOP, "fn f(x: f32[T, N], s0: f32[N], w: f32[N], a: f32[M]) -> f32 {\n"
              "  let s = loop t < T with (s = s0) checkpoint=2 {\n"
              "    let u = loop j < M with (v = s) { next tanh(v * w + s * a[j] + x[t]) }\n    next s + u * 0.5\n  }\n"
              "  return sum(s * s)\n}"},
    /* binomial checkpointing, checkpoint=revolve(S): a scan reading x[t]
     * (rows) at revolve(2) with an inner loop at revolve(1), and an LSTM
     * cell at revolve(3) whose trip count is an integer value, not a size; */
    {OP_LOOP, "fn f(x: f32[T, N], s0: f32[N], w: f32[N], a: f32[M]) -> f32 {\n"
              "  let (s, ys) = scan t < T + 5 with (s = s0) checkpoint=revolve(2) {\n"
              "    let u = loop j < M with (v = s) checkpoint=revolve(1) { next tanh(v * w + s * a[j] + x[t % T]) }\n"
              "    next s + u * 0.5 emit sin(s)\n  }\n"
              "  let n = T + 4 + i64(sum(s0) * 0.0)\n"
              "  let (h, c) = loop t < n with (h = s0, c = w) checkpoint=revolve(3) {\n"
              "    let c2 = sigmoid(h * w) * c + tanh(h + x[t % T])\n    next (tanh(c2) * sigmoid(c + h), c2)\n  }\n"
              "  return sum(s * s) + sum(ys * ys) + sum(h * c)\n}"},
    /* multi-level checkpointing on both loops, the outer scan's rows of x
     * and its stacked outputs coming back through three levels; */
    {OP_LOOP, "fn f(x: f32[T, N], s0: f32[N], w: f32[N], a: f32[M]) -> f32 {\n"
              "  let (s, ys) = scan t < T + 9 with (s = s0) checkpoint=(7, 3, 2) {\n"
              "    let u = loop j < M with (v = s) checkpoint=(3, 2) { next tanh(v * w + s * a[j] + x[t % T]) }\n"
              "    next s + u * 0.5 emit sin(s)\n  }\n"
              "  return sum(s * s) + sum(ys * ys)\n}"},
    /* an if on data (x[t] > 0) picking a formula at every step. */
    {OP_IF, "fn f(x: f32[T], v0: f32[N], w: f32[N]) -> f32 {\n"
            "  let v = loop t < T with (v = v0) { next if x[t] > 0.0 { tanh(v * w) + x[t] } else { v * w * x[t] + sin(v) } }\n"
            "  return sum(v * v)\n}"},
    /* issue 10: if differentiates the branch taken; two ifs on opposite
     * conditions, so every seed differentiates a then and an else branch */
    {OP_IF, "fn f(x: f32[N], s: f32) -> f32 {\n let y = if s > 0.0 { x * s + 1.0 } else { tanh(x) * s }\n"
            " let z = if s <= 0.0 { x * x } else { let u = sin(x)\n yield u * s }\n return sum(y * x + z)\n}"},
    /* a tuple-valued if and an else-if chain */
    {OP_IF, "fn f(x: f32[N], w: f32[N], s: f32) -> f32 {\n"
            " let (a, b) = if s > 0.0 { (x * s, sum(w * x)) } else { (x * w, s * 2.0) }\n"
            " let c = if s > 0.5 { x + w } else if s > -0.5 { x * w * s } else { tanh(w) }\n return sum(a * a) + b * sum(c)\n}"},
    /* a gather only the branch taken runs (i is often out of range) */
    {OP_IF,
     "fn f(x: f32[N], i: i64) -> f32 {\n let v = if i >= 0 and i < N { x[i] * x[i] } else { sum(x) }\n return v * 2.0 + sum(x * x)\n}"},
    /* gradients of gradients: grad of a function with an if, inside an if */
    {OP_IF,
     "fn g(x: f32[N], s: f32) -> f32 { return if s > 0.0 { sum(tanh(x) * x) * s } else { sum(x * x * x) } }\n"
     "fn f(x: f32[N], s: f32) -> f32 {\n let d = grad(g, x, s, wrt=x)\n return sum(d * x) + if s > 0.0 { sum(d * d) } else { s }\n}"},
};

/* Forward mode only (check-grad --forward: jvp against central differences
 * along a random direction), for what reverse mode cannot go through: while
 * loops.  Newton's method for sqrt (the inputs are redrawn in [0.1, 1.1]
 * when [-1, 1] makes it reach its max), and a while in a loop body whose
 * step count depends on the data (a difference step rarely changes it). */
static const char *const forward_programs[] = {
    "fn f(a: f32[N], w: f32[N]) -> f32 {\n"
    "  let x = while max(abs(x * x - a)) > 1e-9 with (x = a + 1.0) max=60 { next 0.5 * (x + a / x) }\n"
    "  return sum(x * w)\n}",
    "fn f(x: f32[N], w: f32[N]) -> f32 {\n"
    "  let y = loop t < 3 with (y = x) {\n"
    "    let (z, k) = while max(abs(z)) > 0.5 with (z = y * w, k = 0) max=60 { next (z * 0.5 + 0.01 * tanh(z), k + 1) }\n"
    "    next z * f32(k) + y * 0.1\n  }\n"
    "  return sum(y * y)\n}",
};

static void test_every_differentiable_op_has_rules(void **state) {
  (void)state;
  for (int op = 0; op < OP_COUNT; op++) {
    if (!(op_info[op].flags & F_DIFF)) continue;
    if (!vjp_rules[op]) fail_msg("op %s is differentiable but has no vjp rule", op_info[op].name);
    if (!jvp_rule((Op)op)) fail_msg("op %s is differentiable but has no jvp rule", op_info[op].name);
  }
}

static void test_every_differentiable_op_has_a_program(void **state) {
  (void)state;
  for (int op = 0; op < OP_COUNT; op++) {
    if (!(op_info[op].flags & F_DIFF) || op == OP_PROJ) continue; /* proj: test_multi_result below */
    bool found = false;
    for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) found = found || programs[i].op == (Op)op;
    if (!found) fail_msg("op %s is differentiable but has no finite-difference program", op_info[op].name);
  }
}

/* Runs texc check-grad MODE on src; fails with its output unless ok. */
static void check_grad(const char *name, const char *src, int seed, const char *mode) {
  char path[] = "/tmp/texc-gradop-XXXXXX.tex", cmd[512], out[4096] = "";
  int fd = mkstemps(path, 4);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs(src, f);
  fclose(f);
  const char *texc = getenv("TEXC") ? getenv("TEXC") : "build/texc";
  snprintf(cmd, sizeof cmd, "%s check-grad %s f %s --seed %d 2>&1", texc, path, mode, seed);
  FILE *p = popen(cmd, "r");
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = 0;
  int rc = pclose(p);
  unlink(path);
  if (rc != 0 || !strstr(out, "check-grad: ok") || !strstr(out, strcmp(mode, "--jvp") == 0 ? "jvp_vs_vjp" : "jvp_vs_fd"))
    fail_msg("%s: check-grad failed (status %d):\n%s\n%s", name, rc, src, out);
}

static void test_finite_differences_per_op(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++)
    for (int seed = 1; seed <= 2; seed++) check_grad(op_info[programs[i].op].name, programs[i].src, seed, "--jvp");
}

static void test_forward_mode_alone(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof forward_programs / sizeof forward_programs[0]; i++)
    for (int seed = 1; seed <= 3; seed++) check_grad("while", forward_programs[i], seed, "--forward");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_differentiable_op_has_rules),
      cmocka_unit_test(test_every_differentiable_op_has_a_program),
      cmocka_unit_test(test_finite_differences_per_op),
      cmocka_unit_test(test_forward_mode_alone),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
