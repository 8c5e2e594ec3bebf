"""A differential test against JAX (an optional, test-only oracle): random compositions of
NumPy functions, written once for a module ``m`` (``numpy`` traced by riesz, or
``jax.numpy``), compared in value, gradient and forward-mode derivative.

The compositions mix elementwise functions, reductions, indexing, in-place updates
(``y[i] = v``, ``np.add.at``; ``x.at[i]`` in JAX), concatenation and stacking, products,
linear algebra, FFTs, and real and complex values in one program. Without JAX the module
is skipped. The second part pins the singular points where riesz deliberately differs
from JAX (docs/numpy.md's conventions), with both answers.
"""
import numpy as np
import pytest

import riesz

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

N = 6
_rng = np.random.default_rng(15)
W = _rng.standard_normal((N, N))
A3 = _rng.standard_normal((3, 3))
REPEATS = [0, 0, 3]


def _set(m, x, idx, v):
    """x with x[idx] = v: NumPy's in-place assignment (on a copy), JAX's .at[].set."""
    if m is jnp:
        return x.at[idx].set(v)
    y = x * 1
    y[idx] = v
    return y


def _add_at(m, x, idx, v):
    """x with v added at idx, repeated indices adding up: np.add.at, JAX's .at[].add."""
    if m is jnp:
        return x.at[jnp.array(idx)].add(v)
    y = x * 1
    np.add.at(y, idx, v)
    return y


def _logsumexp(m, r):
    # log Σ exp r = c + log Σ exp(r − c) for any c (c = max r: no overflow); its gradient is
    # the softmax whatever derivative c gets
    c = m.max(r)
    return c + m.log(m.sum(m.exp(r - c)))


# op name: (function of the module m and a length-N vector x, to a length-N vector;
#           whether it needs real x)
OPS = {
    "sin": (lambda m, x: m.sin(x), False),
    "tanh": (lambda m, x: m.tanh(x), False),
    "exp_tanh": (lambda m, x: m.exp(m.tanh(x)), False),
    "log1p_square": (lambda m, x: m.log1p(x * x), True),
    "sqrt_shifted": (lambda m, x: m.sqrt(x * x + 1.0), False),
    "reciprocal": (lambda m, x: 1.0 / (x * x + 2.0), False),
    "abs": (lambda m, x: m.abs(x), False),
    "real": (lambda m, x: m.real(x), False),
    "conj": (lambda m, x: m.conj(x) * (1.0 + 0.5j), False),
    "make_complex": (lambda m, x: x * (0.5 - 1.5j) + m.real(x), False),
    "cumsum": (lambda m, x: m.cumsum(x) / 3.0, False),
    "reverse": (lambda m, x: x[::-1] * x, False),
    "roll": (lambda m, x: m.roll(x, 2) - x, False),
    "gather": (lambda m, x: x[m.array([0, 2, 2, 5, 1, 3])] * x, False),
    "sort": (lambda m, x: m.sort(x) * m.arange(1.0, N + 1), True),
    "concat_mixed": (lambda m, x: m.concatenate([x[:3], m.real(x[3:]) * 2.0]), False),
    "stack_mixed": (lambda m, x: m.mean(m.stack([x, m.real(x) * 2.0]), axis=0), False),
    "matmul": (lambda m, x: W @ x / 3.0, False),
    "outer": (lambda m, x: m.outer(x, m.real(x)) @ m.tanh(x) / N, False),
    "einsum": (lambda m, x: m.einsum("ij,j->i", m.outer(m.real(x), x), m.tanh(x)) / N, False),
    "vdot": (lambda m, x: x * m.vdot(m.real(x), x) / N, False),
    "dot": (lambda m, x: x * m.dot(x, m.real(x)) / N, False),
    "solve_mixed": (lambda m, x: m.concatenate([m.linalg.solve(
        m.reshape(m.concatenate([x, x[:3]]), (3, 3)) * 0.2 + 3.0 * m.eye(3), m.abs(x[:3])), x[3:]]),
        False),
    "inv_det": (lambda m, x: x * m.linalg.det(A3 + m.diag(m.tanh(m.real(x[:3])))), False),
    "setitem": (lambda m, x: _set(m, x, slice(1, 3), m.sin(x[3:5])), False),
    "setitem_abs": (lambda m, x: _set(m, x, 0, m.abs(x[1])), False),
    "add_at": (lambda m, x: _add_at(m, x, REPEATS, x[:3] * 0.5), False),
    "maximum": (lambda m, x: m.maximum(x, 0.3) + m.minimum(x, -0.2), True),
    "where": (lambda m, x: m.where(m.real(x) > 0, x, x * x), False),
    "clip": (lambda m, x: m.clip(x, -0.5, 0.5) + x, True),
    "normalize": (lambda m, x: x / m.linalg.norm(x), False),
    "std_scale": (lambda m, x: x * m.std(x), False),
    "var_axis": (lambda m, x: m.repeat(m.var(m.reshape(x, (2, 3)), axis=0), 2), False),
    "max_scale": (lambda m, x: x * m.max(m.real(x)), False),
    "prod": (lambda m, x: x * m.prod(m.tanh(x[:3])), False),
    "logsumexp": (lambda m, x: x - _logsumexp(m, m.real(x)), False),
    "fft": (lambda m, x: m.fft.fft(x) / N, False),
    "ifft_real": (lambda m, x: m.real(m.fft.ifft(x)) * 2.0, False),
    "rfft_round_trip": (lambda m, x: m.fft.irfft(m.fft.rfft(m.real(x)) * m.arange(1.0, 5.0), n=N),
                        False),
    "reshape_transpose": (lambda m, x: m.reshape(m.reshape(x, (2, 3)).T, (N,)), False),
    "diff": (lambda m, x: m.concatenate([m.diff(x), x[:1]]), False),
    "tile": (lambda m, x: m.tile(x[:3], 2) * x, False),
    "triu": (lambda m, x: m.ravel(m.triu(m.reshape(x, (2, 3)))) + x, False),
    "mean_keepdims": (lambda m, x: x - m.mean(m.reshape(x, (3, 2)), axis=1, keepdims=True).ravel()
                      .repeat(2), False),
    "cumprod": (lambda m, x: m.cumprod(m.tanh(x) + 1.5) / 4.0, False),
    "trace": (lambda m, x: x * m.trace(m.reshape(x[:4], (2, 2))), False),
    "inv": (lambda m, x: m.ravel(m.linalg.inv(m.reshape(x[:4], (2, 2)) * 0.3 + 2.0 * m.eye(2))) @
            m.ones((4, N)) * x, False),
    "slogdet": (lambda m, x: x * m.linalg.slogdet(A3 + m.diag(m.tanh(x[:3])) * 0.2)[1], False),
    # a symmetric matrix (NumPy reads one triangle, JAX symmetrizes: the same function here)
    "eigvalsh": (lambda m, x: m.concatenate([m.linalg.eigvalsh(
        m.outer(x[:3], x[3:]) + m.outer(x[3:], x[:3]) + m.diag(m.array([0.0, 3.0, 6.0]))), x[3:]]),
        True),
    "mask_set": (lambda m, x: m.where(m.abs(x) > 0.5, x * 2.0, x), False),
    "pad_flip": (lambda m, x: m.flip(m.pad(x[1:5], 1)) + x, False),
    "broadcast": (lambda m, x: m.sum(m.broadcast_to(x, (3, N)) * m.arange(3.0)[:, None], axis=0),
                  False),
    "take": (lambda m, x: m.take(x, m.array([5, 4, 4, 0, 1, 2])) + x, False),
    "append": (lambda m, x: m.append(x[2:], x[:2] * 3.0), False),
    "interp": (lambda m, x: m.interp(m.tanh(x) * 2.0, m.arange(-3.0, 4.0),
                                     m.sin(m.arange(-3.0, 4.0))), True),
    "set_complex_into_real": (lambda m, x: _set(m, m.real(x), m.array([1, 4]), m.abs(x[:2])) * x,
                              False),
    "square_norm_sq": (lambda m, x: x * m.sum(m.abs(x) ** 2), False),
    "split": (lambda m, x: m.concatenate(m.split(x, 3)[::-1]), False),
    "hstack_vstack": (lambda m, x: m.ravel(m.vstack([x[:3], m.hstack([x[3:5], x[:1]])])), False),
}


