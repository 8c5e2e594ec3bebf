"""Derivatives staged without asking: ``riesz.jacobian``, ``jacfwd``, ``jacrev``,
``hessian``, ``hvp``, and the backward pass of ``grad`` and ``value_and_grad``, record the
user's function on every call and run a staged program for the derivative of what was
recorded. ``riesz.config.stage_derivatives = False`` turns this off (the eager
transforms give the same answers, to rounding, more slowly).

The derivative of f at x depends only on the primitives f applied at x: the tape that
reverse mode records (:class:`riesz.core.VJPTrace`, one :class:`~riesz.core.Node` per
primitive application whose arguments depend on x). Write that tape as a function
``replay(x, c)`` of the inputs x and of the arrays c it used as constants (closed-over
arrays, random draws, anything computed without x): replay binds each node's primitive,
with its parameters, to the replayed values of its parents and to the constants. Then
replay(x, c) = f(x) at this call's x and c, and so is every derivative in x, since each
operation f applied to x is an operation of replay, with the same rule. Each call:

1. runs f(x) once under a recording ``VJPTrace``: the user's code runs every call with
   concrete values, so Python control flow, draws, prints, counters and mutated closures
   behave as in eager code; f runs once per call, as under the eager ``jacfwd``,
   ``jacrev`` and ``hessian`` (the eager ``jacobian`` choosing forward mode runs it
   twice: once to read the output's size, once under ``jacfwd``; here the recording
   serves both). NumPy's warnings come from this run; the derivative's computations,
   which compute the forward pass again, run silenced (as the eager backward pass);
2. builds a *structural key* of the tape, from types only: per node the primitive, its
   parameters (hashable values: Python numbers by type and bits, index arrays by shape,
   dtype and bytes), which slots its traced arguments come from, and each constant
   argument's type (an ndarray by shape and dtype; a number by type and bits, since it
   is written into the program); the inputs' tree, shapes and dtypes; the output slots;
   the transform and its options;
3. collects the ndarray constants in tape order: they are *inputs* of the staged
   program, never frozen into it, so a mutated closure, a new draw or a changed global
   array arrives as a new input value (no value is read or compared);
4. on the first sighting of a key evaluates the eager transform of ``replay`` (the tape
   recorded by ``jacrev`` is used as it is: that is the eager ``jacrev``); on the second
   it stages T(replay) with (x, c) as arguments (:func:`riesz.staging.stage.stage`, as
   ``riesz.jit`` does) and runs the compiled program from then on. Two calls with the
   same key have the same replay function, so the program computes both. The program
   also takes the values the recording computed at this call for the replayed steps
   (array results), and reads each where it would compute it again: the same value, the
   one the eager transforms' rules read (:func:`_reading_recorded_values`), so the
   forward pass runs once per call, in f.

Steps 2 and 3 are one loop over the tape; the replay steps themselves are built only on
a key's first two sightings, and the log-sum-exps written out on a tape (below) are found
once per key.

Where the tape cannot be staged, decided on types: an input that is traced (a transform
around this one) or not a NumPy array (Dask, CuPy, a Python number) runs the eager
transform without recording, and so does every call while ``riesz.config.debug_nans`` is
on (its checks name the user's lines); a node of a primitive outside the rule table (a
``custom_vjp``, ``custom_jvp``, ``checkpoint``, ``riesz.extend.primitive``) runs the eager
transform on f (for ``jacfwd`` and ``hessian`` f then runs twice in that call, and every
later call of this transformed function runs the eager transform alone, f once); a nested
tape (an argument traced at a lower level: a Jacobian inside ``grad`` closing over the
outer variable), a constant of another library or an unhashable parameter replays
eagerly; and a key whose staging fails (a rule that branches on a value) replays
eagerly from then on, silently, as the user did not ask for staging. A tape holding
``eigh``, ``eig`` or ``svd`` replays eagerly too: their rules warn where the derivative
of the vectors does not exist (repeated eigenvalues), reading values, and a program would
not (:data:`riesz.rules.linalg.WARNS_FROM_VALUES`).

One difference the tape cannot see: an array that f writes into *after* an operation
used it (a work buffer reused in a loop) is held by the tape as one object, so its last
value is what the replay reads, as the eager reverse pass (``jacrev``, ``grad``) does,
while eager forward mode used each value as it was. Write a new array instead.

A key that differs on every call (a Python number that changes each time, say) is
never staged: each call then costs the eager transform plus one recorded forward pass.
The cache is per transformed function, bounded (:data:`CACHE_SIZE` keys, least recently
used first out, without a warning) and shared by threads; the keys seen once are kept
apart, as many, so that a stream of keys that differ on every call pushes no program out.

``hvp`` is staged the same way, its programs kept in one cache for all functions (the
tape is the key); it pays at every size measured, 50 to 1000 (benchmarks/README.md),
though a key that differs on every call costs one recorded forward pass more than eager,
about a third of an hvp. ``hessian_vector_product``, ``make_hvp`` and ``make_ggnvp`` stay
eager.

``grad`` and ``value_and_grad`` record as they always did (the eager reverse mode is a
recording); what is staged is their backward pass, ``grad`` of the replay, read from the
recorded values (:func:`staged_gradient`), in one cache for all functions as for ``hvp``,
on a key's second sighting for a short tape and later for a long one (up to the 32nd:
:func:`_sightings_to_stage`), since staging costs about as much as 25–45 eager calls.
It runs only on tapes of small values, where the eager pass's Python (rule lookups, the
rules' wrappers, accumulation, NaN tests) costs more than its arithmetic: on the
64→128→10 training step of benchmarks/eager.py it made 3.1–3.3× hand-written NumPy
2.4×. A tape holding a value of :data:`riesz.rules.define.RELEASE_NBYTES` bytes or more
keeps the eager pass, which gives memory back as it walks. A key that differs on every
call costs the key (about half a microsecond a node) and nothing else.
"""
import collections
import functools
import threading
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from .. import transforms as eager
from ..debug import config
from ..transforms import (Recording, _jacrev_from_pullback, _split_args, _transform,
                          holomorphic_checked, jacobian_mode)
