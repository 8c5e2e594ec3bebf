"""Complex numbers, JAX's convention (docs/complex.md): VJPs are bilinear transposes
under Re Σ c ż, so grad of a real f of z is the conjugate of the steepest-ascent
direction and the VJP of a holomorphic f is g ↦ f'(z) g."""
import numpy as np
import pytest

import riesz
from riesz import grad, jvp, vjp
from riesz.testing import check_grads, GradientCheckError

rng = np.random.default_rng(0)
z = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
w = rng.standard_normal((3,)) + 1j * rng.standard_normal((3,))


def test_grad_of_abs_squared_is_the_conjugate_direction():
    assert grad(lambda z: abs(z) ** 2)(3 + 4j) == 6 - 8j
    assert grad(lambda z: np.real(z * np.conj(z)))(3 + 4j) == 6 - 8j
    # steepest ascent of |z|² at z is 2z: a small step along conj(grad) increases f most
    g = np.conj(grad(lambda z: abs(z) ** 2)(3 + 4j))
    assert g == pytest.approx(2 * (3 + 4j))


def test_holomorphic_vjp_is_the_complex_derivative():
    # grad(f, holomorphic=True)(z) is vjp(f, z)[1](1): f'(z), with no conjugation
    z0 = 1.5 - 0.5j
    assert vjp(lambda z: z ** 2, z0)[1](1.0 + 0j)[0] == 2 * z0
    assert vjp(np.exp, z0)[1](1.0 + 0j)[0] == np.exp(z0)
    assert jvp(np.sin, (z0,), (1.0 + 0j,))[1] == np.cos(z0)


def test_real_imag_conj():
    assert vjp(np.real, z)[1](np.ones((2, 3)))[0].dtype == np.complex128
    assert np.array_equal(vjp(np.real, z)[1](np.ones((2, 3)))[0], np.ones((2, 3)))
    assert np.array_equal(vjp(np.imag, z)[1](np.ones((2, 3)))[0], np.full((2, 3), -1j))
    assert np.array_equal(vjp(np.conj, z)[1](z)[0], np.conj(z))
    assert np.array_equal(jvp(np.imag, (z,), (z,))[1], z.imag)
    # a real argument's cotangent is real even when complex values pass through
    x = np.array([0.3, -1.2])
    g = grad(lambda x: np.sum(np.abs(x * (1 + 2j)) ** 2))(x)
    assert g.dtype == np.float64 and np.allclose(g, 10 * x)


UNARY = [np.exp, np.log, np.sqrt, np.sin, np.cos, np.tan, np.sinh, np.cosh, np.tanh,
         np.arcsin, np.arccos, np.arctan, np.arcsinh, np.arccosh, np.arctanh, np.reciprocal,
         np.square, np.exp2, np.expm1, np.log2, np.log10, np.log1p, np.real, np.imag, np.conj,
         np.abs, np.angle, np.negative, lambda z: z ** 3, lambda z: z ** (0.5 + 1j)]
REDUCTIONS = [np.sum, np.mean, np.prod, np.cumsum, np.cumprod, np.var, np.std, np.trace,
              np.linalg.norm, lambda z: np.linalg.norm(z, 1, axis=0), np.diagonal,
              lambda z: np.average(z, axis=1, weights=[1.0, 2.0, 3.0])]
BINARY = [np.add, np.subtract, np.multiply, np.divide, np.power]


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("f", UNARY + REDUCTIONS, ids=lambda f: getattr(f, "__name__", "f"))
def test_check_grads_complex(f, dtype):
    check_grads(f, (z.astype(dtype) * 0.5,), order=2)


@pytest.mark.parametrize("f", BINARY, ids=lambda f: f.__name__)
def test_check_grads_complex_binary(f):
    check_grads(f, (z, w), order=2)
    check_grads(f, (z.real, w), order=2)   # a real argument meets a complex one


def test_check_grads_rejects_a_conjugated_rule():
    # the Hermitian transpose is the wrong convention: check_grads must notice
    from riesz.core import Primitive
    bad = Primitive("conj_vjp_square", np.square, jvps=[lambda t, ans, x: 2 * x * t],
                    vjps=[lambda g, ans, x: np.conj(2 * x) * g])
    check_grads(bad, (z,), modes=("fwd",), order=1)
    with pytest.raises(GradientCheckError, match="reverse mode"):
        check_grads(bad, (z,), modes=("rev",), order=1)


def test_grad_holomorphic():
    z = np.array(1.5 - 0.5j)
    assert riesz.grad(lambda z: z ** 2, holomorphic=True)(z) == pytest.approx(2 * z, rel=1e-15)
    third = riesz.grad(riesz.grad(lambda z: z ** 3, holomorphic=True), holomorphic=True)
    assert third(z) == pytest.approx(6 * z, rel=1e-14)
    assert riesz.grad(lambda z: np.exp(z), holomorphic=True)(z) == pytest.approx(np.exp(z))
    # the non-holomorphic convention is unchanged
    assert riesz.grad(lambda z: abs(z) ** 2)(3 + 4j) == 6 - 8j


def test_grad_holomorphic_errors():
    with pytest.raises(TypeError, match="holomorphic=True"):
        riesz.grad(lambda z: z ** 2)(1.0 + 1.0j)
    with pytest.raises(TypeError, match="complex inputs"):
        riesz.grad(lambda z: z ** 2, holomorphic=True)(1.0)


