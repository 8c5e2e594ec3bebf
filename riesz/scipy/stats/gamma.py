"""``scipy.stats.gamma`` on traced values: the gamma distribution, with SciPy's argument
names (the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import (gamma_logpdf as logpdf, gamma_cdf as cdf)

pdf = exp_of(logpdf, "pdf")

__all__ = ["logpdf", "pdf", "cdf"]
