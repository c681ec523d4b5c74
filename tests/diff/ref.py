"""ref.py — texc's semantics in NumPy (f64), independent of the compiler.

Every value V carries, besides its array, a running error bound `m`: a
first-order estimate of |computed - exact| in units of the f64 epsilon, so a
comparison can allow 1e-9 relative to the *conditioning* of the computation
rather than to the value (a sum that cancels, a log near 1).  Values also
record their op and operands, which serves two purposes:

- the stability rewrites that are part of the language (log(1 + x) is
  log1p(x), ...) are applied here by looking at the operands' ops when a value
  is built, so the reference means what a texc program means (through lets,
  calls and broadcasts, as the reference manual promises);
- reverse mode: each value lists (parent, backward) pairs; backward functions
  are written with these same ops, so the backward pass is itself recorded and
  can be differentiated again (grad of grad, jvp by the double-vjp trick).

Decisions that depend on a near-tie (a comparison, max, a cast to an integer,
abs at 0) mark the evaluation `fragile`; the caller then draws other inputs.
"""
import decimal
import math

import numpy as np

np.seterr(all="ignore")
TOL = 1e-9          # allowed error relative to the error bound m (in eps units: see close())
EPS = np.finfo(np.float64).eps
FLOATS = ("f64", "f32")
INTS = ("i32", "i64")
NP = {"f64": np.float64, "f32": np.float64, "i32": np.int32, "i64": np.int64, "bool": np.bool_}


class Ctx:
    """Per-evaluation state: the reason inputs were found fragile, if any."""
    fragile = None


def fragile(why):
    if Ctx.fragile is None:
        Ctx.fragile = why


class V:
    __slots__ = ("v", "m", "dt", "weak", "op", "args", "parents", "extra")

    def __init__(self, v, m, dt, op="?", args=(), parents=(), weak=False):
        self.v = np.asarray(v, dtype=NP[dt] if dt in NP else None)
        self.m = np.zeros(self.v.shape) if m is None else np.broadcast_to(np.asarray(m, np.float64), self.v.shape)
        self.dt, self.weak, self.op, self.args, self.parents = dt, weak, op, tuple(args), list(parents)
        self.extra = ((), False)

    @property
    def shape(self):
        return self.v.shape

    def is_float(self):
        return self.dt in FLOATS or self.dt == "float"

    def __repr__(self):
        return "V(%s %s %s)" % (self.op, self.dt, self.v)


def const(x, dt):
    return V(x, None, dt, "const")


def lit(x):
    """A weak literal: takes the dtype of what it meets."""
    isf = isinstance(x, float)
    return V(np.float64(x) if isf else np.int64(x), None, "float" if isf else "int", "const", weak=True)


def is_const(a, want):
    return a.op == "const" and a.v.size > 0 and bool(np.all(a.v == want)) and not (want == 0 and np.any(np.signbit(a.v)))


# ---- dtypes and weak literals -------------------------------------------------

def settle(a, dt):
    """A weak literal meeting dtype dt."""
    if not a.weak:
        return a
    if a.dt == "float" and dt not in FLOATS:
        raise TypeError("float literal meets %s" % dt)
    return V(a.v.astype(NP[dt]), None, dt, "const")


def unify(a, b):
    if a.weak and not b.weak:
        return settle(a, b.dt), b, b.dt
    if b.weak and not a.weak:
        return a, settle(b, a.dt), a.dt
    if a.weak and b.weak:
        return a, b, "float" if "float" in (a.dt, b.dt) else "int"
    if a.dt != b.dt:
        raise TypeError("%s meets %s" % (a.dt, b.dt))
    return a, b, a.dt


def strong(a):
    """A literal that meets nothing typed: f32/i32 in texc; the generator avoids it."""
    return settle(a, "f64" if a.dt == "float" else "i32") if a.weak else a


# ---- broadcasting helpers ------------------------------------------------------

def unbroadcast(ct, shape):
    """Sums ct down to `shape` (the reverse of NumPy broadcasting)."""
    lead = ct.v.ndim - len(shape)
    if lead:
        ct = reduce_op("sum", ct, tuple(range(lead)), False)
    axes = tuple(i for i, d in enumerate(shape) if d == 1 and ct.v.shape[i] != 1)
    return reduce_op("sum", ct, axes, True) if axes else ct


def bcast_to(a, shape):
    if a.shape == tuple(shape):
        return a
    out = V(np.broadcast_to(a.v, shape).copy(), np.broadcast_to(a.m, shape), a.dt, "broadcast", (a,))
    out.parents = [(a, lambda ct: unbroadcast(ct, a.shape))] if a.is_float() else []
    return out


