"""A differential harness: random programs written in plain NumPy, each run eagerly, under
``riesz.jit`` and through the auto-staged Jacobians, and compared.

A program is a random composition of steps from ``STEPS`` (elementwise functions with
their singular points, reductions with axes and keepdims, max/min with ties, softmax
written out in NumPy, broadcasting with Python scalars and integer arrays, indexing and
fancy indexing, in-place writes ``y[i] = v``, ``+=``, writes through views,
``np.add.at``, concatenate/stack/reshape/transpose, matmul/einsum/linalg, where, clip,
sort, cumsum, complex intermediates), applied to a vector ``x`` of length ``N`` with a
closed-over vector ``c`` and matrix ``C``. For each program and random inputs it checks:

* riesz's eager value against plain NumPy's (same dtype, same numbers);
* ``jit(f)``, ``jit(grad(loss))`` and ``jit(hessian(loss))`` against the eager values on
  three calls with new inputs of the same shapes, the closed-over arrays changed in place
  after the first call (jit freezes them: the eager twin keeps the first call's values);
* ``riesz.jacobian``/``jacfwd``/``jacrev``/``hessian`` (auto-staged from the second call)
  on calls 1, 2, 3 against ``riesz.transforms``' eager transforms, with new inputs and the
  closed-over arrays mutated in place between calls;
* the gradient against JAX where JAX is installed and the program has a JAX twin, and
  against central finite differences (``riesz.testing.check_grads``) for smooth programs.

The suite runs ``FUZZ_DEFAULT`` programs (< 30 s). For a longer run set the environment
variable ``RIESZ_FUZZ`` to the number of programs, e.g.::

    RIESZ_FUZZ=2000 python -m pytest tests/test_differential.py -x -q -p no:cacheprovider

and ``RIESZ_FUZZ_SEED`` to start from another seed. A failure names the seed and the
program's steps; ``python tests/test_differential.py SEED`` prints that program.
"""
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import numpy as np
import pytest

import riesz
from riesz import transforms as eager

N = 6
FUZZ_DEFAULT = 40
FUZZ = int(os.environ.get("RIESZ_FUZZ", FUZZ_DEFAULT))
FUZZ_SEED = int(os.environ.get("RIESZ_FUZZ_SEED", 0))


def _copy(x):
    """A fresh array equal to x, by multiplication as user code writes it."""
    return x * 1


def _set_slice(x, c, C):
    y = _copy(x)
    y[1:3] = np.sin(x[3:5])
    return y


def _set_scalar(x, c, C):
    y = _copy(x)
    y[0] = x[1] * x[2]
    return y


def _set_fancy(x, c, C):
    y = _copy(x)
    y[[4, 0]] = x[:2] ** 2
    return y


def _iadd(x, c, C):
    y = x * c
    y += x
    y[:2] += 1.0
    return y


def _view_write(x, c, C):
    y = _copy(x)
    v = y[2:]
    v[0] = x[0] * 3.0
    v *= 0.5
    return y


def _reshape_view_write(x, c, C):
    y = x + 0.0
    y.reshape(2, 3)[0, 1] = x[5] ** 2
    return y


def _transpose_view_write(x, c, C):
    M = np.reshape(x * 1.0, (2, 3))
    M.T[1, 0] = np.tanh(x[0])
    return M.ravel()


def _add_at(x, c, C):
    y = _copy(x)
    np.add.at(y, [0, 0, 3], x[:3] * 0.5)
    return y


def _refilled_buffer(x, c, C):
    buf = np.ones(N)
    acc = x * 0
    for i in range(3):
        buf[:] = c * (i + 1)   # refilled after each use
        acc = acc + x * buf
    return acc


def _aliases(x, c, C):
    y, z, w = +x, np.concatenate([x]), np.positive(x)   # copies in NumPy
    y[0] = 0.0
    z[1] = 1.0
    w[2] = 2.0
    return x * y + z * w


