"""Jacobians, Hessians and Hessian-vector products against hand-written NumPy (issue 4).

* the 100×100 Jacobian of tanh(A x) (``riesz.jacobian``: one batched backward pass; also
  ``jacfwd`` and ``jacrev``),
* the full 50×50 Hessian of logsumexp(A x) + ½ xᵀx (``riesz.hessian``: a batched
  forward pass over the backward pass),
* the Hessian-vector product of Σ tanh(A x)² with A 1000×1000 (``riesz.hvp``: the
  gradient of the directional derivative, no Hessian formed),

each against the formula written by hand in NumPy, against riesz's eager transforms (as
riesz ran before they were auto-staged) and ``riesz.jit`` of them, and against HIPS
autograd, PyTorch and JAX when they are installed.

    OPENBLAS_NUM_THREADS=1 python benchmarks/jacobian.py [--clock=cpu] [big | batched]

``big``: the auto-staged transforms (and ``hvp``) against the eager ones on 300- and
1000-dimensional problems (the recording on every call must not cost there), and the first two calls (an
eager replay, then staging) that a program costs once.

``batched``: derivatives at a batch of points with ``riesz.vmap``: the per-example gradients
of a ReLU MLP's loss (64→128→10, 32 examples, float32: ``vmap(grad)``, as differentially
private training takes them) and the Hessians of the 50-dimensional logsumexp at 64 points
(``vmap(hessian)``), against the same written by hand with batched NumPy (einsum), against a
Python loop of the transform, and against JAX (``jit(vmap(...))``) and PyTorch
(``torch.func.vmap``) when installed.

Reports medians of 21 runs in microseconds, and the ratio to hand-written NumPy.
One BLAS thread keeps the matrix products comparable on a shared machine.
"""
import os
import sys
import time
import timeit
import types

import numpy as np

import riesz

rng = np.random.default_rng(0)


# --clock=cpu: this process's CPU time, steadier than wall time on a shared machine
CLOCK = time.process_time if "--clock=cpu" in sys.argv else time.perf_counter


def median_time(fn, number, repeat=21):
    fn()
    return float(np.median(timeit.repeat(fn, number=number, repeat=repeat, timer=CLOCK))) / number


# ------------------------------------------------------------- the three problems

A_JAC = rng.standard_normal((100, 100)) / 10
X_JAC = rng.standard_normal(100)


def jac_f(np_, x, A=A_JAC):
    return np_.tanh(A @ x)


def jac_by_hand():
    # ∂tanh(Ax) = diag(1 − tanh(Ax)²) A
    return (1 - np.tanh(A_JAC @ X_JAC) ** 2)[:, None] * A_JAC


A_HESS = rng.standard_normal((50, 50)) / 5
X_HESS = rng.standard_normal(50)


def hess_f(np_, x, A=A_HESS):
    y = A @ x
    m = np_.max(y)
    return m + np_.log(np_.sum(np_.exp(y - m))) + 0.5 * (x @ x)


def hess_by_hand():
    # ∇² = Aᵀ(diag(s) − ssᵀ)A + I with s = softmax(Ax)
    y = A_HESS @ X_HESS
    s = np.exp(y - y.max())
    s /= s.sum()
    As = A_HESS.T @ s
    return A_HESS.T @ (s[:, None] * A_HESS) - np.outer(As, As) + np.eye(50)


A_HVP = rng.standard_normal((1000, 1000)) / 30
X_HVP = rng.standard_normal(1000)
V_HVP = rng.standard_normal(1000)


def hvp_f(np_, x, A=A_HVP):
    return np_.sum(np_.tanh(A @ x) ** 2)


def hvp_by_hand():
    # f = Σ tᵢ² with t = tanh(Ax): ∇²f v = Aᵀ[(2(1 − t²)² − 4t²(1 − t²)) ⊙ (A v)]
    t = np.tanh(A_HVP @ X_HVP)
    d = 1 - t * t
    return A_HVP.T @ ((2 * d * d - 4 * t * t * d) * (A_HVP @ V_HVP))


# ------------------------------------------------------------- the contenders

