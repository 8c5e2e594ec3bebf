"""``scipy.integrate.odeint`` on traced values (``autograd.scipy.integrate.odeint``): the
solution y(tᵢ) of dy/dt = func(y, t, *args), differentiable in ``y0``, in the times ``t``
and in ``args`` (any pytrees of arrays) by the adjoint method.

For a loss with cotangents gᵢ = ∂L/∂y(tᵢ), the adjoint a(t) = ∂L/∂y(t) solves
ȧ = −aᵀ ∂f/∂y backwards in time together with y itself, jumping by gᵢ at each tᵢ, and
∂L/∂args = ∫ aᵀ ∂f/∂args dt and ∂L/∂tᵢ = gᵢᵀ f(y(tᵢ), tᵢ) accumulate along the way
(Pontryagin; Chen et al. 2018). Each backward interval is one more ``odeint`` call on the
augmented state [y, −a, −∂L/∂t₀, −∂L/∂args], whose right-hand side is ``func`` and its
VJP taken by riesz. That call is this differentiable ``odeint`` again, and the rest of the
backward pass is riesz operations, so reverse mode nests: ``grad(grad(...))`` solves the
adjoint of the augmented system, whose right-hand side holds second derivatives of
``func``. Forward mode is not available (``jvp``, ``jacfwd``, ``hessian``: use
``jacrev(grad(...))``); SciPy solves each system on concrete values.
"""
from functools import partial

import numpy as np
import scipy.integrate

from ..core import Tracer
from ..custom import custom_vjp
from ..misc import flatten
from ..transforms import vjp

__all__ = ["odeint"]


def odeint(func, y0, t, args=(), **kwargs):
    """``scipy.integrate.odeint(func, y0, t, args)`` for a 1-D ``y0``: rows y(tᵢ), one per
    time; ``kwargs`` (``rtol``, ``atol``, ``mxstep``, ...) go to SciPy in both passes."""
    flat_args, unflatten = flatten(tuple(args))
    return _odeint(func, unflatten, tuple(sorted(kwargs.items())), y0, t, flat_args)


@partial(custom_vjp, nondiff_argnums=(0, 1, 2))
def _odeint(func, unflatten, options, y0, t, flat_args):
    if any(isinstance(v, Tracer) for v in (y0, t, flat_args)):
        raise TypeError("riesz.scipy.integrate.odeint has a reverse-mode rule only (the adjoint "
                        "method): differentiate it with grad, vjp or jacrev, not with jvp, "
                        "jacfwd or hessian, and call it outside riesz.jit")
    return scipy.integrate.odeint(func, y0, t, args=tuple(unflatten(flat_args)),
                                  **dict(options))


def _odeint_fwd(func, unflatten, options, y0, t, flat_args):
    ys = _odeint(func, unflatten, options, y0, t, flat_args)
    return ys, (ys, t, flat_args)


def _odeint_bwd(func, unflatten, options, residuals, g):
    ys, t, flat_args = residuals
    steps, n = ys.shape

    def rhs(y, time, flat_args):
        return func(y, time, *unflatten(flat_args))

    def augmented(state, time, flat_args):
        # d/dt [y, −a, −∂t₀, −∂args] = [f, aᵀ∂f/∂y, aᵀ∂f/∂t, aᵀ∂f/∂args] in forward time,
        # with the adjoint stored negated so that this is the plain VJP of f at −(−a)
        y, minus_a = state[:n], state[n:2 * n]
        dy, pullback = vjp(rhs, y, time, flat_args)
        a_y, a_t, a_args = pullback(-minus_a)
        return np.concatenate([dy, a_y, np.reshape(a_t, 1), a_args])

    a, ct_t0, ct_args, ct_times = g[-1], 0.0, np.zeros(np.size(flat_args)), []
    for i in range(steps - 1, 0, -1):
        ct_now = np.dot(rhs(ys[i], t[i], flat_args), g[i])      # ∂L/∂tᵢ = gᵢᵀ f(y(tᵢ), tᵢ)
        ct_times.append(ct_now)
        ct_t0 = ct_t0 - ct_now
        state = np.concatenate([ys[i], a, np.reshape(ct_t0, 1), ct_args])
        state = odeint(augmented, state, np.stack([t[i], t[i - 1]]), args=(flat_args,),
                       **dict(options))[1]
        a, ct_t0, ct_args = state[n:2 * n] + g[i - 1], state[2 * n], state[2 * n + 1:]
    ct_times.append(ct_t0)
    return a, np.stack(ct_times[::-1]), ct_args


_odeint.defvjp(_odeint_fwd, _odeint_bwd)
