"""texc as a contestant: one exported function of a texc-compiled .so,
called through its ABI with ctypes (tests/diff/texrt.py) on prepared
DLTensors, into outputs allocated once (placed like the inputs).  A call
costs ~2 us of ctypes on top, under 1% of the smallest case (sgemm 256).
Inputs are passed by parameter name; an inout parameter is updated in the
caller's (placed) array, as a C caller's would be."""
import ctypes as C
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "diff"))
import texrt  # noqa: E402

VERSION = "texc"
_modules = {}


class Texc:
    def __init__(self, outdir, lib, prefix, name, inputs, place):
        key = (lib, prefix)
        if key not in _modules:
            _modules[key] = texrt.Module(os.path.join(outdir, lib), prefix)
        self.mod = mod = _modules[key]
        f = mod.funcs[name]
        ins = [inputs[p.name] for p in f.params[:f.ninputs]]
        syms = f.bind(ins)
        self.outs = [place(np.zeros([texrt.dim_eval(e, syms) for e in p.dims], dtype=texrt.NP_DTYPES[p.dtype]),
                           len(ins) + i) for i, p in enumerate(f.params[f.ninputs:])]
        self.inout = [a for p, a in zip(f.params, ins) if p.role == texrt.ROLE_INOUT]
        self.keep = [ins]
        self.args = [C.byref(texrt._tensor(a, self.keep)) for a in ins + self.outs]
        self.fn, self.symbol = f.fn, f.symbol

    def run(self):
        rc = self.fn(*self.args)
        if rc != 0:
            raise RuntimeError("%s returned %d: %s" % (self.symbol, rc, self.mod.last_error().decode()))

    def outputs(self):
        return [np.array(o) for o in self.outs + self.inout]


def build(case, arrs, place, outdir, system):
    lib, prefix, name = case.texc
    if system == "texc_inner":  # the same sum over the innermost axis of transposed copies
        arrs = dict(a=place(np.ascontiguousarray(arrs["a"].transpose(1, 2, 3, 0)), 0),
                    b=place(np.ascontiguousarray(arrs["b"].transpose(1, 2, 3, 0)), 1))
        name = "inner"
    if system == "texc_ck":  # the LSTM gradient with checkpoint=7: the same bits, less memory
        name = "loss_ck_grad"
    return Texc(outdir, lib, prefix, name, arrs, place)
