"""The structured standard basis of jacobian, jacfwd, jacrev and hessian (issue 12, item 4):
one input (or output) leaf's basis is pushed as a riesz.rules.batching.ScaledBasis, the
identity held as its diagonal, and must answer as the dense identity did, eagerly and
staged; at a matrix holding ±∞ or NaN it answers with riesz's 0 × ∞ = 0."""
import numpy as np
import pytest

import riesz
from riesz import transforms
from riesz.batching import batch_map
from riesz.rules.batching import ScaledBasis, densify
from riesz.testing import check_grads

rng = np.random.default_rng(7)
A = rng.standard_normal((4, 4))
B = rng.standard_normal((4, 3))
D = rng.standard_normal(4) + 2.0
D23 = rng.standard_normal((1, 3)) + 2.0


@pytest.fixture
def dense_basis(monkeypatch):
    """The Jacobians as riesz computed them before: the dense identity for every leaf."""
    def use_dense():
        monkeypatch.setattr(transforms, "_basis_batches", transforms._standard_basis)
    return use_dense


# f, an example point: every structured rule on the way of a Jacobian (matmul on either
# side, with a matrix, a vector, a 1 × 1 matrix; products, quotients, negation, complex
# parts, sums, reshapes, transposes of length-1 axes), and ones that densify
FUNCTIONS = {
    "tanh(Ax)": (lambda x: np.tanh(A @ x), rng.standard_normal(4)),
    "x @ B": (lambda x: np.sin(x @ B), rng.standard_normal(4)),
    "x·x, x ⊙ d": (lambda x: (x @ x) * x * D - x / D, rng.standard_normal(4)),
    "x ⊗ x": (lambda x: np.outer(x, x).ravel(), rng.standard_normal(4)),
    "matrix input": (lambda X: np.sum(np.exp(X) * D23, axis=1), rng.standard_normal((2, 3))),
    "reshape, transpose": (lambda X: np.cos(X.reshape(6, 1).T @ X.reshape(6, 1)),
                           rng.standard_normal((2, 3))),
    "float32": (lambda x: np.tanh(A.astype(np.float32) @ x) * np.float32(2),
                rng.standard_normal(4).astype(np.float32)),
    "complex": (lambda z: np.conj(A @ z) * z - np.real(z) + 1j * np.imag(z) ** 2,
                rng.standard_normal(4) + 1j * rng.standard_normal(4)),
    "broadcast": (lambda x: x[:, None] * B + np.sum(-x), rng.standard_normal(4)),
    "logsumexp": (lambda x: np.log(np.sum(np.exp(A @ x))) + 0.5 * (x @ x), rng.standard_normal(4)),
}
REAL_TO_REAL = [k for k in FUNCTIONS if k != "complex"]


def _each(f, x, make):
    """The eager transform, and the auto-staged one on its first three calls (eager replay,
    staging, the staged program)."""
    eager = getattr(transforms, make)(f)(x)
    auto = getattr(riesz, make)(f)
    return [eager] + [auto(x) for _ in range(3)]


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("make", ["jacfwd", "jacrev", "jacobian"])
def test_jacobians_equal_the_dense_basis(name, make, dense_basis):
    f, x = FUNCTIONS[name]
    if name == "complex" and make == "jacfwd":
        pytest.skip("jacfwd refuses a complex input with a real output part (documented)")
    structured = _each(f, x, make)
    dense_basis()
    dense = _each(f, x, make)
    for s, d in zip(structured, dense):
        assert s.dtype == d.dtype and s.shape == d.shape
        np.testing.assert_allclose(s, d, rtol=1e-13 if d.dtype.itemsize >= 8 else 1e-6, atol=0)


@pytest.mark.parametrize("name", ["tanh(Ax)", "x·x, x ⊙ d", "matrix input", "logsumexp",
                                  "reshape, transpose"])
