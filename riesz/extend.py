"""HIPS autograd's ``autograd.extend`` for code ported from it: ``primitive``, ``defvjp``
and ``defjvp`` give a function hand-written derivative rules::

    @primitive
    def logsumexp(x):
        m = np.max(x)
        return m + np.log(np.sum(np.exp(x - m)))

    defvjp(logsumexp, lambda ans, x: lambda g: g * np.exp(x - ans))

A ``vjpmaker(ans, *args)`` returns the map g ↦ the cotangent of its argument, a
``jvp(g, ans, *args)`` the output's tangent for the tangent g of its argument, as in
autograd. They are :func:`riesz.custom_vjp` (or :func:`riesz.custom_jvp` with JVPs only)
underneath: arguments without a rule are ``nondiff_argnums``, so differentiating with
respect to one of them differentiates the implementation instead (and raises if that is
not plain NumPy code) rather than giving zero. Keyword arguments are passed by position.
"""
import functools
import inspect

from .custom import custom_jvp, custom_vjp

__all__ = ["primitive", "defvjp", "defjvp"]


class _Primitive:
    """A function with autograd-style rules, per argument position."""

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.vjpmakers, self.jvps = {}, {}
        self._built = {}      # {number of positional arguments: the custom_vjp/custom_jvp}

    def __call__(self, *args, **kwargs):
        if kwargs:            # by position, so that every argument has its rule's index
            bound = inspect.signature(self.fun).bind(*args, **kwargs)
            bound.apply_defaults()
            args = bound.args
        n = len(args)
        if n not in self._built:
            self._built[n] = self._build(n)
        return self._built[n](*args)

    def _build(self, n):
        fun = self.fun
        if self.vjpmakers:
            ruled = sorted(i for i in self.vjpmakers if i < n)
            wrapped = custom_vjp(fun, nondiff_argnums=tuple(i for i in range(n) if i not in ruled))

            def fwd(*args):
                ans = fun(*args)
                return ans, (ans, args)

            def bwd(*nondiff_and_residuals):
                (ans, args), g = nondiff_and_residuals[-2:]
                return tuple(self.vjpmakers[i](ans, *args)(g) for i in ruled)

            wrapped.defvjp(fwd, bwd)
            return wrapped
        ruled = sorted(i for i in self.jvps if i < n)
        wrapped = custom_jvp(fun, nondiff_argnums=tuple(i for i in range(n) if i not in ruled))

        def jvp(*nondiff_primals_tangents):
            primals, tangents = nondiff_primals_tangents[-2:]
            args = list(nondiff_primals_tangents[:-2])
            for i, x in zip(ruled, primals):
                args.insert(i, x)
            ans = fun(*args)
            return ans, sum(self.jvps[i](t, ans, *args) for i, t in zip(ruled, tangents))

        wrapped.defjvp(jvp)
        return wrapped

    def __repr__(self):
        return f"primitive({getattr(self.fun, '__name__', self.fun)!r})"


def primitive(fun):
    """``fun`` as a function whose derivatives come from :func:`defvjp`/:func:`defjvp`."""
    return _Primitive(fun)


def _rules(prim, rules, argnums, kind):
    if not isinstance(prim, _Primitive):
        raise TypeError(f"{kind}: the first argument must come from riesz.extend.primitive, "
                        f"got {prim!r}")
    argnums = range(len(rules)) if argnums is None else argnums
    if len(argnums) != len(rules):
        raise ValueError(f"{kind}: {len(rules)} rules for argnums {list(argnums)}")
    prim._built.clear()
    return {i: r for i, r in zip(argnums, rules) if r is not None}


def defvjp(prim, *vjpmakers, argnums=None):
    """Rules ``vjpmaker(ans, *args) -> (g ↦ cotangent)`` for arguments 0, 1, ... (or
    ``argnums``); None leaves an argument without a rule."""
    prim.vjpmakers.update(_rules(prim, vjpmakers, argnums, "defvjp"))


def defjvp(prim, *jvps, argnums=None):
    """Rules ``jvp(g, ans, *args) -> tangent of the output`` for arguments 0, 1, ... (or
    ``argnums``), used when no VJP is defined (reverse mode then transposes them)."""
    prim.jvps.update(_rules(prim, jvps, argnums, "defjvp"))
