"""A staged program as NumPy source a person can read, run and step through.

``riesz.source(riesz.grad(f), *args)`` prints the backward pass of ``f`` as a
Python function: one line per operation, variables named after the user's own
(``y`` for ``y = W @ x``, and ``dy`` for its cotangent), and a comment tying each
block to the user's line (``# backward of mlp.py:7: z = np.tanh(y)``). It needs
NumPy alone.

How an operation prints comes from the rule table itself, so a primitive added
there prints with no code here: a primitive whose implementation is a NumPy
function prints as a call of it (``np.exp(y)``); one whose implementation is a
``lambda`` prints as the lambda's body with the arguments substituted
(``lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims)`` becomes
``np.sum(y, axis=(0,), keepdims=False)``); a named helper function is copied
into the module. :data:`HINTS` only makes common operations read better
(``x @ W``, ``y.T``, ``g[1:]``).

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
import ast
import builtins
import copy
import dis
import functools
import inspect
import keyword
import math
import textwrap

import numpy as np

from .rules.define import NAN_PROPAGATING, _all_finite
from .staging import Eqn, InputRef, Literal, Var, arity, resolve, trace

__all__ = ["source", "HINTS", "program_source", "program_listing", "compile_program"]

# arrays with at most this many elements are written into the source
INLINE_LIMIT = 64
# elementwise results with at least this many elements reuse a dying input's buffer (out=);
# below it, NumPy's keyword handling costs more than the allocation saves
OUT_MIN_SIZE = 4096

_INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "power": "**",
          "matmul": "@", "greater": ">", "less": "<", "greater_equal": ">=",
          "less_equal": "<=", "equal": "==", "not_equal": "!="}
_AUGMENTED = {"add", "subtract", "multiply", "divide"}


# ---------------------------------------------------------------- printing hints

def _infix(op):
    def hint(e, args):
        if e.params or len(args) != 2:
            return None
        return f"{args[0]} {op} {args[1]}"
    return hint


def _negative(e, args):
    return f"-{args[0]}"


def _transpose(e, args):
    x = e.inputs[0]
    if isinstance(x, Var) and not x.scalar_type and e.param("axes", 1) == tuple(range(len(x.shape)))[::-1]:
        return f"{args[0]}.T"
    return None


def _getitem(e, args, ctx):
    if len(e.inputs) != 1:
        return None
    return f"{args[0]}[{_index_source(e.params['idx'], ctx)}]"


def _reshape(e, args):
    # a reshape that only inserts or drops unit axes reads as indexing: dy[:, None]
    x, shape = e.inputs[0], e.param("shape", 1)
    if not isinstance(x, Var) or x.scalar_type or not x.shape or not shape:
        return None
    if [n for n in x.shape if n != 1] != [n for n in shape if n != 1]:
        return None
    if len(shape) == len(x.shape) + 1:
        parts, it = [], iter(x.shape)
        pending = next(it, None)
        for n in shape:
            if pending is not None and n == pending and (n != 1 or len(parts) - parts.count("None") < len(x.shape)):
                parts.append(":")
                pending = next(it, None)
            else:
                parts.append("None")
        if parts.count(":") == len(x.shape):
            return f"{args[0]}[{', '.join(parts)}]"
    return None


def _astype(e, args):
    x = e.inputs[0]
    # a 0-d value may be a Python number when the program runs (arithmetic on a Python
    # scalar argument stays Python arithmetic), which has no astype method: those take
    # the general form, np.asarray(x).astype(dtype)
    if isinstance(x, Var) and x.shape != () and len(e.inputs) == 1:
        return f"{args[0]}.astype({_dtype_source(e.params['dtype'])})"
    return None


def _reduction(np_name):
    def hint(e, args):
        x, axis, keepdims = e.inputs[0], e.param("axis", 1), e.param("keepdims", 2)
        if axis is None or len(e.inputs) > 1 or set(e.params) != {"axis", "keepdims"}:
            return None
        return _reduction_call(np_name, x, args[0], axis, keepdims)
    return hint


def _reduction_call(np_name, x, arg, axis, keepdims):
    """``y.sum(axis=1)``: the method of an array (it skips np.sum's Python layer, a third
    of the time of a small reduction); ``np.sum(v)`` for a constant or a 0-d value (which
    may be a Python number when the code runs)."""
    options = []
    if tuple(axis) != tuple(range(len(x.shape))):
        options.append(f"axis={axis[0] if len(axis) == 1 else tuple(axis)}")
    if keepdims:
        options.append("keepdims=True")
    if isinstance(x, Var) and x.shape:
        return f"{arg}.{np_name}({', '.join(options)})"
    return f"np.{np_name}({', '.join([arg] + options)})"


def _concatenate(e, args):
    # its implementation takes the pieces as separate arguments; NumPy's takes a list
    return f"np.concatenate([{', '.join(args)}], axis={e.params['axis']})"


# primitive name -> hint(eqn, argument sources[, ctx]) giving the expression, or None to
# print it the general way; optional: every primitive prints without one
HINTS = {name: _infix(op) for name, op in _INFIX.items()}
HINTS.update(negative=_negative, transpose=_transpose, getitem=_getitem, astype=_astype,
             reshape=_reshape, sum=_reduction("sum"), amax=_reduction("max"),
             amin=_reduction("min"), concatenate=_concatenate)


# ---------------------------------------------------------------- literals

def _float_source(v):
    if math.isnan(v):
        return "np.nan"
    if math.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(v)


def _dtype_source(dtype):
    if isinstance(dtype, type):
        if dtype in (float, int, complex, bool):
            return dtype.__name__
        dtype = np.dtype(dtype)
    dtype = np.dtype(dtype)
    return f"np.{dtype.name}" if getattr(np, dtype.name, None) is dtype.type else f"np.dtype({dtype.str!r})"


def _array_source(v, ctx):
    """A small array written out: ``np.arange(32)`` for 0, 1, …, 31, ``np.full((32,), 0.5,
    dtype=np.float32)`` for one value repeated, else its entries."""
    dtype = _dtype_source(v.dtype)
    if v.ndim == 1 and v.size > 1 and v.dtype.kind in "iu" and np.array_equal(v, np.arange(v.size)):
        same = np.arange(v.size).dtype == v.dtype
        return f"np.arange({v.size})" if same else f"np.arange({v.size}, dtype={dtype})"
    if v.size > 1 and np.all(v == v.flat[0]):
        return f"np.full({ctx.literal(v.shape)}, {ctx.literal(v.flat[0].item())}, dtype={dtype})"
    if v.size == 0:   # tolist() of shape (0, 1) is [], which np.array reads as shape (0,)
        return f"np.empty({ctx.literal(v.shape)}, dtype={dtype})"
    return f"np.array({ctx.literal(v.tolist())}, dtype={dtype})"


def _index_source(idx, ctx):
    items = idx if isinstance(idx, tuple) else (idx,)
    parts = []
    for i in items:
        if isinstance(i, slice):
            text = ":".join("" if v is None else ctx.literal(v) for v in (i.start, i.stop))
            parts.append(text + ("" if i.step is None else f":{ctx.literal(i.step)}"))
        elif i is Ellipsis:
            parts.append("...")
        else:
            parts.append(ctx.literal(i))
    if not isinstance(idx, tuple):
        return parts[0]
    return ", ".join(parts) + ("," if len(parts) == 1 else "") if parts else "()"


# ---------------------------------------------------------------- names from NumPy

def _numpy_path(obj):
    """``np.exp`` for numpy.exp, ``np.linalg.inv`` for numpy.linalg.inv; None otherwise."""
    if obj is np:
        return "np"
    name = getattr(obj, "__name__", None)
    if not isinstance(name, str):
        return None
    for prefix, module in (("np", np), ("np.linalg", np.linalg), ("np.fft", np.fft)):
        try:
            if getattr(module, name, None) is obj:
                return f"{prefix}.{name}"
        except TypeError:
            return None
    return None


# functions outside NumPy that generated code calls by their import path
# (``scipy.special.erf``): {id(function): (function, module name)}, filled by the rule
# modules of optional libraries through register_import_path
IMPORT_PATHS = {}


def register_import_path(fn, module):
    """Generated code calls ``fn`` as ``module.<its __name__>``, importing ``module``."""
    IMPORT_PATHS[id(fn)] = (fn, module)


class _Context:
    """What one generated module needs: its names, constants and helper functions."""

    def __init__(self, const_hints):
        self.used = {"np"}
        self.constants = {}      # name -> value, passed to the function
        self.const_ids = {}      # id(value) -> name
        self.helpers = {}        # id(function) -> name
        self.helper_defs = []      # source of copied functions
        self.helper_aliases = []   # the globals they read, defined after them
        self.defined = set()
        self.const_hints = const_hints   # id(array) -> the user's name for it
        self.imports = set()     # modules besides NumPy the code calls into

    def fresh(self, base):
        base = base if base.isidentifier() and not keyword.iskeyword(base) else "v"
        name, k = base, 1
        while name in self.used or hasattr(builtins, name):
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name

    def literal(self, v):
        if isinstance(v, _Code):
            return str(v)
        if v is None or isinstance(v, (bool, str)):
            return repr(v)
        if isinstance(v, int):
            return repr(v)
        if isinstance(v, float):
            return _float_source(v)
        if isinstance(v, complex):
            return f"complex({_float_source(v.real)}, {_float_source(v.imag)})"
        if isinstance(v, np.generic) and not isinstance(v, np.void):
            return f"{_dtype_source(v.dtype)}({self.literal(v.item())})"
        if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, (np.generic, float, int, complex, bool))):
            return _dtype_source(v)
        if isinstance(v, tuple):
            inner = ", ".join(self.literal(x) for x in v)
            return f"({inner},)" if len(v) == 1 else f"({inner})"
        if isinstance(v, list):
            return "[" + ", ".join(self.literal(x) for x in v) + "]"
        if isinstance(v, slice):
            return f"slice({self.literal(v.start)}, {self.literal(v.stop)}, {self.literal(v.step)})"
        if v is Ellipsis:
            return "..."
        base = getattr(v, "base", None)
        if (isinstance(v, np.ndarray) and id(base) in self.const_hints
                and v.shape == base.shape[::-1] and v.strides == base.strides[::-1]
                and np.shares_memory(v, base)):
            return f"{self.constant(base)}.T"   # the transpose of a named array
        if (isinstance(v, np.ndarray) and v.size <= INLINE_LIMIT and v.dtype.kind in "biufc"
                and id(v) not in self.const_hints):
            return _array_source(v, self)
        path = self.path(v)
        if path is not None:
            return path
        return self.constant(v)

    def path(self, obj):
        """The dotted name code calls ``obj`` by: its NumPy name (``np.exp``) or its
        registered import path (``scipy.special.erf``, importing ``scipy.special``);
        None for neither."""
        path = _numpy_path(obj)
        fn, module = IMPORT_PATHS.get(id(obj), (None, None))
        if path is None and fn is obj:
            self.imports.add(module)
            top = module.split(".")[0]
            self.used.add(top)
            self.defined.add(top)   # a variable must not take the module's name
            path = f"{module}.{obj.__name__}"
        return path

    def constant(self, v):
        """A value too large (or too odd) to write out: a keyword argument of the function."""
        name = self.const_ids.get(id(v))
        if name is None:
            name = self.fresh(self.const_hints.get(id(v), "c"))
            self.const_ids[id(v)] = name
            self.constants[name] = v
        return name

    def function(self, fn):
        """An expression for a function: its NumPy name, a lambda written out, or the name of
        a copied helper."""
        path = self.path(fn)
        if path is not None:
            return path
        if inspect.isfunction(fn) and fn.__name__ == "<lambda>":
            node = _lambda_node(fn)
            if node is None:
                raise _unprintable("a lambda whose source cannot be read")
            self._define_free_names(fn, node, {a.arg for a in node.args.args})
            return f"({ast.unparse(node)})"
        if inspect.isfunction(fn):
            return self.helper(fn)
        raise _unprintable(f"{fn!r}")

    def _define_free_names(self, fn, node, bound):
        scope = {**fn.__globals__, **_closure_values(fn)}
        for free in sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - bound):
            if free in scope and free not in self.defined:
                self.defined.add(free)
                self._define(free, scope[free], fn)

    def helper(self, fn):
        """The name of a Python function copied into the module (with what it uses)."""
        name = self.helpers.get(id(fn))
        if name is not None:
            return name
        name = fn.__name__
        self.helpers[id(fn)] = name
        self.used.add(name)
        self.helper_defs.append(_function_source(fn))
        for dep in sorted(_global_names(fn.__code__)):
            if dep in fn.__globals__ and dep not in self.defined:
                self.defined.add(dep)
                self._define(dep, fn.__globals__[dep], fn)
        return name

    def _define(self, name, value, user):
        """Define a global that a copied helper reads: modules are imported, a primitive
        stands for its implementation (what bind does on plain values), and a riesz class
        is a stand-in no value is an instance of (no value in generated code is traced)."""
        from .core import Primitive
        if isinstance(value, type(np)):
            path = _numpy_path(value)
            line = f"{name} = {path}" if path else (
                f"import {value.__name__}" if value.__name__ == name
                else f"import {value.__name__} as {name}")
            if path != name:
                self.helper_aliases.append(line)
        elif _numpy_path(value) is not None:
            self.helper_aliases.append(f"{name} = {_numpy_path(value)}")
        elif inspect.isfunction(value):
            expression = self.function(value)
            if expression != name:
                self.helper_aliases.append(f"{name} = {expression}")
        elif isinstance(value, Primitive):
            self.helper_aliases.append(f"{name} = {self.function(value.impl)}   "
                                       f"# primitive {value.name!r}")
        elif isinstance(value, type) and value.__module__.startswith("riesz"):
            self.helper_aliases.append(f"# a stand-in: no value in this code is a {value.__name__}\n"
                                       f"class {name}:\n    pass")
        elif isinstance(value, (int, float, str, tuple, bool)) or value is None:
            self.helper_aliases.append(f"{name} = {value!r}")
        else:
            raise _unprintable(f"{name!r} used by {user.__name__}")
        self.used.add(name)


def _function_source(fn):
    """The source of a ``def``, without its decorators (which register it in riesz) and
    with its docstring cut to its first paragraph."""
    text = textwrap.dedent(inspect.getsource(fn))
    node = ast.parse(text).body[0]
    lines = text.splitlines()
    doc = node.body[0] if node.body and isinstance(node.body[0], ast.Expr) else None
    if doc is not None and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str):
        first = " ".join(doc.value.value.strip().split("\n\n")[0].split())   # first paragraph
        indent = lines[doc.lineno - 1][:doc.col_offset]
        lines[doc.lineno - 1:doc.end_lineno] = [f'{indent}"""{first}"""'] if first else []
    return "\n".join(lines[node.lineno - 1:]) + "\n"


def _unprintable(what):
    return NotImplementedError(
        f"riesz.source cannot write {what} as NumPy code; give the primitive a printing hint "
        f"in riesz.source.HINTS")


def _global_names(code):
    # the names it reads as globals (co_names also holds attribute names: np.add.at)
    names = {i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL"}
    for c in code.co_consts:
        if inspect.iscode(c):
            names |= _global_names(c)
    return names


# ---------------------------------------------------------------- an operation as source

def _closure_values(fn):
    cells = fn.__closure__ or ()
    return {n: c.cell_contents for n, c in zip(fn.__code__.co_freevars, cells)}


def _lambda_node(fn):
    """The ast.Lambda of ``fn`` in its module's source, found by its position."""
    try:
        lines, _ = inspect.findsource(fn)
    except (OSError, TypeError):
        return None
    # the first instruction with a real position lies in the lambda's body
    pos = next((p for p in fn.__code__.co_positions()
                if None not in p and (p[0], p[2]) != (p[1], p[3])), None)
    best = None
    for node in _lambdas_by_line("".join(lines)).get(fn.__code__.co_firstlineno, ()):
        body = node.body
        if pos is None or (body.lineno, body.col_offset) <= (pos[0], pos[2]) <= (body.end_lineno, body.end_col_offset):
            if best is None or node.col_offset > best.col_offset:   # the innermost
                best = node
    return best


