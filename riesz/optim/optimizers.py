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
from ..tree import keystr, mismatch, tree_flatten, tree_unflatten
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
        self._leaves(params, grads)

    def _leaves(self, params, grads, *moments):
        """``(treedef, params' leaves, grads' leaves, each moment tree's leaves...)``, every
        tree flattened once (an update works leaf by leaf and builds the trees back once:
        flattening a model costs more than updating its small arrays), after the checks of
        :meth:`check_grads`; a moment tree of the state (made by :meth:`init` from the
        parameters) of another structure raises as well."""
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
        flat = [p_tree, p_leaves, g_leaves]
        for moment in moments:
            m_leaves, m_tree = tree_flatten(moment)
            if m_tree != p_tree:
                raise ValueError(mismatch(f"{type(self).__name__}.update: the state against "
                                          f"the parameters (pass the state that init or the "
                                          f"last update returned for these parameters)",
                                          p_tree, m_tree))
            flat.append(m_leaves)
        return flat

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
        mu, decay = self.momentum, self.weight_decay
        tree, p, g, *v = self._leaves(params, grads, *([state.velocity] if mu else []))
        lr = self.learning_rate(state.step)
        if decay:
            g = [axpy(decay, x, gx) for x, gx in zip(p, g)]
        velocity = None
        direction = g
        if mu:
            v = [axpy(mu, vx, gx) for vx, gx in zip(v[0], g)]
            direction = [axpy(mu, vx, gx) for vx, gx in zip(v, g)] if self.nesterov else v
            velocity = tree_unflatten(tree, v)
        params = tree_unflatten(tree, [axpy(-lr, d, x) for x, d in zip(p, direction)])
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
        tree, p, g, m, v = self._leaves(params, grads, state.mean, state.second_moment)
        b1, b2, eps, decay = self.b1, self.b2, self.eps, self.weight_decay
        lr, t = self.learning_rate(state.step), state.step + 1
        m = [axpy(b1, mx, (1 - b1) * gx) for mx, gx in zip(m, g)]
        v = [axpy(b2, vx, _scaled_square(gx, 1 - b2)) for vx, gx in zip(v, g)]
        step_size = scalar(lr / (1 - b1 ** t))
        root_correction = scalar(np.sqrt(1 - b2 ** t))

        def move(x, mx, vx):
            if decay:   # decay the old value first, as PyTorch does
                x = x * in_dtype_of(1 - lr * decay, x)
            return axpy(-step_size, mx / _root_plus_eps(vx, eps, root_correction), x)

        params = tree_unflatten(tree, [move(x, mx, vx) for x, mx, vx in zip(p, m, v)])
        return params, AdamState(t, tree_unflatten(tree, m), tree_unflatten(tree, v))


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
        lr, alpha, eps, mu = self.learning_rate(state.step), self.alpha, self.eps, self.momentum
        tree, p, g, s, *b = self._leaves(params, grads, state.mean_square,
                                         *([state.velocity] if mu else []))
        s = [axpy(alpha, sx, _scaled_square(gx, 1 - alpha)) for sx, gx in zip(s, g)]
        direction = [gx / _root_plus_eps(sx, eps) for gx, sx in zip(g, s)]
        velocity = None
        if mu:
            direction = [axpy(mu, bx, d) for bx, d in zip(b[0], direction)]
            velocity = tree_unflatten(tree, direction)
        params = tree_unflatten(tree, [axpy(-lr, d, x) for x, d in zip(p, direction)])
        return params, RMSpropState(state.step + 1, tree_unflatten(tree, s), velocity)


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