def riesz_versions(jacobian=riesz.jacobian, jacfwd=riesz.jacfwd, jacrev=riesz.jacrev,
                   hessian=riesz.hessian, hvp=riesz.hvp):
    """riesz's transforms: auto-staged by default (riesz/staging/replay.py: the forward pass
    recorded every call, the derivative a staged program from the second call on)."""
    jac = jacobian(lambda x: jac_f(np, x))
    fwd = jacfwd(lambda x: jac_f(np, x))
    rev = jacrev(lambda x: jac_f(np, x))
    hess = hessian(lambda x: hess_f(np, x))
    f_hvp = lambda x: hvp_f(np, x)
    return {"jacobian": lambda: jac(X_JAC), "jacfwd": lambda: fwd(X_JAC),
            "jacrev": lambda: rev(X_JAC), "hessian": lambda: hess(X_HESS),
            "hvp": lambda: hvp(f_hvp, (X_HVP,), (V_HVP,))}


def riesz_eager_versions():
    """The eager transforms (riesz.transforms), as riesz ran them before auto-staging."""
    from riesz import transforms
    return riesz_versions(transforms.jacobian, transforms.jacfwd, transforms.jacrev,
                          transforms.hessian, transforms.hvp)


def riesz_jit_versions():
    """``riesz.jit`` of each transform, the user's explicit choice (closed-over arrays frozen)."""
    jac = riesz.jit(riesz.jacobian(lambda x: jac_f(np, x)))
    fwd = riesz.jit(riesz.jacfwd(lambda x: jac_f(np, x)))
    hess = riesz.jit(riesz.hessian(lambda x: hess_f(np, x)))
    return {"jacobian": lambda: jac(X_JAC), "jacfwd": lambda: fwd(X_JAC),
            "jacrev": lambda: jac(X_JAC), "hessian": lambda: hess(X_HESS)}


def autograd_versions():
    import autograd
    import autograd.numpy as anp
    jac = autograd.jacobian(lambda x: jac_f(anp, x))
    hess = autograd.hessian(lambda x: hess_f(anp, x))
    g = autograd.grad(lambda x: hvp_f(anp, x))
    hvp = autograd.grad(lambda x, v: anp.dot(g(x), v))
    return {"jacobian": lambda: jac(X_JAC), "hessian": lambda: hess(X_HESS),
            "hvp": lambda: hvp(X_HVP, V_HVP)}


def torch_versions():
    import torch
    torch.set_num_threads(1)   # as BLAS: a peer's idle threads would spin on the other core
    from torch.func import jacrev, hessian, jvp, grad
    t = lambda a: torch.tensor(a)
    A1, A2, A3 = t(A_JAC), t(A_HESS), t(A_HVP)
    x1, x2, x3, v3 = t(X_JAC), t(X_HESS), t(X_HVP), t(V_HVP)
    jac = jacrev(lambda x: jac_f(torch, x, A1))
    hess = hessian(lambda x: hess_f(torch, x, A2))
    g = grad(lambda x: hvp_f(torch, x, A3))
    return {"jacobian": lambda: jac(x1), "jacrev": lambda: jac(x1), "hessian": lambda: hess(x2),
            "hvp": lambda: jvp(g, (x3,), (v3,))[1]}


def jax_versions():
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1")
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    jac = jax.jit(jax.jacrev(lambda x: jac_f(jnp, x)))
    fwd = jax.jit(jax.jacfwd(lambda x: jac_f(jnp, x)))
    hess = jax.jit(jax.hessian(lambda x: hess_f(jnp, x)))
    g = jax.grad(lambda x: hvp_f(jnp, x))
    hvp = jax.jit(lambda x, v: jax.jvp(g, (x,), (v,))[1])
    return {"jacobian": lambda: jac(X_JAC).block_until_ready(),
            "jacrev": lambda: jac(X_JAC).block_until_ready(),
            "jacfwd": lambda: fwd(X_JAC).block_until_ready(),
            "hessian": lambda: hess(X_HESS).block_until_ready(),
            "hvp": lambda: hvp(X_HVP, V_HVP).block_until_ready()}


