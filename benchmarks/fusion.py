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
from riesz.staging import fusion  # noqa: E402
from overhead import chain, by_hand, N_OPS  # noqa: E402
from jit import report  # noqa: E402


def fused_jit(f, x, max_size):
    """``riesz.jit(f, fuse="numexpr")``, staged at ``x`` with ``MAX_FUSED_SIZE = max_size``."""
    default, fusion.MAX_FUSED_SIZE = fusion.MAX_FUSED_SIZE, max_size
    try:
        jitted = riesz.jit(f, fuse="numexpr")
        jitted(x)
    finally:
        fusion.MAX_FUSED_SIZE = default
    (program,) = jitted.programs.values()
    kernels = len(getattr(program, "kernels", ()))
    return jitted, f"{kernels} kernels, {len(program.eqns)} calls"


def bench(size, dtype):
    x = np.random.default_rng(0).standard_normal(size).astype(dtype)
    grad_chain = riesz.grad(lambda x: chain(np, x))
    plain = riesz.jit(grad_chain)
    candidates = [("hand-written NumPy", lambda: by_hand(x))]
    settings = [fusion.MAX_FUSED_SIZE] + ([None] if size > fusion.MAX_FUSED_SIZE else [])
    tolerance = 1e-10 if dtype == np.float64 else 1e-4
    for max_size in settings:
        fused, what = fused_jit(grad_chain, x, max_size)
        np.testing.assert_allclose(fused(x), by_hand(x), rtol=tolerance, atol=tolerance)
        assert fused(x).dtype == dtype
        limit = "" if max_size == fusion.MAX_FUSED_SIZE else ", forced"
        candidates.append((f'fuse="numexpr" ({what}{limit})', lambda fused=fused: fused(x)))
    candidates.append((f"no fusion ({len(riesz.trace(grad_chain)(x).eqns)} calls)", lambda: plain(x)))
    number = max(1, 20_000 // size) if size < 10_000 else max(1, 2_000_000 // (size * 20))
    report(f"jit(grad) of {N_OPS} elementwise ops, {size:,} × {np.dtype(dtype).name} "
           f"(MAX_FUSED_SIZE = {fusion.MAX_FUSED_SIZE}; forced: None)",
           candidates, number=number, repeat=9)


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    sizes = [int(s) for s in sys.argv[1:]] or [10, 10_000, 1_000_000]
    for size in sizes:
        for dtype in (np.float64, np.float32):
            bench(size, dtype)