def _program(seed):
    """A random composition: (op names, complex input?), with ops that need real values
    only where the value is real at that point."""
    rng = np.random.default_rng(seed)
    is_complex = bool(rng.integers(2))
    names, now_complex = [], is_complex
    for _ in range(int(rng.integers(3, 7))):
        choices = [n for n, (_, real_only) in OPS.items() if not (real_only and now_complex)]
        name = choices[int(rng.integers(len(choices)))]
        names.append(name)
        probe = OPS[name][0](np, np.ones(N, complex if now_complex else float))
        now_complex = np.iscomplexobj(probe)
    return names, is_complex


def _loss(m, names, w_re, w_im):
    def loss(x):
        for name in names:
            x = OPS[name][0](m, x)
        return m.sum(m.real(x) * w_re + m.imag(x) * w_im)
    return loss


SEEDS = range(50)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_composition_matches_jax(seed):
    names, is_complex = _program(seed)
    rng = np.random.default_rng(1000 + seed)
    x = rng.standard_normal(N) + (1j * rng.standard_normal(N) if is_complex else 0)
    tangent = rng.standard_normal(N) + (1j * rng.standard_normal(N) if is_complex else 0)
    w_re, w_im = rng.standard_normal(N), rng.standard_normal(N)
    ours, theirs = _loss(np, names, w_re, w_im), _loss(jnp, names, w_re, w_im)
    value, grad = riesz.value_and_grad(ours)(x)
    expected_value, expected_grad = jax.value_and_grad(theirs)(jnp.asarray(x))
    tol = dict(rtol=1e-8, atol=1e-10, err_msg=f"program {names} (complex input: {is_complex})")
    np.testing.assert_allclose(value, expected_value, **tol)
    np.testing.assert_allclose(value, ours(x), **tol)   # NumPy itself
    np.testing.assert_allclose(grad, expected_grad, **tol)
    # forward mode: for a real loss, ∂f(x)(ẋ) = Re Σ ∇f ẋ (the pairing of docs/complex.md)
    np.testing.assert_allclose(riesz.jvp(ours, (x,), (tangent,))[1],
                               np.real(np.sum(np.asarray(expected_grad) * tangent)), **tol)
    np.testing.assert_allclose(riesz.jit(riesz.grad(ours))(x), expected_grad, **tol)


