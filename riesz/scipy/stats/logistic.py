"""``scipy.stats.logistic`` on traced values: the logistic distribution, with SciPy's
argument names (the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import logistic_logpdf as logpdf, logistic_cdf as cdf

pdf = exp_of(logpdf, "pdf")

__all__ = ["logpdf", "pdf", "cdf"]
