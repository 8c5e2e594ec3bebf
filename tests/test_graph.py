"""riesz.graph: a staged program as Graphviz DOT text."""
import re

import numpy as np

import riesz


def layer(W, x):
    y = W @ x
    z = np.tanh(y)
    return np.sum(z ** 2)


def parts(dot):
    nodes = dict(re.findall(r"^\s*(\w+) \[(.*)\];$", dot, re.M))
    edges = re.findall(r"^\s*(\w+) -> (\w+)", dot, re.M)
    clusters = re.findall(r'label="([^"]*)"; style=rounded', dot)
    return nodes, edges, clusters


def test_graph_of_a_gradient_has_every_operation_value_and_line():
    W, x = np.ones((3, 4)), np.arange(4.0)
    program = riesz.trace(riesz.grad(layer))(W, x)
    dot = riesz.graph(riesz.grad(layer), W, x)
    assert dot == program.dot()
    assert dot.startswith('digraph "grad_layer" {') and dot.rstrip().endswith("}")
    nodes, edges, clusters = parts(dot)
    ops = [n for n in nodes if n.startswith("op")]
    assert len(ops) == len(program.eqns)
    for k, e in enumerate(program.eqns):
        assert f'label="{e.prim.name}' in nodes[f"op{k}"]
        backward = e.where is not None and e.where.backward
        assert ("#fbe3cf" in nodes[f"op{k}"]) == backward
    # one edge per staged input of every equation, and one into each output
    uses = sum(1 for e in program.eqns for v in e.inputs
               if not isinstance(v, riesz.staging.Literal))
    assert len(edges) == uses + len(program.outputs)
    assert {"in0", "in1", "out0"} <= set(nodes)
    assert 'label="W\\nfloat64[3,4]"' in nodes["in0"]
    assert any(dst == "out0" and 'dW: float64[3,4]' in line
               for (src, dst), line in zip(edges, re.findall(r"^\s*\w+ -> \w+.*$", dot, re.M)))
    assert "test_graph.py:10: y = W @ x" in clusters
    assert "backward of test_graph.py:10: y = W @ x" in clusters
    assert "backward of test_graph.py:11: z = np.tanh(y)" in clusters


def test_graph_quotes_labels_and_shows_constant_outputs():
    def f(x):
        return np.einsum("ij,jk->ik", x, x), 2.0
    dot = riesz.graph(f, np.ones((2, 2)))
    nodes, edges, _ = parts(dot)
    assert "ij,jk->ik" in dot and dot.count('"') % 2 == 0
    assert ("const_out1", "out1") in edges
    assert dot.count("{") == dot.count("}")
