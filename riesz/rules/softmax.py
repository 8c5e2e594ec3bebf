"""The log-sum-exp family as primitives: ``logsumexp``, ``log_softmax`` and ``softmax``
along given axes, with hand-derived rules.

Written out with NumPy operations each would be about eight primitives (a max shift, an
exponential, a sum, a log, ...) and as many backward steps; as primitives each is one node
whose backward pass is one fused expression. With p = softmax(x) along the axes (Σ p = 1):

    lse(x)         = m + log Σ exp(x − m)      ∂(ẋ) = Σ p ẋ            ∂ᵀ(g) = p g
    log_softmax(x) = x − lse(x)                ∂(ẋ) = ẋ − Σ p ẋ        ∂ᵀ(g) = g − p Σ g
    softmax(x)     = exp(x − lse(x))           ∂(ẋ) = p (ẋ − Σ p ẋ)    ∂ᵀ(g) = p (g − Σ p g)

(the Jacobian of softmax is diag(p) − p pᵀ, symmetric, so its transpose has the same form).
The shift m is the maximum along the axes, or 0 where that maximum is ±∞ (a row that is all
−∞ sums to 0 and its log-sum-exp is −∞, not NaN); no exponent is then above 0, so nothing
overflows at inputs of ±1000. The rules call these primitives again, so every order nests.
``axis`` is a sorted tuple of non-negative axes (:func:`~riesz.rules.reductions.normalize_axis`).
"""
import numpy as np

from .define import defprim, shape_of
from .elementwise import exp
from .reductions import expand_reduced, sum_p


def _shift(x, axis):
    """The maximum along ``axis`` (kept), 0 where it is not finite."""
    m = np.max(x, axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0)


def _logsumexp(x, axis, keepdims):
    m = _shift(x, axis)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    out += m
    return out if keepdims else np.squeeze(out, axis=axis)


def _log_softmax(x, axis):
    # in a floating dtype (integer x gives float64, as NumPy's log does), then in place
    shifted = np.subtract(x, _shift(x, axis), dtype=np.result_type(x, 1.0))
    shifted -= np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return shifted


def _softmax(x, axis):
    e = np.exp(x - _shift(x, axis))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _total(v, axis):
    return sum_p(v, axis=axis, keepdims=True)


logsumexp = defprim(
    "logsumexp", _logsumexp,
    jvp=[lambda t, ans, x, axis, keepdims:
         sum_p(softmax(x, axis=axis) * t, axis=axis, keepdims=keepdims)],
    vjp=[lambda g, ans, x, axis, keepdims:
         softmax(x, axis=axis) * expand_reduced(g, axis, keepdims, shape_of(x))], reads=["x"])

# p = exp(log_softmax(x)): the output already holds it. The transpose is written
# g + p (−Σg) (the same numbers as g − p Σg): a staged program then adds a picked
# cotangent g (the negative log-likelihood's) into p (−Σg) in place
log_softmax = defprim(
    "log_softmax", _log_softmax,
    jvp=[lambda t, ans, x, axis: t - _total(exp(ans) * t, axis)],
    vjp=[lambda g, ans, x, axis: g + exp(ans) * -_total(g, axis)], reads=["ans"])

softmax = defprim(
    "softmax", _softmax,
    jvp=[lambda t, ans, x, axis: ans * (t - _total(ans * t, axis))],
    vjp=[lambda g, ans, x, axis: ans * (g - _total(ans * g, axis))], reads=["ans"])
