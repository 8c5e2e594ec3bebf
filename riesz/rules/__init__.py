"""The rule table: every primitive with its implementation, JVP rules and VJP rules,
one module per family. Importing this package registers them all."""
from ..core import JVPTrace, VJPTrace
from . import define, elementwise, reductions, shape, linalg, indexing  # noqa: F401
from . import fft  # noqa: F401
from . import numerical, ufunc_methods, softmax  # noqa: F401
try:   # scipy.special's ufuncs, when SciPy (an optional extra) is installed
    from . import special, scipy_linalg  # noqa: F401  (and scipy.linalg.expm)
except ImportError:
    pass
from .define import PRIMITIVES

# tangents and cotangents are summed with the differentiable add
JVPTrace.add = VJPTrace.add = staticmethod(elementwise.add)
VJPTrace.has_nan = staticmethod(define.has_nan)
VJPTrace.add_into = staticmethod(define.add_into)
VJPTrace.prepare_tape = staticmethod(define.prepare_tape)
VJPTrace.rewritten = define.TAPE_REWRITES   # a dict: its keys, as softmax.py fills it
VJPTrace.big_nbytes = define.RELEASE_NBYTES
# y.T, y.reshape(...), np.swapaxes(y, ...) are views: writes into them reach y
indexing.install_views()

__all__ = ["PRIMITIVES"]
