#!/usr/bin/python3
"""run.py — differential testing of texc against the NumPy reference.

  run.py --texc build/texc --seed 1 --files 60          fixed-seed run (make test-diff)
  run.py --texc build/texc --seconds 600                random seeds for that long (make fuzz-diff)
  run.py --texc build/texc --regress tests/diff/regress kept failures, xfail markers honoured

Each file holds several generated functions.  texc compiles it in f64 at -O0
and -O2 with `--grad` for every function with float parameters and results;
for each function the runner checks, on inputs for which the reference is
well-conditioned: the values against the reference (ref.py) within 1e-9 of
its error bound, the exported gradient (_grad / _vjp) the same way, and -O0
against -O2 bit for bit.  Loops (gen.py f_loop) have trip counts that are
sizes, so every function stays differentiable in reverse mode; the
reference runs their bodies T times and differentiates the unrolled graph.
A failure prints the seed and the saved program."""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen as G  # noqa: E402
import lang  # noqa: E402
import ref as R  # noqa: E402
import texrt  # noqa: E402

FLOATS = R.FLOATS
# Known compiler bugs recognised by their message: counted apart, not failing
# the run.  Add a row while a found bug waits for its fix; remove it when the
# fix lands.  (Issue 8's bugs a-d are fixed: none is waiting.)
KNOWN = []


def known_bug(fails):
    """The known bug every failure of a function is, or None."""
    labels = set()
    for _, m in fails:
        hit = [b for pat, b in KNOWN if pat in m]
        if not hit:
            return None
        labels.add(hit[0])
    return ",".join(sorted(labels))


# ---- inputs and the reference --------------------------------------------------

def draw(rng, params, sizes):
    out = []
    for _, _, (dt, dims) in params:
        shape = tuple(sizes[d] if isinstance(d, str) else d for d in dims)
        if dt in FLOATS:
            out.append(rng.uniform(-2, 2, shape))
        elif dt == "bool":
            out.append(rng.random(shape) < 0.5)
        else:
            out.append(rng.integers(-4, 5, shape).astype(R.NP[dt]))
    return out


def as_v(arrays, params):
    return [R.const(np.asarray(a, R.NP[t[0]]), t[0]) for a, (_, _, t) in zip(arrays, params)]


def acceptable(vals):
    """The reference is finite, not fragile and not near overflow."""
    if R.Ctx.fragile:
        return False
    for v in vals:
        if v.dt in FLOATS and (not np.all(np.isfinite(v.v)) or not np.all(np.isfinite(v.m))
                               or np.any(np.abs(v.v) > 1e100) or np.any(v.m > 1e150)):
            return False
    return True


def grad_kind(f, fns):
    """What `texc --grad` exports for f: 'grad', 'vjp' or None (also for a
    function that runs a while loop: reverse mode cannot go through it)."""
    if lang.reaches_while(fns, f.name) or any(io for _, io, _ in f.params) or not any(t[0] in FLOATS for _, _, t in f.params):
        return None
    if not any(t[0] in FLOATS for t in f.results):
        return None
    return "grad" if len(f.results) == 1 and f.results[0] == ("f64", ()) else "vjp"


def prepare(interp, name, seed, tries=6):
    """Inputs on which the reference is well-conditioned, and what to expect.
    Returns a dict (arrays and expectations) or None."""
    f = interp.fns[name]
    gk = grad_kind(f, interp.fns)
    for attempt in range(tries):
        rng = np.random.default_rng([seed, zlib.crc32(name.encode()), attempt])
        sizes = {s: int(rng.integers(1, 6)) for s in G.SYMS}
        sizes.update({s: int(rng.integers(1, 6)) for _, _, t in f.params for s in t[1] if isinstance(s, str)})
        ins = draw(rng, f.params, sizes)
        R.Ctx.fragile = None
        try:
            res, inouts = interp.call(name, as_v(ins, f.params))
            case = {"inputs": ins, "values": res + inouts, "grad": gk}
            if gk:
                cts = None
                if gk == "vjp":
                    cts = [rng.uniform(-1, 1, r.shape) for r in res if r.dt in FLOATS]
                    case["cts"] = cts
                g = lang.grad_export(interp, name, as_v(ins, f.params), cts and [R.const(c, "f64") for c in cts])
                case["grads"] = g
        except (FloatingPointError, ZeroDivisionError, OverflowError):
            continue
        if acceptable(case["values"] + case.get("grads", [])):
            return case
    return None


