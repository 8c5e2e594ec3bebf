"""Elementwise functions: each primitive with its JVP and VJP rules.

Binary functions broadcast like ufuncs; ``defprim(..., broadcasting=True)``
fits tangents to the output's shape and sums cotangents back to each
argument's shape (see :func:`riesz.rules.define.unbroadcast`). Rules use
riesz's own operations (operators on traced values, the primitives below),
so they differentiate again for higher orders.

Products of a (co)tangent with a derivative go through
:func:`~riesz.rules.define.scale`, where 0 × ∞ = 0: an exact zero reaching a
rule (the unselected branch of ``where``) stays zero at a singular point.

Complex numbers follow JAX's convention (docs/complex.md): the VJP of a
holomorphic f is g ↦ f'(z) g, with no conjugation; ``real``, ``imag``,
``conj`` and ``absolute`` have their own real-linear rules.
"""
import math

import numpy as np

from ..backend import computes_with_booleans
from ..core import Tracer, bind, full_lower, lower_to_values
from ..numpy.compat import COMPLEX_SIGN_IS_UNIT, numpy_name
from ..tree import tree_flatten, tree_unflatten
from ..numpy.dispatch import UFUNC_PRIMITIVES, implements, implements_constant, constant_function
from .define import (defprim, defunary, defbinary, dtype_of, is_complex, scale, as_dtype, ZERO,
                     shape_of, unbroadcast)
from .indexing import copy as copy_of

# ------------------------------------------------------------ linear functions

# ∂(x + y)(ẋ, ẏ) = ẋ + ẏ; transpose: g ↦ (g, g)
add = defprim("add", np.add, broadcasting=True,
              jvp=[lambda t, ans, x, y: t, lambda t, ans, x, y: t],
              vjp=[lambda g, ans, x, y: g, lambda g, ans, x, y: g], reads=["", ""])

# ∂(x - y)(ẋ, ẏ) = ẋ - ẏ; transpose: g ↦ (g, -g), y's part summed over its broadcast
# axes before the negation (a max shift's cotangent: one pass over g, not two)
subtract = defprim("subtract", np.subtract, broadcasting=True,
                   jvp=[lambda t, ans, x, y: t, lambda t, ans, x, y: negative(t)],
                   vjp=[lambda g, ans, x, y: g,
                        lambda g, ans, x, y: negative(unbroadcast(g, shape_of(y)))],
                   reads=["", ""])

# ∂(-x)(ẋ) = -ẋ, its own transpose
negative = defprim("negative", np.negative, elementwise=True,
                   jvp=[lambda t, ans, x: negative(t)],
                   vjp=[lambda g, ans, x: negative(g)], reads=[""])

# ------------------------------------------------------------ products and quotients

def _inverse(v, one=1.0):
    # ±1/v (``one`` is ±1.0) as NumPy computes it, in one pass: a Python 0.0 gives ±inf
    # (1.0 / 0.0 would raise), an int gives a float (np.reciprocal would truncate). A Python
    # number stays a Python float, which NumPy treats as weakly typed: g / count keeps a
    # float32 g float32.
    if type(v) in (int, float, bool):
        return one / v if v != 0 else math.copysign(math.inf, v) * one
    return np.true_divide(one, v)


# ∂(x ⊙ y)(ẋ, ẏ) = ẋ ⊙ y + x ⊙ ẏ; transpose: g ↦ (g ⊙ y, x ⊙ g)
multiply = defprim("multiply", np.multiply, broadcasting=True,
                   jvp=[lambda t, ans, x, y: scale(t, y), lambda t, ans, x, y: scale(x, t)],
                   vjp=[lambda g, ans, x, y: scale(g, y), lambda g, ans, x, y: scale(x, g)],
                   reads=["y", "x"])

