"""gen.py — random well-typed texc programs (text).

Top-down: gen(type) writes an expression of exactly that dtype and shape,
choosing children whose shapes broadcast to it (literal-1 dims, dropped
leading axes), reductions over a new axis, matmuls of every rank
combination, casts, lets, calls of private helpers (one or two results),
the stability-rewrite patterns with inputs scaled so the naive form
overflows or cancels, and functions that differentiate others in the
language (grad, value_and_grad, vjp, jvp).  Every exported function is also
differentiated by the runner through `texc --grad`.

`avoid` names known compiler bugs (issue 8's a, b, c; all fixed) the generator steers around
until they are fixed: 'a' matmul with a literal-1 row count, 'b' a
broadcast constant cotangent reaching a matmul, 'c' rewrite patterns with
broadcast operands."""
import random

SYMS = ("N", "M", "K")
FLOAT_UNARY = ("exp", "log", "sqrt", "tanh", "sigmoid", "log1p", "expm1", "softplus", "erf", "erfc",
               "log1mexp", "sin", "cos", "abs", "neg", "stop_gradient", "rsqrt", "lgamma")
PATTERNS = ("logaddexp", "logsumexp_pat", "softmax_pat", "log_softmax_pat", "log_sigmoid", "log_one_minus_sigmoid",
            "log1p_exp", "sigmoid_from_exp", "c_over_one_plus_exp", "one_minus_sigmoid", "one_minus_erf",
            "one_plus_erf", "log1p_neg_exp", "log_neg_expm1", "log_exp", "log1p_expm1", "sqrt_square",
            "expm1_pat", "log_one_plus", "log_one_minus", "small_power")


def tstr(t):
    dt, dims = t
    return dt if not dims else "%s[%s]" % (dt, ", ".join(str(d) for d in dims))


class FnCtx:
    def __init__(self, name):
        self.name, self.params, self.lets, self.nlet = name, [], [], 0
        self.bound = []  # (name, type) bound by let patterns (a loop's states)
        self.root, self.depth = self, 0

    def param(self, g, t, reuse=0.6):
        same = [p for p, pt in self.params if pt == t]
        if same and (g.r.random() < reuse or len(self.params) >= 8):
            return g.r.choice(same)
        n = "p%d" % len(self.params)
        self.params.append((n, t))
        return n

    def let(self, text, t):
        n = "v%d" % self.nlet
        self.nlet += 1
        self.lets.append((n, t, text))
        return n


def let_text(n, e):
    """`let NAME = EXPR`, `let (a, b) = EXPR` or `let v[i0, i1] = EXPR`."""
    return "let %s%s = %s" % ((n,) + (e if isinstance(e, tuple) else ("", e)))


class BodyCtx(FnCtx):
    """A loop body: lets of its own, leaves that read the states, the trip
    variable and anything of the enclosing code (through `outer`)."""

    def __init__(self, outer, states, tvar):
        self.outer, self.states, self.tvar = outer, states, tvar
        self.root, self.depth = outer.root, outer.depth + 1
        self.name, self.lets = outer.name, []
        self.bound = [(n, t) for n, t, _ in outer.lets if isinstance(t, tuple)] + outer.bound

    @property
    def params(self):
        return self.root.params

    @property
    def nlet(self):  # one numbering per function: a body's lets shadow nothing
        return self.root.nlet

    @nlet.setter
    def nlet(self, v):
        self.root.nlet = v

    def param(self, g, t, reuse=0.6):
        r = g.r.random()
        same = [n for n, st in self.states if st == t]
        if same and r < 0.5:
            return g.r.choice(same)
        if t == ("i64", ()) and r < 0.7:
            return self.tvar
        if t == ("f64", ()) and r < 0.7:
            return "(f64(%s) * 0.25)" % self.tvar
        return self.outer.param(g, t, reuse)


