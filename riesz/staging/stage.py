"""Staging a function: ``riesz.trace(f)(*example_args)`` is ``f`` as a :class:`Program`;
``riesz.source`` and ``riesz.graph`` print that program as NumPy code and as a graph.

``f`` runs once on staged values (:class:`~riesz.staging.tracer.StagingTrace`), its
inputs named after ``f``'s parameters, and the recorded program is simplified.
"""
import functools
import inspect
import os
from typing import Any, Callable, Sequence

import numpy as np

from ..core import Tracer, abstract_trace_open
from ..numpy.dispatch import conversions_named
from ..rules import SNAPSHOTS_WHILE_STAGING
from ..tree import tree_flatten, tree_flatten_with_path, tree_unflatten
from .graph import program_dot
from .program import Program
from .simplify import simplify
from .draws import DrawWatch, draw_message
from .tracer import StagingTrace, example_of, user_error, var_of

__all__ = ["trace", "stage", "source", "graph", "check_leaf", "program_name", "static_positions"]


def _key_text(entry):
    """A key path entry as part of a name (``W`` of a dict's "W", ``0`` of a list's first
    entry, ``weight`` of a module's attribute), or None for a key of another kind."""
    key = getattr(entry, "name", getattr(entry, "key", getattr(entry, "idx", None)))
    if isinstance(key, str):
        return str.__str__(key)
    if isinstance(key, int) and not isinstance(key, bool):
        return int.__repr__(key)
    return None


def _arg_names(f, args):
    """(name, whether it is made up from a pytree position) per flattened argument leaf: the
    parameter names of ``f`` (``x``; ``params_0``, ``params_W`` for a tuple's or a dict's
    entries, ``model_layers_0_weight`` along a registered pytree's key path), or ``a0``,
    ``a1``, ... where they cannot be read."""
    try:
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = []
    for i, a in enumerate(args):
        base = params[i] if i < len(params) else f"a{i}"
        paths, tree = tree_flatten_with_path(a)
        if len(paths) == 1 and tree.kind is None:
            names.append((base, False))
            continue
        for k, (path, _) in enumerate(paths):
            texts = [_key_text(entry) for entry in path]
            key = "_".join(texts) if None not in texts else int.__repr__(k)
            names.append((base + "_" + key, True))   # a Python name or not: the printer checks
    return names


def stage(f, args, name=None, fixed=None):
    """Stage ``f(*args)`` into a :class:`Program` (``args`` a tuple of pytrees of examples;
    an example that is itself traced stands for its value; ``fixed``: {position: value}
    of the static arguments ``f`` closes over, watched for random generators)."""
    fixed = fixed or {}
    fname = name or getattr(f, "__name__", None)
    fname = str.__str__(fname) if isinstance(fname, str) else "f"   # no str subclass's methods
    leaves, in_tree = tree_flatten(tuple(args))
    for k, x in enumerate(leaves):
        check_leaf(x, k, f"riesz.trace({fname})")
    names = _arg_names(f, args)
    scope = _user_scope(f)
    staging = StagingTrace()
    staging.draws = DrawWatch(list(scope) + [(f"static argument {i}", v) for i, v in fixed.items()])
    boxed = [staging.new_input(example_of(x), n) for x, (n, _) in zip(leaves, names)]
    invars = [b.variable for b in boxed]   # before the call: x += 1 rebinds an input
    # W1, b1 = params: the user's own names for pytree leaves, found in their frames
    staging.renamable = {id(v) for v, (_, made_up) in zip(invars, names) if made_up}
    # the copies of constant arrays that tape nodes take (their users' arrays in the program)
    outer_copies = SNAPSHOTS_WHILE_STAGING.copies
    SNAPSHOTS_WHILE_STAGING.copies = {}
    try:
        with abstract_trace_open(), conversions_named(), staging.draws.creations():
            out = f(*tree_unflatten(in_tree, boxed))
    finally:
        SNAPSHOTS_WHILE_STAGING.copies = outer_copies
        staging.close()   # a staged value used after this raises EscapedTracerError
    drawn = staging.draws.drawn()
    if drawn is not None:
        raise user_error(draw_message(drawn, f" in {fname}"))
    out_leaves, out_tree = tree_flatten(out)
    outputs = []
    for o in out_leaves:
        var = var_of(o) if isinstance(o, Tracer) else None
        if isinstance(o, Tracer) and (var is None or o is not _bottom(o)):
            raise TypeError(f"{fname}: an output is traced by a transform that "
                            f"was still open when the function returned")
        if callable(o) and not isinstance(o, Tracer):
            # a function returned (vjp's pullback) would close over the staging's values
            raise TypeError(f"{fname}: an output is a function ({type(o).__name__}); a staged "
                            f"program returns arrays. Return the values it computes instead "
                            f"(the cotangents, not vjp's pullback: jit(lambda x, ct: "
                            f"vjp(f, x)[1](ct))), or leave this function unjitted")
        outputs.append(var if var is not None else staging.literal(o))
    _keep_names_at_group_ends(staging.eqns)
    copies = staging.freeze_shared()
    program = Program(fname, invars, outputs, staging.eqns, in_tree, out_tree)
    program.custom_rules = tuple(staging.custom_rules)
    program.arguments = _arguments(f, len(args) + len(fixed), fixed)
    # names for the constants in generated code: the user's names of the arrays frozen
    program.const_hints = {id(copies[id(v)]): n for n, v in reversed(scope)
                           if isinstance(v, np.ndarray) and id(v) in copies}
    return simplify(program)


