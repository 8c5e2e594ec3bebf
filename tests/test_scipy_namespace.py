"""riesz.scipy: SciPy's Python functions on traced values, checked against SciPy's values
and against finite differences (both modes, second order, float64 and float32)."""
import numpy as np
import pytest

import riesz
from riesz.testing import check_grads

sp = pytest.importorskip("scipy.special")
ss = pytest.importorskip("scipy.stats")
from riesz.scipy import special as rsp, stats as rs  # noqa: E402

R = np.random.default_rng(7)
X = R.standard_normal(5)
POS = np.abs(R.standard_normal(5)) + 0.5
UNIT = np.array([0.15, 0.3, 0.55, 0.7, 0.85])
A = R.standard_normal((3, 3))
COV = A @ A.T + np.eye(3)
PTS = R.standard_normal((4, 3))
ALPHA = np.array([1.5, 2.0, 3.0])
SIMPLEX = R.dirichlet(ALPHA, size=4).T

# (name, riesz function, SciPy function, arguments): every argument differentiated
CASES = [
    ("logsumexp", rsp.logsumexp, sp.logsumexp, (A,)),
    ("logsumexp axis", lambda a: rsp.logsumexp(a, axis=1, keepdims=True),
     lambda a: sp.logsumexp(a, axis=1, keepdims=True), (A,)),
    ("logsumexp b", lambda a, b: rsp.logsumexp(a, axis=0, b=b),
     lambda a, b: sp.logsumexp(a, axis=0, b=b), (A, np.abs(A) + 0.5)),
    ("softmax", lambda a: rsp.softmax(a, axis=0), lambda a: sp.softmax(a, axis=0), (A,)),
    ("log_softmax", rsp.log_softmax, sp.log_softmax, (A,)),
    ("betaln", rsp.betaln, sp.betaln, (POS, POS[::-1] + 1)),
    ("multigammaln", lambda a: rsp.multigammaln(a, 3), lambda a: sp.multigammaln(a, 3),
     (POS + 2,)),
    ("norm.logpdf", rs.norm.logpdf, ss.norm.logpdf, (X, 0.3 * X, POS)),
    ("norm.pdf", rs.norm.pdf, ss.norm.pdf, (X, 0.3 * X, POS)),
    ("norm.cdf", rs.norm.cdf, ss.norm.cdf, (X, 0.3 * X, POS)),
    ("norm.logcdf", rs.norm.logcdf, ss.norm.logcdf, (X, 0.3 * X, POS)),
    ("norm.sf", rs.norm.sf, ss.norm.sf, (X, 0.3 * X, POS)),
    ("norm.logsf", rs.norm.logsf, ss.norm.logsf, (X, 0.3 * X, POS)),
    ("norm.ppf", rs.norm.ppf, ss.norm.ppf, (UNIT, 0.3 * X, POS)),
    ("norm.isf", rs.norm.isf, ss.norm.isf, (UNIT, 0.3 * X, POS)),
    ("multivariate_normal.logpdf", rs.multivariate_normal.logpdf,
     ss.multivariate_normal.logpdf, (PTS, PTS[0] * 0.5, COV)),
    ("multivariate_normal.pdf one point", rs.multivariate_normal.pdf,
     ss.multivariate_normal.pdf, (PTS[1], PTS[0] * 0.5, COV)),
    ("multivariate_normal.logpdf diagonal", rs.multivariate_normal.logpdf,
     lambda x, m, v: ss.multivariate_normal.logpdf(x, m, np.diag(v)), (PTS, PTS[2], POS[:3])),
    ("t.logpdf", rs.t.logpdf, ss.t.logpdf, (X, POS + 2, 0.3 * X, POS)),
    ("gamma.logpdf", rs.gamma.logpdf, ss.gamma.logpdf, (POS, POS[::-1] + 1, 0.1 * POS, POS)),
    ("chi2.logpdf", rs.chi2.logpdf, ss.chi2.logpdf, (POS, POS[::-1] + 2, 0.1 * POS, POS)),
    ("beta.logpdf", rs.beta.logpdf, ss.beta.logpdf, (UNIT, POS + 1, POS[::-1] + 1)),
    ("poisson.logpmf", lambda mu: rs.poisson.logpmf(np.arange(5), mu),
     lambda mu: ss.poisson.logpmf(np.arange(5), mu), (POS * 2,)),
    ("dirichlet.logpdf", rs.dirichlet.logpdf, ss.dirichlet.logpdf, (SIMPLEX, ALPHA)),
    ("expon.logpdf", rs.expon.logpdf, ss.expon.logpdf, (POS, 0.1 * X, POS)),
    ("expon.cdf", rs.expon.cdf, ss.expon.cdf, (POS, 0.1 * X, POS)),
    ("laplace.logpdf", rs.laplace.logpdf, ss.laplace.logpdf, (X, 0.3 * X + 0.1, POS)),
    ("laplace.cdf", rs.laplace.cdf, ss.laplace.cdf, (X, 0.3 * X + 0.1, POS)),
    ("cauchy.logpdf", rs.cauchy.logpdf, ss.cauchy.logpdf, (X, 0.3 * X, POS)),
    ("cauchy.cdf", rs.cauchy.cdf, ss.cauchy.cdf, (X, 0.3 * X, POS)),
    ("logistic.logpdf", rs.logistic.logpdf, ss.logistic.logpdf, (X, 0.3 * X, POS)),
    ("logistic.cdf", rs.logistic.cdf, ss.logistic.cdf, (X, 0.3 * X, POS)),
    ("uniform.logpdf", lambda loc, scale: rs.uniform.logpdf(UNIT, loc, scale),
     lambda loc, scale: ss.uniform.logpdf(UNIT, loc, scale), (0.1 * POS - 0.3, POS + 1)),
    ("uniform.cdf", rs.uniform.cdf, ss.uniform.cdf, (UNIT, 0.1 * X, POS + 0.5)),
    ("bernoulli.logpmf", lambda p: rs.bernoulli.logpmf(np.array([0, 1, 1, 0, 1]), p),
     lambda p: ss.bernoulli.logpmf(np.array([0, 1, 1, 0, 1]), p), (UNIT,)),
    ("binom.logpmf", lambda p: rs.binom.logpmf(np.arange(5), 6, p),
     lambda p: ss.binom.logpmf(np.arange(5), 6, p), (UNIT,)),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name,fn,reference,args", CASES, ids=IDS)
def test_values_match_scipy(name, fn, reference, args):
    np.testing.assert_allclose(fn(*args), reference(*args), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,fn,reference,args", CASES, ids=IDS)
def test_derivatives(name, fn, reference, args, dtype):
    if name == "dirichlet.logpdf" and dtype == "float32":
        # finite differences leave the simplex's float32 rounding behind; float64 checks it
        pytest.skip("float32 finite differences of log x near the simplex's edges")
    check_grads(fn, tuple(np.asarray(a, dtype) for a in args), order=2)


def test_outside_the_support_is_minus_infinity_with_zero_gradient():
    x = np.array([-0.5, 0.5, 1.5])
    assert np.all(np.isneginf(rs.beta.logpdf(x, 2.0, 3.0)[[0, 2]]))
    assert np.isneginf(rs.gamma.logpdf(-1.0, 2.0))
    g = riesz.grad(lambda a: np.sum(np.where(x > 0, rs.gamma.logpdf(x, a), 0.0)))(2.0)
    np.testing.assert_allclose(g, -2 * sp.digamma(2.0) + np.log(0.5) + np.log(1.5))


def test_new_distributions_outside_their_support_match_scipy():
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0, 7.0])
    pairs = [(rs.expon.logpdf, ss.expon.logpdf, ()), (rs.expon.cdf, ss.expon.cdf, ()),
             (rs.uniform.logpdf, ss.uniform.logpdf, ()), (rs.uniform.cdf, ss.uniform.cdf, ()),
             (rs.bernoulli.logpmf, ss.bernoulli.logpmf, (0.3,)),
             (rs.binom.logpmf, ss.binom.logpmf, (6, 0.3)), (rs.laplace.cdf, ss.laplace.cdf, ())]
    for ours, theirs, params in pairs:
        np.testing.assert_allclose(ours(x, *params), theirs(x, *params), rtol=1e-12)
    # the derivatives in the parameters stay finite where the value is −∞ (k = 0.5): there
    # they are 0; at k = 0 and 1, d/dp (k log p + (6 − k) log(1 − p)) = k/p − (6 − k)/(1 − p)
    g = riesz.grad(lambda p: np.sum(np.where(np.isfinite(rs.binom.logpmf(x[1:4], 6, 0.3)),
                                             rs.binom.logpmf(x[1:4], 6, p), 0.0)))(0.3)
    np.testing.assert_allclose(g, -6 / 0.7 + 1 / 0.3 - 5 / 0.7, rtol=1e-12)
    assert np.all(np.isfinite(riesz.grad(lambda s: np.sum(rs.expon.logpdf(x, 0.0, s)))(2.0)))


def test_logsumexp_with_signs():
    a, b = np.array([0.0, 1.0, 2.0]), np.array([1.0, -1.0, 0.5])
    value, sign = rsp.logsumexp(a, b=b, return_sign=True)
    ref_value, ref_sign = sp.logsumexp(a, b=b, return_sign=True)
    np.testing.assert_allclose(value, ref_value)
    assert sign == ref_sign
    # ∂/∂a log|Σ b eᵃ| = b eᵃ / Σ b eᵃ
    got = riesz.grad(lambda a: rsp.logsumexp(a, b=b, return_sign=True)[0])(a)
    w = b * np.exp(a)
    np.testing.assert_allclose(got, w / w.sum())


def test_ufuncs_pass_through():
    assert rsp.erf is sp.erf
    np.testing.assert_allclose(riesz.grad(lambda x: rsp.gammaln(x))(3.0), sp.digamma(3.0))


def test_scipy_python_function_on_traced_value_names_the_riesz_one():
    with pytest.raises(TypeError, match=r"riesz\.scipy\.special: logsumexp"):
        riesz.grad(lambda x: sp.logsumexp(x))(np.ones(3))
