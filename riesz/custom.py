"""User-defined derivative rules, with JAX's calling conventions: ``custom_vjp``,
``custom_jvp``, and ``checkpoint`` (a custom VJP that recomputes instead of storing).

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

    @riesz.custom_jvp
    def g(x):
        return np.log1p(np.exp(x))

    @g.defjvp
    def g_jvp(primals, tangents):  # (g(x), ∂g(x)(ẋ))
        (x,), (x_dot,) = primals, tangents
        return g(x), x_dot / (1 + np.exp(-x))

A ``custom_vjp`` function uses its rule in reverse mode and differentiates its
implementation in forward mode (JAX raises there). A ``custom_jvp`` function
uses its rule in forward mode and, in reverse mode, the transpose of the rule's
linear map x ↦ ∂g(x)(ẋ) (the rule is linear in the tangents, as JAX requires).
Rules are written with NumPy operations as usual, so higher derivatives
differentiate through them.
"""
import functools
import inspect
from typing import Any, Callable, Sequence

import numpy as np

from .core import bind_custom_vjp, bind_custom_jvp, check_callable
from .rules.define import shape_of, dtype_of
from .transforms import vjp, _argnums_tuple, _split_args
from .tree import tree_flatten, tree_map, tree_unflatten

__all__ = ["custom_vjp", "custom_jvp", "checkpoint", "remat"]


def _zeros(x):
    return np.zeros(shape_of(x), dtype_of(x))


def _all_inexact(tree):
    """Whether every leaf of ``tree`` is floating-point or complex (differentiable)."""
    return all(np.issubdtype(dtype_of(x), np.inexact) for x in tree_flatten(tree)[0])


def _positions(argnums, nargs, name):
    """``nondiff_argnums`` (``static_argnums``) as non-negative positions among the ``nargs``
    arguments of a call of ``name``: an int or a sequence of them, negative ones counting
    from the end, each naming an argument once."""
    return _argnums_tuple(() if argnums is None else argnums, nargs,
                          f"{name}: nondiff_argnums")[0]


