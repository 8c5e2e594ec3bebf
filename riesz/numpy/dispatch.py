"""How plain NumPy code reaches riesz: the dispatch protocols and ndarray behaviour
of traced values.

NumPy hands a call with a traced argument to ``Tracer.__array_ufunc__`` (ufuncs)
or ``Tracer.__array_function__`` (everything else); both look the NumPy callable
up in :data:`HANDLED`, which the rule modules fill with :func:`implements`. A
NumPy function missing there raises :class:`~riesz.core.NoRuleError` naming it:
never a silent conversion that would drop the derivative.
"""
import sys

import numpy as np

from ..core import Tracer, NoRuleError, Primitive, ZERO, bind, full_lower, lower_to_values

__all__ = ["HANDLED", "UFUNC_PRIMITIVES", "UFUNC_METHODS", "implements", "implements_constant", "constant_function",
           "lower_all"]

HANDLED = {}
# ufuncs that are one primitive each (np.sin is the primitive "sin"): a call with no
# keyword arguments binds it directly, the engine's fastest path
UFUNC_PRIMITIVES = {}
# the ufunc methods (np.add.reduce, np.subtract.outer, ...) on traced values, by method name:
# UFUNC_METHODS["outer"](ufunc, *inputs, **kwargs), filled by riesz.rules.ufunc_methods
UFUNC_METHODS = {}


def _qualname(func):
    if isinstance(func, np.ufunc):
        # NumPy's own ufuncs are attributes of numpy; others (scipy.special's) are not
        own = getattr(np, func.__name__, None) is func
        return f"numpy.{func.__name__}" if own else f"the ufunc {func.__name__} (not NumPy's)"
    return f"{getattr(func, '__module__', None) or 'numpy'}.{func.__name__}"


def implements(*np_funcs):
    """Register the decorated function as the implementation of ``np_funcs`` on traced values
    (None stands for a function the running NumPy lacks, riesz.numpy.compat: nothing to register)."""
    def register(fn):
        for f in np_funcs:
            if f is not None:
                HANDLED[f] = fn
        return fn
    return register


def lower_all(x, lower=full_lower):
    """``x`` with every traced value replaced by its concrete value (through lists and tuples),
    or what ``lower`` gives for it."""
    if isinstance(x, Tracer):
        return lower(x)
    if type(x) in (list, tuple):
        return type(x)(lower_all(v, lower) for v in x)
    return x


def implements_constant(*np_funcs, shape_only=False):
    """NumPy functions whose result carries no derivative (comparisons, argmax, floor, ...):
    on traced values they run on the concrete values. ``shape_only`` marks functions of the
    shape and dtype alone (np.shape, np.ndim): they run on stand-ins of the traced values'
    shapes, so that they give plain Python values even on staged values."""
    for f in np_funcs:
        HANDLED[f] = _constant(f, shape_only)


# {function without a derivative: its batching rule} for those that riesz.vmap runs on a
# whole batch at once besides the ufuncs (riesz.rules.batching fills it: argmax, argsort)
BATCHED_CONSTANTS = {}


def runs_on_batches(f):
    """Whether riesz.vmap runs ``f``, a function without a derivative, on a whole batch of
    examples at once: a ufunc of one result (a comparison, ``isnan``, ``floor``: entry by
    entry), or a function with a batching rule in :data:`BATCHED_CONSTANTS`. Any other needs
    each example's value (vmap then maps the function over the examples one at a time)."""
    return isinstance(f, np.ufunc) and f.nout == 1 or f in BATCHED_CONSTANTS


class ConstantPrimitive(Primitive):
    """A NumPy function with a zero derivative as a primitive. It is bound only when its
    arguments have no concrete value: a program being staged (riesz.staging), so that the
    staged program computes it instead of baking in one result, and a batch of examples
    (riesz.vmap) for a function that runs on batches (:func:`runs_on_batches`), so that it
    runs on the whole batch at once."""
    __slots__ = ()

    def rule(self, kind, argnum):
        return ZERO


def _stand_in(x):
    # an array of x's shape and dtype, with no values to read (one zero-stride element)
    if not isinstance(x, Tracer):
        return x
    return np.broadcast_to(np.empty((), dtype=x.dtype), x.shape)


