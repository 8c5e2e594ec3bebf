"""``scipy.stats.dirichlet`` on traced values: the Dirichlet distribution, with SciPy's
argument names (the formulas are in :mod:`riesz.scipy.stats._distributions`)."""
from ._distributions import exp_of
from ._distributions import dirichlet_logpdf as logpdf

pdf = exp_of(logpdf, "pdf")

__all__ = ["logpdf", "pdf"]
