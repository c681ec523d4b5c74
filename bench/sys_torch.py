"""PyTorch as a contestant, eager ("torch1": Debian's 1.13 under
/usr/bin/python3; "torch2": PyPI's 2.x in the bench venv) and torch.compile
("compile", 2.x: the model's forward compiled with Inductor, its backward by
AOTAutograd, the SGD update by torch.optim.SGD).  Tensors share the placed
NumPy buffers (torch.from_numpy), so the alignment mode reaches PyTorch's
kernels too.  Also the f64 reference of the LSTM (nn.LSTM in float64)."""
import numpy as np
import torch

F = torch.nn.functional
VERSION = "PyTorch " + torch.__version__.split("+")[0]
MLP_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


class Run:
    def __init__(self, run, outputs):
        self.run, self._outputs = run, outputs

    def outputs(self):
        return [np.array(o.detach().numpy() if isinstance(o, torch.Tensor) else o) for o in self._outputs()]


def mlp_loss(W1, b1, W2, b2, W3, b3, x, y):
    h1 = torch.relu(x @ W1 + b1)
    h2 = torch.relu(h1 @ W2 + b2)
    z = h2 @ W3 + b3
    return -(y * torch.log_softmax(z, dim=1)).sum(dim=1).mean()


def mlp_step(t, lr, loss_fn):
    params = [t[k].requires_grad_() for k in MLP_NAMES]
    opt = torch.optim.SGD(params, lr=float(lr))
    box = [None]

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(*params, t["x"], t["y"])
        loss.backward()
        opt.step()
        box[0] = loss

    return Run(step, lambda: [box[0]] + params)


def chain(x, a, b):
    return torch.exp(-x * x / 2) * a + b * torch.sqrt(torch.abs(x))


def softmax(x):
    return torch.softmax(x, dim=1)


def logsumexp(x):
    return torch.logsumexp(x, dim=1)


def conv(t):
    x, w, g = t["x"].requires_grad_(), t["w"].requires_grad_(), t["g"]

    def run():
        loss = (F.conv2d(x, w) * g).sum()
        dx, dw = torch.autograd.grad(loss, [x, w])
        return [loss, dx, dw]
    return run


class LSTM:
    """Embedding + nn.LSTM + Linear + cross_entropy on texc's weights:
    weight_ih_l0 = Wx.T, weight_hh_l0 = Wh.T, bias_ih_l0 = b, bias_hh_l0 = 0
    (nn.LSTM's gates are i, f, g, o, as bench/lstm.tex's column blocks)."""

    def __init__(self, a, dtype):
        E, Wx, Wh, b, Wy, by, h0, c0 = (torch.from_numpy(np.asarray(a[k])) for k in ("E", "Wx", "Wh", "b", "Wy", "by", "h0", "c0"))
        f = lambda v: v.to(dtype).contiguous()  # noqa: E731
        V, D = E.shape
        H = Wh.shape[0]
        self.emb = torch.nn.Embedding(V, D).to(dtype)
        self.lstm = torch.nn.LSTM(D, H).to(dtype)
        self.out = torch.nn.Linear(H, V).to(dtype)
        with torch.no_grad():
            self.emb.weight.copy_(f(E))
            self.lstm.weight_ih_l0.copy_(f(Wx.T))
            self.lstm.weight_hh_l0.copy_(f(Wh.T))
            self.lstm.bias_ih_l0.copy_(f(b))
            self.lstm.bias_hh_l0.zero_()
            self.out.weight.copy_(f(Wy.T))
            self.out.bias.copy_(f(by))
        self.h0, self.c0 = f(h0)[None], f(c0)[None]
        self.x, self.y = torch.from_numpy(np.asarray(a["x"])), torch.from_numpy(np.asarray(a["y"])).reshape(-1)
        self.nb, self.V = h0.shape[0], V
        self.params = [self.emb.weight, self.lstm.weight_ih_l0, self.lstm.weight_hh_l0, self.lstm.bias_ih_l0,
                       self.lstm.bias_hh_l0, self.out.weight, self.out.bias]

    def loss(self):
        hs, _ = self.lstm(self.emb(self.x), (self.h0, self.c0))
        z = self.out(hs).reshape(-1, self.V)
        return F.cross_entropy(z, self.y, reduction="sum") / self.nb

    def grad(self):
        for p in self.params:
            p.grad = None
        loss = self.loss()
        loss.backward()
        return loss

    def outputs(self, loss):
        """texc's order and layout: loss, dE, dWx, dWh, db, dWy, dby."""
        p = [q.grad.detach().numpy() for q in self.params]
        return [loss.detach().numpy(), p[0], p[1].T, p[2].T, p[3], p[5].T, p[6]]


def lstm(a, dtype):
    m = LSTM(a, dtype)
    box = [None]

    def run():
        box[0] = m.grad()
    r = Run(run, lambda: m.outputs(box[0]))
    return r


def _tensors(a):
    return {k: torch.from_numpy(v) if np.ndim(v) else float(v) for k, v in a.items()}


def build(case, a, place, outdir, system):
    f, t = case.family, _tensors(a)
    comp = torch.compile if system == "compile" else (lambda fn: fn)
    if f == "mlp_step":
        return mlp_step(t, t["lr"], comp(mlp_loss))
    if f == "lstm":
        return lstm(a, torch.float32)
    if f == "conv":
        fn = conv(t)
    elif f == "gemm":
        fn = lambda: torch.mm(t["a"], t["b"])  # noqa: E731
    elif f == "chain":
        c = comp(chain)
        fn = lambda: c(t["x"], t["a"], t["b"])  # noqa: E731
    elif f in ("softmax", "logsumexp"):
        c = comp(softmax if f == "softmax" else logsumexp)
        fn = lambda: c(t["x"])  # noqa: E731
    elif f == "reduce":
        fn = lambda: torch.einsum("nkd,nke->kde", t["a"][:, :, :, 0], t["b"][:, :, 0, :])  # noqa: E731
    else:
        raise KeyError(f)
    box = [None]

    def run():
        with torch.no_grad() if f != "conv" else torch.enable_grad():
            box[0] = fn()
    return Run(run, lambda: box[0] if isinstance(box[0], list) else [box[0]])


def ref_lstm(case, a):
    m = LSTM(a, torch.float64)
    loss = m.grad()
    outs = m.outputs(loss)
    return outs if case.family in ("lstm", "lstm_grad") else outs[:1]
