import riesz.numpy.linalg as _m


def __getattr__(name):
    return getattr(_m, name)