from ..tree import tree_flatten, tree_unflatten
from .ir import Eqn, Var
from .simplify import simplify
from .stage import stage
from .tape import Tape, not_nan, tree_key, written_out_logsumexps

__all__ = ["jacfwd", "jacrev", "jacobian", "hessian", "hvp"]

CACHE_SIZE = 32   # keys (programs, eager marks, first sightings) kept per transformed function

_EAGER = "eager"   # the cache entry of a key that could not be staged
_SEEN = "seen"     # the cache entry of a key seen once


def _replayed(tape, out_tree, n_args):
    """``g(*diff_args, consts)``: the tape's function of the differentiated arguments (the
    pytrees the user passed) and the list of its constants, with the output's tree."""
    def replayed(*args):
        leaves = tree_flatten(args[:n_args])[0]
        return tree_unflatten(out_tree, tape.replay(leaves, args[n_args]))
    return replayed


_STAGE = "stage"   # what _Programs.get answers on the sighting that stages a key


class _Programs:
    """Compiled programs by structural key: at most ``size`` keys (:data:`CACHE_SIZE` by
    default), least recently used first out (without a warning: the user did not ask for
    staging), each staged on its second sighting (or a later one the caller names); shared
    by threads. The keys not yet staged are kept apart (as many, first in first out), so
    that keys that differ on every call (a Python number that changes) never push a
    program out. Also, per tape key, the
    log-sum-exps its tapes write out (as many keys, first in first out)."""

    def __init__(self, size=None):
        self.size = size   # None: CACHE_SIZE, read at each use
        self.entries = collections.OrderedDict()   # key -> a program or _EAGER
        self.seen = collections.OrderedDict()      # key -> its sightings, not yet staged
        self.found = {}   # tape key -> (that key, written_out_logsumexps of its tapes)
        self.lock = threading.Lock()
        # (key, entry) of the last program found: a loop calling one function compares its
        # key with it once, where the dictionary hashes it and compares it twice (a lookup,
        # then the move to the end), a few microseconds on a small step's tape
        self.last = None

    def get(self, key, sightings=2):
        """The entry for ``key``: a compiled program, _EAGER (staging failed) or _SEEN (one
        of the first ``sightings - 1`` sightings): evaluate eagerly; or _STAGE (a later
        one): stage the program and :meth:`put` it."""
        last = self.last   # one read: another thread may replace it meanwhile
        if last is not None and last[0] == key:
            return last[1]
        with self.lock:   # another thread may drop the key between reading and moving it
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
                self.last = (key, entry)
                return entry
            seen = self.seen.get(key, 0)
            if seen + 1 >= sightings:   # staged outside the lock (it takes a while), so
                return _STAGE           # two threads may both stage it: the same program
            if not seen and len(self.seen) >= (self.size or CACHE_SIZE):
                self.seen.popitem(last=False)
            self.seen[key] = seen + 1
            return _SEEN

    def put(self, key, entry):
        """Keep ``entry`` (a compiled program or _EAGER) for ``key``; return it."""
        with self.lock:
            self.seen.pop(key, None)
            if key not in self.entries and len(self.entries) >= (self.size or CACHE_SIZE):
                self.entries.popitem(last=False)
            self.entries[key] = entry
        return entry

    def fused(self, tape):
        """The log-sum-exps written out on ``tape`` (its key not None) that this call
        replays as one step, as ``tape.fused`` holds them: those whose recorded value is not
        NaN. The derivative is the same (the shift cancels), so the program answers as the
        eager transform of the recorded tape does, where the chain's value is not NaN. Where
        it is (m = ±∞ or y holding NaN in some row: then and only then, since with m finite
        Σ exp(y − m) ≥ 1) the two derivatives differ (the chain's zero-safe rules give
        numbers where logsumexp's give NaN, and the reverse), so that call replays the
        chain as recorded: the recorded value, not the type, decides, as the recording
        decides which primitives run, and the key names the fused steps."""
        tape_nodes = tape.nodes
        known = self.found.get(tape.key)
        if known is None:
            known = tape.key, written_out_logsumexps(tape_nodes, tape.lowered)
            with self.lock:
                if len(self.found) >= (self.size or CACHE_SIZE):
                    del self.found[next(iter(self.found))]
                self.found[tape.key] = known
        # the key as first seen: the program's key then holds the same object, which
        # compares equal at once
        tape.key, found = known
        return tuple([(slot, chain) for slot, chain in found if not_nan(tape_nodes[slot].ans)])


