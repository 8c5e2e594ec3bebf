"""A new user's programs, written as NumPy code from the autograd and JAX tutorials: logistic
regression with np.logaddexp, a Gaussian process likelihood by Cholesky solves, an RNN and
a fixed-step ODE integrator as Python loops, a pairwise-distance energy, einsum models,
kinks (where, clip, maximum, abs), autograd's fluid simulation, boolean masks and fancy
indices, in-place updates (``out=`` included), float32 and complex inputs.

Each program is written once for a module ``m`` (``numpy``, traced by riesz, or
``jax.numpy``); its derivatives are checked against central finite differences in both
modes to second order, under ``jit`` and ``vmap`` against the eager ones, and, where JAX
is installed (an optional oracle), against JAX's gradient and Hessian."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import riesz
from riesz.testing import check_grads

pytestmark = pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                                        "ignore:invalid value:RuntimeWarning")

RNG = np.random.default_rng(7)
X_LR, Y_LR = RNG.standard_normal((12, 3)), np.sign(RNG.standard_normal(12))
X_GP, Y_GP = RNG.standard_normal((6, 2)), RNG.standard_normal(6)
XS_RNN, T_RNN = RNG.standard_normal((4, 3)), RNG.standard_normal(4)
W_RNN = {"Wx": 0.5 * RNG.standard_normal((3, 4)), "v": RNG.standard_normal(4)}
A_ODE = RNG.standard_normal((3, 3))
X_EIN, Z_EIN = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 5))
# four particles about 1.1 apart, where the energy's terms are of order one
PARTICLES = (np.array([[0, 0, 0], [1.1, 0, 0], [0, 1.1, 0], [0, 0, 1.1]])
             + 0.05 * RNG.standard_normal((4, 3))).ravel()
T_EIN = RNG.standard_normal((3, 3, 5))


def logistic(m):
    def loss(w):   # w = (weights, bias)
        z = X_LR @ w[:3] + w[3]
        return m.mean(m.logaddexp(0.0, -Y_LR * z)) + 0.01 * m.sum(w[:3] ** 2)
    return loss


def gaussian_process(m):
    def nll(theta):   # log length scale, log signal variance, log noise
        d2 = m.sum((X_GP[:, None, :] - X_GP[None, :, :]) ** 2, axis=-1)
        K = m.exp(theta[1] - 0.5 * d2 / m.exp(2 * theta[0])) + m.exp(theta[2]) * m.eye(6)
        L = m.linalg.cholesky(K)
        alpha = m.linalg.solve(L.T, m.linalg.solve(L, Y_GP))
        return 0.5 * Y_GP @ alpha + m.sum(m.log(m.diag(L)))
    return nll


def rnn(m):
    def loss(Wh):
        h, total = m.zeros(4), 0.0
        for t in range(len(XS_RNN)):
            h = m.tanh(XS_RNN[t] @ W_RNN["Wx"] + h @ Wh)
            total = total + (h @ W_RNN["v"] - T_RNN[t]) ** 2
        return total / len(XS_RNN)
    return loss


def rk4(m):
    def field(y, t, c):
        return m.tanh(A_ODE @ y + c * m.sin(t))

    def loss(y0c):   # the initial state and a forcing vector, integrated 8 steps
        y, c, t, dt = y0c[:3], y0c[3:], 0.0, 0.1
        for _ in range(8):
            k1 = field(y, t, c)
            k2 = field(y + dt / 2 * k1, t + dt / 2, c)
            k3 = field(y + dt / 2 * k2, t + dt / 2, c)
            k4 = field(y + dt * k3, t + dt, c)
            y, t = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4), t + dt
        return m.sum((y - 1.0) ** 2)
    return loss


def lennard_jones(m):
    def energy(flat):   # 4 particles in 3-D; distances by broadcasting, the diagonal masked
        x = flat.reshape(4, 3)
        r = m.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)   # norm(0) on the diagonal
        eye = m.eye(4, dtype=bool)
        r = m.where(eye, 1.0, r)
        return 2 * m.sum(m.where(eye, 0.0, r ** -12 - r ** -6))
    return energy


def lennard_jones_pairs(m):
    def energy(flat):   # the same energy over the pairs i < j, by fancy indices
        x = flat.reshape(4, 3)
        i, j = m.triu_indices(4, k=1)
        r = m.linalg.norm(x[i] - x[j], axis=-1)
        return 4 * m.sum(r ** -12 - r ** -6)
    return energy


def einsum_model(m):
    def f(W):
        s = m.einsum("bi,ij,bj->b", X_EIN, W, Z_EIN)
        q = m.einsum("ijk,bi,bj->bk", T_EIN, X_EIN, X_EIN)
        return (m.sum(m.tanh(s)) + m.einsum("ii", W[:, :3] @ W[:, :3].T)
                + m.sum(m.einsum("bk,jk->bj", q, W) ** 2) * 0.01)
    return f


def kinks(m):
    def f(x):
        huber = m.where(m.abs(x) < 1.0, 0.5 * x ** 2, m.abs(x) - 0.5)
        return (m.sum(huber) + m.sum(m.clip(x, -1.0, 2.0) ** 2) + m.sum(m.maximum(x, 0.0) * x)
                + m.max(m.abs(x)) + m.sum(m.sign(x) * x ** 2))
    return f


PROGRAMS = {   # name: (program, an argument away from kinks and ties)
    "logistic regression": (logistic, RNG.standard_normal(4)),
    "gaussian process": (gaussian_process, np.array([0.1, -0.2, -1.0])),
    "rnn": (rnn, 0.5 * RNG.standard_normal((4, 4))),
    "rk4": (rk4, RNG.standard_normal(6)),
    "lennard-jones": (lennard_jones, PARTICLES),
    "lennard-jones pairs": (lennard_jones_pairs, PARTICLES),
    "einsum": (einsum_model, RNG.standard_normal((3, 5))),
    "kinks": (kinks, np.array([-2.0, -0.5, 0.3, 1.7, 3.0])),
}


JAX_TWINS = {lennard_jones: lennard_jones_pairs}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_derivatives_match_finite_differences(name):
    program, x = PROGRAMS[name]
    f = program(np)
    check_grads(f, (x,), order=2)
    g = riesz.grad(f)(x)
    np.testing.assert_allclose(riesz.jit(riesz.grad(f))(x), g, rtol=1e-12, atol=1e-12)
    xs = np.stack([x, 1.01 * x])
    np.testing.assert_allclose(riesz.vmap(riesz.grad(f))(xs),
                               np.stack([g, riesz.grad(f)(xs[1])]), rtol=1e-12, atol=1e-12)
    v = RNG.standard_normal(x.shape)
    np.testing.assert_allclose(riesz.hvp(f, (x,), (v,)),
                               np.tensordot(riesz.hessian(f)(x), v, axes=x.ndim),
                               rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_agrees_with_jax(name):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    program, x = PROGRAMS[name]
    # JAX's gradient of norm at 0 is NaN even where `where` masks it (riesz's is 0, README):
    # its twin for the masked energy is the same energy over the pairs
    f, f_jax = program(np), JAX_TWINS.get(program, program)(jax.numpy)
    v = RNG.standard_normal(x.shape)
    # JAX jitted (its eager Hessians of these loops take seconds)
    jax_grad = jax.jit(jax.grad(f_jax))
    jax_hvp = jax.jit(lambda x, v: jax.jvp(jax.grad(f_jax), (x,), (v,))[1])
    np.testing.assert_allclose(f(x), f_jax(x), rtol=1e-12)
    np.testing.assert_allclose(riesz.grad(f)(x), jax_grad(x), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(riesz.hvp(f, (x,), (v,)), jax_hvp(x, v), rtol=1e-8, atol=1e-10)


def test_kinks_take_the_midpoint_of_the_one_sided_derivatives():
    at = np.array([0.0, 1.0, -1.0, 2.0])
    np.testing.assert_array_equal(riesz.grad(lambda x: np.sum(np.abs(x)))(at), [0, 1, -1, 1])
    np.testing.assert_array_equal(riesz.grad(lambda x: np.sum(np.clip(x, -1.0, 2.0)))(at),
                                  [1, 1, 0.5, 0.5])
    np.testing.assert_array_equal(riesz.grad(lambda x: np.sum(np.maximum(x, 0.0)))(at),
                                  [0.5, 1, 0, 1])
    np.testing.assert_array_equal(riesz.grad(np.max)(np.array([1.0, 3.0, 3.0])), [0, 0.5, 0.5])


# ---------------------------------------------------------------- autograd's fluid simulation

def _benchmarked_programs():
    """benchmarks/user_programs.py, which holds HIPS autograd's example programs as a user
    ports them (each written for a module ``np``)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "user_programs.py"
    spec = importlib.util.spec_from_file_location("user_programs_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fluid_simulation_with_gathers_at_floored_positions():
    """autograd's fluidsim: semi-Lagrangian advection (bilinear weights from floor'd
    positions, a grid's corners gathered by fancy indices) and a pressure projection by
    Jacobi sweeps of rolls."""
    objective = _benchmarked_programs().fluid(np, None)
    rng = np.random.default_rng(3)
    v, smoke, target = 0.3 * rng.standard_normal((2, 6, 6)), rng.random((6, 6)), rng.random((6, 6))
    check_grads(lambda v: objective(v, smoke, target), (v,), order=1)
    g = riesz.grad(objective)(v, smoke, target)
    np.testing.assert_allclose(riesz.jit(riesz.grad(objective))(v, smoke, target), g,
                               rtol=1e-10, atol=1e-14)
    # the smoke closed over, a NumPy array gathered at staged indices: the error names the fix
    with pytest.raises(riesz.ConcretizationError, match=r"riesz\.numpy\.at\(table\)\[i, j\]"):
        riesz.jit(lambda v: objective(v, smoke, target))(v)
    try:
        import jax
    except ImportError:
        return
    jax.config.update("jax_enable_x64", True)
    twin = jax.grad(_benchmarked_programs().fluid(jax.numpy, None))   # eager: jit compiles long
    np.testing.assert_allclose(g, twin(v, smoke, target), rtol=1e-9, atol=1e-14)


# ---------------------------------------------------------------- masks and fancy indices

def masks_and_fancy_indices(M):
    rows = M[[0, 2]][:, [1, 3, 4]]
    picked = M[np.ix_([1, 3], [0, 0, 2])]              # a repeated column adds up
    columns = M[:, M[0] > 0]                           # shapes read off the value, eagerly
    entries = M[M > 0.5]
    diagonal = M[np.arange(4), np.arange(4)]
    return (np.sum(rows ** 2) + np.sum(picked * 3) + np.sum(columns ** 3)
            + np.sum(np.exp(entries)) + np.prod(diagonal) + np.sum(M[np.nonzero(M < -1)] ** 2))


def test_masks_and_fancy_indices():
    M = RNG.standard_normal((4, 5))
    check_grads(masks_and_fancy_indices, (M,), order=2)
    want = np.zeros_like(M)   # the same derivative, entry by entry
    for i in (0, 2):
        for j in (1, 3, 4):
            want[i, j] += 2 * M[i, j]
    for i in (1, 3):
        for j, times in ((0, 2), (2, 1)):
            want[i, j] += 3 * times
    want[:, M[0] > 0] += 3 * M[:, M[0] > 0] ** 2
    want[M > 0.5] += np.exp(M[M > 0.5])
    diagonal = np.diag(M)
    for k in range(4):
        want[k, k] += np.prod(np.delete(diagonal, k))
    want[M < -1] += 2 * M[M < -1]
    np.testing.assert_allclose(riesz.grad(masks_and_fancy_indices)(M), want, rtol=1e-12)


# ---------------------------------------------------------------- in-place updates

def written_in_place(x):
    y = x.copy()
    y[1:] += y[:-1]
    y *= 2
    y[y > 1] = 1.0
    y[[0, 3]] -= x[[4, 5]]
    np.multiply(y, x, out=y)                           # a ufunc writing into a traced y
    np.clip(y, -0.8, 0.8, out=y)                       # a function writing into it
    z = np.zeros_like(x)
    z[::2] = np.sin(x[::2])
    z[1::2] = y[1::2]
    np.add.at(z, [0, 0, 1], x[:3])
    w = np.zeros_like(x)
    np.divide(z, y, out=w, where=np.abs(y) > 0.1)      # the safe-division idiom
    return np.sum(z ** 2) + np.sum(w)


def written_as_new_arrays(x):
    """written_in_place with every update written as a new array."""
    n = np.arange(len(x))
    y = np.concatenate([x[:1], x[1:] + x[:-1]]) * 2
    y = np.where(y > 1, 1.0, y) - (n == 0) * x[4] - (n == 3) * x[5]
    y = np.clip(y * x, -0.8, 0.8)
    z = np.where(n % 2 == 0, np.sin(x), y) + (n == 0) * (x[0] + x[1]) + (n == 1) * x[2]
    mask = np.abs(y) > 0.1
    return np.sum(z ** 2) + np.sum(np.where(mask, z / np.where(mask, y, 1.0), 0.0))


def test_in_place_updates_and_out_arguments_are_differentiated():
    x = RNG.standard_normal(8)
    np.testing.assert_allclose(written_in_place(x), written_as_new_arrays(x), rtol=1e-12)
    np.testing.assert_allclose(riesz.jit(written_in_place)(x), written_in_place(x), rtol=1e-12)
    want = riesz.grad(written_as_new_arrays)(x)
    np.testing.assert_allclose(riesz.grad(written_in_place)(x), want, rtol=1e-12)
    np.testing.assert_allclose(riesz.jit(riesz.grad(written_in_place))(x), want, rtol=1e-12)
    v = RNG.standard_normal(8)
    np.testing.assert_allclose(riesz.jvp(written_in_place, (x,), (v,))[1], want @ v, rtol=1e-12)
    np.testing.assert_allclose(riesz.vmap(riesz.grad(written_in_place))(np.stack([x, -x])),
                               np.stack([want, riesz.grad(written_as_new_arrays)(-x)]),
                               rtol=1e-12)
    check_grads(written_in_place, (x,), order=2)


def test_out_arguments_keep_numpys_checks():
    x = RNG.standard_normal(3)
    # a reduction into y, a matrix product into y, the result cast 'same_kind' into y
    def f(A):
        y = np.zeros_like(A[0])
        np.sum(A, axis=0, out=y)
        P = np.zeros_like(A @ A.T)
        np.matmul(A, A.T, out=P)
        np.exp(A[0], y)                                # out given by position
        return np.sum(y ** 2) + np.sum(P)
    A = RNG.standard_normal((2, 3))
    np.testing.assert_allclose(riesz.grad(f)(A), 2 * np.vstack([np.exp(2 * A[0]), 0 * A[1]])
                               + 2 * np.sum(A, axis=0), rtol=1e-12)
    with pytest.raises(ValueError, match=r"non-broadcastable output operand with shape \(3,\) "
                                         r"doesn't match the broadcast shape \(2, 3\)"):
        riesz.grad(lambda x: np.sum(np.add(x, np.ones((2, 3)), out=x)))(x)
    with pytest.raises(TypeError, match=r"Cannot cast ufunc 'multiply' output from "
                                        r"dtype\('complex128'\) to dtype\('float64'\)"):
        riesz.grad(lambda x: np.sum(np.multiply(x, 1j, out=x)))(x)
    # into a NumPy array a traced value still cannot go
    with pytest.raises(TypeError, match=r"numpy\.multiply\(\.\.\., out=\.\.\.\) cannot write a "
                                        r"traced value into a NumPy array"):
        riesz.grad(lambda x: np.sum(np.multiply(x, 2.0, out=np.zeros(3))))(x)


# ---------------------------------------------------------------- float32 and complex

def test_float32_programs_stay_float32():
    for name in ("logistic regression", "rk4", "kinks"):
        program, x = PROGRAMS[name]
        f, x32 = program(np), x.astype(np.float32)
        for transform in (riesz.grad, riesz.hessian, lambda f: riesz.jit(riesz.grad(f))):
            assert transform(f)(x32).dtype == np.float32, name     # the input's dtype
        # a tangent has the output's dtype: float64 where a float64 constant meets x (NumPy's)
        out, tangent = riesz.jvp(f, (x32,), (np.ones_like(x32),))
        assert np.result_type(tangent) == np.result_type(f(x32)) == np.result_type(out), name
        np.testing.assert_allclose(riesz.grad(f)(x32), riesz.grad(f)(x), rtol=2e-4, atol=2e-5)
        check_grads(f, (x32,), order=2)


def complex_program(m):
    A = np.arange(16.0).reshape(4, 4) / 7 - 1j * np.eye(4)

    def f(z):
        w = A @ z
        return (m.sum(m.abs(w) ** 2) + m.real(m.vdot(z, w)) + m.sum(m.angle(w + 3))
                + m.sum(m.abs(m.fft.fft(z)) ** 2) + m.sum(m.abs(m.exp(1j * z))))
    return f


def test_complex_inputs():
    z = RNG.standard_normal(4) + 1j * RNG.standard_normal(4)
    f = complex_program(np)
    check_grads(f, (z,), order=2)
    check_grads(f, (z.astype(np.complex64),), order=1)
    g = riesz.grad(f)(z)
    np.testing.assert_allclose(riesz.jit(riesz.grad(f))(z), g, rtol=1e-12)
    assert riesz.grad(f)(z.astype(np.complex64)).dtype == np.complex64
    try:
        import jax
    except ImportError:
        return
    jax.config.update("jax_enable_x64", True)
    np.testing.assert_allclose(g, jax.grad(complex_program(jax.numpy))(z), rtol=1e-9)
    # jax.jacfwd(f, holomorphic=True) is riesz.jacfwd(f) (README), holomorphic f or not
    for h in (lambda m: lambda z: m.sin(z) * z, lambda m: lambda z: z * m.abs(z)):
        for ours, theirs in ((riesz.jacfwd, jax.jacfwd), (riesz.jacrev, jax.jacrev)):
            np.testing.assert_allclose(ours(h(np))(z), theirs(h(jax.numpy), holomorphic=True)(z),
                                       rtol=1e-12, atol=1e-15)


def test_jax_nn_functions_are_riesz_nns_with_logsumexps_axis_named():
    """README: riesz.nn.logsumexp(x) reduces the last axis, jax.nn.logsumexp(x) every one."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    from riesz import nn
    x = RNG.standard_normal((3, 4))
    pairs = {"relu": (nn.relu, jax.nn.relu), "gelu": (nn.gelu, jax.nn.gelu),
             "sigmoid": (nn.sigmoid, jax.nn.sigmoid), "softplus": (nn.softplus, jax.nn.softplus),
             "silu": (nn.silu, jax.nn.silu), "log_sigmoid": (nn.log_sigmoid, jax.nn.log_sigmoid),
             "leaky_relu": (nn.leaky_relu, jax.nn.leaky_relu), "elu": (nn.elu, jax.nn.elu),
             "softmax": (nn.softmax, jax.nn.softmax),
             "log_softmax": (nn.log_softmax, jax.nn.log_softmax),
             "logsumexp": (lambda x: nn.logsumexp(x, axis=None), jax.nn.logsumexp)}
    for name, (ours, theirs) in pairs.items():
        np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(riesz.grad(lambda x: np.sum(np.sin(ours(x))))(x),
                                   jax.grad(lambda x: jax.numpy.sum(jax.numpy.sin(theirs(x))))(x),
                                   rtol=1e-10, atol=1e-14, err_msg=name)
    assert nn.logsumexp(x).shape == (3,) and jax.nn.logsumexp(x).shape == ()
