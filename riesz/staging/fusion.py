"""Fusion: chains of elementwise equations of a staged program as single numexpr kernels.

``riesz.jit(f, fuse="numexpr")`` passes each staged :class:`~riesz.staging.Program`
through :func:`fuse`. A run of elementwise equations (the primitives of
``riesz.rules.define.ELEMENTWISE`` and the comparisons, masks and rounding of
``implements_constant``) becomes one ``numexpr.NumExpr`` kernel, compiled once per
program: numexpr evaluates the whole expression block by block in cache, so it
makes one pass over memory and one Python call where NumPy makes one of each per
operation. Matrix products, reductions, reshapes and indexing stay NumPy calls.

Which values get their own array (are *materialized*): a program output, an input
of a NumPy (non-fused) equation, and a value read more than once, unless it is
cheap to recompute (at most :data:`RECOMPUTE_COST` operations): then each reader
computes it again inside its own kernel. Every other value lives only inside the
kernel that reads it. So the forward values that a backward pass reads are stored
once, and a chain of cotangent products is one kernel.

Semantics kept: the zero-safe product of the rule table (``scale``: 0 × ∞ = 0) is
``where((g == 0) | (d == 0), 0, g * d)``; dtypes follow NumPy's (NEP 50) rules:
a Python float meeting a float32 array is a float32 constant, passed as a 0-d
float32 input (numexpr would read ``0.1`` in the expression as a double and
promote). Each kernel is checked once, at fusion time, on arrays of its inputs'
shapes and dtypes: an expression numexpr computes in another dtype or shape, or
cannot compile, is left to NumPy. Only float32, float64 and bool values are
fused (numexpr's integer division and complex functions differ from NumPy's).

numexpr is an optional dependency (``pip install numexpr``), imported only
when a program is fused.
"""
import functools

import numpy as np

from ..core import Primitive
from ..numpy.compat import MAX_ITERATOR_OPERANDS
from ..numpy.dispatch import ConstantPrimitive
from ..rules.define import ELEMENTWISE
from .ir import Eqn, Literal, Var
from .printing import HINTS
from .program import Program

__all__ = ["fuse", "fused", "check_backend", "BACKENDS", "FusedProgram", "TEMPLATES",
           "MAX_FUSED_SIZE", "RECOMPUTE_COST", "MAX_KERNEL_INPUTS", "MAX_KERNEL_COST"]

BACKENDS = ("numexpr",)

# a value read more than once is recomputed by each reader when it costs at most this
# many operations (on stored values); otherwise it is stored
RECOMPUTE_COST = 4
# the largest result (in elements) that is fused. numexpr pays off by saving NumPy's
# per-call overhead (about 1 µs an operation); per element it is no faster, and without
# Intel's VML its sin, tanh, ... are 1-15× slower than NumPy's SIMD loops (float32 most):
# on a 2-core box the 200-operation chain of benchmarks/fusion.py broke even near 100
# elements and lost from 1,000 (benchmarks/README.md). None: fuse every size
MAX_FUSED_SIZE = 256
# numexpr passes every input through one NumPy iterator (at most 64 operands, output
# included; 32 before NumPy 2) and addresses registers with a byte: kernels stay inside both
MAX_KERNEL_INPUTS = min(32, MAX_ITERATOR_OPERANDS - 1)
MAX_KERNEL_COST = 160
_FUSED_DTYPES = {np.dtype(np.float32), np.dtype(np.float64), np.dtype(bool)}


def _infix(op):
    return lambda a, b: f"({a} {op} {b})"


def _call(name):
    return lambda *args: f"{name}({', '.join(args)})"


# primitive name -> the numexpr expression of its arguments' expressions
TEMPLATES = {
    "add": _infix("+"), "subtract": _infix("-"), "multiply": _infix("*"),
    "divide": _infix("/"), "power": _infix("**"),
    "greater": _infix(">"), "less": _infix("<"), "greater_equal": _infix(">="),
    "less_equal": _infix("<="), "equal": _infix("=="), "not_equal": _infix("!="),
    "logical_and": _infix("&"), "logical_or": _infix("|"),
    "bitwise_and": _infix("&"), "bitwise_or": _infix("|"),
    "negative": lambda a: f"(-{a})",
    "logical_not": lambda a: f"(~{a})", "invert": lambda a: f"(~{a})",
    "square": lambda a: f"({a} ** 2)",
    "reciprocal": lambda a: f"(1 / {a})",
    "absolute": _call("abs"), "fabs": _call("abs"),
    "stop_gradient": lambda a: a,   # the identity on values
    # g ⊙ d with 0 × ∞ = 0 (riesz.rules.define.scale)
    "zero_safe_multiply": lambda g, d: f"where(({g} == 0) | ({d} == 0), 0, {g} * {d})",
}
TEMPLATES.update({name: _call(name) for name in (
    "sqrt", "exp", "expm1", "log", "log1p", "log10", "log2", "sin", "cos", "tan",
    "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
    "arctan2", "hypot", "copysign", "maximum", "minimum", "where", "sign", "floor", "ceil",
    "trunc", "isnan", "isfinite", "isinf", "signbit")})


