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


def _handled(np_obj):
    # riesz's implementation of a NumPy function, or the NumPy object itself
    try:
        return _HANDLED.get(np_obj, np_obj)
    except TypeError:   # an unhashable NumPy object is never a handled function
        return np_obj


from . import linalg  # noqa: E402,F401  (numpy.linalg's names, with derivatives)

random = _np.random


def __getattr__(name):
    return _handled(getattr(_np, name))   # AttributeError for names NumPy lacks


def __dir__():
    return sorted(set(dir(_np)) | {"array", "asarray", "full", "stack", "at", "r_", "c_", "linalg"})
