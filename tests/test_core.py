"""The engine: the seeds' worked results, nesting, long chains, memory, threads, errors."""
import gc
import sys
import threading
import tracemalloc

import numpy as np
import pytest

import riesz
from riesz import grad, jvp, vjp, value_and_grad
import riesz.numpy as rnp

rng = np.random.default_rng(0)


# ------------------------------------------------------------- the seeds' examples

def test_four_variable_example():
    def f(w, x, y, z):
        a, b = (w + x + y + z) ** 2, (w + x - y - z) ** 2
        u, v = (a + b) ** 2, (a - b) ** 2
        return (u + v) ** 2
    value, grads = value_and_grad(f, argnums=(0, 1, 2, 3))(-1.0, 0.0, -2.0, 1.0)
    assert value == 1024
    assert grads == (-4096, -4096, -4096, -4096)


def test_logsumexp_gradient_is_softmax():
    g = grad(lambda v: np.log(np.exp(v[0]) + np.exp(v[1])))(np.array([0.0, np.log(2.0)]))
    np.testing.assert_allclose(g, [1 / 3, 2 / 3], rtol=1e-14)


def test_quadratic_form():
    A, x = rng.standard_normal((5, 5)), rng.standard_normal(5)
    np.testing.assert_allclose(grad(lambda x: x @ A @ x)(x), (A + A.T) @ x, rtol=1e-12)


def test_low_rank_factorization():
    X, U, V = rng.standard_normal((6, 5)), rng.standard_normal((6, 2)), rng.standard_normal((2, 5))
    g = grad(lambda V: np.sum((X - U @ V) ** 2))(V)
    np.testing.assert_allclose(g, -2 * U.T @ (X - U @ V), rtol=1e-12)


def test_bilinear_form_gradient_is_outer_product():
    v, w, M = rng.standard_normal(4), rng.standard_normal(3), rng.standard_normal((4, 3))
    np.testing.assert_allclose(grad(lambda M: v @ M @ w)(M), np.outer(v, w), rtol=1e-12)


def test_linear_layer_vjp():
    x, W, dy = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
    y, pullback = vjp(lambda x, W: x @ W, x, W)
    dx, dW = pullback(dy)
    np.testing.assert_allclose(y, x @ W)
    np.testing.assert_allclose(dx, dy @ W.T, rtol=1e-12)
    np.testing.assert_allclose(dW, x.T @ dy, rtol=1e-12)


def test_grad_tanh():
    assert grad(np.tanh)(2.0) == pytest.approx(1 - np.tanh(2.0) ** 2, rel=1e-15)


def test_user_code_unchanged():
    W = rng.standard_normal((3, 2))

    def f(x):
        return np.sum(np.tanh(x @ W))
    x = rng.standard_normal((4, 3))
    expected = (1 - np.tanh(x @ W) ** 2) @ W.T
    np.testing.assert_allclose(grad(f)(x), expected, rtol=1e-12)


# ------------------------------------------------------------- nesting

def test_no_perturbation_confusion():
    # d/dx [x · d/dy (x + y)] at y = 1 is 1
    assert grad(lambda x: x * grad(lambda y: x + y)(1.0))(3.0) == 1.0
    # the same in forward mode, and mixed
    inner = lambda x: x * jvp(lambda y: x + y, (1.0,), (1.0,))[1]
    assert jvp(inner, (3.0,), (1.0,))[1] == 1.0
    assert grad(inner)(3.0) == 1.0


@pytest.mark.parametrize("nest", ["rev-rev", "fwd-rev", "rev-fwd", "fwd-fwd"])
def test_second_derivative_every_nesting(nest):
    f = lambda x: np.sin(x) * x ** 2
    d2 = lambda x: (2 - x ** 2) * np.sin(x) + 4 * x * np.cos(x)
    df_rev = grad(f)
    df_fwd = lambda x: jvp(f, (x,), (1.0,))[1]
    outer = nest.split("-")[0]
    inner = df_rev if nest.endswith("rev") else df_fwd
    result = grad(inner)(0.7) if outer == "rev" else jvp(inner, (0.7,), (1.0,))[1]
    assert result == pytest.approx(d2(0.7), rel=1e-12)


