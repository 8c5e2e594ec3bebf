"""First-order optimizers on pytrees: SGD (momentum, Nesterov), Adam, AdamW, RMSprop.

An optimizer holds hyperparameters only. Its state is a pytree (a namedtuple of
the step count and model-shaped moment estimates), so it is saved and loaded
with :func:`riesz.nn.save` / :func:`riesz.nn.load` like the model itself::

    opt = riesz.optim.Adam(lr=1e-3)
    state = opt.init(model)
    loss, grads = riesz.value_and_grad(loss_fn)(model, x, y)
    model, state = opt.update(model, grads, state)

``lr`` is a number or a schedule (a function of the step count, see
:mod:`riesz.optim.schedules`).

A whole training step stages with :func:`riesz.jit` (``riesz.nn.fit`` does so by
default): the step count in the state is then a staged value, so the learning rate,
the bias corrections and the clipping factor are computed with NumPy operations on
it rather than Python branches, and cast to each parameter's dtype. Eagerly the
updates write α x + y into one new array (:func:`~riesz.optim.tree_math.axpy`).
"""
from collections import namedtuple
from typing import Any, Callable

import numpy as np

from ..core import Tracer
from ..tree import keystr, mismatch, tree_flatten, tree_map
from .tree_math import axpy, in_dtype_of, scalar, tree_norm, tree_scale, tree_zeros_like

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "clip_by_global_norm",
           "SGDState", "AdamState", "RMSpropState"]

SGDState = namedtuple("SGDState", ["step", "velocity"])
AdamState = namedtuple("AdamState", ["step", "mean", "second_moment"])
RMSpropState = namedtuple("RMSpropState", ["step", "mean_square", "velocity"])

# The step count starts as a NumPy integer rather than a Python int: staged by riesz.jit,
# arithmetic on a Python int runs as Python arithmetic and yields Python floats, while
# the update needs NumPy scalars (to cast a bias correction to float32, say).
FIRST_STEP = np.int64(0)


def _scaled_square(g, c):
    """c g², the square scaled in the array it is computed in (eagerly one new array)."""
    square = g * g
    square *= c
    return square


def _root_plus_eps(v, eps, correction=None):
    """√v / correction + ε (√v + ε without a correction), built in the array that √v
    allocates (eagerly)."""
    denominator = np.sqrt(v)
    if correction is not None:
        denominator /= in_dtype_of(correction, v)
    denominator += eps
    return denominator


