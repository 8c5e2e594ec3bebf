"""How a rule-table entry is written, and the one helper that undoes broadcasting.

Every primitive is made with :func:`defprim` (or a shorthand built on it) in the
module of its family, with its implementation, its JVP rules and its VJP rules
side by side. :data:`PRIMITIVES` holds them all, by name, for the spec-table
tests and the docs.
"""
import numpy as np

from ..core import Primitive, Tracer, ZERO

__all__ = ["PRIMITIVES", "ELEMENTWISE", "defprim", "defunary", "unbroadcast", "fit_shape", "ZERO",
           "shape_of", "dtype_of", "as_dtype"]

PRIMITIVES = {}
# names of the primitives that act elementwise (with ufunc broadcasting): transforms
# that need to know the family (batching, fusion) read it here
ELEMENTWISE = set()


def shape_of(x):
    return x.shape if hasattr(x, "shape") else np.shape(x)


def dtype_of(x):
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)


def as_dtype(x, dtype):
    """``x`` (a traced value, an array or a Python scalar) as an array of ``dtype``."""
    if isinstance(x, Tracer):
        return x.astype(dtype)
    return np.asarray(x, dtype=dtype)


def defprim(name, impl, jvp=(), vjp=(), elementwise=False, broadcasting=False,
            multiple_results=False):
    """Register primitive ``name``.

    ``jvp[i](t, ans, *args, **params)`` and ``vjp[i](g, ans, *args, **params)``
    are the rules for argument ``i`` (``ZERO`` where the derivative vanishes).
    ``elementwise`` marks a function that acts entry by entry (a ufunc, say).
    With ``broadcasting`` (which implies ``elementwise``) the arguments broadcast against each other like a
    ufunc's, and the engine-facing rules are wrapped so that a JVP returns a
    tangent of the output's shape and a VJP a cotangent of its argument's shape.
    """
    if name in PRIMITIVES:
        raise ValueError(f"primitive {name!r} is defined twice")
    if elementwise or broadcasting:
        ELEMENTWISE.add(name)
    if broadcasting:
        jvp = tuple(r if r is ZERO else _fit_output(r) for r in jvp)
        vjp = tuple(r if r is ZERO else _unbroadcast_input(r, i) for i, r in enumerate(vjp))
    prim = Primitive(name, impl, jvp, vjp, multiple_results)
    PRIMITIVES[name] = prim
    return prim


def defunary(name, impl, derivative):
    """An elementwise function with f'(x) = ``derivative(ans, x)``.

    ∂f(x)(ẋ) = f'(x) ⊙ ẋ, and the map is its own transpose: the VJP is
    f'(x) ⊙ g. (For complex x this is the bilinear transpose that JAX uses;
    see docs/complex.md.)
    """
    return defprim(name, impl, elementwise=True,
                   jvp=[lambda t, ans, x: t * derivative(ans, x)],
                   vjp=[lambda g, ans, x: g * derivative(ans, x)])


def _fit_output(rule):
    def jvp(t, ans, *args, **params):
        return fit_shape(rule(t, ans, *args, **params), shape_of(ans))
    return jvp


def _unbroadcast_input(rule, argnum):
    def vjp(g, ans, *args, **params):
        return unbroadcast(rule(g, ans, *args, **params), shape_of(args[argnum]))
    return vjp


def fit_shape(t, shape):
    """Broadcast a tangent to ``shape`` (the transpose of :func:`unbroadcast`)."""
    if shape_of(t) == shape:
        return t
    from .shape import broadcast_to
    return broadcast_to(t, shape)


def unbroadcast(g, shape):
    """Sum a cotangent over the axes that broadcasting added or stretched,
    so that it has ``shape``: the transpose of ``broadcast_to(·, shape)``."""
    gshape = shape_of(g)
    if gshape == shape:
        return g
    from .reductions import sum_p
    from .shape import reshape
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    if axes:
        g = sum_p(g, axis=axes, keepdims=False)
    return reshape(g, shape) if shape_of(g) != shape else g