# ∂(x / y)(ẋ, ẏ) = ẋ / y − (ans / y) ⊙ ẏ; transpose: g ↦ (g ⊙ (1/y), Σ(g ⊙ ans) ⊙ (−1/y)),
# the sum taken over the axes that y is broadcast along before the product (y is constant
# along them): where a quotient normalises by a row sum (softmax), y's cotangent costs
# one product and one sum over g, not four passes
divide = defprim("divide", np.true_divide, broadcasting=True,
                 jvp=[lambda t, ans, x, y: scale(t, _inverse(y)),
                      lambda t, ans, x, y: scale(t, -ans / y)],
                 vjp=[lambda g, ans, x, y: scale(g, _inverse(y)),
                      lambda g, ans, x, y: scale(unbroadcast(scale(g, ans), shape_of(y)),
                                                 _inverse(y, -1.0))],
                 reads=["y", "ans y"])


def _power_dx(ans, x, y):
    # ∂ₓ xʸ = y xʸ⁻¹, taken as 0 where y = 0 (x⁰ = 1 is constant, even at x = 0)
    if type(y) in (int, float):   # x ** 2: a Python exponent makes no array (x may be CuPy's)
        return y * x ** (y - 1) if y != 0 else 0.0
    return where(y == 0, 0.0, y * x ** where(y == 0, 1.0, y - 1))


def _power_dy(ans, x, y):
    # ∂ᵧ xʸ = log(x) xʸ, taken as 0 at x = 0 (the limit from x > 0 for y > 0); for a
    # complex power of a real x, log x is the complex logarithm (log(-2) = log 2 + iπ)
    base = where(x == 0, 1.0, x)
    if is_complex(ans) and not is_complex(x):
        base = base + 0j
    return ans * log(base)


# ∂(xʸ)(ẋ, ẏ) = y xʸ⁻¹ ẋ + log(x) xʸ ẏ
power = defbinary("power", np.power, _power_dx, _power_dy)

# ∂ log(eˣ + eʸ) = (eˣ⁻ᵃⁿˢ, eʸ⁻ᵃⁿˢ): the softmax weights of the two arguments
logaddexp = defbinary("logaddexp", np.logaddexp,
                      lambda ans, x, y: exp(x - ans), lambda ans, x, y: exp(y - ans))
# ∂ log₂(2ˣ + 2ʸ) = (2ˣ⁻ᵃⁿˢ, 2ʸ⁻ᵃⁿˢ)
logaddexp2 = defbinary("logaddexp2", np.logaddexp2,
                       lambda ans, x, y: exp2(x - ans), lambda ans, x, y: exp2(y - ans))


def _over_squared_radius(v, y, x):
    # v / (x² + y²), taken as 0 at the origin, where the angle has no derivative
    r2 = x * x + y * y
    return v / where(r2 == 0, 1.0, r2)


# arctan2(y, x) is the angle of (x, y): ∂ = (x ẏ - y ẋ) / (x² + y²), 0 at the origin
arctan2 = defbinary("arctan2", np.arctan2,
                    lambda ans, y, x: _over_squared_radius(x, y, x),
                    lambda ans, y, x: _over_squared_radius(-y, y, x))


def _hypot_partial(ans, x, y):
    # ∂ₓ√(x² + y²) = x / ans, taken as 0 at x = y = 0 (the minimum-norm subgradient)
    return x / where(ans == 0, 1.0, ans)


hypot = defbinary("hypot", np.hypot, _hypot_partial, lambda ans, x, y: _hypot_partial(ans, y, x))

# copysign(x, y) = |x| sign(y): ∂ₓ = sign(x) sign(y) (0 at x = 0); piecewise constant in y
copysign = defbinary("copysign", np.copysign,
                     lambda ans, x, y: (np.sign(lower_to_values(x))
                                        * np.copysign(1.0, lower_to_values(y))),
                     ZERO)

# x mod y = x - ⌊x / y⌋ y: ∂ₓ = 1, ∂ᵧ = -⌊x / y⌋ (⌊x / y⌋ is piecewise constant)
remainder = defbinary("remainder", np.remainder, lambda ans, x, y: 1.0,
                      lambda ans, x, y: -np.floor_divide(lower_to_values(x), lower_to_values(y)))

