"""Singular points: no NaN where a finite answer exists (exact expected values).

The convention is 0 × ∞ = 0 in every product of a (co)tangent with a derivative
(riesz.rules.define.scale): an exact zero that reaches a rule stays zero, and an
infinite derivative times an exactly-zero one gives the minimum-norm subgradient.
"""
import warnings

import numpy as np
import pytest

from riesz import grad, jvp, vjp

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NumPy's own 1/0, log(0)


def sqrt_branch(x):
    return np.where(x > 0, np.sqrt(x), 0.0)


def log_branch(x):
    return np.where(x > 0, np.log(x), 0.0)


def inverse_branch(x):
    return np.where(x != 0, 1.0 / x, 0.0)


def second_derivatives(f, x):
    """f''(x) by all four nestings of the two modes."""
    d = grad(f)
    return {"rev-rev": grad(d)(x), "fwd-rev": jvp(d, (x,), (1.0,))[1],
            "rev-fwd": grad(lambda x: jvp(f, (x,), (1.0,))[1])(x),
            "fwd-fwd": jvp(lambda x: jvp(f, (x,), (1.0,))[1], (x,), (1.0,))[1]}


@pytest.mark.parametrize("f,x", [(sqrt_branch, 0.0), (sqrt_branch, -2.0), (log_branch, 0.0),
                                 (log_branch, -1.0), (inverse_branch, 0.0)])
def test_unselected_branch_stays_zero(f, x):
    assert grad(f)(x) == 0.0
    assert jvp(f, (x,), (1.0,))[1] == 0.0
    for nesting, value in second_derivatives(f, x).items():
        assert value == 0.0, nesting


def test_selected_branch_unchanged():
    x = np.array([-1.0, 0.0, 4.0])
    assert np.array_equal(grad(lambda x: np.sum(sqrt_branch(x)))(x), [0.0, 0.0, 0.25])
    assert np.array_equal(grad(lambda x: np.sum(log_branch(x)))(x), [0.0, 0.0, 0.25])
    # and the second derivative of √x at 4 is -¼ · 4^(-3/2)
    assert second_derivatives(sqrt_branch, 4.0)["rev-rev"] == -1 / 32


@pytest.mark.parametrize("norm", [lambda x: np.linalg.norm(x),
                                  lambda x: np.sqrt(np.sum(x ** 2)),
                                  lambda x: np.sqrt(np.sum(x * x)),
                                  lambda x: np.linalg.norm(x, 3),
                                  lambda x: np.linalg.norm(x.reshape(2, 2), "fro"),
                                  lambda x: np.std(x)])
def test_norm_at_zero_has_zero_gradient(norm):
    x = np.zeros(4)
    g = grad(norm)(x)
    assert np.array_equal(g, np.zeros(4))
    assert jvp(norm, (x,), (np.ones(4),))[1] == 0.0


def test_std_of_a_constant():
    assert np.array_equal(grad(np.std)(np.full(3, 2.0)), np.zeros(3))


def test_abs_and_hypot_at_zero():
    assert grad(np.abs)(0.0) == 0.0
    assert grad(abs)(0.0 + 0.0j) == 0.0
    assert grad(lambda x: np.hypot(x, 0.0))(0.0) == 0.0
    assert vjp(np.hypot, 0.0, 0.0)[1](1.0) == (0.0, 0.0)
    # the angle has no derivative at the origin: taken as 0, not NaN
    assert vjp(np.arctan2, 0.0, 0.0)[1](1.0) == (0.0, 0.0)
    assert grad(np.angle)(0j) == 0.0


def test_no_warning_on_the_finite_path():
    # the guard costs nothing visible where every derivative is finite
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert grad(sqrt_branch)(4.0) == 0.25


# ------------------------------------------------------------ products with zeros

def jacobian(f, x):
    y, pullback = vjp(f, x)
    rows = [pullback(e)[0] for e in np.eye(np.size(y)).reshape((np.size(y),) + np.shape(y))]
    return np.array(rows)


