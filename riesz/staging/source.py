"""A staged program as NumPy source a person can read, run and step through.

``riesz.source(riesz.grad(f), *args)`` prints the backward pass of ``f`` as a
Python function: one line per operation (:mod:`riesz.staging.printing`), variables
named after the user's own (``y`` for ``y = W @ x``, and ``dy`` for its cotangent),
and a comment tying each block to the user's line (``# backward of mlp.py:7: z =
np.tanh(y)``). It needs NumPy alone.

Allocation reuse: an elementwise operation writes into an input buffer that dies
there, when the program owns it (a fresh result of an earlier elementwise
operation that nothing else views): ``dW += t`` accumulates a cotangent in place,
and the scatter that transposes a pick adds into its reader's buffer
(``dlogits[np.arange(n), y] -= 1 / n``).

Running it (:func:`compile_program`): where it pays, a version with plain products
in place of the zero-safe ones runs first, and the zero-safe code only if that
version's result holds a NaN (:func:`nan_checked_outputs` proves the two agree
otherwise).
"""
import unicodedata

import numpy as np

from ..rules.define import NAN_PROPAGATING, all_finite
from ..rules.elementwise import multiply
from .ir import Eqn, InputRef, Literal, Var, arity, resolve
from .printing import (INFIX, Code, Context, Namer, dtype_source, expression, index_source,
                       preferred_name)
from .text import comment_text, docstring, python_name
from .simplify import simplify

__all__ = ["program_source", "compile_program", "nan_checked_outputs", "Generated"]

# elementwise results with at least this many elements reuse a dying input's buffer (out=);
# below it, NumPy's keyword handling costs more than the allocation saves
OUT_MIN_SIZE = 4096
_AUGMENTED = {"add", "subtract", "multiply", "divide"}


# ---------------------------------------------------------------- the module

class Generated:
    """Generated source: ``text``, the function's ``name`` and the ``constants`` it takes
    as keyword arguments (arrays too large to write out)."""

    def __init__(self, text, name, constants):
        self.text, self.name, self.constants = text, name, constants


