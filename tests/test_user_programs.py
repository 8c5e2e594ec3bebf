"""Realistic user programs (HIPS-autograd examples, JAX-style and PyTorch-style training code)
that once failed, trimmed to their essentials; each checks real values against SciPy, NumPy,
or central finite differences."""
import warnings

import numpy as np
import pytest

import riesz
from riesz import nn
from riesz.testing import check_grads

scipy_special = pytest.importorskip("scipy.special")
scipy_stats = pytest.importorskip("scipy.stats")
from riesz.scipy import special as rspecial, stats as rstats  # noqa: E402  (needs SciPy)

RNG = np.random.default_rng(0)


def test_autograd_neural_net_with_scipy_logsumexp():
    # autograd's examples/neural_net.py: `from autograd.scipy.special import logsumexp`
    # ported as `from riesz.scipy.special import logsumexp`
    params = [(RNG.standard_normal((3, 5)), RNG.standard_normal(5)),
              (RNG.standard_normal((5, 4)), RNG.standard_normal(4))]
    x, targets = RNG.standard_normal((6, 3)), np.eye(4)[RNG.integers(0, 4, 6)]

    def log_lik(params):
        h = x
        for W, b in params:
            out = h @ W + b
            h = np.tanh(out)
        return np.sum((out - rspecial.logsumexp(out, axis=1, keepdims=True)) * targets)

    W1, b1 = params[0]
    out = np.tanh(x @ W1 + b1) @ params[1][0] + params[1][1]
    expected = np.sum((out - scipy_special.logsumexp(out, axis=1, keepdims=True)) * targets)
    assert np.isclose(log_lik(params), expected)
    check_grads(log_lik, (params,), order=1)


@pytest.mark.parametrize("kw", [{}, {"axis": 0}, {"axis": 1, "keepdims": True}])
def test_scipy_logsumexp_weights_and_sign(kw):
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    value, sign = rspecial.logsumexp(a, b=b, return_sign=True, **kw)
    expected, expected_sign = scipy_special.logsumexp(a, b=b, return_sign=True, **kw)
    assert np.allclose(value, expected) and np.array_equal(sign, expected_sign)
    positive = np.abs(b) + 0.1
    assert np.allclose(rspecial.logsumexp(a, b=positive, **kw),
                       scipy_special.logsumexp(a, b=positive, **kw))
    check_grads(lambda a, b: rspecial.logsumexp(a, b=b, **kw), (a, positive))
    assert np.allclose(riesz.grad(lambda a: rspecial.logsumexp(a, **kw).sum())(a),
                       scipy_special.softmax(a, axis=kw.get("axis")))


def test_scipy_stats_densities_match_scipy_and_differentiate():
    x, pos, unit = RNG.standard_normal(5), RNG.random(5) + 0.5, RNG.random(5) * 0.8 + 0.1
    cases = [(rstats.norm.logpdf, scipy_stats.norm.logpdf, (x, 0.3, 1.7)),
             (rstats.norm.cdf, scipy_stats.norm.cdf, (x, 0.3, 1.7)),
             (rstats.norm.logsf, scipy_stats.norm.logsf, (x, 0.1, 2.0)),
             (rstats.t.logpdf, scipy_stats.t.logpdf, (x, 3.5, 0.2, 1.3)),
             (rstats.gamma.pdf, scipy_stats.gamma.pdf, (pos, 2.5, 0.0, 1.5)),
             (rstats.beta.logpdf, scipy_stats.beta.logpdf, (unit, 2.0, 3.5)),
             (rstats.chi2.logpdf, scipy_stats.chi2.logpdf, (pos, 3.0))]
    for ours, theirs, args in cases:
        assert np.allclose(ours(*args), theirs(*args)), ours
        check_grads(lambda *a: np.sum(ours(*a)), args, order=1)
    k = np.array([0.0, 1.0, 3.0])
    assert np.allclose(rstats.poisson.logpmf(k, 2.5), scipy_stats.poisson.logpmf(k, 2.5))
    alpha, simplex = np.array([1.5, 2.0, 3.0]), np.array([0.2, 0.3, 0.5])
    assert np.isclose(rstats.dirichlet.logpdf(simplex, alpha),
                      scipy_stats.dirichlet.logpdf(simplex, alpha))
    check_grads(lambda alpha: rstats.dirichlet.logpdf(simplex, alpha), (alpha,))


