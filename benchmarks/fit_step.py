"""The training step as ``riesz.nn.fit`` runs it: eager and staged by ``riesz.jit``,
against the hand-written NumPy step of ``benchmarks/train_step.py``; and the
parameter update alone.

    python benchmarks/fit_step.py [--threads 1] [--dtype float32] [--repeat 21]
                                  [--clock cpu|wall]

For the two MLPs of ``train_step.py`` (64 → 256 → 10 at batch 32, 784 → 1024 → 10 at
batch 256), one SGD step three ways: the hand-written step (in-place ``p -= lr * g``),
riesz's eager step (``value_and_grad`` + ``optim.SGD.update``) and the same step
staged once by ``riesz.jit`` (what ``fit(jit=True)`` runs). Then the update of one
784 × 1024 float32 parameter: ``p - lr * d`` (two new arrays), ``optim``'s
:func:`~riesz.optim.tree_math.axpy` (one), and in place. Medians (and bests) of
interleaved repeats, ratios to hand-written NumPy; BLAS on ``--threads`` threads.
"""
import argparse
import os
import sys
import time

import numpy as np

import riesz
from riesz import nn, optim
from riesz.optim.tree_math import axpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_step import CONFIGS, LR, blas_threads, data, interleaved_times, loss_fn, numpy_step  # noqa: E402


def riesz_steps(widths, x, y, dtype):
    """The eager and the jitted riesz step, each on its own copy of the model."""
    opt = optim.SGD(LR)
    value_and_grad = riesz.value_and_grad(loss_fn)

    def step(model, state, x, y):
        loss, grads = value_and_grad(model, x, y)
        model, state = opt.update(model, grads, state)
        return loss, model, state

    def runner(step_fn):
        model = nn.MLP(widths, rng=np.random.default_rng(1), dtype=dtype)
        box = [model, opt.init(model)]

        def run():
            loss, box[0], box[1] = step_fn(box[0], box[1], x, y)
            return loss
        return run, box
    return runner(step), runner(riesz.jit(step))


def check_same_steps(widths, x, y, dtype):
    """Three eager and three jitted steps agree with three hand-written ones."""
    (eager, eager_box), (staged, staged_box) = riesz_steps(widths, x, y, dtype)
    by_hand, params = numpy_step(widths, x, y, dtype)
    for _ in range(3):
        eager(), staged(), by_hand()
    tol = 1e-10 if dtype == np.float64 else 1e-4
    for box in (eager_box, staged_box):
        got = [p for layer in box[0].layers for p in (layer.weight, layer.bias)]
        for a, b in zip(got, params):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def update_only(dtype, repeat, timer):
    r = np.random.default_rng(0)
    p, d = r.standard_normal((784, 1024)).astype(dtype), r.standard_normal((784, 1024)).astype(dtype)
    in_place = p.copy()
    np.testing.assert_array_equal(axpy(-LR, d, p), p - LR * d)

    def by_hand():
        in_place.__isub__(LR * d)
    updates = {"in place p -= lr * g": by_hand,
               "p - lr * d": lambda: p - LR * d,
               "optim axpy(-lr, d, p)": lambda: axpy(-LR, d, p)}
    return interleaved_times(updates, 20, repeat, timer)


def report(title, results, base):
    base_median, base_min = results[base]
    print(title)
    print(f"    {'':26s} {'median µs':>10s} {'ratio':>6s} {'best µs':>10s} {'ratio':>6s}")
    for name, (median, best) in results.items():
        print(f"    {name:26s} {median * 1e6:10.1f} {median / base_median:6.2f} "
              f"{best * 1e6:10.1f} {best / base_min:6.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--clock", default="cpu", choices=["cpu", "wall"],
                        help="cpu: this process's CPU time (steadier on a shared machine)")
    args = parser.parse_args()
    dtype = np.dtype(args.dtype).type
    timer = time.process_time if args.clock == "cpu" else time.perf_counter
    with blas_threads(args.threads):
        for title, (widths, batch, number) in CONFIGS.items():
            x, y = data(widths, batch, dtype)
            check_same_steps(widths, x, y, dtype)
            (eager, _), (staged, _) = riesz_steps(widths, x, y, dtype)
            steps = {"hand-written NumPy": numpy_step(widths, x, y, dtype)[0],
                     "riesz eager": eager, "riesz.jit(step)": staged}
            report(f"{title}, {args.dtype}, {args.threads} thread(s), {args.repeat} repeats, "
                   f"{args.clock} clock", interleaved_times(steps, number, args.repeat, timer),
                   "hand-written NumPy")
        report(f"update of one 784×1024 {args.dtype} parameter, {args.clock} clock",
               update_only(dtype, args.repeat, timer), "in place p -= lr * g")


if __name__ == "__main__":
    main()
