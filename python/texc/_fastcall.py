"""The fast path of a call: positional C-contiguous NumPy arrays of the
declared dtypes and ranks, and Python numbers for scalars.

ctypes Structures cost about a microsecond each to build, so this path
keeps, per thread, one buffer laid out as the call needs it (the pointer
array <prefix>_call takes, the DLTensors, their shapes, the scalars' values)
and one struct.Struct that writes every pointer and extent in a single
pack_into; then it makes one ctypes call, <prefix>_call(index, args).
Anything else (PyTorch, JAX, DLPack, keywords, strided arrays, a wrong dtype
or rank, whose message the runtime gives) takes the general path in
_module.py, which computes the same results."""
import ctypes as C
import struct
import threading

import numpy as np

from ._abi import DIM_LIT, DIM_SYM, DL_TYPES, KDLCPU, dim_eval

_NP = [np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.bool_)]
_NUMBER = ["f", "d", "i", "q", "B"]
_SCALARS = (int, float, bool, np.number, np.bool_)
_from_buffer, _addressof = C.c_char.from_buffer, C.addressof
FALLBACK = object()  # what a FastCall returns for arguments it does not take
_DLTENSOR = "QiiiBBHQQQ"  # DLTensor on x86-64: data, device, ndim, dtype, shape, strides, byte_offset


def _data(a):
    try:  # a quarter of the time of __array_interface__; needs a writable, non-empty buffer
        return _addressof(_from_buffer(a))
    except (TypeError, ValueError):
        return a.__array_interface__["data"][0]


class FastCall:
    """Per function: where each size symbol is read, how each output dim is
    computed, and the layout of the call's buffer."""

    def __init__(self, f, index, call, fail):
        self.f, self.index, self.call, self.fail = f, index, call, fail
        params = f.inputs + f.outputs
        self.nin, n = len(f.inputs), len(params)
        at = {}
        for i, p in enumerate(f.inputs):
            for a, code in enumerate(p.dims):
                if len(code) == 2 and code[0] == DIM_SYM:
                    at.setdefault(code[1], (i, a))
        self.sym_at = sorted(at.items())
        self.nsyms = len(f.sym_names)
        self.out_dims = [[_dim_fn(c) for c in p.dims] for p in f.outputs]
        self.out_dtypes = [_NP[p.dtype] for p in f.outputs]
        self.in_kinds = [(_NP[p.dtype], len(p.dims), p.role == "inout") for p in f.inputs]
        self.ranks = [len(p.dims) for p in params]
        self.dtypes = [p.dtype for p in params]
        nshape = sum(max(r, 1) for r in self.ranks)
        # pointers | tensors | shapes | scalars, one format (no padding: '<')
        self.fmt = struct.Struct("<%dQ%s%dq%s" % (n, _DLTENSOR * n, nshape,
                                                  "".join(_NUMBER[p.dtype] + "x" * (8 - struct.calcsize(
                                                      _NUMBER[p.dtype])) for p in f.inputs if not p.dims)))
        self.tensors_at = 8 * n
        self.shapes_at = self.tensors_at + 48 * n
        self.numbers_at = self.shapes_at + 8 * nshape
        self.local = threading.local()

    def _thread_state(self):
        """This thread's buffer, its address and the template of the values
        (everything but the data pointers, the extents and the scalars)."""
        st = getattr(self.local, "st", None)
        if st is not None:
            return st
        buf = (C.c_char * self.fmt.size)()
        base = _addressof(buf)
        n = len(self.ranks)
        vals = [base + self.tensors_at + 48 * k for k in range(n)]
        shape_at, number_at = base + self.shapes_at, base + self.numbers_at
        slots = []  # per param: (index of its data value, index of its first extent)
        nscalar = 0
        for k, (r, t) in enumerate(zip(self.ranks, self.dtypes)):
            code, bits = DL_TYPES[t]
            data = number_at + 8 * nscalar if (k < self.nin and r == 0) else 0
            nscalar += k < self.nin and r == 0
            slots.append(len(vals))
            vals += [data, KDLCPU, 0, r, code, bits, 1, shape_at, 0, 0]
            shape_at += 8 * max(r, 1)
        extents = []
        for k, r in enumerate(self.ranks):
            extents.append(len(vals))
            vals += [0] * max(r, 1)
        self.local.st = st = (buf, base, vals, slots, extents)
        return st

    def __call__(self, args):
        """The call's result, or FALLBACK when these arguments need the general path."""
        if len(args) != self.nin:
            return FALLBACK
        buf, base, template, slots, extents = self._thread_state()
        vals = template[:]
        scalars = []
        for k, a in enumerate(args):
            dt, rank, inout = self.in_kinds[k]
            if type(a) is np.ndarray:
                if a.dtype is not dt or a.ndim != rank or not a.flags.c_contiguous or (inout and not a.flags.writeable):
                    return FALLBACK
                vals[slots[k]] = _data(a)
                if rank:
                    e = extents[k]
                    vals[e:e + rank] = a.shape
                else:
                    return FALLBACK  # a 0-d array: the general path (rare)
            elif rank == 0 and isinstance(a, _SCALARS):
                scalars.append(a)
            else:
                return FALLBACK
        syms = [0] * self.nsyms
        for s, (i, ax) in self.sym_at:
            syms[s] = args[i].shape[ax]
        outs = []
        k = self.nin
        for dims, dt in zip(self.out_dims, self.out_dtypes):
            shape = [d(syms) for d in dims]
            o = np.empty(shape, dt)
            outs.append(o)
            vals[slots[k]] = _data(o)
            if shape:
                e = extents[k]
                vals[e:e + len(shape)] = shape
            k += 1
        try:
            self.fmt.pack_into(buf, 0, *vals, *scalars)
        except struct.error:  # 1.5 for an i32 is converted by the general path
            return FALLBACK
        rc = self.call(self.index, base)
        if rc:
            self.fail(rc)
        res = tuple(o[()] if o.ndim == 0 else o for o in outs)
        return res[0] if len(res) == 1 else res


def _dim_fn(code):
    if len(code) == 2 and code[0] == DIM_SYM:
        s = code[1]
        return lambda syms: syms[s]
    if len(code) == 2 and code[0] == DIM_LIT:
        v = code[1]
        return lambda syms: v
    return lambda syms: dim_eval(code, syms)
