#!/usr/bin/python3
"""minimise.py — shrink a failing program while it still fails the same way.

  minimise.py --texc build/texc PROG.tex FN [--seed S] [-o OUT.tex]

Greedy reduction over the parsed program (lang.py): drop the other exported
functions, drop results, replace an expression by one of its operands or by
a literal, drop unused lets, parameters and helpers.  A candidate is kept
when texc still fails on FN with the same kind of failure (compile error
text, a crash, a value, gradient or -O0/-O2 mismatch)."""
import argparse
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lang  # noqa: E402
import run  # noqa: E402


# ---- printing the AST back ----------------------------------------------------------

def expr_text(e):
    k = e[0]
    if k == "lit":
        return repr(e[1]) if isinstance(e[1], float) else str(e[1])
    if k == "boollit":
        return "true" if e[1] else "false"
    if k == "var":
        return e[1]
    if k == "neg":
        return "(-%s)" % expr_text(e[1])
    if k == "not":
        return "(not %s)" % expr_text(e[1])
    if k == "bin":
        return "(%s %s %s)" % (expr_text(e[2]), e[1], expr_text(e[3]))
    if k == "tuple":
        return "(%s)" % ", ".join(expr_text(x) for x in e[1])
    if k == "if":
        return "(if %s { %s } else { %s })" % (expr_text(e[1]), expr_text(e[2]), expr_text(e[3]))
    if k == "index":
        subs = [expr_text(x[1]) if x[0] == "at" else ":".join("" if p is None else expr_text(p) for p in x[1]) for x in e[2]]
        return "(%s)[%s]" % (expr_text(e[1]), ", ".join(subs))
    if k == "red":
        return "%s[%s] %s" % (e[1], ", ".join(e[2]), expr_text(e[3]))
    if k == "loop":
        _, tvar, trips, states, body, ck = e
        return "%s %s < %s with (%s)%s {\n%s\n}" % (
            "scan" if body[-1][0] == "emit" else "loop", tvar, expr_text(trips), ", ".join("%s = %s" % (n, expr_text(x)) for n, x in states),
            ck_text(ck), "\n".join(stmt_text(st) for st in body))
    args = [expr_text(a) for a in e[2]] + ["%s=%s" % (n, expr_text(v)) for n, v in e[3].items()]
    return "%s(%s)" % (e[1], ", ".join(args))


def ck_text(ck):
    if ck is None:
        return ""
    if ck[0] == "revolve":
        return " checkpoint=revolve(%d)" % ck[1]
    return " checkpoint=(%s)" % ", ".join(map(str, ck))


def type_text(t):
    return t[0] if not t[1] else "%s[%s]" % (t[0], ", ".join(str(d) for d in t[1]))


def stmt_text(st):
    if st[0] == "let":
        names = st[1][0] if len(st[1]) == 1 else "(%s)" % ", ".join(st[1])
        return "    let %s = %s" % (names, expr_text(st[2]))
    if st[0] == "letidx":
        lhs = ", ".join(v if d is None else "%s < %s" % (v, expr_text(d)) for v, d in st[2])
        return "    let %s[%s] = %s" % (st[1], lhs, expr_text(st[3]))
    if st[0] == "update":
        return "    update %s = %s" % (st[1], expr_text(st[2]))
    return "    %s %s" % (st[0], ", ".join(expr_text(e) for e in st[1]))


def fn_text(f):
    params = ", ".join("%s: %s%s" % (n, "inout " if io else "", type_text(t)) for n, io, t in f.params)
    res = type_text(f.results[0]) if len(f.results) == 1 else "(%s)" % ", ".join(type_text(t) for t in f.results)
    lines = [stmt_text(st) for st in f.body]
    return "%sfn %s(%s) -> %s {\n%s\n}\n" % ("private " if f.private else "", f.name, params, res, "\n".join(lines))


