"""Debugging switches: ``riesz.config.debug_nans``, and :func:`debug_nans` for a block;
``riesz.config.stage_derivatives`` (the auto-staged derivatives on or off).

With ``riesz.config.debug_nans = True`` (or inside ``with riesz.debug_nans():``) every
primitive that a transform (``grad``, ``vjp``, ``jvp``, ``hessian``, ...) applies is
checked as it runs: its result in the forward pass, the tangent its forward-mode rule
gives, and the cotangent each of its reverse-mode rules gives; and the backward pass's
sums of the cotangents that reach one value from its several uses, which hold a NaN that
no rule gave when infinities of opposite signs meet (∞ + (−∞)). The first that holds a
NaN raises ``FloatingPointError`` naming the primitive, which result it was, and the
user's line that applied it (for a cotangent: the line of the forward pass that recorded
the primitive, not the ``grad`` call; for a sum: the value's line and its use's).

Off (the default) it costs nothing: switching it on replaces seven methods of the
engine's classes (``Primitive.rule``; ``process`` and ``process_custom_jvp`` of
``JVPTrace``; ``process``, ``process_custom_vjp``, ``add`` and ``add_into`` of
``VJPTrace``) with checking versions, and switching it off puts the originals
back, so the engine's hot path never tests a flag; it also gives ``linearize``'s
``df(v)``, which walks a recorded tape with the forward-mode rules, a check of each
tangent (``riesz.linear_map.check_tangent``). The switch is global (all threads).

The checks look at values, so they run on the eager transforms only: a program staged by
:func:`riesz.jit` runs as generated NumPy code without them (call the function without
``jit`` to find where a NaN starts). In the backward pass only the zero-safe walk is
checked: a NaN of the plain-product walk that the zero-safe walk does not give (0 × ∞,
see :meth:`riesz.core.VJPTrace.backward`) is no NaN of the derivative.
"""
import contextlib
import linecache
import sys
from typing import Any, Callable, Iterator

import numpy as np

from . import linear_map
from .core import (ZERO, JVPTrace, JVPTracer, Node, Primitive, Tracer, VJPTrace, VJPTracer,
                   product_mode)
from .staging.tracer import user_frame

__all__ = ["config", "debug_nans"]

_ORIGINALS: "dict[tuple[Any, str], Any]" = {
              (Primitive, "rule"): Primitive.rule, (JVPTrace, "process"): JVPTrace.process,
              (JVPTrace, "process_custom_jvp"): JVPTrace.process_custom_jvp,
              (VJPTrace, "process"): VJPTrace.process,
              (VJPTrace, "process_custom_vjp"): VJPTrace.process_custom_vjp,
              # the backward pass's sums (staticmethods, kept as such)
              (VJPTrace, "add"): VJPTrace.__dict__["add"],
              (VJPTrace, "add_into"): VJPTrace.__dict__["add_into"],
              # the forward walk of linearize's df(v) over a recorded tape
              (linear_map, "check_tangent"): None}


class _Config:
    """riesz's global switches (``riesz.config``)."""
    _stage_derivatives = True

    @property
    def stage_derivatives(self) -> bool:
        """Whether ``grad``, ``value_and_grad``, ``jacobian``, ``jacfwd``, ``jacrev``,
        ``hessian`` and ``hvp`` run a staged program for the derivative of a recorded
        forward pass whose structure they have seen before (True, the default:
        :mod:`riesz.staging.replay`); False runs the eager transforms only, which give the
        same answers (to rounding) more slowly: a switch to rule the programs out when
        chasing a wrong number. ``debug_nans`` runs the eager transforms too."""
        return self._stage_derivatives

    @stage_derivatives.setter
    def stage_derivatives(self, enabled: bool) -> None:
        if not isinstance(enabled, bool):
            raise TypeError(f"riesz.config.stage_derivatives takes True or False, not "
                            f"{enabled!r}")
        type(self)._stage_derivatives = enabled

    @property
    def debug_nans(self) -> bool:
        """Whether every primitive's results are checked for NaN (see :mod:`riesz.debug`)."""
        return Primitive.rule is not _ORIGINALS[Primitive, "rule"]

    @debug_nans.setter
    def debug_nans(self, enabled: bool) -> None:
        if not isinstance(enabled, bool):
            raise TypeError(f"riesz.config.debug_nans takes True or False, not {enabled!r}")
        for (cls, name), original in _ORIGINALS.items():
            setattr(cls, name, _CHECKING[cls, name] if enabled else original)

    def __repr__(self) -> str:
        return (f"riesz.config(debug_nans={self.debug_nans}, "
                f"stage_derivatives={self.stage_derivatives})")


config = _Config()


@contextlib.contextmanager
def debug_nans(enabled: bool = True) -> Iterator[None]:
    """``riesz.config.debug_nans = enabled`` inside the block, the previous setting after.

    >>> import numpy as np, riesz
    >>> with riesz.debug_nans():
    ...     riesz.grad(lambda x: np.sum(np.sqrt(x)))(np.array([4.0, -1.0]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    FloatingPointError: riesz.config.debug_nans: the result of sqrt holds a NaN, at ...
    """
    previous = config.debug_nans
    config.debug_nans = enabled
    try:
        yield
    finally:
        config.debug_nans = previous


def _has_nan(value: Any) -> bool:
    """Whether a plain value (an array, a number, a tuple of them) holds a NaN; a traced
    value is checked at its own level."""
    if isinstance(value, tuple):
        return any(_has_nan(v) for v in value)
    if value is None or value is ZERO or isinstance(value, Tracer):
        return False
    try:
        kind = np.result_type(value).kind
    except TypeError:
        return False
    return kind in "fc" and bool(np.isnan(value).any())