def program_source(program, name=None, inplace=True, reserved=frozenset(), checks=False):
    """Generate the module for ``program``: ``import numpy as np`` and one function.
    ``reserved``: names the function's variables must not take (its helpers' names);
    ``checks``: the function asserts the shapes and dtypes it was staged for (the source
    a person copies; ``riesz.jit`` picks the program by them already)."""
    ctx = Context(program.const_hints)
    ctx.used |= set(reserved)
    fname = ctx.fresh(name or _identifier(program.name))
    arguments = _printable_arguments(program) if checks else None
    if arguments is not None:   # the original parameters: no leaf may take their names
        trees = iter(program.in_tree.children)
        ctx.used |= {a for a, kind, _ in arguments
                     if kind == "dynamic" and next(trees).kind is not None}
    namer = Namer(program, ctx)
    params = [namer.bind(v, v.hint or f"a{i}", -1) for i, v in enumerate(program.invars)]
    body = []
    owned = set()          # ids of Vars whose buffer the program may overwrite
    viewed = _viewed(program)
    consumers = _consumers(program)
    inlined = {}           # id(Var) -> its expression, written into its one consumer
    scattered = {}         # id(Var) -> (scatter_add equation, its arguments), not yet written
    where_key = None
    errstate = None        # the floating-point error handling set around the lines now
    for i, e in enumerate(program.eqns):
        if e.errstate != errstate:
            errstate = e.errstate
            body.append(_Errstate(errstate))
        if e.where is not None and e.where.key() != where_key:
            body.append(comment_text(e.where.comment()))
            where_key = e.where.key()
        elif e.where is None and where_key is not None:
            where_key = None
        args = [ctx.literal(_weak_literal(e, x)) if isinstance(x, Literal)
                else "" if id(x) in scattered   # written below, with its reader
                else inlined.get(id(x)) or namer.names[id(x)] for x in e.inputs]
        args = [f"({a})" if a.startswith("-") else a for a in args]
        if inplace and _scatter_into_sum(e, program, consumers) and \
                not any(id(x) in inlined for x in e.inputs):   # a view's base may die sooner
            scattered[id(e.outputs[0])] = (e, args)   # written as t[idx] += g by its reader
            reader = consumers[id(e.outputs[0])][0]
            for x in e.inputs:
                if isinstance(x, Var):
                    namer.last[id(x)] = max(namer.last.get(id(x), -1), reader)
            continue
        pending = next((scattered.pop(id(x)) for x in e.inputs if id(x) in scattered), None)
        if pending is not None:
            line = _scatter_add_line(e, pending, namer, owned, viewed, i)
            if line is not None:
                body.extend(line)
                continue
            s_eqn, s_args = pending   # its buffer is not the program's to write: as it was
            s_name = namer.bind(s_eqn.outputs[0], None, i - 1)
            body.append(f"{s_name} = {expression(s_eqn, s_args, ctx)}")
            args = [namer.names[id(x)] if id(x) == id(s_eqn.outputs[0]) else a
                    for x, a in zip(e.inputs, args)]
        view = _inline_view(e, args, ctx, consumers, program.outputs)
        if view is not None:   # written where it is used: x[None, :] @ ..., W.T @ ...
            inlined[id(e.outputs[0])] = view
            x = e.inputs[0]
            namer.last[id(x)] = max(namer.last.get(id(x), -1), max(consumers[id(e.outputs[0])]))
            continue
        reuse = _reusable_input(e, i, namer, owned, viewed) if inplace else None
        if e.prim.multiple_results:
            outs = [namer.bind(v, None, i) for v in e.outputs]
            body.append(f"{', '.join(outs)}, = {expression(e, args, ctx)}")
            continue
        out = e.outputs[0]
        preferred = preferred_name(e, namer.names)
        if reuse is not None:
            text = _inplace_line(e, args, reuse, namer, preferred, i)
            if text is not None:
                body.append(text)
                owned.add(id(out))
                continue
        lhs = namer.bind(out, preferred, i)
        body.append(f"{lhs} = {expression(e, args, ctx)}")
        if _fresh_result(e):
            owned.add(id(out))
    body.append(_Errstate(None))
    results = _results(program, ctx, namer, owned)
    returned = _rebuilt(program.out_tree, iter(results), ctx) if arguments is not None else None
    # the leaves as a tuple (none: an empty one, which the caller's unflatten takes apart)
    body.append("return " + (returned or (results[0] if len(results) == 1 else
                                          ", ".join(results) or "()")))
    prelude = []
    if arguments is not None:   # def grad_loss(params, x): W1, b1 = params[0], ...
        prelude = _unpacking(arguments, program.in_tree, params, ctx, fname)
        params = [a for a, _, _ in arguments]
    signature = ", ".join(params)
    if ctx.constants:
        signature += (", *, " if params else "*, ") + ", ".join(ctx.constants)
    lines = ["import numpy as np", *(f"import {m}" for m in sorted(ctx.imports)), ""]
    for h in ctx.helper_defs:
        lines.extend(h.rstrip("\n").split("\n") + ["", ""])
    lines.extend(a for a in ctx.helper_aliases if a != "")
    if ctx.helper_aliases:
        lines.extend(["", ""])
    lines.append(f"def {fname}({signature}):")
    count = len(program.eqns)
    about = f'{program.name}, staged by riesz: {count} operation{"s" * (count != 1)}'
    leaf_names = [namer.names[id(v)] for v in program.invars]
    if checks and leaf_names:
        types = ", ".join(f"{p}: {v.type_str()}" for p, v in zip(leaf_names, program.invars))
        about += f", for {types} (it asserts them: stage it again for others)"
    lines.append("    " + docstring(about + "."))
    lines.extend("    " + line for line in prelude)
    if checks:
        lines.extend("    " + _check_line(p, v, fname) for p, v in zip(leaf_names, program.invars))
    lines.extend("    " + line for line in _with_errstate_blocks(body))
    module_names = set(ctx.helpers.values()) | ctx.defined
    if module_names & set(namer.holder) and not module_names <= set(reserved):
        # a variable took the name of a helper found later: name them apart
        return program_source(program, name, inplace, frozenset(reserved) | module_names, checks)
    return Generated("\n".join(lines) + "\n", fname, ctx.constants)