def file_text(fns):
    return "".join(fn_text(f) for f in fns.values())


# ---- reductions -----------------------------------------------------------------------

def children(e):
    k = e[0]
    if k in ("neg", "not"):
        return [(1,)]
    if k == "bin":
        return [(2,), (3,)]
    if k == "if":
        return [(1,), (2,), (3,)]
    if k == "call":
        return [(2, i) for i in range(len(e[2]))]
    if k == "loop":  # the trip count, the initial states, the body's expressions
        out = [(2,)] + [(3, i, 1) for i in range(len(e[3]))]
        for si, st in enumerate(e[4]):
            out += [(4, si) + p for p in stmt_paths(st)]
        return out
    return []


def stmt_paths(st):
    """Paths to a statement's expressions."""
    if st[0] == "letidx":
        return [(3,)]
    if st[0] in ("let", "update"):
        return [(2,)]
    return [(1, i) for i in range(len(st[1]))]


def get(e, path):
    for i in path:
        e = e[i]
    return e


def put(e, path, new):
    if not path:
        return new
    lst = list(e)
    lst[path[0]] = put(e[path[0]], path[1:], new)
    return tuple(lst) if isinstance(e, tuple) else lst


def positions(e):
    """Paths to every sub-expression of e, e itself first."""
    out = [()]
    for c in children(e):
        out += [c + p for p in positions(get(e, c))]
    return out


def uses(e, name):
    if e[0] == "var":
        return e[1] == name
    if e[0] == "lit" or e[0] == "boollit":
        return False
    if e[0] in ("neg", "not"):
        return uses(e[1], name)
    if e[0] == "bin":
        return uses(e[2], name) or uses(e[3], name)
    if e[0] == "if":
        return any(uses(x, name) for x in e[1:])
    if e[0] == "tuple":
        return any(uses(x, name) for x in e[1])
    if e[0] == "index":
        return uses(e[1], name) or any(p is not None and uses(p, name) for x in e[2] for p in (x[1] if x[0] == "slice" else [x[1]]))
    if e[0] == "red":
        return uses(e[3], name)
    if e[0] == "loop":
        return uses(e[2], name) or any(uses(x, name) for _, x in e[3]) or any(
            uses(x, name) for st in e[4] for x in stmt_exprs(st))
    return e[1] == name or any(uses(a, name) for a in e[2]) or any(uses(v, name) for v in e[3].values())


def stmt_exprs(st):
    if st[0] == "letidx":
        return [st[3]]
    return [st[2]] if st[0] in ("let", "update") else list(st[1])


def drop_body_lets(e):
    """Copies of expression e with one unused let of one loop body dropped."""
    for path in positions(e):
        node = get(e, path)
        if node[0] != "loop":
            continue
        body = node[4]
        for si, st in enumerate(body[:-1]):
            if st[0] == "let" and len(st[1]) == 1 and not any(
                    uses(x, st[1][0]) for later in body[si + 1:] for x in stmt_exprs(later)):
                yield put(e, path, node[:4] + (body[:si] + body[si + 1:],) + node[5:])


def with_stmt_expr(st, i, new):
    if st[0] == "letidx":
        return (st[0], st[1], st[2], new)
    if st[0] in ("let", "update"):
        return (st[0], st[1], new)
    es = list(st[1])
    es[i] = new
    return (st[0], es)


def clone(fns):
    return {n: lang.Fn(f.name, f.private, list(f.params), list(f.results), list(f.body)) for n, f in fns.items()}


