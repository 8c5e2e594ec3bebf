"""Tracing, trace levels, graph nodes and the backward pass.

This module knows no array library. A *primitive* is an operation the engine
knows, with one JVP rule and one VJP rule per argument; the array semantics
live in :mod:`riesz.rules` and :mod:`riesz.numpy`.

Nesting by levels. Every transform opens a *trace* with a level taken from a
global, increasing counter, so a trace opened inside another has the higher
level. ``bind`` hands an operation to the highest-level trace among its
arguments; tracers of lower levels are constants to it. This is what keeps
``d/dx [x * d/dy (x + y)]`` equal to 1 (no perturbation confusion).

Forward mode (:class:`JVPTrace`) carries a tangent ẋ next to each primal x and
evaluates the linear map ∂f(x)(ẋ) operation by operation.

Reverse mode (:class:`VJPTrace`) records a tape of nodes; the backward pass
walks it once in reverse, applying each primitive's transposed derivative
∂f(x)ᵀ to the cotangent that reached it. Cotangents live in a list owned by
the backward pass (no gradient state on the nodes); the walk is a loop, not a
recursion, so a chain of any length works.
"""
import contextlib
import itertools
from collections.abc import Container
import sys
import threading

__all__ = ["Primitive", "Tracer", "JVPTrace", "VJPTrace", "bind", "bind_custom_vjp",
           "bind_custom_jvp", "ZERO", "full_lower", "NoRuleError", "EscapedTracerError"]

_levels = itertools.count(1)


class NoRuleError(NotImplementedError):
    """A primitive lacks the derivative rule a transform asked for."""


class EscapedTracerError(RuntimeError):
    """A traced value was used after the transform that traced it had returned (it was
    stored in a global, a list or an attribute while the function was being traced)."""


class _Zero:
    """Rule-table marker: the derivative with respect to this argument is zero."""
    __slots__ = ()

    def __repr__(self):
        return "ZERO"


ZERO = _Zero()


class Primitive:
    """An operation known to the engine.

    ``impl(*args, **params)`` computes it on plain values. ``jvps[i](t, ans,
    *args, **params)`` gives the part of ∂f(args)(ṫ) due to a tangent ``t`` of
    argument ``i``; ``vjps[i](g, ans, *args, **params)`` gives the cotangent of
    argument ``i`` for an output cotangent ``g``. Either entry may be
    :data:`ZERO`. With ``multiple_results`` the primitive returns a tuple and
    rules receive and return tuples for the outputs (``None`` for a zero
    cotangent of one output).

    ``propagates_nan`` (set by the rule table, :data:`riesz.rules.define.NAN_PROPAGATING`)
    says that a NaN in an argument, and a NaN in the cotangent given to a VJP rule, makes
    every result entry that depends on it NaN; the backward pass runs plain products
    only where every rule that reads their results has this property (see
    :meth:`VJPTrace.backward`).
    """
    __slots__ = ("name", "impl", "jvps", "vjps", "multiple_results", "propagates_nan")

    def __init__(self, name, impl, jvps=(), vjps=(), multiple_results=False):
        self.name = name
        self.impl = impl
        self.jvps = tuple(jvps)
        self.vjps = tuple(vjps)
        self.multiple_results = multiple_results
        self.propagates_nan = False

    def __call__(self, *args, **params):
        return bind(self, args, params)

    def rule(self, kind, argnum):
        rules = self.vjps if kind == "reverse" else self.jvps
        try:
            rule = rules[argnum]
        except IndexError:
            rule = None
        if rule is None:
            raise NoRuleError(
                f"no {kind}-mode derivative rule for '{self.name}' with respect to "
                f"argument {argnum}; differentiate with respect to the other arguments, "
                f"or use the other mode")
        return rule

    def __repr__(self):
        return f"Primitive({self.name})"


