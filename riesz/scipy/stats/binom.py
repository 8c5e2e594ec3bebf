"""``scipy.stats.binom`` on traced values: the binomial distribution, with SciPy's
argument names (the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import binom_logpmf as logpmf

pmf = exp_of(logpmf, "pmf")

__all__ = ["logpmf", "pmf"]