class _Errstate:
    """In a body's lines: the equations below run under this floating-point error handling
    (``Eqn.errstate``; None: the caller's)."""
    __slots__ = ("state",)

    def __init__(self, state):
        self.state = state


def _with_errstate_blocks(body):
    """The body's lines, those between an :class:`_Errstate` and the next in a
    ``with np.errstate(...):`` block: warnings where eager code warns, and only there. A
    block of comments alone (its equations were written into later lines, as views) stays
    without its ``with``, which would have no statement."""
    out, block, state = [], [], None
    for line in body + [_Errstate(None)]:
        if type(line) is not _Errstate:
            (block if state is not None else out).append(line)
            continue
        if any(not b.startswith("#") for b in block):
            settings = ", ".join(f"{kind}={how!r}" for kind, how in state)
            out.append(f"with np.errstate({settings}):")
            out.extend("    " + b for b in block)
        else:
            out.extend(block)
        block = []
        state = line.state
    return out


_CONTAINERS = (tuple, list, dict, type(None))


def _printable_tree(tree):
    """Whether a pytree structure can be taken apart and built in plain Python (tuples,
    lists, dicts and None; not a registered class, which needs riesz)."""
    return tree.kind is None or (tree.kind in _CONTAINERS and
                                 all(_printable_tree(c) for c in tree.children))


def _printable_arguments(program):
    """The staged function's positional parameters, where the printed function can take
    them as they are (pytrees of tuples, lists and dicts, taken apart in its first lines);
    None where it takes the flattened leaves instead."""
    arguments = program.arguments
    if arguments is None or not _printable_tree(program.in_tree) or \
            not _printable_tree(program.out_tree) or \
            any(python_name(a, None) != a for a, _, _ in arguments):
        return None
    return arguments


def _paths(tree, base, ctx):
    """The expression of each leaf of ``tree`` inside the value named ``base``."""
    if tree.kind is None:
        return [base]
    keys = tree.aux if tree.kind is dict else range(len(tree.children))
    return [path for key, child in zip(keys, tree.children)
            for path in _paths(child, f"{base}[{ctx.literal(key)}]", ctx)]


def _unpacking(arguments, in_tree, leaf_names, ctx, fname):
    """The first lines of the printed function: each leaf taken out of its argument
    (``W1 = params[0][0]``), and each static argument asserted (``assert n == 3``)."""
    lines, trees, leaves = [], iter(in_tree.children), iter(leaf_names)
    for name, kind, value in arguments:
        if kind == "static":
            if _plain_value(value):
                text = ctx.literal(value)
                message = str.__repr__(f"{fname} was staged for {name} == {text}")
                lines.append(f"assert {name} == {text}, {message}")
            else:
                lines.append(f"# {name}: a static argument, fixed when staging")
            continue
        for path in _paths(next(trees), name, ctx):
            leaf = next(leaves)
            if leaf != path:
                lines.append(f"{leaf} = {path}")
    return lines


def _plain_value(value):
    if isinstance(value, (tuple, list)):
        return all(_plain_value(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, complex, str))


