"""``scipy.stats.laplace`` on traced values: the Laplace distribution, with SciPy's
argument names (the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import laplace_logpdf as logpdf, laplace_cdf as cdf

pdf = exp_of(logpdf, "pdf")

__all__ = ["logpdf", "pdf", "cdf"]
