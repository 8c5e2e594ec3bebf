"""riesz on Dask arrays: derivatives are Dask arrays, built with no compute.

Every transform in the table runs under a scheduler that counts and refuses computes
(:func:`no_compute`); the results are then computed once and compared with the same
transform on the NumPy values, to 1e-12.
"""
import contextlib

import numpy as np
import pytest

import riesz
from riesz import nn

# the singular cases compute sqrt'(0) = ∞ under a zero cotangent (dropped by the zero-safe
# product) when Dask computes, outside riesz's np.errstate: NumPy warns then
pytestmark = pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                                        "ignore:invalid value:RuntimeWarning")

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

RNG = np.random.default_rng(0)
XN = RNG.standard_normal((8, 3))
WN = RNG.standard_normal((3, 2))
YN = (RNG.random(8) > 0.5).astype(float)
MLP = nn.MLP([3, 5, 1], rng=np.random.default_rng(1))


class Computes:
    """A Dask scheduler that counts the graphs it is asked to compute and refuses them."""

    def __init__(self):
        self.count = 0

    def __call__(self, dsk, keys, **kwargs):
        self.count += 1
        raise AssertionError("riesz computed a Dask graph while building a derivative")


@contextlib.contextmanager
def no_compute():
    counter = Computes()
    with dask.config.set(scheduler=counter):
        yield counter
    assert counter.count == 0


def setitem(x):
    y = np.zeros_like(x)
    y[1] = np.sin(x[0])
    y[2:4] += x[2:4] ** 2
    return np.sum(y * x)


FUNCTIONS = {
    "elementwise": lambda x: np.sum(np.sin(x) * np.exp(x) + np.sqrt(x * x + 1.0) / (1.0 + x ** 2)),
    "singular": lambda x: np.sum(np.sqrt(np.where(x > 0, x, 0.0))),   # 0 × ∞ = 0 at x <= 0
    "reductions": lambda x: (np.sum(np.mean(x, axis=0) ** 2) + np.max(x)
                             + np.sum(np.prod(x, axis=1)) + np.sum(np.std(x, axis=0))),
    "matmul": lambda x: np.sum((x @ WN) ** 2) + np.sum(x.T @ x),
    # x[[0, 3, 0]] repeats a row: its transpose adds in layers (Dask has no np.add.at)
    "indexing": lambda x: (np.sum(x[1:5, ::2] ** 2) + np.sum(x[2] * x[:, 0][:3])
                           + np.sum(x[[0, 3, 0]] ** 3) + np.sum(x[[1, 1], 1:] * x[[2, 5], :2])),
    "setitem": setitem,
    "logistic": lambda x: np.mean(np.logaddexp(0.0, -(2 * YN - 1) * (x @ WN[:, 0]))),
    "mlp": lambda x: np.mean((MLP(x)[:, 0] - YN) ** 2),
    # along axis 0, which dask_input splits in two chunks: Dask's FFTs take a whole axis
    "fft": lambda x: (np.sum(np.abs(np.fft.rfft(x, axis=0)) ** 2)
                      + np.sum(np.fft.irfft(np.fft.rfft(x, axis=0) * 1j, n=8, axis=0) * x)
                      + np.sum(np.real(np.fft.fft2(x)) * np.imag(np.fft.ifft(x, axis=0)))),
}

TRANSFORMS = {
    "grad": lambda f, x: riesz.grad(f)(x),
    "vjp": lambda f, x: riesz.vjp(f, x)[1](1.0)[0],
    "jvp": lambda f, x: riesz.jvp(f, (x,), (0.5 * x + 1.0,))[1],
    "hvp": lambda f, x: riesz.hvp(f, (x,), (0.5 * x + 1.0,)),
    "jacobian": lambda f, x: riesz.jacobian(riesz.grad(f))(x),
    "vmap": lambda f, x: riesz.vmap(riesz.grad(f))(np.stack([x, 0.5 * x])),
}


def dask_input():
    return da.from_array(XN, chunks=(4, 3))


@pytest.mark.parametrize("tname", sorted(TRANSFORMS))
@pytest.mark.parametrize("fname", sorted(FUNCTIONS))
def test_transform_of_dask_input_is_lazy_dask_and_exact(fname, tname):
    f, transform = FUNCTIONS[fname], TRANSFORMS[tname]
    with no_compute():
        got = transform(f, dask_input())
    assert isinstance(got, da.Array)
    want = transform(f, XN)
    np.testing.assert_allclose(got.compute(), want, rtol=1e-12, atol=1e-12)