def _mk(v, m, dt, op, args, grads):
    """A float result with its parents; grads[i] maps the cotangent to operand i's
    (broadcast) cotangent, or None where no derivative flows."""
    out = V(v, m, dt, op, args)
    for a, g in zip(args, grads):
        if g is not None and a.is_float() and not a.weak and a.op != "const":
            out.parents.append((a, (lambda g, a: lambda ct: unbroadcast(g(ct), a.shape))(g, a)))
    return out


# ---- elementwise unary ----------------------------------------------------------

def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _erfc(x):
    return np.vectorize(math.erfc, otypes=[np.float64])(x)


def _log1mexp(x):
    return np.where(x > -math.log(2), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


# lgamma (n = -1), digamma (0), trigamma (1), tetragamma (2) in 40-digit decimal arithmetic
# (NumPy has none): the recurrence up to y >= 20, then the asymptotic series
# with Bernoulli numbers B_2k, k <= 10 (tail below 1e-24).  Negative x by the
# reflection formulas in double (the generator draws positive arguments).
_B2K = ((1, 6), (-1, 30), (1, 42), (-1, 30), (5, 66), (-691, 2730), (7, 6), (-3617, 510), (43867, 798), (-174611, 330))


def _gamma_fn(x, n):
    if math.isnan(x) or x == -math.inf:
        return math.nan
    if x <= 0 and x == math.floor(x):
        return math.nan if n in (0, 2) else math.inf
    if x == math.inf:
        return (math.inf, math.inf, 0.0, -0.0)[n + 1]
    if x < 0:
        r = x - round(x)
        if n == -1:
            return math.log(math.pi / abs(math.sin(math.pi * r))) - _gamma_fn(1 - x, -1)
        if n == 0:
            return _gamma_fn(1 - x, 0) - math.pi / math.tan(math.pi * r)
        if n == 2:
            return _gamma_fn(1 - x, 2) - 2 * math.pi ** 3 / (math.tan(math.pi * r) * math.sin(math.pi * r) ** 2)
        return (math.pi / math.sin(math.pi * r)) ** 2 - _gamma_fn(1 - x, 1)
    with decimal.localcontext() as ctx:
        ctx.prec = 40
        D = decimal.Decimal
        y, acc = D(x), D(0)
        while y < 20:
            acc += (y.ln(), 1 / y, 1 / (y * y), -2 / (y * y * y))[n + 1]
            y += 1
        z = 1 / (y * y)
        if n == -1:
            r = (y - D("0.5")) * y.ln() - y + D("0.9189385332046727417803297364056176398614")
            r += sum(D(a) / D(b) / (2 * k * (2 * k - 1)) * z ** (k - 1) / y for k, (a, b) in enumerate(_B2K, 1))
            return float(r - acc)
        if n == 0:
            r = y.ln() - 1 / (2 * y) - sum(D(a) / D(b) / (2 * k) * z ** k for k, (a, b) in enumerate(_B2K, 1))
            return float(r - acc)
        if n == 1:
            r = 1 / y + z / 2 + sum(D(a) / D(b) * z ** k / y for k, (a, b) in enumerate(_B2K, 1))
            return float(r + acc)
        r = -z - z / y - sum((2 * k + 1) * D(a) / D(b) * z ** (k + 1) for k, (a, b) in enumerate(_B2K, 1))
        return float(r + acc)


def _vec_gamma(n):
    return lambda x: np.vectorize(lambda t: _gamma_fn(float(t), n), otypes=[np.float64])(x)


def _no_derivative(x, o):
    raise NotImplementedError("tetragamma has no derivative in texc")


# name: (value, derivative as a function of (x, out) on V, |derivative| on arrays, ulps)
UNARY = {
    "exp": (np.exp, lambda x, o: o, lambda x, y: np.abs(y), 2),
    "log": (np.log, lambda x, o: div(lit(1.0), x), lambda x, y: 1 / np.abs(x), 2),
    "sqrt": (np.sqrt, lambda x, o: div(lit(0.5), o), lambda x, y: 0.5 / np.abs(y), 1),
    "tanh": (np.tanh, lambda x, o: sub(lit(1.0), mul(o, o)), lambda x, y: 1 - y * y, 2),
    "sigmoid": (_sigmoid, lambda x, o: mul(o, sub(lit(1.0), o)), lambda x, y: y * (1 - y), 2),
    "log1p": (np.log1p, lambda x, o: div(lit(1.0), add(lit(1.0), x)), lambda x, y: 1 / np.abs(1 + x), 2),
    "expm1": (np.expm1, lambda x, o: unary("exp", x), lambda x, y: np.exp(x), 2),
    "softplus": (_softplus, lambda x, o: unary("sigmoid", x), lambda x, y: _sigmoid(x), 2),
    "erf": (_erf, lambda x, o: mul(lit(2 / math.sqrt(math.pi)), unary("exp", neg(mul(x, x)))),
            lambda x, y: 2 / math.sqrt(math.pi) * np.exp(-x * x), 2),
    "erfc": (_erfc, lambda x, o: mul(lit(-2 / math.sqrt(math.pi)), unary("exp", neg(mul(x, x)))),
             lambda x, y: 2 / math.sqrt(math.pi) * np.exp(-x * x), 2),
    "log1mexp": (_log1mexp, lambda x, o: div(lit(-1.0), unary("expm1", neg(x))),
                 lambda x, y: 1 / np.abs(np.expm1(-x)), 2),
    "sin": (np.sin, lambda x, o: unary("cos", x), lambda x, y: np.abs(np.cos(x)), 2),
    "cos": (np.cos, lambda x, o: neg(unary("sin", x)), lambda x, y: np.abs(np.sin(x)), 2),
    "rsqrt": (lambda x: 1 / np.sqrt(x), lambda x, o: mul(lit(-0.5), mul(o, mul(o, o))),
              lambda x, y: 0.5 * np.abs(y) ** 3, 1),
    "lgamma": (_vec_gamma(-1), lambda x, o: unary("digamma", x), lambda x, y: np.abs(_vec_gamma(0)(x)), 1),
    "digamma": (_vec_gamma(0), lambda x, o: unary("trigamma", x), lambda x, y: np.abs(_vec_gamma(1)(x)), 1),
    "trigamma": (_vec_gamma(1), lambda x, o: unary("tetragamma", x), lambda x, y: np.abs(_vec_gamma(2)(x)), 1),
    "tetragamma": (_vec_gamma(2), _no_derivative, lambda x, y: 6 * np.abs(y) ** (4 / 3), 1),
}


def max_shifted(x):
    """x - max(...): already shifted by its maximum (the rewrites' guard)."""
    if x.op != "sub":
        return False
    m = x.args[1]
    while m.op in ("stop_gradient", "broadcast", "reshape"):
        m = m.args[0]
    return m.op == "reduce_max"


def _rewrite_unary(name, x):
    """The stability rewrites rooted at a one-operand op (lang/reference.md)."""
    if name == "log":
        if x.op == "sigmoid":
            return neg(unary("softplus", neg(x.args[0])))
        if x.op == "sub" and is_const(x.args[0], 1):
            if x.args[1].op == "sigmoid":
                return neg(unary("softplus", x.args[1].args[0]))
            return unary("log1p", neg(x.args[1]))
        if x.op == "add" and (is_const(x.args[0], 1) or is_const(x.args[1], 1)):
            return unary("log1p", x.args[1] if is_const(x.args[0], 1) else x.args[0])
        if x.op == "exp":
            return x.args[0]
        if x.op == "add" and x.args[0].op == "exp" and x.args[1].op == "exp":
            return logaddexp(x.args[0].args[0], x.args[1].args[0])
        if x.op == "sum" and x.args[0].op == "exp" and not max_shifted(x.args[0].args[0]):
            axes, keep = x.extra
            return logsumexp(x.args[0].args[0], axes, keep)
        if x.op == "div" and x.args[0].op == "exp":
            return sub(x.args[0].args[0], unary("log", x.args[1]))
        if x.op == "neg" and x.args[0].op == "expm1":
            return unary("log1mexp", x.args[0].args[0])
    if name == "log1p":
        if x.op == "neg" and x.args[0].op == "exp":
            return unary("log1mexp", x.args[0].args[0])
        if x.op == "expm1":
            return x.args[0]
        if x.op == "exp":
            return unary("softplus", x.args[0])
        if x.op == "neg" and x.args[0].op == "sigmoid":
            return neg(unary("softplus", x.args[0].args[0]))
    if name == "sqrt" and x.op == "mul" and x.args[0] is x.args[1]:
        return absv(x.args[0])
    return None


def neg(x):
    if x.weak:
        return lit_fold(-x.v, x.dt)
    if x.op == "neg":
        return x.args[0]
    return _mk(-x.v, x.m, x.dt, "neg", (x,), [lambda ct: neg(ct)])


def absv(x):
    x = strong(x)
    if x.is_float():
        small = (x.v != 0) & (np.abs(x.v) <= TOL * x.m)
        if np.any(small):
            fragile("abs near 0")
    sign = np.sign(x.v) if x.is_float() else None
    return _mk(np.abs(x.v), x.m, x.dt, "abs", (x,), [lambda ct: mul(ct, const(sign, "f64"))])


def stop_gradient(x):
    return V(x.v, x.m, x.dt, "stop_gradient", (x,))


# Each unary builder: the rewrites first, then the op; the derivative may use the result
def _fix_unary():
    def make(name):
        f, d, dabs, ulps = UNARY[name]

        def build(x):
            x = strong(x)
            if not x.is_float():
                raise TypeError("%s of %s" % (name, x.dt))
            r = _rewrite_unary(name, x)
            if r is not None:
                return r
            v = f(x.v)
            holder = []
            out = _mk(v, ulps * np.abs(v) + dabs(x.v, v) * x.m, x.dt, name, (x,),
                      [lambda ct: mul(ct, d(x, holder[0]))])
            holder.append(out)
            return out
        return build
    return {n: make(n) for n in UNARY}


_UNARY_BUILD = _fix_unary()


def unary(name, x):
    return _UNARY_BUILD[name](x)


# ---- elementwise binary ---------------------------------------------------------

def _near(a, b):
    """Elementwise: a and b differ but by less than the tolerance."""
    d = np.abs(a.v.astype(np.float64) - b.v.astype(np.float64))
    return (d != 0) & (d <= 10 * TOL * (a.m + b.m))


def add(a, b):
    a, b, dt = unify(a, b)
    if dt == "float" or dt == "int":
        return lit_fold(a.v + b.v, dt)
    if dt in INTS:
        return V(a.v + b.v, None, dt, "add", (a, b))
    if is_const(a, 1) and b.op == "erf":
        return unary("erfc", neg(b.args[0]))
    if is_const(b, 1) and a.op == "erf":
        return unary("erfc", neg(a.args[0]))
    v = a.v + b.v
    return _mk(v, np.abs(v) + a.m + b.m, dt, "add", (a, b), [lambda ct: ct, lambda ct: ct])


def sub(a, b):
    a, b, dt = unify(a, b)
    if dt == "float" or dt == "int":
        return lit_fold(a.v - b.v, dt)
    if dt in INTS:
        return V(a.v - b.v, None, dt, "sub", (a, b))
    if a.op == "exp" and is_const(b, 1):
        return unary("expm1", a.args[0])
    if is_const(a, 1) and b.op == "sigmoid":
        return unary("sigmoid", neg(b.args[0]))
    if is_const(a, 1) and b.op == "erf":
        return unary("erfc", b.args[0])
    v = a.v - b.v
    return _mk(v, np.abs(v) + a.m + b.m, dt, "sub", (a, b), [lambda ct: ct, lambda ct: neg(ct)])


def mul(a, b):
    a, b, dt = unify(a, b)
    if dt == "float" or dt == "int":
        return lit_fold(a.v * b.v, dt)
    if dt in INTS:
        return V(a.v * b.v, None, dt, "mul", (a, b))
    v = a.v * b.v
    return _mk(v, np.abs(v) + a.m * np.abs(b.v) + np.abs(a.v) * b.m, dt, "mul", (a, b),
               [lambda ct: mul(ct, b), lambda ct: mul(ct, a)])


def div(a, b):
    a, b, dt = unify(a, b)
    if dt == "float" or dt == "int":
        return lit_fold(np.float64(a.v) / np.float64(b.v), "float")
    if dt not in FLOATS:
        raise TypeError("division of %s" % dt)
    # exp(x) / (1 + exp(x)) -> sigmoid(x);  c / (1 + exp(x)) -> c * sigmoid(-x)
    e = b.args[1] if b.op == "add" and is_const(b.args[0], 1) else \
        b.args[0] if b.op == "add" and is_const(b.args[1], 1) else None
    if e is not None and e.op == "exp":
        if a is e:
            return unary("sigmoid", e.args[0])
        if a.op == "const":
            s = unary("sigmoid", neg(e.args[0]))
            return s if is_const(a, 1) else mul(a, s)
    # exp(x) / sum(exp(x), keepdims) -> the same shifted by the max (softmax)
    if a.op == "exp" and b.op == "sum" and b.args[0] is a and b.extra[1] and not max_shifted(a.args[0]):
        return softmax_axes(a.args[0], b.extra[0])
    v = a.v / b.v
    return _mk(v, np.abs(v) + a.m / np.abs(b.v) + np.abs(v) * b.m / np.abs(b.v), dt, "div", (a, b),
               [lambda ct: div(ct, b), lambda ct: neg(div(mul(ct, a), mul(b, b)))])


def power(a, b):
    a, b, dt = unify(a, b)
    if dt == "float" or dt == "int":
        return lit_fold(np.float64(a.v) ** np.float64(b.v), "float")
    if dt not in FLOATS:
        raise TypeError("** of %s" % dt)
    if b.op == "const" and b.v.size and np.all(b.v == b.v.flat[0]) and b.v.flat[0] in (-1, 2, 3, 4):
        k = b.v.flat[0]
        if k == -1:
            return div(lit(1.0), a)
        sq = mul(a, a)
        return sq if k == 2 else mul(sq, a) if k == 3 else mul(sq, sq)
    v = np.power(a.v, b.v)
    la = np.where(a.v > 0, np.log(np.abs(a.v)), 0.0)
    holder = []

    def d_exponent(ct):
        # a**b * log(a), taken as 0 where a <= 0 (the reference manual's sub-gradient)
        positive = V(a.v > 0, None, "bool", "gt", (a,))
        safe = where(positive, a, lit(1.0))
        return mul(ct, mul(holder[0], unary("log", safe)))

    out = _mk(v, 4 * np.abs(v) + np.abs(b.v * np.power(a.v, b.v - 1)) * a.m + np.abs(v * la) * b.m, dt, "pow",
              (a, b), [lambda ct: mul(ct, mul(b, power(a, sub(b, lit(1.0))))), d_exponent])
    holder.append(out)
    return out


def lit_fold(v, kind):
    if kind == "int":
        return V(np.int64(v), None, "int", "const", weak=True)
    return V(np.float64(v), None, "float", "const", weak=True)


def maxmin(a, b, is_max, smooth=False):
    """Elementwise max/min; a tie gives each operand half the cotangent."""
    a, b, dt = unify(a, b)
    if dt in ("float", "int"):
        return lit_fold(max(a.v, b.v) if is_max else min(a.v, b.v), dt)
    v = np.maximum(a.v, b.v) if is_max else np.minimum(a.v, b.v)
    if dt not in FLOATS:
        return V(v, None, dt, "max" if is_max else "min", (a, b))
    if not smooth and np.any(_near(a, b)):
        fragile("max/min near tie")
    av, bv = np.broadcast_arrays(a.v, b.v)
    wa = np.where(av == bv, 0.5, np.where((av > bv) == is_max, 1.0, 0.0))
    am, bm = np.broadcast_arrays(a.m, b.m)
    m = np.where(wa == 1.0, am, np.where(wa == 0.0, bm, np.maximum(am, bm)))
    return _mk(v, m, dt, "max" if is_max else "min", (a, b),
               [lambda ct: mul(ct, const(wa, "f64")), lambda ct: mul(ct, const(1 - wa, "f64"))])


CMP = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def compare(op, a, b):
    a, b, dt = unify(a, b)
    a, b = strong(a), strong(b)
    if dt in FLOATS and np.any(_near(a, b)):
        fragile("comparison near tie")
    return V(CMP[op](a.v, b.v), None, "bool", op, (a, b))


def logic(op, a, b):
    if a.dt != "bool" or b.dt != "bool":
        raise TypeError("%s of %s, %s" % (op, a.dt, b.dt))
    return V(np.logical_and(a.v, b.v) if op == "and" else np.logical_or(a.v, b.v), None, "bool", op, (a, b))


def lnot(a):
    if a.dt != "bool":
        raise TypeError("not of " + a.dt)
    return V(np.logical_not(a.v), None, "bool", "not", (a,))


def where(c, a, b):
    if c.dt != "bool":
        raise TypeError("where condition " + c.dt)
    a, b, dt = unify(a, b)
    a, b = strong(a), strong(b)
    dt = a.dt
    cv = c.v
    v = np.where(cv, a.v, b.v)
    if dt not in FLOATS:
        return V(v, None, dt, "select", (c, a, b))
    m = np.where(cv, a.m, b.m)
    z = np.zeros(v.shape)
    return _mk(v, m, dt, "select", (c, a, b),
               [None, lambda ct: where(c, ct, const(z, "f64")), lambda ct: where(c, const(z, "f64"), ct)])


def cast(x, dt):
    x = settle(x, dt) if x.weak and not (x.dt == "float" and dt not in FLOATS) else strong(x)
    if x.dt == dt:
        return x
    if dt in FLOATS:
        if x.dt in FLOATS:
            return _mk(x.v.copy(), x.m, dt, "cast", (x,), [lambda ct: ct])
        return V(x.v.astype(np.float64), None, dt, "cast", (x,))
    if dt == "bool":
        if x.dt in FLOATS and np.any((x.v != 0) & (np.abs(x.v) <= 10 * TOL * x.m)):
            fragile("bool() near 0")
        return V(x.v != 0, None, "bool", "cast", (x,))
    info = np.iinfo(NP[dt])
    if x.dt in FLOATS:
        t = np.trunc(x.v)
        frac = np.abs(x.v - np.round(x.v))
        if np.any((np.abs(x.v) >= 0.5) & (frac <= 10 * TOL * x.m + 1e-300) & (x.m > 0)):
            fragile("cast near an integer")
        t = np.where(np.isnan(t), 0, np.clip(t, info.min, info.max))
        return V(t.astype(NP[dt]), None, dt, "cast", (x,))
    return V(x.v.astype(NP[dt]), None, dt, "cast", (x,))


# ---- reductions ------------------------------------------------------------------

def _axes(x, axis):
    if axis is None:
        return tuple(range(x.v.ndim))
    return ((axis + x.v.ndim if axis < 0 else axis),) if isinstance(axis, int) else tuple(axis)


def reduce_op(kind, x, axes, keep):
    """sum / max / min / prod over axes (a tuple); returns a V whose .extra is (axes, keep)."""
    x = strong(x)
    n = int(np.prod([x.v.shape[a] for a in axes])) if axes else 1
    if kind == "sum":
        v = np.sum(x.v, axis=axes, keepdims=keep, dtype=NP[x.dt] if x.dt not in FLOATS else np.float64)
        if x.dt not in FLOATS:
            out = V(v, None, x.dt, "sum", (x,))
        else:
            m = np.sum(x.m, axis=axes, keepdims=keep) + (n + 1) * np.sum(np.abs(x.v), axis=axes, keepdims=keep)
            out = _mk(v, m, x.dt, "sum", (x,), [lambda ct: bcast_to(_keep(ct, axes, keep, x), x.shape)])
    elif kind == "prod":
        out = _prod(x, axes, keep, n)
    else:
        f = np.max if kind == "max" else np.min
        v = f(x.v, axis=axes, keepdims=keep, initial=None) if n else np.full(
            _red_shape(x.shape, axes, keep), -np.inf if kind == "max" else np.inf)
        if x.dt not in FLOATS:
            out = V(v, None, x.dt, "reduce_" + kind, (x,))
        else:
            vk = f(x.v, axis=axes, keepdims=True)
            hit = x.v == vk
            near = (~hit) & (np.abs(x.v - vk) <= 10 * TOL * (x.m + np.max(x.m, axis=axes, keepdims=True)))
            if np.any(near) and not getattr(Ctx, "smooth", False):
                fragile("reduce max/min near tie")
            share = hit / np.sum(hit, axis=axes, keepdims=True)
            m = np.max(x.m, axis=axes, keepdims=keep)
            out = _mk(v, m, x.dt, "reduce_" + kind, (x,),
                      [lambda ct: mul(bcast_to(_keep(ct, axes, keep, x), x.shape), const(share, "f64"))])
    out.extra = (axes, keep)
    return out


def _red_shape(shape, axes, keep):
    return tuple(1 if i in axes else d for i, d in enumerate(shape) if keep or i not in axes)


def _prod(x, axes, keep, n):
    """The product over axes.  The derivative of each factor is the product
    of the others, prod / x in V arithmetic so that it differentiates again
    (the generator keeps every factor in [0.75, 1.25]); the error bound uses
    the exact products of the others (exclusive cumulative products)."""
    v = np.prod(x.v, axis=axes, keepdims=keep)
    if x.dt not in FLOATS:
        return V(v, None, x.dt, "prod", (x,))
    moved = np.moveaxis(x.v, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape(moved.shape[:moved.ndim - len(axes)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,))
    left = np.concatenate([ones, np.cumprod(flat, axis=-1)[..., :-1]], axis=-1)
    right = np.concatenate([np.cumprod(flat[..., ::-1], axis=-1)[..., -2::-1], ones], axis=-1)
    others = np.moveaxis((left * right).reshape(moved.shape), tuple(range(-len(axes), 0)), axes) if n else x.v
    m = np.sum(x.m * np.abs(others), axis=axes, keepdims=keep) + (n + 1) * np.abs(v)

    def back(ct):
        whole = bcast_to(_keep(out, axes, keep, x), x.shape)
        return mul(bcast_to(_keep(ct, axes, keep, x), x.shape), div(whole, x))
    out = _mk(v, m, x.dt, "prod", (x,), [back])
    return out


def _keep(ct, axes, keep, x):
    """ct of a reduction, reshaped so it broadcasts against x."""
    if keep:
        return ct
    return reshape(ct, tuple(1 if i in axes else d for i, d in enumerate(x.shape)))


def reshape(x, shape):
    out = V(x.v.reshape(shape), x.m.reshape(shape), x.dt, "reshape", (x,))
    if x.is_float():
        out.parents = [(x, lambda c: reshape(c, x.shape))]
    return out


def mean(x, axes, keep):
    x = strong(x)
    if x.dt not in FLOATS:
        raise TypeError("mean of " + x.dt)
    n = int(np.prod([x.v.shape[a] for a in axes])) if axes else 1
    return div(reduce_op("sum", x, axes, keep), lit(float(n)))


def _smooth_max(x, axes):
    Ctx.smooth = True
    try:
        return stop_gradient(reduce_op("max", x, axes, True))
    finally:
        Ctx.smooth = False


def logsumexp(x, axes, keep):
    x = strong(x)
    mk = _smooth_max(x, axes)
    s = reduce_op("sum", unary("exp", sub(x, mk)), axes, keep)
    m = mk if keep else reshape(mk, s.shape)
    return add(m, unary("log", s))


def logaddexp(x, y):
    m, lo = maxmin(x, y, True, smooth=True), maxmin(x, y, False, smooth=True)
    return add(m, unary("log1p", unary("exp", sub(lo, m))))


def softmax_axes(x, axes):
    e = unary("exp", sub(x, _smooth_max(x, axes)))
    s = reduce_op("sum", e, axes, True)
    v = e.v / s.v
    return _mk(v, np.abs(v) + e.m / np.abs(s.v) + np.abs(v) * s.m / np.abs(s.v), e.dt, "div", (e, s),
               [lambda ct: div(ct, s), lambda ct: neg(div(mul(ct, e), mul(s, s)))])


def log_softmax(x, axes):
    return sub(x, logsumexp(x, axes, True))


# ---- layout and contraction ---------------------------------------------------------

def transpose(x):
    x = strong(x)
    out = V(x.v.T.copy(), x.m.T, x.dt, "transpose", (x,))
    if x.is_float():
        out.parents = [(x, lambda ct: transpose(ct))]
    return out


def permute(x, axes):
    """NumPy's transpose(x, axes); the cotangent goes back by the inverse permutation."""
    x = strong(x)
    out = V(np.transpose(x.v, axes).copy(), np.transpose(x.m, axes), x.dt, "transpose", (x,))
    if x.is_float():
        inv = tuple(int(i) for i in np.argsort(axes))
        out.parents = [(x, lambda ct: permute(ct, inv))]
    return out


def matmul(a, b):
    a, b, dt = unify(a, b)
    a, b = strong(a), strong(b)
    v = np.matmul(a.v, b.v)
    if dt not in FLOATS:
        return V(v, None, dt, "matmul", (a, b))
    k = a.v.shape[-1]
    m = np.matmul(a.m, np.abs(b.v)) + np.matmul(np.abs(a.v), b.m) + (k + 1) * np.matmul(np.abs(a.v), np.abs(b.v))
    return _mk(v, m, dt, "matmul", (a, b), [lambda ct: _mm_ct(ct, b, a, 0), lambda ct: _mm_ct(ct, a, b, 1)])


def _outer(u, w):
    """u[i] w[j] as a [I, J] matrix, with derivatives."""
    return mul(reshape(u, (u.shape[0], 1)), reshape(w, (1, w.shape[0])))


def swap_last(x):
    """The per-matrix transpose (last two axes swapped) of a batch."""
    out = V(np.swapaxes(x.v, -1, -2).copy(), np.swapaxes(x.m, -1, -2).copy(), x.dt, "swap_last", (x,))
    if x.is_float():
        out.parents = [(x, lambda ct: swap_last(ct))]
    return out


def _bmm_ct(ct, other, me, side):
    """The cotangent of a batched product's operand: vectors made matrices,
    the product with the other operand per batch, summed over broadcast
    batch dims, and the inserted axis dropped."""
    a, b = (me, other) if side == 0 else (other, me)
    a2 = reshape(a, (1,) + a.shape) if a.v.ndim == 1 else a
    b2 = reshape(b, b.shape + (1,)) if b.v.ndim == 1 else b
    cshape = np.matmul(a2.v, b2.v).shape
    ct2 = reshape(ct, cshape)
    if side == 0:
        g = unbroadcast(matmul(ct2, swap_last(b2)), a2.shape)
    else:
        g = unbroadcast(matmul(swap_last(a2), ct2), b2.shape)
    return reshape(g, me.shape)


def cumsum(x, axis, rev=False):
    """The running sum along axis (from the end if rev), in index order."""
    x = strong(x)
    ax = axis % x.v.ndim
    fl = (lambda a: np.flip(a, ax)) if rev else (lambda a: a)
    v = fl(np.cumsum(fl(x.v), axis=ax))
    if not x.is_float():
        return V(v, None, x.dt, "cumsum", (x,))
    count = fl(np.cumsum(np.ones_like(x.v), axis=ax))
    m = fl(np.cumsum(fl(x.m), axis=ax)) + (count + 1) * fl(np.cumsum(fl(np.abs(x.v)), axis=ax))
    return _mk(v, m, x.dt, "cumsum", (x,), [lambda ct: cumsum(ct, ax, not rev)])


def _mm_ct(ct, other, me, side):
    """The cotangent of operand `side` (0: a, 1: b) of a @ b."""
    ra, rb = (me.v.ndim, other.v.ndim) if side == 0 else (other.v.ndim, me.v.ndim)
    if ra > 2 or rb > 2:
        return _bmm_ct(ct, other, me, side)
    if side == 0:  # d a
        if ra == 2 and rb == 2:
            return matmul(ct, transpose(other))
        if ra == 2 and rb == 1:
            return _outer(ct, other)
        if ra == 1 and rb == 2:
            return matmul(other, ct)
        return mul(ct, other)
    if ra == 2 and rb == 2:
        return matmul(transpose(other), ct)
    if ra == 2 and rb == 1:
        return matmul(ct, other)
    if ra == 1 and rb == 2:
        return _outer(other, ct)
    return mul(ct, other)


# ---- reverse mode ------------------------------------------------------------------

def backprop(outs, cts, stops):
    """Cotangents of `stops` given cotangents of `outs`; the walk stops at
    `stops` (the arguments of the differentiated call)."""
    stop_ids = {id(s) for s in stops}
    order, seen = [], set()
    for o in outs:
        stack = [(o, False)]
        while stack:
            n, done = stack.pop()
            if done:
                order.append(n)
                continue
            if id(n) in seen:
                continue
            seen.add(id(n))
            stack.append((n, True))
            if id(n) not in stop_ids:
                for p, _ in n.parents:
                    if id(p) not in seen:
                        stack.append((p, False))
    grads = {}
    for o, c in zip(outs, cts):
        grads[id(o)] = add(grads[id(o)], c) if id(o) in grads else c
    for n in reversed(order):
        g = grads.get(id(n))
        if g is None or id(n) in stop_ids:
            continue
        for p, back in n.parents:
            c = back(g)
            grads[id(p)] = add(grads[id(p)], c) if id(p) in grads else c
    return [grads.get(id(s), const(np.zeros(s.shape), s.dt)) for s in stops]


def identity(x):
    """A fresh node for an argument of a differentiated call (the walk stops there)."""
    out = V(x.v, x.m, x.dt, "arg", (x,))
    if x.is_float() and not x.weak:
        out.parents = [(x, lambda ct: ct)]
    return out


def barrier(x):
    """The same value behind a node no rewrite looks through: a loop's state
    at an iteration's start and its value after the loop."""
    out = V(x.v, x.m, x.dt, "loop_state", (x,))
    if x.is_float() and not x.weak:
        out.parents = [(x, lambda ct: ct)]
    return out


def stack(vals, dt, shape):
    """Values of one type stacked along a new leading axis (a scan's emitted
    values); row k's cotangent is row k of the stack's (a gather, recorded)."""
    if not vals:
        return V(np.zeros((0,) + tuple(shape)), None, dt, "stack")
    out = V(np.stack([v.v for v in vals]), np.stack([v.m for v in vals]), dt, "stack", tuple(vals))
    rows = tuple(np.indices(shape)) if shape else ()
    for k, v in enumerate(vals):
        if v.is_float() and not v.weak and v.op != "const":
            idx = (np.full(shape, k, np.int64),) + rows
            out.parents.append((v, (lambda idx: lambda ct: gather(ct, idx))(idx)))
    return out


# ---- index notation, slices, gathers (issue 9) ----------------------------------

def gather(x, idx):
    """x[idx[0], idx[1], ...] with NumPy advanced indexing: idx holds one
    integer array per axis of x, broadcast together (in range: the generator
    keeps them so).  The cotangent scatters back, adding at repeated indices."""
    x = strong(x)
    idx = tuple(np.asarray(i, np.int64) for i in idx)
    out = V(x.v[idx].copy(), x.m[idx], x.dt, "gather", (x,))
    if x.is_float():
        shape = x.shape
        out.parents = [(x, lambda ct: scatter(ct, idx, shape))]
    return out


def scatter(ct, idx, shape):
    """zeros(shape) with ct added at idx (np.add.at, in index order); its
    cotangent is the gather at idx."""
    ct = strong(ct)
    full = np.broadcast(*idx).shape if idx else ()
    cv, cm = np.broadcast_to(ct.v, full), np.broadcast_to(ct.m, full)
    v, m, a, n = (np.zeros(shape) for _ in range(4))
    np.add.at(v, idx, cv)
    np.add.at(m, idx, cm)
    np.add.at(a, idx, np.abs(cv))
    np.add.at(n, idx, np.ones(full))
    out = V(v, m + (n + 1) * a, ct.dt, "scatter", (ct,))
    out.parents = [(ct, lambda c: unbroadcast(gather(c, idx), ct.shape))]
    return out


def index_var(extent, axis, rank):
    """Index variable number `axis` of a rank-`rank` index space: 0..extent-1
    along its own axis (an i64 constant, no derivative)."""
    shape = [1] * rank
    shape[axis] = extent
    return const(np.arange(extent, dtype=np.int64).reshape(shape), "i64")
