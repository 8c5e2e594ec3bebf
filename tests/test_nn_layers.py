"""riesz.nn layers: gradients against finite differences, pytree behaviour, shapes, repr."""
import numpy as np
import pytest

import riesz
from riesz import nn
from riesz.testing import check_grads


def rng():
    return np.random.default_rng(0)


def layer_cases(dtype):
    """(name, model, input): small instances of every layer."""
    r = rng()
    x = r.standard_normal((3, 4)).astype(dtype)
    seq = r.standard_normal((2, 5, 4)).astype(dtype)
    return [
        ("linear", nn.Linear(4, 3, rng=r, dtype=dtype), x),
        ("linear_no_bias", nn.Linear(4, 3, rng=r, bias=False, dtype=dtype), x),
        ("mlp_tanh", nn.MLP([4, 6, 2], rng=r, activation=nn.tanh, dtype=dtype), x),
        ("mlp_gelu", nn.MLP([4, 5, 5, 2], rng=r, activation=nn.gelu, dtype=dtype), x),
        ("layernorm", _perturbed(nn.LayerNorm(4, dtype=dtype), r), seq),
        ("sequential", nn.Sequential(nn.Linear(4, 5, rng=r, dtype=dtype), nn.silu,
                                     nn.LayerNorm(5, dtype=dtype), nn.Linear(5, 2, rng=r,
                                                                            dtype=dtype)), x),
        ("attention", nn.MultiHeadAttention(4, 2, rng=r, dtype=dtype), seq),
        ("causal_attention", nn.MultiHeadAttention(4, 2, rng=r, causal=True, dtype=dtype), seq),
    ]


def _perturbed(model, r):
    """The model with its parameters moved off their initial values (gain 1, bias 0)."""
    return riesz.tree_map(lambda p: p + 0.3 * r.standard_normal(p.shape).astype(p.dtype), model)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("index", range(8))
def test_layer_gradients_match_finite_differences(index, dtype):
    name, model, x = layer_cases(dtype)[index]
    order = 2 if dtype == np.float64 else 1
    check_grads(lambda m, x: m(x), (model, x), order=order)


def test_embedding_gradient_adds_repeated_rows():
    emb = nn.Embedding(5, 3, rng=rng())
    ids = np.array([[0, 2, 2], [4, 0, 0]])
    check_grads(lambda m: m(ids), (emb,), order=2)
    g = riesz.grad(lambda m: np.sum(m(ids)))(emb)
    # ∂/∂W Σ W[ids] counts how often each row is read
    np.testing.assert_array_equal(g.weight, np.bincount(ids.ravel(), minlength=5)[:, None]
                                  * np.ones((1, 3)))


def test_dropout_is_identity_without_rng_and_unbiased_with_it():
    drop = nn.Dropout(0.25)
    x = np.ones((200, 50))
    np.testing.assert_array_equal(drop(x), x)
    y = drop(x, rng=np.random.default_rng(1))
    assert set(np.unique(y)) == {0.0, 1 / 0.75}
    assert abs(np.mean(y == 0) - 0.25) < 0.02
    # with a fixed mask, dropout is linear: its derivative is the mask itself
    check_grads(lambda x: drop(x, rng=np.random.default_rng(2)), (x[:3, :4],), order=2)


def test_sequential_passes_rng_to_dropout_only():
    r = rng()
    model = nn.Sequential(nn.Linear(3, 8, rng=r), nn.relu, nn.Dropout(0.5))
    x = r.standard_normal((4, 3))
    assert model.stochastic
    np.testing.assert_array_equal(model(x), nn.relu(model.layers[0](x)))
    assert np.any(model(x, rng=np.random.default_rng(0)) != model(x))


