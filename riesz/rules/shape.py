"""Shape and assembly: each primitive with its JVP and VJP rules, and the NumPy functions
built from them. All are linear: the JVP applies the same function to the tangent, the VJP
its transpose.

The primitives are reshape, transpose, broadcast_to and concatenate (with getitem and
scatter_add from :mod:`riesz.rules.indexing`); everything else here (stacking, splitting,
tile, repeat, pad, flip, roll, rot90, triangles, diagonals, sort, select, ...) is a
composition of them, so its derivatives, to any order, come from theirs.
"""
import numpy as np

from ..core import Tracer, full_lower
from ..numpy.compat import numpy_name
from ..numpy.dispatch import constant_function, implements, lower_all
from .define import as_dtype, defprim, defvariadic, dtype_of, shape_of, unbroadcast
from .elementwise import where
from .indexing import along_axis_index, copy, getitem, index_update, normalize_index, scatter_add

def _method_or_function(x, name, arg):
    """``x.name(arg)``, which skips the NumPy function's Python layer; ``np.name(x, arg)``
    for a Python number, which has no such method."""
    if isinstance(x, (np.ndarray, np.generic)):
        return getattr(x, name)(arg)
    return getattr(np, name)(x, arg)


# the transpose of reshaping is reshaping back
reshape = defprim("reshape", lambda x, shape: _method_or_function(x, "reshape", shape),
                  jvp=[lambda t, ans, x, shape: reshape(t, shape=shape)],
                  vjp=[lambda g, ans, x, shape: reshape(g, shape=shape_of(x))], reads=[""])

# the transpose of permuting axes by p is permuting by p⁻¹
transpose = defprim("transpose", lambda x, axes: _method_or_function(x, "transpose", axes),
                    jvp=[lambda t, ans, x, axes: transpose(t, axes=axes)],
                    vjp=[lambda g, ans, x, axes: transpose(g, axes=tuple(np.argsort(axes)))],
                    reads=[""])

def broadcast_view(x, shape):
    """``np.broadcast_to(x, shape)``: a read-only view with stride 0 along each axis that
    broadcasting adds or stretches. A contiguous NumPy array's view is built directly, without
    np.broadcast_to's Python layer (2 µs, where the view costs 0.5: the transpose of a sum,
    on every small backward pass)."""
    if isinstance(x, np.generic) and not x.dtype.hasobject:
        x = np.asarray(x)   # a NumPy scalar (a full reduction's value, and its cotangent)
    if type(x) is np.ndarray and x.flags.c_contiguous and not x.dtype.hasobject and \
            x.ndim <= len(shape):
        lead = len(shape) - x.ndim
        strides = [0] * lead
        for n, m, stride in zip(x.shape, shape[lead:], x.strides):
            if n == m:
                strides.append(stride)
            elif n == 1:
                strides.append(0)
            else:   # not broadcastable: NumPy's error
                return np.broadcast_to(x, shape)
        view = np.ndarray(shape, x.dtype, x, 0, tuple(strides))
        view.setflags(write=False)
        return view
    return np.broadcast_to(x, shape)


# the transpose of broadcasting (copying) is summing the copies
broadcast_to = defprim("broadcast_to", broadcast_view,
                       jvp=[lambda t, ans, x, shape: broadcast_to(t, shape=shape)],
                       vjp=[lambda g, ans, x, shape: unbroadcast(g, shape_of(x))], reads=[""])


def _shape_arg(shape):
    # decided on the type: np.ndim of a tuple holding a staged value would convert it to an
    # array, where int() of each entry raises naming the user's line
    if isinstance(shape, (tuple, list)) or (isinstance(shape, np.ndarray) and shape.ndim):
        return tuple(int(n) for n in shape)
    return (int(shape),)


@implements(np.reshape)
def reshape_(a, shape=None, order="C", *, newshape=None, copy=None):
    """``numpy.reshape``; order 'F' (first index fastest) is the C-order reshape of the
    reversed axes: reshape(a, s, 'F') = reshape(aᵀ, reversed s)ᵀ."""
    if order not in ("C", "F", "A"):
        raise NotImplementedError(f"numpy.reshape(order={order!r}) on traced values: use 'C' "
                                  f"or 'F'")
    shape = _shape_arg(newshape if shape is None else shape)
    if -1 in shape:
        shape = np.empty(shape_of(a), dtype=np.bool_).reshape(shape).shape
    if order == "F":
        reversed_axes = tuple(range(len(shape_of(a))))[::-1]
        flat = reshape(transpose(a, axes=reversed_axes), shape=shape[::-1])
        return transpose(flat, axes=tuple(range(len(shape)))[::-1])
    return reshape(a, shape=shape)


@implements(np.ravel)
def ravel(a, order="C"):
    return reshape_(a, (-1,), order=order)


@implements(np.transpose)
def transpose_(a, axes=None):
    ndim = len(shape_of(a))
    axes = tuple(range(ndim))[::-1] if axes is None else tuple(int(i) % ndim for i in axes)
    return transpose(a, axes=axes)