def _rebuilt(tree, results, ctx):
    """The returned expression in the structure the function returned."""
    if tree.kind is None:
        return next(results)
    parts = [_rebuilt(c, results, ctx) for c in tree.children]
    if tree.kind is dict:
        return "{" + ", ".join(f"{ctx.literal(k)}: {p}" for k, p in zip(tree.aux, parts)) + "}"
    if tree.kind is list:
        return "[" + ", ".join(parts) + "]"
    if tree.kind is type(None):
        return "None"
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _check_line(param, var, fname):
    """``assert`` that ``param`` has the type it was staged for."""
    if var.scalar_type is not None:
        test = f"isinstance({param}, {var.scalar_type.__name__})"
    else:
        test = f"{param}.shape == {var.shape!r} and {param}.dtype == {dtype_source(var.dtype)}"
    return f'assert {test}, "{fname} was staged for {param}: {var.type_str()}"'


# primitives whose result may be a view of their first input (and of nothing else)
_VIEWS = frozenset({"reshape", "transpose", "broadcast_to", "getitem", "squeeze",
                    "expand_dims", "moveaxis", "swapaxes", "real", "imag", "diagonal", "ravel"})


def _results(program, ctx, namer, owned):
    """The returned expressions: a result that may share memory with anything but a new
    array of this call that no other result shares (an input, a constant of the program,
    another result, or a view of one of these) is copied."""
    root = {}   # id(Var) -> the Var whose memory it may view, for views of the program's
    for e in program.eqns:
        if e.prim.name in _VIEWS and isinstance(e.inputs[0], Var) and arity(e) == len(e.inputs):
            root[id(e.outputs[0])] = root.get(id(e.inputs[0]), e.inputs[0])
    results, returned = [], set()
    for o in program.outputs:
        if isinstance(o, Literal):
            text = ctx.literal(o.value)
            written_out = text.startswith("np.")   # np.array([...]), np.full(...): new arrays
            copy = isinstance(o.value, np.ndarray) and not written_out
        else:
            text = namer.names[id(o)]
            base = root.get(id(o), o)
            # a 0-d value may be a Python number when the code runs: numbers are immutable
            copy = (id(base) in returned or id(base) not in owned) and not o.scalar_type and \
                (o.shape != () or any(o is v for v in program.invars))
            returned.add(id(base))
        results.append(f"{text}.copy()" if copy else text)
    return results


def _weak_literal(e, literal):
    """A NumPy scalar literal as a Python number (``0.5`` for ``np.float64(0.5)``) where
    NumPy's promotion gives the same result dtype with either."""
    v = literal.value
    if not isinstance(v, np.generic) or not isinstance(e.prim.impl, np.ufunc):
        return v
    others = [x.scalar_type(0) if isinstance(x, Var) and x.scalar_type else
              np.empty(0, x.dtype) for x in e.inputs if x is not literal]
    try:
        same = np.result_type(*others, v.item()) == e.outputs[0].dtype
    except TypeError:
        return v
    return v.item() if same else v


def _consumers(program):
    """id(Var) -> indices of the equations that read it."""
    out = {}
    for i, e in enumerate(program.eqns):
        for x in e.inputs:
            if isinstance(x, Var):
                out.setdefault(id(x), []).append(i)
    return out


def _scatter_into_sum(e, program, consumers):
    """Whether ``e`` scatters g into zeros (the transpose of a pick x[idx]) for one reader
    that adds it to an array of the same shape: then the reader can add g at idx in place,
    ``t[idx] += g``, where idx selects every element at most once (NumPy's ``+=`` through
    an index does not add up repeats)."""
    if e.prim.name != "scatter_add" or not _selects_once(e):
        return False
    readers = consumers.get(id(e.outputs[0]), ())
    if len(readers) != 1 or any(o is e.outputs[0] for o in program.outputs):
        return False
    reader = program.eqns[readers[0]]
    out = e.outputs[0]
    if not (reader.prim.name == "add" and not reader.params and len(reader.inputs) == 2
            and sum(x is out for x in reader.inputs) == 1
            and reader.outputs[0].shape == out.shape and reader.outputs[0].dtype == out.dtype):
        return False
    other = next(x for x in reader.inputs if x is not out)   # t, written in place: no scatter
    return not any(d.prim.name == "scatter_add" and d.outputs[0] is other for d in program.eqns)


