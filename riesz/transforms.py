"""The transforms: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``, with JAX's names and
semantics.

For f: V → W and a point x, the derivative ∂f(x) is the linear map that takes
a change ẋ to the change in f. ``jvp`` evaluates it, ``vjp`` applies its
transpose ∂f(x)ᵀ to a cotangent, and ``grad`` (for real-valued f) returns the
vector ∇f(x) that represents it under the inner product:
⟨∇f(x), ẋ⟩ = ∂f(x)(ẋ) for every ẋ, with ⟨A, B⟩ = Σᵢⱼ AᵢⱼBᵢⱼ = tr(AᵀB) for
matrices. Arguments and results may be pytrees (:mod:`riesz.tree`).
"""
import functools

import numpy as np

from . import rules  # noqa: F401  (registers the primitives)
from .core import JVPTrace, JVPTracer, Tracer, VJPTrace, VJPTracer
from .rules.define import shape_of, dtype_of
from .rules.elementwise import astype
from .tree import tree_flatten, tree_unflatten

__all__ = ["grad", "value_and_grad", "vjp", "jvp"]


# ---------------------------------------------------------------- checks

def _is_inexact(dtype):
    return np.issubdtype(dtype, np.inexact)


def _check_differentiable(leaves, what):
    for i, x in enumerate(leaves):
        dtype = dtype_of(x) if isinstance(x, Tracer) else np.result_type(x)
        if not _is_inexact(dtype):
            raise TypeError(
                f"{what} has dtype {dtype}; riesz differentiates with respect to floating-point "
                f"or complex values only. Pass floats (e.g. 3.0 instead of 3, or "
                f"x.astype(float)), or leave this argument out of argnums"
                + (f" (leaf {i} of the pytree)" if len(leaves) > 1 else ""))


def _argnums_tuple(argnums, nargs, fname):
    single = isinstance(argnums, (int, np.integer))
    nums = (int(argnums),) if single else tuple(int(a) for a in argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"{fname}: argnums={argnums!r} but the function was called with "
                             f"{nargs} positional argument(s)")
    return tuple(a % nargs for a in nums), single


def _like(ct, x):
    """A cotangent or tangent given the dtype (and Python-scalar-ness) of ``x``."""
    if ct is None:
        z = np.zeros(shape_of(x), dtype=dtype_of(x))
        return z[()] if z.ndim == 0 else z
    if isinstance(ct, Tracer):
        return astype(ct, dtype=dtype_of(x)) if dtype_of(ct) != dtype_of(x) else ct
    ct = np.asarray(ct, dtype=dtype_of(x))
    return ct[()] if ct.ndim == 0 else ct


def _lower_aux(aux, trace):
    """Auxiliary results with this trace's tracers replaced by their values."""
    def lower(x):
        while isinstance(x, Tracer) and x._trace is trace:
            x = x.primal
        return x
    leaves, td = tree_flatten(aux)
    return tree_unflatten(td, [lower(x) for x in leaves])


def _lower(out, trace):
    """(value, slot) of an output: the slot is None when it does not depend on the inputs."""
    if type(out) is VJPTracer and out._trace is trace:
        return out.primal, out.slot
    return out, None


# ---------------------------------------------------------------- reverse mode

def vjp(f, *primals, has_aux=False):
    """``(f(*primals), pullback)``: ``pullback(ct)`` applies ∂f(primals)ᵀ to a cotangent
    ``ct`` of the output's structure and shapes, returning one cotangent per primal.

    The pullback can be called many times; it holds the recorded graph until it is freed.
    """
    flat, in_tree = tree_flatten(primals)
    _check_differentiable(flat, "vjp: an input")
    out, aux, trace, in_slots = _trace_vjp(f, primals, flat, in_tree, has_aux)
    out_flat, out_tree = tree_flatten(out)
    lowered = [_lower(o, trace) for o in out_flat]
    out_vals = tree_unflatten(out_tree, [v for v, _ in lowered])

    def pullback(ct):
        ct_flat, ct_tree = tree_flatten(ct)
        if ct_tree != out_tree:
            raise ValueError(f"pullback: the cotangent has structure {ct_tree} but the "
                             f"output has structure {out_tree}")
        seeds = []
        for k, ((v, slot), c) in enumerate(zip(lowered, ct_flat)):
            if shape_of(c) != shape_of(v):
                raise ValueError(f"pullback: cotangent {k} has shape {shape_of(c)} but the "
                                 f"output it pairs with has shape {shape_of(v)}")
            if slot is not None:
                seeds.append((slot, c))
        cts = trace.backward(seeds)
        return tree_unflatten(in_tree, [_like(cts[s], x) for s, x in zip(in_slots, flat)])

    return (out_vals, pullback, aux) if has_aux else (out_vals, pullback)


def _trace_vjp(f, args, flat, in_tree, has_aux):
    trace = VJPTrace()
    boxed = [trace.new_input(x) for x in flat]
    in_slots = [b.slot for b in boxed]
    out = f(*tree_unflatten(in_tree, boxed))
    aux = None
    if has_aux:
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError("has_aux=True needs the function to return a pair (output, aux)")
        out, aux = out
        aux = _lower_aux(aux, trace)
    return out, aux, trace, in_slots