@implements(numpy_name("matrix_transpose"))
def matrix_transpose(x, /):
    """The last two axes swapped (``x.mT``)."""
    if len(shape_of(x)) < 2:
        raise ValueError("Input array must be at least 2-dimensional")
    return swapaxes(x, -1, -2)


@implements(numpy_name("permute_dims"))
def permute_dims(a, axes=None):
    return transpose_(a, axes)


@implements(np.rollaxis)
def rollaxis(a, axis, start=0):
    """``numpy.rollaxis``: axis ``axis`` moved to stand before ``start`` (moveaxis)."""
    n = len(shape_of(a))
    axis = _axis(axis, n)
    if start < 0:
        start += n
    if not 0 <= start <= n:
        raise np.exceptions.AxisError(f"start={start} must satisfy 0 <= start <= {n}")
    if axis < start:
        start -= 1
    return a if axis == start else moveaxis(a, axis, start)


@implements(np.swapaxes)
def swapaxes(a, axis1, axis2):
    axes = list(range(len(shape_of(a))))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, axes=tuple(axes))


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    ndim = len(shape_of(a))
    src = [s % ndim for s in np.atleast_1d(source)]
    dst = [d % ndim for d in np.atleast_1d(destination)]
    order = [i for i in range(ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, axes=tuple(order))


@implements(np.broadcast_to)
def broadcast_to_(array, shape, subok=False):
    return broadcast_to(array, shape=_shape_arg(shape))


@implements(np.expand_dims)
def expand_dims(a, axis):
    shape = shape_of(a)
    out_ndim = len(shape) + np.size(axis)
    axes = {int(i) % out_ndim for i in np.atleast_1d(axis)}
    it = iter(shape)
    return reshape(a, shape=tuple(1 if i in axes else next(it) for i in range(out_ndim)))


@implements(np.squeeze)
def squeeze(a, axis=None):
    shape = shape_of(a)
    if axis is None:
        axes = {i for i, n in enumerate(shape) if n == 1}
    else:
        axes = {int(i) % len(shape) for i in np.atleast_1d(axis)}
        if any(shape[i] != 1 for i in axes):
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return reshape(a, shape=tuple(n for i, n in enumerate(shape) if i not in axes))


# ------------------------------------------------------------ assembly: concatenate

def _piece(axis, offsets, i):
    """The index of argument ``i``'s block in the concatenation along ``axis``."""
    return (slice(None),) * axis + (slice(offsets[i], offsets[i + 1]),)


# concatenate(x₀, …, xₖ) is linear: ∂ = concatenate(ẋ₀, …, ẋₖ), one block per argument (the
# block of ẋᵢ placed into zeros); the transpose splits the cotangent, g ↦ g[block i].
# ``offsets`` are where the blocks start along ``axis`` (and the total at the end).
concatenate = defvariadic(
    "concatenate", lambda *arrays, axis, offsets: np.concatenate(arrays, axis=axis),
    jvp=lambda i, t, ans, *arrays, axis, offsets: scatter_add(
        t, idx=_piece(axis, offsets, i), shape=shape_of(ans)),
    vjp=lambda i, g, ans, *arrays, axis, offsets: getitem(g, idx=_piece(axis, offsets, i)))


def concat(arrays, axis):
    """Join ``arrays`` (same shape except along ``axis``) along ``axis``."""
    shapes = [shape_of(a) for a in arrays]
    if not shapes:
        raise ValueError("need at least one array to concatenate")
    ndim = len(shapes[0])
    if ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    axis = _axis(axis, ndim)
    for s in shapes:
        if len(s) != ndim or s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:]:
            raise ValueError(f"concatenate: all the input array dimensions except for the "
                             f"concatenation axis must match exactly, got shapes {shapes}")
    if len(arrays) == 1:
        return copy(arrays[0])   # a new array, as NumPy's (so y[idx] = v leaves the argument)
    if len(arrays) > _FAN_IN:
        # each argument's rule receives all k arguments, so one concatenate of k arrays costs
        # O(k²) in the backward pass and its JVP O(k·size): a tree of concatenates of at most
        # _FAN_IN arrays keeps both near linear
        return concat([concat(arrays[i:i + _FAN_IN], axis)
                       for i in range(0, len(arrays), _FAN_IN)], axis)
    offsets = (0,) + tuple(int(o) for o in np.cumsum([s[axis] for s in shapes]))
    return concatenate(*arrays, axis=axis, offsets=offsets)


_FAN_IN = 32


def _axis(axis, ndim):
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