def _selects_once(e):
    """Whether the index of a scatter_add selects each element at most once: no integer
    arrays, or integer arrays of which one is a constant of distinct positions (negative
    ones counted from the end: -1 and n - 1 are one) as large as their common shape
    (``x[np.arange(n), y]``: the pairs are distinct in the first)."""
    idx = e.params["idx"]
    items = idx if isinstance(idx, tuple) else (idx,)
    if any(item is Ellipsis for item in items):
        return False   # which axis an item indexes is not worth working out here
    shapes, positions, axis = [], [], 0
    for item in items:
        if isinstance(item, InputRef):
            item = e.inputs[item.position]
        if isinstance(item, (Var, np.ndarray)) and item.dtype.kind in "iu":
            shapes.append(item.shape)
            if isinstance(item, np.ndarray):
                n = e.outputs[0].shape[axis]
                positions.append(np.where(item < 0, item + n, item))
        elif isinstance(item, (Var, np.ndarray)) and item.dtype != np.bool_:
            return False
        if item is not None:
            axis += item.ndim if isinstance(item, (Var, np.ndarray)) and item.dtype == np.bool_ else 1
    if not shapes:
        return True
    common = np.broadcast_shapes(*shapes)
    return any(p.shape == common and len(np.unique(p)) == p.size for p in positions)


def _scatter_add_line(e, pending, namer, owned, viewed, i):
    """``t[idx] += g`` for ``e`` = t + scatter_add(g, idx), when t is a buffer of the
    program's that dies here (then the result is t), as lines; None otherwise."""
    s_eqn, s_args = pending
    t = next(x for x in e.inputs if x is not s_eqn.outputs[0])
    out = e.outputs[0]
    if not (isinstance(t, Var) and id(t) in owned and id(t) not in viewed
            and namer.last.get(id(t)) == i and t.shape == out.shape and t.dtype == out.dtype):
        return None
    g = s_eqn.inputs[0]
    _, params = resolve(s_eqn, s_args[:arity(s_eqn)] + [Code(a) for a in s_args[arity(s_eqn):]])
    index = index_source(params["idx"], namer.ctx)
    name = namer.names[id(t)]
    value = g.value.flat[0].item() if isinstance(g, Literal) and np.ndim(g.value) and \
        np.all(g.value == g.value.flat[0]) else None
    if isinstance(value, (int, float)) and value < 0:
        lines = [f"{name}[{index}] -= {namer.ctx.literal(-value)}"]
    elif value is not None:
        lines = [f"{name}[{index}] += {namer.ctx.literal(value)}"]
    else:
        lines = [f"{name}[{index}] += {s_args[0]}"]
    preferred = preferred_name(e, namer.names)
    namer.names[id(out)] = name
    namer.holder[name] = id(out)
    if preferred is not None and preferred != name:
        lines.append(f"{namer.bind(out, preferred, i)} = {name}")
    owned.add(id(out))
    return lines


def _inline_view(e, args, ctx, consumers, outputs):
    """The expression of a view (``x[None, :]``, ``W.T``) read once, to be written into
    its reader, or of ``stop_gradient(x)``, which is ``x`` itself on values (derivatives
    are already taken when the program runs); None when it gets its own line."""
    if e.prim.name == "stop_gradient" and isinstance(e.inputs[0], Var) and \
            id(e.outputs[0]) in consumers and not any(o is e.outputs[0] for o in outputs):
        return args[0]
    if e.prim.name not in ("reshape", "transpose") or not isinstance(e.inputs[0], Var):
        return None
    out = e.outputs[0]
    if len(consumers.get(id(out), ())) != 1 or any(o is out for o in outputs):
        return None
    text = expression(e, args, ctx)
    rest = text[len(args[0]):]
    return text if text.startswith(args[0]) and rest[:1] in ("[", ".") and " " not in rest.replace(", ", ",") else None