# Singular points, docs/numpy.md's conventions: (function of m, x, riesz's gradient, JAX's
# gradient as JAX 0.10 gives it). riesz keeps 0 × ∞ = 0 in every product of a cotangent with
# a derivative, so a guarded branch (where) or a zero reaching an infinite derivative gives
# the finite minimum-norm answer where JAX gives NaN; kinks take the midpoint of the
# one-sided derivatives (0 for |x| at 0, ½ for ties).
CONVENTIONS = {
    "where-guarded sqrt": (lambda m, x: m.sum(m.where(x > 0, m.sqrt(m.where(x > 0, x, 1.0)), 0.0)),
                           [0.0, 1.0], [0.0, 0.5], [0.0, 0.5]),
    "sqrt in the unselected branch": (lambda m, x: m.sum(m.where(x > 0, m.sqrt(x), 0.0)),
                                      [0.0, 1.0], [0.0, 0.5], [np.nan, 0.5]),
    "log in the unselected branch": (lambda m, x: m.sum(m.where(x > 0, m.log(x), 0.0)),
                                     [0.0, 1.0], [0.0, 1.0], [np.nan, 1.0]),
    "1/x in the unselected branch": (lambda m, x: m.sum(m.where(x != 0, 1.0 / x, 0.0)),
                                     [0.0, 2.0], [0.0, -0.25], [np.nan, -0.25]),
    "norm at 0": (lambda m, x: m.linalg.norm(x), [0.0, 0.0], [0.0, 0.0], [np.nan, np.nan]),
    "sqrt(sum(x**2)) at 0": (lambda m, x: m.sqrt(m.sum(x * x)), [0.0, 0.0], [0.0, 0.0],
                             [np.nan, np.nan]),
    "std of a constant": (lambda m, x: m.std(x), [1.0, 1.0, 1.0], [0.0, 0.0, 0.0],
                          [np.nan, np.nan, np.nan]),
    "x**0 at 0": (lambda m, x: m.sum(x ** 0.0), [0.0, 1.0], [0.0, 0.0], [np.nan, 0.0]),
    "arctan2 at the origin": (lambda m, x: m.arctan2(x[0], x[1]), [0.0, 0.0], [0.0, 0.0],
                              [np.nan, np.nan]),
    "angle at 0": (lambda m, x: m.angle(x[0] + 1j * x[1]), [0.0, 0.0], [0.0, 0.0],
                   [np.nan, np.nan]),
    "hypot at the origin": (lambda m, x: m.hypot(x[0], x[1]), [0.0, 0.0], [0.0, 0.0], [0.5, 0.5]),
    "abs at 0": (lambda m, x: m.sum(m.abs(x)), [0.0, 1.0], [0.0, 1.0], [1.0, 1.0]),
    "1-norm at 0": (lambda m, x: m.linalg.norm(x, 1), [0.0, 1.0], [0.0, 1.0], [1.0, 1.0]),
    "fmax at a tie": (lambda m, x: m.sum(m.fmax(x, 1.0)), [1.0, 0.5], [0.5, 0.0], [0.0, 0.0]),
    # where both agree
    "max at a tie": (lambda m, x: m.max(x), [1.0, 1.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.5, 0.0]),
    "maximum at a tie": (lambda m, x: m.sum(m.maximum(x, 1.0)), [1.0, 2.0], [0.5, 1.0],
                         [0.5, 1.0]),
    "clip at its bounds": (lambda m, x: m.sum(m.clip(x, 0.0, 1.0)), [0.0, 1.0, 0.5],
                           [0.5, 0.5, 1.0], [0.5, 0.5, 1.0]),
    "product with zeros": (lambda m, x: m.prod(x), [0.0, 0.0, 2.0], [0.0, 0.0, 0.0],
                           [0.0, 0.0, 0.0]),
    "|z| at 0": (lambda m, x: m.abs(x[0] + 1j * x[1]), [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NumPy's own 1/0, log(0), sqrt(-1)
@pytest.mark.parametrize("name", sorted(CONVENTIONS))
def test_singular_point_conventions_against_jax(name):
    f, x, ours, jax_answer = CONVENTIONS[name]
    x = np.array(x)
    np.testing.assert_array_equal(riesz.grad(lambda x: f(np, x))(x), ours)
    theirs = np.asarray(jax.grad(lambda x: f(jnp, x))(jnp.asarray(x)))
    # JAX's answer as listed, or (should a later JAX adopt it) riesz's
    assert (np.array_equal(theirs, jax_answer, equal_nan=True)
            or np.array_equal(theirs, ours)), f"{name}: JAX now gives {theirs}"
