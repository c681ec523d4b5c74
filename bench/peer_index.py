"""The indexing cases of `make bench` (issue 9), texc beside its peers in one
process: an embedding gather with and without the range check, and pairwise
squared distances (the conv2d case moved to the main table, driver.py).

    peer_index.py OUTDIR     (OUTDIR holds libindex.so and libindex_nc.so)

texc is called through its ABI with ctypes (tests/diff/texrt.py), on
prepared DLTensors, into preallocated outputs; a call costs a few
microseconds of ctypes on top, which is below 1% of every case here.
Every contestant's output is checked before it is timed, and the run fails
(exit 1) if any differs from texc by more than the tolerance stated beside
its case.  Timing: rounds interleave the contestants (the machine is shared
and drifts); a sample is the mean of enough back-to-back calls to last
>= 20 ms; the table gives the median of the samples with min and max, and
texc median / peer median.  Results also go to OUTDIR/index.tsv."""
import ctypes as C
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # NumPy's x @ c.T on one thread too

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "diff"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import texrt  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "build/bench"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
torch.set_num_threads(1)
rng = np.random.default_rng(1)
failures = []


class Texc:
    """One exported function of a texc .so, called on fixed arrays."""

    def __init__(self, lib, prefix, name, inputs):
        mod = texrt.Module(os.path.join(OUT, lib), prefix)
        self.mod, f = mod, mod.funcs[name]
        syms = f.bind(inputs)
        self.outs = [np.zeros([texrt.dim_eval(e, syms) for e in p.dims], dtype=texrt.NP_DTYPES[p.dtype])
                     for p in f.params[f.ninputs:]]
        self.keep = []
        self.args = [C.byref(texrt._tensor(a, self.keep)) for a in list(inputs) + self.outs]
        self.keep.append(inputs)
        self.fn, self.symbol = f.fn, f.symbol

    def __call__(self):
        rc = self.fn(*self.args)
        if rc != 0:
            raise RuntimeError("%s returned %d: %s" % (self.symbol, rc, self.mod.last_error().decode()))
        return self.outs


def sample(fn, reps):
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) * 1e3 / reps


def measure(contestants):
    """contestants: [(name, fn)] -> {name: sorted ms samples}, interleaved."""
    reps = {}
    for name, fn in contestants:
        fn()
        once = sample(fn, 1)
        reps[name] = max(1, min(200, int(20.0 / max(once, 1e-3))))
    times = {name: [] for name, _ in contestants}
    for _ in range(ROUNDS):
        for name, fn in contestants:
            times[name].append(sample(fn, reps[name]))
    return {k: sorted(v) for k, v in times.items()}