_EAGER_TRANSFORMS = {"jacfwd": eager.jacfwd, "jacrev": eager.jacrev, "hessian": eager.hessian}


def _auto_staged(kind, f, argnums, has_aux, mode=None, holomorphic=False):
    """The function computing transform ``kind`` ("jacfwd", "jacrev", "hessian"; for
    "jacobian", ``mode`` picks one) of ``f``, auto-staged as the module docstring says
    (with ``holomorphic``, of ``f`` checked to be a complex function of complex inputs)."""
    if holomorphic:
        f, check_args = holomorphic_checked(kind, f, argnums, has_aux)
        derivative = _auto_staged(kind, f, argnums, has_aux, mode)

        def holomorphic_derivative(*args, **kwargs):
            check_args(args)
            return derivative(*args, **kwargs)
        holomorphic_derivative.programs = derivative.programs
        return holomorphic_derivative
    programs = _Programs()
    fname = getattr(f, "__name__", "f")
    fname = fname if isinstance(fname, str) else "f"

    def eager_transform(which):
        return _EAGER_TRANSFORMS[which](f, argnums, has_aux)

    custom_rules = []   # non-empty once a call of f recorded a custom rule (forward mode)

    def derivative(*args, **kwargs):
        f_of_diff, diff_args, single, leaves, in_tree = _split_args(f, args, kwargs, argnums, kind)
        # traced, Dask, CuPy, numbers; or riesz.config.debug_nans on, which checks every
        # primitive of the eager transform (a staged program's are not checked), or
        # stage_derivatives off; or an f seen applying a custom rule, whose recording
        # forward mode cannot use
        if config.debug_nans or not config.stage_derivatives or custom_rules or \
                not all(type(x) is np.ndarray for x in leaves):
            return (eager_transform(kind) if mode is None else
                    eager.jacobian(f, argnums, mode, has_aux))(*args, **kwargs)
        rec = Recording(f_of_diff, diff_args, has_aux, (leaves, in_tree))
        tape = Tape(rec.trace, rec.in_slots, rec.flat, rec.lowered)
        # jacobian's mode "auto" is chosen by the sizes and dtypes of the inputs and the
        # outputs, which the key holds (the inputs' as such, the outputs' by the tape's
        # structure): a program found under the key needs no choice
        which = kind if mode is None else _MODES[mode]
        entry, key = _EAGER, None
        if tape.key is not None and not tape.warns:   # (eigh's warnings come as eagerly)
            tape.fused = programs.fused(tape)
            key = (which or mode, single, tree_key(in_tree), tree_key(rec.out_tree), tape.key,
                   tuple([slot for slot, _ in tape.fused]))
            entry = programs.get(key)
        if not callable(entry):   # evaluated eagerly, or staged now
            which = which or _auto_mode(rec)
            if not tape.replayable and which != "jacrev":   # a custom rule holds this
                custom_rules.append(True)                        # call's values: f runs
                return eager_transform(which)(*args, **kwargs)   # again (this time only)
            if entry is _STAGE:
                entry = programs.put(key, _compiled(
                    _transformed(which, tape, rec.out_tree, diff_args, single),
                    (*diff_args, tape.consts), f"{which}_{fname}", tape))
        # the forward pass warned (as NumPy does) when f ran; computing it again for the
        # derivative stays silent, as the eager backward pass is
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if callable(entry):
                jac = entry(leaves, tape)
            elif which == "jacrev":   # the recording is the eager jacrev's
                jac = _jacrev_from_pullback(rec.out, rec.pullback, diff_args, single)
            else:
                jac = _transformed(which, tape, rec.out_tree, diff_args, single)(
                    *diff_args, tape.consts)
        return (jac, rec.aux) if has_aux else jac

    derivative.programs = programs.entries
    return derivative