def test_fourth_derivative():
    f = np.sin
    for _ in range(4):
        f = grad(f)
    assert f(0.3) == pytest.approx(np.sin(0.3), rel=1e-12)


# ------------------------------------------------------------- the engine's limits

def test_long_chain_does_not_recurse():
    def f(x):
        for _ in range(100_000):
            x = x * 1.0
        return x
    assert grad(f)(2.0) == 1.0
    assert sys.getrecursionlimit() < 100_000


def test_memory_flat_across_many_grads():
    x = rng.standard_normal(100)
    g = grad(lambda x: np.sum(np.tanh(x) * x))
    for _ in range(200):
        g(x)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(10_000):
        g(x)
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 100_000, f"memory grew by {grown} bytes over 10,000 grad calls"


def test_threads_match_sequential():
    A = rng.standard_normal((20, 20))
    f = lambda x: np.sum(np.tanh(A @ x) ** 2)
    xs = [rng.standard_normal(20) for _ in range(8)]
    expected = [grad(grad(lambda x: f(x) * 1.0))(x) if False else grad(f)(x) for x in xs]
    results = [None] * 8

    def work(i):
        for _ in range(50):
            results[i] = grad(f)(xs[i])
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r, e in zip(results, expected):
        np.testing.assert_array_equal(r, e)


def test_big_linear_layer_vjp_memory():
    # the Jacobian of this layer would take 256 GB; the VJP needs a few same-sized arrays
    x = np.ones((64, 4096), np.float32)
    W = np.full((4096, 4096), 1e-3, np.float32)
    dy = np.ones((64, 4096), np.float32)
    tracemalloc.start()
    y, pullback = vjp(lambda x, W: x @ W, x, W)
    dx, dW = pullback(dy)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert dx.dtype == dW.dtype == np.float32
    assert dW.shape == W.shape
    assert peak < 3 * W.nbytes, f"peak {peak / 2**20:.0f} MiB"


# ------------------------------------------------------------- pytrees, dtypes, scalars

def test_pytree_arguments_and_dtypes():
    params = {"W": rng.standard_normal((3, 2)).astype(np.float32),
              "b": [np.zeros(2, np.float32), (np.float32(1.0),)]}
    x = rng.standard_normal((4, 3)).astype(np.float32)

    def loss(p, x):
        return np.sum((x @ p["W"] + p["b"][0]) ** 2) * p["b"][1][0]
    g = grad(loss)(params, x)
    assert set(g) == {"W", "b"} and isinstance(g["b"], list) and isinstance(g["b"][1], tuple)
    assert g["W"].dtype == np.float32 and g["W"].shape == (3, 2)
    assert g["b"][0].dtype == np.float32
    np.testing.assert_allclose(g["b"][0], 2 * np.sum(x @ params["W"], axis=0), rtol=1e-5)


@pytest.mark.parametrize("reduce", [np.mean, np.sum, lambda x: np.sum(x) / 3, np.var])
def test_float32_cotangents_stay_float32(reduce):
    # a float64 constant inside a rule would turn every later backward product float64
    seen = []

    @riesz.custom_vjp
    def spy(x):
        return x
    spy.defvjp(lambda x: (x, None), lambda _, g: (seen.append(g.dtype) or g,))
    x = rng.standard_normal((4, 3)).astype(np.float32)
    W = rng.standard_normal((3, 2)).astype(np.float32)
    grad(lambda x: reduce(np.tanh(spy(x) @ W) / 2 + 1))(x)
    assert seen == [np.float32]


