"""Which array library a value belongs to, and arrays made like it.

"The array decides": riesz never reads the values of an array that is not NumPy's,
and every array it creates for a value takes its namespace and device from that value.
A NumPy array, a NumPy scalar or a Python number is the fast path, recognised by its
type alone (:func:`is_numpy`). Other arrays come in two kinds:

* arrays that implement NumPy's dispatch protocols (``__array_function__`` and
  ``__array_ufunc__``: Dask, CuPy). riesz calls NumPy's functions on them and the
  array's library runs them (lazily for Dask, on the GPU for CuPy); constants are made
  with NumPy's ``like=`` argument (NEP 35), which the same protocol routes;
* arrays that speak only the Python array API standard (``array-api-strict``, say):
  constants come from ``array_api_compat.array_namespace(x)``, on ``x``'s device.
  riesz's rules call NumPy's functions, so such arrays are differentiated through
  :class:`ArrayAPIValue`, a thin view that gives them NumPy's protocols by forwarding
  each call to the array's own namespace (``np.sin`` to ``xp.sin``, ...).

Nothing here imports Dask, CuPy or ``array_api_compat`` until such an array is seen.
"""
import contextlib
import warnings

import numpy as np

from .core import Tracer, full_lower

__all__ = ["is_numpy", "zeros", "ones", "full", "namespace",
           "ArrayAPIValue", "wrap", "unwrap", "asarray_like", "is_array",
           "unsupported", "lazy_only", "library_errors", "whole_along"]


def is_numpy(x):
    """``x`` is a NumPy array, a NumPy scalar or a Python number (a type test only)."""
    return type(x) is np.ndarray or isinstance(x, (np.generic, bool, int, float, complex))


def is_array(x):
    """``x`` is an array of some library: NumPy's, or one with NumPy's dispatch protocols
    or the array API (a type test only)."""
    return (is_numpy(x) or isinstance(x, ArrayAPIValue) or hasattr(type(x), "__array_function__")
            or hasattr(x, "__array_namespace__"))


def namespace(x):
    """The module whose functions compute on ``x``: NumPy for NumPy values and for arrays
    that take NumPy's calls through ``__array_function__`` (Dask, CuPy); the array API
    namespace otherwise."""
    if is_numpy(x) or hasattr(type(x), "__array_function__"):
        return np
    from array_api_compat import array_namespace
    return array_namespace(x)


def _api_dtype(xp, dtype):
    return getattr(xp, np.dtype(dtype).name)


def full(shape, value, dtype, like):
    """An array of ``shape`` filled with ``value``, of ``dtype``, made by ``like``'s library
    on ``like``'s device."""
    if type(like) is not np.ndarray:   # (a NumPy array, the commonest, decided at once)
        like = values_under(like)
        if isinstance(like, ArrayAPIValue):
            like = like.array
    if is_numpy(like) or isinstance(like, Tracer):
        # (a staged value stands for a NumPy one) np.array makes a 0-d array (a gradient's
        # seed) without np.full's Python layer
        return np.array(value, dtype=dtype) if shape == () else np.full(shape, value, dtype=dtype)
    if hasattr(type(like), "__array_function__"):
        return np.full(shape, value, dtype=dtype, like=like)
    xp = namespace(like)
    return ArrayAPIValue(xp.full(shape, value, dtype=_api_dtype(xp, dtype), device=like.device))


def values_under(x):
    """:func:`~riesz.core.full_lower`, where a batch of examples (a vmapped value, which has
    no one concrete value) stands by the array that holds them all: their library (so
    ``vmap(grad(f))`` seeds its backward pass batched, not per example), and every
    example's values for a check that only warns (a batch warns where one of its examples
    would). A staged value (riesz.jit) stays itself: it has none."""
    while isinstance(x, Tracer) and not x.abstract:
        x = x.batch_array if x.is_batch else x.primal
    return x


def computes_with_booleans(x):
    """Whether the library of ``x`` takes a boolean array as numbers (``g * mask``,
    ``mask + 0.5``, ``Σ mask``): NumPy does, and so do the libraries of its dispatch protocols
    (CuPy, Dask); one that speaks only the array API (viewed as :class:`ArrayAPIValue`)
    refuses, so masks are cast first there. A type test, through a batch to its array; a
    staged value stands for NumPy's."""
    return not isinstance(values_under(x), ArrayAPIValue)


def zeros(shape, dtype, like):
    """Zeros of ``shape`` and ``dtype``, made like ``like`` (see :func:`full`)."""
    return full(shape, 0, dtype, like)


def ones(shape, dtype, like):
    """Ones of ``shape`` and ``dtype``, made like ``like`` (see :func:`full`)."""
    return full(shape, 1, dtype, like)


def asarray_like(x, like):
    """The NumPy value ``x`` as an array of ``like``'s library, on ``like``'s device."""
    like = full_lower(like)
    if isinstance(like, ArrayAPIValue):
        return ArrayAPIValue(like.xp.asarray(x, device=like.device))
    if is_numpy(like) or isinstance(like, Tracer):
        return np.asarray(x)
    return np.asarray(x, like=like)


