"""riesz.jit against hand-written NumPy (issue: staging, readable source, jit).

Three workloads, each timed in one run against the same computation written by hand:

1. the forward and backward pass of a chain of 200 elementwise operations on a
   10-element vector (the chain of benchmarks/overhead.py), ``jit(grad(chain))``;
2. the full 50×50 Hessian of logsumexp(A x) + ½xᵀx, ``jit(hessian(f))`` (needs
   ``riesz.hessian``; reported as pending where this branch lacks it);
3. one SGD training step of a 784→1024→10 MLP (tanh, softmax cross-entropy, batch 128),
   ``jit(step)`` where ``step`` uses ``riesz.grad``;
4. the training steps of benchmarks/train_step.py (``nn.MLP``, ``nn.softmax_cross_entropy``,
   ``optim.SGD``, float32, one BLAS thread where threadpoolctl is installed), jitted, against
   its hand-written ``numpy_step``.

5. staging time of ``jit(grad)`` against the number of operations (500 to 6000);
6. the first call's peak memory against one eager ``grad`` call.

    python benchmarks/jit.py [chain] [hessian] [mlp] [nn_step] [staging] [memory] [--clock=cpu]

Reports medians of repeated runs and the ratio to hand-written NumPy.
"""
import os
import sys
import time
import timeit

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import riesz  # noqa: E402
from overhead import chain, by_hand, SIZE, N_OPS  # noqa: E402


# --clock cpu: this process's CPU time, which leaves out the time other processes hold the
# cores (the figures to compare on a busy machine); wall (the default): elapsed time
CLOCK = time.process_time if "--clock=cpu" in sys.argv else time.perf_counter


def report(title, candidates, number, repeat=15):
    """Time the candidates in interleaved rounds (this machine is shared and noisy, so
    each round sees the same load) and print medians and ratios to the first."""
    for _, fn in candidates:
        fn()
    times = {name: [] for name, _ in candidates}
    for _ in range(repeat):
        for name, fn in candidates:
            times[name].append(timeit.timeit(fn, number=number, timer=CLOCK) / number)
    base = float(np.median(times[candidates[0][0]]))
    print(title)
    for name, _ in candidates:
        t = float(np.median(times[name]))
        print(f"  {name:28s} {t * 1e6:10.1f} µs   {t / base:6.2f}×")


# ---------------------------------------------------------------- 1. elementwise chain

def bench_chain():
    x = np.random.default_rng(0).standard_normal(SIZE)
    g_jit = riesz.jit(riesz.grad(lambda x: chain(np, x)))
    g_eager = riesz.grad(lambda x: chain(np, x))
    np.testing.assert_allclose(g_jit(x), by_hand(x), rtol=1e-12)
    report(f"jit(grad) of {N_OPS} elementwise ops on a {SIZE}-vector", [
        ("hand-written NumPy", lambda: by_hand(x)),
        ("riesz.jit(riesz.grad(f))", lambda: g_jit(x)),
        ("riesz.grad(f), eager", lambda: g_eager(x)),
    ], number=50)


# ---------------------------------------------------------------- 2. Hessian

def logsumexp_plus_norm(A):
    def f(x):
        z = A @ x
        m = np.max(z)
        return np.log(np.sum(np.exp(z - m))) + m + 0.5 * (x @ x)
    return f


def hessian_by_hand(A, x):
    # ∇² = Aᵀ (diag(p) − p pᵀ) A + I with p = softmax(A x)
    z = A @ x
    p = np.exp(z - np.max(z))
    p /= p.sum()
    Ap = p @ A
    return (A.T * p) @ A - np.outer(Ap, Ap) + np.eye(A.shape[1])


def bench_hessian():
    rng = np.random.default_rng(1)
    A, x = rng.standard_normal((100, 50)), rng.standard_normal(50) * 0.1
    if not hasattr(riesz, "hessian"):
        print("Hessian of logsumexp(A x) + ½xᵀx: pending (riesz.hessian is not in this branch)")
        return
    h = riesz.jit(riesz.hessian(logsumexp_plus_norm(A)))
    np.testing.assert_allclose(h(x), hessian_by_hand(A, x), rtol=1e-10, atol=1e-12)
    report("full 50×50 Hessian of logsumexp(A x) + ½xᵀx, A 100×50", [
        ("hand-written NumPy", lambda: hessian_by_hand(A, x)),
        ("riesz.jit(riesz.hessian(f))", lambda: h(x)),
    ], number=50)


# ---------------------------------------------------------------- 3. MLP training step

def mlp_loss(params, x, y):
    W1, b1, W2, b2 = params
    h = np.tanh(x @ W1 + b1)
    logits = h @ W2 + b2
    m = np.max(logits, axis=1, keepdims=True)
    logp = logits - m - np.log(np.sum(np.exp(logits - m), axis=1, keepdims=True))
    return -np.sum(y * logp) / x.shape[0]


def sgd_step(params, x, y):
    grads = riesz.grad(mlp_loss)(params, x, y)
    return tuple(p - 0.01 * g for p, g in zip(params, grads))


