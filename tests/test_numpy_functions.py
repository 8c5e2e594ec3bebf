"""The NumPy functions of the shape, indexing, linear-algebra, FFT and creation families on
traced values: the same values as NumPy, derivatives of the compositions that the spec
table does not reach, indexed assignment, and the conventions where derivatives fail."""
import warnings

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from riesz import grad, jvp, vjp
from riesz.testing import check_grads
from specs.case import needs_numpy

rng = np.random.default_rng(0)
X34 = rng.standard_normal((3, 4))
SPD = (lambda a: a @ a.T + 3 * np.eye(3))(rng.standard_normal((3, 3)))

# (name, function of one array, input): the traced result must equal NumPy's
SAME_VALUES = [
    ("concatenate", lambda x: np.concatenate([x, 2 * x], axis=-1), X34),
    ("stack", lambda x: np.stack([x, x + 1], axis=1), X34),
    ("hstack", lambda x: np.hstack([x, x]), X34),
    ("vstack", lambda x: np.vstack([x[0], x[1]]), X34),
    ("dstack", lambda x: np.dstack([x, x]), X34),
    ("column_stack", lambda x: np.column_stack([x[0], x[1]]), X34),
    ("split", lambda x: np.split(x, [1, 3], axis=1)[1], X34),
    ("array_split", lambda x: np.array_split(x, 3, axis=1)[0], X34),
    ("hsplit", lambda x: np.hsplit(x, 2)[1], X34),
    ("vsplit", lambda x: np.vsplit(x, 3)[2], X34),
    ("tile", lambda x: np.tile(x, (2, 1, 2)), X34),
    ("repeat", lambda x: np.repeat(x, 2), X34),
    ("repeat-array", lambda x: np.repeat(x, [2, 0, 1, 1], axis=1), X34),
    ("pad-constant", lambda x: np.pad(x, ((0, 1), (2, 1)), constant_values=-1.5), X34),
    ("pad-edge", lambda x: np.pad(x, 2, mode="edge"), X34),
    ("pad-reflect", lambda x: np.pad(x, ((2, 1), (0, 3)), mode="reflect"), X34),
    ("pad-symmetric", lambda x: np.pad(x, 1, mode="symmetric"), X34),
    ("flip", lambda x: np.flip(x), X34),
    ("roll", lambda x: np.roll(x, 5), X34),
    ("roll-axes", lambda x: np.roll(x, (1, -1), axis=(1, 0)), X34),
    ("rot90", lambda x: np.rot90(x, 3), X34),
    ("triu", lambda x: np.triu(x, 1), X34),
    ("tril", lambda x: np.tril(x, -1), X34),
    ("tril-1d", lambda x: np.tril(x[0]), X34),
    ("diag", lambda x: np.diag(x, 1), X34),
    ("diag-1d", lambda x: np.diag(x[0], -2), X34),
    ("diagflat", lambda x: np.diagflat(x[:2]), X34),
    ("atleast_2d", lambda x: np.atleast_2d(x[0, 0]), X34),
    ("atleast_3d", lambda x: np.atleast_3d(x[0]), X34),
    ("take", lambda x: np.take(x, [[1, 5], [0, 11]]), X34),
    ("take-wrap", lambda x: np.take(x, [4, -6], axis=1, mode="wrap"), X34),
    ("sort", lambda x: np.sort(x, axis=None), X34),
    ("partition", lambda x: np.partition(x, 2, axis=1)[:, 2], X34),
    ("select", lambda x: np.select([x > 1, x < 0], [x, x * 2], -1.0), X34),
    ("choose", lambda x: np.choose([[0, 1, 2, 1]], [x, -x, x * 3]), X34),
    ("cross", lambda x: np.cross(x[:, :3], x[:, 1:]), X34),
    ("cross-axis", lambda x: np.cross(x[:3, :2], x[:3, 2:], axisa=0, axisb=0, axisc=0), X34),
    ("outer", lambda x: np.outer(x[0], x[1:]), X34),
    ("kron", lambda x: np.kron(x[:2, :2], x[1:, 1:]), X34),
    ("inner", lambda x: np.inner(x, x[:2]), X34),
    ("vdot", lambda x: np.vdot(x, x), X34),
    ("einsum-trace", lambda x: np.einsum("ii", x[:, :3]), X34),
    ("einsum-implicit", lambda x: np.einsum("ij,kj", x, x), X34),
    ("einsum-ellipsis", lambda x: np.einsum("...i,...i->...", x, x[0]), X34),
    ("einsum-broadcast", lambda x: np.einsum("ij,ij->ij", x[:1], x), X34),
    ("einsum-sublist", lambda x: np.einsum(x, [Ellipsis, 1], x, [0, 1]), X34),
    ("solve", lambda a: np.linalg.solve(a, a[0]), SPD),
    ("lstsq-residuals", lambda x: np.linalg.lstsq(x.T, x[0])[1], X34),
    ("matrix_power", lambda a: np.linalg.matrix_power(a, 5), SPD),
    ("matrix_power-0", lambda a: np.linalg.matrix_power(a, 0), SPD),
    ("tensorsolve", lambda a: np.linalg.tensorsolve(np.kron(a, a).reshape(3, 3, 3, 3), a),
     SPD),
    ("fft-n", lambda x: np.fft.fft(x, n=6, axis=0), X34),
    ("rfftn", lambda x: np.fft.rfftn(x, s=(2, 5), axes=(0, 1)), X34),
    ("irfftn", lambda x: np.fft.irfftn(x, s=(4, 6), axes=(0, 1)), X34),
    ("fftshift", lambda x: np.fft.fftshift(x), X34),
]


