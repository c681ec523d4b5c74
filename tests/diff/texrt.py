"""texrt.py — call a texc-compiled .so from Python through ctypes.

The module's own metadata (<prefix>_module_info(), runtime/texrt.h) gives
every function's parameters; inputs travel as DLPack DLTensors
(dlpack/dlpack.h), outputs are allocated here from the metadata's dim
expressions, evaluated over the symbols bound from the inputs."""
import ctypes as C
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from texc._abi import (ABI_VERSION, DIM_SYM, DL_TYPES, ROLE_IN, ROLE_INOUT, ROLE_OUT, DLDataType,  # noqa: E402,F401
                       DLDevice, DLTensor, TexModuleInfo, dim_code)
from texc import _abi  # noqa: E402

NP_DTYPES = [np.float32, np.float64, np.int32, np.int64, np.bool_]


def dim_eval(e, syms):
    """Evaluates a TexDimExpr (postfix bytecode) over the bound symbols."""
    return _abi.dim_eval(dim_code(e), syms)


class Param:
    def __init__(self, p):
        self.name = p.name.decode()
        self.dtype, self.role, self.rank = p.dtype, p.role, p.rank
        self.dims = [p.dims[i] for i in range(p.rank)]


class Func:
    def __init__(self, lib, f):
        self.name = f.name.decode()
        self.symbol = f.symbol.decode()
        self.params = [Param(f.params[i]) for i in range(f.nparams)]
        self.ninputs = f.ninputs
        self.nsyms = f.nsyms
        self.fn = getattr(lib, self.symbol)
        self.fn.restype = C.c_int
        self.fn.argtypes = [C.POINTER(DLTensor)] * f.nparams

    def bind(self, inputs):
        """Symbols from the inputs' dims that are a bare symbol."""
        syms = [0] * self.nsyms
        for p, a in zip(self.params, inputs):
            for d, e in enumerate(p.dims):
                if e.len == 2 and e.code[0] == DIM_SYM:
                    syms[e.code[1]] = a.shape[d]
        return syms


def _tensor(a, keep):
    shape = (C.c_int64 * max(a.ndim, 1))(*a.shape)
    keep.append(shape)
    code, bits = DL_TYPES[NP_DTYPES.index(a.dtype.type)]
    return DLTensor(a.ctypes.data, DLDevice(1, 0), a.ndim, DLDataType(code, bits, 1), shape, None, 0)


class Module:
    def __init__(self, path, prefix):
        self.lib = C.CDLL(path)
        info_fn = getattr(self.lib, prefix + "_module_info")
        info_fn.restype = C.POINTER(TexModuleInfo)
        info = info_fn().contents
        if info.abi_version != ABI_VERSION:
            raise RuntimeError("%s: ABI version %d, expected %d" % (path, info.abi_version, ABI_VERSION))
        self.last_error = getattr(self.lib, prefix + "_last_error")
        self.last_error.restype = C.c_char_p
        self.funcs = {}
        for i in range(info.nfuncs):
            f = Func(self.lib, info.funcs[i])
            self.funcs[f.name] = f

    def call(self, name, inputs):
        """Calls function `name` on a list of NumPy arrays; returns (outputs, inout
        arrays after the call).  Raises RuntimeError with the module's message."""
        f = self.funcs[name]
        ins = [np.array(a, dtype=NP_DTYPES[p.dtype], order="C") for p, a in zip(f.params, inputs)]
        syms = f.bind(ins)
        outs = [np.zeros([dim_eval(e, syms) for e in p.dims], dtype=NP_DTYPES[p.dtype])
                for p in f.params[f.ninputs:]]
        keep = []
        args = [_tensor(a, keep) for a in ins + outs]
        rc = f.fn(*[C.byref(t) for t in args])
        if rc != 0:
            raise RuntimeError("%s returned %d: %s" % (f.symbol, rc, self.last_error().decode()))
        inout = [a for p, a in zip(f.params, ins) if p.role == ROLE_INOUT]
        return outs, inout
