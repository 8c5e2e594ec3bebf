"""The per-operation fast paths (issue 12, item 5) give what the general paths give: the
same values, dtypes, shapes and errors. Each fast path is decided on types and shapes; these
tests run the cases on both sides of each decision."""
import collections

import numpy as np
import pytest

import riesz
from riesz.rules.define import has_nan, unbroadcast
from riesz.rules.reductions import normalize_axis
from riesz.testing import check_grads
from riesz.tree import tree_flatten, tree_unflatten

RNG = np.random.default_rng(0)


def _adjoint_gap(gshape, shape):
    """⟨unbroadcast(g), v⟩ − ⟨g, broadcast_to(v)⟩: zero for the transpose of broadcasting."""
    g, v = RNG.standard_normal(gshape), RNG.standard_normal(shape)
    return np.vdot(unbroadcast(g, shape), v) - np.vdot(g, np.broadcast_to(v, gshape))


@pytest.mark.parametrize("gshape, shape", [
    ((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 4), (1, 4)), ((3, 4), (3, 1)), ((3, 4), ()),
    ((3, 4), (1,)), ((2, 3, 4), (3, 1)), ((2, 3, 4), (1, 1, 4)), ((2, 1, 4), (1, 4)),
    ((5,), ()), ((2, 3, 4), (2, 1, 1))])
def test_unbroadcast_is_the_transpose_of_broadcasting(gshape, shape):
    assert unbroadcast(np.ones(gshape), shape).shape == shape
    assert abs(_adjoint_gap(gshape, shape)) < 1e-12


def _grads(f, *args):
    return riesz.grad(f, argnums=tuple(range(len(args))))(*args)


@pytest.mark.parametrize("op", [np.add, np.subtract, np.multiply, np.true_divide])
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)),
                                    ((), (3,)), ((2, 3, 4), (3, 1))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cotangents_have_the_arguments_shape_and_dtype(op, shapes, dtype):
    # the shortcut (same shape and dtype: no unbroadcast) and the general path on both sides
    x, y = (RNG.uniform(0.5, 1.5, s).astype(dtype) for s in shapes)
    gx, gy = _grads(lambda x, y: np.sum(op(x, y) ** 2), x, y)
    assert (gx.shape, gx.dtype, gy.shape, gy.dtype) == (x.shape, dtype, y.shape, dtype)
    check_grads(lambda x, y: op(x, y) ** 2, (x, y), order=2)


def test_python_scalars_keep_float32_and_give_python_float_gradients():
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    g = riesz.grad(lambda x, c: np.sum(x * c + c), argnums=(0, 1))(x, 2.0)
    assert g[0].dtype == np.float32 and g[0].shape == (3, 4)
    np.testing.assert_allclose(g[0], 2.0)
    assert np.ndim(g[1]) == 0 and float(g[1]) == pytest.approx(float(np.sum(x)) + 12, rel=1e-5)


def test_zero_dimensional_arguments():
    x, y = np.array(1.5), np.array(2.0)
    gx, gy = _grads(lambda x, y: x * y + y, x, y)
    assert np.ndim(gx) == 0 and np.ndim(gy) == 0
    assert (float(gx), float(gy)) == (2.0, 2.5)


@pytest.mark.filterwarnings("error")   # a complex gradient cast to real warns (ComplexWarning)
def test_a_complex_cotangent_of_a_real_argument_is_its_real_part():
    # real x meets a complex y: the shortcut must not let a complex cotangent through
    x = RNG.standard_normal(3)
    y = RNG.standard_normal(3) + 1j * RNG.standard_normal(3)
    gx = riesz.grad(lambda x: np.real(np.sum(x * y * np.conj(y))) + np.abs(np.sum(x * y)))(x)
    assert gx.dtype == np.float64
    check_grads(lambda x: np.abs(np.sum(x * y)) + np.real(np.sum((x @ np.outer(y, y)))), (x,))
    # the same through a non-elementwise rule (matmul's): a real matrix times a complex one
    A = RNG.standard_normal((2, 3))
    B = RNG.standard_normal((3, 2)) + 1j * RNG.standard_normal((3, 2))
    gA = riesz.grad(lambda A: np.real(np.sum(A @ B)))(A)
    assert gA.dtype == np.float64
    np.testing.assert_allclose(gA, np.broadcast_to(np.real(B).sum(1), (2, 3)))


def test_complex_arguments_keep_complex_cotangents():
    z = RNG.standard_normal(3) + 1j * RNG.standard_normal(3)
    w = RNG.standard_normal(3) + 1j * RNG.standard_normal(3)
    _, pullback = riesz.vjp(lambda z, w: z * w, z, w)
    gz, gw = pullback(np.ones(3, complex))
    assert gz.dtype == gw.dtype == np.complex128
    np.testing.assert_allclose(gz, w)


def test_integer_arguments_are_refused_as_before():
    with pytest.raises(TypeError, match="dtype int64"):
        riesz.grad(lambda x: np.sum(x * 1.0))(np.arange(3))


@pytest.mark.parametrize("sa, sb", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)),
                                    ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)), ((4,), (4,))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_gradients_matrices_and_the_rest(sa, sb, dtype):
    a, b = RNG.standard_normal(sa).astype(dtype), RNG.standard_normal(sb).astype(dtype)
    ga, gb = _grads(lambda a, b: np.sum(np.sin(a @ b)), a, b)
    assert (ga.shape, ga.dtype, gb.shape, gb.dtype) == (sa, dtype, sb, dtype)
    check_grads(lambda a, b: np.sin(a @ b), (a, b), order=2)


