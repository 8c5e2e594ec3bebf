"""``scipy.stats.bernoulli`` on traced values: the Bernoulli distribution, with SciPy's
argument names (the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import bernoulli_logpmf as logpmf

pmf = exp_of(logpmf, "pmf")

__all__ = ["logpmf", "pmf"]