@implements(np.concatenate)
def concatenate_(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    if out is not None:
        raise TypeError("numpy.concatenate(..., out=...) cannot write traced values into an "
                        "array; use the returned array")
    arrays = list(arrays)
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    out = concat(arrays, axis)
    return out if dtype is None else out.astype(dtype)


def _atleast(ndim, *arys):
    # 0-d → (1,…), 1-D (n,) → (1, n) and (1, n, 1), 2-D (m, n) → (m, n, 1): NumPy's placements
    out = []
    for a in arys:
        s = shape_of(a)
        if len(s) < ndim:
            s = {0: (1,) * ndim, 1: (1,) + s + (1,) * (ndim - 2), 2: s + (1,)}[len(s)]
            a = reshape(a, shape=s)
        out.append(a)
    return out[0] if len(out) == 1 else tuple(out)


@implements(np.atleast_1d)
def atleast_1d(*arys):
    return _atleast(1, *arys)


@implements(np.atleast_2d)
def atleast_2d(*arys):
    return _atleast(2, *arys)


@implements(np.atleast_3d)
def atleast_3d(*arys):
    return _atleast(3, *arys)


def _as_list(x):
    out = _atleast(1, *x)
    return list(out) if isinstance(out, tuple) else [out]


@implements(np.hstack)
def hstack(tup, *, dtype=None, casting="same_kind"):
    arrays = _as_list(tup)
    return concatenate_(arrays, axis=0 if len(shape_of(arrays[0])) == 1 else 1, dtype=dtype)


@implements(np.vstack)
def vstack(tup, *, dtype=None, casting="same_kind"):
    return concatenate_([atleast_2d(a) for a in tup], axis=0, dtype=dtype)


@implements(np.dstack)
def dstack(tup):
    return concatenate_([atleast_3d(a) for a in tup], axis=2)


@implements(np.column_stack)
def column_stack(tup):
    cols = [reshape(a, shape=shape_of(a) + (1,)) if len(shape_of(a)) < 2 else a
            for a in (atleast_1d(a) for a in tup)]
    return concatenate_(cols, axis=1)


# ------------------------------------------------------------ splitting

def _split(ary, indices_or_sections, axis, equal):
    shape = shape_of(ary)
    axis = _axis(axis, len(shape))
    n = shape[axis]
    if np.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        if equal and n % sections:
            raise ValueError("array split does not result in an equal division")
        each, extra = divmod(n, sections)
        bounds = np.cumsum([0] + extra * [each + 1] + (sections - extra) * [each])
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    lead = (slice(None),) * axis
    return [getitem(ary, idx=lead + (slice(int(a), int(b)),)) for a, b in zip(bounds, bounds[1:])]


@implements(np.split)
def split(ary, indices_or_sections, axis=0):
    return _split(ary, indices_or_sections, axis, equal=True)


@implements(np.array_split)
def array_split(ary, indices_or_sections, axis=0):
    return _split(ary, indices_or_sections, axis, equal=False)


@implements(np.hsplit)
def hsplit(ary, indices_or_sections):
    return split(ary, indices_or_sections, axis=1 if len(shape_of(ary)) > 1 else 0)


@implements(np.vsplit)
def vsplit(ary, indices_or_sections):
    if len(shape_of(ary)) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, axis=0)


@implements(np.dsplit)
def dsplit(ary, indices_or_sections):
    if len(shape_of(ary)) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, axis=2)


# ------------------------------------------------------------ copies: tile, repeat, broadcast

@implements(np.tile)
def tile(A, reps):
    """Copies of ``A`` side by side: each axis of size n becomes (r, n) by broadcasting, then
    merged to r·n, so the transpose (summing the copies) comes from broadcast_to."""
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    shape = shape_of(A)
    d = max(len(shape), len(reps))
    shape = (1,) * (d - len(shape)) + shape
    reps = (1,) * (d - len(reps)) + reps
    spread = tuple(x for r, n in zip(reps, shape) for x in (1, n))
    copies = broadcast_to(reshape(A, shape=spread),
                          shape=tuple(x for r, n in zip(reps, shape) for x in (r, n)))
    return reshape(copies, shape=tuple(r * n for r, n in zip(reps, shape)))


@implements(np.repeat)
def repeat(a, repeats, axis=None):
    """Each element repeated along ``axis``: a broadcast for a scalar count, else a gather."""
    if axis is None:
        a, axis = ravel(a), 0
    shape = shape_of(a)
    axis = _axis(axis, len(shape))
    if np.ndim(repeats) == 0 or np.size(repeats) == 1:
        r = int(np.reshape(repeats, -1)[0])
        spread = shape[:axis + 1] + (1,) + shape[axis + 1:]
        copies = broadcast_to(reshape(a, shape=spread), shape=spread[:axis + 1] + (r,) + spread[axis + 2:])
        return reshape(copies, shape=shape[:axis] + (shape[axis] * r,) + shape[axis + 1:])
    index = np.repeat(np.arange(shape[axis]), np.asarray(repeats))
    return getitem(a, idx=(slice(None),) * axis + (index,))


@implements(np.broadcast_arrays)
def broadcast_arrays(*args, subok=False):
    shape = np.broadcast_shapes(*(shape_of(a) for a in args))
    return tuple(a if shape_of(a) == shape else broadcast_to(a, shape=shape) for a in args)


# ------------------------------------------------------------ reordering: flip, roll, rot90

def _axes(axis, ndim):
    return tuple(range(ndim)) if axis is None else tuple(
        _axis(a, ndim) for a in np.atleast_1d(axis))


