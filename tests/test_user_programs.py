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
    # autograd's examples/gaussian_process.py:
    # `import autograd.scipy.stats.multivariate_normal as mvn`; mvn.logpdf(y, prior_mean, cov_y_y)
    import riesz.scipy.stats.multivariate_normal as mvn_module
    assert mvn_module is rstats.multivariate_normal
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


def test_gaussian_process_with_scipy_linalg_cholesky_solves():
    # JAX-style GP code: L = cholesky(K, lower=True); alpha = cho_solve((L, True), y)
    from scipy import linalg as scipy_linalg
    from riesz.scipy import linalg as rlinalg
    x, y = np.linspace(0.0, 3.0, 6), np.sin(np.linspace(0.0, 3.0, 6))

    def neg_log_marginal(log_ell):
        K = np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / np.exp(2 * log_ell)) + 0.1 * np.eye(6)
        L = rlinalg.cholesky(K, lower=True)
        alpha = rlinalg.cho_solve((L, True), y)
        return 0.5 * y @ alpha + np.sum(np.log(np.diag(L)))

    K = np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / np.exp(2 * 0.3)) + 0.1 * np.eye(6)
    expected = 0.5 * y @ scipy_linalg.cho_solve(scipy_linalg.cho_factor(K, lower=True), y) \
        + 0.5 * np.linalg.slogdet(K)[1]
    assert np.isclose(neg_log_marginal(0.3), expected)
    check_grads(neg_log_marginal, (0.3,))
    a, b = RNG.standard_normal((4, 4)), RNG.standard_normal((4, 2))
    for kw in ({}, {"lower": True, "trans": "T"}, {"unit_diagonal": True, "trans": 1}):
        assert np.allclose(rlinalg.solve_triangular(a, b, **kw),
                           scipy_linalg.solve_triangular(a, b, **kw))
        check_grads(lambda a, b: rlinalg.solve_triangular(a, b, **kw), (a, b))
    # the matrix gets a gradient only in the triangle SciPy reads
    # ∇_L Σ L⁻¹c = −L⁻ᵀ1 (L⁻¹c)ᵀ, restricted to the lower triangle
    g = riesz.grad(lambda a: np.sum(rlinalg.solve_triangular(a, b[:, 0], lower=True)))(a)
    L = np.tril(a)
    expected = -np.outer(np.linalg.solve(L.T, np.ones(4)), np.linalg.solve(L, b[:, 0]))
    assert np.allclose(g, np.tril(expected)) and np.all(np.triu(g, 1) == 0)
    assert np.allclose(rlinalg.cholesky(a @ a.T + np.eye(4)), scipy_linalg.cholesky(a @ a.T + np.eye(4)))


def test_matrix_exponential_of_a_linear_ode():
    # x(t) = expm(t A) x0: d/dt = A x(t), and the gradient in A matches JAX's convention
    from scipy import linalg as scipy_linalg
    from riesz.scipy import linalg as rlinalg
    A, x0 = RNG.standard_normal((3, 3)), RNG.standard_normal(3)
    assert np.allclose(rlinalg.expm(A), scipy_linalg.expm(A))
    velocity = riesz.jvp(lambda t: rlinalg.expm(t * A) @ x0, (0.7,), (1.0,))[1]
    assert np.allclose(velocity, A @ scipy_linalg.expm(0.7 * A) @ x0)
    # ∇_A ⟨w, expm(A) x0⟩ = L(Aᵀ, w x0ᵀ), the Fréchet derivative at Aᵀ
    w = RNG.standard_normal(3)
    g = riesz.grad(lambda A: w @ rlinalg.expm(A) @ x0)(A)
    assert np.allclose(g, scipy_linalg.expm_frechet(A.T, np.outer(w, x0), compute_expm=False))


