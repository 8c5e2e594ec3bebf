"""The methods of NumPy's ufuncs on traced values: ``np.add.reduce``, ``np.logaddexp.reduce``,
``np.multiply.accumulate``, ``np.subtract.outer``, ``np.add.at``, ...

Each is written with the ufunc itself and riesz's reductions and scans, so its derivative
comes from theirs. Where a reduction has a NumPy function of its own (``np.add.reduce`` is
``np.sum``) that function is used; other ufuncs are folded along the axis, one call per
entry (correct for any ufunc, O(n) operations).
"""
import numpy as np

from ..core import Tracer, lower_to_values
from ..numpy.dispatch import UFUNC_METHODS
from .define import shape_of
from .indexing import at, cannot_write, rebind
from .reductions import normalize_axis
from .shape import moveaxis, reshape


def _method(name):
    def register(fn):
        UFUNC_METHODS[name] = fn
        return fn
    return register


def _log_sum_exp(x, axis, keepdims, base):
    # log Σ bˣ = m + log_b Σ b^(x - m) with m = max x, for any m: its derivative is the
    # softmax of x ln b exactly, whatever derivative m gets
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(lower_to_values(m)), m, 0.0)
    log, power = (np.log, np.exp) if base == "e" else (np.log2, np.exp2)
    out = log(np.sum(power(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else reshape(out, shape=tuple(
        n for i, n in enumerate(shape_of(out)) if i not in axis))


# the reductions that have a NumPy function of their own: f(x, axis, keepdims)
_REDUCTIONS = {
    np.add: lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
    np.multiply: lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
    np.maximum: lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
    np.minimum: lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims),
    np.logaddexp: lambda x, axis, keepdims: _log_sum_exp(x, axis, keepdims, "e"),
    np.logaddexp2: lambda x, axis, keepdims: _log_sum_exp(x, axis, keepdims, 2),
}


def _fold(ufunc, x, axis):
    """ufunc(...ufunc(ufunc(x₀, x₁), x₂)..., xₙ₋₁) along ``axis``, and the partial results."""
    x = moveaxis(x, axis, 0)
    acc = x[0]
    partials = [acc]
    for i in range(1, shape_of(x)[0]):
        acc = ufunc(acc, x[i])
        partials.append(acc)
    return acc, partials


@_method("reduce")
def reduce(ufunc, array, axis=0, dtype=None, out=None, keepdims=False, initial=np._NoValue,
           where=True):
    """``ufunc.reduce``: the NumPy reduction of the ufunc where there is one (add → sum,
    multiply → prod, maximum → max, minimum → min, logaddexp → log-sum-exp with the
    softmax as derivative), else a fold along one axis."""
    if out is not None or where is not True:
        raise TypeError(f"numpy.{ufunc.__name__}.reduce(out=..., where=...) is not supported "
                        f"on traced values")
    x = array if dtype is None else array.astype(dtype)
    if initial is not np._NoValue:
        raise TypeError(f"numpy.{ufunc.__name__}.reduce(initial=...) is not supported on traced "
                        f"values; combine the result with the initial value yourself")
    axes = normalize_axis(axis, len(shape_of(x)))
    if ufunc in _REDUCTIONS:
        return _REDUCTIONS[ufunc](x, axes, keepdims)
    if len(axes) != 1:
        if len(axes) == 0:
            return x
        raise ValueError(f"reduction operation '{ufunc.__name__}' is not reorderable, so at "
                         f"most one axis may be specified.")
    result, _ = _fold(ufunc, x, axes[0])
    return np.expand_dims(result, axes[0]) if keepdims else result


@_method("accumulate")
def accumulate(ufunc, array, axis=0, dtype=None, out=None):
    """``ufunc.accumulate``: np.cumsum for add, np.cumprod for multiply, else the partial
    results of a fold, stacked."""
    if out is not None:
        raise TypeError(f"numpy.{ufunc.__name__}.accumulate(out=...) is not supported on "
                        f"traced values")
    x = array if dtype is None else array.astype(dtype)
    if ufunc is np.add:
        return np.cumsum(x, axis=axis)
    if ufunc is np.multiply:
        return np.cumprod(x, axis=axis)
    axis = normalize_axis(axis, len(shape_of(x)))[0]
    _, partials = _fold(ufunc, x, axis)
    return np.stack(partials, axis=axis)


@_method("outer")
def outer(ufunc, a, b, **kwargs):
    """``ufunc.outer(a, b)``: out[i..., j...] = ufunc(a[i...], b[j...]), as a broadcast."""
    a_shape = shape_of(a)
    b_ndim = len(shape_of(b))
    return ufunc(np.reshape(a, a_shape + (1,) * b_ndim), b, **kwargs)


@_method("at")
def at_(ufunc, a, indices, b=None):
    """``np.add.at(a, indices, b)``, ``np.multiply.at``, ``np.maximum.at``, ... on a traced
    ``a``: ``a`` is rebound to the update, applied once per occurrence of a repeated index
    (repeated indices add up for add), as ``a[idx] = v`` is."""
    if b is None or ufunc.nin != 2:
        raise NotImplementedError(f"numpy.{ufunc.__name__}.at of a unary ufunc is not "
                                  f"supported on traced values; write a[idx] = "
                                  f"np.{ufunc.__name__}(a[idx]) (indices without repeats)")
    if not isinstance(a, Tracer):
        raise cannot_write(f"numpy.{ufunc.__name__}.at")
    rebind(a, at(a)[indices].apply_ufunc(ufunc, b), f"numpy.{ufunc.__name__}.at")
