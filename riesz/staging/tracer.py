"""The staging trace: a function run on *staged* values, its primitives recorded.

Staging is one more trace of the engine (:class:`StagingTrace`, beside forward and
reverse mode): ``bind`` hands it every primitive, from the same rule table, and it
records the equation (:mod:`riesz.staging.ir`) instead of keeping only the result.
So a derivative staged through it, ``trace(grad(f))``, is the backward pass that
reverse mode runs, written down operation by operation.

A staged value stands for every array of its shape and dtype: Python control flow
on it (``if x > 0``, ``float(x)``, ``int(x)``) raises :class:`ConcretizationError`
naming the user's line. Internally it carries the example value it was traced
with, only to compute the shapes and dtypes of results with each primitive's own
implementation; nothing outside the staging trace can see that value.
"""
import ast
import functools
import linecache
import os
import sys

import numpy as np

from ..core import JVPTrace, Trace, Tracer, VJPTrace, full_lower
from ..numpy.dispatch import constant_function
from .ir import INDEX_PARAMS, Eqn, InputRef, Literal, Var, Where, map_params

__all__ = ["ConcretizationError", "StagingTracer", "StagingTrace", "user_frame", "var_of",
           "example_of"]


class ConcretizationError(TypeError):
    """Python needed the concrete value of a staged (traced) value."""


# ---------------------------------------------------------------- the staging trace

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # riesz/
_NUMPY_DIR = os.path.dirname(np.__file__)
_SKIP_DIRS = (_PACKAGE_DIR, _NUMPY_DIR, os.path.dirname(functools.__file__))


def _is_library_frame(frame):
    filename = frame.f_code.co_filename
    return filename.startswith(_SKIP_DIRS) or filename.startswith("<frozen") or filename == "<string>"


def user_frame():
    """The innermost frame of the user's code (outside riesz, NumPy and the standard library)."""
    return _user_call()[0]


def _user_call():
    """(the innermost user frame, the frame of the library call it is making)."""
    frame, callee = sys._getframe(1), None
    while frame is not None and _is_library_frame(frame):
        frame, callee = frame.f_back, frame
    return frame, callee


def _library_caller():
    """The frame of riesz's own code that is asking for a concrete value (NumPy's frames in
    between skipped), or None when the user's code asks."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_NUMPY_DIR):
        frame = frame.f_back
    if frame is None or not frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        return None
    return frame


def _line_text(filename, lineno):
    return linecache.getline(filename, lineno).strip()


_BACKWARD_CODE = VJPTrace.backward.__code__
_JVP_CODE = JVPTrace.process.__code__


def _transform_frame():
    """The innermost frame of a transform's own work running now: the backward pass
    (``"backward"``) or a forward-mode rule computing a tangent (``"tangent"``); or None."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is _BACKWARD_CODE:
            return "backward", frame
        if frame.f_code is _JVP_CODE and "ans" in frame.f_locals:
            return "tangent", frame   # past the primal computation: in the rules
        frame = frame.f_back
    return None, None