def test_more_scipy_special_functions():
    from riesz.scipy import special as s
    x = np.array([0.6, 1.3, 2.5])
    # J₀' = −J₁, Γ' = Γψ, (1/Γ)' = −ψ/Γ, and the order recurrences of J_v and I_v
    assert np.allclose(riesz.elementwise_grad(s.j0)(x), -s.j1(x))
    assert np.allclose(riesz.elementwise_grad(s.gamma)(x), s.gamma(x) * s.digamma(x))
    assert np.allclose(riesz.elementwise_grad(s.rgamma)(x), -s.digamma(x) / s.gamma(x))
    assert np.allclose(riesz.elementwise_grad(lambda x: s.jv(2.5, x))(x),
                       0.5 * (s.jv(1.5, x) - s.jv(3.5, x)))
    assert np.allclose(riesz.elementwise_grad(lambda x: s.ive(1, x))(-x),
                       0.5 * (s.ive(0, -x) + s.ive(2, -x)) + s.ive(1, -x))
    assert np.allclose(s.multigammaln(x + 2.0, 3), scipy_special.multigammaln(x + 2.0, 3))
    check_grads(lambda a: np.sum(s.multigammaln(a, 3)), (x + 2.0,))
    with pytest.raises(TypeError, match="order v must be a constant"):
        riesz.grad(lambda v: s.jv(v, 1.0))(0.5)


def test_autograd_misc_flatten_and_optimizers():
    # autograd's examples: `from autograd.misc.optimizers import adam` on list-of-tuples params
    from riesz.misc import flatten, flatten_func
    from riesz.misc.optimizers import adam, rmsprop, sgd
    params = {"w": [np.ones((2, 2)), np.float32(3.0)], "b": np.arange(3.0)}
    vector, unflatten = flatten(params)
    assert np.array_equal(vector, [0, 1, 2, 1, 1, 1, 1, 3])            # dicts by sorted key
    back = unflatten(2 * vector)
    assert back["w"][1].dtype == np.float32 and np.array_equal(back["w"][0], 2 * np.ones((2, 2)))
    # the vector and the rebuilt pytree both carry derivatives
    assert np.array_equal(riesz.grad(lambda v: np.sum(unflatten(v)["b"] ** 2))(vector),
                          [0, 2, 4, 0, 0, 0, 0, 0])
    g = riesz.grad(lambda p: np.sum(flatten(p)[0] ** 3))((np.array([1.0, 2.0]), 3.0))
    assert np.allclose(g[0], [3.0, 12.0]) and np.isclose(g[1], 27.0)
    flat_f, _, x0 = flatten_func(lambda p: p["b"] * p["w"][1], params)
    assert np.array_equal(flat_f(x0), [0.0, 3.0, 6.0])

    target = (np.array([1.0, -2.0]), np.array([[0.5]]))

    def loss_grad(x, i):
        return riesz.grad(lambda x: sum(np.sum((a - t) ** 2) for a, t in zip(x, target)))(x)

    x0 = (np.zeros(2), np.zeros((1, 1)))
    steps = []
    # one step each: adam moves every entry by step_size against the gradient's sign;
    # sgd by step_size (1 − mass) g; rmsprop by step_size g / √(γ + (1 − γ) g²)
    one = adam(loss_grad, x0, callback=lambda x, i, g: steps.append((i, g)), num_iters=1,
               step_size=0.1)
    assert steps[0][0] == 0 and np.allclose(steps[0][1][0], [-2.0, 4.0])   # g as a pytree
    assert np.allclose(one[0], [0.1, -0.1]) and np.allclose(one[1], [[0.1]])
    assert np.allclose(sgd(loss_grad, x0, num_iters=1, step_size=0.5)[0], [0.1, -0.2])
    assert np.allclose(rmsprop(loss_grad, x0, num_iters=1, step_size=0.1)[1],
                       [[0.1 / np.sqrt(0.9 + 0.1)]])
    # and they converge
    assert np.allclose(adam(loss_grad, x0, num_iters=300, step_size=0.05)[0], target[0], atol=1e-2)


def test_odeint_adjoint_gradients():
    # autograd's examples/ode_net.py: odeint(func, y0, t, (params,)) inside a loss
    from riesz.scipy.integrate import odeint
    rng = np.random.default_rng(3)
    params = {"W": rng.standard_normal((2, 4)) * 0.5, "V": rng.standard_normal((4, 2)) * 0.5}
    y0, t = rng.standard_normal(2), np.linspace(0.0, 1.0, 4)

    def dynamics(y, time, params):
        return np.tanh(y @ params["W"]) @ params["V"] - 0.1 * time * y

    def loss(y0, t, params):
        ys = odeint(dynamics, y0, t, (params,), rtol=1e-10, atol=1e-10)
        return np.sum(ys ** 2 * np.arange(1.0, 5.0)[:, None])

    check_grads(loss, (y0, t, params), order=1, modes=("rev",))
    # dy/dt = −k y: y(1) = e^{−k} y0, so ∂/∂k Σ y(1) = −e^{−k} Σ y0
    g = riesz.grad(lambda k: np.sum(odeint(lambda y, t, k: -k * y, y0, t, (k,))[-1]))(0.7)
    assert np.isclose(g, -np.exp(-0.7) * np.sum(y0), rtol=1e-6)
    with pytest.raises(TypeError, match="reverse-mode rule only"):
        riesz.jvp(lambda y0: odeint(lambda y, t: -y, y0, t), (y0,), (y0,))


