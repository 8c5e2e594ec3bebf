"""Programs written as HIPS autograd's examples/ are, ported by their imports only
(``import numpy as np`` for ``autograd.numpy``, ``from riesz import grad`` for autograd's),
each checked against finite differences or a known answer.

Logistic regression, a Gaussian mixture with Hessian-vector products, a small convnet,
a Bayesian optimisation loop and fixed points. (The convnet convolves with NumPy slices:
``scipy.signal.convolve`` on traced values comes with riesz.scipy; the fixed point is
differentiated through its iterations, and through ``riesz.misc.fixed_points`` where
that module exists.)
"""
import numpy as np
import pytest

from riesz import grad, hvp, value_and_grad
from riesz.misc.optimizers import adam
from riesz.scipy.special import logsumexp
from riesz.testing import check_grads


def finite_difference_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[k] = eps
        g[k] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


# ------------------------------------------------------------ logistic regression

def sigmoid(x):
    return 0.5 * (np.tanh(x / 2.0) + 1)


def logistic_predictions(weights, inputs):
    return sigmoid(np.dot(inputs, weights))


def training_loss(weights, inputs, targets):
    preds = logistic_predictions(weights, inputs)
    label_probabilities = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(label_probabilities))


def test_logistic_regression():
    inputs = np.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30],
                       [0.74, -2.49, 1.39]])
    targets = np.array([True, True, False, True])
    weights = np.array([0.0, 0.0, 0.0])
    loss = lambda w: training_loss(w, inputs, targets)   # noqa: E731
    np.testing.assert_allclose(grad(loss)(weights + 0.3), finite_difference_grad(loss, weights + 0.3),
                               rtol=1e-6)
    check_grads(loss, (weights + 0.3,), order=2)
    start = loss(weights)
    for _ in range(100):
        weights -= grad(loss)(weights) * 0.01   # an in-place step on riesz's gradient
    assert loss(weights) < 0.5 * start
    assert np.array_equal(logistic_predictions(weights, inputs) > 0.5, targets)


# ------------------------------------------------------------ Gaussian mixture, with HVPs

def unpack_gmm(params):
    return params["log_proportions"], params["means"], params["lower_triangles"]


def gmm_log_likelihood(params, data):
    log_proportions, means, lower_triangles = unpack_gmm(params)
    cluster_lls = []
    for log_proportion, mean, lower in zip(log_proportions, means, lower_triangles):
        cov_sqrt = np.tril(lower) + 0.5 * np.eye(len(mean))
        centered = np.linalg.solve(cov_sqrt, (data - mean).T)
        log_det = np.sum(np.log(np.abs(np.diag(cov_sqrt))))
        ll = -0.5 * np.sum(centered ** 2, axis=0) - log_det - len(mean) / 2 * np.log(2 * np.pi)
        cluster_lls.append(log_proportion + ll)
    return np.sum(logsumexp(np.vstack(cluster_lls), axis=0) - logsumexp(log_proportions))


