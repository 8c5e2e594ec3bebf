from riesz.misc import flatten  # noqa: F401


def const_graph(fun, *args, **kwargs):
    return fun