@functools.lru_cache(maxsize=32)
def _lambdas_by_line(text):
    """``{line: [ast.Lambda, ...]}`` of a module's source, parsed once per text (a program
    has many rules from the same few modules)."""
    found = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Lambda):
            found.setdefault(node.lineno, []).append(node)
    return found


class _Substitute(ast.NodeTransformer):
    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in self.mapping:
            return ast.parse(self.mapping[node.id], mode="eval").body
        return node


def _call_source(e, args, ctx):
    """The general way: a call of the primitive's implementation."""
    impl, params = e.prim.impl, e.params
    call_args = ", ".join(list(args) + [f"{k}={ctx.literal(v)}" for k, v in params.items()])
    path = ctx.path(impl)
    if path is not None:
        return f"{path}({call_args})"
    if getattr(impl, "__name__", "") == "<lambda>":
        node = _lambda_node(impl)
        names = [a.arg for a in node.args.args] if node is not None else []
        if node is None or node.args.vararg or len(names) != len(args) + len(params):
            raise _unprintable(f"the implementation of primitive {e.prim.name!r}")
        mapping = dict(zip(names, args))
        mapping.update({k: ctx.literal(v) for k, v in params.items()})
        scope = {**impl.__globals__, **_closure_values(impl)}
        for free in {n.id for n in ast.walk(node.body) if isinstance(n, ast.Name)} - set(names):
            if free in scope:
                value = scope[free]
                mapping[free] = ctx.function(value) if inspect.isfunction(value) else ctx.literal(value)
        # the node is shared by every use (_lambdas_by_line): substitute into a copy
        return ast.unparse(_Substitute(mapping).visit(copy.deepcopy(node.body)))
    if inspect.isfunction(impl):
        return f"{ctx.helper(impl)}({call_args})"
    raise _unprintable(f"the implementation of primitive {e.prim.name!r} ({impl!r})")


