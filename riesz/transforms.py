"""The transforms: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``, with JAX's names and
semantics.

For f: V → W and a point x, the derivative ∂f(x) is the linear map that takes
a change ẋ to the change in f. ``jvp`` evaluates it, ``vjp`` applies its
transpose ∂f(x)ᵀ to a cotangent, and ``grad`` (for real-valued f) returns the
vector ∇f(x) that represents it under the inner product:
⟨∇f(x), ẋ⟩ = ∂f(x)(ẋ) for every ẋ, with ⟨A, B⟩ = Σᵢⱼ AᵢⱼBᵢⱼ = tr(AᵀB) for
matrices. Arguments and results may be pytrees (:mod:`riesz.tree`).
"""
import dataclasses
import functools
import math
import types
import typing
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from . import rules  # noqa: F401  (registers the primitives)
from .backend import asarray_like, is_array, is_numpy, lazy_only, ones, unwrap, wrap, zeros
from .batching import batch_map, repeated
from .rules.batching import ScaledBasis
from .core import JVPTrace, JVPTracer, Tracer, VJPTrace, VJPTracer, check_callable
from .numpy.dispatch import conversions_named
from .rules.define import shape_of, dtype_of
from .rules.elementwise import astype
from .tree import keystr, mismatch, tree_flatten, tree_unflatten

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacfwd", "jacrev", "jacobian", "hessian",
           "hvp", "hessian_vector_product", "make_hvp", "make_ggnvp", "elementwise_grad"]


# ---------------------------------------------------------------- transformed functions

class Transformed:
    """A function a transform made (``grad(f)``, ``jacobian(f)``, ...). It is called as the
    function it stands for, carries ``f``'s name (``functools.wraps``: ``__name__``,
    ``__qualname__``, ``__module__``, ``__wrapped__``) and a docstring saying what it
    computes, and pickles as the transform applied to ``f`` (so a grad of a module-level
    function pickles with the standard library)."""

    def __init__(self, fn, transform, f, args, kwargs, what):
        functools.update_wrapper(self, f)
        self.transform_name = transform.__name__   # "grad": riesz.source names grad_f by it
        self._fn = fn
        self._rebuild = (functools.partial(transform, **kwargs), (f, *args))
        name = getattr(f, "__name__", "f")
        given = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
        self.__doc__ = (f"riesz.{transform.__name__}({name}{', ' + given if given else ''}): "
                        f"{what} of {name}; takes {name}'s arguments.\n\n"
                        f"Original documentation of {name}:\n\n{f.__doc__ or ''}")

    def __call__(self, *args, **kwargs):
        return self._fn(*args, **kwargs)

    def __get__(self, instance, owner=None):
        # a method, as a function stored on a class would be
        return self if instance is None else types.MethodType(self, instance)

    def __reduce__(self):
        return self._rebuild

    def __repr__(self):
        return f"<{self.__doc__.split(':', 1)[0]}>"


_TransformT = TypeVar("_TransformT", bound=Callable[..., Any])


def _transform(what: str) -> Callable[[_TransformT], _TransformT]:
    """A transform ``t(f, argnums, ...)`` whose functions are :class:`Transformed`; autograd's
    ``argnum=`` is taken for ``argnums=`` (the transform keeps its typed signature)."""
    def decorate(transform):
        @functools.wraps(transform)
        def make(f, *args, argnum=None, **kwargs):
            name = transform.__name__
            check_callable(f, f"riesz.{name}", f"riesz.{name}(f)(x), not riesz.{name}(f(x))")
            if argnum is not None:
                if args or "argnums" in kwargs:
                    raise TypeError(f"riesz.{transform.__name__}: give argnums (JAX's name) or "
                                    f"argnum (autograd's), not both")
                kwargs["argnums"] = argnum
            return Transformed(transform(f, *args, **kwargs), make, f, args, kwargs, what)
        return typing.cast(_TransformT, make)
    return decorate


# ---------------------------------------------------------------- checks

def _is_inexact(dtype):
    return np.dtype(dtype).kind in "fc"


# ndarray subclasses whose semantics riesz does not follow, and what to pass instead
_SUBCLASS_FIXES = {
    np.matrix: "riesz follows ndarray semantics (* elementwise, 2-d results of everything): "
               "pass np.asarray(x) and write @ for matrix products",
    np.ma.MaskedArray: "riesz computes on the data and would ignore the mask: pass "
                       "x.filled(value), or the data with the mask as a weight "
                       "(np.where(mask, 0.0, x))",
}


# how to hold a value fixed: for a transform with argnums, and for vjp and jvp (whose
# primals are all differentiated)
_HOLD_FIXED = {"argnums": "pass it as a keyword argument or an argument outside argnums",
               "primals": "hold it fixed by closing over it: differentiate lambda x: f(x, n) "
                          "(or functools.partial(f, n=n)) at x alone"}


def _check_differentiable(leaves, what, treedef, first=False, fixed="argnums"):
    # first: the leaves are those of a function's argument 0, which a method's self is;
    # fixed: the _HOLD_FIXED entry that says how to keep a value out of the differentiation
    hold = _HOLD_FIXED[fixed]
    for i, x in enumerate(leaves):
        if type(x) is np.ndarray and x.dtype.kind in "fc":
            continue   # the commonest leaf, accepted on its type and dtype alone
        if type(x) is not np.ndarray and isinstance(x, tuple(_SUBCLASS_FIXES)):
            fix = next(v for k, v in _SUBCLASS_FIXES.items() if isinstance(x, k))
            raise TypeError(f"{what}{_leaf_path(treedef, i)} is a {type(x).__module__}."
                            f"{type(x).__name__}; {fix}")
        if not (isinstance(x, Tracer) or is_array(x)):
            method = (" A method's self is its argument 0: argnums=1 names the first argument "
                      "after it (or differentiate a function of the arguments alone)."
                      if first and treedef.kind is None else "")
            raise TypeError(
                f"{what}{_leaf_path(treedef, i)} is a {type(x).__name__} ({x!r:.40}); riesz "
                f"differentiates with respect to arrays, numbers and pytrees of them only."
                f"{_container_fix(x)}{method} To differentiate the others, {hold}, or keep "
                f"it out of the pytree")
        dtype = x.dtype if type(x) is np.ndarray or isinstance(x, Tracer) else np.result_type(x)
        if not _is_inexact(dtype):
            raise TypeError(
                f"{what}{_leaf_path(treedef, i)} has dtype {dtype}; riesz differentiates with "
                f"respect to floating-point or complex values only. Pass floats (e.g. 3.0 "
                f"instead of 3, or x.astype(float)), or {hold}")