def _numexpr():
    try:
        import numexpr
    except ImportError:
        raise ImportError("riesz.jit(..., fuse='numexpr') needs numexpr: install it with "
                          "`pip install numexpr`, or leave fuse=None for plain NumPy code") from None
    return numexpr


def check_backend(backend):
    """Raise a clear error for an unknown or missing fusion backend (None: no fusion)."""
    if backend is None:
        return
    if backend not in BACKENDS:
        raise ValueError(f"riesz.jit: unknown fusion backend fuse={backend!r}; the backends "
                         f"are {BACKENDS} (or None for plain NumPy code)")
    _numexpr()


# ---------------------------------------------------------------- which equations fuse

def _fusible(e):
    """Whether ``e`` can be written as a numexpr expression."""
    if e.prim.name not in TEMPLATES or e.params or e.prim.multiple_results:
        return False
    if e.prim.name not in ELEMENTWISE and not isinstance(e.prim, ConstantPrimitive):
        return False
    out = e.outputs[0]
    if out.scalar_type or not out.shape or out.dtype not in _FUSED_DTYPES:
        return False
    if MAX_FUSED_SIZE is not None and out.size > MAX_FUSED_SIZE:
        return False
    for x in e.inputs:
        if isinstance(x, Var):
            if x.scalar_type or x.dtype not in _FUSED_DTYPES:
                return False
        elif not (type(x.value) in (bool, int, float)
                  or (isinstance(x.value, (np.ndarray, np.generic))
                      and x.value.dtype in _FUSED_DTYPES)):
            return False
    return _numexpr_agrees(e)


_AGREES = {}   # (primitive, output type, input types) -> whether numexpr computes it alike


def _numexpr_agrees(e):
    """Whether numexpr computes ``e`` alone in NumPy's dtype and shape (its ``sign``,
    ``maximum`` and ``minimum`` of float32 give float64, for one)."""
    def kind(x):
        if isinstance(x, Var):
            return x.dtype.str, x.shape
        v = x.value
        return (type(v).__name__, v) if type(v) in (bool, int, float) else (v.dtype.str, v.shape)
    out = e.outputs[0]
    key = (e.prim.name, out.dtype.str, out.shape) + tuple(kind(x) for x in e.inputs)
    agrees = _AGREES.get(key)
    if agrees is None:
        alone = _Node(e, [_Node(leaf=x) for x in e.inputs])
        agrees = _AGREES[key] = _Kernel(alone).compile(out) is not None
    return agrees


class _Node:
    """An expression tree: an operation on child trees, a stored Var or a literal."""
    __slots__ = ("eqn", "children", "leaf", "cost", "leaves")

    def __init__(self, eqn=None, children=(), leaf=None):
        self.eqn, self.children, self.leaf = eqn, children, leaf
        self.cost = (1 + sum(c.cost for c in children)) if eqn is not None else 0
        # ids of the distinct Vars it reads (an upper bound of the kernel's inputs)
        self.leaves = ({id(leaf)} if isinstance(leaf, Var) else set()).union(
            *(c.leaves for c in children))


def _uses(program):
    """(id(Var) -> its number of reads by equations, ids of the Vars a non-fusible
    equation or the program's outputs read)."""
    count, stored = {}, set()
    for e in program.eqns:
        fusible = _fusible(e)
        for x in e.inputs:
            if isinstance(x, Var):
                count[id(x)] = count.get(id(x), 0) + 1
                if not fusible:
                    stored.add(id(x))
    stored.update(id(o) for o in program.outputs if isinstance(o, Var))
    return count, stored


def _trees(program, excluded):
    """(id(Var) -> expression tree of each fused value, ids of the Vars to store)."""
    count, stored = _uses(program)
    trees = {}
    for e in program.eqns:
        if id(e) in excluded or not _fusible(e):
            stored.update(id(x) for x in e.inputs if isinstance(x, Var))
            continue
        children = []
        for x in e.inputs:
            tree = trees.get(id(x)) if isinstance(x, Var) else None
            inline = tree is not None and id(x) not in stored and (
                count[id(x)] == 1 or tree.cost <= RECOMPUTE_COST)
            children.append(tree if inline else _Node(leaf=x))
            if tree is not None and not inline:
                stored.add(id(x))
        node = _Node(e, children)
        if len(node.leaves) > MAX_KERNEL_INPUTS or node.cost > MAX_KERNEL_COST:
            # too large for one kernel: store the inputs and start a new one here
            for x, child in zip(e.inputs, children):
                if child.eqn is not None:
                    stored.add(id(x))
            node = _Node(e, [_Node(leaf=x) for x in e.inputs])
        trees[id(e.outputs[0])] = node
    return trees, stored