def _softmax(x, c, C):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def _softmax_rows(x, c, C):
    s = np.reshape(x, (2, 3)) * 2.0
    e = np.exp(s - np.max(s, axis=1, keepdims=True))
    return (e / np.sum(e, axis=1, keepdims=True)).ravel()


def _log_softmax(x, c, C):
    m = np.max(x)
    return x - m - np.log(np.sum(np.exp(x - m)))


def _guarded_sqrt(x, c, C):
    return np.where(x > 0, np.sqrt(np.where(x > 0, x, 1.0)), 0.0)


def _spd(x, C):
    """A symmetric positive definite matrix built from x and C."""
    B = C * 0.3 + np.diag(np.tanh(x))
    return B @ B.T + 2.0 * np.eye(N)


# name: (step of (x, c, C) -> vector of length N, smooth at random inputs?)
STEPS = {
    "sin": (lambda x, c, C: np.sin(x), True),
    "exp_tanh": (lambda x, c, C: np.exp(np.tanh(x)), True),
    "log1p_sq": (lambda x, c, C: np.log(x * x + 1), True),
    "reciprocal": (lambda x, c, C: 1 / (x * x + 2), True),
    "pow3": (lambda x, c, C: x ** 3 / 4 - x ** 2, True),
    "sqrt_abs": (lambda x, c, C: np.sqrt(np.abs(x) + 0.1), True),
    "abs": (lambda x, c, C: np.abs(x), False),
    "arctan2": (lambda x, c, C: np.arctan2(x, c + 2.0), True),
    "hypot": (lambda x, c, C: np.hypot(x, 1.0), True),
    "guarded_sqrt": (_guarded_sqrt, False),
    "maximum0": (lambda x, c, C: np.maximum(x, 0.0) + np.minimum(x, c), False),
    "scalars": (lambda x, c, C: 2 * x + 1.5 - x / 3, True),
    "int_array": (lambda x, c, C: x * np.arange(N) + np.arange(N) // 2, True),
    "int_pow": (lambda x, c, C: x ** 2 * 3, True),
    "mean_center": (lambda x, c, C: x - np.mean(x), True),
    "sum_sq_scale": (lambda x, c, C: x * np.sum(x ** 2) / N, True),
    "sum_axis_keepdims": (lambda x, c, C: (np.reshape(x, (2, 3)) -
                                           np.sum(np.reshape(x, (2, 3)), axis=0, keepdims=True))
                          .ravel(), True),
    "mean_axis1": (lambda x, c, C: np.repeat(np.mean(np.reshape(x, (3, 2)), axis=1), 2) * x,
                   True),
    "var_std": (lambda x, c, C: x * np.std(x) + np.var(x), True),
    "max_ties": (lambda x, c, C: x * np.max(np.concatenate([x, x])), True),
    "min_axis": (lambda x, c, C: np.repeat(np.min(np.reshape(x, (2, 3)), axis=1), 3) + x, False),
    "amax_keepdims": (lambda x, c, C: (np.reshape(x, (3, 2)) /
                                       (2 + np.abs(np.amax(np.reshape(x, (3, 2)), axis=0,
                                                           keepdims=True)))).ravel(), False),
    "softmax": (_softmax, True),
    "softmax_rows": (_softmax_rows, True),
    "log_softmax": (_log_softmax, True),
    "broadcast_outer": (lambda x, c, C: np.sum(x[:, None] * c[None, :], axis=1) / N + x, True),
    "reverse": (lambda x, c, C: x[::-1] * x, True),
    "gather": (lambda x, c, C: x[np.array([0, 2, 2, 5, 1, 3])] * x, True),
    "strided": (lambda x, c, C: np.concatenate([x[::2] * 2, x[1::2]]), True),
    "set_slice": (_set_slice, True),
    "set_scalar": (_set_scalar, True),
    "set_fancy": (_set_fancy, True),
    "iadd": (_iadd, True),
    "view_write": (_view_write, True),
    "reshape_view_write": (_reshape_view_write, True),
    "transpose_view_write": (_transpose_view_write, True),
    "add_at": (_add_at, True),
    "refilled_buffer": (_refilled_buffer, True),
    "aliases": (_aliases, True),
    "numpy_scalars": (lambda x, c, C: np.abs(x) ** 1.5 * np.float32(0.5) + x * np.float64(2.0),
                      True),
    "stack": (lambda x, c, C: np.mean(np.stack([x, c * x, x ** 2]), axis=0), True),
    "reshape_T": (lambda x, c, C: np.reshape(x, (2, 3)).T.ravel(), True),
    "matmul": (lambda x, c, C: C @ x / 3, True),
    "einsum": (lambda x, c, C: np.einsum("ij,j,i->i", C, x, x) / N, True),
    "solve": (lambda x, c, C: np.linalg.solve(C + 4.0 * np.eye(N), x), True),
    "inv": (lambda x, c, C: np.linalg.inv(_spd(x, C)) @ c, True),
    "det": (lambda x, c, C: x * np.linalg.det(_spd(x, C) / 4.0), True),
    "slogdet": (lambda x, c, C: x + np.linalg.slogdet(_spd(x, C))[1], True),
    "eigvalsh": (lambda x, c, C: np.linalg.eigh(_spd(x, C))[0] / 4.0, True),
    "svd": (lambda x, c, C: np.linalg.svd(C + np.diag(x) * 3.0, compute_uv=False), True),
    "cholesky": (lambda x, c, C: np.linalg.cholesky(_spd(x, C))[:, 0], True),
    "where": (lambda x, c, C: np.where(x > c, x * 2, x ** 2), False),
    "clip": (lambda x, c, C: np.clip(x, -0.5, 0.5) + x, False),
    "sort": (lambda x, c, C: np.sort(x) * np.arange(1.0, N + 1), True),
    "cumsum": (lambda x, c, C: np.cumsum(x) / 3, True),
    "complex_abs": (lambda x, c, C: np.abs(x + 1j * (c + 1.5)), True),
    "fft_real": (lambda x, c, C: np.real(np.fft.fft(x * c)) / N + x, True),
    "argmax_index": (lambda x, c, C: x * x[np.argmax(x)] + C[np.argmin(x)], False),
    "mask_sum": (lambda x, c, C: x + np.sum(x[x > 0]) - np.sum(x, where=x < c), False),
    "astype_index": (lambda x, c, C: x * np.take(c, np.clip(np.abs(x * 2).astype(int), 0, N - 1)),
                     False),
    "round_sign": (lambda x, c, C: np.round(x * 2) * x + np.sign(x) * x ** 2, False),
    "nonzero": (lambda x, c, C: x + np.sum(x[np.nonzero(np.round(x))]), False),
    "argsort": (lambda x, c, C: x[np.argsort(x)] * c, False),
    "mean_where": (lambda x, c, C: x - np.mean(x, where=x != c), False),
    "max_initial": (lambda x, c, C: x * np.max(x, initial=0.5), False),
    "var_ddof": (lambda x, c, C: x * np.var(np.reshape(x, (2, 3)), axis=1, ddof=1).sum(), True),
    "norm_axis": (lambda x, c, C: np.repeat(np.linalg.norm(np.reshape(x, (3, 2)), axis=1), 2)
                  * x, False),
    "cumprod_diff": (lambda x, c, C: np.concatenate([np.diff(np.cumprod(np.tanh(x) + 1.5)),
                                                     x[:1]]), True),
    "sum_dtype": (lambda x, c, C: x * np.sum(x, dtype=np.float64), True),
    "complex_mul": (lambda x, c, C: np.real((x + 0.5j) * (x - 2j) * np.exp(1j * x)), True),
}


# steps whose shapes or indices depend on the values: jit refuses them (ConcretizationError,
# tested in test_jit.py); the auto-staged Jacobians record them on every call
VALUE_DEPENDENT = {"argmax_index", "mask_sum", "nonzero", "astype_index"}


# steps defined for complex x (holomorphic or not), for programs with complex inputs
COMPLEX = {"sin", "exp_tanh", "log1p_sq", "reciprocal", "pow3", "scalars", "int_array", "int_pow",
           "mean_center", "sum_sq_scale", "sum_axis_keepdims", "mean_axis1", "broadcast_outer",
           "reverse", "gather", "strided", "set_slice", "set_scalar", "set_fancy", "iadd",
           "view_write", "reshape_view_write", "transpose_view_write", "add_at", "stack",
           "refilled_buffer", "aliases",
           "reshape_T", "matmul", "einsum", "solve", "cumsum", "cumprod_diff",
           "complex_abs", "abs", "sqrt_abs", "fft_real", "var_std"}


def _program(seed):
    """A random program: its step names and its dtype (float64, float32 or complex128;
    a complex program's steps are drawn from COMPLEX)."""
    rng = np.random.default_rng(seed)
    dtype = [np.float64, np.float64, np.float32, np.complex128][int(rng.integers(4))]
    steps = sorted(COMPLEX if dtype == np.complex128 else STEPS)
    names = [str(n) for n in rng.choice(steps, size=int(rng.integers(2, 6)))]
    return names, dtype


def _make(names, env):
    """The program as a function of x reading the closed-over arrays env["c"], env["C"]
    at call time, and its scalar loss."""
    def f(x):
        for name in names:
            x = STEPS[name][0](x, env["c"], env["C"])
        return x

    def loss(x):
        y = f(x)
        return np.sum(np.tanh(np.real(y)) * env["w"] + np.imag(y) * env["w"][::-1])
    return f, loss


def _input(rng, dtype, call=0):
    """An input x: normal on calls 1 and 3, small integers on call 2 (ties for max, min,
    sort and maximum, zeros at the singular points of abs, sqrt, where's branches)."""
    if call == 1:
        x = rng.integers(-2, 3, N).astype(dtype)
    else:
        x = rng.standard_normal(N).astype(dtype)
    if dtype == np.complex128:
        x = x + 1j * _input(rng, np.float64, call)
    return x


def _draw(rng, dtype, call=0):
    """New values: an input x, the closures c, C and the loss weights w."""
    real = np.float32 if dtype == np.float32 else np.float64
    return (_input(rng, dtype, call),
            dict(c=rng.standard_normal(N).astype(real),
                 C=rng.standard_normal((N, N)).astype(real),
                 w=rng.standard_normal(N).astype(real)))


def _assert_same(got, expected, dtype, what):
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype}, expected {expected.dtype}"
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, expected {expected.shape}"
    np.testing.assert_allclose(got, expected, err_msg=what, **tol)


