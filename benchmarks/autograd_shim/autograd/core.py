"""autograd.core's make_vjp and make_jvp, over riesz.vjp and riesz.jvp."""
import numpy as np

import riesz


def _at(fun, argnum, args):
    return lambda x: fun(*args[:argnum], x, *args[argnum + 1:])


def make_vjp(fun, argnum=0):
    def vjp_maker(*args):
        ans, pullback = riesz.vjp(_at(fun, argnum, args), args[argnum])
        return (lambda g: pullback(g)[0]), ans
    return vjp_maker


def make_jvp(fun, argnum=0):
    def jvp_maker(*args):
        return lambda v: riesz.jvp(_at(fun, argnum, args), (args[argnum],), (v,))
    return jvp_maker


def vspace(value):
    raise NotImplementedError("autograd.core.vspace has no riesz counterpart")
