"""Transforms beyond grad/vjp/jvp: vmap, Jacobians, Hessians, linear maps, custom rules,
checkpointing, gradients under other inner products."""
import gc
import os
import sys
import tracemalloc
import warnings

import numpy as np
import pytest

import riesz
from riesz import (grad, jvp, vjp, vmap, jacfwd, jacrev, jacobian, hessian, hvp,
                   elementwise_grad, linearize, linear_transpose, custom_jvp, custom_vjp,
                   checkpoint)
from riesz.core import Primitive
from riesz.testing import check_grads
from specs import SPECS

rng = np.random.default_rng(0)
JACOBIANS = [jacfwd, jacrev, jacobian]


# ------------------------------------------------------------- the seeds' Jacobians

@pytest.mark.parametrize("jac", JACOBIANS)
def test_simplex_projection(jac):
    # f_α(x) = α(x) x with α(x) = 1/Σxᵢ has ∂f_α(x) = α(x)(I − f_α(x)uᵀ)
    x = np.abs(rng.standard_normal(5)) + 0.1
    alpha = 1 / np.sum(x)
    expected = alpha * (np.eye(5) - np.outer(alpha * x, np.ones(5)))
    np.testing.assert_allclose(jac(lambda x: x / np.sum(x))(x), expected, rtol=1e-12)


@pytest.mark.parametrize("jac", JACOBIANS)
def test_softmax(jac):
    def softmax(x):
        e = np.exp(x - np.max(x))
        return e / np.sum(e)
    x = rng.standard_normal(6)
    s = softmax(x)
    np.testing.assert_allclose(jac(softmax)(x), np.diag(s) - np.outer(s, s), atol=1e-15)


@pytest.mark.parametrize("jac", JACOBIANS)
def test_linear_layer_generalized_jacobian(jac):
    # y = x w, x: N×D, w: D×M; ∂y[n, m]/∂x[n', d] = δ(n, n') w[d, m], shape (N, M, N, D)
    N, D, M = 4, 3, 2
    x, w = rng.standard_normal((N, D)), rng.standard_normal((D, M))
    J = jac(lambda x: x @ w)(x)
    assert J.shape == (N, M, N, D)
    np.testing.assert_allclose(J, np.einsum("np,dm->nmpd", np.eye(N), w), rtol=1e-14)
    Jw = jac(lambda w: x @ w)(w)     # ∂y[n, m]/∂w[d, m'] = x[n, d] δ(m, m')
    np.testing.assert_allclose(Jw, np.einsum("nd,mq->nmdq", x, np.eye(M)), rtol=1e-14)


def test_jacobian_pytrees_and_argnums():
    x, y = rng.standard_normal(3), rng.standard_normal(2)
    f = lambda a, b: {"outer": a[:, None] * b[None, :], "dot": np.sum(a) * b}
    for jac in JACOBIANS:
        J = jac(f, argnums=(0, 1))(x, y)
        assert set(J) == {"outer", "dot"}
        assert [j.shape for j in J["outer"]] == [(3, 2, 3), (3, 2, 2)]
        assert [j.shape for j in J["dot"]] == [(2, 3), (2, 2)]
        np.testing.assert_allclose(J["outer"][0], np.einsum("ik,j->ijk", np.eye(3), y))
        np.testing.assert_allclose(J["dot"][1], np.sum(x) * np.eye(2))
    J = jacobian(lambda p: p["w"] @ p["v"])({"w": np.eye(2), "v": np.ones(2)})
    np.testing.assert_allclose(J["w"], np.einsum("ik,l->ikl", np.eye(2), np.ones(2)))


def test_jacobian_auto_mode_and_aux():
    x = rng.standard_normal(2)
    wide = lambda x: np.tanh(x[:, None] * np.arange(5.0))        # 2 inputs, 10 outputs
    np.testing.assert_allclose(jacobian(wide)(x), jacrev(wide)(x), rtol=1e-14)
    J, aux = jacobian(lambda x: (x * 2, np.sum(x)), has_aux=True)(x)
    np.testing.assert_allclose(J, 2 * np.eye(2))
    assert aux == np.sum(x)
    with pytest.raises(ValueError, match="mode='sideways'"):
        jacobian(np.sin, mode="sideways")


def test_jacobian_float32_and_scalars():
    x = rng.standard_normal(3).astype(np.float32)
    J = jacrev(lambda x: np.tanh(x) * 2)(x)
    assert J.dtype == np.float32
    np.testing.assert_allclose(J, np.diag(2 * (1 - np.tanh(x) ** 2)), rtol=1e-6)
    assert jacfwd(np.sin)(0.5) == pytest.approx(np.cos(0.5))


# ------------------------------------------------------------- Hessians

