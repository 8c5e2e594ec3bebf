from riesz.misc import flatten  # noqa: F401
