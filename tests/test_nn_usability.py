"""riesz.nn as a PyTorch or Flax user writes it: custom modules with extra attributes,
Sequential as a list, losses with and without a generator, one-hot targets, and the
errors for the classic mistakes (broadcasting targets, loading into a class)."""
import numpy as np
import pytest

import riesz
from riesz import nn, optim

rng = np.random.default_rng(0)


class Masked(nn.Module):
    """A custom module with a static integer array attribute (a mask) and a name."""

    def __init__(self, rng):
        self.layer = nn.Linear(3, 4, rng=rng)
        self.mask = np.array([1, 0, 1, 1])
        self.name = "masked"

    def __call__(self, x):
        return self.layer(x) * self.mask


def test_modules_with_array_attributes_compare_by_value():
    a, b = Masked(np.random.default_rng(1)), Masked(np.random.default_rng(2))
    assert riesz.tree_flatten(a)[1] == riesz.tree_flatten(b)[1]
    mean = riesz.tree_map(lambda p, q: (p + q) / 2, a, b)
    np.testing.assert_allclose(mean.layer.weight, (a.layer.weight + b.layer.weight) / 2)
    b.mask = np.array([0, 0, 1, 1])
    assert riesz.tree_flatten(a)[1] != riesz.tree_flatten(b)[1]
    assert repr(a).startswith("Masked(mask=int64[4], name='masked')")


def test_gradient_and_adam_step_on_a_custom_module():
    model, x = Masked(rng), rng.standard_normal((5, 3))
    grads = riesz.grad(lambda m: np.sum(m(x) ** 2))(model)
    assert type(grads) is Masked and grads.name == "masked"
    # the masked-out column gets no gradient: ∂/∂W Σ (xW ∘ m)² = 2 xᵀ((xW + b) ∘ m)
    np.testing.assert_allclose(grads.layer.weight, 2 * x.T @ (model(x) * model.mask))
    opt = optim.Adam(1e-2)
    stepped, _ = opt.update(model, grads, opt.init(model))
    np.testing.assert_array_equal(stepped.layer.weight[:, 1], model.layer.weight[:, 1])


def test_a_hessian_with_respect_to_a_model_prints():
    model, x = nn.Linear(2, 1, rng=rng), rng.standard_normal((4, 2))
    H = riesz.hessian(lambda m: np.mean(m(x) ** 2))(model)
    assert H.weight.weight.shape == (2, 1, 2, 1)
    # ∂²/∂W² mean((xW + b)²) = 2 xᵀx / n
    np.testing.assert_allclose(H.weight.weight[:, 0, :, 0], 2 * x.T @ x / 4)
    assert "weight: Linear" in repr(H)


def test_sequential_is_a_list_of_its_steps():
    first, last = nn.Linear(3, 8, rng=rng), nn.Linear(8, 2, rng=rng)
    model = nn.Sequential(first, nn.relu, nn.Dropout(0.5), last)
    assert len(model) == 4 and model[0] is first and model[-1] is last
    assert list(model)[1] is nn.relu
    head = model[:2]
    x = rng.standard_normal((5, 3))
    np.testing.assert_allclose(head(x), nn.relu(first(x)))


def test_sequential_takes_one_list_as_flax_haiku_and_keras_write_it():
    first, last = nn.Linear(3, 8, rng=rng), nn.Linear(8, 2, rng=rng)
    model = nn.Sequential([first, nn.relu, last])
    assert len(model) == 3 and model[0] is first and model[-1] is last
    x = rng.standard_normal((5, 3))
    np.testing.assert_allclose(model(x), last(nn.relu(first(x))))
    grads = riesz.grad(lambda m: np.sum(m(x) ** 2))(model)
    assert type(grads) is nn.Sequential and grads[0].weight.shape == (3, 8)
    with pytest.raises(TypeError, match="layer 1 is a int, not a module or function"):
        nn.Sequential(first, 3)