# ---- comparing ----------------------------------------------------------------------

def compare(got, want, what):
    """None, or a message saying where got and the reference differ."""
    if got.shape != want.v.shape:
        return "%s: shape %s, expected %s" % (what, got.shape, want.v.shape)
    if want.dt not in FLOATS:
        bad = got != want.v
    else:
        bad = ~(np.abs(got - want.v) <= R.TOL * want.m + 1e-300)
    if not np.any(bad):
        return None
    i = tuple(np.argwhere(bad)[0]) if got.ndim else ()
    return "%s%s: got %r, expected %r (allowed error %.3g, %d of %d elements differ)" % (
        what, list(i) if i else "", got[i].item(), want.v[i].item(), R.TOL * float(want.m[i]), int(bad.sum()),
        bad.size)


def same_bits(a, b):
    """Bitwise equal (any NaN equals any NaN: payloads are unspecified)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        x, y = a.reshape(-1), b.reshape(-1)
        return bool(np.all((np.isnan(x) & np.isnan(y)) | (x.view(np.uint64) == y.view(np.uint64))))
    return bool(np.array_equal(a, b))


# ---- compiling and checking one file ---------------------------------------------------

def compile_tex(texc, path, out, opt, grads):
    cmd = [texc, path, "-o", out, "-O%d" % opt, "--prefix=m"]
    if grads:
        cmd += ["--grad", ",".join(grads)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "texc -O%d timed out" % opt
    if p.returncode != 0:
        sig = " (signal %d)" % -p.returncode if p.returncode < 0 else ""
        return "texc -O%d exit %d%s: %s" % (opt, p.returncode, sig, p.stderr.strip()[-600:])
    return None


def check_function(mods, name, case, interp):
    """Failures (kind, message) of one function, calling both modules."""
    fails, nchecks = [], 0
    f = interp.fns[name]
    calls = [(name, case["inputs"], case["values"], "value")]
    if case["grad"]:
        calls.append((name + "_" + case["grad"], case["inputs"] + case.get("cts", []), case["grads"], "grad"))
    for sym, ins, want, kind in calls:
        outs = []
        for m in mods:
            try:
                o, io = m.call(sym, ins)
            except (RuntimeError, KeyError) as e:
                fails.append(("call", "%s: %s" % (sym, e)))
                break
            outs.append(o + io)
        if len(outs) < 2:
            continue
        for i, (a, b) in enumerate(zip(*outs)):
            nchecks += 1
            if not same_bits(a, b):
                fails.append(("O0-O2", "%s output %d: -O0 and -O2 differ: %r vs %r" % (sym, i, a, b)))
        for i, (got, w) in enumerate(zip(outs[1], want)):
            nchecks += 1
            msg = compare(got, w, "%s output %d" % (sym, i))
            if msg:
                fails.append((kind, msg))
    del f
    return fails, nchecks


def check_file(texc, path, names, cases, interp, workdir):
    """Compiles and checks in a child process (generated code may crash)."""
    grads = [n for n in names if cases[n] and cases[n]["grad"]]
    rpipe, wpipe = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rpipe)
        result = {"fails": {}, "checks": 0, "compile": None}
        try:
            mods = []
            for opt in (0, 2):
                so = os.path.join(workdir, "m_O%d.so" % opt)
                err = compile_tex(texc, path, so, opt, grads)
                if err:
                    result["compile"] = err
                    break
                mods.append(texrt.Module(so, "m"))
            if not result["compile"]:
                for n in names:
                    if cases[n] is None:
                        continue
                    fl, nc = check_function(mods, n, cases[n], interp)
                    result["checks"] += nc
                    if fl:
                        result["fails"][n] = fl
                    with os.fdopen(os.dup(wpipe), "w") as w:
                        w.write(json.dumps({"progress": n}) + "\n")
        except Exception as e:  # noqa: BLE001 (reported, not hidden)
            result["compile"] = "runner error: %r" % e
        with os.fdopen(wpipe, "w") as w:
            w.write(json.dumps(result) + "\n")
        os._exit(0)
    os.close(wpipe)
    with os.fdopen(rpipe) as r:
        lines = r.read().splitlines()
    _, status = os.waitpid(pid, 0)
    if lines and "fails" in json.loads(lines[-1]):
        return json.loads(lines[-1])
    done = [json.loads(x)["progress"] for x in lines if "progress" in x]
    crashed = next((n for n in names if cases[n] and n not in done), "?")
    return {"fails": {crashed: [("crash", "the call crashed the process (status %d)" % status)]},
            "checks": 0, "compile": None, "crashed": crashed}


# ---- one file: generate, check, isolate -----------------------------------------------

class Stats:
    def __init__(self):
        self.files = self.functions = self.checks = self.skipped = 0
        self.failures = []


GEN_ERRORS = []


def build_file(seed, nfuncs, avoid):
    """Text of a file of nfuncs generated functions, each with inputs the
    reference accepts (a function with none is regenerated)."""
    g = G.Gen(seed, avoid)
    chunks, names, skipped = [], [], 0
    for i in range(nfuncs):
        for _ in range(4):
            name = "f%d" % i
            text = g.function(name)
            try:
                interp = lang.Interp(lang.parse("".join(chunks) + text))
                case = prepare(interp, name, seed)
            except (TypeError, lang.ParseError, KeyError, ValueError, IndexError) as e:
                # the generator wrote an ill-typed program: say so, and go on
                print("generator bug (seed %d): %r\n%s" % (seed, e, text), file=sys.stderr)
                GEN_ERRORS.append(seed)
                continue
            if case is not None:
                chunks.append(text)
                names.append(name)
                break
            skipped += 1
    return "".join(chunks), names, skipped


def run_file(args, text, names, seed, stats, xfail=None):
    interp = lang.Interp(lang.parse(text))
    cases = {n: prepare(interp, n, seed) for n in names}
    stats.skipped += sum(1 for n in names if cases[n] is None)
    work = tempfile.mkdtemp(prefix="texc-diff-")
    path = os.path.join(work, "p%d.tex" % seed)
    with open(path, "w") as fh:
        fh.write(text)
    res = check_file(args.texc, path, names, cases, interp, work)
    if res["compile"] and len(names) > 1:
        # isolate: each function alone (with the helpers it needs: the whole prefix)
        res = {"fails": {}, "checks": 0, "compile": None}
        for n in names:
            one = check_file(args.texc, path, [n], cases, interp, work)
            res["checks"] += one["checks"]
            if one["compile"]:
                res["fails"].setdefault(n, []).append(("compile", one["compile"]))
            for k, v in one["fails"].items():
                res["fails"].setdefault(k, []).extend(v)
            if one["compile"]:
                break  # texc fails on the file, whichever function is checked
    elif res["compile"]:
        res["fails"].setdefault(names[0], []).append(("compile", res["compile"]))
    stats.files += 1
    stats.functions += sum(1 for n in names if cases[n])
    stats.checks += res["checks"]
    if res["fails"]:
        saved = save_failure(args, text, seed, cases, res["fails"])
        for n, fl in res["fails"].items():
            stats.failures.append((seed, n, fl, saved, xfail or known_bug(fl)))
    shutil.rmtree(work, ignore_errors=True)
    return res["fails"]


def save_failure(args, text, seed, cases, fails):
    d = os.path.join(args.out, "seed%d" % seed)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "prog.tex"), "w") as fh:
        fh.write("# diff: seed=%d\n%s" % (seed, text))
    arrays = {}
    for n, c in cases.items():
        if c:
            for i, a in enumerate(c["inputs"] + c.get("cts", [])):
                arrays["%s_in%d" % (n, i)] = a
    np.savez(os.path.join(d, "inputs.npz"), **arrays)
    with open(os.path.join(d, "failures.txt"), "w") as fh:
        for n, fl in fails.items():
            for k, m in fl:
                fh.write("%s %s: %s\n" % (n, k, m))
    return d


def header(text):
    """`# diff: seed=N xfail=NAME` from a regression file's first lines."""
    opts = {}
    for line in text.splitlines():
        if line.startswith("# diff:"):
            for kv in line[7:].split():
                k, _, v = kv.partition("=")
                opts[k] = v
    return opts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--texc", default="build/texc")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--files", type=int, default=60)
    ap.add_argument("--funcs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0)
    ap.add_argument("--regress", default=None)
    ap.add_argument("--avoid", default="", help="known bugs to steer around (issue 8's a, b, c: all fixed)")
    ap.add_argument("--out", default="build/diff-failures")
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    args.texc = os.path.abspath(args.texc)
    avoid = tuple(x for x in args.avoid.split(",") if x)
    stats, t0 = Stats(), time.time()
    xpass = []
    if args.regress:
        for fn in sorted(os.listdir(args.regress)):
            if not fn.endswith(".tex"):
                continue
            text = open(os.path.join(args.regress, fn)).read()
            h = header(text)
            names = [n for n, f in lang.parse(text).items() if not f.private]
            before = len(stats.failures)
            run_file(args, text, names, int(h.get("seed", 1)), stats, xfail=h.get("xfail"))
            failed = len(stats.failures) > before
            if h.get("xfail") and not failed:
                xpass.append("%s (xfail=%s)" % (fn, h["xfail"]))
            print("%-40s %s" % (fn, ("xfail " + h["xfail"] if h.get("xfail") else "FAIL") if failed else
                               ("XPASS: drop the xfail line" if h.get("xfail") else "ok")))
    else:
        seed = args.seed if not args.seconds else random.SystemRandom().randrange(1 << 30)
        i = 0
        while (args.seconds and time.time() - t0 < args.seconds) or (not args.seconds and i < args.files):
            text, names, skipped = build_file(seed + i, args.funcs, avoid)
            stats.skipped += skipped
            fails = run_file(args, text, names, seed + i, stats)
            if args.v or fails:
                print("seed %d: %d functions%s" % (seed + i, len(names), ", FAIL" if fails else ""))
            i += 1
    real = [f for f in stats.failures if not f[4]]
    for seed, n, fl, saved, _ in real:
        for k, m in fl[:3]:
            print("FAIL seed %d %s [%s] %s\n     saved in %s" % (seed, n, k, m[:400], saved))
    known = {}
    for f in stats.failures:
        if f[4]:
            known[f[4]] = known.get(f[4], 0) + 1
    known = ", ".join("%d %s" % (k, b) for b, k in sorted(known.items()))
    print("diff: %d files, %d functions, %d checks, %d failures%s%s, %d functions regenerated "
          "(ill-conditioned inputs), %.1f s" % (
              stats.files, stats.functions, stats.checks, len(real), " (known, expected: %s)" % known if known else "",
              ", %d XPASS" % len(xpass) if xpass else "", stats.skipped, time.time() - t0))
    if GEN_ERRORS:
        print("diff: %d generator errors (seeds %s)" % (len(GEN_ERRORS), GEN_ERRORS[:10]))
    return 1 if real or xpass or GEN_ERRORS else 0


if __name__ == "__main__":
    sys.exit(main())
