"""Saving and loading pytrees (models, optimizer states) as ``.npz`` files, without pickle.

Each leaf is stored under its dotted path in the tree (``"model.layers.0.weight"``,
``"opt_state.mean.layers.0.bias"``). Loading needs a *template* of the same
structure (a freshly built model and optimizer state): the file supplies only
numbers, never structure or code, and is opened with ``allow_pickle=False``, so
loading a file cannot execute anything. A parameter that is missing, extra, or
of the wrong shape or dtype is an error naming it.

Work is never lost: :func:`save` checks the whole tree before it writes anything,
writes a temporary file beside the target, syncs it to disk and renames it over
the target in one step (``os.replace``), so a failed save (an unsupported leaf, a
full disk) leaves the previous checkpoint as it was. :func:`load` reads each
member's ``.npy`` header first and compares its shape, dtype and size with the
template and the archive's directory before it reads (or inflates) any data, so a
file that declares a huge array costs nothing.
"""
import os
import uuid
import zipfile
import zlib
from typing import Any, TypeVar, Union

import numpy as np

from ..tree import tree_flatten, tree_unflatten
from .module import Module, _is_child

__all__ = ["save", "load", "named_leaves", "CheckpointError"]


class CheckpointError(ValueError):
    """A checkpoint cannot be saved (a leaf that is not an array, two leaves with one
    dotted name) or loaded (missing, extra, mis-shaped or mis-typed parameters; a damaged
    or non-checkpoint file)."""


PathLike = Union[str, "os.PathLike[str]"]
T = TypeVar("T")


def named_leaves(tree: Any) -> "dict[str, Any]":
    """``{dotted path: leaf}`` in the pytree order of ``tree``.

    Two leaves with the same dotted name (``{"a.b": x, "a": {"b": y}}``) are a
    :class:`CheckpointError`: a file could hold only one of them."""
    out: "dict[str, Any]" = {}
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
            name = prefix or "value"
            if name in out:
                raise CheckpointError(f"two leaves of the tree have the dotted name {name!r} "
                                      f"(a key with a dot, such as {{'a.b': x, 'a': {{'b': y}}}}"
                                      f"); rename one of them")
            out[name] = tree
            return
        items = list(enumerate(leaves))   # another registered container: number its leaves
    for name, child in items:
        if not in_module or _is_child(child):
            _collect(child, _join(prefix, name), out, in_module)




