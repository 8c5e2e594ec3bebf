"""NumPy 1.26 through the newest: the NumPy names that an older release lacks, in one table.

A rule module registers ``numpy_name("unstack")`` where it would write ``np.unstack``. On a
NumPy that has the function that is the function itself; on an older NumPy it is the same
function under its older name (``np.trapz`` for ``np.trapezoid``), or None, and
:func:`~riesz.numpy.dispatch.implements` registers nothing for None: NumPy code cannot call
a function its NumPy lacks, so there is nothing to differentiate.
"""
import numpy as np

__all__ = ["ADDED", "NUMPY_VERSION", "COMPLEX_SIGN_IS_UNIT", "SOLVE_READS_VECTORS_BY_NDIM",
           "MAX_ITERATOR_OPERANDS", "numpy_name", "has_numpy_name"]

NUMPY_VERSION = tuple(int(part) for part in np.__version__.split(".")[:2])

# np.sign(z) for complex z: z / |z| from NumPy 2.0; before, the sign of Re z (of Im z where
# Re z = 0), a piecewise constant
COMPLEX_SIGN_IS_UNIT = NUMPY_VERSION >= (2, 0)
# np.linalg.solve(a, b): before NumPy 2, b with one dimension fewer than a is a stack of vectors;
# from NumPy 2 only a b of one dimension is a vector, any other a stack of matrices
SOLVE_READS_VECTORS_BY_NDIM = NUMPY_VERSION < (2, 0)
# the most operands one NumPy iterator (np.nditer, a ufunc call) takes: NPY_MAXARGS
MAX_ITERATOR_OPERANDS = 64 if NUMPY_VERSION >= (2, 0) else 32

# name under numpy: (the NumPy release that added it, its older name or None)
ADDED = {
    "astype": ((2, 0), None),
    "vecdot": ((2, 0), None),
    "matrix_transpose": ((2, 0), None),
    "permute_dims": ((2, 0), None),
    "trapezoid": ((2, 0), "trapz"),
    "linalg.vecdot": ((2, 0), None),
    "linalg.svdvals": ((2, 0), None),
    "linalg.matmul": ((2, 0), None),
    "linalg.outer": ((2, 0), None),
    "linalg.cross": ((2, 0), None),
    "linalg.tensordot": ((2, 0), None),
    "linalg.matrix_transpose": ((2, 0), None),
    "linalg.diagonal": ((2, 0), None),
    "linalg.trace": ((2, 0), None),
    "linalg.vector_norm": ((2, 0), None),
    "linalg.matrix_norm": ((2, 0), None),
    # the module holding linalg's result types (SVDResult, EighResult, ...)
    "linalg._linalg": ((2, 0), "linalg.linalg"),
    "unstack": ((2, 1), None),
    "cumulative_sum": ((2, 1), None),
    "cumulative_prod": ((2, 1), None),
    "matvec": ((2, 2), None),
    "vecmat": ((2, 2), None),
    # keywords and conventions (for the tests that use them; numpy_name does not look them up)
    "linalg.cholesky(upper=)": ((2, 0), None),
    "linalg.solve(b as matrices)": ((2, 0), None),
    "quantile keeps float32": ((2, 0), None),
    "clip(no bounds)": ((2, 1), None),
}


def _lookup(path):
    obj = np
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def has_numpy_name(path):
    """Whether the running NumPy has ``numpy.<path>`` (a name of :data:`ADDED`)."""
    return NUMPY_VERSION >= ADDED[path][0]


def numpy_name(path):
    """``numpy.<path>``; on a NumPy older than the release that added it, the same function
    under its older name, or None where NumPy had none."""
    if has_numpy_name(path):
        return _lookup(path)
    older = ADDED[path][1]
    return None if older is None else _lookup(older)
