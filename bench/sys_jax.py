"""JAX (jit, CPU) as a contestant.  Inputs are copied into JAX's own
buffers (jnp.asarray), so the alignment mode does not reach XLA's kernels;
each call ends with block_until_ready.  The SGD step donates the parameters
(updated in place where XLA can).  Jitted functions are made once per
family, so the check call, the timed calls and both alignment modes share
one compilation."""
import functools

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)  # dgemm and the f64 reduction
VERSION = "JAX " + jax.__version__


def mlp_loss(p, x, y):
    W1, b1, W2, b2, W3, b3 = p
    h1 = jax.nn.relu(x @ W1 + b1)
    h2 = jax.nn.relu(h1 @ W2 + b2)
    z = h2 @ W3 + b3
    return -(y * jax.nn.log_softmax(z, axis=1)).sum(axis=1).mean()


@functools.partial(jax.jit, donate_argnums=0)
def mlp_step(p, x, y, lr):
    loss, g = jax.value_and_grad(mlp_loss)(p, x, y)
    return [w - lr * gw for w, gw in zip(p, g)], loss


def lstm_loss(p, h0, c0, x, y):
    """bench/lstm.tex's loss: lax.scan over the T steps of the LSTM cell
    (gates i, f, g, o as column blocks of z), the batch-mean cross-entropy
    of each step's logits summed over the steps."""
    E, Wx, Wh, b, Wy, by = p
    H = Wh.shape[0]

    def step(carry, xy):
        h, c, l = carry
        xt, yt = xy
        z = E[xt] @ Wx + h @ Wh + b
        i, f = jax.nn.sigmoid(z[:, :H]), jax.nn.sigmoid(z[:, H:2 * H])
        g, o = jnp.tanh(z[:, 2 * H:3 * H]), jax.nn.sigmoid(z[:, 3 * H:])
        c2 = f * c + i * g
        h2 = o * jnp.tanh(c2)
        lp = jax.nn.log_softmax(h2 @ Wy + by, axis=1)
        return (h2, c2, l - jnp.take_along_axis(lp, yt[:, None], axis=1).mean()), None

    (_, _, l), _ = jax.lax.scan(step, (h0, c0, jnp.zeros((), h0.dtype)), (x, y))
    return l


@jax.jit
def lstm_grad(p, h0, c0, x, y):
    return jax.value_and_grad(lstm_loss)(p, h0, c0, x, y)


def conv_loss(x, w, g):
    return (jax.lax.conv_general_dilated(x, w, (1, 1), "VALID") * g).sum()


JIT = {
    "gemm": jax.jit(lambda a, b: a @ b),
    "chain": jax.jit(lambda x, a, b: jnp.exp(-x * x / 2) * a + b * jnp.sqrt(jnp.abs(x))),
    "softmax": jax.jit(lambda x: jax.nn.softmax(x, axis=1)),
    "logsumexp": jax.jit(lambda x: jax.nn.logsumexp(x, axis=1)),
    "conv": jax.jit(jax.value_and_grad(conv_loss, argnums=(0, 1))),
    # einsum (a dot_general): jnp.sum(a * b, axis=0) took 7.9 s here, 40x einsum
    "reduce": jax.jit(lambda a, b: jnp.einsum("nkd,nke->kde", a[:, :, :, 0], b[:, :, 0, :])),
}
ARGS = {"gemm": "ab", "chain": "xab", "softmax": "x", "logsumexp": "x", "conv": "xwg", "reduce": "ab"}


class Run:
    def __init__(self, run, outputs):
        self.run, self._outputs = run, outputs

    def outputs(self):
        return [np.array(o) for o in self._outputs()]


def build(case, a, place, outdir, system):
    f = case.family
    j = {k: jnp.asarray(v) for k, v in a.items()}
    box = [None]
    if f == "mlp_step":
        box[0] = [[j[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3")], None]

        def step():
            box[0] = mlp_step(box[0][0], j["x"], j["y"], j["lr"])
            jax.block_until_ready(box[0])
        return Run(step, lambda: [box[0][1]] + box[0][0])
    if f == "lstm":
        p = [j[k] for k in ("E", "Wx", "Wh", "b", "Wy", "by")]

        def lstm():
            box[0] = jax.block_until_ready(lstm_grad(p, j["h0"], j["c0"], j["x"], j["y"]))
        return Run(lstm, lambda: [box[0][0]] + list(box[0][1]))
    fn, args = JIT[f], [j[k] for k in ARGS[f]]

    def run():
        box[0] = jax.block_until_ready(fn(*args))
    if f == "conv":
        return Run(run, lambda: [box[0][0], box[0][1][0], box[0][1][1]])
    return Run(run, lambda: [box[0]])