def _container_fix(x):
    """How to make the container ``x`` (of a type that is no pytree) one riesz looks into."""
    name = type(x).__name__
    if dataclasses.is_dataclass(x):
        return (f" To differentiate with respect to its fields, register the class: "
                f"riesz.tree.register_dataclass({name}).")
    for plain in (dict, list, tuple):   # a subclass
        if isinstance(x, plain):
            return (f" Pass it as a plain {plain.__name__}, {plain.__name__}(x): riesz's pytrees "
                    f"are dicts (OrderedDict, defaultdict), lists, tuples, namedtuples and "
                    f"registered classes (riesz.register_pytree_node({name}, flatten, "
                    f"unflatten)).")
    return ""


def _leaf_path(treedef, i):
    # " at ['layers'][0]['b']": where leaf i sits in a pytree (nothing for a lone value)
    return f" at {keystr(treedef.paths()[i])}" if treedef.num_leaves > 1 or treedef.kind else ""


def _check_outputs(leaves, what):
    """The leaves of a differentiated function's output are arrays or numbers."""
    for x in leaves:
        if not (isinstance(x, Tracer) or is_array(x)):
            raise TypeError(f"{what} returned a {type(x).__name__} ({x!r:.60}); a "
                            f"differentiated function returns arrays, numbers, or pytrees "
                            f"(tuples, lists, dicts) of them. A function returned from inside "
                            f"a transform cannot carry its derivative out: differentiate it "
                            f"where it is applied instead")


def _argnums_tuple(argnums, nargs, fname):
    single = isinstance(argnums, (int, np.integer))
    # a sequence of positions: a tuple, a list, a range, an integer array (never a string)
    if not single and not (hasattr(argnums, "__iter__") and not isinstance(argnums, str)
                           and all(isinstance(a, (int, np.integer)) for a in argnums)):
        raise TypeError(f"{fname}: argnums={argnums!r}; give the position of an argument (an "
                        f"int, e.g. argnums=1) or a tuple of positions (argnums=(0, 2)). "
                        f"Keyword arguments are not differentiated: pass the differentiated "
                        f"ones positionally")
    nums = (int(argnums),) if single else tuple(int(a) for a in argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"{fname}: argnums={argnums!r} but the function was called with "
                             f"{nargs} positional argument(s); keyword arguments are passed "
                             f"through undifferentiated, so pass the differentiated ones "
                             f"positionally")
    nums = tuple(a % nargs for a in nums)
    if len(set(nums)) != len(nums):
        raise ValueError(f"{fname}: argnums={argnums!r} names an argument twice; list each "
                         f"argument once")
    return nums, single


def _like(ct, x):
    """A cotangent or tangent given the dtype (and Python-scalar-ness) of ``x``."""
    if type(ct) is np.ndarray and type(x) is np.ndarray and ct.dtype == x.dtype and ct.ndim \
            and ct.flags.writeable:
        return ct   # the commonest case, decided on types: nothing to convert or copy
    if ct is None:
        z = zeros(shape_of(x), dtype_of(x), like=x)
        return z[()] if is_numpy(z) and z.ndim == 0 else unwrap(z)
    if isinstance(ct, Tracer) or not is_numpy(ct):   # Dask, CuPy, ...: kept in their library
        return unwrap(astype(ct, dtype=dtype_of(x)) if dtype_of(ct) != dtype_of(x) else ct)
    ct = np.asarray(ct, dtype=dtype_of(x))
    if ct.ndim == 0:
        return ct[()]
    # a read-only view (sum's cotangent broadcasts one value) becomes an array of its own,
    # so that g *= lr works; a fresh array is returned as it is
    return ct if ct.flags.writeable else ct.copy()


def _unshared(results, held=()):
    """``results`` (the leaves a transform returns) with each NumPy array whose memory
    overlaps an earlier result's, or one of ``held`` (the caller's own tangents or
    cotangents), replaced by a copy: writing into one result then changes no other value
    (add's cotangent reaches both of its operands as one array; an identity hands a tangent
    back). Decided on the arrays' owners (a view's base) and bounds, never their values."""
    if not held:   # the commonest case first: arrays that own their memory, all distinct
        seen = set()
        for r in results:
            if type(r) is not np.ndarray or r.base is not None or id(r) in seen:
                break
            seen.add(id(r))
        else:
            return results
    by_owner = {}
    for h in held:
        if type(h) is np.ndarray:
            by_owner.setdefault(id(h if h.base is None else h.base), []).append(h)
    out = []
    for r in results:
        if type(r) is np.ndarray:
            owned = by_owner.setdefault(id(r if r.base is None else r.base), [])
            if any(np.may_share_memory(r, o) for o in owned):
                r = r.copy()   # an owner of its own
            else:
                owned.append(r)
        out.append(r)
    return out


def _flatten_inputs(tree):
    """The leaves and treedef of a transform's inputs; an array that speaks only the array
    API is viewed with NumPy's protocols (:class:`riesz.backend.ArrayAPIValue`)."""
    leaves, treedef = tree_flatten(tree)
    for k, x in enumerate(leaves):
        if type(x) is not np.ndarray:
            leaves[k] = wrap(x)
    return leaves, treedef


def _lower_aux(aux, trace):
    """Auxiliary results with this trace's tracers replaced by their values."""
    def lower(x):
        while isinstance(x, Tracer) and x._trace is trace:
            x = x.primal
        return x
    leaves, td = tree_flatten(aux)
    return tree_unflatten(td, [lower(x) for x in leaves])


def _lower(out, trace):
    """(value, slot) of an output: the slot is None when it does not depend on the inputs."""
    if type(out) is VJPTracer and out._trace is trace:
        return out.primal, out.slot
    return out, None


# ---------------------------------------------------------------- reverse mode

def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """``(f(*primals), pullback)``: ``pullback(ct)`` applies ∂f(primals)ᵀ to a cotangent
    ``ct`` of the output's structure and shapes, returning one cotangent per primal.

    The pullback can be called many times; it holds the recorded graph until it is freed.

    >>> import numpy as np, riesz
    >>> y, pullback = riesz.vjp(lambda x: x ** 2, np.array([1.0, 2.0, 3.0]))
    >>> pullback(np.ones(3))        # ∂f(x)ᵀ c = 2x ⊙ c
    (array([2., 4., 6.]),)
    """
    rec = Recording(f, primals, has_aux)
    return (rec.out, rec.pullback, rec.aux) if has_aux else (rec.out, rec.pullback)