class _Code(str):
    """A piece of source standing in a parameter: the name of a staged index it reads."""
    __slots__ = ()

    def __repr__(self):
        return str(self)


def _expression(e, args, ctx):
    if arity(e) < len(e.inputs):   # x[perm, ...] with perm computed by the program
        args, params = resolve(e, args[:arity(e)] + [_Code(a) for a in args[arity(e):]])
        e = Eqn(e.prim, e.inputs[:len(args)], params, e.outputs, e.where, e.group, e.names)
    hint = HINTS.get(e.prim.name)
    if hint is not None:
        text = hint(e, args, ctx) if hint.__code__.co_argcount == 3 else hint(e, args)
        if text is not None:
            return text
    return _call_source(e, args, ctx)


# ---------------------------------------------------------------- names and lifetimes

def _last_uses(program):
    last = {}
    for i, e in enumerate(program.eqns):
        for x in e.inputs:
            if isinstance(x, Var):
                last[id(x)] = i
    for o in program.outputs:
        if isinstance(o, Var):
            last[id(o)] = len(program.eqns)
    return last


class _Namer:
    """Python names for a program's variables: the user's names where known, reused once
    the variable holding a name is dead (straight-line code may rebind a name)."""

    def __init__(self, program, ctx):
        self.ctx = ctx
        self.last = _last_uses(program)
        self.names = {}       # id(Var) -> name
        self.holder = {}      # name -> id(Var) holding it
        self.temps = 0
        self.temp_names = set()

    def bind(self, var, preferred, at):
        if preferred is not None:
            base = preferred if preferred.isidentifier() and not keyword.iskeyword(preferred) else "v"
            name, k = base, 1
            while not self._free(name, at):
                k += 1
                name = f"{base}_{k}"
        else:
            name = None
            while name is None or not self._free(name, at):
                self.temps += 1
                name = f"t{self.temps}"
            self.temp_names.add(name)
        self.names[id(var)] = name
        self.holder[name] = id(var)
        self.ctx.used.add(name)
        return name

    def _free(self, name, at):
        if name in self.holder:
            return self.last.get(self.holder[name], -1) <= at
        return name not in self.ctx.used and not hasattr(builtins, name)


