"""A name-mapping shim: HIPS autograd's public names, pointing at riesz's (benchmarks/autograd_suite.py
runs autograd's own test suite through it). Only names and call conventions are mapped here;
every derivative is riesz's."""
import builtins

import riesz
from riesz import elementwise_grad, hessian, jacobian, value_and_grad
from riesz.extend import primitive

from .core import make_jvp, make_vjp  # noqa: F401

dict, isinstance, list, tuple, type = (builtins.dict, builtins.isinstance, builtins.list,
                                       builtins.tuple, builtins.type)


def grad(fun, argnum=0):
    return riesz.grad(fun, argnums=argnum)


def deriv(fun, argnum=0):
    return riesz.elementwise_grad(fun, argnums=argnum)


def holomorphic_grad(fun, argnum=0):
    return riesz.grad(fun, argnums=argnum, holomorphic=True)


def grad_and_aux(fun, argnum=0):
    return riesz.grad(fun, argnums=argnum, has_aux=True)


def checkpoint(fun):
    return riesz.checkpoint(fun)


def tensor_jacobian_product(fun, argnum=0):
    # v ↦ vᵀ J (autograd's name for a VJP with the argument given)
    def vector_dot_fun(*args):
        v = args[-1]
        return riesz.vjp(lambda x: fun(*args[:argnum], x, *args[argnum + 1:-1]), args[argnum])[1](v)[0]
    return vector_dot_fun


vector_jacobian_product = tensor_jacobian_product


def __getattr__(name):
    # the rest of autograd's differential operators under their own names in riesz
    return getattr(riesz.transforms, name)