def hessian(f, x):
    return jacobian(grad(f), x)


@pytest.mark.parametrize("x,g,h", [
    # one zero: ∂∏/∂xᵢ = ∏_{j≠i} xⱼ, ∂²∏/∂xᵢ∂xⱼ = ∏_{k≠i,j} xₖ
    ([2.0, 0.0, 3.0], [0.0, 6.0, 0.0], [[0, 3, 0], [3, 0, 2], [0, 2, 0]]),
    # two zeros: only the mixed second derivative of the two zeros survives
    ([0.0, 0.0, 3.0], [0.0, 0.0, 0.0], [[0, 3, 0], [3, 0, 0], [0, 0, 0]]),
    ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], np.zeros((3, 3))),
    ([2.0, 5.0, 3.0], [15.0, 6.0, 10.0], [[0, 3, 5], [3, 0, 2], [5, 2, 0]]),
])
def test_prod_with_zeros(x, g, h):
    x = np.array(x)
    assert np.array_equal(grad(np.prod)(x), g)
    assert np.array_equal(hessian(np.prod, x), h)
    assert np.array_equal(jvp(np.prod, (x,), (np.ones(3),))[1], np.sum(g))


def test_prod_with_zeros_along_an_axis():
    x = np.array([[2.0, 0.0, 3.0, 4.0, 5.0], [0.0, 1.0, 0.0, 2.0, 2.0]])
    expected = [[0.0, 120.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]]
    assert np.array_equal(grad(lambda x: np.sum(np.prod(x, axis=1)))(x), expected)


def test_cumprod_with_zeros():
    x = np.array([2.0, 0.0, 3.0, 5.0])
    # yᵢ = ∏_{k≤i} xₖ: row i of the Jacobian is ∏_{k≤i, k≠j} xₖ for j ≤ i
    expected = [[1, 0, 0, 0], [0, 2, 0, 0], [0, 6, 0, 0], [0, 30, 0, 0]]
    assert np.array_equal(jacobian(np.cumprod, x), expected)
    assert np.array_equal(jvp(np.cumprod, (x,), (np.ones(4),))[1], np.sum(expected, axis=1))
    # second order: ∂²y₃/∂x₁∂xⱼ = ∏_{k≠1,j} xₖ
    h = hessian(lambda x: np.cumprod(x)[3], x)
    assert np.array_equal(h[1], [15, 0, 10, 6])


@pytest.mark.parametrize("size", [5, 20_000])   # the dot-product check, and the elementwise one
def test_scale_takes_zero_times_infinity_as_zero(size):
    from riesz.rules.define import scale
    g = np.resize([0.0, 1.0, 0.0, 2.0, np.inf], size)
    d = np.resize([np.inf, 0.0, np.nan, 3.0, 0.0], size)
    assert np.array_equal(scale(g, d), np.resize([0.0, 0.0, 0.0, 6.0, 0.0], size))
    assert np.array_equal(scale(g, 2.0), 2.0 * g)
    assert np.array_equal(scale(g[:4], np.inf), [0.0, np.inf, 0.0, np.inf])


def test_reverse_mode_at_singular_points_warns_of_nothing():
    # the infinite derivatives that the zero-safe product drops are no news to the user
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert grad(lambda x: np.where(x > 0, np.sqrt(x), 0.0))(0.0) == 0.0
        np.testing.assert_array_equal(grad(np.linalg.norm)(np.zeros(3)), np.zeros(3))


# ---- zero-safety paid once: plain products in the eager backward pass, one NaN test of
# its results, a zero-safe walk of the same tape when a result holds NaN (core.VJPTrace)

def _product_modes():
    """A primitive that passes NaN on (like multiply) and records, each time its VJP rule
    runs, whether the backward pass runs that rule with plain products."""
    from riesz.core import Primitive, product_mode
    seen = []

    def vjp_rule(g, ans, x):
        seen.append(product_mode.plain)
        return g
    spy = Primitive("spy", lambda x: x, jvps=[lambda t, ans, x: t], vjps=[vjp_rule])
    spy.propagates_nan = True
    return spy, seen


