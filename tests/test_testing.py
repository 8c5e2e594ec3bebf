"""check_grads is itself tested: it passes correct rules and fails deliberately wrong ones."""
import numpy as np
import pytest

from riesz.core import Primitive
from riesz.testing import check_grads, GradientCheckError

# a deliberately wrong sine: its derivative rules say sin' = sin
bad_sin = Primitive("bad_sin", np.sin,
                    jvps=[lambda t, ans, x: t * np.sin(x)],
                    vjps=[lambda g, ans, x: g * np.sin(x)])
# right first derivative, wrong second: cos is treated as a constant in the rule
const_cos = Primitive("const_cos", np.sin,
                      jvps=[lambda t, ans, x: t * np.cos(np.asarray(x.primal if hasattr(x, "primal") else x))],
                      vjps=[lambda g, ans, x: g * np.cos(np.asarray(x.primal if hasattr(x, "primal") else x))])
x = np.random.default_rng(0).standard_normal(5)


def test_passes_a_correct_function():
    check_grads(lambda x: np.sin(x) * x, (x,))


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_fails_a_wrong_rule(mode):
    with pytest.raises(GradientCheckError, match=f"{'forward' if mode == 'fwd' else 'reverse'} mode, order 1, argument 0"):
        check_grads(bad_sin, (x,), modes=(mode,))


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_fails_a_wrong_second_derivative(mode):
    check_grads(const_cos, (x,), order=1, modes=(mode,))
    with pytest.raises(GradientCheckError, match="order 2"):
        check_grads(const_cos, (x,), order=2, modes=(mode,))


def test_fails_a_wrong_rule_applied_to_the_cotangent_only():
    # double(x) = 2x has the VJP g ↦ 2 ident(g), and ident's VJP is wrong (1.001 g): the VJP
    # does not depend on x, so only its derivative in the cotangent (the order-2 check's
    # last argument) exercises ident's rule (autograd's test_check_vjp_2nd_order_fail)
    ident = Primitive("bad_identity", lambda v: v, jvps=[lambda t, ans, v: t],
                      vjps=[lambda g, ans, v: 1.001 * g])
    double = Primitive("double", lambda v: 2.0 * v, jvps=[lambda t, ans, v: 2.0 * t],
                       vjps=[lambda g, ans, v: 2.0 * ident(g)])
    check_grads(double, (x,), order=1, modes=("rev",))
    with pytest.raises(GradientCheckError,
                       match=r"reverse mode, order 2, argument 1 of the VJP \(the cotangent\)"):
        check_grads(double, (x,), order=2, modes=("rev",))


def test_names_the_argument():
    with pytest.raises(GradientCheckError, match="argument 1"):
        check_grads(lambda a, b: a + bad_sin(b), (x, x), modes=("rev",))


def test_integer_boolean_and_string_arguments_are_held_fixed():
    # f(x, n) as users write it: n an int exponent, a flag, a name
    check_grads(lambda n, x, flag, name: np.sum(x ** n) * (2 if flag else 1) + len(name),
                (3, x, True, "abc"))
    for mode in ("fwd", "rev"):   # still checked, and named by its place among all arguments
        with pytest.raises(GradientCheckError, match=r"order 1, argument 2"):
            check_grads(lambda n, flag, b: bad_sin(b) * n, (2, False, x), modes=(mode,))
    with pytest.raises(GradientCheckError, match=r"reverse mode, order 2, argument 2: "):
        check_grads(lambda n, flag, b: const_cos(b) * n, (2, False, x), modes=("rev",))
    with pytest.raises(TypeError, match="no floating-point argument to differentiate"):
        check_grads(lambda n: n * 2.0, (2,))


def test_float32():
    check_grads(lambda x: np.tanh(x) ** 2, (x.astype(np.float32),))
    with pytest.raises(GradientCheckError):
        check_grads(bad_sin, (x.astype(np.float32),))


def test_sorting_the_arguments_reads_types_not_values():
    # which arguments check_grads differentiates is read off their dtypes: a lazy Dask array
    # is not computed for it (a scheduler that raises stands guard)
    da = pytest.importorskip("dask.array")
    import dask
    from riesz.testing import _of_floats

    def refuse(*args, **kwargs):
        raise AssertionError("a Dask array was computed")
    x = da.from_array(np.array([0.5, 1.0, 2.0]), chunks=2)
    with dask.config.set(scheduler=refuse):
        _, floats, labels = _of_floats(lambda x, n: x * n, (x, 3))
    assert len(floats) == 1 and floats[0] is x
    assert labels == ["argument 0"]