class Tracer:
    """A value being traced at some level. ``primal`` is its value one level down.

    The array behaviour (operators, NumPy's dispatch protocols, attributes)
    is installed by :mod:`riesz.numpy.dispatch`.
    """
    # viewed: unset, or which array this value is a view of and which values view it
    # (riesz.rules.indexing, which holds views weakly)
    __slots__ = ("_trace", "primal", "viewed", "__weakref__")
    # a staged tracer (riesz.staging) stands for every value of its shape and dtype:
    # there is no concrete value under it, so full_lower stops there
    abstract = False
    # a batch of examples (riesz.vmap) holds one value per example, none for the batch:
    # lower_to_values stops there (full_lower asks for the one value, and vmap then maps
    # the function one example at a time)
    is_batch = False


class Trace:
    __slots__ = ("level", "closed")

    def __init__(self):
        self.level = next(_levels)
        self.closed = False

    def close(self):
        """The transform that opened this trace has returned: from now on an operation on
        one of its tracers raises :class:`EscapedTracerError` instead of recording into a
        trace nobody reads (which would give a wrong answer, silently)."""
        self.closed = True

    def check_no_closure(self, name, out):
        """``out``, computed by a custom rule from its arguments one level down, holds none
        of this trace's tracers: it would if the function closed over a value being
        differentiated here, whose derivative the rule cannot give."""
        for x in (out if isinstance(out, tuple) else (out,)):
            if isinstance(x, Tracer) and x._trace is self:
                raise TypeError(
                    f"{name}: the function closes over a value that is being differentiated "
                    f"(a parameter captured from an enclosing scope, say), so its custom rule "
                    f"cannot give that value's derivative. Pass the value as an argument "
                    f"instead, e.g. riesz.checkpoint(lambda h, W: block(h, W))(h, W)")

    def check_open(self, prim_name):
        if self.closed:
            raise EscapedTracerError(
                f"{prim_name} was applied to a traced value of a transform that has already "
                f"returned (level {self.level}): the function stored an intermediate value "
                f"(in a global, a list or an attribute) while it was being differentiated, "
                f"and it was used afterwards. Return the value from the function instead "
                f"(has_aux=True returns extra values from grad and vjp)")


def check_callable(f, what, usage):
    """A TypeError where the function given to ``what`` is a value (``grad(f(x))``)."""
    if not callable(f):
        raise TypeError(f"{what}: the function given is a {type(f).__name__} ({f!r:.40}), "
                        f"not a function; pass the function itself: {usage}")


def _top_trace(args):
    top = None
    for a in args:
        if isinstance(a, Tracer) and (top is None or a._trace.level > top.level):
            top = a._trace
    return top


def bind(prim, args, params):
    """Apply ``prim`` to ``args``: the highest-level trace among them handles it."""
    top = None
    for a in args:   # _top_trace, inlined: this is the hottest loop of the engine
        if isinstance(a, Tracer) and (top is None or a._trace.level > top.level):
            top = a._trace
    if top is None:
        if _abstract_open and params:
            top = _abstract_param_trace(params.values())
        if top is None:
            return prim.impl(*args, **params)
    return top.process(prim, args, params)


_abstract_open = 0   # how many abstract traces (riesz.staging) are recording now


@contextlib.contextmanager
def abstract_trace_open():
    """Mark an abstract trace as recording: only then can a parameter hold its values."""
    global _abstract_open
    _abstract_open += 1
    try:
        yield
    finally:
        _abstract_open -= 1


def _abstract_param_trace(values):
    """The trace of a staged value inside a parameter (an index computed by a program being
    staged, riesz.staging), which then records the operation; None when there is none."""
    for v in values:
        if isinstance(v, Tracer) and v.abstract:
            return v._trace
        if type(v) is tuple:
            top = _abstract_param_trace(v)
            if top is not None:
                return top
    return None


def bind_custom_vjp(name, fun, fwd, bwd, args):
    """Call ``fun(*args)`` whose reverse mode is given by the user.

    ``fwd(*args) -> (out, residuals)`` and ``bwd(residuals, g) -> cotangents``
    (one per argument; ``g`` has ``None`` for a zero cotangent of an output of a
    tuple-valued ``fun``). Reverse mode at the top level uses ``bwd``; forward
    mode differentiates ``fun`` itself; lower levels see the operations of
    ``fwd`` and ``bwd``, so derivatives of the rule come from nesting.
    """
    top = _top_trace(args)
    if top is None:
        return fun(*args)
    return top.process_custom_vjp(name, fun, fwd, bwd, args)