@pytest.mark.parametrize("name,fn,x", SAME_VALUES, ids=[c[0] for c in SAME_VALUES])
def test_traced_values_equal_numpy(name, fn, x):
    traced, _ = jvp(fn, (x,), (np.ones_like(x),))
    np.testing.assert_allclose(traced, fn(x), rtol=1e-12, atol=1e-12)


# compositions whose only primitive belongs to another family (where, multiply)
@pytest.mark.parametrize("fn,shapes", [
    (lambda x: np.triu(x, -1) * np.tril(x), [(3, 4)]),
    (lambda x, y: np.select([x > 0, y > 0], [x * y, y], default=x), [(3, 4), (3, 4)]),
    (lambda x, y: np.choose(np.array([0, 1, 1, 0]), [x, y]), [(3, 4), (4,)]),
    (lambda x, y: np.cross(x, y), [(2, 3), (3,)]),
    (lambda x, y: np.outer(x, y).ravel() + np.kron(x, y), [(3,), (3,)]),
    pytest.param(lambda x: np.linalg.svdvals(x @ x.T + 3 * np.eye(3))
                 + np.linalg.svd(x, compute_uv=False)[0], [(3, 2)],
                 marks=needs_numpy("linalg.svdvals")),
])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_derived_functions(fn, shapes, dtype):
    args = tuple(rng.standard_normal(s).astype(dtype) for s in shapes)
    check_grads(fn, args, order=2)


# ------------------------------------------------------------ creation

def test_array_of_traced_scalars_is_one_concatenation():
    def f(x):
        return rnp.array([x[i] * x[i] for i in range(len(x))])
    x = np.arange(4.0)
    _, pullback = vjp(f, x)
    np.testing.assert_allclose(pullback(np.ones(4))[0], 2 * x)
    trace = riesz.core.VJPTrace()
    f(trace.new_input(x))
    names = [n.prim.name for n in trace.tape if isinstance(n, riesz.core.Node)]
    assert names.count("concatenate") == 1 and "add" not in names


def test_asarray_keeps_derivatives_and_leaves_arrays_alone():
    assert grad(lambda x: np.sum(rnp.asarray([x, 2 * x]) ** 2))(1.5) == pytest.approx(15.0)
    plain = np.arange(3.0)
    assert rnp.asarray(plain) is plain
    assert rnp.random is np.random


# ------------------------------------------------------------ indexed assignment