def test_convolution_with_sliding_window_view():
    # a NumPy CNN: patches = sliding_window_view(x, (kh, kw), axis=(2, 3)), then einsum
    from numpy.lib.stride_tricks import sliding_window_view
    x, w = RNG.standard_normal((2, 3, 6, 5)), RNG.standard_normal((4, 3, 3, 2))

    def conv(x, w):
        patches = sliding_window_view(x, (3, 2), axis=(2, 3))      # (n, c, 4, 4, 3, 2)
        return np.einsum("nchwij,kcij->nkhw", patches, w)

    expected = np.zeros((2, 4, 4, 4))
    for i in range(3):
        for j in range(2):
            expected += np.einsum("nchw,kc->nkhw", x[:, :, i:i + 4, j:j + 4], w[:, :, i, j])
    assert np.allclose(conv(x, w), expected)
    assert np.allclose(riesz.jvp(lambda x: conv(x, w), (x,), (x,))[0], expected)
    check_grads(lambda x, w: np.sum(conv(x, w) ** 2), (x, w))
    v = RNG.standard_normal(7)
    # every entry of v lies in min(i + 1, 3, 7 − i) windows of width 3
    counts = riesz.grad(lambda v: np.sum(sliding_window_view(v, 3)))(v)
    assert np.array_equal(counts, [1, 2, 3, 3, 3, 2, 1])


def test_check_grads_curried_as_in_autograd():
    # autograd's tests: check_grads(fun, modes=["rev"], order=1)(*args)
    check_grads(lambda a, b: np.sum(np.sin(a) * b), modes=["rev"], order=1)(1.0, np.ones(3))

    @riesz.custom_vjp
    def wrong(x):
        return np.sin(x)

    wrong.defvjp(lambda x: (np.sin(x), x), lambda x, g: (g * x,))   # should be cos x
    with pytest.raises(AssertionError, match="reverse mode, order 1"):
        check_grads(wrong, modes=["rev"], order=1)(0.7)


def test_stats_cdfs_and_incomplete_gamma_beta():
    x, pos, unit = np.array([-1.3, -0.2, 0.4, 2.1]), np.array([0.3, 1.2, 2.5]), np.array([0.2, 0.9])
    cases = [(rstats.t.cdf, scipy_stats.t.cdf, scipy_stats.t.pdf, (x, 3.5, 0.1, 1.3)),
             (rstats.gamma.cdf, scipy_stats.gamma.cdf, scipy_stats.gamma.pdf, (pos, 2.5, 0.0, 1.5)),
             (rstats.beta.cdf, scipy_stats.beta.cdf, scipy_stats.beta.pdf, (unit, 2.0, 3.5)),
             (rstats.chi2.cdf, scipy_stats.chi2.cdf, scipy_stats.chi2.pdf, (pos, 3.0))]
    for ours, theirs, density, (v, *params) in cases:
        assert np.allclose(ours(v, *params), theirs(v, *params)), ours
        # the derivative of a CDF is the density
        assert np.allclose(riesz.elementwise_grad(lambda v: ours(v, *params))(v), density(v, *params))
    check_grads(lambda x, loc, scale: rstats.t.cdf(x, 3.5, loc, scale), (x, 0.1, 1.3))
    k = np.array([0.0, 1.0, 3.0])
    assert np.allclose(rstats.poisson.cdf(k, 2.5), scipy_stats.poisson.cdf(k, 2.5))
    # ∂/∂μ P(N ≤ k) = −pmf(k; μ)
    assert np.allclose(riesz.elementwise_grad(lambda mu: rstats.poisson.cdf(k, mu))(np.full(3, 2.5)),
                       -scipy_stats.poisson.pmf(k, 2.5))
    with pytest.raises(riesz.NoRuleError, match="gammainc has a derivative in its last argument"):
        riesz.grad(lambda a: rspecial.gammainc(a, 1.0))(2.0)


