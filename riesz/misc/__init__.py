"""``riesz.misc``: HIPS autograd's ``autograd.misc`` helpers, for code ported from it.

* :func:`flatten` (JAX's name: :func:`ravel_pytree`): a pytree of arrays as one 1-D
  vector and the function that rebuilds the pytree from such a vector, both
  differentiable, so ``scipy.optimize.minimize`` can drive a model given as a pytree;
* :func:`flatten_func`: a function of a pytree as a function of that vector;
* :mod:`riesz.misc.fixed_points`: autograd's ``fixed_point(f, a, x0, distance, tol)``,
  differentiated in ``a`` by the implicit function theorem (not through the iterations);
* :func:`const_graph` (:mod:`riesz.misc.tracers`): a function recorded on its first call
  and replayed afterwards without running its Python, autograd's; built on ``riesz.jit``;
* :mod:`riesz.misc.optimizers`: autograd's ``sgd``, ``rmsprop`` and ``adam``, which take
  ``grad(x, i)`` and a pytree ``x0`` (:mod:`riesz.optim` is the toolkit's own API).
"""
import math

import numpy as np

from ..tree import tree_flatten, tree_unflatten

__all__ = ["flatten", "ravel_pytree", "flatten_func", "const_graph", "optimizers", "fixed_points"]


def flatten(value):
    """``(vector, unflatten)``: the leaves of the pytree ``value`` raveled and concatenated
    in pytree order (dicts by sorted key), and the inverse map from such a vector back to
    the pytree, each leaf with its shape and dtype."""
    leaves, treedef = tree_flatten(value)
    shapes = [np.shape(leaf) for leaf in leaves]
    dtypes = [np.result_type(leaf) for leaf in leaves]
    ends = np.cumsum([math.prod(shape) for shape in shapes]).tolist()
    vector = (np.concatenate([np.ravel(leaf) for leaf in leaves]) if leaves
              else np.zeros(0))

    def unflatten(vector):
        starts = [0] + ends[:-1]
        return tree_unflatten(treedef, [
            np.reshape(vector[start:end], shape).astype(dtype, copy=False)
            for start, end, shape, dtype in zip(starts, ends, shapes, dtypes)])

    return vector, unflatten


ravel_pytree = flatten


def flatten_func(func, example):
    """``(flat_func, unflatten, flat_example)``: ``flat_func(vector, *args)`` is ``func`` of
    the pytree ``unflatten(vector)``, its result flattened too."""
    flat_example, unflatten = flatten(example)

    def flat_func(vector, *args):
        return flatten(func(unflatten(vector), *args))[0]

    return flat_func, unflatten, flat_example


from . import optimizers  # noqa: E402,F401  (it uses flatten)
from . import fixed_points  # noqa: E402,F401
from .tracers import const_graph  # noqa: E402,F401
