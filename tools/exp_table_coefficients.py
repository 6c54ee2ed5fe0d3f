#!/usr/bin/env python3
"""Derives the table and polynomial of the table-driven double exp (kernels/detail/exp_body.hpp).

exp(x) = 2^k 2^(j/16) e^r with x = (16k + j) ln2/16 + r, |r| <= ln2/32. The table holds
2^(j/16) rounded to double (hi) and tail = (2^(j/16) - hi) / hi rounded to double, so that
2^(j/16) = hi (1 + tail) to ~2^-106.

e^r - 1 = r + r^2 q(r): q is a degree-DEG near-minimax polynomial on |r| <= A for the
absolute error of r^2 q(r) (e^r is ~1 there, so this is its relative error), found by
Lawson's algorithm (iteratively reweighted least squares converging to the minimax fit) on
Chebyshev nodes in 60-digit arithmetic, then rounded to double; the rounded polynomial's
error is measured on a dense grid. Needs mpmath. Run: python3 tools/exp_table_coefficients.py
"""
import mpmath as mp

mp.mp.dps = 60
BITS = 4
N = 1 << BITS
A = mp.log(2) / (2 * N) * (1 + mp.mpf("1e-6"))  # a little beyond ln2/32: n is rounded from a rounded product


def f64(v):
    return float(v)


def table():
    rows = []
    for j in range(N):
        v = mp.power(2, mp.mpf(j) / N)
        hi = f64(v)
        tail = f64((v - mp.mpf(hi)) / mp.mpf(hi))
        rows.append((j, hi, tail))
    return rows


def fit(deg, nodes=400, iters=60):
    xs = [A * mp.cos(mp.pi * (i + mp.mpf(0.5)) / nodes) for i in range(nodes)]
    target = [(mp.expm1(x) - x) / (x * x) for x in xs]
    w = [mp.mpf(1)] * nodes
    c = None
    for _ in range(iters):
        # Weighted least squares for q, error measured as r^2 (q(r) - target(r)).
        m = mp.matrix(deg + 1, deg + 1)
        b = mp.matrix(deg + 1, 1)
        for x, t, wi in zip(xs, target, w):
            s = wi * x ** 4
            pw = [x ** k for k in range(deg + 1)]
            for a_ in range(deg + 1):
                b[a_] += s * pw[a_] * t
                for b_ in range(deg + 1):
                    m[a_, b_] += s * pw[a_] * pw[b_]
        c = mp.lu_solve(m, b)
        err = [abs(x * x * (sum(c[k] * x ** k for k in range(deg + 1)) - t)) for x, t in zip(xs, target)]
        tot = sum(wi * e for wi, e in zip(w, err))
        w = [wi * e / tot for wi, e in zip(w, err)]
    return [f64(c[k]) for k in range(deg + 1)]


def max_error(cs, grid=20000):
    worst = mp.mpf(0)
    for i in range(grid + 1):
        x = -A + 2 * A * i / grid
        if x == 0:
            continue
        q = mp.mpf(0)
        for ck in reversed(cs):
            q = q * x + mp.mpf(ck)
        worst = max(worst, abs(x + x * x * q - mp.expm1(x)) / mp.exp(x))
    return worst


if __name__ == "__main__":
    for name, v in (("inv_step", N / mp.log(2)), ("step_hi", mp.log(2) / N)):
        print(f"{name} = {f64(v)!r}")
    print(f"step_lo = {f64(mp.log(2) / N - mp.mpf(f64(mp.log(2) / N)))!r}")
    for j, hi, tail in table():
        print(f"j={j:2d} hi={hi!r} tail={tail!r}")
    for deg in (3, 4, 5):
        cs = fit(deg)
        e = max_error(cs)
        print(f"q degree {deg} (e^r degree {deg + 2}): max relative error {mp.nstr(e, 3)}"
              f" = {mp.nstr(e / mp.mpf(2) ** -53, 3)} half-ulp")
        print("  coefficients, r^0 first:", ", ".join(repr(x) for x in cs))
