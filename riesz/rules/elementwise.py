"""Elementwise functions: each primitive with its JVP and VJP rules.

Binary functions broadcast like ufuncs; ``defprim(..., broadcasting=True)``
fits tangents to the output's shape and sums cotangents back to each
argument's shape (see :func:`riesz.rules.define.unbroadcast`). Rules use
riesz's own operations (operators on traced values, the primitives below),
so they differentiate again for higher orders.
"""
import numpy as np

from ..core import Tracer, full_lower
from ..numpy.dispatch import implements, implements_constant
from .define import defprim, defunary, dtype_of, as_dtype, ZERO

# ------------------------------------------------------------ linear functions

# ∂(x + y)(ẋ, ẏ) = ẋ + ẏ; transpose: g ↦ (g, g)
add = defprim("add", np.add, broadcasting=True,
              jvp=[lambda t, ans, x, y: t, lambda t, ans, x, y: t],
              vjp=[lambda g, ans, x, y: g, lambda g, ans, x, y: g])

# ∂(x - y)(ẋ, ẏ) = ẋ - ẏ; transpose: g ↦ (g, -g)
subtract = defprim("subtract", np.subtract, broadcasting=True,
                   jvp=[lambda t, ans, x, y: t, lambda t, ans, x, y: negative(t)],
                   vjp=[lambda g, ans, x, y: g, lambda g, ans, x, y: negative(g)])

# ∂(-x)(ẋ) = -ẋ, its own transpose
negative = defprim("negative", np.negative, elementwise=True,
                   jvp=[lambda t, ans, x: negative(t)],
                   vjp=[lambda g, ans, x: negative(g)])

# ------------------------------------------------------------ products and quotients

# ∂(x ⊙ y)(ẋ, ẏ) = ẋ ⊙ y + x ⊙ ẏ; transpose: g ↦ (g ⊙ y, x ⊙ g)
multiply = defprim("multiply", np.multiply, broadcasting=True,
                   jvp=[lambda t, ans, x, y: t * y, lambda t, ans, x, y: x * t],
                   vjp=[lambda g, ans, x, y: g * y, lambda g, ans, x, y: x * g])

# ∂(x / y)(ẋ, ẏ) = ẋ / y - (x / y²) ⊙ ẏ = (ẋ - ans ⊙ ẏ) / y
divide = defprim("divide", np.true_divide, broadcasting=True,
                 jvp=[lambda t, ans, x, y: t / y, lambda t, ans, x, y: -(ans * t) / y],
                 vjp=[lambda g, ans, x, y: g / y, lambda g, ans, x, y: -(g * ans) / y])


def _power_dx(ans, x, y):
    # ∂ₓ xʸ = y xʸ⁻¹, taken as 0 where y = 0 (x⁰ = 1 is constant, even at x = 0)
    return where(y == 0, 0.0, y * x ** where(y == 0, 1.0, y - 1))


def _power_dy(ans, x, y):
    # ∂ᵧ xʸ = log(x) xʸ, taken as 0 at x = 0 (the limit from x > 0 for y > 0)
    return ans * log(where(x == 0, 1.0, x))


# ∂(xʸ)(ẋ, ẏ) = y xʸ⁻¹ ẋ + log(x) xʸ ẏ
power = defprim("power", np.power, broadcasting=True,
                jvp=[lambda t, ans, x, y: t * _power_dx(ans, x, y),
                     lambda t, ans, x, y: t * _power_dy(ans, x, y)],
                vjp=[lambda g, ans, x, y: g * _power_dx(ans, x, y),
                     lambda g, ans, x, y: g * _power_dy(ans, x, y)])


def _share(x, y, dtype):
    # where x and y tie, each gets half: the gradient is the mean of the one-sided ones
    # (computed with array operations, so that a staged program computes it too)
    return as_dtype((x > y) + 0.5 * (x == y), dtype)


# ∂max(x, y) = 1 where x > y, 0 where x < y, ½ at ties (the same convention as JAX)
maximum = defprim("maximum", np.maximum, broadcasting=True,
                  jvp=[lambda t, ans, x, y: t * _share(x, y, dtype_of(ans)),
                       lambda t, ans, x, y: t * _share(y, x, dtype_of(ans))],
                  vjp=[lambda g, ans, x, y: g * _share(x, y, dtype_of(ans)),
                       lambda g, ans, x, y: g * _share(y, x, dtype_of(ans))])
