"""What the singular-point guard costs (issue 3: no NaN where a finite answer exists).

Every rule multiplies a (co)tangent by a derivative with ``scale(g, d)``, which
takes 0 × ∞ = 0. Its common path is ``g * d`` plus one finiteness check
(Σ|g d|² through a dot product); only a non-finite product pays for the
masking. This script times ``scale`` against the plain product, and the
forward+backward pass of a chain of guarded elementwise functions against the
same pass written by hand in NumPy.

    python benchmarks/zero_safe.py
"""
import timeit

import numpy as np

from riesz.rules.define import scale
import riesz

N_OPS = 200


def median_time(fn, number, repeat=15):
    return float(np.median(timeit.repeat(fn, number=number, repeat=repeat))) / number


def chain(x):
    # 200 guarded elementwise functions: sqrt, log1p, exp, reciprocal-like division (×50)
    for _ in range(N_OPS // 4):
        x = np.sqrt(x)
        x = np.log1p(x)
        x = np.exp(x)
        x = 1.0 / x + 1.0
    return np.sum(x)


def by_hand(x):
    saved = []
    for _ in range(N_OPS // 4):
        y = np.sqrt(x); saved.append(("sqrt", y)); x = y
        saved.append(("log1p", x)); x = np.log1p(x)
        y = np.exp(x); saved.append(("exp", y)); x = y
        saved.append(("inv", x)); x = 1.0 / x + 1.0
    g = np.ones_like(x)
    for kind, v in reversed(saved):
        if kind == "sqrt":
            g = g * (0.5 / v)
        elif kind == "log1p":
            g = g / (1.0 + v)
        elif kind == "exp":
            g = g * v
        else:
            g = g * (-1.0 / (v * v))
    return g


def main():
    print("scale(g, d) against g * d (median of 15), µs per call")
    print(f"{'size':>10s} {'g * d':>10s} {'scale':>10s} {'scale, 0·∞':>12s}")
    rng = np.random.default_rng(0)
    for size in (10, 1000, 100_000):
        g, d = rng.standard_normal(size), rng.standard_normal(size)
        singular = d.copy()
        singular[0], g_zero = np.inf, g.copy()
        g_zero[0] = 0.0
        number = max(10, 200_000 // size)
        plain = median_time(lambda: g * d, number)
        guarded = median_time(lambda: scale(g, d), number)
        with np.errstate(invalid="ignore"):
            masked = median_time(lambda: scale(g_zero, singular), number)
        print(f"{size:10d} {plain * 1e6:10.2f} {guarded * 1e6:10.2f} {masked * 1e6:12.2f}")

    x = rng.random(10) + 0.5
    f = riesz.grad(chain)
    assert np.allclose(f(x), by_hand(x))
    hand = median_time(lambda: by_hand(x), 50)
    ours = median_time(lambda: f(x), 20)
    print(f"\nforward+backward of {N_OPS} guarded elementwise ops on a 10-vector, µs/op")
    print(f"hand-written NumPy {hand / N_OPS * 1e6:8.2f}")
    print(f"riesz              {ours / N_OPS * 1e6:8.2f}   ratio {ours / hand:.2f}")


if __name__ == "__main__":
    main()