def check(case, who, got, ref, scale, tol):
    """max |got - ref| / scale <= tol, elementwise; scale > 0 is the sum of the
    terms' magnitudes (what f32 rounding error is proportional to)."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    err = float(np.max(np.abs(got - ref) / scale)) if got.shape == ref.shape else float("inf")
    if not err <= tol:
        failures.append("%s: %s differs from texc: max |diff| / scale = %.3g > %g" % (case, who, err, tol))
    return err


rows = []  # (section, case, contestant, median, min, max, ratio texc/peer)


def table(title, case, times, texc_name, note=""):
    print("== %s%s" % (title, note))
    print("%-40s %9s %9s %9s %11s" % ("contestant", "median ms", "min", "max", "texc/peer"))
    t = np.median(times[texc_name])
    for name, v in times.items():
        med = float(np.median(v))
        ratio = "" if name == texc_name else "%.2f" % (t / med)
        print("%-40s %9.3f %9.3f %9.3f %11s" % (name, med, v[0], v[-1], ratio))
        rows.append((title, case, name, med, v[0], v[-1], ratio or "1.00"))
    print()


# ---- embedding gather ---------------------------------------------------------
V, D, P = 50000, 64, 1000000
E = rng.uniform(-1, 1, (V, D)).astype(np.float32)
idx = rng.integers(0, V, P).astype(np.int32)
idx64 = idx.astype(np.int64)
tE, tidx = torch.from_numpy(E), torch.from_numpy(idx64)
chk = Texc("libindex.so", "index", "embed", [E, idx])
nochk = Texc("libindex_nc.so", "index", "embed", [E, idx])
ref = E[idx]
case = "embedding gather E[idx], E f32[50000, 64], 10^6 i32 indices"
one = np.ones_like(ref, np.float64)
check(case, "texc (checked)", chk()[0], ref, one, 0)
check(case, "texc (TEXC_UNCHECKED_GATHERS=1)", nochk()[0], ref, one, 0)
check(case, "torch embedding", torch.nn.functional.embedding(tidx, tE).numpy(), chk()[0], one, 0)
check(case, "torch index_select", torch.index_select(tE, 0, tidx).numpy(), chk()[0], one, 0)
times = measure([
    ("texc, checked", chk),
    ("texc, unchecked (measuring only)", nochk),
    ("numpy E[idx]", lambda: E[idx]),
    ("torch F.embedding (i64 indices)", lambda: torch.nn.functional.embedding(tidx, tE)),
    ("torch index_select (i64 indices)", lambda: torch.index_select(tE, 0, tidx)),
])
table(case, "embed", times, "texc, checked", " (exact match; 1 thread)")
cost = np.median(times["texc, checked"]) / np.median(times["texc, unchecked (measuring only)"])
print("range check cost: checked / unchecked = %.3f\n" % cost)
rows.append((case, "embed", "check cost (checked/unchecked)", cost, 0, 0, "%.3f" % cost))

# ---- pairwise squared distances ---------------------------------------------------
N, M, K = 4096, 256, 64
x = rng.uniform(-1, 1, (N, K)).astype(np.float32)
c = rng.uniform(-1, 1, (M, K)).astype(np.float32)
tx, tc = torch.from_numpy(x), torch.from_numpy(c)
pd = Texc("libindex.so", "index", "pdist", [x, c])
x64, c64 = x.astype(np.float64), c.astype(np.float64)
exact = ((x64[:, None, :] - c64[None, :, :]) ** 2).sum(-1)
scale = (x64 * x64).sum(1)[:, None] + (c64 * c64).sum(1)[None, :]
xx, cc = (x * x).sum(1)[:, None], (c * c).sum(1)[None, :]
peers = [
    ("numpy ((x[:,None]-c[None])**2).sum(-1)", lambda: ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)),
    ("numpy x2 + c2 - 2 x@c.T", lambda: (x * x).sum(1)[:, None] + (c * c).sum(1)[None, :] - 2 * (x @ c.T)),
    ("torch cdist(x, c)**2", lambda: torch.cdist(tx, tc) ** 2),
    ("torch ((x[:,None]-c[None])**2).sum(-1)", lambda: ((tx[:, None, :] - tc[None, :, :]) ** 2).sum(-1)),
]
floor_lib = C.CDLL(os.path.join(OUT, "libpdist_floor.so"))
floor_out = np.zeros((N, M), np.float32)


def pdist_floor():
    ptr = lambda a: a.ctypes.data_as(C.c_void_p)  # noqa: E731
    if floor_lib.pdist_floor(ptr(x), ptr(c), ptr(floor_out), C.c_int64(N), C.c_int64(K), C.c_int64(M)):
        raise RuntimeError("pdist_floor: unsupported shape")
    return floor_out


case = "pairwise squared distances 4096x64 vs 256x64"
check(case, "texc vs f64", pd()[0], exact, scale, 1e-5)
check(case, "exact-order floor (bench/pdist_floor.c)", pdist_floor(), pd()[0], np.ones_like(exact), 0)
for name, fn in peers:
    out = fn()
    check(case, name, out.numpy() if isinstance(out, torch.Tensor) else out, pd()[0], scale, 1e-5)
times = measure([("texc", pd), ("texc order, hand-written C floor", pdist_floor)] + peers)
table(case, "pdist", times, "texc", " (|diff| <= 1e-5 (|x|^2 + |c|^2); 1 thread)")

with open(os.path.join(OUT, "index.tsv"), "w") as f:
    f.write("section\tcase\tcontestant\tmedian_ms\tmin_ms\tmax_ms\ttexc_over_peer\n")
    for r in rows:
        f.write("%s\t%s\t%s\t%.4f\t%.4f\t%.4f\t%s\n" % r)
if failures:
    print("bench: OUTPUTS DIFFER:\n  " + "\n  ".join(failures), file=sys.stderr)
    sys.exit(1)
