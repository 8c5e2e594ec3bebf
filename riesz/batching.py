"""``vmap``: a function of one example applied to a whole batch in one pass.

A :class:`BatchTrace` is a trace level like forward and reverse mode. Its
tracers hold a batch of values with the examples along a leading axis 0, and
each primitive is applied to the batch at once by its batching rule
(:mod:`riesz.rules.batching`). This is what makes a Jacobian one vectorized
pass: ``jacfwd`` pushes the whole basis of tangents through ``jvp`` as one
batch, ``jacrev`` the whole basis of cotangents through the pullback. The basis of one
array travels as a :class:`~riesz.rules.batching.ScaledBasis`, its diagonal alone,
through the primitives of ``BASIS_RULES`` (products with shared factors and matrices,
sums, reshapes), and is made dense for any other.

A batched value has no single concrete value (there is one per example). A function
of the values without a derivative that acts entry by entry (a comparison feeding
``np.where``, the signs, ties and masks that derivative rules compute) or along an axis
(``argmax``, ``argsort``) runs on the whole batch and gives a batch of results. When the
function needs one value (Python control flow such as ``if x > 0``, ``float(x)``,
``np.nonzero``, the permutation in ``np.sort``'s derivative), vmap falls
back to calling the function once per example and stacking the results: correct, but a
Python loop. Batches of tangents or cotangents (``jacobian``, ``hessian``) never need it,
since the points themselves are not batched.
"""
import functools
from typing import Any, Callable

import numpy as np

from .backend import unwrap, wrap
from .core import Trace, Tracer, bind_custom_vjp, bind_custom_jvp, check_callable
from .numpy.dispatch import conversions_named
from .rules.batching import rule_for, BASIS_RULES, ScaledBasis, densify
from .rules.define import shape_of, dtype_of
from .tree import tree_flatten, tree_unflatten

__all__ = ["vmap", "BatchTrace", "BatchTracer", "BatchedValueError"]


class BatchedValueError(TypeError):
    """The concrete value of a batched value was asked for: vmap maps the function over
    the examples one at a time instead."""


class BatchTracer(Tracer):
    """A batch of values, examples along axis 0 of ``val``; it looks like one example.
    ``val`` is an array, or a :class:`~riesz.rules.batching.ScaledBasis` (a scaled standard
    basis, held as its diagonal: how Jacobians push their basis)."""
    __slots__ = ("val",)
    is_batch = True   # (core.lower_to_values stops here)

    def __init__(self, trace, val):
        self._trace = trace
        self.val = val

    shape = property(lambda self: shape_of(self.val)[1:])
    dtype = property(lambda self: dtype_of(self.val))
    # the array that holds the examples (a scaled basis by its diagonal): what their library
    # is read off (riesz.backend.full), never their values
    batch_array = property(lambda self: self.val.v if type(self.val) is ScaledBasis else self.val)

    @property
    def primal(self):
        raise BatchedValueError(
            "vmap: this needs the concrete value of a batched value, and there is one per "
            "example (Python control flow such as `if x > 0`, float(x), np.nonzero)")

    def __repr__(self):
        return (f"BatchTracer(level={self._trace.level}, {self._trace.size} examples of "
                f"shape {self.shape})")


