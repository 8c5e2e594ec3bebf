"""A tape recorded by :class:`riesz.core.VJPTrace`, read as the auto-staged derivatives
(:mod:`riesz.staging.replay`) need it: its structural key, from types only, and its
constants, in one loop over the tape; the replay steps; the log-sum-exps written out on it.
"""
import numpy as np

from ..core import Node, Tracer, bind
from ..rules.define import PRIMITIVES
from ..rules.elementwise import add
from ..rules.linalg import WARNS_FROM_VALUES
from ..rules.softmax import logsumexp, written_out_logsumexp
from .tracer import var_of

__all__ = ["Tape", "typed", "tree_key", "written_out_logsumexps", "not_nan"]

_SLOT, _CONST, _VALUE = 0, 1, 2   # where a replayed argument comes from


class _Unstageable(Exception):
    """A value that a staged program cannot hold as a constant (a traced value, an array of
    another library, an unhashable parameter)."""


_BY_VALUE = frozenset({int, bool, str, type(None), type(Ellipsis)})


def typed(v):
    """``v`` as a cache key, equal for two values only where a program may hold either as
    the same constant: Python and NumPy numbers by type and bits (``1``, ``1.0``, ``True``,
    ``0.0`` and ``-0.0`` differ), arrays in parameters (indices) by shape, dtype and bytes."""
    t = type(v)
    if t in _BY_VALUE:
        return (t, v)
    if t is float:
        return (t, v.hex())
    if t is tuple or t is list:
        return (t, tuple([typed(x) for x in v]))
    if t is dict:   # parameters: keyword names, then values
        return (t, tuple([(k, typed(x)) for k, x in v.items()]))
    if t is np.ndarray and not v.dtype.hasobject:
        return (t, v.shape, v.dtype, v.tobytes())
    if isinstance(v, np.generic) and not isinstance(v, np.object_):
        return (t, v.dtype, v.tobytes())
    if t is complex:
        return (t, v.real.hex(), v.imag.hex())
    if t is slice:
        return (t, typed(v.start), typed(v.stop), typed(v.step))
    if isinstance(v, (np.dtype, type)) or callable(v) and not isinstance(v, Tracer):
        return (t, v)   # a dtype, a scalar type, a ufunc or function: itself, by identity
    raise _Unstageable   # traced, an array of another library, an object of unknown kind


_INT = frozenset({int})


def _typed_params(params):
    """:func:`typed` of a node's parameters (a dict), its common values (ints, bools, None,
    strings, tuples of ints: an axis) without a call each: a tuple of (name, type, value)
    or (name, typed value)."""
    items = []
    for name, v in params.items():
        t = type(v)
        items.append((name, t, v) if t in _BY_VALUE or t is tuple and _INT.issuperset(
            map(type, v)) else (name, typed(v)))
    return tuple(items)


def tree_key(tree):
    """A pytree structure as a key: the common ones (a leaf, a tuple of leaves) as tuples
    that hash without calling Python, others as the TreeDef itself."""
    if tree.kind is None:
        return 1
    if tree.kind is tuple and tree.num_leaves == len(tree.children) and \
            all(c.kind is None for c in tree.children):
        return (tuple, tree.num_leaves)
    return tree


def is_constant(a):
    """Whether an argument that does not depend on the inputs is an input of the staged
    program (an ndarray, keyed by shape and dtype) rather than a value written into it."""
    return type(a) is np.ndarray and not a.dtype.hasobject


