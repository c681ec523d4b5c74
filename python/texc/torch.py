"""texc functions inside PyTorch programs.

    layer = texc.torch.function(m.loss)      # m compiled with grad=["loss"]
    loss = layer(W, b, x, y)                 # W, b: torch tensors, requires_grad
    loss.backward()                          # calls the compiled loss_grad

The result is a torch.autograd.Function: its forward calls the compiled
function (or, when an input needs a gradient and the result is a scalar,
NAME_grad, which gives the value and every gradient in one call, kept for
backward); its backward scales those gradients by the incoming one, or
calls NAME_vjp with the incoming cotangents.  Tensors pass without copies;
inputs must be contiguous CPU tensors of the declared dtypes (the runtime's
message names the argument otherwise).

With PyTorch 2.4 or later the call is also a custom operator registered
with torch.library (texc::<symbol>), with a fake (meta) implementation that
sizes the outputs from the module's metadata and the autograd formula
above, so torch.compile keeps it in the graph as one opaque op."""
import torch

from ._grad import Derivative, callable_of


def function(f):
    """A differentiable PyTorch callable running the compiled function f."""
    d = Derivative(f)

    class TexcFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            ctx.args = args
            if d.scalar and any(ctx.needs_input_grad):
                res = d.fn(*args)
                ctx.grads = d.grads(res)
                return res[0]
            ctx.grads = None
            return f(*args)

        @staticmethod
        def backward(ctx, *gouts):
            if ctx.grads is None:
                grads = d.grads(d.fn(*ctx.args, *[g.contiguous() for g in gouts]))
            else:
                grads = {k: gouts[0] * v for k, v in ctx.grads.items()}
            return d.input_grads(grads, ctx.needs_input_grad)

    TexcFunction.__name__ = TexcFunction.__qualname__ = "texc_" + f.symbol
    return callable_of(f, _custom_op(f, d) if hasattr(torch.library, "custom_op") else TexcFunction.apply)


_ops = {}


def _custom_op(f, d):
    """f (and its derivative) as torch.library custom ops: Tensor arguments,
    Python scalars made 0-d tensors first."""
    key = (f.module.path, f.symbol)
    if key in _ops:
        return _ops[key]
    tensors = ", ".join("Tensor %s" % _arg(p.name) for p in f.inputs)
    value = _op("texc::" + f.symbol, f, "(%s) -> Tensor[]" % tensors)
    if d.scalar:
        grad_op = _op("texc::" + d.fn.symbol, d.fn, "(%s) -> Tensor[]" % tensors)
    else:
        cts = ", ".join("Tensor %s" % _arg(p.name) for p in d.fn.inputs[len(f.inputs):])
        grad_op = _op("texc::" + d.fn.symbol, d.fn, "(%s, %s) -> Tensor[]" % (tensors, cts))

    def setup_context(ctx, inputs, output):
        ctx.args = inputs

    def backward(ctx, gouts):
        if d.scalar:
            grads = {k: gouts[0] * v for k, v in d.grads(tuple(grad_op(*ctx.args))).items()}
        else:
            grads = d.grads(tuple(grad_op(*ctx.args, *[g.contiguous() for g in gouts])))
        return d.input_grads(grads, ctx.needs_input_grad)

    torch.library.register_autograd(value, backward, setup_context=setup_context)
    single = len(f.outputs) == 1

    def run(*args):
        res = value(*[a if isinstance(a, torch.Tensor) else torch.tensor(a, dtype=_dtype(p.dtype))
                      for a, p in zip(args, f.inputs)])
        return res[0] if single else tuple(res)

    _ops[key] = run
    return run


def _arg(name):
    return "a_" + name


def _dtype(t):
    return (torch.float32, torch.float64, torch.int32, torch.int64, torch.bool)[t]


def _op(name, fn, schema):
    def impl(*args):
        res = fn(*args)
        return list(res) if isinstance(res, tuple) else [res]

    def fake(*args):
        shapes = fn.output_shapes([tuple(a.shape) for a in args])
        return [args[0].new_empty(s, dtype=_dtype(p.dtype)) for s, p in zip(shapes, fn.outputs)]

    op = torch.library.custom_op(name, impl, mutates_args=(), schema=schema)
    op.register_fake(fake)
    return op