def test_hessian_closed_form():
    # f(x, y) = x e^(−x²−y²) has Hf = e^(−x²−y²) [[4x³−6x, 4x²y−2y], [4x²y−2y, 4xy²−2x]]
    f = lambda p: p[0] * np.exp(-p[0] ** 2 - p[1] ** 2)
    for x, y in [(-1.0, 0.0), (0.3, -0.7), (1.2, 0.4)]:
        expected = np.exp(-x ** 2 - y ** 2) * np.array(
            [[4 * x ** 3 - 6 * x, 4 * x ** 2 * y - 2 * y],
             [4 * x ** 2 * y - 2 * y, 4 * x * y ** 2 - 2 * x]])
        np.testing.assert_allclose(hessian(f)(np.array([x, y])), expected, atol=1e-14)


def test_hessian_of_logsumexp_and_hvp():
    A, x, v = rng.standard_normal((6, 4)), rng.standard_normal(4), rng.standard_normal(4)

    def f(x):
        y = A @ x
        m = np.max(y)
        return m + np.log(np.sum(np.exp(y - m))) + 0.5 * x @ x
    y = A @ x
    s = np.exp(y - y.max()) / np.sum(np.exp(y - y.max()))
    H = A.T @ (np.diag(s) - np.outer(s, s)) @ A + np.eye(4)
    np.testing.assert_allclose(hessian(f)(x), H, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hvp(f, (x,), (v,)), H @ v, rtol=1e-12)


def test_hessian_has_aux():
    H, aux = hessian(lambda x: (np.sum(x ** 3), x * 2), has_aux=True)(np.array([1.0, 2.0]))
    np.testing.assert_allclose(H, np.diag([6.0, 12.0]))
    np.testing.assert_allclose(aux, [2.0, 4.0])


def test_hessian_shapes_and_multiple_primals():
    X = rng.standard_normal((2, 3))
    H = hessian(lambda X: np.sum(X ** 3))(X)
    assert H.shape == (2, 3, 2, 3)
    np.testing.assert_allclose(H.reshape(6, 6), np.diag(6 * X.ravel()), atol=1e-14)
    a, b = rng.standard_normal(2), rng.standard_normal(2)
    f = lambda a, b: np.sum(a * a * b)
    ha, hb = hvp(f, (a, b), (np.ones(2), np.zeros(2)))
    np.testing.assert_allclose(ha, 2 * b)        # ∂²f/∂a² · 1
    np.testing.assert_allclose(hb, 2 * a)        # ∂²f/∂b∂a · 1


# ------------------------------------------------------------- vmap

def test_vmap_axes():
    X, W = rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    np.testing.assert_allclose(vmap(lambda x: np.tanh(x @ W))(X), np.tanh(X @ W))
    np.testing.assert_allclose(vmap(lambda x, w: x @ w, in_axes=(1, None))(X.T, W), X @ W)
    out = vmap(lambda x: (x * 2, np.sum(x)), out_axes=(1, 0))(X)
    np.testing.assert_allclose(out[0], 2 * X.T)
    np.testing.assert_allclose(out[1], X.sum(1))
    np.testing.assert_allclose(vmap(lambda x: W)(X), np.broadcast_to(W, (5, 3, 4)))
    # nested: a batch of batches
    T = rng.standard_normal((2, 5, 3))
    np.testing.assert_allclose(vmap(vmap(lambda x: x @ W))(T), T @ W)


def test_vmap_errors():
    with pytest.raises(ValueError, match=r"different sizes \[2, 3\]"):
        vmap(lambda a, b: a + b)(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="no argument is batched"):
        vmap(np.sin, in_axes=None)(np.ones(2))


MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                 ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
                 ((3,), (5, 3, 4)), ((5, 2, 3), (3,))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
@pytest.mark.parametrize("axes", [(0, None), (None, 0), (0, 0)])
def test_vmap_matmul(sa, sb, axes):
    a = rng.standard_normal(((4,) if axes[0] == 0 else ()) + sa)
    b = rng.standard_normal(((4,) if axes[1] == 0 else ()) + sb)
    expected = np.stack([np.matmul(a[k] if axes[0] == 0 else a, b[k] if axes[1] == 0 else b)
                         for k in range(4)])
    np.testing.assert_allclose(vmap(np.matmul, in_axes=axes)(a, b), expected, rtol=1e-13)


@pytest.mark.parametrize("index", [np.s_[1:, None], np.s_[..., 0], np.array([2, 0, 2]),
                                   np.s_[[0, 1], [1, 1]], np.s_[[0, 1], :, [1, 0]]])