def test_eager_first_order_runs_plain_products_nested_passes_do_not():
    spy, seen = _product_modes()
    f = lambda x: np.sum(np.sin(spy(x)) * x)   # noqa: E731
    x = np.array([0.5, 1.5])
    np.testing.assert_allclose(grad(f)(x), np.sin(x) + x * np.cos(x))
    assert seen == [True]
    seen.clear()
    # inner pass of grad(grad): its values are recorded by the outer trace
    assert np.isclose(grad(lambda s: grad(lambda x: np.sin(spy(x)) * x)(s))(0.5),
                      2 * np.cos(0.5) - 0.5 * np.sin(0.5))
    assert seen == [False, True]   # the inner pass zero-safe, the outer one plain
    seen.clear()
    assert np.isclose(jvp(grad(lambda x: np.sin(spy(x)) * x), (0.5,), (1.0,))[1],
                      2 * np.cos(0.5) - 0.5 * np.sin(0.5))
    assert seen == [False]


def test_a_rule_that_reads_a_nan_gets_zero_safe_products():
    # a custom rule that does not pass a NaN on (it turns it into 5): the plain product
    # 0 × ∞ of sqrt at 0 would reach it as NaN, so the products above it are zero-safe
    import riesz

    @riesz.custom_vjp
    def marker(x):
        return x
    marker.defvjp(lambda x: (x, None), lambda _, g: (np.where(np.isnan(g), 5.0, g),))

    def f(x):
        y = marker(x)
        return np.sum(np.where(y > 0, np.sqrt(y), 0.0))
    np.testing.assert_array_equal(grad(f)(np.array([0.0, 4.0])), [0.0, 0.25])


def test_a_nan_in_a_result_walks_again_with_zero_safe_products():
    # plain products give NaN at x = 0 (0 × ∞ in sqrt's rule): the result is the zero-safe one
    x = np.array([0.0, 4.0, 0.0, 9.0], dtype=np.float32)
    g = grad(lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0) * 2))(x)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, np.array([0.0, 0.5, 0.0, 1 / 3], dtype=np.float32))
    # a NaN that is the answer stays NaN (both walks give it)
    assert np.isnan(grad(np.sqrt)(-1.0))


def test_a_nan_hidden_by_where_does_not_leak_at_second_order():
    # at x = 0 the backward pass multiplies the zero cotangent of the outer where's
    # unselected branch by sqrt'(0) = ∞; the inner where selects stop_gradient(x), so
    # the product's NaN (with plain products) is not selected on the way to x, but the
    # outer pass of a second derivative reads it
    import riesz

    def f(x):
        inner = np.where(x > -1, riesz.stop_gradient(x), 2 * x)
        return np.where(x > 5, np.sqrt(inner) * x, x * x)
    assert grad(f)(0.0) == 0.0
    for mode, value in second_derivatives(f, 0.0).items():
        assert value == 2.0, mode
    x = np.array([0.0, 1.0])
    assert np.array_equal(grad(lambda x: np.sum(f(x)))(x), [0.0, 2.0])
    np.testing.assert_array_equal(
        jvp(grad(lambda x: np.sum(f(x))), (x,), (np.ones(2),))[1], [2.0, 2.0])


# ---------------------------------------------------------------- NaN tests a bias's sum spares

def _layer(x, W, b, dtype):
    """x, W, b of ``dtype``, big enough (64 KiB or more) for the pass over big arrays."""
    return x.astype(dtype), W.astype(dtype), b.astype(dtype)