class StagingTracer(Tracer):
    """A staged value: a variable of the program, and the example value it was traced with
    (only the staging trace reads ``primal``, for shapes and dtypes)."""
    __slots__ = ("variable",)
    abstract = True

    def __init__(self, trace, example, variable):
        self._trace = trace
        self.primal = example
        self.variable = variable   # not "var": that is ndarray.var, x.var() in user code

    def concretization_error(self, what):
        frame = user_frame()
        where = "" if frame is None else (
            f" at {frame.f_code.co_filename}:{frame.f_lineno} "
            f"({_line_text(frame.f_code.co_filename, frame.f_lineno)!r})")
        error = ConcretizationError(
            f"{what} needs the concrete value of a staged {self.variable.type_str()} value{where}: "
            f"riesz.jit and riesz.trace stage the function once for every value of this "
            f"shape and dtype, so Python control flow cannot depend on the values. Pass the "
            f"argument as static (riesz.jit(f, static_argnums=...)), use np.where for a "
            f"choice between values, or run the function eagerly (without jit)")
        error.in_library = False
        return error

    def __array__(self, dtype=None, copy=None):
        frame = _library_caller()
        if frame is None:
            error = self.concretization_error("np.asarray() (a conversion to a NumPy array)")
            if self.variable.dtype.kind in "iu":   # most likely an index into a NumPy array
                error.args = (error.args[0] + ". An index into a NumPy array (table[ids], "
                              "np.take(table, ids)) is converted by NumPy: write "
                              "riesz.numpy.take(table, ids, axis=0), which stages the gather",)
            raise error
        raise self._library_error(frame, "converts a staged {} value to a NumPy array")

    def __bool__(self):
        frame = _library_caller()
        if frame is None:
            raise self.concretization_error("bool() (an if, while, and/or or assert)")
        raise self._library_error(frame, "branches on a staged {} value")

    def _library_error(self, frame, what):
        """A ConcretizationError of riesz's own code (a rule that needs concrete values):
        ``riesz.jit`` then runs the function eagerly for this signature, with a warning."""
        error = ConcretizationError(
            f"{frame.f_code.co_filename}:{frame.f_lineno} "
            f"{what.format(self.variable.type_str())} "
            f"({_line_text(frame.f_code.co_filename, frame.f_lineno)!r}), so it cannot be "
            f"staged: a rule must compute masks and other zero-derivative values with array "
            f"operations (riesz.rules.define.as_dtype instead of np.asarray), or mark its "
            f"helper with riesz.numpy.dispatch.constant_function")
        error.in_library = True
        return error

    def __int__(self):
        raise self.concretization_error("int()")

    def __index__(self):
        raise self.concretization_error("using it as an index or a size")

    def __float__(self):
        raise self.concretization_error("float()")

    def __repr__(self):
        return f"StagingTracer({self.variable.type_str()})"

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # mask & staged mask, with the array first, reaches the ufunc itself
        mask_op = _MASK_UFUNCS.get(ufunc) if method == "__call__" and not kwargs else None
        if mask_op is not None:
            return mask_op(*inputs)
        return Tracer.__array_ufunc__(self, ufunc, method, *inputs, **kwargs)

    # bitwise operators on masks (~isnan(x) & (x > 0) in a rule): staged, no derivative
    def __invert__(self):
        return _invert(self)

    def __and__(self, other):
        return _bitwise_and(self, other)

    def __rand__(self, other):
        return _bitwise_and(other, self)

    def __or__(self, other):
        return _bitwise_or(self, other)

    def __ror__(self, other):
        return _bitwise_or(other, self)

    def __xor__(self, other):
        return _bitwise_xor(self, other)

    def __rxor__(self, other):
        return _bitwise_xor(other, self)


_MASK_UFUNCS = {f: constant_function(f)
                for f in (np.invert, np.bitwise_and, np.bitwise_or, np.bitwise_xor)}
_invert, _bitwise_and, _bitwise_or, _bitwise_xor = _MASK_UFUNCS.values()


