"""riesz.nn.attention: the hand-derived rules and the fused kernel against autodiff through
a plain composition of NumPy operations, to second order, with masks, causal masking and
t_q ≠ t_k."""
import tracemalloc

import numpy as np
import pytest

import riesz
from riesz.nn.attention import AUTO_NAIVE_MAX_SCORES, NORMALIZERS, _configure, attention
from riesz.testing import check_grads

# (impl, block_size): small blocks so that a dozen rows cross several query and key blocks
PATHS = [("naive", None), ("fused", (4, 3)), ("fused", (5, 64))]
TOLERANCE = {np.float64: 1e-10, np.float32: 1e-5}


def reference(q, k, v, normalizer, allowed, scale):
    """Aᵢ = f(s K Qᵢ), Y = A V as a plain composition that riesz differentiates op by op;
    rows with nothing to normalize give Aᵢ = 0."""
    B = (q @ np.swapaxes(k, -1, -2)) * scale
    if normalizer == "softmax":
        shift = np.max(riesz.stop_gradient(B), axis=-1, keepdims=True)
        E = np.exp(B - shift)
        E = E if allowed is None else np.where(allowed, E, 0)
        return (E / nonzero(np.sum(E, axis=-1, keepdims=True))) @ v
    B = B if allowed is None else np.where(allowed, B, 0)
    if normalizer == "simplex":
        return (B / nonzero(np.sum(B, axis=-1, keepdims=True))) @ v
    return (B / np.sqrt(nonzero(np.sum(B * B, axis=-1, keepdims=True)))) @ v


def nonzero(x):
    return np.where(x == 0, 1, x)


def inputs(normalizer, t_q, t_k, dtype, batch=(2,), d=5, d_v=3, seed=0):
    rng = np.random.default_rng(seed)
    q, k = rng.random(batch + (t_q, d)), rng.random(batch + (t_k, d))
    if normalizer != "simplex":      # the simplex needs nonnegative scores
        q, k = 2 * q - 1, 2 * k - 1
    v = rng.standard_normal(batch + (t_k, d_v))
    return tuple(x.astype(dtype) for x in (q, k, v))


def allowed_pattern(mask, causal, t_q, t_k):
    causal_part = np.tri(t_q, t_k, k=t_k - t_q, dtype=bool) if causal else None
    if mask is None:
        return causal_part
    return mask if causal_part is None else mask & causal_part


def loss(f):
    # a nonlinear loss so that the output cotangent G varies from entry to entry
    return lambda q, k, v: np.sum(np.sin(f(q, k, v)))


