import scipy.stats

import riesz.scipy.stats.gamma as _riesz


def __getattr__(name):
    # riesz's differentiable functions; SciPy's for the rest (rvs: sampling has no derivative)
    return getattr(_riesz, name, None) or getattr(scipy.stats.gamma, name)