def test_vmap_indexing_and_its_transpose(index):
    X = rng.standard_normal((4, 3, 2, 3))
    np.testing.assert_allclose(vmap(lambda x: x[index])(X), np.stack([x[index] for x in X]))
    # the batched VJP of indexing is a batched scatter-add (repeated indices add up)
    G = rng.standard_normal((4,) + X[0][index].shape)
    _, pullback = vjp(lambda x: x[index], X[0])
    expected = np.stack([pullback(g)[0] for g in G])
    np.testing.assert_allclose(vmap(lambda g: pullback(g)[0])(G), expected)


def _spec_cases():
    return [pytest.param(name, k, id=f"{name}-{k}") for name, cases in SPECS.items()
            for k in range(len(cases))]


@pytest.mark.parametrize("name,k", _spec_cases())
def test_every_primitive_batches(name, k):
    """vmap of every spec-table case (every primitive, including ones without a batching
    rule of their own) equals the loop over the examples and differentiates correctly,
    and forward- and reverse-mode Jacobians (a batched JVP and a batched VJP) agree."""
    case = SPECS[name][k]
    examples = [case.args(np.random.default_rng(k * 10 + e), "float64") for e in range(3)]
    batch = [np.stack(parts) for parts in zip(*examples)]
    expected = np.stack([np.asarray(case.fn(*ex)) for ex in examples])
    np.testing.assert_allclose(vmap(case.fn)(*batch), expected, rtol=1e-12)
    if case.modes == ("fwd", "rev"):   # the batched primitives differentiate correctly
        check_grads(vmap(case.fn), batch, order=1)
    if case.modes == ("fwd", "rev"):
        nums = tuple(range(len(case.shapes)))
        fwd = jacfwd(case.fn, argnums=nums)(*examples[0])
        rev = jacrev(case.fn, argnums=nums)(*examples[0])
        for a, b in zip(fwd, rev):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_primitive_without_batching_rule_loops():
    # a primitive no table knows: vmap and the Jacobians stay correct through the loop
    cumsum = Primitive("test_cumsum", lambda x: np.cumsum(x, axis=-1),
                       jvps=[lambda t, ans, x: cumsum(t)],
                       # the transpose of a running sum: gᵢ + gᵢ₊₁ + ⋯ = Σg − (running sum of g) + g
                       vjps=[lambda g, ans, x: np.sum(g, axis=-1, keepdims=True) - cumsum(g) + g])
    X = rng.standard_normal((3, 4))
    np.testing.assert_allclose(vmap(cumsum)(X), np.cumsum(X, axis=-1))
    np.testing.assert_allclose(jacfwd(lambda x: np.sin(cumsum(x)))(X[0]),
                               jacrev(lambda x: np.sin(cumsum(x)))(X[0]), rtol=1e-14)
    np.testing.assert_allclose(jacrev(cumsum)(X[0]), np.tril(np.ones((4, 4))))


def test_vmap_needing_concrete_values_maps_one_example_at_a_time():
    X = rng.standard_normal((4, 3))
    branchy = lambda x: x * 2 if np.sum(x) > 0 else -x       # Python control flow
    np.testing.assert_allclose(vmap(branchy)(X), np.stack([branchy(x) for x in X]))
    # per-example gradients of a ReLU network: maximum's rule compares the values
    W = rng.standard_normal((3, 2))
    loss = lambda W, x: np.sum(np.maximum(x @ W, 0.0) ** 2)
    per_example = vmap(grad(loss), in_axes=(None, 0))(W, X)
    np.testing.assert_allclose(per_example, np.stack([grad(loss)(W, x) for x in X]))
    assert per_example.shape == (4, 3, 2)


_W3 = rng.standard_normal((4, 3))
# functions whose derivative rules, or the user's code, compute masks from the values
# (comparisons, signs, ties, NaN tests) or reshape a batch of basis vectors: under vmap these
# run on the whole batch at once, as one example's would
_MASKED_FROM_VALUES = {
    "relu": lambda x: np.sum(np.maximum(_W3 @ x, 0.0) ** 2),
    "abs": lambda x: np.sum(np.abs(x) ** 3),
    "where": lambda x: np.sum(np.where(x > 0, x ** 2, -x)),
    "max with ties": lambda x: np.max(np.floor(x) * x),
    "clip": lambda x: np.sum(np.clip(x, -0.5, 0.5) ** 2),
    "copysign": lambda x: np.sum(np.copysign(x ** 2, x - 0.1) * x),
    "nansum": lambda x: np.nansum(np.log(x) * x),
    "reshape": lambda x: np.sum(x.reshape(3, 1) * np.tanh(x.reshape(1, 3))),
    "logsumexp": lambda x: np.log(np.sum(np.exp(_W3 @ x))) + 0.5 * x @ x,
}