def _argname_positions(f, argnames, name):
    """The positions of the parameters of ``f`` named in ``argnames`` (JAX's
    ``static_argnames``): positional parameters only, as custom rules take their arguments
    by position."""
    names = (argnames,) if isinstance(argnames, str) else tuple(argnames)
    if not names:
        return ()
    params = [p.name for p in inspect.signature(f).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for n in names:
        if n not in params:
            raise ValueError(f"riesz.{name}: static_argnames names {n!r}, which is not a "
                             f"positional parameter of {getattr(f, '__name__', 'f')} "
                             f"({', '.join(params) or 'none'})")
    return tuple(params.index(n) for n in names)


def _none_as_zeros(ct, like_tree, like_leaves):
    """The leaves of the cotangent ``ct`` in the structure ``like_tree`` of its argument
    (whose leaves are ``like_leaves``), a None in ``ct`` standing for zeros of the whole
    subtree at its place (JAX's convention for a backward rule: ``{"w": g_w, "b": None}``);
    None where ``ct`` has another structure."""
    ct_leaves, tree_ct = tree_flatten(ct, is_leaf=lambda v: v is None)
    out, given, like = [], iter(ct_leaves), iter(like_leaves)

    def walk(t, lt):
        if t.kind is None:   # a value, or None for zeros of the subtree lt
            c, sub = next(given), [next(like) for _ in range(lt.num_leaves)]
            out.extend([_zeros(x) for x in sub] if c is None else [c])
            return c is None or lt.kind is None
        return (t.kind is lt.kind and t.aux == lt.aux and len(t.children) == len(lt.children)
                and all([walk(a, b) for a, b in zip(t.children, lt.children)]))
    return out if walk(tree_ct, like_tree) else None


class _FlatCall:
    """One call of a custom-rule function, seen by the engine as a function of the leaves
    of its differentiable arguments returning one leaf or a tuple of leaves."""

    def __init__(self, name, args, nondiff_argnums):
        self.name = name
        self.nargs = len(args)
        self.static = {i: args[i] for i in _positions(nondiff_argnums, len(args), name)}
        self.diff = [a for i, a in enumerate(args) if i not in self.static]
        self.leaves, self.in_tree = tree_flatten(tuple(self.diff))
        self.out_tree = None

    def diff_args(self, leaves):
        return list(tree_unflatten(self.in_tree, leaves))

    def full_args(self, leaves):
        it = iter(self.diff_args(leaves))
        return [self.static[i] if i in self.static else next(it) for i in range(self.nargs)]

    def flat_out(self, out):
        leaves, self.out_tree = tree_flatten(out)
        return self.single_or_tuple(leaves)

    def single_or_tuple(self, leaves):
        return leaves[0] if self.out_tree.num_leaves == 1 and self.out_tree.kind is None \
            else tuple(leaves)

    def out_leaves(self, flat):
        return list(flat) if isinstance(flat, tuple) else [flat]

    def unflatten_out(self, flat):
        return tree_unflatten(self.out_tree, self.out_leaves(flat))

    def cotangent_leaves(self, cts):
        """The leaves of the cotangents ``bwd`` returned, zeros for ``None``."""
        if not isinstance(cts, (tuple, list)) or len(cts) != len(self.diff):
            got = (f"a {type(cts).__name__} of length {len(cts)}"
                   if isinstance(cts, (tuple, list)) else f"a {type(cts).__name__}")
            raise TypeError(f"custom rule of {self.name}: the backward rule must return a tuple "
                            f"of {len(self.diff)} cotangent(s), one per differentiable argument "
                            f"(None for zero), got {got}"
                            + (": for one argument return (ct,)" if len(self.diff) == 1 else ""))
        leaves = []
        for k, (c, a) in enumerate(zip(cts, self.diff)):
            a_leaves, a_tree = tree_flatten(a)
            c_leaves, c_tree = _none_as_zeros(c, a_tree, a_leaves), a_tree
            if c_leaves is None:   # another structure: check_like says where
                c_leaves, c_tree = tree_flatten(c)
            self.check_like(c_leaves, c_tree, a_leaves, a_tree,
                            f"the backward rule's cotangent {k}", f"differentiable argument {k}")
            leaves.extend(c_leaves)
        return leaves

    def check_like(self, leaves, tree, like_leaves, like_tree, what, like_what):
        """A rule's (co)tangent has the structure and shapes of the value it pairs with, and
        is real where that value is (a complex one's imaginary part would be dropped)."""
        if tree != like_tree:
            raise TypeError(f"custom rule of {self.name}: {what} has structure {tree} but "
                            f"{like_what} has structure {like_tree}")
        for x, like in zip(leaves, like_leaves):
            if shape_of(x) != shape_of(like):
                raise ValueError(f"custom rule of {self.name}: {what} has shape {shape_of(x)} "
                                 f"but {like_what} has shape {shape_of(like)}")
            if dtype_of(x).kind == "c" and dtype_of(like).kind != "c":
                raise TypeError(f"custom rule of {self.name}: {what} is complex "
                                f"({dtype_of(x)}) but {like_what} is real ({dtype_of(like)}); "
                                f"its imaginary part would be dropped. Return a real value "
                                f"(np.real(...) where that is the derivative)")

    def output_cotangents(self, g, outs):
        """The engine's output cotangent (one, or a tuple with None for zero) as the
        pytree of the function's output."""
        g = g if isinstance(g, tuple) else (g,)
        return tree_unflatten(self.out_tree,
                              [_zeros(o) if c is None else c for c, o in zip(g, outs)])


class _CustomFunction:
    """What ``custom_vjp`` and ``custom_jvp`` share: the wrapped function, its
    ``nondiff_argnums``, and keyword arguments resolved to positions (as in JAX), so
    ``f(x, n=3)`` and ``f(x, 3)`` are the same call."""

    def __init__(self, fun, nondiff_argnums=()):
        check_callable(fun, f"riesz.{type(self).__name__}",
                       f"@riesz.{type(self).__name__} above def f(x): ..., or "
                       f"riesz.{type(self).__name__}(f)")
        functools.update_wrapper(self, fun, updated=())
        # a functools.partial or a callable object (a Module) has no __name__ of its own
        self.__name__ = getattr(fun, "__name__", type(fun).__name__)
        self.fun = fun
        self.nondiff_argnums = nondiff_argnums
        try:
            self._signature = inspect.signature(fun)
        except (TypeError, ValueError):   # builtins without one take positional arguments
            self._signature = None

    def _flat_call(self, args, kwargs):
        """This call flattened: the :class:`_FlatCall`, the ``nondiff_argnums`` values in
        order, and the function of the flat differentiable leaves."""
        call = _FlatCall(self.__name__, self._positional(args, kwargs), self.nondiff_argnums)

        def fun(*leaves):
            return call.flat_out(self.fun(*call.full_args(leaves)))
        return call, [call.static[i] for i in sorted(call.static)], fun

    def _positional(self, args, kwargs):
        """The call's arguments, all positional, defaults filled in."""
        if self._signature is None:
            if kwargs:
                raise TypeError(f"{self.__name__}: pass the arguments positionally")
            return args
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self.__name__}: {e}") from None
        if bound.kwargs:
            raise TypeError(f"{self.__name__}: a function with custom derivative rules takes "
                            f"positional arguments; keyword-only {sorted(bound.kwargs)} cannot "
                            f"be given a position")
        bound.apply_defaults()   # positional defaults only: keyword-only ones stay the function's
        return bound.args


