"""HIPS autograd's optimizers (``autograd.misc.optimizers``), with its signatures:
``optimizer(grad, x0, callback=None, num_iters=..., step_size=..., ...)`` where
``grad(x, i)`` gives the gradient at iteration ``i`` and ``callback(x, i, g)`` sees each
step. ``x0`` may be any pytree of arrays; the updates run on its flattened vector
(:func:`riesz.misc.flatten`) and the result has ``x0``'s structure.
"""
import functools

import numpy as np

from . import flatten

__all__ = ["sgd", "rmsprop", "adam"]


def _on_pytrees(optimize):
    """``optimize`` (on 1-D vectors) as an optimizer of pytrees."""
    @functools.wraps(optimize)
    def on_pytrees(grad, x0, callback=None, *args, **kwargs):
        x, unflatten = flatten(x0)

        def flat_grad(x, i):
            return flatten(grad(unflatten(x), i))[0]

        flat_callback = None if callback is None else (
            lambda x, i, g: callback(unflatten(x), i, unflatten(g)))
        return unflatten(optimize(flat_grad, x, flat_callback, *args, **kwargs))
    return on_pytrees


@_on_pytrees
def sgd(grad, x, callback=None, num_iters=200, step_size=0.1, mass=0.9):
    """Gradient descent with momentum: v ← mass·v − (1 − mass)·g, x ← x + step_size·v."""
    velocity = np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        velocity = mass * velocity - (1.0 - mass) * g
        x = x + step_size * velocity
    return x


@_on_pytrees
def rmsprop(grad, x, callback=None, num_iters=100, step_size=0.1, gamma=0.9, eps=10**-8):
    """RMSprop: s ← γ s + (1 − γ) g², x ← x − step_size·g / (√s + eps), s starting at 1."""
    avg_sq_grad = np.ones(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        avg_sq_grad = avg_sq_grad * gamma + g ** 2 * (1 - gamma)
        x = x - step_size * g / (np.sqrt(avg_sq_grad) + eps)
    return x


@_on_pytrees
def adam(grad, x, callback=None, num_iters=100, step_size=0.001, b1=0.9, b2=0.999,
         eps=10**-8):
    """Adam (Kingma & Ba): moment estimates m, v with bias corrections 1 − bᵏ."""
    m = np.zeros(len(x))
    v = np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * (g ** 2) + b2 * v
        mhat = m / (1 - b1 ** (i + 1))
        vhat = v / (1 - b2 ** (i + 1))
        x = x - step_size * mhat / (np.sqrt(vhat) + eps)
    return x
