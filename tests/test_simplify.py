"""The rewrites that make staged programs lean, and the plain-product run of riesz.jit:
each shrinks the program (or its generated code) and keeps the values and derivatives of
eager riesz, at the singular points where the zero-safe product matters too."""
import re

import numpy as np
import pytest

import riesz
from riesz import grad, jit, vjp
from riesz.staging.source import nan_checked_outputs


def prims(f, *args):
    return [e.prim.name for e in riesz.trace(f)(*args).eqns]


def assert_matches_eager(f, *args):
    """jit(f) equals f, and its vjp (through the program's equations) equals f's."""
    want, got = f(*args), jit(f)(*args)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    ct = np.random.default_rng(0).standard_normal(np.shape(want))
    for a, b in zip(vjp(jit(f), *args)[1](ct), vjp(f, *args)[1](ct)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def relu_sqrt(x):
    return np.sum(np.sqrt(x * (x > 0)))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # ∞ and 0 × ∞ on purpose
def test_product_with_a_mask_stays_zero_safe():
    g = grad(relu_sqrt)
    x = np.array([-1.0, 0.0, 4.0])   # sqrt' = ∞ at the masked entries: ∞ × 0 = 0
    masked = [e for e in riesz.trace(g)(x).eqns if e.prim.name == "zero_safe_multiply"
              and any(i.dtype == np.bool_ for i in e.inputs)]
    assert len(masked) == 1   # not a plain product: the cotangent is ∞ where the mask is 0
    np.testing.assert_array_equal(jit(g)(x), [0.0, 0.0, 0.25])
    np.testing.assert_array_equal(jit(g)(x), g(x))
    assert_matches_eager(g, np.array([-1.0, 2.0, 4.0]))


def test_sum_of_a_product_with_a_broadcast_vector_is_a_matrix_vector_product():
    A = np.random.default_rng(1).standard_normal((4, 5))

    def f(v):
        return np.sum(A * v, axis=1)
    assert prims(f, np.ones(5)) == ["matmul"]
    assert_matches_eager(f, np.arange(5.0))


def test_sum_of_a_negation_is_the_negation_of_the_sum():
    def f(x):
        return np.sum(-np.sin(x), axis=0)
    x = np.linspace(0, 1, 12).reshape(3, 4)
    assert prims(f, x) == ["sin", "sum", "negative"]
    np.testing.assert_array_equal(jit(f)(x), f(x))
    assert_matches_eager(f, x)


def test_adding_a_negation_is_a_subtraction_also_through_a_reshape():
    def f(a, b):
        return a + np.reshape(-b, (3, 1))
    a, b = np.ones((3, 2)), np.arange(3.0)
    assert prims(f, a, b) == ["reshape", "subtract"]
    np.testing.assert_array_equal(jit(f)(a, b), f(a, b))
    assert vjp(jit(f), a, b)[1](np.ones((3, 2)))[1].tolist() == [-2.0, -2.0, -2.0]


def nll(logits, y):
    m = riesz.stop_gradient(np.max(logits, axis=1, keepdims=True))
    shifted = logits - m
    logp = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(len(y)), y])


def test_the_pick_of_one_label_per_row_is_added_in_place_in_the_backward_pass():
    logits, y = np.random.default_rng(2).standard_normal((6, 4)), np.array([0, 3, 1, 1, 2, 0])
    g = grad(nll)
    names = prims(g, logits, y)
    # Σ exp, and no Σ of the scatter
    assert names.count("sum") == 1 and names.count("scatter_add") == 1
    text = riesz.source(g, logits, y)
    assert "_scatter_add_impl" not in text and "[np.arange(6), y] -= " in text
    assert not re.search(r"^\s*m = \w+$", text, re.M)   # stop_gradient costs no line
    np.testing.assert_allclose(jit(g)(logits, y), g(logits, y), rtol=1e-13)
    np.testing.assert_allclose(grad(jit(nll))(logits, y), g(logits, y), rtol=1e-13)


def test_cross_entropy_backward_reads_like_the_hand_written_one():
    """nn.softmax_cross_entropy's backward: softmax scaled, the label's entries lowered in
    place (no scatter into zeros, no row sum of it: log_softmax's transpose sums the
    picked cotangent with keepdims, which is g itself)."""
    from riesz import nn
    logits = np.random.default_rng(3).standard_normal((6, 4))
    y = np.array([0, 3, 1, 1, 2, 0])
    g = grad(lambda z, labels: nn.softmax_cross_entropy(z, labels))
    names = prims(g, logits, y)
    assert names.count("scatter_add") == 1 and "sum" not in names
    text = riesz.source(g, logits, y)
    assert "_scatter_add_impl" not in text and "[np.arange(6), labels] -= " in text
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(6), y] -= 1
    np.testing.assert_allclose(jit(g)(logits, y), p / 6, rtol=1e-13)
    np.testing.assert_allclose(g(logits, y), p / 6, rtol=1e-13)