def test_tolist_and_indexing_a_python_float_argument():
    # sum(x.tolist()) keeps the derivative; x[()] of an argument given as 3.0 indexes
    assert np.array_equal(riesz.grad(lambda x: sum(sum(row) for row in x.tolist()) ** 2)(
        np.ones((2, 3))), np.full((2, 3), 12.0))
    assert riesz.grad(lambda x: x[()] * x[None][0])(3.0) == 6.0
    assert riesz.grad(lambda x: x.tolist() ** 3)(2.0) == 12.0


def test_interp_stages_under_jit():
    # a lookup-table model y = interp(x, knots, values), trained with a jitted gradient
    knots, values = np.array([0.0, 1.0, 2.5, 4.0]), np.array([1.0, 3.0, 2.0, 0.0])
    x = np.array([-1.0, 0.0, 0.5, 1.0, 3.0, 5.0])

    def loss(values, knots, x):
        return np.sum(np.interp(x, knots, values) ** 2)

    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no fallback to eager execution
        g = riesz.jit(riesz.grad(loss))(values, knots, x)
    y = np.interp(x, knots, values)
    # ∂/∂values: each x spreads 2y over its segment's end points with weights (1 − w, w)
    expected = np.zeros(4)
    for xi, yi in zip(x, y):
        k = min(max(np.searchsorted(knots, xi, side="right") - 1, 0), 2)
        w = np.clip((xi - knots[k]) / (knots[k + 1] - knots[k]), 0.0, 1.0)
        expected[k] += 2 * yi * (1 - w)
        expected[k + 1] += 2 * yi * w
    assert np.allclose(g, expected)


def test_linear_map_as_scipy_linear_operator():
    # Newton-CG: solve H p = g with scipy's cg on the Hessian as a linear map, never formed
    from scipy.sparse.linalg import aslinearoperator, cg
    rng = np.random.default_rng(5)
    A = rng.standard_normal((5, 5))
    S = A @ A.T + 5 * np.eye(5)

    def loss(x):
        return np.sum(np.log(np.cosh(S @ x))) + 0.5 * x @ x

    x = rng.standard_normal(5)
    g = riesz.grad(loss)(x)
    _, H = riesz.linearize(riesz.grad(loss), x)
    step, info = cg(H, g, rtol=1e-12)
    assert info == 0 and np.allclose(riesz.hessian(loss)(x) @ step, g)
    # a map between pytrees flattens leaf by leaf; rmatvec is the adjoint
    _, J = riesz.linearize(lambda p: {"a": np.tanh(p["w"] @ x), "b": p["v"] ** 2},
                           {"w": A[:3], "v": np.ones(2)})
    op = aslinearoperator(J)
    assert op.shape == (5, 17)
    v, w = rng.standard_normal(17), rng.standard_normal(5)
    assert np.isclose(w @ op.matvec(v), op.rmatvec(w) @ v)
    _, F = riesz.linearize(np.fft.fft, np.ones(4, complex))
    v, w = rng.standard_normal(4) + 1j * rng.standard_normal(4), rng.standard_normal(4) + 0j
    assert np.allclose(F.matvec(v), np.fft.fft(v))
    assert np.isclose(np.vdot(w, F.matvec(v)), np.vdot(F.rmatvec(w), v))


