"""HIPS autograd's test suite (tests/test_numpy.py, test_systematic.py, test_linalg.py,
test_fft.py, test_graphs.py, test_binary_ops.py, test_scalar_ops.py, test_wrappers.py,
test_direct.py), ported to riesz: plain ``numpy`` with ``riesz.grad`` and
``riesz.testing.check_grads(f, args, order=2)`` in both modes, keeping autograd's inputs
(shapes, axes, keepdims, ddof, edge cases). Then Python-level behaviour of traced values
(builtins, in-place operators, printing) and small realistic programs, each checked
against finite differences."""
import itertools
import math
import operator as op
import warnings

import numpy as np
import pytest

import riesz
from riesz import grad, jvp, value_and_grad
from riesz.numpy.compat import numpy_name
from riesz.testing import check_grads

trapezoid = numpy_name("trapezoid")   # np.trapz before NumPy 2

rs = np.random.RandomState(1)


def R(*shape):
    return rs.randn(*shape) if shape else float(rs.randn())


def combo(fun, argnums, *args, **kwargs):
    """check_grads (order 2, both modes) of ``fun`` over every combination of the given
    arguments and keyword values, differentiating the arguments in ``argnums``."""
    keys = list(kwargs)
    for values in itertools.product(*args, *(kwargs[k] for k in keys)):
        full, kw = list(values[:len(args)]), dict(zip(keys, values[len(args):]))

        def f(*diff_args):
            call = list(full)
            for n, a in zip(argnums, diff_args):
                call[n] = a
            return fun(*call, **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            check_grads(f, [full[n] for n in argnums], order=2)


def in_range(lims, x):
    return x * (lims[1] - lims[0]) + lims[0]


# ------------------------------------------------------------ statistics (stat_check)

def stat_check(fun, complex_too=True):
    combo(fun, (0,), [3.5, R()])
    b, c, d = R(3), R(2, 3), R(1, 3)
    combo(fun, (0,), [b, c, d], axis=[None, 0], keepdims=[True, False])
    combo(fun, (0,), [c, d], axis=[None, 0, 1, -1, (0, 1)], keepdims=[True, False])
    if complex_too:
        combo(fun, (0,), [R() + 0.1j * R()])
        combo(fun, (0,), [b, R(2, 3) + 0.1j * R(2, 3)], axis=[None, 0], keepdims=[True, False])


@pytest.mark.parametrize("fun", [np.sum, np.mean, np.prod, np.var, np.std, np.nansum,
                                 np.nanmean], ids=lambda f: f.__name__)
def test_statistics(fun):
    stat_check(fun)


@pytest.mark.parametrize("fun", [np.max, np.min, np.ptp, np.nanmax, np.nanmin],
                         ids=lambda f: f.__name__)
def test_order_statistics(fun):
    stat_check(fun, complex_too=False)


def test_var_std_ddof():
    b, c, d = R(3), R(3, 4), R(1, 3)
    for fun in (np.var, np.std):
        combo(fun, (0,), [b, c, d], axis=[None], keepdims=[True, False], ddof=[0, 1])
        combo(fun, (0,), [c, d], axis=[None, 1], keepdims=[True, False], ddof=[2])


# ------------------------------------------------------------ ufuncs

UNARY = [(np.sin, (-2, 2), True), (np.abs, (0.1, 4), True), (np.arccosh, (1.1, 4), True),
         (np.arcsinh, (-0.9, 0.9), True), (np.arctanh, (-0.9, 0.9), True),
         (np.ceil, (-1.4, 1.4), False), (np.cos, (-2, 2), True), (np.cosh, (-2, 2), True),
         (np.deg2rad, (-2, 2), False), (np.degrees, (-2, 2), False), (np.exp, (-2, 2), True),
         (np.exp2, (-2, 2), True), (np.expm1, (-2, 2), True), (np.fabs, (-2, 2), False),
         (np.floor, (-1.4, 1.4), False), (np.log, (0.2, 2), True), (np.log10, (0.2, 2), True),
         (np.log1p, (0.2, 2), True), (np.log2, (0.2, 2), True), (np.rad2deg, (-2, 2), False),
         (np.radians, (-2, 2), False), (np.sign, (-2, 2), True), (np.sinh, (-2, 2), True),
         (np.sqrt, (1, 3), True), (np.square, (-2, 2), True), (np.tan, (-1.1, 1.1), True),
         (np.tanh, (-2, 2), True), (np.real, (-2, 2), True), (np.real_if_close, (-2, 2), True),
         (np.imag, (-2, 2), True), (np.conj, (-2, 2), True), (np.angle, (-2, 2), True),
         (np.arcsin, (-0.9, 0.9), True), (np.arccos, (-0.9, 0.9), True),
         (np.arctan, (-2, 2), True), (np.reciprocal, (0.5, 2), True), (np.cbrt, (0.5, 2), False),
         (np.sinc, (-2, 2), False), (np.nan_to_num, (-2, 2), True), (np.negative, (-2, 2), True),
         (np.trunc, (-1.4, 1.4), False), (np.fix, (-1.4, 1.4), False)]


@pytest.mark.parametrize("fun,lims,complex_too", UNARY, ids=[u[0].__name__ for u in UNARY])
def test_unary_ufunc(fun, lims, complex_too):
    combo(fun, (0,), [in_range(lims, v) for v in (1.0, 0.4, rs.rand(2), rs.rand(3, 2),
                                                  rs.rand(1, 2))])
    if complex_too:
        combo(fun, (0,), [in_range(lims, 0.4) + 0.1j * in_range(lims, 0.3),
                          in_range(lims, rs.rand(3, 2)) + 0.1j * rs.rand(3, 2)])


BINARY = [(np.add, {}), (np.logaddexp, dict(complex_too=False)),
          (np.logaddexp2, dict(complex_too=False)),
          (np.remainder, dict(lims_a=(-0.9, 0.9), lims_b=(0.7, 1.9), complex_too=False,
                              same=False)),
          (np.true_divide, dict(lims_b=(0.8, 1.2), complex_too=False)),
          (np.mod, dict(lims_b=(0.8, 2.1), complex_too=False, same=False)),
          (np.fmod, dict(lims_b=(0.8, 2.1), complex_too=False, same=False)),
          (np.true_divide, dict(lims_b=(-0.3, -2.0), complex_too=False)),
          (op.mul, {}), (op.sub, {}), (op.truediv, dict(lims_b=(0.5, 2))),
          (op.mod, dict(lims_b=(0.3, 2.0), complex_too=False, same=False)),
          (op.mod, dict(lims_b=(-0.3, -2.0), complex_too=False, same=False)),
          (op.pow, dict(lims_a=(0.7, 2))), (np.hypot, dict(lims_a=(0.5, 2), complex_too=False)),
          (np.arctan2, dict(lims_a=(0.5, 2), complex_too=False)),
          (np.float_power, dict(lims_a=(0.7, 2), complex_too=False)),
          (np.copysign, dict(complex_too=False, same=False))]


@pytest.mark.parametrize("fun,opts", BINARY, ids=[f"{b[0].__name__}-{i}" for i, b in
                                                   enumerate(BINARY)])
def test_binary_ufunc(fun, opts):
    lims_a, lims_b = opts.get("lims_a", (-2, 2)), opts.get("lims_b", (-2, 2))
    # no_same_args: distinct second arguments (at equal arguments mod has a jump)
    first = [0.6, 1.0, rs.rand(2), rs.rand(3, 2), rs.rand(1, 2)]
    second = first if opts.get("same", True) else [0.7, 3.0, rs.rand(2), rs.rand(3, 2),
                                                   rs.rand(1, 2)]
    combo(fun, (0, 1), [in_range(lims_a, v) for v in first],
          [in_range(lims_b, v) for v in second])
    if opts.get("complex_too", True):
        mixed = [0.6, 0.6 + 0.3j, rs.rand(2), rs.rand(3, 2) + 0.1j * rs.rand(3, 2),
                 rs.rand(1, 2)]
        combo(fun, (0, 1), [in_range(lims_a, v) for v in mixed],
              [in_range(lims_b, v) for v in mixed])


def test_binary_operators_between_python_numbers_and_arrays():
    """test_binary_ops: every pair of a scalar, a vector and two matrices (broadcasting)."""
    args = [2.0, rs.randn(4), rs.randn(3, 4), rs.randn(1, 4)]
    gap = lambda x: np.sqrt(np.square(x) + 0.5)   # noqa: E731
    for a, b in itertools.product(args, args):
        for f in (op.mul, op.add, op.sub):
            check_grads(lambda x, y: np.sum(f(x, y)), (a, b))
        check_grads(lambda x, y: np.sum(x / y), (gap(a), gap(b)))
        check_grads(lambda x, y: np.sum(x ** y), (np.abs(a) + 1.1, b))
        if a is not b:
            check_grads(lambda x, y: np.sum(x % y), (gap(a), gap(b)))


def test_comparisons_have_zero_gradient_and_the_same_value():
    args = [2.0, rs.randn(4), rs.randn(3, 4), rs.randn(1, 4)]
    compare = [op.lt, op.le, op.gt, op.ge, op.eq, op.ne]
    for (a, b), cmp in itertools.product(itertools.product(args, args), compare):
        fun = lambda x, y: np.sum(cmp(x, y)) + 0.0   # noqa: E731
        value, (ga, gb) = value_and_grad(fun, argnums=(0, 1))(a, b)
        assert value == fun(a, b)
        assert np.all(ga == 0) and np.shape(ga) == np.shape(a)
        assert np.all(gb == 0) and np.shape(gb) == np.shape(b)


@pytest.mark.parametrize("fun", [np.sin, np.cos, np.tan, np.exp, np.sinh, np.cosh, np.tanh,
                                 np.negative], ids=lambda f: f.__name__)
def test_scalar_ops(fun):
    check_grads(lambda x: 3.0 * fun(x), (R(),))


def test_scalar_ops_at_kinks():
    for fun in (np.abs, np.sign, np.log):
        for x in (1.1, -1.1) if fun is not np.log else (abs(R()) + 0.1,):
            check_grads(lambda x: 3.0 * fun(x), (x,))


# ------------------------------------------------------------ test_numpy.py

def test_dot_outer_and_friends():
    mat1, mat2, vect1, vect2, vect3, flt = R(10, 11), R(10, 11), R(10), R(11), R(11), R()
    for a, b in [(mat1, vect2), (mat1, mat2.T), (vect1, mat1), (vect2, vect3), (mat1, flt),
                 (flt, mat1), (vect1, flt), (flt, vect1)]:
        check_grads(np.dot, (a, b))
    check_grads(lambda x, y: x.dot(y), (mat1, vect2))
    check_grads(np.outer, (vect2, vect3))
    check_grads(lambda x, y: np.dot(x[:2], y[2:]), (R(4), R(4)))


def test_reductions_and_scans_of_test_numpy():
    mat3 = R(3, 4, 5)
    for fun in (np.max, np.min):
        check_grads(fun, (R(10, 11),))
        check_grads(lambda x: fun(x, axis=1), (mat3,))
        check_grads(lambda x: fun(x, axis=1, keepdims=True), (mat3,))
    mat = R(10, 11)
    for f in (np.sum, np.mean):
        check_grads(f, (mat,))
        check_grads(lambda x: f(x, axis=0), (mat,))
        check_grads(lambda x: f(x, axis=0, keepdims=True), (mat,))
    check_grads(lambda x: np.sum(x, axis=(1, 2)), (R(10, 11, 7),))
    for axis in (0, 1, None):
        check_grads(lambda x: np.cumsum(x, axis=axis), (mat,))
    check_grads(np.cumsum, (R(10),))
    check_grads(np.prod, (R(2, 3) ** 2 / 10.0 + 0.1,))
    check_grads(lambda x: np.prod(x, axis=0, keepdims=True), (R(2, 3) ** 2 + 0.1,))
    check_grads(np.prod, (R(7) ** 2 + 0.1,))


def test_indexing_of_test_numpy():
    a = R(5, 6, 4)
    for f in (lambda x: x[3, 0, 1], lambda x: x[::-1, 2:4, :], lambda x: x[[0, 1, 2], :, :],
              lambda x: x[3, 2:, [1, 3]], lambda x: x[::-1, 2:4, :] + x[::-1, 3:5, :],
              lambda x: x[..., None, 1], lambda x: x[x > 0], lambda x: x[-1, ::-2, 1:-1]):
        check_grads(f, (a,))
    check_grads(lambda x: x[2:6][1:3], (R(7),))
    check_grads(lambda x: np.sum(x[[0, 0]]), (R(3),))
    check_grads(lambda x: np.sum(x[[0, 1, 0]]), (R(3),))


def test_cast_to_int_as_indices():
    def fun(w):
        new_w = w[:, :-1]
        rows = np.int64(np.abs(w[:, -1]) * 0 + 1)   # an integer array made from a traced one
        assert rows.dtype == np.int64
        return new_w[rows].sum()
    check_grads(fun, (R(5, 10),))


def test_shape_functions_of_test_numpy():
    a = R(5, 6, 4)
    for f in (lambda x: x.reshape((20, 6)), lambda x: np.reshape(x, (20, 6)),
              lambda x: x.reshape(20, 6), lambda x: x.ravel(), lambda x: np.ravel(x),
              lambda x: x.flatten(), lambda x: np.expand_dims(x, 2),
              lambda x: np.concatenate((R(4, 6, 4)[:0], x)), lambda x: np.concatenate((a, x, a)),
              lambda x: np.concatenate((a, x, a), 1), lambda x: np.roll(x, 2, axis=1),
              lambda x: np.repeat(x, 2, axis=1), lambda x: np.trace(x, offset=1)):
        check_grads(f, (a,))
    m = R(10, 11)
    for f in (np.flipud, np.fliplr, np.rot90, lambda x: x.T, lambda x: np.split(x, 2)[0],
              lambda x: np.trace(x, offset=3), lambda x: np.triu(x, k=2), lambda x: np.tril(x, k=2),
              lambda x: np.clip(x, a_min=0.1, a_max=1.1), lambda x: np.diag(x[:, :10]),
              lambda x: np.diagonal(x[None], axis1=-1, axis2=-2)):
        check_grads(f, (m,))
    check_grads(np.squeeze, (R(5, 1, 4),))
    check_grads(lambda x: x.squeeze(), (R(5, 1, 4),))
    check_grads(lambda x: np.repeat(x, 1, axis=0), (R(5, 1),))
    check_grads(lambda x: np.where(R(4, 5)[:0].size == 0, x, 0.0), (R(4, 5),))


def test_append():
    check_grads(np.append, ([1.0, 2.0, 3.0], 4.0))
    check_grads(np.append, (np.array([1.0, 2.0, 3.0]), 4.0))


def test_non_numpy_sum():
    check_grads(lambda x, y: sum([x, y]), (R(10, 11), R(10, 11)))


def test_arrays_of_traced_values():
    """autograd's np.array([x, ...]) of traced values is riesz.numpy.array (plain NumPy's
    np.array cannot keep the derivative: it raises a TypeError that names the fix)."""
    rnp = riesz.numpy
    check_grads(lambda x: rnp.array([x, x * 1.0, x + 2.5]), (3.0,))
    check_grads(lambda x: rnp.array([[x, x * 1.0, x + 2.5], [x ** 2, x, x / 2.0]]), (3.0,))
    check_grads(lambda x: (lambda a: a + a)(rnp.array([x, x * 1.0, x + 2.5])), (3.0,))
    check_grads(lambda x: rnp.array(x), (3.0,))
    check_grads(lambda x: rnp.array([[2 * x, x + 1], [x, x]]), (R(3, 2),))
    check_grads(lambda x: np.stack([x, x * 1.0, x + 2.5]), (3.0,))
    with pytest.raises(TypeError, match=r"np\.stack\(\[a, b\]\).*riesz\.numpy\.array"):
        grad(lambda x: np.sum(np.array([x, 2 * x])))(1.0)
    with pytest.raises(TypeError, match=r"np\.stack"):
        grad(lambda x: np.sum([x[0], x[1]]))(R(3))


def test_len_and_iteration():
    def fun(x):
        assert len(x) == 3
        return sum(np.dot(row, row) for row in x)
    check_grads(fun, (R(3, 2),))


def test_ties_share_the_derivative():
    rnp = riesz.numpy
    assert grad(lambda x: np.max(rnp.array([x, x])))(1.0) == 1.0
    check_grads(lambda x: np.max(rnp.array([[x, x], [x, 0.5]]), axis=1), (1.0,))
    check_grads(lambda x: np.max(rnp.array([[x, x], [x, 0.5]]), axis=1), (-1.0,))
    check_grads(lambda x: np.min(rnp.array([[x, x, x], [x, 0.5, 0.5], [0.5, 0.5, 0.5],
                                            [x, x, 0.5]]), axis=0), (1.0,))
    assert grad(lambda x: np.maximum(x, x))(1.0) == 1.0
    for x in (1.0, -1.0, 2.0):
        check_grads(lambda x: np.maximum(rnp.array([x, x, 0.5]),
                                         rnp.array([[x, 0.5, x], [x, x, 0.5]])), (x,))


def test_linspace_with_traced_end_points():
    for num in (0, 1, 5):
        for a, b in ((1.2, 3.4), (1.2, -3.4), (1.2, 1.2)):
            check_grads(lambda x, y: np.linspace(x, y, num), (a, b))
    assert np.allclose(grad(lambda a, b: np.sum(np.linspace(a, b, 5)), argnums=(0, 1))(0.0, 1.0),
                       2.5)


def test_astype_keeps_the_argument_dtype():
    x = np.arange(3, dtype="float32")
    assert grad(lambda x: np.sum(np.sin(x.astype("float64"))))(x).dtype == np.float32


def test_nan_to_num():
    y = np.array([0.0, np.nan, np.inf, -np.inf])
    check_grads(lambda x: np.sum(np.sin(np.nan_to_num(x + y))), (R(4),))
    assert np.array_equal(grad(lambda x: np.sum(np.nan_to_num(x + y)))(R(4)), [1, 0, 0, 0])


# ------------------------------------------------------------ test_systematic.py

def test_systematic_shapes():
    combo(np.transpose, [0], [R(2, 3, 4)], axes=[None, [0, 1, 2], [0, 2, 1], [2, 0, 1],
                                                 [2, 1, 0], [1, 0, 2], [1, 2, 0], (-1, 0, 1)])
    combo(np.repeat, [0], [R(2, 3, 4), R(3, 1)], repeats=[0, 1, 2], axis=[None, 0, 1])
    combo(np.tile, [0], [R(2, 1, 3, 1)], reps=[(1, 4, 1, 2)])
    combo(np.tile, [0], [R(1, 2)], reps=[(1, 2), (2, 3), (3, 2, 1)])
    combo(np.tile, [0], [R(1)], reps=[(2,), 2])
    combo(np.diff, [0], [R(5, 5), R(5, 5, 5)], n=[1, 2], axis=[0, 1])
    combo(np.diff, [0], [R(1), R(1, 1)], axis=[0])
    combo(np.diff, [0], [R(1, 1), R(3, 1)], axis=[1])
    combo(np.swapaxes, [0], [R(3, 4, 5)], axis1=[0, 1, 2], axis2=[0, 1, 2])
    combo(np.rollaxis, [0], [R(2, 3, 4)], axis=[0, 1, 2], start=[0, 1, 2, 3])
    for f in (np.atleast_1d, np.atleast_2d, np.atleast_3d):
        combo(f, [0], [1.2, R(1), R(7), R(1, 4), R(2, 4), R(2, 4, 5), R(2, 4, 3, 5)])
    combo(np.trace, [0], [R(5, 5), R(4, 5), R(5, 4), R(3, 4, 5)], offset=[-1, 0, 1])
    combo(np.diag, [0], [R(5, 5), R(5)], k=[-1, 0, 1])
    combo(np.tril, [0], [R(5, 5), R(5, 5, 4)], k=[-1, 0, 1])
    combo(np.triu, [0], [R(5, 5), R(5, 5, 4)], k=[-1, 0, 1])
    combo(np.sort, [0], [R(1), R(7)])
    combo(np.partition, [0], [R(7), R(14)], kth=[0, 3, 6])


def test_systematic_products():
    combo(np.kron, [0, 1], [R(5, 5), R(4, 4)], [R(3, 3), R(2, 2)])
    combo(np.inner, [0, 1], [1.5, R(3), R(2, 3)], [0.3, R(3), R(4, 3)])
    combo(np.dot, [0, 1], [1.5, R(3), R(2, 3), R(2, 2, 3)], [0.3, R(3), R(3, 4), R(2, 3, 4)])
    combo(np.matmul, [0, 1], [R(3), R(2, 3), R(2, 2, 3)], [R(3), R(3, 4), R(2, 3, 4)])
    combo(np.tensordot, [0, 1], [R(1, 3), R(2, 3, 2)], [R(3), R(3, 1), R(3, 4, 2)],
          axes=[[(1,), (0,)]])
    combo(np.tensordot, [0, 1], [R(3), R(3, 1), R(3, 4, 2)], [R(1, 3), R(2, 3, 2)],
          axes=[[(0,), (1,)]])
    combo(np.tensordot, [0, 1], [R(2, 3), R(2, 3, 4)], [R(1, 2, 3), R(2, 2, 3, 4)],
          axes=[[(0, 1), (1, 2)], [(1, 0), (2, 1)]])
    combo(np.tensordot, [0, 1], [R(2, 2), R(4, 2, 2)], [R(2, 2), R(2, 2, 4)], axes=[1, 2])
    combo(np.tensordot, [0, 1], [R(4)], [R()], axes=[0])
    combo(np.tensordot, [0, 1], [R(2, 6)], [R(6, 3)], axes=[[[-1], [0]]])
    combo(np.cross, [0, 1], [R(3, 3)], [R(3, 3)], axisa=[-1, 0], axisb=[-1, 1],
          axisc=[-1, 0], axis=[None, 1])
    for f in (np.maximum, np.fmax, np.minimum, np.fmin):
        combo(f, [0, 1], [R(1), R(1, 4), R(3, 4)], [R(1), R(1, 4), R(3, 4)])


def test_systematic_einsum():
    combo(np.einsum, [1], ["ij->ji"], [R(1, 1), R(4, 4), R(3, 4)])
    combo(np.einsum, [1, 2], ["ij,jk->ik"], [R(2, 3)], [R(3, 4)])
    combo(np.einsum, [1, 2], ["...ij,...jk->...ik"], [R(2, 3), R(2, 2, 3)], [R(3, 4), R(2, 3, 4)])
    combo(np.einsum, [1, 2], ["ijk,lji->lki"], [R(3, 4, 4)], [R(4, 4, 3)])
    combo(np.einsum, [1, 2], ["...jk,...lj->...lk", "...,...->..."], [R(4, 4), R(3, 4, 4)],
          [R(4, 4), R(3, 4, 4)])
    combo(np.einsum, [1, 2], ["jk...,lj...->lk..."], [R(3, 2), R(3, 2, 4)], [R(2, 3), R(2, 3, 4)])
    combo(np.einsum, [1, 2], ["j...k,lj...->lk..."], [R(2, 2), R(2, 2, 2)], [R(2, 2), R(2, 2, 2)])
    combo(np.einsum, [1, 2, 3], ["ijk,lji,lli->lki"], [R(3, 4, 4)], [R(4, 4, 3)], [R(4, 4, 3)])
    combo(np.einsum, [0], [R(1, 1), R(4, 4), R(3, 4)], [(0, 1)], [(1, 0)])
    combo(np.einsum, [0, 2], [R(2, 3)], [(0, 1)], [R(3, 4)], [(1, 2)], [(0, 2)])
    combo(np.einsum, [0, 2], [R(2, 3), R(2, 2, 3)], [(Ellipsis, 0, 1)], [R(3, 4), R(2, 3, 4)],
          [(Ellipsis, 1, 2)], [(Ellipsis, 0, 2)])
    combo(np.einsum, [0, 2, 4], [R(3, 4, 4)], [(0, 1, 2)], [R(4, 4, 3)], [(3, 1, 0)],
          [R(4, 4, 3)], [(3, 3, 0)], [(3, 2, 0)])


def test_systematic_splits_and_stacks():
    combo(np.vsplit, [0], [R(4, 8)], [4, [1, 2]])
    combo(np.hsplit, [0], [R(4, 4, 4)], [2, [1, 2]])
    combo(np.dsplit, [0], [R(4, 4, 4)], [2, [1, 2]])
    combo(np.split, [0], [R(4, 4, 4)], [2, [1, 2]], axis=[0, 1, 2])
    combo(np.array_split, [0], [R(1), R(7)], [1, 3], axis=[0])
    combo(np.array_split, [0], [R(7, 7)], [4, [3, 5]], axis=[0, 1])
    combo(np.concatenate, [0], [(R(1), R(3)), [R(1), R(3)]], axis=[0])
    combo(np.concatenate, [0], [(R(2, 2, 2), R(2, 2, 2))], axis=[0, 1, 2, -1, None])
    combo(np.vstack, [0], [R(2), (R(2), R(2)), R(2, 3), (R(2, 4), R(1, 4))])
    combo(np.hstack, [0], [R(2), (R(2), R(2)), R(3, 2), (R(3, 4), R(3, 5))])
    combo(np.stack, [0], [(R(2),), (R(2), R(2))], axis=[0, 1, -1])
    combo(np.column_stack, [0], [R(2), (R(2), R(2)), (R(2, 2), R(2, 2))])
    combo(np.select, [1], [[R(3, 4, 5) > 0, R(3, 4, 5) > 0, R(3, 4, 5) > 0]],
          [[R(3, 4, 5), R(3, 4, 5), R(3, 4, 5)]], default=[0.0, 1.1])


# ------------------------------------------------------------ test_linalg.py

def symmetrized(fun):
    return lambda a, *rest: fun((np.tril(a) + np.swapaxes(np.tril(a), -1, -2)) / 2.0, *rest)


def psd(d):
    m = R(d, d)
    return m @ m.T


def test_linalg_inverse_solve_det():
    mat = R(8, 8)
    check_grads(np.linalg.inv, (mat @ mat + np.eye(8),))
    check_grads(np.linalg.inv, (R(4, 4, 4) + 5 * np.eye(4),))
    a, b, b1 = R(8, 8) + 10 * np.eye(8), R(8, 7), R(8)
    check_grads(lambda a: np.linalg.solve(a, b), (a,))
    check_grads(lambda a: np.linalg.solve(a, b1), (a,))
    check_grads(lambda b: np.linalg.solve(a[:6, :6], b), (R(6, 5),))
    a3, b3 = R(5, 4, 4) + 5 * np.eye(4), R(5, 4, 6)
    check_grads(lambda a: np.linalg.solve(a, b3), (a3,))
    check_grads(np.linalg.det, (R(6, 6),))
    check_grads(np.linalg.det, (R(3, 3, 3),))
    m6 = R(6, 6)
    check_grads(lambda x: np.linalg.slogdet(x)[1], (m6,))
    check_grads(lambda x: np.linalg.slogdet(x)[1], (-m6,))
    check_grads(lambda x: np.sum(np.linalg.slogdet(x)[1]),
                (np.stack([psd(5) + 5 * np.eye(5) for _ in range(3)]),))


def test_linalg_norms():
    check_grads(np.linalg.norm, (R(6),))
    check_grads(np.linalg.norm, (R(6, 5),))
    check_grads(lambda x: np.linalg.norm(x, axis=(0, 1)), (R(6, 5, 4),))
    for ord in (2, 3, 4):
        check_grads(lambda x: np.linalg.norm(x, ord=ord), (R(6),))
    for axis in range(3):
        check_grads(lambda x: np.linalg.norm(x, axis=axis), (R(6, 5, 4),))
    check_grads(lambda x: np.linalg.norm(x, ord="nuc"), (R(6, 5),), order=1)
    check_grads(lambda x: np.linalg.norm(x, ord="nuc", axis=(0, 1)), (R(6, 5, 4),), order=1)


def test_linalg_factorizations():
    def eigh_sum(x, uplo="L"):
        w, v = np.linalg.eigh(x, uplo)
        return np.sum(w) + np.sum(np.abs(v))   # |v|: independent of the eigenvectors' signs
    h = (lambda m: m.T @ m)(R(6, 6))
    check_grads(symmetrized(eigh_sum), (h,))
    check_grads(symmetrized(lambda x: eigh_sum(x, "U")), (h,))
    m = R(2, 3, 6, 6) + 10 * np.eye(6)
    check_grads(symmetrized(eigh_sum), (np.einsum("...ij,...kj->...ik", m, m),))
    check_grads(symmetrized(np.linalg.cholesky), (psd(6),))
    check_grads(symmetrized(np.linalg.cholesky), (np.stack([psd(6) for _ in range(3)]),))
    noise = np.random.RandomState(0).randn(6)
    check_grads(symmetrized(lambda a: np.linalg.norm(np.dot(np.linalg.cholesky(a), noise))),
                (psd(6),))


def test_linalg_eig():
    """autograd's newer test_eig_real / test_eig_complex / test_eig_batched: eigenvalues,
    and |eigenvectors| (independent of their phase), of real, complex and batched matrices."""
    def fun(x):
        w, v = np.linalg.eig(x)
        return np.sum(np.abs(w)) + np.sum(np.abs(v))
    check_grads(fun, (R(4, 4),))
    check_grads(fun, (R(4, 4) + 1j * R(4, 4),))
    check_grads(fun, (R(2, 3, 3),))
    a = R(3, 3)
    assert np.allclose(grad(lambda a: np.sum(np.linalg.eigvals(a).real))(a), np.eye(3))


@pytest.mark.parametrize("shape", [(3, 5), (4, 3, 5), (4, 4), (3, 4, 4), (5, 3), (4, 5, 3)])
def test_linalg_svd(shape):
    def fun(x):
        u, s, vt = np.linalg.svd(x, full_matrices=False)
        # sums of |u| and |v|: independent of the singular vectors' signs
        return np.sum(np.abs(u)) + np.sum(s) + np.sum(np.abs(vt))
    check_grads(fun, (R(*shape),))
    check_grads(lambda x: np.linalg.svd(x, full_matrices=False, compute_uv=False), (R(*shape),))


# ------------------------------------------------------------ test_fft.py

def test_fft_family():
    d = R(5, 5)
    for f in (np.fft.fft, lambda x: np.fft.fft(x, norm="ortho"), lambda x: np.fft.fft(x, axis=0),
              np.fft.ifft, np.fft.fft2, np.fft.ifft2, np.fft.fftn, np.fft.ifftn,
              np.fft.fftshift, np.fft.ifftshift, lambda x: np.fft.fftshift(x, axes=1),
              lambda x: np.fft.ifftshift(x, axes=1)):
        check_grads(f, (d,))
    for f in (np.fft.fft, np.fft.ifft):
        for n in (3, 7):
            check_grads(lambda x: f(x, n), (d,))
    r = R(4, 4) / 10
    for f in (np.fft.rfft, lambda x: np.fft.rfft(x, norm="ortho"),
              lambda x: np.fft.rfft(x, axis=0), np.fft.rfft2, np.fft.fftshift,
              lambda x: np.fft.rfft(x, 2), lambda x: np.fft.rfft(x, 6)):
        check_grads(f, (r,))
    for f, forward in ((np.fft.irfft, np.fft.rfft), (np.fft.irfft2, np.fft.rfft2),
                       (lambda x: np.fft.irfft(x, norm="ortho"), np.fft.rfft),
                       (lambda x: np.fft.irfft(x, 2), np.fft.rfft),
                       (lambda x: np.fft.irfft(x, 6), np.fft.rfft)):
        check_grads(f, (forward(r),))
    cube = R(4, 4, 4) / 10
    check_grads(np.fft.rfftn, (cube,))
    check_grads(lambda x: np.fft.rfftn(x)[(0, 1, 0), (3, 3, 2)], (cube,))
    check_grads(lambda x: np.fft.rfftn(x, axes=(0, 2)), (cube,))
    check_grads(np.fft.irfftn, (np.fft.rfftn(cube),))
    check_grads(lambda x: np.fft.irfftn(x)[(0, 1, 0), (3, 3, 2)], (np.fft.rfftn(cube),))
    for f in (np.fft.fft2, np.fft.ifft2, np.fft.fftn, np.fft.ifftn):
        check_grads(lambda x: f(x, s=[7, 3], axes=[0, 2]), (R(5, 5, 5) / 10,))
    check_grads(lambda x: np.fft.rfftn(x, s=[6, 2], axes=[0, 2]), (cube,))
    check_grads(lambda x: np.fft.irfftn(x, s=[6, 2], axes=[0, 2]), (np.fft.rfftn(cube),))


# ------------------------------------------------------------ test_graphs.py, test_direct.py

def test_graph_shapes_and_nesting():
    fun = lambda x: np.sin(np.sin(x) + np.sin(x))   # noqa: E731
    check_grads(fun, (R(),), order=3)
    assert grad(lambda x: x)(2.0) == 1.0 and grad(grad(lambda x: x))(2.0) == 0.0
    randv = R(10)
    df = grad(lambda x: np.sin(np.dot(x, randv)))
    check_grads(lambda x, v: np.sin(np.dot(v, df(x))), (R(10), R(10)))
    check_grads(lambda x: x * grad(lambda y: x * y)(2.0), (1.0,))
    check_grads(lambda x: x * grad(lambda y: y * x)(2.0), (1.0,))
    two = lambda x, y: np.sin(np.sin(x) + np.sin(y))   # noqa: E731
    check_grads(grad(grad(two, 1)), (R(), R()))
    check_grads(grad(grad(two), 1), (R(), R()))


def test_fanout_and_complex_intermediates():
    def fun(a):
        b = a + 1.0
        return np.sum(a + b + b[0] + 1.5)
    check_grads(fun, (R(5),))

    def complex_fun(a):
        b = a + 1.0j
        return np.sum(np.real(a + b + b[0] + 1.5))
    check_grads(complex_fun, (R(5),))

    def parts(a):
        return np.sum(np.abs(np.real(a)) ** 1.4 + np.abs(np.imag(a)) ** 1.3)
    check_grads(parts, (R(5, 3) + 0.1j * R(5, 3),))


def test_keepdims_outputs():
    for shape, axis in (((3, 3), None), ((3, 1), 0), ((1, 3), 1)):
        fun = lambda x: np.sum(np.sin(x), axis=axis, keepdims=True)   # noqa: E731
        check_grads(fun, (R(*shape),))
        check_grads(lambda x: np.sum(riesz.vjp(fun, x)[1](np.ones_like(fun(x)))[0]), (R(*shape),))


def test_direct_values():
    assert abs(grad(lambda x: (x + np.sin(x ** 2)) * x)(1.3) - 3.190948746871) < 1e-9
    g = grad(lambda x: x * (1.0 + 0.2j), holomorphic=True)(1.0 + 0.0j)
    assert abs(g - (1.0 + 0.2j)) < 1e-12
    with pytest.raises(TypeError, match="complex"):
        grad(lambda x: x * (1.0 + 0.2j))(1.0)


def test_wrappers():
    h = R(5, 5)
    assert np.allclose(riesz.hessian(lambda x: x @ h @ x)(R(5)), h + h.T)
    a = R(5, 4, 3)
    v = R(5, 4)
    j = riesz.jacobian(lambda a: np.roll(np.sin(a), 1))(a)
    vjp = riesz.vjp(lambda a: np.roll(np.sin(a), 1), a)[1](np.broadcast_to(v[..., None], a.shape))
    assert np.allclose(np.tensordot(np.broadcast_to(v[..., None], a.shape), j, axes=3), vjp[0])
    for dtype in (np.float32, np.float16):
        assert grad(lambda x: np.sum(x ** 2))(R(10, 10).astype(dtype)).dtype == dtype
    f = lambda x: 3.0 * x ** 3.2   # noqa: E731
    value, d = value_and_grad(f)(1.7)
    assert value == f(1.7) and d == grad(f)(1.7)


# ------------------------------------------------------------ Python-level behaviour

def test_builtins_on_traced_scalars():
    x = np.array([1.0, -2.0, 3.0])
    assert np.array_equal(grad(lambda x: max(x[0], x[1]) + min(x[1], x[2]))(x), [1, 1, 0])
    assert np.array_equal(grad(lambda x: max(x))(x), [0, 0, 1])
    assert np.array_equal(grad(lambda x: abs(x[1]) + sum(x))(x), [1, 0, 1])
    assert np.array_equal(grad(lambda x: round(x[2]) * x[0] + round(x[1], 1) * x[1])(x),
                          [3, -2, 0])
    q, r = None, None

    def with_divmod(x):
        nonlocal q, r
        q, r = divmod(x[2], 2.0)
        return r * x[0]
    assert np.array_equal(grad(with_divmod)(x), [1, 0, 1]) and q == 1.0
    check_grads(lambda x: divmod(x, 0.75)[1], (x + 0.1,))
    printed = []
    grad(lambda x: (printed.append(f"{x:.2f}"), x ** 2)[1])(2.0)
    assert printed == ["2.00"]
    assert grad(lambda x: np.sum(x) * x.nbytes / x.itemsize)(x)[0] == 3.0


def test_math_module_and_float_give_clear_errors():
    for fun in (math.sqrt, math.exp, float):
        with pytest.raises(TypeError, match="np.sqrt, np.exp"):
            grad(fun)(2.0)
    with pytest.raises(TypeError, match=r"np\.float64\(x\)"):
        grad(lambda x: np.float64(x) * 2)(2.0)


def test_in_place_operators_update_every_alias():
    def fun(x):
        y = x * 1.0
        alias = y
        y += 1
        y *= x
        y -= 0.5
        y /= 2
        y **= 2
        y[0] += 3.0 * x[1]
        return np.sum(alias)   # NumPy semantics: alias is y
    x = R(3)
    check_grads(fun, (x,))
    expected = ((x + 1) * x - 0.5) / 2
    expected = expected ** 2 + np.array([3.0 * x[1], 0, 0])
    assert np.allclose(jvp(fun, (x,), (np.zeros(3),))[0], np.sum(expected))

    def on_argument(x):
        x += 1
        return np.sum(x ** 2)
    arg = R(3)
    saved = arg.copy()
    assert np.allclose(grad(on_argument)(arg), 2 * (saved + 1))
    assert np.array_equal(arg, saved)   # the caller's array is left alone

    def keeps_dtype(x):
        y = x.astype(np.float32)
        y += x   # float64 into float32: cast as NumPy does
        return y
    assert jvp(keeps_dtype, (x,), (x,))[1].dtype == np.float32
    with pytest.raises(ValueError, match="non-broadcastable"):
        grad(lambda x: (lambda y: (y.__iadd__(np.ones((2, 3))), y.sum()))(x * 1)[1])(R(3))


def test_copy_fill_and_setitem():
    def fun(x):
        y = x.copy()
        y[0] = 0
        z = x * 1
        z.fill(x[1])
        return np.sum(y * x) + np.sum(z)
    check_grads(fun, (R(3),))

    def through_flat(x):
        y = x * 1.0
        y.flat[[0, 3]] = x.flat[1:3] * 2
        return y + sum(v for v in x.flat) + len(x.flat)
    m = R(2, 3)
    check_grads(through_flat, (m,))
    expected = m.copy()
    expected.flat[[0, 3]] = m.flat[1:3] * 2
    assert np.allclose(jvp(through_flat, (m,), (m,))[0], expected + m.sum() + 6)

    def into_numpy(x):
        y = np.zeros(3)
        y[1:] = x[:2]
        return np.sum(y)
    with pytest.raises(TypeError, match="riesz.numpy.at"):
        grad(into_numpy)(R(3))


def test_ufunc_methods():
    x = R(5)
    check_grads(np.logaddexp.reduce, (x,))
    assert np.allclose(grad(np.logaddexp.reduce)(x), np.exp(x) / np.sum(np.exp(x)))
    assert np.isclose(np.logaddexp.reduce(x), jvp(np.logaddexp.reduce, (x,), (x,))[0])
    check_grads(lambda x: np.sum(np.exp(-np.subtract.outer(x, x) ** 2)), (x,))
    check_grads(lambda x: np.maximum.accumulate(x), (np.array([0.3, 1.4, -1.2, 2.7, 0.2]),))
    check_grads(lambda x: np.add.reduce(x, axis=(0, 1)), (R(2, 3),))

    def scatter(x):
        y = x * 1.0
        np.add.at(y, [0, 0, 2], x[1:4])
        return y
    check_grads(scatter, (x,))
    with pytest.raises(TypeError, match="riesz.numpy.at"):
        grad(lambda x: np.add.at(np.zeros(3), [0], x[0]))(x)
    with pytest.raises(riesz.NoRuleError, match="reduceat"):
        grad(lambda x: np.sum(np.add.reduceat(x, [0, 2])))(x)


# ------------------------------------------------------------ realistic programs

X = rs.randn(20, 3)
Y_BINARY = (rs.rand(20) > 0.5).astype(float)
Y_CLASS = rs.randint(0, 4, 20)


def logistic_regression(w, b):
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    return -np.mean(Y_BINARY * np.log(p) + (1 - Y_BINARY) * np.log(1 - p)) + 0.01 * w.dot(w)


def softmax_classifier(w, b):
    logits = X @ w + b
    logits = logits - logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(Y_CLASS)), Y_CLASS].mean() + 1e-3 * np.sum(w ** 2)


