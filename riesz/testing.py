"""Checking derivatives against central finite differences.

:func:`check_grads` is the test every derivative rule in riesz passes, and it is
meant for users' own rules too (``custom_vjp`` and friends).
"""
from typing import Any, Callable, Sequence

import numpy as np

from .numpy.dispatch import conversions_named
from .core import check_callable
from .transforms import jvp, vjp
from .tree import tree_flatten, tree_unflatten

__all__ = ["check_grads", "GradientCheckError"]

# default (eps, atol, rtol) by the narrowest dtype among the arguments and outputs;
# finite differences are taken with float32 arguments promoted to float64, so
# they are only as rough as a float32 output makes them
_DEFAULTS = {np.dtype(np.float64): (1e-6, 1e-5, 1e-5),
             np.dtype(np.complex128): (1e-6, 1e-5, 1e-5),
             np.dtype(np.float32): (1e-3, 5e-3, 5e-3),
             np.dtype(np.complex64): (1e-3, 5e-3, 5e-3),
             np.dtype(np.float16): (1e-4, 5e-2, 5e-2)}


_NO_FLOAT_ARGUMENT = ("check_grads: no floating-point argument to differentiate; pass floats "
                      "(1.0 rather than 1, or x.astype(float))")


class GradientCheckError(AssertionError):
    """A derivative disagrees with finite differences."""


def check_grads(f: Callable[..., Any], args: Any = None, order: int = 2,
                modes: Sequence[str] = ("fwd", "rev"), atol: float | None = None,
                rtol: float | None = None, eps: float | None = None,
                seed: int = 0) -> Callable[..., Any] | None:
    """Check the derivatives of ``f`` at ``args`` against central finite differences.

    For each argument and a random direction ẋ (other arguments fixed):

    * ``"fwd"``: the JVP ∂f(x)(ẋ) must equal (f(x + εẋ) − f(x − εẋ)) / 2ε;
    * ``"rev"``: for a random cotangent c, the VJP must satisfy
      ⟨∂f(x)ᵀc, ẋ⟩ = ⟨c, (f(x + εẋ) − f(x − εẋ)) / 2ε⟩.

    With ``order`` > 1 the same checks run on the derivatives themselves
    (x ↦ ∂f(x)(ẋ) and (x, c) ↦ ∂f(x)ᵀc, so that a rule applied to the cotangent alone
    is checked too), recursively. Tolerances default by the
    arguments' dtype. Raises :class:`GradientCheckError` naming the mode, the
    order and the argument that failed.

    Arguments and leaves that are not floating-point or complex (an int, a bool, a string,
    ``{"w": w, "n": 3}``'s n) are held fixed: there is nothing to differentiate there.

    Without ``args`` it returns the check as a function of the arguments, as HIPS
    autograd's ``check_grads(f, modes=..., order=...)(*args)`` does.
    """
    check_callable(f, "check_grads", "check_grads(f, (x,)), not check_grads(f(x), (x,))")
    if args is None:
        return lambda *args: check_grads(f, args, order, modes, atol, rtol, eps, seed)
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    rng = np.random.default_rng(seed)
    with conversions_named():   # the first call, on plain values: its errors name riesz's fix
        out = f(*args)
    dtype = _narrowest_dtype((args, out))
    d_eps, d_atol, d_rtol = _DEFAULTS.get(dtype, _DEFAULTS[np.dtype(np.float64)])
    tol = dict(eps=d_eps if eps is None else eps, atol=d_atol if atol is None else atol,
               rtol=d_rtol if rtol is None else rtol)
    modes = (modes,) if isinstance(modes, str) else tuple(modes)   # modes="rev" is one mode
    for mode in modes:
        if mode not in ("fwd", "rev"):
            raise ValueError(f"check_grads: unknown mode {mode!r}; use 'fwd' and/or 'rev'")
    f, floats, labels = _of_floats(f, args)
    _check(f, floats, labels, order, 1, modes, tol, rng)
    return None


def _dtype(x):
    """An argument's dtype, read off the array's type (np.asarray would compute a lazy Dask
    array, or copy a CuPy one to the host); a Python number's as NumPy sees it."""
    return x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype


def _of_floats(f, args):
    """``f`` as a function of the floating-point and complex leaves of its arguments, the
    others (an int exponent, a flag, a string; a whole argument or a leaf of one) fixed at
    their values (a type test); the arguments with such leaves (an argument holding others
    too as the list of its float leaves); and their names in the messages, by their
    positions among all of ``f``'s."""
    flat = [tree_flatten(a) for a in args]
    floats = [[k for k, x in enumerate(leaves) if np.issubdtype(_dtype(x), np.inexact)]
              for leaves, _ in flat]
    moving = [i for i, ks in enumerate(floats) if ks]
    if not moving:
        raise TypeError(_NO_FLOAT_ARGUMENT)
    labels = [f"argument {i}" for i in moving]
    whole = [len(ks) == len(leaves) for ks, (leaves, _) in zip(floats, flat)]
    if all(whole):
        return f, args, labels

    def of_floats(*given):
        given, full = iter(given), list(args)
        for i in moving:
            part = next(given)
            if not whole[i]:
                leaves, tree = list(flat[i][0]), flat[i][1]
                for k, x in zip(floats[i], part):
                    leaves[k] = x
                part = tree_unflatten(tree, leaves)
            full[i] = part
        return f(*full)
    return of_floats, tuple(args[i] if whole[i] else [flat[i][0][k] for k in floats[i]]
                            for i in moving), labels


def _check(f, args, labels, order, level, modes, tol, rng):
    tangents = tuple(_random_like(a, rng) for a in args)
    if "fwd" in modes:
        for i in range(len(args)):
            _check_jvp(f, args, i, labels[i], tangents, level, tol)
    if "rev" in modes:
        out = f(*args)
        cotangent = _random_like(out, rng)
        for i in range(len(args)):
            _check_vjp(f, args, i, labels[i], tangents, cotangent, level, tol)
    if order > 1:
        if "fwd" in modes:
            _check(lambda *a: jvp(f, a, tangents)[1], args, labels, order - 1, level + 1,
                   modes, tol, rng)
        if "rev" in modes:
            # the VJP as a function of the arguments and the cotangent: a rule applied to the
            # cotangent alone (g ↦ h(g)) is checked too, through h's own derivative
            # (its floating-point leaves: an integer output's cotangent is held at zero)
            n = len(args)
            ct_leaves, ct_tree = tree_flatten(cotangent)
            floats = [k for k, c in enumerate(ct_leaves) if np.issubdtype(_dtype(c), np.inexact)]

            def vjp_of(*a):
                leaves = list(ct_leaves)
                for k, c in zip(floats, a[n]):
                    leaves[k] = c
                return vjp(f, *a[:n])[1](tree_unflatten(ct_tree, leaves))
            _check(vjp_of, args + ([ct_leaves[k] for k in floats],),
                   labels + [f"argument {n} of the VJP (the cotangent)"], order - 1,
                   level + 1, modes, tol, rng)


def _one_direction(args, i, tangents):
    """Tangents that move argument ``i`` only."""
    return tuple(t if j == i else _zeros_like(a) for j, (a, t) in enumerate(zip(args, tangents)))


def _finite_difference(f, args, direction, eps):
    wide = tuple(_map(_widen, a) for a in args)
    step = tuple(_map(_widen, t) for t in direction)
    plus = f(*(_axpy(eps, t, a) for a, t in zip(wide, step)))
    minus = f(*(_axpy(-eps, t, a) for a, t in zip(wide, step)))
    return _map2(lambda p, m: (np.asarray(p) - np.asarray(m)) / (2 * eps), plus, minus)


