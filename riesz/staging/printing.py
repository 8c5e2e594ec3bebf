"""How a staged program prints: one equation as one NumPy expression, and the names
of values, constants and helper functions in the generated module.

How an operation prints comes from the rule table itself, so a primitive added
there prints with no code here: a primitive whose implementation is a NumPy
function prints as a call of it (``np.exp(y)``); one whose implementation is a
``lambda`` prints as the lambda's body with the arguments substituted
(``lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims)`` becomes
``np.sum(y, axis=(0,), keepdims=False)``); a named helper function is copied
into the module. :data:`HINTS` only makes common operations read better
(``x @ W``, ``y.T``, ``g[1:]``). A function outside NumPy that a rule computes with
is called by the import path its rule module declared
(:data:`riesz.rules.define.IMPORT_PATHS`).
"""
import ast
import builtins
import copy
import dis
import functools
import inspect
import math
import textwrap

import numpy as np

from ..core import Primitive
from ..rules.define import IMPORT_PATHS
from .ir import Eqn, Literal, Var, arity, resolve
from .text import comment_text, docstring, dotted_path, python_name

__all__ = ["HINTS", "INFIX", "dtype_source", "Context", "Namer", "Code", "expression", "index_source",
           "preferred_name", "program_listing", "short_literal"]

# arrays with at most this many elements are written into the source
INLINE_LIMIT = 64

INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "power": "**",
         "matmul": "@", "greater": ">", "less": "<", "greater_equal": ">=",
         "less_equal": "<=", "equal": "==", "not_equal": "!="}


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
    return f"{args[0]}[{index_source(e.params['idx'], ctx)}]"


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
        return f"{args[0]}.astype({dtype_source(e.params['dtype'])})"
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
HINTS = {name: _infix(op) for name, op in INFIX.items()}
def _zero_safe_product(e, args):
    # g ⊙ d with 0 × ∞ = 0: zero wherever either factor is exactly zero (the weak 0.0 takes
    # the product's dtype)
    g, d = args
    return f"np.where(({g} == 0) | ({d} == 0), 0.0, {g} * {d})"


HINTS.update(negative=_negative, transpose=_transpose, getitem=_getitem, astype=_astype,
             reshape=_reshape, sum=_reduction("sum"), amax=_reduction("max"),
             amin=_reduction("min"), concatenate=_concatenate,
             zero_safe_multiply=_zero_safe_product)


# ---------------------------------------------------------------- literals

def _float_source(v):
    v = float.__float__(v)   # a subclass by its value
    if math.isnan(v):
        return "np.nan"
    if math.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return float.__repr__(v)


def dtype_source(dtype):
    if isinstance(dtype, type):
        if dtype in (float, int, complex, bool):
            return dtype.__name__
        dtype = np.dtype(dtype)
    dtype = np.dtype(dtype)
    return f"np.{dtype.name}" if vars(np).get(dtype.name) is dtype.type else f"np.dtype({dtype.str!r})"


def _array_source(v, ctx):
    """A small array written out: ``np.arange(32)`` for 0, 1, …, 31, ``np.full((32,), 0.5,
    dtype=np.float32)`` for one value repeated, else its entries."""
    dtype = dtype_source(v.dtype)
    if v.ndim == 1 and v.size > 1 and v.dtype.kind in "iu" and np.array_equal(v, np.arange(v.size)):
        same = np.arange(v.size).dtype == v.dtype
        return f"np.arange({v.size})" if same else f"np.arange({v.size}, dtype={dtype})"
    if v.size > 1 and np.all(v == v.flat[0]):
        return f"np.full({ctx.literal(v.shape)}, {ctx.literal(v.flat[0].item())}, dtype={dtype})"
    if v.size == 0:   # tolist() of shape (0, 1) is [], which np.array reads as shape (0,)
        return f"np.empty({ctx.literal(v.shape)}, dtype={dtype})"
    return f"np.array({ctx.literal(v.tolist())}, dtype={dtype})"


def index_source(idx, ctx):
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
        # the module's own names (not the deprecated aliases of NumPy 1.x's __getattr__)
        if vars(module).get(name) is obj:
            return f"{prefix}.{name}"
    return None