class BatchTrace(Trace):
    """Apply each primitive to a batch of ``size`` examples by its batching rule."""
    __slots__ = ("size",)

    def __init__(self, size):
        super().__init__()
        self.size = size

    def process(self, prim, args, params):
        self.check_open(prim.name)
        vals, batched = self._unbox(args)
        out = None
        if ScaledBasis in map(type, vals):
            # decided on the representation alone: a structured rule, or the dense batch
            rule = BASIS_RULES.get(prim.name)
            out = rule and rule(prim, vals, batched, self.size, **params)
            if out is None:
                vals = [densify(v) for v in vals]
        if out is None:
            out = rule_for(prim)(prim, vals, batched, self.size, **params)
        if prim.multiple_results:
            return tuple(BatchTracer(self, o) for o in out)
        return BatchTracer(self, out)

    # A function with custom rules, called on a batch inside a transform of a lower
    # level (grad(vmap(f)), say): the lower level gets the batched function with
    # batched rules, so the user's rules are still the ones differentiated.

    def process_custom_vjp(self, name, fun, fwd, bwd, args):
        self.check_open(name)
        vals, batched = self._unbox(args, dense=True)
        fun_b, fwd_b, bwd_b = self._batched_rules(fun, fwd, bwd, batched)
        return self._box_out(bind_custom_vjp(name, fun_b, fwd_b, bwd_b, vals))

    def process_custom_jvp(self, name, fun, jvp, fwd, bwd, args):
        self.check_open(name)
        vals, batched = self._unbox(args, dense=True)
        fun_b, fwd_b, bwd_b = self._batched_rules(fun, fwd, bwd, batched)

        @self._reopening
        def jvp_b(primals, tangents):
            # a tangent has its primal's shape, so it is batched exactly when the primal is
            out, t_out = jvp(self._box(primals, batched), self._box(tangents, batched))
            return self._unbox_out(out), self._unbox_out(t_out)
        return self._box_out(bind_custom_jvp(name, fun_b, jvp_b, fwd_b, bwd_b, vals))

    def _unbox(self, args, dense=False):
        vals, batched = [], []
        for a in args:
            mine = type(a) is BatchTracer and a._trace is self
            vals.append((densify(a.val) if dense else a.val) if mine else a)
            batched.append(mine)
        return vals, batched

    def _box(self, vals, batched):
        return [BatchTracer(self, v) if b and v is not None else v for v, b in zip(vals, batched)]

    def _box_out(self, out):
        if isinstance(out, tuple):
            return tuple(BatchTracer(self, o) for o in out)
        return BatchTracer(self, out)

    def _unbox_out(self, out):
        """Outputs (one, or a tuple with None for zeros) as values batched along axis 0."""
        if isinstance(out, tuple):
            return tuple(None if o is None else self._unbox_out(o) for o in out)
        if type(out) is BatchTracer and out._trace is self:
            return densify(out.val)
        return np.broadcast_to(out, (self.size,) + shape_of(out))

    def _reopening(self, rule):
        """``rule``, run with this trace open: a lower level calls the batched rules of a
        custom function when it needs them (its backward pass, a ``LinearMap`` applied
        later), which may be after vmap has returned and closed the trace."""
        @functools.wraps(rule)
        def run_open(*args):
            closed, self.closed = self.closed, False
            try:
                return rule(*args)
            finally:
                self.closed = closed
        return run_open

    def _batched_rules(self, fun, fwd, bwd, batched):
        @self._reopening
        def fun_b(*vals):
            return self._unbox_out(fun(*self._box(vals, batched)))

        @self._reopening
        def fwd_b(*vals):
            out, res = fwd(*self._box(vals, batched))
            return self._unbox_out(out), res

        @self._reopening
        def bwd_b(res, g):
            g = tuple(self._box(g, [True] * len(g))) if isinstance(g, tuple) \
                else BatchTracer(self, g)
            cts = []
            for ct, b in zip(bwd(res, g), batched):
                ct = self._unbox_out(ct)
                # an argument shared by the batch collects the cotangents of all examples
                cts.append(ct if b else np.sum(ct, axis=0))
            return cts
        return fun_b, fwd_b, bwd_b


def batch_map(f, leaves, batched, size):
    """Apply ``f(*leaves)`` to ``size`` examples: the leaves flagged in ``batched`` hold
    the examples along axis 0, the others are shared. Returns the output leaves, their
    tree, and for each whether it is batched (an output that does not depend on a
    batched input is returned once, unbatched)."""
    trace = BatchTrace(size)
    boxed = [BatchTracer(trace, x) if b else x for x, b in zip(leaves, batched)]
    try:
        with conversions_named():
            out_leaves, out_tree = tree_flatten(f(*boxed))
    except BatchedValueError:
        return _map_by_loop(f, leaves, batched, size)
    finally:
        trace.close()
    vals, flags = [], []
    for o in out_leaves:
        mine = type(o) is BatchTracer and o._trace is trace
        vals.append(densify(o.val) if mine else o)
        flags.append(mine)
    return vals, out_tree, flags


def repeated(v, size):
    """``size`` copies of the unbatched output ``v`` along a new axis 0: a writable NumPy
    array of its own, as a batched output is (np.broadcast_to's read-only view of one
    copy elsewhere, for a traced value or another library's array)."""
    v = np.broadcast_to(v, (size,) + shape_of(v))
    return v.copy() if type(v) is np.ndarray else v


def _map_by_loop(f, leaves, batched, size):
    """:func:`batch_map` one example at a time, for functions that need concrete values."""
    leaves = [densify(x) for x in leaves]
    if size == 0:
        # no example to call f on: the outputs' structure, shapes and dtypes from a call on
        # zeros of an example's shape, stacked zero times
        outs, out_tree = tree_flatten(f(*[np.zeros(shape_of(x)[1:], dtype_of(x)) if b else x
                                          for x, b in zip(leaves, batched)]))
        vals = [np.zeros((0,) + shape_of(o), dtype_of(o)) for o in outs]
        return vals, out_tree, [True] * len(vals)
    per_example = [tree_flatten(f(*[x[k] if b else x for x, b in zip(leaves, batched)]))
                   for k in range(size)]
    out_tree = per_example[0][1]
    vals = [np.stack(list(parts)) for parts in zip(*[outs for outs, _ in per_example])]
    return vals, out_tree, [True] * len(vals)