def test_gradient_of_a_model_is_a_model_of_the_same_structure():
    r = rng()
    model = nn.MLP([4, 6, 3], rng=r)
    x, y = r.standard_normal((5, 4)), r.integers(0, 3, 5)
    g = riesz.grad(lambda m: nn.softmax_cross_entropy(m(x), y))(model)
    assert type(g) is nn.MLP
    assert riesz.tree_flatten(g)[1] == riesz.tree_flatten(model)[1]
    # the hand-written backward pass of the seeds: W̄ = xᵀ ȳ for the last layer
    h = nn.relu(model.layers[0](x))
    dlogits = (nn.softmax(model(x)) - np.eye(3)[y]) / 5
    np.testing.assert_allclose(g.layers[1].weight, h.T @ dlogits, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g.layers[1].bias, dlogits.sum(0), rtol=1e-12, atol=1e-14)


def test_float32_stays_float32():
    r = rng()
    model = nn.Sequential(nn.Linear(4, 8, rng=r, dtype=np.float32), nn.gelu,
                          nn.LayerNorm(8, dtype=np.float32))
    attn = nn.MultiHeadAttention(8, 2, rng=r, causal=True, dtype=np.float32)
    x = r.standard_normal((2, 3, 4)).astype(np.float32)
    assert attn(model(x)).dtype == np.float32
    g = riesz.grad(lambda m: np.sum(attn(m(x))))(model)
    assert all(p.dtype == np.float32 for p in g.parameters())


def test_causal_attention_ignores_the_future():
    r = rng()
    attn = nn.MultiHeadAttention(4, 2, rng=r, causal=True)
    x = r.standard_normal((1, 6, 4))
    changed = x.copy()
    changed[0, 4:] += 1.0
    np.testing.assert_allclose(attn(x)[0, :4], attn(changed)[0, :4], rtol=1e-13)
    assert not np.allclose(attn(x)[0, 4:], attn(changed)[0, 4:])


def test_parameter_count_names_and_repr():
    model = nn.MLP([64, 128, 10], rng=rng())
    assert model.num_parameters == 64 * 128 + 128 + 128 * 10 + 10
    assert list(model.named_parameters()) == ["layers.0.weight", "layers.0.bias",
                                              "layers.1.weight", "layers.1.bias"]
    text = repr(model)
    assert text.splitlines()[0] == "MLP(64 → 128 → 10, activation=relu)  # 9,610 parameters"
    assert "weight: float64[64, 128]" in text


def test_bad_construction_and_input_errors_say_what_to_do():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        nn.Linear(2, 3, rng=0)
    with pytest.raises(ValueError, match="not divisible by heads"):
        nn.MultiHeadAttention(6, 4, rng=rng())
    with pytest.raises(ValueError, match=r"rate=1.5"):
        nn.Dropout(1.5)
    with pytest.raises(TypeError, match="ids must be integers"):
        nn.Embedding(4, 2, rng=rng())(np.array([0.5]))


class Mixture(nn.Module):
    """A user-defined module holding a dict of modules, a list of arrays and static data."""

    def __init__(self, rng):
        self.experts = {"a": nn.Linear(3, 2, rng=rng), "b": nn.Linear(3, 2, rng=rng)}
        self.scales = [np.ones(2), np.full(2, 0.5)]
        self.name = "mixture"

    def __call__(self, x):
        return (self.experts["a"](x) * self.scales[0] + self.experts["b"](x) * self.scales[1])


def test_user_module_with_containers_is_a_pytree(tmp_path):
    model = Mixture(rng())
    x = rng().standard_normal((4, 3))
    assert list(model.named_parameters()) == [
        "experts.a.weight", "experts.a.bias", "experts.b.weight", "experts.b.bias",
        "scales.0", "scales.1"]
    assert model.num_parameters == 2 * (3 * 2 + 2) + 4
    g = riesz.grad(lambda m: np.sum(m(x)))(model)
    assert type(g) is Mixture and g.name == "mixture"
    np.testing.assert_allclose(g.scales[1], np.sum(model.experts["b"](x), axis=0))
    check_grads(lambda m: m(x), (model,), order=2)
    model.save(tmp_path / "mixture.npz")
    loaded = Mixture(np.random.default_rng(5)).load(tmp_path / "mixture.npz")
    for a, b in zip(loaded.parameters(), model.parameters()):
        np.testing.assert_array_equal(a, b)
    assert "experts['a']: Linear(3 → 2)" in repr(model)