def test_repeated_picks_still_add_up():
    def f(x):
        return np.sum(np.exp(x)) + np.sum(x[np.array([0, 0, 1]), np.array([1, 1, 2])] ** 2)
    x = np.ones((2, 3))
    assert "_scatter_add_impl" in riesz.source(grad(f), x)   # np.add.at, not t[idx] +=
    np.testing.assert_allclose(jit(grad(f))(x), grad(f)(x))
    assert jit(grad(f))(x)[0, 1] == np.e + 2 * 2.0


def test_small_constant_index_arrays_print_as_ranges():
    text = riesz.source(grad(nll), np.zeros((32, 3)), np.zeros(32, dtype=int))
    assert "np.arange(32)" in text and "np.array([0, 1, 2" not in text


# ---------------------------------------------------------------- plain products first

def logsumexp_plus_norm(A):
    def f(x):
        z = A @ x
        m = np.max(z)
        return np.log(np.sum(np.exp(z - m))) + m + 0.5 * (x @ x)
    return f


def test_hessian_runs_plain_products_and_matches_the_formula():
    rng = np.random.default_rng(1)
    A, x = rng.standard_normal((20, 5)), rng.standard_normal(5)
    h = riesz.hessian(logsumexp_plus_norm(A))
    program = riesz.trace(h)(x)
    assert nan_checked_outputs(program) == [0]
    assert "== 0) | (" in program.source()   # what riesz.source shows is the zero-safe code
    z = A @ x
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    want = (A.T * p) @ A - np.outer(p @ A, p @ A) + np.eye(5)
    np.testing.assert_allclose(jit(h)(x), want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("f, x, want", [
    (lambda x: np.sqrt(np.sum(x ** 2)), np.zeros(3), np.zeros(3)),
    (lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0) * x), np.array([0.0, 4.0]),
     np.array([0.0, 3.0])),
])
def test_singular_points_fall_back_to_the_zero_safe_run(f, x, want):
    def g2(x):   # second order: more zero-safe products than the output's one check
        return grad(lambda y: np.sum(grad(f)(y) * np.cos(y)))(x)
    assert nan_checked_outputs(riesz.trace(g2)(x)) is not None
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_array_equal(jit(grad(f))(x), want)
        np.testing.assert_array_equal(jit(g2)(x), g2(x))


def test_a_training_step_runs_plain_products_first():
    # one product per layer (the ReLU mask), the gradients the outputs to test: four
    # zero-safe products' extra calls and passes outweigh one vdot of each gradient
    rng = np.random.default_rng(0)
    W1, W2 = rng.standard_normal((6, 8)), rng.standard_normal((8, 3))
    x, onehot = rng.standard_normal((5, 6)), np.eye(3)[[0, 2, 1, 1, 0]]

    def loss(W1, W2):
        h = x @ W1
        z = (h * (h > 0)) @ W2
        return -np.sum((z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))) * onehot)
    step = grad(loss, argnums=(0, 1))
    program = riesz.trace(step)(W1, W2)
    assert nan_checked_outputs(program) is not None
    for a, b in zip(jit(step)(W1, W2), step(W1, W2)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-14)


def relu_layer_loss(W, b, x, c):
    h = x @ W + b
    return np.sum((h * (h > 0)) * c)


def test_the_bias_gradient_tests_for_the_weights():
    # the ReLU mask's product reaches both gradients; the bias's is its sum over the batch,
    # so its test (3 entries) proves the product NaN-free and stands for the weights' (12)
    rng = np.random.default_rng(2)
    W, b, x = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal((5, 4))
    c = rng.standard_normal((5, 3))
    step = grad(relu_layer_loss, argnums=(0, 1))
    program = riesz.trace(step)(W, b, x, c)
    assert nan_checked_outputs(program) == [1]
    for a, e in zip(jit(step)(W, b, x, c), step(W, b, x, c)):
        np.testing.assert_allclose(a, e, rtol=1e-13, atol=1e-14)
    # an infinite cotangent where the mask is 0: 0 × ∞ in the product, NaN in the plain
    # run's bias gradient, so the zero-safe run's answer (finite where the mask is 0)
    h = x @ W + b
    c_inf = np.where(h <= 0, np.inf, c)
    with np.errstate(invalid="ignore"):   # the loss is NaN: 0 × ∞ in the forward pass
        got, want = jit(step)(W, b, x, c_inf), step(W, b, x, c_inf)
    for a, e in zip(got, want):
        np.testing.assert_array_equal(a, e)
        assert np.all(np.isfinite(a))


