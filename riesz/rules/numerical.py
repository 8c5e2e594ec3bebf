"""Numerical routines users call on arrays: differences, integration, sequences,
polynomials, interpolation, convolution and covariance.

None of them is a primitive: each is written with NumPy functions that riesz already
differentiates (slices, concatenation, products, sums), so its derivative comes from
theirs, to any order, in both modes. They run on traced values and on plain arrays alike.
"""
import numpy as np

from ..core import Tracer, full_lower
from ..numpy.creation import asarray
from ..numpy.compat import numpy_name
from ..numpy.dispatch import constant_function, implements
from .define import as_dtype, defprim, shape_of, dtype_of, is_complex
from .shape import moveaxis

_NO_VALUE = np._NoValue


def _along(axis, ndim, piece):
    """The index that applies ``piece`` (a slice) along ``axis`` of an ``ndim``-D array."""
    return (slice(None),) * (axis % ndim) + (piece,)


# ------------------------------------------------------------ differences

@implements(np.diff)
def diff(a, n=1, axis=-1, prepend=_NO_VALUE, append=_NO_VALUE):
    """``numpy.diff``: ``a[1:] - a[:-1]`` along ``axis``, ``n`` times, after attaching
    ``prepend``/``append`` (scalars are broadcast to one slice). Linear in every argument."""
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    nd = len(shape_of(a))
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = axis % nd
    pieces = []
    for edge in (prepend, append):
        if edge is _NO_VALUE:
            pieces.append(None)
            continue
        if len(shape_of(edge)) == 0:
            shape = list(shape_of(a))
            shape[axis] = 1
            edge = np.broadcast_to(edge, tuple(shape))
        pieces.append(edge)
    parts = [p for p in (pieces[0], a, pieces[1]) if p is not None]
    if len(parts) > 1:
        a = np.concatenate(parts, axis=axis)
    for _ in range(n):
        a = a[_along(axis, nd, slice(1, None))] - a[_along(axis, nd, slice(None, -1))]
    return a


@implements(np.ediff1d)
def ediff1d(ary, to_end=None, to_begin=None):
    """``numpy.ediff1d``: the differences of the flattened array, with ``to_begin`` and
    ``to_end`` attached."""
    dtype = dtype_of(ary)
    parts = [np.ravel(p).astype(dtype) for p in (to_begin,) if p is not None]
    parts.append(diff(np.ravel(ary)))
    parts += [np.ravel(p).astype(dtype) for p in (to_end,) if p is not None]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