def _constant(f, shape_only=False):
    prim = ConstantPrimitive(f.__name__, f)

    def run(*args, **kwargs):
        if shape_only:
            return f(*map(_stand_in, args), **kwargs)
        # on a batch of examples (riesz.vmap), one call on the whole batch where it can
        lower = lower_to_values if runs_on_batches(f) else full_lower
        args = lower_all(args, lower)
        kwargs = {k: lower_all(v, lower) for k, v in kwargs.items()}
        # staged or batched (an argument, or an index passed by keyword): record the operation
        if any(isinstance(a, Tracer) for a in args + tuple(_flat(kwargs.values()))):
            # constant lists (np.isin(x, [1, 2])) enter the staged program as arrays
            args = tuple(np.asarray(a) if type(a) is list else a for a in args)
            return bind(prim, args, kwargs)
        return f(*args, **kwargs)
    run.__name__ = f.__name__
    run.__doc__ = f"{_qualname(f)} on concrete values: its derivative is zero or undefined."
    return run


def _flat(values):
    for v in values:
        if type(v) in (list, tuple):
            yield from _flat(v)
        else:
            yield v


def constant_function(f):
    """Decorator for a helper of the rule table that computes a value with a zero derivative
    from concrete values (a mask, the shares of a tie): it runs on the concrete values, and
    on staged values (riesz.trace, riesz.jit) it is recorded as one operation."""
    run = _constant(f)
    run.__doc__ = f.__doc__
    return run


def _no_rule(func):
    return NoRuleError(
        f"no derivative rule for {_qualname(func)} on a traced value; supported functions "
        f"are riesz.numpy.__all__, listed with their conventions in the API reference of "
        f"riesz.numpy (or wrap your own with riesz.custom_vjp)")


# ---------------------------------------------------------------- the protocols

def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    if not kwargs and method == "__call__":
        prim = UFUNC_PRIMITIVES.get(ufunc)
        if prim is not None:
            if len(inputs) == 1:   # bind's choice of trace, made here: np.exp(x) is x's
                return self._trace.process(prim, inputs, {})
            return bind(prim, inputs, {})
    if method != "__call__":
        impl = UFUNC_METHODS.get(method)
        if impl is None:
            raise NoRuleError(f"numpy.{ufunc.__name__}.{method} is not supported on traced "
                              f"values; supported ufunc methods are {sorted(UFUNC_METHODS)}")
        return impl(ufunc, *inputs, **kwargs)
    out = kwargs.pop("out", None)
    if out is not None:
        # np.multiply(y, x, out=y) on a traced y: y *= x, as NumPy writes it in place (with
        # where=mask: y = where(mask, y * x, y))
        target = out[0] if isinstance(out, tuple) and len(out) == 1 else out
        if not isinstance(target, Tracer):
            raise TypeError(f"numpy.{ufunc.__name__}(..., out=...) cannot write a traced value "
                            f"into a NumPy array; assign the result instead "
                            f"(y = np.{ufunc.__name__}(...)). For y[idx] += v or y += v with y "
                            f"a NumPy array, write y = riesz.numpy.at(y)[idx].add(v) or "
                            f"y = y + v")
        where = kwargs.pop("where", True)   # entries left as they are in y where False
        if where is True:
            new = _array_ufunc(target, ufunc, method, *inputs, **kwargs)
        else:   # NumPy computes nothing where the mask is False: no warnings from there
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                new = np.where(where, _array_ufunc(target, ufunc, method, *inputs, **kwargs),
                               target)
        return _write_into(target, new, f"numpy.{ufunc.__name__}(..., out=y)", ufunc.__name__)
    impl = HANDLED.get(ufunc)
    if impl is None:
        raise _no_rule(ufunc)
    return impl(*inputs, **kwargs)