def test_assignment_gradient_flows_to_array_and_value():
    def f(y, v):
        y = y * 1.0
        y[1:3] = v            # y's entries 1, 2 are overwritten: no gradient to them
        y[0] += 2 * v[0]
        return np.sum(y * np.arange(1.0, 5.0))
    gy, gv = grad(f, argnums=(0, 1))(np.ones(4), np.array([5.0, 7.0]))
    np.testing.assert_allclose(gy, [1.0, 0.0, 0.0, 4.0])
    np.testing.assert_allclose(gv, [2.0 + 2.0, 3.0])


def test_assignment_of_a_list_of_traced_values():
    def f(x):
        y = x * 1.0
        y[1:] = [x[0] * x[1], 3.0]
        return y
    np.testing.assert_allclose(riesz.jacobian(f)(np.array([2.0, 5.0, 7.0])),
                               [[1, 0, 0], [5, 2, 0], [0, 0, 0]])


def test_assignment_rebinds_every_name_of_the_array():
    def f(x):
        y = x * 1.0
        alias = y
        y[0] = 10 * x[1]
        return alias[0]       # NumPy semantics: the alias sees the update
    np.testing.assert_allclose(grad(f)(np.ones(2)), [0.0, 10.0])
    np.testing.assert_allclose(jvp(f, (np.ones(2),), (np.array([0.0, 1.0]),))[1], 10.0)


def test_assignment_with_value_traced_at_a_higher_level():
    # y is traced by the outer grad, v by the inner one: y becomes a value of the inner level
    def outer(x):
        y = x * np.ones(3)
        def inner(v):
            z = y * 1.0
            z[1] = v * x
            return np.sum(z * z)
        return grad(inner)(2.0)        # ∂/∂v Σz² = 2 v x²
    assert grad(outer)(3.0) == pytest.approx(2 * 2.0 * 2 * 3.0)


def test_assignment_across_kinds_of_trace_is_a_clear_error():
    def outer(x):
        y = x * np.ones(3)
        def inner(v):
            y[0] = v
            return np.sum(y)
        return grad(inner)(1.0)
    with pytest.raises(TypeError, match=r"riesz\.numpy\.at\(y\)\[idx\]\.set\(v\)"):
        jvp(outer, (1.0,), (1.0,))


@pytest.mark.parametrize("assign", [
    lambda y, v: y.__setitem__(0, v), lambda y, v: y.__setitem__(slice(0, 2), v * np.ones(2))])
def test_assignment_into_numpy_array_names_the_fix(assign):
    def f(v):
        y = np.zeros(3)
        assign(y, v)
        return np.sum(y)
    with pytest.raises((TypeError, ValueError)) as err:
        grad(f)(1.0)
    chain = f"{err.value} {err.value.__cause__}"
    assert "riesz.numpy.at(y)[idx].set(v)" in chain


def test_at_updates_numpy_arrays_functionally():
    y = np.zeros(4)
    g = grad(lambda v: np.sum(rnp.at(y)[[1, 1, 3]].add(v) ** 2))(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g, [6.0, 6.0, 6.0])   # entry 1 holds 1 + 2 = 3
    np.testing.assert_allclose(rnp.at(y)[2].set(5.0), [0, 0, 5, 0])
    assert not y.any()


def test_put_along_axis_and_sort_update_in_place():
    def f(x):
        y = x * 1.0
        np.put_along_axis(y, np.array([[0], [2]]), 0.0, axis=1)
        y.sort(axis=1)
        return y[:, -1]
    x = np.array([[3.0, 1.0, 2.0], [1.0, 5.0, 4.0]])
    value, pullback = vjp(f, x)
    np.testing.assert_allclose(value, [2.0, 5.0])
    np.testing.assert_allclose(pullback(np.ones(2))[0], [[0, 0, 1], [0, 1, 0]])
    with pytest.raises(TypeError, match="put_along_axis"):
        grad(lambda v: np.put_along_axis(np.zeros((1, 2)), np.array([[0]]), v, 1))(1.0)


def test_scatter_of_repeated_indices_adds_up():
    g = grad(lambda x: np.sum(x[np.array([0, 0, 2])] * np.array([1.0, 2.0, 3.0])))(np.ones(3))
    np.testing.assert_allclose(g, [3.0, 0.0, 3.0])


# ------------------------------------------------------------ where derivatives fail