def _identifier(name):
    name = unicodedata.normalize("NFKC", str.__str__(name)) if isinstance(name, str) else "f"
    text = "".join(c if (c == "_" or c.isalnum()) and ("_" + c).isidentifier() else "_"
                   for c in name)
    return python_name(text if text and not text[0].isdigit() else f"f_{text}", "f")


# primitives besides ufuncs whose result is always a new array (a reduction, a selection,
# the zero-safe product: scale returns g * d or a where)
_FRESH = frozenset({"sum", "amax", "amin", "where", "zero_safe_multiply"})


def _fresh_result(e):
    """Whether the result is a new array that views no input: a ufunc's result, a sum's."""
    return (isinstance(e.prim.impl, np.ufunc) and e.prim.impl.nout == 1) or e.prim.name in _FRESH


def _viewed(program):
    """ids of Vars some non-ufunc equation reads (its result may be a view of them)."""
    return {id(x) for e in program.eqns if not _fresh_result(e) for x in e.inputs
            if isinstance(x, Var)}


def _reusable_input(e, i, namer, owned, viewed):
    """The position of an input whose buffer ``e`` can write its result into, or None."""
    if not (isinstance(e.prim.impl, np.ufunc) and e.prim.impl.nout == 1):
        return None
    out = e.outputs[0]
    if not out.shape:
        return None
    for k, x in enumerate(e.inputs):
        if (isinstance(x, Var) and id(x) in owned and id(x) not in viewed
                and namer.last.get(id(x)) == i and x.shape == out.shape and x.dtype == out.dtype
                and sum(y is x for y in e.inputs) == 1):
            return k
    return None


def _inplace_line(e, args, k, namer, preferred, i):
    """``a += b`` (when the result may take a's name) or ``y = np.f(a, b, out=a)`` for a
    large result; None when neither is worth it."""
    target = e.inputs[k]
    name = namer.names[id(target)]
    # y *= 2 would read as if the user's y changed: reuse names only for results of the same
    # name (dx += t: an accumulation) or temporaries
    name_ok = preferred == name or (preferred is None and name in namer.temp_names)
    # a complex product is not commutative bit for bit (its real part may be rounded through
    # a fused multiply-add, whose operand order matters): it keeps its order
    commutes = e.prim.name == "add" or (e.prim.name == "multiply"
                                        and e.outputs[0].dtype.kind != "c")
    if e.prim.name in _AUGMENTED and name_ok and (k == 0 or commutes) and not e.params:
        other = args[1 - k]
        namer.names[id(e.outputs[0])] = name
        namer.holder[name] = id(e.outputs[0])
        return f"{name} {INFIX[e.prim.name]}= {other}"
    if e.outputs[0].size >= OUT_MIN_SIZE and not e.params:
        path = namer.ctx.path(e.prim.impl)
        lhs = namer.bind(e.outputs[0], preferred, i)
        return f"{lhs} = {path}({', '.join(args)}, out={name})"
    return None


# ---------------------------------------------------------------- running it

def _compile(gen, program):
    namespace = {"np": np}
    exec(compile(gen.text, f"<riesz {program.name}>", "exec"), namespace)
    fn = namespace[gen.name]
    fn.__kwdefaults__ = dict(gen.constants) or None
    fn.riesz_source = gen.text
    return fn


def compile_program(program):
    """The program as a Python function (generated source, compiled once).

    Where it pays, the function runs a plain-product version of the program first and
    the zero-safe one only if that one's result holds a NaN (see :func:`nan_checked_outputs`)."""
    safe = _compile(program_source(program), program)
    checked = nan_checked_outputs(program)
    if checked is None:
        return safe
    fast = _compile(program_source(_with_plain_products(program)), program)
    single = len(program.outputs) == 1

    def speculative(*args):
        out = fast(*args)
        results = (out,) if single else out
        # raveled in memory order: np.vdot would copy a transposed result
        if all(all_finite(np.ravel(results[k], order="K")) for k in checked):
            return out
        return safe(*args)   # a 0 × ∞ met a product (or the result is not finite anyway)
    speculative.riesz_source = safe.riesz_source
    return speculative