def sgd_step_by_hand(params, x, y):
    W1, b1, W2, b2 = params
    n = x.shape[0]
    h = np.tanh(x @ W1 + b1)
    logits = h @ W2 + b2
    e = np.exp(logits - np.max(logits, axis=1, keepdims=True))
    p = e / np.sum(e, axis=1, keepdims=True)
    dlogits = (p - y) / n
    dW2 = h.T @ dlogits
    db2 = dlogits.sum(axis=0)
    dh = (dlogits @ W2.T) * (1 - h * h)
    dW1 = x.T @ dh
    db1 = dh.sum(axis=0)
    return (W1 - 0.01 * dW1, b1 - 0.01 * db1, W2 - 0.01 * dW2, b2 - 0.01 * db2)


def bench_mlp():
    rng = np.random.default_rng(2)
    params = (rng.standard_normal((784, 1024)) * 0.03, np.zeros(1024),
              rng.standard_normal((1024, 10)) * 0.03, np.zeros(10))
    x = rng.standard_normal((128, 784))
    y = np.eye(10)[rng.integers(0, 10, 128)]
    step = riesz.jit(sgd_step)
    for a, b in zip(step(params, x, y), sgd_step_by_hand(params, x, y)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    report("one SGD step of a 784→1024→10 MLP, batch 128", [
        ("hand-written NumPy", lambda: sgd_step_by_hand(params, x, y)),
        ("riesz.jit(step)", lambda: step(params, x, y)),
        ("step, eager riesz", lambda: sgd_step(params, x, y)),
    ], number=3)


# ---------------------------------------------------------------- 4. nn training steps

def bench_nn_step():
    import train_step
    from riesz import nn, optim
    dtype = np.float32

    def jitted_step(widths, x, y):
        opt = optim.SGD(train_step.LR)
        loss_and_grad = riesz.value_and_grad(train_step.loss_fn)

        def step(model, state, x, y):
            loss, g = loss_and_grad(model, x, y)
            model, state = opt.update(model, g, state)
            return loss, model, state
        fast = riesz.jit(step)
        model = nn.MLP(widths, rng=np.random.default_rng(1), dtype=dtype)
        box = [model, opt.init(model)]

        def run():
            loss, box[0], box[1] = fast(box[0], box[1], x, y)
            return loss
        return run, box

    with train_step.blas_threads(1):
        for title, (widths, batch, number) in train_step.CONFIGS.items():
            x, y = train_step.data(widths, batch, dtype)
            run, box = jitted_step(widths, x, y)
            by_hand, params = train_step.numpy_step(widths, x, y, dtype)
            for _ in range(3):
                run(), by_hand()
            got = [p for layer in box[0].layers for p in (layer.weight, layer.bias)]
            for a, b in zip(got, params):
                np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
            report(f"training step, {title}, float32", [
                ("hand-written NumPy", by_hand),
                ("riesz.jit(step)", run),
                ("step, eager riesz", train_step.riesz_step(widths, x, y, dtype)[0]),
            ], number=max(1, number // 4))


def long_chain(n_ops):
    """A function of ``n_ops`` elementwise operations (sin, scale, shift, repeated)."""
    def f(x):
        for _ in range(n_ops // 3):
            x = np.sin(x) * 1.01 + 0.1
        return np.sum(x)
    return f


def bench_staging():
    """Staging time of ``riesz.trace(riesz.grad(f))`` (what a first ``jit`` call stages)
    against the number of operations of f: linear, so the time per operation is flat."""
    print("staging jit(grad) of an n-op chain (best of 3)")
    for n in (500, 1000, 2000, 4000, 6000):
        f = riesz.grad(long_chain(n))
        best = min(timeit.repeat(lambda: riesz.trace(f)(np.ones(8)), number=1, repeat=3,
                                 timer=CLOCK))
        print(f"  {n:5d} ops   {best * 1e3:8.1f} ms   {best / n * 1e6:6.1f} µs/op")


def bench_memory():
    """Peak memory (tracemalloc, which sees NumPy's buffers) of the first call of
    ``jit(grad(f))``, staging and compiling included, against one eager ``grad(f)`` call,
    for a 30-op chain on a 10⁶-element vector (8 MB an array)."""
    import tracemalloc
    f, x = long_chain(30), np.linspace(0.0, 1.0, 1_000_000)
    riesz.grad(f)(x[:10])   # warm: the first call anywhere fills caches (lambdas' sources, ...)
    riesz.jit(riesz.grad(f))(x[:10])
    print("first-call peak memory, 30-op chain on 10^6 float64")
    peaks = {}
    for name, run in (("eager riesz.grad(f)", lambda: riesz.grad(f)(x)),
                      ("riesz.jit(riesz.grad(f)), first call", lambda: riesz.jit(riesz.grad(f))(x))):
        tracemalloc.start()
        run()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    base = peaks["eager riesz.grad(f)"]
    for name, peak in peaks.items():
        print(f"  {name:38s} {peak / 2**20:8.1f} MiB   {peak / base:5.2f}×")


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    which = [a for a in sys.argv[1:] if not a.startswith("--")] or ["chain", "hessian", "mlp",
                                                                   "nn_step"]
    for name in which:
        globals()[f"bench_{name}"]()
