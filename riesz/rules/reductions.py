"""Reductions: each primitive with its JVP and VJP rules, and the NumPy reductions
built from them (products, statistics, order statistics, diagonals, norms)."""
import math
import warnings

import numpy as np

from ..backend import computes_with_booleans, is_numpy, values_under
from ..core import JVPTracer, Tracer, VJPTracer, full_lower, lower_to_values
from ..numpy.compat import numpy_name
from ..numpy.creation import asarray
from ..numpy.dispatch import implements, implements_constant
from .define import RELEASE_NBYTES, as_dtype, defprim, shape_of, dtype_of, is_complex, scale
from .elementwise import (absolute, conjugate, imag, maximum, minimum, power, real, real_,
                          sqrt, stop_gradient, where as select)
from .shape import broadcast_to, broadcast_view, concat, moveaxis, reshape, transpose


def normalize_axis(axis, ndim):
    """``axis`` as a sorted tuple of non-negative ints (``None``: every axis)."""
    if axis is None:
        return tuple(range(ndim))
    if type(axis) is int and -ndim <= axis < ndim:   # the commonest case, without np.ndim
        return (axis % ndim,)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for array of dimension {ndim}")
        out.append(a % ndim)
    return tuple(sorted(out))


def expand_reduced(g, axis, keepdims, shape):
    """Broadcast a reduction's cotangent ``g`` back over ``shape``: the transpose of summing
    over ``axis`` is copying along it."""
    if not keepdims and axis != tuple(range(len(axis))):   # broadcasting adds leading axes
        g = reshape(g, shape=tuple(1 if i in axis else n for i, n in enumerate(shape)))
    if type(g) is np.ndarray or isinstance(g, np.generic):
        # the primitive's own computation, without its layers; a small one copied into an
        # array of its own: NumPy's loops run several times faster over it than over a
        # broadcast view (a scalar loss's cotangent meets the next rule's product)
        if math.prod(shape) * g.itemsize < RELEASE_NBYTES:
            copies = np.empty(shape, g.dtype)
            copies[...] = g
            return copies
        return broadcast_view(g, shape)
    return broadcast_to(g, shape=shape)


def _sum_impl(x, axis, keepdims):
    # np.add.reduce is what np.sum calls, without its Python layer; other libraries' arrays
    # (Dask, CuPy) take np.sum through their dispatch protocol
    if is_numpy(x):
        return np.add.reduce(x, axis=axis, keepdims=keepdims)
    return np.sum(x, axis=axis, keepdims=keepdims)


# ∂ Σ_axis x (ẋ) = Σ_axis ẋ (linear); the transpose copies g along the summed axes
sum_p = defprim("sum", _sum_impl,
                jvp=[lambda t, ans, x, axis, keepdims: sum_p(t, axis=axis, keepdims=keepdims)],
                vjp=[lambda g, ans, x, axis, keepdims:
                     expand_reduced(g, axis, keepdims, shape_of(x))], reads=[""])


def _check_unsupported(name, **given):
    bad = [k for k, v in given.items() if v is not None]
    if bad:
        raise TypeError(f"numpy.{name}: argument(s) {bad} are not supported on traced values")


def as_array(a):
    """``a``, with a list or tuple (that may hold traced values) made the array NumPy makes of
    it: ``np.mean([x, x + 2])`` is the mean of ``np.stack([x, x + 2])``, with derivatives."""
    return asarray(a) if type(a) in (list, tuple) else a


def _mask_of(where):
    """``where=`` as a boolean array of its library, by array operations (a staged mask
    under jit stays staged)."""
    mask = lower_to_values(where)
    return as_dtype(mask if hasattr(mask, "dtype") else np.asarray(mask), bool)


def _masked(a, where, fill):
    """``a`` with ``fill`` where the mask ``where`` (no derivative) is False: those entries
    then get a zero derivative."""
    if where is None or where is True:
        return a
    return select(_mask_of(where), a, fill)


@implements(np.sum)
def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """``numpy.sum``; entries outside ``where`` count as 0, ``initial`` is added."""
    a = as_array(a)
    if out is not None:
        _check_unsupported("sum", out=out)
    x = a if dtype is None else a.astype(dtype)
    if where is not None:
        x = _masked(x, where, 0)
    total = sum_p(x, axis=normalize_axis(axis, len(shape_of(x))), keepdims=bool(keepdims))
    return total if initial is None else total + initial


@implements(np.mean)
def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    """``numpy.mean``; with ``where``, the mean of the selected entries."""
    a = as_array(a)
    _check_unsupported("mean", out=out)
    shape = shape_of(a)
    axes = normalize_axis(axis, len(shape))
    if where is None or where is True:
        count = math.prod(shape[i] for i in axes)
    else:
        mask = np.broadcast_to(_mask_of(where), shape)
        count = np.sum(mask, axis=axes, keepdims=keepdims)
    total = sum(a, axis=axes, dtype=dtype, keepdims=keepdims, where=where)
    if dtype_of(total).kind in "iu":
        total = total * 1.0
    if not isinstance(count, int):
        count = count.astype(dtype_of(total))
    return total / count


