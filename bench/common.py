"""bench/common.py — what the coordinator (driver.py) and the workers
(worker.py) share: the workloads ("cases"), how inputs are made and placed
in memory, and how outputs are compared.  Runs under Debian's Python with
NumPy 1.24 and under the bench venv's NumPy 2.x alike.

A case names a family (the peers' builders are keyed by family), the inputs
(made once by the coordinator, saved as .npy, loaded by every worker: every
system computes on the same bits), the systems that run it, the tolerance
of the output check, the floor (what the machine's measured limits allow)
and the issue's target for it (report.py)."""
import os

import numpy as np

PAGE = 4096
MODES = ("aligned", "offset")


def place(a, mode, slot):
    """A copy of `a` whose data starts on a page boundary ("aligned") or at
    a slot-dependent offset into a page ("offset": 16 + 1088 * slot bytes
    mod 4096, a multiple of 16, different for each operand so that no two
    operands share their address bits below 4K, as a malloc'd buffer sits
    16 bytes into its pages).  The returned array owns (via .base) its raw
    buffer."""
    a = np.asarray(a)
    off = 0 if mode == "aligned" else (16 + 1088 * slot) % PAGE
    raw = np.empty(a.nbytes + off + 2 * PAGE, np.uint8)
    start = (-raw.ctypes.data) % PAGE + off
    out = raw[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


class Case:
    """One workload.  inputs: {name: array} made by make(); systems: the
    contestants that run it; tol: the largest accepted max|got - ref| /
    max|ref| for each output (see compare()); texc: (lib, prefix, fn);
    check_inputs: inputs replaced for the output check only (e.g. a large
    learning rate so that the SGD update, not the old weight, dominates the
    compared array); group: 'peers' (a row of the ratio table) or 'ratio'
    (texc only: gradient / forward)."""

    def __init__(self, cid, title, family, make, systems, tol, texc, floor=None, target=None,
                 check_inputs=None, group="peers"):
        self.id, self.title, self.family, self.make = cid, title, family, make
        self.systems, self.tol, self.texc = systems, tol, texc
        self.floor, self.target = floor, target
        self.check_inputs = check_inputs or {}
        self.group = group


# ---- inputs ----------------------------------------------------------------------


def _rng(seed):
    return np.random.default_rng(seed)


def mlp_inputs(lr=0.01):
    g = _rng(1)
    N, D, H, K = 256, 784, 512, 10
    u = lambda fan, *s: g.uniform(-1 / np.sqrt(fan), 1 / np.sqrt(fan), s).astype(np.float32)  # noqa: E731
    W1, b1, W2, b2, W3, b3 = u(D, D, H), u(D, H), u(H, H, H), u(H, H), u(H, H, K), u(H, K)
    x = g.uniform(0, 1, (N, D)).astype(np.float32)
    y = np.eye(K, dtype=np.float32)[g.integers(0, K, N)]
    return dict(W1=W1, b1=b1, W2=W2, b2=b2, W3=W3, b3=b3, x=x, y=y, lr=np.float32(lr))


MLP_FLOPS = 2 * 256 * (784 * 512 + 512 * 512 + 512 * 10) * 2 + 2 * 256 * (512 * 512 + 512 * 10)  # 822 M


def gemm_inputs(n, dt):
    g = _rng(n)
    return dict(a=g.uniform(-1, 1, (n, n)).astype(dt), b=g.uniform(-1, 1, (n, n)).astype(dt))


def chain_inputs():
    g = _rng(2)
    return dict(x=g.uniform(-3, 3, 1 << 24).astype(np.float32), a=np.float32(0.75), b=np.float32(1.25))


def rows_inputs():
    return dict(x=_rng(3).normal(0, 2, (4096, 1024)).astype(np.float32))


def conv_inputs():
    g = _rng(4)
    return dict(x=g.uniform(-1, 1, (64, 1, 28, 28)).astype(np.float32),
                w=g.uniform(-1, 1, (16, 1, 3, 3)).astype(np.float32),
                g=g.uniform(-1, 1, (64, 16, 26, 26)).astype(np.float32))


LSTM_DIMS = dict(B=64, D=64, H=256, T=50, V=96)


def lstm_inputs():
    B, D, H, T, V = (LSTM_DIMS[k] for k in "BDHTV")
    g = _rng(5)
    s = 1 / np.sqrt(H)
    u = lambda *shape: g.uniform(-s, s, shape).astype(np.float32)  # noqa: E731
    E = g.normal(0, 1, (V, D)).astype(np.float32)
    toks = g.integers(0, V, (T + 1, B)).astype(np.int64)
    return dict(E=E, Wx=u(D, 4 * H), Wh=u(H, 4 * H), b=u(4 * H), Wy=u(H, V), by=u(V), h0=u(B, H), c0=u(B, H),
                x=toks[:T].copy(), y=toks[1:].copy())


RED = dict(N=1000, K=100, D=64)


def reduce_inputs():
    N, K, D = RED["N"], RED["K"], RED["D"]
    g = _rng(6)
    return dict(a=g.uniform(-1, 1, (N, K, D, 1)), b=g.uniform(-1, 1, (N, K, 1, D)))


# ---- the cases -----------------------------------------------------------------------

PEERS_ALL = ["texc", "numpy", "torch1", "torch2", "compile", "jax"]
F32, F64 = 1e-5, 1e-12  # check tolerances: max|got - ref| / max|ref| per output array


def cases(quick):
    mlp = "libmlp.so", "mlp"
    out = [
        Case("mlp_step", "MLP train step 256x784-512-512-10 (SGD in place)", "mlp_step", mlp_inputs, PEERS_ALL, F32,
             mlp + ("train_step",), floor=("flops32", MLP_FLOPS), target="mlp", check_inputs=dict(lr=np.float32(100.0))),
    ]
    for n in ((256, 1024) if quick else (256, 512, 1024, 2048)):
        for dt, name in ((np.float32, "sgemm"), (np.float64, "dgemm")):
            out.append(Case("%s_%d" % (name, n), "%s n=%d" % (name, n), "gemm",
                            (lambda n=n, dt=dt: gemm_inputs(n, dt)), ["texc", "openblas", "torch2", "jax"],
                            F32 if dt == np.float32 else F64, ("libgemm.so", "gemm", name),
                            floor=("flops32" if dt == np.float32 else "flops64", 2 * n ** 3), target="gemm"))
    out += [
        Case("chain", "exp(-x*x/2)*a + b*sqrt(|x|), 2^24 f32", "chain", chain_inputs, PEERS_ALL, F32,
             ("libfused.so", "fused", "chain"), floor=("bytes", 8 << 24), target="chain"),
        Case("softmax", "row softmax 4096x1024 f32", "softmax", rows_inputs, PEERS_ALL, F32,
             ("libfused.so", "fused", "softmax_rows"), floor=("bytes", 8 * 4096 * 1024), target="rows"),
        Case("logsumexp", "row logsumexp 4096x1024 f32", "logsumexp", rows_inputs, PEERS_ALL, F32,
             ("libfused.so", "fused", "logsumexp_rows"), floor=("bytes", 4 * 4096 * 1024 + 4 * 4096), target="rows"),
        Case("conv", "conv2d 64x1x28x28 * 16x1x3x3: value + grad (x, w)", "conv", conv_inputs,
             ["texc", "numpy", "torch1", "torch2", "jax"], F32, ("libindex.so", "index", "conv3_loss_grad"), target="torch"),
        Case("lstm", "LSTM loss + grad B=64 D=64 H=256 T=50 V=96", "lstm", lstm_inputs, ["texc", "texc_ck", "torch1", "torch2", "jax"], F32,
             ("liblstm.so", "lstm", "loss_grad"), target="torch"),
        Case("reduce", "sum(a*b, axis=0), a f64[1000,100,64,1], b f64[1000,100,1,64]", "reduce", reduce_inputs,
             ["texc", "texc_inner", "numpy", "torch2", "jax"], F64, ("libreduce.so", "reduce", "outer"),
             floor=("reduce", None), target="reduce"),
    ]
    # gradient / forward, texc alone (checked against the f64 reference too)
    ratio = [("mlp", "MLP loss", mlp_inputs, mlp + ("loss",), mlp + ("loss_grad",)),
             ("conv", "conv2d loss", conv_inputs, ("libindex.so", "index", "conv3_loss"),
              ("libindex.so", "index", "conv3_loss_grad")),
             ("lstm", "LSTM loss", lstm_inputs, ("liblstm.so", "lstm", "loss"), ("liblstm.so", "lstm", "loss_grad")),
             ("lse", "sum of row logsumexp 4096x1024", rows_inputs, ("liblse.so", "lse", "lse"),
              ("liblse.so", "lse", "lse_grad"))]
    for fam, title, make, fwd, grad in ratio:
        out.append(Case(fam + "_fwd", title + ": forward", fam + "_fwd", make, ["texc"], F32, fwd, group="ratio"))
        out.append(Case(fam + "_grad", title + ": value + gradient", fam + "_grad", make, ["texc"], F32, grad,
                        group="ratio"))
    return out


# ---- checks ---------------------------------------------------------------------------


def rel_err(got, ref):
    """max |got - ref| / max |ref| over one array (inf on a shape mismatch or
    a non-finite value)."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    if got.shape != ref.shape or not np.all(np.isfinite(got)):
        return float("inf")
    return float(np.max(np.abs(got - ref)) / max(float(np.max(np.abs(ref))), 1e-300)) if ref.size else 0.0


def compare(got, ref):
    """The worst rel_err over a list of output arrays."""
    if len(got) != len(ref):
        return float("inf")
    return max((rel_err(g, r) for g, r in zip(got, ref)), default=0.0)


def post(case, outs, inputs):
    """What is compared.  The SGD step's weights after the step become the
    step itself, (W_after - W) / lr: with lr = 100 for the check, the f32
    rounding of W_after is ~1e-7 of the step, and a wrong gradient shows."""
    if case.family != "mlp_step":
        return outs
    lr = float(case.check_inputs.get("lr", inputs["lr"]))
    names = ["W1", "b1", "W2", "b2", "W3", "b3"]
    return [outs[0]] + [(np.asarray(o, np.float64) - inputs[n].astype(np.float64)) / lr for o, n in zip(outs[1:], names)]


def out_dir(base, *parts):
    d = os.path.join(base, *parts)
    os.makedirs(d, exist_ok=True)
    return d