class Tape:
    """A recorded call as a staged program needs it, found in one loop over the tape
    (``trace``'s, with the inputs' slots ``in_slots`` and values ``flat``, and the outputs
    ``lowered``, (value, slot or None) each, as :class:`riesz.transforms.Recording` holds
    them): the
    structural ``key`` (None where the tape may not be staged; it holds the shapes and
    dtypes of the inputs, NumPy arrays here), the ndarray constants ``consts`` in tape
    order, and ``replayable`` (False where a node's primitive is not in the rule table:
    its rule closes over this call's values). The replay steps, needed
    only where the replay is evaluated or staged (a key's first two sightings), are built
    by :meth:`steps`; ``fused`` holds the log-sum-exps that they replay as one step (their
    result's slot and :func:`~riesz.rules.softmax.written_out_logsumexp`'s answer), as the
    caller chose them for this call (``_Programs.fused`` in :mod:`riesz.staging.replay`),
    and the caller's key names them."""
    __slots__ = ("nodes", "in_slots", "lowered", "consts", "key", "replayable", "warns",
                 "fused", "staged", "_steps")

    def __init__(self, trace, in_slots, flat, lowered):
        self.nodes = trace.tape
        self.in_slots = in_slots
        self.lowered = lowered
        self.consts = []
        self.replayable = True
        self.warns = False   # a node's derivative rules warn, reading values (eigh's)
        self.key = None
        self.fused = ()
        self.staged = None
        self._steps = None
        stageable = not trace.nested
        keys = []
        in_table = PRIMITIVES.get
        for node in self.nodes:
            if type(node) is not Node:   # an input; an output of a multiple-result node
                continue
            prim = node.prim
            if in_table(prim.name) is not prim:
                self.replayable = False
                return
            if prim.multiple_results and prim.name in WARNS_FROM_VALUES:
                self.warns = True
            parents, args, params = node.parents, node.args, node.params
            if params:
                try:
                    params = _typed_params(params)
                except _Unstageable:
                    stageable = False
            else:
                params = None
            if len(parents) == len(args):   # every argument traced: the commonest node
                keys.append((prim, tuple(parents), params))
                continue
            types = []   # some argument not traced: a constant or a value
            traced = []   # the positions of the traced arguments (a loop: no call)
            for i, _ in parents:
                traced.append(i)
            for i, a in enumerate(args):
                if i not in traced:
                    stageable &= self._operand(a, types)
            keys.append((prim, tuple(parents), params, tuple(types)))
        outputs = []
        for value, slot in lowered:
            if slot is None:
                stageable &= self._operand(value, outputs)
            else:
                outputs.append(slot)
        if stageable:   # (the inputs' types: what is found on the tape depends on them)
            types = []
            for x in flat:
                types.append((x.shape, x.dtype))
            self.key = (tuple(keys), tuple(in_slots), tuple(outputs), tuple(types))

    def _operand(self, a, types):
        """Append to ``types`` the key of ``a``, a value that does not depend on the inputs:
        an ndarray joins the constants (a program input, keyed by shape and dtype), anything
        else is written into the program (keyed by type and bits); False where it cannot be
        (the tape is then replayed eagerly)."""
        if is_constant(a):
            self.consts.append(a)
            types.append((a.shape, a.dtype))
            return True
        try:
            types.append(typed(a))
        except _Unstageable:
            return False
        return True

    def steps(self):
        """The replay steps (slot, primitive, params, sources), each source ``(_SLOT, slot)``,
        ``(_CONST, index into consts)`` or ``(_VALUE, value)``, and the outputs as sources:
        the recorded nodes, the log-sum-exps of ``fused`` as one step each."""
        if self._steps is not None:
            return self._steps
        fused = {slot: found for slot, found in self.fused}
        skipped = {s for _, found in self.fused for s in found[3]}
        steps, n_consts = [], 0

        def source(a):
            nonlocal n_consts
            if is_constant(a):   # in the order __init__ collected them
                n_consts += 1
                return (_CONST, n_consts - 1)
            return (_VALUE, a)

        for slot, node in enumerate(self.nodes):
            if type(node) is not Node:
                continue
            traced = dict(node.parents)
            sources = [(_SLOT, traced[i]) if i in traced else source(a)
                       for i, a in enumerate(node.args)]
            if slot in fused:
                y_slot, axis, keepdims, _ = fused[slot]
                steps.append((slot, logsumexp, {"axis": axis, "keepdims": keepdims},
                              [(_SLOT, y_slot)]))
            elif slot not in skipped:
                steps.append((slot, node.prim, node.params, sources))
        outputs = [(_SLOT, slot) if slot is not None else source(value)
                   for value, slot in self.lowered]
        self._steps = steps, outputs
        return self._steps

    def recorded(self, slots):
        """The values the recording computed at ``slots``."""
        nodes, values = self.nodes, []
        for slot in slots:   # (a loop: a comprehension is a call of its own)
            values.append(nodes[slot].ans)
        return values

    def replay(self, leaves, consts):
        """The outputs (flattened) of the recorded primitives applied to the input leaves
        ``leaves`` and the constants ``consts``."""
        steps, outputs = self.steps()
        env = [None] * len(self.nodes)
        for s, x in zip(self.in_slots, leaves):
            env[s] = x
        for slot, prim, params, sources in steps:
            ans = bind(prim, [v if k == _VALUE else env[v] if k == _SLOT else consts[v]
                              for k, v in sources], params)
            if prim.multiple_results:
                env[slot + 1: slot + 1 + len(ans)] = ans
            else:
                env[slot] = ans
                if self.staged is not None:   # being staged: _reading_recorded_values
                    self.staged.setdefault(slot, []).append(var_of(ans))
        return [v if k == _VALUE else env[v] if k == _SLOT else consts[v]
                for k, v in outputs]


def written_out_logsumexps(tape, lowered):
    """The log-sum-exps written out in NumPy on ``tape`` (m + log Σ exp(y − m), m = max y:
    :func:`~riesz.rules.softmax.written_out_logsumexp`), each to be replayed as one
    ``logsumexp(y)`` step: [(the result's slot, (y's slot, axis, keepdims, the slots of
    the chain, not replayed))]. Its Hessian is then one fused expression, diag(p) − p pᵀ
    with p = softmax(y), where the chain's would be the max's tie mask, the shift, the
    exponential, the sum and the log, each differentiated twice. Found from the tape's
    structure alone (primitives, parameters, slots, dtypes), so once per structural key;
    which of them a call replays fused its values decide (``_Programs.fused`` in
    :mod:`riesz.staging.replay`)."""
    adds = [slot for slot, node in enumerate(tape) if type(node) is Node and node.prim is add]
    if not adds:
        return ()
    uses = [0] * len(tape)   # how many nodes and outputs read each slot
    for node in tape:
        if type(node) is Node:
            for _, parent in node.parents:
                uses[parent] += 1
    for _, slot in lowered:
        if slot is not None:
            uses[slot] += 1
    found = [(slot, written_out_logsumexp(tape, slot, uses)) for slot in adds]
    return tuple([(slot, chain) for slot, chain in found if chain is not None])


def not_nan(ans):
    """Whether the value ``ans`` (an array or a NumPy scalar) holds no NaN, the one value
    unequal to itself."""
    return not (ans != ans).any() if type(ans) is np.ndarray else \
        isinstance(ans, np.generic) and not ans != ans