def test_registered_container():
    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b
    riesz.register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, c: Pair(*c))
    g = grad(lambda p: p.a * p.b ** 2)(Pair(2.0, 3.0))
    assert isinstance(g, Pair) and (g.a, g.b) == (9.0, 12.0)


def test_a_type_met_as_a_leaf_then_registered_is_a_container():
    # the pytree code remembers the types it met as leaves; registering one takes it out
    class Box:
        def __init__(self, v):
            self.v = v
    box = Box(np.ones(2))
    assert riesz.tree_leaves([box, (box,)]) == [box, box]
    riesz.register_pytree_node(Box, lambda b: ((b.v,), None), lambda _, c: Box(*c))
    leaves, tree = riesz.tree_flatten([box, (box,)])
    assert len(leaves) == 2 and all(leaf is box.v for leaf in leaves)
    rebuilt = riesz.tree_unflatten(tree, [np.zeros(2), np.ones(2)])
    assert isinstance(rebuilt[1][0], Box) and rebuilt[0].v.sum() == 0


def test_python_scalars():
    g = grad(lambda x: x ** 3)(2.0)
    assert isinstance(g, float) and g == 12.0


def test_has_aux_and_argnums():
    f = lambda x, y: (np.sum(x * y), {"y": y})
    g, aux = grad(f, argnums=1, has_aux=True)(np.ones(3), np.arange(3.0))
    np.testing.assert_array_equal(g, np.ones(3))
    np.testing.assert_array_equal(aux["y"], np.arange(3.0))


def test_indexing_gradient_scatter_adds_repeats():
    x = np.arange(4.0)
    g = grad(lambda x: np.sum(x[[0, 0, 3]] ** 2) + x[1:3].sum())(x)
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 6.0])


def test_control_flow_uses_values():
    def f(x):
        while np.sum(x ** 2) > 1.0:
            x = x * 0.5
        return np.sum(x) if x[0] > 0 else -np.sum(x)
    np.testing.assert_allclose(grad(f)(np.array([2.0, 2.0])), [0.25, 0.25])


def test_riesz_numpy_array_of_traced_scalars():
    g = grad(lambda x, y: np.sum(rnp.array([[x, y], [y, 1.0]]) ** 2), argnums=(0, 1))(2.0, 3.0)
    assert g == (4.0, 12.0)


def test_stop_gradient():
    f = lambda x: x * riesz.stop_gradient(x) ** 2
    assert grad(f)(3.0) == 9.0
    assert jvp(f, (3.0,), (1.0,))[1] == 9.0
    assert grad(grad(f))(3.0) == 0.0


def test_custom_vjp_is_used_and_nests():
    calls = []

    @riesz.custom_vjp
    def f(x, y):
        return np.sin(x) * y

    def f_fwd(x, y):
        return f(x, y), (np.cos(x), np.sin(x), y)

    def f_bwd(res, g):
        calls.append(1)
        cos_x, sin_x, y = res
        return (cos_x * y * g, sin_x * g)
    f.defvjp(f_fwd, f_bwd)
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    np.testing.assert_allclose(grad(lambda x: np.sum(f(x, y)))(x), np.cos(x) * y)
    assert calls
    from riesz.testing import check_grads
    check_grads(f, (x, y), order=2)


def test_constant_output_has_zero_gradient():
    assert grad(lambda x: 3.0)(1.0) == 0.0


# ------------------------------------------------------------- errors

def test_non_scalar_output():
    with pytest.raises(TypeError, match=r"shape \(3,\).*vjp.*jacobian"):
        grad(np.sin)(np.ones(3))


def test_integer_argument():
    with pytest.raises(TypeError, match="argument 1 .*int"):
        grad(lambda x, n: x * n, argnums=1)(1.0, 3)


def test_function_without_rule():
    with pytest.raises(riesz.NoRuleError, match="numpy.histogram_bin_edges"):
        grad(lambda x: np.sum(np.histogram_bin_edges(x, 3)))(np.ones(3))


