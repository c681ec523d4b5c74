/* gamma_ref.h — reference digamma and trigamma for the tests (test_vecmath
 * in __float128 and long double, tests/e2e/refs.c in long double), written
 * independently of codegen/vecmath_gamma.c: the plain recurrence up to
 * y >= Y0 (60 for __float128, 20 for long double; vecmath shifts to 8), the
 * asymptotic series with Bernoulli numbers
 * as exact fractions, and libm's sin/tan of pi r (r = x - nearest integer,
 * exact in double) in the reflection formulas
 *   psi(x) = psi(1 - x) - pi cot(pi x),  psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x).
 * psi2(x) = psi2(1 - x) - 2 pi^3 cot(pi x) / sin^2(pi x) for tetragamma.
 * Poles: digamma and tetragamma NaN, trigamma +inf (lang/math.md).  lgamma's references
 * are libm's (lgammal, lgammaq).
 * GAMMA_REF(T, S, ...) defines gref_digamma_S, gref_trigamma_S and
 * gref_tetragamma_S in type T. */
#ifndef TEXC_TESTS_GAMMA_REF_H
#define TEXC_TESTS_GAMMA_REF_H

#include <math.h>

/* B_2k as num/den, k = 1..10: the tail term is below 2^-113 at y >= 60 and
 * 2^-80 at y >= 20. */
static const double gref_bnum[10] = {1, -1, 1, -1, 5, -691, 7, -3617, 43867, -174611};
static const double gref_bden[10] = {6, 30, 42, 30, 66, 2730, 6, 510, 798, 330};

#define GAMMA_REF(T, S, LOG, SIN, TAN, PI, Y0)                                                                        \
    static T gref_cotpi_##S(double r) /* cot(pi r), |r| <= 1/2: near 1/2 as -tan(pi (r -+ 1/2)), exact 0 there */ \
    {                                                                                                         \
        if (fabs(r) > 0.25)                                                                                   \
            return -TAN(PI * (T)(r - copysign(0.5, r)));                                                      \
        return 1 / TAN(PI * (T)r);                                                                            \
    }                                                                                                         \
    static T gref_psi_pos_##S(T x) /* x > 0 */                                                                \
    {                                                                                                         \
        T sum = 0;                                                                                            \
        for (; x < Y0; x += 1)                                                                                \
            sum += 1 / x;                                                                                     \
        T z = 1 / (x * x), zk = z, s = LOG(x) - 1 / (2 * x);                                                  \
        for (int k = 1; k <= 10; zk *= z, k++)                                                                \
            s -= (T)gref_bnum[k - 1] / ((T)gref_bden[k - 1] * (2 * k)) * zk;                                   \
        return s - sum;                                                                                       \
    }                                                                                                         \
    static T gref_psi1_pos_##S(T x)                                                                           \
    {                                                                                                         \
        T sum = 0;                                                                                            \
        for (; x < Y0; x += 1)                                                                                \
            sum += 1 / (x * x);                                                                               \
        T z = 1 / (x * x), zk = z / x, s = 1 / x + z / 2;                                                     \
        for (int k = 1; k <= 10; zk *= z, k++)                                                                \
            s += (T)gref_bnum[k - 1] / (T)gref_bden[k - 1] * zk;                                              \
        return s + sum;                                                                                       \
    }                                                                                                         \
    static T gref_psi2_pos_##S(T x)                                                                           \
    {                                                                                                         \
        T sum = 0;                                                                                            \
        for (; x < Y0; x += 1)                                                                                \
            sum -= 2 / (x * x * x);                                                                           \
        T z = 1 / (x * x), zk = z * z, s = -z - z / x;                                                        \
        for (int k = 1; k <= 10; zk *= z, k++)                                                                \
            s -= (T)(2 * k + 1) * (T)gref_bnum[k - 1] / (T)gref_bden[k - 1] * zk;                             \
        return s + sum;                                                                                       \
    }                                                                                                         \
    static T gref_tetragamma_##S(double x)                                                                    \
    {                                                                                                         \
        if (isnan(x) || x == -INFINITY || (x <= 0 && x == floor(x)))                                          \
            return NAN;                                                                                       \
        if (x == INFINITY)                                                                                    \
            return -0.0;                                                                                      \
        if (x > 0)                                                                                            \
            return gref_psi2_pos_##S((T)x);                                                                   \
        double r = x - nearbyint(x);                                                                          \
        T sn = SIN(PI * (T)r);                                                                                \
        return gref_psi2_pos_##S(1 - (T)x) - 2 * PI * PI * PI * gref_cotpi_##S(r) / (sn * sn);                \
    }                                                                                                         \
    static T gref_digamma_##S(double x)                                                                       \
    {                                                                                                         \
        if (isnan(x) || x == -INFINITY || (x <= 0 && x == floor(x)))                                          \
            return NAN;                                                                                       \
        if (x == INFINITY)                                                                                    \
            return INFINITY;                                                                                  \
        if (x > 0)                                                                                            \
            return gref_psi_pos_##S((T)x);                                                                    \
        double r = x - nearbyint(x); /* exact */                                                              \
        return gref_psi_pos_##S(1 - (T)x) - PI * gref_cotpi_##S(r);                                           \
    }                                                                                                         \
    static T gref_trigamma_##S(double x)                                                                      \
    {                                                                                                         \
        if (isnan(x) || x == -INFINITY)                                                                       \
            return NAN;                                                                                       \
        if (x == INFINITY)                                                                                    \
            return 0;                                                                                         \
        if (x <= 0 && x == floor(x))                                                                          \
            return INFINITY;                                                                                  \
        if (x > 0)                                                                                            \
            return gref_psi1_pos_##S((T)x);                                                                   \
        double r = x - nearbyint(x);                                                                          \
        T sn = SIN(PI * (T)r);                                                                                \
        return PI * PI / (sn * sn) - gref_psi1_pos_##S(1 - (T)x);                                             \
    }

GAMMA_REF(long double, ld, logl, sinl, tanl, 3.141592653589793238462643383279502884L, 20)
#ifdef GAMMA_REF_QUAD
#include <quadmath.h>
GAMMA_REF(__float128, q, logq, sinq, tanq, M_PIq, 60)
#endif

#endif
