"""The type check (issue 14): mypy over the package and a user's program
(tests/typecheck_usage.py), with pyproject.toml's [tool.mypy] configuration, and a test
that every public function of riesz, riesz.nn, riesz.optim and riesz.testing has hints."""
import importlib
import importlib.util
import inspect
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLIC = ["riesz", "riesz.nn", "riesz.optim", "riesz.testing"]


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                    reason="mypy is not installed (pip install '.[test]')")
def test_mypy_passes_on_the_package_and_a_users_program(tmp_path):
    out = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"),
                          "--no-error-summary"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def _public_callables():
    for module_name in PUBLIC:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                if issubclass(obj, BaseException) or obj.__module__.split(".")[0] != "riesz":
                    continue
                if "__init__" in vars(obj):
                    yield f"{module_name}.{name}.__init__", obj.__init__
                yield from ((f"{module_name}.{name}.{m}", f) for m, f in vars(obj).items()
                            if inspect.isfunction(f) and not m.startswith("_"))
            elif inspect.isfunction(obj):
                yield f"{module_name}.{name}", obj


@pytest.mark.parametrize("name, function", list(_public_callables()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_public_functions_have_complete_hints(name, function):
    signature = inspect.signature(function)
    missing = [p.name for p in signature.parameters.values()
               if p.annotation is inspect.Parameter.empty and p.name not in ("self", "cls")]
    if signature.return_annotation is inspect.Signature.empty:
        missing.append("return")
    assert not missing, f"{name}: no type hint for {', '.join(missing)}"