def _with_plain_products(program):
    """``program`` with plain products for its zero-safe ones, simplified again (a plain
    product may become a matrix product, say)."""
    eqns = [Eqn(multiply, e.inputs, e.params, e.outputs, e.where, e.group, e.names,
                e.errstate)
            if e.prim.name == "zero_safe_multiply" else e for e in program.eqns]
    return simplify(program.replace(eqns))


# a NumPy call, in array elements (~1 µs against ~1 ns an element). The zero-safe product
# np.where((g == 0) | (d == 0), 0.0, g * d) makes four calls and four passes more than the
# plain g * d; the test of an output (ravel, vdot, isfinite) two calls and one pass
_CALL_COST = 1000


def nan_checked_outputs(program):
    """The positions of the outputs to test for NaN when the program runs with plain
    products in place of its zero-safe ones (``scale``: 0 × ∞ = 0); None where that
    does not pay or cannot be proved to give the same result.

    Why the plain version gives the zero-safe result when the tested outputs hold no
    NaN: the two versions differ at first only where a product met 0 × ∞ or 0 × NaN, and
    there the plain one holds NaN. Every operation downstream of a product propagates
    NaN (:data:`NAN_PROPAGATING`: a result element that depends on a NaN is NaN; a
    ``where`` condition or a comparison reached by a product rules the program out), so
    each value of the plain run equals the zero-safe run's or is NaN, outputs included.
    Outputs no product reaches are the same in both. (It relies on matmul propagating
    NaN, as the BLAS libraries NumPy ships with do.) The test is the finiteness check
    ``scale`` makes, run once on the outputs instead of on every product; an output that
    is not finite anyway only costs the second run.

    Fewer outputs tested. An output that sums a product's result p over some axes (a
    bias's gradient, beside its layer's) holds a NaN wherever p does, since each entry of
    p is a term of one of its entries; without a NaN it proves p NaN-free, hence equal to
    the zero-safe run's p (by the argument above). Then every value computed from p and
    from other values so proved (or no product reaches) is the zero-safe run's, and its
    output needs no test of its own: in ``relu(x @ W + b)`` the test of b's gradient (10²
    entries) stands for the test of W's (10⁵), xᵀ g of the masked g the product gives."""
    tainted, products, made_by = set(), 0, {}
    for e in program.eqns:
        hit = [k for k, x in enumerate(e.inputs) if isinstance(x, Var) and id(x) in tainted]
        if e.prim.name == "zero_safe_multiply":
            products += 4 * (e.outputs[0].size + _CALL_COST)
        elif not hit:
            continue
        if hit and (e.prim.name not in NAN_PROPAGATING or (e.prim.name == "where" and 0 in hit)):
            return None
        tainted.update(id(v) for v in e.outputs)
        made_by.update((id(v), e) for v in e.outputs)
    outputs = program.outputs
    # the products whose results an output sums: {id(result): that output's position}
    proved = {}
    for k, o in enumerate(outputs):
        e = made_by.get(id(o)) if isinstance(o, Var) else None
        if e is not None and e.prim.name == "sum" and isinstance(e.inputs[0], Var):
            p = made_by.get(id(e.inputs[0]))
            if p is not None and p.prim.name == "zero_safe_multiply":
                proved.setdefault(id(e.inputs[0]), k)
    unsure = set()   # the values not proved equal to the zero-safe run's by those tests
    for e in program.eqns:
        if e.prim.name == "zero_safe_multiply" and id(e.outputs[0]) not in proved or any(
                isinstance(x, Var) and id(x) in unsure for x in e.inputs):
            unsure.update(id(v) for v in e.outputs)
    checked = sorted(set(proved.values()) | {k for k, o in enumerate(outputs)
                                             if isinstance(o, Var) and id(o) in unsure})
    cost = sum(outputs[k].size + 2 * _CALL_COST for k in checked)
    return checked if products and cost < products else None