def _ties(ans, x, axis):
    """Where x attains its extreme value along ``axis`` (a boolean mask of x's shape), and
    the kept-shape count k of those places, in x's dtype: ties share the derivative
    equally, 1/k each (the mean of the one-sided derivatives). Two passes over x (the
    comparison, the count of a boolean array); the rules then make one product."""
    # array operations, so that a staged program (and a batch, under vmap) has them
    a, xv = lower_to_values(ans), lower_to_values(x)
    hit = xv == np.reshape(a, _kept_shape(shape_of(xv), axis))
    if not computes_with_booleans(hit):
        hit = as_dtype(hit, dtype_of(xv))
    return hit, as_dtype(np.sum(hit, axis=axis, keepdims=True), dtype_of(xv))


def _kept_shape(shape, axis):
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def _extreme_jvp(t, ans, x, axis, keepdims):
    # Σ_axis (hit ⊙ ẋ) / k
    hit, count = _ties(ans, x, axis)
    return reshape(sum_p(t * hit, axis=axis, keepdims=True) / count, shape=shape_of(ans))


def _extreme_vjp(g, ans, x, axis, keepdims):
    # (g / k) copied to the extreme places: g ↦ hit ⊙ (g / k), k on the reduced shape
    hit, count = _ties(ans, x, axis)
    return reshape(g, shape=shape_of(count)) / count * hit