def test_eigh_at_repeated_eigenvalues_warns_and_stays_finite():
    a = np.diag([1.0, 1.0, 2.0])
    with pytest.warns(RuntimeWarning, match="numpy.linalg.eigh: repeated eigenvalues"):
        g = grad(lambda a: np.sum(np.linalg.eigh(a)[1][:, 0]))(a)
    assert np.isfinite(g).all()
    # the eigenvalues alone need no eigenvector derivative: no warning, the exact answer
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(grad(lambda a: np.linalg.eigvalsh(a)[2])(a),
                                   np.diag([0.0, 0.0, 1.0]))


_Q = np.linalg.qr(np.random.default_rng(3).standard_normal((3, 3)))[0]
_SIGMAS = {"distinct": [3.0, 2.0, 1.0], "top repeated": [2.0, 2.0, 1.0],
           "bottom repeated": [3.0, 1.0, 1.0], "rank deficient": [2.0, 1.0, 0.0]}
# which of the matrices Q diag(σ) Qᵀ each function has no derivative at
_SINGULAR_FUNCTIONS = [
    ("numpy.linalg.norm(x, 2)", lambda a: np.linalg.norm(a, 2), {"top repeated"}),
    ("numpy.linalg.norm(x, -2)", lambda a: np.linalg.norm(a, -2),
     {"bottom repeated", "rank deficient"}),
    ("numpy.linalg.norm(x, 'nuc')", lambda a: np.linalg.norm(a, "nuc"), {"rank deficient"}),
    ("numpy.linalg.cond", np.linalg.cond, {"top repeated", "bottom repeated", "rank deficient"}),
    pytest.param("numpy.linalg.svdvals", lambda a: np.linalg.svdvals(a) @ np.array([1.0, 2.0, 3.0]),
                 {"top repeated", "bottom repeated", "rank deficient"},
                 marks=needs_numpy("linalg.svdvals")),
]


@pytest.mark.parametrize("name,f,singular", _SINGULAR_FUNCTIONS,
                         ids=["norm 2", "norm -2", "norm nuc", "cond", "svdvals"])
@pytest.mark.parametrize("sigmas", sorted(_SIGMAS))
def test_singular_value_functions_warn_where_their_derivative_fails(name, f, singular, sigmas):
    a = (_Q * _SIGMAS[sigmas]) @ _Q.T
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        g = grad(f)(a)
    ours = [w for w in record if "singular values" in str(w.message)]
    assert len(ours) == (sigmas in singular)
    if ours:
        assert str(ours[0].message).startswith(f"{name}: repeated or zero singular values")
    else:   # where the derivative exists it is the exact one: check it against differences
        step = 1e-6 * np.random.default_rng(4).standard_normal((3, 3))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert np.isclose(np.sum(g * step), f(a + step) - f(a), rtol=1e-3, atol=1e-10)


def test_svd_at_repeated_singular_values_warns():
    with pytest.warns(RuntimeWarning, match="numpy.linalg.svd: repeated singular values"):
        g = grad(lambda a: np.sum(np.linalg.svd(a, full_matrices=False)[0] ** 3))(np.eye(3))
    assert np.isfinite(g).all()


def test_det_of_singular_matrix_names_det():
    with pytest.raises(np.linalg.LinAlgError, match="numpy.linalg.det"):
        grad(np.linalg.det)(np.ones((2, 2)))


def test_unsupported_forms_say_so():
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        grad(lambda a: np.sum(np.linalg.svd(a)[0]))(np.ones((3, 2)))
    with pytest.raises(NotImplementedError, match="m < n"):
        grad(lambda a: np.sum(np.linalg.qr(a)[1]))(np.ones((2, 3)))
    with pytest.raises(NotImplementedError, match="numpy.pad.mode=<function"):
        grad(lambda x: np.sum(np.pad(x, 1, mode=lambda v, w, i, k: None)))(np.ones(2))


def test_cholesky_gradient_reads_the_lower_triangle():
    # NumPy's cholesky reads only the lower triangle, so the gradient is lower triangular
    g = grad(lambda a: np.sum(np.linalg.cholesky(a)))(SPD)
    assert np.all(np.triu(g, 1) == 0) and np.any(np.tril(g, -1) != 0)


