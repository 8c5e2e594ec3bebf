"""The ```python blocks of README.md and docs/*.md run as written, and the results their
comments state are the results they give.

The blocks of one page run in order in one namespace (a later block may use an earlier
one's definitions), each registered with linecache under the name "PAGE#blockN" so that
riesz.source can read the user's lines, as it does in a real file. docs/numpy.md and
docs/complex.md have no python blocks; docs/source.md's generated blocks are compared with
the generator by tests/test_source.py and only run here. docs/metric.md's block lists the
API with names the page leaves to the reader (f, M, ...): it runs after a small prelude.
The >>> examples of riesz's docstrings run here too, as doctests.
"""
import ast
import doctest
import importlib.util
import linecache
import pathlib
import re

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).parent.parent
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
# the optional extras' modules (pyproject.toml): a block importing one is skipped without it
OPTIONAL = {"sklearn", "tqdm", "matplotlib", "numexpr", "dask", "distributed"}
PRELUDES = {
    # f(x, y) = Σ cᵢ xᵢ² + Σ y: ∇ₓf = 2 c ⊙ x, so with M = diag(c) the gradient is 2x
    "docs/metric.md": "f = lambda x, y=0.0: np.sum(np.arange(1.0, 4.0) * x ** 2) + np.sum(y)\n"
                      "x, y = np.array([1.0, -2.0, 0.5]), np.ones(2)\n"
                      "M = np.diag(np.arange(1.0, 4.0))\n"
                      "apply_M_inv = lambda g: g / np.arange(1.0, 4.0)\n",
}


def blocks(page):
    return BLOCK.findall((ROOT / page).read_text())


def missing_extras(code):
    imported = {name.split(".")[0] for name in
                re.findall(r"^\s*(?:from|import)\s+([\w.]+)", code, re.M)}
    return sorted(m for m in imported & OPTIONAL if importlib.util.find_spec(m) is None)


def run_page(page, prelude=""):
    """Run the page's blocks in order in one namespace. Returns (namespace, values), where
    values maps the source text of each top-level expression statement to its value."""
    namespace, values = {"np": np}, {}
    exec("import riesz\n" + prelude, namespace)
    for i, code in enumerate(blocks(page)):
        missing = missing_extras(code)
        if missing:
            pytest.skip(f"{page} block {i} needs the optional {missing} (pip install '.[examples]')")
        filename = f"{page}#block{i}"
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        tree = ast.parse(code, filename)
        for statement in tree.body:
            module = ast.Module([statement], type_ignores=[])
            if isinstance(statement, ast.Expr):
                value = eval(compile(ast.Expression(statement.value), filename, "eval"), namespace)
                values[ast.get_source_segment(code, statement)] = value
            else:
                exec(compile(module, filename, "exec"), namespace)
    return namespace, values


def test_readme_blocks(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)                    # the nn block saves checkpoint.npz
    with np.errstate(divide="ignore", invalid="ignore"):
        ns, values = run_page("README.md")
    # the first block's x, before the nn block and the last block rebind x
    x0 = np.ones((4, 3))
    assert ns["g"].shape == x0.shape and ns["g"].dtype == x0.dtype
    np.testing.assert_allclose(ns["tangent"], 1 - np.tanh(x0) ** 2)
    assert ns["h"] == pytest.approx(-np.sin(1.0))              # "any order: -sin(1)"
    assert "f64[4,3] -> f64[4,3]" in repr(ns["df"])
    np.testing.assert_allclose(values["df.T(u)"], 1 - np.tanh(x0) ** 2)
    jac = values["riesz.jacobian(lambda x: x @ W)(x)"]
    assert jac.shape == (4, 2, 4, 3)                           # δ(n, n') W[d, m]
    W0 = np.random.default_rng(0).standard_normal((3, 2))      # the first block's W
    np.testing.assert_allclose(jac, np.einsum("np,dm->nmpd", np.eye(4), W0))
    assert values["riesz.grad(lambda x: np.where(x > 0, np.sqrt(x), 0.0))(0.0)"] == 0.0
    np.testing.assert_array_equal(values["riesz.grad(np.linalg.norm)(np.zeros(3))"], np.zeros(3))
    np.testing.assert_array_equal(values["riesz.grad(np.prod)(np.array([2.0, 0.0, 3.0]))"],
                                  [0.0, 6.0, 0.0])
    assert type(ns["grads"]) is type(ns["model"])              # "grads is an nn.MLP"
    # "Beyond one CPU": a lazy Dask gradient, and DataParallel's gradient on the workers
    assert type(ns["dw"]).__module__.startswith("dask") and ns["dw"].shape == (8,)
    Xn, yn = ns["X"].compute(), ns["labels"].compute()
    np.testing.assert_allclose(ns["dw"].compute(), Xn.T @ (0.5 - yn) / len(Xn), rtol=1e-10)
    assert type(ns["net_grads"]) is type(ns["net"])
    assert ns["trained"].history["train_loss"][-1] < ns["mean_loss"]
    assert values["mixture_grads[0].sum()"] == pytest.approx(0.0, abs=1e-12)
    assert np.abs(ns["mixture_grads"][1]).sum() > 0
    assert (tmp_path / "checkpoint.npz").exists()
    assert np.all(np.isfinite(values["riesz.grad(f)(np.array([0.5, 2.0]), np.ones(4))"]))
    # the last block: source with the user's names, and jit giving the same gradient
    W, x = ns["W"], ns["x"]
    assert "dW = dy[:, None] @ x[None, :]" in capsys.readouterr().out
    np.testing.assert_allclose(ns["fast"](W, x), np.outer(1 - np.tanh(W @ x) ** 2, x))


