import numpy as _np

import riesz.numpy as _rnp

from . import fft, linalg, random  # noqa: F401


def __getattr__(name):
    return getattr(_rnp, name)