@implements(np.flip)
def flip(m, axis=None):
    """``m`` reversed along ``axis``: a slice with step −1 (its transpose reverses back)."""
    ndim = len(shape_of(m))
    axes = _axes(axis, ndim)
    return getitem(m, idx=tuple(slice(None, None, -1) if i in axes else slice(None)
                                for i in range(ndim)))


@implements(np.fliplr)
def fliplr(m):
    if len(shape_of(m)) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, axis=1)


@implements(np.flipud)
def flipud(m):
    if len(shape_of(m)) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, axis=0)


# a cyclic shift along axes: linear, and its transpose shifts back
roll_p = defprim(
    "roll", lambda a, shift, axis: np.roll(a, shift, axis),
    jvp=[lambda t, ans, a, shift, axis: roll_p(t, shift=shift, axis=axis)],
    vjp=[lambda g, ans, a, shift, axis: roll_p(g, shift=tuple(-s for s in shift), axis=axis)])


@implements(np.roll)
def roll(a, shift, axis=None):
    """``a`` shifted cyclically (one primitive: the transpose rolls back). The shifts are
    summed per axis and taken modulo its length, so the parameters are plain ints."""
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), shape=shape_of(a))
    shape = shape_of(a)
    shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))
    total = {}
    for s, ax in zip(shifts.ravel(), axes.ravel()):
        ax = _axis(ax, len(shape))
        total[ax] = total.get(ax, 0) + int(s)
    total = {ax: s % shape[ax] for ax, s in total.items() if shape[ax] and s % shape[ax]}
    if not total:
        return copy(a)
    return roll_p(a, shift=tuple(total.values()), axis=tuple(total))


@implements(np.rot90)
def rot90(m, k=1, axes=(0, 1)):
    """NumPy's composition of a flip and a transpose."""
    ndim = len(shape_of(m))
    a0, a1 = (_axis(a, ndim) for a in axes)
    if a0 == a1:
        raise ValueError("Axes must be different.")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(m, a1), axes=tuple(perm))
    return flip(transpose(m, axes=tuple(perm)), a1)


# ------------------------------------------------------------ triangles and diagonals

def _triangle(m, k, upper):
    shape = shape_of(m)
    rows, cols = shape[-2:] if len(shape) >= 2 else (shape[-1], shape[-1])
    keep = np.ones((rows, cols), dtype=bool)
    keep = np.triu(keep, k) if upper else np.tril(keep, k)
    return where(keep, m, np.zeros((), dtype=dtype_of(m)))


@implements(np.triu)
def triu(m, k=0):
    """The upper triangle: entries below diagonal ``k`` set to (an exact) zero."""
    return _triangle(m, int(k), upper=True)


@implements(np.tril)
def tril(m, k=0):
    """The lower triangle: entries above diagonal ``k`` set to (an exact) zero."""
    return _triangle(m, int(k), upper=False)


def _diagonal_index(rows, cols, k):
    n = max(0, min(rows - max(-k, 0), cols - max(k, 0)))
    return np.arange(n) + max(-k, 0), np.arange(n) + max(k, 0)


@implements(np.diag)
def diag(v, k=0):
    """A 1-D ``v`` placed on diagonal ``k`` of a square zero matrix, or diagonal ``k`` of a
    2-D ``v``; the two are each other's transposes."""
    shape = shape_of(v)
    k = int(k)
    if len(shape) == 1:
        n = shape[0] + abs(k)
        return scatter_add(v, idx=_diagonal_index(n, n, k), shape=(n, n))
    if len(shape) == 2:
        return getitem(v, idx=_diagonal_index(*shape, k))
    raise ValueError("Input must be 1- or 2-d.")


@implements(np.diagflat)
def diagflat(v, k=0):
    return diag(ravel(v), k)


# ------------------------------------------------------------ padding

def _pad_pairs(value, ndim, dtype=np.intp):
    """``pad_width``, ``stat_length`` or ``end_values`` as one (before, after) pair per axis,
    NumPy's broadcasting of a scalar, a pair or a pair per axis."""
    pairs = np.broadcast_to(np.asarray(value, dtype=dtype), (ndim, 2))
    if dtype is np.intp and (pairs < 0).any():
        raise ValueError("index can't contain negative values")
    return [tuple(pair.tolist()) for pair in pairs]


def _pad_widths(pad_width, ndim):
    return _pad_pairs(lower_all(pad_width), ndim)


def _traced(value):
    """Whether ``value`` (a number, an array, or nested lists and tuples) holds a traced value."""
    return isinstance(value, Tracer) or (type(value) in (list, tuple)
                                         and any(_traced(v) for v in value))


_PAD_GATHERS = ("edge", "reflect", "symmetric", "wrap")
_PAD_STATISTICS = {"maximum": "max", "minimum": "min", "mean": "mean", "median": "median"}
_PAD_KEYWORDS = {"reflect": {"reflect_type"}, "symmetric": {"reflect_type"},
                 "linear_ramp": {"end_values"}, **dict.fromkeys(_PAD_STATISTICS, {"stat_length"})}


