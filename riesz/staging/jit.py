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
import collections
import functools
import inspect
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from ..core import NoRuleError, Tracer
from ..tree import register_pytree_node, tree_flatten, tree_leaves, tree_unflatten
from .fusion import fused
from .stage import check_leaf, static_positions, static_values, trace
from .tape import typed
from .tracer import ConcretizationError

__all__ = ["jit"]


def _leaf_signature(x, argnum):
    if type(x) is np.ndarray:   # the common leaf, first
        return (x.shape, x.dtype)
    if isinstance(x, (Tracer, np.ndarray, np.generic)):
        return (tuple(x.shape), np.dtype(x.dtype))
    for kind in (bool, int, float, complex):   # a Python number (an IntEnum: an int) by its type
        if isinstance(x, kind):
            return (kind.__name__,)
    check_leaf(x, argnum, "riesz.jit")


def _typed(value):
    """A static value with its type, through tuples: ``1``, ``1.0`` and ``True``
    are equal in Python but stage different programs; floats by their bits, as
    :func:`~riesz.staging.tape.typed` keys them (``0.0 == -0.0``, but ``1 / s`` is ∞ or −∞;
    a NaN, unequal to itself, would stage again at every call)."""
    if type(value) is tuple:
        return (tuple, tuple(_typed(v) for v in value))
    if type(value) in (float, complex) or isinstance(value, (np.floating, np.complexfloating)):
        return typed(value)
    return (type(value), value)


def _static_key(fixed):
    key = tuple(sorted((i, _typed(v)) for i, v in fixed.items()))
    try:
        hash(key)
    except TypeError:
        raise TypeError(f"riesz.jit: static argument(s) {sorted(fixed)} must be hashable: "
                        f"a static argument is part of the cache key (use a tuple instead of "
                        f"a list, or pass arrays as ordinary arguments)") from None
    for i, value in fixed.items():
        # hashable, but by identity, with arrays inside (an nn.Module): the program would
        # keep the arrays' values of the first call, and miss a change made in place
        if any(isinstance(leaf, (np.ndarray, Tracer)) for leaf in tree_leaves(value)):
            raise TypeError(f"riesz.jit: static argument {i} is a {type(value).__name__} "
                            f"holding arrays, whose values would be frozen into the program "
                            f"(a change to them in place would not be seen): pass it as an "
                            f"ordinary argument, and its arrays become the program's inputs")
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


class _Default:
    """A keyword-only parameter that the call left out: the function's own default applies,
    a constant of the program as in an eager call (a pytree with no leaves, so never a
    staged input)."""
    __slots__ = ()

    def __repr__(self):
        return "<the default>"


_DEFAULT = _Default()
register_pytree_node(_Default, lambda d: ((), None), lambda aux, children: _DEFAULT)


