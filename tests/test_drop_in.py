"""NumPy code as people write it, under riesz's transforms (issue 15): copies that are new
objects, dtypes kept by in-place updates, writable gradients, np.r_/np.c_, and JAX's
``x.at[i]`` on traced values. Values are checked against NumPy running the same code."""
import numpy as np
import pytest

import riesz
from riesz.testing import check_grads
from specs.case import needs_numpy

X = np.array([1.0, 2.0, 3.0])


def _zero_first(copy):
    """sum(x * x) after y = copy(x); y[0] = 0: NumPy's 14 when copy(x) is a new array."""
    def f(x):
        y = copy(x)
        y[0] = 0.0
        return np.sum(x * x) + 0.0 * np.sum(y)
    return f


COPIES = [
    ("+x", lambda x: +x),
    ("positive", np.positive),
    ("concatenate", lambda x: np.concatenate([x])),
    ("hstack", lambda x: np.hstack([x])),
    ("vstack", lambda x: np.vstack([x])[0]),
    ("choose", lambda x: np.choose(np.zeros(3, int), [x])),
    ("roll by 0", lambda x: np.roll(x, 0, axis=0)),
    ("roll by n", lambda x: np.roll(x, 3, axis=0)),
    pytest.param("astype", lambda x: np.astype(x, x.dtype), marks=needs_numpy("astype")),
    pytest.param("clip", lambda x: np.clip(x, None, None), marks=needs_numpy("clip(no bounds)")),
    ("conj", np.conj),
]


@pytest.mark.parametrize("name,copy", COPIES)
def test_copies_are_new_objects(name, copy):
    f = _zero_first(copy)
    assert f(X.copy()) == 14.0   # NumPy itself
    for transform in (riesz.value_and_grad, lambda f: riesz.jit(riesz.value_and_grad(f))):
        value, g = transform(f)(X.copy())
        assert value == 14.0
        assert np.array_equal(g, [2.0, 4.0, 6.0])


@pytest.mark.parametrize("update", [
    lambda x: np.add.at(x, [0, 0, 2], 1.5),
    lambda x: np.subtract.at(x, [1, 1], np.float64(0.25)),
])
def test_ufunc_at_keeps_float32(update):
    def f(x):
        y = x * 1
        update(y)
        return y
    x = np.array([1.0, 2.0, 3.0], np.float32)
    expected = x.copy()
    update(expected)
    out, pullback = riesz.vjp(f, x)
    assert out.dtype == np.float32 and np.array_equal(out, expected)
    assert pullback(np.ones(3, np.float32))[0].dtype == np.float32
    check_grads(f, (x,), order=2)


def test_indexed_add_keeps_the_array_dtype():
    x = np.array([1.0, 2.0, 3.0], np.float32)
    out = riesz.jvp(lambda x: riesz.numpy.at(x)[[0, 0]].add(2.0), (x,), (np.ones(3, np.float32),))
    assert out[0].dtype == np.float32 and out[1].dtype == np.float32
    assert np.array_equal(out[0], [5.0, 2.0, 3.0])
    # floats into an integer array keep their derivative: the result is promoted
    assert riesz.grad(lambda v: np.sum(riesz.numpy.at(np.zeros(3, int))[1].add(v) ** 2))(3.0) == 6.0


@pytest.mark.parametrize("f", [np.sum, np.mean, lambda x: 3.0 * np.sum(x, axis=0).sum()])
def test_eager_gradients_are_writable(f):
    x = np.ones((3, 4))
    for g in (riesz.grad(f)(x), riesz.value_and_grad(f)(x)[1], riesz.vjp(f, x)[1](1.0)[0]):
        expected = riesz.grad(f)(x).copy()
        g *= 0.5   # an optimizer's step in place
        assert np.array_equal(g, 0.5 * expected)


def test_bessel_i0_and_i1_of_numpy_and_scipy_are_one_primitive_each():
    special = pytest.importorskip("scipy.special")
    x = np.array([-3.0, -0.2, 0.0, 0.7, 25.0])
    safe = np.where(x == 0, 1.0, x)
    i1_derivative = np.where(x == 0, 0.5, special.i0(x) - special.i1(x) / safe)   # ½ at 0
    for f, derivative in ((special.i0, special.i1(x)), (np.i0, special.i1(x)),
                          (special.i1, i1_derivative)):
        np.testing.assert_allclose(riesz.vjp(f, x)[0], f(x), rtol=1e-13)
        np.testing.assert_allclose(riesz.elementwise_grad(f)(x), derivative, rtol=1e-13)
        check_grads(f, (x[:4],), order=2)


def test_einsum_with_a_zero_length_axis():
    # a label of size 0 against size 1 (broadcast) or against itself: empty results, and
    # contractions over it are zero, as NumPy gives them
    for subscripts, shapes in (("ij,j->i", [(0, 3), (3,)]), ("...i,...i->...", [(0, 3), (1, 3)]),
                               ("ij,ij->j", [(0, 3), (1, 3)]), ("ij,kj->k", [(0, 3), (2, 3)])):
        a = np.ones(shapes[0])
        b = np.arange(1.0, 1.0 + np.prod(shapes[1])).reshape(shapes[1])
        f = lambda b: np.einsum(subscripts, a, b)   # noqa: E731
        value, pullback = riesz.vjp(f, b)
        expected = np.einsum(subscripts, a, b)
        assert value.shape == expected.shape and np.array_equal(value, expected)
        # every entry of the result sums over the empty axis or is absent: b's cotangent is 0
        g = pullback(np.ones_like(expected))[0]
        assert g.shape == b.shape and not g.any()


