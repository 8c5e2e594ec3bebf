"""``riesz.jit``: stage a function once per input signature, run the generated NumPy code.

The signature is what a staged program is valid for: the pytree structure of the
arguments, each leaf's shape and dtype (a Python scalar by its type), and the
values of the static arguments. A new signature stages again; a cached one runs the
compiled source of its :class:`~riesz.staging.program.Program` (simplified, with buffers
reused where that is safe) without tracing.

Where a program's zero-safe products (``scale``: 0 × ∞ = 0, each with a finiteness
check) outweigh one NaN test of its results, the compiled function runs a version with
plain products first and the zero-safe one only when that test fails; the result is the
same (:func:`riesz.staging.source.nan_checked_outputs` gives the proof). ``riesz.source`` shows
the zero-safe version.

It composes with the transforms in both orders. ``jit(grad(f))`` stages the whole
backward pass. ``grad(jit(f))`` calls the jitted function on traced values; then
the program's equations are applied with ``bind``, so the transform sees every
primitive and differentiates it with the same rule table.
"""
import functools
import inspect
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from ..core import NoRuleError, Tracer
from ..tree import tree_flatten, tree_unflatten
from .fusion import fused
from .stage import trace
from .tracer import ConcretizationError

__all__ = ["jit"]


def _leaf_signature(x, argnum):
    if type(x) is np.ndarray:   # the common leaf, first
        return (x.shape, x.dtype)
    if isinstance(x, (Tracer, np.ndarray, np.generic)):
        return (tuple(x.shape), np.dtype(x.dtype))
    if type(x) in (float, int, complex, bool):
        return (type(x).__name__,)
    raise TypeError(f"riesz.jit: argument {argnum} holds a {type(x).__name__}, which is not an "
                    f"array; pass it in static_argnums (its value is then fixed when staging)")


def _static_key(fixed):
    key = tuple(sorted(fixed.items()))
    try:
        hash(key)
    except TypeError:
        raise TypeError(f"riesz.jit: static argument(s) {sorted(fixed)} must be hashable: "
                        f"a static argument is part of the cache key (use a tuple instead of "
                        f"a list, or pass arrays as ordinary arguments)") from None
    return key


_EAGER = "eager"   # the cache entry of a signature whose function cannot be staged


def _stage_or_eager(staged, args):
    """The program for ``args``; or, where a rule of the library (not the user's code)
    needs concrete values, a warning and eager execution for this signature."""
    try:
        return staged(*args)
    except (ConcretizationError, NoRuleError) as error:
        # a NoRuleError: a rule applies a NumPy function to its primal values, which riesz
        # has no implementation for on traced values (eagerly they are concrete)
        if not getattr(error, "in_library", True):
            raise
        warnings.warn(f"riesz.jit runs {getattr(staged, '__name__', 'f')} eagerly for this "
                      f"signature: {error}", RuntimeWarning, stacklevel=3)
        return _EAGER


def _positional(f):
    """``(to_positional(args, kwargs) -> args, position_of(name) -> int)`` for ``f``'s
    signature: keyword arguments are passed on by position (a program's inputs are
    positional), with the defaults of those left out filled in."""
    try:
        parameters = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):   # no signature to read: keywords are refused below
        parameters = None
    fname = getattr(f, "__name__", "f")

    def to_positional(args, kwargs):
        if parameters is None or any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY)
                                     for p in parameters):
            raise TypeError(f"riesz.jit({fname}): pass arguments positionally (got keyword(s) "
                            f"{sorted(kwargs)}); keywords work for a function whose "
                            f"parameters can all be given by position")
        bound = inspect.Signature(parameters).bind(*args, **kwargs)
        bound.apply_defaults()
        return bound.args

    def position_of(name):
        names = [p.name for p in parameters or ()]
        if name not in names:
            raise ValueError(f"riesz.jit({fname}): static_argnames names {name!r}, which is "
                             f"not a parameter of {fname} ({', '.join(names) or 'unknown'})")
        return names.index(name)
    return to_positional, position_of


