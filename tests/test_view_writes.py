"""NumPy's views under the transforms: a write into y[...], y.T, np.swapaxes(y, ...) or
y.reshape(...) changes y, and a write into y changes its views, as in NumPy; copies and
advanced indexing do not; where riesz cannot follow NumPy (a reshape of a view under jit)
it raises an error naming the fix rather than give a different number. Also
np.matrix and np.ma.MaskedArray arguments: an error naming what to pass."""
import warnings

import numpy as np
import pytest

import riesz
from riesz.testing import check_grads

W = np.arange(1.0, 5.0)
with warnings.catch_warnings():   # np.matrix warns that it is not recommended: the point here
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    MATRIX = np.matrix([[1.0, 2.0], [3.0, 4.0]])


def slice_view(y):
    y = y * 1
    v = y[1:]
    v[0] = 0.0
    return np.sum(y ** 2 * W)


def reshape_view(y):
    y = y * 1
    y.reshape(2, 2)[0, 0] = 1.0
    return np.sum(y ** 2 * W)


def slice_in_place(y):
    y = y * 1
    y[:2] += 1
    return np.sum(y ** 2 * W)


def transpose_view(y):
    M = y.reshape(2, 2) * 1
    M.T[0, 1] = 0.0
    return np.sum(M ** 2 * W.reshape(2, 2))


def swapaxes_view(y):
    M = y.reshape(2, 2) * 1
    np.swapaxes(M, 0, 1)[1] *= 3.0
    return np.sum(M ** 2 * W.reshape(2, 2))


def view_in_place(y):
    y = y * 1
    v = y[::2]
    v += 10.0 * y[1::2]
    return np.sum(y ** 2 * W)


def view_of_a_view(y):
    y = y * 1
    v = y.reshape(2, 2)[1]
    v[1] = 7.0
    return np.sum(y ** 2 * W)


def view_of_a_parameter(y):
    v = y[1:3]
    v[:] = v * v   # y is the argument itself: NumPy changes the caller's array too
    return np.sum(y * W)


def copy_is_not_a_view(y):
    y = y * 1
    v = y[1:].copy()
    v[0] = 0.0
    return np.sum(y ** 2 * W) + np.sum(v)


def fancy_index_is_a_copy(y):
    y = y * 1
    v = y[[0, 1]]
    v[0] = 0.0
    return np.sum(y ** 2 * W) + np.sum(v)


def reshape_of_a_transpose_copies(y):
    M = y.reshape(2, 2) * 1
    r = M.T.reshape(-1)   # not contiguous: NumPy copies
    r[0] = 9.0
    return np.sum(M ** 2 * W.reshape(2, 2)) + np.sum(r * W)


def view_sees_a_write_into_its_array(y):
    y = y * 1
    v = y[1:]
    y[1] = 5.0           # NumPy's v sees this: v[0] reads 5
    return v[0] * np.sum(v * W[1:])


def view_written_after_its_array(y):
    y = y * 1
    v = y[1:]
    y[2] = 5.0 * y[0]    # v sees this
    v[0] = 0.0           # and this reaches y
    return np.sum(y * W) + np.sum(v ** 2)


def sibling_views(y):
    y = y * 1
    M = y.reshape(2, 2)
    row, col = M[1], M.T[1]   # both see M[1, 1]
    row[1] = y[0] * 3.0       # through row into M, y, and so into col
    y[0] += 1.0               # into y, and so into M, row and col
    return np.sum(col * W[:2]) + np.sum(row * W[2:]) + np.sum(M * M)


def in_place_operators_on_the_array(y):
    y = y * 1
    v = y[::2]
    t = y.T
    y *= y                   # every view sees it
    y[1:3] += 1.0
    return np.sum(v * W[:2]) + np.sum(t * W)


CASES = [slice_view, reshape_view, slice_in_place, transpose_view, swapaxes_view,
         view_in_place, view_of_a_view, view_of_a_parameter, copy_is_not_a_view,
         fancy_index_is_a_copy, reshape_of_a_transpose_copies,
         # writes into the array that its views see
         view_sees_a_write_into_its_array, view_written_after_its_array, sibling_views,
         in_place_operators_on_the_array]


@pytest.mark.parametrize("f", CASES, ids=[f.__name__ for f in CASES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_writes_through_views_give_numpy_results(f, dtype):
    x = np.array([1.0, 2.0, 3.0, 4.0], dtype=dtype)
    want = f(x.copy())
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(riesz.value_and_grad(f)(x.copy())[0], want, rtol=rtol)
    np.testing.assert_allclose(riesz.vjp(f, x.copy())[0], want, rtol=rtol)
    np.testing.assert_allclose(riesz.jvp(f, (x.copy(),), (np.ones_like(x),))[0], want, rtol=rtol)
    if f is not reshape_of_a_transpose_copies:   # staged: see the next test
        np.testing.assert_allclose(riesz.jit(f)(x.copy()), want, rtol=rtol)
    if dtype == np.float64:
        check_grads(f, (x,), order=2)


def test_a_reshape_of_a_view_under_jit_raises():
    with pytest.raises(ValueError, match=r"r = y.reshape\(...\).copy\(\)"):
        riesz.jit(reshape_of_a_transpose_copies)(W)


@pytest.mark.parametrize("x,match", [
    (MATRIX, r"numpy.matrix; .*pass np.asarray\(x\)"),
    (np.ma.MaskedArray([1.0, 2.0, 3.0], mask=[0, 1, 0]), r"numpy.ma.*MaskedArray; .*x.filled"),
])
def test_matrix_and_masked_array_arguments_name_the_fix(x, match):
    for transform in (lambda f: riesz.grad(f)(x), lambda f: riesz.vjp(f, x),
                      lambda f: riesz.jvp(f, (x,), (x,))):
        with pytest.raises(TypeError, match=match):
            transform(lambda x: np.sum(x * x))
