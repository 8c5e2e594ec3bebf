"""The numexpr fusion backend: riesz.jit(f, fuse="numexpr") computes what riesz.jit(f) and
eager riesz compute, with elementwise chains as numexpr kernels."""
import sys

import numpy as np
import pytest

import riesz
from riesz.staging import fusion
from riesz.staging.fusion import FusedProgram
from riesz.rules.define import zero_safe_multiply

pytest.importorskip("numexpr")


def fused_program(jitted):
    (program,) = jitted.programs.values()
    assert isinstance(program, FusedProgram), "nothing was fused"
    return program


def chain(x):
    for _ in range(5):
        x = np.tanh(np.sin(x) * 1.5) + 0.25
    return np.sum(x * x)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_chain_and_its_gradient_match_unfused(dtype, rtol):
    x = np.random.default_rng(0).standard_normal(7).astype(dtype)
    for f in (lambda x: np.tanh(np.sin(x) * 1.5) * x + 0.25, riesz.grad(chain)):
        fused = riesz.jit(f, fuse="numexpr")
        out, expected = fused(x), riesz.jit(f)(x)
        assert out.dtype == expected.dtype == dtype
        np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(out, f(x), rtol=rtol, atol=rtol)
        program = fused_program(fused)
        assert len(program.eqns) < len(program.original.eqns)


def test_float32_constants_stay_float32_bit_for_bit():
    # NEP 50: 0.1 meets a float32 array as float32(0.1); numexpr would read it as a double
    x = np.linspace(-2, 2, 11, dtype=np.float32)
    f = riesz.jit(lambda x: (x * 0.1 + 0.3) / 0.7 - x, fuse="numexpr")
    np.testing.assert_array_equal(f(x), (x * 0.1 + 0.3) / 0.7 - x)
    assert f(x).dtype == np.float32
    assert fused_program(f).kernels


def test_broadcasting_gradients():
    rng = np.random.default_rng(1)
    x, b = rng.standard_normal((3, 4)), rng.standard_normal(4)

    def f(x, b):
        return np.sum(np.exp(-(x - b) ** 2) * np.cos(b) + x / (1 + b * b))
    fused = riesz.jit(riesz.grad(f, argnums=(0, 1)), fuse="numexpr")
    for got, want in zip(fused(x, b), riesz.grad(f, argnums=(0, 1))(x, b)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12)
    fused_program(fused)


def test_where_sqrt_singular_point_gradient_is_zero():
    # sqrt'(0) = ∞ meets the exact zero cotangent of the untaken branch: 0 × ∞ = 0
    f = riesz.grad(lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0) * np.tanh(x)))
    x = np.array([0.0, 1.0, 2.0, -1.0, 0.0, 3.0])
    fused = riesz.jit(f, fuse="numexpr")
    got = fused(x)
    with np.errstate(all="ignore"):
        expected = f(x)
    assert np.all(np.isfinite(got)) and got[0] == 0 and got[4] == 0 and got[3] == 0
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert any("where" in k for k in fused_program(fused).kernels)


def test_zero_safe_product_kernel_keeps_zero_times_infinity_zero():
    # the kernel of scale(3 g, d - 1) on its own, where 0 meets ∞ and NaN
    g = np.array([0.0, 1.0, 0.0, 3.0])
    d = np.array([np.inf, 3.0, np.nan, np.inf])

    def f(g, d):
        return zero_safe_multiply(g * 3.0, d - 1.0)
    fused = riesz.jit(f, fuse="numexpr")
    np.testing.assert_array_equal(fused(g, d), [0.0, 6.0, 0.0, np.inf])
    assert "where" in fused_program(fused).kernels[0]


def test_norm_gradient_at_zero():
    f = riesz.grad(lambda x: np.sqrt(np.sum(x ** 2)) + np.sum(np.sin(x) * x))
    x = np.zeros(5)
    fused = riesz.jit(f, fuse="numexpr")
    with np.errstate(divide="ignore", invalid="ignore"):   # ∞ = d‖x‖/d(‖x‖²) at 0
        np.testing.assert_array_equal(fused(x), f(x))
    # the infinite cotangent of x ** 2 meets its zero derivative 2x inside a kernel
    assert any("== 0" in k for k in fused_program(fused).kernels)