def relative_error(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(b)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("normalizer", NORMALIZERS)
@pytest.mark.parametrize("masking", ["none", "mask", "causal", "mask+causal"])
@pytest.mark.parametrize("t_q, t_k", [(11, 11), (7, 13), (13, 6)])
def test_values_and_gradients_match_autodiff_of_the_composition(dtype, normalizer, masking,
                                                                 t_q, t_k):
    q, k, v = inputs(normalizer, t_q, t_k, dtype)
    mask = None
    if "mask" in masking:
        mask = np.random.default_rng(1).random((t_q, t_k)) < 0.8
        mask[:, 0] = True          # causal with t_q > t_k still empties the first rows
    causal = "causal" in masking
    allowed = allowed_pattern(mask, causal, t_q, t_k)
    scale = 0.7
    want_value, want_grads = riesz.value_and_grad(
        loss(lambda q, k, v: reference(q, k, v, normalizer, allowed, scale)),
        argnums=(0, 1, 2))(q, k, v)
    for impl, block_size in PATHS:
        value, grads = riesz.value_and_grad(loss(lambda q, k, v: attention(
            q, k, v, normalizer=normalizer, mask=mask, causal=causal, scale=scale, impl=impl,
            block_size=block_size)), argnums=(0, 1, 2))(q, k, v)
        assert value.dtype == dtype
        assert relative_error(value, want_value) < TOLERANCE[dtype], (impl, block_size)
        for name, g, want in zip("qkv", grads, want_grads):
            assert g.dtype == dtype and g.shape == want.shape
            assert relative_error(g, want) < TOLERANCE[dtype], (impl, block_size, name)


@pytest.mark.parametrize("normalizer", NORMALIZERS)
@pytest.mark.parametrize("impl, block_size", PATHS)
def test_rows_that_attend_to_nothing_give_zeros_and_zero_gradient(normalizer, impl, block_size):
    # causal with t_q > t_k: queries 0..3 precede every key; the mask empties query 6 too
    t_q, t_k = 10, 6
    q, k, v = inputs(normalizer, t_q, t_k, np.float64)
    mask = np.ones((t_q, t_k), bool)
    mask[6] = False
    if normalizer == "sphere":
        q[..., 8, :] = 0                # all-zero scores: the sphere projection is undefined
    f = lambda q, k, v: attention(q, k, v, normalizer=normalizer, mask=mask, causal=True,
                                  impl=impl, block_size=block_size)
    out = f(q, k, v)
    empty = [0, 1, 2, 3, 6] + ([8] if normalizer == "sphere" else [])
    assert np.all(out[..., empty, :] == 0)
    assert np.all(np.isfinite(out)) and np.any(out != 0)
    dq, dk, dv = riesz.grad(loss(f), argnums=(0, 1, 2))(q, k, v)
    assert np.all(dq[..., empty, :] == 0)
    assert all(np.all(np.isfinite(g)) and np.any(g != 0) for g in (dq, dk, dv))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("normalizer", NORMALIZERS)
@pytest.mark.parametrize("impl", ["naive", "fused"])
def test_check_grads_to_second_order_with_broadcasting(dtype, normalizer, impl):
    q, k, v = inputs(normalizer, 4, 5, dtype, batch=(2,), d=3, d_v=2)
    k, v = k[0], v[:1]                  # k without batch axis, v with a length-1 one
    mask = np.array([[True, True, False, True, True]])
    if normalizer == "simplex":
        q, k = q + 0.5, k + 0.5         # keep the scores away from zero under the FD steps
    check_grads(lambda q, k, v: attention(q, k, v, normalizer=normalizer, mask=mask,
                                          causal=True, impl=impl, block_size=(3, 2)),
                (q, k, v), order=2)


@pytest.mark.parametrize("normalizer", NORMALIZERS)
def test_nested_derivatives_through_the_custom_rule(normalizer):
    q, k, v = inputs(normalizer, 5, 4, np.float64, batch=())
    kwargs = dict(normalizer=normalizer, causal=True, scale=0.9)

    def second_order(attend):
        inner = riesz.grad(lambda q: np.sum(np.sin(attend(q, k, v))))
        return riesz.grad(lambda q: np.sum(inner(q) ** 2))(q), \
            riesz.jvp(inner, (q,), (np.cos(q),))[1]
    allowed = allowed_pattern(None, True, 5, 4)
    want = second_order(lambda q, k, v: reference(q, k, v, normalizer, allowed, 0.9))
    for impl in ("naive", "fused"):
        got = second_order(lambda q, k, v: attention(q, k, v, impl=impl, **kwargs))
        for g, w in zip(got, want):
            assert relative_error(g, w) < 1e-10


@pytest.mark.parametrize("t_q, t_k", [(6, 6), (4, 7), (7, 4)])
@pytest.mark.parametrize("impl, block_size", PATHS)
def test_causal_query_sees_keys_up_to_its_aligned_position(t_q, t_k, impl, block_size):
    q, k, v = inputs("softmax", t_q, t_k, np.float64, batch=())
    f = lambda k, v: attention(q, k, v, causal=True, impl=impl, block_size=block_size)
    before = f(k, v)
    for j in range(t_k):                 # change key j: rows i with j ≤ i + t_k − t_q move
        k2, v2 = k.copy(), v.copy()
        k2[j] += 1.0
        v2[j] -= 1.0
        changed = np.any(f(k2, v2) != before, axis=-1)
        np.testing.assert_array_equal(changed, np.arange(t_q) + t_k - t_q >= j)


def test_leading_axes_broadcast_and_gradients_sum_over_them():
    q, k, v = inputs("softmax", 6, 7, np.float64, batch=(2, 3))
    k1, v1 = k[:1, :1], v[0, 0]                  # (1, 1, t, d) and (t, d_v)
    f = loss(lambda q, k, v: attention(q, k, v, impl="fused", block_size=(4, 4)))
    dq, dk, dv = riesz.grad(f, argnums=(0, 1, 2))(q, k1, v1)
    assert dk.shape == k1.shape and dv.shape == v1.shape
    wide = riesz.grad(f, argnums=(1, 2))(q, np.broadcast_to(k1, k.shape), np.broadcast_to(v1, v.shape))
    np.testing.assert_allclose(dk, wide[0].sum(axis=(0, 1), keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(dv, wide[1].sum(axis=(0, 1)), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_is_stable_for_scores_far_beyond_exp_range(dtype):
    # every score ≈ 1000 + O(1) (a shared extra feature): exp overflows unless each row is
    # shifted by its maximum, and the fused path's online maximum moves from block to block
    q, k, v = inputs("softmax", 9, 14, dtype, d=4)
    q = np.concatenate([q, np.full(q.shape[:-1] + (1,), 100, dtype)], axis=-1)
    k = np.concatenate([k, np.full(k.shape[:-1] + (1,), 10, dtype)], axis=-1)
    want = riesz.grad(loss(lambda q, k, v: reference(q, k, v, "softmax", None, 1.0)),
                      argnums=(0, 1, 2))(q, k, v)
    for impl, block_size in PATHS:
        got = riesz.grad(loss(lambda q, k, v: attention(q, k, v, scale=1.0, impl=impl,
                                                         block_size=block_size)),
                         argnums=(0, 1, 2))(q, k, v)
        for g, w in zip(got, want):
            assert np.all(np.isfinite(g))
            assert relative_error(g, w) < 10 * TOLERANCE[dtype], (impl, block_size)


@pytest.mark.parametrize("normalizer", ["simplex", "sphere"])
def test_simplex_and_sphere_are_scale_invariant(normalizer):
    q, k, v = inputs(normalizer, 6, 6, np.float64)
    a = attention(q, k, v, normalizer=normalizer, scale=0.1)
    b = attention(q, k, v, normalizer=normalizer, scale=7.0, impl="fused", block_size=(4, 4))
    np.testing.assert_allclose(a, b, rtol=1e-12)
    weights = attention(q, k, np.eye(6), normalizer=normalizer)   # V = I returns A itself
    row_size = weights.sum(-1) if normalizer == "simplex" else np.linalg.norm(weights, axis=-1)
    np.testing.assert_allclose(row_size, 1, rtol=1e-12)


def test_simplex_rejects_negative_scores_on_both_paths():
    q, k, v = inputs("softmax", 4, 4, np.float64)
    for impl in ("naive", "fused"):
        with pytest.raises(ValueError, match="negative.*use normalizer='softmax'"):
            attention(q, k, v, normalizer="simplex", impl=impl)
    # with the negative scores masked out the rest normalizes (key 0 keeps every row alive)
    k[..., 0, :] = 1.0
    q = np.abs(q)
    mask = (q @ np.swapaxes(k, -1, -2)) >= 0
    naive, fused = (attention(q, k, v, normalizer="simplex", mask=mask, impl=impl)
                    for impl in ("naive", "fused"))
    np.testing.assert_allclose(naive, fused, rtol=1e-12)
    assert not np.all(mask) and np.all(np.isfinite(naive))


def test_bad_arguments_name_the_problem():
    q = np.ones((3, 4))
    with pytest.raises(ValueError, match="unknown normalizer 'relu'"):
        attention(q, q, q, normalizer="relu")
    with pytest.raises(ValueError, match="unknown impl"):
        attention(q, q, q, impl="flash")
    with pytest.raises(TypeError, match="mask.*boolean"):
        attention(q, q, q, mask=np.ones((3, 3)))
    with pytest.raises(ValueError, match="mask of shape .* does not broadcast"):
        attention(q, q, q, mask=np.ones((2, 3, 3), bool))
    with pytest.raises(ValueError, match="same d"):
        attention(q, np.ones((3, 5)), q)
    with pytest.raises(ValueError, match="same t_k"):
        attention(q, q, np.ones((2, 4)))
    with pytest.raises(ValueError, match="do not broadcast"):
        attention(np.ones((2, 3, 4)), np.ones((3, 3, 4)), q)
    with pytest.raises(TypeError, match="floating-point"):
        attention(q.astype(int), q, q)
    with pytest.raises(ValueError, match="shape \\(..., t, d\\)"):
        attention(np.ones(4), q, q)


def test_auto_materializes_small_problems_only():
    small, large = np.ones((64, 8)), np.ones((2 ** 13, 1))
    assert _configure(small, small, small, "softmax", None, False, None, "auto", None).impl == "naive"
    assert 2 ** 26 > AUTO_NAIVE_MAX_SCORES
    assert _configure(large, large, large, "softmax", None, False, None, "auto", None).impl == "fused"


def test_fused_memory_grows_with_t_not_t_squared():
    t, d = 2048, 16
    q, k, v = inputs("softmax", t, t, np.float32, batch=(), d=d, d_v=d)

    def peak(impl):
        f = loss(lambda q, k, v: attention(q, k, v, causal=True, impl=impl, block_size=(128, 256)))
        tracemalloc.start()
        riesz.grad(f, argnums=(0, 1, 2))(q, k, v)
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return size

    naive, fused = peak("naive"), peak("fused")
    assert naive > t * t * 4                 # the naive path holds a t×t matrix
    assert fused < naive / 10
    assert fused < 40 * t * d * 4 + 4 * 128 * 256 * 4   # O(t·d) plus the block buffers