def main():
    by_hand = {"jacobian": jac_by_hand, "jacfwd": jac_by_hand, "jacrev": jac_by_hand,
               "hessian": hess_by_hand, "hvp": hvp_by_hand}
    contenders = {"riesz": riesz_versions, "riesz eager (before)": riesz_eager_versions,
                  "riesz.jit (explicit)": riesz_jit_versions, "HIPS autograd": autograd_versions,
                  "PyTorch (torch.func)": torch_versions, "JAX (jit)": jax_versions}
    numbers = {"jacobian": 200, "jacfwd": 200, "jacrev": 200, "hessian": 200, "hvp": 10}
    titles = {"jacobian": "100×100 Jacobian of tanh(A x), riesz.jacobian",
              "jacfwd": "the same, jacfwd",
              "jacrev": "the same, jacrev",
              "hessian": "50×50 Hessian of logsumexp(A x) + ½xᵀx",
              "hvp": "Hessian-vector product of Σ tanh(A x)², A 1000×1000"}
    riesz_fns = riesz_versions()
    for problem in ("jacobian", "jacfwd", "jacrev", "hessian", "hvp"):
        for _ in range(3):   # the first call replays eagerly, the second stages, the third runs
            assert np.allclose(riesz_fns[problem](), by_hand[problem]())
    for problem, title in titles.items():
        n = numbers[problem]
        base = median_time(by_hand[problem], n)
        print(f"{title} (median of 21)")
        print(f"  {'hand-written NumPy':22s} {base * 1e6:10.1f} µs {1.0:8.2f}×")
        for name, make in contenders.items():
            try:
                fns = make()
            except ImportError:      # peers are optional
                continue
            if problem not in fns:
                continue
            t = median_time(fns[problem], n)
            print(f"  {name:22s} {t * 1e6:10.1f} µs {t / base:8.2f}×")


def big():
    from riesz import transforms
    for n in (300, 1000):
        A = rng.standard_normal((n, n)) / np.sqrt(n)
        x, v = rng.standard_normal(n), rng.standard_normal(n)
        maps = {"jacobian": lambda x: np.tanh(A @ x), "jacfwd": lambda x: np.tanh(A @ x),
                "hessian": lambda x: np.sum(np.log1p(np.exp(A @ x))) + 0.5 * (x @ x),
                "hvp": lambda x: np.sum(np.tanh(A @ x) ** 2)}
        for name, f in maps.items():
            if name == "hvp":   # a function of (f, primals, tangents), not a transform
                auto = lambda x, hvp=riesz.hvp, f=f: hvp(f, (x,), (v,))
                eager = lambda x, hvp=transforms.hvp, f=f: hvp(f, (x,), (v,))
            else:
                auto, eager = getattr(riesz, name)(f), getattr(transforms, name)(f)
            start = CLOCK()
            auto(x), auto(x)
            first_two = CLOCK() - start
            t_eager, t_auto = median_time(lambda: eager(x), 1, 5), median_time(lambda: auto(x), 1, 5)
            print(f"n = {n:4d} {name:8s} eager {t_eager * 1e3:8.2f} ms, auto-staged "
                  f"{t_auto * 1e3:8.2f} ms ({t_auto / t_eager:.2f}×); its first two calls "
                  f"{first_two * 1e3:.1f} ms")


# ------------------------------------------------------------- batches of points (vmap)

W1 = (rng.standard_normal((64, 128)) / 8).astype(np.float32)
B1 = np.zeros(128, np.float32)
W2 = (rng.standard_normal((128, 10)) / 11).astype(np.float32)
B2 = np.zeros(10, np.float32)
X_MLP = rng.standard_normal((32, 64)).astype(np.float32)
Y_MLP = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]
X_POINTS = rng.standard_normal((64, 50))


def mlp_loss(np_, W1, b1, W2, b2, x, y):
    """The softmax cross-entropy of one example (x, y) through a ReLU layer."""
    h = np_.maximum(x @ W1 + b1, 0.0)
    z = h @ W2 + b2
    z = z - np_.max(z)
    return -np_.sum((z - np_.log(np_.sum(np_.exp(z)))) * y)


def per_example_by_hand():
    # dz = softmax(z) Σy − y, dW2 = h ⊗ dz, dh = (W2 dz) ⊙ [x W1 + b1 > 0], dW1 = x ⊗ dh
    pre = X_MLP @ W1 + B1
    h = np.maximum(pre, 0)
    z = h @ W2 + B2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = p * Y_MLP.sum(axis=1, keepdims=True) - Y_MLP
    dh = (dz @ W2.T) * (pre > 0)
    return (np.einsum("bi,bj->bij", X_MLP, dh), dh, np.einsum("bi,bj->bij", h, dz), dz)


def hessians_by_hand():
    # hess_by_hand at every point: Aᵀ diag(s) A − (Aᵀs)(Aᵀs)ᵀ + I, s = softmax(A x)
    y = X_POINTS @ A_HESS.T
    s = np.exp(y - y.max(axis=1, keepdims=True))
    s /= s.sum(axis=1, keepdims=True)
    As = s @ A_HESS
    return (A_HESS.T * s[:, None, :]) @ A_HESS - As[:, :, None] * As[:, None, :] + np.eye(50)


