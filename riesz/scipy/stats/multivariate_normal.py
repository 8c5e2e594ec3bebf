"""``scipy.stats.multivariate_normal`` on traced values: the multivariate normal
distribution (``cov`` a matrix, a vector of variances or a scalar), with SciPy's
argument names (the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import (mvn_logpdf as logpdf, mvn_entropy as entropy)

pdf = exp_of(logpdf, "pdf")

__all__ = ["logpdf", "pdf", "entropy"]
