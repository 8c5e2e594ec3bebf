"""``riesz.scipy``: the SciPy functions that plain NumPy code ported from HIPS autograd
(``autograd.scipy``) or JAX (``jax.scipy``) calls, differentiable on traced values.

SciPy's ufuncs (``scipy.special.erf``, ``gammaln``, ...) already reach riesz through
NumPy's dispatch, but its Python functions (``scipy.special.logsumexp``,
``scipy.stats.norm.logpdf``, ...) convert their arguments with ``np.asarray``, which
cannot hold a derivative. Import these instead; they take SciPy's arguments and give
SciPy's values (on plain arrays too)::

    from riesz.scipy.special import logsumexp
    from riesz.scipy.stats import norm, multivariate_normal
    from riesz.scipy.linalg import cho_factor, cho_solve, solve_triangular, expm
    from riesz.scipy.integrate import odeint
    from riesz.scipy.signal import convolve          # autograd.scipy.signal's n-d convolve

Needs SciPy (an optional extra), like ``riesz.rules.special``.
"""
try:
    import scipy  # noqa: F401
except ImportError as error:
    raise ImportError('riesz.scipy needs SciPy (an optional extra): pip install scipy'
                      ) from error

from . import integrate, linalg, signal, special, stats  # noqa: E402,F401

__all__ = ["integrate", "linalg", "signal", "special", "stats"]
