"""Indexing: reading ``x[idx]`` and its transpose, the scatter-add."""
import numpy as np

from ..core import Tracer, full_lower
from ..numpy.dispatch import implements, lower_all
from .define import defprim, shape_of, dtype_of


def _is_basic(idx):
    # slices, integers, None and Ellipsis only: each element is selected at most once
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer))
               for i in items)


def _scatter_add_impl(g, idx, shape):
    out = np.zeros(shape, dtype=np.result_type(g))
    if _is_basic(idx):
        out[idx] = g
    else:
        np.add.at(out, idx, g)   # repeated indices add up
    return out


# x[idx] is linear in x: ∂ = ẋ[idx]; its transpose scatters g into zeros, adding
# where an integer-array index repeats an element
getitem = defprim("getitem", lambda x, idx: x[idx],
                  jvp=[lambda t, ans, x, idx: getitem(t, idx=idx)],
                  vjp=[lambda g, ans, x, idx: scatter_add(g, idx=idx, shape=shape_of(x))])

scatter_add = defprim("scatter_add", _scatter_add_impl,
                      jvp=[lambda t, ans, g, idx, shape: scatter_add(t, idx=idx, shape=shape)],
                      vjp=[lambda c, ans, g, idx, shape: getitem(c, idx=idx)])


def normalize_index(idx):
    """An index with traced values made concrete and lists made arrays (as NumPy reads them)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    out = []
    for i in items:
        i = lower_all(i)
        if isinstance(i, list):
            i = np.asarray(i)
        out.append(i)
    return tuple(out) if isinstance(idx, tuple) else out[0]


@implements("getitem")
def getitem_(x, idx):
    return getitem(x, idx=normalize_index(idx))
