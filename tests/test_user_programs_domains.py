"""A second new user's programs, from domains the first trial (test_user_programs_idioms.py)
left out: linear algebra (eigh, svd, slogdet, pinv, lstsq, matrix norms, qr, triangular
solves, batched Cholesky log-determinants), statistics (riesz.scipy.stats log densities in
their parameters, a Gaussian mixture by logsumexp, cov/corrcoef, percentiles, cumulative
sums), signals and images (convolve/correlate modes, FFT losses, a 2-D convolution by
sliding windows, pooling by reshape), sorting and selection (top-k, take_along_axis,
partition, running maxima, searchsorted pieces), shape plumbing (every np.pad mode, roll,
tile, repeat, split, einsum traces and ellipses, tensordot, kron), transforms combined
(jit(vmap(grad)), vmap(jacfwd), grad(jit) with static arguments, hessians of pytrees,
linear_transpose, custom_vjp with nondiff_argnums, checkpoint in a loop, tree_util's
is_leaf) and a riesz.nn model trained by fit.

Each program is written once for a namespace ``lib`` (NumPy with riesz.scipy, traced by
riesz, or jax.numpy with jax.scipy); its derivatives are checked against central finite
differences in both modes to second order and, where JAX is installed (an optional
oracle), against JAX's gradient (compiling JAX's Hessians of these programs takes longer
than the rest of the file together)."""
import dataclasses
import functools
import os
from types import SimpleNamespace

import numpy as np
import pytest

import riesz
import riesz.nn as nn
import riesz.scipy.linalg
import riesz.scipy.signal
import riesz.scipy.special
import riesz.scipy.stats
from riesz import tree_util
from riesz.optim import Adam
from riesz.testing import check_grads

RNG = np.random.default_rng(11)
A4 = RNG.standard_normal((4, 4))
B4 = RNG.standard_normal((3, 4, 4))
DATA = np.concatenate([RNG.standard_normal(8) - 2, RNG.standard_normal(8) + 2])
PTS = RNG.standard_normal((5, 3))
COUNTS = np.array([0, 1, 3, 7])
SIMPLEX = np.array([0.2, 0.3, 0.5])
KERNEL = RNG.standard_normal(3)
K2 = RNG.standard_normal((3, 3))
KNOTS = np.linspace(-2.0, 2.0, 7)
XQ = RNG.uniform(-1.9, 1.9, 9)
W_PAD = RNG.standard_normal((10, 9))
NUMPY = SimpleNamespace(np=np, stats=riesz.scipy.stats, special=riesz.scipy.special,
                        linalg=riesz.scipy.linalg)


def linear_algebra(lib):
    m, la = lib.np, lib.linalg

    def f(a):
        s = a + a.T
        w, v = m.linalg.eigh(s)
        u, sv, vt = m.linalg.svd(a[:, :3], full_matrices=False)
        spd = a @ a.T + m.eye(4)
        tri = la.solve_triangular(m.tril(a) + 4 * m.eye(4), m.arange(4.0), lower=True)
        batch = B4 @ a
        chol = m.linalg.cholesky(batch @ m.swapaxes(batch, -1, -2) + m.eye(4))
        return (m.sum(w * m.arange(4.0)) + m.sum(v[:, 0] ** 2 * m.arange(4.0))
                + m.sum(sv ** 2 * m.arange(1.0, 4.0)) + m.sum(((u * sv) @ vt) ** 3)
                + m.linalg.slogdet(a)[1] + m.sum(m.linalg.pinv(a[:, :3]) ** 2)
                + m.sum(m.linalg.lstsq(a[:, :3], m.arange(4.0), rcond=None)[0] ** 2)
                + m.sum(m.linalg.matrix_power(a, -2)) + m.linalg.norm(a, ord=2)
                + m.linalg.norm(a, ord="nuc") + m.sum(m.linalg.qr(a)[1] ** 2 * m.arange(4.0))
                + 2 * m.sum(m.log(m.diagonal(m.linalg.cholesky(spd)))) + m.sum(tri ** 2)
                + m.sum(m.log(m.diagonal(chol, axis1=-2, axis2=-1)))
                + m.sum(m.linalg.inv(batch + 5 * m.eye(4)) ** 2))
    return f, A4


