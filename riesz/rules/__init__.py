"""The rule table: every primitive with its implementation, JVP rules and VJP rules,
one module per family. Importing this package registers them all."""
import threading

import numpy as np

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
VJPTrace.mode_free = frozenset(PRIMITIVES[name] for name in define.MODE_FREE)
VJPTrace.summing = frozenset(PRIMITIVES[name] for name in define.SUMMING)
VJPTrace.sum_holds_no_nan = staticmethod(define.sum_holds_no_nan)


class _Snapshots(threading.local):
    """``copies``: while a program is staged in this thread, {id(copy): (copy, array)} of
    the snapshots taken; else None (a class attribute: read on every recorded operation
    with a constant, without the cost of a missing thread-local attribute)."""
    copies = None


SNAPSHOTS_WHILE_STAGING = _Snapshots()


# a constant array this big is protected (read-only while a tape holds it) rather than
# copied: a copy would cost a pass over it, and its memory again, at every operation (the
# size from which riesz takes an array as big: define.RELEASE_NBYTES)
PROTECT_NBYTES = define.RELEASE_NBYTES


def _keep_constants(trace, prim, parents, vals, positions):
    """``vals`` of a node being recorded, with each NumPy array argument that is not traced
    here (at ``positions``, as recording found them) and that a VJP rule of the traced ones
    reads made safe from the user's code writing into it after the call (``buf[:] = ...``
    refilling a buffer in a loop): the rule must read the values the primitive was applied
    to.

    A small array is copied (while staging, the copy is remembered as the array's, so that
    the program shares and names the user's array: riesz.staging.tracer). A big one (of
    :data:`PROTECT_NBYTES` or more) is left in place and made read-only until the tape is
    given back (the end of a backward pass that consumes it, or the trace's release), so
    such a write raises NumPy's "assignment destination is read-only" instead of changing
    the derivative; a write through a view taken before is not seen."""
    unread = define.unread_positions(prim, parents)
    out = vals
    for i in positions:
        if i in unread:
            continue
        a = vals[i]
        if a.nbytes < PROTECT_NBYTES:
            if out is vals:
                out = list(vals)
            out[i] = copy = a.copy()
            copies = SNAPSHOTS_WHILE_STAGING.copies
            if copies is not None:
                copies[id(copy)] = (copy, a)
        elif a.flags.writeable:
            if trace.protected is None:
                trace.protected = []   # released when the tape is (VJPTrace.__del__)
            a.flags.writeable = False
            trace.protected.append(a)
    return out


def release_constants(arrays):
    """Make the arrays a tape protected writable again (and forget them)."""
    for a in arrays:
        try:
            a.flags.writeable = True
        except ValueError:   # its base became read-only meanwhile: it stays so
            pass
    arrays.clear()


VJPTrace.keep_constants = staticmethod(_keep_constants)
VJPTrace.kept_types = frozenset({np.ndarray})
VJPTrace.release_constants = staticmethod(release_constants)
# y.T, y.reshape(...), np.swapaxes(y, ...) are views: writes into them reach y
indexing.install_views()

__all__ = ["PRIMITIVES"]
