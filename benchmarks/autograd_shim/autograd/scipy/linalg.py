from riesz.scipy.linalg import *  # noqa: F401,F403
import riesz.scipy.linalg as _m


def __getattr__(name):
    return getattr(_m, name)
