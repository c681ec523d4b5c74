"""lang.py — a parser and interpreter for texc's language (lang/reference.md),
over the NumPy reference in ref.py.  Independent of the compiler: it reads
the same .tex text texc reads, so a saved program is its own test."""
import re

import numpy as np

import ref as R

TOKEN = re.compile(r"\s*(?:(#[^\n]*)|(\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\.\d+(?:[eE][-+]?\d+)?)|(\d+)"
                   r"|([A-Za-z_][A-Za-z0-9_]*)|(->|==|!=|<=|>=|\*\*|[-+*/@<>()\[\],:={}]))")
DTYPES = ("f32", "f64", "i32", "i64", "bool")


class ParseError(Exception):
    pass


def tokenize(text):
    toks, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        mt = TOKEN.match(text, pos)
        if not mt:
            raise ParseError("bad character at %r" % text[pos:pos + 20])
        pos = mt.end()
        if mt.group(1):
            continue
        if mt.group(2):
            toks.append(("float", float(mt.group(2))))
        elif mt.group(3):
            toks.append(("int", int(mt.group(3))))
        elif mt.group(4):
            toks.append(("name", mt.group(4)))
        elif mt.group(5):
            toks.append(("op", mt.group(5)))
    toks.append(("eof", None))
    return toks


class Fn:
    def __init__(self, name, private, params, results, body):
        self.name, self.private, self.params, self.results, self.body = name, private, params, results, body


