import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import numpy as np

from riesz.numpy.compat import NUMPY_VERSION

if NUMPY_VERSION < (2, 0):
    # riesz follows NEP 50's promotion on every NumPy (a Python float meeting a float32 array
    # stays float32); NumPy 1.26 follows it in its "weak" promotion state, so that the tests'
    # NumPy results are NEP 50's too
    np._set_promotion_state("weak")