def _operator(ufunc, reflected):
    def apply(self, other):
        args = (other, self) if reflected else (self, other)
        prim = UFUNC_PRIMITIVES.get(ufunc)
        # bind's choice of trace, made here for two operands (the hottest call of all):
        # the higher level's
        top = self._trace
        if isinstance(other, Tracer) and other._trace.level > top.level:
            top = other._trace
        try:
            return top.process(prim, args, {}) if prim is not None else _handler(ufunc)(*args)
        except TypeError:
            # NumPy's binary operators defer to an operand that sets __array_ufunc__ = None
            # (a riesz.LinearMap: a * A is A.__rmul__(a)); tested once NumPy refused it
            if getattr(type(other), "__array_ufunc__", 0) is None:
                return NotImplemented
            raise
    return apply


def _handler(func):
    impl = HANDLED.get(func)
    if impl is None:
        raise _no_rule(func)
    return impl


def _array_function(self, func, types, args, kwargs):
    impl = HANDLED.get(func)   # _handler, inlined: every NumPy function call comes here
    if impl is None:
        raise _no_rule(func)
    if "out" in kwargs and isinstance(kwargs["out"], Tracer):
        # np.clip(y, a, b, out=y), np.sum(x, axis=0, out=y) on a traced y: y updated in place
        kwargs = dict(kwargs)
        target = kwargs.pop("out")
        return _write_into(target, impl(*args, **kwargs), f"{_qualname(func)}(..., out=y)",
                           func.__name__)
    return impl(*args, **kwargs)


def _array(self, dtype=None, copy=None):
    value = full_lower(self)
    if dtype is not None and np.dtype(dtype).kind in "iub" and not isinstance(value, Tracer):
        # np.int64(x), np.asarray(x, dtype=int): integers carry no derivative to drop
        return np.asarray(value).astype(dtype)
    library_function = _calling_library_function()
    if library_function is not None:
        name, hint = library_function
        raise TypeError(f"{name} converts its arguments to NumPy arrays (np.asarray), which "
                        f"would drop the derivative of a traced value; {hint}")
    raise TypeError(
        "converting a traced value to a NumPy array (np.asarray, np.array, np.float64(x), or "
        "an assignment into an ndarray) would drop its derivative. To build an array from "
        "traced values (np.array([a, b]), or a list passed to np.sum/np.mean), write "
        "np.stack([a, b]) (plain NumPy code) or riesz.numpy.array([a, b]); riesz.numpy.asarray "
        "keeps derivatives. For y[idx] = v into a NumPy array y, write the update as a new "
        "array: y = riesz.numpy.at(y)[idx].set(v)")


_SCIPY_HINT = (
    "import the differentiable version from riesz.scipy instead (riesz.scipy.special: "
    "logsumexp, softmax, log_softmax, betaln, multigammaln; riesz.scipy.stats: norm, "
    "multivariate_normal, t, gamma, beta, chi2, poisson, dirichlet; riesz.scipy.linalg: "
    "solve_triangular, solve_banded, cholesky, cho_factor, cho_solve, expm, sqrtm, "
    "solve_sylvester; riesz.scipy.integrate: odeint), "
    "or write the formula with NumPy functions")
# NumPy's Python functions that convert their arguments, and what to write instead
_NUMPY_HINTS = {
    "full": "write riesz.numpy.full(shape, v), np.broadcast_to(v, shape) or v * np.ones(shape) "
            "for np.full(shape, v)",
    "vectorize": "write the function with array operations, or loop and np.stack the results",
    "frompyfunc": "write the function with array operations, or loop and np.stack the results",
    # np.r_[...] and np.c_[...]
    "AxisConcatenator": "write riesz.numpy.r_[...] or riesz.numpy.c_[...] (the same syntax, "
                        "with derivatives), or np.concatenate / np.column_stack",
}


def _calling_library_function():
    """``(name, hint)`` when the conversion happens inside a SciPy Python function
    (``scipy.special.logsumexp``) or one of NumPy's in :data:`_NUMPY_HINTS` (``np.full``):
    the library frame that user code called, with what to write instead; None otherwise."""
    frame, found = sys._getframe(2), None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        root = module.split(".", 1)[0]
        if root not in ("numpy", "scipy"):
            break
        found, frame = frame, frame.f_back
    if found is None:
        return None
    module = found.f_globals["__name__"]
    qualname = getattr(found.f_code, "co_qualname", found.f_code.co_name)   # 3.11+
    head = qualname.split(".", 1)[0]          # the function, or the class of a method
    if module.startswith("scipy"):
        public = ".".join(part for part in module.split(".") if not part.startswith("_"))
        return f"{public}.{qualname}", _SCIPY_HINT
    if head not in _NUMPY_HINTS:   # np.sum([a, b]) and the like: the general message fits
        return None
    return f"numpy.{qualname}", _NUMPY_HINTS[head]


