"""bench/worker.py — one process that runs some contestants for the
coordinator (driver.py), at one thread count; the coordinator started it
with the thread settings in its environment and its CPU affinity set.

    worker.py OUTDIR THREADS SYSTEM,SYSTEM,...

Commands arrive as JSON lines on stdin; each gets one JSON line back on the
stdout the process started with (fd 1 is then pointed at stderr, so that
nothing a library prints can garble a reply):
  hello                      -> {versions: {system: text}, failed: {system: why}}
  setup case mode systems sample_ms
                             -> builds each system on the case's inputs placed
                                per mode, runs it once and saves its outputs
                                (for the check), and gives {reps}: calls that
                                last about sample_ms
  ref case                   -> the f64 reference outputs of the case, saved
  sample system reps         -> {ms, cpu}: wall and process-CPU ms per call
  teardown, quit"""
import faulthandler
import gc
import json
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import numpy as np  # noqa: E402

import common  # noqa: E402

MODULES = {"texc": "sys_texc", "texc_inner": "sys_texc", "texc_ck": "sys_texc", "numpy": "sys_numpy", "torch1": "sys_torch",
           "torch2": "sys_torch", "compile": "sys_torch", "jax": "sys_jax", "openblas": "sys_blas",
           "ref": "sys_numpy"}


class Worker:
    def __init__(self, outdir, threads, systems):
        self.outdir, self.threads = outdir, threads
        self.cases = {c.id: c for c in common.cases(False)}
        self.mods, self.failed, self.runs = {}, {}, {}
        for s in systems:
            try:
                self.mods[s] = __import__(MODULES[s])
            except Exception as e:  # a missing framework: the system is skipped, and said so
                self.failed[s] = "import: %s" % e
        if "sys_torch" in sys.modules:
            import torch
            torch.set_num_threads(threads)
        if "sys_blas" in sys.modules:
            sys.modules["sys_blas"].set_threads(threads)

    def inputs(self, case, check):
        d = os.path.join(self.outdir, "inputs", case.id)
        names = sorted(n[:-4] for n in os.listdir(d) if n.endswith(".npy") and not n.startswith("check_"))
        a = {n: np.load(os.path.join(d, n + ".npy")) for n in names}
        if check:
            a.update({k: np.asarray(v) for k, v in case.check_inputs.items()})
        return a

    def hello(self, cmd):
        v = {s: m.VERSION for s, m in self.mods.items()}
        if "compile" in v:
            v["compile"] = "torch.compile " + v["compile"].split()[1]
        return {"versions": v, "failed": self.failed}

    def build(self, case, mode, system, check):
        a = self.inputs(case, check)
        slots = {n: i for i, n in enumerate(sorted(a))}
        placed = {n: common.place(v, mode, slots[n]) for n, v in a.items()}
        return self.mods[system].build(case, placed, lambda arr, slot: common.place(arr, mode, slot), self.outdir, system)

    def setup(self, cmd):
        """Builds each system; its first call (the warm-up: jit and
        torch.compile compile here) gives the check outputs unless the case
        has check inputs of its own; one more timed call sets the reps."""
        case, mode = self.cases[cmd["case"]], cmd["mode"]
        built, failed, outputs, reps = [], {}, {}, {}
        for s in cmd["systems"]:
            try:
                r = self.build(case, mode, s, True)
                r.run()
                path = os.path.join(common.out_dir(self.outdir, "outputs", case.id), "%s-t%d-%s.npz" % (s, self.threads, mode))
                np.savez(path, *r.outputs())
                outputs[s] = path
                if case.check_inputs:
                    del r
                    r = self.build(case, mode, s, False)
                    r.run()
                self.runs[s] = r
                reps[s] = self.calibrate({"system": s, "ms": cmd["sample_ms"]})
                built.append(s)
            except Exception:
                failed[s] = traceback.format_exc(limit=3).strip().splitlines()[-1]
        return {"built": built, "failed": failed, "outputs": outputs, "reps": reps}

    def ref(self, cmd):
        case = self.cases[cmd["case"]]
        a = self.inputs(case, True)
        outs = __import__("sys_torch").ref_lstm(case, a) if case.family.startswith("lstm") else \
            self.mods["ref"].ref(case, a)
        path = os.path.join(common.out_dir(self.outdir, "outputs", case.id), "ref.npz")
        np.savez(path, *[np.asarray(o, np.float64) for o in outs])
        return {"path": path}

    def sample(self, cmd):
        run, reps = self.runs[cmd["system"]].run, cmd["reps"]
        gc.disable()
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(reps):
            run()
        t1, c1 = time.perf_counter(), time.process_time()
        gc.enable()
        return {"ms": (t1 - t0) * 1e3 / reps, "cpu": (c1 - c0) * 1e3 / reps}

    def calibrate(self, cmd):
        once = self.sample({"system": cmd["system"], "reps": 1})["ms"]
        return {"reps": max(1, min(1000, int(cmd["ms"] / max(once, 1e-3)))), "once": once}

    def teardown(self, cmd):
        self.runs.clear()
        gc.collect()
        return {}


def main():
    faulthandler.enable()
    outdir, threads, systems = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
    reply = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    w = Worker(outdir, threads, systems)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "quit":
            break
        try:
            out = getattr(w, cmd["op"])(cmd)
        except Exception:
            out = {"error": traceback.format_exc()}
        reply.write(json.dumps(out) + "\n")
        reply.flush()


if __name__ == "__main__":
    main()