class Parser:
    def __init__(self, text):
        self.t, self.i = tokenize(text), 0

    def peek(self, k=0):
        return self.t[self.i + k]

    def next(self):
        tok = self.t[self.i]
        self.i += 1
        return tok

    def accept(self, v):
        if self.peek()[1] == v and self.peek()[0] in ("op", "name"):
            self.i += 1
            return True
        return False

    def expect(self, v):
        if not self.accept(v):
            raise ParseError("expected %r, got %r" % (v, self.peek()))

    def name(self):
        kind, v = self.next()
        if kind != "name":
            raise ParseError("expected a name, got %r" % (v,))
        return v

    def file(self):
        fns = {}
        while self.peek()[0] != "eof":
            private = self.accept("private")
            if self.accept("grad"):
                raise ParseError("grad rules are not supported by the reference")
            self.expect("fn")
            f = self.function(private)
            fns[f.name] = f
        return fns

    def type_(self):
        dt = self.name()
        if dt not in DTYPES:
            raise ParseError("not a dtype: " + dt)
        dims = []
        if self.accept("["):
            while True:
                kind, v = self.next()
                dims.append(v)
                if not self.accept(","):
                    break
            self.expect("]")
        return (dt, tuple(dims))

    def function(self, private):
        name = self.name()
        self.expect("(")
        params = []
        while not self.accept(")"):
            pname = self.name()
            self.expect(":")
            inout = self.accept("inout")
            params.append((pname, inout, self.type_()))
            self.accept(",")
        self.expect("->")
        if self.accept("("):
            results = [self.type_()]
            while self.accept(","):
                results.append(self.type_())
            self.expect(")")
        else:
            results = [self.type_()]
        self.expect("{")
        body = []
        while not self.accept("}"):
            body.append(self.statement())
        return Fn(name, private, params, results, body)

    def statement(self):
        if self.accept("let"):
            if self.peek(1) == ("op", "["):  # index notation: let d[i, j < D] = ...
                name = self.name()
                self.expect("[")
                ivars = []
                while True:
                    v = self.name()
                    ivars.append((v, self.additive() if self.accept("<") else None))
                    if not self.accept(","):
                        break
                self.expect("]")
                self.expect("=")
                return ("letidx", name, ivars, self.expr())
            if self.accept("("):
                names = [self.name()]
                while self.accept(","):
                    names.append(self.name())
                self.expect(")")
            else:
                names = [self.name()]
            self.expect("=")
            return ("let", names, self.expr())
        if self.accept("update"):
            n = self.name()
            self.expect("=")
            return ("update", n, self.expr())
        kind = "next" if self.accept("next") else "return"
        if kind == "return":
            self.expect("return")
        es = [self.expr()]
        while self.accept(","):
            es.append(self.expr())
        if kind == "next" and len(es) == 1 and es[0][0] == "tuple":  # next (a, b)
            es = es[0][1]
        return (kind, es)

    def states(self):
        """with (NAME = EXPR, ...)"""
        self.expect("with")
        self.expect("(")
        states = []
        while True:
            n = self.name()
            self.expect("=")
            states.append((n, self.expr()))
            if not self.accept(","):
                break
        self.expect(")")
        return states

    def body(self):
        """{ lets; next EXPR, ... (without the closing brace)"""
        self.expect("{")
        body = []
        while True:
            st = self.statement()
            body.append(st)
            if st[0] == "next":
                return body
            if st[0] != "let" and st[0] != "letidx":
                raise ParseError("a loop body holds lets, then next")

    def while_(self):
        """while COND with (NAME = EXPR, ...) max=EXPR { stmts next EXPR, ... }"""
        cond = self.expr()
        states = self.states()
        self.expect("max")
        self.expect("=")
        mx = self.additive()
        body = self.body()
        self.expect("}")
        return ("while", cond, states, mx, body)

    def checkpoint(self):
        """After `checkpoint`: =INT, =(INT, ...) decreasing, or =revolve(INT).
        The levels as a tuple, or ("revolve", S)."""
        self.expect("=")
        if self.accept("revolve"):
            self.expect("(")
            kind, k = self.next()
            if kind != "int" or k < 1:
                raise ParseError("revolve wants a positive integer literal")
            self.expect(")")
            return ("revolve", k)
        ck = []
        paren = self.accept("(")
        while True:
            kind, k = self.next()
            if kind != "int" or k < 1 or (ck and k >= ck[-1]):
                raise ParseError("checkpoint wants positive decreasing integer literals")
            ck.append(k)
            if not (paren and self.accept(",")):
                break
        if paren:
            self.expect(")")
        return tuple(ck)

    def loop(self, scan=False):
        """loop NAME < EXPR with (NAME = EXPR, ...) [checkpoint=INT | checkpoint=(INT, ...) | checkpoint=revolve(INT)]
        { stmts next EXPR, ... }
        (scan: the body ends in next ..., then an ("emit", exprs) statement)"""
        tvar = self.name()
        self.expect("<")
        trips = self.additive()
        states = self.states()
        ck = self.checkpoint() if self.accept("checkpoint") else None
        body = self.body()
        if scan:
            self.expect("emit")
            es = [self.expr()]
            while self.accept(","):
                es.append(self.expr())
            body.append(("emit", es[0][1] if len(es) == 1 and es[0][0] == "tuple" else es))
        self.expect("}")
        return ("loop", tvar, trips, states, body, ck)

    def cond(self):
        """if EXPR { EXPR } else { EXPR }, or else if ... (the generator's form)"""
        c = self.expr()
        self.expect("{")
        a = self.expr()
        self.expect("}")
        self.expect("else")
        if self.accept("if"):
            return ("if", c, a, self.cond())
        self.expect("{")
        b = self.expr()
        self.expect("}")
        return ("if", c, a, b)

    # precedence climbing, lowest first
    def expr(self):
        e = self.and_()
        while self.accept("or"):
            e = ("bin", "or", e, self.and_())
        return e

    def and_(self):
        e = self.not_()
        while self.accept("and"):
            e = ("bin", "and", e, self.not_())
        return e

    def not_(self):
        if self.accept("not"):
            return ("not", self.not_())
        return self.cmp()

    def cmp(self):
        e = self.additive()
        if self.peek()[0] == "op" and self.peek()[1] in R.CMP:
            op = self.next()[1]
            e = ("bin", op, e, self.additive())
        return e

    def additive(self):
        e = self.mult()
        while self.peek()[0] == "op" and self.peek()[1] in "+-":
            op = self.next()[1]
            e = ("bin", op, e, self.mult())
        return e

    def mult(self):
        e = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("*", "/", "@"):
            op = self.next()[1]
            e = ("bin", op, e, self.unary())
        return e

    def unary(self):
        if self.accept("-"):
            return ("neg", self.unary())
        return self.power()

    def power(self):
        e = self.postfix()
        if self.accept("**"):
            return ("bin", "**", e, self.unary())
        return e

    def postfix(self):
        e = self.primary()
        while self.accept("["):  # subscripts: x[1:N-1, ::-1, 0], x[idx], a[i, k]
            subs = []
            while True:
                subs.append(self.subscript())
                if not self.accept(","):
                    break
            self.expect("]")
            e = ("index", e, subs)
        return e

    def subscript(self):
        parts, cur = [], None
        while True:
            if self.peek() == ("op", ":"):
                self.next()
                parts.append(cur)
                cur = None
                continue
            if self.peek()[1] in (",", "]") and self.peek()[0] == "op":
                break
            cur = self.expr()
        if not parts:
            return ("at", cur)
        parts.append(cur)
        return ("slice", (parts + [None, None])[:3])

    def primary(self):
        kind, v = self.next()
        if kind in ("int", "float"):
            return ("lit", v)
        if kind == "name" and v in ("loop", "scan"):
            return self.loop(v == "scan")
        if kind == "name" and v == "while":
            return self.while_()
        if kind == "name" and v == "if":
            return self.cond()
        if kind == "name" and v in ("true", "false"):
            return ("boollit", v == "true")
        if kind == "op" and v == "(":
            e = self.expr()
            if self.accept(","):  # a tuple: only in wrt=
                items = [e]
                while True:
                    items.append(self.expr())
                    if not self.accept(","):
                        break
                self.expect(")")
                return ("tuple", items)
            self.expect(")")
            return e
        if kind != "name":
            raise ParseError("unexpected %r" % (v,))
        if v in ("sum", "max", "min", "prod") and self.peek() == ("op", "["):  # sum[k] body: the rest
            self.next()
            rvars = [self.name()]
            while self.accept(","):
                rvars.append(self.name())
            self.expect("]")
            return ("red", v, rvars, self.expr())
        if not self.accept("("):
            return ("var", v)
        args, kw = [], {}
        while not self.accept(")"):
            if self.peek()[0] == "name" and self.peek(1) == ("op", "="):
                k = self.name()
                self.expect("=")
                kw[k] = self.expr()
            else:
                args.append(self.expr())
            self.accept(",")
        return ("call", v, args, kw)


