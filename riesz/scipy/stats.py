"""``scipy.stats`` densities on traced values: each distribution a namespace of functions
with SciPy's signatures (``norm.logpdf(x, loc=0, scale=1)``), written with differentiable
operations, so gradients reach the data and the parameters alike.

Outside a distribution's support the log density is −∞ (the density 0), as in SciPy;
its derivative there is 0.
"""
import math

import numpy as np

from .special import betaln, gammaln
from ..rules.special import log_ndtr, ndtr, xlog1py, xlogy

__all__ = ["norm", "multivariate_normal", "t", "gamma", "chi2", "beta", "poisson", "dirichlet"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _standardize(x, loc, scale):
    return (x - loc) / scale


def _outside_to_neg_inf(inside, log_density):
    # −∞ outside the support; the where sends a zero cotangent to the value computed there
    return np.where(inside, log_density, -np.inf)


class _Distribution:
    """A namespace of functions; ``pdf`` is ``exp(logpdf)`` (``pmf`` of ``logpmf``)."""

    def __repr__(self):
        return f"riesz.scipy.stats.{self.name}"


class _Normal(_Distribution):
    """N(loc, scale²): log φ((x − loc)/scale) − log scale, Φ for the CDF."""
    name = "norm"

    def logpdf(self, x, loc=0.0, scale=1.0):
        z = _standardize(x, loc, scale)
        return -0.5 * (z * z) - np.log(scale) - _HALF_LOG_2PI

    def pdf(self, x, loc=0.0, scale=1.0):
        return np.exp(self.logpdf(x, loc, scale))

    def cdf(self, x, loc=0.0, scale=1.0):
        return ndtr(_standardize(x, loc, scale))

    def logcdf(self, x, loc=0.0, scale=1.0):
        return log_ndtr(_standardize(x, loc, scale))

    def sf(self, x, loc=0.0, scale=1.0):
        return ndtr(-_standardize(x, loc, scale))

    def logsf(self, x, loc=0.0, scale=1.0):
        return log_ndtr(-_standardize(x, loc, scale))


class _MultivariateNormal(_Distribution):
    """N(mean, Σ) in d dimensions, through the Cholesky factor Σ = L Lᵀ:

    log p(x) = −½ (d log 2π + log det Σ + ‖L⁻¹(x − mean)‖²), log det Σ = 2 Σᵢ log Lᵢᵢ.

    ``x`` has shape (..., d) and gives one value per leading index; ``cov`` is a (d, d)
    matrix, a vector (its diagonal) or a scalar (times the identity).
    """
    name = "multivariate_normal"

    def logpdf(self, x, mean=None, cov=1.0):
        d = np.shape(x)[-1] if np.ndim(x) else 1
        diff = x if mean is None else x - mean
        if np.ndim(x) == 0:
            diff = np.reshape(diff, (1,))
        if np.ndim(cov) < 2:
            variances = np.broadcast_to(cov, (d,)) if np.ndim(cov) == 0 else cov
            maha = np.sum(diff * diff / variances, axis=-1)
            log_det = np.sum(np.log(variances))
        else:
            chol = np.linalg.cholesky(cov)
            solved = np.linalg.solve(chol, diff[..., None])[..., 0]
            maha = np.sum(solved * solved, axis=-1)
            log_det = 2 * np.sum(np.log(np.diagonal(chol)))
        return -0.5 * (d * 2 * _HALF_LOG_2PI + log_det + maha)

    def pdf(self, x, mean=None, cov=1.0):
        return np.exp(self.logpdf(x, mean, cov))


class _StudentT(_Distribution):
    """Student's t with ``df`` degrees of freedom ν:
    log Γ((ν+1)/2) − log Γ(ν/2) − ½ log(νπ) − log scale − (ν+1)/2 · log(1 + z²/ν)."""
    name = "t"

    def logpdf(self, x, df, loc=0.0, scale=1.0):
        z = _standardize(x, loc, scale)
        return (gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * np.log(df * np.pi)
                - np.log(scale) - (df + 1) / 2 * np.log1p(z * z / df))

    def pdf(self, x, df, loc=0.0, scale=1.0):
        return np.exp(self.logpdf(x, df, loc, scale))


class _Gamma(_Distribution):
    """Gamma with shape a: (a − 1) log z − z − log Γ(a) − log scale for z ≥ 0."""
    name = "gamma"

    def logpdf(self, x, a, loc=0.0, scale=1.0):
        z = _standardize(x, loc, scale)
        inside = z >= 0
        z = np.where(inside, z, 1.0)
        return _outside_to_neg_inf(inside, xlogy(a - 1, z) - z - gammaln(a) - np.log(scale))

    def pdf(self, x, a, loc=0.0, scale=1.0):
        return np.exp(self.logpdf(x, a, loc, scale))


class _ChiSquared(_Distribution):
    """χ² with ``df`` degrees of freedom: the gamma density with shape df/2 and scale 2."""
    name = "chi2"

    def logpdf(self, x, df, loc=0.0, scale=1.0):
        return gamma.logpdf(x, df / 2, loc, 2 * scale)

    def pdf(self, x, df, loc=0.0, scale=1.0):
        return np.exp(self.logpdf(x, df, loc, scale))


class _Beta(_Distribution):
    """Beta(a, b): (a − 1) log z + (b − 1) log(1 − z) − log B(a, b) − log scale on [0, 1]."""
    name = "beta"

    def logpdf(self, x, a, b, loc=0.0, scale=1.0):
        z = _standardize(x, loc, scale)
        inside = (z >= 0) & (z <= 1)
        z = np.where(inside, z, 0.5)
        return _outside_to_neg_inf(
            inside, xlogy(a - 1, z) + xlog1py(b - 1, -z) - betaln(a, b) - np.log(scale))

    def pdf(self, x, a, b, loc=0.0, scale=1.0):
        return np.exp(self.logpdf(x, a, b, loc, scale))


class _Poisson(_Distribution):
    """Poisson(mu) at counts k: k log μ − log Γ(k + 1) − μ (−∞ below 0)."""
    name = "poisson"

    def logpmf(self, k, mu, loc=0):
        k = k - loc
        inside = k >= 0
        k = np.where(inside, k, 0)
        return _outside_to_neg_inf(inside, xlogy(k, mu) - gammaln(k + 1) - mu)

    def pmf(self, k, mu, loc=0):
        return np.exp(self.logpmf(k, mu, loc))


class _Dirichlet(_Distribution):
    """Dirichlet(α) on the simplex: Σᵢ (αᵢ − 1) log xᵢ − Σᵢ log Γ(αᵢ) + log Γ(Σᵢ αᵢ).

    As in SciPy, ``x`` holds the components along its first axis: shape (k,) or (k, n).
    """
    name = "dirichlet"

    def logpdf(self, x, alpha):
        alpha_col = np.reshape(alpha, np.shape(alpha) + (1,) * (np.ndim(x) - 1))
        return (np.sum(xlogy(alpha_col - 1, x), axis=0)
                - np.sum(gammaln(alpha)) + gammaln(np.sum(alpha)))

    def pdf(self, x, alpha):
        return np.exp(self.logpdf(x, alpha))


norm = _Normal()
multivariate_normal = _MultivariateNormal()
t = _StudentT()
gamma = _Gamma()
chi2 = _ChiSquared()
beta = _Beta()
poisson = _Poisson()
dirichlet = _Dirichlet()
