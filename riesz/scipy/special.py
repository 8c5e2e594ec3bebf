"""``scipy.special`` on traced values: ``logsumexp``, ``softmax``, ``log_softmax``,
``betaln`` and ``multigammaln`` written with riesz's primitives, and SciPy's ufuncs that
have derivative rules (:mod:`riesz.rules.special`), re-exported so that one import serves
both."""
import numpy as np
from scipy.special import (beta, betainc, digamma, entr, erf, erfc, erfcinv, erfinv, expit,
                           gamma, gammainc, gammaincc, gammaln, gammasgn, i0, i1, iv, ive, j0, j1,
                           jn, jv, log_expit, log_ndtr, logit, ndtr, ndtri, psi, rgamma, xlog1py,
                           xlogy, y0, y1, yn, yv)

from ..rules import softmax as _softmax_rules
from ..rules.define import shape_of
from ..rules.elementwise import stop_gradient
from ..rules.reductions import normalize_axis
from ..rules.special import polygamma

__all__ = ["logsumexp", "softmax", "log_softmax", "betaln", "multigammaln", "polygamma",
           "beta", "betainc", "digamma", "entr", "erf", "erfc", "erfcinv", "erfinv", "expit",
           "gamma", "gammainc", "gammaincc", "gammaln", "gammasgn", "i0", "i1", "iv", "ive",
           "j0", "j1", "jn", "jv", "log_expit", "log_ndtr", "logit", "ndtr", "ndtri", "psi",
           "rgamma", "xlog1py", "xlogy", "y0", "y1", "yn", "yv"]


def _axes(a, axis):
    return normalize_axis(axis, len(shape_of(a)))


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """log Σ b·exp(a) over ``axis`` (None: every axis), as ``scipy.special.logsumexp``.

    Without weights it is one primitive whose gradient is softmax(a). With weights ``b``
    it is m + log|Σ b exp(a − m)| for the maximum m (a constant: the value does not
    depend on it); ``return_sign`` also gives sign(Σ b exp(a)), and without it a negative
    sum gives NaN, as in SciPy.
    """
    if b is None and not return_sign:
        return _softmax_rules.logsumexp(a, axis=_axes(a, axis), keepdims=bool(keepdims))
    axes = _axes(a, axis)
    if b is not None:
        a, b = np.broadcast_arrays(a, b)
        axes = normalize_axis(axis, a.ndim)
    m = np.max(stop_gradient(a), axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    total = np.sum(np.exp(a - m) if b is None else b * np.exp(a - m), axis=axes, keepdims=True)
    sign = np.sign(stop_gradient(total))
    if return_sign:
        total = np.abs(total)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(total) + m
    if not keepdims:
        out, sign = np.squeeze(out, axis=axes), np.squeeze(sign, axis=axes)
    return (out, sign) if return_sign else out


def softmax(x, axis=None):
    """exp(x) / Σ exp(x) over ``axis`` (None: every axis), as ``scipy.special.softmax``."""
    return _softmax_rules.softmax(x, axis=_axes(x, axis))


def log_softmax(x, axis=None):
    """x − logsumexp(x) over ``axis`` (None: every axis), as ``scipy.special.log_softmax``."""
    return _softmax_rules.log_softmax(x, axis=_axes(x, axis))


def betaln(a, b):
    """log |B(a, b)| = log Γ(a) + log Γ(b) − log Γ(a + b)."""
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def multigammaln(a, d):
    """log Γ_d(a) = d(d − 1)/4 · log π + Σ_{j=1}^{d} log Γ(a + (1 − j)/2), for an int ``d``."""
    d = int(d)
    return 0.25 * d * (d - 1) * np.log(np.pi) + sum(gammaln(a + 0.5 * (1 - j))
                                                    for j in range(1, d + 1))
