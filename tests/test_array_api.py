"""Arrays of other libraries on a device: CuPy's on a GPU, and its stand-in where there is
none, ``array-api-strict`` arrays on a non-default device, which refuse NumPy conversion
and mixing with NumPy arrays as CuPy's do. Derivatives of such arrays must be arrays of the
same library on the same device, equal to NumPy's to 1e-12: any place where riesz made a
NumPy array for one of their values would raise here."""
import importlib.util

import numpy as np
import pytest

import riesz

RNG = np.random.default_rng(0)
XN, WN = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 2))


class Strict:
    """array-api-strict on its "device1" (arrays that speak only the array API)."""

    def __init__(self):
        if np.lib.NumpyVersion(np.__version__) < "2.0.0":   # it calls NumPy 2's API
            pytest.skip("array-api-strict needs NumPy 2")
        self.xp = pytest.importorskip("array_api_strict")
        pytest.importorskip("array_api_compat")
        self.device = self.xp.Device("device1")

    def put(self, a):
        return self.xp.asarray(a, device=self.device)

    def get(self, a):
        assert isinstance(a, self.xp._array_object.Array), type(a)
        assert a.device == self.device
        return np.from_dlpack(a.to_device(self.xp.Device("CPU_DEVICE")))


class CuPy:
    """CuPy on the current GPU (NumPy's dispatch protocols); skipped without one."""

    def __init__(self):
        if importlib.util.find_spec("cupy") is None:
            pytest.skip("CuPy is not installed (pip install 'riesz[gpu]' on a GPU machine)")
        import cupy
        self.cp = cupy

    def put(self, a):
        return self.cp.asarray(a)

    def get(self, a):
        assert isinstance(a, self.cp.ndarray), type(a)
        assert a.device == self.cp.cuda.Device()
        return a.get()


@pytest.fixture(params=[Strict, CuPy], ids=["array-api-strict", "cupy"])
def lib(request):
    return request.param()


FUNCTIONS = {   # f(x, w): device arrays enter as arguments
    "elementwise": lambda x, w: np.sum(np.sin(x) * x + np.exp(x) / (1.0 + x ** 2)),
    "singular": lambda x, w: np.sum(np.sqrt(np.where(x > 0, x, 0.0))),   # 0 × ∞ = 0
    "matmul": lambda x, w: np.sum(np.tanh(x @ w)),
    "indexing": lambda x, w: np.mean(np.exp(x[1:3]) * x[0]),
    "logistic": lambda x, w: np.mean(np.logaddexp(0.0, -(x @ w)[:, 0])),
    "unused w": lambda x, w: np.sum(x * x),   # w's gradient: zeros, made on the device
    # the selectors' shares and max's ties are masks, which the array API will not count
    "relu, clip, max": lambda x, w: (np.sum(np.maximum(x @ w, 0.0)) + np.max(x) * 2.0
                                     + np.sum(np.clip(x, -0.5, 0.5) ** 2)
                                     + np.sum(np.max(x, axis=0) ** 2)),
}

TRANSFORMS = {
    "grad": lambda f, x, w: riesz.grad(f, argnums=(0, 1))(x, w),
    "vjp": lambda f, x, w: riesz.vjp(f, x, w)[1](1.0),
    "jvp": lambda f, x, w: (riesz.jvp(f, (x, w), (x, w))[1],),
    "hvp": lambda f, x, w: riesz.hvp(f, (x, w), (x, w)),
}


@pytest.mark.parametrize("tname", sorted(TRANSFORMS))
@pytest.mark.parametrize("fname", sorted(FUNCTIONS))
def test_derivatives_stay_on_the_device(lib, fname, tname):
    f, transform = FUNCTIONS[fname], TRANSFORMS[tname]
    got = transform(f, lib.put(XN), lib.put(WN))
    want = transform(f, XN, WN)
    for g, w in zip(got, want):
        np.testing.assert_allclose(lib.get(g), w, rtol=1e-12, atol=1e-12)


def test_value_and_grad_value_is_on_the_device(lib):
    value, g = riesz.value_and_grad(FUNCTIONS["logistic"])(lib.put(XN), lib.put(WN))
    want_value, want = riesz.value_and_grad(FUNCTIONS["logistic"])(XN, WN)
    np.testing.assert_allclose(lib.get(value), want_value, rtol=1e-12)
    np.testing.assert_allclose(lib.get(g), want, rtol=1e-12)


def test_float32_stays_float32_on_the_device(lib):
    g = riesz.grad(FUNCTIONS["elementwise"])(lib.put(XN.astype(np.float32)), None)
    assert lib.get(g).dtype == np.float32


def test_the_stand_in_refuses_numpy_as_cupy_does():
    """The tests above mean something: these arrays cannot meet NumPy's."""
    strict = Strict()
    x = strict.put(XN)
    with pytest.raises(RuntimeError):
        np.asarray(x)
    with pytest.raises(TypeError):
        x + np.ones(3)


def test_array_api_code_gets_a_namespace_for_the_arguments_it_does_not_differentiate():
    # xp = array_namespace(x, w), as array-API code writes it: w is traced, x is riesz's
    # NumPy-protocol view of the device array, and both answer riesz.numpy
    strict = Strict()
    from array_api_compat import array_namespace

    def f(w, x):
        xp = array_namespace(x, w)
        return xp.sum(xp.tanh(x @ w) ** 2)
    got = riesz.grad(f)(strict.put(WN), strict.put(XN))
    want = riesz.grad(lambda w, x: np.sum(np.tanh(x @ w) ** 2))(WN, XN)
    np.testing.assert_allclose(strict.get(got), want, rtol=1e-12)


@pytest.mark.parametrize("fname", ["logistic", "relu, clip, max"])
def test_vmap_of_a_derivative_stays_on_the_device(lib, fname):
    # per-example gradients of a batch on the device: viewed as the other transforms view
    # their inputs (the batch was mixed with NumPy's arrays, which the device refuses); the
    # masks of a batch are cast as one example's are
    f = FUNCTIONS[fname]
    batch = np.stack([XN, 0.5 * XN, -XN])
    got = riesz.vmap(riesz.grad(f, argnums=1), in_axes=(0, None))(lib.put(batch), lib.put(WN))
    want = np.stack([riesz.grad(f, argnums=1)(x, WN) for x in batch])
    np.testing.assert_allclose(lib.get(got), want, rtol=1e-12)
