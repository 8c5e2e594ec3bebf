"""Reductions: the conventions, with exact expected gradients."""
import numpy as np
import pytest

import riesz
from riesz import grad, jvp, vjp

rng = np.random.default_rng(0)


def test_median_goes_to_the_middle_entries():
    assert np.array_equal(grad(np.median)(np.array([3.0, 1.0, 2.0])), [0.0, 0.0, 1.0])
    assert np.array_equal(grad(np.median)(np.array([4.0, 1.0, 3.0, 2.0])), [0, 0, 0.5, 0.5])


def test_quantile_interpolates_between_the_two_neighbours():
    x = np.array([10.0, 0.0, 30.0, 20.0, 40.0])
    # q = 0.3 of 5 entries: position 1.2 in the sorted order, between 10 and 20
    assert np.allclose(grad(lambda x: np.quantile(x, 0.3))(x), [0.8, 0, 0, 0.2, 0])
    # q = 0.25: position 1 exactly, the entry 10
    assert np.array_equal(grad(lambda x: np.quantile(x, 0.25))(x), [1.0, 0, 0, 0, 0])
    assert np.array_equal(grad(lambda x: np.percentile(x, 100))(x), [0, 0, 0, 0, 1.0])
    assert np.array_equal(grad(lambda x: np.quantile(x, 0.3, method="higher"))(x),
                          [0, 0, 0, 1.0, 0])


def test_quantile_of_several_q_and_axes_matches_numpy():
    x = rng.standard_normal((3, 4, 5))
    q = np.array([[0.1, 0.5], [0.7, 1.0]])
    for axis in [None, 1, (0, 2), -1]:
        for keepdims in [False, True]:
            value = jvp(lambda x: np.quantile(x, q, axis=axis, keepdims=keepdims),
                        (x,), (np.ones_like(x),))
            assert np.allclose(value[0], np.quantile(x, q, axis=axis, keepdims=keepdims))
            # the derivative along ẋ = 1 of any quantile is 1 (weights sum to one)
            assert np.allclose(value[1], 1.0)


def test_max_ties_share_equally():
    x = np.array([1.0, 3.0, 3.0, 2.0])
    assert np.array_equal(grad(np.max)(x), [0, 0.5, 0.5, 0])
    assert np.array_equal(grad(np.ptp)(x), [-1.0, 0.5, 0.5, 0])
    assert np.array_equal(grad(lambda x: np.linalg.norm(x, np.inf))(-x), [0, -0.5, -0.5, 0])


def test_average_with_weights():
    x, w = np.array([1.0, 2.0, 4.0]), np.array([1.0, 1.0, 2.0])
    gx, gw = grad(lambda x, w: np.average(x, weights=w), argnums=(0, 1))(x, w)
    # avg = Σwx/Σw = 11/4: ∂/∂x = w/Σw, ∂/∂w = (x - avg)/Σw
    assert np.array_equal(gx, w / 4) and np.array_equal(gw, (x - 11 / 4) / 4)
    avg, total = np.average(x, weights=w, returned=True)
    assert (avg, total) == (2.75, 4.0)


def test_diagonal_and_trace_are_linear():
    a = rng.standard_normal((3, 4))
    assert np.array_equal(grad(np.trace)(a), np.eye(3, 4))
    assert np.array_equal(grad(lambda a: np.trace(a, offset=1))(a), np.eye(3, 4, k=1))
    g = rng.standard_normal(2)
    (ct,) = vjp(lambda a: np.diagonal(a, -1), a)[1](g)
    # g lands on the first subdiagonal of a 3×4 zero matrix
    assert np.array_equal(ct, np.pad(np.diag(g), ((1, 0), (0, 2))))


def test_cumsum_transpose_sums_from_the_end():
    g = np.array([1.0, 2.0, 3.0])
    (ct,) = vjp(np.cumsum, np.zeros(3))[1](g)
    assert np.array_equal(ct, [6.0, 5.0, 3.0])


def test_var_std_ddof():
    x = np.array([1.0, 2.0, 4.0])
    # var = Σ(x - m)²/(n - ddof): ∂ = 2(x - m)/(n - ddof)
    m = 7 / 3
    assert np.allclose(grad(lambda x: np.var(x, ddof=1))(x), (x - m))
    assert np.allclose(grad(np.std)(x), (x - m) / 3 / np.std(x))