def distributions(lib):
    m, st = lib.np, lib.stats

    def f(p):
        scale, shape = m.exp(p[1]), m.exp(p[2])
        return (m.sum(st.norm.logpdf(DATA, p[0], scale)) + m.sum(st.norm.logcdf(DATA, p[0], scale))
                + m.sum(st.norm.ppf(m.array([0.1, 0.7]), p[0], scale))
                + m.sum(st.t.logpdf(DATA, shape + 1, p[0], scale))
                + m.sum(st.gamma.logpdf(m.abs(DATA) + 0.1, shape, scale=scale))
                + m.sum(st.beta.logpdf(SIMPLEX, shape, scale))
                + m.sum(st.poisson.logpmf(COUNTS, shape))
                + st.dirichlet.logpdf(SIMPLEX, m.exp(p[:3]))
                + m.sum(st.multivariate_normal.logpdf(PTS, p[:3], m.diag(m.exp(p)) + 0.5)))
    return f, np.array([0.1, 0.2, -0.3])


def gaussian_mixture(lib):
    m, sp, st = lib.np, lib.special, lib.stats

    def nll(theta):   # mixing logits, means, log scales of three components
        log_weights = theta[:3] - sp.logsumexp(theta[:3])
        lp = st.norm.logpdf(DATA[:, None], theta[3:6], m.exp(theta[6:])) + log_weights
        return -m.sum(sp.logsumexp(lp, axis=1))
    return nll, np.concatenate([np.zeros(3), [-2.0, 0.0, 2.0], [0.1, -0.1, 0.2]])


def summary_statistics(lib):
    m = lib.np

    def f(x):
        return (m.sum(m.var(x, axis=0, ddof=1)) + m.sum(m.std(x, axis=1, keepdims=True) * x)
                + m.sum(m.cov(x) ** 2) + m.sum(m.cov(x, rowvar=False, bias=True) ** 2)
                + m.sum(m.corrcoef(x) ** 3) + m.sum(m.quantile(x, 0.3, axis=1) ** 2)
                + m.sum(m.percentile(x, m.array([10.0, 50.0, 90.0]), axis=0) ** 2)
                + m.sum(m.median(x, axis=0) ** 2) + m.sum(m.cumsum(x, axis=1) ** 2)
                + m.sum(m.cumprod(x, axis=0)) + m.sum(m.diff(x, n=2, axis=0) ** 2))
    return f, RNG.standard_normal((5, 4))


def signals(lib):
    m = lib.np

    def f(x):
        total = 0.0
        for mode in ("full", "same", "valid"):
            total = (total + m.sum(m.convolve(x, KERNEL, mode=mode) ** 2)
                     + m.sum(m.correlate(KERNEL[:2], x, mode=mode) ** 2))
        spectrum = m.fft.rfft(x)
        image = x[1:9, None] * x[None, 2:6]   # an 8×4 image
        pooled = m.max(m.reshape(image, (4, 2, 2, 2)), axis=(1, 3))
        return (total + m.sum(m.abs(spectrum) ** 2 * m.arange(5.0))
                + m.sum(m.fft.irfft(spectrum * m.exp(-m.arange(5.0)), n=9) ** 2)
                + m.sum(m.abs(m.fft.fft2(image)) ** 2 * m.arange(4.0))
                + m.sum(pooled ** 2)
                + m.sum(m.mean(m.reshape(image, (4, 2, 2, 2)), axis=(1, 3)) ** 3))
    return f, RNG.standard_normal(9)


def convolution_2d(lib):
    m = lib.np

    def f(img):   # 'valid' cross-correlation with a 3×3 kernel, written with slices
        rows, cols = img.shape
        out = sum(K2[i, j] * img[i:rows - 2 + i, j:cols - 2 + j]
                  for i in range(3) for j in range(3))
        return m.sum(m.tanh(out) ** 2)
    return f, RNG.standard_normal((6, 7))


def convolution_2d_windows(img):   # the same convolution by sliding windows (NumPy only)
    windows = np.lib.stride_tricks.sliding_window_view(img, (3, 3))
    return np.sum(np.tanh(np.einsum("ijkl,kl->ij", windows, K2)) ** 2)


