"""The log-sum-exp family as primitives: ``logsumexp``, ``log_softmax`` and ``softmax``
along given axes, with hand-derived rules.

Written out with NumPy operations each would be about eight primitives (a max shift, an
exponential, a sum, a log, ...) and as many backward steps; as primitives each is one node
whose backward pass is one fused expression. With p = softmax(x) along the axes (Σ p = 1):

    lse(x)         = m + log Σ exp(x − m)      ∂(ẋ) = Σ p ẋ            ∂ᵀ(g) = p g
    log_softmax(x) = x − lse(x)                ∂(ẋ) = ẋ − Σ p ẋ        ∂ᵀ(g) = g − p Σ g
    softmax(x)     = exp(x − lse(x))           ∂(ẋ) = p (ẋ − Σ p ẋ)    ∂ᵀ(g) = p (g − Σ p g)

(the Jacobian of softmax is diag(p) − p pᵀ, symmetric, so its transpose has the same form).
The shift m is the maximum along the axes, or 0 where that maximum is ±∞ (a row that is all
−∞ sums to 0 and its log-sum-exp is −∞, not NaN); no exponent is then above 0, so nothing
overflows at inputs of ±1000. The rules call these primitives again, so every order nests.
``axis`` is a sorted tuple of non-negative axes (:func:`~riesz.rules.reductions.normalize_axis`).
"""
import numpy as np

from ..core import Node
from .define import TAPE_REWRITES, defprim, dtype_of, fresh_product, shape_of
from .elementwise import add, divide, exp, log, subtract
from .reductions import amax_p, expand_reduced, sum_p


def _shift(x, axis):
    """The maximum along ``axis`` (kept), 0 where it is not finite."""
    m = np.max(x, axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0)


def _logsumexp(x, axis, keepdims):
    m = _shift(x, axis)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    out += m
    return out if keepdims else np.squeeze(out, axis=axis)


def _log_softmax(x, axis):
    # in a floating dtype (integer x gives float64, as NumPy's log does), then in place
    shifted = np.subtract(x, _shift(x, axis), dtype=np.result_type(x, 1.0))
    shifted -= np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return shifted


def _softmax(x, axis):
    e = np.exp(x - _shift(x, axis))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _total(v, axis):
    return sum_p(v, axis=axis, keepdims=True)


logsumexp = defprim(
    "logsumexp", _logsumexp,
    jvp=[lambda t, ans, x, axis, keepdims:
         sum_p(softmax(x, axis=axis) * t, axis=axis, keepdims=keepdims)],
    vjp=[lambda g, ans, x, axis, keepdims:
         softmax(x, axis=axis) * expand_reduced(g, axis, keepdims, shape_of(x))], reads=["x"])

def _log_softmax_vjp(g, ans, x, axis):
    # p = exp(log_softmax(x)): the output already holds it. The transpose is written
    # g + p (−Σg) (the same numbers as g − p Σg): a staged program then adds a picked
    # cotangent g (the negative log-likelihood's) into p (−Σg) in place
    if type(g) is np.ndarray and type(ans) is np.ndarray and g.dtype == ans.dtype:
        # nothing traced: g − p Σg (the same numbers) in one new array, NumPy's own (12 µs
        # of primitives' call layers and temporaries fewer on a 256 × 10 cotangent)
        p = np.exp(ans)
        p *= np.add.reduce(g, axis=axis, keepdims=True)
        return np.subtract(g, p, out=p)
    return g + exp(ans) * -_total(g, axis)


log_softmax = defprim(
    "log_softmax", _log_softmax,
    jvp=[lambda t, ans, x, axis: t - _total(exp(ans) * t, axis)],
    vjp=[_log_softmax_vjp], reads=["ans"])

# (the difference is a new value, scaled in place: two new arrays, as by hand)
softmax = defprim(
    "softmax", _softmax,
    jvp=[lambda t, ans, x, axis: ans * (t - _total(ans * t, axis))],
    vjp=[lambda g, ans, x, axis: fresh_product(g - _total(ans * g, axis), ans)], reads=["ans"])


# ------------------------------------------------------------ the softmax written out

def _node(tape, slot, prim):
    node = tape[slot]
    return node if type(node) is Node and node.prim is prim else None


def _written_out_softmax(tape, slot, uses):
    """p = e / Σ e with e = exp(s) or exp(s − max s), the sum and the maximum along the
    same axes with kept dimensions, and every value between s and p read by this chain
    only: the quotient's node becomes ``softmax(s)`` (the same p, computed already) and the
    chain's other nodes are dropped. Its rule makes three passes over the cotangent where
    the chain's rules (quotient, sum, exp, shift, maximum with its ties) make about a
    dozen. The same derivative: the shift is constant along the axes, p the softmax of s
    either way, and the cotangent the maximum gets, −Σ(cotangent of s − max s), is zero
    (to rounding: softmax's rule leaves it out)."""
    node = tape[slot]
    if len(node.parents) != 2 or dtype_of(node.ans).kind != "f":
        return
    (_, e_slot), (_, total_slot) = node.parents
    total, e = _node(tape, total_slot, sum_p), _node(tape, e_slot, exp)
    if total is None or e is None or total.parents[0][1] != e_slot or \
            not total.params["keepdims"] or uses[e_slot] != 2 or uses[total_slot] != 1:
        return
    _collapse(tape, node, softmax, total.params["axis"], e.parents[0][1], e.args[0],
              [e_slot, total_slot], uses, 1)