def test_gaussian_process_marginal_likelihood_with_multivariate_normal():
    # autograd's examples/gaussian_process.py: mvn.logpdf(y, prior_mean, cov_y_y)
    A, mean, X = RNG.standard_normal((3, 3)), RNG.standard_normal(3), RNG.standard_normal((6, 3))
    cov = A @ A.T + np.eye(3)
    mvn = rstats.multivariate_normal
    for x in (X, X[0]):
        assert np.allclose(mvn.logpdf(x, mean, cov), scipy_stats.multivariate_normal.logpdf(x, mean, cov))
        assert np.allclose(mvn.logpdf(x, mean, np.array([1.0, 2.0, 3.0])),
                           scipy_stats.multivariate_normal.logpdf(x, mean, np.diag([1.0, 2.0, 3.0])))
    assert np.isclose(mvn.entropy(mean, cov), scipy_stats.multivariate_normal.entropy(mean, cov))
    check_grads(lambda x, m, A: np.sum(mvn.logpdf(x, m, A @ A.T + np.eye(3))), (X, mean, A))


def test_scipy_python_function_on_traced_value_names_riesz_scipy():
    with pytest.raises(TypeError, match=r"scipy\.special\.logsumexp .*riesz\.scipy"):
        riesz.grad(lambda x: scipy_special.logsumexp(x))(np.ones(3))
    with pytest.raises(TypeError, match=r"logpdf .*riesz\.scipy\.stats: norm"):
        riesz.grad(lambda x: np.sum(scipy_stats.norm.logpdf(x)))(np.ones(3))


def test_piecewise_pieces_and_otherwise():
    x = RNG.standard_normal((4, 5))

    def f(x):
        return np.piecewise(x, [x < -0.5, x > 0.5], [lambda t: -t, 2.0, lambda t: t ** 3])

    expected = np.where(x < -0.5, -x, np.where(x > 0.5, 2.0, x ** 3))
    assert np.allclose(riesz.jvp(f, (x,), (np.ones_like(x),))[0], expected)
    assert np.allclose(riesz.grad(lambda x: np.sum(f(x)))(x),
                       np.where(x < -0.5, -1.0, np.where(x > 0.5, 0.0, 3 * x ** 2)))
    check_grads(lambda x: np.sum(f(x) ** 2), (x,))
    scalar = lambda t: np.piecewise(t, t > 0, [lambda s: 3 * s, lambda s: s ** 2])  # noqa: E731
    assert riesz.grad(scalar)(0.7) == 3.0 and np.isclose(riesz.grad(scalar)(-0.7), -1.4)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_apply_along_axis(axis):
    x = RNG.standard_normal((2, 3, 4))
    outer = lambda r: np.outer(r, r[:2])  # noqa: E731  (a 2-D result per slice)
    y = riesz.jvp(lambda x: np.apply_along_axis(outer, axis, x), (x,), (x,))[0]
    assert np.allclose(y, np.apply_along_axis(outer, axis, x))
    check_grads(lambda x: np.sum(np.apply_along_axis(outer, axis, x) ** 2), (x,))
    norms = riesz.grad(lambda x: np.sum(np.apply_along_axis(np.linalg.norm, axis, x)))(x)
    assert np.allclose(norms, x / np.linalg.norm(x, axis=axis, keepdims=True))


def test_jit_of_a_transformer_loss_stages_embedding_and_causal_attention():
    # a PyTorch-style model: Embedding ids and a causal MultiHeadAttention under riesz.jit
    rng = np.random.default_rng(1)

    class TinyLM(nn.Module):
        def __init__(self, rng):
            self.tok = nn.Embedding(7, 8, rng=rng)
            self.attn = nn.MultiHeadAttention(8, 2, rng=rng, causal=True)
            self.head = nn.Linear(8, 7, rng=rng)

        def __call__(self, ids):
            return self.head(self.attn(self.tok(ids)))

    def loss(model, ids, targets):
        return nn.softmax_cross_entropy(model(ids).reshape(-1, 7), targets.reshape(-1))

    model, ids = TinyLM(rng), rng.integers(0, 7, (3, 5))
    targets = (ids + 1) % 7
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # falling back to eager execution warns
        value, grads = riesz.jit(riesz.value_and_grad(loss))(model, ids, targets)
    eager_value, eager_grads = riesz.value_and_grad(loss)(model, ids, targets)
    assert np.isclose(value, eager_value)
    for a, b in zip(riesz.tree_leaves(grads), riesz.tree_leaves(eager_grads)):
        assert np.allclose(a, b)


def test_submodules_are_attributes_after_import_riesz():
    # `import riesz` then riesz.nn.logsumexp, as jax.nn after `import jax`
    import pathlib
    import subprocess
    import sys
    code = ("import riesz, numpy as np; "
            "print(riesz.nn.logsumexp(np.zeros(4)), riesz.optim.SGD.__name__, "
            "riesz.scipy.stats.norm.logpdf(0.0))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=pathlib.Path(riesz.__file__).parent.parent)
    lse, name, logpdf = out.stdout.split()
    assert float(lse) == np.log(4.0) and name == "SGD" and float(logpdf) == -0.5 * np.log(2 * np.pi)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        riesz.nope