@implements(np.gradient)
def gradient(f, *varargs, axis=None, edge_order=1):
    """``numpy.gradient``: second-order differences inside and first- or second-order
    one-sided ones at the two ends (``edge_order`` 1 or 2), for spacings that are scalars or
    coordinate arrays (one per axis, NumPy's forms); linear in ``f``, differentiable in
    the spacings too.

    With steps h₁ = xᵢ − xᵢ₋₁ and h₂ = xᵢ₊₁ − xᵢ (NumPy's formulas; for a scalar spacing
    h₁ = h₂ = h, the central difference (fᵢ₊₁ − fᵢ₋₁)/2h):

        f'ᵢ = −h₂/(h₁(h₁+h₂)) fᵢ₋₁ + (h₂−h₁)/(h₁h₂) fᵢ + h₁/(h₂(h₁+h₂)) fᵢ₊₁,

    at the ends (f₁ − f₀)/h₁ with ``edge_order=1``, and with ``edge_order=2`` the
    three-point stencils −(2h₁+h₂)/(h₁(h₁+h₂)) f₀ + (h₁+h₂)/(h₁h₂) f₁ − h₁/(h₂(h₁+h₂)) f₂
    and its mirror image."""
    nd = len(shape_of(f))
    axes = tuple(range(nd)) if axis is None else tuple(
        a % nd for a in ((axis,) if np.ndim(axis) == 0 else axis))
    if len(varargs) not in (0, 1, len(axes)):
        raise TypeError("invalid number of arguments")
    if edge_order not in (1, 2):
        raise ValueError("'edge_order' greater than 2 not supported")
    spacings = varargs if len(varargs) == len(axes) else (varargs or (1.0,)) * len(axes)
    out = []
    for ax, h in zip(axes, spacings):
        n = shape_of(f)[ax]
        if n < edge_order + 1:
            raise ValueError("Shape of array too small to calculate a numerical gradient, "
                             "at least (edge_order + 1) elements are required.")
        if len(shape_of(h)) == 0:
            steps = lambda piece, h=h: h   # noqa: E731
        elif shape_of(h) == (n,):
            dx = np.reshape(np.diff(h), (n - 1,) + (1,) * (nd - 1 - ax))
            steps = lambda piece, dx=dx: dx[piece]   # noqa: E731
        else:
            raise ValueError("when 1d, distances must match the length of the corresponding "
                             "dimension")
        at = lambda piece, ax=ax: f[_along(ax, nd, piece)]   # noqa: E731
        h1, h2 = steps(slice(None, -1)), steps(slice(1, None))
        inner = (-h2 / (h1 * (h1 + h2)) * at(slice(None, -2)) + (h2 - h1) / (h1 * h2)
                 * at(slice(1, -1)) + h1 / (h2 * (h1 + h2)) * at(slice(2, None)))
        if edge_order == 1:
            first = (at(slice(1, 2)) - at(slice(0, 1))) / steps(slice(0, 1))
            last = (at(slice(-1, None)) - at(slice(-2, -1))) / steps(slice(-1, None))
        else:
            h1, h2 = steps(slice(0, 1)), steps(slice(1, 2))
            first = (-(2 * h1 + h2) / (h1 * (h1 + h2)) * at(slice(0, 1))
                     + (h1 + h2) / (h1 * h2) * at(slice(1, 2))
                     - h1 / (h2 * (h1 + h2)) * at(slice(2, 3)))
            h1, h2 = steps(slice(-2, -1)), steps(slice(-1, None))
            last = (h2 / (h1 * (h1 + h2)) * at(slice(-3, -2)) - (h1 + h2) / (h1 * h2)
                    * at(slice(-2, -1)) + (2 * h2 + h1) / (h2 * (h1 + h2)) * at(slice(-1, None)))
        out.append(np.concatenate([first, inner, last], axis=ax))
    return out[0] if len(out) == 1 else tuple(out)


@implements(numpy_name("trapezoid"))
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """``numpy.trapezoid``: Σ (x[i+1] - x[i]) (y[i+1] + y[i]) / 2 along ``axis``;
    differentiable in ``y``, ``x`` and ``dx``."""
    nd = len(shape_of(y))
    axis = axis % nd
    if x is None:
        d = dx
    elif len(shape_of(x)) == 1:
        d = np.reshape(np.diff(x), (-1,) + (1,) * (nd - 1 - axis))
    else:
        d = np.diff(x, axis=axis)
    upper = y[_along(axis, nd, slice(1, None))]
    lower = y[_along(axis, nd, slice(None, -1))]
    return np.sum(d * (upper + lower) / 2.0, axis=axis)


# ------------------------------------------------------------ sequences

