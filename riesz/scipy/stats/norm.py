"""``scipy.stats.norm`` on traced values: the normal distribution, with SciPy's argument
names (the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import (norm_logpdf as logpdf, norm_cdf as cdf,
                             norm_logcdf as logcdf, norm_sf as sf,
                             norm_logsf as logsf, norm_ppf as ppf, norm_isf as isf)

pdf = exp_of(logpdf, "pdf")

__all__ = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf"]