class Recording:
    """``f`` evaluated at ``primals`` with its tape recorded: the output, and the
    slots that tie inputs and outputs to the tape (for :func:`vjp` and
    :func:`riesz.linearize`)."""

    def __init__(self, f, primals, has_aux, flattened=None):
        # flattened: (leaves, tree) of primals, flattened and checked by the caller already
        check_callable(f, "riesz.vjp", "riesz.vjp(f, x) (or riesz.linearize(f, x)), not "
                                       "riesz.vjp(f(x), x)")
        if flattened is None:
            flattened = _flatten_inputs(primals)
            _check_differentiable(flattened[0], "vjp: the inputs", flattened[1],
                                  fixed="primals")
        self.flat, self.in_tree = flattened
        out, self.aux, self.trace, self.in_slots = _trace_vjp(f, primals, self.flat,
                                                              self.in_tree, has_aux)
        out_flat, self.out_tree = tree_flatten(out)
        _check_outputs(out_flat, "vjp: the function")
        self.lowered = [_lower(o, self.trace) for o in out_flat]

    @property
    def out(self):
        """``f``'s output (built where it is read: the auto-staged transforms do not)."""
        return tree_unflatten(self.out_tree, [unwrap(v) for v, _ in self.lowered])

    def pullback(self, ct):
        """∂f(primals)ᵀ ct, one cotangent per primal."""
        ct_flat, ct_tree = _flatten_inputs(ct)
        if ct_tree != self.out_tree:
            raise ValueError(mismatch("pullback: the cotangent against the output",
                                      self.out_tree, ct_tree))
        seeds = []
        for k, ((v, slot), c) in enumerate(zip(self.lowered, ct_flat)):
            if shape_of(c) != shape_of(v):
                batch = (" To pull back a batch of cotangents (stacked along axis 0), map the "
                         "pullback: riesz.vmap(pullback)(cts)"
                         if shape_of(c)[1:] == shape_of(v) else "")
                raise ValueError(f"pullback: cotangent {k} has shape {shape_of(c)} but the "
                                 f"output it pairs with has shape {shape_of(v)}.{batch}")
            _check_cotangent_kind(c, v, k)
            if is_numpy(c) and not (is_numpy(v) or isinstance(v, Tracer)):
                c = asarray_like(c, v)   # a number for a CuPy (Dask, ...) output: made there
            if slot is not None:
                seeds.append((slot, c))
        cts = _backward(self.trace, seeds)
        return tree_unflatten(self.in_tree, _unshared(
            [_like(cts[s], x) for s, x in zip(self.in_slots, self.flat)], held=ct_flat))


