"""The example program in examples/ differentiates unchanged and matches finite differences."""
import importlib.util
import os

import numpy as np
import pytest

HERE = os.path.dirname(__file__)


def _load(name):
    path = os.path.join(HERE, os.pardir, "examples", f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def program():
    return _load("gp_spring_fit")


def test_gradients_match_finite_differences(program):
    results = program.check()
    assert len(results) == 5
    for name, value, gradient, error in results:
        assert np.isfinite(value) and np.all(np.isfinite(gradient)), name
        assert np.any(gradient != 0), name
        assert error < 1e-6, f"{name}: relative error {error:.2e} against finite differences"


def test_gradient_descent_lowers_the_gp_objective(program):
    name, f, point, extra = program.make_problems()[0]
    _, value = program.gradient_descent(f, point, extra, steps=5)
    assert value < f(point, *extra) - 1.0