@implements(np.pad)
def pad(array, pad_width, mode="constant", **kwargs):
    """``numpy.pad`` for every mode but a callable: 'constant' (``constant_values`` one
    scalar, which may be traced, or constants per axis and side), 'empty' (zeros), 'edge',
    'reflect', 'symmetric', 'wrap', 'linear_ramp', 'maximum', 'minimum', 'mean' and 'median'.

    'constant' places ``array`` into zeros (scatter_add, whose transpose is the slice back)
    and adds the constant on the border; 'edge', 'reflect', 'symmetric' and 'wrap' gather
    indices that NumPy's own ``pad`` computes on ``arange(n)``, so repeated border entries
    add up in the transpose. The others pad one axis after another, as NumPy does, with
    borders computed from the entries:

    * ``reflect_type='odd'`` (2·edge − reflection, a linear map): the border is B x along the
      axis, with B the border rows of NumPy's pad of the identity matrix;
    * 'linear_ramp': ``end + (edge − end)·i/width``, i = 0 … width − 1 counted from the end
      value inwards;
    * the statistics: ``np.max`` (``min``, ``mean``, ``median``) of the first (last)
      ``stat_length`` entries, repeated; their derivatives are those functions' (at ties,
      the conventions of np.max and np.median).
    """
    shape = shape_of(array)
    widths = _pad_widths(pad_width, len(shape))
    if mode in ("constant", "empty"):
        c = kwargs.pop("constant_values", 0)
        if kwargs or (np.ndim(c) != 0 and isinstance(c, Tracer)):
            raise NotImplementedError("numpy.pad on traced values: mode='constant' takes "
                                      "constant_values that are one scalar or not traced")
        padded = tuple(n + b + a for n, (b, a) in zip(shape, widths))
        inner = tuple(slice(b, b + n) for n, (b, a) in zip(shape, widths))
        out = scatter_add(array, idx=inner, shape=padded)
        if np.ndim(c) != 0:   # per axis and side: NumPy lays the constants out on zeros
            return out + np.pad(np.zeros(shape, dtype_of(out)), widths, constant_values=c)
        if isinstance(c, Tracer) or c != 0:
            border = np.ones(padded, dtype=dtype_of(out))
            border[inner] = 0
            out = out + c * border
        return out
    if mode not in _PAD_GATHERS + ("linear_ramp",) + tuple(_PAD_STATISTICS):
        raise NotImplementedError(
            f"numpy.pad(mode={mode!r}) is not supported on traced values; supported: "
            f"'constant', 'empty', 'edge', 'reflect', 'symmetric', 'wrap', 'linear_ramp', "
            f"'maximum', 'minimum', 'mean', 'median'")
    unknown = set(kwargs) - _PAD_KEYWORDS.get(mode, set())
    if unknown:
        raise ValueError(f"unsupported keyword arguments for mode '{mode}': {unknown}")
    for axis, (n, (b, a)) in enumerate(zip(shape, widths)):
        if b or a:
            array = _pad_axis(array, axis, n, b, a, mode, kwargs)
    return array


def _pad_axis(array, axis, n, b, a, mode, kwargs):
    """``array`` padded by ``b`` entries before and ``a`` after along ``axis`` (of length n)."""
    ndim = len(shape_of(array))

    def along(idx):
        return getitem(array, idx=(slice(None),) * axis + (idx,))

    def spread(values, width):   # a vector laid out along the axis
        return np.reshape(values, (width,) + (1,) * (ndim - axis - 1)).astype(dtype_of(array))

    if mode in _PAD_GATHERS and kwargs.get("reflect_type", "even") == "even":
        return along(np.pad(np.arange(n), (b, a), mode=mode))
    if mode in _PAD_GATHERS:   # odd reflections: the border rows of the padded identity
        rows = np.pad(np.eye(n, dtype=dtype_of(array)), ((b, a), (0, 0)), mode=mode,
                      reflect_type=kwargs["reflect_type"])
        borders = [moveaxis(moveaxis(array, axis, -1) @ np.ascontiguousarray(rows[s].T), -1, axis)
                   for s in (slice(0, b), slice(b + n, None))]
    elif mode == "linear_ramp":
        ends = kwargs.get("end_values", 0)
        if _traced(ends):
            raise NotImplementedError("numpy.pad(mode='linear_ramp') on traced values: "
                                      "end_values must not be traced; pad with end_values=0 "
                                      "and add the traced ramp yourself")
        lo, hi = _pad_pairs(ends, ndim, dtype_of(array))[axis]
        borders = [lo + (along(slice(0, 1)) - lo) * spread(np.arange(b) / max(b, 1), b),
                   hi + (along(slice(n - 1, n)) - hi) * spread(np.arange(a)[::-1] / max(a, 1), a)]
    else:
        stat = getattr(np, _PAD_STATISTICS[mode])
        lengths = kwargs.get("stat_length")
        sb, sa = (n, n) if lengths is None else _pad_pairs(lengths, ndim)[axis]
        if sb == 0 or sa == 0:   # NumPy's error for max and min (mean and median give NaN)
            raise ValueError("stat_length of 0 yields no value for padding")
        borders = []
        for window, width in ((slice(0, min(sb, n)), b), (slice(n - min(sa, n), n), a)):
            value = stat(along(window), axis=axis, keepdims=True)
            borders.append(broadcast_to(value, shape=shape_of(value)[:axis] + (width,)
                                        + shape_of(value)[axis + 1:]))
    return concat([borders[0], array, borders[1]], axis)


