import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import builtins

import pytest


@pytest.fixture
def hide_modules(monkeypatch):
    """``hide_modules("tqdm", ...)``: importing those packages (and their submodules) raises
    ImportError for the rest of the test, as if the optional extra were not installed."""
    def hide(*names):
        real_import = builtins.__import__

        def guarded(name, *args, **kwargs):
            if name.split(".")[0] in names:
                raise ImportError(f"{name} (hidden by the test)")
            return real_import(name, *args, **kwargs)
        monkeypatch.setattr(builtins, "__import__", guarded)
    return hide