@pytest.mark.parametrize("transform", [grad, hessian], ids=["grad", "hessian"])
@pytest.mark.parametrize("name", sorted(_MASKED_FROM_VALUES))
def test_vmap_of_derivatives_batches_masks_computed_from_values(name, transform, monkeypatch):
    f = _MASKED_FROM_VALUES[name]
    X = np.abs(rng.standard_normal((5, 3))) + 0.2 if name == "nansum" else \
        rng.standard_normal((5, 3)) * 2
    X[0, :2] = X[0, 2]    # ties (max), equal signs
    expected = np.stack([transform(f)(x) for x in X])

    def one_at_a_time(*args):
        raise AssertionError("vmap mapped the function one example at a time")
    monkeypatch.setattr(riesz.batching, "_map_by_loop", one_at_a_time)
    np.testing.assert_allclose(vmap(transform(f))(X), expected, rtol=1e-12, atol=1e-14)
    # staged, too: one batched program, not one unrolled per example
    np.testing.assert_allclose(riesz.jit(vmap(transform(f)))(X), expected, rtol=1e-12,
                               atol=1e-14)


_INDICES_FROM_VALUES = {
    "argmax": lambda x: np.argmax(x),
    "argmin along 0": lambda x: np.argmin(x, axis=0),
    "argmax method, kept": lambda x: x.argmax(axis=-1, keepdims=True),
    "nanargmax": lambda x: np.nanargmax(x, axis=1),
    "argsort": lambda x: np.argsort(x),
    "argsort flattened, stable": lambda x: np.argsort(x, axis=None, kind="stable"),
    "argsort, axis by position": lambda x: np.argsort(x, 0),
}


@pytest.mark.parametrize("name", sorted(_INDICES_FROM_VALUES))
def test_vmap_runs_argmax_and_argsort_on_the_batch(name, monkeypatch):
    f = _INDICES_FROM_VALUES[name]
    X = np.round(rng.standard_normal((5, 3, 4)), 1)   # (ties: the first of them, as NumPy)
    expected = np.stack([f(x) for x in X])

    def one_at_a_time(*args):
        raise AssertionError("vmap mapped the function one example at a time")
    monkeypatch.setattr(riesz.batching, "_map_by_loop", one_at_a_time)
    for got in (vmap(f)(X), riesz.jit(vmap(f))(X)):
        np.testing.assert_array_equal(got, expected)
        assert got.dtype == expected.dtype
    # per-example accuracy beside per-example gradients (has_aux), in one batched pass
    g, aux = vmap(grad(lambda x: (np.sum(x ** 2), f(x)), has_aux=True))(X)
    np.testing.assert_array_equal(aux, expected)
    np.testing.assert_allclose(g, 2 * X)


def test_vmap_through_eigh_warns_where_one_example_has_repeated_eigenvalues(monkeypatch):
    # the warning reads the whole batch's values; the derivative stays batched
    def one_at_a_time(*args):
        raise AssertionError("vmap mapped the function one example at a time")
    monkeypatch.setattr(riesz.batching, "_map_by_loop", one_at_a_time)
    f = lambda a: np.sum(np.linalg.eigh(a + a.T)[1][:, 0] ** 3)
    A = rng.standard_normal((3, 4, 4))
    expected = np.stack([grad(f)(a) for a in A])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(vmap(grad(f))(A), expected, rtol=1e-9, atol=1e-12)
    A[1] = np.diag([1.0, 1.0, 2.0, 3.0]) / 2   # repeated eigenvalues in one example
    with pytest.warns(RuntimeWarning, match="repeated eigenvalues"):
        vmap(grad(f))(A)


@pytest.mark.parametrize("in_axes, shape", [(0, (3, 2, 2)), (1, (2, 3, 2))])
def test_vmap_reshape_is_a_view_where_each_examples_is(in_axes, shape):
    # a write into x after y = x.reshape(-1) reaches y where NumPy's reshape of the example
    # is a view (contiguous examples), and not where it copies (examples strided across
    # the batch); vmap asks the batch's first example, without mapping one at a time
    def write_after(x):
        y = x.reshape(-1)
        x[0, 0] = 9.0
        return y
    X = np.arange(12.0).reshape(shape)
    # each example as vmap takes it: a view into the batch (a copy of X, written into)
    expected = np.stack([write_after(X.copy()[(slice(None),) * in_axes + (k,)]) for k in range(3)])
    np.testing.assert_array_equal(vmap(write_after, in_axes=in_axes)(X), expected)
    assert (expected[:, 0] == 9.0).all() == (in_axes == 0)


def test_vmap_of_grad_per_example_gradients():
    X, w = rng.standard_normal((5, 3)), rng.standard_normal(3)
    loss = lambda w, x: np.sum(np.tanh(x @ w) ** 2)
    per_example = vmap(grad(loss), in_axes=(None, 0))(w, X)
    np.testing.assert_allclose(per_example, np.stack([grad(loss)(w, x) for x in X]), rtol=1e-13)