def _positional(f):
    """``(g, to_positional(args, kwargs) -> args, position_of(name) -> int)`` for ``f``'s
    signature: keyword arguments are passed on by position (a program's inputs are
    positional), with the defaults of those left out filled in. ``g`` is ``f`` taking its
    keyword-only parameters (``def loss(w, *, reg=0.1)``) by position too, after the others
    (``f`` itself where it has none)."""
    try:
        parameters = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):   # no signature to read: keywords are refused below
        parameters = None
    fname = getattr(f, "__name__", "f")
    variadic = parameters is None or any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                                         for p in parameters)
    keyword_only = [] if variadic else [p.name for p in parameters if p.kind is p.KEYWORD_ONLY]
    count = len(parameters or ()) - len(keyword_only)

    def to_positional(args, kwargs):
        if variadic:
            raise TypeError(f"riesz.jit({fname}): pass arguments positionally (got keyword(s) "
                            f"{sorted(kwargs)}); keywords work for a function without *args "
                            f"and **kwargs")
        try:
            bound = inspect.Signature(parameters).bind(*args, **kwargs)
        except TypeError as e:   # Python's words for a call that f refuses as well
            raise TypeError(f"riesz.jit({fname}): {e}") from None
        bound.apply_defaults()
        return bound.args + tuple(kwargs.get(name, _DEFAULT) for name in keyword_only)

    def position_of(name):
        names = [p.name for p in parameters or ()]
        if name not in names:
            raise ValueError(f"riesz.jit({fname}): static_argnames names {name!r}, which is "
                             f"not a parameter of {fname} ({', '.join(names) or 'unknown'})")
        return count + keyword_only.index(name) if name in keyword_only else names.index(name)

    if not keyword_only:
        return f, to_positional, position_of

    def by_position(*args):
        return f(*args[:count], **{name: value for name, value in zip(keyword_only, args[count:])
                                   if value is not _DEFAULT})
    functools.update_wrapper(by_position, f)
    # the parameters in that order, as the program's arguments are named (no defaults:
    # to_positional fills them in)
    by_position.__signature__ = inspect.Signature(
        [p.replace(kind=p.POSITIONAL_OR_KEYWORD, default=p.empty) for p in parameters
         if p.kind is not p.KEYWORD_ONLY] +
        [p.replace(kind=p.POSITIONAL_OR_KEYWORD, default=p.empty) for p in parameters
         if p.kind is p.KEYWORD_ONLY])
    return by_position, to_positional, position_of


