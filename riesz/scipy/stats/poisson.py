"""``scipy.stats.poisson`` on traced values: the Poisson distribution, with SciPy's
argument names (the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import (poisson_logpmf as logpmf, poisson_cdf as cdf)

pmf = exp_of(logpmf, "pmf")

__all__ = ["logpmf", "pmf", "cdf"]