def selection(lib):
    m = lib.np

    def f(x):
        x2 = m.reshape(x, (3, 4))
        top = m.take_along_axis(x2, m.argsort(-x2, axis=1)[:, :2], axis=1)
        knots = m.asarray(KNOTS)
        cell = m.clip(m.searchsorted(knots, XQ, side="right") - 1, 0, 5)
        t = (XQ - knots[cell]) / (knots[cell + 1] - knots[cell])
        interpolated = (1 - t) * x[cell] + t * x[cell + 1]
        return (m.sum(m.sort(x2, axis=0) * m.arange(3.0)[:, None]) + m.sum(top ** 2)
                + m.sum(m.partition(x, 3)[:3] ** 2) + m.sum(m.sort(x2, axis=1)[:, -2:])
                + m.sum(m.maximum.accumulate(x) ** 2) + m.sum(interpolated ** 2)
                + m.sum(x[m.argsort(x)] * m.arange(12.0)))
    return f, RNG.permutation(12) / 3.0 - 2.0 + 0.01 * RNG.standard_normal(12)


PAD_MODES = [{"mode": "constant", "constant_values": 0.5}, {"mode": "edge"},
             {"mode": "reflect"}, {"mode": "reflect", "reflect_type": "odd"},
             {"mode": "symmetric", "reflect_type": "odd"}, {"mode": "wrap"},
             {"mode": "linear_ramp", "end_values": ((1.0, -2.0), (0.5, 3.0))},
             {"mode": "maximum"}, {"mode": "minimum", "stat_length": 2},
             {"mode": "mean", "stat_length": ((1, 3), (2, 9))}, {"mode": "median"}]


def shape_plumbing(lib):
    m = lib.np

    def f(x):
        padded = sum(m.sum(m.pad(x, ((5, 1), (2, 2)), **kw) ** 2 * W_PAD) for kw in PAD_MODES)
        parts = m.split(x, [1, 3], axis=1) + m.array_split(x, 3, axis=0)
        x3 = m.reshape(x, (2, 2, 5))
        return (padded + m.sum(m.roll(x, (1, -2), axis=(0, 1)) * W_PAD[:4, :5])
                + m.sum(m.tile(x, (2, 1, 2)) ** 2 * m.arange(10.0))
                + m.sum(m.repeat(x, 2, axis=0) ** 3) + m.sum(m.repeat(x[0], 3) ** 3)
                + sum((i + 1) * m.sum(p ** 3) for i, p in enumerate(parts))
                + m.sum(m.moveaxis(x3, [0, 1], [-1, -2]) * m.arange(2.0))
                + m.einsum("ii", x[:, :4] @ x[:, :4]) + m.sum(m.einsum("ii->i", x[:, 1:]) ** 3)
                + m.sum(m.einsum("...ij,...jk->...ik", x3[..., :2], x3) ** 2)
                + m.sum(m.einsum("bii->b", m.stack([x[:, :4], x[:, 1:]])) ** 2)
                + m.sum(m.tensordot(x3, m.reshape(x, (5, 2, 2)), axes=[(1, 2), (1, 0)]) ** 2)
                + m.sum(m.outer(x[0], x[1]) ** 2) + m.sum(m.kron(x[:2, :2], x[2:, 3:]) ** 3))
    return f, RNG.standard_normal((4, 5))


PROGRAMS = {"linear_algebra": linear_algebra, "distributions": distributions,
            "gaussian_mixture": gaussian_mixture, "summary_statistics": summary_statistics,
            "signals": signals, "convolution_2d": convolution_2d, "selection": selection,
            "shape_plumbing": shape_plumbing}


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_derivatives_match_finite_differences(name):
    f, x = PROGRAMS[name](NUMPY)
    check_grads(f, (x,), order=2)