def value_and_grad(f, argnums=0, has_aux=False):
    """The function ``x ↦ (f(x), ∇f(x))`` for a real-scalar-valued ``f``.

    The gradient has the structure, shapes and dtypes of the arguments named by
    ``argnums`` (an int, or a tuple giving a tuple of gradients). With
    ``has_aux`` ``f`` returns ``(value, aux)`` and the result is
    ``((value, aux), grad)``.
    """
    fname = getattr(f, "__name__", "f")

    @functools.wraps(f)
    def value_and_grad_f(*args, **kwargs):
        nums, single = _argnums_tuple(argnums, len(args), "grad")
        diff_args = tuple(args[i] for i in nums)
        flat, in_tree = tree_flatten(diff_args)
        for i in nums:
            _check_differentiable(tree_flatten(args[i])[0], f"grad: argument {i} of {fname}")

        def f_of_diff(*dargs):
            full = list(args)
            for i, a in zip(nums, dargs):
                full[i] = a
            return f(*full, **kwargs)

        out, aux, trace, in_slots = _trace_vjp(f_of_diff, diff_args, flat, in_tree, has_aux)
        value, slot = _lower(out, trace)
        _check_scalar_output(value, fname)
        if slot is None:
            cts = [None] * len(trace.tape)
        else:
            one = np.ones((), dtype=dtype_of(value))
            cts = trace.backward([(slot, one)], consume=True)
        grads = tree_unflatten(in_tree, [_like(cts[s], x) for s, x in zip(in_slots, flat)])
        g = grads[0] if single else grads
        return ((value, aux), g) if has_aux else (value, g)

    return value_and_grad_f


def _check_scalar_output(value, fname):
    if isinstance(value, (tuple, list, dict)):
        raise TypeError(f"grad: {fname} returned a {type(value).__name__}; grad needs a real "
                        f"scalar output. Use has_aux=True to return extra values, or vjp / "
                        f"jacobian for several outputs")
    shape, dtype = shape_of(value), dtype_of(value)
    if shape != ():
        raise TypeError(f"grad: {fname} returned an array of shape {shape}; grad needs a real "
                        f"scalar output. Reduce it (e.g. np.sum), or use riesz.vjp or "
                        f"riesz.jacobian for non-scalar outputs")
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"grad: {fname} returned a value of dtype {dtype}; grad needs a real "
                        f"floating-point scalar (for complex outputs use riesz.vjp)")


def grad(f, argnums=0, has_aux=False):
    """The gradient of a real-scalar-valued ``f``: the vector ∇f(x) with
    ⟨∇f(x), ẋ⟩ = ∂f(x)(ẋ) for every change ẋ.

    ``grad(f)(x)`` has the structure, shape and dtype of ``x``; ``argnums``
    picks the arguments (a tuple of them gives a tuple of gradients); with
    ``has_aux`` ``f`` returns ``(value, aux)`` and the result is ``(grad, aux)``.
    Nest it for higher derivatives: ``grad(grad(f))``.

    >>> import numpy as np, riesz
    >>> float(riesz.grad(np.tanh)(2.0)) == 1 - np.tanh(2.0) ** 2
    True
    """
    vg = value_and_grad(f, argnums, has_aux)

    @functools.wraps(f)
    def grad_f(*args, **kwargs):
        (value, g) = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return grad_f


# ---------------------------------------------------------------- forward mode

def jvp(f, primals, tangents, has_aux=False):
    """``(f(*primals), ∂f(primals)(tangents))``: the output and its directional derivative.

    ``primals`` and ``tangents`` are tuples of the same structure, shapes and dtypes.
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp(f, primals, tangents): primals and tangents must be tuples, "
                        "e.g. jvp(f, (x,), (xdot,))")
    flat, in_tree = tree_flatten(tuple(primals))
    t_flat, t_tree = tree_flatten(tuple(tangents))
    if t_tree != in_tree:
        raise ValueError(f"jvp: tangents have structure {t_tree} but primals have {in_tree}")
    _check_differentiable(flat, "jvp: a primal")
    for k, (x, t) in enumerate(zip(flat, t_flat)):
        if shape_of(t) != shape_of(x):
            raise ValueError(f"jvp: tangent {k} has shape {shape_of(t)} but its primal has "
                             f"shape {shape_of(x)}")
    trace = JVPTrace()
    boxed = [JVPTracer(trace, x, t) for x, t in zip(flat, t_flat)]
    out = f(*tree_unflatten(in_tree, boxed))
    aux = None
    if has_aux:
        out, aux = out
        aux = _lower_aux(aux, trace)
    out_flat, out_tree = tree_flatten(out)
    vals, tans = [], []
    for o in out_flat:
        if type(o) is JVPTracer and o._trace is trace:
            vals.append(o.primal)
            tans.append(_like(o.tangent, o.primal))
        else:
            vals.append(o)
            tans.append(_like(None, o))
    result = (tree_unflatten(out_tree, vals), tree_unflatten(out_tree, tans))
    return result + (aux,) if has_aux else result
