"""riesz.nn functions: activations, stable softmax family and losses, at extreme inputs."""
import numpy as np
import pytest
from scipy import special

import riesz
from riesz import nn
from riesz.numpy.compat import NUMPY_VERSION
from riesz.testing import check_grads

EXTREME = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0], [3.0, 1e-3, -2.0]])


def points(dtype=np.float64):
    return np.random.default_rng(0).standard_normal((4, 5)).astype(dtype)


ACTIVATIONS = {"relu": lambda x: np.maximum(x, 0), "tanh": np.tanh,
               "sigmoid": special.expit, "softplus": lambda x: np.logaddexp(x, 0),
               "silu": lambda x: x * special.expit(x), "swish": lambda x: x * special.expit(x),
               "log_sigmoid": lambda x: np.log(special.expit(x)),
               "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
               "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
               "gelu": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi)
                                                        * (x + 0.044715 * x ** 3)))}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_values_gradients_and_extremes(name):
    f = getattr(nn, name)
    x = points()
    np.testing.assert_allclose(f(x), ACTIVATIONS[name](x), rtol=1e-12, atol=1e-15)
    check_grads(f, (x,), order=2)
    check_grads(f, (x.astype(np.float32),), order=1)
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow is fine
        y = f(np.array([-1000.0, 1000.0]))
        g = riesz.grad(lambda x: np.sum(f(x)))(np.array([-1000.0, 1000.0]))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(g))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_logsumexp_softmax_log_softmax_agree_with_scipy_at_extremes(dtype):
    x = EXTREME.astype(dtype)
    with np.errstate(over="raise", invalid="raise"):
        np.testing.assert_allclose(nn.logsumexp(x), special.logsumexp(x.astype(float), -1),
                                   rtol=1e-6)
        np.testing.assert_allclose(nn.softmax(x), special.softmax(x.astype(float), -1),
                                   rtol=1e-6, atol=1e-30)
        np.testing.assert_allclose(nn.log_softmax(x), special.log_softmax(x.astype(float), -1),
                                   rtol=1e-6)
        # ∇ logsumexp = softmax (the seeds' example)
        g = riesz.grad(lambda x: np.sum(nn.logsumexp(x)))(x)
    np.testing.assert_allclose(g, special.softmax(x.astype(float), -1), rtol=1e-6, atol=1e-30)
    assert g.dtype == dtype


def test_softplus_keeps_precision_where_it_is_tiny():
    x = np.array([-30.0, -700.0])
    np.testing.assert_allclose(nn.softplus(x), np.logaddexp(0.0, x), rtol=1e-15)
    np.testing.assert_allclose(riesz.grad(lambda x: np.sum(nn.softplus(x)))(x),
                               special.expit(x), rtol=1e-14)


def test_logsumexp_of_an_all_minus_inf_row_is_minus_inf():
    with np.errstate(divide="ignore"):
        out = nn.logsumexp(np.array([[-np.inf, -np.inf], [0.0, 0.0]]))
    assert out[0] == -np.inf and out[1] == pytest.approx(np.log(2))


def test_softmax_family_derivatives():
    x = points()
    for f in (nn.logsumexp, nn.softmax, nn.log_softmax,
              lambda x: nn.logsumexp(x, axis=0, keepdims=True)):
        check_grads(f, (x,), order=2)
    check_grads(nn.log_softmax, (EXTREME,), order=2)


def test_softmax_cross_entropy_values_options_and_extremes():
    x, labels = EXTREME, np.array([1, 0, 2])
    expected = -special.log_softmax(x, -1)[np.arange(3), labels]
    with np.errstate(over="raise", invalid="raise"):
        np.testing.assert_allclose(nn.softmax_cross_entropy(x, labels, reduction="none"),
                                   expected, rtol=1e-12)
        np.testing.assert_allclose(nn.softmax_cross_entropy(x, labels), expected.mean())
        np.testing.assert_allclose(nn.softmax_cross_entropy(x, labels, reduction="sum"),
                                   expected.sum())
        smoothed = nn.softmax_cross_entropy(x, labels, reduction="none", label_smoothing=0.1)
        target = 0.9 * np.eye(3)[labels] + 0.1 / 3
        np.testing.assert_allclose(smoothed, -np.sum(target * special.log_softmax(x, -1), -1),
                                   rtol=1e-12)
        g = riesz.grad(lambda x: nn.softmax_cross_entropy(x, labels))(x)
    # ∂/∂logits of the mean cross-entropy = (softmax − onehot) / n
    np.testing.assert_allclose(g, (special.softmax(x, -1) - np.eye(3)[labels]) / 3, atol=1e-15)
    check_grads(lambda x: nn.softmax_cross_entropy(x, labels, label_smoothing=0.2), (x,))
    # batch axes: (2, 3, classes) logits with (2, 3) labels
    x3 = np.random.default_rng(1).standard_normal((2, 3, 4))
    y3 = np.array([[0, 1, 3], [2, 2, 0]])
    np.testing.assert_allclose(nn.softmax_cross_entropy(x3, y3, reduction="none"),
                               -special.log_softmax(x3, -1)[np.arange(2)[:, None],
                                                            np.arange(3), y3])


def test_nll_is_cross_entropy_of_log_probabilities():
    x, labels = points(), np.array([0, 4, 2, 1])
    np.testing.assert_allclose(nn.nll(nn.log_softmax(x), labels),
                               nn.softmax_cross_entropy(x, labels), rtol=1e-14)
    check_grads(lambda lp: nn.nll(lp, labels, reduction="sum"), (x,), order=2)


