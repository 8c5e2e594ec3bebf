"""riesz.vspace: the real vector space of a value (arrays, scalars, complex, pytrees), its
special vectors, operations and inner product, and the Riesz map between a gradient (a
covector) and the vector that represents the derivative."""
import functools
import itertools

import numpy as np
import pytest

import riesz
from riesz.testing import check_grads

VALUES = {
    "array": np.zeros((3, 2)),
    "float": 0.0,
    "numpy scalar": np.float32(0.0),
    "complex array": 1j * np.zeros((2, 1)),
    "complex scalar": 0j,
    "float32 array": np.zeros(3, np.float32),
    "list": [1.0, np.zeros((2, 1))],
    "tuple": (1.0, np.zeros((2, 1))),
    "dict": {"a": 1.0, "b": np.zeros((2, 1))},
    "mixed": {"x": [0.0, np.zeros((3, 1), np.complex128)], "y": ({"a": 0.0}, [0.0])},
}


def _close(a, b, space=None):
    # to the precision of the space's values (a float32 space's inner product may come out
    # as a float64 on NumPy 1, whose promotion reads Python floats by value)
    dtypes = [leaf.dtype for leaf in space.leaves] if space is not None else [np.result_type(a, b)]
    tol = 1e-6 if min(np.finfo(d).bits for d in dtypes) <= 32 else 1e-12
    return np.allclose(a, b, rtol=tol, atol=tol)


def _leaves(x):
    return riesz.tree_leaves(x)


@pytest.mark.parametrize("name", VALUES)
def test_the_vector_space_axioms_and_the_inner_product(name):
    vs = riesz.vspace(VALUES[name])
    rng = np.random.default_rng(0)
    x, y, z = (vs.randn(rng) for _ in range(3))
    a, b = 0.7, -1.3

    def same(u, v):   # equal as vectors: every leaf, entry by entry
        return vs == riesz.vspace(u) == riesz.vspace(v) and all(
            _close(p, q) for p, q in zip(_leaves(u), _leaves(v)))

    assert same(vs.add(x, vs.add(y, z)), vs.add(vs.add(x, y), z))
    assert same(vs.add(x, y), vs.add(y, x))
    assert same(vs.add(vs.zeros(), x), x)
    assert same(vs.add(x, vs.scalar_mul(x, -1.0)), vs.zeros())
    assert same(vs.scalar_mul(x, a * b), vs.scalar_mul(vs.scalar_mul(x, a), b))
    assert same(vs.scalar_mul(vs.add(x, y), a), vs.add(vs.scalar_mul(x, a), vs.scalar_mul(y, a)))
    assert same(vs.scalar_mul(x, a + b), vs.add(vs.scalar_mul(x, a), vs.scalar_mul(x, b)))
    # the inner product: symmetric, linear, positive definite, and the plain sum of products
    assert _close(vs.inner_prod(x, y), vs.inner_prod(y, x), vs)
    assert _close(vs.inner_prod(vs.scalar_mul(x, a), y), a * vs.inner_prod(x, y), vs)
    assert vs.inner_prod(x, x) > 0 and vs.inner_prod(vs.zeros(), vs.zeros()) == 0
    flat_x = np.concatenate([np.ravel(v) for v in _leaves(x)])
    flat_y = np.concatenate([np.ravel(v) for v in _leaves(y)])
    assert _close(vs.inner_prod(x, y), np.sum(flat_x.real * flat_y.real + flat_x.imag * flat_y.imag),
                  vs)


@pytest.mark.parametrize("name", VALUES)
def test_the_standard_basis_is_orthonormal_spans_and_sums_to_ones(name):
    vs = riesz.vspace(VALUES[name])
    basis = list(vs.standard_basis())
    assert len(basis) == vs.size
    gram = np.array([[vs.inner_prod(u, v) for v in basis] for u in basis])
    np.testing.assert_array_equal(gram, np.eye(vs.size))
    assert all(riesz.vspace(e) == vs for e in basis)
    total = functools.reduce(vs.add, basis)
    assert all(np.array_equal(p, q) for p, q in zip(_leaves(total), _leaves(vs.ones())))
    # each vector is its coordinates in the basis: x = Σₖ ⟨eₖ, x⟩ eₖ
    x = vs.randn(np.random.default_rng(1))
    rebuilt = functools.reduce(vs.add, [vs.scalar_mul(e, vs.inner_prod(e, x)) for e in basis])
    assert all(_close(p, q) for p, q in zip(_leaves(rebuilt), _leaves(x)))


