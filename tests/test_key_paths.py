"""Key paths name the children of registered types: a Module's attributes (``.weight``), the
entries of its list and dict attributes (``.layers[0]``, ``.blocks['enc']``), and a user's
type registered with ``keys=`` (issue 15)."""
import numpy as np
import pytest

import riesz
from riesz import nn, tree_util


class Encoder(nn.Module):
    def __init__(self, rng):
        self.blocks = {"enc": nn.Linear(2, 3, rng=rng), "act": np.tanh, "dec": nn.Linear(3, 2, rng=rng)}
        self.scale = np.array(1.0)

    def __call__(self, x):
        return self.scale * self.blocks["dec"](np.tanh(self.blocks["enc"](x)))


def _paths(tree):
    return [tree_util.keystr(path) for path, _ in tree_util.tree_leaves_with_path(tree)]


def test_module_leaves_are_named_by_attribute_and_container_key():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(2, 3, rng=rng), np.tanh, nn.Linear(3, 1, rng=rng))
    assert _paths(model) == [".layers[0].weight", ".layers[0].bias",
                             ".layers[1].weight", ".layers[1].bias"]
    # each path leads to its leaf, as attribute and item access read it
    for path, leaf in tree_util.tree_leaves_with_path(model):
        assert eval("model" + tree_util.keystr(path)) is leaf
    assert _paths(Encoder(rng)) == [".blocks['dec'].weight", ".blocks['dec'].bias",
                                    ".blocks['enc'].weight", ".blocks['enc'].bias", ".scale"]


def test_errors_name_a_module_parameter_by_its_path():
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(2, 3, rng=rng), nn.Linear(3, 1, rng=rng))
    grads = riesz.grad(lambda m: np.sum(m(np.ones((4, 2)))))(model)
    grads.layers[1].bias = np.zeros(5)
    opt = riesz.optim.SGD(0.1)
    with pytest.raises(ValueError, match=r"parameter \.layers\[1\]\.bias has shape \(5,\)"):
        opt.update(model, grads, opt.init(model))


def test_a_registered_type_names_its_children_with_keys():
    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b

    tree_util.register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, c: Pair(*c),
                                   keys=lambda aux: [tree_util.GetAttrKey("a"),
                                                     tree_util.GetAttrKey("b")])
    assert _paths({"p": Pair(1.0, [2.0])}) == ["['p'].a", "['p'].b[0]"]
    with pytest.raises(TypeError, match=r"at \['p'\]\.b\[0\] is a str"):
        riesz.grad(lambda t: t["p"].a)({"p": Pair(1.0, ["text"])})
    # registered again without keys: flat indices
    tree_util.register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, c: Pair(*c))
    assert _paths({"p": Pair(1.0, 2.0)}) == ["['p'][<flat index 0>]", "['p'][<flat index 1>]"]
