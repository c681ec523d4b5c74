"""bench/report.py — the ratio table of `make bench` from driver.py's data:
each peer's median / texc's (above 1: texc is faster), texc / its floor,
the issue's target (issue 11, "Targets") and MET / NOT MET, per case,
thread count and buffer placement.  Printed, and written as Markdown and
JSON to OUTDIR/results.{md,json} and to bench/results/<date>.{md,json}."""
import json
import os
import platform

import common

HERE = os.path.dirname(os.path.abspath(__file__))
COLUMNS = ["texc_inner", "texc_ck", "numpy", "torch1", "torch2", "compile", "jax", "openblas"]
SHORT = {"texc_inner": "texc inner axis", "numpy": "NumPy", "torch1": "PyTorch", "torch2": "PyTorch",
         "compile": "torch.compile", "jax": "JAX", "openblas": "OpenBLAS"}


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return "%s, %d CPUs, %s" % (cpu or platform.processor(), os.cpu_count() or 0, platform.platform())


def floor_ms(case, lim):
    if not case.floor:
        return None
    kind, amount = case.floor
    if kind == "flops32":
        return amount / (lim["f32"] * 1e6)
    if kind == "flops64":
        return amount / (lim["f64"] * 1e6)
    if kind == "bytes":
        return amount / (lim["copy"] * 1e6)
    N, K, D = common.RED["N"], common.RED["K"], common.RED["D"]  # the reduction: FMAs or both operands' bytes
    return max(2 * N * K * D * D / (lim["f64"] * 1e6), 2 * N * K * D * 8 / (lim["copy"] * 1e6))


def target(case, t, med, fl):
    """(what the issue asks, met: True / False / None when it cannot be judged)."""
    tx = med.get("texc")
    peers = {s: v for s, v in med.items() if not s.startswith("texc")}
    if tx is None:
        return "-", None
    faster = all(v > tx for v in peers.values()) if peers else None
    if case.target == "mlp":
        return "faster than every peer, <= 1.25x FMA floor", faster and fl is not None and tx / fl <= 1.25
    if case.target == "gemm":
        ob = med.get("openblas")
        return ">= 0.9x OpenBLAS's speed", None if ob is None else ob / tx >= 0.9
    if case.target == "chain":
        if t != 1:
            return "faster than every peer", faster
        return "faster than every peer, <= 1.2x copy floor", faster and tx / fl <= 1.2
    if case.target == "rows":
        if not peers:
            return ">= 1.5x fastest peer, <= 1.5x floor", None
        return ">= 1.5x fastest peer, <= 1.5x floor", min(peers.values()) / tx >= 1.5 and tx / fl <= 1.5
    if case.target == "torch":
        pt = [med[s] for s in ("torch1", "torch2") if s in med]
        return "as fast as PyTorch eager", (min(pt) / tx >= 1.0) if pt else None
    if case.target == "reduce":
        inner = med.get("texc_inner")
        ok = None if inner is None or "numpy" not in med else tx / inner <= 1.2 and med["numpy"] / tx >= 1.0
        return "<= 1.2x texc's inner-axis sum, faster than einsum", ok
    return "-", None


def status(met):
    return "-" if met is None else ("MET" if met else "NOT MET")


def by_metric(data):
    """The results with median/min/max from process CPU time for 1-thread rows
    when BENCH_METRIC=cpu (with 2 threads CPU time adds both threads: wall)."""
    if data.get("metric") != "cpu":
        return data["results"]
    return [dict(r, median=r["cpu_median"], min=r["cpu_min"], max=r["cpu_max"]) if r["threads"] == 1 else r
            for r in data["results"]]


def peers_table(data, cases, names):
    by = {}
    for r in by_metric(data):
        by.setdefault((r["case"], r["threads"], r["mode"]), {})[r["system"]] = r
    cols = [c for c in COLUMNS if any(r["system"] == c for r in data["results"])]
    head = ["case", "thr", "buffers", "texc ms (min-max)"] + [names.get(c, c) + " / texc" for c in cols] + \
        ["texc / floor", "target", "status"]
    rows, summary = [], []
    for case in cases:
        if case.group != "peers":
            continue
        for t in data["threads"]:
            for mode in common.MODES:
                rs = by.get((case.id, t, mode))
                if not rs or "texc" not in rs:
                    continue
                med = {s: r["median"] for s, r in rs.items()}
                tx = rs["texc"]
                fl = floor_ms(case, data["limits"][t])
                goal, met = target(case, t, med, fl)
                cells = ["%.2f" % (med[c] / tx["median"]) if c in med else "" for c in cols]
                rows.append([case.title, str(t), mode, "%.3f (%.3f-%.3f)" % (tx["median"], tx["min"], tx["max"])] + cells +
                            ["%.2f" % (tx["median"] / fl) if fl else "", goal, status(met)])
                summary.append(dict(case=case.id, threads=t, mode=mode, texc_ms=tx["median"], floor_ms=fl,
                                    ratios={c: med[c] / tx["median"] for c in med if c != "texc"}, target=goal,
                                    met=met))
    return head, rows, summary