# fmod(x, y) = x - trunc(x / y) y (C's remainder, the sign of x): ∂ₓ = 1, ∂ᵧ = -trunc(x / y)
fmod = defbinary("fmod", np.fmod, lambda ans, x, y: 1.0,
                 lambda ans, x, y: -np.trunc(np.true_divide(lower_to_values(x),
                                                            lower_to_values(y))))


# ------------------------------------------------------------ selecting functions

def _share(wins, x, y, dtype, nan_loses):
    """The part of the derivative that goes to x when f picks x or y by ``wins(x, y)``:
    1 where x wins, ½ at ties (the mean of the one-sided derivatives), and with
    ``nan_loses`` (fmax, fmin) 1 where only y is NaN."""
    x, y = lower_to_values(x), lower_to_values(y)
    won, tied = wins(x, y), x == y
    if not computes_with_booleans(won):
        won, tied = as_dtype(won, dtype), as_dtype(tied, dtype)
    share = won + 0.5 * tied
    if nan_loses:
        share = share + (np.isnan(y) & ~np.isnan(x))
    return as_dtype(share, dtype)   # array operations, so that a staged program has them


def _selector(name, impl, wins, nan_loses=False):
    """f(x, y) picks x or y entry by entry: ∂f = s ⊙ ẋ + s' ⊙ ẏ with the shares s, s'."""
    return defbinary(name, impl, lambda ans, x, y: _share(wins, x, y, dtype_of(ans), nan_loses),
                     lambda ans, x, y: _share(wins, y, x, dtype_of(ans), nan_loses),
                     reads=["x y", "x y"])


# ∂max(x, y) = 1 where x > y, 0 where x < y, ½ at ties (the same convention as JAX)
maximum = _selector("maximum", np.maximum, np.greater)
minimum = _selector("minimum", np.minimum, np.less)
fmax = _selector("fmax", np.fmax, np.greater, nan_loses=True)
fmin = _selector("fmin", np.fmin, np.less, nan_loses=True)

# where(c, x, y) is linear in (x, y): ∂ = where(c, ẋ, ẏ); its transpose sends g to
# where(c, g, 0) and where(c, 0, g), so the unselected branch gets an exact zero.
where = defprim("where", np.where, broadcasting=True,
                jvp=[ZERO, lambda t, ans, c, x, y: where(c, t, 0.0),
                     lambda t, ans, c, x, y: where(c, 0.0, t)],
                vjp=[ZERO, lambda g, ans, c, x, y: where(c, g, 0.0),
                     lambda g, ans, c, x, y: where(c, 0.0, g)], reads=["", "c", "c"])

# ------------------------------------------------------------ unary functions: f'(x)

LN2, LN10 = math.log(2.0), math.log(10.0)

exp = defunary("exp", np.exp, lambda ans, x: ans, reads="ans")
exp2 = defunary("exp2", np.exp2, lambda ans, x: ans * LN2, reads="ans")
expm1 = defunary("expm1", np.expm1, lambda ans, x: ans + 1.0, reads="ans")
log = defunary("log", np.log, lambda ans, x: _inverse(x), reads="x")
log2 = defunary("log2", np.log2, lambda ans, x: _inverse(x * LN2), reads="x")
log10 = defunary("log10", np.log10, lambda ans, x: _inverse(x * LN10), reads="x")
log1p = defunary("log1p", np.log1p, lambda ans, x: _inverse(x + 1.0), reads="x")
sqrt = defunary("sqrt", np.sqrt, lambda ans, x: 0.5 / ans, reads="ans")
cbrt = defunary("cbrt", np.cbrt, lambda ans, x: 1.0 / (3.0 * ans * ans), reads="ans")
square = defunary("square", np.square, lambda ans, x: 2.0 * x, reads="x")
reciprocal = defunary("reciprocal", np.reciprocal, lambda ans, x: -(ans * ans), reads="ans")