def _backward(trace, seeds, consume=False, seeds_hold_no_nan=False):
    """The backward pass (:meth:`VJPTrace.backward`). A rule may form an infinite derivative
    that the zero-safe product then drops (sqrt'(0) under a zero cotangent, ‖x‖ at 0):
    NumPy's floating-point warnings about such intermediate values are silenced here, while
    a NaN or ∞ that reaches a gradient still shows in the result."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"), \
            lazy_only([g for _, g in seeds], "the backward pass"):
        return trace.backward(seeds, consume, seeds_hold_no_nan)


def _trace_vjp(f, args, flat, in_tree, has_aux):
    trace = VJPTrace()
    boxed, in_slots = [], []   # the slots before the call: x += 1 rebinds an input's tracer
    for x in flat:
        b = trace.new_input(x)
        boxed.append(b)
        in_slots.append(b.slot)
    out, aux = _call_traced(f, trace, boxed, in_tree, has_aux, flat)
    return out, aux, trace, in_slots


def _call_traced(f, trace, boxed, in_tree, has_aux, primals=None):
    """``(output, aux)`` of ``f`` on the traced inputs ``boxed`` (of values ``primals``, by
    default read from them); the trace is closed after the call (a tracer that escapes it
    raises when used), and aux holds concrete values."""
    if primals is None:
        primals = [b.primal for b in boxed]
    try:
        with lazy_only(primals, "tracing the function"), conversions_named():
            out = f(*tree_unflatten(in_tree, boxed))
    finally:
        trace.close()
    aux = None
    if has_aux:
        out, aux = _split_aux(out)
        aux = _lower_aux(aux, trace)
    return out, aux


def _split_aux(out):
    """``(output, aux)`` of a function differentiated with ``has_aux=True``."""
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        got = ("a single array, the output alone: return (output, aux), or drop has_aux=True"
               if isinstance(out, (Tracer, np.ndarray, np.generic, float)) else
               type(out).__name__
               + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
        raise TypeError(f"has_aux=True needs the function to return a pair (output, aux), "
                        f"got {got}")
    return out


def _split_args(f, args, kwargs, argnums, what):
    """``(f_of_diff, diff_args, single, leaves, treedef)``: ``f`` as a function of the
    arguments named by ``argnums`` only (the others fixed; ``f`` itself where those are all
    the arguments, in order, and no keyword is given), those arguments, whether
    ``argnums`` is an int, and the flattened tuple of those arguments (every leaf checked
    to be differentiable)."""
    if type(argnums) is int and 0 <= argnums < len(args):   # the commonest case, at once
        nums, single, diff_args = (argnums,), True, (args[argnums],)
    else:
        nums, single = _argnums_tuple(argnums, len(args), what)
        diff_args = tuple([args[i] for i in nums])
    leaves, treedef = _flatten_inputs(diff_args)
    for x in leaves:   # (a float array is differentiable: checked when another leaf is not)
        if type(x) is not np.ndarray or x.dtype.kind not in "fc":
            fname = getattr(f, "__name__", "f")
            start = 0
            for i, arg_tree in zip(nums, treedef.children):
                stop = start + arg_tree.num_leaves
                _check_differentiable(leaves[start:stop], f"{what}: argument {i} of {fname}",
                                      arg_tree, first=i == 0)
                start = stop
            break
    if not kwargs and len(nums) == len(args) and nums == tuple(range(len(args))):
        return f, diff_args, single, leaves, treedef

    def f_of_diff(*dargs):
        full = list(args)
        for i, a in enumerate(full):   # the fixed arguments, viewed as the inputs are
            if type(a) is not np.ndarray:
                full[i] = wrap(a)
        for i, a in zip(nums, dargs):
            full[i] = a
        return f(*full, **kwargs)

    return f_of_diff, diff_args, single, leaves, treedef


# set by riesz.staging.replay: staged_gradient(trace, in_slots, flat, value, slot,
# holomorphic, fname), the gradient leaves of a recorded scalar output from a program staged
# for the tape's structure, or None where the eager backward pass runs
staged_gradient: Callable[..., Any] = lambda *recorded: None


@_transform("the value and the gradient")
def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False, *,
                   metric: Any = None, holomorphic: bool = False) -> Callable[..., Any]:
    """The function ``x ↦ (f(x), ∇f(x))`` for a real-scalar-valued ``f``.

    The gradient has the structure, shapes and dtypes of the arguments named by
    ``argnums`` (an int, or a tuple giving a tuple of gradients). With
    ``has_aux`` ``f`` returns ``(value, aux)`` and the result is
    ``((value, aux), grad)``. ``metric`` and ``holomorphic`` are described in
    :func:`grad`.

    ``f`` runs, recorded, on every call. On small arrays the backward pass runs as a
    staged program once calls have recorded the same structure a few times (the same
    primitives, parameters, shapes and dtypes: twice for a short tape, up to 32 times for a
    long one; :func:`riesz.staging.replay.staged_gradient`), with the eager pass's answer;
    ``riesz.config.stage_derivatives = False`` turns that off.
    """
    fname = getattr(f, "__name__", "f")
    riesz_map = _metric_inverse(metric, fname)

    def value_and_grad_f(*args, **kwargs):
        f_of_diff, diff_args, single, flat, in_tree = _split_args(f, args, kwargs, argnums,
                                                                  "grad")
        if holomorphic:
            _check_complex_inputs(flat, fname)
        out, aux, trace, in_slots = _trace_vjp(f_of_diff, diff_args, flat, in_tree, has_aux)
        value, slot = _lower(out, trace)
        _check_scalar_output(value, fname, holomorphic)
        # from a program staged for this tape's structure, where it has one
        leaves = None if slot is None else \
            staged_gradient(trace, in_slots, flat, value, slot, holomorphic, fname)
        if leaves is None:
            if slot is None:
                cts = [None] * len(trace.tape)
            else:
                one = ones(shape_of(value), dtype_of(value), like=value)
                # ones of NumPy hold no NaN (another library's value is never read: it counts
                # as holding one, and the pass is then zero-safe throughout)
                cts = _backward(trace, [(slot, one)], consume=True,
                                seeds_hold_no_nan=type(one) is np.ndarray)
            leaves = [_like(cts[s], x) for s, x in zip(in_slots, flat)]
            # one array per leaf (add hands both of its operands one cotangent)
            if len(leaves) > 1:
                leaves = _unshared(leaves)
        grads = tree_unflatten(in_tree, leaves)
        g = riesz_map(grads[0] if single else grads)
        value = unwrap(value)
        return ((value, aux), g) if has_aux else (value, g)

    return value_and_grad_f


def _check_complex_inputs(leaves, fname):
    for x in leaves:
        if not np.issubdtype(dtype_of(x), np.complexfloating):
            raise TypeError(f"grad(..., holomorphic=True): {fname} was called with an argument "
                            f"of dtype {dtype_of(x)}; a holomorphic derivative needs complex "
                            f"inputs (pass x.astype(complex))")


def holomorphic_checked(what, f, argnums, has_aux):
    """``(checked_f, check_args)`` for a Jacobian or Hessian taken with ``holomorphic=True``
    (JAX's flag): ``checked_f`` is ``f`` raising a TypeError where an output is not complex,
    ``check_args(args)`` raises one where a differentiated argument is not. riesz's Jacobians
    of complex functions are already the complex ones JAX's flag asks for (f'(z) for a
    holomorphic f), so the flag only checks that the function is of that kind."""
    fname = getattr(f, "__name__", "f")

    def check_args(args):
        nums, _ = _argnums_tuple(argnums, len(args), what)
        for i in nums:
            for x in tree_flatten(args[i])[0]:
                if dtype_of(x).kind != "c":
                    raise TypeError(f"{what}(..., holomorphic=True): argument {i} of {fname} has "
                                    f"dtype {dtype_of(x)}; a holomorphic derivative needs complex "
                                    f"inputs (pass x.astype(complex)), or drop holomorphic=True")

    @functools.wraps(f)
    def checked_f(*args, **kwargs):
        out = f(*args, **kwargs)
        for y in tree_flatten(_split_aux(out)[0] if has_aux else out)[0]:
            if dtype_of(y).kind != "c":
                raise TypeError(f"{what}(..., holomorphic=True): {fname} returned a value of "
                                f"dtype {dtype_of(y)}; a holomorphic function returns complex "
                                f"values (drop holomorphic=True for a real-valued one)")
        return out
    return checked_f, check_args


_REAL_SCALARS = frozenset({np.float16, np.float32, np.float64, np.longdouble})


def _check_scalar_output(value, fname, holomorphic=False):
    if type(value) in _REAL_SCALARS and not holomorphic:   # a real NumPy scalar: no test
        return
    if isinstance(value, (tuple, list, dict)):
        raise TypeError(f"grad: {fname} returned a {type(value).__name__}; grad needs a real "
                        f"scalar output. Use has_aux=True to return extra values, or vjp / "
                        f"jacobian for several outputs")
    if not isinstance(value, (np.ndarray, np.generic)):   # NumPy's values are arrays: no test
        _check_outputs([value], f"grad: {fname}")
    shape, dtype = shape_of(value), dtype_of(value)
    if math.prod(shape) != 1:   # a scalar, or an array of one element as autograd and PyTorch take
        raise TypeError(f"grad: {fname} returned an array of shape {shape}; grad needs a real "
                        f"scalar output. Reduce it (e.g. np.sum), or use riesz.vjp or "
                        f"riesz.jacobian for non-scalar outputs")
    if holomorphic and dtype.kind != "c":
        raise TypeError(f"grad(..., holomorphic=True): {fname} returned a value of dtype "
                        f"{dtype}; a holomorphic function returns a complex scalar")
    if not holomorphic and dtype.kind != "f":
        hint = (" For a holomorphic f of complex z use grad(f, holomorphic=True), which gives "
                "f'(z); for other complex outputs use riesz.vjp" if dtype.kind == "c" else "")
        raise TypeError(f"grad: {fname} returned a value of dtype {dtype}; grad needs a real "
                        f"floating-point scalar.{hint}")


@_transform("the gradient")
def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False, *,
         metric: Any = None, holomorphic: bool = False) -> Callable[..., Any]:
    """The gradient of a real-scalar-valued ``f``: the vector ∇f(x) with
    ⟨∇f(x), ẋ⟩ = ∂f(x)(ẋ) for every change ẋ.

    ``grad(f)(x)`` has the structure, shape and dtype of ``x``; ``argnums``
    picks the arguments (a tuple of them gives a tuple of gradients); with
    ``has_aux`` ``f`` returns ``(value, aux)`` and the result is ``(grad, aux)``.
    Nest it for higher derivatives: ``grad(grad(f))``. Repeated calls run a staged
    backward pass where the arrays are small (see :func:`value_and_grad`).

    ``metric`` changes the inner product the gradient represents ∂f(x) under:
    with ⟨u, v⟩_M = uᵀMv the gradient is the vector g with ⟨g, ẋ⟩_M = ∂f(x)(ẋ),
    that is g = M⁻¹∇f(x). Give a symmetric positive-definite matrix M (an ndarray of
    size x.size × x.size, acting on x flattened), or a callable that applies M⁻¹ to an
    array of x's shape; for several arguments or pytrees, a pytree of those with
    the gradient's structure (``None`` for the plain inner product of a leaf).
    See docs/metric.md.

    For a real-valued f of complex z the gradient is the conjugate of the
    steepest-ascent direction (JAX's convention, docs/complex.md):
    ``grad(lambda z: abs(z)**2)(3+4j) == 6-8j``. With ``holomorphic=True`` a
    holomorphic f of complex z gives its complex derivative f'(z)
    (``grad(lambda z: z**2, holomorphic=True)(z) == 2*z``).

    >>> import numpy as np, riesz
    >>> bool(riesz.grad(np.tanh)(2.0) == 1 - np.tanh(2.0) ** 2)
    True
    >>> M = np.diag([1.0, 4.0])
    >>> riesz.grad(lambda x: x @ x, metric=M)(np.ones(2))
    array([2. , 0.5])
    """
    vg = value_and_grad(f, argnums, has_aux, metric=metric, holomorphic=holomorphic)

    def grad_f(*args, **kwargs):
        (value, g) = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return grad_f


# ---------------------------------------------------------------- inner products

def _metric_inverse(metric, fname):
    """The map ∇f ↦ M⁻¹∇f for a ``metric`` of :func:`grad`, leaf by leaf."""
    if metric is None:
        return lambda g: g
    if callable(metric) or isinstance(metric, np.ndarray):
        apply_one = _leaf_metric_inverse(metric, fname)

        def riesz_map_single(g):
            leaves, tree = tree_flatten(g)
            if len(leaves) != 1:
                raise ValueError(f"grad({fname}, metric=...): the gradient has {len(leaves)} "
                                 f"leaves; give a pytree of metrics with the gradient's "
                                 f"structure {tree}, one per leaf (None for the plain one)")
            return tree_unflatten(tree, [apply_one(leaves[0])])
        return riesz_map_single

    def riesz_map_tree(g):
        leaves, tree = tree_flatten(g)
        per_leaf = _metric_leaves(metric, tree, fname)
        return tree_unflatten(tree, [x if m is None else _leaf_metric_inverse(m, fname)(x)
                                     for x, m in zip(leaves, per_leaf)])
    return riesz_map_tree


def _leaf_metric_inverse(metric, fname):
    if callable(metric):
        return metric
    M = np.asarray(metric)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or not np.issubdtype(M.dtype, np.floating):
        raise ValueError(f"grad({fname}, metric=M): M must be a square floating-point matrix "
                         f"(or a callable applying M⁻¹), got shape {M.shape} dtype {M.dtype}")
    if not np.allclose(M, M.T, rtol=1e-10, atol=0):
        raise ValueError(f"grad({fname}, metric=M): M is not symmetric; an inner product "
                         f"uᵀMv needs a symmetric positive-definite M")
    try:
        np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        raise ValueError(f"grad({fname}, metric=M): M is not positive definite; an inner "
                         f"product uᵀMv needs a symmetric positive-definite M") from None
    M_inv = np.linalg.inv(M)
    M_inv = (M_inv + M_inv.T) / 2

    def apply(g):
        shape = shape_of(g)
        if int(np.prod(shape)) != M.shape[0]:
            raise ValueError(f"grad({fname}, metric=M): M is {M.shape[0]}×{M.shape[0]} but the "
                             f"gradient has shape {shape} ({int(np.prod(shape))} entries)")
        return np.reshape(M_inv.astype(dtype_of(g)) @ np.reshape(g, (-1,)), shape)
    return apply


def _metric_leaves(metric, tree, fname):
    """One metric per leaf of the gradient's ``tree`` (None, a matrix or a callable)."""
    if tree.kind is None:
        return [metric]
    if metric is None:
        return [None] * tree.num_leaves
    if tree.kind is dict and isinstance(metric, dict) and sorted(metric) == list(tree.aux):
        children = [metric[k] for k in tree.aux]
    elif isinstance(metric, (tuple, list)) and not isinstance(metric, dict) \
            and len(metric) == len(tree.children):
        children = list(metric)
    else:
        raise ValueError(f"grad({fname}, metric=...): the metric must have the gradient's "
                         f"structure {tree} (one matrix, callable or None per leaf)")
    return [m for child, sub in zip(tree.children, children)
            for m in _metric_leaves(sub, child, fname)]


# ---------------------------------------------------------------- forward mode

def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any],
        has_aux: bool = False) -> tuple[Any, ...]:
    """``(f(*primals), ∂f(primals)(tangents))``: the output and its directional derivative.

    ``primals`` and ``tangents`` are tuples of the same structure, shapes and dtypes.

    >>> import numpy as np, riesz
    >>> riesz.jvp(lambda x: x ** 2, (np.array([1.0, 2.0, 3.0]),), (np.array([1.0, 0.0, -1.0]),))
    (array([1., 4., 9.]), array([ 2.,  0., -6.]))

    (∂f(x)(ẋ) = 2x ⊙ ẋ.)
    """
    check_callable(f, "riesz.jvp", "riesz.jvp(f, (x,), (xdot,)), not riesz.jvp(f(x), ...)")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp(f, primals, tangents): primals and tangents must be tuples, "
                        "e.g. jvp(f, (x,), (xdot,))")
    flat, in_tree = _flatten_inputs(tuple(primals))
    t_flat, t_tree = _flatten_inputs(tuple(tangents))
    if t_tree != in_tree:
        raise ValueError(mismatch("jvp: the tangents against the primals", in_tree, t_tree))
    _check_differentiable(flat, "jvp: the primals", in_tree, fixed="primals")
    t_given = t_flat
    t_flat = [wrap(_tangent_like(t, x, k)) for k, (x, t) in enumerate(zip(flat, t_flat))]
    trace = JVPTrace()
    boxed = [JVPTracer(trace, x, t) for x, t in zip(flat, t_flat)]
    out, aux = _call_traced(f, trace, boxed, in_tree, has_aux)
    out_flat, out_tree = tree_flatten(out)
    _check_outputs(out_flat, "jvp: the function")
    vals, tans = [], []
    for o in out_flat:
        if type(o) is JVPTracer and o._trace is trace:
            vals.append(o.primal)
            tans.append(_like(o.tangent, o.primal))
        else:
            vals.append(o)
            tans.append(_like(None, o))
    result = (tree_unflatten(out_tree, [unwrap(v) for v in vals]),
              tree_unflatten(out_tree, _unshared(tans, held=t_given)))
    return result + (aux,) if has_aux else result