def _arguments(f, count, fixed):
    """(name, "static", value) or (name, "dynamic", None) for the ``count`` positional
    arguments of the function ``f`` stands for (the one it wraps, for a static argument's
    wrapper); None where its parameters cannot be read."""
    original = f.__wrapped__ if fixed else f
    try:
        params = [p.name for p in inspect.signature(original).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return None
    if len(params) < count:
        return None
    return [(params[i], "static", fixed[i]) if i in fixed else (params[i], "dynamic", None)
            for i in range(count)]


def check_leaf(x, position, who):
    """A TypeError for an argument that is not a NumPy array, a NumPy scalar, a Python number
    or a traced value: a Dask or CuPy array (say) is not staged into a NumPy program."""
    if isinstance(x, (Tracer, np.ndarray, np.generic, bool, int, float, complex)):
        return
    if not isinstance(x, type) and hasattr(x, "shape") and hasattr(x, "dtype"):
        # an array of another library (np.float32 the class has the attributes too)
        raise TypeError(f"{who}: argument leaf {position} is a {type(x).__module__}."
                        f"{type(x).__qualname__}, not a NumPy array: riesz.jit, riesz.trace and "
                        f"riesz.source stage NumPy programs. Call the function eagerly (without "
                        f"jit; riesz.grad and the other transforms work on it)")
    if isinstance(x, (np.random.Generator, np.random.RandomState)):
        raise TypeError(f"{who}: argument leaf {position} is a numpy.random.{type(x).__name__}: "
                        f"the function is staged once, so its draws would be the same numbers "
                        f"in every call. Draw outside and pass the numbers in (a Dropout mask, "
                        f"noise), run the function eagerly (without jit), or train with "
                        f"riesz.nn.fit, which makes a staged step's draws for it")
    raise TypeError(f"{who}: argument leaf {position} is a {type(x).__name__}, which is not an "
                    f"array; pass it in static_argnums (its value is then fixed when staging)")


def _user_scope(f):
    """(name, value) of what the user's function (or the one it wraps) reads from its
    closure and globals, innermost function first."""
    scope = []
    while f is not None:
        code = getattr(f, "__code__", None)
        if code is not None:
            scope.extend((n, f.__globals__[n]) for n in code.co_names if n in f.__globals__)
            scope.extend((n, c.cell_contents) for n, c in zip(code.co_freevars, f.__closure__ or ())
                         if _cell_filled(c))
        f = getattr(f, "__wrapped__", None)
    return scope


def _cell_filled(cell):
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def _keep_names_at_group_ends(eqns):
    """Only the last equation of a group computes what the statement assigns (or the
    cotangent the transposed operation returns): the others are temporaries."""
    for e, after in zip(eqns, eqns[1:] + [None]):
        if after is not None and after.group == e.group:
            e.names = None


def _bottom(x):
    while isinstance(x, Tracer) and not x.abstract:
        x = x.primal
    return x


def static_values(static, args):
    """{position: value} of the static arguments among ``args``; a static argument left out
    of the call takes its default, a constant of the function, and is not among them."""
    return {i % len(args): args[i] for i in static if -len(args) <= i < len(args)}


def trace(f: Callable[..., Any], static_argnums: int | Sequence[int] = ()) -> Callable[..., Any]:
    """``trace(f)(*example_args)`` is ``f`` staged into a :class:`Program`.

    The program stands for ``f`` at every argument of the examples' shapes, dtypes and
    pytree structure; ``static_argnums`` are fixed to the given values (they may steer
    Python control flow). Derivatives stage too: ``trace(grad(f))(x)`` is the backward pass.

    >>> import numpy as np, riesz
    >>> program = riesz.trace(lambda x: np.sin(x) * 2.0)(np.ones(3))
    >>> np.allclose(program(np.zeros(3) + 0.5), np.sin(0.5) * 2.0)
    True
    """
    static = static_positions(static_argnums)

    @functools.wraps(f)
    def staged(*args):
        fixed = static_values(static, args)
        dynamic = tuple(a for i, a in enumerate(args) if i not in fixed)

        def f_dynamic(*dargs):
            it = iter(dargs)
            return f(*[fixed[i] if i in fixed else next(it) for i in range(len(args))])
        functools.update_wrapper(f_dynamic, f)
        f_dynamic.__signature__ = _dynamic_signature(f, fixed)
        return stage(f_dynamic, dynamic, name=program_name(f), fixed=fixed)
    return staged


_RIESZ_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_STAGING_DIR = os.path.dirname(os.path.abspath(__file__))


def program_name(f):
    """The name of ``f`` after the transforms of riesz it is wrapped in: ``grad_loss`` for
    ``grad(loss)``, ``vmap_grad_loss`` for ``vmap(grad(loss))`` (jit adds nothing)."""
    transforms = []
    while getattr(f, "__wrapped__", None) is not None:
        code = getattr(f, "__code__", None)
        if code is not None:   # a wrapper function (vmap's, jit's): functools.wraps copied
            # the transform_name of a Transformed it wraps, so its code tells what it is
            if not code.co_filename.startswith(_RIESZ_DIR):
                break
            if not code.co_filename.startswith(_STAGING_DIR):   # jit adds nothing
                transforms.append(getattr(code, "co_qualname", code.co_name).split(".<locals>")[0])
        elif isinstance(getattr(f, "transform_name", None), str):   # riesz.transforms.Transformed
            transforms.append(f.transform_name)
        else:
            break
        f = f.__wrapped__
    name = getattr(f, "__name__", None)
    return "_".join(transforms + [str.__str__(name) if isinstance(name, str) else "f"])


def static_positions(static_argnums, who="trace"):
    """``static_argnums`` of ``riesz.{who}`` as a tuple of ints. An array there is an example
    written where jax.make_jaxpr's curried form puts none: ``riesz.trace(f, x)`` for
    ``riesz.trace(f)(x)``."""
    static = (static_argnums,) if isinstance(static_argnums, (int, np.integer)) else static_argnums
    if not isinstance(static, (tuple, list, range)) or not all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in static):
        raise TypeError(f"riesz.{who}(f, static_argnums): static_argnums takes argument "
                        f"positions (ints), got a {type(static_argnums).__name__}; the example "
                        f"arguments go in the call of the function riesz.{who} returns, "
                        f"riesz.{who}(f)(x)")
    return tuple(int(i) for i in static)