def oscillator_rk4(k, y0):
    def f(y):
        return np.stack([y[1], -k[0] * y[0] - k[1] * y[1]])
    y, dt, path = y0, 0.05, []
    for _ in range(40):
        k1 = f(y)
        k2 = f(y + dt / 2 * k1)
        k3 = f(y + dt / 2 * k2)
        k4 = f(y + dt * k3)
        y = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        path.append(y)
    return np.sum(np.stack(path)[:, 0] ** 2)


def euler_with_indexed_updates(k):
    ys = np.zeros((30, 2)) + 0 * k[0]
    ys[0] = np.array([1.0, 0.0])
    for i in range(1, 30):
        y = ys[i - 1]
        ys[i, 0] = y[0] + 0.1 * y[1]
        ys[i, 1] = y[1] - 0.1 * (k[0] * y[0] + k[1] * y[1])
    return ys[-1, 0] + ys[:, 1].sum()


def soft_kmeans(centers, beta=3.0):
    d2 = np.sum((X[:, None, :] - centers[None, :, :]) ** 2, axis=-1)
    lse = np.logaddexp.reduce(-beta * d2, axis=1)
    r = np.exp(-beta * d2 - lse[:, None])
    return np.sum(r * d2) - np.sum(lse) / beta


XS = np.linspace(-1, 1, 15)


