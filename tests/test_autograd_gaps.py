"""What HIPS autograd's test suite found missing (issue 15, benchmarks/autograd_suite.py):
lists of traced values passed to reductions, and SciPy functions riesz.scipy lacked."""
import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from riesz.testing import check_grads

scipy = pytest.importorskip("scipy")
import scipy.linalg  # noqa: E402
import scipy.stats  # noqa: E402

from riesz.scipy import linalg as rlinalg  # noqa: E402
from riesz.scipy.stats import multivariate_normal, t  # noqa: E402

REDUCTIONS = {"sum": (rnp.sum, np.sum), "mean": (rnp.mean, np.mean), "var": (rnp.var, np.var),
              "std": (rnp.std, np.std), "prod": (rnp.prod, np.prod),
              "norm": (rnp.linalg.norm, np.linalg.norm)}


@pytest.mark.parametrize("reduce, numpy_reduce", REDUCTIONS.values(), ids=REDUCTIONS)
@pytest.mark.parametrize("container", [list, tuple])
def test_a_list_of_traced_values_is_reduced_as_numpy_converts_it(reduce, numpy_reduce, container):
    # [x, 2x + 1, sin x] as NumPy makes it an array; riesz.numpy's reductions stack it
    def f(x):
        return reduce(container([x, 2.0 * x + 1.0, np.sin(x)]))

    def by_hand(x):
        return reduce(np.stack([x, 2.0 * x + 1.0, np.sin(x)]))

    x = np.array([0.3, -1.2])
    assert np.allclose(f(x), numpy_reduce(np.array([x, 2 * x + 1, np.sin(x)])))
    assert np.allclose(riesz.jacobian(f)(x), riesz.jacobian(by_hand)(x))
    check_grads(f, (x,), modes=("fwd", "rev"), order=2)
    # scalars too (autograd's test_mean_list_of_boxes): d/dx mean(x, x + 2) = 1
    assert riesz.grad(lambda s: rnp.mean(container([s, s + 2.0])))(0.0) == 1.0


def test_riesz_numpy_linalg_is_numpy_linalg_with_derivatives():
    assert rnp.linalg.LinAlgError is np.linalg.LinAlgError
    assert riesz.grad(lambda s: rnp.linalg.norm([s, s + 2.0]))(0.0) == 1.0   # 2 / √4


def test_numpy_submodules_import_as_autograd_and_jax_programs_write_them():
    # autograd's examples begin `import autograd.numpy.random as npr`; jax.numpy.fft likewise
    import riesz.numpy.fft as fft
    import riesz.numpy.linalg as linalg
    import riesz.numpy.random as npr
    from riesz.numpy.fft import rfft
    assert npr is np.random and linalg is rnp.linalg and fft is rnp.fft
    x = npr.RandomState(0).randn(8)
    # Parseval: Σ|fft(x)|² = N Σx², so its gradient is 2N x
    np.testing.assert_allclose(riesz.grad(lambda x: np.sum(np.abs(fft.fft(x)) ** 2))(x), 16 * x)
    assert rfft is rnp.fft.rfft and rfft is not np.fft.rfft   # riesz's, not NumPy's
    check_grads(lambda x: np.abs(rfft(x)), (x,), modes=("fwd", "rev"), order=2)


def test_t_logcdf():
    x, df, loc, scale = np.array([-3.0, -0.4, 0.0, 0.7, 6.0]), 3.5, 0.2, 1.3
    assert np.allclose(t.logcdf(x, df, loc, scale), scipy.stats.t.logcdf(x, df, loc, scale))
    check_grads(lambda x, loc, scale: t.logcdf(x, df, loc, scale), (x, loc, scale),
                modes=("fwd", "rev"), order=2)


def test_multivariate_normal_names_allow_singular():
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    x = np.array([0.4, -0.2])
    assert np.isclose(multivariate_normal.logpdf(x, np.zeros(2), cov, allow_singular=False),
                      scipy.stats.multivariate_normal.logpdf(x, np.zeros(2), cov))


@pytest.mark.parametrize("rank", [1, 2, 4])
def test_multivariate_normal_with_a_singular_covariance_is_scipys(rank):
    rng = np.random.default_rng(rank)
    a = rng.standard_normal((4, rank))
    cov = a @ a.T                                       # rank `rank`, not axis-aligned
    mean = cov @ rng.standard_normal(4)
    inside = mean + rng.standard_normal((6, 4)) @ cov   # in mean + range(cov): the support
    outside = inside + 0.1 * rng.standard_normal((6, 4))
    for x in (inside, outside, inside[0]):
        for fn in ("logpdf", "pdf"):
            ours = getattr(multivariate_normal, fn)(x, mean, cov, allow_singular=True)
            np.testing.assert_allclose(
                ours, getattr(scipy.stats.multivariate_normal, fn)(x, mean, cov, allow_singular=True),
                rtol=1e-9, atol=1e-12)
    assert np.all(np.isneginf(multivariate_normal.logpdf(outside, mean, cov, allow_singular=True))) == (rank < 4)
    # scalar and diagonal covariances with a zero variance
    for c in (2.0, np.array([1.0, 0.0, 2.0, 3.0])):
        np.testing.assert_allclose(
            multivariate_normal.logpdf(inside * (c != 0), 0.0, c, allow_singular=True),
            scipy.stats.multivariate_normal.logpdf(inside * (c != 0), np.zeros(4), c, allow_singular=True))