def _transformed(which, tape, out_tree, diff_args, single):
    """T(replay): transform ``which`` of the tape's function of (*diff_args, consts)."""
    g = _replayed(tape, out_tree, len(diff_args))
    return _EAGER_TRANSFORMS[which](g, 0 if single else tuple(range(len(diff_args))))


_MODES = {"forward": "jacfwd", "fwd": "jacfwd", "reverse": "jacrev", "rev": "jacrev",
          "auto": None}   # jacobian's modes; "auto": _auto_mode


def _auto_mode(rec):
    """"jacfwd" or "jacrev" for ``jacobian``'s mode "auto": by the sizes and dtypes of the
    recorded inputs and outputs, as the eager ``jacobian`` chooses."""
    out_leaves = [v for v, _ in rec.lowered]
    return "jacfwd" if jacobian_mode(rec.flat, out_leaves) == "forward" else "jacrev"


# the handling of NumPy's floating-point errors that a staged derivative runs under
_SILENT = frozenset({("divide", "ignore"), ("invalid", "ignore"), ("over", "ignore")})


def _compiled(fn, args, name, tape, flat=False):
    """``fn`` (a transform of ``tape``'s replay) staged at the example arguments ``args``
    and compiled, as a function ``run(leaves, tape)`` of the flattened leaves of the
    differentiated arguments and of a call's tape (its constants, and the values it
    recorded that the program reads: :func:`_reading_recorded_values`), returning
    ``fn``'s result (with ``flat``, the list of its leaves); or _EAGER where staging
    fails. Staging runs riesz's own rules only (the user's function is not called), so
    any failure is the library's (a rule reading values), never the user's: the key then
    replays eagerly, without a warning. ``run`` is called with NumPy's warnings of
    division, invalid values and overflow silenced (:data:`_SILENT`: the forward pass
    warned when f ran, and the eager backward pass is silent), so the program sets no
    handling of its own where it would set that one (a microsecond a call)."""
    try:
        with warnings.catch_warnings():   # the user did not ask for staging: no word of it
            warnings.simplefilter("ignore")
            program, slots = _reading_recorded_values(fn, args, name, tape)
            if all(e.errstate is None or _SILENT.issuperset(e.errstate) for e in program.eqns):
                program = program.replace([Eqn(e.prim, e.inputs, e.params, e.outputs, e.where,
                                               e.group, e.names) for e in program.eqns])
            compiled = program.compiled()
    except Exception:   # noqa: BLE001  (see the docstring: the eager replay stays right)
        return _EAGER
    if flat:
        one = len(program.outputs) == 1

        def run(leaves, tape):
            out = compiled(*leaves, *tape.consts, *tape.recorded(slots))
            return [out] if one else list(out)
    elif len(program.outputs) == 1 and program.out_tree.kind is None:
        def run(leaves, tape):   # one array: the compiled function's own result
            return compiled(*leaves, *tape.consts, *tape.recorded(slots))
    else:
        result_tree, one = program.out_tree, len(program.outputs) == 1

        def run(leaves, tape):
            out = compiled(*leaves, *tape.consts, *tape.recorded(slots))
            return tree_unflatten(result_tree, [out] if one else list(out))
    run.program = program
    return run