def whole_along(x, axes):
    """``x`` with each of ``axes`` in one chunk where ``x`` is a Dask array split along it
    (Dask's FFTs take a whole axis per chunk and raise otherwise; the FFT asked for needs
    the whole axis, in the backward pass too, where the cotangents' chunks are riesz's):
    a lazy rechunk, chosen from the chunk sizes alone. Any other ``x`` as it is."""
    if is_numpy(x) or not type(x).__module__.startswith("dask."):
        return x
    split = {a % x.ndim: -1 for a in axes if len(x.chunks[a]) > 1}
    return x.rechunk(split) if split else x


def unsupported(what, x, error):
    """The error for an operation that ``x``'s library cannot do (``error``, its own)."""
    return TypeError(f"{what} on a {type(x).__module__}.{type(x).__name__} array: its library "
                     f"cannot do this operation ({type(error).__name__}: {error}). riesz does "
                     f"not convert the array to NumPy behind your back; rewrite the operation "
                     f"(a slice or a one-dimensional index instead), or convert the array "
                     f"explicitly")


@contextlib.contextmanager
def library_errors(what, x):
    """Turn what ``x``'s library cannot do (its NotImplementedError) into a TypeError that
    names ``what``; NumPy's own errors pass unchanged."""
    try:
        yield
    except NotImplementedError as e:
        lowered = full_lower(x)
        if is_numpy(lowered) or isinstance(lowered, Tracer):
            raise
        raise unsupported(what, lowered, e) from None


def lazy_only(values, what):
    """A context in which a Dask graph that ``what`` would compute raises instead, when one of
    ``values`` is a Dask array, or a traced value over one (a batch of Dask examples under
    vmap): a type test; for other values it does nothing.

    Dask computes behind riesz's back in two ways: reading a value (``bool(x)`` for control
    flow, ``float(x)``) and a NumPy function that Dask lacks (it warns, computes, and calls
    NumPy's). Both become a TypeError naming the cause."""
    for v in values:
        if type(v) is not np.ndarray and isinstance(v, Tracer):
            v = values_under(v)   # a batch of Dask examples (vmap(grad(f))) is as lazy
        if type(v) is not np.ndarray and type(v).__module__.startswith("dask."):
            return _dask_lazy_only(what)
    return _NOTHING


_NOTHING = contextlib.nullcontext()   # reentrant and shared: it does nothing


@contextlib.contextmanager
def _dask_lazy_only(what):
    import dask

    def refuse(dsk, keys, **kwargs):
        raise TypeError(
            f"{what} would compute a Dask graph here: the function reads a value of a Dask "
            f"array (bool(), float(), an `if` on an array); riesz keeps Dask values lazy. "
            f"Compute that value before calling the transform, or use np.where")

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="The `.*` function is not implemented by Dask",
                                category=FutureWarning)
        with dask.config.set(scheduler=refuse):
            try:
                yield
            except FutureWarning as w:
                name = str(w).split("`")[1]
                raise TypeError(
                    f"{what}: {name} is not implemented by Dask array, and Dask would compute "
                    f"its argument to call NumPy's; riesz keeps Dask values lazy. Compute the "
                    f"argument explicitly (x.compute()) or use a function Dask provides") from None


# ------------------------------------------------------------ array-API-only arrays

