"""autograd.test_util over riesz.testing.check_grads."""
import itertools

import numpy as np

from riesz.testing import check_grads as _check_grads


def check_grads(f, modes=("fwd", "rev"), order=2):
    return _check_grads(f, modes=tuple(modes), order=order)


def scalar_close(a, b):
    return abs(a - b) < 1e-6 or abs(a - b) / abs(a + b) < 1e-6


def check_equivalent(x, y):
    np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)


def combo_check(fun, *args, **kwargs):
    # autograd's: check_grads of fun over every combination of the given arguments
    def _combo_check(*arg_lists, **kwarg_lists):
        keys = list(kwarg_lists)
        for values in itertools.product(*arg_lists, *(kwarg_lists[k] for k in keys)):
            n = len(arg_lists)
            kw = dict(zip(keys, values[n:]))
            pos = list(values[:n])
            argnums = args[0] if args else range(n)

            def f(*diff):
                call = list(pos)
                for i, v in zip(argnums, diff):
                    call[i] = v
                return fun(*call, **kw)
            check_grads(f, **kwargs)(*[pos[i] for i in argnums])
    return _combo_check