def _tested_sizes(monkeypatch):
    """The sizes of the values the backward pass tests for NaN, in the order tested."""
    from riesz.core import VJPTrace
    from riesz.rules import define
    sizes = []

    def spy(x):
        sizes.append(np.size(x))
        return has_nan(x)
    has_nan = define.has_nan
    monkeypatch.setattr(define, "has_nan", spy)
    monkeypatch.setattr(VJPTrace, "has_nan", staticmethod(spy))
    return sizes


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_bias_without_nan_spares_the_test_of_the_weights(monkeypatch, dtype):
    # relu(x @ W + b): the bias's cotangent sums the layer's, so its test (128 entries)
    # proves the layer's cotangent, and x.T @ it (the weights', 128 × 128), free of NaN
    rng = np.random.default_rng(0)
    x, W, b = _layer(rng.standard_normal((128, 128)), rng.standard_normal((128, 128)),
                     rng.standard_normal(128), dtype)
    sizes = _tested_sizes(monkeypatch)

    def f(W, b):
        h = x @ W + b
        return np.sum(np.tanh(h * (h > 0)))
    dW, db = grad(f, argnums=(0, 1))(W, b)
    h = x @ W + b
    dh = (1 - np.tanh(h * (h > 0)) ** 2) * (h > 0)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(dW, x.T @ dh, rtol=rtol)
    np.testing.assert_allclose(db, dh.sum(axis=0), rtol=rtol)
    assert W.size not in sizes and sizes == [128]   # the bias's sum (grad made the seed: untested)


def test_a_nan_in_a_layers_cotangent_is_found_through_its_bias():
    # h = 0 exactly in row 0: sqrt'(0) = ∞ times where's zero cotangent, NaN in a plain
    # product; the bias's sum holds that NaN, so the weights are tested and the pass walks
    # again zero-safe (without the bias's test they would come back NaN)
    rng = np.random.default_rng(1)
    x, W, _ = _layer(rng.standard_normal((128, 128)), rng.standard_normal((128, 128)),
                     np.zeros(128), np.float64)
    b = -(x @ W)[0]

    def f(W, b):
        h = x @ W + b
        return np.sum(np.where(h > 0, np.sqrt(h), 0.0))
    dW, db = grad(f, argnums=(0, 1))(W, b)
    h = x @ W + b
    assert np.all(h[0] == 0)
    dh = np.where(h > 0, 0.5 / np.sqrt(np.where(h > 0, h, 1.0)), 0.0)
    np.testing.assert_allclose(dW, x.T @ dh, rtol=1e-12)
    np.testing.assert_allclose(db, dh.sum(axis=0), rtol=1e-12)


def test_a_product_between_the_bias_and_the_weights_keeps_their_test():
    # (x @ W) ⊙ m + b with m = ∞ where the where does not select: the bias's sum proves the
    # sum's cotangent free of NaN, but the product's plain 0 × ∞ comes after it, so the
    # weights are tested (and found NaN: the zero-safe walk gives the finite answer)
    rng = np.random.default_rng(2)
    x, W, b = _layer(rng.standard_normal((128, 128)), rng.standard_normal((128, 128)),
                     rng.standard_normal(128), np.float64)
    keep = rng.standard_normal((128, 128)) > 0
    m = np.where(keep, 2.0, np.inf)

    def f(W, b):
        return np.sum(np.where(keep, (x @ W) * m + b, 0.0))
    dW, db = grad(f, argnums=(0, 1))(W, b)
    np.testing.assert_array_equal(dW, x.T @ np.where(keep, 2.0, 0.0))
    np.testing.assert_array_equal(db, keep.sum(axis=0))


def test_a_seed_holding_nan_keeps_the_pass_zero_safe():
    # vjp's cotangent is the user's: with a NaN in it (entry 0) the pass is zero-safe, and
    # the singular point (entry 1, where sqrt'(0) = ∞ meets the where's zero) still gets 0,
    # not the plain product's 0 × ∞ = NaN
    x = np.array([4.0, 0.0, 1.0])
    _, pullback = vjp(lambda x: np.where(x > 0, np.sqrt(x), 0.0) * 2.0, x)
    (ct,) = pullback(np.array([np.nan, 1.0, 1.0]))
    assert np.isnan(ct[0]) and ct[1] == 0.0 and ct[2] == 1.0