def _reading_recorded_values(fn, args, name, tape):
    """``(program, slots)``: ``fn(*args)`` staged with one more input per replayed step in
    ``slots`` (one array result, not a fused log-sum-exp), which the program reads where
    it would compute that step's value. The forward pass that the recording ran has
    computed these values already, at this call's inputs and constants, with the
    primitives the replay binds: the value the program would compute is the recorded
    one, and the derivative rules read it as in the eager transforms (which read the
    recorded tape). The forward pass is then not computed twice: in ``hvp`` of f(Ax), the
    product Ax (a pass over A) runs once per call where it ran twice. Which steps these
    are follows from the key (the types of the recorded values: NumPy's result types do
    not depend on values)."""
    nodes = tape.nodes
    fused = {slot for slot, _ in tape.fused}
    slots = [slot for slot, prim, _, _ in tape.steps()[0] if slot not in fused and
             not prim.multiple_results and type(nodes[slot].ans) is np.ndarray]
    recorded = tape.recorded(slots)
    tape.staged = {}   # slot -> the program variables of its value, as the replay binds it
    try:
        program = stage(lambda *a: fn(*a[:-1]), (*args, recorded), name=name)
        staged = tape.staged
    finally:
        tape.staged = None
    inputs = program.invars[len(program.invars) - len(recorded):]
    read = {id(v): x for slot, x in zip(slots, inputs) for v in staged.get(slot, ())
            if v is not None and v.shape == x.shape and v.dtype == x.dtype}

    def input_for(v):
        return read.get(id(v), v) if isinstance(v, Var) else v

    eqns = [Eqn(e.prim, [input_for(x) for x in e.inputs], e.params, e.outputs, e.where,
                e.group, e.names, e.errstate) for e in program.eqns]
    # the equations computing the recorded values are read no more: simplify drops them
    program = simplify(program.replace(eqns, [input_for(o) for o in program.outputs]))
    # and the recorded values the program does not read are not passed in
    used = {id(x) for e in program.eqns for x in e.inputs} | {id(o) for o in program.outputs}
    kept = [k for k, v in enumerate(inputs) if id(v) in used]
    in_tree = tree_flatten((*args, [recorded[k] for k in kept]))[1]
    return program.replace(program.eqns, inputs=(
        program.invars[:len(program.invars) - len(recorded)] + [inputs[k] for k in kept],
        in_tree)), [slots[k] for k in kept]


