"""``riesz.numpy``: NumPy's names, with derivatives.

Every NumPy function that riesz differentiates is available here under its
NumPy name, and NumPy code reaches the same implementations through the
dispatch protocols when it is called on traced values. Other names fall
through to NumPy itself (constants, dtypes, ``riesz.numpy.random``). This
namespace also holds what the protocols cannot reach, such as building an
array from a list of traced values (:func:`array`).
"""
import numpy as _np

from .. import rules as _rules  # noqa: F401  (registers the implementations)
from .dispatch import HANDLED as _HANDLED
from .creation import array, asarray, full, stack, r_, c_  # noqa: F401
from ..rules.indexing import at  # noqa: F401

random = _np.random


def __getattr__(name):
    np_obj = getattr(_np, name)   # AttributeError for names NumPy lacks
    try:
        return _HANDLED.get(np_obj, np_obj)
    except TypeError:   # an unhashable NumPy object is never a handled function
        return np_obj


def __dir__():
    return sorted(set(dir(_np)) | {"array", "asarray", "full", "stack", "at", "r_", "c_"})