def test_fit_accepts_a_loss_without_a_generator():
    x = rng.standard_normal((64, 2))
    y = (x[:, 0] > x[:, 1]).astype(int)
    model = nn.MLP([2, 8, 2], rng=rng)
    loss = lambda m, x, y: nn.softmax_cross_entropy(m(x), y)   # noqa: E731
    result = nn.fit(model, loss, optim.Adam(3e-2), (x, y), rng=rng, epochs=10,
                    validation=(x, y), progress=False)
    assert result.history["val_loss"][-1] < 0.5 * result.history["train_loss"][0]
    with pytest.warns(UserWarning, match="stay off"):
        nn.fit(nn.Sequential(nn.Linear(2, 2, rng=rng), nn.Dropout(0.5)), loss, optim.SGD(0.1),
               (x, y), rng=rng, max_steps=1, progress=False)


@pytest.mark.parametrize("loss", [nn.mse, nn.binary_cross_entropy_with_logits])
def test_targets_that_broadcast_beyond_the_predictions_are_an_error(loss):
    with pytest.raises(ValueError, match=r"broadcast against predictions of shape \(4, 1\)"):
        loss(np.zeros((4, 1)), np.zeros(4))
    assert loss(np.zeros((4, 1)), 0.5) == loss(np.zeros((4, 1)), np.full((4, 1), 0.5))


def test_cross_entropy_takes_class_probabilities():
    logits, labels = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    one_hot = np.eye(4)[labels]
    np.testing.assert_allclose(nn.softmax_cross_entropy(logits, one_hot.tolist()),
                               nn.softmax_cross_entropy(logits, labels.tolist()), rtol=1e-13)
    for eps in (0.0, 0.1):
        np.testing.assert_allclose(
            nn.softmax_cross_entropy(logits, one_hot, label_smoothing=eps),
            nn.softmax_cross_entropy(logits, labels, label_smoothing=eps), rtol=1e-13)
    # ∂/∂z of -Σ p log softmax(z) = softmax(z) Σp - p, per row, over the mean's 6 rows
    soft = nn.softmax(rng.standard_normal((6, 4)))
    g = riesz.grad(nn.softmax_cross_entropy)(logits, soft)
    np.testing.assert_allclose(g, (nn.softmax(logits) - soft) / 6, atol=1e-15)


def test_loading_into_a_class_says_to_pass_an_instance(tmp_path):
    model = nn.MLP([2, 3, 1], rng=rng)
    model.save(tmp_path / "m.npz")
    with pytest.raises(TypeError, match="is a class; pass an instance"):
        nn.load(tmp_path / "m.npz", like=nn.MLP)


class Stack(nn.Module):
    """Layers and activations in one list, settings and a parameter in one dict."""

    def __init__(self, rng):
        self.layers = [nn.Linear(3, 4, rng=rng), nn.relu, nn.Linear(4, 1, rng=rng)]
        self.config = {"depth": 2, "scale": np.full(1, 2.0)}

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x * self.config["scale"]


def test_functions_and_settings_inside_a_modules_containers_are_static(tmp_path):
    model, x = Stack(rng), rng.standard_normal((5, 3))
    assert model.num_parameters == 3 * 4 + 4 + 4 * 1 + 1 + 1
    assert sorted(model.named_parameters()) == ["config.scale", "layers.0.bias",
                                                "layers.0.weight", "layers.2.bias",
                                                "layers.2.weight"]
    grads = riesz.grad(lambda m: np.sum(m(x)))(model)
    assert grads.layers[1] is nn.relu and grads.config["depth"] == 2
    # ∂/∂s Σ (h s) = Σ h, h the last layer's output
    np.testing.assert_allclose(grads.config["scale"], np.sum(model(x)) / 2.0)
    opt = optim.Adam(1e-2)
    stepped, state = opt.update(model, grads, opt.init(model))
    nn.save(tmp_path / "stack.npz", {"model": stepped, "opt": state})
    back = nn.load(tmp_path / "stack.npz", like={"model": model, "opt": opt.init(model)})
    np.testing.assert_array_equal(back["model"](x), stepped(x))


def test_tree_map_over_different_structures_says_what_went_wrong():
    model = nn.MLP([2, 3, 1], rng=np.random.default_rng(0))
    grads = riesz.tree_map(np.ones_like, model)
    with pytest.raises(ValueError, match=r"different structures.*\(grads, norm\)"):
        riesz.tree_map(lambda p, g: p - g, model, optim.clip_by_global_norm(grads, 1.0))