def _jax_namespace():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.scipy.linalg
    import jax.scipy.special
    import jax.scipy.stats
    return jax, SimpleNamespace(np=jax.numpy, stats=jax.scipy.stats,
                                special=jax.scipy.special, linalg=jax.scipy.linalg)


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_agrees_with_jax(name):
    jax, jax_lib = _jax_namespace()
    f, x = PROGRAMS[name](NUMPY)
    f_jax = PROGRAMS[name](jax_lib)[0]
    value, gradient = jax.jit(jax.value_and_grad(f_jax))(x)   # second order: by differences
    np.testing.assert_allclose(f(x), value, rtol=1e-11)
    np.testing.assert_allclose(riesz.grad(f)(x), gradient, rtol=1e-8, atol=1e-10)


def test_convolution_by_sliding_windows_is_the_one_by_slices():
    f, img = convolution_2d(NUMPY)
    np.testing.assert_allclose(convolution_2d_windows(img), f(img), rtol=1e-13)
    np.testing.assert_allclose(riesz.grad(convolution_2d_windows)(img), riesz.grad(f)(img),
                               rtol=1e-12)
    check_grads(convolution_2d_windows, (img,), order=2)


@pytest.mark.parametrize("name", ["convolve2d", "correlate2d", "correlate", "fftconvolve"])
def test_scipy_signal_convolutions_match_scipy(name):
    scipy_signal = pytest.importorskip("scipy.signal")
    ours, theirs = getattr(riesz.scipy.signal, name), getattr(scipy_signal, name)
    for in1, in2 in [(RNG.standard_normal((6, 7)), RNG.standard_normal((2, 4))),
                     (RNG.standard_normal((3, 4)), RNG.standard_normal((5, 5)) + 0j)]:
        for mode in ("full", "same", "valid"):
            np.testing.assert_allclose(ours(in1, in2, mode=mode), theirs(in1, in2, mode=mode),
                                       rtol=1e-12, atol=1e-13)
            if in2.dtype.kind == "f":
                check_grads(lambda a, b: np.sum(np.tanh(ours(a, b, mode=mode))), (in1, in2),
                            order=2)
    with pytest.raises(ValueError, match="same dimensionality|2-D"):
        ours(np.ones(3), np.ones((2, 2)))


def test_scipy_signal_boundaries_other_than_zero_fill_say_so():
    with pytest.raises(NotImplementedError, match="boundary='wrap'.*np.pad"):
        riesz.scipy.signal.convolve2d(np.ones((3, 3)), np.ones((2, 2)), boundary="wrap")


def test_scipy_linalg_eigh_svd_qr_block_diag_match_scipy():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    ours = riesz.scipy.linalg
    s = A4 + A4.T + np.diag([0.0, 3.0, 6.0, 9.0])   # eigenvalues well apart
    m = RNG.standard_normal((5, 3))
    for lower in (True, False):
        a = s + (0 if lower else np.triu(A4, 1))    # SciPy reads one triangle
        np.testing.assert_allclose(ours.eigh(a, lower=lower)[0],
                                   scipy_linalg.eigh(a, lower=lower)[0], rtol=1e-12)
        np.testing.assert_allclose(np.abs(ours.eigh(a, lower=lower)[1]),
                                   np.abs(scipy_linalg.eigh(a, lower=lower)[1]), rtol=1e-10)
        np.testing.assert_allclose(ours.eigvalsh(a, lower=lower),
                                   scipy_linalg.eigvalsh(a, lower=lower), rtol=1e-12)
    for full in (True, False):
        for x, y in zip(ours.svd(m, full_matrices=full), scipy_linalg.svd(m, full_matrices=full)):
            np.testing.assert_allclose(np.abs(x), np.abs(y), rtol=1e-10, atol=1e-12)
    for mode in ("full", "economic", "r"):
        ours_qr, theirs = ours.qr(m, mode=mode), scipy_linalg.qr(m, mode=mode)
        assert len(ours_qr) == len(theirs)
        for x, y in zip(ours_qr, theirs):
            np.testing.assert_allclose(np.abs(x), np.abs(y), rtol=1e-10, atol=1e-12)
    blocks = (A4[:2, :3], 2.0, np.arange(2.0), m[:1])
    np.testing.assert_array_equal(ours.block_diag(*blocks), scipy_linalg.block_diag(*blocks))
    check_grads(lambda a: np.sum(ours.eigh(a + a.T + np.diag([0.0, 3, 6, 9]), lower=False)[0] ** 3)
                + np.sum(ours.eigvalsh(a @ a.T)), (A4,), order=2)
    check_grads(lambda m: np.sum(ours.svd(m, full_matrices=False)[1] ** 3)
                + np.sum(ours.qr(m, mode="economic")[1] ** 2) + np.sum(ours.qr(m, mode="r")[0]),
                (m,), order=2)
    check_grads(lambda a, m: np.sum(ours.block_diag(a, m, a[0], 3.0) ** 2 * np.arange(12.0)),
                (A4, m), order=2)
    with pytest.raises(NotImplementedError, match="generalized"):
        ours.eigh(s, s)