def polynomial_fit(c):
    return np.mean((np.polyval(c, XS) - np.sin(2 * XS)) ** 2) + np.sum(np.vander(c, 2))


def n_body(pos, vel):
    n = pos.shape[0]
    for _ in range(10):
        diff = pos[:, None, :] - pos[None, :, :]
        r2 = np.sum(diff ** 2, axis=-1) + np.eye(n)
        inv = (1 - np.eye(n)) / (r2 * np.sqrt(r2))
        vel = vel + 0.01 * -np.einsum("ij,ijk->ik", inv, diff)
        pos = pos + 0.01 * vel
    return np.sum(pos[:, 0]) + 0.5 * np.sum(vel ** 2)


def particles_in_a_box(x):
    x = x.copy()
    for _ in range(5):
        out = x > 1.0
        x[out] = 2.0 - x[out]     # reflect at the walls
        x[x < -1.0] *= -1
        x[0] += 0.1 * x[-1]
        x[1:3] = x[1:3] * 0.9
    return np.sum(x ** 2)


def heat_equation(u0, alpha):
    u = u0
    for _ in range(10):
        u = u + alpha * np.pad(np.diff(u, 2), 1)
    return trapezoid(u ** 2, dx=0.1) + np.sum(np.gradient(u))


def gp_negative_log_likelihood(log_ls, log_sf, log_sn):
    x = X[:, 0]
    k = (np.exp(2 * log_sf) * np.exp(-0.5 * np.subtract.outer(x, x) ** 2 / np.exp(2 * log_ls))
         + np.exp(2 * log_sn) * np.eye(len(x)))
    chol = np.linalg.cholesky(k)
    alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, Y_BINARY))
    return 0.5 * Y_BINARY @ alpha + np.sum(np.log(np.diag(chol)))