def test_readme_complex_claim():
    import riesz
    # README and docs/complex.md: grad(lambda z: abs(z)**2)(3+4j) is 6-8j (= 2 z̄)
    assert riesz.grad(lambda z: abs(z) ** 2)(3 + 4j) == 6 - 8j


def test_attention_block():
    ns, _ = run_page("docs/attention.md")
    assert ns["y"].shape == (8, 1024, 64)
    for grad, q in zip((ns["dq"], ns["dk"], ns["dv"]), (ns["q"], ns["k"], ns["v"])):
        assert grad.shape == q.shape and grad.dtype == np.float32 and np.all(np.isfinite(grad))


def test_metric_block():
    ns, values = run_page("docs/metric.md", PRELUDES["docs/metric.md"])
    x = ns["x"]
    # ∇ₓf = 2 c ⊙ x and M = diag(c), so M⁻¹∇f = 2x under both the matrix and the callable
    np.testing.assert_allclose(values["riesz.grad(f, metric=M)(x)"], 2 * x)
    np.testing.assert_allclose(values["riesz.grad(f, metric=apply_M_inv)(x)"], 2 * x)
    gx, gy = values["riesz.grad(f, argnums=(0, 1), metric=(M, None))(x, y)"]
    np.testing.assert_allclose(gx, 2 * x)
    np.testing.assert_allclose(gy, np.ones(2))
    value, g = values["riesz.value_and_grad(f, metric=M)"](x)
    assert value == pytest.approx(ns["f"](x))
    np.testing.assert_allclose(g, 2 * x)


def test_source_blocks(capsys):
    ns, _ = run_page("docs/source.md")
    out = capsys.readouterr().out
    assert "dW = dy[:, None] @ x[None, :]" in out               # the backward pass, as NumPy
    W, x = ns["W"], ns["x"]
    expected = np.outer(1 - np.tanh(W @ x) ** 2, x)
    np.testing.assert_allclose(ns["fast"](W, x), expected)
    # the generated blocks are the functions they claim to be: grad_mlp_layer is ∇_W Σ tanh(W x),
    # at the shapes it was staged for (it asserts them)
    W, x = np.linspace(-1.0, 1.0, 12).reshape(3, 4), np.linspace(0.5, 2.0, 4)
    np.testing.assert_allclose(ns["grad_mlp_layer"](W, x), np.outer(1 - np.tanh(W @ x) ** 2, x))
    with pytest.raises(AssertionError, match="staged for W: float64"):
        ns["grad_mlp_layer"](W[:, :2], x[:2])


DOCTEST_MODULES = sorted(str(p.relative_to(ROOT).with_suffix("")).replace("/", ".")
                         for p in (ROOT / "riesz").rglob("*.py") if ">>>" in p.read_text())


@pytest.mark.parametrize("module", DOCTEST_MODULES)
def test_docstring_examples(module):
    """The >>> examples in riesz's docstrings (as `pytest --doctest-modules riesz` runs them)."""
    failed, attempted = doctest.testmod(importlib.import_module(module))
    assert attempted > 0 and failed == 0, f"{module}: {failed} of {attempted} examples fail"