# ------------------------------------------------------------- LinearMap

def test_linear_map_identities():
    A = rng.standard_normal((4, 3))
    f = lambda x: np.tanh(A @ x)
    g = lambda y: np.sin(y) * y
    x = rng.standard_normal(3)
    y, df = linearize(f, x)
    z, dg = linearize(g, y)
    v, u = rng.standard_normal(3), rng.standard_normal(4)
    np.testing.assert_allclose(y, f(x))
    np.testing.assert_allclose(df(v), jvp(f, (x,), (v,))[1], rtol=1e-14)
    np.testing.assert_allclose(df.T(u), vjp(f, x)[1](u)[0], rtol=1e-14)
    assert df.T.T is df
    np.testing.assert_allclose(df.T.T(v), df(v))
    assert np.sum(df.T(u) * v) == pytest.approx(np.sum(u * df(v)), rel=1e-13)   # ⟨Aᵀu, v⟩ = ⟨u, Av⟩
    _, dgf = linearize(lambda x: g(f(x)), x)
    np.testing.assert_allclose((dg @ df)(v), dgf(v), rtol=1e-13)                 # the chain rule
    np.testing.assert_allclose((dg @ df).T(u), dgf.T(u), rtol=1e-13)
    np.testing.assert_allclose(df.matrix(), jacobian(f)(x), rtol=1e-14)
    np.testing.assert_allclose(df.T.matrix(), jacobian(f)(x).T, rtol=1e-14)
    np.testing.assert_allclose((dg @ df).matrix(), dg.matrix() @ df.matrix(), rtol=1e-13)


def test_linear_map_repr_pytrees_and_errors():
    x = rng.standard_normal((2, 3))
    _, df = linearize(lambda a, b: {"p": a * b, "s": np.sum(a)}, x, x.astype(np.float32))
    assert repr(df) == "∂<lambda>: (f64[2,3], f32[2,3]) -> {'p': f64[2,3], 's': f64[]}"
    assert repr(df.T) == "∂<lambda>.T: {'p': f64[2,3], 's': f64[]} -> (f64[2,3], f32[2,3])"
    out = df(x, x)
    np.testing.assert_allclose(out["p"], 2 * x * x)
    assert out["s"] == pytest.approx(np.sum(x))
    M = df.matrix()
    assert M["p"][0].shape == (2, 3, 2, 3) and M["s"][1].shape == (2, 3)
    with pytest.raises(ValueError, match=r"leaf 0 has shape \(3,\), expected \(2, 3\)"):
        df(np.ones(3), x)
    _, dh = linearize(np.sin, np.ones(3))
    with pytest.raises(ValueError, match="cannot compose"):
        dh @ df