sin = defunary("sin", np.sin, lambda ans, x: cos(x), finite_derivative=True, reads="x")
cos = defunary("cos", np.cos, lambda ans, x: negative(sin(x)), reads="x")
tan = defunary("tan", np.tan, lambda ans, x: 1.0 + ans * ans, reads="ans")
arcsin = defunary("arcsin", np.arcsin, lambda ans, x: 1.0 / sqrt(1.0 - x * x), reads="x")
arccos = defunary("arccos", np.arccos, lambda ans, x: -1.0 / sqrt(1.0 - x * x), reads="x")
arctan = defunary("arctan", np.arctan, lambda ans, x: _inverse(1.0 + x * x), reads="x")

sinh = defunary("sinh", np.sinh, lambda ans, x: cosh(x), reads="x")
cosh = defunary("cosh", np.cosh, lambda ans, x: sinh(x), reads="x")
tanh = defunary("tanh", np.tanh, lambda ans, x: 1.0 - ans * ans, finite_derivative=True,
                reads="ans")
arcsinh = defunary("arcsinh", np.arcsinh, lambda ans, x: 1.0 / sqrt(x * x + 1.0), reads="x")
# 1/√(x² - 1) written as 1/(√(x - 1) √(x + 1)): the same for real x > 1, the right branch
# for complex x
arccosh = defunary("arccosh", np.arccosh, lambda ans, x: 1.0 / (sqrt(x - 1.0) * sqrt(x + 1.0)),
                   reads="x")
arctanh = defunary("arctanh", np.arctanh, lambda ans, x: _inverse(1.0 - x * x), reads="x")

# |x|' = sign(x) for real x, 0 at x = 0 (the minimum-norm subgradient)
fabs = defunary("fabs", np.fabs, lambda ans, x: np.sign(lower_to_values(x)), reads="x")


def _sinc_derivative(ans, x):
    # sinc(x) = sin(πx)/(πx): sinc'(x) = (cos(πx) - sinc(x)) / x, and near 0, where that
    # cancels, its Taylor series -π²x/3 + π⁴x³/30 (so sinc''(0) = -π²/3 is right too)
    small = abs(lower_to_values(x)) < 1e-3
    safe_x = where(small, 1.0, x)
    series = x * (-math.pi ** 2 / 3 + x * x * (math.pi ** 4 / 30))
    return where(small, series, (cos(math.pi * x) - ans) / safe_x)


sinc = defunary("sinc", np.sinc, _sinc_derivative)


# ------------------------------------------------------------ modified Bessel functions

def _i1_values(x):
    """I₁(x) = Σₖ (x/2)^(2k+1) / (k! (k+1)!) in float64, cast to x's floating dtype. The
    terms share x's sign and each is the previous one times (x/2)² / (k (k+1)), so the
    sum is accurate to rounding; it stops where the terms no longer count (also at NaN,
    ∞ and 0). NumPy has i0 but no i1, which is I₀'."""
    x = np.asarray(x)
    half = x.astype(np.float64) / 2
    quarter_square, term, total, k = half * half, half, half, 0
    with np.errstate(over="ignore", invalid="ignore"):
        while np.any(np.abs(term) > np.finfo(np.float64).eps * np.abs(total)):
            k += 1
            term = term * quarter_square / (k * (k + 1))
            total = total + term
    return total.astype(np.result_type(x.dtype, np.float16) if x.dtype.kind == "f" else np.float64)


# I₀' = I₁ and I₁' = I₀ − I₁/x, with the limit ½ at x = 0 (numpy.i0; with SciPy installed,
# scipy.special.i0 and i1 reach the same primitives, riesz/rules/special.py)
i0 = defunary("i0", np.i0, lambda ans, x: i1(x), finite_derivative=True, reads="x")
i1 = defunary("i1", _i1_values,
              lambda ans, x: where(x == 0, 0.5, i0(x) - ans / where(x == 0, 1.0, x)),
              finite_derivative=True)
implements(np.i0)(i0)