class custom_vjp(_CustomFunction):
    """Decorator: give ``fun`` a hand-written reverse-mode rule with :meth:`defvjp`."""

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        super().__init__(fun, nondiff_argnums)
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> "custom_vjp":
        """``fwd(*args) -> (out, residuals)`` takes every argument;
        ``bwd(*nondiff_args, residuals, g) -> tuple of cotangents``, one per
        differentiable argument, each of its argument's structure (``None`` for zero, for a
        whole argument or a part of its pytree: ``({"w": g_w, "b": None},)``).
        As in JAX the arguments in ``nondiff_argnums`` come first in ``bwd``, in order."""
        self.fwd, self.bwd = fwd, bwd
        return self

    def __call__(self, *args, **kwargs):
        if self.fwd is None:
            raise TypeError(f"custom_vjp function {self.__name__} has no rule yet: call "
                            f"{self.__name__}.defvjp(fwd, bwd) first")
        call, static, fun = self._flat_call(args, kwargs)

        def fwd(*leaves):
            pair = self.fwd(*call.full_args(leaves))
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise TypeError(f"custom_vjp {self.__name__}: the forward rule must return a pair "
                                f"(output, residuals), got {type(pair).__name__}")
            out, res = pair
            return call.flat_out(out), (res, tree_flatten(out)[0])

        def bwd(res, g):
            res, outs = res
            return call.cotangent_leaves(self.bwd(*static, res, call.output_cotangents(g, outs)))

        return call.unflatten_out(bind_custom_vjp(self.__name__, fun, fwd, bwd, call.leaves))


class custom_jvp(_CustomFunction):
    """Decorator: give ``fun`` a hand-written forward-mode rule with :meth:`defjvp`.

    The rule is ``jvp(primals, tangents) -> (out, tangent_out)`` with ``primals``
    and ``tangents`` tuples of the differentiable arguments (after the
    ``nondiff_argnums`` arguments, which come first: ``jvp(*nondiff, primals,
    tangents)``). Unperturbed arguments get zero tangents.

    Reverse mode transposes the rule's map ẋ ↦ tangent_out, recorded in the one call of the
    rule that also gives the output (``fun`` itself runs only where the rule calls it, as
    in JAX): the rule must be linear in the tangents.
    """

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        super().__init__(fun, nondiff_argnums)
        self.jvp: Callable[..., Any] | None = None

    def defjvp(self, jvp: Callable[..., Any]) -> Callable[..., Any]:
        """Set the rule; returns it, so ``@f.defjvp`` works as a decorator."""
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps: Callable[..., Any] | None) -> None:
        """Set the rule one argument at a time, as JAX's ``defjvps``: ``jvps[i](ẋᵢ, out,
        *primals)`` is the output's tangent for argument i's tangent ẋᵢ (``None``: f does
        not vary with argument i), and the rule is their sum, ∂f(x)(ẋ) = Σᵢ ∂ᵢf(x)(ẋᵢ)."""
        if self.nondiff_argnums:
            raise TypeError(f"custom_jvp {self.__name__}: defjvps cannot be used with "
                            f"nondiff_argnums; write one rule with defjvp")

        def jvp(primals, tangents):
            if len(jvps) != len(primals):
                raise TypeError(f"custom_jvp {self.__name__}: defjvps got {len(jvps)} rule(s) "
                                f"for {len(primals)} argument(s); give one per argument, "
                                f"None where f does not vary with it")
            out = self(*primals)
            parts = [rule(t, out, *primals) for rule, t in zip(jvps, tangents) if rule]
            return out, (tree_map(lambda *ts: functools.reduce(np.add, ts), *parts) if parts
                         else tree_map(_zeros, out))
        self.jvp = jvp

    def __call__(self, *args, **kwargs):
        if self.jvp is None:
            raise TypeError(f"custom_jvp function {self.__name__} has no rule yet: call "
                            f"{self.__name__}.defjvp(jvp) first")
        call, static, fun = self._flat_call(args, kwargs)

        def jvp(primals, tangents):
            tangents = [_zeros(p) if t is None else t for p, t in zip(primals, tangents)]
            pair = self.jvp(*static, tuple(call.diff_args(primals)),
                            tuple(call.diff_args(tangents)))
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise TypeError(f"custom_jvp {self.__name__}: the rule must return a pair "
                                f"(output, output tangent), got {type(pair).__name__}"
                                + (f" of length {len(pair)}" if isinstance(pair, (tuple, list))
                                   else ""))
            out, t_out = pair
            t_leaves, t_tree = tree_flatten(t_out)
            call.check_like(t_leaves, t_tree, *tree_flatten(out), "the rule's output tangent",
                            "the output")
            return call.flat_out(out), call.single_or_tuple(t_leaves)

        def fwd(*leaves):
            # the rule gives the output and its linear map ẋ ↦ jvp(x, ẋ)[1] in one call, in
            # the directions of the floating-point leaves (an integer argument, a count or an
            # index, keeps a zero tangent and gets no cotangent): the map is recorded here
            # for bwd to transpose, and fun does not run (the rule once per call, as JAX's)
            moving = [k for k, x in enumerate(leaves) if _all_inexact(x)]

            def linear(*ts):
                full = [_zeros(x) for x in leaves]
                for k, t in zip(moving, ts):
                    full[k] = t
                out, t_out = jvp(leaves, full)
                return t_out, out
            _, pullback, out = vjp(linear, *[_zeros(leaves[k]) for k in moving], has_aux=True)
            return out, (pullback, moving, len(leaves), call.out_leaves(out))

        def bwd(res, g):
            # ∂f(x)ᵀ g: the transpose of the rule's linear map
            pullback, moving, n, outs = res
            g_flat = tree_flatten(call.output_cotangents(g, outs))[0]
            cts = dict(zip(moving, pullback(call.single_or_tuple(g_flat))))
            return [cts.get(k) for k in range(n)]

        out = bind_custom_jvp(self.__name__, fun, jvp, fwd, bwd, call.leaves)
        return call.unflatten_out(out)


