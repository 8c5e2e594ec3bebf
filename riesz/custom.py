"""User-defined derivative rules: ``custom_vjp`` (JAX's calling convention).

::

    @riesz.custom_vjp
    def f(x, y):
        return np.sin(x) * y

    def f_fwd(x, y):               # the output and what the backward pass needs
        return f(x, y), (np.cos(x), np.sin(x), y)

    def f_bwd(res, g):             # ∂f(x, y)ᵀ g, one cotangent per argument
        cos_x, sin_x, y = res
        return (cos_x * y * g, sin_x * g)

    f.defvjp(f_fwd, f_bwd)

Reverse mode uses ``f_bwd``; forward mode differentiates ``f`` itself (JAX raises
there). Write ``f_fwd`` and ``f_bwd`` with NumPy operations as usual: higher
derivatives differentiate through them.
"""
import functools

import numpy as np

from .core import bind_custom_vjp
from .rules.define import shape_of, dtype_of
from .tree import tree_flatten, tree_unflatten

__all__ = ["custom_vjp"]


class custom_vjp:
    """Decorator: give ``fun`` a hand-written reverse-mode rule with :meth:`defvjp`."""

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd):
        """``fwd(*args) -> (out, residuals)``; ``bwd(residuals, g) -> tuple of cotangents``,
        one per differentiable argument, each of its argument's structure (``None`` for zero)."""
        self.fwd, self.bwd = fwd, bwd
        return self

    def __call__(self, *args):
        if self.fwd is None:
            raise TypeError(f"custom_vjp function {self.__name__} has no rule yet: call "
                            f"{self.__name__}.defvjp(fwd, bwd) first")
        static = {i: args[i] for i in self.nondiff_argnums}
        diff = [a for i, a in enumerate(args) if i not in static]
        flat, in_tree = tree_flatten(tuple(diff))
        out_tree = []

        def full_args(leaves):
            it = iter(tree_unflatten(in_tree, leaves))
            return [static[i] if i in static else next(it) for i in range(len(args))]

        def flat_out(out):
            leaves, td = tree_flatten(out)
            out_tree.append(td)
            return leaves[0] if td.num_leaves == 1 and td.kind is None else tuple(leaves)

        def fun(*leaves):
            return flat_out(self.fun(*full_args(leaves)))

        def fwd(*leaves):
            out, res = self.fwd(*full_args(leaves))
            return flat_out(out), (res, tree_flatten(out)[0])

        def bwd(res, g):
            res, outs = res
            g = g if isinstance(g, tuple) else (g,)
            g = [np.zeros(shape_of(o), dtype_of(o)) if c is None else c for c, o in zip(g, outs)]
            cts = self.bwd(res, tree_unflatten(out_tree[-1], g))
            if not isinstance(cts, (tuple, list)) or len(cts) != len(diff):
                raise TypeError(f"custom_vjp {self.__name__}: bwd must return a tuple of "
                                f"{len(diff)} cotangent(s), one per differentiable argument")
            leaves = []
            for c, a in zip(cts, diff):
                a_leaves, a_tree = tree_flatten(a)
                c_leaves = a_leaves if c is None else tree_flatten(c)[0]
                if c is None:
                    c_leaves = [np.zeros(shape_of(x), dtype_of(x)) for x in a_leaves]
                leaves.extend(c_leaves)
            return leaves

        out = bind_custom_vjp(self.__name__, fun, fwd, bwd, flat)
        return tree_unflatten(out_tree[-1], list(out) if isinstance(out, tuple) else [out])
