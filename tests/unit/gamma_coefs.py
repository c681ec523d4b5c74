#!/usr/bin/env python3
"""Coefficients of codegen/vecmath_gamma.c, from mpmath at 60 digits.

Offline only (the build does not run it): python3 -m venv build/venv &&
build/venv/bin/pip install mpmath && build/venv/bin/python tests/unit/gamma_coefs.py
Prints C arrays: a value that needs more than a double is a pair hi, lo."""
import mpmath as mp

mp.mp.dps = 60


def hx(v):
    return float(v).hex()


def dw(v):
    hi = float(v)
    return hi, float(v - mp.mpf(hi))


def arr(name, vals, ndw):
    his, los = [], []
    for i, v in enumerate(vals):
        hi, lo = dw(v)
        his.append(hx(hi))
        los.append(hx(lo if i < ndw else 0.0))
    print("static const double %s_hi[%d] = {%s};" % (name, len(vals), ", ".join(his)))
    print("static const double %s_lo[%d] = {%s};" % (name, ndw, ", ".join(los[:ndw])))


def count(coef, t, rel):
    """Terms until |c_k| t^k falls below rel * |c_0| (and stays)."""
    k = 0
    while any(abs(coef(j)) * t ** j > rel * abs(coef(0)) for j in range(k, k + 4)):
        k += 1
    return k


REL = mp.mpf(2) ** -64
# lgamma(1 + t) / t and lgamma(2 + t) / t, |t| <= 1/4
c1 = lambda k: -mp.euler if k == 0 else (-1) ** (k + 1) * mp.zeta(k + 1) / (k + 1)
c2 = lambda k: 1 - mp.euler if k == 0 else (-1) ** (k + 1) * (mp.zeta(k + 1) - 1) / (k + 1)
arr("lg1", [c1(k) for k in range(count(c1, 0.25, REL))], 4)
arr("lg2", [c2(k) for k in range(count(c2, 0.25, REL))], 4)
# digamma(x0 + t) / t, x0 its positive root, |t| <= 1/4
x0 = mp.findroot(mp.digamma, 1.46)
print("/* x0 = %s */" % mp.nstr(x0, 30))
print("static const double psi_x0[2] = {%s, %s};" % tuple(map(hx, dw(x0))))
cd = lambda k: mp.polygamma(k + 1, x0) / mp.factorial(k + 1)
arr("psi0", [cd(k) for k in range(count(cd, 0.25, REL))], 4)
# sin(pi r) / r and cos(pi r), |r| <= 1/4 (Taylor)
sk = lambda k: (-1) ** k * mp.pi ** (2 * k + 1) / mp.factorial(2 * k + 1)
ck = lambda k: (-1) ** k * mp.pi ** (2 * k) / mp.factorial(2 * k)
arr("sinpi", [sk(k) for k in range(count(sk, 1 / 16.0, REL))], 3)
arr("cospi", [ck(k) for k in range(count(ck, 1 / 16.0, REL))], 3)
# asymptotic series at y >= 8 in z = 1/y^2 (B_2k: Bernoulli numbers)
B = lambda k: mp.bernoulli(2 * k)
Y0 = 8
# term k of each is f(k) / y^(2k + p); enough terms that the first omitted one
# is below 2^-e of the function's value at y = 8 (2^-68 where the shift
# cancels, 2^-64 for the sums of positive terms: the series cannot do better
# there at y = 8)
for name, p, e, val, f in (("stirling", 1, 68, mp.loggamma(Y0), lambda k: B(k + 1) / ((2 * k + 2) * (2 * k + 1))),
                        ("psi_asym", 2, 68, mp.digamma(Y0), lambda k: B(k + 1) / (2 * k + 2)),
                        ("psi1_asym", 3, 64, mp.polygamma(1, Y0), lambda k: B(k + 1))):
    n = next(k for k in range(60) if abs(f(k)) / mp.mpf(Y0) ** (2 * k + p) < mp.mpf(2) ** -e * abs(val))
    print("static const double %s[%d] = {%s};" % (name, n, ", ".join(hx(f(k)) for k in range(n))))
