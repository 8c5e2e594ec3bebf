"""The device stand-in: ``array-api-strict`` arrays on a non-default device refuse NumPy
conversion and mixing with NumPy arrays, as CuPy's do. Derivatives of such arrays must
be arrays of the same library on the same device, equal to NumPy's to 1e-12: any place
where riesz made a NumPy array for one of their values would raise here."""
import numpy as np
import pytest

import riesz

xp = pytest.importorskip("array_api_strict")
pytest.importorskip("array_api_compat")
if np.lib.NumpyVersion(np.__version__) < "2.0.0":   # its device transfers call NumPy 2's API
    pytest.skip("array-api-strict needs NumPy 2", allow_module_level=True)

DEVICE = xp.Device("device1")
RNG = np.random.default_rng(0)
XN, WN = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 2))


def on_device(a):
    return xp.asarray(a, device=DEVICE)


def to_numpy(a):
    assert isinstance(a, xp._array_object.Array), type(a)
    assert a.device == DEVICE
    return np.from_dlpack(a.to_device(xp.Device("CPU_DEVICE")))


FUNCTIONS = {   # f(x, w): device arrays enter as arguments
    "elementwise": lambda x, w: np.sum(np.sin(x) * x + np.exp(x) / (1.0 + x ** 2)),
    "singular": lambda x, w: np.sum(np.sqrt(np.where(x > 0, x, 0.0))),   # 0 × ∞ = 0
    "matmul": lambda x, w: np.sum(np.tanh(x @ w)),
    "indexing": lambda x, w: np.mean(np.exp(x[1:3]) * x[0]),
    "logistic": lambda x, w: np.mean(np.logaddexp(0.0, -(x @ w)[:, 0])),
    "unused w": lambda x, w: np.sum(x * x),   # w's gradient: zeros, made on the device
}

TRANSFORMS = {
    "grad": lambda f, x, w: riesz.grad(f, argnums=(0, 1))(x, w),
    "vjp": lambda f, x, w: riesz.vjp(f, x, w)[1](1.0),
    "jvp": lambda f, x, w: (riesz.jvp(f, (x, w), (x, w))[1],),
    "hvp": lambda f, x, w: riesz.hvp(f, (x, w), (x, w)),
}


@pytest.mark.parametrize("tname", sorted(TRANSFORMS))
@pytest.mark.parametrize("fname", sorted(FUNCTIONS))
def test_derivatives_stay_on_the_device(fname, tname):
    f, transform = FUNCTIONS[fname], TRANSFORMS[tname]
    got = transform(f, on_device(XN), on_device(WN))
    want = transform(f, XN, WN)
    for g, w in zip(got, want):
        np.testing.assert_allclose(to_numpy(g), w, rtol=1e-12, atol=1e-12)


def test_value_and_grad_value_is_on_the_device():
    value, g = riesz.value_and_grad(FUNCTIONS["logistic"])(on_device(XN), on_device(WN))
    want_value, want = riesz.value_and_grad(FUNCTIONS["logistic"])(XN, WN)
    np.testing.assert_allclose(to_numpy(value), want_value, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(g), want, rtol=1e-12)


def test_float32_stays_float32_on_the_device():
    x = xp.asarray(XN.astype(np.float32), device=DEVICE)
    g = riesz.grad(FUNCTIONS["elementwise"])(x, None)
    assert g.dtype == xp.float32 and g.device == DEVICE


def test_the_stand_in_refuses_numpy_as_cupy_does():
    """The test above means something: these arrays cannot meet NumPy's."""
    x = on_device(XN)
    with pytest.raises(RuntimeError):
        np.asarray(x)
    with pytest.raises(TypeError):
        x + np.ones(3)