def jit(f: Callable[..., Any], static_argnums: int | Sequence[int] = (), fuse: str | None = None,
        static_argnames: str | Sequence[str] = ()) -> Callable[..., Any]:
    """``f``, staged once per input signature and run as generated NumPy code.

    ``static_argnums`` (or ``static_argnames``, by parameter name) names arguments whose
    values steer Python control flow (or are not arrays): each value gets its own
    program. Python control flow on the other arguments' values raises
    :class:`riesz.ConcretizationError` naming the line. Arguments may be passed by
    keyword; they are passed on by position.
    ``fuse="numexpr"`` runs chains of elementwise operations as numexpr kernels
    (:mod:`riesz.fusion`; needs numexpr installed).

    >>> import numpy as np, riesz
    >>> f = riesz.jit(riesz.grad(lambda x: np.sum(np.sin(x))))
    >>> np.allclose(f(np.zeros(3)), 1.0)
    True
    """
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    to_positional, position_of = _positional(f)
    names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
    static = tuple(sorted(set(static) | {position_of(name) for name in names}))
    staged = trace(f, static_argnums=static)
    if fuse is not None:
        staged = fused(staged, fuse)
    cache = {}
    arrays_only = {}   # (shape, dtype) per argument -> program, for calls with plain arrays only
    last = [None]   # (tree, signature, program) of the last call, replaced whole

    @functools.wraps(f)
    def jitted(*args, **kwargs):
        # the common call, every argument a plain array: its signature without flattening
        quick = None if static or kwargs or not all(type(a) is np.ndarray for a in args) else \
            tuple((a.shape, a.dtype) for a in args)
        known = arrays_only.get(quick) if quick is not None else None
        if known is not None:
            run, out_tree, single = known
            out = run(*args)
            if out_tree.kind is None:
                return out
            return tree_unflatten(out_tree, [out] if single else list(out))
        if kwargs:
            args = to_positional(args, kwargs)
        program, leaves = program_and_leaves(args)
        if program is _EAGER:
            return f(*args)
        if quick is not None:
            arrays_only[quick] = (program.compiled(), program.out_tree, len(program.outputs) == 1)
        if any(isinstance(x, Tracer) for x in leaves):
            return tree_unflatten(program.out_tree, program.bind_eval(leaves))
        out = program.compiled()(*leaves)
        return tree_unflatten(program.out_tree, [out] if len(program.outputs) == 1 else list(out))

    def program_and_leaves(args):
        """The program for ``args``' signature (staged on first sight) and their leaves."""
        fixed = {i % len(args): args[i] for i in static} if static else {}
        leaves, tree = tree_flatten(tuple(a for i, a in enumerate(args) if i not in fixed)
                                    if fixed else args)
        signature = tuple(_leaf_signature(x, i) for i, x in enumerate(leaves))
        memo = last[0]   # one read: another thread may replace it meanwhile
        if not fixed and memo is not None and memo[1] == signature and memo[0] == tree:
            return memo[2], leaves   # the signature of the last call: no hashing of the tree
        key = (tree, signature, _static_key(fixed) if fixed else ())
        program = cache.get(key)
        if program is None:
            program = cache[key] = _stage_or_eager(staged, args)
        if not fixed:
            last[0] = (tree, signature, program)
        return program, leaves

    def lower(*args):
        """The :class:`~riesz.staging.program.Program` that runs for arguments like ``args`` (staged
        now if it is new), or None where ``f`` runs eagerly for them. Its ``compiled()``
        function takes the flattened non-static arguments and returns the flattened
        results: a loop can keep its state as leaves between calls and skip the pytree
        conversions (``nn.fit`` does)."""
        program = program_and_leaves(args)[0]
        return None if program is _EAGER else program

    jitted.programs = cache   # signature -> Program, for inspection
    jitted.lower = lower
    return jitted
