"""NumPy's own values under tracing: the functions whose value riesz now takes from NumPy
itself (prod, cumprod, the 2-norm of a whole array, convolve) with their derivatives from
multiplications only. Prints medians of the gradient (forward + backward) and of the value
under vjp, and ratios to hand-written NumPy.

    OPENBLAS_NUM_THREADS=1 python benchmarks/numpy_values.py [n ...]
"""
import statistics
import sys
import timeit

import numpy as np

import riesz


def median_us(fn, number, repeat=7):
    return statistics.median(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def hand_prod_grad(x):
    # ∏_{j≠i} xⱼ = (products before i) (products after i), no division
    before = np.concatenate([[1.0], np.cumprod(x[:-1])])
    after = np.concatenate([np.cumprod(x[::-1][:-1])[::-1], [1.0]])
    return before * after


def hand_cumprod_grad(x):
    # ∇ Σ cumprod(x): x̄ⱼ = Σ_{i≥j} yᵢ / xⱼ (x has no zeros here)
    y = np.cumprod(x)
    return np.cumsum(y[::-1])[::-1] / x


def hand_norm_grad(x):
    return x / np.sqrt(x @ x)


def hand_convolve_grad(x, v):
    # ∇ Σ (x ∗ v) = (Σv) for every entry of x
    return np.full_like(x, v.sum())


def main(sizes):
    rng = np.random.default_rng(0)
    v = rng.standard_normal(9)
    cases = [
        ("prod", np.prod, hand_prod_grad),
        ("cumprod", lambda x: np.sum(np.cumprod(x)), hand_cumprod_grad),
        ("norm", np.linalg.norm, hand_norm_grad),
        ("convolve", lambda x: np.sum(np.convolve(x, v)), lambda x: hand_convolve_grad(x, v)),
    ]
    print(f"{'function':10s} {'n':>8s} {'grad µs':>10s} {'hand µs':>10s} {'ratio':>7s} "
          f"{'value µs':>10s} {'NumPy µs':>10s}")
    for n in sizes:
        x = rng.uniform(0.9, 1.1, n)
        number = max(1, 20000 // n)
        for name, f, hand in cases:
            grad = riesz.grad(f)
            try:
                t_grad = median_us(lambda: grad(x), number)
            except MemoryError:   # riesz before this branch built an n × n matrix for convolve
                print(f"{name:10s} {n:8d} {'out of memory':>10s}")
                continue
            t_hand = median_us(lambda: (f(x), hand(x)), number)
            t_value = median_us(lambda: riesz.vjp(f, x)[0], number)
            t_numpy = median_us(lambda: f(x), number)
            print(f"{name:10s} {n:8d} {t_grad:10.1f} {t_hand:10.1f} {t_grad / t_hand:7.2f} "
                  f"{t_value:10.1f} {t_numpy:10.1f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 100000])