class ConversionError(TypeError):
    """A traced value converted to a Python or NumPy number, which would drop its derivative."""


_ASSIGNED_INTO_NUMPY = (
    "y[idx] = v assigns a traced value v into a NumPy array y (made by np.zeros, say), which "
    "would drop its derivative. Write the update as a new array, "
    "y = riesz.numpy.at(y)[idx].set(v), or start from a traced array, y = np.zeros_like(x) "
    "for a traced x (then y[idx] = v works), or build y from traced values with np.stack / "
    "riesz.numpy.array")


_NO_AT_ON_NUMPY = (
    "'numpy.{}' object has no attribute 'at': y.at[idx].set(v) is JAX's indexed update, "
    "which traced values have but a NumPy array (made by np.zeros, say) cannot: write "
    "y = riesz.numpy.at(y)[idx].set(v), which works on both, or start from a traced array, "
    "y = np.zeros_like(x) for a traced x")


class conversions_named:
    """Run user code under a transform, naming riesz's fix where NumPy hides it:
    ``y[i] = v`` for a NumPy ``y`` and a traced scalar ``v`` calls float(v), whose error NumPy
    replaces by "setting an array element with a sequence" (a traced value has
    ``__getitem__``, so NumPy takes it for a sequence); and ``y.at[i].set(v)`` for a NumPy
    ``y``, whose AttributeError comes from NumPy's type (a type test of the error's
    object). A class rather than a generator:
    every transform's call enters it."""
    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, ValueError) and isinstance(error.__cause__, ConversionError):
            raise ConversionError(_ASSIGNED_INTO_NUMPY).with_traceback(traceback) from None
        if isinstance(error, AttributeError) and error.name == "at" and \
                isinstance(error.obj, (np.ndarray, np.generic)):
            raise AttributeError(_NO_AT_ON_NUMPY.format(type(error.obj).__name__),
                                 name="at", obj=error.obj).with_traceback(traceback) from None
        return False


def _float(self):
    raise ConversionError(
        "float() of a traced value would drop its derivative (the math module's functions, "
        "math.sqrt, math.exp, ..., call float(): use np.sqrt, np.exp, ... instead); keep it "
        "as an array (a 0-d array works wherever a float does), or use riesz.stop_gradient(x) "
        "explicitly if you want a constant. For y[idx] = v into a NumPy array y, write the "
        "update as a new array: y = riesz.numpy.at(y)[idx].set(v)")


def _format(self, spec):
    # printing a traced value (f"{loss:.3f}") shows its concrete value
    return format(full_lower(self), spec)


def _round(self, ndigits=None):
    # round(x) on a traced value: piecewise constant, computed on the concrete value
    value = np.round(full_lower(self), ndigits or 0)
    return int(value) if ndigits is None and np.ndim(value) == 0 else value


def _complex(self):
    raise TypeError("complex() of a traced value would drop its derivative; keep it as an array")


def _item(self, *args):
    raise TypeError("x.item() of a traced value would drop its derivative; index it instead "
                    "(x[()] or x[i]) to keep a traced scalar")


def _tolist(self):
    """x.tolist(): nested lists of traced 0-d values (``sum(x.tolist())`` keeps the
    derivative), as NumPy gives nested lists of Python scalars."""
    return [_tolist(row) for row in self] if self.shape else self


def _int(self):
    return int(full_lower(self))   # integers carry no derivative


def _bool(self):
    return bool(full_lower(self))   # control flow uses the concrete value


def _len(self):
    shape = self.shape
    if not shape:
        raise TypeError("len() of a 0-d traced value")
    return shape[0]


