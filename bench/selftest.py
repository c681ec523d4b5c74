"""bench/selftest.py — the bench's own checking logic, without timing and
without PyPI (Debian's NumPy only; run by `make check-bench-logic`, part of
`make test`): buffer placement, the output comparison, the SGD step's
transform, the driver's pass/fail decisions on planted mismatches, and the
targets' verdicts."""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import numpy as np  # noqa: E402

import common  # noqa: E402
import driver  # noqa: E402
import report  # noqa: E402

passed, failed = 0, 0


def expect(what, ok):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def placement():
    a = np.arange(1000, dtype=np.float32).reshape(10, 100)
    for slot in range(4):
        p = common.place(a, "aligned", slot)
        expect("aligned slot %d on a page" % slot, p.ctypes.data % 4096 == 0 and np.array_equal(p, a))
        q = common.place(a, "offset", slot)
        expect("offset slot %d" % slot, q.ctypes.data % 4096 == (16 + 1088 * slot) % 4096 and np.array_equal(q, a))
    expect("0-d placement", float(common.place(np.float32(2.5), "offset", 1)) == 2.5)


def comparison():
    r = np.linspace(-1, 1, 101)
    expect("equal arrays", common.rel_err(r, r) == 0)
    expect("relative to max|ref|", abs(common.rel_err(r + 1e-6, r) - 1e-6) < 1e-12)
    expect("shape mismatch", common.rel_err(r[:100], r) == float("inf"))
    expect("NaN", common.rel_err(np.where(r > 0.5, np.nan, r), r) == float("inf"))
    expect("list length mismatch", common.compare([r], [r, r]) == float("inf"))
    expect("worst of a list", common.compare([r, r * 2], [r, r]) == 1.0)


def sgd_transform():
    case = next(c for c in common.cases(True) if c.id == "mlp_step")
    inp = common.mlp_inputs()
    g = [np.full_like(inp[k], 0.5) for k in ("W1", "b1", "W2", "b2", "W3", "b3")]
    after = [inp[k] - 100.0 * gk for k, gk in zip(("W1", "b1", "W2", "b2", "W3", "b3"), g)]
    out = common.post(case, [np.float32(1.0)] + after, inp)
    expect("(W_after - W) / lr is the step", all(np.allclose(o, -0.5, rtol=1e-6) for o in out[1:]))


class FakeRun(driver.Run):
    def __init__(self):  # no workers: only check()
        self.failures = []


def checks():
    case = next(c for c in common.cases(True) if c.id == "softmax")
    x = common.rows_inputs()["x"][:8]
    ref = np.exp(x - x.max(1, keepdims=True))
    ref = ref / ref.sum(1, keepdims=True)
    with tempfile.TemporaryDirectory() as d:
        def save(name, arr):
            np.savez(os.path.join(d, name + ".npz"), arr)
            return os.path.join(d, name + ".npz")
        texc = ref.astype(np.float32)
        good = {"texc": save("texc", texc), "numpy": save("np", texc * (1 + 1e-7))}
        bad = dict(good, torch1=save("t1", np.roll(texc, 1, axis=1)))
        r = FakeRun()
        t0 = [None]
        r.check(case, 1, "aligned", good, {"outs": [ref], "inputs": {}}, t0)
        expect("agreeing outputs pass", r.failures == [])
        r.check(case, 2, "aligned", bad, {"outs": [ref], "inputs": {}}, t0)
        expect("a different computation fails", len(r.failures) == 1 and "torch1" in r.failures[0])
        r = FakeRun()
        r.check(case, 2, "offset", {"texc": save("t2", np.nextafter(texc, 1))}, {"outs": [ref], "inputs": {}}, t0)
        expect("texc not bitwise equal across runs fails", len(r.failures) == 1 and "bitwise" in r.failures[0])


def targets():
    cases = {c.id: c for c in common.cases(True)}
    expect("gemm 0.9x met", report.target(cases["sgemm_256"], 1, {"texc": 1.0, "openblas": 0.91}, 1)[1] is True)
    expect("gemm 0.9x not met", report.target(cases["sgemm_256"], 1, {"texc": 1.2, "openblas": 1.0}, 1)[1] is False)
    med = {"texc": 1.0, "numpy": 2.0, "torch2": 1.6}
    expect("rows met", report.target(cases["softmax"], 1, med, 0.7)[1] is True)
    expect("rows: floor", report.target(cases["softmax"], 1, med, 0.6)[1] is False)
    expect("mlp: a faster peer", report.target(cases["mlp_step"], 1, {"texc": 1.0, "jax": 0.9}, 0.9)[1] is False)
    expect("torch: as fast", report.target(cases["conv"], 2, {"texc": 1.0, "torch1": 1.0, "torch2": 3.0}, None)[1] is True)


def settling():
    """settle() waits while a process spins (as OpenBLAS's pool does ~100 ms
    after a call) and returns at once when all are idle."""
    import subprocess
    import time

    class P:
        def __init__(self, p):
            self.p = p
    cpu_ns = driver.Worker.cpu_ns
    spin = "import time\nt = time.perf_counter()\nwhile time.perf_counter() - t < 0.15: pass\nimport sys\nsys.stdin.read()"
    kids = [subprocess.Popen([sys.executable, "-c", c], stdin=subprocess.PIPE) for c in (spin, "import sys\nsys.stdin.read()")]
    busy, idle = P(kids[0]), P(kids[1])
    P.cpu_ns = cpu_ns
    time.sleep(0.03)
    t0 = time.perf_counter()
    driver.settle([busy, idle])
    waited = time.perf_counter() - t0
    expect("settle waits for a spinning process (%.3f s)" % waited, 0.07 <= waited < 0.4)
    t0 = time.perf_counter()
    driver.settle([busy, idle])
    waited = time.perf_counter() - t0
    expect("settle returns soon when all are idle (%.3f s)" % waited, waited < 0.05)
    for k in kids:
        k.stdin.close()
        k.wait()


for f in (placement, comparison, sgd_transform, checks, targets, settling):
    f()
print("bench logic: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
