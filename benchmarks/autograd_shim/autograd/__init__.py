"""A name-mapping shim: HIPS autograd's public names, pointing at riesz's (benchmarks/autograd_suite.py
runs autograd's own test suite through it). Only names and call conventions are mapped here;
every derivative is riesz's."""
import builtins

import riesz
from riesz import elementwise_grad, grad, hessian, jacobian, value_and_grad  # noqa: F401
from riesz.extend import primitive

from . import core
from ._missing import missing
from .wrap_util import unary_to_nary

make_vjp = unary_to_nary(core.make_vjp)
make_jvp = unary_to_nary(core.make_jvp)

dict, isinstance, list, tuple, type = (builtins.dict, builtins.isinstance, builtins.list,
                                       builtins.tuple, builtins.type)


deriv = elementwise_grad


def holomorphic_grad(fun, argnum=0):
    return riesz.grad(fun, argnums=argnum, holomorphic=True)


def grad_and_aux(fun, argnum=0):
    return riesz.grad(fun, argnums=argnum, has_aux=True)


def checkpoint(fun):
    return riesz.checkpoint(fun)


hessian_tensor_product = (getattr(riesz, "hessian_vector_product", None)
                          or missing("autograd.hessian_tensor_product"))


def tensor_jacobian_product(fun, argnum=0):
    # autograd's: the Jacobian of (*args, V) ↦ ⟨V, fun(*args)⟩ over V's axes
    def vector_dot_fun(*args):
        *args, vector = args
        return riesz.numpy.tensordot(vector, fun(*args), axes=riesz.numpy.ndim(vector))
    return riesz.jacobian(vector_dot_fun, argnum)


vector_jacobian_product = tensor_jacobian_product


def __getattr__(name):
    # the rest of autograd's differential operators under their own names in riesz
    return getattr(riesz.transforms, name, None) or missing(f"autograd.{name}")
