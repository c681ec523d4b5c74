"""run.py — tests/models/models.tex, and the model of the char-LSTM example
(examples/charlstm.tex), against NumPy (what `make check-models` runs).

    TEXC=build/texc /usr/bin/python3 tests/models/run.py

Values against NumPy references written from the definitions (precisions
through np.linalg.slogdet, convolutions as explicit window sums over a
zero-padded array), gradients against central differences of the same
references in f64 (step 1e-6)."""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "diff"))
import texrt  # noqa: E402

TEXC = os.environ.get("TEXC", "build/texc")
rng = np.random.default_rng(20261207)
failures = []


def check(name, got, want, rtol, atol=0.0):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    err = np.max(np.abs(got - want) - rtol * np.abs(want), initial=0.0)
    ok = got.shape == want.shape and err <= atol
    print("%-4s %-22s shape %-16s worst excess %.3g" % ("ok" if ok else "FAIL", name, got.shape, err))
    if not ok:
        failures.append(name)


def fd_grad(f, args, wrt, h=1e-6):
    out = []
    for k in wrt:
        g = np.zeros_like(args[k])
        for i in np.ndindex(args[k].shape):
            a = [x.copy() for x in args]
            a[k][i] += h
            up = f(*a)
            a[k][i] -= 2 * h
            g[i] = (up - f(*a)) / (2 * h)
        out.append(g)
    return out


def logsumexp(v, axis):
    m = np.max(v, axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.sum(np.exp(v - m), axis=axis))


# ---- references -------------------------------------------------------------------
def unpack(p, n):
    L, t = np.zeros((n, n)), 0
    for i in range(n):
        for j in range(i + 1):
            L[i, j], t = p[t], t + 1
    return L


def gmm_ref(x, mu, p, a):
    K = mu.shape[0]
    lw = a - logsumexp(a, 0)
    lp = np.zeros((x.shape[0], K))
    for k in range(K):
        L = unpack(p[k], 3)
        P = L @ L.T
        d = x - mu[k]
        lp[:, k] = lw[k] + 0.5 * np.linalg.slogdet(P)[1] - 0.5 * np.einsum("ni,ij,nj->n", d, P, d) - 1.5 * np.log(2 * np.pi)
    return np.sum(logsumexp(lp, 1))


def conv2d_ref(x, w, b, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    O, _, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    Ho = (H + 2 * padding - dilation * (KH - 1) - 1) // stride + 1
    Wo = (W + 2 * padding - dilation * (KW - 1) - 1) // stride + 1
    y = np.zeros((N, O, Ho, Wo)) + b[None, :, None, None]
    for u in range(KH):
        for v in range(KW):
            win = xp[:, :, dilation * u:dilation * u + stride * (Ho - 1) + 1:stride,
                     dilation * v:dilation * v + stride * (Wo - 1) + 1:stride]
            y += np.einsum("nchw,oc->nohw", win, w[:, :, u, v])
    return y


def pool_ref(x, k, s, op):
    N, C, H, W = x.shape
    Ho, Wo = (H - k) // s + 1, (W - k) // s + 1
    y = np.zeros((N, C, Ho, Wo))
    for r in range(Ho):
        for q in range(Wo):
            y[:, :, r, q] = op(x[:, :, s * r:s * r + k, s * q:s * q + k], axis=(2, 3))
    return y


def sce_ref(z, y):
    lp = z - logsumexp(z, 1)[:, None]
    return -np.mean(lp[np.arange(len(y)), y])


def cnn_ref(x, w1, b1, W2, b2, y):
    h = np.maximum(conv2d_ref(x, w1, b1, padding=1), 0)
    q = pool_ref(h, 2, 2, np.max).reshape(x.shape[0], 36)
    return sce_ref(q @ W2 + b2, y)


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def lstm_cell_ref(e, h, c, Wx, Wh, b):
    z = e @ Wx + h @ Wh + b
    i, f, g, o = np.split(z, 4, axis=1)
    c2 = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c2), c2


def charlstm_ref(E, Wx, Wh, b, Wy, by, x, y):
    """examples/charlstm.tex's loss: sum over t of the batch-mean cross-entropy."""
    h = c = np.zeros((x.shape[1], Wh.shape[0]))
    total = 0.0
    for t in range(x.shape[0]):
        h, c = lstm_cell_ref(E[x[t]], h, c, Wx, Wh, b)
        total += sce_ref(h @ Wy + by, y[t])
    return total