def _preferred_name(e, program_names):
    if e.names is None or len(e.outputs) != 1:
        return None
    kind, what = e.names
    if kind == "assign":
        return what
    base = (program_names.get(id(what)) or what.hint) if isinstance(what, Var) else None
    if kind == "d" and base:
        return f"d{base}"
    if kind == "dot" and base:
        return f"{base}_dot"   # the tangent ẏ of y
    return None


# ---------------------------------------------------------------- the module

class Generated:
    """Generated source: ``text``, the function's ``name`` and the ``constants`` it takes
    as keyword arguments (arrays too large to write out)."""

    def __init__(self, text, name, constants):
        self.text, self.name, self.constants = text, name, constants


def program_source(program, name=None, inplace=True, reserved=frozenset()):
    """Generate the module for ``program``: ``import numpy as np`` and one function.
    ``reserved``: names the function's variables must not take (its helpers' names)."""
    ctx = _Context(program.const_hints)
    ctx.used |= set(reserved)
    fname = ctx.fresh(name or _identifier(program.name))
    namer = _Namer(program, ctx)
    params = [namer.bind(v, v.hint or f"a{i}", -1) for i, v in enumerate(program.invars)]
    body = []
    owned = set()          # ids of Vars whose buffer the program may overwrite
    viewed = _viewed(program)
    consumers = _consumers(program)
    inlined = {}           # id(Var) -> its expression, written into its one consumer
    scattered = {}         # id(Var) -> (scatter_add equation, its arguments), not yet written
    where_key = None
    for i, e in enumerate(program.eqns):
        if e.where is not None and e.where.key() != where_key:
            body.append(e.where.comment())
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
            body.append(f"{s_name} = {_expression(s_eqn, s_args, ctx)}")
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
            body.append(f"{', '.join(outs)}, = {_expression(e, args, ctx)}")
            continue
        out = e.outputs[0]
        preferred = _preferred_name(e, namer.names)
        if reuse is not None:
            text = _inplace_line(e, args, reuse, namer, preferred, i)
            if text is not None:
                body.append(text)
                owned.add(id(out))
                continue
        lhs = namer.bind(out, preferred, i)
        body.append(f"{lhs} = {_expression(e, args, ctx)}")
        if _fresh_result(e):
            owned.add(id(out))
    results = [ctx.literal(o.value) if isinstance(o, Literal) else namer.names[id(o)]
               for o in program.outputs]
    body.append("return " + (results[0] if len(results) == 1 else ", ".join(results)))
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
    lines.append(f'    """{program.name}, staged by riesz: {count} operation{"s" * (count != 1)}."""')
    lines.extend("    " + line for line in body)
    module_names = set(ctx.helpers.values()) | ctx.defined
    if module_names & set(namer.holder) and not module_names <= set(reserved):
        # a variable took the name of a helper found later: name them apart
        return program_source(program, name, inplace, frozenset(reserved) | module_names)
    return Generated("\n".join(lines) + "\n", fname, ctx.constants)


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
    arrays, or integer arrays of which one is a constant of distinct values as large as
    their common shape (``x[np.arange(n), y]``: the pairs are distinct in the first)."""
    idx = e.params["idx"]
    items = idx if isinstance(idx, tuple) else (idx,)
    shapes = []
    for item in items:
        if isinstance(item, InputRef):
            item = e.inputs[item.position]
        if isinstance(item, (Var, np.ndarray)) and item.dtype.kind in "iu":
            shapes.append(item.shape)
        elif isinstance(item, (Var, np.ndarray)) and item.dtype != np.bool_:
            return False
    if not shapes:
        return True
    common = np.broadcast_shapes(*shapes)
    return any(isinstance(item, np.ndarray) and item.dtype.kind in "iu" and item.shape == common
               and len(np.unique(item)) == item.size for item in items)


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
    _, params = resolve(s_eqn, s_args[:arity(s_eqn)] + [_Code(a) for a in s_args[arity(s_eqn):]])
    index = _index_source(params["idx"], namer.ctx)
    name = namer.names[id(t)]
    value = g.value.flat[0].item() if isinstance(g, Literal) and np.ndim(g.value) and \
        np.all(g.value == g.value.flat[0]) else None
    if isinstance(value, (int, float)) and value < 0:
        lines = [f"{name}[{index}] -= {namer.ctx.literal(-value)}"]
    elif value is not None:
        lines = [f"{name}[{index}] += {namer.ctx.literal(value)}"]
    else:
        lines = [f"{name}[{index}] += {s_args[0]}"]
    preferred = _preferred_name(e, namer.names)
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
    text = _expression(e, args, ctx)
    rest = text[len(args[0]):]
    return text if text.startswith(args[0]) and rest[:1] in ("[", ".") and " " not in rest.replace(", ", ",") else None


def _identifier(name):
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return text if text and not text[0].isdigit() else f"f_{text}"


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
        return f"{name} {_INFIX[e.prim.name]}= {other}"
    if e.outputs[0].size >= OUT_MIN_SIZE and not e.params:
        path = namer.ctx.path(e.prim.impl)
        lhs = namer.bind(e.outputs[0], preferred, i)
        return f"{lhs} = {path}({', '.join(args)}, out={name})"
    return None


def program_listing(program):
    """The compact text form: one equation a line, with types."""
    ctx = _Context({})
    namer = _Namer(program, ctx)
    params = [f"{namer.bind(v, v.hint or f'a{i}', -1)}: {v.type_str()}"
              for i, v in enumerate(program.invars)]
    lines = [f"{{ lambda {', '.join(params)} ."]
    for i, e in enumerate(program.eqns):
        args = [_short_literal(x.value) if isinstance(x, Literal) else namer.names[id(x)]
                for x in e.inputs]
        outs = [f"{namer.bind(v, _preferred_name(e, namer.names), i)}:{v.type_str()}"
                for v in e.outputs]
        args, params = resolve(e, [_Code(a) for a in args])
        params_text = "".join(f" {k}={_short_literal(v)}" for k, v in params.items())
        lines.append(f"    {' '.join(outs)} = {e.prim.name}{params_text} {' '.join(args)}")
    results = [_short_literal(o.value) if isinstance(o, Literal) else namer.names[id(o)]
               for o in program.outputs]
    lines.append(f"  in ({', '.join(results)}) }}")
    return "\n".join(lines)


def _short_literal(v):
    if isinstance(v, tuple):   # an index: (<int64[3,1]>, i)
        inner = ", ".join(_short_literal(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, np.ndarray) and v.size > 4:
        return f"<{v.dtype.name}{list(v.shape)}>"
    return repr(v.tolist() if isinstance(v, np.ndarray) else v)


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
        if all(_all_finite(np.ravel(results[k], order="K")) for k in checked):
            return out
        return safe(*args)   # a 0 × ∞ met a product (or the result is not finite anyway)
    speculative.riesz_source = safe.riesz_source
    return speculative


def _with_plain_products(program):
    """``program`` with plain products for its zero-safe ones, simplified again (a plain
    product may become a matrix product, say)."""
    from .rules.elementwise import multiply
    from .simplify import simplify
    from .staging import Program
    eqns = [Eqn(multiply, e.inputs, e.params, e.outputs, e.where, e.group, e.names)
            if e.prim.name == "zero_safe_multiply" else e for e in program.eqns]
    plain = Program(program.name, program.invars, program.outputs, eqns, program.in_tree,
                    program.out_tree)
    plain.const_hints = program.const_hints
    return simplify(plain)


# a product's check, in array elements: its Python call and its pass over the product
_CHECK_COST = 1000


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
    is not finite anyway only costs the second run."""
    tainted, products = set(), 0
    for e in program.eqns:
        hit = [k for k, x in enumerate(e.inputs) if isinstance(x, Var) and id(x) in tainted]
        if e.prim.name == "zero_safe_multiply":
            products += e.outputs[0].size + _CHECK_COST
        elif not hit:
            continue
        if hit and (e.prim.name not in NAN_PROPAGATING or (e.prim.name == "where" and 0 in hit)):
            return None
        tainted.update(id(v) for v in e.outputs)
    checked = [k for k, o in enumerate(program.outputs) if isinstance(o, Var) and id(o) in tainted]
    cost = sum(program.outputs[k].size + _CHECK_COST for k in checked)
    return checked if products and cost < products else None


def source(f, *args, static_argnums=()):
    """The NumPy source of ``f`` staged at ``args``: ``riesz.source(riesz.grad(f), x)`` is
    the backward pass of ``f`` as a Python function that needs NumPy alone.

    Arrays too large to write out become keyword-only arguments named after the user's
    variables where they can be found (``def grad_loss(x, *, W)``).
    """
    return trace(f, static_argnums=static_argnums)(*args).source()
