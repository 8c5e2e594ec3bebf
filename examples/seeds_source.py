"""The seeds' worked examples, with the backward pass riesz generates for each.

    python examples/seeds_source.py

prints the generated NumPy source that docs/source.md shows next to the seeds'
formulas (tests/test_source.py checks that the two agree).
"""
import numpy as np

import riesz

rng = np.random.default_rng(0)


def linear_layer(x, w):
    # the seed's minibatch linear layer y = x w, with a scalar loss L of y
    y = x @ w
    return np.sum(y ** 2) / 2


def mlp_layer(W, x):
    # y = W x, z = σ(y) with σ = tanh, and a loss l of z
    y = W @ x
    z = np.tanh(y)
    return np.sum(z)


def softmax_nll(logits, onehot):
    # negative log-likelihood of the labels under softmax(logits)
    m = np.max(logits)
    shifted = logits - m
    logp = shifted - np.log(np.sum(np.exp(shifted)))
    return -np.sum(onehot * logp)


def four_variables(w, x, y, z):
    a = (w + x + y + z) ** 2
    b = (w + x - y - z) ** 2
    u = (a + b) ** 2
    v = (a - b) ** 2
    return (u + v) ** 2


EXAMPLES = {
    "linear layer": (riesz.grad(linear_layer, argnums=(0, 1)),
                     (rng.standard_normal((4, 2)), rng.standard_normal((2, 3)))),
    "MLP layer": (riesz.grad(mlp_layer), (rng.standard_normal((3, 4)), rng.standard_normal(4))),
    "softmax + NLL": (riesz.grad(softmax_nll), (rng.standard_normal(5), np.eye(5)[2])),
    "four variables": (riesz.grad(four_variables, argnums=(0, 1, 2, 3)), (-1.0, 0.0, -2.0, 1.0)),
}


def generated():
    """Example name -> the generated source of its gradient."""
    return {name: riesz.source(f, *args) for name, (f, args) in EXAMPLES.items()}


if __name__ == "__main__":
    for name, text in generated().items():
        print(f"# ---- {name}\n{text}")