def _extreme(name, impl, ufunc):
    # ∂ max_axis x (ẋ) = Σ_axis share ⊙ ẋ (share = 1/k at the k extreme places, 0 elsewhere);
    # the transpose copies g to the extreme places
    def extreme_impl(x, axis, keepdims):
        # on NumPy values the ufunc's reduce that np.max calls, without its Python layer;
        # other libraries' arrays (Dask, CuPy) take np.max through their dispatch protocol
        if is_numpy(x):
            return ufunc.reduce(x, axis=axis, keepdims=keepdims)
        return impl(x, axis=axis, keepdims=keepdims)
    prim = defprim(name, extreme_impl, jvp=[_extreme_jvp], vjp=[_extreme_vjp])

    def reduce(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        if out is not None:
            _check_unsupported(name, out=out)
        if where is not None and where is not True:
            if initial is None:
                raise ValueError(f"reduction operation '{name[1:]}imum' does not have an "
                                 f"identity, so to use a where mask one has to specify 'initial'")
            a = _masked(a, where, initial)
        axes = normalize_axis(axis, len(shape_of(a)))
        if initial is not None and not isinstance(initial, Tracer) and any(
                shape_of(a)[i] == 0 for i in axes):
            # no entries: every result is `initial`, a constant (NumPy's dtype, from a stand-in)
            return impl(np.empty(shape_of(a), dtype_of(a)), axis=axes, keepdims=keepdims,
                        initial=initial)
        result = prim(a, axis=axes, keepdims=bool(keepdims))
        if initial is None:
            return result
        return (maximum if name == "amax" else minimum)(result, initial)
    reduce.__name__ = name
    return prim, reduce


amax_p, amax = _extreme("amax", np.max, np.maximum)
amin_p, amin = _extreme("amin", np.min, np.minimum)
implements(np.max, np.amax)(amax)
implements(np.min, np.amin)(amin)


def _move_to_end(a, axes):
    """``a`` with ``axes`` moved to the end and flattened into one: (rest..., n)."""
    shape = shape_of(a)
    rest = [i for i in range(len(shape)) if i not in axes]
    order = tuple(rest) + tuple(axes)
    if order != tuple(range(len(shape))):
        a = transpose(a, axes=order)
    n = int(np.prod([shape[i] for i in axes]))
    return reshape(a, shape=tuple(shape[i] for i in rest) + (n,)), n


def _reduced_shape(shape, axes, keepdims):
    return _kept_shape(shape, axes) if keepdims else tuple(
        n for i, n in enumerate(shape) if i not in axes)


# ------------------------------------------------------------ products

def _exclusive_products(x):
    """∏_{j≠i} xⱼ over the last axis of ``x``, for every i, by multiplications only (exact
    where entries are zero, which a division ∏/xᵢ is not), in O(n): the pair products
    pₖ = aₖbₖ of the two halves a, b, their exclusive products eₖ, recursively, and then
    aₖ's is eₖbₖ and bₖ's is eₖaₖ (an odd last entry is carried up as a pair of its own)."""
    n = shape_of(x)[-1]
    if n <= 1:
        return np.ones(shape_of(x), dtype_of(x))
    half, last = n // 2, len(shape_of(x)) - 1
    a, b = x[..., :half], x[..., half:2 * half]
    pairs = a * b if n % 2 == 0 else concat([a * b, x[..., n - 1:]], last)
    others = _exclusive_products(pairs)
    pair_others = others[..., :half]
    parts = [pair_others * b, pair_others * a] + ([others[..., half:]] if n % 2 else [])
    return concat(parts, last)


def _others(x, axes):
    """∏ over ``axes`` of the other entries, for every entry of ``x`` (x's shape)."""
    shape = shape_of(x)
    rest = [i for i in range(len(shape)) if i not in axes]
    flat, _ = _move_to_end(x, axes)
    moved = reshape(_exclusive_products(flat), shape=tuple(shape[i] for i in rest + list(axes)))
    back = tuple(np.argsort(rest + list(axes)))
    return moved if back == tuple(range(len(shape))) else transpose(moved, axes=back)


# NumPy's product itself (its value to the last bit); ∂∏ᵢxᵢ(ẋ) = Σᵢ (∏_{j≠i} xⱼ) ẋᵢ, and the
# transpose copies g along the axes times the products of the others
prod_p = defprim("prod", lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
                 jvp=[lambda t, ans, x, axis, keepdims: sum_p(
                     t * _others(x, axis), axis=axis, keepdims=keepdims)],
                 vjp=[lambda g, ans, x, axis, keepdims: expand_reduced(
                     g, axis, keepdims, shape_of(x)) * _others(x, axis)])


@implements(np.prod)
def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """``numpy.prod``, differentiated exactly where entries are zero (one or several);
    entries outside ``where`` count as 1."""
    a = as_array(a)
    _check_unsupported("prod", out=out)
    if dtype is not None:
        a = a.astype(dtype)
    a = _masked(a, where, 1)
    result = prod_p(a, axis=normalize_axis(axis, len(shape_of(a))), keepdims=bool(keepdims))
    return result if initial is None else result * initial


def _flip(x, axis):
    return x[(slice(None),) * axis + (slice(None, None, -1),)]


# ∂ cumsum(x)(ẋ) = cumsum(ẋ) (linear); the transpose sums from the other end:
# flip(cumsum(flip(g)))
cumsum_p = defprim("cumsum", lambda x, axis: np.cumsum(x, axis=axis),
                   jvp=[lambda t, ans, x, axis: cumsum_p(t, axis=axis)],
                   vjp=[lambda g, ans, x, axis: _flip(cumsum_p(_flip(g, axis), axis=axis), axis)])


def _scan_axis(a, axis):
    # NumPy scans the flattened array when axis is None
    if axis is None:
        return reshape(a, shape=(int(np.prod(shape_of(a))),)), 0
    return a, normalize_axis(axis, len(shape_of(a)))[0]


@implements(np.cumsum)
def cumsum(a, axis=None, dtype=None, out=None):
    _check_unsupported("cumsum", out=out)
    a, axis = _scan_axis(a if dtype is None else a.astype(dtype), axis)
    return cumsum_p(a, axis=axis)


def _cumulative(name, scan):
    def cumulative(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        # the array API's cumulative_sum/cumulative_prod: axis may be left out for 1-D x, and
        # include_initial puts the identity first
        if axis is None:
            if len(shape_of(x)) != 1:
                raise ValueError(f"numpy.{name}: axis is required for arrays of more than one "
                                 f"dimension")
            axis = 0
        result = scan(x, axis=axis, dtype=dtype, out=out)
        if not include_initial:
            return result
        axis = normalize_axis(axis, len(shape_of(x)))[0]
        first = np.full_like(np.take(full_lower(result), [0], axis=axis),
                             0 if scan is cumsum else 1)
        return np.concatenate([first, result], axis=axis)
    cumulative.__name__ = name
    cumulative.__doc__ = f"``numpy.{name}``: ``numpy.{scan.__name__}`` along ``axis``."
    return implements(numpy_name(name))(cumulative)


def _shift(x, axis, fill):
    """``x`` moved one place along ``axis`` towards the end, with ``fill`` in the first place
    (the alignment of an exclusive scan)."""
    shape = shape_of(x)
    n = shape[axis]
    if n == 0:
        return x
    head = np.full(shape[:axis] + (1,) + shape[axis + 1:], fill, dtype_of(x))
    return concat([head, x[(slice(None),) * axis + (slice(0, n - 1),)]], axis)


def _linear_recurrence(a, b, axis):
    """sᵢ = aᵢ sᵢ₋₁ + bᵢ along ``axis`` (s₋₁ = 0) by doubling (Hillis–Steele): after the step
    of stride d, place i holds the affine map composed over its last 2d places,
    (A, B)ᵢ ← (Aᵢ Aᵢ₋d, Aᵢ Bᵢ₋d + Bᵢ). Multiplications and additions only."""
    n = shape_of(b)[axis]
    lead = (slice(None),) * axis
    step = 1
    while step < n:
        first, earlier, later = (lead + (slice(0, step),), lead + (slice(0, n - step),),
                                 lead + (slice(step, n),))
        b = concat([b[first], a[later] * b[earlier] + b[later]], axis)
        a = concat([a[first], a[later] * a[earlier]], axis)
        step *= 2
    return b


# y = cumprod(x) (NumPy's value): ẏᵢ = xᵢ ẏᵢ₋₁ + ẋᵢ Lᵢ with Lᵢ = ∏_{k<i} xₖ = yᵢ₋₁, a linear
# recurrence with no division (exact where entries are zero, at every order); the transpose
# runs it from the other end: x̄ⱼ = Lⱼ Sⱼ with Sⱼ = gⱼ + xⱼ₊₁ Sⱼ₊₁
cumprod_p = defprim(
    "cumprod", lambda x, axis: np.cumprod(x, axis=axis),
    jvp=[lambda t, ans, x, axis: _linear_recurrence(x, t * _shift(ans, axis, 1), axis)],
    vjp=[lambda g, ans, x, axis: _shift(ans, axis, 1) * _flip(_linear_recurrence(
        _shift(_flip(x, axis), axis, 1), _flip(g, axis), axis), axis)])


@implements(np.cumprod)
def cumprod(a, axis=None, dtype=None, out=None):
    """``numpy.cumprod``, differentiated exactly where entries are zero."""
    _check_unsupported("cumprod", out=out)
    y, axis = _scan_axis(a if dtype is None else a.astype(dtype), axis)
    return cumprod_p(y, axis=axis)


cumulative_sum = _cumulative("cumulative_sum", cumsum)
cumulative_prod = _cumulative("cumulative_prod", cumprod)


# ------------------------------------------------------------ statistics

def _abs_squared(x):
    # |x|² = (Re x)² + (Im x)², computed as NumPy's var computes it
    return real(x) * real(x) + imag(x) * imag(x) if is_complex(x) else x * x


def norm_squares(x):
    """|xᵢ|² = Re(x̄ᵢ xᵢ), as NumPy's norm computes it (its var computes (Re x)² + (Im x)²)."""
    return real(conjugate(x) * x) if is_complex(x) else x * x


def _two_norm(x, axes, keepdims):
    # √Σ|x|²: its gradient x̄/‖x‖ is taken as 0 at x = 0 (0 × ∞ = 0 in the rules)
    return sqrt(sum(norm_squares(x), axis=axes, keepdims=keepdims))


def _squared_norm_impl(x):
    # NumPy's norm of a whole array: x·x of the flattened x (a BLAS dot), Re·Re + Im·Im if complex
    x = np.ravel(x, order="K")
    if np.iscomplexobj(x):
        return x.real.dot(x.real) + x.imag.dot(x.imag)
    return x.dot(x)


# ‖x‖² = Σ|xᵢ|² of every entry: ∂(ẋ) = 2 Σ Re(x̄ᵢ ẋᵢ); the transpose is g ↦ 2 g x̄ (JAX's
# convention for complex x), with 0 × ∞ = 0 so that the gradient of √‖x‖² at 0 is 0
squared_norm = defprim(
    "squared_norm", _squared_norm_impl,
    jvp=[lambda t, ans, x: 2.0 * sum_p(real(conjugate(x) * t) if is_complex(x) else x * t,
                                       axis=tuple(range(len(shape_of(x)))), keepdims=False)],
    vjp=[lambda g, ans, x: scale(g, 2.0 * conjugate(x))])


def _count(shape, axes):
    return int(np.prod([shape[i] for i in axes]))


@implements(np.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None,
        correction=None):
    """``numpy.var``: Σ|x - x̄|² / (n - ddof). A given ``mean`` (NumPy 2.0's keyword, of the
    keepdims shape) takes the place of x̄, and the derivative flows to it too."""
    _check_unsupported("var", out=out, where=where)
    a = as_array(a)
    if correction is not None:
        ddof = correction
    shape = shape_of(a)
    axes = normalize_axis(axis, len(shape))
    n = _count(shape, axes)
    if mean is None:
        mean = sum(a, axis=axes, dtype=dtype, keepdims=True) / n
    centered = a - mean
    # NumPy divides by max(n - ddof, 0): ddof ≥ n gives inf (or NaN), never a negative variance
    return sum(_abs_squared(centered), axis=axes, keepdims=keepdims) / max(n - ddof, 0)


@implements(np.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None,
        correction=None):
    """``numpy.std`` = √var. At a constant input the gradient is 0 (the minimum-norm
    subgradient, from 0 × ∞ = 0 in the products of the rules)."""
    return sqrt(var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                    where=where, mean=mean, correction=correction))


@implements(np.average)
def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """``numpy.average`` = Σ wᵢxᵢ / Σ wᵢ; differentiable in the weights too."""
    shape = shape_of(a)
    axes = normalize_axis(axis, len(shape))
    if weights is None:
        avg = mean(a, axis=axes, keepdims=keepdims)
        scl = np.full(shape_of(avg), _count(shape, axes), dtype=dtype_of(avg))
    else:
        w = weights
        wshape = shape_of(w)
        if wshape != shape:
            if axis is None or len(wshape) != 1 or len(axes) != 1 or wshape[0] != shape[axes[0]]:
                raise ValueError(f"numpy.average: weights of shape {wshape} do not fit an array "
                                 f"of shape {shape} along axis {axis}: give weights of the "
                                 f"array's shape, or 1-D weights along one axis")
            w = reshape(w, shape=tuple(wshape[0] if i == axes[0] else 1
                                       for i in range(len(shape))))
        w = w + np.zeros(shape, dtype=dtype_of(w))   # broadcast the weights to the array's shape
        scl = sum(w, axis=axes, keepdims=keepdims)
        avg = sum(a * w, axis=axes, keepdims=keepdims) / scl
    return (avg, scl) if returned else avg


@implements(np.ptp)
def ptp(a, axis=None, out=None, keepdims=False):
    """``numpy.ptp`` = max - min (ties share the derivative equally)."""
    return amax(a, axis=axis, out=out, keepdims=keepdims) - amin(a, axis=axis, keepdims=keepdims)


@implements(np.nansum)
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """``numpy.nansum``: NaN entries count as 0 and get a zero gradient."""
    _check_unsupported("nansum", out=out, initial=initial, where=where)
    return sum(select(np.isnan(lower_to_values(a)), 0.0, a), axis=axis, dtype=dtype,
               keepdims=keepdims)


@implements(np.nanmean)
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    """``numpy.nanmean``: the mean of the entries that are not NaN (NaN gets a zero
    gradient)."""
    _check_unsupported("nanmean", out=out, where=where)
    count = np.sum(~np.isnan(lower_to_values(a)), axis=normalize_axis(axis, len(shape_of(a))),
                   keepdims=keepdims)
    total = nansum(a, axis=axis, dtype=dtype, keepdims=keepdims)
    return total / count.astype(dtype_of(total))


def _nan_mask(a):
    return np.isnan(lower_to_values(a))


def _nan_extreme(name, reduce, fill):
    def nan_reduce(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        # NaN entries take the value that never wins (derivative 0); an all-NaN slice is NaN
        _check_unsupported(name, out=out, initial=initial, where=where)
        nan = _nan_mask(a)
        result = reduce(select(nan, fill, a), axis=axis, keepdims=keepdims)
        axes = normalize_axis(axis, len(shape_of(a)))
        return select(np.all(nan, axis=axes, keepdims=keepdims), np.nan, result)
    nan_reduce.__name__ = name
    nan_reduce.__doc__ = (f"``numpy.{name}``: the {name[3:]} of the entries that are not NaN "
                          f"(ties share the derivative; NaN entries get none).")
    return implements(getattr(np, name))(nan_reduce)


nanmax = _nan_extreme("nanmax", amax, -np.inf)
nanmin = _nan_extreme("nanmin", amin, np.inf)


@implements(np.nanprod)
def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """``numpy.nanprod``: NaN entries count as 1 and get a zero gradient."""
    _check_unsupported("nanprod", out=out, where=where)
    return prod(select(_nan_mask(a), 1.0, a), axis=axis, dtype=dtype, keepdims=keepdims,
                initial=initial)


@implements(np.nancumsum)
def nancumsum(a, axis=None, dtype=None, out=None):
    """``numpy.nancumsum``: NaN entries count as 0."""
    return cumsum(select(_nan_mask(a), 0.0, a), axis=axis, dtype=dtype, out=out)


@implements(np.nancumprod)
def nancumprod(a, axis=None, dtype=None, out=None):
    """``numpy.nancumprod``: NaN entries count as 1."""
    return cumprod(select(_nan_mask(a), 1.0, a), axis=axis, dtype=dtype, out=out)


@implements(np.nanvar)
def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None,
           correction=None):
    """``numpy.nanvar``: Σ|x - x̄|² / (n - ddof) over the entries that are not NaN."""
    _check_unsupported("nanvar", out=out, where=where, mean=mean)
    if correction is not None:
        ddof = correction
    axes = normalize_axis(axis, len(shape_of(a)))
    centered = a - nanmean(a, axis=axes, dtype=dtype, keepdims=True)
    count = np.sum(~_nan_mask(a), axis=axes, keepdims=keepdims)
    total = nansum(_abs_squared(centered), axis=axes, keepdims=keepdims)
    return total / (count - ddof).astype(dtype_of(total))


@implements(np.nanstd)
def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None,
           correction=None):
    """``numpy.nanstd`` = √nanvar (gradient 0 at a constant input)."""
    return sqrt(nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                       where=where, mean=mean, correction=correction))


