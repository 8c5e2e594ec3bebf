import builtins
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np
import pytest

from riesz.numpy.compat import NUMPY_VERSION

if NUMPY_VERSION < (2, 0):
    # riesz follows NEP 50's promotion on every NumPy (a Python float meeting a float32 array
    # stays float32); NumPy 1.26 follows it in its "weak" promotion state, so that the tests'
    # NumPy results are NEP 50's too
    np._set_promotion_state("weak")


@pytest.fixture
def hide_modules(monkeypatch):
    """``hide_modules("tqdm", ...)``: importing those packages (and their submodules) raises
    ImportError for the rest of the test, as if the optional extra were not installed."""
    def hide(*names):
        real_import = builtins.__import__

        def guarded(name, *args, **kwargs):
            if name.split(".")[0] in names:
                raise ImportError(f"{name} (hidden by the test)")
            return real_import(name, *args, **kwargs)
        monkeypatch.setattr(builtins, "__import__", guarded)
    return hide