def _numpy_value(names, env, x):
    """The program run by NumPy alone (no riesz in the call)."""
    f, _ = _make(names, env)
    return f(x.copy())


def _check_program(seed):
    names, dtype = _program(seed)
    rng = np.random.default_rng(10_000 + seed)
    x0, env = _draw(rng, dtype)
    f, loss = _make(names, env)
    where = f"seed {seed}, program {names}, {np.dtype(dtype).name}"

    # eager riesz vs NumPy
    value, _ = riesz.value_and_grad(loss)(x0)
    _assert_same(value, loss(x0), dtype, f"{where}: eager value of the loss")
    y, _ = riesz.vjp(f, x0)
    _assert_same(y, _numpy_value(names, env, x0), dtype, f"{where}: eager value")

    # jit vs eager, on three calls with new inputs (closures fixed: jit freezes them)
    if VALUE_DEPENDENT.isdisjoint(names):
        _check_jit(names, dtype, rng, env, x0, where)

    # auto-staged Jacobians vs eager, closures mutated in place between calls
    _check_staged(names, dtype, rng, *_make(names, env), x0, env, where)


def _check_jit(names, dtype, rng, env, x0, where):
    """jit(f), jit(grad(loss)), jit(hessian(loss)) against eager on three calls; the closed-over
    arrays are changed in place after the first call, and jit answers with the values it
    froze (an eager twin of the program keeps them)."""
    f, loss = _make(names, env)   # reads env when called
    jf, jg, jh = riesz.jit(f), riesz.jit(riesz.grad(loss)), riesz.jit(riesz.hessian(loss))
    f, loss = _make(names, {k: v.copy() for k, v in env.items()})
    for call in range(3):
        x = x0 if call == 0 else _input(rng, dtype, call)
        if call == 1:
            for v in env.values():
                v[...] = rng.standard_normal(v.shape)
        tag = f"{where}, call {call + 1}"
        _assert_same(jf(x), f(x), dtype, f"{tag}: jit(f)")
        _assert_same(jg(x), eager.grad(loss)(x), dtype, f"{tag}: jit(grad)")
        _assert_same(jh(x), eager.hessian(loss)(x), dtype, f"{tag}: jit(hessian)")