def _check_jvp(f, args, i, label, tangents, level, tol):
    direction = _one_direction(args, i, tangents)
    _, t_out = jvp(f, args, direction)
    fd = _finite_difference(f, args, direction, tol["eps"])
    for k, (a, b) in enumerate(zip(tree_flatten(t_out)[0], tree_flatten(fd)[0])):
        a, b = np.asarray(a), np.asarray(b)
        if not np.issubdtype(a.dtype, np.inexact):
            continue   # an integer output (argmax, a count) has a zero tangent; its finite
            # difference only tells where it jumps (reverse mode pairs it with a zero cotangent)
        if a.shape != b.shape:
            raise GradientCheckError(f"forward mode, order {level}, {label}: the JVP has "
                                     f"shape {a.shape} but the output has shape {b.shape}")
        if not np.allclose(a, b, atol=tol["atol"], rtol=tol["rtol"], equal_nan=True):
            err = np.max(np.abs(a - b))
            raise GradientCheckError(
                f"forward mode, order {level}, {label} (output leaf {k}): the JVP "
                f"disagrees with central finite differences (max abs error {err:.3g}, "
                f"atol={tol['atol']}, rtol={tol['rtol']})\nJVP:\n{a}\nfinite differences:\n{b}")


def _check_vjp(f, args, i, label, tangents, cotangent, level, tol):
    direction = _one_direction(args, i, tangents)
    _, pullback = vjp(f, *args)
    ct_in = pullback(cotangent)
    for k, (c, x) in enumerate(zip(tree_flatten(ct_in[i])[0], tree_flatten(args[i])[0])):
        if np.shape(c) != np.shape(x):
            raise GradientCheckError(f"reverse mode, order {level}, {label}: the VJP "
                                     f"has shape {np.shape(c)} but the argument has shape "
                                     f"{np.shape(x)}")
    lhs, lhs_scale = _inner(ct_in[i], direction[i])
    fd = _finite_difference(f, args, direction, tol["eps"])
    rhs, rhs_scale = _inner(cotangent, fd)
    both_nan = np.isnan(lhs) and np.isnan(rhs)   # f is NaN there: agreed, as forward mode's
    if not (both_nan or abs(lhs - rhs) <= tol["atol"] + tol["rtol"] * max(lhs_scale, rhs_scale)):
        raise GradientCheckError(
            f"reverse mode, order {level}, {label}: the VJP disagrees with central "
            f"finite differences: <vjp(c), t> = {lhs!r} but <c, (f(x+et)-f(x-et))/2e> = "
            f"{rhs!r} (atol={tol['atol']}, rtol={tol['rtol']})")


# ---------------------------------------------------------------- pytree arithmetic

def _map(fn, tree):
    leaves, td = tree_flatten(tree)
    return tree_unflatten(td, [fn(x) for x in leaves])


def _map2(fn, a, b):
    la, td = tree_flatten(a)
    lb, _ = tree_flatten(b)
    return tree_unflatten(td, [fn(x, y) for x, y in zip(la, lb)])


def _axpy(alpha, x, y):
    return _map2(lambda u, v: v + alpha * u, x, y)


def _widen(x):
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.complexfloating):
        return x.astype(np.complex128)
    if np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float64)
    return x


def _zeros_like(tree):
    return _map(lambda x: np.zeros_like(np.asarray(x)), tree)


def _random_like(tree, rng):
    def draw(x):
        x = np.asarray(x)
        if np.issubdtype(x.dtype, np.complexfloating):
            return (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape)).astype(x.dtype)
        if np.issubdtype(x.dtype, np.floating):
            return rng.standard_normal(x.shape).astype(x.dtype)
        return np.zeros_like(x)
    return _map(draw, tree)


def _inner(a, b):
    """Re⟨a, b⟩ = Re Σ aᵢ bᵢ over all leaves (the real pairing riesz's VJPs transpose
    under), and Σ |aᵢ bᵢ| as its scale."""
    total, scale = 0.0, 0.0
    for x, y in zip(tree_flatten(a)[0], tree_flatten(b)[0]):
        prod = np.asarray(x, dtype=np.complex128) * np.asarray(y, dtype=np.complex128)
        total += float(np.sum(prod).real)
        scale += float(np.sum(np.abs(prod)))
    return total, scale


def _narrowest_dtype(tree):
    dtypes = [np.asarray(x).dtype for x in tree_flatten(tree)[0]]
    inexact = [d for d in dtypes if np.issubdtype(d, np.inexact)]
    if not inexact:
        raise TypeError(_NO_FLOAT_ARGUMENT)
    return min(inexact, key=lambda d: d.itemsize / (2 if d.kind == "c" else 1))