def test_multivariate_normal_with_a_singular_covariance_differentiates():
    cov = np.diag([1.0, 1.0, 0.0, 0.0])
    rng = np.random.default_rng(5)
    x, mean = (np.concatenate([rng.standard_normal(2), np.zeros(2)]) for _ in range(2))

    def logpdf(x, mean):   # x moves along the support only: the first two axes
        return multivariate_normal.logpdf(rnp.concatenate([x[:2], mean[2:]]), mean, cov,
                                          allow_singular=True)

    assert np.isclose(logpdf(x, mean), scipy.stats.multivariate_normal.logpdf(
        np.concatenate([x[:2], mean[2:]]), mean, cov, allow_singular=True))
    check_grads(logpdf, (x, mean), modes=("fwd", "rev"), order=2)
    # in cov, where its eigenvalues are distinct: a full-rank one, symmetrized
    full = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]])
    check_grads(lambda c: multivariate_normal.logpdf(x[:3], mean[:3], 0.5 * (c + c.T),
                                                     allow_singular=True),
                (full,), modes=("fwd", "rev"), order=2)
    assert np.isclose(multivariate_normal.logpdf(x[:3], mean[:3], full, allow_singular=True),
                      multivariate_normal.logpdf(x[:3], mean[:3], full))


def _conditioned(rng, n):
    return 0.5 * rng.standard_normal((n, n)) / np.sqrt(n) + 2.0 * np.eye(n)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_solve_sylvester(dtype):
    rng = np.random.default_rng(0)
    a, b, q = (_conditioned(rng, 3).astype(dtype) for _ in range(3))
    if dtype == np.complex128:
        a = a + 0.3j * rng.standard_normal((3, 3))
    x = rlinalg.solve_sylvester(a, b, q)
    assert np.allclose(a @ x + x @ b, q)
    check_grads(rlinalg.solve_sylvester, (a, b, q), modes=("fwd", "rev"), order=2)


def test_sqrtm():
    rng = np.random.default_rng(1)
    a = _conditioned(rng, 4)
    s = rlinalg.sqrtm(a)
    assert np.allclose(s @ s, a)
    check_grads(rlinalg.sqrtm, (a,), modes=("fwd", "rev"), order=2)
    # Ṡ S + S Ṡ = Ȧ
    da = rng.standard_normal((4, 4))
    ds = riesz.jvp(rlinalg.sqrtm, (a,), (da,))[1]
    assert np.allclose(ds @ s + s @ ds, da)


@pytest.mark.parametrize("lower, upper", [(1, 1), (2, 0), (0, 2)])
def test_solve_banded(lower, upper):
    rng = np.random.default_rng(2)
    n = 5
    ab = rng.standard_normal((lower + upper + 1, n))
    ab[upper] += 4.0     # a dominant diagonal
    b = rng.standard_normal((n, 2))
    assert np.allclose(rlinalg.solve_banded((lower, upper), ab, b),
                       scipy.linalg.solve_banded((lower, upper), ab, b))
    check_grads(lambda ab, b: rlinalg.solve_banded((lower, upper), ab, b), (ab, b),
                modes=("fwd", "rev"), order=2)


def test_solve_banded_checks_the_rows_of_ab():
    with pytest.raises(ValueError, match="needs l \\+ u \\+ 1 = 3"):
        rlinalg.solve_banded((1, 1), np.ones((2, 4)), np.ones(4))


def test_a_class_passed_to_a_transformed_function_stays_a_class():
    # np.ndarray has the method __array_namespace__ but is no array: it must not be viewed
    # as one (autograd's test_builtins passes it to isinstance under grad)
    def f(x, kind):
        assert kind is np.ndarray and isinstance(np.zeros(1), kind)
        return np.sum(x ** 2)

    assert np.allclose(riesz.grad(f)(np.array([1.0, 2.0]), np.ndarray), [2.0, 4.0])


def test_odeint_differentiates_twice_in_reverse_mode():
    from riesz.scipy.integrate import odeint
    # autograd's test_odeint: check_grads at order 2 in y0, the times and the args
    rng = np.random.default_rng(7)

    def func(y, t, arg1, arg2):
        return -np.sqrt(t) - y + arg1 - np.mean((y + arg2) ** 2)

    y0, t = rng.standard_normal(3), np.linspace(0.1, 0.2, 4)
    args = (rng.standard_normal(3), rng.standard_normal(3))
    check_grads(lambda y0, t, args: odeint(func, y0, t, args), (y0, t, args), modes=("rev",),
                order=2)
    # dy/dt = −k y: Σ y(1) = e^{−k} Σ y0, whose second derivative in k is e^{−k} Σ y0
    times = np.linspace(0.0, 1.0, 3)

    def total(k):
        return np.sum(odeint(lambda y, t, k: -k * y, y0, times, (k,), rtol=1e-11, atol=1e-11)[-1])

    assert np.isclose(riesz.grad(riesz.grad(total))(0.7), np.exp(-0.7) * np.sum(y0), rtol=1e-6)
    # and the Hessian in y0 of a nonlinear system, reverse over reverse, against differences
    check_grads(lambda y0: np.sum(odeint(lambda y, t: np.sin(y) * t, y0, times) ** 2), (y0,),
                modes=("rev",), order=2)
    with pytest.raises(TypeError, match="reverse-mode rule only"):
        riesz.hessian(total)(0.7)