def bind_custom_jvp(name, fun, jvp, fwd, bwd, args):
    """Call ``fun(*args)`` whose forward mode is given by the user.

    ``jvp(primals, tangents) -> (out, tangent_out)`` (``None`` for the tangent of
    an argument that is not perturbed). Forward mode uses ``jvp``; reverse mode
    uses ``fwd``/``bwd``, the transpose of ``jvp``'s linear map built by the caller,
    as a custom VJP.
    """
    top = _top_trace(args)
    if top is None:
        return fun(*args)
    return top.process_custom_jvp(name, fun, jvp, fwd, bwd, args)


def full_lower(x):
    """The concrete value under every level of tracing (or the staged, abstract tracer
    at the bottom, when a program is being staged)."""
    while isinstance(x, Tracer) and not x.abstract:
        x = x.primal
    return x


def lower_to_values(x):
    """:func:`full_lower`, stopping also at a batch of examples (riesz.vmap): the value that
    a function without a derivative (a comparison, a mask, the sign) is computed from by
    array operations, which run on a staged value as a staged program's operations and on a
    batch as the batch's, one call for every example."""
    while isinstance(x, Tracer) and not (x.abstract or x.is_batch):
        x = x.primal
    return x


# ---------------------------------------------------------------- forward mode

class JVPTracer(Tracer):
    __slots__ = ("tangent",)

    def __init__(self, trace, primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent


class JVPTrace(Trace):
    """Forward mode: push tangents through each primitive's JVP rules."""
    __slots__ = ()
    add = None  # set by riesz.rules: the differentiable sum of two tangents

    def process(self, prim, args, params):
        self.check_open(prim.name)
        primals = []
        tangents = []
        for a in args:
            if type(a) is JVPTracer and a._trace is self:
                primals.append(a.primal)
                tangents.append(a.tangent)
            else:
                primals.append(a)
                tangents.append(None)
        ans = bind(prim, primals, params)
        out = None
        for i, t in enumerate(tangents):
            if t is None:
                continue
            rule = prim.rule("forward", i)
            if rule is ZERO:
                continue
            dout = rule(t, ans, *primals, **params)
            out = dout if out is None else _add_tangents(out, dout, prim.multiple_results)
        if prim.multiple_results:
            out = out or (None,) * len(ans)
            return tuple(v if t is None else JVPTracer(self, v, t) for v, t in zip(ans, out))
        return ans if out is None else JVPTracer(self, ans, out)

    def process_custom_vjp(self, name, fun, fwd, bwd, args):
        return fun(*args)   # forward mode differentiates the primal implementation

    def process_custom_jvp(self, name, fun, jvp, fwd, bwd, args):
        self.check_open(name)
        primals, tangents = [], []
        for a in args:
            mine = type(a) is JVPTracer and a._trace is self
            primals.append(a.primal if mine else a)
            tangents.append(a.tangent if mine else None)
        out, t_out = jvp(primals, tangents)
        self.check_no_closure(name, out)
        if isinstance(out, tuple):
            return tuple(JVPTracer(self, o, t) for o, t in zip(out, t_out))
        return JVPTracer(self, out, t_out)


def _add_tangents(a, b, multiple):
    add = JVPTrace.add
    if not multiple:
        return add(a, b)
    return tuple(y if x is None else x if y is None else add(x, y) for x, y in zip(a, b))


# ---------------------------------------------------------------- reverse mode

class VJPTracer(Tracer):
    __slots__ = ("slot",)

    def __init__(self, trace, primal, slot):
        self._trace = trace
        self.primal = primal
        self.slot = slot


_new = object.__new__   # an instance without a call of its __init__ (the recording's hot path)


class Node:
    """One recorded primitive application: what its VJP rules need, nothing more."""
    __slots__ = ("prim", "params", "parents", "args", "ans")

    def __init__(self, prim, params, parents, args, ans):
        self.prim = prim
        self.params = params
        self.parents = parents  # ((argnum, slot of that argument), ...)
        self.args = args
        self.ans = ans


class _ProductMode(threading.local):
    """How the rule table's ``scale`` multiplies plain values in this thread: zero-safe
    (0 × ∞ = 0), unless a backward pass has switched it to plain products for the
    rules it is running (:meth:`VJPTrace.backward`); and the cotangent, if any, that the
    rule running now may write a product of into (``donated``: no one else holds it and
    no later rule reads it)."""
    plain = False
    donated = None


product_mode = _ProductMode()


def _references_of_a_list_entry():
    """The reference count of an object held by one list entry and one local name, as the
    backward pass sees a cotangent it alone holds (measured, so that it holds for the
    interpreter running this code)."""
    cts = [object()]
    old = cts[0]
    return sys.getrefcount(old)


def _references_of_a_name():
    """The same for an object held by one local name only."""
    g = object()
    return sys.getrefcount(g)


_HELD_BY_THE_PASS_ONLY = _references_of_a_list_entry()
_HELD_BY_A_NAME_ONLY = _references_of_a_name()


class VJPTrace(Trace):
    """Reverse mode: record a tape, then walk it backwards.

    The tape is a list in creation order, which is a topological order. A
    tape entry is a :class:`Node`, ``None`` for an input, or an ``int`` for the
    output slots of a multiple-result node (pointing back to the node).
    """
    __slots__ = ("tape", "inputs", "nested", "first_reader", "rewrite_at", "big_from",
                 "protected", "__weakref__")
    add = None      # set by riesz.rules: the differentiable sum of two cotangents
    add_into = None  # set by riesz.rules: the same sum, written into the first where it can
    has_nan = None  # set by riesz.rules: whether a plain cotangent holds a NaN (one pass)
    prepare_tape = None  # set by riesz.rules: rewrite a consumed tape, give back unread values
    # set by riesz.rules: the primitives whose nodes prepare_tape may rewrite, and the size in
    # bytes from which it gives a result back or a rule writes into a cotangent (smaller
    # values are left alone: the tests of these sizes are skipped for them); until then every
    # node counts
    rewritten: "Container[Primitive]" = frozenset()
    big_nbytes = 0
    # set by riesz.rules: keep_constants(trace, prim, parents, vals, positions) makes the
    # constant arguments of a node (not traced here, at ``positions``) safe from the user's
    # code writing into them after the call (a NumPy array refilled in a loop,
    # buf[:] = ...), so that its rules read the values the primitive was applied to;
    # release_constants(arrays) undoes its protections
    keep_constants = None
    release_constants = None
    kept_types: "frozenset[type]" = frozenset()   # the types keep_constants is asked about
    # set by riesz.rules: the primitives whose VJP rules give the same cotangents in either
    # product mode; those each of whose VJP rules sums the cotangent (every entry a term of one
    # result entry); and sum_holds_no_nan(ct, g), which tests such a sum ct of g for NaN where
    # that is cheap (False where it is not)
    mode_free: "Container[Primitive]" = frozenset()
    summing: "Container[Primitive]" = frozenset()
    sum_holds_no_nan = None

    def __init__(self):
        super().__init__()
        self.tape = []
        self.inputs = []            # the slots of the inputs
        self.nested = False         # some node's argument is traced at a lower level
        self.first_reader = None    # the first node whose primitive may not propagate NaN
        self.rewrite_at = None      # the slots of the nodes prepare_tape may rewrite, if any
        self.big_from = None        # the first node whose result may be big (prepare_tape)
        self.protected = None       # the constant arrays made read-only while the tape holds them

    def __del__(self):
        if self.protected:   # a tape dropped without a pass that consumes it
            VJPTrace.release_constants(self.protected)

    def new_input(self, value):
        slot = len(self.tape)
        self.tape.append(None)
        self.inputs.append(slot)
        return VJPTracer(self, value, slot)

    def _unbox(self, args):
        """The arguments one level down, ((argnum, slot), ...) of those traced here,
        and whether any argument is still traced at a lower level."""
        vals = []
        parents = []
        lower = False
        for i, a in enumerate(args):
            if type(a) is VJPTracer and a._trace is self:
                parents.append((i, a.slot))
                a = a.primal
            vals.append(a)
            if not lower and isinstance(a, Tracer):
                lower = True
        return vals, parents, lower

    def process(self, prim, args, params):
        if self.closed:
            self.check_open(prim.name)
        vals = []   # _unbox, inlined: this runs once per recorded operation
        parents = []
        lower = False
        constants = None   # positions of arguments not traced here of kept_types
        kept = VJPTrace.kept_types
        i = 0
        for a in args:
            t = type(a)
            if t is VJPTracer and a._trace is self:
                parents.append((i, a.slot))
                a = a.primal
                t = type(a)
            elif t in kept:
                if constants is None:
                    constants = [i]
                else:
                    constants.append(i)
            if t not in kept and isinstance(a, Tracer):   # (an array of a kept type is not)
                lower = True
            vals.append(a)
            i += 1
        if lower:
            ans = bind(prim, vals, params)
            self.nested = True
        else:
            ans = prim.impl(*vals, **params)
        if not parents:
            return ans
        if constants is not None:
            vals = VJPTrace.keep_constants(self, prim, parents, vals, constants)
        if prim.multiple_results:
            return self._record(prim, params, parents, vals, ans)
        tape = self.tape   # _record's single-result case, inlined on the hot path
        slot = len(tape)
        if not prim.propagates_nan and self.first_reader is None:
            self.first_reader = slot
        if prim in VJPTrace.rewritten:
            self._rewrite_at(slot)
        if self.big_from is None and not lower and getattr(ans, "nbytes", 0) >= \
                VJPTrace.big_nbytes:   # (a traced result is never given back)
            self.big_from = slot
        node = _new(Node)   # Node(prim, params, parents, vals, ans) without __init__'s call
        node.prim = prim
        node.params = params
        node.parents = parents
        node.args = vals
        node.ans = ans
        tape.append(node)
        tracer = _new(VJPTracer)   # VJPTracer(self, ans, slot), the same way
        tracer._trace = self
        tracer.primal = ans
        tracer.slot = slot
        return tracer

    def process_custom_jvp(self, name, fun, jvp, fwd, bwd, args):
        return self.process_custom_vjp(name, fun, fwd, bwd, args)

    def process_custom_vjp(self, name, fun, fwd, bwd, args):
        self.check_open(name)
        vals, parents, lower = self._unbox(args)
        if not parents:
            return fun(*vals)
        self.nested = self.nested or lower
        ans, residuals = fwd(*vals)
        self.check_no_closure(name, ans)
        last = [None, None]

        def cotangents(g):
            # the backward pass asks argument by argument with the same g: call bwd once
            if last[0] is not g:
                last[0], last[1] = g, tuple(bwd(residuals, g))
            return last[1]

        multiple = isinstance(ans, tuple)
        prim = Primitive(f"custom_vjp({name})", fun, multiple_results=multiple,
                         vjps=[(lambda g, ans, *a, i=i: cotangents(g)[i]) for i in range(len(args))])
        return self._record(prim, {}, parents, vals, ans)

    def _record(self, prim, params, parents, vals, ans):
        tape = self.tape
        slot = len(tape)
        if not prim.propagates_nan and self.first_reader is None:
            self.first_reader = slot
        if prim in VJPTrace.rewritten:
            self._rewrite_at(slot)
        if self.big_from is None and not isinstance(ans, Tracer) and getattr(
                ans, "nbytes", 0) >= VJPTrace.big_nbytes:
            self.big_from = slot
        tape.append(Node(prim, params, parents, vals, ans))
        if prim.multiple_results:
            outs = []
            for k, v in enumerate(ans):
                tape.append(slot)
                outs.append(VJPTracer(self, v, slot + 1 + k))
            return tuple(outs)
        return VJPTracer(self, ans, slot)

    def _rewrite_at(self, slot):
        if self.rewrite_at is None:
            self.rewrite_at = [slot]
        else:
            self.rewrite_at.append(slot)

    def backward(self, seeds, consume=False, seeds_hold_no_nan=False):
        """Cotangents of every slot reached from ``seeds`` (a list of (slot, g)).

        Returns the list of cotangents indexed by slot; inputs keep theirs.
        With ``consume`` the tape is emptied as it is walked, so memory is
        given back while the pass runs. ``seeds_hold_no_nan``: the caller made the seeds
        (grad's ones), so they are not tested for NaN.

        Zero-safety paid once. The rules multiply cotangents by derivatives with the
        zero-safe product (0 × ∞ = 0, ``riesz.rules.define.scale``), which costs a
        finiteness check per product. Where it is sound, the pass runs the rules with
        plain products instead (:data:`product_mode`), tests each result once for NaN,
        and only if one holds a NaN walks the same tape again with zero-safe products
        (the user's function is not run again). Why the results are the same:

        * where a plain product and the zero-safe one differ, the plain one is NaN
          (0 × ±∞ and 0 × NaN; every other product is the same number);
        * every operation that the rules of a primitive with ``propagates_nan``
          apply to a cotangent gives NaN in each result entry that depends on a NaN
          entry, or the same value whatever that entry holds (a ``where`` that does
          not select it, the condition coming from primal values); so every
          cotangent of the plain walk equals the zero-safe walk's or is NaN, and a
          result without NaN is the zero-safe result.

        Primitives without ``propagates_nan`` may read a cotangent without passing a
        NaN on: comparisons and ``isnan``/``isfinite`` (no derivative, but a custom
        rule may apply them), casts to integers or booleans, the nan-reductions,
        sorting and ``arg*`` indices, ``fmax``/``fmin``, rules that run a transform
        inside (eig's: its zero-safe products take 0 × NaN = 0), and every user
        ``custom_vjp``/``custom_jvp`` rule. A cotangent only flows towards lower
        slots, so the products of the nodes below the first such node
        (``first_reader``) never reach one: those run plain, the ones above (and the
        node itself) zero-safe.

        Fewer results tested. A plain walk over big arrays (as ``prepare_tape`` says) tests
        only the results it has not proved equal to the zero-safe walk's. A cotangent is
        proved so (is *sure*) when it is a seed, or every contribution summed into it came
        from a sure cotangent through a rule that gives the same values in either product
        mode (``mode_free``: sums, negations, copies, matrix products; every rule of a node
        above ``plain_below`` runs zero-safe anyway). A rule of ``summing`` (add, subtract)
        gives its cotangent g summed over the argument's broadcast axes: where that sum is
        small (a bias's, beside its layer's g) it is tested at once (``sum_holds_no_nan``),
        and without a NaN it proves g holds none (a sum with a NaN term is NaN), hence g
        equals the zero-safe walk's (by the argument above), hence g is sure. So in
        ``relu(x @ W + b)`` the test of b's 10² entries stands for the test of W's 10⁵:
        W's cotangent is xᵀ g, a matrix product of a sure g. A test that finds a NaN proves
        nothing: the values g reaches stay unsure, and are tested at the end.

        Values of other libraries (Dask, CuPy) are never read, so ``has_nan`` counts them
        as holding a NaN: a pass seeded with one is zero-safe throughout, and one whose
        result is one walks again zero-safe.

        The whole pass stays zero-safe where the tape is nested (a node's argument is
        traced at a lower level, as in ``jvp(grad(f))`` or the inner pass of
        ``grad(grad(f))``) or a seed is traced: the values it computes are recorded
        as primal values of the lower level, where a NaN that a ``where`` hid could
        not be undone by walking again without running the user's function again.
        Forward mode keeps the check per product for the same reason: a JVP runs the
        user's function once, alongside its tangents.

        Accumulation in place. A cotangent that only this pass holds (no user, node,
        rule, cache or other slot refers to it: its reference count is that of a list
        entry and one local name) is summed into with ``add_into``, which writes into it
        where the types allow (riesz.rules.define.add_into); every other sum makes a new
        value. In the same way the cotangent of a node, when only this pass holds it, is
        handed over to the node's last rule (``product_mode.donated``), whose product of it
        (``riesz.rules.define.scale``) is then written into it, as a hand-written backward
        pass scales a gradient in place: no later rule reads it. (Only in a pass that
        consumes a tape holding big arrays, as ``prepare_tape`` says: on small ones the
        test would cost more than it saves.)

        Values no rule reads. A pass that consumes its tape first rewrites it where the
        rule table knows a cheaper node for a chain of them (a softmax written out in
        NumPy operations becomes one ``softmax`` node), then gives back the arrays that
        its nodes keep and that no rule of theirs reads (the argument of ``exp``, the
        product ``q @ kᵀ`` before its scaling), so that the cotangents take their place
        (``prepare_tape``); a pass that keeps its tape (``vjp``'s pullback, ``linearize``,
        whose forward rules read other values) leaves it as it is.
        """
        tape = self.tape
        # prepare_tape only where recording saw a node it may change; it says whether the
        # tape made big arrays, whose cotangents may then be handed over to be written into
        donate = consume and (self.rewrite_at is not None or self.big_from is not None) and \
            VJPTrace.prepare_tape(tape, seeds, self.rewrite_at or (), self.big_from)
        add, has_nan = VJPTrace.add, VJPTrace.has_nan
        plain_below = 0 if self.nested else \
            len(tape) if self.first_reader is None else self.first_reader
        for _, g in seeds:
            # a seed that is traced, of another library, or holding a NaN: zero-safe throughout
            if isinstance(g, Tracer) or not seeds_hold_no_nan and has_nan(g):
                plain_below = 0
        mode_free, summing = VJPTrace.mode_free, VJPTrace.summing
        mode = product_mode.plain
        try:
            while True:
                cts = [None] * len(tape)
                for slot, g in seeds:
                    cts[slot] = g if cts[slot] is None else add(cts[slot], g)
                # a plain walk over big arrays tests only the results it has not proved equal to
                # the zero-safe walk's: the slots a cotangent not so proved has reached
                unsure = set() if donate and plain_below else None
                product_mode.plain = False
                for slot in range(len(tape) - 1, -1, -1):
                    if slot == plain_below - 1:
                        product_mode.plain = True
                    node = tape[slot]
                    if node is None or type(node) is int:
                        continue
                    prim = node.prim
                    if prim.multiple_results:
                        n = len(node.ans)
                        g = tuple(cts[slot + 1: slot + 1 + n])
                        cts[slot + 1: slot + 1 + n] = [None] * n
                        if all(x is None for x in g):
                            continue
                    else:
                        g = cts[slot]
                        if g is None:
                            continue
                        cts[slot] = None
                    if consume and not plain_below:
                        tape[slot] = None
                    parents = node.parents
                    # the last rule may write into a cotangent only the pass holds
                    last = parents[-1][0] if donate and not prim.multiple_results and \
                        sys.getrefcount(g) == _HELD_BY_A_NAME_ONLY and \
                        not isinstance(g, Tracer) else None
                    if unsure is not None:
                        sure = slot not in unsure if not prim.multiple_results else \
                            unsure.isdisjoint(range(slot + 1, slot + 1 + len(g)))
                        reached = []
                    for argnum, parent in parents:
                        rule = prim.rule("reverse", argnum)
                        if rule is ZERO:
                            continue
                        if argnum == last:
                            product_mode.donated = g
                        ct = rule(g, node.ans, *node.args, **node.params)
                        if ct is None:
                            continue
                        if unsure is not None:
                            if not sure and prim in summing:
                                sure = VJPTrace.sum_holds_no_nan(ct, g)
                            reached.append(parent)
                        old = cts[parent]
                        if old is None:
                            cts[parent] = ct
                        elif sys.getrefcount(old) == _HELD_BY_THE_PASS_ONLY:
                            cts[parent] = VJPTrace.add_into(old, ct)
                        else:
                            cts[parent] = add(old, ct)
                        ct = old = None   # the slot alone holds it now (add_into, donated)
                    if last is not None:
                        product_mode.donated = None
                    if unsure is not None and not (
                            sure and (prim in mode_free or not product_mode.plain)):
                        unsure.update(reached)
                if not plain_below:
                    break
                for s in self.inputs:
                    ct = cts[s]
                    if ct is not None and (unsure is None or s in unsure) and has_nan(ct):
                        break
                else:
                    break
                ct = None
                plain_below = 0   # a NaN: walk again, with zero-safe products
        finally:
            product_mode.plain = mode
            product_mode.donated = None
        if consume:
            tape.clear()
            if self.protected:   # nobody reads the constants any more
                VJPTrace.release_constants(self.protected)
        return cts
