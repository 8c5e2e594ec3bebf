"""The parts of a staged program: typed variables, constants, equations, and the
staged values an equation's parameters read (an index computed by the program).

Data only: :mod:`riesz.staging.tracer` records them, :mod:`riesz.staging.program`
runs them, :mod:`riesz.staging.source` prints them.
"""
import os

import numpy as np

__all__ = ["Var", "Literal", "Where", "Eqn", "InputRef", "INDEX_PARAMS", "map_params",
           "arity", "resolve"]


class Var:
    """A typed variable of a program: one array of ``shape`` and ``dtype``
    (``scalar_type`` is ``float``/``int``/``complex``/``bool`` for a Python scalar)."""
    __slots__ = ("shape", "dtype", "scalar_type", "hint")

    def __init__(self, example, hint=None):
        self.shape = np.shape(example)
        self.dtype = np.result_type(example)
        self.scalar_type = None if isinstance(example, np.generic) else next(
            (t for t in (bool, int, float, complex) if isinstance(example, t)), None)
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
    statement (or one transposed operation) from the next; ``errstate``, NumPy's handling
    of floating-point errors that the equation was recorded under where it differs from
    the caller's (``(("divide", "ignore"), ...)``, the keywords of ``np.errstate``; None
    where it is the same): a backward pass silences the warnings of the infinite
    derivatives that its zero-safe products drop, and the program does the same."""
    __slots__ = ("prim", "inputs", "params", "outputs", "where", "group", "names", "errstate")

    def __init__(self, prim, inputs, params, outputs, where=None, group=None, names=None,
                 errstate=None):
        self.prim, self.inputs, self.params, self.outputs = prim, inputs, params, outputs
        self.where, self.group = where, group
        # how to name the result: ("assign", the statement's target name), ("d", the Var
        # whose cotangent it is) or ("dot", the Var whose tangent it is); None: a temporary
        self.names = names
        self.errstate = errstate

    def param(self, name, position):
        """Parameter ``name``, given by keyword or as the literal input at ``position``
        (None when it is neither)."""
        if name in self.params:
            return self.params[name]
        if position < len(self.inputs) and isinstance(self.inputs[position], Literal):
            return self.inputs[position].value
        return None


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

