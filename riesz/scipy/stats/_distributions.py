"""The formulas behind :mod:`riesz.scipy.stats`: each log density written in riesz's
operations, so it differentiates in every argument (x and the parameters) to any order.
The distribution modules (``norm``, ``t``, ...) pick them up under SciPy's names.
"""
import math

import numpy as np

from ..special import (betainc, betaln, expit, gammainc, gammaincc, gammaln, log_ndtr, ndtr,
                       ndtri, xlog1py, xlogy)


LOG_2PI = math.log(2.0 * math.pi)


def exp_of(logdensity, name):
    """The density exp(``logdensity``), named ``name`` (pdf, pmf)."""
    def density(*args, **kwargs):
        return np.exp(logdensity(*args, **kwargs))

    density.__name__ = name
    density.__doc__ = f"exp(log{name}): the density itself."
    return density


# ------------------------------------------------------------ normal

def norm_logpdf(x, loc=0.0, scale=1.0):
    """log N(x; loc, scale²) = −z²/2 − log scale − log(2π)/2, z = (x − loc)/scale."""
    z = (x - loc) / scale
    return -0.5 * (z * z) - np.log(scale) - 0.5 * LOG_2PI


def norm_cdf(x, loc=0.0, scale=1.0):
    """Φ((x − loc)/scale)."""
    return ndtr((x - loc) / scale)


def norm_logcdf(x, loc=0.0, scale=1.0):
    """log Φ((x − loc)/scale), accurate far in the left tail."""
    return log_ndtr((x - loc) / scale)


def norm_sf(x, loc=0.0, scale=1.0):
    """1 − Φ((x − loc)/scale) = Φ((loc − x)/scale)."""
    return ndtr((loc - x) / scale)


def norm_logsf(x, loc=0.0, scale=1.0):
    """log(1 − Φ((x − loc)/scale)), accurate far in the right tail."""
    return log_ndtr((loc - x) / scale)


def norm_ppf(q, loc=0.0, scale=1.0):
    """The quantile function, the inverse of the cdf: loc + scale·Φ⁻¹(q)."""
    return loc + scale * ndtri(q)


def norm_isf(q, loc=0.0, scale=1.0):
    """The inverse of the sf: loc + scale·Φ⁻¹(1 − q) = loc − scale·Φ⁻¹(q)."""
    return loc - scale * ndtri(q)


# ------------------------------------------------------------ multivariate normal

def mvn_logpdf(x, mean=None, cov=1.0, allow_singular=False):
    """log N(x; mean, Σ) = −½ ‖L⁻¹(x − mean)‖² − Σᵢ log Lᵢᵢ − (d/2) log 2π with Σ = L Lᵀ
    (Cholesky); ``x`` is (..., d) and gives one value per leading index, as in SciPy.
    ``cov`` may be a scalar (σ² I), a vector (a diagonal) or a d×d matrix, positive
    definite, or with ``allow_singular=True`` positive semidefinite (:func:`_mvn_singular`)."""
    d = np.shape(x)[-1] if np.ndim(x) else 1
    diff = x if mean is None else x - mean
    if allow_singular:
        return _mvn_singular(diff, cov, d)
    if np.ndim(cov) < 2:     # σ² I or diag(σ²): no factorization needed
        variances = cov * np.ones(d)
        return (-0.5 * np.sum(diff * diff / variances, axis=-1)
                - 0.5 * np.sum(np.log(variances)) - 0.5 * d * LOG_2PI)
    L = np.linalg.cholesky(cov)
    z = np.linalg.solve(L, np.reshape(diff, (-1, d)).T)          # L z = (x − mean)ᵀ
    quad = np.reshape(np.sum(z * z, axis=0), np.shape(diff)[:-1])
    return -0.5 * quad - np.sum(np.log(np.diagonal(L))) - 0.5 * d * LOG_2PI


