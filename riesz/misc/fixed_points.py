"""``riesz.misc.fixed_points``: HIPS autograd's ``autograd.misc.fixed_points.fixed_point``."""
import numpy as np

from ..extend import defvjp, primitive
from ..transforms import vjp

__all__ = ["fixed_point"]


@primitive
def fixed_point(f, a, x0, distance, tol):
    """x* = f(a)(x*), iterating x ← f(a)(x) from x0 until ``distance(x, x_prev) <= tol``.
    Differentiable in ``a`` (a pytree) at every order without differentiating the
    iterations: by the implicit function theorem ā = (∂ₐf)ᵀ w with w the fixed point of
    w ← (∂ₓf)ᵀ w + x̄, found by the same iteration (autograd's rule)."""
    step = f(a)
    x, x_prev = step(x0), x0
    while distance(x, x_prev) > tol:
        x, x_prev = step(x), x
    return x


def _fixed_point_vjp(ans, f, a, x0, distance, tol):
    def adjoint_step(params):
        a, x_star, x_star_bar = params
        pullback = vjp(f(a), x_star)[1]
        return lambda w: pullback(w)[0] + x_star_bar

    pullback_a = vjp(lambda a: f(a)(ans), a)[1]
    return lambda g: pullback_a(fixed_point(adjoint_step, (a, ans, g), np.zeros_like(x0),
                                            distance, tol))[0]


defvjp(fixed_point, None, _fixed_point_vjp, None, None, None)
