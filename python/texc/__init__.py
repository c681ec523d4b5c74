"""texc from Python: compile .tex models and call them on NumPy arrays,
PyTorch tensors and JAX arrays without copies.

    import texc
    m = texc.compile("model.tex", grad=["loss"])    # cached by content
    value, d_W, d_b = m.loss_grad(W, b, x, y)
    m2 = texc.load("libmodel.so")                   # an existing .so

texc.torch.function(m.loss) and texc.jax.function(m.loss) make a compiled
function differentiable inside PyTorch and JAX programs."""
from ._abi import ABI_VERSION
from ._compile import CompileError, cache_dir, compile, find_texc
from ._module import Error, Function, Module, load

__all__ = ["compile", "load", "Module", "Function", "Error", "CompileError", "cache_dir", "find_texc",
           "ABI_VERSION"]
__version__ = "0.1.0"


def __getattr__(name):
    """texc.torch and texc.jax load on first use (importing texc never
    imports PyTorch or JAX)."""
    if name in ("torch", "jax"):
        import importlib
        return importlib.import_module("." + name, __name__)
    raise AttributeError("module 'texc' has no attribute '%s'" % name)
