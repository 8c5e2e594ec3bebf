"""Softmax attention, forward + backward (issue: attention).

Speed: single-head attention at t = 1024, d = 64, float32: the output Y and the three
gradients ∇_Q, ∇_K, ∇_V for a given output cotangent G, against the same math written
by hand in NumPy (materializing the t×t matrices), and against PyTorch and JAX (jit)
when they are installed. The runs are interleaved (this machine is shared and noisy);
each figure is the median over the rounds.

Memory: peak traced memory (tracemalloc) of riesz's forward + backward at t = 16384,
d = 64, float32, for the fused path and for the naive one (which holds t×t matrices).

    python benchmarks/attention.py                 # speed, then memory
    OPENBLAS_NUM_THREADS=1 python benchmarks/attention.py --speed   # every library on 1 thread
    python benchmarks/attention.py --speed --rounds 21
    python benchmarks/attention.py --memory --naive-t 8192   # naive measured at 8192, scaled
    python benchmarks/attention.py --speed --long  # also t = 2048 and 4096 (5 rounds)
"""
import argparse
import functools
import os
import time
import tracemalloc

import numpy as np

import riesz
from riesz.nn.attention import attention


def by_hand(q, k, v, g, scale):
    """Forward (keeping P) and backward of softmax attention, written directly."""
    S = (q @ k.T) * scale
    S = S - S.max(axis=-1, keepdims=True)
    P = np.exp(S)
    P = P / P.sum(axis=-1, keepdims=True)
    Y = P @ v
    dv = P.T @ g
    dP = g @ v.T
    dS = P * (dP - np.sum(g * Y, axis=-1, keepdims=True))
    return Y, (dS @ k) * scale, (dS.T @ q) * scale, dv


def riesz_step(impl, block_size=None):
    def step(q, k, v, g, scale):
        Y, pullback = riesz.vjp(lambda q, k, v: attention(q, k, v, scale=scale, impl=impl,
                                                          block_size=block_size), q, k, v)
        return (Y,) + pullback(g)
    return step


# OPENBLAS_NUM_THREADS=n (NumPy's BLAS) also sets the peers' thread counts
THREADS = os.environ.get("OPENBLAS_NUM_THREADS")


def torch_step():
    import torch
    if THREADS:
        torch.set_num_threads(int(THREADS))

    def step(q, k, v, g, scale):
        q, k, v = (torch.from_numpy(x).requires_grad_() for x in (q, k, v))
        Y = torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=scale)
        Y.backward(torch.from_numpy(g))
        return Y.detach().numpy(), q.grad.numpy(), k.grad.numpy(), v.grad.numpy()
    return step


def jax_step():
    if THREADS == "1":
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                           "intra_op_parallelism_threads=1")
    import jax
    import jax.numpy as jnp

    @functools.partial(jax.jit, static_argnums=4)
    def fwd_bwd(q, k, v, g, scale):
        Y, pullback = jax.vjp(lambda q, k, v: jax.nn.softmax((q @ k.T) * scale, axis=-1) @ v,
                              q, k, v)
        return (Y,) + pullback(g)

    def step(q, k, v, g, scale):
        return tuple(np.asarray(x) for x in jax.block_until_ready(fwd_bwd(q, k, v, g, scale)))
    return step


def speed(t, d, rounds):
    rng = np.random.default_rng(0)
    q, k, v, g = (rng.standard_normal((t, d)).astype(np.float32) for _ in range(4))
    scale = 1 / d ** 0.5
    steps = {"hand-written NumPy": by_hand,
             "riesz naive": riesz_step("naive"),
             "riesz fused": riesz_step("fused")}
    for name, make in (("PyTorch (sdpa)", torch_step), ("JAX (jit)", jax_step)):
        try:
            steps[name] = make()
        except ImportError:
            pass
    want = by_hand(q, k, v, g, scale)
    for name, step in steps.items():       # also warms up (jit, allocator)
        got = step(q, k, v, g, scale)
        for a, b in zip(got, want):
            err = np.max(np.abs(a - b)) / np.max(np.abs(b))
            assert a.dtype == np.float32 and err < 1e-4, (name, err)
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(3):
                step(q, k, v, g, scale)
            times[name].append((time.perf_counter() - start) / 3)
    base = np.median(times["hand-written NumPy"])
    print(f"forward+backward, single head, t={t}, d={d}, float32 (median of {rounds} rounds, "
          f"OPENBLAS_NUM_THREADS={THREADS or 'unset'})")
    print(f"{'':22s} {'ms':>8s} {'ratio to NumPy':>15s}")
    for name, ts in times.items():
        print(f"{name:22s} {np.median(ts) * 1e3:8.2f} {np.median(ts) / base:15.2f}")


def peak_memory(impl, t, d):
    """(peak traced bytes, seconds) of riesz's forward + backward at t×d float32."""
    rng = np.random.default_rng(0)
    q, k, v, g = (rng.standard_normal((t, d)).astype(np.float32) for _ in range(4))
    tracemalloc.start()
    start = time.perf_counter()
    riesz_step(impl)(q, k, v, g, 1 / d ** 0.5)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, seconds


def memory(t, d, naive_t):
    inputs = 4 * t * d * 4
    fused, fused_s = peak_memory("fused", t, d)
    naive, naive_s = peak_memory("naive", naive_t, d)
    label = "measured"
    if naive_t != t:                    # its t×t matrices dominate: scale by (t / naive_t)²
        naive *= (t / naive_t) ** 2
        label = f"extrapolated from t={naive_t} by (t/{naive_t})²"
    print(f"peak traced memory of forward+backward, t={t}, d={d}, float32 "
          f"(the inputs q, k, v, G are {inputs / 2**20:.0f} MiB, not counted)")
    print(f"riesz fused  {fused / 2**20:10.1f} MiB   {fused_s:6.2f} s")
    print(f"riesz naive  {naive / 2**20:10.1f} MiB   {naive_s:6.2f} s at t={naive_t}  ({label})")
    print(f"fused / naive = {fused / naive:.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", action="store_true", help="only the t=1024 timing")
    parser.add_argument("--memory", action="store_true", help="only the t=16384 memory")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--long", action="store_true", help="also time t=2048 and t=4096")
    parser.add_argument("--naive-t", type=int, default=16384,
                        help="measure the naive path at this t (and scale up to 16384)")
    args = parser.parse_args()
    both = not (args.speed or args.memory)
    if args.speed or both:
        speed(1024, 64, args.rounds)
        for t in (2048, 4096) if args.long else ():
            speed(t, 64, 5)
    if args.memory or both:
        memory(16384, 64, args.naive_t)


if __name__ == "__main__":
    main()
