"""call_python.py — the call-overhead case of `make bench` (issue 12): the
same tiny function called through the Python package (texc.load, NumPy
arrays) and directly from C (call_c), each the median of 15 batches of
10000 calls; the difference is the package's overhead per call.

    call_python.py OUTDIR      (OUTDIR holds libtiny.so and call_c)"""
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import texc  # noqa: E402

TARGET_US = 5.0


def main(out):
    m = texc.load(os.path.join(out, "libtiny.so"))
    x = np.arange(1, 5, dtype=np.float32)
    assert m.add1(x)[3] == 5
    f, times = m.add1, []
    for b in range(16):
        t0 = time.perf_counter()
        for _ in range(10000):
            f(x)
        if b:
            times.append((time.perf_counter() - t0) / 10000 * 1e9)
    py = sorted(times)[7]
    c = float(subprocess.run([os.path.join(out, "call_c"), os.path.join(out, "libtiny.so")], check=True,
                             capture_output=True, text=True).stdout)
    over = (py - c) / 1000
    print("== Python call overhead (tiny_add1 on 4 floats; medians of 15 x 10000 calls)")
    print("direct C call %.2f us, through the texc package %.2f us: overhead %.2f us (target < %.0f us: %s)"
          % (c / 1000, py / 1000, over, TARGET_US, "MET" if over < TARGET_US else "NOT MET"))


if __name__ == "__main__":
    main(sys.argv[1])
