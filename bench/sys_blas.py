"""OpenBLAS as a contestant: cblas_sgemm / cblas_dgemm of Debian's
libopenblas0-pthread (the C interface, called through ctypes: the call costs
~2 us on top, as texc's does), at the worker's thread count
(openblas_set_num_threads, and OPENBLAS_NUM_THREADS in its environment)."""
import ctypes as C
import ctypes.util

import numpy as np

LIB = C.CDLL(ctypes.util.find_library("openblas") or "libopenblas.so.0")
LIB.openblas_get_config.restype = C.c_char_p
VERSION = "OpenBLAS " + LIB.openblas_get_config().decode().split()[1]
ROW_MAJOR, NO_TRANS = 101, 111


class Run:
    def __init__(self, run, outputs):
        self.run, self._outputs = run, outputs

    def outputs(self):
        return [np.array(o) for o in self._outputs()]


def set_threads(n):
    LIB.openblas_set_num_threads(C.c_int(n))


def build(case, a, place, outdir, system):
    A, B = a["a"], a["b"]
    n = A.shape[0]
    Cm = place(np.zeros((n, n), A.dtype), 2)
    f32 = A.dtype == np.float32
    fn = LIB.cblas_sgemm if f32 else LIB.cblas_dgemm
    one, zero = (C.c_float if f32 else C.c_double)(1.0), (C.c_float if f32 else C.c_double)(0.0)
    p = [C.c_void_p(x.ctypes.data) for x in (A, B, Cm)]
    ni = C.c_int(n)
    args = (C.c_int(ROW_MAJOR), C.c_int(NO_TRANS), C.c_int(NO_TRANS), ni, ni, ni, one, p[0], ni, p[1], ni, zero, p[2], ni)

    def run():
        fn(*args)
    r = Run(run, lambda: [Cm])
    r.keep = (A, B, Cm)  # the pointers in args are only valid while these live
    return r