@_transform("the Jacobian (forward mode)")
def jacfwd(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
           has_aux: bool = False, holomorphic: bool = False) -> Callable[..., Any]:
    """The Jacobian of ``f`` by forward mode (:func:`riesz.transforms.jacfwd`: ∂f(x) applied
    to every standard basis vector of the input in one batched pass), staged per
    structural key of the recorded forward pass from its second sighting on (see
    :mod:`riesz.staging.replay`); it answers as the eager transform does. ``holomorphic``:
    as :func:`jacobian`."""
    return _auto_staged("jacfwd", f, argnums, has_aux, holomorphic=holomorphic)


@_transform("the Jacobian (reverse mode)")
def jacrev(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
           has_aux: bool = False, holomorphic: bool = False) -> Callable[..., Any]:
    """The Jacobian of ``f`` by reverse mode (:func:`riesz.transforms.jacrev`: ∂f(x)ᵀ applied
    to every standard basis vector of the output in one batched pass), staged per
    structural key of the recorded forward pass from its second sighting on (see
    :mod:`riesz.staging.replay`); it answers as the eager transform does. ``holomorphic``:
    as :func:`jacobian`."""
    return _auto_staged("jacrev", f, argnums, has_aux, holomorphic=holomorphic)


@_transform("the Jacobian")
def jacobian(f: Callable[..., Any], argnums: int | Sequence[int] = 0, mode: str = "auto",
             has_aux: bool = False, holomorphic: bool = False) -> Callable[..., Any]:
    """The generalized Jacobian of ``f`` (:func:`riesz.transforms.jacobian`: for y = f(x) an
    array of shape ``y.shape + x.shape`` whose entry [i, j] is ∂yᵢ/∂xⱼ; pytrees as in JAX;
    ``mode`` "forward", "reverse" or "auto", by the sizes of input and output; with
    ``has_aux`` the result is ``(jac, aux)``). Of a complex function of complex inputs it is
    the complex Jacobian (∂f/∂z, f'(z) for a holomorphic f), as JAX's with
    ``holomorphic=True``; that flag is taken too, and checks that the differentiated inputs
    and the outputs are complex.

    Repeated calls run a staged program: the forward pass is recorded on every call (f
    runs as in eager code) and the derivative of the recorded primitives is staged once
    per structural key, its constants passed in as inputs (:mod:`riesz.staging.replay`).
    The answer is the eager transform's.

    >>> import numpy as np, riesz
    >>> riesz.jacobian(lambda x: x ** 2)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    if mode not in _MODES:
        raise ValueError(f"jacobian: mode={mode!r}; use 'auto', 'forward' or 'reverse'")
    return _auto_staged("jacobian", f, argnums, has_aux, mode, holomorphic)


@_transform("the Hessian")
def hessian(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
            has_aux: bool = False, holomorphic: bool = False) -> Callable[..., Any]:
    """The Hessian of ``f``, forward over reverse: ``jacfwd(jacrev(f))``. For a scalar
    f of x its shape is ``x.shape + x.shape``; in general ``y.shape + x.shape + x.shape``
    (pytrees nest as in :func:`jacobian`).

    Repeated calls run a staged program, as for :func:`jacobian`; the answer is the eager
    transform's (:mod:`riesz.staging.replay`). ``holomorphic``: as :func:`jacobian`.

    >>> import numpy as np, riesz
    >>> riesz.hessian(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]))    # diag(6x)
    array([[ 6.,  0.],
           [ 0., 12.]])"""
    return _auto_staged("hessian", f, argnums, has_aux, holomorphic=holomorphic)


_HVP_PROGRAMS = _Programs()   # one cache for every f: the tape, not f, is what a program stands for


def hvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """The Hessian-vector product ∇²f(x) v of a real-scalar ``f``, without forming the
    Hessian (:func:`riesz.transforms.hvp`: the gradient of the directional derivative
    x ↦ ∂f(x)(v), one forward pass carrying v and one backward pass). ``primals`` and
    ``tangents`` are tuples, one entry per argument of ``f``; the result is one array
    (pytree) for one primal and a tuple for several.

    Repeated calls run a staged program, as for :func:`jacobian`; ``hvp`` is a function,
    not a transform, so its programs are kept in one cache for all functions, keyed by the
    recorded tape alone (which is all a program depends on: two functions that record the
    same tape have the same replay). The answer is the eager transform's.

    >>> import numpy as np, riesz
    >>> f = lambda x: np.sum(x ** 3)                 # ∇²f(x) v = 6x ⊙ v
    >>> riesz.hvp(f, (np.array([1.0, 2.0]),), (np.array([1.0, 1.0]),))
    array([ 6., 12.])
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        return eager.hvp(f, primals, tangents)   # which says what to pass
    primals, tangents = tuple(primals), tuple(tangents)
    p_leaves, p_tree = tree_flatten(primals)
    t_leaves, t_tree = tree_flatten(tangents)
    if config.debug_nans or not config.stage_derivatives or not all(
            type(x) is np.ndarray and x.dtype.kind in "fc" for x in p_leaves + t_leaves):
        return eager.hvp(f, primals, tangents)   # as in jacobian; an integer: eager's error
    rec = Recording(f, primals, False, (p_leaves, p_tree))
    tape = Tape(rec.trace, rec.in_slots, rec.flat, rec.lowered)
    if not tape.replayable:   # a custom rule holds this call's values: f runs again
        return eager.hvp(f, primals, tangents)

    def replayed_hvp(primals, tangents, consts):
        g = _replayed(tape, rec.out_tree, len(primals))
        # named as f, whose name eager.hvp's errors give (an array output, say)
        return eager.hvp(functools.wraps(f)(lambda *xs: g(*xs, consts)), primals, tangents)

    entry = _EAGER
    if tape.key is not None and not tape.warns:
        tape.fused = _HVP_PROGRAMS.fused(tape)
        key = ("hvp", tree_key(p_tree), tree_key(t_tree), tree_key(rec.out_tree),
               tuple([(x.shape, x.dtype) for x in t_leaves]), tape.key,
               tuple([slot for slot, _ in tape.fused]))
        entry = _HVP_PROGRAMS.get(key)
        if entry is _STAGE:
            fname = getattr(f, "__name__", "f")
            entry = _HVP_PROGRAMS.put(key, _compiled(
                replayed_hvp, (primals, tangents, tape.consts),
                f"hvp_{fname if isinstance(fname, str) else 'f'}", tape))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):   # as in jacobian
        if callable(entry):
            return entry(p_leaves + t_leaves, tape)
        return replayed_hvp(primals, tangents, tape.consts)


