"""autograd.test_util over riesz.testing.check_grads."""
import itertools
import re

import numpy as np

from riesz.testing import GradientCheckError, check_grads as _check_grads


def check_grads(f, argnum=0, modes=("fwd", "rev"), order=2):
    # autograd's: the check with respect to the argument(s) argnum, keyword arguments fixed
    nums = argnum if isinstance(argnum, tuple) else (argnum,)

    def at_argnum(*args, **kwargs):
        def of(*xs):
            full = list(args)
            for i, x in zip(nums, xs):
                full[i] = x
            return f(*full, **kwargs)
        try:
            _check_grads(of, tuple(args[i] for i in nums), modes=tuple(modes), order=order)
        except GradientCheckError as error:
            raise AssertionError(_autograds_message(f, error)) from error
    return at_argnum


def _autograds_message(f, error):
    # riesz's "reverse mode, order 2, ..." in autograd's words: "(VJP) check of vjp_f failed",
    # autograd naming the order-k check after the derivative it differentiates
    mode, order = re.match(r"(forward|reverse) mode, order (\d+)", str(error)).groups()
    kind = "JVP" if mode == "forward" else "VJP"
    name = f"{kind.lower()}_" * (int(order) - 1) + getattr(f, "__name__", "f")
    return f"({kind}) check of {name} failed: {error}"


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
