"""Reductions: each primitive with its JVP and VJP rules."""
import numpy as np

from ..numpy.dispatch import implements
from .define import defprim, shape_of, dtype_of


def normalize_axis(axis, ndim):
    """``axis`` as a sorted tuple of non-negative ints (``None``: every axis)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for array of dimension {ndim}")
        out.append(a % ndim)
    return tuple(sorted(out))


def expand_reduced(g, axis, keepdims, shape):
    """Broadcast a reduction's cotangent ``g`` back over ``shape``: the transpose of summing
    over ``axis`` is copying along it."""
    from .shape import broadcast_to, reshape
    if not keepdims:
        g = reshape(g, tuple(1 if i in axis else n for i, n in enumerate(shape)))
    return broadcast_to(g, shape)


# ∂ Σ_axis x (ẋ) = Σ_axis ẋ (linear); the transpose copies g along the summed axes
sum_p = defprim("sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
                jvp=[lambda t, ans, x, axis, keepdims: sum_p(t, axis=axis, keepdims=keepdims)],
                vjp=[lambda g, ans, x, axis, keepdims:
                     expand_reduced(g, axis, keepdims, shape_of(x))])


def _check_unsupported(name, **given):
    bad = [k for k, v in given.items() if v is not None]
    if bad:
        raise TypeError(f"numpy.{name}: argument(s) {bad} are not supported on traced values")


@implements(np.sum)
def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    _check_unsupported("sum", out=out, initial=initial, where=where)
    x = a if dtype is None else a.astype(dtype)
    return sum_p(x, axis=normalize_axis(axis, len(shape_of(x))), keepdims=bool(keepdims))


@implements(np.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    _check_unsupported("mean", out=out, where=where)
    shape = shape_of(a)
    axes = normalize_axis(axis, len(shape))
    count = int(np.prod([shape[i] for i in axes]))
    total = sum(a, axis=axes, dtype=dtype, keepdims=keepdims)
    if np.issubdtype(np.result_type(total.dtype if hasattr(total, "dtype") else total),
                     np.integer):
        total = total * 1.0
    return total / count


def _tie_share(ans, x, axis, keepdims):
    """1/k at each of the k places where x attains its extreme value along ``axis``, else 0:
    ties share the derivative equally (the mean of the one-sided derivatives)."""
    from ..core import full_lower
    from .define import as_dtype
    a, xv = full_lower(ans), full_lower(x)   # array operations, so a staged program has them
    if not keepdims:
        a = np.expand_dims(a, axis)
    hit = as_dtype(xv == a, dtype_of(xv))
    return hit / np.sum(hit, axis=axis, keepdims=True)


def _extreme(name, impl):
    # ∂ max_axis x (ẋ) = Σ_axis share ⊙ ẋ; the transpose copies g to the maximal places
    prim = defprim(name, lambda x, axis, keepdims: impl(x, axis=axis, keepdims=keepdims),
                   jvp=[lambda t, ans, x, axis, keepdims: sum_p(
                       t * _tie_share(ans, x, axis, keepdims), axis=axis, keepdims=keepdims)],
                   vjp=[lambda g, ans, x, axis, keepdims: expand_reduced(
                       g, axis, keepdims, shape_of(x)) * _tie_share(ans, x, axis, keepdims)])

    def reduce(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        _check_unsupported(name, out=out, initial=initial, where=where)
        return prim(a, axis=normalize_axis(axis, len(shape_of(a))), keepdims=bool(keepdims))
    reduce.__name__ = name
    return prim, reduce


amax_p, amax = _extreme("amax", np.max)
amin_p, amin = _extreme("amin", np.min)
implements(np.max, np.amax)(amax)
implements(np.min, np.amin)(amin)