# ---------------------------------------------------------------- extend.primitive staged, const_graph

def _counted_primitive(calls, rule_factor=None):
    """A primitive x ↦ x · float(Σx) that counts its runs; its VJP rule is exact, or
    ``rule_factor`` g (deliberately not the derivative) to see which one a transform used."""
    from riesz.extend import defvjp, primitive

    @primitive
    def scaled(x):
        calls.append(1)
        return x * float(np.sum(x))    # float(): plain values only

    def exact(ans, x):
        return lambda g: g * np.sum(x) + np.sum(g * x)

    defvjp(scaled, exact if rule_factor is None else (lambda ans, x: lambda g: rule_factor * g))
    return scaled


def test_a_primitive_is_one_step_of_a_staged_program():
    calls = []
    scaled = _counted_primitive(calls)
    f = riesz.jit(lambda x: np.sum(scaled(2.0 * x) ** 2))
    x = np.array([0.5, -1.0, 2.0])
    expected = np.sum((2 * x * np.sum(2 * x)) ** 2)
    assert np.isclose(f(x), expected) and len(calls) == 2      # staged on values, then run
    assert np.isclose(f(x + 1.0), np.sum((2 * (x + 1) * np.sum(2 * (x + 1))) ** 2))
    assert len(calls) == 3                                     # each run calls it once
    assert "riesz.extend.call(" in riesz.source(lambda x: np.sum(scaled(2.0 * x) ** 2), x)
    # transforms of the program use the primitive's rules (both orders, both modes)
    wrong = _counted_primitive([], rule_factor=3.0)
    for g in (riesz.grad(riesz.jit(lambda x: np.sum(wrong(x)))),
              riesz.jit(riesz.grad(lambda x: np.sum(wrong(x))))):
        np.testing.assert_allclose(g(x), [3.0, 3.0, 3.0])
    np.testing.assert_allclose(riesz.jvp(riesz.jit(wrong), (x,), (np.ones(3),))[1], 3.0)
    check_grads(riesz.jit(lambda x: np.sum(scaled(x) ** 2)), (x,), modes=("fwd", "rev"), order=2)


def test_a_staged_primitive_returns_one_array_and_custom_jvp_stages():
    from riesz.extend import primitive

    @primitive
    def pair(x):
        return x, 2 * x

    with pytest.raises(TypeError, match=r"returned a tuple.*one array.*primitive of its own"):
        riesz.jit(lambda x: pair(x)[0])(np.ones(2))
    f = riesz.custom_jvp(lambda x: x * 2.0)
    f.defjvp(lambda primals, tangents: (primals[0] * 2.0, tangents[0] * 5.0))
    assert np.allclose(riesz.jit(lambda x: f(x) + 1.0)(np.ones(2)), 3.0)
    assert np.allclose(riesz.jit(lambda x: riesz.jvp(f, (x,), (x,))[1])(np.ones(2)), 5.0)


def test_const_graph_records_once_and_replays():
    from riesz.misc import const_graph
    runs, calls = [], []
    scaled = _counted_primitive(calls)
    frozen = np.array([1.0, 2.0, 3.0])

    def f(a, x, power=2):
        runs.append(1)
        return np.sum(scaled(np.sin(a) * x + frozen) ** power)

    def by_hand(x):
        y = np.sin(0.5) * x + frozen
        return np.sum((y * np.sum(y)) ** 3)

    replayed = const_graph(f, 0.5, power=3)
    assert runs == [] and calls == []
    x = np.array([0.3, -0.2, 0.1])
    assert np.isclose(replayed(x), by_hand(x)) and (len(runs), len(calls)) == (1, 1)
    for k in range(3):   # replays: the primitive runs, f's Python does not
        assert np.isclose(replayed(x * k), by_hand(x * k))
    assert (len(runs), len(calls)) == (1, 4)
    before = by_hand(x)
    frozen[:] = 0.0      # closed over: frozen when recorded, as riesz.jit freezes it
    assert np.isclose(replayed(x), before) and not np.isclose(by_hand(x), before)
    # a new signature records again, with what it closes over now
    assert np.isclose(replayed(np.float32(1.0)), by_hand(1.0), rtol=1e-6) and len(runs) == 2
    # under transforms: the recording with the primitive's rules
    x = np.array([0.3, -0.2, 0.1])
    frozen[:] = [1.0, 2.0, 3.0]
    replayed = const_graph(f, 0.5, power=3)
    np.testing.assert_allclose(riesz.grad(replayed)(x), riesz.grad(by_hand)(x), rtol=1e-10)
    check_grads(replayed, (x,), modes=("fwd", "rev"), order=2)