def signal_statistics(x):
    smooth = np.convolve(x, np.array([0.25, 0.5, 0.25]), mode="same")
    return (np.sum(np.cov(np.stack([x, smooth]))) + np.interp(0.35, np.linspace(0, 1, 7), x)
            + np.median(x) + np.percentile(x, 75))


PROGRAMS = [
    (logistic_regression, (rs.randn(3), 0.1)),
    (softmax_classifier, (rs.randn(3, 4), rs.randn(4))),
    (oscillator_rk4, (np.array([2.0, 0.3]), np.array([1.0, 0.0]))),
    (euler_with_indexed_updates, (np.array([2.0, 0.3]),)),
    (soft_kmeans, (rs.randn(3, 3),)),
    (polynomial_fit, (rs.randn(4),)),
    (n_body, (rs.randn(4, 2), rs.randn(4, 2))),
    (particles_in_a_box, (np.array([0.3, 1.4, -1.2, 0.7, 0.2]),)),
    (heat_equation, (rs.randn(10), 0.2)),
    (gp_negative_log_likelihood, (0.1, 0.2, -1.0)),
    (signal_statistics, (np.array([0.3, 1.4, -1.2, 0.7, 0.2, 2.1, -0.4]),)),
]


@pytest.mark.parametrize("program,args", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_program(program, args):
    check_grads(program, args, order=2)


# ------------------------------------------------------------ new functions under jit and vmap

NEW_FUNCTIONS = [
    lambda x: np.diff(x, prepend=0.0), lambda x: np.linspace(x[0], x[1], 4),
    lambda x: np.polyval(x, 0.3), lambda x: np.interp(x, [0.0, 1.0, 3.0], [1.0, 2.0, 0.0]),
    lambda x: np.nanmax(x), lambda x: np.logaddexp.reduce(x), lambda x: np.subtract.outer(x, x),
    lambda x: np.convolve(x, x), lambda x: np.cov(np.stack([x, x ** 2])),
    lambda x: np.append(x, 1.0), lambda x: np.sum(x, where=np.array([True, False, True])),
    lambda x: np.sum(x * np.isin(x, [2.0])), lambda x: np.sum(x) * np.iscomplexobj(x),
    lambda x: x * (np.result_type(x, 1.0) == np.float64),
]


@pytest.mark.parametrize("i", range(len(NEW_FUNCTIONS)))
def test_new_functions_under_jit_and_vmap(i):
    fun = NEW_FUNCTIONS[i]
    x = np.array([0.2, 1.3, 2.0])
    np.testing.assert_allclose(riesz.jit(fun)(x), fun(x))
    batch = np.stack([x, x + 0.5])
    np.testing.assert_allclose(riesz.vmap(fun)(batch), np.stack([fun(x), fun(x + 0.5)]))
