"""docs/numpy.md lists exactly the NumPy functions riesz implements on traced values: a
function registered without a row, or a row without a function, fails here."""
import importlib
import pathlib
import re


import riesz.numpy as rnp
from riesz.numpy.compat import ADDED, numpy_name
from riesz.numpy.dispatch import HANDLED

DOC = pathlib.Path(__file__).parent.parent / "docs" / "numpy.md"
# the rows that name syntax rather than a function, and the HANDLED key each stands for
SYNTAX = {"x[idx]": "getitem", "x[idx] = v": "setitem", "x.astype(dtype)": "astype"}
# riesz.numpy's own functions (what the dispatch protocols cannot reach), written
# riesz.numpy.NAME or riesz.numpy.NAME(...)...
OWN = re.compile(r"riesz\.numpy\.(\w+)")


def documented():
    """{name: section} for every name in the first column of a table in docs/numpy.md."""
    names, section = {}, None
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("| `"):
            first_cell = line.split("|")[1]
            for name in re.findall(r"`([^`]+)`", first_cell):
                assert name not in names, f"docs/numpy.md lists {name} twice"
                names[name] = section
    return names


def resolve(name):
    if name in SYNTAX:
        return SYNTAX[name]
    own = OWN.match(name)
    if own:
        obj = getattr(rnp, own.group(1), None)
        assert obj is not None, f"docs/numpy.md: riesz.numpy has no {own.group(1)}"
        return obj
    module, *path = name.split(".")
    assert module in ("numpy", "scipy"), f"docs/numpy.md: {name} is not a numpy.* or scipy.* name"
    if module == "numpy" and ".".join(path) in ADDED:   # new in NumPy 2: None (or the old name) before
        return numpy_name(".".join(path))
    try:
        obj = importlib.import_module(module)
    except ImportError:   # SciPy is optional: without it its rows name nothing
        return None
    for attr in path:
        obj = getattr(obj, attr, None)
        assert obj is not None, f"docs/numpy.md: {module} has no {name}"
    return obj


def is_constant(impl):
    return getattr(impl, "__qualname__", "").startswith("_constant.")


def test_every_registered_function_has_a_row():
    covered = {resolve(name) for name in documented()}
    missing = [k if isinstance(k, str) else f"{getattr(k, '__module__', None) or 'numpy'}."
               f"{k.__name__}" for k in HANDLED if k not in covered]
    assert not missing, f"registered on traced values but missing from docs/numpy.md: {missing}"


def test_every_row_is_registered():
    for name, section in documented().items():
        obj = resolve(name)
        if OWN.match(name) or obj is None:
            continue
        assert obj in HANDLED, f"docs/numpy.md lists {name}, but riesz does not implement it"
        constant = is_constant(HANDLED[obj])
        assert constant == section.startswith("Not differentiable"), (
            f"{name} is {'a constant passthrough' if constant else 'differentiable'} but "
            f"docs/numpy.md lists it under '{section}'")
