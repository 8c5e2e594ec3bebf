"""Staging: a function as a program, a list of equations over typed variables.

``riesz.trace(f)(*example_args)`` runs ``f`` once on *staged* values and returns a
:class:`Program`. Staging is one more trace of the engine (:class:`StagingTrace`,
beside forward and reverse mode): ``bind`` hands it every primitive, from the same
rule table, and it records the equation instead of keeping only the result. So a
derivative staged through it, ``trace(grad(f))``, is the backward pass that
reverse mode runs, written down operation by operation.

A staged value stands for every array of its shape and dtype: Python control flow
on it (``if x > 0``, ``float(x)``, ``int(x)``) raises :class:`ConcretizationError`
naming the user's line. Internally it carries the example value it was traced
with, only to compute the shapes and dtypes of results with each primitive's own
implementation; nothing outside the staging trace can see that value.
"""
import ast
import functools
import inspect
import linecache
import os
import sys
import warnings

import numpy as np

from .core import JVPTrace, Trace, Tracer, VJPTrace, abstract_trace_open, bind, full_lower
from .numpy.dispatch import constant_function
from .tree import tree_flatten, tree_unflatten

__all__ = ["trace", "Program", "ConcretizationError", "StagingTrace", "Var", "Literal", "Eqn"]


class ConcretizationError(TypeError):
    """Python needed the concrete value of a staged (traced) value."""


# ---------------------------------------------------------------- the program's parts

class Var:
    """A typed variable of a program: one array of ``shape`` and ``dtype``
    (``scalar_type`` is ``float``/``int``/``complex``/``bool`` for a Python scalar)."""
    __slots__ = ("shape", "dtype", "scalar_type", "hint")

    def __init__(self, example, hint=None):
        self.shape = np.shape(example)
        self.dtype = np.result_type(example)
        self.scalar_type = type(example) if type(example) in (float, int, complex, bool) else None
        self.hint = hint   # a name for it, from the user's code or the backward pass

    @property
    def size(self):
        return int(np.prod(self.shape))

    def type_str(self):
        dims = ",".join(str(n) for n in self.shape)
        kind = self.scalar_type.__name__ if self.scalar_type else self.dtype.name
        return f"{kind}[{dims}]"


class Literal:
    """A constant input of an equation: a Python scalar or an array the program closes over."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    @property
    def shape(self):
        return np.shape(self.value)

    @property
    def dtype(self):
        return np.result_type(self.value)


class Where:
    """Where in the user's code an equation came from: a line, and for the backward pass
    the line of the forward operation it transposes."""
    __slots__ = ("filename", "lineno", "text", "backward")

    def __init__(self, filename, lineno, text, backward=False):
        self.filename, self.lineno, self.text, self.backward = filename, lineno, text, backward

    def key(self):
        return (self.filename, self.lineno, self.backward)

    def comment(self):
        what = "backward of " if self.backward else ""
        return f"# {what}{os.path.basename(self.filename)}:{self.lineno}: {self.text}"


class Eqn:
    """``outputs = prim(*inputs, **params)``; ``group`` tells one execution of a user
    statement (or one transposed operation) from the next."""
    __slots__ = ("prim", "inputs", "params", "outputs", "where", "group", "names")

    def __init__(self, prim, inputs, params, outputs, where=None, group=None, names=None):
        self.prim, self.inputs, self.params, self.outputs = prim, inputs, params, outputs
        self.where, self.group = where, group
        # how to name the result: ("assign", the statement's target name), ("d", the Var
        # whose cotangent it is) or ("dot", the Var whose tangent it is); None: a temporary
        self.names = names

    def param(self, name, position):
        """Parameter ``name``, given by keyword or as the literal input at ``position``
        (None when it is neither)."""
        if name in self.params:
            return self.params[name]
        if position < len(self.inputs) and isinstance(self.inputs[position], Literal):
            return self.inputs[position].value
        return None


# ---------------------------------------------------------------- the staging trace

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
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


# ---------------------------------------------------------------- staged values in params

# Parameters that may hold staged integer arrays (x[idx] with idx computed by the program,
# argsort's permutation, say): the result's shape depends on the index's shape only, so
# the program reads the index at run time. Every other parameter is fixed when staging.
INDEX_PARAMS = frozenset({"idx"})


class InputRef:
    """In a recorded parameter, the staged value that is the equation's input ``position``."""
    __slots__ = ("position",)

    def __init__(self, position):
        self.position = position

    def __eq__(self, other):
        return isinstance(other, InputRef) and other.position == self.position

    def __hash__(self):
        return hash((InputRef, self.position))

    def __repr__(self):
        return f"<input {self.position}>"


