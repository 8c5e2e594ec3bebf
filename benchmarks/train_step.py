"""One training step of an MLP: riesz.nn against hand-written NumPy (and PyTorch and JAX on the CPU).

    python benchmarks/train_step.py [--threads 1] [--dtype float32] [--repeat 11]
                                    [--clock cpu|wall] [--profile]

A step is the forward pass, the softmax cross-entropy, the backward pass and a
plain SGD update, for two networks:

* the digits MLP of ``python -m riesz.examples.digits`` (64 → 256 → 10, ReLU,
  batch 32), where each array operation is small and per-operation overhead shows;
* a 784 → 1024 → 10 ReLU MLP at batch 256, where the matrix products dominate.

riesz runs ``riesz.value_and_grad`` on an ``nn.MLP`` and ``optim.SGD``: eagerly, as one
``riesz.jit``-staged step called on the model and state, and as ``nn.fit`` runs that
staged step (the model and state kept flattened between steps); the NumPy baseline is the same
step written out by hand (the seeds' backward pass of a linear layer, with in-place
updates). Every implementation's parameters are checked against it after three steps.
Last, the update of one 784×1024 parameter alone: in place, ``p - lr * d`` and the
optimizers' ``axpy`` (one new array). Reports the median and the best of repeated
runs (the implementations timed in turn within each repeat) and the ratios to
hand-written NumPy. BLAS runs with ``--threads`` threads
(threadpoolctl; default 1, as this machine's cores are shared). ``--profile``
breaks riesz's step into its parts and lists the functions that take the time.
"""
import argparse
import cProfile
import contextlib
import os
import pstats
import time
import timeit

import numpy as np

import riesz
from riesz import nn, optim
from riesz.optim.tree_math import axpy

LR = 0.1
CONFIGS = {"digits MLP 64→256→10, batch 32": ([64, 256, 10], 32, 400),
           "MLP 784→1024→10, batch 256": ([784, 1024, 10], 256, 20)}


def data(widths, batch, dtype):
    r = np.random.default_rng(0)
    return r.standard_normal((batch, widths[0])).astype(dtype), r.integers(0, widths[-1], batch)


def loss_fn(model, x, y):
    return nn.softmax_cross_entropy(model(x), y)


def riesz_step(widths, x, y, dtype, jit=False):
    """One eager step, or with ``jit`` the same step staged once by ``riesz.jit``."""
    model = nn.MLP(widths, rng=np.random.default_rng(1), dtype=dtype)
    opt = optim.SGD(LR)
    value_and_grad = riesz.value_and_grad(loss_fn)

    def train_step(model, state, x, y):
        loss, grads = value_and_grad(model, x, y)
        model, state = opt.update(model, grads, state)
        return loss, model, state

    train_step = riesz.jit(train_step) if jit else train_step
    box = [model, opt.init(model)]

    def step():
        loss, box[0], box[1] = train_step(box[0], box[1], x, y)
        return loss
    return step, box


def fit_step(widths, x, y, dtype):
    """The staged step as ``nn.fit`` runs it: the model and the optimizer state stay
    flattened between steps (the program's outputs are its next inputs)."""
    from riesz.nn.training import _StagedSteps, _training_step
    model = nn.MLP(widths, rng=np.random.default_rng(1), dtype=dtype)
    opt = optim.SGD(LR)
    steps = _StagedSteps(_training_step(lambda m, x, y, rng: loss_fn(m, x, y), opt, None),
                         model, opt.init(model))
    rng = np.random.default_rng(0)
    return (lambda: steps(x, y, rng)), steps