@pytest.mark.parametrize("kw", PAD_MODES, ids=[str(kw) for kw in PAD_MODES])
def test_every_pad_mode_matches_numpy_under_jit_and_in_float32(kw):
    # entries 0.5 apart: no ties for maximum, minimum and median, which finite differences
    # in float32 would step across
    x = np.random.default_rng(3).permutation(20).reshape(4, 5) * 0.5 - 4.0
    for widths in [((5, 1), (2, 2)), 9, ((0, 2), (3, 0))]:
        np.testing.assert_allclose(riesz.jit(lambda x: np.pad(x, widths, **kw))(x),
                                   np.pad(x, widths, **kw), rtol=1e-12, atol=1e-15)
    x32 = x.astype(np.float32)
    out, tangent = riesz.jvp(lambda x: np.pad(x, ((5, 1), (2, 2)), **kw), (x32,), (x32,))
    assert out.dtype == tangent.dtype == np.float32
    check_grads(lambda x: np.sum(np.pad(x, ((5, 1), (2, 2)), **kw) ** 2 * W_PAD), (x32,))


def test_pad_errors_name_the_argument():
    with pytest.raises(ValueError, match="unsupported keyword arguments for mode 'mean'"):
        riesz.grad(lambda x: np.sum(np.pad(x, 1, mode="mean", end_values=1.0)))(np.ones(3))
    with pytest.raises(ValueError, match="stat_length of 0 yields no value"):
        riesz.grad(lambda x: np.sum(np.pad(x, 1, mode="median", stat_length=0)))(np.ones(3))
    with pytest.raises(NotImplementedError, match="end_values must not be traced"):
        riesz.grad(lambda x: np.sum(np.pad(x, 1, mode="linear_ramp", end_values=x[0])))(
            np.ones(3))


QUANTILE_METHODS = ["inverted_cdf", "averaged_inverted_cdf", "closest_observation",
                    "interpolated_inverted_cdf", "hazen", "weibull", "median_unbiased",
                    "normal_unbiased", "nearest"]


@pytest.mark.parametrize("method", QUANTILE_METHODS)
def test_every_quantile_method_matches_numpy(method):
    x = RNG.standard_normal((5, 7))
    for q in [0.3, np.array([0.0, 0.1, 0.5, 0.77, 1.0])]:
        for dtype in (np.float64, np.float32):
            expected = np.quantile(x.astype(dtype), q, axis=1, method=method)
            got = riesz.jit(lambda x: np.quantile(x, q, axis=1, method=method))(x.astype(dtype))
            assert got.dtype == expected.dtype
            np.testing.assert_allclose(got, expected, rtol=1e-6 if dtype == np.float32 else 1e-13)
    check_grads(lambda x: np.sum(np.percentile(x, [10, 50, 77], axis=1, method=method) ** 2),
                (x,), order=2)


def test_median_and_percentile_at_ties_follow_the_stable_sort():
    """docs/numpy.md: at ties the median's derivative goes to the entries a stable sort puts
    in the middle (JAX's convention), where np.max shares it."""
    x = np.array([2.0, 1.0, 2.0, 3.0, 2.0])
    np.testing.assert_array_equal(riesz.grad(np.median)(x), [0, 0, 1, 0, 0])
    np.testing.assert_array_equal(riesz.grad(np.median)(x[:4]), [0.5, 0, 0.5, 0])
    np.testing.assert_allclose(riesz.grad(lambda x: np.percentile(x, 40))(x[[1, 0, 2, 3]]),
                               [0, 0.8, 0.2, 0])
    np.testing.assert_allclose(riesz.grad(np.max)(np.array([3.0, 1.0, 3.0])), [0.5, 0, 0.5])