# ------------------------------------------------------------ complex numbers


# Re and Im are real-linear: ∂Re z (ż) = Re ż. Under the pairing Re⟨c, ż⟩ = Re Σ c ż
# their transposes are c ↦ c and c ↦ -i c (the cotangent that pairs with Im ż).
real = defprim("real", np.real, elementwise=True,
               jvp=[lambda t, ans, x: real(t)], vjp=[lambda g, ans, x: g], reads=[""])
imag = defprim("imag", np.imag, elementwise=True,
               jvp=[lambda t, ans, x: imag(t)], vjp=[lambda g, ans, x: g * -1j], reads=[""])
# ∂ z̄ (ż) = ż̄; Re⟨c, ż̄⟩ = Re⟨c̄, ż⟩, so the transpose is c ↦ c̄
conjugate = defprim("conjugate", np.conjugate, elementwise=True,
                    jvp=[lambda t, ans, x: conjugate(t)], vjp=[lambda g, ans, x: conjugate(g)],
                    reads=[""])


def _times_sign(v, ans, x):
    # v z̄/|z| (v sign(x) for real x), 0 at z = 0; v/|z| is taken first, which keeps
    # exact cases exact (grad of |z|² at 3+4j is 6-8j to the last bit)
    if is_complex(x):
        return scale(v / where(ans == 0, 1.0, ans), conjugate(x))
    return scale(v, np.sign(lower_to_values(x)))


# ∂|z|(ż) = Re(z̄/|z| ż); transpose: g ↦ g z̄/|z| (for real x: sign(x) ẋ, its own transpose)
absolute = defprim("absolute", np.absolute, elementwise=True,
                   jvp=[lambda t, ans, x: _real_part(_times_sign(t, ans, x))],
                   vjp=[lambda g, ans, x: _times_sign(g, ans, x)])


def _real_part(x):
    return real(x) if is_complex(x) else x


@implements(np.real)
def real_(val):
    """``numpy.real``: the identity on real values."""
    return real(val) if is_complex(val) else val


@implements(np.imag)
def imag_(val):
    """``numpy.imag``: zero (a constant) for real values."""
    return imag(val) if is_complex(val) else np.zeros_like(full_lower(val))


@implements(np.conjugate)
def conjugate_(x, **kwargs):
    """``numpy.conjugate`` (``numpy.conj``): a copy of a real value."""
    _no_kwargs("conjugate", kwargs)
    return conjugate(x) if is_complex(x) else copy_of(x)


@implements(np.angle)
def angle(z, deg=False):
    """``numpy.angle`` = arctan2(Im z, Re z); constant (0 or π) for real values.
    Its derivative at z = 0 is taken as 0 (arctan2's convention at the origin)."""
    if not is_complex(z):
        return np.angle(full_lower(z), deg=deg)
    a = arctan2(imag(z), real(z))
    return a * (180.0 / math.pi) if deg else a


# ------------------------------------------------------------ the NumPy names

def _is_default(name, value):
    default = _UFUNC_DEFAULTS.get(name, ())
    return value is default or (type(value) is str and value == default)


def _no_kwargs(name, kwargs, module="numpy"):
    if kwargs:
        raise TypeError(f"{module}.{name}: keyword arguments {sorted(kwargs)} are not supported "
                        f"on traced values")


# the convention of each ufunc at the points where its derivative does not exist
# (docs/numpy.md repeats them)
_CONVENTIONS = {
    "power": "∂/∂x is taken as 0 where y = 0, ∂/∂y as 0 at x = 0.",
    "sqrt": "sqrt'(0) = ∞, and 0 under a zero cotangent (0 × ∞ = 0).",
    "cbrt": "cbrt'(0) = ∞, and 0 under a zero cotangent (0 × ∞ = 0).",
    "absolute": "The derivative at 0 is 0, the minimum-norm subgradient.",
    "fabs": "The derivative at 0 is 0, the minimum-norm subgradient.",
    "hypot": "The gradient at (0, 0) is 0, the minimum-norm subgradient.",
    "arctan2": "The derivative at the origin is taken as 0.",
    "copysign": "∂/∂x = sign(x) sign(y), 0 at x = 0; the derivative in y is 0.",
    "remainder": "∂/∂x = 1, ∂/∂y = -floor(x / y), which jumps where x / y is an integer.",
    "maximum": "At ties each argument gets half the derivative.",
    "minimum": "At ties each argument gets half the derivative.",
    "fmax": "At ties each argument gets half; where one is NaN the other gets it all.",
    "fmin": "At ties each argument gets half; where one is NaN the other gets it all.",
}