def test_autograd_extend_primitive_with_defvjp_and_defjvp():
    # autograd's examples/define_gradient.py, with `from riesz.extend import primitive, defvjp`
    from riesz.extend import defjvp, defvjp, primitive

    @primitive
    def logsumexp(x):
        max_x = np.max(x)
        return max_x + np.log(np.sum(np.exp(x - max_x)))

    calls = []

    def logsumexp_vjp(ans, x):
        calls.append("vjp")
        return lambda g: g * np.exp(x - ans)

    defvjp(logsumexp, logsumexp_vjp)
    x = np.array([1.0, 2.0, 3.0])
    assert np.allclose(riesz.grad(logsumexp)(x), np.exp(x) / np.sum(np.exp(x))) and calls
    check_grads(lambda y: logsumexp(y ** 2), modes=["rev"])(x)

    @primitive
    def scaled_sin(x, y, scale=2.0):
        return x * np.sin(y) * scale

    defvjp(scaled_sin, lambda ans, x, y, scale: lambda g: g * np.sin(y) * scale)
    assert np.isclose(riesz.grad(lambda x: scaled_sin(x, 0.5, scale=3.0))(1.0), 3 * np.sin(0.5))
    # y has no rule: its derivative comes from differentiating the implementation
    assert np.isclose(riesz.grad(lambda y: scaled_sin(1.0, y, scale=3.0))(0.5), 3 * np.cos(0.5))

    @primitive
    def cube(x):
        return x ** 3

    defjvp(cube, lambda g, ans, x: 3 * x ** 2 * g)
    assert riesz.jvp(cube, (2.0,), (1.0,))[1] == 12.0 and riesz.grad(cube)(2.0) == 12.0
    assert riesz.grad(riesz.grad(cube))(2.0) == 12.0


def test_numpy_python_functions_name_the_fix():
    # np.full(shape, v) converts v inside NumPy: the message names np.full and the rewrite
    with pytest.raises(TypeError, match=r"numpy\.full .*np\.broadcast_to\(v, shape\)"):
        riesz.grad(lambda m: np.sum(np.full(3, m)))(1.0)
    # a conversion in the user's own function, called from scipy.optimize, is not SciPy's
    from scipy.optimize import minimize
    with pytest.raises(TypeError, match="^converting a traced value"):
        minimize(lambda x: riesz.grad(lambda y: np.sum(np.asarray(y) ** 2))(x)[0], np.ones(2))


def test_complex_slogdet_sign_is_a_phase():
    # a complex log-determinant (a quantum/physics program): both outputs differentiate
    rng = np.random.default_rng(7)
    A = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    T = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    (sign, logabs), (sign_dot, logabs_dot) = riesz.jvp(lambda A: tuple(np.linalg.slogdet(A)),
                                                       (A,), (T,))
    y = np.trace(np.linalg.solve(A, T))            # d log det A = tr(A⁻¹Ȧ)
    assert np.isclose(logabs_dot, y.real) and np.isclose(sign_dot, sign * 1j * y.imag)
    check_grads(lambda a, b: np.real(np.linalg.slogdet(a + 1j * b).sign * (1 + 2j))
                + np.linalg.slogdet(a + 1j * b).logabsdet, (A.real, A.imag))


def test_complex_cholesky_matches_the_hermitian_factorization():
    rng = np.random.default_rng(8)
    B = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    A = B @ B.conj().T + np.eye(3)
    T = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    T = T + T.conj().T                         # a Hermitian direction
    L, L_dot = riesz.jvp(np.linalg.cholesky, (A,), (T,))
    # differentiate A = L Lᴴ: Ȧ = L̇ Lᴴ + L L̇ᴴ, with L̇ lower triangular
    assert np.allclose(L_dot @ L.conj().T + L @ L_dot.conj().T, T)
    assert np.allclose(np.triu(L_dot, 1), 0)
    check_grads(np.linalg.cholesky, (A,))


def test_complex_hermitian_eigh_ground_state_energy():
    # a quantum program: the ground-state energy of H(θ) = H₀ + θ V, Hermitian, and its
    # derivative dE₀/dθ = ⟨ψ₀|V|ψ₀⟩ (Hellmann–Feynman)
    rng = np.random.default_rng(9)
    def hermitian(n):
        m = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
        return m + m.conj().T

    H0, V = hermitian(4), hermitian(4)
    energy = lambda theta: np.linalg.eigvalsh(H0 + theta * V)[0]   # noqa: E731
    psi = np.linalg.eigh(H0 + 0.3 * V)[1][:, 0]
    assert np.isclose(riesz.grad(energy)(0.3), np.real(psi.conj() @ V @ psi))
    assert np.isclose(riesz.grad(lambda t: np.linalg.eigh(H0 + t * V)[0][0])(0.3),
                      np.real(psi.conj() @ V @ psi))
    check_grads(lambda a: np.abs(np.linalg.eigh(a)[1]) ** 2, (H0,))
    # and QR of a complex matrix: Q̇ and Ṙ keep Q unitary and R upper with a real diagonal
    A, T = H0[:, :3], V[:, :3]
    (Q, R), (Q_dot, R_dot) = riesz.jvp(lambda a: tuple(np.linalg.qr(a)), (A,), (T,))
    assert np.allclose(Q_dot @ R + Q @ R_dot, T) and np.allclose(np.tril(R_dot, -1), 0)
    assert np.allclose(np.diag(R_dot).imag, 0) and np.allclose(Q.conj().T @ Q_dot + Q_dot.conj().T @ Q, 0)


