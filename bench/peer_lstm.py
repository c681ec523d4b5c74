"""The LSTM case of `make bench` (issue 10): texc's bench/lstm.tex beside
PyTorch's nn.LSTM, in one process, on the same weights and tokens.

    peer_lstm.py OUTDIR            the comparison (OUTDIR holds liblstm.so)
    peer_lstm.py OUTDIR --peak WHO one call in this fresh process; prints the
                                   growth of its peak RSS in bytes (WHO: texc,
                                   texc_ck, torch); run.sh starts one per WHO

The loss: embedding (V = 96, D = 64), one LSTM layer (H = 256), a linear
layer to the V classes, cross-entropy of the next token at each of T = 50
steps, batch-mean, summed over the steps; B = 64 sequences.  PyTorch runs
Embedding + nn.LSTM + Linear + cross_entropy and loss.backward() (CPU, one
thread, as texc).  nn.LSTM computes its gates in the order i, f, g, o from
x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh: weight_ih_l0 = Wx.T,
weight_hh_l0 = Wh.T, bias_ih_l0 = b, bias_hh_l0 = 0 (its gradient is b's).

Checked before anything is timed: texc's loss and gradients (both
functions), and PyTorch's in f32, against PyTorch in f64 on the same
weights: for each array, max |got - f64| / max |f64| <= 1e-5 (what f32
rounding over 50 steps gives here is ~1e-7..1e-6); and loss_ck's gradient
bitwise equal to loss's.  A failure fails the run (exit 1).  Timing as in
peer_index.py: interleaved rounds, a sample is the mean of back-to-back
calls lasting >= 20 ms, median of the samples (min, max)."""
import ctypes as C
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "diff"))

import numpy as np  # noqa: E402

import texrt  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "build/bench"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
B, D, H, T, V = 64, 64, 256, 50, 96
TOL = 1e-5
WRT = ["E", "Wx", "Wh", "b", "Wy", "by"]


def weights():
    """Seeded weights and tokens, PyTorch's default scale 1/sqrt(H)."""
    rng = np.random.default_rng(1)
    s = 1 / np.sqrt(H)
    u = lambda *shape: rng.uniform(-s, s, shape).astype(np.float32)  # noqa: E731
    E = rng.normal(0, 1, (V, D)).astype(np.float32)
    w = [E, u(D, 4 * H), u(H, 4 * H), u(4 * H), u(H, V), u(V), u(B, H), u(B, H)]
    toks = rng.integers(0, V, (T + 1, B)).astype(np.int64)
    return w + [toks[:T].copy(), toks[1:].copy()]


class Texc:
    """One exported function of liblstm.so, called on fixed arrays."""

    def __init__(self, name, inputs):
        mod = texrt.Module(os.path.join(OUT, "liblstm.so"), "lstm")
        self.mod, f = mod, mod.funcs[name]
        syms = f.bind(inputs)
        self.outs = [np.zeros([texrt.dim_eval(e, syms) for e in p.dims], dtype=texrt.NP_DTYPES[p.dtype])
                     for p in f.params[f.ninputs:]]
        self.keep = [inputs]
        self.args = [C.byref(texrt._tensor(a, self.keep)) for a in list(inputs) + self.outs]
        self.fn, self.symbol = f.fn, f.symbol

    def __call__(self):
        rc = self.fn(*self.args)
        if rc != 0:
            raise RuntimeError("%s returned %d: %s" % (self.symbol, rc, self.mod.last_error().decode()))
        return self.outs


class Torch:
    """Embedding + nn.LSTM + Linear + cross_entropy on texc's weights."""

    def __init__(self, inputs, dtype):
        import torch
        self.torch = torch
        E, Wx, Wh, b, Wy, by, h0, c0, x, y = [torch.from_numpy(a) for a in inputs]
        f = lambda a: a.to(dtype).contiguous()  # noqa: E731
        self.emb = torch.nn.Embedding(V, D).to(dtype)
        self.lstm = torch.nn.LSTM(D, H).to(dtype)  # input [T, B, D]
        self.out = torch.nn.Linear(H, V).to(dtype)
        with torch.no_grad():
            self.emb.weight.copy_(f(E))
            self.lstm.weight_ih_l0.copy_(f(Wx.T))
            self.lstm.weight_hh_l0.copy_(f(Wh.T))
            self.lstm.bias_ih_l0.copy_(f(b))
            self.lstm.bias_hh_l0.zero_()
            self.out.weight.copy_(f(Wy.T))
            self.out.bias.copy_(f(by))
        self.h0, self.c0, self.x, self.y = f(h0)[None], f(c0)[None], x, y.reshape(-1)
        self.nb = h0.shape[0]  # the batch (B, or smaller for the warm-up in peak())
        self.params = [self.emb.weight, self.lstm.weight_ih_l0, self.lstm.weight_hh_l0, self.lstm.bias_ih_l0,
                       self.lstm.bias_hh_l0, self.out.weight, self.out.bias]

    def loss(self):
        hs, _ = self.lstm(self.emb(self.x), (self.h0, self.c0))
        z = self.out(hs).reshape(-1, V)
        return self.torch.nn.functional.cross_entropy(z, self.y, reduction="sum") / self.nb

    def forward(self):
        with self.torch.no_grad():
            return self.loss()

    def grad(self):
        for p in self.params:
            p.grad = None
        l = self.loss()
        l.backward()
        return l

    def grads(self):
        """texc's order and layout: dE, dWx, dWh, db, dWy, dby."""
        p = [q.grad.detach().double().numpy() for q in self.params]
        return [p[0], p[1].T, p[2].T, p[3], p[5].T, p[6]]


