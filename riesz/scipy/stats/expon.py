"""``scipy.stats.expon`` on traced values: the exponential distribution, with SciPy's
argument names (the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import expon_logpdf as logpdf, expon_cdf as cdf

pdf = exp_of(logpdf, "pdf")

__all__ = ["logpdf", "pdf", "cdf"]