class Context:
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
        base = python_name(base)
        name, k = base, 1
        while name in self.used or hasattr(builtins, name):
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name

    def literal(self, v):
        if isinstance(v, Code):
            return str(v)
        if isinstance(v, np.generic) and not isinstance(v, np.void):
            return f"{dtype_source(v.dtype)}({self.literal(v.item())})"
        # Python values by their built-in type's repr (a subclass's own repr is never
        # called: an IntEnum is its int, a float subclass its full float value)
        if v is None or isinstance(v, bool):
            return repr(v is True if v is not None else None)
        if isinstance(v, str):
            return str.__repr__(v)
        if isinstance(v, int):
            return int.__repr__(v)
        if isinstance(v, float):
            return _float_source(v)
        if isinstance(v, complex):
            real, imag = complex.real.__get__(v), complex.imag.__get__(v)
            return f"complex({_float_source(real)}, {_float_source(imag)})"
        if isinstance(v, np.dtype) or (isinstance(v, type) and issubclass(v, (np.generic, float, int, complex, bool))):
            return dtype_source(v)
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
        if path is None and fn is obj and dotted_path(module) and \
                python_name(obj.__name__, None) == obj.__name__:
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
        text, name = _function_source(fn)   # named as its def, in its source, names it
        self.helpers[id(fn)] = name
        self.used.add(name)
        self.helper_defs.append(text)
        for dep in sorted(_global_names(fn.__code__)):
            if dep in fn.__globals__ and dep not in self.defined:
                self.defined.add(dep)
                self._define(dep, fn.__globals__[dep], fn)
        return name

    def _define(self, name, value, user):
        """Define a global that a copied helper reads: modules are imported, a primitive
        stands for its implementation (what bind does on plain values), and a riesz class
        is a stand-in no value is an instance of (no value in generated code is traced)."""
        if isinstance(value, type(np)):
            path = _numpy_path(value)
            if path is None and not dotted_path(value.__name__):
                raise _unprintable(f"the module {value!r} used by {user.__name__}")
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
                                       f"# primitive {comment_text(value.name)}")
        elif isinstance(value, type) and value.__module__.startswith("riesz"):
            self.helper_aliases.append(f"# a stand-in: no value in this code is a "
                                       f"{comment_text(value.__name__)}\n"
                                       f"class {name}:\n    pass")
        elif isinstance(value, (int, float, str, tuple, bool)) or value is None:
            self.helper_aliases.append(f"{name} = {self.literal(value)}")
        else:
            raise _unprintable(f"{name!r} used by {user.__name__}")
        self.used.add(name)


def _function_source(fn):
    """(the source of a ``def``, its name there), without its decorators (which register it in riesz) and
    with its docstring cut to its first paragraph."""
    text = textwrap.dedent(inspect.getsource(fn))
    node = ast.parse(text).body[0]
    lines = text.splitlines()
    doc = node.body[0] if node.body and isinstance(node.body[0], ast.Expr) else None
    if doc is not None and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str):
        first = " ".join(doc.value.value.strip().split("\n\n")[0].split())   # first paragraph
        indent = lines[doc.lineno - 1][:doc.col_offset]
        lines[doc.lineno - 1:doc.end_lineno] = [indent + docstring(first)] if first else []
    return "\n".join(lines[node.lineno - 1:]) + "\n", node.name


def _unprintable(what):
    return NotImplementedError(
        f"riesz.source cannot write {what} as NumPy code; give the primitive a printing hint "
        f"in riesz.staging.printing.HINTS")


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


class Code(str):
    """A piece of source standing in a parameter: the name of a staged index it reads."""
    __slots__ = ()

    def __repr__(self):
        return str(self)


def expression(e, args, ctx):
    if arity(e) < len(e.inputs):   # x[perm, ...] with perm computed by the program
        args, params = resolve(e, args[:arity(e)] + [Code(a) for a in args[arity(e):]])
        e = Eqn(e.prim, e.inputs[:len(args)], params, e.outputs, e.where, e.group, e.names,
                e.errstate)
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


class Namer:
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
            base = python_name(preferred)
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


def preferred_name(e, program_names):
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


def program_listing(program):
    """The compact text form: one equation a line, with types."""
    ctx = Context({})
    namer = Namer(program, ctx)
    params = [f"{namer.bind(v, v.hint or f'a{i}', -1)}: {v.type_str()}"
              for i, v in enumerate(program.invars)]
    lines = [f"{{ lambda {', '.join(params)} ."]
    for i, e in enumerate(program.eqns):
        args = [short_literal(x.value) if isinstance(x, Literal) else namer.names[id(x)]
                for x in e.inputs]
        outs = [f"{namer.bind(v, preferred_name(e, namer.names), i)}:{v.type_str()}"
                for v in e.outputs]
        args, params = resolve(e, [Code(a) for a in args])
        params_text = "".join(f" {k}={short_literal(v)}" for k, v in params.items())
        lines.append(f"    {' '.join(outs)} = {e.prim.name}{params_text} {' '.join(args)}")
    results = [short_literal(o.value) if isinstance(o, Literal) else namer.names[id(o)]
               for o in program.outputs]
    lines.append(f"  in ({', '.join(results)}) }}")
    return "\n".join(lines)


def short_literal(v):
    if isinstance(v, tuple):   # an index: (<int64[3,1]>, i)
        inner = ", ".join(short_literal(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, np.ndarray) and v.size > 4:
        return f"<{v.dtype.name}{list(v.shape)}>"
    return repr(v.tolist() if isinstance(v, np.ndarray) else v)