def test_sizes_shapes_and_dtypes():
    assert riesz.vspace(np.zeros((3, 2))).size == 6
    vs = riesz.vspace(np.zeros((2, 1), np.complex64))
    assert (vs.size, vs.entries, vs.shape, vs.dtype) == (4, 2, (2, 1), np.complex64)
    assert riesz.vspace(1.0).shape == () and riesz.vspace(1.0).dtype == np.float64
    assert riesz.vspace(np.float32(1.0)).dtype == np.float32
    assert riesz.vspace([1.0, 2j]).size == 3
    with pytest.raises(AttributeError, match=r"holds pytrees.*\.leaves"):
        riesz.vspace([1.0, 2.0]).shape
    # the special vectors keep each leaf's dtype
    vs = riesz.vspace({"a": np.zeros(2, np.float32), "b": np.zeros(1, np.complex64)})
    for make in (vs.zeros, vs.ones, vs.randn, lambda: next(vs.standard_basis())):
        assert riesz.vspace(make()) == vs
    assert vs.ones()["b"][0] == 1 + 1j


def test_spaces_are_equal_by_structure_shape_and_dtype():
    assert riesz.vspace(np.zeros(3)) == riesz.vspace(np.ones(3))
    assert riesz.vspace(0.0) == riesz.vspace(np.zeros(()))
    assert hash(riesz.vspace([1.0, np.ones(2)])) == hash(riesz.vspace([0.0, np.zeros(2)]))
    different = [np.zeros(3), np.zeros(4), np.zeros(3, np.float32), np.zeros(3, complex),
                 [0.0, 0.0], (0.0, 0.0), {"a": 0.0, "b": 0.0}, {"a": 0.0, "c": 0.0}]
    for u, v in itertools.combinations(different, 2):
        assert riesz.vspace(u) != riesz.vspace(v), (u, v)
    assert riesz.vspace(np.zeros(3)) != np.zeros(3)
    assert repr(riesz.vspace({"w": np.zeros((2, 3)), "b": 0j})) == "{'b': c128[], 'w': f64[2,3]}"


def test_integer_leaves_are_refused_by_key_path():
    with pytest.raises(TypeError, match=r"\['n'\] has dtype int64.*float or complex"):
        riesz.vspace({"n": np.arange(3), "x": 1.0})
    with pytest.raises(TypeError, match=r"the root has dtype bool"):
        riesz.vspace(True)


@pytest.mark.parametrize("name", ["array", "complex array", "dict", "mixed"])
def test_the_operations_are_differentiable(name):
    vs = riesz.vspace(VALUES[name])
    rng = np.random.default_rng(2)
    x, y = vs.randn(rng), vs.randn(rng)
    check_grads(vs.add, (x, y), order=2)
    check_grads(vs.scalar_mul, (x, 0.3), order=2)
    check_grads(vs.inner_prod, (x, y), order=2)
    check_grads(vs.covector, (x,), order=2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_the_covector_of_the_representer_is_the_gradient(dtype):
    # ∂f(x) ẋ = ⟨v, ẋ⟩ for the vector v = covector(grad f(x)), the Riesz representer
    vs = riesz.vspace(np.zeros(4, dtype))
    x, xdot = vs.randn(np.random.default_rng(3)), vs.randn(np.random.default_rng(4))

    def f(x):
        return riesz.numpy.sum(riesz.numpy.abs(x) ** 3 + riesz.numpy.real(x * x))

    v = vs.covector(riesz.grad(f)(x))
    directional = riesz.jvp(f, (x,), (xdot,))[1]
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(vs.inner_prod(v, xdot), directional, rtol=tol)
    # and v is the steepest-ascent direction: f grows fastest along it among unit vectors
    unit = vs.scalar_mul(v, 1 / np.sqrt(vs.inner_prod(v, v)))
    assert directional <= np.sqrt(vs.inner_prod(v, v)) * np.sqrt(vs.inner_prod(xdot, xdot)) + tol
    np.testing.assert_allclose(riesz.jvp(f, (x,), (unit,))[1], np.sqrt(vs.inner_prod(v, v)),
                               rtol=tol)
    if dtype == np.complex128:   # the gradient itself is the conjugate of that vector
        assert not np.allclose(riesz.grad(f)(x), v)


def test_linear_maps_still_measure_their_spaces_in_entries():
    _, df = riesz.linearize(lambda z: z * (1 + 2j), np.ones(3, complex))
    assert df.shape == (3, 3) and df.in_space == riesz.vspace(np.zeros(3, complex))
    assert df.in_space.size == 6