# ------------------------------------------------------------ sorting and selecting

def _reorder(a, axis, order_of):
    """``a`` gathered along ``axis`` by the permutation ``order_of(values, axis)`` computed on
    its values without derivatives (staged where ``a`` is, riesz.staging): the derivative
    follows the same permutation."""
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axis(axis, len(shape_of(a)))
    perm = order_of(full_lower(a), axis)
    return getitem(a, idx=along_axis_index(shape_of(a), perm, axis))


@implements(np.sort)
def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """Sorted values; the derivative follows the sorting permutation (entries that tie keep
    the order NumPy's argsort gives them)."""
    if order is not None:
        raise NotImplementedError("numpy.sort(order=...) of structured arrays is not supported")
    kind = "stable" if stable else kind   # NumPy 2's stable=True, in a form NumPy 1.26 takes
    return _reorder(a, axis, lambda x, ax: np.argsort(x, axis=ax, kind=kind))


@implements(np.partition)
def partition(a, kth, axis=-1, kind="introselect", order=None):
    """Partitioned values; the derivative follows NumPy's argpartition permutation."""
    if order is not None:
        raise NotImplementedError("numpy.partition(order=...) of structured arrays is not supported")
    return _reorder(a, axis, lambda x, ax: _argpartition(x, kth, axis=ax, kind=kind))


_argpartition = constant_function(np.argpartition)


@implements(np.select)
def select(condlist, choicelist, default=0):
    """The first choice whose condition holds, else ``default``: a chain of ``where`` (each
    unselected choice gets an exact zero cotangent)."""
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    out = default
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = where(as_dtype(lower_all(cond), bool), choice, out)   # staged where cond is
    shape = np.broadcast_shapes(*(shape_of(c) for c in (*condlist, *choicelist, default)))
    return out if shape_of(out) == shape else broadcast_to(out, shape=shape)


@implements(np.lib.stride_tricks.sliding_window_view)
def sliding_window_view(x, window_shape, axis=None, *, subok=False, writeable=False):
    """``numpy.lib.stride_tricks.sliding_window_view``: every window of ``window_shape``
    along ``axis`` (default: all axes), the window axes appended at the end. A gather:
    out[..., i, ..., j] = x[..., i + j, ...], so the transpose adds each entry's cotangent
    over every window that holds it (a convolution written this way differentiates)."""
    if writeable:
        raise ValueError("sliding_window_view(writeable=True) on a traced value: the windows "
                         "are a gather, not a view, so writes would not reach x")
    shape = shape_of(x)
    windows = (window_shape,) if np.ndim(window_shape) == 0 else tuple(window_shape)
    axes = tuple(range(len(shape))) if axis is None else (
        (axis,) if np.ndim(axis) == 0 else tuple(axis))
    if len(windows) != len(axes):
        raise ValueError(f"sliding_window_view: {len(windows)} window sizes for "
                         f"{len(axes)} axes; give one size per axis")
    axes = tuple(a % len(shape) for a in axes)
    lengths = list(shape)
    for a, w in zip(axes, windows):
        if not 0 <= w <= lengths[a]:
            raise ValueError("window shape cannot be larger than input array shape")
        lengths[a] -= w - 1
    out_ndim = len(shape) + len(windows)

    def placed(values, dim):        # a 1-D range laid along output axis ``dim``
        return np.reshape(values, [-1 if d == dim else 1 for d in range(out_ndim)])

    index = [placed(np.arange(n), d) for d, n in enumerate(lengths)]
    for k, (a, w) in enumerate(zip(axes, windows)):
        index[a] = index[a] + placed(np.arange(w), len(shape) + k)
    return x[tuple(index)]