def _required_parameters(f):
    """The names of ``f``'s positional parameters without a default; ("x",) where its
    signature cannot be read (a ufunc such as np.sin, which takes arguments)."""
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        return ("x",)
    return tuple(p.name for p in params
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)


def _staged_at(f, args, static_argnums, who):
    """``trace(f)(*args)`` for ``riesz.source`` and ``riesz.graph``, which take the examples
    in the same call: ``riesz.source(f)(x)``, as jax.make_jaxpr is called, stages f with no
    arguments, so a call without examples of a function that needs some raises here."""
    needed = _required_parameters(f)
    if not args and needed:
        given = ", ".join(needed)
        raise TypeError(f"riesz.{who}(f) was given no example arguments, and "
                        f"{program_name(f)} takes ({given}): write riesz.{who}(f, {given}) "
                        f"with arrays of the shapes and dtypes to stage for (riesz.{who} takes "
                        f"the examples in the same call; jax.make_jaxpr(f)({given})'s curried "
                        f"form is riesz.trace(f)({given}))")
    return trace(f, static_argnums=static_argnums)(*args)


def _dynamic_signature(f, fixed):
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return None
    params = [p for i, p in enumerate(sig.parameters.values()) if i not in fixed]
    return sig.replace(parameters=params)


def source(f: Callable[..., Any], *args: Any, static_argnums: int | Sequence[int] = ()) -> str:
    """The NumPy source of ``f`` staged at ``args``: ``riesz.source(riesz.grad(f), x)`` is
    the backward pass of ``f`` as a Python function that needs NumPy alone.

    The function is named after the transform (``grad_loss``), takes ``f``'s positional
    arguments (pytrees of tuples, lists and dicts taken apart in its first lines; static
    arguments asserted) and asserts the shapes and dtypes it was staged for. Arrays too
    large to write out become keyword-only arguments named after the user's variables
    where they can be found (``def grad_loss(x, *, W)``). No text from outside riesz
    reaches it raw (:mod:`riesz.staging.text`).
    """
    return _staged_at(f, args, static_argnums, "source").source()


def graph(f: Callable[..., Any], *args: Any, static_argnums: int | Sequence[int] = ()) -> Any:
    """The DOT text of ``f`` staged at ``args`` (:func:`riesz.trace`): for a transform
    of a function, such as ``riesz.grad(f)``, the graph of the derivative's computation."""
    return program_dot(_staged_at(f, args, static_argnums, "graph"))