# a ufunc's keyword arguments at values that change nothing for a new (not out=) array
_UFUNC_DEFAULTS = {"where": True, "casting": "same_kind", "order": "K", "subok": True,
                   "dtype": None}


def _ufunc(prim, ufunc, module="numpy"):
    """Register primitive ``prim`` as ``module``'s ufunc ``ufunc`` on traced values.
    ``dtype=`` computes in that dtype (the arguments are cast to it, as NumPy's loop
    selection does for floating and complex dtypes)."""
    def call(*args, **kwargs):
        if kwargs:
            dtype = kwargs.pop("dtype", None)
            _no_kwargs(ufunc.__name__, {k: v for k, v in kwargs.items()
                                        if not _is_default(k, v)}, module)
            if dtype is not None:
                args = tuple(as_dtype(a, dtype) for a in args)
        return bind(prim, args, {})
    call.__name__ = ufunc.__name__
    call.__doc__ = (f"{module}.{ufunc.__name__} with derivatives (primitive {prim.name!r}). "
                    + _CONVENTIONS.get(prim.name, ""))
    implements(ufunc)(call)
    UFUNC_PRIMITIVES[ufunc] = prim
    return call


for _prim in [add, subtract, negative, multiply, power, logaddexp, logaddexp2, arctan2, hypot,
              copysign, remainder, fmod, maximum, minimum, fmax, fmin, exp, exp2, expm1, log, log2,
              log10, log1p, sqrt, cbrt, square, reciprocal, sin, cos, tan, arcsin, arccos, arctan,
              sinh, cosh, tanh, arcsinh, arccosh, arctanh, fabs, absolute]:
    _ufunc(_prim, getattr(np, _prim.name))
_ufunc(divide, np.true_divide)   # np.divide is np.true_divide; np.mod is np.remainder


@implements(np.positive)
def positive(x):
    """``numpy.positive`` (``+x``): a copy, a new object (``y = +x; y[0] = 0`` leaves x)."""
    return copy_of(x)


@implements(np.sinc)
def sinc_(x):
    """sin(πx)/(πx), with sinc'(0) = 0 and sinc''(0) = -π²/3 (a Taylor series near 0)."""
    return sinc(x)


def _times_ratio(x, numerator, denominator):
    """x · (numerator / denominator) as NumPy's loops compute it: the ratio rounded in x's
    precision (float32 arithmetic for float16, whose loops compute in float32)."""
    dtype = np.dtype(dtype_of(x))
    if dtype.kind != "f" or dtype.itemsize > 4:
        return x * (numerator / denominator)
    work = np.float32
    product = as_dtype(x, work) * (work(numerator) / work(denominator))
    return as_dtype(product, dtype)


@implements(np.deg2rad)
def deg2rad(x):
    """π/180 x (``numpy.radians`` is the same function)."""
    return _times_ratio(x, math.pi, 180.0)


@implements(np.rad2deg)
def rad2deg(x):
    """180/π x (``numpy.degrees`` is the same function)."""
    return _times_ratio(x, 180.0, math.pi)


implements(np.radians)(deg2rad)
implements(np.degrees)(rad2deg)


@implements(np.float_power)
def float_power(x, y):
    """``numpy.float_power``: ``power`` computed in float64 (complex128 for complex)."""
    def widen(v):
        wide = np.complex128 if is_complex(v) else np.float64
        return astype_(v, wide) if isinstance(v, Tracer) else np.asarray(v, dtype=wide)
    return power(widen(x), widen(y))