@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, (0, 1), (1, 2), (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_gradient_over_leading_middle_and_trailing_axes(axis, keepdims):
    x = RNG.standard_normal((2, 3, 4))
    weights = RNG.standard_normal(np.sum(x, axis=axis, keepdims=keepdims).shape)
    g = riesz.grad(lambda x: np.sum(np.sum(x, axis=axis, keepdims=keepdims) * weights))(x)
    expected = np.broadcast_to(np.expand_dims(weights, axis) if not keepdims and axis is not None
                               else weights, x.shape)
    np.testing.assert_allclose(g, expected)
    check_grads(lambda x: np.sum(x ** 2, axis=axis, keepdims=keepdims), (x,), order=2)


def test_has_nan_small_and_large_real_and_complex():
    small = np.ones(10, np.float32)
    large = np.ones(10000, np.float32)
    for x in (small, large):
        assert not has_nan(x)
        y = x.copy(); y[3] = np.nan
        assert has_nan(y)
    # Σ|x|² overflows to +∞, never to NaN: no NaN claimed for huge or infinite entries
    assert not has_nan(np.full(10, 1e30, np.float32))
    assert not has_nan(np.array([np.inf, -np.inf]))
    z = np.ones(4, complex); z[1] = complex(0, np.nan)
    assert has_nan(z) and not has_nan(np.ones(4, complex))
    assert has_nan(np.float32("nan")) and not has_nan(2.0) and not has_nan(np.array(3.0))
    assert has_nan(float("nan")) and has_nan(complex(1, float("nan")))
    # a broadcast (zero-stride) view and a non-contiguous one
    assert has_nan(np.broadcast_to(np.float64("nan"), (5, 5)))
    assert not has_nan(np.ones((6, 6))[::2, ::3])


def test_normalize_axis_int_fast_path_matches_numpy():
    assert normalize_axis(1, 3) == (1,) and normalize_axis(-1, 3) == (2,)
    assert normalize_axis(np.int64(-1), 3) == (2,)
    assert normalize_axis((2, -3), 3) == (0, 2)
    for bad in (3, -4, np.int64(3)):
        with pytest.raises(np.exceptions.AxisError, match="out of bounds"):
            normalize_axis(bad, 3)


def test_tree_fast_paths_keep_containers_and_registered_types():
    Point = collections.namedtuple("Point", "x y")

    class Sub(list):   # not registered: a leaf, as before
        pass
    tree = [(1, [2, 3]), {"b": Point(4, 5), "a": ()}, None, Sub([6])]
    leaves, td = tree_flatten(tree)
    assert leaves == [1, 2, 3, 4, 5, Sub([6])]
    back = tree_unflatten(td, leaves)
    assert back == tree and type(back[0]) is tuple and type(back[0][1]) is list
    assert type(back[1]["b"]) is Point and type(back[3]) is Sub


def test_dask_cotangents_take_the_general_paths_lazily():
    # NumPy parameters, Dask data: every cotangent that meets a fast path's type test is a
    # Dask array, which must stay lazy (no graph computed) and give NumPy's gradient
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")

    def refuse(dsk, keys, **kwargs):
        raise AssertionError("a Dask graph was computed while building the gradient")
    W, b = RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    x = RNG.standard_normal((6, 3))

    def loss(W, b, x):
        h = x @ W + b
        return np.sum(np.max(h, axis=1, keepdims=True) - h * (h > 0)) + np.sum(b * 2.0)
    with dask.config.set(scheduler=refuse):
        got = _grads(lambda W, b: loss(W, b, da.from_array(x, chunks=(3, 3))), W, b)
    assert all(isinstance(g, da.Array) for g in got)
    for g, want in zip(got, _grads(lambda W, b: loss(W, b, x), W, b)):
        np.testing.assert_allclose(g.compute(), want, rtol=1e-12)


def test_prepare_tape_runs_only_on_tapes_it_may_change(monkeypatch):
    # the trace notes, as it records, the nodes whose primitive has a tape rewrite and the
    # first node whose result is big; a pass over a tape with neither skips prepare_tape
    # (its walk would change nothing), one over a small tape looks at the rewrites' nodes
    # only, and the gradients are the same
    from riesz.core import VJPTrace
    from riesz.rules.define import RELEASE_NBYTES
    calls = []
    prepare = VJPTrace.prepare_tape

    def recording(tape, seeds, rewrite_at, big_from):
        calls.append((len(tape), list(rewrite_at), big_from))
        return prepare(tape, seeds, rewrite_at, big_from)
    monkeypatch.setattr(VJPTrace, "prepare_tape", staticmethod(recording))
    f = riesz.grad(lambda x: np.sum(np.exp(x * 3.0) * x))
    small = np.linspace(0.1, 1.0, 6)
    np.testing.assert_allclose(f(small), np.exp(3 * small) * (3 * small + 1))
    assert calls == []
    big = np.linspace(0.1, 1.0, RELEASE_NBYTES // 8 + 1)   # one float64 array just big enough
    np.testing.assert_allclose(f(big), np.exp(3 * big) * (3 * big + 1))
    assert calls == [(5, [], 1)]   # x, x * 3 (the first big result), exp, the product, sum
    w = np.arange(6.0)   # a softmax written out (a divide: its rewrite's primitive), small
    s = riesz.grad(lambda x: np.sum(np.exp(x) / np.sum(np.exp(x)) * w))(small)
    p = np.exp(small) / np.sum(np.exp(small))
    np.testing.assert_allclose(s, p * (w - np.sum(p * w)))
    assert calls[1] == (7, [4], None)   # x, exp, exp, sum, the quotient, the product, sum
