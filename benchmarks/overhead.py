"""Per-operation overhead of riesz's forward+backward pass (issue: core engine).

A chain of 200 elementwise operations on a 10-element vector, differentiated
with ``riesz.grad``, against the same forward and backward pass written by hand
in NumPy, and against HIPS autograd, PyTorch and JAX when they are installed.

    python benchmarks/overhead.py

Reports medians over repeated runs (this machine is noisy), as microseconds per
operation and as a ratio to hand-written NumPy; riesz and the hand-written pass run in
alternating rounds (``--clock=cpu``: this process's CPU time).
"""
import sys
import time
import timeit

import numpy as np

N_OPS = 200
SIZE = 10


def chain(np_, x):
    # 200 elementwise operations: sin, multiply by a constant, tanh, add a constant (×50)
    for _ in range(N_OPS // 4):
        x = np_.sin(x)
        x = x * 1.01
        x = np_.tanh(x)
        x = x + 0.1
    return np_.sum(x)


def by_hand(x):
    """The forward pass storing what the backward pass needs, then the backward pass."""
    saved = []
    for _ in range(N_OPS // 4):
        saved.append(("sin", x)); x = np.sin(x)
        x = x * 1.01
        y = np.tanh(x); saved.append(("tanh", y)); x = y
        x = x + 0.1
    g = np.ones_like(x)
    for kind, v in reversed(saved):
        if kind == "tanh":
            g = g * (1 - v * v) * 1.01
        else:
            g = g * np.cos(v)
    return g


# --clock=cpu: this process's CPU time, steadier than wall time on a shared machine
CLOCK = time.process_time if "--clock=cpu" in sys.argv else time.perf_counter


def median_time(fn, number, repeat=15):
    return float(np.median(timeit.repeat(fn, number=number, repeat=repeat, timer=CLOCK))) / number


def interleaved(fns, number, repeat=15):
    """Medians of ``repeat`` rounds in which each of ``fns`` runs ``number`` times in turn:
    a change of the machine's load hits every candidate alike."""
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            times[name].append(timeit.timeit(fn, number=number, timer=CLOCK) / number)
    return {name: float(np.median(t)) for name, t in times.items()}


def main():
    sys.setrecursionlimit(10000)
    x = np.random.default_rng(0).standard_normal(SIZE)
    import riesz
    g = riesz.grad(lambda x: chain(np, x))
    assert np.allclose(g(x), by_hand(x))
    results = interleaved({"hand-written NumPy": lambda: by_hand(x), "riesz": lambda: g(x)}, 50)

    try:
        import autograd
        import autograd.numpy as anp
        ga = autograd.grad(lambda x: chain(anp, x))
        results["HIPS autograd"] = median_time(lambda: ga(x), 20)
    except ImportError:
        pass
    try:
        import torch
        xt = torch.tensor(x, requires_grad=True)

        def torch_step():
            xt.grad = None
            chain(torch, xt).backward()
        results["PyTorch (eager)"] = median_time(torch_step, 50)
    except ImportError:
        pass
    try:
        import jax
        import jax.numpy as jnp
        gj = jax.grad(lambda x: chain(jnp, x))
        gj(x)
        results["JAX (no jit)"] = median_time(lambda: gj(x).block_until_ready(), 3, repeat=5)
        gjit = jax.jit(gj)
        gjit(x).block_until_ready()
        results["JAX (jit)"] = median_time(lambda: gjit(x).block_until_ready(), 200)
    except ImportError:
        pass

    base = results["hand-written NumPy"]
    print(f"forward+backward of a chain of {N_OPS} elementwise ops on a {SIZE}-vector "
          f"(median of 15)")
    print(f"{'':22s} {'µs/op':>8s} {'ratio to NumPy':>15s}")
    for name, t in results.items():
        print(f"{name:22s} {t / N_OPS * 1e6:8.2f} {t / base:15.2f}")


if __name__ == "__main__":
    main()
