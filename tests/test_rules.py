"""Every primitive passes check_grads to second order in both modes, float64 and float32."""
import zlib

import numpy as np
import pytest

from riesz.rules import PRIMITIVES
from riesz.testing import check_grads
from specs import SPECS

CASES = [(name, i, case, dtype) for name, cases in sorted(SPECS.items())
         for i, case in enumerate(cases) for dtype in case.dtypes]


def test_every_primitive_has_a_spec():
    missing = sorted(set(PRIMITIVES) - set(SPECS))
    assert not missing, f"primitives without a spec in tests/specs.py: {missing}"
    unknown = sorted(set(SPECS) - set(PRIMITIVES))
    assert not unknown, f"specs for primitives that do not exist: {unknown}"


@pytest.mark.parametrize("name,i,case,dtype", CASES,
                         ids=[f"{n}-{i}-{d}" for n, i, _, d in CASES])
def test_rule(name, i, case, dtype):
    if not case.modes:
        pytest.skip("a derivative finite differences cannot see; checked by its own test")
    rng = np.random.default_rng(zlib.crc32(f"{name}-{i}".encode()))   # the same every run
    args = case.args(rng, dtype)
    check_grads(case.fn, args, order=case.order, modes=case.modes, **case.extra)
