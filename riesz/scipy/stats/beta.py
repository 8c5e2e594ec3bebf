"""``scipy.stats.beta`` on traced values: the beta distribution, with SciPy's argument
names (the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import (beta_logpdf as logpdf, beta_cdf as cdf)

pdf = exp_of(logpdf, "pdf")

__all__ = ["logpdf", "pdf", "cdf"]