# tetragamma: the shift goes one step further (y >= 9), where the series
# reaches 2^-64 (at 8 it stops near 2^-62)
f = lambda k: (2 * k + 3) * B(k + 1)
n = next(k for k in range(60) if abs(f(k)) / mp.mpf(9) ** (2 * k + 4) < mp.mpf(2) ** -64 * abs(mp.polygamma(2, 9)))
print("static const double psi2_asym[%d] = {%s};" % (n, ", ".join(hx(f(k)) for k in range(n))))
for name, v in (("half_log_2pi", mp.log(2 * mp.pi) / 2), ("log_pi", mp.log(mp.pi)), ("pi", mp.pi),
                ("pi2", mp.pi ** 2), ("two_pi3", 2 * mp.pi ** 3), ("euler", mp.euler)):
    print("static const double %s[2] = {%s, %s};" % ((name,) + tuple(map(hx, dw(v)))))
# lgamma next to its zeros in (-16, -2), where the reflection formula cancels
# (glibc's lgamma_neg.c has the same idea; below -16 no double is affected):
# for each zero z, lgamma(z + t) = t (c0 + c1 t + ...), c_k = psi^(k)(z)/(k+1)!,
# used for |t| <= w, w where |lgamma| reaches 2^-11 (2 + |z|) log2(2 + |z|)
# (the reflection's absolute error is below 2^-66 of that: lang/math.md).
# Zeros in pairs per interval (-n-1, -n), n = 2..15, left zero first.
def lgamma_zeros():
    f = lambda x: mp.log(abs(mp.gamma(x)))
    out = []
    for n in range(2, 16):
        a, b = mp.mpf(-n - 1), mp.mpf(-n)
        m = mp.findroot(mp.digamma, a + 0.5)  # |Gamma| is smallest there
        for lo, hi in ((a, m), (m, b)):
            l, h = lo + mp.mpf(2) ** -200, hi - mp.mpf(2) ** -200
            l, h = (l, h) if f(l) > 0 else (h, l)
            for _ in range(300):  # bisection to 2^-300
                c = (l + h) / 2
                l, h = (c, h) if f(c) > 0 else (l, c)
            out.append((l + h) / 2)
    return out


mp.mp.dps = 90
zs = lgamma_zeros()
NT = 13
cz = [[mp.polygamma(k, z) / mp.factorial(k + 1) for k in range(NT + 4)] for z in zs]
ws = [mp.mpf(2) ** -11 * (2 + abs(z)) * mp.log(2 + abs(z), 2) / abs(mp.digamma(z)) for z in zs]
for c, w in zip(cz, ws):  # the omitted terms are below 2^-64 of c0 on the whole window
    assert all(abs(c[k]) * w ** k < mp.mpf(2) ** -64 * abs(c[0]) for k in range(NT, NT + 4))
print("enum { LGNEG_ZEROS = %d, LGNEG_TERMS = %d };" % (len(zs), NT))
print("static const double lgneg_x0_hi[%d] = {%s};" % (len(zs), ", ".join(hx(dw(z)[0]) for z in zs)))
print("static const double lgneg_x0_lo[%d] = {%s};" % (len(zs), ", ".join(hx(dw(z)[1]) for z in zs)))
# a third word: x - z must be accurate where x is the double nearest z
print("static const double lgneg_x0_lo2[%d] = {%s};" % (len(zs), ", ".join(hx(z - sum(map(mp.mpf, dw(z)))) for z in zs)))
print("static const double lgneg_w[%d] = {%s};" % (len(zs), ", ".join(hx(w) for w in ws)))
print("/* coefficient k of zero i at [k * LGNEG_ZEROS + i]; the first 4 double-word */")
print("static const double lgneg_c_hi[%d] = {%s};" % (NT * len(zs), ", ".join(hx(dw(c[k])[0]) for k in range(NT) for c in cz)))
print("static const double lgneg_c_lo[%d] = {%s};" % (4 * len(zs), ", ".join(hx(dw(c[k])[1]) for k in range(4) for c in cz)))
