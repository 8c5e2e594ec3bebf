"""Speed of riesz on the NumPy families of issue 3 that real programs lean on: indexing,
indexed assignment, stacking, einsum, a Cholesky-based likelihood and the real FFT.

Each case times ``riesz.grad`` of plain NumPy code (value and gradient) against the same
gradient written by hand in NumPy, and, for the indexing loops, against HIPS autograd,
PyTorch (eager) and JAX (``jax.jit`` of ``jax.grad``, compiled before timing) when they
are installed. Every path is checked against the hand-written gradient first.

    python benchmarks/indexing_linalg.py [--quick]

Prints medians (milliseconds) and the ratio to hand-written NumPy.
"""
import sys
import timeit

import numpy as np

import riesz

QUICK = "--quick" in sys.argv
N_LOOP = 200 if QUICK else 500


def median_ms(fn, repeat=7 if QUICK else 15):
    fn()
    number = max(1, int(0.05 / max(min(timeit.repeat(fn, number=1, repeat=3)), 1e-7)))
    return 1e3 * float(np.median(timeit.repeat(fn, number=number, repeat=repeat))) / number


# ------------------------------------------------------------ the cases: (numpy code, by hand)

def ring_products(np_, x):
    """Σᵢ xᵢ x₍ᵢ₊₁₎ with a Python loop of scalar indexing (n reads)."""
    n = x.shape[0]
    total = 0.0
    for i in range(n):
        total = total + x[i] * x[(i + 1) % n]
    return total


def ring_products_grad(x):
    return np.roll(x, -1) + np.roll(x, 1)


def recurrence(x):
    """y₀ = x₀, yᵢ = ½ yᵢ₋₁ + xᵢ written with in-place indexed assignment; Σ yᵢ²."""
    y = x * 1.0
    for i in range(1, x.shape[0]):
        y[i] = 0.5 * y[i - 1] + x[i]
    return np.sum(y * y)


def recurrence_grad(x):
    y = x.copy()
    for i in range(1, len(x)):
        y[i] = 0.5 * y[i - 1] + x[i]
    g = 2 * y
    for i in range(len(x) - 1, 0, -1):     # the adjoint recurrence
        g[i - 1] += 0.5 * g[i]
    return g


W16 = np.random.default_rng(1).standard_normal((16, 4))


def stacked_rows(x):
    """np.stack of n traced rows, then a matrix product."""
    return np.sum(np.stack([np.tanh(x[i]) for i in range(x.shape[0])]) @ W16)


def stacked_rows_grad(x):
    return (1 - np.tanh(x) ** 2) * W16.sum(axis=1)


B_EINSUM = np.random.default_rng(2).standard_normal((64, 32, 32))


def batched_einsum(a):
    c = np.einsum("bij,bjk->bik", a, B_EINSUM)
    return 0.5 * np.sum(c * c)


def batched_einsum_grad(a):
    c = np.einsum("bij,bjk->bik", a, B_EINSUM)
    return np.einsum("bik,bjk->bij", c, B_EINSUM)


X_GP = np.sort(np.random.default_rng(3).uniform(0, 10, 200))
Y_GP = np.sin(X_GP)


def gp_nll(theta):
    k = np.exp(theta[1]) * np.exp(-0.5 * (X_GP[:, None] - X_GP[None, :]) ** 2 / np.exp(2 * theta[0]))
    k = k + np.exp(theta[2]) * np.eye(len(X_GP))
    chol = np.linalg.cholesky(k)
    alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, Y_GP))
    return 0.5 * Y_GP @ alpha + np.sum(np.log(np.diag(chol)))


def gp_nll_grad(theta):
    # ∂nll/∂θ = ½ tr((K⁻¹ − ααᵀ) ∂K/∂θ)
    sq = (X_GP[:, None] - X_GP[None, :]) ** 2
    rbf = np.exp(theta[1]) * np.exp(-0.5 * sq / np.exp(2 * theta[0]))
    k = rbf + np.exp(theta[2]) * np.eye(len(X_GP))
    k_inv = np.linalg.inv(k)
    alpha = k_inv @ Y_GP
    m = k_inv - np.outer(alpha, alpha)
    dk = [rbf * sq / np.exp(2 * theta[0]), rbf, np.exp(theta[2]) * np.eye(len(X_GP))]
    return np.array([0.5 * np.sum(m * d) for d in dk])


