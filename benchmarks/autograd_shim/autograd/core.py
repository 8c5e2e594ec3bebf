"""autograd.core's make_vjp and make_jvp (of a function of one argument), over riesz.vjp and
riesz.jvp, and ``vspace`` (riesz.vspace); autograd's other internals (primitive_vjps, ...) have
no riesz counterpart."""
import riesz
from riesz import vspace  # noqa: F401

from ._missing import missing


def make_vjp(fun, x):
    ans, pullback = riesz.vjp(fun, x)
    return (lambda g: pullback(g)[0]), ans


def make_jvp(fun, x):
    return lambda v: riesz.jvp(fun, (x,), (v,))


def __getattr__(name):
    return missing(f"autograd.core.{name}")