# ---------------------------------------------------------------- kernels

class _Kernel:
    """One numexpr kernel: its expression, its inputs (Vars and literals) in order."""

    def __init__(self, root):
        self.inputs, self._names = [], {}
        self.expression = self._render(root, None)

    def _input(self, x, key):
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = f"v{len(self.inputs)}"
            self.inputs.append(x)
        return name

    def _render(self, node, reader):
        if node.eqn is not None:
            args = [self._render(c, node.eqn) for c in node.children]
            return TEMPLATES[node.eqn.prim.name](*args)
        x = node.leaf
        if isinstance(x, Var):
            return self._input(x, id(x))
        v = x.value
        if type(v) is bool or type(v) is int:
            return repr(v)   # weak: takes the dtype of the arrays it meets, like NumPy's
        if type(v) is float:
            # NEP 50: a Python float takes the float dtype of the arrays it meets
            others = [y.dtype for y in reader.inputs if isinstance(y, Var)]
            if others and np.result_type(*others) == np.float32:
                return self._input(Literal(np.float32(v)), ("float32", v))
            return repr(v) if np.isfinite(v) else self._input(Literal(np.float64(v)), ("float64", v))
        return self._input(x, id(x))

    def compile(self, out):
        """The compiled numexpr kernel, checked on arrays of its inputs' shapes and dtypes;
        None where numexpr would compute another dtype or shape, or cannot compile it."""
        numexpr = _numexpr()
        examples = [np.ones(x.shape, x.dtype) if isinstance(x, Var) else np.asarray(x.value)
                    for x in self.inputs]
        signature = [(f"v{i}", numexpr.necompiler.getType(a)) for i, a in enumerate(examples)]
        try:
            kernel = numexpr.NumExpr(self.expression, signature=signature)
            with np.errstate(all="ignore"):
                result = kernel(*examples)
        except (ValueError, TypeError, KeyError, RuntimeError, NotImplementedError,
                SyntaxError, OverflowError):
            return None
        if result.dtype != out.dtype or result.shape != out.shape:
            return None
        return kernel


def _walk(node):
    yield node
    for c in node.children:
        yield from _walk(c)


class FusedProgram(Program):
    """A program whose elementwise chains run as numexpr kernels. On traced arguments
    (a transform applied to it) it applies the original program's equations, so the
    transforms see the primitives they have rules for."""

    def __init__(self, original, eqns, kernels):
        super().__init__(original.name, original.invars, original.outputs, eqns,
                         original.in_tree, original.out_tree)
        self.original = original
        self.kernels = kernels   # the numexpr expressions, in program order
        self.const_hints = dict(original.const_hints)
        self.custom_rules = original.custom_rules

    def bind_eval(self, leaves):
        return self.original.bind_eval(leaves)


def fused(staged, backend):
    """``staged`` (a function returning a program) with its programs fused by ``backend``."""
    check_backend(backend)

    @functools.wraps(staged)
    def staged_and_fused(*args):
        return fuse(staged(*args), backend)
    return staged_and_fused


def fuse(program, backend="numexpr"):
    """``program`` with its chains of elementwise equations fused into numexpr kernels
    (a :class:`FusedProgram`; the program itself when nothing fuses)."""
    check_backend(backend)
    excluded = set()
    while True:
        trees, stored = _trees(program, excluded)
        eqns, kernels, failed = [], [], None
        for e in program.eqns:
            out = e.outputs[0]
            tree = trees.get(id(out))
            if tree is None:
                eqns.append(e)          # a NumPy equation
            elif id(out) not in stored:
                continue                # computed inside the kernels that read it
            elif tree.cost == 1:
                eqns.append(e)          # one operation: NumPy calls it faster
            else:
                kernel = _Kernel(tree)
                compiled = kernel.compile(out)
                if compiled is None:
                    failed = tree
                    break
                eqns.append(_kernel_eqn(e, kernel, compiled))
                kernels.append(kernel.expression)
        if failed is None:
            break
        excluded.update(id(n.eqn) for n in _walk(failed) if n.eqn is not None)
    if not kernels:
        return program
    fused = FusedProgram(program, eqns, kernels)
    numbered = (e.prim.impl for e in eqns if e.prim.name == "numexpr")
    fused.const_hints.update({id(k): f"fused_{i + 1}" for i, k in enumerate(numbered)})
    return fused


def _kernel_eqn(root, kernel, compiled):
    prim = Primitive("numexpr", compiled)
    return Eqn(prim, kernel.inputs, {"expression": kernel.expression}, root.outputs, root.where,
               root.group, root.names, root.errstate)


def _kernel_source(e, args, ctx):
    """``fused_3(x, t2)  # tanh((sin(v0) * v1))``: a call of the compiled kernel (a keyword
    argument of the generated function), with its expression as a comment."""
    return f"{ctx.constant(e.prim.impl)}({', '.join(args)})  # {e.params['expression']}"


HINTS["numexpr"] = _kernel_source