def check_charlstm(tmp):
    """The model of the char-LSTM example (make demo), in f32: loss, gradient
    and sample_step against the f64 reference and its central differences."""
    so = os.path.join(tmp, "libcharlstm.so")
    src = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "charlstm.tex")
    subprocess.run([TEXC, src, "--grad", "loss", "--wrt", "E,Wx,Wh,b,Wy,by", "-o", so], check=True)
    m = texrt.Module(so, "charlstm")
    V, D, H, B, T = 6, 3, 4, 2, 5
    f = lambda *s: rng.uniform(-1, 1, size=s).astype(np.float32)  # noqa: E731
    w = [f(V, D), f(D, 4 * H), f(H, 4 * H), f(4 * H), f(H, V), f(V)]
    x, y = rng.integers(0, V, size=(T, B)), rng.integers(0, V, size=(T, B))
    w64 = [a.astype(np.float64) for a in w]
    check("charlstm loss", m.call("loss", w + [x, y])[0][0], charlstm_ref(*w64, x, y), 1e-5, 1e-5)
    got = m.call("loss_grad", w + [x, y])[0]
    check("charlstm loss (grad)", got[0], charlstm_ref(*w64, x, y), 1e-5, 1e-5)
    want = fd_grad(lambda *a: charlstm_ref(*a, x, y), w64, range(6))
    for name, g, wg in zip(("E", "Wx", "Wh", "b", "Wy", "by"), got[1:], want):
        check("d charlstm/d %s" % name, g, wg, 1e-4, 1e-5)
    h, c, tok, temp = f(B, H), f(B, H), rng.integers(0, V, size=B), np.float32(0.7)
    h2, c2, p = m.call("sample_step", w + [h, c, tok, temp])[0]
    rh, rc = lstm_cell_ref(w64[0][tok], h.astype(np.float64), c.astype(np.float64), *w64[1:4])
    z = (rh @ w64[4] + w64[5]) / 0.7
    check("charlstm sample_step h", h2, rh, 1e-5, 1e-6)
    check("charlstm sample_step c", c2, rc, 1e-5, 1e-6)
    check("charlstm sample_step p", p, np.exp(z - logsumexp(z, 1)[:, None]), 1e-5, 1e-6)


def main():
    tmp = tempfile.mkdtemp()
    so = os.path.join(tmp, "libmodels.so")
    subprocess.run([TEXC, os.path.join(os.path.dirname(__file__), "models.tex"), "-o", so], check=True)
    m = texrt.Module(so, "models")

    for N, K in ((1, 1), (5, 3), (40, 4)):
        x, mu = rng.normal(size=(N, 3)), rng.normal(size=(K, 3))
        p = rng.normal(size=(K, 6)) * 0.5
        p[:, [0, 2, 5]] = rng.uniform(0.5, 2.0, size=(K, 3))  # the diagonal of L: positive
        a = rng.normal(size=K)
        args = [x, mu, p, a]
        check("gmm N=%d K=%d" % (N, K), m.call("gmm", args)[0][0], gmm_ref(*args), 1e-12, 1e-12)
        got = m.call("gmm_grad", args)[0]
        for name, g, want in zip(("x", "mu", "p", "a"), got, fd_grad(gmm_ref, args, (0, 1, 2, 3))):
            check("d gmm/d %s" % name, g, want, 1e-6, 1e-7)

    for N in (1, 6):
        args = [rng.normal(size=(N, 2, 7, 7)), rng.normal(size=(4, 2, 3, 3)) * 0.5, rng.normal(size=4) * 0.1,
                rng.normal(size=(36, 3)) * 0.3, rng.normal(size=3) * 0.1, rng.integers(0, 3, size=N).astype(np.int32)]
        check("cnn N=%d" % N, m.call("cnn", args)[0][0], cnn_ref(*args), 1e-12, 1e-12)
        got = m.call("cnn_grad", args)[0]
        for name, g, want in zip(("x", "w1", "b1", "W2", "b2"), got, fd_grad(cnn_ref, args, (0, 1, 2, 3, 4))):
            check("d cnn/d %s" % name, g, want, 1e-6, 1e-7)

    f = lambda *s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    x, w, b = f(3, 3, 9, 8), f(5, 3, 3, 2), f(5)
    check("conv2d stride/pad/dil", m.call("conv2d_sd", [x, w, b])[0][0], conv2d_ref(x, w, b, 2, 1, 2), 1e-5, 1e-5)
    x, w, b = f(2, 2, 11), f(3, 2, 4), f(3)
    xp = np.pad(x, ((0, 0), (0, 0), (2, 2)))
    want = conv2d_ref(xp[:, :, None, :], w[:, :, None, :], b, 3)[:, :, 0, :]  # as 2-d of height 1
    check("conv1d stride 3 pad 2", m.call("conv1d_s3", [x, w, b])[0][0], want, 1e-5, 1e-5)
    x = f(2, 2, 6, 5)
    check("max_pool2d 3/1", m.call("maxpool_31", [x])[0][0], pool_ref(x, 3, 1, np.max), 0)
    x = f(2, 2, 7, 6)
    check("avg_pool2d 3/2", m.call("avgpool_32", [x])[0][0], pool_ref(x, 3, 2, np.mean), 1e-6, 1e-6)
    E, idx = f(7, 4), rng.integers(0, 7, size=(5, 3))
    check("embedding", m.call("embed", [E, idx])[0][0], E[idx], 0)
    z, y = f(9, 7) * 100, rng.integers(0, 7, size=9).astype(np.int32)
    check("sparse_cross_entropy", m.call("sce", [z, y])[0][0], sce_ref(z.astype(np.float64), y), 1e-5, 1e-5)
    p = f(10)
    check("tril_unpack n=4", m.call("unpack4", [p])[0][0], unpack(p, 4), 0)
    a, b = f(6), f(6)
    check("trace(outer)", m.call("outer_tr", [a, b])[0][0], np.dot(a.astype(np.float64), b), 1e-6, 1e-6)
    try:  # a label out of range: TEX_ERR_INDEX, not a wrong read
        m.call("sce", [z, np.array([0, 1, 2, 3, 4, 5, 6, 7, 0], np.int32)])
        failures.append("sce with label 7 of 7 classes did not fail")
    except RuntimeError as e:
        print("ok   label out of range: %s" % e)
    check_charlstm(tmp)
    print("== models: %d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
