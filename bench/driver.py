"""bench/driver.py — `make bench`: texc beside its peers in one run.

    driver.py BUILD OUTDIR        (run by bench/run.sh, which builds the .so files)

Runs under Debian's Python.  Starts one worker process (worker.py) per
thread count and per Python: "texc" (Debian's Python: texc through ctypes),
"debian" (NumPy 1.24, PyTorch 1.13; the f64 references), "blas" (OpenBLAS's
cblas: in a process without PyTorch 1.13, which loads a second OpenBLAS
whose thread count calls crash it at 2 threads) and
"pypi" (the bench venv: PyTorch 2.x eager and torch.compile, JAX jit), each
pinned to its CPUs with its thread settings in its environment.  For each
case, thread count and alignment mode: every system runs once on the check
inputs and its outputs are compared (texc against the f64 reference, every
peer against texc, texc bit for bit across thread counts and alignments);
then samples are taken round-robin over the systems (a sample: back-to-back
calls lasting >= BENCH_SAMPLE_MS), and the median, min and max are kept.
The machine's limits (bench/stream.c, bench/peak.c) are measured at the
start and at the end (best of both), and the MLP's compile time in fresh
processes.  report.py turns it into the ratio table.  Any check failure
fails the run (exit 1), after the table.

Environment: BENCH_QUICK=1 (3 samples of >= 5 ms, fewer gemm sizes, no
torch.compile compile time), BENCH_SAMPLES, BENCH_SAMPLE_MS, BENCH_THREADS
(default 1,2), BENCH_CASES (comma-separated case ids or prefixes),
BENCH_VENV (default BUILD/bench-venv), BENCH_METRIC=cpu (1-thread rows
from process CPU time instead of wall time: steadier under contention), BENCH_CPUS (default 0,1: the 1-thread
workers use the first), BENCH_SETTLE_MS (default 400; 0: off).

Before each sample the driver waits (up to BENCH_SETTLE_MS) until no other
worker process uses the CPU: a pool that spins after its call would
otherwise take a core from the next system's sample.  Debian's OpenBLAS
(the "blas" process, and NumPy's in "debian") keeps one thread per extra
core spinning for ~100 ms after its last call (measured: 50 ms of CPU in
the first 50 ms idle, 53 in the next 100, 0 after); a texc call at 2
threads then ran at its 1-thread speed with process CPU = wall (the
worker's half shared a core), which the 2026-12-07 table showed as
aligned/offset differences (dgemm 512 aligned 5.77 vs offset 2.83 ms,
dgemm 1024 offset 44.0 vs aligned 26.1) that are not there in a quiet
process (both 2.6-2.8 ms)."""
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import numpy as np  # noqa: E402

import common  # noqa: E402
import report  # noqa: E402

ENV = os.environ
QUICK = ENV.get("BENCH_QUICK", "") not in ("", "0")
SAMPLES = int(ENV.get("BENCH_SAMPLES", "3" if QUICK else "7"))
SAMPLE_MS = float(ENV.get("BENCH_SAMPLE_MS", "5" if QUICK else "20"))
THREADS = [int(t) for t in ENV.get("BENCH_THREADS", "1,2").split(",")]
CPUS = [int(c) for c in ENV.get("BENCH_CPUS", "0,1").split(",")]
SETTLE_MS = float(ENV.get("BENCH_SETTLE_MS", "400"))
SETTLED = [0, 0.0]  # settle() calls, seconds spent in them
HOME = {"texc": "texc", "texc_inner": "texc", "texc_ck": "texc", "numpy": "debian", "torch1": "debian", "openblas": "blas",
        "torch2": "pypi", "compile": "pypi", "jax": "pypi"}


