from riesz.core import Tracer
from riesz.extend import primitive  # noqa: F401


def isbox(x):
    return isinstance(x, Tracer)
