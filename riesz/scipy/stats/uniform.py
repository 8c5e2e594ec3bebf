"""``scipy.stats.uniform`` on traced values: the uniform distribution on [loc, loc + scale],
with SciPy's argument names (the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import uniform_logpdf as logpdf, uniform_cdf as cdf

pdf = exp_of(logpdf, "pdf")

__all__ = ["logpdf", "pdf", "cdf"]