class Optimizer:
    """Base class: ``init(params) -> state`` and ``update(params, grads, state) ->
    (params, state)``, both pure functions of their arguments."""

    def __init__(self, lr: float | Callable[[Any], Any]) -> None:
        self.lr = lr

    def learning_rate(self, step: Any) -> Any:
        """The learning rate at ``step`` (0 for the first update): a Python float, or a
        traced 0-d value when the step count is staged."""
        return scalar(self.lr(step)) if callable(self.lr) else float(self.lr)

    def init(self, params: Any) -> Any:
        """The state before the first step, for a pytree of parameters (a model)."""
        raise NotImplementedError

    def update(self, params: Any, grads: Any, state: Any) -> tuple[Any, Any]:
        """One step: ``(new params, new state)`` from ``grads``, a pytree of the params'
        structure (``riesz.grad`` of the loss with respect to them)."""
        raise NotImplementedError

    def check_grads(self, params: Any, grads: Any) -> None:
        """``grads`` has the structure of ``params`` and each gradient its parameter's shape;
        otherwise a ValueError names the parameter by its key path."""
        p_leaves, p_tree = tree_flatten(params)
        g_leaves, g_tree = tree_flatten(grads)
        if g_tree != p_tree:
            raise ValueError(mismatch(f"{type(self).__name__}.update: the gradients against "
                                      f"the parameters", p_tree, g_tree))
        for i, (p, g) in enumerate(zip(p_leaves, g_leaves)):
            if np.shape(g) != np.shape(p):
                path = p_tree.paths()[i]   # key paths only for the message: they cost a walk
                raise ValueError(
                    f"{type(self).__name__}.update: the gradient of the parameter "
                    f"{keystr(path) or '(the root)'} has shape {np.shape(g)}, the parameter "
                    f"{np.shape(p)}; pass riesz.grad of the loss with respect to these "
                    f"parameters")

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's convention for momentum μ:

    v ← μ v + g;  p ← p − lr · v, or with Nesterov p ← p − lr · (g + μ v).
    ``weight_decay`` λ adds λ p to the gradient (L2 regularisation).
    """

    def __init__(self, lr: float | Callable[[Any], Any], momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        if nesterov and not momentum:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        super().__init__(lr)
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay

    def init(self, params: Any) -> Any:
        return SGDState(FIRST_STEP, tree_zeros_like(params) if self.momentum else None)

    def update(self, params: Any, grads: Any, state: Any) -> tuple[Any, Any]:
        self.check_grads(params, grads)
        lr, mu = self.learning_rate(state.step), self.momentum
        if self.weight_decay:
            grads = tree_map(lambda g, p: axpy(self.weight_decay, p, g), grads, params)
        velocity = None
        direction = grads
        if mu:
            velocity = tree_map(lambda v, g: axpy(mu, v, g), state.velocity, grads)
            direction = (tree_map(lambda v, g: axpy(mu, v, g), velocity, grads) if self.nesterov
                         else velocity)
        params = tree_map(lambda p, d: axpy(-lr, d, p), params, direction)
        return params, SGDState(state.step + 1, velocity)


class Adam(Optimizer):
    """Adam (Kingma & Ba). With m, v the running means of g and g² and t the step:

    m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;
    p ← (1 − lr · λ) p − lr · [m / (1 − β₁ᵗ)] / (√(v / (1 − β₂ᵗ)) + ε).

    The last term is decoupled weight decay (λ = ``weight_decay``, AdamW); plain Adam
    has λ = 0.
    """

    def __init__(self, lr: float | Callable[[Any], Any] = 1e-3, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(lr)
        self.b1, self.b2, self.eps = b1, b2, eps
        self.weight_decay = weight_decay

    def init(self, params: Any) -> Any:
        return AdamState(FIRST_STEP, tree_zeros_like(params), tree_zeros_like(params))

    def update(self, params: Any, grads: Any, state: Any) -> tuple[Any, Any]:
        self.check_grads(params, grads)
        b1, b2, eps, decay = self.b1, self.b2, self.eps, self.weight_decay
        lr, t = self.learning_rate(state.step), state.step + 1
        mean = tree_map(lambda m, g: axpy(b1, m, (1 - b1) * g), state.mean, grads)
        second = tree_map(lambda v, g: axpy(b2, v, _scaled_square(g, 1 - b2)),
                          state.second_moment, grads)
        step_size = scalar(lr / (1 - b1 ** t))
        root_correction = scalar(np.sqrt(1 - b2 ** t))

        def move(p, m, v):
            if decay:   # decay the old value first, as PyTorch does
                p = p * in_dtype_of(1 - lr * decay, p)
            return axpy(-step_size, m / _root_plus_eps(v, eps, root_correction), p)

        params = tree_map(move, params, mean, second)
        return params, AdamState(t, mean, second)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), λ = 0.01 by default."""

    def __init__(self, lr: float | Callable[[Any], Any] = 1e-3, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.01) -> None:
        super().__init__(lr, b1, b2, eps, weight_decay)


class RMSprop(Optimizer):
    """RMSprop, PyTorch's convention: s ← α s + (1 − α) g²; with momentum μ,
    b ← μ b + g / (√s + ε) and p ← p − lr · b; without, p ← p − lr · g / (√s + ε)."""

    def __init__(self, lr: float | Callable[[Any], Any] = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 momentum: float = 0.0) -> None:
        super().__init__(lr)
        self.alpha, self.eps, self.momentum = alpha, eps, momentum

    def init(self, params: Any) -> Any:
        return RMSpropState(FIRST_STEP, tree_zeros_like(params),
                            tree_zeros_like(params) if self.momentum else None)

    def update(self, params: Any, grads: Any, state: Any) -> tuple[Any, Any]:
        self.check_grads(params, grads)
        lr, alpha, eps, mu = self.learning_rate(state.step), self.alpha, self.eps, self.momentum
        mean_square = tree_map(lambda s, g: axpy(alpha, s, _scaled_square(g, 1 - alpha)),
                               state.mean_square, grads)
        direction = tree_map(lambda g, s: g / _root_plus_eps(s, eps), grads, mean_square)
        velocity = None
        if mu:
            velocity = tree_map(lambda b, d: axpy(mu, b, d), state.velocity, direction)
            direction = velocity
        params = tree_map(lambda p, d: axpy(-lr, d, p), params, direction)
        return params, RMSpropState(state.step + 1, mean_square, velocity)


def clip_by_global_norm(grads: Any, max_norm: float) -> tuple[Any, Any]:
    """``(grads scaled to global norm ≤ max_norm, the norm before clipping)``.

    The global norm is ‖g‖ = √(Σ over every leaf of Σ gᵢ²); every leaf is multiplied
    by max_norm / max(‖g‖, max_norm), which is 1 up to ``max_norm`` and keeps the
    direction of the whole gradient beyond. Eagerly the gradient is returned as it is
    when no clipping happens; staged, the factor is always applied (no branch on ‖g‖).
    """
    if not max_norm > 0:
        raise ValueError(f"clip_by_global_norm: max_norm={max_norm!r}; it must be positive")
    norm = tree_norm(grads)
    if not isinstance(norm, Tracer) and norm <= max_norm:
        return grads, norm
    return tree_scale(scalar(max_norm / np.maximum(norm, max_norm)), grads), norm