def save(path: PathLike, tree: Any) -> None:
    """Write the leaves of ``tree`` (a model, an optimizer state, or a dict of them) to
    ``path`` as an ``.npz`` file, one array per leaf under its dotted name.

    The write is atomic: the tree is checked first (every leaf an array or a number,
    no two leaves with one dotted name), then written to a temporary file in the same
    directory, flushed and synced, and renamed over ``path``. If anything fails, the
    file that was at ``path`` is still there, unchanged.

    >>> import numpy as np, riesz.nn as nn, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> nn.save(path, {"w": np.arange(3.0), "step": 7})
    >>> nn.load(path, like={"w": np.zeros(3), "step": 0})
    {'step': 7, 'w': array([0., 1., 2.])}
    """
    arrays = {name: _storable(name, leaf) for name, leaf in named_leaves(tree).items()}
    path = os.fspath(path)
    directory, base = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{base}.{uuid.uuid4().hex[:12]}.tmp")
    # O_EXCL: never another file of that name; mode 0o666 less the umask, as open(path, "w")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:   # named by the user's path, not the temporary one
        raise _path_error(e, path, f"the directory {directory!r} must exist and be "
                                   f"writable (os.makedirs creates it)") from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            # the .npz layout that np.savez writes (one NAME.npy per array in a zip), written
            # directly so that any name works (np.savez(file, **arrays) reserves "file")
            with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
                for name, array in arrays.items():
                    with archive.open(name + ".npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.replace(temporary, path)
        except IsADirectoryError as e:
            raise _path_error(e, path, "name a file in that directory") from None
    except BaseException:
        os.unlink(temporary)
        raise
    _sync_directory(directory)


def _path_error(error: OSError, path: str, fix: str) -> OSError:
    """``error`` (same type and errno) saying that ``path`` cannot be saved to, and why."""
    return type(error)(error.errno, f"nn.save cannot write {path!r}: {error.strerror}; {fix}")


def _storable(name: str, leaf: Any) -> np.ndarray:
    """The leaf as an array that an ``.npy`` member can hold without pickle."""
    try:
        array = np.asarray(leaf)
    except Exception as e:   # a traced value, a ragged list, ...
        raise CheckpointError(f"cannot save leaf {name!r} ({type(leaf).__name__}): {e}") from e
    if array.dtype.hasobject:
        raise CheckpointError(f"cannot save leaf {name!r} of type {type(leaf).__name__}: it is "
                              f"not an array or a number (its dtype would be object, which "
                              f"needs pickle); store arrays, numbers or pytrees of them")
    return array


def _sync_directory(directory: str) -> None:
    """Make the rename durable (POSIX: the directory entry is data of the directory)."""
    if not hasattr(os, "O_DIRECTORY"):   # Windows: no directory handles to sync
        return
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def load(path: PathLike, like: T) -> T:
    """The pytree of ``like``'s structure with its leaves read from ``path``.

    ``like`` supplies the structure (and the leaf types: Python ints stay ints); the
    file must hold exactly its leaves, with the same shapes and dtypes, so values
    round-trip bit for bit. Raises :class:`CheckpointError` naming the first
    missing, unexpected, mis-shaped or mis-typed entry, and for a damaged file (a
    member whose size disagrees with its header, or whose checksum fails). Every
    header is checked before any data is read, so a file declaring arrays larger
    than the template's is refused without allocating them.
    """
    if isinstance(like, type):
        raise TypeError(f"load: like={like.__name__} is a class; pass an instance of the "
                        f"model to fill (e.g. {like.__name__}(..., rng=np.random.default_rng(0)))"
                        f", or use model.load(path)")
    expected = named_leaves(like)
    _, treedef = tree_flatten(like)
    try:
        with zipfile.ZipFile(path) as archive:
            members = _members(archive, expected, path)
            for name, template in expected.items():
                _check_header(archive, members[name], template, name, path)
            leaves = [_read(archive, members[name], template, name, path)
                      for name, template in expected.items()]
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise CheckpointError(f"{path}: cannot be read as an .npz checkpoint ({e})") from e
    return tree_unflatten(treedef, leaves)


def _members(archive: zipfile.ZipFile, expected: "dict[str, Any]", path: PathLike
             ) -> "dict[str, zipfile.ZipInfo]":
    """``{parameter name: zip entry}``, after checking that the names are the template's."""
    members = {info.filename[:-4] if info.filename.endswith(".npy") else info.filename: info
               for info in archive.infolist()}
    for name in expected:
        if name not in members:
            raise CheckpointError(f"{path}: parameter {name!r} is missing (the file has "
                                  f"{len(members)} entries; was it saved from a model of a "
                                  f"different architecture?)" + _nested_hint(members, expected))
    extra = sorted(set(members) - set(expected))
    if extra:
        raise CheckpointError(f"{path}: unexpected parameter {extra[0]!r} (and "
                              f"{len(extra) - 1} more); the model it is loaded into has "
                              f"no such parameter")
    return members


def _nested_hint(members: "dict[str, Any]", expected: "dict[str, Any]") -> str:
    """When the file holds the template's leaves under a prefix (a model saved together
    with its optimizer state, ``{"model": model, "opt_state": state}``), say so."""
    first = next(iter(expected), None)
    prefixes = sorted(stored[:-len(first)] for stored in members
                      if first is not None and stored.endswith("." + first))
    for prefix in prefixes:
        if all(prefix + name in members for name in expected):
            tops = sorted({name.split(".")[0] for name in members})
            example = ", ".join(f"{top!r}: ..." for top in tops)
            return (f". The file holds these parameters under {prefix!r}: it was saved from a "
                    f"larger tree with the top-level entries {tops}; load it with that tree "
                    f"as the template, e.g. nn.load(path, like={{{example}}}), and take its "
                    f"{prefix[:-1]!r} entry (a tuple's entries are named 0, 1, ...)")
    return ""


def stored_shapes(path: PathLike) -> "dict[str, tuple[tuple[int, ...], np.dtype]]":
    """``{parameter name: (shape, dtype)}`` of a checkpoint, read from the headers alone
    (for a template whose sizes the file decides, such as a training run's history)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return {info.filename[:-4]: _header(archive, info, info.filename[:-4], path)[:2]
                    for info in archive.infolist() if info.filename.endswith(".npy")}
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise CheckpointError(f"{path}: cannot be read as an .npz checkpoint ({e})") from e


def _header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, path: PathLike
            ) -> "tuple[tuple[int, ...], np.dtype, int]":
    """The member's shape and dtype from its ``.npy`` header, and the header's length."""
    with archive.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(member)
        except ValueError as e:
            raise CheckpointError(f"{path}: parameter {name!r} has no valid .npy header "
                                  f"({e})") from e
        return shape, dtype, member.tell()


def _check_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, template: Any, name: str,
                  path: PathLike) -> None:
    """Compare the member's ``.npy`` header with the template and with the member's size
    in the zip directory, reading nothing but the header."""
    shape, dtype, offset = _header(archive, info, name, path)
    if dtype.hasobject:
        raise CheckpointError(f"{path}: parameter {name!r} cannot be read without pickle "
                              f"(its dtype is {dtype})")
    _like_template(shape, dtype, template, name, path)
    size = offset + dtype.itemsize * int(np.prod(shape, dtype=object))
    if info.file_size != size:
        raise CheckpointError(f"{path}: parameter {name!r} declares {size} bytes in its "
                              f"header but the archive says {info.file_size}; the file is "
                              f"damaged")


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, template: Any, name: str,
          path: PathLike) -> Any:
    """The member's array (its header already checked), as the template's leaf type."""
    with archive.open(info) as member:
        value = np.lib.format.read_array(member, allow_pickle=False)
        if member.read(1):   # also reaches the end of the member, where zipfile checks the CRC
            raise CheckpointError(f"{path}: parameter {name!r} has data after its array")
    if isinstance(template, np.ndarray):
        return value
    if isinstance(template, np.generic):
        return value[()]
    return type(template)(value[()])   # a Python int, float, bool or complex


def _like_template(shape: "tuple[int, ...]", dtype: np.dtype, template: Any, name: str,
                   path: PathLike) -> None:
    expected_shape, expected_dtype = np.shape(template), np.result_type(template)
    if shape != expected_shape:
        raise CheckpointError(f"{path}: parameter {name!r} has shape {shape} in the "
                              f"file but {expected_shape} in the model")
    if dtype != expected_dtype:
        raise CheckpointError(f"{path}: parameter {name!r} has dtype {dtype} in the "
                              f"file but {expected_dtype} in the model; cast the model "
                              f"(riesz.tree_map(lambda p: p.astype(...), model)) before loading")
