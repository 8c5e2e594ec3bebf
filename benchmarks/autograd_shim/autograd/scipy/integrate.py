from riesz.scipy.integrate import *  # noqa: F401,F403
import riesz.scipy.integrate as _m


def __getattr__(name):
    return getattr(_m, name)