@implements(np.linspace)
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
             device=None):
    """``numpy.linspace`` with traced end points, computed as NumPy computes it:
    yᵢ = i · step + start with step = (stop - start) / div, and the last entry exactly
    ``stop`` (with the end point). The derivative of yᵢ is 1 - i/div in start and i/div in
    stop. Array end points give a new axis at ``axis``."""
    num = int(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    div = num - 1 if endpoint else num
    # NumPy computes in the floating-point type of the end points (float64 for integers)
    dt = np.result_type(full_lower(start), full_lower(stop), float(num))
    delta = as_dtype(stop, dt) - as_dtype(start, dt)
    y = np.arange(num, dtype=dt).reshape((-1,) + (1,) * len(shape_of(delta)))
    step = delta / div if div > 0 else np.nan
    if div <= 0:
        y = y * delta
    elif _any_zero(step):   # a denormal step (NumPy's special case)
        y = y / div * delta
    else:
        y = y * step
    y = y + start
    if endpoint and num > 1:
        y[-1, ...] = stop
    if axis != 0:
        y = moveaxis(y, 0, axis)
    if dtype is not None and np.issubdtype(dtype, np.integer):
        y = np.floor(y)
    y = y.astype(dt if dtype is None else dtype)
    return (y, step) if retstep else y


def _any_zero(step):
    # on concrete values only: a staged step is taken as nonzero (its product is then the same
    # unless the step underflows)
    value = full_lower(step)
    return not isinstance(value, Tracer) and bool(np.any(value == 0))


@implements(np.logspace)
def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``numpy.logspace`` = base ** linspace(start, stop)."""
    y = np.power(base, linspace(start, stop, num, endpoint, axis=axis))
    return y if dtype is None else y.astype(dtype)


@implements(np.geomspace)
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``numpy.geomspace`` as NumPy computes it: s · 10 ** linspace(log₁₀(start/s),
    log₁₀(stop/s)) with s = sign(start) (a constant), and the end points exactly start and
    stop. Real end points."""
    start, stop = (v if isinstance(v, Tracer) else np.asarray(v) for v in (start, stop))
    if np.any(np.asarray(full_lower(start)) == 0) or np.any(np.asarray(full_lower(stop)) == 0):
        raise ValueError("Geometric sequence cannot include zero")
    dt = np.result_type(start, stop, float(num), np.zeros((), dtype))   # NumPy's: ≥ float64
    start, stop = start.astype(dt), stop.astype(dt)
    sign = np.sign(full_lower(start))
    start, stop = start / sign, stop / sign
    result = np.logspace(np.log10(start), np.log10(stop), num=num, endpoint=endpoint, dtype=dt)
    if num > 0:
        result[0] = start
        if num > 1 and endpoint:
            result[-1] = stop
    result = result * sign
    if axis != 0:
        result = moveaxis(result, 0, axis)
    return result.astype(dt if dtype is None else dtype)


# ------------------------------------------------------------ polynomials

@implements(np.polyval)
def polyval(p, x):
    """``numpy.polyval`` by Horner's rule, y ← y x + pᵢ: differentiable in the
    coefficients and in x."""
    if not isinstance(p, (list, tuple)) and len(shape_of(p)) != 1:
        raise ValueError("numpy.polyval: p must be a 1-D sequence of coefficients")
    y = np.zeros_like(x) * 1.0
    for c in p:
        y = y * x + c
    return y


@implements(np.vander)
def vander(x, N=None, increasing=False):
    """``numpy.vander``: columns x^(N-1), ..., x, 1 (or increasing powers)."""
    if len(shape_of(x)) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = shape_of(x)[0] if N is None else N
    powers = np.arange(n) if increasing else np.arange(n - 1, -1, -1)
    return np.power(np.reshape(x, (-1, 1)), powers)


# ------------------------------------------------------------ interpolation

@implements(np.interp)
def interp(x, xp, fp, left=None, right=None, period=None):
    """``numpy.interp``, computed as NumPy computes it (in float64): on the segment
    [xpₖ, xpₖ₊₁] holding x, s (x - xpₖ) + fpₖ with the slope s = (fpₖ₊₁ - fpₖ) / (xpₖ₊₁ - xpₖ).
    The segment is chosen on the concrete values, so the derivative is piecewise: in x the
    slope of the segment (at a knot, the segment to its right), in fp the weights (1 - w, w)
    with w = (x - xpₖ) / (xpₖ₊₁ - xpₖ), in xp through w; at xpₙ₋₁ and beyond the value is
    fpₙ₋₁ (or ``right``), below xp₀ ``left`` (by default fp₀)."""
    if period is not None:
        raise NotImplementedError("numpy.interp(period=...) on traced values: map x into "
                                  "one period with np.mod first")
    xp, fp = asarray(xp), asarray(fp)   # lists (of traced values, perhaps) index as arrays
    # NumPy interpolates in float64 (complex128 for complex fp)
    x, xp = as_dtype(x, np.float64), as_dtype(xp, np.float64)
    fp = as_dtype(fp, np.complex128 if is_complex(fp) else np.float64)
    if len(shape_of(xp)) != 1 or shape_of(fp) != shape_of(xp):
        raise ValueError("fp and xp are not of the same length.")
    if shape_of(xp)[0] == 1:
        return np.zeros_like(x) + fp[0]
    k = _segment(xp, x)
    x0, x1, f0, f1 = (_gather(values, k + shift) for values in (xp, fp) for shift in (0, 1))
    y = (f1 - f0) / (x1 - x0) * (x - x0) + f0   # NumPy's formula, in its order
    y = np.where(x == xp[-1], fp[-1], y)   # the last knot gives fpₙ₋₁ exactly
    y = np.where(x < xp[0], fp[0] if left is None else left, y)   # comparisons: constants
    y = np.where(x > xp[-1], fp[-1] if right is None else right, y)
    return y[()] if not shape_of(y) else y   # a NumPy scalar for a scalar x, as NumPy's


def _gather(values, k):
    """values[k]; a NumPy table (no derivative to carry) is read by one recorded constant
    operation, so that a staged k (riesz.jit) still stages."""
    return values[k] if isinstance(values, Tracer) else _read_table(values, k)


@constant_function
def _read_table(values, k):
    """values[k] of a constant table."""
    return values[k]


@constant_function
def _segment(xp, x):
    """k with xp[k] ≤ x < xp[k + 1], clipped to the segments 0, ..., n − 2 (a constant: on
    staged values one recorded operation, so riesz.jit stages np.interp)."""
    return np.clip(np.searchsorted(xp, x, side="right") - 1, 0, np.shape(xp)[0] - 2)


# ------------------------------------------------------------ convolution

def _transpose_of_convolution(g, other, n, mode):
    """The transpose of x ↦ x ∗ other (x of length n, m = len(other)) applied to g: g placed
    at its rows of the full convolution (zeros elsewhere), then (gᶠᵘˡˡ ∗ reversed other)'s
    valid part, Σₗ gᶠᵘˡˡᵢ₊ₗ otherₗ: a convolution itself, O(n + m) memory."""
    m = shape_of(other)[0]
    full = n + m - 1
    first = {"full": 0, "same": (min(n, m) - 1) // 2, "valid": min(n, m) - 1}[mode]
    kept = shape_of(g)[0]
    if kept != full:
        g = np.pad(g, (first, full - first - kept))
    return convolve_p(g, other[::-1], mode="valid")


# NumPy's convolution itself (its value to the last bit); it is bilinear: ∂(a ∗ v)(ȧ, v̇) =
# ȧ ∗ v + a ∗ v̇, and each transpose is a convolution with the other argument reversed
convolve_p = defprim(
    "convolve", lambda a, v, mode: np.convolve(a, v, mode),
    jvp=[lambda t, ans, a, v, mode: convolve_p(t, v, mode=mode),
         lambda t, ans, a, v, mode: convolve_p(a, t, mode=mode)],
    vjp=[lambda g, ans, a, v, mode: _transpose_of_convolution(g, v, shape_of(a)[0], mode),
         lambda g, ans, a, v, mode: _transpose_of_convolution(g, a, shape_of(v)[0], mode)])


@implements(np.convolve)
def convolve(a, v, mode="full"):
    """``numpy.convolve`` of two 1-D arrays (bilinear: the derivative in each argument is a
    convolution with the other)."""
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"mode must be one of 'full', 'same', 'valid', not {mode!r}")
    if len(shape_of(a)) != 1 or len(shape_of(v)) != 1:
        raise ValueError("object too deep for desired array: convolve takes 1-D arrays")
    if shape_of(a)[0] == 0 or shape_of(v)[0] == 0:
        raise ValueError("a and v cannot be empty")
    return convolve_p(a, v, mode=mode)


@implements(np.correlate)
def correlate(a, v, mode="valid"):
    """``numpy.correlate`` = convolve(a, conj(v) reversed), with the longer argument first as
    NumPy orders it (a shorter a: the reversed convolution of conj(v) with a reversed)."""
    if shape_of(a)[0] < shape_of(v)[0]:
        return convolve(np.conj(v), a[::-1], mode)[::-1]
    return convolve(a, np.conj(v)[::-1], mode)


# ------------------------------------------------------------ covariance

@implements(np.cov)
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """``numpy.cov``: (X - x̄)(X - x̄)ᴴ / (N - ddof), weighted as NumPy weighs it.
    Differentiable in the data (and in ``aweights``)."""
    x = np.atleast_2d(m)
    if not rowvar and shape_of(x)[0] != 1:
        x = x.T
    if y is not None:
        y = np.atleast_2d(y)
        if not rowvar and shape_of(y)[0] != 1:
            y = y.T
        x = np.concatenate((x, y), axis=0)
    # NumPy computes in float64 at least (or in the dtype asked for)
    x = x.astype(np.result_type(full_lower(x), np.float64) if dtype is None else dtype)
    if ddof is None:
        ddof = 0 if bias else 1
    # NumPy's steps, in its order (so its rounding too)
    w = None
    if fweights is not None:
        w = np.asarray(fweights, dtype=float)
    if aweights is not None:
        aweights = aweights if isinstance(aweights, Tracer) else np.asarray(aweights, dtype=float)
        w = aweights if w is None else w * aweights
    mean, total = np.average(x, axis=1, weights=w, returned=True)
    total = total[0]
    if w is None:
        fact = shape_of(x)[1] - ddof
    elif ddof == 0:
        fact = total
    elif aweights is None:
        fact = total - ddof
    else:
        fact = total - ddof * np.sum(w * aweights) / total
    centered = (x - mean[:, None]).astype(dtype_of(x))   # X -= avg keeps X's dtype
    c = np.dot(centered, np.conj((centered if w is None else centered * w).T))
    # c *= 1 / fact: the product in float64 (a NumPy scalar), stored in c's dtype
    c = (c * np.true_divide(1, fact)).astype(dtype_of(c))
    return np.squeeze(c)


@implements(np.corrcoef)
def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """``numpy.corrcoef``: cov(x, y) / (σᵢ σⱼ), clipped to [-1, 1] as NumPy clips it (each
    part of a complex value). Only rounding takes an entry past ±1: those get derivative 0,
    the others (±1 included) keep theirs."""
    c = cov(x, y, rowvar, dtype=dtype)
    if len(shape_of(c)) == 0:
        return c / c
    sd = np.sqrt(np.real(np.diagonal(c)))
    return _clip_to_unit(c / sd[:, None] / sd[None, :])


def _clip_to_unit(c):
    if np.iscomplexobj(c):
        return _clip_to_unit(np.real(c)) + 1j * _clip_to_unit(np.imag(c))
    value = full_lower(c)
    return np.where(value > 1, 1.0, np.where(value < -1, -1.0, c))



# ------------------------------------------------------------ polynomial arithmetic

def _coefficients(p, name):
    """A 1-D array of coefficients (highest power first), as NumPy's poly* read them."""
    p = asarray(p) if isinstance(p, (list, tuple)) else p
    if len(shape_of(p)) == 0:
        p = np.reshape(p, (1,))
    if len(shape_of(p)) != 1:
        raise ValueError(f"numpy.{name}: the coefficients must be a 1-D sequence")
    return p


def _aligned(name, a1, a2):
    """Two coefficient vectors, the shorter padded with leading zeros (the same powers line
    up), as NumPy's polyadd and polysub align them."""
    a1, a2 = _coefficients(a1, name), _coefficients(a2, name)
    diff = shape_of(a2)[0] - shape_of(a1)[0]
    if diff > 0:
        a1 = np.concatenate([np.zeros(diff, dtype_of(a1)), a1])
    elif diff < 0:
        a2 = np.concatenate([np.zeros(-diff, dtype_of(a2)), a2])
    return a1, a2


@implements(np.polyadd)
def polyadd(a1, a2):
    """``numpy.polyadd``: the sum of two polynomials (linear in both)."""
    a1, a2 = _aligned("polyadd", a1, a2)
    return a1 + a2


@implements(np.polysub)
def polysub(a1, a2):
    """``numpy.polysub``: the difference of two polynomials (linear in both)."""
    a1, a2 = _aligned("polysub", a1, a2)
    return a1 - a2


@implements(np.polymul)
def polymul(a1, a2):
    """``numpy.polymul``: the product of two polynomials, the convolution of their
    coefficients (bilinear)."""
    return convolve(_coefficients(a1, "polymul"), _coefficients(a2, "polymul"))


@implements(np.polyder)
def polyder(p, m=1):
    """``numpy.polyder``: the m-th derivative, pᵢ ↦ (n − i) pᵢ repeated m times (linear)."""
    if m < 0:
        raise ValueError("Order of derivative must be positive (see polyint)")
    p = _coefficients(p, "polyder")
    for _ in range(int(m)):
        n = shape_of(p)[0] - 1
        p = p[:-1] * np.arange(n, 0, -1)
    return p


@implements(np.polyint)
def polyint(p, m=1, k=None):
    """``numpy.polyint``: the m-th antiderivative, pᵢ ↦ pᵢ / (n − i) with the integration
    constant ``k`` (zeros by default; differentiable too) appended each time (linear)."""
    m = int(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    p = _coefficients(p, "polyint")
    k = np.zeros(m) if k is None else _coefficients(k, "polyint")
    if shape_of(k)[0] == 1 and m > 1:
        k = np.broadcast_to(k, (m,))
    if shape_of(k)[0] < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")
    for i in range(m):
        p = np.concatenate([p / np.arange(shape_of(p)[0], 0, -1), k[i:i + 1]])
    return p


@implements(np.poly)
def poly(seq_of_zeros):
    """``numpy.poly``: the monic polynomial with the given roots (or a square matrix's
    eigenvalues), ∏(x − rᵢ) by repeated convolution with (1, −rᵢ). As in NumPy, complex
    roots that come in conjugate pairs give real coefficients (decided on the values)."""
    roots = np.reshape(seq_of_zeros, (1,)) if len(shape_of(seq_of_zeros)) == 0 else seq_of_zeros
    shape = shape_of(roots)
    if len(shape) == 2 and shape[0] == shape[1] and shape[0] != 0:
        roots = np.linalg.eigvals(roots)
    elif len(shape) == 1:
        roots = as_dtype(roots, np.mintypecode(dtype_of(roots).char))
    else:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    if shape_of(roots)[0] == 0:
        return 1.0
    dtype = dtype_of(roots)
    a = np.ones((1,), dtype)
    for k in range(shape_of(roots)[0]):
        a = convolve(a, np.concatenate([np.ones((1,), dtype), -roots[k:k + 1]]))
    if dtype.kind == "c":
        r = np.asarray(full_lower(roots), complex)
        if np.all(np.sort(r) == np.sort(r.conjugate())):
            a = np.real(a)
    return a


@implements(np.polyfit)
def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """``numpy.polyfit``: least-squares coefficients through :func:`numpy.linalg.lstsq` of
    the column-scaled Vandermonde matrix, as NumPy computes them; differentiable in x, y and
    w where the rank is locally constant. ``cov`` is not supported."""
    if cov:
        raise NotImplementedError("numpy.polyfit(cov=True) on traced values: compute the "
                                  "covariance from the residuals of full=True")
    order = int(deg) + 1
    x, y = asarray(x) + 0.0, asarray(y) + 0.0
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if len(shape_of(x)) != 1 or shape_of(x)[0] == 0:
        raise TypeError("expected 1D vector for x" if len(shape_of(x)) != 1 else
                        "expected non-empty vector for x")
    if len(shape_of(y)) not in (1, 2) or shape_of(x)[0] != shape_of(y)[0]:
        raise TypeError("expected 1D or 2D array for y, with as many rows as x has entries")
    if rcond is None:
        rcond = shape_of(x)[0] * np.finfo(dtype_of(x)).eps
    lhs, rhs = np.vander(x, order), y
    if w is not None:
        w = asarray(w) + 0.0
        lhs = lhs * w[:, None]
        rhs = rhs * (w[:, None] if len(shape_of(rhs)) == 2 else w)
    scale = np.sqrt(np.sum(lhs * lhs, axis=0))
    c, residuals, rank, s = np.linalg.lstsq(lhs / scale, rhs, rcond)
    c = (c.T / scale).T
    return (c, residuals, rank, s, rcond) if full else c


@implements(np.roots)
def roots(p):
    """``numpy.roots``: the eigenvalues of the companion matrix, whose first row is
    −p[1:]/p[0] (differentiable where the roots are simple). Leading zeros are dropped and
    trailing zeros give roots at 0 (constants), decided on the values as NumPy does."""
    p = _coefficients(p, "roots")
    nonzero = np.flatnonzero(np.asarray(full_lower(p)))
    if len(nonzero) == 0:
        return np.array([])
    trailing = shape_of(p)[0] - int(nonzero[-1]) - 1
    p = p[int(nonzero[0]):int(nonzero[-1]) + 1]
    if dtype_of(p).kind not in "fc":
        p = as_dtype(p, float)
    n = shape_of(p)[0]
    if n > 1:
        first_row = -p[1:] / p[0]
        companion = np.concatenate([first_row[None], np.eye(n - 2, n - 1, dtype=dtype_of(p))])
        found = np.linalg.eigvals(companion)
    else:
        found = np.array([], dtype_of(p))
    return np.concatenate([found, np.zeros(trailing, dtype_of(found))])


# ------------------------------------------------------------ phases and trimming

_unwrapped = constant_function(np.unwrap)


@implements(np.unwrap)
def unwrap(p, discont=None, axis=-1, *, period=2 * np.pi):
    """``numpy.unwrap``: p plus multiples of ``period`` that are piecewise constant, so the
    derivative is the identity. The value is NumPy's: u + (p − p) with u = np.unwrap(p)."""
    from .elementwise import stop_gradient
    return (p - stop_gradient(p)) + _unwrapped(p, discont, axis, period=period)


@implements(np.trim_zeros)
def trim_zeros(filt, trim="fb", axis=None):
    """``numpy.trim_zeros``: a slice of ``filt`` without its leading ('f') and trailing ('b')
    zeros along ``axis`` (all axes by default); where to cut is read from the values."""
    trim = trim.lower()
    if trim not in ("f", "b", "fb", "bf"):
        raise ValueError(f"unexpected character(s) in `trim`: {trim!r}")
    nonzero = np.asarray(full_lower(filt)) != 0
    ndim = nonzero.ndim
    axes = range(ndim) if axis is None else [int(a) % ndim for a in np.atleast_1d(axis)]
    idx = [slice(None)] * ndim
    for ax in axes:
        kept = np.flatnonzero(nonzero.any(axis=tuple(a for a in range(ndim) if a != ax)))
        if kept.size == 0:
            idx[ax] = slice(0, 0)
            continue
        start = int(kept[0]) if "f" in trim else 0
        stop = int(kept[-1]) + 1 if "b" in trim else nonzero.shape[ax]
        idx[ax] = slice(start, stop)
    return filt[tuple(idx)]


# ------------------------------------------------------------ histograms

@implements(np.histogram)
def histogram(a, bins=10, range=None, density=None, weights=None):
    """``numpy.histogram``: with traced ``weights``, the sum of the weights in each bin (a
    scatter-add), differentiable in the weights; the bins and the counts are read from the
    values of ``a`` and carry no derivative. ``density`` divides by Σ counts × bin width."""
    a = np.asarray(full_lower(a))
    if weights is None:
        return np.histogram(a, bins, range, density)
    edges = np.histogram_bin_edges(a, bins, range)
    values, w = a.ravel(), np.ravel(weights)
    # bin i holds edges[i] <= a < edges[i + 1], the last bin also its right edge (NumPy's rule)
    index = np.searchsorted(edges, values, side="right") - 1
    index[values == edges[-1]] = len(edges) - 2
    inside = (values >= edges[0]) & (values <= edges[-1])
    from .reductions import bincount
    n = as_dtype(bincount(index[inside], weights=w[inside], minlength=len(edges) - 1),
                 dtype_of(weights))
    if density:
        n = n / np.diff(edges) / np.sum(n)
    return n, edges


@implements(np.sort_complex)
def sort_complex(a):
    """``numpy.sort_complex``: sorted by real part, then imaginary part (the derivative
    follows the permutation), as a complex array of NumPy's dtype."""
    out = np.sort(a, axis=-1)
    return as_dtype(out, np.sort_complex(np.zeros(1, dtype_of(a))).dtype)