class Worker:
    def __init__(self, python, outdir, threads, systems, env):
        self.name = "%s t=%d" % (",".join(systems), threads)
        cpus = set(CPUS[:threads]) & os.sched_getaffinity(0) or os.sched_getaffinity(0)
        self.p = subprocess.Popen([python, os.path.join(HERE, "worker.py"), outdir, str(threads), ",".join(systems)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
                                  preexec_fn=lambda: os.sched_setaffinity(0, cpus))

    def ask(self, op, **kw):
        self.p.stdin.write(json.dumps(dict(op=op, **kw)) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError("bench worker %s died (exit status %s; see its messages above)" % (self.name, self.p.wait()))
        out = json.loads(line)
        if "error" in out:
            raise RuntimeError("bench worker: " + out["error"])
        return out

    def cpu_ns(self):
        """CPU time of all the process's threads so far (ns; /proc schedstat)."""
        total = 0
        d = "/proc/%d/task" % self.p.pid
        try:
            for t in os.listdir(d):
                with open(os.path.join(d, t, "schedstat")) as f:
                    total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that left meanwhile, or no /proc: counts as idle
        return total

    def close(self):
        try:
            self.p.stdin.write('{"op": "quit"}\n')
            self.p.stdin.close()
        except OSError:
            pass
        self.p.wait()


def settle(workers):
    """Waits until the worker processes used under 0.5 ms of CPU over the
    last 10 ms (a spinning pool winds down), at most SETTLE_MS."""
    workers = list(workers)
    if SETTLE_MS <= 0 or not workers:
        return
    t0 = time.perf_counter()
    t_end = t0 + SETTLE_MS / 1e3
    try:
        _settle_loop(workers, t_end)
    finally:
        SETTLED[0] += 1
        SETTLED[1] += time.perf_counter() - t0


def _settle_loop(workers, t_end):
    last = sum(w.cpu_ns() for w in workers)
    while time.perf_counter() < t_end:
        time.sleep(0.01)
        now = sum(w.cpu_ns() for w in workers)
        if now - last < 500000:
            return
        last = now


def worker_env(threads, outdir):
    e = dict(ENV)
    t = str(threads)
    e.update(OMP_NUM_THREADS=t, MKL_NUM_THREADS=t, OPENBLAS_NUM_THREADS=t, TEX_NUM_THREADS=t, OMP_WAIT_POLICY="PASSIVE",
             JAX_PLATFORMS="cpu", CUDA_VISIBLE_DEVICES="", TORCHINDUCTOR_COMPILE_THREADS="1",
             TORCHINDUCTOR_CACHE_DIR=os.path.join(outdir, "inductor-cache"), PYTHONDONTWRITEBYTECODE="1")
    if threads == 1:
        e["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return e


def limits(outdir):
    """{threads: {copy, triad, f32, f64}}: GB/s and GFLOP/s."""
    out = {}
    for t in THREADS:
        cpus = set(CPUS[:t])
        run = lambda exe: subprocess.run([os.path.join(outdir, exe), str(t)], capture_output=True, text=True, check=True,  # noqa: E731
                                         preexec_fn=lambda: os.sched_setaffinity(0, cpus)).stdout.split()
        copy, triad = map(float, run("stream"))
        f32, f64 = map(float, run("peak"))
        out[t] = dict(copy=copy, triad=triad, f32=f32, f64=f64)
    return out


def best_limits(a, b):
    return {t: {k: max(a[t][k], b[t][k]) for k in a[t]} for t in a}


class Run:
    def __init__(self, build, outdir, venv):
        self.build, self.outdir = build, outdir
        self.failures, self.skipped, self.results, self.errors = [], {}, [], {}
        self.workers, self.versions = {}, {}
        deb, pypi = "/usr/bin/python3", os.path.join(venv, "bin", "python")
        homes = {"texc": (deb, ["texc", "texc_inner", "texc_ck"]), "debian": (deb, ["numpy", "torch1", "ref"]),
                 "blas": (deb, ["openblas"]),
                 "pypi": (pypi, ["torch2", "compile", "jax"])}
        if not os.path.exists(pypi):
            del homes["pypi"]
            for s in ("torch2", "compile", "jax"):
                self.skipped[s] = "no bench venv at %s (no network when it was made?)" % venv
        for t in THREADS:
            for home, (py, systems) in homes.items():
                w = Worker(py, outdir, t, systems, worker_env(t, outdir))
                hello = w.ask("hello")
                self.versions.update(hello["versions"])
                for s, why in hello["failed"].items():
                    self.skipped[s] = why
                self.workers[home, t] = w

    def close(self):
        for w in self.workers.values():
            w.close()

    def make_inputs(self, case):
        d = common.out_dir(self.outdir, "inputs", case.id)
        for n, v in case.make().items():
            np.save(os.path.join(d, n + ".npy"), np.asarray(v))

    def check(self, case, t, mode, outputs, ref, texc0):
        tol = case.tol
        got = {s: common.post(case, [np.asarray(v) for v in np.load(p).values()], ref["inputs"]) for s, p in outputs.items()}
        errs = {}
        if "texc" not in got:
            return errs
        e = common.compare(got["texc"], ref["outs"])
        errs["texc vs f64"] = e
        if not e <= tol:
            self.failures.append("%s t=%d %s: texc differs from the f64 reference: %.3g > %g" % (case.id, t, mode, e, tol))
        raw = [np.asarray(v) for v in np.load(outputs["texc"]).values()]
        if texc0[0] is None:
            texc0[0] = raw
        elif not all(np.array_equal(a, b) for a, b in zip(raw, texc0[0])):
            self.failures.append("%s t=%d %s: texc's outputs are not bitwise equal to its first run's" % (case.id, t, mode))
        for s, outs in got.items():
            if s == "texc":
                continue
            e = common.compare(outs, got["texc"])
            errs[s] = e
            if s == "texc_ck" and not all(np.array_equal(a, b) for a, b in zip(outs, got["texc"])):
                self.failures.append("%s t=%d %s: checkpoint=7 changed the gradient's bits" % (case.id, t, mode))
            if not e <= tol:
                self.failures.append("%s t=%d %s: %s differs from texc: %.3g > %g" % (case.id, t, mode, s, e, tol))
        return errs

    def run_case(self, case):
        self.make_inputs(case)
        ref_path = self.workers["debian", THREADS[0]].ask("ref", case=case.id)["path"]
        inputs = {n[:-4]: np.load(os.path.join(self.outdir, "inputs", case.id, n))
                  for n in os.listdir(os.path.join(self.outdir, "inputs", case.id))}
        ref = {"outs": common.post(case, list(np.load(ref_path).values()), inputs), "inputs": inputs}
        texc0 = [None]
        systems = [s for s in case.systems if s not in self.skipped]
        for t in THREADS:
            for mode in common.MODES:
                self.run_config(case, t, mode, systems, ref, texc0)

    def run_config(self, case, t, mode, systems, ref, texc0):
        by_home = {}
        for s in systems:
            by_home.setdefault(HOME[s], []).append(s)
        built, outputs, reps = [], {}, {}
        for home, ss in by_home.items():
            r = self.workers[home, t].ask("setup", case=case.id, mode=mode, systems=ss, sample_ms=SAMPLE_MS)
            built += r["built"]
            outputs.update(r["outputs"])
            reps.update(r["reps"])
            for s, why in r["failed"].items():
                self.errors["%s %s t=%d" % (case.id, s, t)] = why
                print("bench: %s: %s failed, skipped: %s" % (case.id, s, why), file=sys.stderr)
        errs = self.check(case, t, mode, outputs, ref, texc0)
        order = [s for s in systems if s in built]
        ms = {s: [] for s in order}
        cpu = {s: [] for s in order}
        # calls over 5 sample lengths (texc's dgemm 2048, PyTorch's chain) get 3 samples
        n = {s: SAMPLES if reps[s]["once"] < 5 * SAMPLE_MS else min(SAMPLES, 3) for s in order}
        for i in range(max(n.values(), default=0)):
            for s in order:
                if i < n[s]:
                    settle(self.workers.values())  # all wait on stdin: CPU use is a spinning pool
                    r = self.workers[HOME[s], t].ask("sample", system=s, reps=reps[s]["reps"])
                    ms[s].append(r["ms"])
                    cpu[s].append(r["cpu"])
        for home in by_home:
            self.workers[home, t].ask("teardown")
        for s in order:
            v = sorted(ms[s])
            self.results.append(dict(case=case.id, threads=t, mode=mode, system=s, median=statistics.median(v), min=v[0],
                                     max=v[-1], cpu_median=statistics.median(cpu[s]), cpu_min=min(cpu[s]), cpu_max=max(cpu[s]), samples=len(v), reps=reps[s]["reps"],
                                     check_err=errs.get(s if s != "texc" else "texc vs f64")))
        line = "  ".join("%s %.3f" % (s, statistics.median(ms[s])) for s in order)
        print("  %-10s t=%d %-7s %s" % (case.id, t, mode, line), flush=True)


def compile_times(build, venv):
    """{system: (median ms, samples)} of the MLP with its gradient, fresh processes."""
    out = {}
    tex = []
    for i in range(3):
        t0 = time.perf_counter()
        subprocess.run([os.path.join(build, "texc"), os.path.join(HERE, "mlp.tex"), "--grad", "loss", "--wrt",
                        "W1,b1,W2,b2,W3,b3", "--prefix=ct", "-o", os.path.join(build, "bench", "ct.so")], check=True)
        tex.append((time.perf_counter() - t0) * 1e3)
    out["texc"] = (statistics.median(tex), len(tex))
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        return out
    for who, n in (("jax", 3), ("compile", 0 if QUICK else 1)):
        v = []
        for i in range(n):
            r = subprocess.run([py, os.path.join(HERE, "compile_time.py"), "jax" if who == "jax" else "torch"],
                               capture_output=True, text=True, env=worker_env(1, os.path.join(build, "bench")))
            if r.returncode == 0:
                v.append(float(r.stdout.split()[1]))
            else:
                print("bench: compile time of %s failed: %s" % (who, r.stderr.strip().splitlines()[-1:]), file=sys.stderr)
        if v:
            out[who] = (statistics.median(v), len(v))
    return out


def main():
    build, outdir = sys.argv[1], sys.argv[2]
    venv = ENV.get("BENCH_VENV", os.path.join(build, "bench-venv"))
    want = [w for w in ENV.get("BENCH_CASES", "").split(",") if w]
    cases = [c for c in common.cases(QUICK) if not want or any(c.id.startswith(w) for w in want)]
    t_start = time.time()
    lim0 = limits(outdir)
    run = Run(build, outdir, venv)
    try:
        for c in cases:
            run.run_case(c)
    finally:
        run.close()
    lim = best_limits(lim0, limits(outdir))
    if SETTLED[0]:
        print("bench: waited %.1f s in all for idle workers before %d samples" % (SETTLED[1], SETTLED[0]), flush=True)
    comp = compile_times(build, venv) if not want or "compile" in want else {}
    data = dict(date=time.strftime("%Y-%m-%d %H:%M"), quick=QUICK, subset=bool(want), metric=ENV.get("BENCH_METRIC", "wall"), samples=SAMPLES, sample_ms=SAMPLE_MS,
                threads=THREADS, seconds=round(time.time() - t_start), machine=report.machine(), limits=lim,
                versions=run.versions, skipped=run.skipped, errors=run.errors, results=run.results,
                compile_ms=comp, failures=run.failures, cases={c.id: c.title for c in cases})
    report.write(data, cases, outdir)
    if run.failures:
        print("bench: OUTPUTS DIFFER:\n  " + "\n  ".join(run.failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