def parse(text):
    return Parser(text).file()


SYMS = "$syms"
SHAPE_OPS = ("reshape", "broadcast_to", "permute", "squeeze", "expand_dims")


def dim_value(e, syms):
    """A dim expression (literals, size symbols, + - *, negation) as an int."""
    if e[0] == "lit":
        return int(e[1])
    if e[0] == "var":
        return syms[e[1]]
    if e[0] == "neg":
        return -dim_value(e[1], syms)
    a, b = dim_value(e[2], syms), dim_value(e[3], syms)
    return {"+": a + b, "-": a - b, "*": a * b}[e[1]]


# ---- the interpreter -------------------------------------------------------------

def _names(e):
    """The names an expression reads."""
    if isinstance(e, tuple) and len(e) == 2 and e[0] == "var" and isinstance(e[1], str):
        return {e[1]}
    out = set()
    for x in (e.values() if isinstance(e, dict) else e if isinstance(e, (tuple, list)) else ()):
        out |= _names(x)
    return out


def reaches_while(fns, name, seen=None):
    """Whether fns[name] runs a while loop, itself or through the functions
    it calls or differentiates (reverse mode cannot go through one)."""
    seen = set() if seen is None else seen
    seen.add(name)

    def walk(e):
        if isinstance(e, tuple) and e and e[0] == "while":
            return True
        if isinstance(e, str):
            return e in fns and e not in seen and reaches_while(fns, e, seen)
        items = e.values() if isinstance(e, dict) else e if isinstance(e, (tuple, list)) else ()
        return any(walk(x) for x in items)
    return walk(fns[name].body)


class Tuple(list):
    """Several values (a call to a function with several results, grad of several)."""