@implements(np.clip)
def clip(a, a_min=None, a_max=None, out=None, **kwargs):
    """``numpy.clip`` = min(max(a, a_min), a_max): derivative 1 inside the bounds, 0
    outside, ½ on a bound (the convention of maximum and minimum)."""
    if out is not None:
        raise TypeError("numpy.clip(..., out=...) is not supported on traced values")
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    _no_kwargs("clip", kwargs)
    if a_min is not None:
        a = maximum(a, a_min)
    if a_max is not None:
        a = minimum(a, a_max)
    return copy_of(a) if a_min is None and a_max is None else a


@implements(np.where)
def where_(condition, x=None, y=None):
    """``numpy.where(c, x, y)``: the unselected branch gets an exact zero cotangent, which
    stays zero through that branch's rules (so ``where(x > 0, sqrt(x), 0)`` has a finite
    gradient at 0). With the condition alone, the indices (a constant)."""
    if x is None and y is None:
        condition = full_lower(condition)
        if isinstance(condition, Tracer):   # staged: the result's shape depends on the values
            raise condition.concretization_error("np.where(condition) with one argument")
        return np.where(condition)
    return where(lower_to_values(condition), x, y)


@implements(np.sign)
def sign(x):
    """``numpy.sign``: piecewise constant for real x (zero derivative); for complex z it is
    z / |z|, differentiable away from 0 (at z = 0 it is 0 with derivative taken as 0). Before
    NumPy 2 complex z too had a piecewise constant sign (that of Re z)."""
    if not (is_complex(x) and COMPLEX_SIGN_IS_UNIT):
        return _constant_sign(x)
    # (Re z / r, Im z / r) with r = hypot(Re z, Im z), as NumPy computes it (not z / |z|)
    re, im = real(x), imag(x)
    radius = hypot(re, im)
    at_zero = lower_to_values(radius) == 0
    safe = where(at_zero, 1.0, radius)
    return where(at_zero, 0.0, re / safe + 1j * (im / safe))


@implements(np.nan_to_num)
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """``numpy.nan_to_num``: finite entries pass through (derivative 1); NaN and ±inf are
    replaced by constants (derivative 0). Complex: each part on its own."""
    if is_complex(x):
        parts = (nan_to_num(p, nan=nan, posinf=posinf, neginf=neginf) for p in (real(x), imag(x)))
        return next(parts) + 1j * next(parts)
    v = full_lower(x)
    info = np.finfo(dtype_of(x)) if np.issubdtype(dtype_of(x), np.inexact) else None
    if info is None:   # integers and booleans have no NaN or inf
        return x
    big = info.max if posinf is None else posinf
    small = info.min if neginf is None else neginf
    out = where(np.isnan(v), nan, x)
    out = where(np.isposinf(v), big, out)
    return as_dtype(where(np.isneginf(v), small, out), dtype_of(x))


@implements(np.real_if_close)
def real_if_close(a, tol=100):
    """``numpy.real_if_close``: the real part where every imaginary part is within ``tol``
    machine epsilons of 0 (decided on the concrete values), else ``a`` unchanged."""
    v = np.asarray(full_lower(a))
    if is_complex(a) and np.all(np.abs(v.imag) < (tol * np.finfo(v.dtype).eps if tol > 1 else tol)):
        return real(a)
    return a


@implements(np.modf)
def modf(x):
    """``numpy.modf``: (x - trunc(x), trunc(x)); the fractional part has derivative 1, the
    integral part 0."""
    whole = np.trunc(lower_to_values(x))
    return x - whole, whole


@implements(np.frexp)
def frexp(x):
    """``numpy.frexp``: x = m 2ᵉ with the exponent e a constant and m = x 2⁻ᵉ (derivative
    2⁻ᵉ)."""
    e = _exponent(x)
    return x * _power_of_two(np.ones((), dtype_of(x)), -e), e