def test_vector_norms():
    x = np.array([3.0, -4.0, 0.0])
    assert np.allclose(grad(np.linalg.norm)(x), x / 5)
    assert np.array_equal(grad(lambda x: np.linalg.norm(x, 1))(x), [1.0, -1.0, 0.0])
    # min|xᵢ| is attained at the 0, where |·| has derivative 0
    assert np.array_equal(grad(lambda x: np.linalg.norm(x, -np.inf))(x), [0.0, 0.0, 0.0])
    assert np.array_equal(grad(lambda x: np.linalg.norm(x, -np.inf))(x[:2]), [1.0, 0.0])
    # p-norm: ∂‖x‖ₚ = sign(x)|x|^(p-1) / ‖x‖ₚ^(p-1)
    p = 3.0
    n = np.sum(np.abs(x) ** p) ** (1 / p)
    expected = np.sign(x) * np.abs(x) ** 2 / n ** 2
    assert np.allclose(grad(lambda x: np.linalg.norm(x, p))(x), expected)
    assert np.linalg.norm(x, 0) == jvp(lambda x: np.linalg.norm(x, 0), (x,), (x,))[0]


def test_spectral_and_nuclear_norms():
    a = rng.standard_normal((4, 3))
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    # d‖A‖₂ = u₁v₁ᵀ, d‖A‖_* = UVᵀ, d σ_min = u_k v_kᵀ
    assert np.allclose(grad(lambda a: np.linalg.norm(a, 2))(a), np.outer(u[:, 0], vh[0]))
    assert np.allclose(grad(lambda a: np.linalg.norm(a, "nuc"))(a), u @ vh)
    assert np.allclose(grad(lambda a: np.linalg.norm(a, -2))(a), np.outer(u[:, -1], vh[-1]))
    t = rng.standard_normal((4, 3))
    assert np.allclose(jvp(lambda a: np.linalg.norm(a, "nuc"), (a,), (t,))[1],
                       np.sum(u * (t @ vh.T)))


@pytest.mark.parametrize("ord", [None, "fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf])
@pytest.mark.parametrize("axis", [(0, 1), (2, 0)])
def test_matrix_norm_values_and_keepdims(ord, axis):
    x = rng.standard_normal((3, 2, 4))
    for keepdims in (False, True):
        value = vjp(lambda x: np.linalg.norm(x, ord, axis, keepdims), x)[0]
        np.testing.assert_allclose(value, np.linalg.norm(x, ord, axis, keepdims), rtol=1e-12)


def test_bad_arguments_say_what_to_do():
    x = np.ones((3, 4))
    with pytest.raises(ValueError, match="weights of shape"):
        grad(lambda x: np.average(x, axis=1, weights=np.ones(3)))(x)
    with pytest.raises(ValueError, match="'weibul' is not a valid method"):   # NumPy's words
        grad(lambda x: np.quantile(x, 0.5, method="weibul"))(x)
    with pytest.raises(ValueError, match="Invalid norm order"):
        grad(lambda x: np.linalg.norm(x, "nuc", axis=0))(x)


@pytest.mark.parametrize("fn, scale", [(np.quantile, 1.0), (np.percentile, 100.0)])
def test_quantile_levels_computed_from_the_inputs_raise_instead_of_losing_their_derivative(
        fn, scale):
    # the derivative with respect to q (the sorted values' slope) is not taken: a q that
    # depends on the differentiated inputs raises, in both modes; stop_gradient makes it a
    # constant, whose derivative is then the documented one (through the sorted entries)
    x = np.array([3.0, 1.0, 4.0, 1.5, 9.0])
    with pytest.raises(TypeError, match=f"numpy.{fn.__name__}: riesz does not differentiate "
                                        f"with respect to the levels q"):
        riesz.grad(lambda q: fn(x, q))(0.3 * scale)
    with pytest.raises(TypeError, match="levels q"):
        riesz.jvp(lambda q: fn(x, q), (0.3 * scale,), (1.0,))
    g = riesz.grad(lambda x: fn(x, riesz.stop_gradient(np.mean(x) / 10 * scale)))(x)
    # q = 0.37: position 1.48 between the sorted 1.5 (x[3]) and 3.0 (x[0])
    np.testing.assert_allclose(g, [0.48, 0.0, 0.0, 0.52, 0.0], rtol=1e-12)
    np.testing.assert_allclose(riesz.grad(lambda x: fn(x, 0.3 * scale))(x),
                               [0.2, 0.0, 0.0, 0.8, 0.0], rtol=1e-12)