class Gen:
    def __init__(self, seed, avoid=()):
        self.r = random.Random(seed)
        self.avoid = set(avoid)
        self.helpers = []      # private functions, text
        self.nhelp = 0
        self.nstate = 0
        self.no_while = False  # while generating what reverse mode differentiates
        self.no_revolve = False  # ... in the language: --grad then differentiates its backward sweep

    # ---- shapes ----------------------------------------------------------
    def dim(self):
        x = self.r.random()
        return self.r.choice(SYMS) if x < 0.5 else 1 if x < 0.7 else self.r.choice((2, 3, 4))

    def shape(self, maxrank=3):
        return tuple(self.dim() for _ in range(self.r.choice((0, 1, 1, 2, 2, 2, 3)[:maxrank * 2 + 1])))

    def bshape(self, s):
        """A shape that broadcasts to s."""
        s = list(s)
        if s and self.r.random() < 0.25:
            s = s[self.r.randint(1, len(s)):]
        return tuple(1 if d != 1 and self.r.random() < 0.2 else d for d in s)

    def bpair(self, s, n=2):
        """n shapes that broadcast together to exactly s."""
        while True:
            shapes = [self.bshape(s) for _ in range(n)]
            k = self.r.randrange(n)
            shapes[k] = s if self.r.random() < 0.5 else shapes[k]
            ok = len(s) == max(len(x) for x in shapes) and all(
                any(len(x) > len(s) - 1 - i and x[len(x) - len(s) + i] == d for x in shapes) or d == 1
                for i, d in enumerate(s))
            if ok:
                return shapes

    # ---- expressions -----------------------------------------------------
    def gen(self, c, t, d):
        """An expression of type t (dtype, dims) at depth budget d."""
        reuse = [n for n, lt, _ in c.lets if lt == t] + [n for n, lt in c.bound if lt == t]
        if reuse and self.r.random() < 0.15:
            return self.r.choice(reuse)
        dt = t[0]
        if d <= 0 or self.r.random() < 0.12:
            return c.param(self, t)
        e = self.gen_float(c, t, d) if dt == "f64" else self.gen_int(c, t, d) if dt in ("i32", "i64") \
            else self.gen_bool(c, t, d)
        if self.r.random() < 0.2:
            return c.let(e, t)
        return e

    def pos(self, c, s, d):
        """A positive f64 expression of shape s."""
        e = self.gen(c, ("f64", s), d - 1)
        k = self.r.randrange(5)
        return ["(abs(%s) + 0.5)" % e, "exp(tanh(%s))" % e, "(%s * %s + 0.25)" % (e, e),
                "(sigmoid(%s) + 0.125)" % e, "(softplus(%s) + 0.25)" % e][k]

    def bounded(self, c, s, d):
        e = self.gen(c, ("f64", s), d - 1)
        return e if self.r.random() < 0.5 else "(tanh(%s) * 3.0)" % e

    def gen_float(self, c, t, d):
        s = t[1]
        kinds = ["unary"] * 6 + ["binary"] * 6 + ["literal"] * 2 + ["where", "reduce", "reduce", "cast", "call"] + \
            ["pattern"] * 3
        if s:
            kinds += ["softmax"]
        if len(s) <= 2:
            kinds += ["matmul"] * 2
        if len(s) >= 2:
            kinds += ["bmm"]
        if s:
            kinds += ["cumsum"]
        if len(s) >= 2:
            kinds += ["transpose"]
        if s:
            kinds += ["reshape", "permute", "squeeze", "expand_dims", "broadcast_to", "size"]
        if d >= 2 and c.depth < 2:
            kinds += ["loop"]
        if d >= 2 and c.depth < 2 and not self.no_while:
            kinds += ["while"]
        if d >= 2:
            kinds += ["if"]
        kinds += ["slice", "comp"] + (["gather", "flip"] if s else []) + (["tri"] if len(s) >= 2 else [])
        if len(s) == 1:
            kinds += ["diag"]
        k = self.r.choice(kinds)
        return getattr(self, "f_" + k)(c, s, d)

    def f_unary(self, c, s, d):
        op = self.r.choice(FLOAT_UNARY)
        if op in ("exp", "expm1"):
            return "%s(%s)" % (op, self.bounded(c, s, d))
        if op in ("log", "sqrt", "log1p", "rsqrt", "lgamma"):
            return "%s(%s)" % (op, self.pos(c, s, d))
        if op == "log1mexp":
            return "log1mexp(-%s)" % self.pos(c, s, d)
        e = self.gen(c, ("f64", s), d - 1)
        return "(-%s)" % e if op == "neg" else "%s(%s)" % (op, e)

    def f_binary(self, c, s, d):
        op = self.r.choice(("+", "-", "*", "/", "max", "min", "**", "+", "*", "logaddexp"))
        sa, sb = self.bpair(s)
        a = self.gen(c, ("f64", sa), d - 1)
        if op == "logaddexp":
            return "logaddexp(%s, %s)" % (a, self.gen(c, ("f64", sb), d - 1))
        if op == "/":
            return "(%s / %s)" % (a, self.pos(c, sb, d))
        if op == "**":
            ex = self.r.choice(("2", "3", "4", "-1", "0.5", "1.5", "2.0", "-0.5", "E"))
            if ex == "E":
                ex = "tanh(%s)" % self.gen(c, ("f64", sb), d - 1)
                return "(%s ** %s)" % (self.pos(c, sa, d), ex)
            return "(%s ** %s)" % (self.pos(c, s, d), ex)
        b = self.gen(c, ("f64", sb), d - 1)
        if op in ("max", "min"):
            return "%s(%s, %s)" % (op, a, b)
        return "(%s %s %s)" % (a, op, b)

    def f_literal(self, c, s, d):
        op = self.r.choice("+-*/")
        lit = self.r.choice(("0.5", "2.0", "1.5", "3", "-2.5", "0.25", "1", "2", "1e-3"))
        a = self.gen(c, ("f64", s), d - 1)
        if op == "/":
            return "(%s / %s)" % (a, lit) if self.r.random() < 0.5 else "(%s / %s)" % (lit, self.pos(c, s, d))
        return "(%s %s %s)" % (a, op, lit) if self.r.random() < 0.5 else "(%s %s %s)" % (lit, op, a)

    def f_where(self, c, s, d):
        if self.r.random() < 0.2:  # a literal branch: the other two cover the shape
            sc, sa = self.bpair(s, 2)
            b = self.r.choice(("0.0", "1.5", "-1"))
        else:
            sc, sa, sb = self.bpair(s, 3)
            b = self.gen(c, ("f64", sb), d - 1)
        a = self.gen(c, ("f64", sa), d - 1)
        return "where(%s, %s, %s)" % (self.gen(c, ("bool", sc), d - 1), a, b)

    def reduce_child(self, s):
        """(child shape, axis text, keepdims) for a reduction giving shape s."""
        if not s and self.r.random() < 0.4:
            return self.shape(), None, False
        k = self.r.randint(0, len(s))
        if s and self.r.random() < 0.3 and 1 in s:
            k = self.r.choice([i for i, x in enumerate(s) if x == 1])
            child = s[:k] + (self.dim(),) + s[k + 1:]
            keep = True
        else:
            child = s[:k] + (self.dim(),) + s[k:]
            keep = False
        ax = k if self.r.random() < 0.6 else k - len(child)
        return child, ax, keep

    @staticmethod
    def red_args(ax, keep):
        out = "" if ax is None else ", axis=%d" % ax
        return out + (", keepdims=true" if keep else (", keepdims=false" if ax is not None and ax % 3 == 0 else ""))

    def f_reduce(self, c, s, d):
        op = self.r.choice(("sum", "mean", "max", "min", "logsumexp", "sum", "var"))
        child, ax, keep = self.reduce_child(s)
        return "%s(%s%s)" % (op, self.gen(c, ("f64", child), d - 1), self.red_args(ax, keep))

    def f_softmax(self, c, s, d):
        op = self.r.choice(("softmax", "log_softmax"))
        ax = self.r.randrange(len(s))
        axt = "" if ax == len(s) - 1 and self.r.random() < 0.5 else ", axis=%d" % (ax - len(s) * self.r.randint(0, 1))
        return "%s(%s%s)" % (op, self.gen(c, ("f64", s), d - 1), axt)

    def mm_shapes(self, s):
        k = self.dim()
        if len(s) == 0:
            return (k,), (k,)
        if len(s) == 1:
            return ((s[0], k), (k,)) if self.r.random() < 0.5 else ((k,), (k, s[0]))
        return (s[0], k), (k, s[1])

    def f_matmul(self, c, s, d, dt="f64"):
        sa, sb = self.mm_shapes(s)
        if "a" in self.avoid and 1 in sa + sb:
            # bug (a): a literal-1 row count, here or in the gradient's transposed products
            return self.gen(c, (dt, s), d - 1)
        mm = "(%s @ %s)" % (self.gen(c, (dt, sa), d - 1), self.gen(c, (dt, sb), d - 1))
        if "b" in self.avoid and dt == "f64":
            # bug (b): a broadcast constant cotangent (sum's seed, a zero) feeding a matmul
            return "%s(%s)" % (self.r.choice(("tanh", "sigmoid", "softplus")), mm)
        return mm

    def f_bmm(self, c, s, d):
        """A batched product giving s (rank >= 2): [..., M, K] @ [..., K, N]
        with the batch dims broadcast (dropped or literal 1 on one side), or
        with a vector: [B, M, K] @ [K], [K] @ [B, K, N]."""
        k = self.dim()
        if len(s) == 2:
            sa, sb = (s + (k,), (k,)) if self.r.random() < 0.5 else ((k,), (s[0], k, s[1]))
        else:
            ba, bb = self.bpair(s[:-2], 2)
            sa, sb = ba + (s[-2], k), bb + (k, s[-1])
        return "(%s @ %s)" % (self.gen(c, ("f64", sa), d - 1), self.gen(c, ("f64", sb), d - 1))

    def f_cumsum(self, c, s, d):
        ax = self.r.randrange(len(s))
        axt = "" if len(s) == 1 and self.r.random() < 0.5 else ", axis=%d" % (ax - len(s) * self.r.randint(0, 1))
        return "cumsum(%s%s)" % (self.gen(c, ("f64", s), d - 1), axt)

    def f_transpose(self, c, s, d):
        return "transpose(%s)" % self.gen(c, ("f64", tuple(reversed(s))), d - 1)

    # ---- shape ops (frontend/shape.c) -------------------------------------------------

    @staticmethod
    def dims_text(s):
        return str(s[0]) if len(s) == 1 else "(%s)" % ", ".join(str(x) for x in s)

    def f_reshape(self, c, s, d):
        """The same dims in another order (the same element count), maybe with a 1 added."""
        child = list(s)
        self.r.shuffle(child)
        if len(child) < 3 and self.r.random() < 0.3:
            child.insert(self.r.randint(0, len(child)), 1)
        dims = list(s)
        if self.r.random() < 0.3:
            dims[self.r.randrange(len(dims))] = -1
        return "reshape(%s, %s)" % (self.gen(c, ("f64", tuple(child)), d - 1), self.dims_text(dims))

    def f_permute(self, c, s, d):
        perm = list(range(len(s)))
        self.r.shuffle(perm)  # output axis i is input axis perm[i]
        child = [None] * len(s)
        for i, p in enumerate(perm):
            child[p] = s[i]
        axes = ", ".join(str(p - len(s) if self.r.random() < 0.2 else p) for p in perm)
        return "permute(%s, axes=%s)" % (self.gen(c, ("f64", tuple(child)), d - 1), axes if len(s) == 1 else "(%s)" % axes)

    def f_squeeze(self, c, s, d):
        k = self.r.randint(0, len(s))
        return "squeeze(%s, axis=%d)" % (self.gen(c, ("f64", s[:k] + (1,) + s[k:]), d - 1), k)

    def f_expand_dims(self, c, s, d):
        ones = [i for i, x in enumerate(s) if x == 1]
        if not ones:
            return self.f_squeeze(c, s, d)
        k = self.r.choice(ones)
        return "expand_dims(%s, axis=%d)" % (self.gen(c, ("f64", s[:k] + s[k + 1:]), d - 1), k)

    def f_broadcast_to(self, c, s, d):
        """Literal dims may be dropped (leading) or 1 in the operand; a symbol
        stays, so some parameter still binds it."""
        lead = 0
        while lead < len(s) and isinstance(s[lead], int) and self.r.random() < 0.5:
            lead += 1
        child = tuple(1 if isinstance(x, int) and self.r.random() < 0.5 else x for x in s[lead:])
        return "broadcast_to(%s, %s)" % (self.gen(c, ("f64", child), d - 1), self.dims_text(s))

    def f_size(self, c, s, d):
        """A size symbol of the shape as a value: x / f64(N), x * f64(N - 1)."""
        syms = [x for x in s if isinstance(x, str)]
        e = self.gen(c, ("f64", s), d - 1)
        if not syms:
            return e
        n = self.r.choice(syms)
        return "(%s / f64(%s + 1))" % (e, n) if self.r.random() < 0.5 else "(%s * f64(%s - 1))" % (e, n)

    # ---- index notation, slices, gathers (frontend/index.c) ------------------------------

    def f_slice(self, c, s, d):
        """Each output dim from a slice of the operand's (1: or :-1 of one
        more, a step of 2 of twice as many, a reversal, all), with scalar
        indices (negative from the end) dropping extra axes."""
        child, subs = [], []
        for x in s:
            r = self.r.random()
            if isinstance(x, int) and r < 0.25:
                child.append(x + 1), subs.append(self.r.choice(("1:", ":-1", "-%d:" % x)))
            elif isinstance(x, int) and r < 0.4:
                child.append(2 * x), subs.append(self.r.choice(("::2", "1::2", "::-2")))
            else:
                child.append(x), subs.append("::-1" if r < 0.6 else ":")
            if self.r.random() < 0.2:
                child.append(3), subs.append(self.r.choice(("0", "2", "-1", "1")))
        if not subs or self.r.random() < 0.2:
            child.insert(0, 2), subs.insert(0, self.r.choice(("0", "-2", "1")))
        return "(%s)[%s]" % (self.gen(c, ("f64", tuple(child)), d - 1), ", ".join(subs))

    def f_gather(self, c, s, d):
        """Output axis k from an integer array clamped into the operand's axis:
        x[idx], x[:, idx] or take(x, idx, axis=k)."""
        k = self.r.randrange(len(s))
        e = self.r.choice((3, 4, self.r.choice(SYMS)))
        child = s[:k] + (e,) + s[k + 1:]
        idx = "min(max(%s, 0), %s)" % (self.gen(c, ("i64", (s[k],)), d - 1), "%d" % (e - 1) if isinstance(e, int) else e + " - 1")
        x = self.gen(c, ("f64", child), d - 1)
        form = self.r.randrange(3)
        if form == 0:
            return "take(%s, %s, axis=%d)" % (x, idx, k - len(child) * self.r.randint(0, 1))
        return "(%s)[%s%s]" % (x, ":, " * k, idx)

    def f_flip(self, c, s, d):
        """flip(x) or flip(x, axis=k)."""
        x = self.gen(c, ("f64", s), d - 1)
        if self.r.random() < 0.3:
            return "flip(%s)" % x
        return "flip(%s, axis=%d)" % (x, self.r.randrange(len(s)) - len(s) * self.r.randint(0, 1))

    def f_tri(self, c, s, d):
        """tril/triu of the last two axes, from diagonal k."""
        k = self.r.choice(("", ", k=1", ", k=-1", ", k=2"))
        return "%s(%s%s)" % (self.r.choice(("tril", "triu")), self.gen(c, ("f64", s), d - 1), k)

    def f_diag(self, c, s, d):
        """The diagonal of a square matrix."""
        return "diag(%s)" % self.gen(c, ("f64", (s[0], s[0])), d - 1)

    def f_comp(self, c, s, d):
        """let v[i0, ..] = A[..] op B[..] (A read with permuted or reversed
        indices), or = sum[k0] / max / min / prod over one more index; the
        body may hold a reduction over m0 of its own."""
        ivars = ["i%d" % k for k in range(len(s))]
        red = self.r.random() < 0.5 or not s
        rvars = ["k0"] if red else []
        ext = dict(zip(ivars, s))
        if red:
            ext["k0"] = self.dim()
        names = ivars + rvars
        order = names[:]
        self.r.shuffle(order)
        a = c.let(self.gen(c, ("f64", tuple(ext[v] for v in order)), d - 1), ("f64", tuple(ext[v] for v in order)))
        j = self.r.choice(names)
        b = c.param(self, ("f64", (ext[j],)))
        body = "%s[%s] %s %s[%s]" % (a, ", ".join(order), self.r.choice("+-*"), b, j)
        if self.r.random() < 0.3:  # a reduction inside the body, over the one index it names
            m = self.dim()
            p = c.param(self, ("f64", (ext[j], m)))
            body = "%s %s (%s[m0] %s[%s, m0])" % (body, self.r.choice("+-*"), self.r.choice(("sum", "max", "min")), p, j)
        if self.r.random() < 0.3:
            body = "tanh(%s)" % body
        kind = self.r.choice(("sum", "sum", "max", "min", "prod"))
        if kind == "prod":  # factors in [0.75, 1.25]: no overflow, no zero
            body = "(1.0 + 0.25 * tanh(%s))" % body
        rhs = "%s[k0] %s" % (kind, body) if red else body
        if not s:
            return c.let(rhs, ("f64", s))
        n = "v%d" % c.nlet
        c.nlet += 1
        c.lets.append((n, ("f64", s), ("[%s]" % ", ".join(ivars), rhs)))
        return n

    # ---- loops (frontend/loop.c) ---------------------------------------------------------

    def trips(self, c):
        """A trip count that is a size (reverse mode needs one): a literal
        0..4, or a size symbol of the function, maybe plus or minus 1,
        doubled or summed with another (sizes are 1..5 in the runner)."""
        syms = sorted({x for _, t in c.root.params for x in t[1] if isinstance(x, str)})
        if not syms or self.r.random() < 0.45:
            return str(self.r.choice((0, 1, 2, 2, 3, 3, 4)))
        a = self.r.choice(syms)
        forms = ["%s", "%s + 1", "%s - 1"] + (["2 * %s", "%s + " + self.r.choice(syms)] if c.depth == 0 else [])
        return self.r.choice(forms) % a

    def step(self, body, name, t, d):
        """The next value of state `name` (of type t): bounded, so long loops
        stay finite (tanh, sin, * 0.5)."""
        if t[0] == "i64":
            return self.r.choice(("(%s + %s)" % (name, body.tvar), "(%s + 1)" % name, "(%s - %s * 2)" % (name, body.tvar),
                                  "min(max(%s + %s, -8), 8)" % (name, self.gen(body, t, 1))))
        nest = body.depth < 2 and d >= 2 and self.r.random() < 0.2
        e = self.f_loop(body, t[1], d - 1) if nest else self.gen(body, t, d)
        other = [n for n, st in body.states if st == t and n != name]
        k = self.r.randrange(6 if other else 5)
        return ("tanh(%s)" % e, "sin(%s)" % e, "(%s * 0.5 + tanh(%s))" % (name, e), "(%s + 0.25 * sin(%s))" % (name, e),
                "tanh(%s * %s + f64(%s))" % (name, e, body.tvar),
                "(%s * 0.5 + %s * 0.25)" % (self.r.choice(other), e) if other else "")[k]

    def f_if(self, c, s, d):
        """(if a < b { A } else [if ...] { B }): a lazy conditional on two f64 scalars."""
        def cond():
            return "%s %s %s" % (self.gen(c, ("f64", ()), d - 1), self.r.choice(("<", ">", "<=")), self.gen(c, ("f64", ()), d - 1))
        text = "(if %s { %s } else " % (cond(), self.gen(c, ("f64", s), d - 1))
        if self.r.random() < 0.3:
            text += "if %s { %s } else " % (cond(), self.gen(c, ("f64", s), d - 1))
        return text + "{ %s })" % self.gen(c, ("f64", s), d - 1)

    def checkpoint(self):
        """ checkpoint=K (one level), checkpoint=(K1, K2, ..) (decreasing) or
        checkpoint=revolve(S), a third of the time"""
        x = self.r.random()
        if x < 0.12 and not self.no_revolve:
            return " checkpoint=revolve(%d)" % self.r.randint(1, 3)
        if x < 0.2:
            return " checkpoint=%d" % self.r.randint(1, 3)
        if x < 0.33:
            levels = sorted(self.r.sample(range(1, 7), self.r.randint(2, 3)), reverse=True)
            return " checkpoint=(%s)" % ", ".join(map(str, levels))
        return ""

    def f_loop(self, c, s, d):
        """let s0 = loop t < T with (s0 = ..) [checkpoint=K | =(K1, K2, ..) | =revolve(S)] { lets; next .. }
        with one to three states (the first of type f64[s], an i64 counter
        now and then), the body over the states, t and outer values, nested
        one level at most; the value is the first state, maybe with the
        others mixed in."""
        n = self.r.choice((1, 1, 2, 2, 3))
        types = [("f64", s)] + [("i64", ()) if self.r.random() < 0.25 else ("f64", self.shape(2)) for _ in range(n - 1)]
        names = ["s%d" % (self.nstate + i) for i in range(n)]
        self.nstate += n
        inits = [self.gen(c, t, d - 1) for t in types]
        trips = self.trips(c)
        body = BodyCtx(c, list(zip(names, types)), ("t", "j")[c.depth])
        nexts = [self.step(body, nm, t, d - 1) for nm, t in zip(names, types)]
        ys = "ys%d" % self.nstate if self.r.random() < 0.3 else None  # a scan, emitting a value of s0's type
        emit = " emit %s" % self.step(body, names[0], types[0], d - 1) if ys else ""
        ind = "    " * (body.depth + 1)
        text = "%s %s < %s with (%s)%s {\n%s%snext %s%s\n%s}" % (
            "scan" if ys else "loop", body.tvar, trips, ", ".join("%s = %s" % x for x in zip(names, inits)),
            self.checkpoint(),
            "".join("%s%s\n" % (ind, let_text(ln, le)) for ln, _, le in body.lets), ind,
            nexts[0] if n == 1 else "(%s)" % ", ".join(nexts) if self.r.random() < 0.7 else ", ".join(nexts), emit,
            "    " * body.depth)
        if n == 1 and not ys:
            c.lets.append((names[0], types[0], text))
        else:  # the stacked values ([T, ...]) stay out of the generator's bound names
            c.lets.append(("(%s)" % ", ".join(names + ([ys] if ys else [])), "tuple", text))
            c.bound.extend(zip(names, types))
        out = names[0] if not ys else "(%s + sum(%s, axis=0) * 0.125)" % (names[0], ys)
        for nm, t in zip(names[1:], types[1:]):
            if self.r.random() < 0.5:
                x = "f64(%s)" % nm if t[0] == "i64" else "mean(%s)" % nm if t[1] else nm
                out = "(%s + %s * 0.125)" % (out, x)
        return out

    def f_while(self, c, s, d):
        """let (wN, kN) = while max(abs(wN)) > 0.5 with (wN = .., kN = i64(0)) max=400 { lets; next .. }:
        a contraction (|w| goes below 0.25 + 0.125), so it stops well before
        its max unless an input overflowed; the count is the loop variable of
        the body and is mixed into the value."""
        w, k = "w%d" % self.nstate, "k%d" % self.nstate
        self.nstate += 1
        t = ("f64", s)
        init = self.gen(c, t, d - 1)
        body = BodyCtx(c, [(w, t), (k, ("i64", ()))], k)
        e = self.gen(body, t, d - 1)
        ind = "    " * (body.depth + 1)
        text = "while %s > 0.5 with (%s = %s, %s = i64(0)) max=400 {\n%s%snext (%s * 0.5 + 0.125 * tanh(%s), %s + 1)\n%s}" % (
            "max(abs(%s))" % w if s else "abs(%s)" % w, w, init, k,
            "".join("%s%s\n" % (ind, let_text(ln, le)) for ln, _, le in body.lets), ind, w, e, k, "    " * body.depth)
        c.lets.append(("(%s, %s)" % (w, k), "tuple", text))
        c.bound.extend([(w, t), (k, ("i64", ()))])
        return "(%s + f64(%s) * 0.125)" % (w, k)

    def f_cast(self, c, s, d):
        src = self.r.choice(("i32", "i64", "bool"))
        return "f64(%s)" % self.gen(c, (src, s), d - 1)

    def f_call(self, c, s, d):
        return self.call(c, ("f64", s), d)

    # ---- integers and booleans ------------------------------------------------
    def gen_int(self, c, t, d):
        dt, s = t
        k = self.r.choice(("bin", "bin", "lit", "unary", "maxmin", "where", "sum", "cast", "cast", "matmul"))
        if k == "bin":
            sa, sb = self.bpair(s)
            return "(%s %s %s)" % (self.gen(c, (dt, sa), d - 1), self.r.choice("+-*"), self.gen(c, (dt, sb), d - 1))
        if k == "lit":
            return "(%s %s %d)" % (self.gen(c, t, d - 1), self.r.choice("+-*"), self.r.randint(-3, 3))
        if k == "unary":
            return self.r.choice(("abs(%s)", "(-%s)")) % self.gen(c, t, d - 1)
        if k == "maxmin":
            sa, sb = self.bpair(s)
            return "%s(%s, %s)" % (self.r.choice(("max", "min")), self.gen(c, (dt, sa), d - 1),
                                   self.gen(c, (dt, sb), d - 1))
        if k == "where":
            sc, sa, sb = self.bpair(s, 3)
            return "where(%s, %s, %s)" % (self.gen(c, ("bool", sc), d - 1), self.gen(c, (dt, sa), d - 1),
                                          self.gen(c, (dt, sb), d - 1))
        if k == "sum":
            child, ax, keep = self.reduce_child(s)
            return "%s(%s%s)" % (self.r.choice(("sum", "max", "min")), self.gen(c, (dt, child), d - 1),
                                 self.red_args(ax, keep))
        if k == "matmul" and len(s) <= 2:
            return self.f_matmul(c, s, d, dt)
        src = self.r.choice(("f64", "bool", "i32" if dt == "i64" else "i64"))
        if src == "f64":
            return "%s(%s)" % (dt, "(%s * 2.0)" % self.gen(c, ("f64", s), d - 1))
        return "%s(%s)" % (dt, self.gen(c, (src, s), d - 1))

    def gen_bool(self, c, t, d):
        s = t[1]
        k = self.r.choice(("cmp", "cmp", "cmp", "logic", "not", "cast"))
        if k == "cmp":
            sa, sb = self.bpair(s)
            dt = self.r.choice(("f64", "f64", "i32", "i64"))
            op = self.r.choice(("<", "<=", ">", ">=", "!=", "==") if dt != "f64" else ("<", "<=", ">", ">="))
            if self.r.random() < 0.3:
                return "(%s %s %s)" % (self.gen(c, (dt, s), d - 1), op, "0.5" if dt == "f64" else "1")
            return "(%s %s %s)" % (self.gen(c, (dt, sa), d - 1), op, self.gen(c, (dt, sb), d - 1))
        if k == "logic":
            sa, sb = self.bpair(s)
            return "(%s %s %s)" % (self.gen(c, ("bool", sa), d - 1), self.r.choice(("and", "or")),
                                   self.gen(c, ("bool", sb), d - 1))
        if k == "not":
            return "(not %s)" % self.gen(c, t, d - 1)
        return "bool(%s)" % self.gen(c, (self.r.choice(("i32", "i64")), s), d - 1)

    # ---- the stability patterns ----------------------------------------------
    def scaled(self, c, s, d, scale, offset=None):
        e = self.gen(c, ("f64", s), d - 1)
        return "(%s * %s%s)" % (e, scale, "" if offset is None else " + %s" % offset)

    def pshape(self, s, n=2):
        return self.bpair(s, n) if "c" not in self.avoid else [s] * n

    def f_pattern(self, c, s, d):
        p = self.r.choice(PATTERNS)
        e = getattr(self, "p_" + p)(c, s, d)
        return "(%s * 0.001)" % e if self.r.random() < 0.4 else e

    def big(self):
        return self.r.choice(("400.0", "800.0", "2000.0", "3.0"))

    def p_logaddexp(self, c, s, d):
        sa, sb = self.pshape(s)
        return "log(exp(%s) + exp(%s))" % (self.scaled(c, sa, d, self.big()), self.scaled(c, sb, d, self.big()))

    def p_logsumexp_pat(self, c, s, d):
        child, ax, keep = self.reduce_child(s)
        return "log(sum(exp(%s)%s))" % (self.scaled(c, child, d, self.big()), self.red_args(ax, keep))

    def _softmax_let(self, c, s, d):
        ax = self.r.randrange(len(s))
        e = c.let("exp(%s)" % self.scaled(c, s, d, self.big()), None)
        return "(%s / sum(%s, axis=%d, keepdims=true))" % (e, e, ax)

    def p_softmax_pat(self, c, s, d):
        if not s:
            return self.p_logaddexp(c, s, d)
        return self._softmax_let(c, s, d)

    def p_log_softmax_pat(self, c, s, d):
        if not s:
            return self.p_log_exp(c, s, d)
        return "log(%s)" % self._softmax_let(c, s, d)

    def p_log_sigmoid(self, c, s, d):
        return "log(sigmoid(%s))" % self.scaled(c, s, d, self.big())

    def p_log_one_minus_sigmoid(self, c, s, d):
        sa, sb = self.pshape(s)
        return "log(1 - sigmoid(%s))" % self.scaled(c, s, d, self.big())

    def p_log1p_exp(self, c, s, d):
        return "log1p(exp(%s))" % self.scaled(c, s, d, self.big())

    def p_sigmoid_from_exp(self, c, s, d):
        e = c.let("exp(%s)" % self.scaled(c, s, d, self.big()), None)
        return "(%s / (1 + %s))" % (e, e)

    def p_c_over_one_plus_exp(self, c, s, d):
        return "(%s / (1 + exp(%s)))" % (self.r.choice(("1", "2.5", "1.0")), self.scaled(c, s, d, self.big()))

    def p_one_minus_sigmoid(self, c, s, d):
        return "(1 - sigmoid(%s))" % self.scaled(c, s, d, "10.0", "30.0")

    def p_one_minus_erf(self, c, s, d):
        return "(1 - erf(%s))" % self.scaled(c, s, d, "1.5", "6.0")

    def p_one_plus_erf(self, c, s, d):
        form = "(1 + erf(%s))" if self.r.random() < 0.5 else "(erf(%s) + 1)"
        return form % self.scaled(c, s, d, "1.5", "-6.0")

    def p_log1p_neg_exp(self, c, s, d):
        return "log1p(-exp(-%s))" % self.r.choice(("(%s * 1e-12)", "(%s * 100.0)", "%s")) % self.pos(c, s, d)

    def p_log_neg_expm1(self, c, s, d):
        return "log(-expm1(-%s))" % self.r.choice(("(%s * 1e-12)", "(%s * 100.0)", "%s")) % self.pos(c, s, d)

    def p_log_exp(self, c, s, d):
        return "log(exp(%s))" % self.scaled(c, s, d, self.big())

    def p_log1p_expm1(self, c, s, d):
        return "log1p(expm1(%s))" % self.scaled(c, s, d, self.big())

    def p_sqrt_square(self, c, s, d):
        a = c.let(self.scaled(c, s, d, self.r.choice(("1e200", "1e-200", "3.0"))), None)
        return "(sqrt(%s * %s) * %s)" % (a, a, self.r.choice(("1e-200", "1e200", "1.0")))

    def p_expm1_pat(self, c, s, d):
        return "(exp(%s) - 1)" % self.scaled(c, s, d, "1e-10")

    def p_log_one_plus(self, c, s, d):
        form = "log(1 + %s)" if self.r.random() < 0.5 else "log(%s + 1)"
        return form % self.scaled(c, s, d, "1e-10")

    def p_log_one_minus(self, c, s, d):
        return "log(1 - %s)" % self.scaled(c, s, d, "1e-10")

    def p_small_power(self, c, s, d):
        return "(%s ** %s)" % (self.gen(c, ("f64", s), d - 1), self.r.choice(("2", "3", "4", "-1")))

    # ---- calls and functions -------------------------------------------------------
    def call(self, c, t, d):
        """A call of a new private helper returning t (and maybe a second result)."""
        name = "h%d" % self.nhelp
        self.nhelp += 1
        h = FnCtx(name)
        results = [t] + ([("f64", self.shape())] if self.r.random() < 0.3 else [])
        rets = [self.gen(h, rt, d - 1) for rt in results]
        self.helpers.append(self.fn_text(h, results, rets, private=True))
        args = ", ".join(self.gen(c, pt, d - 2) for _, pt in h.params)
        if len(results) == 1:
            return "%s(%s)" % (name, args)
        a = c.let("%s(%s)" % (name, args), "tuple")
        c.lets[-1] = ("(%s, _)" % a, "tuple", c.lets[-1][2])
        return a

    def fn_text(self, c, results, rets, private=False, inout=(), updates=()):
        params = ", ".join("%s: %s%s" % (n, "inout " if n in inout else "", tstr(t)) for n, t in c.params)
        res = tstr(results[0]) if len(results) == 1 else "(%s)" % ", ".join(tstr(t) for t in results)
        body = "".join("    let %s%s = %s\n" % ((n,) + (e if isinstance(e, tuple) else ("", e))) for n, _, e in c.lets)
        body += "".join("    update %s = %s\n" % u for u in updates)
        return "%sfn %s(%s) -> %s {\n%s    return %s\n}\n" % ("private " if private else "", c.name, params, res, body,
                                                              ", ".join(rets))

    def function(self, name, depth=4):
        """Text of one exported function (and the helpers it needs, first)."""
        self.helpers = []
        x = self.r.random()
        if x < 0.15:
            body = self.derive_fn(name, depth)
        else:
            c = FnCtx(name)
            n = 1 if self.r.random() < 0.6 else self.r.randint(2, 3)
            results = [("f64", () if i == 0 and self.r.random() < 0.5 else self.shape()) for i in range(n)]
            if self.r.random() < 0.1:
                results[-1] = (self.r.choice(("i32", "i64", "bool")), self.shape())
            rets = [self.gen(c, t, depth) for t in results]
            inout, updates = (), ()
            floats = [p for p, t in c.params if t[0] == "f64"]
            if floats and self.r.random() < 0.08:
                p = floats[0]
                pt = dict(c.params)[p]
                inout, updates = (p,), ((p, "(%s - 0.125 * %s)" % (p, self.gen(c, pt, 2))),)
            body = self.fn_text(c, results, rets, inout=inout, updates=updates)
        return "".join(self.helpers) + body

    def derive_fn(self, name, depth):
        """An exported function that calls grad / value_and_grad / vjp / jvp of a helper."""
        kind = self.r.choice(("grad", "value_and_grad", "vjp", "jvp"))
        h = FnCtx(name + "_h")
        results = [("f64", ())] if kind in ("grad", "value_and_grad") else \
            [("f64", self.shape()) for _ in range(self.r.choice((1, 1, 2)))]
        self.no_while = self.no_revolve = kind != "jvp"
        rets = [self.gen(h, t, depth - 1) for t in results]
        if self.r.random() < 0.3:  # differentiating through a loop, in the language
            rets[0] = self.f_loop(h, results[0][1], depth - 1)
        self.no_while = self.no_revolve = False
        if not any(t[0] == "f64" for _, t in h.params):
            h.params.append(("p%d" % len(h.params), ("f64", ())))
            rets[0] = "(%s + %s)" % (rets[0], h.params[-1][0]) if results[0][1] == () else \
                "(%s * %s)" % (rets[0], h.params[-1][0])
        self.helpers.append(self.fn_text(h, results, rets, private=True))
        floats = [i for i, (_, t) in enumerate(h.params) if t[0] == "f64"]
        wrt = sorted(self.r.sample(floats, self.r.randint(1, len(floats))))
        c = FnCtx(name)
        args = [self.gen(c, t, 1) if self.r.random() < 0.3 else c.param(self, t, 0.0) for _, t in h.params]
        extra = []
        if kind == "vjp":
            extra = [c.param(self, t, 0.0) for t in results]
        if kind == "jvp":
            extra = [c.param(self, h.params[i][1], 0.0) for i in wrt]
        wrt_text = "" if len(wrt) == len(floats) and self.r.random() < 0.5 else \
            ", wrt=%s" % (h.params[wrt[0]][0] if len(wrt) == 1 else "(%s)" % ", ".join(h.params[i][0] for i in wrt))
        call = "%s(%s, %s%s)" % (kind, h.name, ", ".join(args + extra), wrt_text)
        outs = ([results[0]] if kind == "value_and_grad" else []) + (
            results if kind == "jvp" else [h.params[i][1] for i in wrt])
        if len(outs) == 1:
            return self.fn_text(c, outs, [call])
        names = ["g%d" % i for i in range(len(outs))]
        c.lets.append(("(%s)" % ", ".join(names), None, call))
        return self.fn_text(c, outs, names)
