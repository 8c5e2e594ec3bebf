"""Elementwise functions: the conventions at non-differentiable points, exact values."""
import math

import numpy as np
import pytest

from riesz import grad, jvp, vjp
import riesz.numpy as rnp


def test_maximum_minimum_ties_and_nan():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0])
    gx, gy = vjp(np.maximum, x, y)[1](np.ones(3))
    assert np.array_equal(gx, [0.5, 0, 1]) and np.array_equal(gy, [0.5, 1, 0])
    gx, gy = vjp(np.minimum, x, y)[1](np.ones(3))
    assert np.array_equal(gx, [0.5, 1, 0]) and np.array_equal(gy, [0.5, 0, 1])
    y_nan = np.array([np.nan, 5.0, 0.0])
    gx, gy = vjp(np.fmax, x, y_nan)[1](np.ones(3))
    assert np.array_equal(gx, [1, 0, 1]) and np.array_equal(gy, [0, 1, 0])
    gx, gy = vjp(np.fmin, x, y_nan)[1](np.ones(3))
    assert np.array_equal(gx, [1, 1, 0]) and np.array_equal(gy, [0, 0, 1])


def test_clip_on_and_off_the_bounds():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    assert np.array_equal(grad(lambda x: np.sum(np.clip(x, -1.0, 1.0)))(x), [0, 0.5, 1, 0.5, 0])


def test_power_conventions():
    # x⁰ = 1 is constant, even at x = 0; ∂ᵧ 0ʸ is taken as 0 (the limit from x > 0)
    assert vjp(np.power, 0.0, 0.0)[1](1.0) == (0.0, 0.0)
    assert vjp(np.power, 0.0, 2.0)[1](1.0) == (0.0, 0.0)
    assert vjp(np.power, 2.0, 3.0)[1](1.0) == pytest.approx((12.0, 8 * math.log(2)), rel=1e-15)


def test_sinc_at_zero():
    assert grad(np.sinc)(0.0) == 0.0
    assert grad(grad(np.sinc))(0.0) == pytest.approx(-math.pi ** 2 / 3, rel=1e-15)
    # continuous through the switch to the Taylor series
    for x in (0.999e-3, 1.001e-3):
        exact = (math.cos(math.pi * x) - np.sinc(x)) / x
        assert grad(np.sinc)(x) == pytest.approx(exact, rel=1e-9)


def test_abs_copysign_remainder():
    x = np.array([-2.0, 0.0, 3.0])
    assert np.array_equal(grad(lambda x: np.sum(np.abs(x)))(x), [-1, 0, 1])
    assert np.array_equal(grad(lambda x: np.sum(np.fabs(x)))(x), [-1, 0, 1])
    y = np.array([1.0, -1.0, -1.0])
    gx, gy = vjp(np.copysign, x, y)[1](np.ones(3))
    assert np.array_equal(gx, [-1, 0, -1]) and np.array_equal(gy, [0, 0, 0])
    gx, gy = vjp(np.remainder, np.array([7.0, -7.0]), np.array([3.0, 3.0]))[1](np.ones(2))
    assert np.array_equal(gx, [1, 1]) and np.array_equal(gy, [-2, 3])


def test_aliases_share_the_implementation():
    assert rnp.abs is rnp.absolute and rnp.divide is rnp.true_divide and rnp.mod is rnp.remainder
    x = np.array([1.0, 4.0])
    assert np.array_equal(grad(lambda x: np.sum(rnp.divide(1.0, x)))(x), [-1.0, -1 / 16])


def test_not_differentiable_functions_pass_through():
    x = np.array([0.4, -1.6, 2.5])

    def f(x):
        # every constant function below runs on the concrete values without error
        k = np.argmax(x) + np.argmin(x) + np.argsort(x)[0] + np.nonzero(x)[0][0]
        k = k + np.shape(x)[0] + np.size(x) + np.ndim(x) + np.searchsorted([0.0, 1.0], x)[0]
        c = np.floor(x) + np.ceil(x) + np.round(x) + np.rint(x) + np.trunc(x) + np.sign(x)
        c = c + np.floor_divide(x, 2.0) + np.heaviside(x, 0.5) + np.zeros_like(x)
        c = c + np.ones_like(x) + np.full_like(x, 2.0) + np.unique(x)[0]
        ok = np.all(x < 3) and not np.any(np.isnan(x) | np.isinf(x) | ~np.isfinite(x))
        ok = ok and np.allclose(x, x) and np.array_equal(x, x)
        return np.sum(x * c) + k * ok

    c = (np.floor(x) + np.ceil(x) + np.round(x) + np.rint(x) + np.trunc(x) + np.sign(x)
         + np.floor_divide(x, 2.0) + np.heaviside(x, 0.5) + 3.0 + np.min(x))
    assert np.array_equal(grad(f)(x), c)
    assert np.array_equal(jvp(f, (x,), (np.ones(3),))[1], np.sum(c))
