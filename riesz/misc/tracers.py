"""autograd's ``const_graph``: record a function once, replay the recording.

``const_graph(f, *fixed_args, **fixed_kwargs)`` is ``f`` with its first arguments (and the
keyword ones) fixed, recorded by :func:`riesz.jit`'s staging on its first call and replayed
afterwards without running ``f``'s Python again. As in autograd, the first call runs ``f``
once (recording it) and returns that run's values; each later call with arguments of the
same signature runs the recorded program only: the operations on the remaining
arguments, and the function of every :func:`riesz.extend.primitive` called on them (a
primitive is one step of the program, run on each replay). What depends on the fixed
arguments alone is computed once, while recording.
"""
import functools
import inspect
from typing import Any, Callable

from ..core import Tracer
from ..staging import jit
from ..staging.tracer import example_of
from ..tree import tree_leaves, tree_map

__all__ = ["const_graph"]


def const_graph(fun: Callable[..., Any], *fixed_args: Any, **fixed_kwargs: Any) -> Callable[..., Any]:
    """``fun(*fixed_args, *args, **fixed_kwargs)`` as a function of ``args``, recorded on
    the first call and replayed afterwards (autograd's ``autograd.misc.const_graph``).

    It freezes what :func:`riesz.jit` freezes: the fixed arguments, the arrays ``fun``
    closes over or reads as globals, and every Python decision ``fun`` takes (a decision
    on the values of ``args`` raises :class:`riesz.ConcretizationError`, naming the line).
    A recording holds for the structure, shapes and dtypes of ``args`` (a Python number
    by its type); arguments of a new signature are recorded again. Under a transform
    (``grad(const_graph(f))``) the recording is applied with the transform's rules.

    >>> import numpy as np, riesz
    >>> f = riesz.misc.const_graph(lambda a, x: np.sin(a) * x, 0.5)   # sin(0.5): computed once
    >>> bool(np.isclose(f(2.0), np.sin(0.5) * 2.0)), bool(np.isclose(f(3.0), np.sin(0.5) * 3.0))
    (True, True)
    """
    fixed = functools.partial(fun, *fixed_args, **fixed_kwargs)
    recorded = []   # the values of the run that recorded a program

    def recording(*args):
        out = fixed(*args)
        recorded.append(tree_map(example_of, out))
        return out

    recording.__name__ = getattr(fun, "__name__", "const_graph")
    recording.__signature__ = inspect.signature(fixed)   # the program's inputs by name
    replay = jit(recording)

    @functools.wraps(fun)
    def replayed(*args):
        recorded.clear()
        if any(isinstance(x, Tracer) for x in tree_leaves(args)):
            return replay(*args)
        replay.lower(*args)   # records on a new signature, running fun once
        return recorded.pop() if recorded else replay(*args)

    return replayed
