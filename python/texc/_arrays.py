"""Arguments in, outputs out: NumPy arrays, PyTorch tensors, JAX arrays and
anything with __dlpack__ become DLTensors without a copy; outputs are made
in the caller's framework.

A framework is only imported when an argument comes from it (sys.modules
says whether it is loaded), so using texc with NumPy never imports torch."""
import ctypes as C
import sys

import numpy as np

from ._abi import DL_TYPES, KDLCPU, KDLCUDA, DLDataType, DLDevice, DLTensor

NP_DTYPES = [np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.bool_)]
_NP_DL = {d: DL_TYPES[i] for i, d in enumerate(NP_DTYPES)}
_NP_DL.update({np.dtype(np.uint8): (1, 8), np.dtype(np.int8): (0, 8), np.dtype(np.int16): (0, 16),
               np.dtype(np.uint16): (1, 16), np.dtype(np.uint32): (1, 32), np.dtype(np.uint64): (1, 64),
               np.dtype(np.float16): (2, 16)})

_capsule_pointer = C.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = C.c_void_p
_capsule_pointer.argtypes = [C.py_object, C.c_char_p]


def _torch_dl(t):
    import torch
    table = {torch.float32: (2, 32), torch.float64: (2, 64), torch.int32: (0, 32), torch.int64: (0, 64),
             torch.bool: (1, 8), torch.uint8: (1, 8), torch.int8: (0, 8), torch.int16: (0, 16),
             torch.float16: (2, 16), torch.bfloat16: (4, 16)}
    return table.get(t, (255, 0))


def framework_of(x):
    """'torch', 'jax', 'numpy' or None (a Python scalar or sequence)."""
    mod = type(x).__module__
    if mod.startswith("torch") and "torch" in sys.modules and isinstance(x, sys.modules["torch"].Tensor):
        return "torch"
    if mod.startswith("jax") or mod.startswith("jaxlib"):
        return "jax"
    if isinstance(x, np.ndarray):
        return "numpy"
    return None


def _shape_strides(shape, strides, keep):
    n = len(shape)
    sh = (C.c_int64 * max(n, 1))(*shape)
    keep.append(sh)
    if strides is None:
        return sh, None
    st = (C.c_int64 * max(n, 1))(*strides)
    keep.append(st)
    return sh, st


def to_dltensor(x, param, keep):
    """A DLTensor viewing x's memory; what must outlive the call goes to keep.
    param gives the dtype of a Python scalar or sequence (converted, a copy)."""
    fw = framework_of(x)
    if fw == "numpy":
        return _numpy_tensor(x, keep)
    if fw == "torch":
        sh, st = _shape_strides(tuple(x.shape), None if x.is_contiguous() else tuple(x.stride()), keep)
        code, bits = _torch_dl(x.dtype)
        dev = x.device
        device = DLDevice(KDLCPU, 0) if dev.type == "cpu" else DLDevice(KDLCUDA if dev.type == "cuda" else 0,
                                                                          dev.index or 0)
        return DLTensor(x.data_ptr(), device, x.dim(), DLDataType(code, bits, 1), sh, st, 0)
    if hasattr(x, "__dlpack__"):
        cap = x.__dlpack__()
        keep.append((x, cap))
        return C.cast(_capsule_pointer(cap, b"dltensor"), C.POINTER(DLTensor)).contents
    a = np.asarray(x, dtype=NP_DTYPES[param.dtype])
    keep.append(a)
    return _numpy_tensor(a, keep)


def _numpy_tensor(a, keep):
    ai = a.__array_interface__
    strides = None
    if ai["strides"] is not None and a.ndim and not a.flags.c_contiguous:
        size = a.itemsize
        if any(s % size for s in ai["strides"]):
            raise ValueError("strides %s are not a multiple of the item size %d" % (ai["strides"], size))
        strides = [s // size for s in ai["strides"]]
    sh, st = _shape_strides(a.shape, strides, keep)
    code, bits = _NP_DL.get(a.dtype, (255, 0))
    return DLTensor(ai["data"][0], DLDevice(KDLCPU, 0), a.ndim, DLDataType(code, bits, 1), sh, st, 0)


def shape_of(x):
    """The shape of an argument (a tuple), () for a Python scalar."""
    s = getattr(x, "shape", None)
    if s is not None:
        return tuple(s)
    return np.shape(x)


def new_output(fw, shape, dtype, like):
    """An uninitialised output array in framework fw (JAX outputs are made as
    NumPy arrays and handed over by finish_output)."""
    if fw == "torch":
        import torch
        t = {0: torch.float32, 1: torch.float64, 2: torch.int32, 3: torch.int64, 4: torch.bool}[dtype]
        return torch.empty(shape, dtype=t, device=like.device if like is not None else "cpu")
    return np.empty(shape, dtype=NP_DTYPES[dtype])


def finish_output(fw, a):
    """The output as the caller gets it: a JAX array for a JAX caller, a
    NumPy scalar for a rank-0 NumPy result."""
    if fw == "jax":
        import jax.numpy as jnp
        return jnp.asarray(a)
    if fw != "torch" and a.ndim == 0:
        return a[()]
    return a