def candidates(fns, target):
    """Smaller programs, biggest cuts first."""
    for n, f in fns.items():
        if n != target and not f.private:
            c = clone(fns)
            del c[n]
            yield c
    for n, f in fns.items():
        if f.private and not any(uses(e, n) for g in fns.values() for st in g.body for e in stmt_exprs(st)):
            c = clone(fns)
            del c[n]
            yield c
    for n, f in fns.items():
        ret = f.body[-1]
        if len(f.results) > 1 and len(ret[1]) == len(f.results):
            for i in range(len(f.results)):
                c = clone(fns)
                c[n].results.pop(i)
                es = list(ret[1])
                es.pop(i)
                c[n].body[-1] = ("return", es)
                yield c
        for si, st in enumerate(f.body):
            if st[0] == "let" and len(st[1]) == 1 and not any(
                    uses(e, st[1][0]) for later in f.body[si + 1:] for e in stmt_exprs(later)):
                c = clone(fns)
                c[n].body.pop(si)
                yield c
        for pi, (pn, _, _) in enumerate(f.params):
            if not any(uses(e, pn) for st in f.body for e in stmt_exprs(st)) and not f.private:
                c = clone(fns)
                c[n].params.pop(pi)
                yield c
        for si, st in enumerate(f.body):
            for ei, e in enumerate(stmt_exprs(st)):
                for smaller in drop_body_lets(e):
                    c = clone(fns)
                    c[n].body[si] = with_stmt_expr(st, ei, smaller)
                    yield c
        for si, st in enumerate(f.body):
            for ei, e in enumerate(stmt_exprs(st)):
                for path in positions(e):
                    node = get(e, path)
                    repl = [get(node, ch) for ch in children(node)]
                    if node[0] not in ("lit", "var", "boollit"):
                        repl += [("lit", 0.5), ("lit", 1)]
                    for r in repl:
                        c = clone(fns)
                        c[n].body[si] = with_stmt_expr(st, ei, put(e, path, r))
                        yield c


def signature(fails, target):
    """What kind of failure: kinds, and for compile errors the message sans numbers."""
    out = set()
    for k, m in fails.get(target, []):
        out.add(k if k != "compile" else "compile:" + re.sub(r"[0-9]+", "#", m.split("\n")[0])[:200])
    return out


def failures(args, text, target, seed):
    try:
        interp = lang.Interp(lang.parse(text))
        case = run.prepare(interp, target, seed)
    except Exception:  # noqa: BLE001 (a candidate the reference cannot evaluate is no candidate)
        return {}
    if case is None:
        return {}
    work = tempfile.mkdtemp(prefix="texc-min-")
    path = os.path.join(work, "m.tex")
    with open(path, "w") as fh:
        fh.write(text)
    res = run.check_file(args.texc, path, [target], {target: case}, interp, work)
    shutil.rmtree(work, ignore_errors=True)
    fails = dict(res["fails"])
    if res["compile"]:
        fails.setdefault(target, []).append(("compile", res["compile"]))
    return fails


def minimise(args, text, target, seed, budget=400):
    fns = lang.parse(text)
    want = signature(failures(args, file_text(fns), target, seed), target)
    if not want:
        print("minimise: %s does not fail" % target, file=sys.stderr)
        return None
    print("minimise: failure %s" % sorted(want), file=sys.stderr)
    tries = 0
    progress = True
    while progress and tries < budget:
        progress = False
        for c in candidates(fns, target):
            tries += 1
            if tries >= budget:
                break
            if signature(failures(args, file_text(c), target, seed), target) & want:
                fns = c
                progress = True
                break
    print("minimise: %d tries" % tries, file=sys.stderr)
    return file_text(fns)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--texc", default="build/texc")
    ap.add_argument("prog")
    ap.add_argument("fn")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--budget", type=int, default=400)
    ap.add_argument("-o", default=None)
    args = ap.parse_args()
    args.texc = os.path.abspath(args.texc)
    text = open(args.prog).read()
    seed = args.seed if args.seed is not None else int(run.header(text).get("seed", 1))
    out = minimise(args, text, args.fn, seed, args.budget)
    if out is None:
        return 1
    out = "# diff: seed=%d\n%s" % (seed, out)
    if args.o:
        with open(args.o, "w") as fh:
            fh.write(out)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