def peak(who):
    """Peak-RSS growth of one call (the first) in this fresh process."""
    inputs = weights()
    if who == "torch":
        import torch
        torch.set_num_threads(1)
        # one-time set-up (thread pools, kernel dispatch) on a batch of 2 first
        small = inputs[:6] + [a[:2].copy() for a in inputs[6:8]] + [a[:, :2].copy() for a in inputs[8:]]
        Torch(small, torch.float32).grad()
        model = Torch(inputs, torch.float32)
        run = model.grad
    else:
        f = Texc("loss_grad" if who == "texc" else "loss_ck_grad", inputs)
        ws = C.c_size_t()
        sym = getattr(f.mod.lib, f.symbol + "_workspace_size")
        sym.restype = C.c_int
        if sym(*f.args, C.byref(ws)) != 0:
            raise RuntimeError("workspace_size failed")
        run = f
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) * 1024, ws.value if who != "torch" else 0)


def sample(fn, reps):
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) * 1e3 / reps


def measure(contestants):
    """contestants: [(name, fn)] -> {name: sorted ms samples}, interleaved."""
    reps = {}
    for name, fn in contestants:
        fn()
        reps[name] = max(1, min(200, int(20.0 / max(sample(fn, 1), 1e-3))))
    times = {name: [] for name, _ in contestants}
    for _ in range(ROUNDS):
        for name, fn in contestants:
            times[name].append(sample(fn, reps[name]))
    return {k: sorted(v) for k, v in times.items()}


def main():
    import torch
    torch.set_num_threads(1)
    inputs = weights()
    failures = []

    def check(who, got, ref):
        err = max(float(np.max(np.abs(np.asarray(g, np.float64) - r)) / max(float(np.max(np.abs(r))), 1e-30))
                  for g, r in zip(got, ref))
        if not err <= TOL:
            failures.append("%s: max |got - f64| / max |f64| = %.3g > %g" % (who, err, TOL))
        return err

    f_tx, f_ck = Texc("loss", inputs), Texc("loss_ck", inputs)
    g_tx, g_ck = Texc("loss_grad", inputs), Texc("loss_ck_grad", inputs)
    ref64, t32 = Torch(inputs, torch.float64), Torch(inputs, torch.float32)
    l64 = float(ref64.grad())
    ref = [np.array(l64)] + ref64.grads()
    l32 = float(t32.grad())
    e_torch = check("torch f32 loss and gradients", [np.array(l32)] + t32.grads(), ref)
    e_tx = check("texc loss_grad", [o.copy() for o in g_tx()], ref)
    check("texc loss_ck_grad", [o.copy() for o in g_ck()], ref)
    e_f = check("texc loss", f_tx(), ref[:1])
    check("texc loss_ck", f_ck(), ref[:1])
    same = all(np.array_equal(a, b) for a, b in zip(g_tx(), g_ck()))
    if not same:
        failures.append("loss_ck_grad differs from loss_grad (checkpoint=7 must not change a bit)")
    print("== LSTM language-model loss, B=%d D=%d H=%d T=%d V=%d, 1 thread" % (B, D, H, T, V))
    print("loss: texc %.6f, torch f32 %.6f, torch f64 %.6f; max rel. error vs f64 (tolerance %g): "
          "texc grad %.1e, texc loss %.1e, torch f32 %.1e; checkpoint=7 gradient bitwise equal: %s"
          % (float(g_tx()[0]), l32, l64, TOL, e_tx, e_f, e_torch, "yes" if same else "NO"))
    times = measure([
        ("texc loss", f_tx),
        ("torch loss (no_grad)", t32.forward),
        ("texc loss_grad", g_tx),
        ("texc loss_grad, checkpoint=7", g_ck),
        ("torch loss + backward()", t32.grad),
    ])
    med = {k: float(np.median(v)) for k, v in times.items()}
    print("%-36s %9s %9s %9s %11s" % ("contestant", "median ms", "min", "max", "texc/torch"))
    pair = {"texc loss": "torch loss (no_grad)", "texc loss_grad": "torch loss + backward()",
            "texc loss_grad, checkpoint=7": "torch loss + backward()"}
    for name, v in times.items():
        ratio = "%.2f" % (med[name] / med[pair[name]]) if name in pair else ""
        print("%-36s %9.2f %9.2f %9.2f %11s" % (name, med[name], v[0], v[-1], ratio))
    print("grad / forward: texc %.2f, torch %.2f"
          % (med["texc loss_grad"] / med["texc loss"], med["torch loss + backward()"] / med["torch loss (no_grad)"]))
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[2] == "--peak":
        peak(sys.argv[3])
    else:
        sys.exit(main())