@implements(np.ldexp)
def ldexp(x, i):
    """``numpy.ldexp(x, i)`` = x 2ⁱ for integer i: derivative 2ⁱ in x."""
    return x * _power_of_two(np.ones((), dtype_of(x)), i)


@constant_function
def _exponent(x):
    """The binary exponent e of x = m 2ᵉ (a constant, also in a staged program)."""
    return np.frexp(x)[1]


_power_of_two = constant_function(np.ldexp)   # c 2ⁱ, a constant


@implements(np.divmod)
def divmod_(x, y):
    """``numpy.divmod`` = (floor_divide(x, y), remainder(x, y)): the quotient is piecewise
    constant, the remainder is ``remainder``."""
    return np.floor_divide(lower_to_values(x), lower_to_values(y)), remainder(x, y)


# piecewise constant (zero derivative) or boolean-valued: computed on the concrete values
implements_constant(np.greater, np.greater_equal, np.less, np.less_equal, np.equal,
                    np.not_equal, np.floor, np.ceil, np.rint, np.trunc, np.round, np.fix,
                    np.around, np.isnan, np.isfinite, np.isinf, np.isposinf, np.isneginf,
                    np.isreal, np.iscomplex, np.logical_and, np.logical_or, np.logical_not,
                    np.logical_xor, np.floor_divide, np.heaviside, np.signbit, np.spacing,
                    np.invert, np.bitwise_and, np.bitwise_or, np.bitwise_xor)
_constant_sign = constant_function(np.sign)


# a change of dtype is linear; its transpose casts back to the argument's dtype (taking
# the real part when a complex cotangent reaches a real argument)
# x.astype(dtype) keeps a NumPy scalar a scalar (as NumPy does); a Python number, which has
# no astype method, becomes a 0-d array
astype = defprim("astype", lambda x, dtype: x.astype(dtype) if hasattr(x, "astype")
                 else np.asarray(x).astype(dtype), elementwise=True,
                 jvp=[lambda t, ans, x, dtype: astype(t, dtype=dtype)],
                 vjp=[lambda g, ans, x, dtype: astype(_real_part(g) if not is_complex(x) else g,
                                                      dtype=dtype_of(x))],
                 reads=[""])


@implements("astype")
def astype_(x, dtype):
    dtype = np.dtype(dtype)
    if dtype == dtype_of(x):
        return x
    return astype(x, dtype=dtype)


@implements(numpy_name("astype"))
def astype_function(x, dtype, /, *, copy=True, device=None):
    """``numpy.astype(x, dtype)`` = ``x.astype(dtype)`` (a new object unless ``copy=False``)."""
    out = astype_(x, dtype)
    return copy_of(out) if copy and out is x else out


def _dtype_stand_in(x):
    # what NumPy's dtype queries need of a traced value: its dtype
    return dtype_of(x) if isinstance(x, Tracer) else x


@implements(np.result_type)
def result_type(*arrays_and_dtypes):
    return np.result_type(*(_dtype_stand_in(a) for a in arrays_and_dtypes))


@implements(np.iscomplexobj)
def iscomplexobj(x):
    return np.iscomplexobj(np.empty((), _dtype_stand_in(x)) if isinstance(x, Tracer) else x)


@implements(np.isrealobj)
def isrealobj(x):
    return not iscomplexobj(x)


def _held(x):
    """The value of ``stop_gradient(x)``: ``x``. A pytree (JAX's stop_gradient takes one, a
    dict of parameters, say) arrives here whole, as the engine looks for traced values among
    the arguments themselves, not inside containers: it gets the primitive leaf by leaf."""
    leaves, tree = tree_flatten(x)
    return x if tree.kind is None else tree_unflatten(tree, [stop_gradient(v) for v in leaves])


# the identity with a zero derivative: its result is a constant to every transform
stop_gradient = defprim("stop_gradient", _held, elementwise=True, jvp=[ZERO], vjp=[ZERO])
