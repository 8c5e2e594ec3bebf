"""Vector-space operations on pytrees of arrays: a model is a point of ℝⁿ.

They run eagerly on arrays and stage under :func:`riesz.jit` (or trace under a
transform) alike. A scalar that depends on traced values (a norm, a learning rate
of a staged step count) is then a traced 0-d value, not a Python float.
"""
from typing import Any

import numpy as np

from ..core import Tracer
from ..tree import tree_leaves, tree_map

__all__ = ["tree_vdot", "tree_norm", "tree_axpy", "tree_scale", "tree_zeros_like", "axpy",
           "scalar", "in_dtype_of"]


def scalar(value):
    """A scalar of the optimizer (a learning rate, a bias correction, a norm): a Python
    float when it is concrete, the traced 0-d value itself under ``riesz.jit`` or a
    transform. NumPy's promotion treats a Python float as weak (a float32 array times
    it stays float32); an ``np.float64`` would promote the array to float64."""
    return value if isinstance(value, Tracer) else float(value)


def in_dtype_of(alpha, x):
    """``alpha`` ready to combine with the array ``x`` without changing its dtype: a
    Python float as it is; a traced 0-d value (float64 when it comes from a staged step
    count) cast to ``x``'s dtype, as a float64 0-d array would promote float32 ``x``."""
    return alpha.astype(x.dtype) if isinstance(alpha, Tracer) else alpha


def axpy(alpha, x, y):
    """α x + y as one new array.

    For ndarrays of one floating dtype and a Python float α it is computed in place in
    the array that holds α x, so one array is allocated instead of two; the result is
    the same bit for bit. Anything else (traced values, mixed dtypes, broadcasting)
    takes the plain expression, with a traced α cast to ``x``'s dtype."""
    if (type(alpha) is float and isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
            and x.dtype == y.dtype and x.dtype.kind in "fc" and x.shape == y.shape):
        out = np.multiply(x, alpha)
        out += y
        return out
    return in_dtype_of(alpha, x) * x + y


def _vdot(a, b):
    """Σ over leaves of Σᵢ aᵢ bᵢ, in the leaves' dtype."""
    return sum(np.vdot(x, y) for x, y in zip(tree_leaves(a), tree_leaves(b)))


def tree_vdot(a, b):
    """⟨a, b⟩ = Σ over leaves of Σᵢ aᵢ bᵢ (real pytrees), a :func:`scalar`."""
    return scalar(_vdot(a, b))


def tree_norm(a: Any) -> Any:
    """‖a‖ = √⟨a, a⟩, the global Euclidean norm over every leaf, a :func:`scalar`
    (the square root taken in the leaves' dtype, eagerly as when staged)."""
    return scalar(np.sqrt(_vdot(a, a)))


def tree_axpy(alpha, x, y):
    """α x + y, leaf by leaf."""
    return tree_map(lambda xi, yi: axpy(alpha, xi, yi), x, y)


def tree_scale(alpha, x):
    """α x, leaf by leaf (keeping each leaf's dtype)."""
    return tree_map(lambda xi: (in_dtype_of(alpha, xi) * xi).astype(np.result_type(xi),
                                                                     copy=False), x)


def tree_zeros_like(x):
    return tree_map(np.zeros_like, x)
