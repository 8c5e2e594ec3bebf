from riesz.scipy.stats import *  # noqa: F401,F403
from riesz.scipy.stats import beta, chi2, dirichlet, gamma, multivariate_normal, norm, poisson, t  # noqa: F401