def test_chain_mixed_with_matmul_and_sum():
    rng = np.random.default_rng(2)
    W, x, b = rng.standard_normal((6, 5)), rng.standard_normal((5, 3)), rng.standard_normal((6, 1))

    def loss(W, x, b):
        h = np.tanh(W @ x + b) * 2.0 - 1.0
        z = np.exp(-h * h) + np.maximum(h, 0.1)
        return np.sum(z @ x.T) + np.sum(np.log1p(z * z), axis=0) @ np.ones(3)
    fused = riesz.jit(riesz.grad(loss, argnums=(0, 1, 2)), fuse="numexpr")
    for got, want in zip(fused(W, x, b), riesz.grad(loss, argnums=(0, 1, 2))(W, x, b)):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12)
    program = fused_program(fused)
    names = {e.prim.name for e in program.eqns}
    assert {"numexpr", "matmul", "sum"} <= names


def test_grad_of_fused_jit_differentiates_the_original_equations():
    f = riesz.jit(lambda x: np.sum(np.tanh(x) * np.exp(x) + x * x), fuse="numexpr")
    x = np.linspace(-1, 1, 6)
    np.testing.assert_allclose(riesz.grad(f)(x), (1 - np.tanh(x) ** 2) * np.exp(x)
                               + np.tanh(x) * np.exp(x) + 2 * x, rtol=1e-12)


def test_many_inputs_split_into_several_kernels():
    xs = tuple(np.full(3, float(i)) for i in range(fusion.MAX_KERNEL_INPUTS + 8))
    f = riesz.jit(lambda xs: sum(np.sin(x) for x in xs) * 2.0, fuse="numexpr")
    np.testing.assert_allclose(f(xs), sum(np.sin(x) for x in xs) * 2.0, rtol=1e-12)
    assert len(fused_program(f).kernels) >= 2


def test_large_arrays_stay_numpy(monkeypatch):
    monkeypatch.setattr(fusion, "MAX_FUSED_SIZE", 8)
    f = riesz.jit(lambda x: np.sin(x) * 2.0 + 1.0, fuse="numexpr")
    np.testing.assert_allclose(f(np.ones(9)), np.sin(1.0) * 2.0 + 1.0)
    assert not isinstance(next(iter(f.programs.values())), FusedProgram)
    f(np.ones(8))
    assert sum(isinstance(p, FusedProgram) for p in f.programs.values()) == 1


def test_generated_source_calls_the_kernels():
    f = riesz.jit(riesz.grad(chain), fuse="numexpr")
    f(np.ones(4))
    text = fused_program(f).source()
    assert "fused_1(x" in text and "# tanh(" in text
    assert "fused_" not in riesz.source(riesz.grad(chain), np.ones(4))


def test_bad_backend_and_missing_numexpr(monkeypatch):
    with pytest.raises(ValueError, match="unknown fusion backend.*'numexpr'"):
        riesz.jit(chain, fuse="numba")
    monkeypatch.setitem(sys.modules, "numexpr", None)
    with pytest.raises(ImportError, match="pip install numexpr"):
        riesz.jit(chain, fuse="numexpr")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_masks_rounding_and_functions_numexpr_types_differently(dtype):
    # numexpr's maximum, minimum and sign of float32 give float64: those stay NumPy calls
    def f(x, y):
        mask = ~(x > 0) & (y < 0.5) | np.isnan(x)
        return np.where(mask, np.maximum(x, y) ** 0.5, np.floor(x) * np.sign(y)) + np.minimum(x, 2.0)
    x, y = np.linspace(-2, 2, 12).astype(dtype), np.linspace(1, -1, 12).astype(dtype)
    x[3] = np.nan
    fused = riesz.jit(f, fuse="numexpr")
    with np.errstate(invalid="ignore"):
        got, want = fused(x, y), f(x, y)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
    program = fused_program(fused)
    numpy_calls = {e.prim.name for e in program.eqns} - {"numexpr"}
    assert numpy_calls == (set() if dtype == np.float64 else {"maximum", "minimum", "sign"})
