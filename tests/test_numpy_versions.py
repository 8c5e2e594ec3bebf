"""NumPy 1.26 through the newest: riesz.numpy.compat's table agrees with the running NumPy,
and the functions whose NumPy semantics changed between releases follow the running one.
(.ci/run runs the whole suite on NumPy 1.26 and on the newest NumPy.)"""
import re

import numpy as np
import pytest

import riesz
from riesz.numpy.compat import ADDED, NUMPY_VERSION, has_numpy_name, numpy_name
from riesz.testing import check_grads

NAMES = [name for name in ADDED if re.fullmatch(r"[\w.]+", name)]   # keywords excluded


def _has(path):
    obj = np
    for part in path.split("."):
        if part not in vars(obj):
            return False
        obj = vars(obj)[part]
    return True


@pytest.mark.parametrize("name", NAMES)
def test_the_table_says_which_names_the_running_numpy_has(name):
    assert has_numpy_name(name) == _has(name), (
        f"numpy.{name}: riesz.numpy.compat.ADDED says NumPy {NUMPY_VERSION} "
        f"{'has' if has_numpy_name(name) else 'lacks'} it")
    older = ADDED[name][1]
    assert numpy_name(name) is (None if not has_numpy_name(name) and older is None
                                else numpy_name(name))
    if not has_numpy_name(name) and older is not None:
        assert _has(older), f"numpy.{older} (the older name of numpy.{name}) is missing"


def test_the_table_knows_numpy_2_names_that_riesz_registers():
    # every name a NumPy 2 function of riesz's table is registered under resolves on this NumPy
    # to the function itself, its older name, or nothing
    from riesz.numpy.dispatch import HANDLED
    for name in NAMES:
        obj = numpy_name(name)
        if obj is not None and name != "linalg._linalg":
            assert obj in HANDLED, f"numpy.{name} has no implementation on traced values"


def test_sort_stable_keyword_on_traced_values():
    x = np.array([3.0, 1.0, 3.0, 2.0])
    kind = {"stable": True} if NUMPY_VERSION >= (2, 0) else {"kind": "stable"}
    f = lambda x: np.sort(x * np.array([1.0, 2.0, 1.0, 1.0]), **kind) @ np.arange(4.0)
    np.testing.assert_allclose(riesz.grad(f)(x), [2.0, 0.0, 3.0, 1.0])   # ties in stable order
    check_grads(f, (x + np.array([0.0, 0.0, 0.5, 0.25]),), order=2)


def test_clip_method_keywords_on_traced_values():
    # ndarray.clip(min=, max=) on every NumPy (np.clip takes the keywords only from 2.1)
    x = np.array([-2.0, 0.5, 3.0])
    np.testing.assert_allclose(riesz.grad(lambda x: np.sum(x.clip(min=-1.0) ** 2))(x),
                               [0.0, 1.0, 6.0])
    np.testing.assert_allclose(riesz.grad(lambda x: np.sum(x.clip(max=1.0)))(x), [1.0, 1.0, 0.0])


def test_solve_reads_b_as_the_running_numpy_does():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((2, 3))   # vectors before NumPy 2, (m, k) = (2, 3) from NumPy 2
    try:
        want = np.linalg.solve(a, b)
    except ValueError:
        with pytest.raises(ValueError):
            riesz.vjp(np.linalg.solve, a, b)
        return
    value, _ = riesz.vjp(np.linalg.solve, a, b)
    np.testing.assert_allclose(value, want, rtol=1e-12)
    check_grads(np.linalg.solve, (a, b), order=2)


def test_complex_sign_follows_the_running_numpy():
    z = np.array([0.6 - 0.8j, -3.0 + 4.0j])
    value, _ = riesz.jvp(np.sign, (z,), (np.ones_like(z),))
    np.testing.assert_allclose(value, np.sign(z))
    check_grads(lambda z: np.real(np.sign(z) * np.conj(z)), (z,), order=1)
