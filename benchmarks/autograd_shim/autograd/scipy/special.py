from riesz.scipy.special import *  # noqa: F401,F403
import riesz.scipy.special as _m


def __getattr__(name):
    return getattr(_m, name)
