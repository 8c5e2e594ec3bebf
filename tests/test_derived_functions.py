"""NumPy functions that riesz builds from other primitives (prod, var, quantile, norm, ...)
pass check_grads to second order in both modes, float64 and float32, like the primitives."""
import numpy as np
import pytest

from riesz import jvp, vjp
from riesz.numpy.compat import NUMPY_VERSION
from riesz.testing import check_grads
from specs import elementwise, reductions, numerical

FUNCTIONS = {**elementwise.FUNCTIONS, **reductions.FUNCTIONS, **numerical.FUNCTIONS}
CASES = [(name, i, case, dtype) for name, cases in sorted(FUNCTIONS.items())
         for i, case in enumerate(cases) for dtype in case.dtypes]


@pytest.mark.parametrize("name,i,case,dtype", CASES,
                         ids=[f"{n}-{i}-{d}" for n, i, _, d in CASES])
def test_function(name, i, case, dtype):
    rng = np.random.default_rng(i)
    args = case.args(rng, dtype)
    check_grads(case.fn, args, order=case.order, modes=case.modes, **case.extra)


OWN_SPECS = {**elementwise.SPECS, **reductions.SPECS, **FUNCTIONS}
VALUE_CASES = [(name, i, case, dtype) for name, cases in sorted(OWN_SPECS.items())
               for i, case in enumerate(cases) for dtype in case.dtypes]


# float32 results that NumPy 1.26 gives as float64 (riesz gives NumPy 2's float32)
NUMPY1_FLOAT64 = {"logspace-0", "nanmean-1", "nansum-1", "sum-where-0", "sum-where-1",
                  "ufunc.reduce-0"}
VALUE_IDS = [f"{n}-{i}-{d}" for n, i, _, d in VALUE_CASES]
VALUE_CASES = [pytest.param(*c, marks=pytest.mark.xfail(
    NUMPY_VERSION < (2, 0), strict=False, reason="NumPy 1.26 gives float64 for float32 here"))
    if f"{c[0]}-{c[1]}" in NUMPY1_FLOAT64 and c[3] == "float32" else c for c in VALUE_CASES]


@pytest.mark.parametrize("name,i,case,dtype", VALUE_CASES, ids=VALUE_IDS)
def test_value_matches_numpy(name, i, case, dtype):
    """On traced values each function computes what NumPy computes on arrays, in the
    same dtype."""
    args = case.args(np.random.default_rng(i), dtype)
    expected = np.asarray(case.fn(*args))
    rtol = 1e-12 if dtype == "float64" else 1e-5
    for mode in ("fwd", "rev"):
        if mode == "fwd":
            value = jvp(case.fn, args, tuple(np.zeros_like(a) for a in args))[0]
        else:
            value = vjp(case.fn, *args)[0]
        assert np.shape(value) == expected.shape and np.result_type(value) == expected.dtype
        np.testing.assert_allclose(value, expected, rtol=rtol, atol=rtol * 1e-2)