def test_linear_maps_add_subtract_scale_and_compose_as_their_matrices():
    A, B, C = (rng.standard_normal((4, 3)) for _ in range(3))
    x, v, u = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(4)
    _, da = linearize(lambda x: np.tanh(A @ x), x)
    _, db = linearize(lambda x: B @ (x * x), x)
    _, dc = linearize(lambda y: np.sin(C.T @ y), rng.standard_normal(4))
    Ma, Mb, Mc = da.matrix(), db.matrix(), dc.matrix()
    cases = {"a + b": (da + db, Ma + Mb), "a - b": (da - db, Ma - Mb), "-a": (-da, -Ma),
             "2.5 a": (2.5 * da, 2.5 * Ma), "a 3": (da * 3, 3 * Ma), "a / 4": (da / 4, Ma / 4),
             "np.float64 a": (np.float64(-0.5) * da, -0.5 * Ma),
             "c (a - 2b)": (dc @ (da - 2 * db), Mc @ (Ma - 2 * Mb)),
             "(a + b) c": ((da + db) @ dc, (Ma + Mb) @ Mc)}
    for what, (m, M) in cases.items():
        n = M.shape[1]
        w = rng.standard_normal(n)
        np.testing.assert_allclose(m(w), M @ w, rtol=1e-13, err_msg=what)
        out = rng.standard_normal(M.shape[0])
        np.testing.assert_allclose(m.T(out), M.T @ out, rtol=1e-13, err_msg=what)
        np.testing.assert_allclose(out @ m, out @ M, rtol=1e-13, err_msg=what)   # uᵀA
        np.testing.assert_allclose(m.matrix(), M, rtol=1e-13, err_msg=what)
    assert repr(da - db) == "(∂<lambda> - ∂<lambda>): f64[3] -> f64[4]"
    assert repr(2.0 * da) == "2.0 ∂<lambda>: f64[3] -> f64[4]"
    np.testing.assert_allclose((da + db).T(u), da.T(u) + db.T(u), rtol=1e-14)
    # a scalar keeps the spaces' dtype; pytree spaces of several arguments
    _, d32 = linearize(lambda x: x * x, x.astype(np.float32))
    assert (0.1 * d32)(v.astype(np.float32)).dtype == np.float32
    _, dp = linearize(lambda a, b: {"p": a * b, "s": np.sum(a)}, x, v)
    both = dp + 2 * dp
    out = both(u[:3], x)
    np.testing.assert_allclose(out["p"], 3 * (u[:3] * v + x * x), rtol=1e-14)
    ct = both.T({"p": x, "s": 1.5})
    np.testing.assert_allclose(ct[0], 3 * (x * v + 1.5), rtol=1e-14)
    # complex maps take complex scalars, in the bilinear pairing (no conjugation)
    z = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    _, dz = linearize(lambda z: z * z, z)
    Mz = dz.matrix()
    np.testing.assert_allclose((1j * dz).matrix(), 1j * Mz, rtol=1e-14)
    np.testing.assert_allclose((1j * dz).T(z), 1j * Mz.T @ z, rtol=1e-14)
    # a traced scalar: d/da ⟨u, (a A)(v)⟩ = ⟨u, A v⟩, from either side
    np.testing.assert_allclose(grad(lambda a: np.sum(u * (a * da)(v)))(2.0), u @ Ma @ v,
                               rtol=1e-13)
    np.testing.assert_allclose(grad(lambda a: np.sum((da / a).T(u) * v))(2.0),
                               -(u @ Ma @ v) / 4, rtol=1e-13)
    with pytest.raises(TypeError, match="multiplied by scalars only; apply it with A"):
        da * v
    with pytest.raises(TypeError, match="multiplied by scalars only"):
        da * db
    with pytest.raises(TypeError, match="complex scalar: the map is between real spaces"):
        1j * da
    with pytest.raises(ValueError, match="cannot add .*the same input space"):
        da + dc
    with pytest.raises(TypeError):
        da + 1.0


def test_linear_transpose_and_custom_rules_on_the_tape():
    A = rng.standard_normal((4, 3))
    At = linear_transpose(lambda x: A @ x, np.zeros(3))
    u = rng.standard_normal(4)
    np.testing.assert_allclose(At(u), A.T @ u, rtol=1e-14)
    np.testing.assert_allclose(At.matrix(), A.T, rtol=1e-14)
    # a custom_vjp node on the tape is pushed forward by differentiating its implementation
    f = checkpoint(lambda x: np.tanh(A @ x))
    x, v = rng.standard_normal(3), rng.standard_normal(3)
    _, df = linearize(f, x)
    np.testing.assert_allclose(df(v), jvp(f, (x,), (v,))[1], rtol=1e-14)


# ------------------------------------------------------------- custom rules

def _softplus_with_jvp(calls):
    @custom_jvp
    def softplus(x):
        return np.log(1 + np.exp(x))

    @softplus.defjvp
    def softplus_jvp(primals, tangents):
        (x,), (x_dot,) = primals, tangents
        calls.append(1)
        return softplus(x), x_dot / (1 + np.exp(-x))
    return softplus


def test_custom_jvp_both_modes_to_second_order():
    calls = []
    softplus = _softplus_with_jvp(calls)
    x = rng.standard_normal(4)
    sigmoid = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(jvp(softplus, (x,), (np.ones(4),))[1], sigmoid, rtol=1e-14)
    assert calls
    calls.clear()
    np.testing.assert_allclose(grad(lambda x: np.sum(softplus(x)))(x), sigmoid, rtol=1e-14)
    assert calls      # reverse mode transposes the rule
    np.testing.assert_allclose(elementwise_grad(elementwise_grad(softplus))(x),
                               sigmoid * (1 - sigmoid), rtol=1e-12)
    np.testing.assert_allclose(hessian(lambda x: np.sum(softplus(x)))(x),
                               np.diag(sigmoid * (1 - sigmoid)), rtol=1e-12, atol=1e-15)
    # a batch of cotangents through the transposed rule, twice
    third_order = np.einsum("i,ij,ik->ijk", sigmoid * (1 - sigmoid), np.eye(4), np.eye(4))
    np.testing.assert_allclose(jacrev(jacrev(softplus))(x), third_order, atol=1e-15)
    check_grads(softplus, (x,), order=2)


