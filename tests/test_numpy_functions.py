"""NumPy functions that riesz builds from other primitives (prod, var, quantile, norm, ...)
pass check_grads to second order in both modes, float64 and float32, like the primitives."""
import numpy as np
import pytest

from riesz.testing import check_grads
from specs import elementwise, reductions

FUNCTIONS = {**elementwise.FUNCTIONS, **reductions.FUNCTIONS}
CASES = [(name, i, case, dtype) for name, cases in sorted(FUNCTIONS.items())
         for i, case in enumerate(cases) for dtype in case.dtypes]


@pytest.mark.parametrize("name,i,case,dtype", CASES,
                         ids=[f"{n}-{i}-{d}" for n, i, _, d in CASES])
def test_function(name, i, case, dtype):
    rng = np.random.default_rng(i)
    args = case.args(rng, dtype)
    check_grads(case.fn, args, order=case.order, modes=case.modes, **case.extra)