def test_complex_svd_and_pinv():
    # a complex least-squares fit (signal processing): x = A⁺ b, and its gradient
    rng = np.random.default_rng(10)
    A = rng.standard_normal((5, 3)) + 1j * rng.standard_normal((5, 3))
    b = rng.standard_normal(5) + 1j * rng.standard_normal(5)
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    assert np.allclose(riesz.jvp(lambda A: np.linalg.pinv(A) @ b, (A,), (A,))[0], x)
    check_grads(lambda A: np.linalg.pinv(A) @ b, (A,))
    # the singular vectors' shared phase is free: |U|² and U S Vᴴ do not see it
    check_grads(lambda A: np.abs(np.linalg.svd(A, full_matrices=False)[0]) ** 2, (A,))
    u, s, vh = np.linalg.svd(A, full_matrices=False)
    T = rng.standard_normal((5, 3)) + 1j * rng.standard_normal((5, 3))
    _, (u_dot, s_dot, vh_dot) = riesz.jvp(lambda A: tuple(np.linalg.svd(A, full_matrices=False)),
                                          (A,), (T,))
    assert np.allclose(u_dot * s @ vh + (u * s_dot) @ vh + (u * s) @ vh_dot, T)


def test_newton_on_a_residual_assembled_entry_by_entry_with_the_auto_staged_jacobian():
    # the Bratu problem −u'' = λeᵘ on (0, 1), u(0) = u(1) = 0, by finite differences and
    # Newton's method; riesz.jacobian is called in the loop (staged from the second call)
    # and must answer exactly as the eager transform, and as the closed form
    # J = tridiag(−1, 2, −1)/h² − λ diag(eᵘ)
    from riesz import transforms
    n, lam = 12, 1.0
    h = 1.0 / (n + 1)

    def residual(u):
        r = np.zeros_like(u)
        r[0] = (2 * u[0] - u[1]) / h ** 2 - lam * np.exp(u[0])
        for i in range(1, n - 1):
            r[i] = (-u[i - 1] + 2 * u[i] - u[i + 1]) / h ** 2 - lam * np.exp(u[i])
        r[-1] = (2 * u[-1] - u[-2]) / h ** 2 - lam * np.exp(u[-1])
        return r

    u = np.zeros(n)
    for _ in range(6):
        J = riesz.jacobian(residual)(u)
        np.testing.assert_array_equal(J, transforms.jacobian(residual)(u))
        u = u - np.linalg.solve(J, residual(u))
    assert np.abs(residual(u)).max() < 1e-10
    second = (2 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1)) / h ** 2
    np.testing.assert_allclose(riesz.jacobian(residual)(u), second - lam * np.diag(np.exp(u)),
                               rtol=1e-12, atol=1e-9)


def test_scipy_minimize_with_riesz_gradient_hessian_and_hvp():
    optimize = pytest.importorskip("scipy.optimize")

    def rosen(p):
        return np.sum(100 * (p[1:] - p[:-1] ** 2) ** 2 + (1 - p[:-1]) ** 2)

    x0 = np.zeros(4)
    exact = optimize.minimize(rosen, x0, jac=riesz.grad(rosen), hess=riesz.hessian(rosen),
                              method="trust-exact")
    assert exact.success   # to trust-exact's default gtol
    np.testing.assert_allclose(exact.x, np.ones(4), atol=1e-3)
    newton_cg = optimize.minimize(rosen, x0, jac=riesz.grad(rosen), method="Newton-CG",
                                  hessp=lambda x, v: riesz.hvp(rosen, (x,), (v,)))
    np.testing.assert_allclose(newton_cg.x, np.ones(4), atol=1e-3)
    np.testing.assert_allclose(riesz.hessian(rosen)(x0), optimize.rosen_hess(x0))
