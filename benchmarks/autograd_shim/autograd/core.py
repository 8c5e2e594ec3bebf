"""autograd.core's make_vjp and make_jvp (of a function of one argument), over riesz.vjp and
riesz.jvp; autograd's internals (vspace, primitive_vjps, ...) have no riesz counterpart."""
import riesz

from ._missing import missing


def make_vjp(fun, x):
    ans, pullback = riesz.vjp(fun, x)
    return (lambda g: pullback(g)[0]), ans


def make_jvp(fun, x):
    return lambda v: riesz.jvp(fun, (x,), (v,))


def __getattr__(name):
    return missing(f"autograd.core.{name}")