def check_type(v, t, syms, what):
    """v has dtype and shape t (literal dims equal, a symbol one extent per call)."""
    dt, dims = t
    if v.dt != dt or v.v.ndim != len(dims):
        raise TypeError("%s: %s of rank %d, declared %s" % (what, v.dt, v.v.ndim, t))
    for d, n in zip(dims, v.v.shape):
        if isinstance(d, int) and d != n or isinstance(d, str) and syms.setdefault(d, n) != n:
            raise TypeError("%s: shape %s, declared %s" % (what, v.v.shape, t))


class Interp:
    def __init__(self, fns):
        self.fns = fns

    def call(self, name, args):
        """Evaluates function `name` on V arguments; returns (results, inout values)."""
        f = self.fns[name]
        if len(args) != len(f.params):
            raise TypeError("%s takes %d arguments, got %d" % (name, len(f.params), len(args)))
        env, syms = {}, {}
        for (pname, inout, t), a in zip(f.params, args):
            env[pname] = R.settle(a, t[0]) if a.weak else a
            check_type(env[pname], t, syms, "argument %s of %s" % (pname, name))
        env[SYMS] = syms  # size symbols are values too: i64 scalars
        for st in f.body:
            if st[0] == "return":
                vals = []
                for e in st[1]:
                    v = self.eval(e, env)
                    vals.extend(v if isinstance(v, Tuple) else [v])
                if len(vals) != len(f.results):
                    raise TypeError("%s returns %d values, declares %d" % (name, len(vals), len(f.results)))
                res = [self._result(v, t) for v, t in zip(vals, f.results)]
                for v, t in zip(res, f.results):
                    check_type(v, t, syms, "result of " + name)
                inouts = [env[p] for p, io, _ in f.params if io]
                return res, inouts
            self.statement(st, env)
        raise TypeError("no return")

    def statement(self, st, env):
        """let, a let pattern, index notation or update: binds in env."""
        if st[0] == "let":
            v = self.eval(st[2], env)
            if len(st[1]) == 1:
                if isinstance(v, Tuple):
                    raise TypeError("tuple bound to one name")
                env[st[1][0]] = v
            else:
                if not isinstance(v, Tuple) or len(v) != len(st[1]):
                    raise TypeError("let pattern does not match")
                for n, x in zip(st[1], v):
                    if n != "_":
                        env[n] = x
        elif st[0] == "letidx":
            env[st[1]] = self.comprehension(st[2], st[3], env)
        elif st[0] == "update":
            env[st[1]] = self.eval(st[2], env)
        else:
            raise TypeError("%s outside its place" % st[0])

    def loop(self, e, env):
        """The body run T times on the states; each state enters an iteration
        and leaves the loop as an opaque node (R.barrier: texc's rewrites do
        not look through a loop's states), so the recorded graph is the
        unrolled loop and reverse mode goes through it."""
        _, tvar, trips, inits, body, _ = e  # checkpoint=K: the same values and gradients
        n = R.strong(self.eval(trips, env))
        if n.dt not in ("i32", "i64") or n.v.ndim:
            raise TypeError("trip count of dtype %s" % n.dt)
        if int(n.v) < 0:
            raise ValueError("negative trip count")  # texc: TEX_ERR_TRIP at call time
        states = [self.eval(x, env) for _, x in inits]  # a weak literal is f32 or i32 (as at a return)
        states = [R.barrier(R.settle(v, "f32" if v.dt == "float" else "i32") if v.weak else v) for v in states]
        scan = body[-1][0] == "emit"
        nexts = body[-2] if scan else body[-1]
        rows = []  # a scan's emitted values, per step
        for t in range(max(int(n.v), 1) if scan else int(n.v)):  # a scan with 0 trips: one dry step for the types
            dry = t >= int(n.v)
            inner = dict(env)
            inner[tvar] = R.const(np.int64(t), "i64")
            for (name, _), v in zip(inits, states):
                inner[name] = v
            saved = R.Ctx.fragile
            for st in body[:-2 if scan else -1]:
                self.statement(st, inner)
            if scan:
                rows.append([R.strong(self.eval(x, inner)) for x in body[-1][1]])
            if dry:
                R.Ctx.fragile = saved  # the dry step's values are not used
                break
            states = self.next_states(nexts[1], inner, states)
        states = [R.barrier(s) for s in states]
        if scan:  # the emitted values stacked along a new leading axis
            live = rows[:int(n.v)]
            states += [R.stack([r[k] for r in live], rows[0][k].dt, rows[0][k].shape) for k in range(len(rows[0]))]
        return states[0] if len(states) == 1 else Tuple(states)

    def next_states(self, exprs, inner, states):
        """The values of a body's next (tuples flattened) as the new states:
        as many as the states, each of its state's type."""
        nxt = []
        for x in exprs:
            v = self.eval(x, inner)
            nxt.extend(v if isinstance(v, Tuple) else [v])
        if len(nxt) != len(states):
            raise TypeError("next gives %d values for %d states" % (len(nxt), len(states)))
        out = []
        for v, st in zip(nxt, states):
            v = R.settle(v, st.dt) if v.weak else v
            if v.dt != st.dt or v.shape != st.shape:
                raise TypeError("next: %s%s for a state %s%s" % (v.dt, v.shape, st.dt, st.shape))
            out.append(R.barrier(v))
        return out

    def while_(self, e, env):
        """The body run while the condition (on the states, not the body's
        lets) holds, at most max times: past it texc fails the call with
        TEX_ERR_MAXITER, so the inputs are redrawn (OverflowError)."""
        _, cond, inits, mx, body = e
        n = R.strong(self.eval(mx, env))
        if n.dt not in ("i32", "i64") or n.v.ndim:
            raise TypeError("max= of dtype %s" % n.dt)
        if int(n.v) < 0:
            raise ValueError("negative max=")  # texc: TEX_ERR_TRIP at call time
        states = [self.eval(x, env) for _, x in inits]
        states = [R.barrier(R.settle(v, "f32" if v.dt == "float" else "i32") if v.weak else v) for v in states]
        for it in range(int(n.v) + 1):
            inner = dict(env)
            for (name, _), v in zip(inits, states):
                inner[name] = v
            c = self.eval(cond, inner)
            if c.dt != "bool" or c.v.ndim:
                raise TypeError("while condition of type %s%s" % (c.dt, c.shape))
            if not bool(c.v):
                break
            if it == int(n.v):
                raise OverflowError("the while loop reached its max=")
            for st in body[:-1]:
                self.statement(st, inner)
            states = self.next_states(body[-1][1], inner, states)
        states = [R.barrier(st) for st in states]
        return states[0] if len(states) == 1 else Tuple(states)

    def cond(self, e, env):
        """Only the branch taken is evaluated (texc's if is lazy); a literal
        there takes the other branch's type, evaluated for its type alone."""
        c = self.eval(e[1], env)
        if c.dt != "bool" or c.v.ndim:
            raise TypeError("if condition of type %s%s" % (c.dt, c.shape))
        taken, other = (e[2], e[3]) if bool(c.v) else (e[3], e[2])
        v = self.eval(taken, env)
        if v.weak:
            saved = R.Ctx.fragile
            o = self.eval(other, env)
            R.Ctx.fragile = saved
            if not o.weak:
                v = R.bcast_to(R.settle(v, o.dt), o.shape)
        # texc's derivative is an if too: a value only the other branch reads
        # gets a zero cotangent (which a chain that overflowed turns into NaN)
        zeros = [env[n] for n in sorted(_names(other) - _names(taken))
                 if n in env and isinstance(env[n], R.V) and env[n].is_float() and not env[n].weak]
        if not zeros or not v.is_float():
            return v
        out = R.V(v.v, v.m, v.dt, "if", (v,))
        out.parents = [(v, lambda ct: ct)] + [(z, (lambda z: lambda ct: R.const(np.zeros(z.shape), z.dt))(z)) for z in zeros]
        return out

    @staticmethod
    def _result(v, t):
        dt = t[0]
        v = R.settle(v, dt) if v.weak else v
        if v.dt != dt:
            raise TypeError("result %s, declared %s" % (v.dt, dt))
        return v

    def eval(self, e, env):
        k = e[0]
        if k == "lit":
            return R.lit(e[1])
        if k == "boollit":
            return R.const(np.bool_(e[1]), "bool")
        if k == "var":
            if e[1] not in env and e[1] in env[SYMS]:
                return R.const(np.int64(env[SYMS][e[1]]), "i64")
            return env[e[1]]
        if k == "neg":
            return R.neg(self.eval(e[1], env))
        if k == "not":
            return R.lnot(self.eval(e[1], env))
        if k == "bin":
            return self.binary(e[1], self.eval(e[2], env), self.eval(e[3], env))
        if k == "call":
            return self.call_expr(e, env)
        if k == "index":
            return self.index(e, env)
        if k == "loop":
            return self.loop(e, env)
        if k == "while":
            return self.while_(e, env)
        if k == "if":
            return self.cond(e, env)
        if k == "red":  # a bare sum[k] body: a scalar
            return self.comprehension([], e, env)
        raise TypeError("cannot evaluate " + k)

    # ---- index notation, slices, gathers ------------------------------------------
    IDX = "$idx"
    IVARS = "$ivars"  # inside a body: its index variables and their extents

    def index(self, e, env):
        """x[subs]: inside index notation every subscript is an index
        expression (broadcast together); outside, NumPy basic slicing, scalar
        indices (negative from the end) and one integer array in place."""
        x = R.strong(self.eval(e[1], env))
        subs = e[2]
        if self.IDX in env:
            return R.gather(x, tuple(self.eval(s[1], env).v for s in subs))
        specs, pos = [], 0
        for k in range(x.v.ndim):
            n = x.v.shape[k]
            s = subs[k] if k < len(subs) else ("slice", [None, None, None])
            if s[0] == "slice":
                a, b, c = (None if p is None else int(R.strong(self.eval(p, env)).v) for p in s[1])
                specs.append((pos, np.arange(*slice(a, b, c).indices(n))))
                pos += 1
                continue
            iv = R.strong(self.eval(s[1], env))
            if s[1][0] in ("lit", "neg") or iv.v.ndim == 0:
                i = int(iv.v)
                specs.append((None, np.asarray(i + n if i < 0 and s[1][0] == "neg" else i)))
            else:
                specs.append((pos, iv.v.astype(np.int64)))
                pos += iv.v.ndim
        idx = []
        for p, a in specs:
            if p is None:
                idx.append(a)
            else:
                shape = [1] * pos
                shape[p:p + a.ndim] = a.shape
                idx.append(a.reshape(shape))
        for k, a in enumerate(idx):
            if a.size and (a.min() < 0 or a.max() >= x.v.shape[k]):
                raise IndexError("index out of range")  # texc: TEX_ERR_INDEX; the generator avoids it
        return R.gather(x, tuple(idx))

    def comprehension(self, ivars, rhs, env):
        """let v[i, j] = body or = sum[k] body (max, min, prod): the body over
        the index space as broadcast arrays, reduced over the reduction
        indices.  A reduction inside a body runs over the body's index space
        and its own indices (texc computes it over the variables it names:
        the same values)."""
        red = rhs if rhs[0] == "red" else None
        body = red[3] if red else rhs
        outer = env[self.IVARS] if self.IDX in env else []
        names = [v for v, _ in outer] + [v for v, _ in ivars] + (red[2] if red else [])
        ext = dict(outer)
        ext.update({v: dim_value(d, env[SYMS]) for v, d in ivars if d is not None})

        def infer(e):
            if isinstance(e, tuple) and e and e[0] == "index" and e[1][0] == "var":
                for pos, s in enumerate(e[2]):
                    if s[0] == "at" and s[1][0] == "var" and s[1][1] in names and s[1][1] not in ext:
                        ext[s[1][1]] = env[e[1][1]].v.shape[pos]
            if isinstance(e, (tuple, list)):
                for c in e:
                    infer(c)
        infer(body)
        inner = dict(env)
        inner[self.IDX] = True
        inner[self.IVARS] = [(v, ext[v]) for v in names]
        for i, v in enumerate(names):
            inner[v] = R.index_var(ext[v], i, len(names))
        full = tuple(ext[v] for v in names)
        val = self.eval(body, inner)
        val = R.settle(val, "f64" if val.dt == "float" else "i64") if val.weak else val
        val = R.bcast_to(val, full)
        if not red:
            return val
        axes = tuple(range(len(outer) + len(ivars), len(names)))
        return R.reduce_op(red[1], val, axes, False) if axes else val

    @staticmethod
    def binary(op, a, b):
        if op == "+":
            return R.add(a, b)
        if op == "-":
            return R.sub(a, b)
        if op == "*":
            return R.mul(a, b)
        if op == "/":
            return R.div(a, b)
        if op == "**":
            return R.power(a, b)
        if op == "@":
            return R.matmul(a, b)
        if op in ("and", "or"):
            return R.logic(op, a, b)
        return R.compare(op, a, b)

    def call_expr(self, e, env):
        _, name, args, kw = e
        if name in ("grad", "value_and_grad", "vjp", "jvp"):
            return self.derive(name, args, kw, env)
        if name in SHAPE_OPS:
            return self.shape_op(name, self.eval(args[0], env), args[1:], kw, env[SYMS])
        vals = [self.eval(a, env) for a in args]
        if name in self.fns:
            res, _ = self.call(name, vals)
            return res[0] if len(res) == 1 else Tuple(res)
        return self.builtin(name, vals, kw)

    def builtin(self, name, vals, kw):
        axis = kw.get("axis")
        if axis is not None:
            axis = axis[1] if axis[0] == "lit" else -axis[1][1]
        keep = kw.get("keepdims", ("boollit", False))[1]
        if name in R.UNARY:
            return R.unary(name, vals[0])
        if name in DTYPES:
            return R.cast(vals[0], name)
        if name == "abs":
            return R.absv(vals[0])
        if name == "stop_gradient":
            return R.stop_gradient(vals[0])
        if name == "transpose":
            return R.transpose(vals[0])
        if name == "where":
            return R.where(*vals)
        if name == "logaddexp":
            return R.logaddexp(vals[0], vals[1])
        if name == "take":
            x, ix = R.strong(vals[0]), vals[1].v.astype(np.int64)
            k = axis % x.v.ndim if axis is not None else 0
            lead, rest = k, x.v.ndim - k - 1
            rank = lead + ix.ndim + rest
            idx = []
            for a in range(x.v.ndim):
                shape = [1] * rank
                if a == k:
                    shape[lead:lead + ix.ndim] = ix.shape
                    idx.append(ix.reshape(shape))
                else:
                    p = a if a < k else a - 1 + ix.ndim
                    shape[p] = x.v.shape[a]
                    idx.append(np.arange(x.v.shape[a]).reshape(shape))
            return R.gather(x, tuple(idx))
        if name == "flip":
            x = R.strong(vals[0])
            axes = range(x.v.ndim) if axis is None else [axis % x.v.ndim]
            idx = tuple(np.arange(n)[::-1] if a in axes else np.arange(n) for a, n in enumerate(x.v.shape))
            return R.gather(x, np.ix_(*idx))
        if name in ("tril", "triu"):
            x = R.strong(vals[0])
            k = kw["k"][1] if "k" in kw and kw["k"][0] == "lit" else -kw["k"][1][1] if "k" in kw else 0
            n, m = x.v.shape[-2:]
            keep = (np.tril if name == "tril" else np.triu)(np.ones((n, m), bool), k)
            return R.where(R.V(np.broadcast_to(keep, x.v.shape).copy(), None, "bool", "const", ()), x, R.const(np.zeros(x.v.shape), x.dt))
        if name == "diag":
            x = R.strong(vals[0])
            i = np.arange(x.v.shape[0])
            return R.gather(x, (i, i))
        if name in ("max", "min") and len(vals) == 2:
            return R.maxmin(vals[0], vals[1], name == "max")
        x = R.strong(vals[0])
        axes = R._axes(x, axis)
        if name in ("sum", "max", "min"):
            return R.reduce_op(name, x, axes, keep)
        if name == "mean":
            return R.mean(x, axes, keep)
        if name == "cumsum":
            return R.cumsum(x, 0 if axis is None else axis)
        if name == "var":
            # two passes: sum((x - mean)^2) / max(n - ddof, 0)
            d = R.sub(x, R.mean(x, axes, True))
            n = int(np.prod([x.v.shape[a] for a in axes])) if axes else 1
            ddof = kw["ddof"][1] if "ddof" in kw else 0
            return R.div(R.reduce_op("sum", R.mul(d, d), axes, keep), R.const(np.float64(max(n - ddof, 0)), x.dt))
        if name == "logsumexp":
            return R.logsumexp(x, axes, keep)
        if name in ("softmax", "log_softmax"):
            axes = R._axes(x, -1 if axis is None else axis)
            return R.softmax_axes(x, axes) if name == "softmax" else R.log_softmax(x, axes)
        raise TypeError("unknown builtin " + name)

    @staticmethod
    def shape_op(name, x, args, kw, syms):
        """reshape, broadcast_to, permute, squeeze, expand_dims (dims are
        polynomials over the size symbols; -1 infers one reshape dim)."""
        x = R.strong(x)
        if name == "permute":
            items = kw["axes"][1] if kw["axes"][0] == "tuple" else [kw["axes"]]
            return R.permute(x, tuple(dim_value(a, syms) % x.v.ndim for a in items))
        if name in ("squeeze", "expand_dims"):
            shape = list(x.shape)
            k = dim_value(kw["axis"], syms) if "axis" in kw else None
            if name == "expand_dims":
                shape.insert(k % (len(shape) + 1), 1)
            else:
                shape = [d for i, d in enumerate(shape) if (i != k % len(shape) if k is not None else d != 1)]
            return R.reshape(x, tuple(shape))
        items = args[0][1] if args[0][0] == "tuple" else [args[0]]
        shape = tuple(dim_value(a, syms) for a in items)
        if name == "broadcast_to":
            return R.bcast_to(x, shape)
        if -1 in shape:
            known = int(np.prod([d for d in shape if d != -1]))
            shape = tuple(x.v.size // known if d == -1 else d for d in shape)
        return R.reshape(x, shape)

    def derive(self, kind, args, kw, env):
        """grad / value_and_grad / vjp / jvp of a function of the file."""
        f = self.fns[args[0][1]]
        n = len(f.params)
        vals = [self.eval(a, env) for a in args[1:]]
        fargs = [R.identity(R.settle(v, t[0]) if v.weak else v) for v, (_, _, t) in zip(vals[:n], f.params)]
        wrt = kw.get("wrt")
        names = [p for p, _, _ in f.params]
        if wrt is None:
            idx = [i for i, (_, _, t) in enumerate(f.params) if t[0] in R.FLOATS]
        else:
            items = wrt[1] if wrt[0] == "tuple" else [wrt]
            idx = [names.index(w[1]) for w in items]
        res, _ = self.call(f.name, fargs)
        fres = [i for i, r in enumerate(res) if r.dt in R.FLOATS]
        stops = [fargs[i] for i in idx]
        if kind in ("grad", "value_and_grad"):
            gs = R.backprop([res[0]], [R.const(np.ones(res[0].shape), res[0].dt)], stops)
            out = ([res[0]] if kind == "value_and_grad" else []) + gs
        elif kind == "vjp":
            cts = [R.settle(c, res[i].dt) if c.weak else c for c, i in zip(vals[n:], fres)]
            out = R.backprop([res[i] for i in fres], cts, stops)
        else:
            tangents = [R.settle(t, stops[j].dt) if t.weak else t for j, t in enumerate(vals[n:])]
            us = [R.V(np.zeros(res[i].shape), None, res[i].dt, "u") for i in fres]
            gs = R.backprop([res[i] for i in fres], us, stops)
            out = R.backprop(gs, tangents, us)
        return out[0] if len(out) == 1 else Tuple(out)


def grad_export(interp, name, args, cts=None):
    """What `texc --grad name` exports: (values..., cotangents of the float params)."""
    f = interp.fns[name]
    fargs = [R.identity(a) for a in args]
    res, _ = interp.call(name, fargs)
    stops = [a for a, (_, _, t) in zip(fargs, f.params) if t[0] in R.FLOATS]
    fres = [r for r in res if r.dt in R.FLOATS]
    if cts is None:
        cts = [R.const(np.ones(res[0].shape), "f64")]
    return res + R.backprop(fres, cts, stops)
