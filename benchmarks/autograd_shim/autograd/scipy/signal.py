from riesz.scipy.signal import *  # noqa: F401,F403
import riesz.scipy.signal as _m


def __getattr__(name):
    return getattr(_m, name)