def test_value_and_grad_value_is_dask_too():
    with no_compute():
        value, g = riesz.value_and_grad(FUNCTIONS["logistic"])(dask_input())
    assert isinstance(value, da.Array) and isinstance(g, da.Array)
    v, gn = riesz.value_and_grad(FUNCTIONS["logistic"])(XN)
    np.testing.assert_allclose(value.compute(), v, rtol=1e-12)
    np.testing.assert_allclose(g.compute(), gn, rtol=1e-12)


def test_gradient_of_numpy_parameters_with_dask_data_is_dask():
    """The model's parameters are NumPy, the batch Dask: the gradient is a lazy Dask value."""
    def loss(model, x):
        return np.mean((model(x)[:, 0] - YN) ** 2)
    with no_compute():
        g = riesz.grad(loss)(MLP, dask_input())
    want = riesz.grad(loss)(MLP, XN)
    for a, b in zip(riesz.tree_flatten(g)[0], riesz.tree_flatten(want)[0]):
        assert isinstance(a, da.Array)
        np.testing.assert_allclose(a.compute(), b, rtol=1e-12, atol=1e-12)


def test_float32_stays_float32():
    x = dask_input().astype(np.float32)
    with no_compute():
        g = riesz.grad(FUNCTIONS["elementwise"])(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g.compute(), riesz.grad(FUNCTIONS["elementwise"])(XN.astype(np.float32)),
                               rtol=1e-5)


def test_zero_safe_product_keeps_exact_zeros_lazily():
    """grad of sqrt(Σx²) at 0 is 0 (the zero-safe product, as a lazy where), not NaN."""
    x = da.zeros((4,), chunks=2)
    with no_compute():
        g = riesz.grad(lambda x: np.sqrt(np.sum(x ** 2)))(x)
    np.testing.assert_array_equal(g.compute(), np.zeros(4))


def test_numpy_singular_point_meeting_dask_values_stays_zero_safe():
    """A NumPy parameter's singular point (sqrt(Σw²) at w = 0) next to Dask data: no
    NaN check reads the Dask result, so no plain product may reach it (a Dask seed makes
    the pass zero-safe throughout): the gradient is Xᵀ1, not NaN."""
    x = da.from_array(XN, chunks=(4, 3))
    with no_compute():
        g = riesz.grad(lambda w: np.sum(x @ w) + np.sqrt(np.sum(w ** 2)))(np.zeros(3))
    np.testing.assert_allclose(np.asarray(g.compute() if hasattr(g, "compute") else g),
                               XN.sum(axis=0), rtol=1e-12)


def test_what_dask_cannot_do_raises_naming_the_function():
    x = dask_input()
    with no_compute(), pytest.raises(TypeError, match="numpy.linalg.det"):
        riesz.grad(lambda x: np.linalg.det(x[:3]))(x)
    with no_compute(), pytest.raises(TypeError, match=r"y\[idx\] = v"):
        def nd_fancy(x):
            y = np.zeros_like(x)
            y[[0, 1], [1, 2]] = x[0, :2]
            return np.sum(y)
        riesz.grad(nd_fancy)(x)
    with no_compute(), pytest.raises(TypeError, match="compute"):
        riesz.grad(lambda x: np.sum(x) if np.sum(x) > 0 else -np.sum(x))(x)
    # per-example gradients of a batch of Dask examples (vmap runs them batched): as lazy
    with no_compute(), pytest.raises(TypeError, match="numpy.linalg.eigh"):
        riesz.vmap(riesz.grad(lambda x: np.sum(np.linalg.eigh(x[:3, :3] @ x[:3, :3].T)[1] ** 3)))(
            da.stack([x, x]))


