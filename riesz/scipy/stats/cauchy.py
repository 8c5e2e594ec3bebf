"""``scipy.stats.cauchy`` on traced values: the Cauchy distribution, with SciPy's
argument names (the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import cauchy_logpdf as logpdf, cauchy_cdf as cdf

pdf = exp_of(logpdf, "pdf")

__all__ = ["logpdf", "pdf", "cdf"]