H_FFT = np.linspace(0.0, 1.0, 2 ** 13 + 1)


def rfft_filter(x):
    y = np.fft.irfft(np.fft.rfft(x) * H_FFT, n=x.shape[0])
    return np.sum(y * y)


def rfft_filter_grad(x):
    y = np.fft.irfft(np.fft.rfft(x) * H_FFT, n=len(x))
    return 2 * np.fft.irfft(np.fft.rfft(y) * H_FFT, n=len(x))


# ------------------------------------------------------------ peers for the indexing loops

def peers(name, x):
    out = {}
    try:
        import autograd
        import autograd.numpy as anp
        if name == "ring":
            out["autograd"] = (autograd.grad(lambda x: ring_products(anp, x)), x)
    except ImportError:
        pass
    try:
        import torch

        def torch_grad(f):
            def run(x):
                t = torch.tensor(x, requires_grad=True)
                f(t).backward()
                return t.grad.numpy()
            return run
        if name == "ring":
            out["PyTorch"] = (torch_grad(lambda t: ring_products(torch, t)), x)
        elif name == "recurrence":
            def torch_rec(t):
                y = t.clone()
                for i in range(1, t.shape[0]):
                    y[i] = 0.5 * y[i - 1] + t[i]
                return torch.sum(y * y)
            out["PyTorch"] = (torch_grad(torch_rec), x)
    except ImportError:
        pass
    try:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        # (the recurrence, unrolled by jit, took minutes to compile: left out)
        if name == "ring":
            g = jax.jit(jax.grad(lambda x: ring_products(jnp, x)))
            g(x).block_until_ready()
            out["JAX (jit)"] = (lambda x: np.asarray(g(x)), x)
    except ImportError:
        pass
    return out


def main():
    rng = np.random.default_rng(0)
    cases = [
        ("ring", f"scalar indexing loop, n={N_LOOP}", lambda x: ring_products(np, x),
         ring_products_grad, rng.standard_normal(N_LOOP)),
        ("recurrence", f"indexed assignment loop, n={N_LOOP}", recurrence, recurrence_grad,
         rng.standard_normal(N_LOOP)),
        ("stack", "np.stack of 1000 traced rows", stacked_rows, stacked_rows_grad,
         rng.standard_normal((1000, 16))),
        ("einsum", "einsum bij,bjk->bik (64×32×32)", batched_einsum, batched_einsum_grad,
         rng.standard_normal((64, 32, 32))),
        ("gp", "GP likelihood, Cholesky n=200", gp_nll, gp_nll_grad, np.array([0.3, 0.1, -2.0])),
        ("fft", "rfft filter, n=16384", rfft_filter, rfft_filter_grad,
         rng.standard_normal(2 ** 14)),
    ]
    print(f"{'case':38s} {'by hand':>10s} {'riesz':>14s}   peers (ratio to by hand)")
    for key, title, f, by_hand, x in cases:
        expected = by_hand(x)
        g = riesz.grad(f)
        np.testing.assert_allclose(g(x), expected, rtol=1e-8, atol=1e-8)
        base = median_ms(lambda: by_hand(x))
        ours = median_ms(lambda: g(x))
        line = f"{title:38s} {base:8.2f}ms {ours:8.2f}ms {ours / base:5.1f}x  "
        for peer, (pg, px) in peers(key, x).items():
            np.testing.assert_allclose(pg(px), expected, rtol=1e-6, atol=1e-6)
            t = median_ms(lambda: pg(px))
            line += f" {peer} {t:.2f}ms {t / base:.1f}x;"
        print(line, flush=True)


if __name__ == "__main__":
    main()
