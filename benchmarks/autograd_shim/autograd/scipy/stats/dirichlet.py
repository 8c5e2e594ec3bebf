import scipy.stats

import riesz.scipy.stats.dirichlet as _riesz


def __getattr__(name):
    # riesz's differentiable functions; SciPy's for the rest (rvs: sampling has no derivative)
    return getattr(_riesz, name, None) or getattr(scipy.stats.dirichlet, name)
