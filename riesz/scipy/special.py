"""``scipy.special`` on traced values: the Python functions, written with differentiable
operations, and every ufunc of ``scipy.special`` (which differentiate where
:mod:`riesz.rules.special` has their rules and raise :class:`riesz.NoRuleError`
naming them otherwise).

``logsumexp``, ``softmax`` and ``log_softmax`` are riesz's primitives
(:mod:`riesz.rules.softmax`) with SciPy's default ``axis=None`` (every axis).
"""
import numpy as np

try:
    from scipy import special as _scipy_special
except ImportError as error:   # pragma: no cover - the scipy extra is not installed
    raise ImportError('riesz.scipy needs SciPy: pip install "riesz[scipy]"') from error

from ..rules import softmax as _rules
from ..rules.define import shape_of
from ..rules.elementwise import stop_gradient
from ..rules.reductions import normalize_axis
from ..rules.special import gammaln, polygamma

__all__ = ["logsumexp", "softmax", "log_softmax", "betaln", "multigammaln", "polygamma"]


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log Σ b·exp(a) over ``axis`` (every axis by default), without overflow.

    With weights ``b`` (which may be negative) the sum may be negative: with
    ``return_sign`` the result is ``(log |Σ b eᵃ|, sign)``, otherwise a negative sum
    gives NaN, as in SciPy. The derivative with respect to a is b eᵃ / Σ b eᵃ.
    """
    axes = normalize_axis(axis, len(shape_of(a)))
    if b is None and not return_sign:
        return _rules.logsumexp(a, axis=axes, keepdims=bool(keepdims))
    # log Σ b eᵃ = m + log Σ b e^(a − m), with m = max a held constant (it cancels)
    m = np.max(a, axis=axes, keepdims=True)
    m = stop_gradient(np.where(np.isfinite(m), m, 0))
    terms = np.exp(a - m) if b is None else b * np.exp(a - m)
    total = np.sum(terms, axis=axes, keepdims=True)
    if not keepdims:
        total, m = np.squeeze(total, axis=axes), np.squeeze(m, axis=axes)
    if return_sign:
        sign = np.sign(stop_gradient(total))
        return np.log(np.abs(total)) + m, sign
    with np.errstate(invalid="ignore"):
        return np.log(total) + m


def softmax(x, axis=None):
    """exp(x) / Σ exp(x) over ``axis`` (every axis by default), without overflow."""
    return _rules.softmax(x, axis=normalize_axis(axis, len(shape_of(x))))


def log_softmax(x, axis=None):
    """x − logsumexp(x) over ``axis`` (every axis by default)."""
    return _rules.log_softmax(x, axis=normalize_axis(axis, len(shape_of(x))))


def betaln(a, b):
    """log |B(a, b)| = log Γ(a) + log Γ(b) − log Γ(a + b)."""
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def multigammaln(a, d):
    """log Γ_d(a) = d(d − 1)/4 · log π + Σ_{j=1}^{d} log Γ(a + (1 − j)/2), the log of the
    multivariate gamma function (``d`` a positive int)."""
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"multigammaln: the dimension d must be a positive int, got {d!r}")
    terms = [gammaln(a + (1 - j) / 2) for j in range(1, int(d) + 1)]
    return d * (d - 1) / 4 * np.log(np.pi) + sum(terms[1:], terms[0])


def __getattr__(name):
    # the rest of scipy.special: its ufuncs dispatch to riesz's rules by themselves
    try:
        return getattr(_scipy_special, name)
    except AttributeError:
        raise AttributeError(f"module 'riesz.scipy.special' has no attribute {name!r} "
                             f"(nor has scipy.special)") from None