def _iter(self):
    return (self[i] for i in range(len(self)))


def _repr(self):
    kind = type(self).__name__
    return f"{kind}(level={self._trace.level}, value={full_lower(self)!r})"


def _sort_in_place(self, axis=-1, kind=None, order=None):
    # ndarray.sort sorts in place: the traced value is rebound to its sorted copy
    from ..rules.indexing import rebind
    rebind(self, np.sort(self, axis=axis, kind=kind, order=order), "x.sort()")


def _in_place(f, name):
    """``y op= v`` on a traced ``y``: as in NumPy the object ``y`` itself is updated (every
    name bound to it sees the new value) and keeps its shape and dtype."""
    def update(self, other):
        return _write_into(self, _handler(f)(self, other), f"y {name}= v", f.__name__)
    return update


def _write_into(target, new, what, ufunc_name):
    """The traced ``target`` updated in place to hold ``new`` (``y op= v``, a ufunc's
    ``out=y``), with NumPy's checks: the result keeps ``target``'s shape and, cast
    'same_kind', its dtype."""
    from ..rules.indexing import rebind
    new_shape, new_dtype = new.shape, new.dtype
    if new_shape != target.shape:
        raise ValueError(f"non-broadcastable output operand with shape {target.shape} doesn't "
                         f"match the broadcast shape {new_shape} ({what})")
    if new_dtype != target.dtype:
        if not np.can_cast(new_dtype, target.dtype, "same_kind"):
            raise TypeError(f"Cannot cast ufunc '{ufunc_name}' output from {new_dtype!r} to "
                            f"{target.dtype!r} with casting rule 'same_kind' ({what})")
        new = HANDLED["astype"](new, target.dtype)
    rebind(target, new, what)
    return target


def _at(self):
    """``x.at[idx].set(v)`` (JAX's indexed updates) on a traced x: riesz.numpy.at(x)."""
    from ..rules.indexing import at
    return at(self)


def _fill(self, value):
    # x.fill(v) sets every entry of a traced x to v (traced or not): x is rebound
    from ..rules.indexing import rebind
    rebind(self, HANDLED[np.full_like](self, value), "x.fill(v)")


class _Flat:
    """``x.flat`` of a traced x: reads index the flattened array, writes update x itself."""
    __slots__ = ("_array",)

    def __init__(self, array):
        self._array = array

    def __len__(self):
        return self._array.size

    def __iter__(self):
        return iter(np.ravel(self._array))

    def __getitem__(self, idx):
        return np.ravel(self._array)[idx]

    def __setitem__(self, idx, value):
        x = self._array
        x[np.unravel_index(np.arange(x.size)[idx], x.shape)] = value


def _copied(x, result):
    return HANDLED[np.copy](result) if result is x else result