def _tangent_like(t, x, k):
    """Tangent ``k`` checked against its primal ``x`` and given ``x``'s dtype: a tangent
    lives in the primal's space, so only its precision may differ (float32 for float64)."""
    if shape_of(t) != shape_of(x):
        batch = (" To push a batch of tangents (stacked along axis 0), map the JVP: "
                 "riesz.vmap(lambda t: riesz.jvp(f, (x,), (t,))[1])(ts), or take "
                 "riesz.jacfwd(f)(x) for every direction of the basis"
                 if shape_of(t)[1:] == shape_of(x) else "")
        raise ValueError(f"jvp: tangent {k} has shape {shape_of(t)} but its primal has "
                         f"shape {shape_of(x)}.{batch}")
    t_dtype, x_dtype = np.dtype(dtype_of(t)), np.dtype(dtype_of(x))
    if not _is_inexact(t_dtype) or (t_dtype.kind == "c" and x_dtype.kind != "c"):
        raise TypeError(f"jvp: tangent {k} has dtype {t_dtype} but its primal has dtype "
                        f"{x_dtype}; give a tangent of the primal's dtype "
                        f"(e.g. np.ones_like(x))")
    return _like(t, x)


def _check_cotangent_kind(c, y, k):
    """A complex cotangent pairs with a complex output only: a real output has no
    imaginary direction for it to weigh (its imaginary part would be dropped)."""
    if _is_complex(c) and not _is_complex(y):
        raise TypeError(f"pullback: cotangent {k} is complex ({np.dtype(dtype_of(c))}) but the "
                        f"output it pairs with is real ({np.dtype(dtype_of(y))}); give a real "
                        f"cotangent, or make the output complex")


