"""NumPy code as people write it, under riesz's transforms (issue 15): copies that are new
objects, dtypes kept by in-place updates, writable gradients, np.r_/np.c_, and JAX's
``x.at[i]`` on traced values. Values are checked against NumPy running the same code."""
import numpy as np
import pytest

import riesz
from riesz.testing import check_grads

X = np.array([1.0, 2.0, 3.0])


def _zero_first(copy):
    """sum(x * x) after y = copy(x); y[0] = 0: NumPy's 14 when copy(x) is a new array."""
    def f(x):
        y = copy(x)
        y[0] = 0.0
        return np.sum(x * x) + 0.0 * np.sum(y)
    return f


COPIES = {
    "+x": lambda x: +x,
    "positive": np.positive,
    "concatenate": lambda x: np.concatenate([x]),
    "hstack": lambda x: np.hstack([x]),
    "vstack": lambda x: np.vstack([x])[0],
    "choose": lambda x: np.choose(np.zeros(3, int), [x]),
    "roll by 0": lambda x: np.roll(x, 0, axis=0),
    "roll by n": lambda x: np.roll(x, 3, axis=0),
    "astype": lambda x: np.astype(x, x.dtype),
    "clip": lambda x: np.clip(x, None, None),
    "conj": np.conj,
}


@pytest.mark.parametrize("name", sorted(COPIES))
def test_copies_are_new_objects(name):
    f = _zero_first(COPIES[name])
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
