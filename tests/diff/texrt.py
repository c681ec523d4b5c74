"""texrt.py — call a texc-compiled .so from Python through ctypes.

The module's own metadata (<prefix>_module_info(), runtime/texrt.h) gives
every function's parameters; inputs travel as DLPack DLTensors
(dlpack/dlpack.h), outputs are allocated here from the metadata's dim
expressions, evaluated over the symbols bound from the inputs."""
import ctypes as C

import numpy as np


class DLDevice(C.Structure):
    _fields_ = [("device_type", C.c_int), ("device_id", C.c_int32)]


class DLDataType(C.Structure):
    _fields_ = [("code", C.c_uint8), ("bits", C.c_uint8), ("lanes", C.c_uint16)]


class DLTensor(C.Structure):
    _fields_ = [("data", C.c_void_p), ("device", DLDevice), ("ndim", C.c_int32),
                ("dtype", DLDataType), ("shape", C.POINTER(C.c_int64)),
                ("strides", C.POINTER(C.c_int64)), ("byte_offset", C.c_uint64)]


class TexDimExpr(C.Structure):
    _fields_ = [("code", C.POINTER(C.c_int64)), ("len", C.c_int32)]


class TexParamInfo(C.Structure):
    _fields_ = [("name", C.c_char_p), ("dtype", C.c_uint8), ("role", C.c_uint8),
                ("rank", C.c_uint16), ("dims", C.POINTER(TexDimExpr))]


class TexFuncInfo(C.Structure):
    _fields_ = [("name", C.c_char_p), ("symbol", C.c_char_p), ("nparams", C.c_int32),
                ("ninputs", C.c_int32), ("params", C.POINTER(TexParamInfo)),
                ("nsyms", C.c_int32), ("sym_names", C.POINTER(C.c_char_p)),
                ("nasserts", C.c_int32), ("asserts", C.POINTER(TexDimExpr)),
                ("assert_notes", C.POINTER(C.c_char_p))]


class TexModuleInfo(C.Structure):
    _fields_ = [("abi_version", C.c_uint32), ("prefix", C.c_char_p), ("source", C.c_char_p),
                ("texc_version", C.c_char_p), ("target", C.c_char_p), ("cpu", C.c_char_p),
                ("cpu_features", C.c_char_p), ("nfuncs", C.c_int32),
                ("funcs", C.POINTER(TexFuncInfo))]


ABI_VERSION = 9
# TexDType order: f32 f64 i32 i64 bool; DLPack codes: 0 int, 1 uint, 2 float
NP_DTYPES = [np.float32, np.float64, np.int32, np.int64, np.bool_]
DL_TYPES = [(2, 32), (2, 64), (0, 32), (0, 64), (1, 8)]
DIM_LIT, DIM_SYM, DIM_ADD, DIM_SUB, DIM_MUL, DIM_FLOORDIV, DIM_MOD, DIM_MIN, DIM_MAX, DIM_EQ, DIM_LE = range(11)
ROLE_IN, ROLE_OUT, ROLE_INOUT = range(3)


def dim_eval(e, syms):
    """Evaluates a TexDimExpr (postfix bytecode) over the bound symbols."""
    stack, i = [], 0
    while i < e.len:
        op = e.code[i]
        i += 1
        if op in (DIM_LIT, DIM_SYM):
            w = e.code[i]
            i += 1
            stack.append(w if op == DIM_LIT else syms[w])
            continue
        b, a = stack.pop(), stack.pop()
        stack.append({DIM_ADD: a + b, DIM_SUB: a - b, DIM_MUL: a * b, DIM_FLOORDIV: a // b if b else 0,
                      DIM_MOD: a % b if b else 0, DIM_MIN: min(a, b), DIM_MAX: max(a, b),
                      DIM_EQ: int(a == b), DIM_LE: int(a <= b)}[op])
    return stack[-1]


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
