"""scipy.special's ufuncs: each primitive with its JVP and VJP rules.

Imported by :mod:`riesz.rules` only when SciPy is installed (it stays an optional
extra). SciPy's ufuncs reach riesz through ``__array_ufunc__`` like NumPy's, so
``scipy.special.erf(x)`` on a traced ``x`` binds the primitive ``erf``; the
derivatives are written with riesz's own operations, so they differentiate again.

The polygamma functions ψ⁽ⁿ⁾ = dⁿ⁺¹/dxⁿ⁺¹ log Γ close the chain gammaln → digamma →
polygamma(1, ·) → polygamma(2, ·) → ...: :func:`polygamma` is one primitive with
the order ``n`` as a parameter. (``scipy.special.polygamma`` itself is a Python
function that calls ``np.asarray`` on its argument; call :func:`polygamma` here on
traced values.)
"""
import math

import numpy as np
from scipy import special

from ..core import NoRuleError, Tracer, bind, lower_to_values
from ..numpy.dispatch import implements, implements_constant
from .define import register_import_path, defprim, defunary, defbinary
from .elementwise import _ufunc, exp, i0, i1, log, log1p, where

SQRT_PI, SQRT_2PI = math.sqrt(math.pi), math.sqrt(2.0 * math.pi)

# ------------------------------------------------------------ error function and normal CDF

# erf'(x) = 2/√π e^{−x²}, erfc = 1 − erf
erf = defunary("erf", special.erf, lambda ans, x: (2.0 / SQRT_PI) * exp(-(x * x)),
               finite_derivative=True)
erfc = defunary("erfc", special.erfc, lambda ans, x: (-2.0 / SQRT_PI) * exp(-(x * x)),
                finite_derivative=True)
# the inverse function's derivative 1 / erf'(erfinv(x)) = √π/2 e^{erfinv(x)²}: ∞ at ±1
erfinv = defunary("erfinv", special.erfinv, lambda ans, x: (SQRT_PI / 2.0) * exp(ans * ans))
# Φ'(x) = e^{−x²/2} / √(2π), the standard normal density
ndtr = defunary("ndtr", special.ndtr, lambda ans, x: exp(-0.5 * (x * x)) / SQRT_2PI,
                finite_derivative=True)
# (log Φ)'(x) = Φ'(x) / Φ(x) = e^{−x²/2 − log Φ(x)} / √(2π): one exponent, so the ratio stays
# finite far in the left tail, where Φ'(x) and Φ(x) both underflow (it tends to −x)
log_ndtr = defunary("log_ndtr", special.log_ndtr,
                    lambda ans, x: exp(-0.5 * (x * x) - ans) / SQRT_2PI)

# ------------------------------------------------------------ logistic function

# the logistic s = 1 / (1 + e^{−x}): s' = s (1 − s)
expit = defunary("expit", special.expit, lambda ans, x: ans * (1.0 - ans),
                 finite_derivative=True)
# its inverse log(x / (1 − x)): 1 / (x (1 − x)), ∞ at 0 and 1
logit = defunary("logit", special.logit, lambda ans, x: 1.0 / (x * (1.0 - x)))

# ------------------------------------------------------------ the gamma function

# ψ⁽ⁿ⁾(x) has derivative ψ⁽ⁿ⁺¹⁾(x): the rule binds the same primitive one order up
def _polygamma_values(x, n):
    """ψ⁽ⁿ⁾(x) in x's floating dtype (SciPy's polygamma computes in float64)."""
    return special.polygamma(n, x).astype(np.result_type(x, 1.0))


_polygamma = defprim(
    "polygamma", _polygamma_values, elementwise=True,
    jvp=[lambda t, ans, x, n: t * polygamma(n + 1, x)],
    vjp=[lambda g, ans, x, n: g * polygamma(n + 1, x)])