def _mvn_singular(diff, cov, d):
    """SciPy's density of a degenerate normal: with Σ = U diag(s) Uᵀ and r the number of
    eigenvalues |sᵢ| above SciPy's cutoff ε = c · maxᵢ|sᵢ| (c = 10⁶ float64 ulps, 10³ for
    float32),

        log N = −½ (r log 2π + Σ_{|sᵢ|>ε} log sᵢ + Σ_{|sᵢ|>ε} (uᵢᵀ(x − mean))² / sᵢ),

    the pseudo-determinant and the pseudo-inverse; −∞ where x − mean leaves the support
    (its part along the other eigenvectors has norm ≥ 10³ ε). Which eigenvalues count is a
    ``where`` over them, so the same code serves every rank. Differentiable in x and mean;
    in cov where its eigenvalues are distinct (those of a singular Σ's null space are not).
    A Σ with an eigenvalue below −ε gives NaN (SciPy raises)."""
    if np.ndim(cov) < 2:     # σ² I or diag(σ²): already diagonal
        s, u = cov * np.ones(d), np.eye(d)
    else:
        s, u = np.linalg.eigh(cov)
    dtype = np.result_type(s)
    cutoff = (1e3 if dtype == np.float32 else 1e6) * np.finfo(dtype).eps * np.max(np.abs(s))
    kept = np.abs(s) > cutoff
    s_kept = np.where(kept, s, 1.0)
    z = diff @ u                                   # coordinates along the eigenvectors
    maha = np.sum(np.where(kept, z * z / s_kept, 0.0), axis=-1)
    log_pdet = np.sum(np.where(kept, np.log(s_kept), 0.0))
    rank = np.sum(np.where(kept, 1.0, 0.0))
    outside = np.sum(np.where(kept, 0.0, z * z), axis=-1) >= (1e3 * cutoff) ** 2
    return np.where(outside, -np.inf, -0.5 * (rank * LOG_2PI + log_pdet + maha))


def mvn_entropy(mean=None, cov=1.0):
    """½ log det(2πe Σ) of a d×d ``cov``."""
    d = np.shape(cov)[-1]
    return 0.5 * np.linalg.slogdet(cov)[1] + 0.5 * d * (1.0 + LOG_2PI)




# ------------------------------------------------------------ Student's t, gamma, beta, chi²

def t_logpdf(x, df, loc=0.0, scale=1.0):
    """log Γ((ν+1)/2) − log Γ(ν/2) − ½ log(νπ) − log scale − (ν+1)/2 · log(1 + z²/ν)."""
    z = (x - loc) / scale
    return (gammaln(0.5 * (df + 1.0)) - gammaln(0.5 * df) - 0.5 * np.log(df * math.pi)
            - np.log(scale) - 0.5 * (df + 1.0) * np.log1p(z * z / df))


def _outside_to_neg_inf(inside, log_density):
    """−∞ outside the support, as SciPy gives; the where sends a zero cotangent to the
    value computed there (at a stand-in point inside, so that it stays finite)."""
    return np.where(inside, log_density, -np.inf)


def gamma_logpdf(x, a, loc=0.0, scale=1.0):
    """(a − 1) log z − z − log Γ(a) − log scale, z = (x − loc)/scale ≥ 0."""
    z = (x - loc) / scale
    inside = z >= 0
    z = np.where(inside, z, 1.0)
    return _outside_to_neg_inf(inside, xlogy(a - 1.0, z) - z - gammaln(a) - np.log(scale))


def beta_logpdf(x, a, b, loc=0.0, scale=1.0):
    """(a − 1) log z + (b − 1) log(1 − z) − log B(a, b) − log scale, z = (x − loc)/scale
    in [0, 1]."""
    z = (x - loc) / scale
    inside = (z >= 0) & (z <= 1)
    z = np.where(inside, z, 0.5)
    return _outside_to_neg_inf(
        inside, xlogy(a - 1.0, z) + xlogy(b - 1.0, 1.0 - z) - betaln(a, b) - np.log(scale))


def chi2_logpdf(x, df, loc=0.0, scale=1.0):
    """The gamma density with shape df/2 and scale 2."""
    return gamma_logpdf(x, 0.5 * df, loc, 2.0 * scale)


def poisson_logpmf(k, mu, loc=0):
    """k log μ − μ − log k! at the counts k − loc (−∞ below 0 and between integers)."""
    k = k - loc
    inside = (k >= 0) & (np.floor(k) == k)
    k = np.where(inside, k, 0)
    return _outside_to_neg_inf(inside, xlogy(k, mu) - mu - gammaln(k + 1.0))


def dirichlet_logpdf(x, alpha):
    """Σᵢ (αᵢ − 1) log xᵢ + log Γ(Σᵢ αᵢ) − Σᵢ log Γ(αᵢ). As in SciPy, ``x`` holds the
    components along its first axis: shape (k,) or (k, n)."""
    alpha_column = np.reshape(alpha, np.shape(alpha) + (1,) * (np.ndim(x) - 1))
    return (np.sum(xlogy(alpha_column - 1.0, x), axis=0) + gammaln(np.sum(alpha))
            - np.sum(gammaln(alpha)))


def _t_tail(x, df, loc, scale):
    """z = (x − loc)/scale and the tail mass ½ I_{ν/(ν+z²)}(ν/2, ½) beyond |z|."""
    z = (x - loc) / scale
    return z, 0.5 * betainc(0.5 * df, 0.5, df / (df + z * z))


def t_cdf(x, df, loc=0.0, scale=1.0):
    """½ I_{ν/(ν+z²)}(ν/2, ½) below the mean and 1 minus that above, z = (x − loc)/scale."""
    z, tail = _t_tail(x, df, loc, scale)
    return np.where(z < 0, tail, 1.0 - tail)