def vmap(f: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0,
         axis_size: int | None = None) -> Callable[..., Any]:
    """Vectorize ``f`` over an axis of its arguments (JAX's semantics).

    ``in_axes`` is an int (the batch axis of every argument), ``None`` (not
    batched), or a tuple with one entry per positional argument; an entry is an
    int or ``None`` for every leaf of that argument, or a container of the
    argument's structure holding one (a pytree prefix, e.g. ``({"w": None, "x": 0},)``).
    Keyword arguments are batched along axis 0. ``out_axes`` is the same for the
    output; outputs that do not depend on a batched input are broadcast along the
    batch axis (``None`` requires that). vmap nests with itself and with every other
    transform. A function that needs the concrete value of a batched argument
    (``if x > 0``) is called once per example instead. ``axis_size`` gives the batch size
    where no argument is batched (JAX's); where some are, it must equal theirs.

    >>> import numpy as np, riesz
    >>> riesz.vmap(lambda x, y: x @ y, in_axes=(0, None))(np.ones((5, 3)), np.ones(3)).shape
    (5,)
    """
    check_callable(f, "riesz.vmap", "riesz.vmap(f)(xs), not riesz.vmap(f(xs))")
    fname = getattr(f, "__name__", "f")

    @functools.wraps(f)
    def vmapped(*args, **kwargs):
        specs = _per_argument(in_axes, len(args), fname) + [0]
        leaves, batched, arg_trees = [], [], []
        sizes = set()
        for k, (arg, spec) in enumerate(zip(args + (kwargs,), specs)):
            arg_leaves, tree = tree_flatten(arg)
            arg_trees.append(tree)
            for x, axis in zip(arg_leaves, _axes_per_leaf(spec, tree, fname, "in_axes")):
                # an array that speaks only the array API, viewed with NumPy's protocols (as
                # the other transforms view their inputs, riesz.backend.ArrayAPIValue)
                x = x if type(x) is np.ndarray else wrap(x)
                if axis is None:
                    leaves.append(x)
                    batched.append(False)
                    continue
                ndim = len(shape_of(x))
                if not -ndim <= axis < ndim:
                    where = (f"argument {k}" if k < len(args) else
                             "a keyword argument (keyword arguments are batched along axis 0; "
                             "bind unbatched ones with functools.partial)")
                    raise ValueError(f"vmap({fname}): in_axes={axis} but {where} has a value "
                                     f"of shape {shape_of(x)}")
                sizes.add(shape_of(x)[axis])
                leaves.append(np.moveaxis(x, axis, 0) if axis % ndim else x)
                batched.append(True)
        if axis_size is not None:
            sizes.add(int(axis_size))
        if len(sizes) != 1:
            raise ValueError(f"vmap({fname}): " + (
                "no argument is batched (all in_axes are None); give axis_size"
                if not sizes else
                f"the batched axes have different sizes {sorted(sizes)}; they must agree"))
        size = sizes.pop()

        def flat_f(*flat):
            it = iter(flat)
            *positional, keywords = [tree_unflatten(t, [next(it) for _ in range(t.num_leaves)])
                                     for t in arg_trees]
            return f(*positional, **keywords)

        vals, out_tree, flags = batch_map(flat_f, leaves, batched, size)
        outs = _axes_per_leaf(out_axes, out_tree, fname, "out_axes")
        result = []
        for v, b, axis in zip(vals, flags, outs):
            if axis is None:
                if b:
                    raise ValueError(f"vmap({fname}): out_axes=None for an output that "
                                     f"depends on the batched inputs; give it a batch axis")
                result.append(v)
                continue
            ndim = len(shape_of(v)) + (0 if b else 1)
            if not -ndim <= axis < ndim:
                raise ValueError(f"vmap({fname}): out_axes={axis} but the output has "
                                 f"{ndim - 1} dimension(s) of its own, so its batch axis "
                                 f"goes at a position from {-ndim} to {ndim - 1}")
            if not b:
                v = repeated(v, size)
            result.append(unwrap(np.moveaxis(v, 0, axis) if axis else v))
        return tree_unflatten(out_tree, result)

    return vmapped


def _is_axis(spec):
    return spec is None or isinstance(spec, (int, np.integer))


def _per_argument(in_axes, nargs, fname):
    """One ``in_axes`` entry per positional argument."""
    if _is_axis(in_axes):
        return [in_axes] * nargs
    if not isinstance(in_axes, (tuple, list)) or len(in_axes) != nargs:
        raise ValueError(f"vmap({fname}): in_axes={in_axes!r} must be an int, None, or a tuple "
                         f"with one entry per positional argument ({nargs} given)")
    return list(in_axes)


def _axes_per_leaf(spec, tree, fname, what):
    """One axis (an int or None) per leaf of a pytree of structure ``tree``, from ``spec``:
    an int or None for the whole subtree, or a container of ``tree``'s kind holding one
    spec per child (JAX's pytree prefix)."""
    if _is_axis(spec):
        return [spec] * tree.num_leaves
    if tree.kind is dict and isinstance(spec, dict) and sorted(spec) == list(tree.aux):
        children = [spec[k] for k in tree.aux]
    elif tree.kind not in (None, dict) and isinstance(spec, (tuple, list)) \
            and len(spec) == len(tree.children):
        children = list(spec)
    else:
        raise ValueError(f"vmap({fname}): the {what} entry {spec!r} does not match the "
                         f"structure {tree} it applies to; give an int or None for the whole "
                         f"value, or a container of that structure with one entry per element")
    return [axis for child, sub in zip(tree.children, children)
            for axis in _axes_per_leaf(sub, child, fname, what)]