def batched():
    grad_one = riesz.grad(lambda W1, b1, W2, b2, x, y: mlp_loss(np, W1, b1, W2, b2, x, y),
                          argnums=(0, 1, 2, 3))
    per_example = riesz.vmap(grad_one, in_axes=(None, None, None, None, 0, 0))
    hess_one = riesz.hessian(lambda x: hess_f(np, x))
    hessians = riesz.vmap(hess_one)
    staged_per_example, staged_hessians = riesz.jit(per_example), riesz.jit(hessians)
    cases = {
        "per-example gradients of a 64→128→10 ReLU MLP, 32 examples (vmap(grad))": (
            per_example_by_hand,
            {"riesz.vmap(riesz.grad)": lambda: per_example(W1, B1, W2, B2, X_MLP, Y_MLP),
             "riesz.jit of it": lambda: staged_per_example(W1, B1, W2, B2, X_MLP, Y_MLP),
             "a loop of riesz.grad": lambda: [grad_one(W1, B1, W2, B2, x, y)
                                              for x, y in zip(X_MLP, Y_MLP)]}),
        "Hessians of logsumexp(A x) + ½xᵀx at 64 points, 50×50 (vmap(hessian))": (
            hessians_by_hand,
            {"riesz.vmap(riesz.hessian)": lambda: hessians(X_POINTS),
             "riesz.jit of it": lambda: staged_hessians(X_POINTS),
             "a loop of riesz.hessian": lambda: [hess_one(x) for x in X_POINTS]}),
    }
    for got, expected in zip(per_example(W1, B1, W2, B2, X_MLP, Y_MLP), per_example_by_hand()):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    for got, expected in zip(staged_per_example(W1, B1, W2, B2, X_MLP, Y_MLP),
                             per_example_by_hand()):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    for fn in (hessians, staged_hessians):
        np.testing.assert_allclose(fn(X_POINTS), hessians_by_hand(), rtol=1e-10, atol=1e-12)
    peers = {}
    try:
        peers.update(jax_batched())
    except ImportError:
        pass
    try:
        peers.update(torch_batched())
    except ImportError:
        pass
    for (title, (by_hand, fns)), (kind) in zip(cases.items(), ("grads", "hessians")):
        base = median_time(by_hand, 20)
        print(f"{title} (median of 21)")
        print(f"  {'hand-written NumPy':26s} {base * 1e6:10.1f} µs {1.0:8.2f}×")
        for name, fn in list(fns.items()) + [(n, f) for (k, n), f in peers.items() if k == kind]:
            t = median_time(fn, 20)
            print(f"  {name:26s} {t * 1e6:10.1f} µs {t / base:8.2f}×")


def jax_batched():
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1")
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    grads = jax.jit(jax.vmap(jax.grad(lambda *a: mlp_loss(jnp, *a), argnums=(0, 1, 2, 3)),
                             in_axes=(None, None, None, None, 0, 0)))
    hessians = jax.jit(jax.vmap(jax.hessian(lambda x: hess_f(jnp, x))))
    args = [jnp.asarray(a) for a in (W1, B1, W2, B2, X_MLP, Y_MLP)]
    points = jnp.asarray(X_POINTS)
    return {("grads", "JAX jit(vmap(grad))"):
            lambda: jax.block_until_ready(grads(*args)),
            ("hessians", "JAX jit(vmap(hessian))"):
            lambda: hessians(points).block_until_ready()}


def torch_batched():
    import torch
    from torch.func import grad, hessian, vmap
    torch.set_num_threads(1)
    args = [torch.from_numpy(a) for a in (W1, B1, W2, B2, X_MLP, Y_MLP)]
    # (torch.maximum takes tensors only: the ReLU as a clamp)
    torch_np = types.SimpleNamespace(maximum=lambda a, b: torch.clamp(a, min=b), max=torch.max,
                                     sum=torch.sum, log=torch.log, exp=torch.exp)
    grads = vmap(grad(lambda *a: mlp_loss(torch_np, *a), argnums=(0, 1, 2, 3)),
                 in_dims=(None, None, None, None, 0, 0))
    A = torch.tensor(A_HESS)
    hessians = vmap(hessian(lambda x: hess_f(torch, x, A)))
    points = torch.tensor(X_POINTS)
    return {("grads", "PyTorch torch.func.vmap"): lambda: grads(*args),
            ("hessians", "PyTorch torch.func.vmap"): lambda: hessians(points)}


if __name__ == "__main__":
    big() if "big" in sys.argv else batched() if "batched" in sys.argv else main()