def test_custom_jvp_rule_is_used_where_the_function_is_not_differentiable():
    # the rule defines the derivative: |x|'s at 0 chosen as 1 here (NumPy's sign gives 0)
    @custom_jvp
    def f(x, y):
        return np.abs(x) * y

    @f.defjvp
    def f_jvp(primals, tangents):
        (x, y), (dx, dy) = primals, tangents
        return f(x, y), np.where(x >= 0, 1.0, -1.0) * dx * y + np.abs(x) * dy
    assert grad(f)(0.0, 3.0) == 3.0
    assert jvp(f, (0.0, 3.0), (1.0, 0.0))[1] == 3.0
    assert grad(f, argnums=1)(-2.0, 3.0) == 2.0
    x, y = rng.standard_normal(3) + 2.0, rng.standard_normal(3)
    check_grads(f, (x, y), order=2)


def test_custom_vjp_forward_mode_second_order():
    @custom_vjp
    def f(x):
        return np.sin(x) * x

    def f_fwd(x):
        return f(x), x

    def f_bwd(x, g):
        return (g * (np.cos(x) * x + np.sin(x)),)
    f.defvjp(f_fwd, f_bwd)
    x = rng.standard_normal(3)
    d2 = 2 * np.cos(x) - x * np.sin(x)
    third_order = np.einsum("i,ij,ik->ijk", d2, np.eye(3), np.eye(3))
    np.testing.assert_allclose(jacfwd(jacfwd(f))(x), third_order, atol=1e-14)
    np.testing.assert_allclose(jacrev(jacrev(f))(x), third_order, atol=1e-14)
    np.testing.assert_allclose(hessian(lambda x: np.sum(f(x)))(x), np.diag(d2), atol=1e-14)
    check_grads(f, (x,), order=2)


def test_custom_rules_under_vmap_inside_a_derivative():
    # grad(vmap(f)) and jvp(vmap(f)): the derivative level sees batched custom rules
    bwd_calls, jvp_calls = [], []

    @custom_vjp
    def f(x, w):
        return np.sin(x) * w

    def f_bwd(res, g):
        bwd_calls.append(1)
        x, w = res
        return (g * np.cos(x) * w, g * np.sin(x))
    f.defvjp(lambda x, w: (f(x, w), (x, w)), f_bwd)
    X, w = rng.standard_normal((4, 3)), rng.standard_normal(3)
    loss = lambda X, w: np.sum(vmap(f, in_axes=(0, None))(X, w) ** 2)
    gX, gw = grad(loss, argnums=(0, 1))(X, w)
    assert bwd_calls
    np.testing.assert_allclose(gX, 2 * f(X, w) * np.cos(X) * w, rtol=1e-13)
    np.testing.assert_allclose(gw, np.sum(2 * f(X, w) * np.sin(X), axis=0), rtol=1e-13)
    softplus = _softplus_with_jvp(jvp_calls)
    sigmoid = 1 / (1 + np.exp(-X))
    np.testing.assert_allclose(jvp(vmap(softplus), (X,), (np.ones_like(X),))[1], sigmoid)
    assert jvp_calls
    jvp_calls.clear()
    np.testing.assert_allclose(grad(lambda X: np.sum(vmap(softplus)(X)))(X), sigmoid)
    assert jvp_calls


def test_custom_rule_errors():
    @custom_jvp
    def f(x):
        return x
    with pytest.raises(TypeError, match="defjvp"):
        f(1.0)

    @f.defjvp
    def f_jvp(primals, tangents):
        return primals[0], (tangents[0], tangents[0])
    with pytest.raises(TypeError, match="structure"):
        jvp(f, (1.0,), (1.0,))


# ------------------------------------------------------------- checkpoint

def _mlp(n_layers, width, batch, seed=0):
    r = np.random.default_rng(seed)
    params = [(r.standard_normal((width, width)) / np.sqrt(width), r.standard_normal(width) * 0.1)
              for _ in range(n_layers)]
    x = r.standard_normal((batch, width))

    def block(x, block_params):
        for W, b in block_params:
            x = np.tanh(x @ W + b)
        return x
    return params, x, block


def _peak_bytes(fn):
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def test_checkpoint_memory_and_identical_gradients():
    params, x, block = _mlp(n_layers=32, width=64, batch=256)
    ck_block = checkpoint(block)

    def loss(params, step):   # 8 blocks of 4 layers
        h = x
        for i in range(0, len(params), 4):
            h = step(h, params[i:i + 4])
        return np.sum(h ** 2)
    plain, plain_grads = _peak_bytes(lambda: grad(loss)(params, block))
    ck, ck_grads = _peak_bytes(lambda: grad(loss)(params, ck_block))
    # plain: three activations (x W, + b, tanh) for each of the 32 layers (96 arrays of
    # 256×64) at the end of the forward pass (the backward pass then first gives back x W
    # and + b, which no rule reads, so its cotangents fit in their place); checkpointed:
    # 8 block inputs and one block's recomputed record (12), plus the parameters'
    # gradients (the size of 16 such arrays)
    assert ck < plain / 2.2, (ck, plain)
    for (gW, gb), (cW, cb) in zip(plain_grads, ck_grads):
        np.testing.assert_array_equal(gW, cW)
        np.testing.assert_array_equal(gb, cb)