def numpy_step(widths, x, y, dtype):
    """The same step by hand: forward, stable cross-entropy, backward, in-place SGD."""
    model = nn.MLP(widths, rng=np.random.default_rng(1), dtype=dtype)
    (w1, b1), (w2, b2) = [(l.weight.copy(), l.bias.copy()) for l in model.layers]
    n = len(x)
    rows = np.arange(n)

    def step():
        h = x @ w1 + b1
        a = np.maximum(h, 0)
        logits = a @ w2 + b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(total[:, 0]) - shifted[rows, y])
        dlogits = e / total                      # softmax − onehot, over n
        dlogits[rows, y] -= 1
        dlogits /= n
        dw2, db2 = a.T @ dlogits, dlogits.sum(0)
        dh = (dlogits @ w2.T) * (h > 0)
        dw1, db1 = x.T @ dh, dh.sum(0)
        for p, g in ((w1, dw1), (b1, db1), (w2, dw2), (b2, db2)):
            p -= LR * g
        return loss
    return step, (w1, b1, w2, b2)


def torch_step(widths, x, y, dtype):
    import torch
    model = nn.MLP(widths, rng=np.random.default_rng(1), dtype=dtype)
    layers = []
    for lin in model.layers:
        t = torch.nn.Linear(*lin.weight.shape).to(getattr(torch, np.dtype(dtype).name))
        with torch.no_grad():
            t.weight.copy_(torch.from_numpy(lin.weight.T.copy()))
            t.bias.copy_(torch.from_numpy(lin.bias))
        layers += [t, torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(net(xt), yt)
        loss.backward()
        opt.step()
        return loss
    return step, net


def jax_step(widths, x, y, dtype):
    """The same step in JAX: ``jax.jit`` of value_and_grad and the SGD update."""
    import jax
    import jax.numpy as jnp
    model = nn.MLP(widths, rng=np.random.default_rng(1), dtype=dtype)
    params = [(jnp.asarray(l.weight), jnp.asarray(l.bias)) for l in model.layers]

    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = jax.nn.relu(h @ w + b)
        logits = h @ params[-1][0] + params[-1][1]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))

    @jax.jit
    def train_step(params, x, y):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        return value, jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)

    xj, yj = jnp.asarray(x), jnp.asarray(y)
    box = [params]

    def step():
        value, box[0] = train_step(box[0], xj, yj)
        return value.block_until_ready()
    return step, box


def update_only(dtype, repeat, timer):
    """The update of one 784×1024 parameter: in place (by hand), ``p - lr * d`` (two new
    arrays) and the optimizers' ``axpy`` (one new array, bit for bit the same values)."""
    r = np.random.default_rng(0)
    p, d = (r.standard_normal((784, 1024)).astype(dtype) for _ in range(2))
    np.testing.assert_array_equal(axpy(-LR, d, p), p - LR * d)
    in_place = p.copy()

    def by_hand():
        in_place.__isub__(LR * d)
    updates = {"in place p -= lr * g": by_hand,
               "p - lr * d": lambda: p - LR * d,
               "optim axpy(-lr, d, p)": lambda: axpy(-LR, d, p)}
    return interleaved_times(updates, 20, repeat, timer)


def median_time(fn, number, repeat=11):
    fn()
    return float(np.median(timeit.repeat(fn, number=number, repeat=repeat))) / number


def interleaved_times(fns, number, repeat=11, timer=time.perf_counter):
    """``{name: (median, minimum) seconds per call}``, timing the functions in turn within
    each repeat so that a change in the machine's load hits them all alike. The minimum
    is the least disturbed run, the better figure on a busy machine."""
    for fn in fns.values():
        fn()
    samples = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            samples[name].append(timeit.timeit(fn, number=number, timer=timer) / number)
    return {name: (float(np.median(s)), float(np.min(s))) for name, s in samples.items()}


