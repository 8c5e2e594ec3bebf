"""Activations, stable log-sum-exp and softmax, and losses, as plain NumPy code.

Everything here is ordinary NumPy on arrays, so it runs eagerly on ndarrays and
is differentiated by riesz on traced values, to any order.

Stability. ``logsumexp(x) = m + log Σ exp(x - m)`` with ``m = max x``: the value
does not depend on m, so neither does the derivative, and every exponent is ≤ 0, so
nothing overflows at inputs of ±1000. logsumexp, log_softmax and softmax are
primitives with hand-derived rules (:mod:`riesz.rules.softmax`); the losses are
written in terms of them (and of softplus) for the same reason.
"""
import math
from typing import Any

import numpy as np

from ..core import Tracer
from ..rules import softmax as _softmax_rules
from ..rules.define import shape_of
from ..rules.reductions import normalize_axis

__all__ = ["relu", "gelu", "tanh", "sigmoid", "softplus", "silu", "swish", "log_sigmoid",
           "leaky_relu", "elu", "one_hot", "logsumexp", "softmax",
           "log_softmax", "softmax_cross_entropy", "nll", "mse",
           "binary_cross_entropy_with_logits", "accuracy"]

# ------------------------------------------------------------ activations


def relu(x: Any) -> Any:
    """max(x, 0) = x · [x > 0]; derivative [x > 0] (so 0 at x = 0).

    Written as a product with the boolean mask (a constant) rather than np.where, which
    branches per element and ran 10× slower than a multiply on random signs.
    """
    return x * (x > 0)


def gelu(x: Any) -> Any:
    """GELU, tanh approximation: ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * (x * x * x))))


def tanh(x: Any) -> Any:
    """The hyperbolic tangent (np.tanh)."""
    return np.tanh(x)


def sigmoid(x: Any) -> Any:
    """1 / (1 + e⁻ˣ), computed as ½ (1 + tanh(x/2)), which never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def softplus(x: Any) -> Any:
    """log(1 + eˣ) = max(x, 0) + log1p(e^-|x|), which never overflows and keeps full
    precision where it is tiny (x ≪ 0); softplus' = sigmoid."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def silu(x: Any) -> Any:
    """x · sigmoid(x) (also called swish)."""
    return x * sigmoid(x)


swish = silu   # jax.nn's other name for it


def log_sigmoid(x: Any) -> Any:
    """log sigmoid(x) = −softplus(−x), which never overflows; derivative sigmoid(−x)."""
    return -softplus(-x)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Any:
    """x for x > 0, negative_slope · x otherwise; derivative negative_slope at x = 0, as
    relu's is 0 there. A product with the mask, as relu is."""
    return x * (negative_slope + (1.0 - negative_slope) * (x > 0))


def elu(x: Any, alpha: float = 1.0) -> Any:
    """x for x > 0, alpha (eˣ − 1) otherwise; derivative alpha at x = 0 (1, both sides', for
    alpha = 1). expm1 reads x · [x ≤ 0] (a product with a constant mask, not np.minimum,
    whose tie at 0 would halve the derivative), so the unselected branch never overflows."""
    return np.where(x > 0, x, alpha * np.expm1(x * (x <= 0)))


def one_hot(labels: Any, num_classes: int, dtype: Any = np.float64) -> Any:
    """``labels[..., None] == arange(num_classes)`` as ``dtype`` (jax.nn.one_hot): integer
    labels of any shape, a last axis of num_classes; a label outside [0, num_classes) gives
    a row of zeros, as in JAX."""
    return (np.expand_dims(labels, -1) == np.arange(num_classes)).astype(dtype)


# ------------------------------------------------------------ log-sum-exp and softmax
# primitives with hand-derived rules (riesz/rules/softmax.py): one node each, not eight


def logsumexp(x: Any, axis: int | tuple[int, ...] | None = -1, keepdims: bool = False) -> Any:
    """log Σ exp(x) along ``axis`` (an int, a tuple or None), without overflow; its gradient
    is softmax(x).

    Rows that are all -inf give -inf (an empty sum), not NaN.
    """
    return _softmax_rules.logsumexp(x, axis=_axes(x, axis), keepdims=bool(keepdims))


def log_softmax(x: Any, axis: int = -1) -> Any:
    """x - logsumexp(x): the log of the softmax, exact where softmax underflows to 0."""
    return _softmax_rules.log_softmax(x, axis=_axes(x, axis))


def softmax(x: Any, axis: int = -1) -> Any:
    """exp(x) / Σ exp(x) along ``axis``, without overflow (every exponent is ≤ 0)."""
    return _softmax_rules.softmax(x, axis=_axes(x, axis))


def _axes(x, axis):
    return normalize_axis(axis, len(shape_of(x)))


# ------------------------------------------------------------ losses