def _written_out_log_softmax(tape, slot, uses):
    """z − log Σ exp(z) with z = s or s − max s (the sum and the maximum along the same
    axes with kept dimensions, every value between s and the result read by this chain
    only): the difference's node becomes ``log_softmax(s)``, the chain's other nodes are
    dropped (the softmax cross-entropy's five backward steps become one, g − p Σ g)."""
    node = tape[slot]
    if len(node.parents) != 2 or dtype_of(node.ans).kind != "f":
        return
    (_, z_slot), (_, log_slot) = node.parents
    logged = _node(tape, log_slot, log)
    total = logged and _node(tape, logged.parents[0][1], sum_p)
    e = total and _node(tape, total.parents[0][1], exp)
    if e is None or e.parents[0][1] != z_slot or not total.params["keepdims"] or \
            uses[log_slot] != 1 or uses[logged.parents[0][1]] != 1 or \
            uses[total.parents[0][1]] != 1:
        return
    _collapse(tape, node, log_softmax, total.params["axis"], z_slot, node.args[0],
              [log_slot, logged.parents[0][1], total.parents[0][1]], uses, 2)


def _collapse(tape, node, prim, axis, x_slot, x, chain, uses, x_uses):
    """Make ``node`` ``prim(x, axis=axis)`` and drop the ``chain``'s nodes; where x = s − max s
    (read ``x_uses`` times, by the chain only) with the maximum along ``axis``, of s."""
    shift = _node(tape, x_slot, subtract)
    if shift is not None and uses[x_slot] == x_uses and len(shift.parents) == 2:
        (_, s_slot), (_, m_slot) = shift.parents
        peak = _node(tape, m_slot, amax_p)
        if peak is not None and peak.parents[0][1] == s_slot and uses[m_slot] == 1 and \
                peak.params["axis"] == axis and peak.params["keepdims"]:
            x_slot, x, chain = s_slot, shift.args[0], chain + [x_slot, m_slot]
    node.prim, node.params, node.parents, node.args = prim, {"axis": axis}, ((0, x_slot),), [x]
    for dropped in chain:
        tape[dropped] = None


def written_out_logsumexp(tape, slot, uses):
    """``(y_slot, axis, keepdims, chain)`` where the node at ``slot`` is l + m or m + l with
    l = log Σ exp(y − m) and m = max y, the maximum and the sum along the same axes with
    the same ``keepdims`` (without kept dimensions the axes lead, so that m broadcasts
    against y along them) and every value between y and the result read by this chain only
    (``uses``, as for :data:`TAPE_REWRITES`): the node is then ``logsumexp(y, axis,
    keepdims)`` and the ``chain``'s slots are not needed; else None. The tape is not
    changed. The same function where m is finite and y holds no NaN, hence the same
    derivatives there (∂/∂m [m + log Σ exp(y − m)] = 1 − Σ p = 0); elsewhere the chain is
    NaN, logsumexp is not, and their derivatives differ (the caller decides). log Σ exp(y)
    without the shift is left alone: it overflows where logsumexp does not, and its
    derivative is then NaN where logsumexp's is not."""
    node = tape[slot]
    if len(node.parents) != 2 or dtype_of(node.ans).kind != "f":
        return None
    (_, l_slot), (_, m_slot) = node.parents
    if _node(tape, l_slot, log) is None:
        l_slot, m_slot = m_slot, l_slot
    logged, peak = _node(tape, l_slot, log), _node(tape, m_slot, amax_p)
    total = logged and _node(tape, logged.parents[0][1], sum_p)
    e = total and _node(tape, total.parents[0][1], exp)
    shift = e and _node(tape, e.parents[0][1], subtract)
    if peak is None or shift is None or len(shift.parents) != 2 or \
            shift.parents[1][1] != m_slot or shift.parents[0][1] != peak.parents[0][1]:
        return None
    axis, keepdims = total.params["axis"], total.params["keepdims"]
    if not axis or peak.params["axis"] != axis or peak.params["keepdims"] != keepdims or \
            not keepdims and axis != tuple(range(len(axis))):
        return None
    chain = [m_slot, e.parents[0][1], total.parents[0][1], logged.parents[0][1], l_slot]
    if [uses[s] for s in chain] != [2, 1, 1, 1, 1]:
        return None
    return shift.parents[0][1], axis, keepdims, chain


TAPE_REWRITES[divide] = _written_out_softmax
TAPE_REWRITES[subtract] = _written_out_log_softmax