def checkpoint(f: Callable[..., Any], static_argnums: int | Sequence[int] = (), *,
               static_argnames: str | Sequence[str] = (), prevent_cse: bool = True,
               policy: Any = None) -> Callable[..., Any]:
    """``f`` whose reverse mode stores only its inputs and recomputes its intermediates.

    A backward pass through ``checkpoint(f)`` reruns ``f`` on the stored inputs,
    records it, and pulls the cotangent back through that record, which is freed
    right after: peak memory holds one checkpointed segment's intermediates instead
    of all of them, for one extra forward pass. The derivatives are the same as
    ``f``'s. Arguments listed in ``static_argnums`` (or named in ``static_argnames``,
    positional parameters passed by position or keyword) are not differentiated (for
    flags, sizes and other values that steer the computation); integer and boolean
    arguments get no cotangent either way. Forward mode is unaffected.

    Values being differentiated must be arguments, not closures: for a layer's
    parameters write ``checkpoint(lambda layer, h: layer(h))(layer, h)`` (a module is a
    pytree argument); a closure over them raises a TypeError saying so.

    JAX's ``prevent_cse`` and ``policy`` are taken and change nothing: riesz merges no
    recomputation away, and it saves the inputs alone (JAX's ``nothing_saveable``), the
    least memory any policy gives; the derivatives are the same under every policy.
    """
    check_callable(f, "riesz.checkpoint", "riesz.checkpoint(f)(x), not riesz.checkpoint(f(x))")
    nondiff = ((static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)) \
        + _argname_positions(f, static_argnames, "checkpoint")

    def fwd(*args):
        return f(*args), args

    def bwd(*static_and_residuals):
        args, g = static_and_residuals[-2:]   # the static arguments are also in args
        static = _positions(nondiff, len(args), "checkpoint")
        diff = tuple(i for i, a in enumerate(args)
                     if i not in static and _all_inexact(a))
        cts = {}
        if diff:
            f_of_diff, diff_args, _, _, _ = _split_args(f, args, {}, diff, "checkpoint")
            cts = dict(zip(diff, vjp(f_of_diff, *diff_args)[1](g)))
        return tuple(cts.get(i) for i in range(len(args)) if i not in static)

    wrapped = custom_vjp(f, nondiff_argnums=nondiff)
    wrapped.defvjp(fwd, bwd)
    return wrapped


remat = checkpoint