def test_checkpoint_nests_and_static_args():
    def layer(x, W, n):
        for _ in range(n):
            x = np.tanh(x @ W)
        return x
    ck = checkpoint(layer, static_argnums=(2,))
    x, W = rng.standard_normal(3), rng.standard_normal((3, 3)) / 2
    check_grads(lambda x, W: ck(x, W, 2), (x, W), order=2)
    np.testing.assert_allclose(hessian(lambda x: np.sum(ck(x, W, 2)))(x),
                               hessian(lambda x: np.sum(layer(x, W, 2)))(x), rtol=1e-12)


# ------------------------------------------------------------- gradients under a metric

def test_grad_under_a_metric():
    A = rng.standard_normal((4, 4))
    M = A @ A.T + 4 * np.eye(4)
    f = lambda x: np.sum(np.sin(x) * x)
    x = rng.standard_normal(4)
    g = grad(f)(x)
    gM = grad(f, metric=M)(x)
    np.testing.assert_allclose(gM, np.linalg.solve(M, g), rtol=1e-12)
    # the defining property: ⟨∇_M f, ẋ⟩_M = ∂f(x)(ẋ) for every ẋ
    xdot = rng.standard_normal(4)
    assert gM @ M @ xdot == pytest.approx(jvp(f, (x,), (xdot,))[1], rel=1e-12)
    np.testing.assert_allclose(grad(f, metric=lambda g: g / 2)(x), g / 2)
    (value, gv) = riesz.value_and_grad(f, metric=M)(x)
    assert value == f(x)
    np.testing.assert_allclose(gv, gM)


def test_grad_metric_per_leaf_and_matrix_arguments():
    X, y = rng.standard_normal((2, 3)), rng.standard_normal(2)
    f = lambda X, y: np.sum((X.T @ y) ** 2)
    M = np.diag(np.arange(1.0, 7.0))
    gX, gy = grad(f, argnums=(0, 1), metric=(M, None))(X, y)
    plain_X, plain_y = grad(f, argnums=(0, 1))(X, y)
    np.testing.assert_allclose(gX, (plain_X.ravel() / np.arange(1.0, 7.0)).reshape(2, 3))
    np.testing.assert_allclose(gy, plain_y)
    gX, gy = grad(f, argnums=(0, 1), metric=[None, 2 * np.eye(2)])(X, y)
    np.testing.assert_allclose(gX, plain_X)
    np.testing.assert_allclose(gy, plain_y / 2)
    g = grad(lambda p: f(p["X"], p["y"]), metric={"X": None, "y": lambda v: 3 * v})
    np.testing.assert_allclose(g({"X": X, "y": y})["y"], 3 * plain_y)


def test_grad_metric_errors():
    f = lambda x: np.sum(x ** 2)
    with pytest.raises(ValueError, match="not symmetric"):
        grad(f, metric=np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="not positive definite"):
        grad(f, metric=np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match=r"M is 2×2 but the gradient has shape \(3,\)"):
        grad(f, metric=np.eye(2))(np.ones(3))
    with pytest.raises(ValueError, match="structure"):
        grad(lambda a, b: f(a) + f(b), argnums=(0, 1), metric=np.eye(2))(np.ones(2), np.ones(2))


def test_preconditioned_descent_example():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
    try:
        import preconditioned_descent as example
    finally:
        sys.path.pop(0)
    Q, b = example.problem(n=6, decades=2)
    x_plain, steps_plain = example.descend(Q, b)
    x_metric, steps_metric = example.descend(Q, b, metric=np.diag(np.diag(Q)))
    np.testing.assert_allclose(x_metric, np.linalg.solve(Q, b), rtol=1e-5)
    np.testing.assert_allclose(x_plain, np.linalg.solve(Q, b), rtol=1e-4, atol=1e-6)
    assert steps_metric * 20 < steps_plain, (steps_metric, steps_plain)


# ------------------------------------------------------------- elementwise_grad

def test_elementwise_grad():
    x = rng.standard_normal((2, 3))
    np.testing.assert_allclose(elementwise_grad(np.tanh)(x), 1 - np.tanh(x) ** 2, rtol=1e-14)
    g, aux = elementwise_grad(lambda x: (x ** 3, "aux"), has_aux=True)(x)
    np.testing.assert_allclose(g, 3 * x ** 2)
    assert aux == "aux"
    ga, gb = elementwise_grad(lambda a, b: a * b, argnums=(0, 1))(x, 2 * x)
    np.testing.assert_allclose(ga, 2 * x)
    np.testing.assert_allclose(gb, x)
