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

As in autograd a primitive is a black box at every order: ``fun`` runs on plain values
only (it may call ``float()``), and higher derivatives come from differentiating the rules,
which must therefore be written with NumPy functions riesz differentiates. Forward mode
uses the JVP rules, or the transposes of the (linear) VJP rules where only those are given.

Staged (``riesz.jit``, :func:`riesz.misc.const_graph`), a primitive called on staged arrays
is one step of the program, ``riesz.extend.call(x, primitive=p)``: ``fun`` runs on the
arguments' values each time the program runs, never on staged values, and returns one
array; transforms applied to the program use the rules (an argument without a rule has no
derivative there). A primitive whose staged values come inside a list or dict is staged
through ``fun``'s operations instead.
"""
import functools
import inspect
from typing import Any

import numpy as np

from .core import JVPTracer, Primitive, Tracer, VJPTracer
from .custom import custom_jvp, custom_vjp
from .rules.define import register_import_path
from .transforms import vjp
from .tree import tree_leaves

__all__ = ["primitive", "defvjp", "defjvp", "call"]


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
        """The custom_vjp (or custom_jvp) of ``fun`` with ``n`` arguments. Its primal is this
        primitive called again one level down, so that every level of nesting records the
        primitive as one step and never runs ``fun`` on traced values (as in autograd):
        higher derivatives come from differentiating the rules, and ``fun`` may call float()."""
        ruled = sorted(i for i in (self.vjpmakers or self.jvps) if i < n)
        nondiff = tuple(i for i in range(n) if i not in ruled)

        # staged: one step of the program, which calls fun on values when it runs
        step = Primitive(getattr(self.fun, "__name__", "primitive"), call,
                         jvps=[functools.partial(_step_rule, "_tangent", i) if i in ruled
                               else None for i in range(n)],
                         vjps=[functools.partial(_step_rule, "_cotangent", i) if i in ruled
                               else None for i in range(n)])

        @functools.wraps(self.fun)
        def lowered(*args):
            # one level down while only ruled arguments are differentiated; fun itself on
            # plain values, on values being batched, or when an argument without a rule is
            # differentiated (its derivative is fun's)
            differentiated = {i for i, a in enumerate(args)
                              if any(isinstance(x, (JVPTracer, VJPTracer)) for x in tree_leaves(a))}
            if differentiated and differentiated <= set(ruled):
                return self(*args)
            if not differentiated and any(isinstance(a, Tracer) and a.abstract for a in args):
                return step(*args, primitive=self)
            return self.fun(*args)

        # forward mode: the JVP rules, or where only VJP rules are given their transposes
        inner = custom_jvp(lowered, nondiff_argnums=nondiff)
        inner.defjvp(lambda *a: self._jvp(ruled, *a))
        if not self.vjpmakers:
            return inner
        wrapped = custom_vjp(inner, nondiff_argnums=nondiff)

        def fwd(*args):
            ans = self(*args)
            return ans, (ans, args)

        def bwd(*nondiff_and_residuals):
            (ans, args), g = nondiff_and_residuals[-2:]
            return tuple(self._cotangent(i, g, ans, args) for i in ruled)

        wrapped.defvjp(fwd, bwd)
        return wrapped

    def _jvp(self, ruled, *nondiff_primals_tangents):
        primals, tangents = nondiff_primals_tangents[-2:]
        args = list(nondiff_primals_tangents[:-2])
        for i, x in zip(ruled, primals):
            args.insert(i, x)
        ans = self(*args)
        return ans, sum(self._tangent(i, t, ans, args) for i, t in zip(ruled, tangents))

    def _tangent(self, i, t, ans, args):
        """Argument i's part of the output's tangent: its JVP rule, or the transpose of its
        (linear) VJP rule g ↦ vjpᵢ(ans, *args)(g)."""
        if i in self.jvps:
            return self.jvps[i](t, ans, *args)
        return vjp(self.vjpmakers[i](ans, *args), np.zeros_like(ans))[1](t)[0]

    def _cotangent(self, i, g, ans, args):
        """Argument i's cotangent: its VJP rule, or the transpose of its (linear) JVP rule
        t ↦ jvpᵢ(t, ans, *args)."""
        if i in self.vjpmakers:
            return self.vjpmakers[i](ans, *args)(g)
        return vjp(lambda t: self.jvps[i](t, ans, *args), np.zeros_like(args[i]))[1](g)[0]

    def __repr__(self):
        return f"primitive({getattr(self.fun, '__name__', self.fun)!r})"


def call(*args: Any, primitive: "_Primitive") -> Any:
    """``primitive``'s function of ``args``, as a step of a staged program runs it (the
    primitive is a constant of the program). Its result must be one array."""
    out = primitive.fun(*args)
    if isinstance(out, (tuple, list, dict)):
        raise TypeError(f"{primitive!r} returned a {type(out).__name__}; staged (riesz.jit, "
                        f"riesz.misc.const_graph) a primitive is one step of the program and "
                        f"returns one array: return each part from a primitive of its own, or "
                        f"write the function with riesz.custom_vjp")
    return out


register_import_path(call, __name__)


def _step_rule(kind, i, t_or_g, ans, *args, primitive):
    # a staged step's rule for argument i: the primitive's own (_tangent or _cotangent)
    return getattr(primitive, kind)(i, t_or_g, ans, args)


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
