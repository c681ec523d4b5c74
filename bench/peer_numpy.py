"""NumPy peers for `make bench`: the fused-expression cases, each written as
a NumPy user would (one pass over memory per op).  Prints one median ms per
line: chain, softmax_rows, logsumexp_rows, sum_squares."""
import time

import numpy as np

rng = np.random.default_rng(1)
x = rng.uniform(-0.05, 0.05, 1 << 24).astype(np.float32)
m = rng.uniform(-0.05, 0.05, (4096, 1024)).astype(np.float32)
a, b = np.float32(0.5), np.float32(2.0)


def chain():
    return np.exp(-x * x / 2) * a + b * np.sqrt(np.abs(x))


def softmax_rows():
    e = np.exp(m - m.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def logsumexp_rows():
    mx = m.max(axis=1, keepdims=True)
    return (mx + np.log(np.exp(m - mx).sum(axis=1, keepdims=True)))[:, 0]


def sum_squares():
    return (x * x).sum()


for f in (chain, softmax_rows, logsumexp_rows, sum_squares):
    f()
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    print(f"{times[len(times) // 2]:.4f}")
