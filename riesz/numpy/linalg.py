"""``riesz.numpy.linalg``: numpy.linalg's names, with derivatives (``riesz.numpy.linalg.norm``
is riesz's ``norm``, which also takes a list of traced values); the rest is NumPy's own."""
import numpy as _np

from . import _handled


def __getattr__(name):
    return _handled(getattr(_np.linalg, name))


def __dir__():
    return dir(_np.linalg)