class StagingTrace(Trace):
    """Record every primitive applied to staged values as an equation of a program."""
    __slots__ = ("eqns", "_last_site", "_group", "renamable")

    def __init__(self):
        super().__init__()
        self.eqns = []
        self.renamable = set()   # ids of input Vars still named by their pytree position
        self._last_site = None
        self._group = 0

    def new_input(self, example, hint):
        return StagingTracer(self, example, Var(example, hint))

    def _unbox(self, args):
        examples, inputs = [], []
        for a in args:
            if isinstance(a, StagingTracer) and a._trace is self:
                examples.append(a.primal)
                inputs.append(a.variable)
            elif isinstance(a, Tracer):
                raise TypeError("riesz.trace / riesz.jit: a value traced outside the staged "
                                "function reached it (a closure over a traced value?); pass it "
                                "as an argument instead")
            else:
                examples.append(a)
                inputs.append(Literal(a))
        return examples, inputs

    def process(self, prim, args, params):
        examples, inputs = self._unbox(args)
        read = []   # staged values read from the params: inputs after the arguments
        recorded = {key: self._param(prim, key, value, len(args), read)
                    for key, value in params.items()}
        examples_params = {key: map_params(value, example_of) for key, value in params.items()}
        with np.errstate(all="ignore"):
            ans = prim.impl(*examples, **examples_params)
        outs = list(ans) if prim.multiple_results else [ans]
        out_vars = [Var(v) for v in outs]
        self.eqns.append(Eqn(prim, inputs + [t.variable for t in read], recorded, out_vars,
                             *self._site()))
        tracers = [StagingTracer(self, v, var) for v, var in zip(outs, out_vars)]
        return tuple(tracers) if prim.multiple_results else tracers[0]

    def _param(self, prim, key, value, arity, read):
        """A parameter as recorded: a staged integer array in an index becomes an
        :class:`InputRef` to an input of the equation (appended to ``read``)."""
        def record(x):
            if not isinstance(x, Tracer):
                return x
            if (key in INDEX_PARAMS and isinstance(x, StagingTracer) and x._trace is self
                    and np.issubdtype(x.variable.dtype, np.integer)):
                k = next((k for k, t in enumerate(read) if t is x), None)
                if k is None:
                    k = len(read)
                    read.append(x)
                return InputRef(arity + k)
            what = ("a staged boolean mask as an index (the result's shape would depend on "
                    "its values; use np.where(mask, x, 0) instead)"
                    if key in INDEX_PARAMS and isinstance(x, StagingTracer)
                    else f"a traced value as the {key!r} of {prim.name}")
            raise x.concretization_error(what) if isinstance(x, StagingTracer) else TypeError(
                f"riesz.trace / riesz.jit: {what}, traced by an outer transform")
        return map_params(value, record)

    def process_custom_vjp(self, name, fun, fwd, bwd, args):
        return fun(*args)   # staged as the primitives of fun; reverse mode above uses bwd

    def _site(self):
        """(where, group, names) of the equation being recorded now.

        In the backward pass, the forward operation being transposed and the argument
        whose cotangent is computed name it (``dW`` for W's); otherwise the user's line,
        and one group per execution of that line (a loop runs a line many times)."""
        kind, frame = _transform_frame()
        if kind == "tangent":
            where, key, _ = self._user_site()
            ans = frame.f_locals["ans"]
            primal = var_of(ans[0] if isinstance(ans, tuple) else ans)
            return where, self._next_group(("tangent", id(frame), key)), ("dot", primal)
        if kind == "backward":
            local = frame.f_locals
            node, argnum = local.get("node"), local.get("argnum")
            if node is not None and argnum is not None:
                forward = var_of(node.ans if not node.prim.multiple_results else node.ans[0])
                arg = var_of(node.args[argnum])
                where = _forward_where(self.eqns, forward)
                key = ("backward", id(node), argnum, local.get("slot"))
                return where, self._next_group(key), ("d", arg)
        where, key, names = self._user_site()
        return where, self._next_group(key), names

    def _user_site(self):
        """(where, group key, names) for the user's line running now."""
        frame, callee = _user_call()
        if frame is None:
            return None, None, None
        if self.renamable:
            self._rename_inputs(frame)
        filename, lineno = frame.f_code.co_filename, frame.f_lineno
        key = (id(frame), lineno)
        # the line runs again (the next loop iteration) when a new call starts at the same
        # or an earlier instruction; holding the callee's frame keeps its identity unique
        last = self._last_site
        if last is not None and last[0] == key and last[1] is not callee and frame.f_lasti <= last[2]:
            self._group += 1
        self._last_site = (key, callee, frame.f_lasti)
        where = Where(filename, lineno, _line_text(filename, lineno))
        return where, key, ("assign", _assign_target(filename, lineno))

    def _rename_inputs(self, frame):
        for name, value in frame.f_locals.items():
            var = var_of(value) if isinstance(value, Tracer) else None
            if var is not None and id(var) in self.renamable:
                var.hint = name
                self.renamable.discard(id(var))

    def _next_group(self, key):
        if not self.eqns or self.eqns[-1].group is None or self.eqns[-1].group[0] != key:
            self._group += 1
        return (key, self._group)


def var_of(x):
    """The program variable under a value of any trace level (None for a constant)."""
    while isinstance(x, Tracer) and not isinstance(x, StagingTracer):
        x = x.primal
    return x.variable if isinstance(x, StagingTracer) else None


def _forward_where(eqns, var):
    for e in reversed(eqns):
        if var is not None and any(o is var for o in e.outputs):
            if e.where is None:
                return None
            return Where(e.where.filename, e.where.lineno, e.where.text, backward=True)
    return None


@functools.lru_cache(maxsize=256)
def _assign_target(filename, lineno):
    """The name a simple assignment on this line binds (``y = ...``, ``y += ...``), or None."""
    text = _line_text(filename, lineno)
    try:
        stmt = ast.parse(text).body[0]
    except (SyntaxError, IndexError):
        return None
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        target = stmt.target
    else:
        return None
    return target.id if isinstance(target, ast.Name) else None


def example_of(x):
    """A concrete value standing for ``x`` (a staged tracer stands for its example)."""
    x = full_lower(x)
    return x.primal if isinstance(x, Tracer) else x