# issue 15: a real operand meeting complex values in a linear-algebra or assembly rule
# receives the real part of its cotangent (one wrapper in riesz/rules/define.py)
_c6 = rng.standard_normal(6) + 1j * rng.standard_normal(6)
_A = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3)) + 3 * np.eye(3)


def _assign_abs(z):
    y = z * 1
    y[0] = np.abs(z[1])
    return y


MIXED = {
    "concatenate": (lambda z: np.sum(np.real(np.concatenate([z, np.real(z)]) * _c6)), w),
    "vdot": (lambda z: np.real(np.vdot(np.real(z), z)), w),
    "solve": (lambda A: np.sum(np.real(np.linalg.solve(A, np.abs(np.diag(A))))), _A),
    "setitem": (lambda z: np.sum(np.real(_assign_abs(z) * _c6[:3])), w),
    "stack": (lambda z: np.sum(np.real(np.stack([z, np.real(z)]) * _c6.reshape(2, 3))), w),
    "matmul": (lambda A: np.sum(np.real(np.real(A) @ A * _A)), _A),
    "dot": (lambda A: np.sum(np.imag(np.dot(A, np.imag(A)))), _A),
    "einsum": (lambda A: np.sum(np.real(np.einsum("ij,jk->ik", np.real(A), A) * _A)), _A),
    "fft": (lambda z: np.sum(np.abs(np.fft.fft(np.real(z)) + z) ** 2), w),
}


def _finite_difference_grad(f, z, eps=1e-6):
    # ∂f/∂x − i ∂f/∂y entry by entry: riesz's grad of a real f of complex z
    out = np.zeros_like(z)
    for k in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[k] = eps
        out[k] = (f(z + e) - f(z - e)) / (2 * eps) - 1j * (f(z + 1j * e) - f(z - 1j * e)) / (2 * eps)
    return out


@pytest.mark.parametrize("name", sorted(MIXED))
def test_real_operand_of_a_complex_rule_gets_the_real_part(name):
    f, z0 = MIXED[name]
    assert np.allclose(grad(f)(z0), _finite_difference_grad(f, z0), atol=1e-6)
    check_grads(f, (z0,), order=2)


# ---------------------------------------------------------------- JAX's holomorphic=True

def _holomorphic_map(z):
    return np.sin(z[:2] * z[1:]) + z[:2] ** 3


def _holomorphic_map_jacobian(z):
    """∂/∂z of (sin(z₀z₁) + z₀³, sin(z₁z₂) + z₁³), by hand."""
    c = np.cos(z[:2] * z[1:])
    return np.array([[c[0] * z[1] + 3 * z[0] ** 2, c[0] * z[0], 0],
                     [0, c[1] * z[2] + 3 * z[1] ** 2, c[1] * z[1]]])


@pytest.mark.parametrize("name", ["jacfwd", "jacrev", "jacobian"])
def test_holomorphic_jacobians_are_the_complex_derivative(name):
    rng = np.random.default_rng(0)
    J = getattr(riesz, name)(_holomorphic_map, holomorphic=True)
    for _ in range(3):   # eager, staged, the program
        z = rng.standard_normal(3) + 1j * rng.standard_normal(3)
        np.testing.assert_allclose(J(z), _holomorphic_map_jacobian(z), rtol=1e-12)
        np.testing.assert_allclose(J(z), getattr(riesz, name)(_holomorphic_map)(z), rtol=1e-14)


def test_holomorphic_hessian_is_the_second_complex_derivative():
    f = lambda z: np.sum(z ** 3 * z[0])   # noqa: E731  ∂²/∂zᵢ∂zⱼ by hand below
    z = np.array([1.0 + 2.0j, -0.5 + 0.3j])
    want = np.array([[12 * z[0] ** 2, 3 * z[1] ** 2], [3 * z[1] ** 2, 6 * z[0] * z[1]]])
    H = riesz.hessian(f, holomorphic=True)
    for _ in range(3):
        np.testing.assert_allclose(H(z), want, rtol=1e-13)


@pytest.mark.parametrize("name", ["jacfwd", "jacrev", "jacobian", "hessian"])
def test_holomorphic_flag_checks_inputs_and_outputs(name):
    transform = getattr(riesz, name)
    with pytest.raises(TypeError, match=r"holomorphic=True\): argument 0 of f has dtype "
                                        r"float64; a holomorphic derivative needs complex"):
        def f(z):
            return z * 2j
        transform(f, holomorphic=True)(np.ones(2))
    with pytest.raises(TypeError, match=r"holomorphic=True\): g returned a value of dtype "
                                        r"float64; a holomorphic function returns complex"):
        def g(z):
            return np.sum(np.abs(z) ** 2)
        transform(g, holomorphic=True)(np.ones(2, complex))


@pytest.mark.parametrize("name", ["jacfwd", "jacrev", "hessian"])
def test_holomorphic_derivatives_match_jax(name):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def f(xp):
        return lambda z: xp.sum(xp.sin(z) * z[::-1] ** 2) if name == "hessian" else \
            xp.exp(z) * z[::-1]
    z = np.array([0.3 + 0.1j, -1.2 + 0.7j, 0.5 - 0.4j])
    want = getattr(jax, name)(f(jnp), holomorphic=True)(jnp.asarray(z))
    np.testing.assert_allclose(getattr(riesz, name)(f(np), holomorphic=True)(z),
                               np.asarray(want), rtol=1e-12)