@implements(np.piecewise)
def piecewise(x, condlist, funclist, *args, **kw):
    """``numpy.piecewise``: each function of ``funclist`` (or constant) evaluated on the
    entries of ``x`` its condition selects, later conditions winning, the rest 0 (or the
    extra last function: "otherwise"). Each piece is an indexed update of the result, so the
    derivative at an entry is that of the piece that produced it."""
    shape = shape_of(x)
    conditions = lower_all(condlist)
    if np.isscalar(conditions) or (not isinstance(conditions[0], (list, np.ndarray))
                                   and len(shape) != 0):
        conditions = [conditions]
    conditions = np.asarray(conditions, dtype=bool)
    if len(funclist) == len(conditions) + 1:     # the "otherwise" piece
        conditions = np.concatenate([conditions, ~np.any(conditions, axis=0, keepdims=True)])
    elif len(funclist) != len(conditions):
        raise ValueError(f"with {len(conditions)} condition(s), either {len(conditions)} or "
                         f"{len(conditions) + 1} functions are expected")
    if len(shape) == 0:       # a scalar: its pieces see a 1-entry array, as in NumPy
        x, conditions = np.reshape(x, (1,)), np.reshape(conditions, (-1, 1))
    y = np.zeros(shape_of(x), dtype=dtype_of(x))
    for condition, piece in zip(conditions, funclist):
        if not callable(piece):
            y = where(condition, piece, y)
        elif condition.any():
            y = index_update(y, piece(x[condition], *args, **kw), idx=normalize_index(condition))
    return np.reshape(y, shape)


@implements(np.apply_along_axis)
def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """``numpy.apply_along_axis``: ``func1d`` on every 1-D slice of ``arr`` along ``axis``,
    the results stacked in its place (a Python loop over the slices, as NumPy's own)."""
    from ..numpy.creation import stack
    arr_shape = shape_of(arr)
    axis = axis % len(arr_shape)
    moved = moveaxis(arr, axis, -1)
    outer = arr_shape[:axis] + arr_shape[axis + 1:]
    results = [func1d(moved[index], *args, **kwargs) for index in np.ndindex(*outer)]
    if not results:
        raise ValueError("Cannot apply_along_axis when any iteration dimensions are 0")
    out = stack(results)                                     # (Π outer, *result shape)
    out = np.reshape(out, outer + shape_of(out)[1:])
    result_ndim = len(shape_of(out)) - len(outer)
    # the result's own axes take the place of ``axis``, as in NumPy
    return np.moveaxis(out, list(range(len(outer), len(outer) + result_ndim)),
                       list(range(axis, axis + result_ndim)))


@implements(np.choose)
def choose(a, choices, out=None, mode="raise"):
    """``choices[a]`` entry by entry: a chain of ``where`` on the concrete integer array ``a``."""
    if out is not None:
        raise TypeError("numpy.choose(..., out=...) cannot write traced values into an array")
    a = np.asarray(lower_all(a))
    n = len(choices)
    if mode == "wrap":
        a = a % n
    elif mode == "clip":
        a = np.clip(a, 0, n - 1)
    elif ((a < 0) | (a >= n)).any():
        raise ValueError("invalid entry in choice array")
    shape = np.broadcast_shapes(a.shape, *(shape_of(c) for c in choices))
    result = broadcast_to(choices[0], shape=shape) if shape_of(choices[0]) != shape else choices[0]
    for i in range(1, n):
        result = where(a == i, choices[i], result)
    return copy(result) if result is choices[0] else result


# ------------------------------------------------------------ growing and shrinking

@implements(np.append)
def append(arr, values, axis=None):
    """``numpy.append``: a concatenation (of the flattened arrays when ``axis`` is None).
    Either argument may be a list of traced values."""
    from ..numpy.creation import asarray
    arr, values = asarray(arr), asarray(values)
    if axis is None:
        return np.concatenate([np.ravel(arr), np.ravel(values)])
    return np.concatenate([arr, values], axis=axis)


def _kept(n, obj):
    keep = np.ones(n, dtype=bool)
    keep[np.asarray(lower_all(obj))] = False
    return np.flatnonzero(keep)


@implements(np.delete)
def delete(arr, obj, axis=None):
    """``numpy.delete``: the entries left after removing ``obj`` (a gather)."""
    if axis is None:
        arr, axis = np.ravel(arr), 0
    axis = _axis(axis, len(shape_of(arr)))
    kept = obj if isinstance(obj, slice) else None
    if kept is not None:
        kept = np.delete(np.arange(shape_of(arr)[axis]), obj)
    else:
        kept = _kept(shape_of(arr)[axis], obj)
    return getitem(arr, idx=(slice(None),) * axis + (kept,))


@implements(np.insert)
def insert(arr, obj, values, axis=None):
    """``numpy.insert``: NumPy inserts labels of the entries of ``values`` into an array of
    labels of ``arr`` (so its rules for positions and broadcasting apply unchanged); the
    result gathers each entry from ``arr`` or ``values`` by its label."""
    size = int(np.prod(shape_of(arr)))
    value_shape = np.shape(lower_all(values))
    labels = np.arange(size).reshape(shape_of(arr))
    value_labels = size + np.arange(int(np.prod(value_shape)), dtype=np.intp).reshape(value_shape)
    placed = np.insert(labels, lower_all(obj), value_labels, axis=axis)
    flat_values = np.ravel(values)
    if isinstance(flat_values, Tracer) or dtype_of(flat_values) != dtype_of(arr):
        flat_values = flat_values.astype(dtype_of(arr))
    return np.concatenate([np.ravel(arr), flat_values])[placed]


