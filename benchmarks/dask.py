"""riesz on Dask: the gradient graph riesz builds against one written by hand (issue 13).

For each case the gradient is built twice, by ``riesz.grad`` and by hand in Dask, and
both graphs are measured: tasks as built, tasks after ``dask.optimize`` (culling and
fusion), the time to build the graph and the time to compute it (threaded scheduler;
medians). No compute happens while riesz builds (checked by a scheduler that refuses).

    python benchmarks/dask.py
    python benchmarks/dask.py --overhead OTHER_CHECKOUT   # per-op cost on NumPy, A/B

``--overhead`` times the NumPy per-operation cost of ``riesz.grad`` (the chains of
benchmarks/overhead.py and one whose products have array factors) in this checkout and
in another (say, main before the Dask work), alternating runs, with CPU time (this
machine is shared): the NumPy fast path must not get slower.
"""
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if __name__ == "__main__":
    sys.path[0] = ROOT   # this file's folder would make `import dask` find this file


def cases():
    import dask.array as da

    import riesz
    rng = np.random.default_rng(0)
    n, d = 200_000, 32
    X = da.from_array(rng.standard_normal((n, d)), chunks=(25_000, d))
    y = da.from_array((rng.random(n) > 0.5).astype(float), chunks=25_000)
    w = rng.standard_normal(d) * 0.1

    def logistic(w, X, y):
        z = X @ w
        return np.mean(np.logaddexp(0.0, z) - y * z)

    def logistic_by_hand(w, X, y):
        # ∇ = Xᵀ(σ(Xw) − y) / n
        return X.T @ (1 / (1 + da.exp(-(X @ w))) - y) / X.shape[0]

    def ridge(w, X, y):
        r = X @ w - y
        return np.sum(r * r) / X.shape[0] + 1e-3 * np.sum(w * w)

    def ridge_by_hand(w, X, y):
        return 2 * X.T @ (X @ w - y) / X.shape[0] + 2e-3 * w

    return [("logistic regression, 200000 × 32 in 8 chunks", riesz.grad(logistic),
             logistic_by_hand, (w, X, y)),
            ("least squares + ridge, 200000 × 32 in 8 chunks", riesz.grad(ridge),
             ridge_by_hand, (w, X, y))]


def refuse(dsk, keys, **kwargs):
    raise AssertionError("a compute while the graph was built")


def measure(build, args, repeat=5):
    import dask
    builds = []
    with dask.config.set(scheduler=refuse):
        for _ in range(repeat):
            t = time.perf_counter()
            g = build(*args)
            builds.append(time.perf_counter() - t)
    built = float(np.median(builds))
    tasks = len(dict(g.__dask_graph__()))
    optimized = len(dict(dask.optimize(g)[0].__dask_graph__()))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        value = g.compute(scheduler="threads")
        times.append(time.perf_counter() - t)
    return tasks, optimized, built, float(np.median(times)), value


def graphs():
    print(f"{'case':50s} {'':8s} {'tasks':>6s} {'optimized':>9s} {'build ms':>9s} "
          f"{'compute ms':>10s}")
    for name, riesz_grad, by_hand, args in cases():
        r = measure(riesz_grad, args)
        h = measure(by_hand, args)
        assert np.allclose(r[4], h[4], rtol=1e-10, atol=1e-12)
        for who, m in (("riesz", r), ("by hand", h)):
            print(f"{name:50s} {who:8s} {m[0]:6d} {m[1]:9d} {m[2] * 1e3:9.2f} {m[3] * 1e3:10.1f}")
        print(f"{'':50s} {'ratio':8s} {r[0] / h[0]:6.2f} {r[1] / h[1]:9.2f} {'':9s} "
              f"{r[3] / h[3]:10.2f}")


OVERHEAD = r"""
import sys, time, numpy as np
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[1] + "/benchmarks")
sys.setrecursionlimit(10000)
import riesz
from overhead import chain, N_OPS
x = np.random.default_rng(0).standard_normal(10); y = 1.0 + 0.01 * x
def products(x):   # zero-safe products with array factors, a sum, a slice, a power
    for _ in range(50):
        x = np.sqrt(x * x + 1.0)
        x = np.log(x + 2.0) * y
    return np.sum(x[1:]) + np.sum(x ** 2)
def cpu(fn, number=20, repeat=25):
    ts = []
    for _ in range(repeat):
        t = time.process_time()
        for _ in range(number):
            fn()
        ts.append((time.process_time() - t) / number)
    return min(ts)
g1, g2 = riesz.grad(lambda x: chain(np, x)), riesz.grad(products)
print(cpu(lambda: g1(x)) / N_OPS * 1e6, cpu(lambda: g2(x)) / 203 * 1e6)
"""


def overhead(other, rounds=4):
    """Per-op µs of riesz.grad on NumPy in this checkout and in ``other``, alternating."""
    best = {ROOT: [np.inf, np.inf], other: [np.inf, np.inf]}
    for _ in range(rounds):
        for path in (other, ROOT):
            out = subprocess.run([sys.executable, "-c", OVERHEAD, path], check=True,
                                 capture_output=True, text=True).stdout.split()
            best[path] = [min(b, float(v)) for b, v in zip(best[path], out)]
    print(f"{'per-op µs (best of ' + str(rounds) + ' runs, CPU time)':45s} "
          f"{'overhead.py chain':>18s} {'array products':>15s}")
    for label, path in (("other checkout", other), ("this checkout", ROOT)):
        print(f"{label:45s} {best[path][0]:18.2f} {best[path][1]:15.2f}")
    print(f"{'ratio (this / other)':45s} {best[ROOT][0] / best[other][0]:18.3f} "
          f"{best[ROOT][1] / best[other][1]:15.3f}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--overhead":
        overhead(os.path.abspath(sys.argv[2]))
    else:
        graphs()
