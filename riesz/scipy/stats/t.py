"""``scipy.stats.t`` on traced values: Student's t distribution, with SciPy's argument
names (the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import (t_logpdf as logpdf, t_cdf as cdf, t_logcdf as logcdf)

pdf = exp_of(logpdf, "pdf")

__all__ = ["logpdf", "pdf", "cdf", "logcdf"]