# ---------------------------------------------------------------- gradients

GRADIENT_CACHE_SIZE = 128   # keys kept by the gradients' one cache, shared by every function

_GRADIENT_PROGRAMS = _Programs(GRADIENT_CACHE_SIZE)   # the tape is the key, as for hvp


def staged_gradient(trace, in_slots, flat, value, slot, holomorphic, fname):
    """The gradient leaves of ``value`` (the scalar output recorded at ``slot`` of the
    tape of ``trace``) with respect to the inputs ``flat`` (at ``in_slots``), from a staged
    program: the backward pass of ``riesz.grad`` and ``riesz.value_and_grad``
    (:mod:`riesz.transforms`), auto-staged as the module docstring says, in one cache for
    every function (the tape is all a program depends on: ``riesz.grad(loss)(w)`` written
    in a loop stages once). None where the eager backward pass runs instead: a key's first
    sightings (:func:`_sightings_to_stage`), or a call the key cannot stand for or the
    program would change:

    * ``riesz.config.debug_nans`` on (its checks name the user's lines), an input that is
      not an ndarray, a nested tape (all decided before the key is built);
    * a tape holding big values (from :data:`riesz.rules.define.RELEASE_NBYTES` bytes, by
      shapes and dtypes): the eager pass gives their memory back as it walks and writes
      into cotangents only it holds, which keeps its peak within a hand-written backward's
      (benchmarks/eager.py memory), and on such arrays the few microseconds a staged
      program saves per operation are nothing; the program pays on small ones, where the
      walk costs more than the arithmetic (the 64→128→10 step of benchmarks/eager.py);
    * a node whose primitive is outside the rule table, an unhashable parameter, a
      constant of another library (:class:`~riesz.staging.tape.Tape`'s key is None), or a
      key whose staging failed;
    * a node of ``eigh``, ``eig`` or ``svd``, whose rules warn where the derivative of the
      vectors does not exist (repeated eigenvalues), reading values: the program would not
      (:data:`riesz.rules.linalg.WARNS_FROM_VALUES`).

    The program is ``grad`` of the tape's replay (eager rules applied to staged values), so
    its gradient is the eager pass's: the same rules, plain products tested once for NaN
    with the zero-safe program as the fallback
    (:func:`riesz.staging.source.nan_checked_outputs`), where the eager pass tests its
    results the same way. Its output arrays are new, as the eager pass's are (a gradient
    that is a constant, or an input, is copied)."""
    if config.debug_nans or not config.stage_derivatives or trace.nested or \
            trace.big_from is not None:
        return None
    for x in flat:
        if type(x) is not np.ndarray:
            return None
    tape = Tape(trace, in_slots, flat, ((value, slot),))
    if tape.key is None or tape.warns:
        return None
    key = (holomorphic, tape.key)
    entry = _GRADIENT_PROGRAMS.get(key, _sightings_to_stage(len(tape.nodes)))
    if entry is _STAGE:
        entry = _GRADIENT_PROGRAMS.put(key, _compiled(
            _replayed_gradient(tape, len(flat), holomorphic), (*flat, tape.consts),
            f"grad_{fname}", tape, flat=True))
    if not callable(entry):
        return None
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):   # as the eager pass
        return entry(flat, tape)


def _sightings_to_stage(n_slots):
    """On which sighting of a key a gradient's program is staged, for a tape of ``n_slots``
    slots: the second for a small tape, later for a longer one, the 32nd from 240 slots on.
    Staging costs about as much as 25–45 eager calls at any length (100–175 µs a node,
    against 3–4 µs a node for an eager call; benchmarks/README.md), and a call of the
    program saves a fraction of one: a function called a few times would pay staging for
    nothing (the 200-op chain's second call took 35 ms against 0.8 ms eagerly). Waiting
    bounds that cost, for a function called exactly that many times, to about twice the
    eager time, and costs a training loop of thousands of steps nothing measurable. A
    count of slots, not a time: which call runs the program is decided the same way on
    every run."""
    return min(32, 2 + n_slots // 8)


def _replayed_gradient(tape, n, holomorphic):
    """``g(*leaves, consts)``: the gradient leaves (a tuple) of the tape's scalar function
    of its ``n`` input leaves and the list of its constants, by the eager ``grad``."""
    return eager.grad(_replayed(tape, _ONE_LEAF, n), tuple(range(n)), holomorphic=holomorphic)


_ONE_LEAF = tree_flatten(0)[1]   # the structure of a gradient's one output


eager.staged_gradient = staged_gradient