minimum = defprim("minimum", np.minimum, broadcasting=True,
                  jvp=[lambda t, ans, x, y: t * _share(y, x, dtype_of(ans)),
                       lambda t, ans, x, y: t * _share(x, y, dtype_of(ans))],
                  vjp=[lambda g, ans, x, y: g * _share(y, x, dtype_of(ans)),
                       lambda g, ans, x, y: g * _share(x, y, dtype_of(ans))])

# where(c, x, y) is linear in (x, y): ∂ = where(c, ẋ, ẏ); its transpose sends g to
# where(c, g, 0) and where(c, 0, g), so the unselected branch gets an exact zero.
where = defprim("where", np.where, broadcasting=True,
                jvp=[ZERO, lambda t, ans, c, x, y: where(c, t, 0.0),
                     lambda t, ans, c, x, y: where(c, 0.0, t)],
                vjp=[ZERO, lambda g, ans, c, x, y: where(c, g, 0.0),
                     lambda g, ans, c, x, y: where(c, 0.0, g)])

# ------------------------------------------------------------ unary functions: f'(x)

exp = defunary("exp", np.exp, lambda ans, x: ans)
log = defunary("log", np.log, lambda ans, x: 1.0 / x)
sin = defunary("sin", np.sin, lambda ans, x: cos(x))
cos = defunary("cos", np.cos, lambda ans, x: negative(sin(x)))
tanh = defunary("tanh", np.tanh, lambda ans, x: 1.0 - ans * ans)
sqrt = defunary("sqrt", np.sqrt, lambda ans, x: 0.5 / ans)
# |x|' = sign(x), and 0 at x = 0: the minimum-norm subgradient
absolute = defunary("absolute", np.absolute, lambda ans, x: np.sign(x))


# ------------------------------------------------------------ the NumPy names

def _no_kwargs(name, kwargs):
    if kwargs:
        raise TypeError(f"numpy.{name}: keyword arguments {sorted(kwargs)} are not supported "
                        f"on traced values")


def _ufunc(prim, ufunc):
    def call(*args, **kwargs):
        _no_kwargs(ufunc.__name__, kwargs)
        return prim(*args)
    call.__name__ = ufunc.__name__
    call.__doc__ = f"numpy.{ufunc.__name__} with derivatives (primitive {prim.name!r})."
    implements(ufunc)(call)
    return call


for _prim, _uf in [(add, np.add), (subtract, np.subtract), (negative, np.negative),
                   (multiply, np.multiply), (divide, np.true_divide), (power, np.power),
                   (maximum, np.maximum), (minimum, np.minimum), (exp, np.exp), (log, np.log),
                   (sin, np.sin), (cos, np.cos), (tanh, np.tanh), (sqrt, np.sqrt),
                   (absolute, np.absolute)]:
    _ufunc(_prim, _uf)


@implements(np.positive)
def positive(x):
    return x


@implements(np.where)
def where_(condition, x=None, y=None):
    if x is None and y is None:
        condition = full_lower(condition)
        if isinstance(condition, Tracer):   # staged: the result's shape depends on the values
            raise condition.concretization_error("np.where(condition) with one argument")
        return np.where(condition)
    return where(full_lower(condition), x, y)


implements_constant(np.greater, np.greater_equal, np.less, np.less_equal, np.equal,
                    np.not_equal, np.sign, np.floor, np.ceil, np.isnan, np.isfinite, np.isinf,
                    np.logical_and, np.logical_or, np.logical_not, np.floor_divide)


# a change of dtype is linear; its transpose casts back to the argument's dtype
astype = defprim("astype", lambda x, dtype: np.asarray(x).astype(dtype), elementwise=True,
                 jvp=[lambda t, ans, x, dtype: astype(t, dtype=dtype)],
                 vjp=[lambda g, ans, x, dtype: astype(g, dtype=dtype_of(x))])


@implements("astype")
def astype_(x, dtype):
    dtype = np.dtype(dtype)
    if dtype == dtype_of(x):
        return x
    return astype(x, dtype=dtype)


# the identity with a zero derivative: its result is a constant to every transform
stop_gradient = defprim("stop_gradient", lambda x: x, elementwise=True, jvp=[ZERO], vjp=[ZERO])