def map_params(x, fn):
    """``fn`` applied to every leaf of a parameter (through tuples, lists, dicts, slices)."""
    if isinstance(x, (tuple, list)):
        return type(x)(map_params(v, fn) for v in x)
    if isinstance(x, dict):
        return {k: map_params(v, fn) for k, v in x.items()}
    if isinstance(x, slice):
        return slice(*(map_params(v, fn) for v in (x.start, x.stop, x.step)))
    return fn(x)


def arity(e):
    """How many of an equation's inputs are the primitive's arguments (the rest are staged
    values its params read, referred to by :class:`InputRef`)."""
    refs = []
    map_params(e.params, lambda x: refs.append(x.position) if isinstance(x, InputRef) else None)
    return min(refs, default=len(e.inputs))


def resolve(e, values):
    """(the argument values, the params) of equation ``e``, given a value for each of its
    inputs: the params' :class:`InputRef` replaced by their inputs' values."""
    n = arity(e)
    if n == len(values):
        return values, e.params
    params = map_params(e.params, lambda x: values[x.position] if isinstance(x, InputRef) else x)
    return values[:n], params


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
        examples_params = {key: map_params(value, _example) for key, value in params.items()}
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
            primal = _var_of(ans[0] if isinstance(ans, tuple) else ans)
            return where, self._next_group(("tangent", id(frame), key)), ("dot", primal)
        if kind == "backward":
            local = frame.f_locals
            node, argnum = local.get("node"), local.get("argnum")
            if node is not None and argnum is not None:
                forward = _var_of(node.ans if not node.prim.multiple_results else node.ans[0])
                arg = _var_of(node.args[argnum])
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
            var = _var_of(value) if isinstance(value, Tracer) else None
            if var is not None and id(var) in self.renamable:
                var.hint = name
                self.renamable.discard(id(var))

    def _next_group(self, key):
        if not self.eqns or self.eqns[-1].group is None or self.eqns[-1].group[0] != key:
            self._group += 1
        return (key, self._group)


def _var_of(x):
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


# ---------------------------------------------------------------- programs

class Program:
    """A staged function: ``outputs = f(*inputs)`` as a list of equations.

    ``program(*args)`` runs it (on arrays of the traced shapes and dtypes, through
    generated NumPy code); :meth:`source` is that code; ``str(program)`` the compact
    listing. With traced arguments (a transform applied to a program) the equations
    are applied with ``bind``, so every transform sees the primitives.
    """

    def __init__(self, name, invars, outputs, eqns, in_tree, out_tree):
        self.name = name
        self.invars = invars          # Vars, the flattened arguments
        self.outputs = outputs        # Var or Literal, the flattened results
        self.eqns = eqns
        self.in_tree = in_tree
        self.out_tree = out_tree
        self.const_hints = {}         # id(array) -> the user's name for a constant
        self._compiled = None

    def __call__(self, *args):
        leaves, tree = tree_flatten(args)
        if tree != self.in_tree:
            raise TypeError(f"{self.name}: called with arguments of structure {tree}, but it "
                            f"was traced with {self.in_tree}")
        if any(isinstance(x, Tracer) for x in leaves):
            out = self.bind_eval(leaves)
        else:
            for x, v in zip(leaves, self.invars):
                if np.shape(x) != v.shape:
                    raise TypeError(f"{self.name}: an argument has shape {np.shape(x)}, but it "
                                    f"was traced with {v.shape}; trace it again for new shapes")
            out = self.compiled()(*leaves)
            out = list(out) if len(self.outputs) != 1 else [out]
        return tree_unflatten(self.out_tree, out)

    def dot(self):
        """The program's data flow as Graphviz DOT text (:func:`riesz.graph`)."""
        from .graph import program_dot
        return program_dot(self)

    def bind_eval(self, leaves):
        """The flattened outputs for flattened inputs, every equation applied with ``bind``."""
        env = {id(v): x for v, x in zip(self.invars, leaves)}
        for e in self.eqns:
            args = [i.value if isinstance(i, Literal) else env[id(i)] for i in e.inputs]
            n = arity(e)   # an index read from the params carries no derivative: lowered
            args, params = resolve(e, args[:n] + [full_lower(x) for x in args[n:]])
            ans = bind(e.prim, args, params)
            for v, x in zip(e.outputs, ans if e.prim.multiple_results else (ans,)):
                env[id(v)] = x
        return [o.value if isinstance(o, Literal) else env[id(o)] for o in self.outputs]

    def compiled(self):
        """The program as a Python function, compiled from :meth:`source` once (or, for a
        primitive that cannot be written as NumPy source, its equations interpreted)."""
        if self._compiled is None:
            from .source import compile_program
            try:
                self._compiled = compile_program(self)
            except NotImplementedError as error:
                warnings.warn(f"{self.name}: {error}; running the program by interpreting "
                              f"its equations", RuntimeWarning, stacklevel=3)
                self._compiled = self._interpreted
        return self._compiled

    def _interpreted(self, *leaves):
        out = self.bind_eval(leaves)
        return out[0] if len(out) == 1 else tuple(out)

    def source(self, **options):
        from .source import program_source
        return program_source(self, **options).text

    def __str__(self):
        from .source import program_listing
        return program_listing(self)

    def __repr__(self):
        return (f"<Program {self.name}: {len(self.invars)} inputs, {len(self.eqns)} equations, "
                f"{len(self.outputs)} outputs>")