@implements(np.resize)
def resize(a, new_shape):
    """``numpy.resize``: the flattened array repeated to fill ``new_shape`` (a gather)."""
    new_shape = _shape_arg(new_shape)
    size = int(np.prod(shape_of(a)))
    total = int(np.prod(new_shape))
    if size == 0 or total == 0:
        return np.zeros(new_shape, dtype=dtype_of(a))
    return reshape(np.ravel(a)[np.arange(total) % size], shape=new_shape)


@implements(np.compress)
def compress(condition, a, axis=None, out=None):
    """``numpy.compress``: the slices where ``condition`` holds (a gather)."""
    if out is not None:
        raise TypeError("numpy.compress(..., out=...) cannot write traced values into an array")
    if axis is None:
        a, axis = np.ravel(a), 0
    kept = np.flatnonzero(np.asarray(lower_all(condition), dtype=bool))
    return getitem(a, idx=(slice(None),) * _axis(axis, len(shape_of(a))) + (kept,))


@implements(np.extract)
def extract(condition, arr):
    """``numpy.extract``: the entries of ``arr`` (flattened) where ``condition`` holds."""
    mask = np.ravel(np.asarray(lower_all(condition), dtype=bool))
    return np.ravel(arr)[np.flatnonzero(mask)]


@implements(numpy_name("unstack"))
def unstack(x, /, *, axis=0):
    """``numpy.unstack``: the slices along ``axis``, as a tuple."""
    axis = _axis(axis, len(shape_of(x)))
    return tuple(x[(slice(None),) * axis + (i,)] for i in range(shape_of(x)[axis]))


@implements(np.meshgrid)
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """``numpy.meshgrid``: each 1-D input reshaped along its own axis (the first two swapped
    for indexing='xy') and, unless ``sparse``, broadcast to the full grid."""
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    ndim = len(xi)
    grids = []
    for i, x in enumerate(xi):
        axis = {0: 1, 1: 0}.get(i, i) if indexing == "xy" and ndim > 1 else i
        shape = [1] * ndim
        shape[axis] = -1
        grids.append(np.reshape(x, tuple(shape)))
    return tuple(np.broadcast_arrays(*grids)) if not sparse else tuple(grids)


@implements(np.block)
def block(arrays):
    """``numpy.block``: nested lists concatenated along the last axes, innermost lists along
    the last axis (arrays are first raised to the nesting depth, as NumPy does)."""
    def depth(x):
        return 1 + depth(x[0]) if isinstance(x, list) else 0
    levels = depth(arrays)
    ndim = max(levels, max(len(shape_of(v)) for v in _leaves(arrays)))

    def assemble(x, level):
        if not isinstance(x, list):
            return np.reshape(x, (1,) * (ndim - len(shape_of(x))) + shape_of(x))
        return np.concatenate([assemble(v, level + 1) for v in x], axis=level - levels)
    return assemble(arrays, 0)


def _leaves(x):
    if isinstance(x, list):
        for v in x:
            yield from _leaves(v)
    else:
        yield x


# ------------------------------------------------------------ writers into a traced array

def _write(a, idx, values, what):
    """``a[idx] = values`` on a traced ``a`` (rebound, as an assignment is); a NumPy ``a``
    cannot hold traced values."""
    from .indexing import cannot_write
    if not isinstance(a, Tracer):
        raise cannot_write(what)
    a[idx] = values


def _cycled(values, count):
    # NumPy's put/place/fill_diagonal repeat the values cyclically over the targets
    from ..numpy.creation import asarray
    values = asarray(values)
    if len(shape_of(values)) == 0:
        return values
    return resize(np.ravel(values), (count,)) if count else np.ravel(values)[:0]


@implements(np.fill_diagonal)
def fill_diagonal(a, val, wrap=False):
    """``numpy.fill_diagonal`` on a traced ``a``: the diagonal NumPy would write, assigned."""
    marks = np.zeros(shape_of(a), dtype=bool)
    np.fill_diagonal(marks, True, wrap=wrap)
    where_ = np.nonzero(marks)
    _write(a, where_, _cycled(val, where_[0].size), "numpy.fill_diagonal")


@implements(np.put)
def put(a, ind, v, mode="raise"):
    """``numpy.put`` on a traced ``a``: ``a.flat[ind] = v``."""
    size = int(np.prod(shape_of(a)))
    ind = np.ravel(np.asarray(lower_all(ind)))
    if mode == "wrap":
        ind = ind % size
    elif mode == "clip":
        ind = np.clip(ind, 0, size - 1)
    elif ((ind < -size) | (ind >= size)).any():
        raise IndexError(f"index out of range for array of size {size}")
    _write(a, np.unravel_index(ind % size, shape_of(a)), _cycled(v, ind.size), "numpy.put")


@implements(np.place)
def place(arr, mask, vals):
    """``numpy.place`` on a traced ``arr``: ``arr[mask] = vals`` (vals repeated)."""
    mask = np.broadcast_to(np.asarray(lower_all(mask), dtype=bool), shape_of(arr))
    where_ = np.nonzero(mask)
    _write(arr, where_, _cycled(vals, where_[0].size), "numpy.place")
