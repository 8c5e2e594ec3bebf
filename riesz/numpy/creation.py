"""Building arrays from values that may be traced."""
import numpy as _np

from ..core import Tracer
from .dispatch import HANDLED, implements


def _contains_tracer(x):
    if isinstance(x, Tracer):
        return True
    if isinstance(x, (list, tuple)):
        return any(_contains_tracer(v) for v in x)
    return False


def array(obj, dtype=None, copy=True, ndmin=0):
    """``numpy.array`` that keeps derivatives: nested lists of traced values are stacked."""
    if isinstance(obj, Tracer):
        out = obj
    elif isinstance(obj, (list, tuple)) and _contains_tracer(obj):
        out = stack([array(v) for v in obj])
    else:
        return _np.array(obj, dtype=dtype, copy=copy, ndmin=ndmin)
    if dtype is not None:
        out = out.astype(dtype)
    while out.ndim < ndmin:
        out = out[None]
    return out


def asarray(a, dtype=None):
    """``numpy.asarray`` that keeps derivatives."""
    if isinstance(a, Tracer) or _contains_tracer(a):
        return array(a, dtype=dtype)
    return _np.asarray(a, dtype=dtype)


@implements(_np.stack)
def stack(arrays, axis=0, out=None, dtype=None):
    """``numpy.stack`` that keeps derivatives: a sum of each array placed into a zero
    array of the stacked shape (the transpose of taking the pieces apart)."""
    from ..rules.indexing import scatter_add
    from ..rules.define import shape_of
    arrays = list(arrays)
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"all input arrays must have the same shape, got {sorted(shapes)}")
    base = shapes.pop()
    ndim = len(base) + 1
    axis = axis % ndim
    shape = base[:axis] + (len(arrays),) + base[axis:]
    lead = (slice(None),) * axis
    parts = [scatter_add(a, idx=lead + (i,), shape=shape) if isinstance(a, Tracer)
             else None for i, a in enumerate(arrays)]
    const = _np.zeros(shape, dtype=_np.result_type(*[
        a.dtype if isinstance(a, Tracer) else _np.asarray(a).dtype for a in arrays]))
    for i, a in enumerate(arrays):
        if not isinstance(a, Tracer):
            const[lead + (i,)] = a
    out = const
    for p in parts:
        if p is not None:
            out = out + p
    return out if dtype is None else out.astype(dtype)