@pytest.fixture(scope="module")
def client():
    """A two-worker dask.distributed cluster on the loopback interface (threads of this
    process, talking over TCP on 127.0.0.1), shared by the tests below."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def test_loopback_cluster_computes_the_gradient_graph(client):
    x = client.persist(dask_input())   # the blocks live on the workers
    with no_compute():
        g = riesz.grad(FUNCTIONS["mlp"])(x)
    assert isinstance(g, da.Array)
    future = client.compute(g)
    np.testing.assert_allclose(future.result(), riesz.grad(FUNCTIONS["mlp"])(XN),
                               rtol=1e-12, atol=1e-12)
    assert client.who_has(future)[future.key]   # a worker computed and holds the result


def mse_loss(model, x, y):
    return np.mean((model(x)[:, 0] - y) ** 2)


def test_data_parallel_gradient_matches_single_process(client):
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((50, 3)), rng.standard_normal(50)
    dp = nn.DataParallel(client, x, y, shards=3)
    assert len(client.who_has(dp.shards)) == 3
    loss, grads = dp.value_and_grad(mse_loss)(MLP)
    want_loss, want = riesz.value_and_grad(mse_loss)(MLP, x, y)
    assert abs(loss - want_loss) <= 1e-12 * abs(want_loss)
    for a, b in zip(riesz.tree_flatten(grads)[0], riesz.tree_flatten(want)[0]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    rows = np.array([3, 17, 18, 40, 49, 0])   # a batch that spans every shard
    _, grads = dp.value_and_grad(mse_loss)(MLP, rows)
    want = riesz.grad(mse_loss)(MLP, x[rows], y[rows])
    for a, b in zip(riesz.tree_flatten(grads)[0], riesz.tree_flatten(want)[0]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_fit_trains_on_the_workers_as_it_does_locally(client):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((40, 3)), rng.standard_normal(40)
    common = dict(epochs=2, batch_size=16, progress=False)
    local = nn.fit(MLP, mse_loss, riesz.optim.SGD(0.1), (x, y), rng=np.random.default_rng(4),
                   jit=False, **common)
    spread = nn.fit(MLP, mse_loss, riesz.optim.SGD(0.1), nn.DataParallel(client, x, y),
                    rng=np.random.default_rng(4), **common)
    np.testing.assert_allclose(spread.history["train_loss"], local.history["train_loss"],
                               rtol=1e-12)
    for a, b in zip(riesz.tree_flatten(spread.model)[0], riesz.tree_flatten(local.model)[0]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_numpy_users_never_import_the_other_libraries():
    import subprocess
    import sys
    code = ("import sys, numpy as np, riesz\n"
            "riesz.grad(lambda x: np.sum(np.sqrt(x) * x[::-1]))(np.ones(3))\n"
            "riesz.jvp(np.sin, (np.ones(2),), (np.ones(2),))\n"
            "print(sorted(m for m in ('dask', 'distributed', 'array_api_compat', "
            "'array_api_strict', 'cupy') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=str(__import__("pathlib").Path(__file__).parent.parent))
    assert out.stdout.strip() == "[]"


def test_staging_says_it_makes_numpy_programs():
    f = riesz.grad(lambda x: np.sum(x * x))
    with no_compute():
        for stage in (lambda: riesz.jit(f)(dask_input()), lambda: riesz.source(f, dask_input())):
            with pytest.raises(TypeError, match="NumPy program"):
                stage()


def test_indexed_assignment_into_a_numpy_scalar():
    """y[...] = v where y's value is a NumPy scalar (np.sum's result): the update copies it
    into a 0-d array (only other libraries' arrays are copied with their own method)."""
    def f(x):
        y = np.sum(x)
        y[...] = y * 2
        return y
    np.testing.assert_array_equal(riesz.grad(f)(np.ones(3)), np.full(3, 2.0))


def test_new_axis_index_and_numpy_matrix_solve_with_dask_values():
    # x[:, None]'s transpose wrote g into out[:, None], which Dask's setitem refuses; a
    # NumPy matrix solved against a Dask right-hand side reached Dask's solve with a NumPy A
    C = RNG.standard_normal((4, 4)) + 4.0 * np.eye(4)
    c = RNG.standard_normal(4)

    def f(x):
        return np.sum(np.tanh(np.linalg.solve(C, np.sum(x[:, None] * c[None, :], axis=1))))
    x = RNG.standard_normal(4)
    with no_compute():
        g = riesz.grad(f)(da.from_array(x, chunks=2))
    assert isinstance(g, da.Array)
    np.testing.assert_allclose(g.compute(), riesz.grad(f)(x), rtol=1e-12)


def test_reshape_of_a_dask_value_is_traced_without_computing():
    # np.reshape asked np.may_share_memory, which Dask answers by computing: every function
    # with a reshape was refused on Dask inputs
    def f(x):
        y = np.reshape(x, (2, 3)) * 2.0
        return np.sum(np.tanh(y.T @ y))
    x = RNG.standard_normal(6)
    with no_compute():
        g = riesz.grad(f)(da.from_array(x, chunks=3))
    assert isinstance(g, da.Array)
    np.testing.assert_allclose(g.compute(), riesz.grad(f)(x), rtol=1e-12)