def test_lossy_conversions():
    with pytest.raises(TypeError, match="float"):
        grad(lambda x: float(x))(1.0)
    with pytest.raises(TypeError, match="drop its derivative"):
        grad(lambda x: np.sum(np.asarray(x)))(np.ones(2))


def test_pullback_wrong_cotangent():
    _, pullback = vjp(lambda x: x * 2, np.ones(3))
    with pytest.raises(ValueError, match=r"shape \(2,\).*\(3,\)"):
        pullback(np.ones(2))
    with pytest.raises(ValueError, match="structure"):
        pullback((np.ones(3), np.ones(3)))


# ---- accumulation in place: only into a cotangent that the backward pass alone holds

def _in_place_sums(monkeypatch):
    """Record, for every sum the backward pass hands to add_into, whether it wrote into
    its first argument."""
    from riesz.core import VJPTrace
    from riesz.rules.define import add_into
    wrote = []

    def recording(old, ct):
        out = add_into(old, ct)
        wrote.append(out is old)
        return out
    monkeypatch.setattr(VJPTrace, "add_into", staticmethod(recording))
    return wrote


def _identity_whose_rule_returns(stored):
    """The identity with a custom rule that returns its residual ``stored`` as the cotangent."""
    @riesz.custom_vjp
    def f(x):
        return x * 1.0
    f.defvjp(lambda x: (x * 1.0, stored), lambda r, g: (r,))
    return f


def test_a_cotangent_summed_three_times_is_summed_in_place(monkeypatch):
    wrote = _in_place_sums(monkeypatch)
    x = np.linspace(0.1, 1.0, 5)
    g = grad(lambda x: np.sum(np.sin(x) * np.cos(x) + np.sin(x) * 2.0 + x ** 2))(x)
    np.testing.assert_allclose(g, np.cos(2 * x) + 2 * np.cos(x) + 2 * x)
    assert True in wrote


def test_no_user_array_primal_or_stored_value_is_written(monkeypatch):
    _in_place_sums(monkeypatch)
    x = np.linspace(0.1, 1.0, 4)
    # the user's cotangent reaches x twice and a third time through a product
    ct = np.arange(1.0, 5.0)
    before = ct.copy()
    out, pullback = vjp(lambda x: x * 3.0 + (x + x), x)   # ct reaches x first
    np.testing.assert_allclose(pullback(ct)[0], 5 * before)
    np.testing.assert_array_equal(ct, before)
    # a custom rule returns an array it stored (its residual) as a cotangent; the sum of
    # that cotangent with the others must not write into it
    stored = np.full(4, 7.0)
    f = _identity_whose_rule_returns(stored)
    for _ in range(2):
        np.testing.assert_allclose(grad(lambda x: np.sum(x * x) + np.sum(f(x)) + np.sum(f(x)))(x),
                                   14.0 + 2 * x)
    np.testing.assert_array_equal(stored, np.full(4, 7.0))
    np.testing.assert_array_equal(x, np.linspace(0.1, 1.0, 4))


def test_no_user_cotangent_or_stored_value_is_written_by_the_backward_pass():
    x = np.linspace(0.0, 1.0, 10_000)
    ct = np.full(10_000, 2.0)
    out, pullback = vjp(lambda x: np.exp(x * 3.0), x)
    np.testing.assert_allclose(pullback(ct)[0], 6.0 * np.exp(3.0 * x))
    np.testing.assert_array_equal(ct, np.full(10_000, 2.0))
    stored = np.full(10_000, 7.0)
    f = _identity_whose_rule_returns(stored)
    for _ in range(2):
        np.testing.assert_allclose(grad(lambda x: np.sum(f(np.exp(x))))(x), 7.0 * np.exp(x))
    np.testing.assert_array_equal(stored, np.full(10_000, 7.0))
    np.testing.assert_array_equal(x, np.linspace(0.0, 1.0, 10_000))