def _check_staged(names, dtype, rng, f, loss, x0, env, where):
    """The auto-staged Jacobians against eager, closures mutated in place between calls."""
    staged = dict(jacobian=riesz.jacobian(f), jacfwd=riesz.jacfwd(f), jacrev=riesz.jacrev(f),
                  hessian=riesz.hessian(loss))
    for call in range(3):
        x, new = _draw(rng, dtype, call)
        if call:
            for k in env:
                env[k][...] = new[k]
        else:
            x = x0
        tag = f"{where}, call {call + 1}"
        for name, fn in staged.items():
            try:
                expected = getattr(eager, name)(loss if name == "hessian" else f)(x)
            except TypeError as error:   # jacfwd of complex to real: refused, by design
                with pytest.raises(TypeError, match=str(error)[:20]):
                    fn(x)
                continue
            _assert_same(fn(x), expected, dtype, f"{tag}: riesz.{name}")


SEEDS = range(FUZZ_SEED, FUZZ_SEED + FUZZ)


@pytest.mark.parametrize("seed", SEEDS)
def test_staged_and_jitted_match_eager(seed):
    _check_program(seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_matches_finite_differences(seed):
    names, dtype = _program(seed)
    if not all(STEPS[n][1] for n in names):
        pytest.skip("a kink or a branch: finite differences straddle it")
    rng = np.random.default_rng(20_000 + seed)
    x, env = _draw(rng, np.complex128 if dtype == np.complex128 else np.float64)
    _, loss = _make(names, env)
    riesz.testing.check_grads(loss, (x,), order=2 if seed % 4 == 0 else 1)


if __name__ == "__main__":
    print(_program(int(sys.argv[1])))


class _NoCompute:
    """A Dask scheduler that refuses to compute: riesz must build derivatives lazily."""

    def __call__(self, dsk, keys, **kwargs):
        raise AssertionError("riesz computed a Dask graph while building a derivative")


@pytest.mark.parametrize("seed", [s for s in SEEDS if s % 3 == 0])
def test_dask_inputs_give_numpys_values_lazily(seed):
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    names, dtype = _program(seed)
    if "reshape_view_write" in names:
        pytest.skip("a Dask array has no views: a write into its reshape never reaches it")
    if "fft_real" in names:   # (Dask's own error says so)
        pytest.skip("Dask's FFT takes one chunk along its axis; concatenations split chunks")
    rng = np.random.default_rng(30_000 + seed)
    x, env = _draw(rng, dtype)
    _, loss = _make(names, env)
    with dask.config.set(scheduler=_NoCompute()):
        try:
            value, g = riesz.value_and_grad(loss)(da.from_array(x, chunks=3))
        except TypeError as error:   # what Dask cannot do, refused by name
            pytest.skip(f"refused: {str(error)[:80]}")
    assert isinstance(g, da.Array), f"seed {seed}, {names}: the gradient is {type(g)}"
    where = f"seed {seed}, program {names}, {np.dtype(dtype).name}: Dask"
    _assert_same(np.asarray(value.compute() if hasattr(value, "compute") else value),
                 np.asarray(loss(x)), dtype, f"{where} value")
    _assert_same(g.compute(), eager.grad(loss)(x), dtype, f"{where} gradient")