def _line(frame: Any) -> str:
    if frame is None:
        return "(no line of the user's code on the stack)"
    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}: {code}"


def _fail(what: str, line: str) -> None:
    raise FloatingPointError(f"riesz.config.debug_nans: {what} holds a NaN, at {line} (set "
                             f"riesz.config.debug_nans = False to let NaNs through)")


class _LineNode(Node):
    """A tape node that also holds the user's line that recorded it."""
    __slots__ = ("line",)
    line: str


def _checking_rule(self: Primitive, kind: str, argnum: int) -> Any:
    """``Primitive.rule``, whose reverse-mode rules check the cotangents they give."""
    rule = _ORIGINALS[Primitive, "rule"](self, kind, argnum)
    if rule is ZERO or kind != "reverse":
        return rule
    name = self.name

    def checked(g: Any, ans: Any, *args: Any, **params: Any) -> Any:
        out = rule(g, ans, *args, **params)
        if not product_mode.plain and _has_nan(out):
            node = sys._getframe(1).f_locals.get("node")   # VJPTrace.backward's node
            _fail(f"the cotangent that the reverse-mode rule of {name} (argument {argnum}) "
                  f"gives", "the forward pass's " + getattr(node, "line", "(line not recorded)"))
        return out
    return checked


def _check_tangent(node: Any, tangent: Any) -> None:
    """``linear_map.check_tangent``: the tangent that linearize's df(v) computed for a
    recorded node, checked."""
    if _has_nan(tangent):
        _fail(f"the tangent (forward-mode derivative) of {node.prim.name} in linearize's "
              f"df(v)", "the recorded line " + getattr(node, "line", "(line not recorded: "
                                                       "linearize ran with debug_nans off)"))


def _checking_jvp(name: str) -> Any:
    """JVPTrace's ``name`` method (process, process_custom_jvp), checking the results and
    their tangents."""
    original = _ORIGINALS[JVPTrace, name]

    def process(self: JVPTrace, prim: Any, *rest: Any) -> Any:
        out = original(self, prim, *rest)
        label = prim if isinstance(prim, str) else prim.name
        for value in out if isinstance(out, tuple) else (out,):
            mine = type(value) is JVPTracer and value._trace is self
            if _has_nan(value.primal if mine else value):
                _fail(f"the result of {label}", _line(user_frame()))
            if mine and _has_nan(value.tangent):
                _fail(f"the tangent (forward-mode derivative) of {label}", _line(user_frame()))
        return out
    return process


def _recording(name: str) -> Any:
    """VJPTrace's ``name`` method (process, process_custom_vjp), checking the result and
    recording the user's line in the new tape node."""
    original = _ORIGINALS[VJPTrace, name]

    def process(self: VJPTrace, prim: Any, *rest: Any) -> Any:
        out = original(self, prim, *rest)
        outs = out if isinstance(out, tuple) else (out,)
        line = _line(user_frame())
        label = prim if isinstance(prim, str) else prim.name
        if any(_has_nan(o.primal if type(o) is VJPTracer else o) for o in outs):
            _fail(f"the result of {label}", line)
        mine = [o for o in outs if type(o) is VJPTracer and o._trace is self]
        if mine:
            slot = mine[0].slot
            if type(self.tape[slot]) is int:   # an output of a multiple-result node
                slot = self.tape[slot]
            node = self.tape[slot]
            self.tape[slot] = tagged = _LineNode(node.prim, node.params, node.parents,
                                                 node.args, node.ans)
            tagged.line = line
        return out
    return process


def _checking_sum(name: str) -> Any:
    """VJPTrace's ``name`` (add, add_into): the backward pass's sum of the cotangents that
    reach one value from its uses, checked for a NaN that neither term holds (∞ + (−∞)),
    which no rule gives. Named by the value and by the use whose cotangent was added last."""
    original = _ORIGINALS[VJPTrace, name]

    def checked(a: Any, b: Any) -> Any:
        clean = not (_has_nan(a) or _has_nan(b))   # before the sum: add_into writes into a
        out = original(a, b)
        if clean and _has_nan(out):
            names = sys._getframe(1).f_locals   # VJPTrace.backward's
            if names.get("ct") is not b:        # two seeds of one output
                _fail("the sum of the cotangents given for an output (infinities of opposite "
                      "signs)", "(no line: the seeds are the caller's)")
            tape, parent = names["tape"], names["parent"]
            recorded = tape[parent]
            recorded = tape[recorded] if type(recorded) is int else recorded
            value = ("an input of the function" if recorded is None else
                     f"the result of {recorded.prim.name} "
                     f"({getattr(recorded, 'line', 'line not recorded')})")
            _fail(f"the sum of the cotangents that reach {value} from its uses (infinities of "
                  f"opposite signs)", "the forward pass's use " + getattr(
                      names["node"], "line", "(line not recorded)"))
        return out
    return staticmethod(checked)


_CHECKING: "dict[tuple[Any, str], Any]" = {
             (Primitive, "rule"): _checking_rule, (JVPTrace, "process"): _checking_jvp("process"),
             (JVPTrace, "process_custom_jvp"): _checking_jvp("process_custom_jvp"),
             (VJPTrace, "process"): _recording("process"),
             (VJPTrace, "process_custom_vjp"): _recording("process_custom_vjp"),
             (VJPTrace, "add"): _checking_sum("add"),
             (VJPTrace, "add_into"): _checking_sum("add_into"),
             (linear_map, "check_tangent"): _check_tangent}
