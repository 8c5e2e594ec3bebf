"""riesz.config.debug_nans (issue 14): the first primitive whose result, tangent or
cotangent holds a NaN is named with the user's line; off, the engine runs its own methods."""
import numpy as np
import pytest

import riesz
from riesz.core import JVPTrace, Primitive, VJPTrace

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NumPy's invalid-value


def sqrt_loss(x):
    y = np.sqrt(x)                                   # NaN for x < 0
    return np.sum(y)


@riesz.custom_vjp
def doubled(x):
    return 2 * x


doubled.defvjp(lambda x: (2 * x, x), lambda x, g: (g * (x - x) / (x - x),))   # 0/0: a bug


def doubled_loss(x):
    y = np.tanh(x)
    z = doubled(y)                                   # the rule's cotangent is NaN
    return np.sum(z)


@riesz.custom_jvp
def tripled(x):
    return 3 * x


tripled.defjvp(lambda primals, tangents: (3 * primals[0], tangents[0] * np.nan))


def test_off_by_default_nans_pass_through():
    assert riesz.config.debug_nans is False
    assert np.isnan(riesz.grad(sqrt_loss)(np.array([4.0, -1.0]))).any()
    assert np.isnan(riesz.grad(doubled_loss)(np.array([1.0, 2.0]))).all()


def test_forward_result_names_the_primitive_and_line():
    with riesz.debug_nans():
        with pytest.raises(FloatingPointError, match=r"the result of sqrt holds a NaN, at "
                           r".*test_debug_nans.py:\d+: y = np.sqrt\(x\)"):
            riesz.grad(sqrt_loss)(np.array([4.0, -1.0]))
        with pytest.raises(FloatingPointError, match=r"the result of sqrt .*y = np.sqrt"):
            riesz.jvp(sqrt_loss, (np.array([4.0, -1.0]),), (np.ones(2),))
    np.testing.assert_allclose(riesz.grad(sqrt_loss)(np.array([4.0, 1.0])), [0.25, 0.5])


def test_backward_cotangent_names_the_rule_and_the_forward_line():
    riesz.config.debug_nans = True
    try:
        with pytest.raises(FloatingPointError,
                           match=r"reverse-mode rule of custom_vjp\(doubled\) \(argument 0\) "
                                 r"gives holds a NaN, at the forward pass's "
                                 r".*test_debug_nans.py:\d+: z = doubled\(y\)"):
            riesz.grad(doubled_loss)(np.array([1.0, 2.0]))
    finally:
        riesz.config.debug_nans = False


def test_forward_mode_tangent_is_checked():
    with riesz.debug_nans():
        with pytest.raises(FloatingPointError, match=r"the tangent .* of tripled holds a NaN"):
            riesz.jvp(lambda x: np.sum(tripled(x)), (np.ones(2),), (np.ones(2),))


def cusp_loss(x):
    # at x = 1 the uses of y pass back +∞ and −∞
    y = x - 1.0
    r = np.cbrt(y)
    return np.sum(r - np.sqrt(y))


def test_a_sum_of_opposite_infinite_cotangents_names_the_value_and_its_use():
    """No rule gives the NaN here: the cotangents of y from cbrt (+∞) and sqrt (−∞) are
    summed by the backward pass; forward mode sums the tangents inside subtract's rule."""
    x = np.array([1.0, 2.0])
    assert np.isnan(riesz.grad(cusp_loss)(x)[0])     # off: the NaN passes through
    with riesz.debug_nans():
        with pytest.raises(FloatingPointError,
                           match=r"the sum of the cotangents that reach the result of subtract "
                                 r"\(.*test_debug_nans.py:\d+: y = x - 1.0\) from its uses "
                                 r"\(infinities of opposite signs\) holds a NaN, at the forward "
                                 r"pass's use .*test_debug_nans.py:\d+: r = np.cbrt\(y\)"):
            riesz.grad(cusp_loss)(x)
        with pytest.raises(FloatingPointError, match=r"the sum of the cotangents that reach an "
                                                     r"input of the function"):
            riesz.grad(lambda x: np.sum(np.cbrt(x) - np.sqrt(x)))(x - 1.0)
        with pytest.raises(FloatingPointError, match=r"the tangent .* of subtract holds a NaN"):
            riesz.jvp(cusp_loss, (x,), (np.ones(2),))
        # finite sums of infinite terms pass: +∞ + +∞ is no NaN
        g = riesz.grad(lambda x: np.sum(np.sqrt(x) + np.cbrt(x)))(np.array([0.0, 1.0]))
    assert g[0] == np.inf and g[1] == pytest.approx(0.5 + 1 / 3)


def test_finite_derivatives_and_zero_safe_products_pass():
    """No false alarm: sqrt at 0 has an infinite derivative that a zero cotangent meets
    (0 × ∞ = 0 in the zero-safe walk), and second derivatives run the checks nested."""
    with riesz.debug_nans():
        g = riesz.grad(lambda x: np.sum(np.where(x > 0, np.sqrt(np.abs(x)), 0.0)))(
            np.array([0.0, 4.0]))
        h = riesz.hessian(lambda x: np.sum(np.tanh(x) ** 2))(np.array([0.3, -0.2]))
    np.testing.assert_allclose(g, [0.0, 0.25])
    x = np.array([0.3, -0.2])
    np.testing.assert_allclose(np.diag(h), 2 * (1 - np.tanh(x) ** 2) * (1 - 3 * np.tanh(x) ** 2))


def test_the_switch_restores_the_engine_and_checks_its_argument():
    originals = (Primitive.rule, JVPTrace.process, VJPTrace.process)
    sums = (VJPTrace.__dict__["add"], VJPTrace.__dict__["add_into"])
    with riesz.debug_nans():
        assert riesz.config.debug_nans and Primitive.rule is not originals[0]
        with riesz.debug_nans(False):
            assert (Primitive.rule, JVPTrace.process, VJPTrace.process) == originals
        assert riesz.config.debug_nans
    assert (Primitive.rule, JVPTrace.process, VJPTrace.process) == originals
    assert (VJPTrace.__dict__["add"], VJPTrace.__dict__["add_into"]) == sums
    with pytest.raises(TypeError, match="takes True or False"):
        riesz.config.debug_nans = 1


def test_linearizes_df_checks_each_tangent_and_names_the_recorded_line():
    # √x − √x at x = 0 along ẋ = 1: the tangents ∞ − ∞ = NaN (the values are fine)
    def f(x):
        return np.sqrt(x) - np.sqrt(x)
    x, v = np.array([4.0, 0.0]), np.array([1.0, 1.0])
    _, df = riesz.linearize(f, x)
    assert np.isnan(df(v)[1])   # off: the NaN goes through
    with riesz.debug_nans():
        with pytest.raises(FloatingPointError, match="tangent .* of subtract in "
                           "linearize's df.*line not recorded"):
            df(v)
        _, df = riesz.linearize(f, x)   # recorded with the switch on: the line is known
        with pytest.raises(FloatingPointError, match=r"subtract in linearize's df.*"
                           r"test_debug_nans.py:\d+: return np.sqrt\(x\) - np.sqrt\(x\)"):
            df(v)
    # off again; along ẋ = 0 at x = 0 the zero-safe product keeps the tangents 0
    np.testing.assert_array_equal(df(np.array([1.0, 0.0])), [0.0, 0.0])