def test_gradients_of_known_closed_forms():
    # ∇ log det A = A⁻ᵀ; ∇ Σ σ(A) = U Vᵀ; ∇ tr(A⁻¹) = −A⁻ᵀA⁻ᵀ
    a = SPD + rng.standard_normal((3, 3)) * 0.1
    np.testing.assert_allclose(grad(lambda a: np.linalg.slogdet(a)[1])(a), np.linalg.inv(a).T,
                               rtol=1e-10)
    u, _, vh = np.linalg.svd(a)
    np.testing.assert_allclose(grad(lambda a: np.sum(np.linalg.svd(a, compute_uv=False)))(a),
                               u @ vh, rtol=1e-10)
    ai = np.linalg.inv(a)
    np.testing.assert_allclose(grad(lambda a: np.einsum("ii", np.linalg.inv(a)))(a),
                               -(ai @ ai).T, rtol=1e-10)


def test_rfft_gradient_of_filtered_power():
    # f(x) = ⟨x, irfft(h ⊙ rfft(x))⟩ = Σₖ cₖ hₖ |Xₖ|² / n (Parseval, with the Hermitian weights
    # c = 1, 2, 2, 1 for n = 6); the operator is symmetric, so ∇f = 2 irfft(h ⊙ rfft(x))
    x = rng.standard_normal(6)
    h, c = np.array([0.5, 1.0, 3.0, 2.0]), np.array([1.0, 2.0, 2.0, 1.0])
    f = lambda x: np.sum(np.fft.irfft(np.fft.rfft(x) * h, n=6) * x)
    np.testing.assert_allclose(f(x), np.sum(c * h * np.abs(np.fft.rfft(x)) ** 2) / 6)
    np.testing.assert_allclose(grad(f)(x), 2 * np.fft.irfft(np.fft.rfft(x) * h, n=6), rtol=1e-12)


@pytest.mark.parametrize("make_copy", [lambda y: y.copy(), lambda y: np.copy(y),
                                       lambda y: rnp.array(y), lambda y: y.astype(y.dtype)])
def test_copies_are_independent_of_the_original(make_copy):
    def f(x):
        y = x * 1.0
        z = make_copy(y)
        z[0] = 0.0
        return np.sum(y) + 2 * np.sum(z)
    np.testing.assert_allclose(grad(f)(np.ones(3)), [1.0, 3.0, 3.0])


def test_complex_linear_algebra_and_fft():
    # the holomorphic ones follow JAX's convention (bilinear transposes)
    c = lambda *s: rng.standard_normal(s) + 1j * rng.standard_normal(s)
    a = c(3, 3) + 3 * np.eye(3)
    check_grads(lambda a, b: np.linalg.solve(a, b) + np.linalg.det(a), (a, c(3)), order=2)
    check_grads(lambda a, b: np.einsum("ij,jk", np.linalg.inv(a), b), (a, c(3, 2)), order=2)
    check_grads(lambda z: np.fft.ifft2(np.fft.fft(z) * 2j), (c(2, 3),), order=2)
    # the factorizations too, e.g. the pseudo-inverse (built on the SVD)
    check_grads(lambda a: np.linalg.pinv(a[:, :2]), (a,), order=2)


@pytest.mark.parametrize("make", [np.zeros_like, np.ones_like, lambda x: np.full_like(x, 2.0)])
def test_assign_into_a_like_array(make):
    # the NumPy idiom y = np.zeros_like(x); y[i] = ... works in both modes, to second order
    def f(x):
        y = make(x)
        y[0] = x[1] ** 2
        y[1:] = x[:-1] * 3
        return y * x
    x = np.array([0.5, -1.0, 2.0])
    check_grads(f, (x,), order=2)
    g = riesz.grad(lambda x: np.sum(f(x)))(x)
    # Σ y ⊙ x = x₁² x₀ + 3 x₀ x₁ + 3 x₁ x₂
    by_hand = np.array([x[1] ** 2 + 3 * x[1], 2 * x[1] * x[0] + 3 * x[0] + 3 * x[2], 3 * x[1]])
    np.testing.assert_allclose(g, by_hand)
    assert not isinstance(np.zeros_like(x), riesz.core.Tracer)