def check_same_step(widths, x, y, dtype, with_jax):
    """riesz (eager and jitted), JAX and the hand-written step agree after a few steps."""
    n_step, params = numpy_step(widths, x, y, dtype)
    for _ in range(3):
        n_step()
    tol = 1e-10 if dtype == np.float64 else 1e-4
    others = [(riesz_step(widths, x, y, dtype, jit),
               lambda box: [p for l in box[0].layers for p in (l.weight, l.bias)])
              for jit in (False, True)]
    others.append((fit_step(widths, x, y, dtype),
                   lambda steps: [p for l in steps.model.layers for p in (l.weight, l.bias)]))
    if with_jax:
        others.append((jax_step(widths, x, y, dtype),
                       lambda box: [np.asarray(p) for layer in box[0] for p in layer]))
    for (step, box), leaves in others:
        for _ in range(3):
            step()
        for a, b in zip(leaves(box), params):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def profile_riesz(widths, x, y, dtype, number):
    """Where riesz's step goes: the plain forward, tracing + backward, the update."""
    model = nn.MLP(widths, rng=np.random.default_rng(1), dtype=dtype)
    opt = optim.SGD(LR)
    state = opt.init(model)
    vg = riesz.value_and_grad(loss_fn)
    _, grads = vg(model, x, y)
    parts = {"forward on ndarrays (no tracing)": lambda: loss_fn(model, x, y),
             "value_and_grad (traced forward + backward)": lambda: vg(model, x, y),
             "SGD update (tree_map)": lambda: opt.update(model, grads, state)}
    for name, fn in parts.items():
        print(f"    {name:45s} {median_time(fn, number) * 1e6:9.1f} µs")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(number):
        vg(model, x, y)
    profiler.disable()
    print(f"    top functions by own time over {number} value_and_grad calls:")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(12)


def blas_threads(n):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("(threadpoolctl not installed: BLAS uses its default thread count)")
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def report(title, results):
    """Medians and bests, with their ratios to the first entry."""
    base_median, base_min = next(iter(results.values()))
    print(title)
    print(f"    {'':24s} {'median µs':>10s} {'ratio':>6s} {'best µs':>10s} {'ratio':>6s}")
    for name, (median, best) in results.items():
        print(f"    {name:24s} {median * 1e6:10.1f} {median / base_median:6.2f} "
              f"{best * 1e6:10.1f} {best / base_min:6.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS (and torch) threads")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--clock", default="cpu", choices=["cpu", "wall"],
                        help="cpu: this process's CPU time, which leaves out the time other "
                             "processes hold the cores (use it on a busy machine)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    dtype = np.dtype(args.dtype).type
    timer = time.process_time if args.clock == "cpu" else time.perf_counter
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    if args.threads == 1:   # XLA's own thread pool, held to one thread like BLAS
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                           "intra_op_parallelism_threads=1")
    try:
        import jax   # noqa: F401
        jax_installed = True
    except ImportError:
        jax_installed = False
    with blas_threads(args.threads):
        for title, (widths, batch, number) in CONFIGS.items():
            x, y = data(widths, batch, dtype)
            check_same_step(widths, x, y, dtype, jax_installed)
            steps = {"hand-written NumPy": numpy_step(widths, x, y, dtype)[0],
                     "riesz.nn, eager": riesz_step(widths, x, y, dtype)[0],
                     "riesz.nn, jit(step)": riesz_step(widths, x, y, dtype, jit=True)[0],
                     "riesz.nn.fit's step": fit_step(widths, x, y, dtype)[0]}
            if torch is not None:
                steps["PyTorch (CPU, eager)"] = torch_step(widths, x, y, dtype)[0]
            if jax_installed:
                steps["JAX (CPU, jit)"] = jax_step(widths, x, y, dtype)[0]
            results = interleaved_times(steps, number, args.repeat, timer)
            report(f"{title}, {args.dtype}, {args.threads} thread(s), {args.repeat} repeats, "
                   f"{args.clock} clock", results)
            if args.profile:
                profile_riesz(widths, x, y, dtype, number)
        report(f"update of one 784×1024 {args.dtype} parameter, {args.clock} clock",
               update_only(dtype, args.repeat, timer))


if __name__ == "__main__":
    main()
