"""``riesz.numpy``: NumPy's names, with derivatives.

Every NumPy function that riesz differentiates is available here under its
NumPy name, and NumPy code reaches the same implementations through the
dispatch protocols when it is called on traced values. Other names fall
through to NumPy itself (constants, dtypes, ``riesz.numpy.random``). This
namespace also holds what the protocols cannot reach, such as building an
array from a list of traced values (:func:`array`).
"""
import sys as _sys
import types as _types

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


def _submodule(np_module):
    """riesz.numpy.<name> for NumPy's submodule np_module: its names, with derivatives where
    riesz has them, importable as autograd.numpy's and jax.numpy's are
    (``import riesz.numpy.fft as fft``)."""
    name = f"{__name__}.{np_module.__name__.rpartition('.')[2]}"
    module = _types.ModuleType(name, f"``{name}``: {np_module.__name__}'s names, with derivatives.")
    module.__getattr__ = lambda attr: _handled(getattr(np_module, attr))
    module.__dir__ = lambda: dir(np_module)
    _sys.modules[name] = module
    return module


linalg = _submodule(_np.linalg)   # riesz.numpy.linalg.norm also takes a list of traced values
fft = _submodule(_np.fft)
random = _sys.modules[f"{__name__}.random"] = _np.random   # NumPy's own: nothing to differentiate


def __getattr__(name):
    return _handled(getattr(_np, name))   # AttributeError for names NumPy lacks


def __dir__():
    return sorted(set(dir(_np)) | {"array", "asarray", "full", "stack", "at", "r_", "c_", "linalg", "fft"})