def ratio_table(data, cases):
    med = {(r["case"], r["threads"], r["mode"]): r["median"] for r in by_metric(data) if r["system"] == "texc"}
    head = ["model", "thr", "buffers", "forward ms", "value+grad ms", "grad / forward", "target", "status"]
    rows, summary = [], []
    for case in cases:
        if not case.id.endswith("_fwd"):
            continue
        g = case.id[:-4] + "_grad"
        for t in data["threads"]:
            for mode in common.MODES:
                f, v = med.get((case.id, t, mode)), med.get((g, t, mode))
                if f is None or v is None:
                    continue
                rows.append([case.title.split(":")[0], str(t), mode, "%.3f" % f, "%.3f" % v, "%.2f" % (v / f), "<= 3",
                             status(v / f <= 3)])
                summary.append(dict(model=case.id[:-4], threads=t, mode=mode, ratio=v / f, met=v / f <= 3))
    return head, rows, summary


def md(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def write(data, cases, outdir):
    names = {s: v for s, v in data["versions"].items()}
    names.update(texc_inner="texc inner-axis sum", texc_ck="texc checkpoint=7")
    h1, r1, s1 = peers_table(data, cases, names)
    h2, r2, s2 = ratio_table(data, cases)
    lines = ["# texc `make bench` — %s%s" % (data["date"], " (BENCH_QUICK)" if data["quick"] else ""), "",
             "%s. Medians of %d samples (a sample: back-to-back calls lasting >= %g ms), systems interleaved "
             "round-robin per case, each sample after every worker process is idle (a pool that spins after its call, "
             "as OpenBLAS's does for ~100 ms, would take a core from the next sample); %s; ratios are peer median / texc median (above 1: texc is faster). Buffers: "
             "'aligned' = every input and output on a page boundary, 'offset' = 16 + 1088 k bytes into a page for "
             "operand k (JAX copies inputs into its own buffers). Run took %d s." %
             (data["machine"], data["samples"], data["sample_ms"],
              "1-thread rows in process CPU time (BENCH_METRIC=cpu), 2-thread rows in wall time" if data.get("metric") == "cpu"
              else "wall time", data["seconds"]), "",
             "Peers: " + ", ".join(sorted(set(v for k, v in names.items() if not k.startswith("texc")))) + ".", ""]
    lim = data["limits"]
    lines += ["Machine limits measured in this run (best of start and end): " + "; ".join(
        "%d thread%s: copy %.1f GB/s, triad %.1f GB/s, FMA peak f32 %.0f / f64 %.0f GFLOP/s" %
        (t, "s" if t > 1 else "", lim[t]["copy"], lim[t]["triad"], lim[t]["f32"], lim[t]["f64"]) for t in lim) + ".", ""]
    lines += md(h1, r1) + [""]
    if r2:
        lines += ["Gradient cost (texc): value + gradient / forward.", ""] + md(h2, r2) + [""]
    comp = data["compile_ms"]
    if comp:
        tx = comp.get("texc", (None,))[0]
        lines += ["Compile time of the MLP train step with its gradient (fresh process and caches; target texc < 150 ms: %s): %s." % (
            status(tx < 150 if tx else None),
            ", ".join("%s %.0f ms (%d run%s)" % (names.get(k, k) if k != "texc" else "texc", v[0], v[1], "s" if v[1] > 1 else "")
                      for k, v in comp.items())), ""]
    if data["skipped"]:
        lines += ["Skipped: " + "; ".join("%s (%s)" % (k, v) for k, v in data["skipped"].items()), ""]
    if data["errors"]:
        lines += ["Peers that failed to run: " + "; ".join("%s: %s" % kv for kv in data["errors"].items()), ""]
    errs = {}
    for r in data["results"]:
        if r["check_err"] is not None:
            errs[r["case"], r["system"]] = max(errs.get((r["case"], r["system"]), 0), r["check_err"])
    lines += ["Output checks (max |got - ref| / max |ref| per output; texc against the f64 reference, each peer against "
              "texc; tolerance 1e-5 for f32, 1e-12 for f64; texc bitwise equal across thread counts and buffers): " +
              ("ALL PASSED" if not data["failures"] else "FAILED: " + "; ".join(data["failures"])) + ".",
              "Worst error per case and system: " + ", ".join("%s/%s %.1e" % (c, s, e) for (c, s), e in sorted(errs.items())), ""]
    text = "\n".join(lines)
    print("\n" + text)
    data = dict(data, table=s1, grad_ratios=s2)
    data["limits"] = {str(k): v for k, v in lim.items()}
    stamp = data["date"].split()[0]
    # only a full run (all cases, not BENCH_QUICK) goes to bench/results/
    dirs = [outdir] + ([] if data["quick"] or data["subset"] else [os.path.join(HERE, "results")])
    for i, d in enumerate(dirs):
        os.makedirs(d, exist_ok=True)
        base = os.path.join(d, "results" if i == 0 else stamp)
        with open(base + ".md", "w") as f:
            f.write(text + "\n")
        with open(base + ".json", "w") as f:
            json.dump(data, f, indent=1, default=float)