def jit(f: Callable[..., Any], static_argnums: int | Sequence[int] = (), fuse: str | None = None,
        static_argnames: str | Sequence[str] = (), cache_size: int = 64, *,
        donate_argnums: Any = (), donate_argnames: Any = ()) -> Callable[..., Any]:
    """``f``, staged once per input signature and run as generated NumPy code.

    A staged program depends only on its signature: the pytree structure of the
    arguments, each array's shape and dtype, each Python number's type, and the static
    arguments by type and value. Nothing else about the example values is kept:

    * ``static_argnums`` (or ``static_argnames``, by parameter name) names arguments
      whose values steer Python control flow (or are not arrays); each value gets its
      own program (``1``, ``1.0`` and ``True`` each their own). A static argument must be
      hashable and hold no arrays (an ``nn.Module`` is passed as an ordinary argument).
    * Where the function needs a value the signature does not hold (``if x > 0``,
      ``int(x)``, a slice bound ``x[:n]``, the size of ``np.nonzero``/``np.unique``'s
      result, ``f"{x:.3f}"``; a plain ``f"{x}"`` shows the staged type), it raises
      :class:`riesz.ConcretizationError` naming the line and the fixes (a static
      argument, ``np.where``, running eagerly). A Python number argument
      is staged by its type, as a 0-d value. Where one of riesz's own rules needs
      values, the function runs eagerly for that signature, with a warning.
    * A random draw while staging (``np.random.normal``, a ``Generator``'s method) raises:
      draw outside and pass the numbers in.
    * Arrays the function closes over (or reads as globals), and everything computed
      from them, are **frozen when staging**: the program holds a copy, so a later change
      to the array does not reach it (JAX's convention). Pass an array that changes as an
      argument.
    * Outputs are new arrays: they never share memory with each other, with a constant of
      the program, or with an input unless ``f`` itself returns the input (or a view).
      ``x += 1`` on an argument updates the staged value, never the caller's array.
      JAX's ``donate_argnums``/``donate_argnames`` (an input's memory may be reused) are
      taken and change nothing.

    * A transform applied to the jitted function (``grad(jit(f))``) differentiates the
      program's equations, unless ``f`` holds a ``custom_vjp``/``custom_jvp`` (staged as its
      primal operations): then ``f`` runs under the transform, whose rules it sees.

    ``cache_size`` bounds the programs kept per function (least recently used first out,
    with a warning when one is dropped: a function that keeps meeting new shapes or
    static values stages again and again); ``jitted.clear_cache()`` drops them all.
    Arguments may be passed by keyword, keyword-only parameters included (``def loss(w,
    *, reg=0.1)``; ``static_argnames`` may name them); they are passed on by position.
    ``fuse="numexpr"`` runs chains of elementwise operations as numexpr kernels
    (:mod:`riesz.staging.fusion`; needs numexpr installed).

    >>> import numpy as np, riesz
    >>> f = riesz.jit(riesz.grad(lambda x: np.sum(np.sin(x))))
    >>> np.allclose(f(np.zeros(3)), 1.0)
    True
    """
    static = static_positions(static_argnums, "jit")
    positional_f, to_positional, position_of = _positional(f)
    names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
    static = tuple(sorted(set(static) | {position_of(name) for name in names}))
    staged = trace(positional_f, static_argnums=static)
    if fuse is not None:
        staged = fused(staged, fuse)
    cache = collections.OrderedDict()   # signature -> program, least recently used first
    arrays_only = {}   # (shape, dtype) per argument -> program, for calls with plain arrays only
    last = [None]   # (tree, signature, program) of the last call, replaced whole
    warned = []

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
            return positional_f(*args)
        if quick is not None:
            arrays_only[quick] = (program.compiled(), program.out_tree, len(program.outputs) == 1)
        if any(isinstance(x, Tracer) for x in leaves):
            if program.custom_rules:   # a transform around jit must see f's custom rules
                return positional_f(*args)
            return tree_unflatten(program.out_tree, program.bind_eval(leaves))
        out = program.compiled()(*leaves)
        return tree_unflatten(program.out_tree, [out] if len(program.outputs) == 1 else list(out))

    def program_and_leaves(args):
        """The program for ``args``' signature (staged on first sight) and their leaves."""
        fixed = static_values(static, args) if static else {}
        leaves, tree = tree_flatten(tuple(a for i, a in enumerate(args) if i not in fixed)
                                    if fixed else args)
        signature = tuple(_leaf_signature(x, i) for i, x in enumerate(leaves))
        memo = last[0]   # one read: another thread may replace it meanwhile
        if not fixed and memo is not None and memo[1] == signature and memo[0] == tree:
            return memo[2], leaves   # the signature of the last call: no hashing of the tree
        key = (tree, signature, _static_key(fixed) if fixed else ())
        program = cache.get(key)
        if program is None:
            program = _stage_or_eager(staged, args)
            if len(cache) >= cache_size:
                drop_oldest()
            cache[key] = program
        else:
            cache.move_to_end(key)
        if not fixed:
            last[0] = (tree, signature, program)
        return program, leaves

    def drop_oldest():
        cache.popitem(last=False)
        arrays_only.clear()   # refilled by the next calls, from the programs still cached
        last[0] = None
        if not warned:
            warned.append(True)
            warnings.warn(f"riesz.jit({getattr(f, '__name__', 'f')}) has staged more than "
                          f"{cache_size} programs, one per signature (argument shapes, dtypes, "
                          f"Python number types, static values), and drops the least recently "
                          f"used: it is staged again and again. Pass arrays of fewer shapes, "
                          f"fewer static values, or a larger cache_size", RuntimeWarning,
                          stacklevel=4)

    def clear_cache():
        """Drop every staged program of this function (the next calls stage again)."""
        cache.clear()
        arrays_only.clear()
        last[0] = None

    def lower(*args):
        """The :class:`~riesz.staging.program.Program` that runs for arguments like ``args``
        (staged now if it is new), or None where ``f`` runs eagerly for them. Its
        ``compiled()`` function takes the flattened non-static arguments and returns the
        flattened results: a loop can keep its state as leaves between calls and skip the
        pytree conversions (``nn.fit`` does)."""
        program = program_and_leaves(args)[0]
        return None if program is _EAGER else program

    jitted.programs = cache   # signature -> Program, for inspection
    jitted.lower = lower
    jitted.clear_cache = clear_cache
    return jitted
