"""Building arrays from values that may be traced."""
import numpy as _np

from ..core import Tracer
from .dispatch import HANDLED, implements, lower_all


def _contains_tracer(x):
    if isinstance(x, Tracer):
        return True
    if isinstance(x, (list, tuple)):
        return any(_contains_tracer(v) for v in x)
    return False


def _leaves(x, out):
    if isinstance(x, (list, tuple)):
        for v in x:
            _leaves(v, out)
    else:
        out.append(x)
    return out


def _nested_shape(x, shape_of):
    """The shape of the array a nested list makes, from its lengths and its entries' shapes
    (not their values, which may be staged); ragged nesting raises, as in NumPy."""
    if not isinstance(x, (list, tuple)):
        return tuple(shape_of(x)) if isinstance(x, Tracer) else _np.shape(x)
    shapes = {_nested_shape(v, shape_of) for v in x}
    if len(shapes) > 1:
        raise ValueError(f"setting an array element with a sequence: the nested list is "
                         f"ragged (its entries have shapes {sorted(shapes)}); give every "
                         f"entry of a level the same shape")
    return (len(x),) + (shapes.pop() if shapes else ())


def array(obj, dtype=None, copy=True, ndmin=0):
    """``numpy.array`` that keeps derivatives: a nested list of traced values (scalars or
    arrays of one shape) becomes one concatenation of their entries, reshaped, so building
    an n-entry array costs O(n)."""
    from ..rules.define import shape_of
    from ..rules.shape import concat, reshape
    if isinstance(obj, Tracer):
        out = _np.copy(obj) if copy else obj
    elif isinstance(obj, (list, tuple)) and _contains_tracer(obj):
        shape = _nested_shape(obj, shape_of)
        leaves = [v if isinstance(v, Tracer) else _np.asarray(v) for v in _leaves(obj, [])]
        flat = [reshape(v, shape=(int(_np.prod(shape_of(v))),)) for v in leaves]
        out = reshape(concat(flat, 0), shape=shape)
    else:
        return _np.array(obj, dtype=dtype, copy=copy, ndmin=ndmin)
    if dtype is not None:
        out = out.astype(dtype)
    if out.ndim < ndmin:
        out = reshape(out, shape=(1,) * (ndmin - out.ndim) + out.shape)
    return out


def asarray(a, dtype=None):
    """``numpy.asarray`` that keeps derivatives."""
    if isinstance(a, Tracer) or _contains_tracer(a):
        return array(a, dtype=dtype)
    return _np.asarray(a, dtype=dtype)


@implements(_np.stack)
def stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    """``numpy.stack`` that keeps derivatives: each array gets a new axis of length 1 and
    they are concatenated along it (one primitive, whose transpose splits the cotangent)."""
    from ..rules.define import shape_of
    from ..rules.shape import concat, reshape
    if out is not None:
        raise TypeError("numpy.stack(..., out=...) cannot write traced values into an array; "
                        "use the returned array")
    arrays = list(arrays)
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"all input arrays must have the same shape, got {sorted(shapes)}")
    base = shapes.pop()
    ndim = len(base) + 1
    if not -ndim <= axis < ndim:
        raise _np.exceptions.AxisError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    axis = axis % ndim
    expanded = base[:axis] + (1,) + base[axis:]
    result = concat([reshape(a, shape=expanded) for a in arrays], axis)
    return result if dtype is None else result.astype(dtype)


def _constant_like(np_like):
    """``numpy.zeros_like`` and friends on a traced value: the constant array, carried at the
    argument's trace level with a zero derivative, so that the common idiom
    ``y = np.zeros_like(x); y[i] = f(x)`` can assign traced values into ``y``."""
    def like(a, *args, **kwargs):
        from ..core import full_lower
        from ..rules.elementwise import where
        lowered = full_lower(a)
        if isinstance(lowered, Tracer):   # staged: the constant needs only the shape and dtype
            lowered = _np.empty(lowered.shape, lowered.dtype)
        value = np_like(lowered, *lower_all(args), **{k: lower_all(v) for k, v in kwargs.items()})
        if (not isinstance(a, Tracer) or value.shape != _np.shape(lowered)
                or not _np.issubdtype(value.dtype, _np.inexact)):
            return value
        # where(True, value, a) has the value of `value` and derivative where(True, 0, ȧ) = 0
        return where(True, value, a)
    like.__name__ = np_like.__name__
    like.__doc__ = f"numpy.{np_like.__name__}: a constant, traced along with its argument."
    return like


for _like in (_np.zeros_like, _np.ones_like, _np.empty_like):
    implements(_like)(_constant_like(_like))
_constant_full_like = _constant_like(_np.full_like)