def _install():
    T = Tracer
    T.__array_priority__ = 1000
    T.__array_ufunc__ = _array_ufunc
    T.__array_function__ = _array_function
    T.__array__ = _array
    T.__float__ = _float
    T.__complex__ = _complex
    T.__int__ = _int
    T.__bool__ = _bool
    T.__len__ = _len
    T.__iter__ = _iter
    T.__repr__ = _repr
    T.__format__ = _format
    T.__round__ = _round
    T.__divmod__ = lambda self, other: _handler(np.divmod)(self, other)
    T.__rdivmod__ = lambda self, other: _handler(np.divmod)(other, self)
    T.item = _item
    T.tolist = _tolist

    T.shape = property(lambda self: np.shape(self.primal) if not hasattr(self.primal, "shape")
                       else self.primal.shape)
    T.dtype = property(lambda self: self.primal.dtype if hasattr(self.primal, "dtype")
                       else np.result_type(self.primal))
    T.ndim = property(lambda self: len(self.shape))
    T.size = property(lambda self: int(np.prod(self.shape)))
    T.itemsize = property(lambda self: self.dtype.itemsize)
    T.nbytes = property(lambda self: self.size * self.dtype.itemsize)
    T.T = property(lambda self: np.transpose(self))
    T.mT = property(lambda self: np.swapaxes(self, -1, -2))
    T.real = property(lambda self: np.real(self))
    T.imag = property(lambda self: np.imag(self))

    binary = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide,
              "floordiv": np.floor_divide, "mod": np.remainder, "pow": np.power,
              "matmul": np.matmul}
    # operators go straight to riesz's implementation of the ufunc, skipping NumPy's dispatch
    for name, f in binary.items():
        setattr(T, f"__{name}__", _operator(f, reflected=False))
        setattr(T, f"__r{name}__", _operator(f, reflected=True))
    symbols = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%",
               "pow": "**", "matmul": "@"}
    for name, f in binary.items():
        setattr(T, f"__i{name}__", _in_place(f, symbols[name]))
    compare = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
               "eq": np.equal, "ne": np.not_equal}
    for name, f in compare.items():
        setattr(T, f"__{name}__",
                lambda self, other, f=f: f(lower_to_values(self), lower_to_values(other)))
    # bitwise operators on masks (~isnan(x) & (x > 0), in a rule or under vmap): no derivative
    bitwise = {"and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor}
    for name, f in bitwise.items():
        setattr(T, f"__{name}__", lambda self, other, f=f: _handler(f)(self, other))
        setattr(T, f"__r{name}__", lambda self, other, f=f: _handler(f)(other, self))
    T.__invert__ = lambda self: _handler(np.invert)(self)
    T.__hash__ = object.__hash__
    T.__neg__ = lambda self: self._trace.process(UFUNC_PRIMITIVES[np.negative], (self,), {})
    T.__pos__ = lambda self: _handler(np.positive)(self)
    T.__abs__ = lambda self: np.absolute(self)
    T.__getitem__ = lambda self, idx: HANDLED["getitem"](self, idx)
    # y[idx] = v (and y[idx] += v) rebinds the traced y to a functional update of itself
    T.__setitem__ = lambda self, idx, value: HANDLED["setitem"](self, idx, value)

    # ndarray methods that are NumPy functions of the array: x.f(...) is np.f(x, ...)
    for name in ("sum", "mean", "prod", "max", "min", "var", "std", "cumsum", "cumprod",
                 "dot", "conj", "conjugate", "ravel", "squeeze", "swapaxes",
                 "diagonal", "trace", "argmax", "argmin", "argsort", "any", "all", "round",
                 "repeat", "take", "nonzero", "ptp", "searchsorted"):
        setattr(T, name, lambda self, *a, _f=getattr(np, name), **k: _f(self, *a, **k))
    # ndarray.clip's keywords (np.clip takes min=, max= only from NumPy 2.1)
    T.clip = lambda self, min=None, max=None, **kwargs: np.clip(self, min, max, **kwargs)
    T.compress = lambda self, condition, axis=None, out=None: np.compress(condition, self, axis,
                                                                          out)
    T.reshape = lambda self, *shape, order="C": np.reshape(
        self, shape[0] if len(shape) == 1 else shape, order=order)
    T.transpose = lambda self, *axes: np.transpose(
        self, axes[0] if len(axes) == 1 else (axes or None))
    T.flatten = lambda self, order="C": np.ravel(self, order=order)
    # copies are new objects, so that y[idx] = v on one leaves the other as it was
    T.astype = lambda self, dtype, copy=True: _copied(self, HANDLED["astype"](self, dtype))
    T.at = property(_at)
    T.sort = _sort_in_place
    T.fill = _fill
    T.flat = property(_Flat)
    T.__array_namespace__ = _array_namespace
    T.copy = lambda self, order="C": HANDLED[np.copy](self)
    T.__copy__ = lambda self: HANDLED[np.copy](self)
    T.__deepcopy__ = lambda self, memo: HANDLED[np.copy](self)


def _array_namespace(self, api_version=None):
    """The array API namespace of a traced value (``xp = x.__array_namespace__()``, which
    ``array_api_compat.array_namespace`` asks): :mod:`riesz.numpy`, NumPy's functions with
    derivatives (NumPy's namespace holds the array API's names since NumPy 2), whatever the
    library of the value under it; its functions of traced values keep that library."""
    from .. import numpy as riesz_numpy
    return riesz_numpy


_install()
