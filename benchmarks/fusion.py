"""riesz.jit with the numexpr fusion backend against hand-written NumPy (issue 7, item 5).

The forward and backward pass of the chain of 200 elementwise operations of
benchmarks/overhead.py (sin, × 1.01, tanh, + 0.1, fifty times), on vectors of
10, 10,000 and 1,000,000 elements, float64 and float32:
``riesz.jit(riesz.grad(chain), fuse="numexpr")`` against the same passes written by
hand in NumPy, and against ``riesz.jit`` without fusion. numexpr evaluates each
fused kernel block by block with its own thread pool (``numexpr.set_num_threads``;
its default here is the machine's cores).

    python benchmarks/fusion.py [sizes...]

Reports medians of interleaved rounds and the ratio to hand-written NumPy.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import riesz  # noqa: E402
from overhead import chain, by_hand, N_OPS  # noqa: E402
from jit import report  # noqa: E402


def bench(size, dtype):
    x = np.random.default_rng(0).standard_normal(size).astype(dtype)
    grad_chain = riesz.grad(lambda x: chain(np, x))
    fused = riesz.jit(grad_chain, fuse="numexpr")
    plain = riesz.jit(grad_chain)
    tolerance = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(fused(x), by_hand(x), rtol=tolerance, atol=tolerance)
    assert fused(x).dtype == dtype
    program = next(iter(fused.programs.values()))
    number = max(1, 20_000 // size) if size < 10_000 else max(1, 2_000_000 // (size * 20))
    report(f"jit(grad) of {N_OPS} elementwise ops, {size:,} × {np.dtype(dtype).name} "
           f"({len(program.kernels)} numexpr kernels, {len(program.eqns)} calls "
           f"for {len(program.original.eqns)} operations)", [
        ("hand-written NumPy", lambda: by_hand(x)),
        ('riesz.jit(..., fuse="numexpr")', lambda: fused(x)),
        ("riesz.jit(...), no fusion", lambda: plain(x)),
    ], number=number, repeat=9)


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    sizes = [int(s) for s in sys.argv[1:]] or [10, 10_000, 1_000_000]
    for size in sizes:
        for dtype in (np.float64, np.float32):
            bench(size, dtype)