def test_gmm_with_hessian_vector_products():
    rng = np.random.default_rng(0)
    data = np.concatenate([rng.normal([-2.0, 0.0], 0.5, (30, 2)), rng.normal([2.0, 1.0], 0.7, (30, 2))])
    params = {"log_proportions": rng.normal(size=2) * 0.1, "means": rng.normal(size=(2, 2)),
              "lower_triangles": rng.normal(size=(2, 2, 2)) * 0.1}

    def objective(flat):
        p = {"log_proportions": flat[:2], "means": flat[2:6].reshape(2, 2),
             "lower_triangles": flat[6:].reshape(2, 2, 2)}
        return -gmm_log_likelihood(p, data)
    flat = np.concatenate([params[k].ravel() for k in ("log_proportions", "means", "lower_triangles")])
    v = rng.normal(size=flat.shape)
    # H v against the finite difference of the gradient along v
    eps = 1e-5
    expected = (grad(objective)(flat + eps * v) - grad(objective)(flat - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hvp(objective, (flat,), (v,)), expected, rtol=1e-5, atol=1e-6)
    # Newton-CG steps (a few conjugate-gradient iterations with H v) lower the objective
    start = objective(flat)
    for _ in range(5):
        g = grad(objective)(flat)
        step, r = np.zeros_like(g), -g
        p = r.copy()
        for _ in range(10):
            hp = hvp(objective, (flat,), (p,))
            curvature = p @ hp
            if curvature <= 0:
                break
            alpha = (r @ r) / curvature
            step, r_new = step + alpha * p, r - alpha * hp
            p, r = r_new + (r_new @ r_new) / (r @ r) * p, r_new
        flat = flat + (step if objective(flat + step) < objective(flat) else -1e-3 * g)
    assert objective(flat) < start - 10.0


# ------------------------------------------------------------ a small convnet

def convolve_valid(images, filters):
    """images (n, h, w) against filters (k, a, b): (n, k, h - a + 1, w - b + 1), the 'valid'
    cross-correlation, one slice per filter offset."""
    _, h, w = images.shape
    k, a, b = filters.shape
    out = 0.0
    for i in range(a):
        for j in range(b):
            window = images[:, i:h - a + 1 + i, j:w - b + 1 + j]
            out = out + window[:, None] * filters[None, :, i, j, None, None]
    return out


def convnet(params, images):
    hidden = np.maximum(convolve_valid(images, params["filters"]) + params["bias"][:, None, None], 0.0)
    pooled = hidden.reshape(hidden.shape[0], hidden.shape[1], 2, 2, 2, 2).max(axis=(3, 5))
    logits = pooled.reshape(len(images), -1) @ params["W"]
    return logits - logsumexp(logits, axis=1, keepdims=True)


def test_small_convnet():
    rng = np.random.default_rng(1)
    # 6x6 images: a vertical or a horizontal bar, with noise
    labels = rng.integers(0, 2, 24)
    images = rng.normal(0, 0.1, (24, 6, 6))
    for n, label in enumerate(labels):
        pos = rng.integers(1, 5)
        if label:
            images[n, :, pos] += 1.0
        else:
            images[n, pos, :] += 1.0
    params = {"filters": rng.normal(0, 0.3, (2, 3, 3)), "bias": np.zeros(2),
              "W": rng.normal(0, 0.3, (8, 2))}

    def loss(params):
        return -np.mean(convnet(params, images)[np.arange(len(labels)), labels])
    check_grads(lambda f: loss({**params, "filters": f}), (params["filters"],), order=1,
                modes=("rev",))
    start = loss(params)
    for _ in range(60):
        value, g = value_and_grad(loss)(params)
        params = {k: params[k] - 0.5 * g[k] for k in params}
    assert loss(params) < 0.5 * start
    assert np.mean(np.argmax(convnet(params, images), axis=1) == labels) >= 0.9


# ------------------------------------------------------------ Bayesian optimisation

def rbf(x, y, length=0.3):
    return np.exp(-0.5 * (x[:, None] - y[None, :]) ** 2 / length ** 2)


def gp_posterior(x_train, y_train, x_test, noise=1e-4):
    """Mean and standard deviation of a Gaussian process with an RBF kernel at x_test."""
    k = rbf(x_train, x_train) + noise * np.eye(len(x_train))
    chol = np.linalg.cholesky(k)
    k_star = rbf(x_train, x_test)
    alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, y_train))
    v = np.linalg.solve(chol, k_star)
    var = np.maximum(1.0 - np.sum(v ** 2, axis=0), 1e-12)
    return k_star.T @ alpha, np.sqrt(var)


def test_bayesian_optimisation_loop():
    def objective(x):   # minimum at x ≈ 0.6585 (by a fine grid below)
        return np.sin(6 * x) + 0.3 * (x - 0.5) ** 2

    def lower_confidence_bound(x, x_train, y_train):
        mean, std = gp_posterior(x_train, y_train, x)
        return np.sum(mean - 2.0 * std)

    x_train = np.array([0.0, 0.35, 1.0])
    for _ in range(8):
        y_train = objective(x_train)
        acquisition = lambda x: lower_confidence_bound(x, x_train, y_train)   # noqa: E731
        # gradient descent on the acquisition from a grid of starts, in one batch
        starts = np.linspace(0.02, 0.98, 9)
        candidates = adam(lambda x, i: grad(acquisition)(x), starts, num_iters=60, step_size=0.02)
        candidates = np.clip(candidates, 0.0, 1.0)
        values = [acquisition(np.array([c])) for c in candidates]
        x_train = np.append(x_train, candidates[int(np.argmin(values))])
    grid = np.linspace(0, 1, 100001)
    best = grid[np.argmin(objective(grid))]
    assert abs(x_train[np.argmin(objective(x_train))] - best) < 0.02
    # the acquisition's gradient is the one finite differences give
    y_train = objective(x_train)
    x = np.array([0.2, 0.7])
    np.testing.assert_allclose(grad(acquisition)(x), finite_difference_grad(acquisition, x),
                               rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------ fixed points

def newton_sqrt_iter(a):
    return lambda x: 0.5 * (x + a / x)


def fixed_point_unrolled(f, a, x0, iterations=30):
    x = x0
    for _ in range(iterations):
        x = f(a)(x)
    return x


def test_fixed_point_differentiated_through_its_iterations():
    sqrt = lambda a: fixed_point_unrolled(newton_sqrt_iter, a, 1.0)   # noqa: E731
    assert sqrt(2.0) == pytest.approx(np.sqrt(2.0), rel=1e-15)
    assert grad(sqrt)(2.0) == pytest.approx(0.5 / np.sqrt(2.0), rel=1e-12)
    assert grad(grad(sqrt))(2.0) == pytest.approx(-0.25 * 2.0 ** -1.5, rel=1e-9)


def test_fixed_point_by_implicit_differentiation():
    from riesz.misc import fixed_points   # autograd's fixed_point(f, a, x0, distance, tol)
    sqrt = lambda a: fixed_points.fixed_point(   # noqa: E731
        newton_sqrt_iter, a, 1.0, lambda x, y: abs(x - y), 1e-12)
    assert sqrt(2.0) == pytest.approx(np.sqrt(2.0), rel=1e-12)
    assert grad(sqrt)(2.0) == pytest.approx(0.5 / np.sqrt(2.0), rel=1e-9)
