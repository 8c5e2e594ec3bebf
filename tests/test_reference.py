"""The API reference (issue 14): generated from the docstrings by pdoc, built here (and so
in CI) with the command README.md gives, holding every public name; the examples it shows
are doctests (tests/test_docs.py runs them); error messages point at it, never at the
docs/*.md files, which are not installed."""
import ast
import importlib
import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parent.parent
# the public modules: riesz's __all__ lists the transforms and riesz.numpy and riesz.tree;
# the rest are imported on first use (riesz.__getattr__), so they are named here
MODULES = ["riesz", "riesz.nn", "riesz.optim", "riesz.testing", "riesz.scipy", "riesz.misc",
           "riesz.extend"]
COMMAND = f"pdoc {' '.join(MODULES)} -o api"
EXAMPLES = ["vjp", "jvp", "hessian", "hvp", "linearize", "vmap", "jit"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    if importlib.util.find_spec("pdoc") is None:
        pytest.skip("pdoc is not installed (pip install '.[test]')")
    if importlib.util.find_spec("scipy") is None:
        pytest.skip("riesz.scipy needs SciPy (pip install '.[test]')")
    out = tmp_path_factory.mktemp("api")
    # riesz.numpy serves its names through a module __getattr__, which pdoc does not
    # follow: it warns once per name (-W ignore); the page holds the module's docstring
    done = subprocess.run([sys.executable, "-W", "ignore", "-m", "pdoc", *MODULES, "-o", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_readme_gives_the_reference_command():
    assert COMMAND in (ROOT / "README.md").read_text()


def _page(reference, module_name):
    return (reference / (module_name.replace(".", "/") + ".html")).read_text()


@pytest.mark.parametrize("module_name", ["riesz", "riesz.nn", "riesz.optim", "riesz.testing"])
def test_every_public_name_is_in_the_reference(reference, module_name):
    module = importlib.import_module(module_name)
    page = _page(reference, module_name)
    missing = []
    for name in module.__all__:
        if isinstance(getattr(module, name), type(sys)):      # a submodule: its own page
            found = (reference / module_name.replace(".", "/") / f"{name}.html").exists()
        else:
            found = f'id="{name}"' in page
        if not found:
            missing.append(name)
    assert not missing, f"{module_name}: {missing} are not in the reference"


def test_the_reference_shows_signatures_hints_and_examples(reference):
    page = _page(reference, "riesz")
    grad = page[page.index('id="grad"'):page.index('id="value_and_grad"')]
    assert "argnums" in grad and "Sequence" in grad and "Callable" in grad
    nn_page = _page(reference, "riesz.nn")
    assert "checkpoint" in nn_page[nn_page.index('id="fit"'):]
    import riesz
    for name in EXAMPLES:
        doc = getattr(riesz, name).__doc__
        assert ">>>" in doc, f"riesz.{name}'s docstring has no example"
        section = page[page.index(f'id="{name}"'):]
        assert "&gt;&gt;&gt;" in section[:section.index("</section>")], name


def test_error_messages_point_at_the_reference_not_at_uninstalled_docs():
    """No string in a raise statement of the package names a docs/ file."""
    offenders = []
    for path in (ROOT / "riesz").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Raise) or (isinstance(node, ast.Call) and getattr(
                    node.func, "attr", getattr(node.func, "id", "")) in ("warn", "NoRuleError")):
                for constant in ast.walk(node):
                    if (isinstance(constant, ast.Constant) and isinstance(constant.value, str)
                            and re.search(r"docs/\w+\.md", constant.value)):
                        offenders.append(f"{path.relative_to(ROOT)}:{constant.lineno}")
    assert not offenders, offenders
