"""Indexing: reading ``x[idx]``, its transpose the scatter-add, and indexed assignment
``y[idx] = v`` as a functional update (the primitive ``index_update``).

Indices are concrete (slices, integers, integer and boolean arrays, ``None``,
``Ellipsis``, in any mix NumPy accepts); traced values inside an index are read
at their concrete value, since an index carries no derivative.
"""
import functools
import weakref

import numpy as np

from .. import backend
from ..backend import is_array, is_numpy, library_errors, unsupported
from ..core import Tracer, full_lower
from ..numpy.dispatch import HANDLED, constant_function, implements, lower_all
from .define import as_dtype, defprim, shape_of, dtype_of, unbroadcast


def _selects_once(idx):
    # no integer arrays: slices, integers, None, Ellipsis and boolean masks select each
    # element at most once
    if isinstance(idx, (int, np.integer, slice)):
        return True
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer, bool))
               or (isinstance(i, np.ndarray) and i.dtype == np.bool_) for i in items)


def _scatter_add_impl(g, idx, shape):
    out = np.zeros_like(g, shape=shape)   # in g's library (NumPy, Dask, CuPy) and on its device
    if _selects_once(idx):
        items = idx if isinstance(idx, tuple) else (idx,)
        if any(i is None for i in items):   # x[:, None]: Dask's setitem takes no new axis,
            idx = tuple(i for i in items if i is not None)   # and g's axes there have size 1
            g = np.reshape(g, out[idx].shape)
        out[idx] = g
    elif is_numpy(out):
        np.add.at(out, idx, g)   # repeated indices add up
    else:
        out = _add_at_in_layers(out, idx, g)   # Dask has no np.add.at
    return out


def _add_at_in_layers(out, idx, g):
    """``np.add.at(out, idx, g)`` by indexed assignments (which Dask does lazily), for an
    index of slices and one 1-d integer array ``a``: layer j adds the j-th occurrence of
    each repeated entry of ``a``, so no layer repeats an entry."""
    items = idx if isinstance(idx, tuple) else (idx,)
    arrays = [k for k, i in enumerate(items) if not isinstance(i, slice)]
    a = np.asarray(items[arrays[0]]) if len(arrays) == 1 else None
    if a is None or a.ndim != 1 or a.dtype.kind not in "iu":
        raise unsupported(f"the derivative of x[idx] with idx = {idx!r}", out,
                          NotImplementedError("numpy.add.at"))
    k = arrays[0]   # one integer array among slices: its axis of g is axis k
    group = np.unique(a, return_inverse=True)[1].ravel()
    order = np.argsort(group, kind="stable")
    layer = np.empty_like(order)
    layer[order] = np.arange(len(a)) - np.searchsorted(group[order], group[order])
    for j in range(int(layer.max(initial=-1)) + 1):
        pos = np.flatnonzero(layer == j)
        target = items[:k] + (a[pos],) + items[k + 1:]
        out[target] = out[target] + g[(slice(None),) * k + (pos,)]
    return out


def _getitem_impl(x, idx):
    # a Python number (an argument given as 3.0) has no indexing: read it as a 0-d array
    return (x if hasattr(x, "__getitem__") else np.asarray(x))[idx]


# x[idx] is linear in x: ∂ = ẋ[idx]; its transpose scatters g into zeros, adding
# where an integer-array index repeats an element
getitem = defprim("getitem", _getitem_impl,
                  jvp=[lambda t, ans, x, idx: getitem(t, idx=idx)],
                  vjp=[lambda g, ans, x, idx: scatter_add(g, idx=idx, shape=shape_of(x))],
                  reads=[""])

scatter_add = defprim("scatter_add", _scatter_add_impl,
                      jvp=[lambda t, ans, g, idx, shape: scatter_add(t, idx=idx, shape=shape)],
                      vjp=[lambda c, ans, g, idx, shape: getitem(c, idx=idx)])


