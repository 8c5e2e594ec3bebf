"""A softmax (log-softmax) written out in NumPy operations becomes one softmax (log_softmax)
node before the backward pass of grad (riesz.rules.softmax): the same derivatives, eagerly,
at second order and under jit, and no rewrite where a value of the chain is read elsewhere."""
import numpy as np
import pytest

import riesz
from riesz import grad
from riesz.core import VJPTrace
from riesz.testing import check_grads


def shifted(s, axis=-1):
    e = np.exp(s - np.max(s, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def unshifted(s, axis=-1):
    e = np.exp(s)
    return e / np.sum(e, axis=axis, keepdims=True)


def by_hand(s, G, axis=-1):
    """∇ₛ ⟨G, softmax(s)⟩ = p ⊙ (G − Σ p ⊙ G)."""
    p = np.exp(s - s.max(axis=axis, keepdims=True))
    p = p / p.sum(axis=axis, keepdims=True)
    return p * (G - np.sum(p * G, axis=axis, keepdims=True))


@pytest.fixture
def tapes(monkeypatch):
    """The primitive names of each tape a backward pass consumed, after its rewrites."""
    seen = []
    prepare = VJPTrace.prepare_tape

    def recording(tape, seeds, *noted):
        big = prepare(tape, seeds, *noted)
        seen.append([n.prim.name for n in tape if n is not None and type(n) is not int])
        return big
    monkeypatch.setattr(VJPTrace, "prepare_tape", staticmethod(recording))
    return seen


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("written", [shifted, unshifted])
@pytest.mark.parametrize("axis", [-1, 0])
def test_a_written_out_softmax_is_one_node_with_the_same_gradient(written, axis, dtype, rtol,
                                                                  tapes):
    rng = np.random.default_rng(0)
    s, G = rng.standard_normal((4, 6)).astype(dtype), rng.standard_normal((4, 6)).astype(dtype)
    g = grad(lambda s: np.sum(written(s, axis) * G))(s)
    assert g.dtype == dtype
    np.testing.assert_allclose(g, by_hand(s, G, axis), rtol=rtol, atol=rtol)
    assert tapes == [["softmax", "multiply", "sum"]]


def log_shifted(z, axis=-1):
    z = z - np.max(z, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def log_unshifted(z, axis=-1):
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("written", [log_shifted, log_unshifted])
def test_a_written_out_log_softmax_is_one_node_with_the_same_gradient(written, dtype, rtol, tapes):
    # the softmax cross-entropy of an MLP written in plain NumPy: ∇ = (softmax(z) − y) / n
    rng = np.random.default_rng(4)
    z = rng.standard_normal((5, 3)).astype(dtype)
    onehot = np.eye(3, dtype=dtype)[[0, 2, 1, 1, 0]]
    g = grad(lambda z: -np.sum(written(z, 1) * onehot) / 5)(z)
    assert g.dtype == dtype
    p = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(g, (p / p.sum(axis=1, keepdims=True) - onehot) / 5, rtol=rtol,
                               atol=rtol)
    assert tapes[0][0] == "log_softmax" and "exp" not in tapes[0] and "amax" not in tapes[0]
    w = rng.standard_normal((5, 3)).astype(dtype)
    check_grads(lambda z: grad(lambda z: np.sum(np.tanh(written(z, 1)) * w))(z), (z,), order=1)


def test_ties_in_the_maximum_and_minus_infinity_entries():
    # rows with tied maxima, a row of equal entries, masked (−∞) entries: the softmax's
    # derivative does not depend on the shift, so ties need no sharing rule
    s = np.array([[1.0, 3.0, 3.0, -np.inf], [2.0, 2.0, 2.0, 2.0], [-np.inf, 0.5, -1.0, 0.5]])
    G = np.arange(12.0).reshape(3, 4)
    g = grad(lambda s: np.sum(shifted(s) * G))(s)
    assert np.isfinite(g).all()
    np.testing.assert_allclose(g, by_hand(s, G), atol=1e-14)
    assert (g[s == -np.inf] == 0).all()


def test_no_rewrite_where_a_value_of_the_chain_is_read_elsewhere(tapes):
    rng = np.random.default_rng(1)
    s, G = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))

    def also_reads_the_maximum(s):
        m = np.max(s, axis=-1, keepdims=True)
        e = np.exp(s - m)
        return np.sum(e / np.sum(e, axis=-1, keepdims=True) * G) + np.sum(m)

    def also_reads_e(s):
        e = np.exp(s - np.max(s, axis=-1, keepdims=True))
        return np.sum(e / np.sum(e, axis=-1, keepdims=True) * G) + np.sum(e)

    def max_along_another_axis(s):
        e = np.exp(s - np.max(s, axis=0, keepdims=True))
        return np.sum(e / np.sum(e, axis=-1, keepdims=True) * G)

    for f in (also_reads_the_maximum, also_reads_e, max_along_another_axis):
        check_grads(f, (s,), order=1, modes=("rev",))
        g = grad(f)(s)
        _, pullback = riesz.vjp(f, s)   # a pullback keeps its tape: never rewritten
        np.testing.assert_allclose(g, pullback(1.0)[0], rtol=1e-12)
    # the maximum read by the loss, or taken along another axis: a softmax of s − max s
    assert tapes[0][:3] == tapes[2][:3] == ["amax", "subtract", "softmax"]
    assert "softmax" not in tapes[1]


def test_second_order_through_a_written_out_softmax(tapes):
    rng = np.random.default_rng(2)
    s, G, w = (rng.standard_normal((3, 4)) for _ in range(3))
    f = lambda s: np.sum(np.tanh(shifted(s)) * G)
    hvp = grad(lambda s: np.sum(grad(f)(s) * w))(s)
    _, pullback = riesz.vjp(riesz.grad(f), s)   # no rewrite in either pass
    np.testing.assert_allclose(hvp, pullback(w)[0], rtol=1e-10, atol=1e-12)
    assert any("softmax" in t for t in tapes)
    check_grads(grad(f), (s,), order=1)


def test_a_staged_gradient_has_the_softmax_rule(tapes):
    rng = np.random.default_rng(3)
    q, k = rng.standard_normal((8, 4)).astype(np.float32), rng.standard_normal((8, 4)).astype(np.float32)
    G = rng.standard_normal((8, 8)).astype(np.float32)
    f = lambda q: np.sum(shifted(q @ k.T * 0.5) * G)
    body = riesz.source(grad(f), q).split("# backward", 1)[1]
    assert "==" not in body and "exp" not in body   # no tie mask, no exp rule: p (g − Σ p g)
    np.testing.assert_allclose(riesz.jit(grad(f))(q), grad(f)(q), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad(f)(q), by_hand(q @ k.T * 0.5, G) @ k * 0.5, rtol=1e-4,
                               atol=1e-5)


@pytest.mark.parametrize("xdtype, wdtype", [(np.float32, np.float32), (np.float64, np.float64),
                                            (np.float32, np.float64), (np.float64, np.float32)])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_log_softmax_rule_on_numpy_arrays_and_on_traced_ones(xdtype, wdtype, axis):
    # ∇ₓ ⟨w, log_softmax(x)⟩ = w − p Σw: NumPy's own steps for two arrays of one dtype, the
    # primitives for mixed dtypes (the cotangent's dtype wins) and at second order
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5)).astype(xdtype)
    w = rng.standard_normal((4, 5)).astype(wdtype)
    f = lambda x: np.sum(riesz.nn.log_softmax(x, axis=axis) * w)   # noqa: E731
    p = np.exp(x - x.max(axis=axis, keepdims=True))
    p = p / p.sum(axis=axis, keepdims=True)
    got = grad(f)(x)
    assert got.dtype == xdtype
    np.testing.assert_allclose(got, w - p * w.sum(axis=axis, keepdims=True),
                               rtol=1e-5 if np.float32 in (xdtype, wdtype) else 1e-12)
    if xdtype == wdtype == np.float64:
        check_grads(f, (x,), order=2)