# ---------------------------------------------------------------- Jacobians and Hessians

def _size(x):
    return math.prod(shape_of(x))


def _standard_basis(leaves):
    """The standard basis of the space of ``leaves``, as one batch per leaf: leaf j gets an
    array of shape (n,) + shape_j whose k-th example is the k-th basis vector's part in
    leaf j (n = the total number of entries)."""
    sizes = [_size(x) for x in leaves]
    n = sum(sizes)
    basis, start = [], 0
    for x, size in zip(leaves, sizes):
        block = np.zeros((n, size), dtype=dtype_of(x))
        block[start:start + size].flat[::size + 1] = 1
        basis.append(block.reshape((n,) + shape_of(x)))
        start += size
    return basis, n


def _basis_batches(leaves):
    """The standard basis of ``leaves`` as :func:`_push_basis` takes it: for one leaf of
    more than one entry a :class:`~riesz.rules.batching.ScaledBasis` of ones (the identity
    held as its diagonal: the products that scale it cost O(n), a matrix product O(n²),
    where the dense identity costs O(n²) and O(n³)); else :func:`_standard_basis`.
    Decided on the number of leaves and their shapes, never on values."""
    if len(leaves) == 1 and _size(leaves[0]) > 1:
        x = leaves[0]
        return [ScaledBasis(np.ones(shape_of(x), dtype_of(x)))], _size(x)
    return _standard_basis(leaves)


def _push_basis(fn, basis, n):
    """``fn`` of each basis vector, batched in one vectorized pass: returns the output
    leaves and tree, every leaf with the basis index as its leading axis."""
    if n == 1:   # one vector: no batch needed
        out_leaves, tree = tree_flatten(fn(*[b[0] for b in basis]))
        return [np.reshape(o, (1,) + shape_of(o)) for o in out_leaves], tree
    vals, tree, batched = batch_map(fn, basis, [True] * len(basis), n)
    return [v if b else repeated(v, n) for v, b in zip(vals, batched)], tree


def _blocks(stacked, leaves, forward):
    """Cut the results of :func:`_push_basis` into Jacobian blocks, indexed
    [output leaf][input leaf].

    ``stacked[i]`` has shape (n,) + sᵢ, n running over the entries of ``leaves``
    (the side the basis came from), and the part from leaf j comes as
    (size_j,) + sᵢ. Forward mode pushed input basis vectors (``stacked`` is per
    output leaf): the block is moved to sᵢ + shape_j. Reverse mode pushed output
    basis vectors (``stacked`` is per input leaf): the block is shape_j + sᵢ, output
    before input already.
    """
    out = []
    for rows in stacked:
        s_i = shape_of(rows)[1:]
        blocks, start = [], 0
        for x in leaves:
            size, shape = _size(x), shape_of(x)
            part = rows if len(leaves) == 1 else rows[start:start + size]
            start += size
            if forward:
                # (size_j,) + s_i → s_i + shape_j
                part = np.reshape(part, (size,) + s_i)
                part = np.transpose(part, tuple(range(1, len(s_i) + 1)) + (0,))
                blocks.append(np.reshape(part, s_i + shape))
            else:
                blocks.append(np.reshape(part, shape + s_i))
        out.append(blocks)
    return out if forward else [list(row) for row in zip(*out)]


def jacobian_blocks(fn, leaves, forward):
    """A linear ``fn`` (taking the leaves of one side) applied to that side's whole
    standard basis in one batched pass, cut into Jacobian blocks [output leaf][input
    leaf] by :func:`_blocks`. Returns the blocks and the tree of ``fn``'s output."""
    basis, n = _basis_batches(leaves)
    stacked, tree = _push_basis(fn, basis, n)
    return _blocks(stacked, leaves, forward), tree