def test_a_product_that_reaches_a_comparison_keeps_the_zero_safe_code():
    def f(x):
        return np.where(grad(lambda y: np.sum(np.sin(y) * y * y))(x) > 0, 1.0, 0.0)
    assert nan_checked_outputs(riesz.trace(f)(np.ones(3))) is None
    x = np.array([-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(jit(f)(x), f(x))


def test_plain_array_calls_keep_the_result_structure():
    f = jit(lambda x: (2 * x,))
    x = np.ones(2)
    first, second = f(x), f(x)
    assert type(first) is type(second) is tuple and second[0].tolist() == [2.0, 2.0]
    assert jit(lambda x, y: {"s": x + y})(x, x)["s"].tolist() == [2.0, 2.0]


def test_a_pick_scattered_onto_an_argument_leaves_the_argument_alone():
    def f(t, v):   # t + scatter(v): t is the caller's array, not the program's to write into
        pick = grad(lambda x: np.sum(x[np.arange(3), np.array([0, 1, 0])] * v))(np.zeros((3, 2)))
        return t + pick
    t, v = np.ones((3, 2)), np.array([1.0, 2.0, 3.0])
    assert "_scatter_add_impl" in riesz.source(f, t, v)
    np.testing.assert_array_equal(jit(f)(t, v), [[2.0, 1.0], [1.0, 3.0], [4.0, 1.0]])
    assert t.tolist() == [[1.0, 1.0]] * 3


def test_complex_times_one_is_not_dropped():
    # NumPy's complex product with 1 + 0j is not an identity: (−∞ + 0j)·1 = −∞ + nan j and
    # (−0 − 1j)·1 = +0 − 1j; the simplifier dropped x * 1 and x / 1 for complex x (jit and
    # the auto-staged Jacobians then differed from NumPy and from the eager transform)
    x = np.array([complex(-np.inf, 0.0), complex(-0.0, -1.0), 1.5 - 2j])
    with np.errstate(invalid="ignore"):
        for f in (lambda x: x * 1, lambda x: 1.0 * x, lambda x: x / 1):
            expected, got = f(x), riesz.jit(f)(x)
            np.testing.assert_array_equal(got, expected)
            np.testing.assert_array_equal(np.signbit(got.real), np.signbit(expected.real))


def test_a_kept_sum_of_a_product_with_a_broadcast_vector_is_a_reshaped_matrix_vector_product():
    # softmax's JVP on a batch of tangents, Σ p ⊙ ṫ with the axis kept (the Hessian of a
    # log-sum-exp): one BLAS call, reshaped to (…, 1)
    A = np.random.default_rng(1).standard_normal((4, 5))

    def f(v):
        return np.sum(A * v, axis=-1, keepdims=True) * v[:4, None]
    assert prims(f, np.ones(5))[:2] == ["matmul", "reshape"]
    assert "sum" not in prims(f, np.ones(5))
    assert_matches_eager(f, np.arange(5.0))
    B = np.random.default_rng(2).standard_normal((2, 3, 5)).astype(np.float32)
    g = lambda v: np.sum(B * v, axis=2, keepdims=True)
    assert prims(g, np.ones(5, np.float32)) == ["matmul", "reshape"]
    v = np.arange(5.0, dtype=np.float32)
    np.testing.assert_allclose(jit(g)(v), g(v), rtol=1e-6)
    assert jit(g)(v).shape == (2, 3, 1) and jit(g)(v).dtype == np.float32


@pytest.mark.parametrize("x", [np.array([0.0, -2.0, 3.0]), np.array([0.0, np.inf, 1.0])])
def test_a_power_of_zero_is_ones_and_its_product_is_dropped(x):
    # the second derivative of Σ x² runs the power rule at exponent 1: y x^(y−1) = 1·x⁰,
    # ones for every x (0 and ∞ too), so the product with it goes
    def hvp(x):
        return riesz.jvp(grad(lambda x: np.sum(x ** 2)), (x,), (np.ones_like(x),))[1]
    assert "power" not in prims(hvp, x)
    np.testing.assert_array_equal(jit(hvp)(x), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(jit(hvp)(x), hvp(x))