def normalize_index(idx):
    """An index with traced values made concrete and lists made arrays (as NumPy reads them)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    out = []
    for i in items:
        i = lower_all(i)
        if isinstance(i, list):   # an empty list selects nothing: NumPy reads it as intp
            i = np.asarray(i) if i else np.asarray(i, dtype=np.intp)
        out.append(i)
    return tuple(out) if isinstance(idx, tuple) else out[0]


@implements("getitem")
def getitem_(x, idx):
    idx = normalize_index(idx)
    with library_errors("x[idx]", x):
        out = getitem(x, idx=idx)
    if _is_basic(idx):   # a view in NumPy: y[idx][i] = v also changes y, and y[i] = v it
        mark_view(out, x, lambda view, base: index_update(base, view, idx=idx),
                  lambda base: getitem(base, idx=idx))
    return out


def _is_basic(idx):
    # NumPy's basic indexing (integers, slices, None, Ellipsis): its result is a view
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice))
               for i in (idx if isinstance(idx, tuple) else (idx,)))


# ------------------------------------------------------------ indexed assignment

def _update_impl(y, v, idx):
    # a copy in y's library (Dask, CuPy) and on its device; a NumPy scalar becomes a 0-d array
    out = np.array(y, copy=True) if is_numpy(y) else y.copy()
    out[idx] = v
    return out


def selection_shape(shape, idx):
    """The shape of ``y[idx]`` for ``y`` of ``shape``. It depends on the index's shapes only:
    a traced (staged) index array stands in as zeros of its shape."""
    def shape_only(i):
        return np.zeros(shape_of(i), dtype=dtype_of(i)) if isinstance(i, Tracer) else i
    idx = tuple(map(shape_only, idx)) if isinstance(idx, tuple) else shape_only(idx)
    return np.broadcast_to(np.empty((), dtype=bool), shape)[idx].shape


@constant_function
def _landed(shape, idx):
    """Where an index repeats an element, NumPy keeps the last value written there: a boolean
    mask over ``y[idx]`` marking the entries of ``v`` that land."""
    selected = selection_shape(shape, idx)
    ids = np.full(shape, -1, dtype=np.intp)
    order = np.arange(int(np.prod(selected))).reshape(selected)
    ids[idx] = order
    return ids[idx] == order


def _update_vjp_v(g, ans, y, v, idx):
    # the entries of v that land in the result receive g there; overwritten ones get 0
    ct = getitem(g, idx=idx)
    if not _selects_once(idx):
        landed = _landed(shape=shape_of(y), idx=idx)   # staged where idx is (riesz.jit)
        if isinstance(landed, Tracer) or not landed.all():
            ct = ct * landed
    return unbroadcast(ct, shape_of(v))


# update(y, v) = y with y[idx] replaced by v, linear in (y, v) together:
# ∂ = update(ẏ, 0) + update(0, v̇); the transpose sends g to (update(g, 0), g[idx] summed
# back to v's shape), where update(·, 0) zeroes the overwritten entries
index_update = defprim(
    "index_update", _update_impl,
    jvp=[lambda t, ans, y, v, idx: index_update(t, backend.zeros((), dtype_of(t), like=t), idx=idx),
         lambda t, ans, y, v, idx: index_update(backend.zeros(shape_of(ans), dtype_of(t), like=t), t,
                                                idx=idx)],
    vjp=[lambda g, ans, y, v, idx: index_update(g, backend.zeros((), dtype_of(g), like=g), idx=idx),
         _update_vjp_v])


# ------------------------------------------------------------ writes through views
# NumPy's basic indexing, transpose and swapaxes give views of their argument, and reshape
# does where the layout allows: a write into the view changes the array it views, and a
# write into the array changes the view. A traced value's links (its ``viewed`` slot) say
# which array it views, with write(view, base), the array's value with the view's written
# in, and read(base), the view's value from the array's; and which values view it (weakly
# held: a view nobody reads any more is not kept up to date). y[idx] = v rebinds y, then
# every view of y is read again from it (and theirs from them), and the array y views is
# rebound to its value with y written in (and so on up).

class _Links:
    __slots__ = ("base", "write", "read", "views")

    def __init__(self):
        self.base = self.write = self.read = None   # what this value views, if anything
        self.views = []                             # weak references to its own views


def _links(t):
    links = getattr(t, "viewed", None)
    if links is None:
        links = t.viewed = _Links()
    return links


def is_view(t):
    """Whether the traced ``t`` was marked as a view of another traced value."""
    links = getattr(t, "viewed", None)
    return links is not None and links.base is not None


def mark_view(out, base, write, read):
    """Record that the traced ``out`` is a view of the traced ``base`` (see above)."""
    if isinstance(out, Tracer) and isinstance(base, Tracer) and out is not base:
        links = _links(out)
        links.base, links.write, links.read = base, write, read
        _links(base).views.append(weakref.ref(out))
    return out


def _assign(tracer, new, what):
    """Make the traced value ``tracer`` hold ``new``: its fields are replaced by those of
    ``new``, so every name bound to it sees the update; its links stay."""
    if type(new) is not type(tracer):
        raise TypeError(
            f"{what}: the array is traced by an outer transform ({type(tracer).__name__}) and "
            f"the assigned value by a different transform nested inside it "
            f"({type(new).__name__}), so the array cannot be updated in place. Write the "
            f"update as a new array instead: y = riesz.numpy.at(y)[idx].set(v)")
    links = getattr(tracer, "viewed", None)
    _copy_fields(new, tracer)
    tracer.viewed = links


def _refresh_views(tracer, what, skip=None):
    """Read every live view of ``tracer`` (but ``skip``, the view a write came through) again
    from its new value, and their views from theirs."""
    links = getattr(tracer, "viewed", None)
    if links is None:
        return
    live = [ref for ref in links.views if ref() is not None]
    links.views = live
    for ref in live:
        view = ref()
        if view is not skip and view is not None:
            _assign(view, view.viewed.read(tracer), what)
            _refresh_views(view, what)


def _write_through(view, what):
    if not is_view(view):
        return
    links = view.viewed
    base = links.base
    new = links.write(view, base)
    _assign(base, new if dtype_of(new) == dtype_of(base) else new.astype(dtype_of(base)), what)
    _refresh_views(base, what, skip=view)
    _write_through(base, what)


def rebind(tracer, new, what):
    """Make the traced value ``tracer`` hold ``new`` (an in-place update in NumPy code), as
    NumPy would: every name bound to it sees the update, and so do its views and the
    value it is a view of. Both must be traced values of the same kind (forward or
    reverse mode)."""
    _assign(tracer, new, what)
    _refresh_views(tracer, what)
    _write_through(tracer, what)


def _copy_fields(src, dst):
    # every slot of every class of src, read and written through the slot descriptors
    # (a subclass may shadow a slot with a property); slots a class leaves unset are skipped
    for cls in type(src).__mro__:
        for name in getattr(cls, "__slots__", ()):
            slot = cls.__dict__[name]
            try:
                slot.__set__(dst, slot.__get__(src))
            except AttributeError:
                pass


@implements(np.copy)
def copy(a, order="K", subok=False):
    """A copy of a traced value: a new object holding the same value, so that assigning into
    one (``y[idx] = v``) leaves the other as it was, as with NumPy arrays."""
    if not isinstance(a, Tracer):
        return np.copy(a, order=order)
    new = object.__new__(type(a))
    _copy_fields(a, new)
    new.viewed = None   # a copy views nothing, and nothing views it
    return new


def cannot_write(what):
    return TypeError(
        f"{what}: a traced value cannot be written into a NumPy array (that would drop its "
        f"derivative). Build the array from traced values (riesz.numpy.array, np.stack, "
        f"np.concatenate), or write the update as a new array: "
        f"y = riesz.numpy.at(y)[idx].set(v)")


@implements("setitem")
def setitem(y, idx, v):
    """``y[idx] = v`` on a traced ``y``: ``y`` is rebound to ``update(y, v)``, so the
    derivative flows to both the old ``y`` (outside ``idx``) and ``v`` (inside)."""
    idx, v = normalize_index(idx), _as_value(v)
    if _is_staged_mask(idx, y) and not shape_of(v):
        # one value into the entries a staged mask selects: where(mask, v, y), whose shape
        # does not depend on the mask's values (y[mask] itself would)
        from .elementwise import where
        mask = idx[(Ellipsis,) + (None,) * (len(shape_of(y)) - len(shape_of(idx)))]
        new = where(mask, v, y)
        rebind(y, new if dtype_of(new) == dtype_of(y) else new.astype(dtype_of(y)), "y[mask] = v")
        return
    with library_errors("y[idx] = v", y):
        new = index_update(y, v, idx=idx)
    rebind(y, new, "y[idx] = v")


def _is_staged_mask(idx, y):
    # a boolean array of a program being staged (riesz.jit) over the leading axes of y
    return (isinstance(idx, Tracer) and idx.abstract and dtype_of(idx) == np.bool_
            and shape_of(idx) == shape_of(y)[:len(shape_of(idx))])


def _as_value(v):
    # a list of (possibly traced) values is one array, as NumPy reads it
    if isinstance(v, (list, tuple)):
        from ..numpy.creation import asarray
        return asarray(v)
    return v


class at:
    """Indexed updates that return a new array (JAX's ``x.at[idx]``), on NumPy arrays and
    traced values alike::

        y2 = riesz.numpy.at(y)[2:5].set(v)     # y with y[2:5] replaced by v
        y3 = riesz.numpy.at(y)[[0, 0]].add(v)  # repeated indices add up, like np.add.at

    A traced value also has JAX's spelling, ``y.at[2:5].set(v)`` (a NumPy array has no
    ``.at``: use ``riesz.numpy.at(y)`` where ``y`` may be one). The updates are ``set``,
    ``add``, ``subtract``, ``multiply`` (``mul``), ``divide``, ``power``, ``min`` and
    ``max``, and ``get`` reads ``y[idx]``. Where an integer-array index repeats a target,
    every occurrence is applied, as NumPy's ``ufunc.at`` does (``set``: the last one lands).
    Indices out of bounds raise IndexError, as in NumPy (JAX drops or clamps them).
    """
    __slots__ = ("_array",)

    def __init__(self, array):
        self._array = array

    def __getitem__(self, idx):
        return _IndexedUpdate(self._array, normalize_index(idx))


def _check_jax_options(options):
    # JAX's keywords: the hints about sortedness and uniqueness change nothing here; its
    # out-of-bounds modes differ from NumPy's IndexError and are refused
    unknown = set(options) - {"indices_are_sorted", "unique_indices", "mode"}
    if unknown:
        raise TypeError(f"x.at[idx]: unexpected keyword argument(s) {sorted(unknown)}")
    if options.get("mode") not in (None, "promise_in_bounds"):
        raise NotImplementedError(
            f"x.at[idx](mode={options['mode']!r}): riesz raises IndexError for indices out of "
            f"bounds, as NumPy does; clip or filter the indices first")


def _occurrences(targets):
    """For each entry of the flat positions ``targets``, how many earlier entries hit the
    same position (0 for the first occurrence)."""
    order = np.argsort(targets, kind="stable")
    ordered = targets[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, len(ordered)]))
    occurrence = np.empty_like(order)
    occurrence[order] = np.arange(len(ordered)) - first
    return occurrence


class _IndexedUpdate:
    __slots__ = ("array", "idx")

    def __init__(self, array, idx):
        self.array, self.idx = array, idx

    def get(self, **jax_options):
        """``array[idx]``."""
        _check_jax_options(jax_options)
        return getitem(self.array, idx=self.idx)

    def set(self, values, **jax_options):
        """The array with ``array[idx]`` replaced by ``values``."""
        _check_jax_options(jax_options)
        return index_update(self.array, _as_value(values), idx=self.idx)

    def add(self, values, **jax_options):
        """The array with ``values`` added at ``idx`` (repeated indices add up)."""
        _check_jax_options(jax_options)
        values = self._values(values)
        return self.array + scatter_add(values, idx=self.idx, shape=shape_of(self.array))

    def subtract(self, values, **jax_options):
        return self.add(np.negative(_as_value(values)), **jax_options)

    def multiply(self, values, **jax_options):
        return self.apply_ufunc(np.multiply, values, **jax_options)

    mul = multiply

    def divide(self, values, **jax_options):
        return self.apply_ufunc(np.true_divide, values, **jax_options)

    def power(self, values, **jax_options):
        return self.apply_ufunc(np.power, values, **jax_options)

    def min(self, values, **jax_options):
        return self.apply_ufunc(np.minimum, values, **jax_options)

    def max(self, values, **jax_options):
        return self.apply_ufunc(np.maximum, values, **jax_options)

    def apply_ufunc(self, ufunc, values, **jax_options):
        """The array with ``array[idx] = ufunc(array[idx], values)``, once per occurrence of
        a repeated target (``ufunc.at``'s semantics): a chain of functional updates, one per
        round of occurrences, so the derivative is that of the ufunc along the chain."""
        _check_jax_options(jax_options)
        if ufunc is np.add:
            return self.add(values)
        if ufunc is np.subtract:
            return self.subtract(values)
        values, array, idx = self._values(values), self.array, self.idx
        if _selects_once(idx):
            return index_update(array, ufunc(getitem(array, idx=idx), values), idx=idx)
        from .shape import reshape
        shape = shape_of(array)
        targets = np.arange(int(np.prod(shape))).reshape(shape)[idx].ravel()
        rounds = _occurrences(targets)
        flat, flat_values = reshape(array, shape=(-1,)), reshape(values, shape=(-1,))
        for k in range(int(rounds.max(initial=-1)) + 1):
            picked = np.flatnonzero(rounds == k)
            hit = targets[picked]
            new = ufunc(getitem(flat, idx=hit), getitem(flat_values, idx=picked))
            flat = index_update(flat, new, idx=hit)
        return reshape(flat, shape=shape)

    def _values(self, values):
        # values of the array's dtype (where NumPy's in-place update would cast them), with
        # the shape of the selection array[idx]
        from .shape import broadcast_to
        values = _kept_dtype(_as_value(values), dtype_of(self.array))
        selected = selection_shape(shape_of(self.array), self.idx)
        return values if shape_of(values) == selected else broadcast_to(values, shape=selected)


def _kept_dtype(values, dtype):
    """``values`` cast to the updated array's ``dtype`` where NumPy's in-place update would
    cast them (float64 values into a float32 array: ``np.add.at`` keeps float32); values of
    a wider kind (floats into an integer array) keep theirs and the result is promoted."""
    if dtype_of(values) != dtype and np.can_cast(dtype_of(values), dtype, "same_kind"):
        return as_dtype(values, dtype)
    return values


# ------------------------------------------------------------ take and friends

def along_axis_index(shape, indices, axis):
    """The index that picks ``indices`` along ``axis`` and every position along the others
    (``numpy.take_along_axis``'s selection)."""
    ndim = len(shape)
    if np.ndim(indices) != ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    return tuple(indices if d == axis else
                 np.arange(n).reshape([-1 if e == d else 1 for e in range(ndim)])
                 for d, n in enumerate(shape))


def _index_array(indices):
    """Indices as an array: concrete, or staged (a program computes them, riesz.staging)."""
    indices = lower_all(indices)
    return indices if isinstance(indices, Tracer) else np.asarray(indices)


def _axis(axis, ndim):
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


@implements(np.take)
def take(a, indices, axis=None, out=None, mode="raise"):
    """``numpy.take``: a gather along ``axis`` (repeated indices add up in the transpose)."""
    if out is not None:
        raise cannot_write("numpy.take(..., out=...)")
    if axis is None:
        a, axis = np.reshape(a, -1), 0
    axis = _axis(int(axis), len(shape_of(a)))
    n = shape_of(a)[axis]
    indices = _index_array(indices)
    if mode == "wrap":
        indices = indices % n
    elif mode == "clip":
        indices = np.clip(indices, 0, n - 1)
    return getitem(a, idx=(slice(None),) * axis + (indices,))


@implements(np.take_along_axis)
def take_along_axis(arr, indices, axis=-1):
    """``arr`` gathered along ``axis`` at ``indices`` (argsort's output, say)."""
    if axis is None:
        arr, axis = np.reshape(arr, -1), 0
    axis = _axis(int(axis), len(shape_of(arr)))
    return getitem(arr, idx=along_axis_index(shape_of(arr), _index_array(indices), axis))


@implements(np.put_along_axis)
def put_along_axis(arr, indices, values, axis):
    """``arr[...] = values`` at ``indices`` along ``axis``, in place on a traced ``arr`` (a
    functional update rebound to ``arr``; see :func:`setitem`)."""
    if not isinstance(arr, Tracer):
        raise cannot_write("numpy.put_along_axis(arr, ..., values) with a NumPy arr")
    if axis is None:
        raise NotImplementedError("numpy.put_along_axis(axis=None) is not supported on traced "
                                  "values; reshape arr to 1-D and use axis=0")
    axis = _axis(int(axis), len(shape_of(arr)))
    idx = along_axis_index(shape_of(arr), _index_array(indices), axis)
    rebind(arr, index_update(arr, _as_value(values), idx=idx), "numpy.put_along_axis")


def _viewing(function, write):
    # ``function`` (a NumPy function whose result is a view of its first argument) marking
    # its traced results as views; write(view, base, *args, **kwargs) is the base's new value
    @functools.wraps(function)
    def viewing(a, *args, **kwargs):
        return mark_view(function(a, *args, **kwargs), a,
                         lambda view, base: write(view, base, *args, **kwargs),
                         lambda base: function(base, *args, **kwargs))
    return viewing


def _in_memory(x):
    """Whether ``x`` is an array in memory, of which a reshape may be a view (NumPy; CuPy on
    its device); a Dask array is a graph: a write into its reshape never reaches it."""
    return is_numpy(x) or hasattr(x, "__cuda_array_interface__")


def _laid_out(x):
    """The concrete array whose memory layout says whether a reshape of ``x`` is a view: x's
    concrete value, or for a batch of examples (riesz.vmap) its first example, whose strides
    every example has (asking for the value of a batch would make vmap map the function one
    example at a time); None where there is none to ask: a staged value (riesz.jit), an
    empty batch, a batch held by its structure (a Jacobian's basis, dense when made)."""
    while isinstance(x, Tracer):
        if x.abstract:
            return None
        if x.is_batch:
            batch = _laid_out(x.val) if isinstance(x.val, Tracer) or is_array(x.val) else None
            return None if batch is None or shape_of(batch)[0] == 0 else batch[0]
        x = x.primal
    return x


def _reshape_view(a, *args, order="C", **kwargs):
    # reshape gives a view where the layout allows it: in C order, of a value whose concrete
    # result shares its memory (a batch's: its first example's). A staged value has no layout
    # to ask: a program's own results are contiguous (a view), but a view of one may not be,
    # and a write then raises
    reshape = HANDLED[np.reshape].__wrapped__
    out = reshape(a, *args, order=order, **kwargs)
    if order != "C":
        return out

    def read(base):
        return reshape(base, shape_of(out))

    concrete_a = _laid_out(a)
    if concrete_a is not None:
        if _in_memory(concrete_a) and np.may_share_memory(concrete_a, _laid_out(out)):
            mark_view(out, a, lambda view, base: np.reshape(view, shape_of(base)), read)
    elif not is_view(a):
        mark_view(out, a, lambda view, base: np.reshape(view, shape_of(base)), read)
    else:
        mark_view(out, a, _unknown_layout, read)
    return out


def _unknown_layout(view, base):
    # a batch of examples (riesz.vmap) has each example's layout: asking for the value makes
    # vmap map the function one example at a time (BatchedValueError), as NumPy runs it
    full_lower(base)
    raise ValueError(
        "y[idx] = v into y.reshape(...) of a view (y.T.reshape(-1), say), staged by riesz.jit: "
        "NumPy's reshape copies or views by the memory layout, which a staged value does not "
        "have. Write into a copy, r = y.reshape(...).copy(), or assign into the array itself")


def _inverse_axes(axes, ndim):
    return None if axes is None else tuple(np.argsort([int(i) % ndim for i in axes]))


def install_views():
    """Make transpose, swapaxes and reshape (riesz.rules.shape's) mark their results as views;
    called once every rule module is loaded."""
    HANDLED[np.transpose] = _viewing(HANDLED[np.transpose], lambda view, base, axes=None: (
        np.transpose(view, _inverse_axes(axes, len(shape_of(base))))))
    HANDLED[np.swapaxes] = _viewing(HANDLED[np.swapaxes],
                                    lambda view, base, axis1, axis2: np.swapaxes(view, axis1, axis2))
    HANDLED[np.reshape] = functools.wraps(HANDLED[np.reshape])(_reshape_view)
