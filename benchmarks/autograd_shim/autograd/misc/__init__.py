from riesz.misc import const_graph, flatten  # noqa: F401
