"""``scipy.stats.chi2`` on traced values: the χ² distribution, with SciPy's argument names
(the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import (chi2_logpdf as logpdf, chi2_cdf as cdf)

pdf = exp_of(logpdf, "pdf")

__all__ = ["logpdf", "pdf", "cdf"]