@implements(_np.full_like)
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, **kwargs):
    """``numpy.full_like``: a constant carried along with ``a``; a traced ``fill_value``
    keeps its derivative (each entry of the result is fill_value, so the transpose sums)."""
    if not isinstance(fill_value, Tracer):
        return _constant_full_like(a, fill_value, dtype, order, subok, shape, **kwargs)
    zeros = HANDLED[_np.zeros_like](a, dtype=dtype, order=order, subok=subok, shape=shape, **kwargs)
    if not _np.issubdtype(zeros.dtype, _np.inexact):
        return _constant_full_like(a, fill_value, dtype, order, subok, shape, **kwargs)
    return (zeros + fill_value).astype(zeros.dtype)


def full(shape, fill_value, dtype=None, order="C", **kwargs):
    """``numpy.full`` with a traced ``fill_value`` (``riesz.numpy.full``, autograd.numpy's
    ``full``): each entry is fill_value, so the transpose sums the cotangent. NumPy's own
    np.full converts its fill value with np.asarray, which cannot keep a derivative."""
    if not isinstance(fill_value, Tracer):
        return _np.full(shape, fill_value, dtype, order, **kwargs)
    zeros = _np.zeros(shape, dtype=fill_value.dtype if dtype is None else dtype, order=order)
    return (zeros + fill_value).astype(zeros.dtype)


@implements(_np.copyto)
def copyto(dst, src, casting="same_kind", where=True):
    """``numpy.copyto`` into a traced ``dst``: ``dst`` is rebound to src (where ``where``
    holds), as ``dst[...] = src`` is. A NumPy ``dst`` cannot hold a traced ``src``."""
    from ..rules.elementwise import where as select
    from ..rules.indexing import cannot_write, rebind
    if not isinstance(dst, Tracer):
        raise cannot_write("numpy.copyto (also used by np.full and np.full_like with a traced "
                           "fill value: write np.full_like(x, 0.0) + v or v * np.ones(shape))")
    mask = _np.asarray(lower_all(where), dtype=bool)
    new = select(mask, src, dst) + _np.zeros(dst.shape, dtype=dst.dtype)
    rebind(dst, new.astype(dst.dtype), "numpy.copyto")


class _Concatenator:
    """``riesz.numpy.r_`` and ``riesz.numpy.c_``: NumPy's index-expression concatenation
    (``r_[x, 0.0, 1:3]``, ``c_[x, y]``, directives such as ``r_['0,2', x]``) that keeps
    derivatives. NumPy's own ``np.r_``/``np.c_`` converts every item with ``np.array``, so
    plain NumPy code cannot pass traced values to it.

    The layout is NumPy's: ``np.r_`` itself runs with each traced item replaced by
    stand-ins of its shape and dtype, once holding the item's entry numbers 1, 2, ...
    (counted over all traced items), once their negatives and once zeros. An entry of the
    result came from a traced item where the first two runs give opposite nonzero numbers
    (a constant entry is the same in both), and the number says which entry; the result
    is the zeros run with those entries gathered from the traced items (a gather, whose
    transpose scatters the cotangent back). Only shapes and dtypes are read, never the
    traced values, so this stages under riesz.jit too."""
    __slots__ = ("_numpy",)

    def __init__(self, numpy_concatenator):
        self._numpy = numpy_concatenator

    def __getitem__(self, key):
        items = key if isinstance(key, tuple) else (key,)
        traced = [item for item in items if isinstance(item, Tracer)]
        if not traced:
            return self._numpy[key]
        from ..rules.define import dtype_of, shape_of
        from ..rules.elementwise import where
        from ..rules.shape import concat, reshape
        sizes = [int(_np.prod(shape_of(t))) for t in traced]
        starts = _np.cumsum([1] + sizes[:-1])
        numbers = {id(t): _np.arange(s, s + n).reshape(shape_of(t)).astype(dtype_of(t))
                   for t, s, n in zip(traced, starts, sizes)}

        def run(stand_in):
            return self._numpy[tuple(stand_in(numbers[id(item)]) if isinstance(item, Tracer)
                                     else item for item in items)]
        ids, negated, zeros = run(lambda n: n), run(lambda n: -n), run(_np.zeros_like)
        from_traced = (ids == -negated) & (ids != 0)
        entry = _np.where(from_traced, _np.real(ids), 1).astype(_np.intp) - 1
        flat = concat([reshape(t, shape=(n,)) for t, n in zip(traced, sizes)], 0)
        out = where(from_traced, flat[entry], zeros)
        return out if dtype_of(out) == zeros.dtype else out.astype(zeros.dtype)


r_ = _Concatenator(_np.r_)
c_ = _Concatenator(_np.c_)
