"""NumPy as a contestant (each workload written by hand as a NumPy user
would: one array op after another), and the f64 references every output is
checked against (the same code in float64, or an independent order where
the code is a single NumPy call)."""
import numpy as np

VERSION = "NumPy " + np.__version__


# ---- the MLP: forward, backward by hand, SGD in place ------------------------------------


def mlp_forward(p, x, y):
    W1, b1, W2, b2, W3, b3 = p
    h1p = x @ W1 + b1
    h1 = np.maximum(h1p, 0)
    h2p = h1 @ W2 + b2
    h2 = np.maximum(h2p, 0)
    z = h2 @ W3 + b3
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(axis=1, keepdims=True)
    logp = z - m - np.log(s)
    loss = -(y * logp).sum(axis=1).mean()
    return loss, (h1p, h1, h2p, h2, e / s)


def mlp_grads(p, x, y):
    W1, b1, W2, b2, W3, b3 = p
    loss, (h1p, h1, h2p, h2, sm) = mlp_forward(p, x, y)
    dz = (sm * y.sum(axis=1, keepdims=True) - y) / x.shape[0]
    dh2 = (dz @ W3.T) * (h2p > 0)
    dh1 = (dh2 @ W2.T) * (h1p > 0)
    return loss, [x.T @ dh1, dh1.sum(axis=0), h1.T @ dh2, dh2.sum(axis=0), h2.T @ dz, dz.sum(axis=0)]


class Run:
    """A contestant: run() computes, outputs() gives texc's output order."""

    def __init__(self, fn, outputs):
        self.run, self._outputs = fn, outputs
        self.last = None

    def outputs(self):
        return [np.array(o) for o in self._outputs()]


def mlp_step(a):
    p = [a[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3")]
    x, y, lr = a["x"], a["y"], a["lr"]
    box = [None]

    def step():
        loss, g = mlp_grads(p, x, y)
        for w, gw in zip(p, g):
            w -= lr * gw
        box[0] = loss

    return Run(step, lambda: [np.float32(box[0])] + p)


def chain(x, a, b):
    return np.exp(-x * x / 2) * a + b * np.sqrt(np.abs(x))


def softmax(m):
    e = np.exp(m - m.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def logsumexp(m):
    mx = m.max(axis=1, keepdims=True)
    return (mx + np.log(np.exp(m - mx).sum(axis=1, keepdims=True)))[:, 0]


# ---- conv2d, 1 input channel, 3x3 window, valid: nine shifted products -------------------


def conv_fwd(x, w):
    B, _, H, W = x.shape
    O, _, U, _ = w.shape
    y = np.zeros((B, O, H - U + 1, W - U + 1), x.dtype)
    for u in range(U):
        for v in range(U):
            y += x[:, :, u:u + H - U + 1, v:v + W - U + 1] * w[None, :, 0, u, v, None, None]
    return y


def conv_grad(x, w, g):
    B, _, H, W = x.shape
    O, _, U, _ = w.shape
    R, Q = H - U + 1, W - U + 1
    loss = (conv_fwd(x, w) * g).sum()
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for u in range(U):
        for v in range(U):
            dx[:, 0, u:u + R, v:v + Q] += np.tensordot(g, w[:, 0, u, v], axes=([1], [0]))
            dw[:, 0, u, v] = np.tensordot(x[:, 0, u:u + R, v:v + Q], g, axes=([0, 1, 2], [0, 2, 3]))
    return [loss, dx, dw]


def reduce_einsum(a, b):
    return np.einsum("nkd,nke->kde", a[:, :, :, 0], b[:, :, 0, :], optimize=True)


def build(case, a, place, outdir, system):
    f = case.family
    if f == "mlp_step":
        return mlp_step(a)
    box = [None]

    def timed(fn):
        def run():
            box[0] = fn()
        return Run(run, lambda: box[0] if isinstance(box[0], list) else [box[0]])

    if f == "chain":
        return timed(lambda: chain(a["x"], a["a"], a["b"]))
    if f == "softmax":
        return timed(lambda: softmax(a["x"]))
    if f == "logsumexp":
        return timed(lambda: logsumexp(a["x"]))
    if f == "conv":
        return timed(lambda: conv_grad(a["x"], a["w"], a["g"]))
    if f == "reduce":
        return timed(lambda: reduce_einsum(a["a"], a["b"]))
    raise KeyError(f)


# ---- f64 references ------------------------------------------------------------------------


def ref(case, a):
    """The outputs of `case` computed in float64 from the same inputs."""
    d = {k: np.asarray(v, np.float64) if np.asarray(v).dtype.kind == "f" else v for k, v in a.items()}
    f = case.family
    p = [d[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3")] if f.startswith("mlp") else None
    if f == "mlp_step":
        loss, g = mlp_grads(p, d["x"], d["y"])
        return [loss] + [w - d["lr"] * gw for w, gw in zip(p, g)]
    if f == "mlp_fwd":
        return [mlp_forward(p, d["x"], d["y"])[0]]
    if f == "mlp_grad":
        loss, g = mlp_grads(p, d["x"], d["y"])
        return [loss] + g
    if f == "gemm":
        return [d["a"] @ d["b"]]
    if f == "chain":
        return [chain(d["x"], d["a"], d["b"])]
    if f == "softmax":
        return [softmax(d["x"])]
    if f in ("logsumexp", "lse_fwd", "lse_grad"):
        lse = logsumexp(d["x"])
        return [lse] if f == "logsumexp" else [lse.sum()] + ([softmax(d["x"])] if f == "lse_grad" else [])
    if f in ("conv", "conv_grad"):
        return conv_grad(d["x"], d["w"], d["g"])
    if f == "conv_fwd":
        return [(conv_fwd(d["x"], d["w"]) * d["g"]).sum()]
    if f == "reduce":  # batched matmul over k: an order independent of einsum's
        return [np.matmul(d["a"][:, :, :, 0].transpose(1, 2, 0), d["b"][:, :, 0, :].transpose(1, 0, 2))]
    raise KeyError(f)