def _arg_names(f, args):
    """(name, whether it is made up from a pytree position) per flattened argument leaf: the
    parameter names of ``f`` (``x``; ``params_0``, ``params_W`` for a tuple's or a dict's
    entries), or ``a0``, ``a1``, ... where they cannot be read."""
    try:
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = []
    for i, a in enumerate(args):
        base = params[i] if i < len(params) else f"a{i}"
        leaves, tree = tree_flatten(a)
        if len(leaves) == 1 and tree.kind is None:
            names.append((base, False))
            continue
        keys = list(a.keys()) if isinstance(a, dict) else None
        for k in range(len(leaves)):
            key = keys[k] if keys is not None and len(keys) == len(leaves) else k
            names.append((f"{base}_{key}", True))
    return names


def stage(f, args, name=None):
    """Stage ``f(*args)`` into a :class:`Program` (``args`` a tuple of pytrees of examples;
    an example that is itself traced stands for its value)."""
    leaves, in_tree = tree_flatten(tuple(args))
    names = _arg_names(f, args)
    staging = StagingTrace()
    boxed = [staging.new_input(_example(x), n) for x, (n, _) in zip(leaves, names)]
    # W1, b1 = params: the user's own names for pytree leaves, found in their frames
    staging.renamable = {id(b.variable) for b, (_, made_up) in zip(boxed, names) if made_up}
    with abstract_trace_open():
        out = f(*tree_unflatten(in_tree, boxed))
    out_leaves, out_tree = tree_flatten(out)
    outputs = []
    for o in out_leaves:
        var = _var_of(o) if isinstance(o, Tracer) else None
        if isinstance(o, Tracer) and (var is None or o is not _bottom(o)):
            raise TypeError(f"{name or f.__name__}: an output is traced by a transform that "
                            f"was still open when the function returned")
        outputs.append(var if var is not None else Literal(o))
    _keep_names_at_group_ends(staging.eqns)
    program = Program(name or getattr(f, "__name__", "f"), [b.variable for b in boxed], outputs,
                      staging.eqns, in_tree, out_tree)
    program.const_hints = _user_array_names(f)
    from .simplify import simplify
    return simplify(program)


def _user_array_names(f):
    """id(array) -> the name the user's function (or the one it wraps) gives that array,
    from its closure and the globals it reads: names for constants in generated code."""
    names = {}
    while f is not None:
        code = getattr(f, "__code__", None)
        if code is not None:
            scope = {n: f.__globals__[n] for n in code.co_names if n in f.__globals__}
            scope.update({n: c.cell_contents for n, c in zip(code.co_freevars, f.__closure__ or ())
                          if _cell_filled(c)})
            for n, v in scope.items():
                if isinstance(v, np.ndarray):
                    names.setdefault(id(v), n)
        f = getattr(f, "__wrapped__", None)
    return names


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


def _example(x):
    """A concrete value standing for ``x`` (a staged tracer stands for its example)."""
    x = full_lower(x)
    return x.primal if isinstance(x, Tracer) else x


def trace(f, static_argnums=()):
    """``trace(f)(*example_args)`` is ``f`` staged into a :class:`Program`.

    The program stands for ``f`` at every argument of the examples' shapes, dtypes and
    pytree structure; ``static_argnums`` are fixed to the given values (they may steer
    Python control flow). Derivatives stage too: ``trace(grad(f))(x)`` is the backward pass.

    >>> import numpy as np, riesz
    >>> program = riesz.trace(lambda x: np.sin(x) * 2.0)(np.ones(3))
    >>> np.allclose(program(np.zeros(3) + 0.5), np.sin(0.5) * 2.0)
    True
    """
    static = tuple(static_argnums) if not isinstance(static_argnums, int) else (static_argnums,)

    @functools.wraps(f)
    def staged(*args):
        fixed = {i % len(args): args[i] for i in static}
        dynamic = tuple(a for i, a in enumerate(args) if i not in fixed)

        def f_dynamic(*dargs):
            it = iter(dargs)
            return f(*[fixed[i] if i in fixed else next(it) for i in range(len(args))])
        functools.update_wrapper(f_dynamic, f)
        f_dynamic.__signature__ = _dynamic_signature(f, fixed)
        return stage(f_dynamic, dynamic, name=getattr(f, "__name__", None))
    return staged


def _dynamic_signature(f, fixed):
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return None
    params = [p for i, p in enumerate(sig.parameters.values()) if i not in fixed]
    return sig.replace(parameters=params)