A3 = RNG.standard_normal((3, 3))
XS = RNG.standard_normal((5, 3))


def _steps(m, x, n, mode):
    for _ in range(n):
        x = m.sin(x) if mode == "sin" else m.cos(x)
    return m.sum(x)


def test_transforms_combined():
    jax, _ = _jax_namespace()
    jnp = jax.numpy
    w = RNG.standard_normal(3)

    def f(m):
        return lambda w, x: m.sum(m.tanh(A3 @ (w * x)) ** 2)

    np.testing.assert_allclose(riesz.jit(riesz.vmap(riesz.grad(f(np)), in_axes=(None, 0)))(w, XS),
                               jax.vmap(jax.grad(f(jnp)), in_axes=(None, 0))(w, XS), rtol=1e-12)
    np.testing.assert_allclose(riesz.vmap(riesz.jacfwd(lambda x: np.tanh(A3 @ x)))(XS),
                               jax.vmap(jax.jacfwd(lambda x: jnp.tanh(A3 @ x)))(XS), rtol=1e-12)
    g = riesz.grad(riesz.jit(functools.partial(_steps, np), static_argnums=(1, 2)))
    g_jax = jax.grad(jax.jit(functools.partial(_steps, jnp), static_argnums=(1, 2)))
    for n, mode in [(3, "cos"), (2, "sin")]:
        np.testing.assert_allclose(g(w, n, mode), g_jax(w, n, mode), rtol=1e-12)
    params = {"W": RNG.standard_normal((3, 2)), "b": (RNG.standard_normal(2), [1.5])}

    def loss(m):
        return lambda p: m.sum(m.tanh(XS @ p["W"] + p["b"][0]) ** 2) * p["b"][1][0] ** 2

    ours, theirs = riesz.hessian(loss(np))(params), jax.hessian(loss(jnp))(params)
    assert str(tree_util.tree_structure(ours)) in str(jax.tree_util.tree_structure(theirs))
    for a, b in zip(tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_linearize_and_linear_transpose():
    """README: linear_transpose of a one-argument function returns the cotangent itself,
    where JAX's returns a 1-tuple."""
    w, ct = RNG.standard_normal(3), RNG.standard_normal(3)
    y, f_lin = riesz.linearize(lambda x: np.sin(x) * x, w)
    np.testing.assert_allclose(f_lin(ct), (np.cos(w) * w + np.sin(w)) * ct, rtol=1e-13)
    np.testing.assert_allclose(riesz.linear_transpose(f_lin, w)(ct),
                               (np.cos(w) * w + np.sin(w)) * ct, rtol=1e-13)
    np.testing.assert_allclose(riesz.linear_transpose(lambda x: A3 @ x, w)(ct), A3.T @ ct,
                               rtol=1e-13)
    cx, cs = riesz.linear_transpose(lambda x, s: 2 * x + np.sum(s), w, A3)(ct)
    np.testing.assert_allclose(cx, 2 * ct)
    np.testing.assert_allclose(cs, np.full((3, 3), ct.sum()))


@functools.partial(riesz.custom_vjp, nondiff_argnums=(0,))
def clip_gradient(bound, x):
    return x


clip_gradient.defvjp(lambda bound, x: (x, None),
                     lambda bound, residuals, g: (np.clip(g, -bound, bound),))


def test_custom_vjp_with_nondiff_argnums_under_jit_and_vmap():
    x = 3 * XS

    def loss(x):
        return np.sum(clip_gradient(0.5, x) ** 2)

    expected = np.clip(2 * x, -0.5, 0.5)
    np.testing.assert_allclose(riesz.grad(loss)(x[0]), expected[0])
    np.testing.assert_allclose(riesz.jit(riesz.grad(loss))(x[0]), expected[0])
    np.testing.assert_allclose(riesz.vmap(riesz.grad(loss))(x), expected)


def test_checkpoint_inside_a_loop():
    def loss(x):   # JAX's prevent_cse and policy are taken (and change nothing)
        step = riesz.checkpoint(lambda h: np.tanh(A3 @ h), prevent_cse=False,
                                policy=lambda *_: False)
        for _ in range(4):
            x = step(x)
        return np.sum(x ** 2)

    x = RNG.standard_normal(3)
    check_grads(loss, (x,), order=2)
    plain = riesz.grad(lambda x: np.sum(
        functools.reduce(lambda h, _: np.tanh(A3 @ h), range(4), x) ** 2))(x)
    np.testing.assert_allclose(riesz.grad(loss)(x), plain, rtol=1e-13)


def test_vmap_axis_size_as_in_jax():
    x = RNG.standard_normal(3)
    np.testing.assert_array_equal(riesz.vmap(lambda x: 2 * x, in_axes=None, axis_size=4)(x),
                                  np.broadcast_to(2 * x, (4, 3)))
    np.testing.assert_array_equal(riesz.vmap(lambda: np.ones(2), axis_size=3)(), np.ones((3, 2)))
    assert riesz.grad(lambda w: np.sum(riesz.vmap(lambda: w ** 2, axis_size=3)()))(2.0) == 12.0
    with pytest.raises(ValueError, match="different sizes \\[3, 4\\]"):
        riesz.vmap(lambda x: x, axis_size=4)(x)
    with pytest.raises(ValueError, match="give axis_size"):
        riesz.vmap(lambda x: x, in_axes=None)(x)


def test_jit_takes_jaxs_donation_hints_and_keeps_the_inputs():
    x = RNG.standard_normal(3)
    kept = x.copy()
    step = riesz.jit(lambda x, lr: x - lr * riesz.grad(lambda x: np.sum(x ** 4))(x),
                     donate_argnums=0)
    np.testing.assert_allclose(step(x, 0.1), kept - 0.4 * kept ** 3, rtol=1e-13)
    np.testing.assert_array_equal(x, kept)
    np.testing.assert_allclose(riesz.jit(lambda x: 2 * x, donate_argnames="x")(x=x), 2 * kept)


def test_tree_util_is_leaf_as_in_jax():
    tree = {"a": (1, 2), "b": [3, (4, 5)], "c": None}

    def pairs(x):
        return isinstance(x, tuple)

    assert tree_util.tree_map(lambda leaf: 0, tree, is_leaf=pairs) == {"a": 0, "b": [0, 0],
                                                                          "c": None}
    assert tree_util.tree_leaves(tree, is_leaf=pairs) == [(1, 2), 3, (4, 5)]
    assert tree_util.tree_leaves(tree) == [1, 2, 3, 4, 5]
    assert tree_util.tree_structure(tree, is_leaf=pairs).num_leaves == 3
    assert tree_util.tree_map(lambda a, b: a + b, tree, tree, is_leaf=pairs)["b"][1] == (4, 5, 4, 5)
    assert [tree_util.keystr(p) for p, _ in tree_util.tree_flatten_with_path(
        tree, is_leaf=pairs)[0]] == ["['a']", "['b'][0]", "['b'][1]"]
    assert tree_util.tree_reduce(lambda n, leaf: n + len(leaf), [(1, 2), [(3,), (4, 5, 6)]], 0,
                                 is_leaf=pairs) == 6
    assert tree_util.tree_all([True, (1, 2.0)]) and not tree_util.tree_all([True, (True, 0)])
    assert riesz.tree.all([]) and riesz.tree.map(np.size, tree, is_leaf=pairs)["a"] == 2
    try:
        import jax
    except ImportError:
        return
    for name in ("tree_leaves", "tree_structure"):
        ours = getattr(tree_util, name)(tree, is_leaf=pairs)
        theirs = getattr(jax.tree_util, name)(tree, is_leaf=pairs)
        assert str(ours) in str(theirs)


def test_tree_transpose_and_partial_as_in_jax():
    pairs = [(1, 2), (3, 4), (5, 6)]
    outer, inner = tree_util.tree_structure([0, 0, 0]), tree_util.tree_structure((0, 0))
    assert tree_util.tree_transpose(outer, inner, pairs) == ([1, 3, 5], [2, 4, 6])
    nested = {"a": {"x": 1, "y": 2}, "b": {"x": 3, "y": 4}}
    assert tree_util.tree_transpose(tree_util.tree_structure({"a": 0, "b": 0}),
                                    tree_util.tree_structure({"x": 0, "y": 0}), nested) == {
        "x": {"a": 1, "b": 3}, "y": {"a": 2, "b": 4}}
    with pytest.raises(ValueError, match="tree_transpose: the trees have different structures"):
        tree_util.tree_transpose(tree_util.tree_structure([0, 0]), inner, pairs)
    # a Partial's bound arguments are leaves: they reach jit as arguments and get gradients
    scaled = tree_util.Partial(lambda x, s: x * s, s=2.0)
    apply = riesz.jit(lambda g, x: g(x))
    np.testing.assert_array_equal(apply(scaled, np.ones(2)), [2.0, 2.0])
    np.testing.assert_array_equal(apply(tree_util.Partial(scaled.func, s=3.0), np.ones(2)),
                                  [3.0, 3.0])
    assert riesz.grad(lambda g, x: g(x))(scaled, 3.0).keywords == {"s": 3.0}


@tree_util.register_dataclass
@dataclasses.dataclass
class Affine:
    weight: object
    shift: object
    power: int = dataclasses.field(default=2, metadata={"static": True})


def test_register_dataclass_as_in_jax():
    p = Affine(RNG.standard_normal(3), 0.5, 3)
    assert [tree_util.keystr(path) for path, _ in tree_util.tree_flatten_with_path(p)[0]] == [
        ".weight", ".shift"]
    g = riesz.grad(lambda p: np.sum((p.weight + p.shift) ** p.power))(p)
    assert isinstance(g, Affine) and g.power == 3
    np.testing.assert_allclose(g.weight, 3 * (p.weight + 0.5) ** 2)
    np.testing.assert_allclose(g.shift, np.sum(3 * (p.weight + 0.5) ** 2))
    assert tree_util.tree_structure(p) != tree_util.tree_structure(Affine(p.weight, 0.5, 2))
    with pytest.raises(TypeError, match="not a dataclass; give data_fields"):
        tree_util.register_dataclass(int)


class TinyModel(nn.Module):
    """Embedding, causal self-attention, LayerNorm, Dropout and an MLP head."""
    stochastic = True

    def __init__(self, rng):
        self.embed = nn.Embedding(10, 8, rng=rng)
        self.attend = nn.MultiHeadAttention(8, 2, rng=rng, causal=True)
        self.norm = nn.LayerNorm(8)
        self.drop = nn.Dropout(0.2)
        self.head = nn.MLP([8, 16, 10], rng=rng)

    def __call__(self, ids, *, rng=None):
        h = self.embed(ids)
        return self.head(self.drop(self.norm(h + self.attend(h)), rng=rng))


def _next_token_loss(model, ids, targets, rng):
    return nn.softmax_cross_entropy(model(ids, rng=rng), targets)


def test_small_model_trains_saves_and_loads(tmp_path):
    ids = RNG.integers(0, 10, (48, 5))
    targets = np.roll(ids, -1, axis=1)
    model = TinyModel(np.random.default_rng(0))
    before = _next_token_loss(model, ids, targets, None)
    result = nn.fit(model, _next_token_loss, Adam(1e-2), (ids, targets),
                    rng=np.random.default_rng(1), epochs=3, batch_size=16, progress=False)
    trained = result.model
    assert _next_token_loss(trained, ids, targets, None) < before - 0.03
    # Dropout: the identity in evaluation, random in training
    np.testing.assert_array_equal(trained(ids[:2]), trained(ids[:2]))
    assert not np.allclose(trained(ids[:2], rng=np.random.default_rng(3)), trained(ids[:2]))
    path = os.fspath(tmp_path / "model.npz")
    nn.save(path, {"model": trained, "opt": result.opt_state})
    back = nn.load(path, like={"model": TinyModel(np.random.default_rng(9)),
                               "opt": result.opt_state})
    np.testing.assert_array_equal(back["model"](ids[:3]), trained(ids[:3]))
    leaves, treedef = tree_util.tree_flatten(trained)
    check_grads(lambda *leaves: _next_token_loss(tree_util.tree_unflatten(treedef, leaves),
                                                 ids[:4], targets[:4], None),
                tuple(leaves), order=1)