def polygamma(n, x):
    """ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function, on traced values (the
    argument order of ``scipy.special.polygamma``; ``n`` a non-negative int)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise TypeError(f"polygamma: the order n must be a non-negative int, got {n!r}; "
                        f"a traced or array order has no derivative rule")
    return bind(_polygamma, (x,), {"n": n})


# (log Γ)' = ψ, ψ' = ψ⁽¹⁾ (poles at 0, −1, −2, ...)
digamma = defunary("digamma", special.digamma, lambda ans, x: polygamma(1, x))
gammaln = defunary("gammaln", special.gammaln, lambda ans, x: digamma(x))

# ------------------------------------------------------------ x log y


def _times_log(log_fn, pole):
    """∂ₓ x log_fn(y) = log_fn(y), taken as 0 where x = 0 and y = ``pole`` (SciPy defines
    the function as 0 wherever x = 0, so there it is 0 · (−∞) = 0)."""
    return lambda ans, x, y: where((x == 0) & (y == pole), 0.0, log_fn(y))


def _x_over(shift):
    """∂ᵧ x log(y + shift) = x / (y + shift), taken as 0 where x = 0 (even at the pole)."""
    return lambda ans, x, y: x / where(x == 0, 1.0, y + shift)


# xlogy(x, y) = x log y, and 0 where x = 0
xlogy = defbinary("xlogy", special.xlogy, _times_log(log, 0.0), _x_over(0.0))
# xlog1py(x, y) = x log(1 + y), and 0 where x = 0
xlog1py = defbinary("xlog1py", special.xlog1py, _times_log(log1p, -1.0), _x_over(1.0))

# ------------------------------------------------------------ more of the gamma family

# Γ' = Γ ψ and (1/Γ)' = −ψ/Γ (poles of Γ at 0, −1, ...; 1/Γ is entire)
gamma = defunary("gamma", special.gamma, lambda ans, x: ans * digamma(x))
rgamma = defunary("rgamma", special.rgamma, lambda ans, x: -ans * digamma(x))
# B(a, b) = Γ(a)Γ(b)/Γ(a + b): ∂ₐB = B (ψ(a) − ψ(a + b)), and the same in b
beta = defbinary("beta", special.beta, lambda ans, a, b: ans * (digamma(a) - digamma(a + b)),
                 lambda ans, a, b: ans * (digamma(b) - digamma(a + b)))
# erfcinv(x) = erfinv(1 − x): derivative −√π/2 e^{erfcinv(x)²}, −∞ at 0 and 2
erfcinv = defunary("erfcinv", special.erfcinv, lambda ans, x: (-SQRT_PI / 2.0) * exp(ans * ans))
# the inverse normal CDF Φ⁻¹: 1/Φ'(Φ⁻¹(x)) = √(2π) e^{ndtri(x)²/2}
ndtri = defunary("ndtri", special.ndtri, lambda ans, x: SQRT_2PI * exp(0.5 * (ans * ans)))
# log s(x) = −log(1 + e^{−x}): derivative 1 − s(x) = s(−x)
log_expit = defunary("log_expit", special.log_expit, lambda ans, x: expit(-x),
                     finite_derivative=True)
# the entropy term −x log x: derivative −(1 + log x), +∞ at 0
entr = defunary("entr", special.entr, lambda ans, x: -(1.0 + log(x)))

# ------------------------------------------------------------ incomplete gamma and beta

# Derivatives in x only: in the shape parameters they need series SciPy does not offer, so
# differentiating with respect to those raises NoRuleError.


def _in_x_only(name, function, density):
    """A regularized incomplete integral whose derivative in its last argument x is
    ``density(*params, x)``; no rule for the parameters before it."""
    def no_rule(*_, **__):
        raise NoRuleError(f"scipy.special.{name} has a derivative in its last argument x only, "
                          f"not in the shape parameters; pass those as constants")
    no_rules = [no_rule] * (function.nin - 1)
    return defprim(name, function, broadcasting=True,
                   jvp=no_rules + [lambda t, ans, *args: t * density(*args)],
                   vjp=no_rules + [lambda g, ans, *args: g * density(*args)])


def _gamma_density(a, x):
    """x^{a−1} e^{−x} / Γ(a), the derivative of the lower regularized gamma P(a, x)."""
    return exp(xlogy(a - 1.0, x) - x - gammaln(a))


# P(a, x) = γ(a, x)/Γ(a) and Q = 1 − P: ∂ₓP = x^{a−1} e^{−x}/Γ(a) = −∂ₓQ
gammainc = _in_x_only("gammainc", special.gammainc, _gamma_density)
gammaincc = _in_x_only("gammaincc", special.gammaincc, lambda a, x: -_gamma_density(a, x))
# I_x(a, b): ∂ₓ = x^{a−1} (1 − x)^{b−1} / B(a, b)
betainc = _in_x_only("betainc", special.betainc, lambda a, b, x: exp(
    xlogy(a - 1.0, x) + xlog1py(b - 1.0, -x) - (gammaln(a) + gammaln(b) - gammaln(a + b))))

# ------------------------------------------------------------ Bessel functions of x

# J₀' = −J₁, Y₀' = −Y₁; J₁' = J₀ − J₁/x and Y₁' = Y₀ − Y₁/x (J₁'(0) = ½)
j0 = defunary("j0", special.j0, lambda ans, x: -j1(x), finite_derivative=True)
j1 = defunary("j1", special.j1,
              lambda ans, x: where(x == 0, 0.5, j0(x) - ans / where(x == 0, 1.0, x)),
              finite_derivative=True)
y0 = defunary("y0", special.y0, lambda ans, x: -y1(x))
y1 = defunary("y1", special.y1, lambda ans, x: y0(x) - ans / x)

# Bessel functions of order v (a constant) and x: the recurrences
#   J_v' = (J_{v−1} − J_{v+1})/2, Y_v' the same, I_v' = (I_{v−1} + I_{v+1})/2, and for the
#   scaled ive(v, x) = I_v(x) e^{−|x|}: ive' = (ive_{v−1} + ive_{v+1})/2 − sign(x) ive_v.
# The order is a parameter (its derivative is not supported); the rules bind the same
# primitive at the neighbouring orders, so every order of derivative nests.


def _of_order(name, function, derivative):
    prim = defprim(name, lambda x, v: function(v, x).astype(np.result_type(x, 1.0)),
                   elementwise=True,
                   jvp=[lambda t, ans, x, v: t * derivative(ans, x, v)],
                   vjp=[lambda g, ans, x, v: g * derivative(ans, x, v)])

    def call(v, x, **kwargs):
        if kwargs:
            raise TypeError(f"scipy.special.{function.__name__} on traced values takes no "
                            f"keyword arguments, got {sorted(kwargs)}")
        if isinstance(v, Tracer) or np.ndim(v) != 0:
            got = "a traced value" if isinstance(v, Tracer) else f"shape {np.shape(v)}"
            raise TypeError(f"scipy.special.{function.__name__}(v, x) on traced values: the "
                            f"order v must be a constant number (its derivative has no rule), "
                            f"got {got}; loop over the orders for several")
        return bind(prim, (x,), {"v": float(v)})
    call.__name__ = function.__name__
    implements(function)(call)
    register_import_path(function, "scipy.special")
    return call


jv = _of_order("jv", special.jv,
               lambda ans, x, v: 0.5 * (jv(v - 1.0, x) - jv(v + 1.0, x)))
yv = _of_order("yv", special.yv,
               lambda ans, x, v: 0.5 * (yv(v - 1.0, x) - yv(v + 1.0, x)))
iv = _of_order("iv", special.iv,
               lambda ans, x, v: 0.5 * (iv(v - 1.0, x) + iv(v + 1.0, x)))
ive = _of_order("ive", special.ive,
                lambda ans, x, v: 0.5 * (ive(v - 1.0, x) + ive(v + 1.0, x))
                - np.sign(lower_to_values(x)) * ans)
yn = _of_order("yn", special.yn,
               lambda ans, x, v: 0.5 * (yv(v - 1.0, x) - yv(v + 1.0, x)))

# the sign of Γ(x): piecewise constant
implements_constant(special.gammasgn)

for _prim in [erf, erfc, erfinv, ndtr, log_ndtr, expit, logit, digamma, gammaln,
              xlogy, xlog1py, gamma, rgamma, beta, erfcinv, ndtri, log_expit, entr, j0, j1, y0,
              y1, gammainc, gammaincc, betainc]:
    _ufunc(_prim, _prim.impl, "scipy.special")
    register_import_path(_prim.impl, "scipy.special")
# I₀ and I₁ are the primitives of numpy.i0 (riesz/rules/elementwise.py), computed with NumPy
_ufunc(i0, special.i0, "scipy.special")
_ufunc(i1, special.i1, "scipy.special")
