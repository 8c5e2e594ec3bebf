"""SciPy's Python functions on traced values, as HIPS-autograd's ``autograd.scipy`` and
JAX's ``jax.scipy`` provide them.

``scipy.special``'s ufuncs (erf, gammaln, ...) reach riesz by themselves, through
``__array_ufunc__``. SciPy's *Python* functions (``scipy.special.logsumexp``,
``scipy.stats.norm.logpdf``, ...) instead convert their inputs to NumPy arrays, which
would drop the derivative, so riesz raises there. This package has the same functions,
with SciPy's signatures, written with differentiable operations:

* :mod:`riesz.scipy.special`: ``logsumexp``, ``softmax``, ``log_softmax``, ``betaln``,
  ``multigammaln``, ``polygamma``, and every ufunc of ``scipy.special``;
* :mod:`riesz.scipy.stats`: ``norm``, ``multivariate_normal``, ``t``, ``gamma``,
  ``chi2``, ``beta``, ``poisson``, ``dirichlet``.

Porting code written for autograd: ``from autograd.scipy.special import logsumexp``
becomes ``from riesz.scipy.special import logsumexp``. Needs SciPy
(``pip install "riesz[scipy]"``) for the special functions the formulas use.
"""
from . import special, stats  # noqa: F401

__all__ = ["special", "stats"]