def _nan_order_statistic(name, statistic):
    def nan_statistic(a, *args, axis=None, **kwargs):
        # the order statistic of the entries that are not NaN: all of them when there are
        # none, else (axis=None) of the entries picked out of the flattened array
        nan = np.asarray(_nan_mask(a))   # staged (riesz.jit): the jitted function runs eagerly
        if not nan.any():
            return statistic(a, *args, axis=axis, **kwargs)
        if axis is None and not kwargs.get("keepdims", False):
            return statistic(np.ravel(a)[np.flatnonzero(~nan)], *args, **kwargs)
        raise NotImplementedError(f"numpy.{name} on traced values with NaN entries along an "
                                  f"axis: the slices have different lengths; use axis=None "
                                  f"or select the entries yourself")
    nan_statistic.__name__ = name
    nan_statistic.__doc__ = f"``numpy.{name}``: ``{statistic.__name__}`` of the entries that are not NaN."
    return implements(getattr(np, name))(nan_statistic)


@implements(np.bincount)
def bincount(x, weights=None, minlength=0):
    """``numpy.bincount``: with traced ``weights``, the sum of the weights in each bin (a
    scatter-add, whose transpose gathers); the counts alone carry no derivative."""
    x = np.asarray(full_lower(x))
    if weights is None:
        return np.bincount(x, minlength=minlength)
    from .indexing import at
    n = max(int(x.max()) + 1 if x.size else 0, minlength)
    zeros = np.zeros(n, dtype=np.result_type(dtype_of(weights), np.float64))
    return at(zeros)[x].add(weights)