@_transform("the Jacobian (forward mode)")
def jacfwd(f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian of ``f`` by forward mode: ∂f(x) applied to every standard basis
    vector of the input in one batched pass (one JVP carrying the whole basis).

    See :func:`jacobian` for the result's shape and structure.
    """
    def jac_f(*args, **kwargs):
        f_of_diff, diff_args, single, flat, in_tree = _split_args(f, args, kwargs, argnums,
                                                                  "jacfwd")
        aux = []

        def push(*tangent_leaves):
            out = jvp(f_of_diff, diff_args, tree_unflatten(in_tree, tangent_leaves),
                      has_aux=has_aux)
            _check_jacobian_dtypes("forward", flat, tree_flatten(out[0])[0])
            aux[:] = out[2:]
            return out[1]

        # push(e_k) = ∂f(x)(e_k): the k-th column of the Jacobian
        blocks, out_tree = jacobian_blocks(push, flat, forward=True)
        jac = _assemble(blocks, out_tree, in_tree, single)
        return (jac, aux[0]) if has_aux else jac

    return jac_f


@_transform("the Jacobian (reverse mode)")
def jacrev(f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian of ``f`` by reverse mode: ∂f(x)ᵀ applied to every standard basis
    vector of the output in one batched pass (one backward pass carrying the basis).

    See :func:`jacobian` for the result's shape and structure.
    """
    def jac_f(*args, **kwargs):
        f_of_diff, diff_args, single, _, _ = _split_args(f, args, kwargs, argnums, "jacrev")
        out = vjp(f_of_diff, *diff_args, has_aux=has_aux)
        jac = _jacrev_from_pullback(out[0], out[1], diff_args, single)
        return (jac, out[2]) if has_aux else jac

    return jac_f


def _is_complex(x):
    dtype = dtype_of(x)   # a NumPy dtype by its kind; another library's through NumPy's types
    return dtype.kind == "c" if isinstance(dtype, np.dtype) else \
        np.issubdtype(dtype, np.complexfloating)


def _check_jacobian_dtypes(mode, in_leaves, out_leaves):
    """The Jacobian of a real-to-complex map needs forward mode (a cotangent's imaginary
    part has nowhere to go in a real input), and that of a complex-to-real map reverse
    mode (forward mode pushes the real directions of a complex input only)."""
    complex_in = any(map(_is_complex, in_leaves))
    complex_out = any(map(_is_complex, out_leaves))
    if mode == "forward" and complex_in and not all(map(_is_complex, out_leaves)):
        raise TypeError("jacfwd: a complex input with a real output; forward mode sees only "
                        "the real direction of each complex entry. Use jacrev (each row the "
                        "gradient of one output, riesz.grad's convention for complex inputs)")
    if mode == "reverse" and complex_out and not all(map(_is_complex, in_leaves)):
        raise TypeError("jacrev: a real input with a complex output; reverse mode would drop "
                        "the imaginary part of each row. Use jacfwd")


def _jacrev_from_pullback(out, pullback, diff_args, single):
    out_flat, out_tree = tree_flatten(out)
    in_tree = tree_flatten(diff_args)[1]
    _check_jacobian_dtypes("reverse", tree_flatten(diff_args)[0], out_flat)
    # ∂f(x)ᵀ e_k: the k-th row of the Jacobian
    by_output, _ = jacobian_blocks(lambda *c: pullback(tree_unflatten(out_tree, c)),
                                   out_flat, forward=False)
    return _assemble(by_output, out_tree, in_tree, single)


def _assemble(blocks, out_tree, in_tree, single):
    """The Jacobian's pytree: the output's structure, each leaf holding the input's
    structure (just the block for one input argument given by an int ``argnums``)."""
    per_output = []
    for row in blocks:
        by_arg = tree_unflatten(in_tree, row)
        per_output.append(by_arg[0] if single else by_arg)
    return tree_unflatten(out_tree, per_output)


def jacobian_mode(in_leaves, out_leaves):
    """``jacobian``'s ``mode="auto"``: "forward" when the input has fewer entries than the
    output (and is real), or the input is real and the output complex (whose Jacobian
    forward mode alone gives); "reverse" otherwise."""
    n_in = sum(_size(x) for x in in_leaves)
    n_out = sum(_size(y) for y in out_leaves)
    real_to_complex = any(map(_is_complex, out_leaves)) and not all(map(_is_complex, in_leaves))
    if n_in < n_out and not any(map(_is_complex, in_leaves)) or real_to_complex:
        return "forward"
    return "reverse"


@_transform("the Jacobian")
def jacobian(f: Callable[..., Any], argnums: int | Sequence[int] = 0, mode: str = "auto",
             has_aux: bool = False) -> Callable[..., Any]:
    """The generalized Jacobian of ``f``: for y = f(x) an array of shape
    ``y.shape + x.shape`` whose entry [i, j] (multi-indices) is ∂yᵢ/∂xⱼ.

    For pytrees the result has the output's structure, with the input's structure
    at each output leaf (a tuple over arguments for a tuple ``argnums``), as in
    JAX. ``mode`` is ``"forward"`` (:func:`jacfwd`: one batched JVP over the
    input's basis), ``"reverse"`` (:func:`jacrev`: one batched VJP over the
    output's basis) or ``"auto"``: forward when the input has fewer entries than
    the output, reverse otherwise. With ``has_aux`` the result is ``(jac, aux)``.

    The basis of a single array is pushed as the identity held by its diagonal (a
    :class:`~riesz.rules.batching.ScaledBasis`): a basis vector meets a matrix as that
    matrix's row or column, O(n²) where the dense identity's product costs O(n³), and
    where the matrix holds ±∞ or NaN the off-diagonal zeros stay zeros (0 × ∞ = 0,
    docs/numpy.md).

    >>> import numpy as np, riesz
    >>> riesz.jacobian(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    if mode in ("forward", "fwd"):
        return jacfwd(f, argnums, has_aux)
    if mode in ("reverse", "rev"):
        return jacrev(f, argnums, has_aux)
    if mode != "auto":
        raise ValueError(f"jacobian: mode={mode!r}; use 'auto', 'forward' or 'reverse'")

    def jac_f(*args, **kwargs):
        f_of_diff, diff_args, single, _, _ = _split_args(f, args, kwargs, argnums, "jacobian")
        out = vjp(f_of_diff, *diff_args, has_aux=has_aux)
        if jacobian_mode(tree_flatten(diff_args)[0], tree_flatten(out[0])[0]) == "forward":
            return jacfwd(f, argnums, has_aux)(*args, **kwargs)
        jac = _jacrev_from_pullback(out[0], out[1], diff_args, single)
        return (jac, out[2]) if has_aux else jac

    return jac_f


@_transform("the Hessian")
def hessian(f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The Hessian of ``f``, forward over reverse: ``jacfwd(jacrev(f))``. For a scalar
    f of x its shape is ``x.shape + x.shape``; in general ``y.shape + x.shape + x.shape``
    (pytrees nest as in :func:`jacobian`).

    >>> import numpy as np, riesz
    >>> riesz.hessian(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]))    # diag(6x)
    array([[ 6.,  0.],
           [ 0., 12.]])"""
    return jacfwd(jacrev(f, argnums, has_aux), argnums, has_aux)


def hvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """The Hessian-vector product ∇²f(x) v of a real-scalar ``f``, without forming
    the Hessian: the gradient of the directional derivative x ↦ ∂f(x)(v)
    (reverse over forward), since ∇ₓ⟨∇f(x), v⟩ = ∇²f(x) v. One forward pass carrying
    v and one backward pass; unlike forward over reverse it does not also compute
    ∇f(x), which saves a product with each weight matrix.

    ``primals`` and ``tangents`` are tuples (one entry per argument of ``f``); the
    Hessian is taken with respect to all of them together. The result is one array
    (pytree) for one primal and a tuple for several.

    >>> import numpy as np, riesz
    >>> f = lambda x: np.sum(x ** 3)                 # ∇²f(x) v = 6x ⊙ v
    >>> riesz.hvp(f, (np.array([1.0, 2.0]),), (np.array([1.0, 1.0]),))
    array([ 6., 12.])
    """
    check_callable(f, "riesz.hvp", "riesz.hvp(f, (x,), (v,)), not riesz.hvp(f(x), ...)")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("hvp(f, primals, tangents): primals and tangents must be tuples, "
                        "e.g. hvp(f, (x,), (v,))")
    tangents = tuple(tangents)
    flat, tree = _flatten_inputs(tuple(primals))
    _check_differentiable(flat, "hvp: the primals", tree, fixed="primals")

    @functools.wraps(f)   # f's name in grad's errors (a non-scalar f)
    def directional_derivative(*xs):
        return jvp(f, xs, tangents)[1]

    out = grad(directional_derivative, argnums=tuple(range(len(primals))))(*primals)
    return out[0] if len(primals) == 1 else out


def _at_argument(f, args, argnums, kwargs, what):
    """``(x ↦ f(*args) with x in place of the argument argnums, the others fixed; that
    argument's value)`` for the autograd-style transform ``what``, whose ``argnums`` is
    one int (negative counting from the end)."""
    nums, single = _argnums_tuple(argnums, len(args), what)
    if not single:
        raise TypeError(f"{what}: argnum={argnums!r}; it differentiates with respect to one "
                        f"argument: give its position as an int")
    i = nums[0]
    return (lambda x: f(*args[:i], x, *args[i + 1:], **kwargs)), args[i]


@_transform("the Hessian-vector product")
def hessian_vector_product(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """autograd's ``hessian_vector_product`` (also ``hessian_tensor_product``): the function
    ``(*args, v) ↦ ∇²f(x) v`` of ``f``'s arguments and a vector v of x's shape, x the
    argument ``argnums`` names (an int): :func:`hvp` at that argument, the others fixed."""
    def hvp_f(*args, **kwargs):
        *args, v = args
        at, x = _at_argument(f, args, argnums, kwargs, "hessian_vector_product")
        return hvp(at, (x,), (v,))
    return hvp_f


@_transform("the Hessian-vector product at a point")
def make_hvp(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """autograd's ``make_hvp``: ``make_hvp(f)(*args)`` is ``(v ↦ ∇²f(x) v, ∇f(x))``, the
    Hessian-vector product at x as a function of v (the forward pass done once, for many
    v) and the gradient. ∇²f is symmetric, so v ↦ ∇²f(x) v is the VJP of ∇f at x."""
    def make_hvp_f(*args, **kwargs):
        at, x = _at_argument(f, args, argnums, kwargs, "make_hvp")
        gradient, pullback = vjp(grad(at), x)
        return (lambda v: pullback(v)[0]), gradient
    return make_hvp_f


@_transform("the VJP at a point, in autograd's order")
def make_vjp(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """autograd's ``make_vjp``: ``make_vjp(f)(*args)`` is ``(u ↦ ∂f(x)ᵀu, f(x))``, x the
    argument ``argnums`` names (an int): :func:`vjp`'s pair in autograd's order, its
    pullback returning the one cotangent rather than a 1-tuple."""
    def make_vjp_f(*args, **kwargs):
        ans, pullback = vjp(*_at_argument(f, args, argnums, kwargs, "make_vjp"))
        return (lambda u: pullback(u)[0]), ans
    return make_vjp_f


@_transform("the JVP at a point, in autograd's order")
def make_jvp(f: Callable[..., Any], argnums: int = 0) -> Callable[..., Any]:
    """autograd's ``make_jvp``: ``make_jvp(f)(*args)`` is ``v ↦ (f(x), ∂f(x)v)``, x the
    argument ``argnums`` names (an int): :func:`jvp` at x along v."""
    def make_jvp_f(*args, **kwargs):
        at, x = _at_argument(f, args, argnums, kwargs, "make_jvp")
        return lambda v: jvp(at, (x,), (v,))
    return make_jvp_f


def make_ggnvp(f: Callable[..., Any], g: Callable[[Any], Any] | None = None,
               f_argnum: int = 0) -> Callable[..., Callable[[Any], Any]]:
    """autograd's ``make_ggnvp``: ``make_ggnvp(f, g)(*args)`` is the map
    v ↦ J_f(x)ᵀ ∇²g(f(x)) J_f(x) v, the generalized Gauss-Newton matrix of g∘f at x (the
    argument ``f_argnum``) applied to v, without forming it: a JVP of f, a Hessian-vector
    product of g and a VJP of f. ``g`` defaults to y ↦ ½ Σ y² over the last axis."""
    check_callable(f, "riesz.make_ggnvp", "riesz.make_ggnvp(f, g)(x), not "
                                          "riesz.make_ggnvp(f(x), g)")
    g = (lambda y: 0.5 * np.sum(y ** 2, axis=-1)) if g is None else g

    def make_ggnvp_f(*args, **kwargs):
        at, x = _at_argument(f, args, f_argnum, kwargs, "make_ggnvp")
        y, pullback = vjp(at, x)

        def ggnvp(v):
            return pullback(hvp(g, (y,), (jvp(at, (x,), (v,))[1],)))[0]
        return ggnvp
    return make_ggnvp_f


@_transform("the elementwise gradient")
def elementwise_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
                     has_aux: bool = False) -> Callable[..., Any]:
    """The gradient of Σ f(x): ∂f(x)ᵀ applied to a cotangent of ones. For ``f`` acting
    entry by entry this is the vector of derivatives f'(xᵢ), with ``x``'s shape
    (autograd's ``elementwise_grad``); for other ``f`` it is the sum of the rows of the
    Jacobian."""
    def egrad_f(*args, **kwargs):
        f_of_diff, diff_args, single, _, _ = _split_args(f, args, kwargs, argnums,
                                                         "elementwise_grad")
        out = vjp(f_of_diff, *diff_args, has_aux=has_aux)
        ones = tree_unflatten(tree_flatten(out[0])[1],
                              [np.ones(shape_of(y), dtype_of(y)) for y in tree_flatten(out[0])[0]])
        g = out[1](ones)
        g = g[0] if single else g
        return (g, out[2]) if has_aux else g

    return egrad_f
