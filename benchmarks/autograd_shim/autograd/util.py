"""autograd.util: check_equivalent, and the deprecated quick_grad_check over
riesz.testing.check_grads."""
from riesz.testing import check_grads

from .test_util import check_equivalent  # noqa: F401


def quick_grad_check(fun, arg0, extra_args=(), kwargs={}, verbose=True, eps=1e-4, rtol=1e-4,
                     atol=1e-6, rs=None):
    # autograd's deprecated check: the gradient in arg0 against finite differences
    check_grads(lambda x: fun(x, *extra_args, **kwargs), (arg0,), modes=("rev",), order=1)