# ------------------------------------------------------------ order statistics

_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint")
# the methods that take entries, never interpolating: their results keep the array's dtype
_QUANTILE_ENTRIES = ("lower", "higher", "nearest", "inverted_cdf", "closest_observation")


def _constant_levels(q, name):
    """The levels ``q`` of a quantile, lowered to a constant; a ``q`` being differentiated
    (a value of a transform's inputs) raises instead of losing its derivative silently."""
    x = q
    while isinstance(x, Tracer) and not x.abstract:
        if isinstance(x, JVPTracer) or type(x) is VJPTracer and getattr(
                x._trace.tape[x.slot], "prim", None) is not stop_gradient:
            raise TypeError(
                f"numpy.{name}: riesz does not differentiate with respect to the levels q, "
                f"which here depend on the differentiated inputs; make q a constant "
                f"(riesz.stop_gradient(q), or compute it outside the function), or write the "
                f"interpolation between the sorted values (np.sort(x)[i], ...) yourself")
        x = x.primal
    return x


@implements(np.quantile)
def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None, interpolation=None):
    """``numpy.quantile``: the derivative flows to the selected entries of the sorted
    values, and for an interpolated quantile to the two neighbours with the
    interpolation weights (1 - f, f). Ties go to the entry NumPy's stable argsort
    puts first. ``q`` is a constant (one computed from the differentiated inputs raises:
    :func:`_constant_levels`). Every method of NumPy's: the position
    (lo + f) of the methods other than linear, lower, higher and midpoint is NumPy's own
    quantile of the ranks 0 … n − 1."""
    _check_unsupported("quantile", out=out, weights=weights, interpolation=interpolation)
    q = _constant_levels(q, "quantile")
    qv = np.asarray(q)   # its dtype is NumPy's for the interpolation (float32 q: float32)
    # NumPy's dtype: the array's, promoted by q where q enters the arithmetic (interpolating
    # methods) unless q is a Python number
    weak = (type(q) in (int, float) or method in _QUANTILE_ENTRIES   # np.float64 q is not
            or (qv.dtype.kind in "iub" and method == "linear"))   # NumPy takes entries
    out_dtype = np.result_type(dtype_of(a), *(() if weak else (qv.dtype,)))
    if np.any((qv < 0) | (qv > 1)):
        raise ValueError("Quantiles must be in the range [0, 1]")
    shape = shape_of(a)
    axes = normalize_axis(axis, len(shape))
    x, n = _move_to_end(a, axes)
    rest = shape_of(x)[:-1]
    order = np.argsort(full_lower(x), axis=-1, kind="stable")   # staged where x is
    if method in _QUANTILE_METHODS:
        pos = qv * (n - 1)
    else:   # NumPy's other methods: its quantile of the ranks 0 … n − 1 is the position
        pos = np.quantile(np.arange(n, dtype=np.result_type(qv.dtype, np.float16)), qv,
                          method=method)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    frac = (pos - lo).astype(pos.dtype if pos.dtype.kind == "f" else float)   # in q's precision
    if method == "lower":
        frac = np.zeros_like(frac)
    elif method == "higher":
        lo, frac = np.ceil(pos).astype(np.intp), np.zeros_like(frac)
    elif method == "midpoint":
        frac = np.where(frac > 0, 0.5, 0.0).astype(frac.dtype)
    # entry k of the sorted values along the last axis, for every q: shape rest + q.shape
    grids = np.ix_(*[np.arange(m) for m in rest]) if rest else ()
    grids = tuple(g.reshape(g.shape + (1,) * qv.ndim) for g in grids)

    def sorted_entry(k):
        return x[grids + (order[..., k],)]
    low = sorted_entry(lo)
    if frac.any():
        # NumPy's _lerp: low + (high - low) t, or high - (high - low)(1 - t) where t ≥ ½, with
        # t a Python float for a Python q (weak: x's precision), else float64
        t = float(frac) if type(q) in (int, float) else frac
        high = sorted_entry(hi)
        spread = high - low
        low = select(np.asarray(frac) >= 0.5, high - spread * (1 - t), low + spread * t)
        low = low[()] if not shape_of(low) else low   # a NumPy scalar, as _lerp unpacks it
    result = low
    # NumPy puts the q axes first, then the kept axes
    nq, nr = qv.ndim, len(rest)
    if nq:
        result = transpose(result, axes=tuple(range(nr, nr + nq)) + tuple(range(nr)))
    if keepdims:
        result = reshape(result, shape=qv.shape + _kept_shape(shape, axes))
    return result if dtype_of(result) == out_dtype else result.astype(out_dtype)


