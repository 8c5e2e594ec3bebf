"""``scipy.stats`` densities on traced values, as ``autograd.scipy.stats`` and
``jax.scipy.stats`` offer them: one module per distribution (``norm``,
``multivariate_normal``, ``t``, ``gamma``, ``beta``, ``chi2``, ``poisson``, ``dirichlet``,
``expon``, ``laplace``, ``cauchy``, ``logistic``, ``uniform``, ``bernoulli``, ``binom``)
with SciPy's function and argument names, so both ``from riesz.scipy.stats import norm``
and ``import riesz.scipy.stats.norm as norm`` work: ``norm.logpdf(x, loc=0, scale=1)``.

Log densities and densities differentiate in every argument to any order; the CDFs of
``t``, ``gamma``, ``beta``, ``chi2`` and ``poisson`` in x, loc and scale (μ for poisson),
not in the shape parameters.
"""
from . import (bernoulli, beta, binom, cauchy, chi2, dirichlet, expon, gamma,  # noqa: F401
               laplace, logistic, multivariate_normal, norm, poisson, t, uniform)

__all__ = ["norm", "multivariate_normal", "t", "gamma", "beta", "chi2", "poisson", "dirichlet",
           "expon", "laplace", "cauchy", "logistic", "uniform", "bernoulli", "binom"]