def _reduce(losses, reduction, kept=None):
    """The mean, sum or (``"none"``) the losses themselves; with ``kept`` (a mask of the
    entries not ignored) the others count as 0 and the mean is over the kept ones."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction={reduction!r}; use 'mean', 'sum' or 'none'")
    if kept is not None:
        losses = np.where(kept, losses, 0.0)
    if reduction == "none":
        return losses
    if reduction == "sum" or kept is None:
        return np.sum(losses) if reduction == "sum" else np.mean(losses)
    with np.errstate(invalid="ignore"):   # every entry ignored: NaN, as in PyTorch
        return np.sum(losses) / np.sum(kept)


def _ignoring(labels, ignore_index):
    """``(labels, kept)``: the labels with ``ignore_index`` (padding) replaced by class 0,
    and the mask of the others (None when nothing is ignored)."""
    if ignore_index is None:
        return labels, None
    labels = labels if hasattr(labels, "dtype") else np.asarray(labels)
    kept = labels != ignore_index
    return np.where(kept, labels, 0), kept


def _check_labels(labels, scores, name):
    if not hasattr(labels, "dtype"):
        labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name}: labels must be integer class indices, got dtype {labels.dtype}"
                        + (f" (class probabilities need the scores' shape {tuple(scores.shape)})"
                           if name == "softmax_cross_entropy" else ""))
    if labels.shape != tuple(scores.shape[:-1]):
        raise ValueError(f"{name}: labels have shape {labels.shape} but the scores have shape "
                         f"{tuple(scores.shape)}; labels need the scores' shape without its "
                         f"last (class) axis"
                         + ("; one-hot rows or class probabilities must be floating-point "
                            "(labels.astype(float))"
                            if labels.shape == tuple(scores.shape) and name ==
                            "softmax_cross_entropy" else ""))
    classes = scores.shape[-1]
    # labels staged by riesz.jit have no values yet: they are checked where they are concrete
    if labels.size and not isinstance(labels, Tracer) and (
            labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{name}: labels must lie in [0, {classes}), got values in "
                         f"[{labels.min()}, {labels.max()}]")
    return labels


def _pick(log_probs, labels):
    """log_probs[..., labels[...]]: each row's entry for its label (one gather: the leading
    axes are indexed by broadcasting aranges, the last by the labels)."""
    return log_probs[(*np.indices(labels.shape, sparse=True), labels)]


def nll(log_probs: Any, labels: Any, reduction: str = "mean",
        ignore_index: int | None = None) -> Any:
    """Negative log-likelihood -log p[label] of integer ``labels`` under ``log_probs``
    (..., classes). Entries labelled ``ignore_index`` (padding, PyTorch's -100) count
    as 0 and are left out of the mean."""
    labels, kept = _ignoring(labels, ignore_index)
    labels = _check_labels(labels, log_probs, "nll")
    return _reduce(-_pick(log_probs, labels), reduction, kept)


def softmax_cross_entropy(logits: Any, labels: Any, reduction: str = "mean",
                          label_smoothing: float = 0.0, ignore_index: int | None = None) -> Any:
    """Cross-entropy of ``labels`` against p = softmax(``logits``) (..., classes).

    ``labels`` are integer class indices (the logits' shape without the class axis),
    or class probabilities of the logits' own shape (one-hot rows, soft targets), as
    PyTorch's ``cross_entropy`` and optax's ``softmax_cross_entropy`` take them:
    loss = -Σ_c labels[c] log p[c]. With label smoothing ε the target puts 1 - ε on the
    label and ε spread evenly over all classes:
    loss = (1 - ε)·(-log p[label]) + ε·mean_c(-log p[c]). Integer labels equal to
    ``ignore_index`` (padding, PyTorch's -100) count as 0 and are left out of the mean.
    """
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing={label_smoothing}; it must lie in [0, 1)")
    log_probs = log_softmax(logits)
    label_dtype = labels.dtype if hasattr(labels, "dtype") else np.asarray(labels).dtype
    kept = None
    if shape_of(labels) == shape_of(logits) and np.issubdtype(label_dtype, np.inexact):
        if ignore_index is not None:
            raise ValueError("softmax_cross_entropy: ignore_index applies to integer labels, "
                             "not to class probabilities (give ignored rows zero weight)")
        losses = -np.sum(labels * log_probs, axis=-1)
    else:
        labels, kept = _ignoring(labels, ignore_index)
        labels = _check_labels(labels, logits, "softmax_cross_entropy")
        losses = -_pick(log_probs, labels)
    if label_smoothing:
        losses = ((1.0 - label_smoothing) * losses
                  - label_smoothing * np.mean(log_probs, axis=-1))
    return _reduce(losses, reduction, kept)


def _check_targets(predictions, targets, name):
    """Targets broadcast to the predictions' shape, never beyond: (n, 1) predictions
    against (n,) targets would silently average over all n² pairs."""
    p_shape, t_shape = shape_of(predictions), shape_of(targets)
    joint = np.broadcast_shapes(p_shape, t_shape)
    if joint != p_shape:
        raise ValueError(f"{name}: targets of shape {t_shape} broadcast against predictions "
                         f"of shape {p_shape} to {joint}, pairing every prediction with every "
                         f"target; give the targets the predictions' shape (reshape one of "
                         f"them)")


def mse(predictions: Any, targets: Any, reduction: str = "mean") -> Any:
    """Squared error (predictions - targets)², averaged (or summed) over every entry."""
    _check_targets(predictions, targets, "mse")
    error = predictions - targets
    return _reduce(error * error, reduction)


def binary_cross_entropy_with_logits(logits: Any, targets: Any, reduction: str = "mean") -> Any:
    """-[y log σ(x) + (1 - y) log(1 - σ(x))] for targets y ∈ [0, 1], computed as
    softplus(x) - x·y, which never overflows."""
    _check_targets(logits, targets, "binary_cross_entropy_with_logits")
    return _reduce(softplus(logits) - logits * targets, reduction)


def accuracy(logits: Any, labels: Any) -> Any:
    """The fraction of rows whose largest logit is at the label (a float, not differentiable)."""
    return float(np.mean(np.argmax(np.asarray(logits), axis=-1) == np.asarray(labels)))
