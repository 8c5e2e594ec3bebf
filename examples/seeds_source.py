"""The seeds' worked examples, with the backward pass riesz generates for each.

    python examples/seeds_source.py            # print the generated NumPy source
    python examples/seeds_source.py --docs     # write it into docs/source.md

docs/source.md shows the generated source next to the seeds' formulas, each block after
a ``<!-- generated: NAME -->`` marker; tests/test_source.py checks that they agree.
"""
import os
import re
import sys

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


DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                    "source.md")


def block_pattern(name):
    """The marker and the code block after it in docs/source.md."""
    return re.compile(rf"(<!-- generated: {re.escape(name)} -->\n```python\n)(.*?)(```)", re.S)


def update_docs():
    with open(DOCS, encoding="utf-8") as fh:
        doc = fh.read()
    for name, text in generated().items():
        doc, n = block_pattern(name).subn(lambda m: m.group(1) + text + m.group(3), doc)
        if n != 1:
            raise SystemExit(f"docs/source.md has {n} blocks marked {name!r}; expected 1")
    with open(DOCS, "w", encoding="utf-8") as fh:
        fh.write(doc)


if __name__ == "__main__":
    if "--docs" in sys.argv[1:]:
        update_docs()
    else:
        for name, text in generated().items():
            print(f"# ---- {name}\n{text}")