@implements(np.percentile)
def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None, interpolation=None):
    """``numpy.percentile`` = quantile(a, q / 100)."""
    q = _constant_levels(q, "percentile")
    return quantile(a, q / 100 if isinstance(q, (int, float)) else np.asarray(q) / 100,
                    axis=axis, out=out,
                    method=method, keepdims=keepdims, weights=weights,
                    interpolation=interpolation)


@implements(np.median)
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``numpy.median`` = quantile(a, 0.5): the middle entry, or the mean of the two middle
    entries (each gets half the derivative)."""
    return quantile(a, 0.5, axis=axis, out=out, keepdims=keepdims)


nanmedian = _nan_order_statistic("nanmedian", median)
nanquantile = _nan_order_statistic("nanquantile", quantile)
nanpercentile = _nan_order_statistic("nanpercentile", percentile)


# ------------------------------------------------------------ diagonals

@implements(np.diagonal)
def diagonal(a, offset=0, axis1=0, axis2=1):
    """``numpy.diagonal``: entries (i, i + offset) of the (axis1, axis2) planes, on a new
    last axis. Linear: its transpose scatters g onto the diagonal of zeros."""
    shape = shape_of(a)
    nd = len(shape)
    ax1, ax2 = axis1 % nd, axis2 % nd
    if ax1 == ax2:
        raise ValueError("numpy.diagonal: axis1 and axis2 cannot be the same")
    rest = [i for i in range(nd) if i not in (ax1, ax2)]
    x = transpose(a, axes=tuple(rest) + (ax1, ax2))
    n1, n2 = shape[ax1], shape[ax2]
    k = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    rows = np.arange(k) + max(0, -offset)
    return x[..., rows, rows + offset]


@implements(np.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """``numpy.trace`` = the sum of :func:`diagonal`."""
    _check_unsupported("trace", out=out)
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


# ------------------------------------------------------------ norms

def _svd(x):
    # U and Vᴴ of the thin SVD through the NumPy API: on traced values (higher orders)
    # this is numpy.linalg.svd's own rule
    u, _, vh = np.linalg.svd(x, full_matrices=False)
    return u, vh


def _singular_values_jvp(t, ans, x):
    # ṡᵢ = Re(uᵢᴴ ẋ vᵢ), for distinct singular values
    u, vh = _svd(x)
    return real_(sum(np.conj(u) * (t @ np.conj(np.swapaxes(vh, -1, -2))), axis=-2))


def _singular_values_vjp(g, ans, x):
    # transpose under Re Σ c ẋ: g ↦ Ū diag(g) Vᵀ (U diag(g) Vᵀ for real x)
    u, vh = _svd(x)
    return (np.conj(u) * g[..., None, :]) @ np.conj(vh)


# the singular values of a (stack of) matrices, in descending order: dσᵢ = Re(uᵢᴴ dA vᵢ).
# Used by the spectral and nuclear norms; the derivative exists where the σᵢ are distinct
# and nonzero.
singular_values = defprim("singular_values", lambda x: np.linalg.svd(x, compute_uv=False),
                          jvp=[_singular_values_jvp], vjp=[_singular_values_vjp])

# which singular values a function's derivative reads, and where that derivative fails:
# each σᵢ (svdvals) needs distinct nonzero values; σ_max (norm 2) and σ_min (norm -2) need
# that one simple and nonzero; cond needs both; the sum (nuclear norm) has the unique
# gradient U Vᴴ wherever every σᵢ > 0, repeated or not
_SINGULAR_NEEDS = {"each": (slice(None), slice(None)), "largest": (slice(0, 1), slice(0, 1)),
                   "smallest": (slice(-1, None), slice(-1, None)),
                   "ends": ([0, -1], [0, -1]), "sum": (slice(0, 0), slice(None))}


def singular_values_for(name, x, needs):
    """The singular values of ``x`` as ``name`` uses them (``needs``, a key of
    :data:`_SINGULAR_NEEDS`). Where the derivative ``name`` needs does not exist (repeated
    or zero singular values, to 100 ε σ_max) a RuntimeWarning says so, as for svd: the
    derivative given is the one along the singular vectors NumPy's SVD picks, one
    subgradient among many. Staged values (riesz.jit) are not checked; a batch (riesz.vmap)
    warns where one of its examples would."""
    s = singular_values(x)
    v = values_under(s)
    k = shape_of(s)[-1]
    if isinstance(v, Tracer) or k == 0:
        return s
    tol = 100 * np.finfo(np.result_type(v.dtype, np.float32)).eps * np.max(v, axis=-1,
                                                                           keepdims=True)
    gap_at, zero_at = _SINGULAR_NEEDS[needs]
    # the gap after σᵢ and the gap before it: σᵢ is simple when both are wide
    gaps = np.concatenate([np.full(v.shape[:-1] + (1,), np.inf), v[..., :-1] - v[..., 1:],
                           np.full(v.shape[:-1] + (1,), np.inf)], axis=-1)
    tied = np.minimum(gaps[..., :-1], gaps[..., 1:]) <= tol
    if tied[..., gap_at].any() or (v <= tol)[..., zero_at].any():
        warnings.warn(f"{name}: repeated or zero singular values; the derivative does not "
                      f"exist there. riesz gives the derivative along the singular vectors "
                      f"that numpy.linalg.svd picks (one subgradient among many)",
                      RuntimeWarning, stacklevel=3)
    return s


def _vector_norm(x, ord, axis, keepdims):
    if ord is None or ord == 2:
        return _two_norm(x, axis, keepdims)
    if ord == np.inf:
        return amax(absolute(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return amin(absolute(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        # the count of nonzero entries, in x's real dtype as NumPy gives it
        nonzero = (lower_to_values(x) != 0).astype(np.finfo(dtype_of(x)).dtype)
        return np.sum(nonzero, axis=axis, keepdims=keepdims)
    if ord == 1:
        return sum(absolute(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order {ord!r} for vectors")
    return power(sum(power(absolute(x), float(ord)), axis=axis, keepdims=keepdims), 1.0 / ord)


def _matrix_norm(x, ord, axes, keepdims):
    row, col = axes
    if ord is None or ord == "fro":
        return _two_norm(x, axes, keepdims)
    if ord in (1, -1, np.inf, -np.inf):
        # the largest (smallest) column sum (ord ±1) or row sum (ord ±inf) of |x|
        summed, other = (row, col) if ord in (1, -1) else (col, row)
        pick = amax if ord > 0 else amin
        sums = sum(absolute(x), axis=summed)
        out = pick(sums, axis=other - (summed < other))
    elif ord in ("nuc", 2, -2):
        needs = {"nuc": "sum", 2: "largest", -2: "smallest"}[ord]
        s = singular_values_for(f"numpy.linalg.norm(x, {ord!r})",
                                moveaxis(x, (row, col), (-2, -1)), needs)
        out = {"nuc": sum, 2: amax, -2: amin}[ord](s, axis=-1)
    else:
        raise ValueError(f"Invalid norm order {ord!r} for matrices")
    # reduced as NumPy reduces, so that a whole-matrix norm is a NumPy scalar as NumPy's is
    return reshape(out, shape=_kept_shape(shape_of(x), axes)) if keepdims else out


@implements(np.linalg.norm)
def norm(x, ord=None, axis=None, keepdims=False):
    """``numpy.linalg.norm``. Vector ords 2 (default), 1, inf, -inf, 0 and any p; matrix
    ords 'fro' (default), 'nuc', 2, -2, 1, -1, inf, -inf; ``axis`` and ``keepdims`` as in
    NumPy. At x = 0 the gradient is 0 (the minimum-norm subgradient); max/min-type
    norms share the derivative equally among tied entries; the spectral and nuclear
    norms need distinct, nonzero singular values."""
    x = as_array(x)
    if not np.issubdtype(dtype_of(x), np.inexact):
        x = as_dtype(x, float)   # NumPy's norm of integers and booleans is in float64
    nd = len(shape_of(x))
    if axis is None and (ord is None or (ord in ("f", "fro") and nd == 2)
                         or (ord == 2 and nd == 1)):
        result = sqrt(squared_norm(x))   # NumPy's fast path, with its rounding
        return reshape(result, shape=(1,) * nd) if keepdims else result
    if axis is None:
        if nd not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(nd))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    axes = tuple(int(a) % nd for a in axes)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, keepdims)
    if len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


# ------------------------------------------------------------ not differentiable

# integer- or boolean-valued: computed on the concrete values
implements_constant(np.linalg.matrix_rank, np.isin, np.digitize, np.argpartition, np.lexsort,
                    np.array_equiv, np.argmax, np.argmin, np.nanargmax, np.nanargmin,
                    np.argsort, np.nonzero, np.flatnonzero,
                    np.count_nonzero, np.all, np.any, np.allclose, np.isclose, np.array_equal,
                    np.searchsorted, np.unique)
# properties of the shape: plain Python values even on staged values (riesz.jit)
implements_constant(np.shape, np.size, np.ndim, shape_only=True)
