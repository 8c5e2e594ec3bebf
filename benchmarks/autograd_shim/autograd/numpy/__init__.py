import numpy as _np

import riesz.numpy as _rnp

from . import fft, linalg, random  # noqa: F401


def make_diagonal(D, offset=0, axis1=0, axis2=1):
    # autograd.numpy's own (NumPy has no such function), with its restriction: D's last axis
    # spread over a new diagonal, written with riesz.numpy operations
    if not (offset == 0 and axis1 == -1 and axis2 == -2):
        raise NotImplementedError("Currently make_diagonal only supports offset=0, axis1=-1, axis2=-2")
    return D[..., None] * _rnp.eye(_rnp.shape(D)[-1])


def __getattr__(name):
    return getattr(_rnp, name)