def test_hessians_equal_the_dense_basis(name, dense_basis):
    # a vector output's Hessian: the inner jacrev's basis is then scaled by values traced
    # by the outer jacfwd (densify's traced branch)
    f, x = FUNCTIONS[name]
    structured = _each(f, x, "hessian")
    dense_basis()
    for s, d in zip(structured, _each(f, x, "hessian")):
        np.testing.assert_allclose(s, d, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("make", ["jacfwd", "jacrev"])
def test_jacobian_derivatives_against_finite_differences(make):
    # the Jacobian, as a function of x, differentiated in both modes to second order
    f, x = FUNCTIONS["tanh(Ax)"]
    check_grads(getattr(riesz, make)(f), (x,), order=2, modes=("fwd", "rev"))
    f, x = FUNCTIONS["float32"]
    check_grads(getattr(riesz, make)(f), (x,), order=1, modes=("fwd", "rev"))


# ---------------------------------------------------------- the rules, one primitive at a time

V = rng.standard_normal(4) + 1.5                 # a scaled basis, not just the identity
RULE_CASES = {
    "multiply": lambda e: e * D,
    "zero_safe_multiply": lambda e: riesz.rules.define.zero_safe_multiply(D, e),
    "divide": lambda e: e / D,
    "divide by the basis (dense: 1/0 off the diagonal)": lambda e: D / e,
    "negative": lambda e: -e,
    "real, imag, conj": lambda e: np.real(e * (1 + 2j)) + np.imag(np.conj(e * 1j)),
    "matmul right": lambda e: A @ e,
    "matmul left": lambda e: e @ B,
    "dot": lambda e: e @ D + D @ e,
    "column, 1 × 1": lambda e: e.reshape(4, 1) @ D[:1].reshape(1, 1),
    "sum": lambda e: np.sum(e),
    "sum, keepdims": lambda e: np.sum(e.reshape(2, 2), axis=(0, 1), keepdims=True),
    "sum of one axis (dense)": lambda e: np.sum(e.reshape(2, 2), axis=0),
    "reshape": lambda e: e.reshape(2, 2) * D.reshape(2, 2),
    "transpose of a length-1 axis": lambda e: e.reshape(4, 1).T * D,
    "transpose (dense)": lambda e: e.reshape(2, 2).T,
    "add (dense)": lambda e: e + e * D,
}


@pytest.mark.parametrize("name", RULE_CASES)
def test_each_rule_equals_the_dense_batch(name):
    f = RULE_CASES[name]
    for v in (V, V.astype(np.float32)):
        with np.errstate(divide="ignore"):
            structured, _, flags = batch_map(f, [ScaledBasis(v)], [True], 4)
            dense, _, _ = batch_map(f, [densify(ScaledBasis(v))], [True], 4)
        assert flags == [True] and type(structured[0]) is np.ndarray
        assert structured[0].dtype == dense[0].dtype
        np.testing.assert_allclose(structured[0], dense[0], rtol=1e-6 if v.dtype == np.float32
                                   else 1e-15, atol=0)


def test_shapes_that_do_not_contract_raise_as_numpy_does():
    # a (1,) or 1 × 4 operand would broadcast in a product; matmul refuses it
    for other in (np.ones(1), np.ones((1, 4))):
        with pytest.raises(ValueError):
            batch_map(lambda e: e @ other, [ScaledBasis(V)], [True], 4)


def test_the_dense_batch_of_a_scaled_basis():
    v = np.array([[1.0, -2.0], [np.inf, 0.5]])
    expected = np.zeros((4, 4))
    expected[np.arange(4), np.arange(4)] = v.ravel()
    np.testing.assert_array_equal(densify(ScaledBasis(v)), expected.reshape(4, 2, 2))


# ------------------------------------------------------ singular points: 0 × ∞ = 0 off the diagonal

@pytest.mark.parametrize("make", ["jacfwd", "jacrev", "jacobian"])
def test_a_matrix_with_infinities_keeps_its_finite_entries(make, dense_basis):
    # J = A exactly. The dense basis took A @ I (forward) or I @ A (reverse) and met
    # 0 × ∞ off the diagonal: NaN in a whole row or column. The structured basis reads each
    # entry of A once: riesz's 0 × ∞ = 0. Eager and staged agree.
    M = A.copy()
    M[1, 2], M[3, 0] = np.inf, np.nan
    f = lambda x: M @ x
    for jac in _each(f, np.ones(4), make):
        np.testing.assert_array_equal(jac, M)
    dense_basis()
    with np.errstate(invalid="ignore"):
        assert np.isnan(getattr(transforms, make)(f)(np.ones(4))[1, 0])


@pytest.mark.parametrize("make", ["jacfwd", "jacrev", "hessian"])
def test_the_staged_program_reads_a_mutated_matrix(make):
    # the basis's product with A (A ⊙ v, v ⊙ A) is computed from A on each call, never
    # frozen into the staged program
    M = rng.standard_normal((4, 4))
    f = lambda x: np.tanh(M @ x) if make != "hessian" else np.sum(np.exp(M @ x))
    jac, x = getattr(riesz, make)(f), rng.standard_normal(4)
    for _ in range(4):
        M[...] = rng.standard_normal((4, 4))
        np.testing.assert_allclose(jac(x), getattr(transforms, make)(f)(x), rtol=1e-13)


@pytest.mark.parametrize("make", ["jacfwd", "jacrev", "hessian"])
def test_pytrees_equal_the_dense_basis(make, dense_basis):
    # one leaf in a dict (structured) and two leaves (the dense basis, as before)
    one = (lambda p: np.tanh(A @ p["w"]) * np.sum(p["w"]), {"w": rng.standard_normal(4)})
    two = (lambda p: np.tanh(A @ p[0]) * p[1][0], (rng.standard_normal(4), rng.standard_normal(1)))
    results = [_each(f, x, make) for f, x in (one, two)]
    dense_basis()
    for (f, x), structured in zip((one, two), results):
        for s, d in zip(structured, _each(f, x, make)):
            for a, b in zip(riesz.tree_util.tree_leaves(s), riesz.tree_util.tree_leaves(d)):
                np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