def t_logcdf(x, df, loc=0.0, scale=1.0):
    """log of :func:`t_cdf`: log(tail) below the mean, log1p(−tail) above (accurate where
    the CDF is near 1)."""
    z, tail = _t_tail(x, df, loc, scale)
    return np.where(z < 0, np.log(tail), np.log1p(-tail))


def gamma_cdf(x, a, loc=0.0, scale=1.0):
    """P(a, z), the regularized lower incomplete gamma function, z = (x − loc)/scale."""
    return gammainc(a, (x - loc) / scale)


def beta_cdf(x, a, b, loc=0.0, scale=1.0):
    """I_z(a, b), the regularized incomplete beta function, z = (x − loc)/scale."""
    return betainc(a, b, (x - loc) / scale)


def chi2_cdf(x, df, loc=0.0, scale=1.0):
    """The gamma CDF with shape df/2 and scale 2."""
    return gamma_cdf(x, 0.5 * df, loc, 2.0 * scale)


def poisson_cdf(k, mu, loc=0):
    """Q(⌊k − loc⌋ + 1, μ), the upper regularized gamma function (differentiable in μ)."""
    return gammaincc(np.floor(k - loc) + 1.0, mu)


# ------------------------------------------------------------ location-scale families

def expon_logpdf(x, loc=0.0, scale=1.0):
    """−z − log scale, z = (x − loc)/scale ≥ 0."""
    z = (x - loc) / scale
    inside = z >= 0
    return _outside_to_neg_inf(inside, -np.where(inside, z, 0.0) - np.log(scale))


def expon_cdf(x, loc=0.0, scale=1.0):
    """1 − e⁻ᶻ for z ≥ 0, else 0."""
    z = (x - loc) / scale
    return np.where(z >= 0, -np.expm1(-np.maximum(z, 0.0)), 0.0)


def laplace_logpdf(x, loc=0.0, scale=1.0):
    """−|z| − log 2·scale (at z = 0, the derivative in x is 0, the one-sided ones' mean)."""
    return -np.abs((x - loc) / scale) - np.log(2.0 * scale)


def laplace_cdf(x, loc=0.0, scale=1.0):
    """½ eᶻ below loc, 1 − ½ e⁻ᶻ above."""
    z = (x - loc) / scale
    return np.where(z < 0, 0.5 * np.exp(np.minimum(z, 0.0)),
                    1.0 - 0.5 * np.exp(-np.maximum(z, 0.0)))


def cauchy_logpdf(x, loc=0.0, scale=1.0):
    """−log π − log scale − log(1 + z²)."""
    z = (x - loc) / scale
    return -math.log(math.pi) - np.log(scale) - np.log1p(z * z)


def cauchy_cdf(x, loc=0.0, scale=1.0):
    """½ + arctan(z)/π."""
    return 0.5 + np.arctan((x - loc) / scale) / math.pi


def logistic_logpdf(x, loc=0.0, scale=1.0):
    """−|z| − 2 log(1 + e^−|z|) − log scale (the density is even in z; |z| keeps
    e^−|z| ≤ 1)."""
    a = np.abs((x - loc) / scale)
    return -a - 2.0 * np.log1p(np.exp(-a)) - np.log(scale)


def logistic_cdf(x, loc=0.0, scale=1.0):
    """σ(z) = 1 / (1 + e⁻ᶻ)."""
    return expit((x - loc) / scale)


def uniform_logpdf(x, loc=0.0, scale=1.0):
    """−log scale on [loc, loc + scale], −∞ outside (no derivative in x)."""
    z = (x - loc) / scale
    return _outside_to_neg_inf((z >= 0) & (z <= 1), -np.log(scale) + 0.0 * z)


def uniform_cdf(x, loc=0.0, scale=1.0):
    """z clipped to [0, 1]."""
    return np.clip((x - loc) / scale, 0.0, 1.0)


# ------------------------------------------------------------ Bernoulli and binomial

def bernoulli_logpmf(k, p, loc=0):
    """k log p + (1 − k) log(1 − p) at k − loc ∈ {0, 1} (−∞ elsewhere)."""
    k = k - loc
    inside = (k == 0) | (k == 1)
    k = np.where(inside, k, 0)
    return _outside_to_neg_inf(inside, xlogy(k, p) + xlog1py(1 - k, -p))


def binom_logpmf(k, n, p, loc=0):
    """log C(n, k) + k log p + (n − k) log(1 − p) at the counts k − loc in 0 … n."""
    k = k - loc
    inside = (k >= 0) & (k <= n) & (np.floor(k) == k)
    k = np.where(inside, k, 0)
    log_choose = gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)
    return _outside_to_neg_inf(inside, log_choose + xlogy(k, p) + xlog1py(n - k, -p))