R_C = [
    (lambda x: riesz.numpy.r_[x, 0.0, x[:2]], lambda x: np.r_[x, 0.0, x[:2]]),
    (lambda x: riesz.numpy.c_[x, x * 2], lambda x: np.c_[x, x * 2]),
    (lambda x: riesz.numpy.r_[x, 1:3, -1:1:3j], lambda x: np.r_[x, 1:3, -1:1:3j]),
    (lambda x: riesz.numpy.r_["0,2", x, x], lambda x: np.r_["0,2", x, x]),
    (lambda x: riesz.numpy.r_["1,2,0", x, x ** 2], lambda x: np.r_["1,2,0", x, x ** 2]),
    (lambda x: riesz.numpy.c_[x[:, None], np.ones((3, 2)), x], lambda x: np.c_[x[:, None], np.ones((3, 2)), x]),
    (lambda x: riesz.numpy.r_[x.astype(np.float32), 1], lambda x: np.r_[x.astype(np.float32), 1]),
    (lambda x: riesz.numpy.r_[x + 1j * x, 2], lambda x: np.r_[x + 1j * x, 2]),
]


@pytest.mark.parametrize("k", range(len(R_C)))
def test_r_and_c_of_traced_values(k):
    ours, numpy = R_C[k]
    expected = numpy(X)
    for value in (riesz.vjp(ours, X)[0], riesz.jit(ours)(X)):
        assert value.dtype == expected.dtype and np.array_equal(value, expected)
    check_grads(ours, (X,), order=2)


def test_numpy_r_of_a_traced_value_names_riesz_r():
    with pytest.raises(TypeError, match=r"riesz.numpy.r_\[...\]"):
        riesz.grad(lambda x: np.sum(np.r_[x, 0.0]))(X)


UPDATES = [("set", None), ("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply),
           ("divide", np.divide), ("power", np.power), ("min", np.minimum), ("max", np.maximum)]


@pytest.mark.parametrize("method,ufunc", UPDATES)
@pytest.mark.parametrize("idx", [slice(1, 3), [0, 2, 0, 0]], ids=["slice", "repeats"])
def test_jax_at_on_traced_values(method, ufunc, idx):
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    v = np.array([2.0, 3.0, 0.5, 1.5][:len(np.arange(4)[idx])], np.float32)
    expected = x.copy()
    if ufunc is None:
        expected[idx] = v
    else:
        ufunc.at(expected, idx, v)
    jax_style = lambda x, v: getattr(x.at[idx], method)(v)   # noqa: E731
    value = riesz.vjp(jax_style, x, v)[0]
    assert value.dtype == np.float32 and np.allclose(value, expected)
    assert np.allclose(riesz.jit(jax_style)(x, v), expected)
    if ufunc is not None:   # NumPy code: ufunc.at on a traced array updates it in place
        def in_place(x, v):
            y = x * 1
            ufunc.at(y, idx, v)
            return y
        assert np.allclose(riesz.vjp(in_place, x, v)[0], expected)
    if method not in ("min", "max"):   # (ties of min/max are kinks)
        check_grads(lambda x, v: getattr(riesz.numpy.at(x)[idx], method)(v),
                    (x.astype(np.float64), v.astype(np.float64)), order=2)


def test_jax_at_get_and_options():
    x = np.array([1.0, 2.0, 3.0])
    g = riesz.grad(lambda x: x.at[1].get() * x.at[1:].set(2.0, indices_are_sorted=True).sum())(x)
    assert np.array_equal(g, [2.0, 5.0, 0.0])   # d/dx of x₁ (x₀ + 4)
    with pytest.raises(NotImplementedError, match="IndexError"):
        riesz.grad(lambda x: x.at[5].set(0.0, mode="drop").sum())(x)
    with pytest.raises(AttributeError):   # NumPy arrays have no .at: riesz.numpy.at(x) is the spelling
        x.at


def test_histogram_counts_of_a_traced_sample_are_constants():
    x = np.array([0.1, 2.0, 0.5, 1.0, 3.0])
    counts, edges = np.histogram(x, bins=3)
    value, g = riesz.value_and_grad(lambda x: np.histogram(x, bins=3)[0] @ x[:3])(x)
    assert value == counts @ x[:3] and np.array_equal(g, np.r_[counts, 0.0, 0.0])
    # with weights, the gradient reaches the weights (the bins are read from the sample)
    w = np.arange(1.0, 6.0)
    c = np.array([1.0, 10.0, 100.0])
    g = riesz.grad(lambda w: np.histogram(x, bins=edges, weights=w)[0] @ c)(w)
    assert np.array_equal(g, [np.histogram(x, bins=edges, weights=e)[0] @ c for e in np.eye(5)])
