"""autograd.core's make_vjp and make_jvp (of a function of one argument), over riesz.vjp and
riesz.jvp, ``vspace`` (riesz.vspace), and ``primitive`` with autograd's deprecated methods
mapped onto riesz.extend; autograd's other internals (primitive_vjps, ...) have no riesz
counterpart."""
import numpy as np

import riesz
from riesz import vspace
from riesz.extend import _Primitive, defvjp

from ._missing import missing


def make_vjp(fun, x):
    ans, pullback = riesz.vjp(fun, x)
    return (lambda g: pullback(g)[0]), ans


def make_jvp(fun, x):
    return lambda v: riesz.jvp(fun, (x,), (v,))


class primitive(_Primitive):
    """riesz.extend.primitive, with autograd's deprecated ways of giving its rules."""

    def defgrad(self, gradmaker, argnum=0):
        defvjp(self, gradmaker, argnums=[argnum])

    def defvjp(self, vjpfun, argnum=0):
        # the old form vjpfun(g, ans, vspace(x), vspace(ans), *args)
        defvjp(self, lambda ans, *args: lambda g: vjpfun(g, ans, vspace(args[argnum]), vspace(ans),
                                                         *args), argnums=[argnum])

    def defvjp_is_zero(self, argnums=(0,)):
        defvjp(self, *[lambda ans, *args, i=i: lambda g: np.zeros_like(args[i]) for i in argnums],
               argnums=list(argnums))


def __getattr__(name):
    return missing(f"autograd.core.{name}")
