"""Saving and loading pytrees (models, optimizer states) as ``.npz`` files, without pickle.

Each leaf is stored under its dotted path in the tree (``"model.layers.0.weight"``,
``"opt_state.mean.layers.0.bias"``). Loading needs a *template* of the same
structure (a freshly built model and optimizer state): the file supplies only
numbers, never structure or code, and is opened with ``allow_pickle=False``, so
loading a file cannot execute anything. A parameter that is missing, extra, or
of the wrong shape or dtype is an error naming it.
"""
import zipfile

import numpy as np

from ..tree import tree_flatten, tree_unflatten
from .module import Module, _is_child

__all__ = ["save", "load", "named_leaves", "CheckpointError"]


class CheckpointError(ValueError):
    """A checkpoint file does not match the structure it is loaded into."""


def named_leaves(tree):
    """``{dotted path: leaf}`` in the pytree order of ``tree``."""
    out = {}
    _collect(tree, "", out)
    return out


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else str(name)


def _collect(tree, prefix, out, in_module=False):
    """Name the leaves of ``tree``; ``in_module``: inside a module's list, tuple or dict
    attribute, whose entries other than parameters and modules are static (not leaves)."""
    if isinstance(tree, Module):
        items, in_module = tree.children(), True
    elif isinstance(tree, dict):
        items = [(k, tree[k]) for k in sorted(tree)]   # riesz.tree's order for dicts
    elif isinstance(tree, tuple) and hasattr(tree, "_fields"):   # namedtuple
        items = list(zip(tree._fields, tree))
    elif isinstance(tree, (list, tuple)):
        items = list(enumerate(tree))
    elif tree is None:
        items = []
    else:
        leaves, _ = tree_flatten(tree)
        if len(leaves) == 1 and leaves[0] is tree:
            out[prefix or "value"] = tree
            return
        items = list(enumerate(leaves))   # another registered container: number its leaves
    for name, child in items:
        if not in_module or _is_child(child):
            _collect(child, _join(prefix, name), out, in_module)


def save(path, tree):
    """Write the leaves of ``tree`` (a model, an optimizer state, or a dict of them) to
    ``path`` as an ``.npz`` file, one array per leaf under its dotted name."""
    # the .npz layout that np.savez writes (one NAME.npy per array in a zip), written
    # directly so that any name works (np.savez(file, **arrays) reserves "file") and
    # an object array fails here rather than when it is loaded
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, leaf in named_leaves(tree).items():
            with archive.open(name + ".npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asarray(leaf), allow_pickle=False)


def load(path, like):
    """The pytree of ``like``'s structure with its leaves read from ``path``.

    ``like`` supplies the structure (and the leaf types: Python ints stay ints); the
    file must hold exactly its leaves, with the same shapes and dtypes, so values
    round-trip bit for bit. Raises :class:`CheckpointError` naming the first
    missing, unexpected, mis-shaped or mis-typed entry.
    """
    if isinstance(like, type):
        raise TypeError(f"load: like={like.__name__} is a class; pass an instance of the "
                        f"model to fill (e.g. {like.__name__}(..., rng=np.random.default_rng(0)))"
                        f", or use model.load(path)")
    expected = named_leaves(like)
    _, treedef = tree_flatten(like)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"{path}: cannot be read as an .npz checkpoint ({e})") from e
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise CheckpointError(f"{path}: holds a single array, not an .npz checkpoint of named "
                              f"parameters; write it with riesz.nn.save")
    with archive:
        stored = set(archive.files)
        leaves = []
        for name, template in expected.items():
            if name not in stored:
                raise CheckpointError(f"{path}: parameter {name!r} is missing (the file has "
                                      f"{len(stored)} entries; was it saved from a model of a "
                                      f"different architecture?)")
            try:
                value = archive[name]
            except ValueError as e:   # an object array would need pickle
                raise CheckpointError(f"{path}: parameter {name!r} cannot be read without "
                                      f"pickle ({e})") from e
            leaves.append(_like_template(value, template, name, path))
        extra = sorted(stored - set(expected))
        if extra:
            raise CheckpointError(f"{path}: unexpected parameter {extra[0]!r} (and "
                                  f"{len(extra) - 1} more); the model it is loaded into has "
                                  f"no such parameter")
    return tree_unflatten(treedef, leaves)


def _like_template(value, template, name, path):
    shape, dtype = np.shape(template), np.result_type(template)
    if value.shape != shape:
        raise CheckpointError(f"{path}: parameter {name!r} has shape {value.shape} in the "
                              f"file but {shape} in the model")
    if value.dtype != dtype:
        raise CheckpointError(f"{path}: parameter {name!r} has dtype {value.dtype} in the "
                              f"file but {dtype} in the model; cast the model "
                              f"(riesz.tree_map(lambda p: p.astype(...), model)) before loading")
    if isinstance(template, np.ndarray):
        return value
    if isinstance(template, np.generic):
        return value[()]
    return type(template)(value[()])   # a Python int, float, bool or complex