def test_mse_and_binary_cross_entropy_with_logits():
    p, t = points(), points() * 0.5
    np.testing.assert_allclose(nn.mse(p, t), np.mean((p - t) ** 2))
    check_grads(nn.mse, (p, t), order=2)
    logits = np.array([-1000.0, -30.0, 0.0, 2.0, 1000.0])
    y = np.array([0.0, 1.0, 1.0, 0.3, 0.0])
    with np.errstate(over="raise", invalid="raise"):
        losses = nn.binary_cross_entropy_with_logits(logits, y, reduction="none")
        g = riesz.grad(lambda x: nn.binary_cross_entropy_with_logits(x, y, "sum"))(logits)
    expected = np.logaddexp(0, logits) - logits * y
    np.testing.assert_allclose(losses, expected, rtol=1e-12)
    np.testing.assert_allclose(g, special.expit(logits) - y, atol=1e-15)   # σ(x) − y
    check_grads(nn.binary_cross_entropy_with_logits, (p, special.expit(t)), order=2)


def test_loss_input_errors_name_the_problem():
    x = points()
    with pytest.raises(TypeError, match="integer class indices"):
        nn.softmax_cross_entropy(x, np.zeros(4))
    with pytest.raises(ValueError, match="labels have shape"):
        nn.softmax_cross_entropy(x, np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match=r"must lie in \[0, 5\)"):
        nn.softmax_cross_entropy(x, np.array([0, 1, 2, 5]))
    with pytest.raises(ValueError, match="reduction="):
        nn.mse(x, x, reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.softmax_cross_entropy(x, np.zeros(4, dtype=int), label_smoothing=1.0)


def test_jit_of_a_loss_with_staged_labels():
    # labels are a dynamic input of the jitted step: one program serves every batch
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((6, 4))
    step = riesz.jit(riesz.value_and_grad(nn.softmax_cross_entropy))
    for _ in range(2):
        labels = rng.integers(0, 4, 6)
        value, g = step(logits, labels)
        expected_value, expected_g = riesz.value_and_grad(nn.softmax_cross_entropy)(logits, labels)
        np.testing.assert_allclose(value, expected_value, rtol=1e-12)
        np.testing.assert_allclose(g, expected_g, rtol=1e-12)


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(
        NUMPY_VERSION < (2, 0) and name != "log_softmax", strict=False,
        reason="NumPy 1.26's where= reductions of float32 are float64"))
    for name in ["logsumexp", "log_softmax", "softmax"]])
def test_softmax_family_keeps_float32_and_takes_integers(name):
    f = getattr(nn, name)
    ints = np.array([[1, 2, 3], [0, 0, 7]])
    np.testing.assert_allclose(f(ints), f(ints.astype(float)))
    assert f(ints).dtype == np.float64
    assert f(EXTREME.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(f(EXTREME.astype(np.float32)), f(EXTREME), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_ignores_padding_labels(reduction, smoothing):
    rng = np.random.default_rng(4)
    logits, labels = rng.standard_normal((6, 4)), np.array([0, -100, 3, 1, -100, 2])
    kept = labels != -100

    def loss(z):
        return nn.softmax_cross_entropy(z, labels, reduction, smoothing, ignore_index=-100)
    on_kept = nn.softmax_cross_entropy(logits[kept], labels[kept], "none", smoothing)
    want = {"mean": on_kept.mean(), "sum": on_kept.sum(),
            "none": np.zeros(6)}[reduction]
    if reduction == "none":
        want[kept] = on_kept
    np.testing.assert_allclose(loss(logits), want, rtol=1e-12)
    np.testing.assert_allclose(riesz.jit(loss)(logits), want, rtol=1e-12)
    g = riesz.grad(lambda z: np.sum(loss(z)))(logits)
    assert np.all(g[~kept] == 0)
    check_grads(lambda z: np.sum(loss(z)), (logits,), order=2)
    if not smoothing:
        np.testing.assert_allclose(
            nn.nll(nn.log_softmax(logits), labels, reduction, ignore_index=-100), want,
            rtol=1e-12)


def test_cross_entropy_with_every_label_ignored_is_nan():
    assert np.isnan(nn.softmax_cross_entropy(np.zeros((2, 3)), np.full(2, -1), ignore_index=-1))


def test_one_hot_as_jax_nn_writes_it():
    np.testing.assert_array_equal(nn.one_hot(np.array([2, 0, 5]), 3),
                                  [[0, 0, 1], [1, 0, 0], [0, 0, 0]])   # 5: out of range
    assert nn.one_hot([[1]], 2, dtype=np.float32).dtype == np.float32
    assert nn.one_hot([[1]], 2).shape == (1, 1, 2)
    x = points()[:, :3]          # a cross-entropy against one-hot targets is the labels' one
    labels = np.array([0, 2, 1, 1])
    np.testing.assert_allclose(nn.softmax_cross_entropy(x, nn.one_hot(labels, 3)),
                               nn.softmax_cross_entropy(x, labels))


def test_elu_and_leaky_relu_at_zero():
    # elu with alpha = 1 is differentiable at 0 with derivative 1 (e⁰ from the left, 1 from
    # the right); the kinks take the left branch's slope there, as relu takes 0
    for order_1 in (riesz.grad, riesz.elementwise_grad):
        assert order_1(nn.elu)(0.0) == 1.0
    assert riesz.grad(lambda x: nn.elu(x, alpha=2.0))(0.0) == 2.0
    assert riesz.grad(nn.leaky_relu)(0.0) == 0.01
    assert riesz.grad(riesz.grad(nn.elu))(-1.0) == pytest.approx(np.exp(-1.0))
