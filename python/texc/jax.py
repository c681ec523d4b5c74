"""texc functions inside JAX programs.

    loss = texc.jax.function(m.loss)         # m compiled with grad=["loss"]
    jax.jit(jax.grad(loss))(W, b, x, y)

A jax.custom_vjp whose forward and backward run the compiled functions
through jax.pure_callback (the arrays reach the .so as host buffers, without
copies where JAX allows it).  It works under jit and grad; under vmap the
callback runs once per batch element (vmap_method="sequential"), which is
correct but not vectorised.  Gradients of gradients are not available (the
backward is itself a callback)."""
import jax
import jax.numpy as jnp
import numpy as np

from ._arrays import NP_DTYPES
from ._grad import Derivative, callable_of


def _callback(fn, args):
    shapes = fn.output_shapes([tuple(np.shape(a)) for a in args])
    spec = tuple(jax.ShapeDtypeStruct(s, NP_DTYPES[p.dtype]) for s, p in zip(shapes, fn.outputs))

    def host(*xs):
        res = fn(*[np.asarray(x) for x in xs])
        res = res if isinstance(res, tuple) else (res,)
        return tuple(np.asarray(r) for r in res)

    kw = {"vmap_method": "sequential"}
    try:
        return jax.pure_callback(host, spec, *args, **kw)
    except TypeError:  # JAX before vmap_method
        return jax.pure_callback(host, spec, *args, vectorized=False)


def function(f):
    """A JAX-differentiable callable running the compiled function f."""
    d = Derivative(f)
    single = len(f.outputs) == 1

    def unpack(res):
        return res[0] if single else res

    @jax.custom_vjp
    def call(*args):
        return unpack(_callback(f, args))

    # symbolic_zeros: fwd learns which inputs are perturbed, so asking for
    # the gradient of an input the module has none for is an error at trace
    # time, and the other inputs get zero cotangents.
    def fwd(*primals):
        args = tuple(p.value for p in primals)
        for i, p in enumerate(primals):
            if p.perturbed and f.inputs[i].name not in d.grads_of:
                raise d.missing(i)
        if d.scalar:
            res = _callback(d.fn, args)
            return res[0], (args, d.grads(res))
        return unpack(_callback(f, args)), (args, None)

    def bwd(saved, g):
        args, grads = saved
        gs = (g,) if single else tuple(g)
        gs = tuple(jnp.zeros(np.shape(v), v.dtype) if _is_zero(c) else c for c, v in zip(gs, _values(f, args)))
        if grads is None:
            grads = d.grads(_callback(d.fn, tuple(args) + gs))
        else:
            grads = {k: gs[0] * v for k, v in grads.items()}
        return tuple(grads.get(p.name) for p in f.inputs)

    call.defvjp(fwd, bwd, symbolic_zeros=True)
    return callable_of(f, call)



def _is_zero(c):
    return isinstance(c, jax.custom_derivatives.SymbolicZero)


def _values(f, args):
    """ShapeDtypeStructs of f's outputs for args (the cotangents' types)."""
    shapes = f.output_shapes([tuple(np.shape(a)) for a in args])
    return [jax.ShapeDtypeStruct(s, NP_DTYPES[p.dtype]) for s, p in zip(shapes, f.outputs)]