class ArrayAPIValue:
    """A NumPy-protocol view of an array that speaks only the array API standard.

    NumPy's functions called on it run the function of the same name in the array's
    namespace (``np.sin`` → ``xp.sin``; NumPy's names that the standard spells
    differently are in :data:`_RENAMED`); the result is viewed again. Mixing with a
    NumPy array is left to the namespace, which refuses it as CuPy does.
    """
    __slots__ = ("array",)
    __array_priority__ = 2000

    def __init__(self, array):
        self.array = array

    @property
    def xp(self):
        from array_api_compat import array_namespace
        return array_namespace(self.array)

    shape = property(lambda self: tuple(self.array.shape))
    ndim = property(lambda self: self.array.ndim)
    size = property(lambda self: int(np.prod(self.array.shape)))
    # the array API's dtypes have NumPy's names ('array_api_strict.float64' is float64)
    dtype = property(lambda self: np.dtype(str(self.array.dtype).rsplit(".", 1)[-1]))
    device = property(lambda self: self.array.device)
    T = property(lambda self: self.transpose())

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs or any(isinstance(a, Tracer) for a in inputs):
            return NotImplemented   # a traced argument: riesz's protocol handles the call
        return _forward(self.xp, ufunc.__name__, inputs, {})

    def __array_function__(self, func, types, args, kwargs):
        if any(issubclass(t, Tracer) for t in types):
            return NotImplemented
        return _forward(self.xp, func.__name__, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        raise TypeError(f"an array on device {self.device} cannot become a NumPy array: "
                        f"riesz keeps it in its own namespace")

    def __array_namespace__(self, api_version=None):
        # as a traced value's (riesz.numpy): array-API code (xp = array_namespace(x, w)) gets
        # this view for an argument it does not differentiate, beside traced ones
        from . import numpy as riesz_numpy
        return riesz_numpy

    def __getitem__(self, idx):
        return ArrayAPIValue(self.array[_every_axis(idx, self.ndim)])

    def __setitem__(self, idx, value):
        self.array[_every_axis(idx, self.ndim)] = unwrap(value)

    def copy(self):
        return ArrayAPIValue(self.xp.asarray(self.array, copy=True))

    def astype(self, dtype, copy=True):
        return ArrayAPIValue(self.xp.astype(self.array, _api_dtype(self.xp, dtype)))

    def reshape(self, *shape, order="C"):
        shape = shape[0] if len(shape) == 1 else shape
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (int(shape),)
        return ArrayAPIValue(self.xp.reshape(self.array, shape))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 else axes
        return ArrayAPIValue(self.xp.permute_dims(self.array, tuple(axes) if axes else
                                                  tuple(reversed(range(self.ndim)))))

    def __repr__(self):
        return f"ArrayAPIValue({self.array!r})"


def _every_axis(idx, ndim):
    # the standard wants an index to name every axis: x[1:3] of a matrix is x[1:3, ...]
    idx = unwrap(idx) if type(idx) is tuple else (unwrap(idx),)
    if not any(i is Ellipsis for i in idx) and len(idx) < ndim:
        idx = idx + (Ellipsis,)
    return idx


def _operators():
    names = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide,
             "pow": np.power, "matmul": np.matmul, "lt": np.less, "le": np.less_equal,
             "gt": np.greater, "ge": np.greater_equal, "eq": np.equal, "ne": np.not_equal,
             "and": np.logical_and, "or": np.logical_or}
    for name, f in names.items():
        setattr(ArrayAPIValue, f"__{name}__", lambda self, other, f=f: f(self, other))
        setattr(ArrayAPIValue, f"__r{name}__", lambda self, other, f=f: f(other, self))
    ArrayAPIValue.__neg__ = lambda self: np.negative(self)
    ArrayAPIValue.__hash__ = object.__hash__


_operators()

# NumPy's name → the array API standard's, where they differ
_RENAMED = {"power": "pow", "true_divide": "divide", "arcsin": "asin", "arccos": "acos",
            "arctan": "atan", "arctan2": "atan2", "arcsinh": "asinh", "arccosh": "acosh",
            "arctanh": "atanh", "concatenate": "concat", "transpose": "permute_dims",
            "absolute": "abs", "conjugate": "conj", "invert": "bitwise_invert",
            "left_shift": "bitwise_left_shift", "right_shift": "bitwise_right_shift"}


def _forward(xp, name, args, kwargs):
    if name == "result_type":   # NumPy's dtypes, which riesz compares with NumPy's
        return np.result_type(*(a.dtype if isinstance(a, ArrayAPIValue) else a for a in args))
    fn = getattr(xp, _RENAMED.get(name, name), None)
    if fn is None:
        raise TypeError(f"numpy.{name} has no counterpart in the array API namespace "
                        f"{xp.__name__}: riesz cannot compute it on these arrays")
    if name == "zeros_like" and kwargs.get("shape") is not None:   # the standard's has no shape
        x = args[0]
        return ArrayAPIValue(xp.zeros(kwargs["shape"], dtype=x.array.dtype, device=x.device))
    if name == "where" and not any(isinstance(a, ArrayAPIValue) for a in args[1:]):
        # where(mask, 1.0, 0.0): the standard takes at most one Python scalar
        args = (args[0], xp.asarray(args[1], device=args[0].device), args[2])
    if name == "transpose":   # permute_dims names every axis; NumPy reverses them by default
        axes = args[1] if len(args) > 1 else kwargs.get("axes")
        args, kwargs = (args[0], tuple(reversed(range(args[0].ndim))) if axes is None
                        else tuple(axes)), {}
    return _view(fn(*unwrap(args), **unwrap(kwargs)))


def _view(x):
    # the namespace's results, viewed again (through the tuples that eigh, svd, ... return)
    if isinstance(x, (tuple, list)):
        return type(x)(_view(v) for v in x)
    return ArrayAPIValue(x) if hasattr(x, "__array_namespace__") else x


def unwrap(x):
    """``x`` with every :class:`ArrayAPIValue` replaced by its array (through tuples, lists
    and dicts)."""
    if isinstance(x, ArrayAPIValue):
        return x.array
    if type(x) in (tuple, list):
        return type(x)(unwrap(v) for v in x)
    if type(x) is dict:
        return {k: unwrap(v) for k, v in x.items()}
    return x


def wrap(x):
    """``x`` viewed through :class:`ArrayAPIValue` when it speaks only the array API;
    everything else is returned as it is (a type test, no import, for NumPy values). The
    test is on the type: a class such as ``np.ndarray`` passed as an argument has the
    method ``__array_namespace__`` but is no array."""
    if is_numpy(x) or hasattr(type(x), "__array_function__") \
            or not hasattr(type(x), "__array_namespace__"):
        return x
    return ArrayAPIValue(x)
