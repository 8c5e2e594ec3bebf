"""Pytrees: nested containers of arrays, flattened to a list of leaves and a structure.

Tuples, lists, dicts (in sorted-key order, like JAX; an ``OrderedDict`` in its own order,
a ``defaultdict`` sorted, keeping its default factory), ``None`` (no leaves) and
namedtuples are containers; anything else is a leaf unless its type was
registered with :func:`register_pytree_node`.

Each leaf has a key path, JAX's: the keys from the root to it (:class:`DictKey`,
:class:`SequenceKey`, :class:`GetAttrKey` for a namedtuple's fields, and for the
children of a registered type the keys its ``keys`` function gives, or else
:class:`FlattenedIndexKey`), read off the structure alone; :func:`keystr` prints one as ``['layers'][0]``. Errors about a tree
name the key path where it goes wrong.
"""
import collections
import dataclasses
import functools
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence, TypeVar

__all__ = ["tree_flatten", "tree_unflatten", "tree_map", "tree_leaves", "tree_structure",
           "tree_flatten_with_path", "tree_leaves_with_path", "tree_map_with_path", "keystr",
           "DictKey", "SequenceKey", "GetAttrKey", "FlattenedIndexKey",
           "register_pytree_node", "register_pytree_node_class", "register_dataclass",
           "tree_reduce", "tree_all", "tree_transpose", "Partial",
           "TreeDef", "PyTreeError", "mismatch"]


@dataclass(frozen=True)
class DictKey:
    """The key of a dict entry in a key path."""
    key: object

    def __str__(self):
        return f"[{self.key!r}]"


@dataclass(frozen=True)
class SequenceKey:
    """The index of a tuple or list entry in a key path."""
    idx: int

    def __str__(self):
        return f"[{self.idx}]"


@dataclass(frozen=True)
class GetAttrKey:
    """The field of a namedtuple (or an attribute of a registered type) in a key path."""
    name: str

    def __str__(self):
        return f".{self.name}"


@dataclass(frozen=True)
class FlattenedIndexKey:
    """The position of a child of a registered type (in its flatten order) in a key path."""
    key: int

    def __str__(self):
        return f"[<flat index {self.key}>]"


def keystr(path: Iterable[Any]) -> str:
    """A key path as text, JAX's form: ``['layers'][0].W``; the root is ``''``."""
    return "".join(map(str, path))

_registry: "dict[type, tuple[Callable[[Any], Any], Callable[[Any, Any], Any]]]" = {}
# the types met as leaves (arrays, numbers): a child of one is taken without a call of
# _flatten; registering a type as a container takes it out
_LEAF_TYPES: "set[type]" = set()
_child_keys: "dict[type, Callable[[Any], Iterable[Any]]]" = {}
_T = TypeVar("_T", bound=type)


def register_pytree_node(cls: _T, flatten: Callable[[Any], tuple[Any, Any]],
                         unflatten: Callable[[Any, Any], Any],
                         keys: Callable[[Any], Iterable[Any]] | None = None) -> _T:
    """Make ``cls`` a container: ``flatten(x) -> (children, aux)``,
    ``unflatten(aux, children) -> x``; ``aux`` must be hashable and comparable.

    ``keys(aux)``, if given, names the children in key paths, from the aux data alone (an
    attribute's child ``GetAttrKey("W")``, printed ``.W``); without it they are
    ``FlattenedIndexKey(i)``, printed ``[<flat index i>]``."""
    _registry[cls] = (flatten, unflatten)
    _LEAF_TYPES.discard(cls)
    if keys is None:
        _child_keys.pop(cls, None)
    else:
        _child_keys[cls] = keys
    return cls



def register_pytree_node_class(cls: _T) -> _T:
    """JAX's class decorator: ``cls`` is a container flattened by its method
    ``x.tree_flatten() -> (children, aux)`` and rebuilt by its classmethod
    ``cls.tree_unflatten(aux, children)``."""
    methods: Any = cls   # any class that defines the two methods
    return register_pytree_node(cls, methods.tree_flatten, methods.tree_unflatten)


def register_dataclass(nodetype: _T, data_fields: "Sequence[str] | None" = None,
                       meta_fields: "Sequence[str] | None" = None,
                       drop_fields: "Sequence[str]" = ()) -> _T:
    """JAX's ``register_dataclass``: a dataclass (or any class built from keyword arguments)
    whose ``data_fields`` are children, named ``.field`` in key paths, and whose
    ``meta_fields`` are aux data (hashable; part of the structure). Without the lists,
    the dataclass's fields are data unless marked ``field(metadata={"static": True})``,
    as in JAX. Usable as a decorator."""
    if data_fields is None or meta_fields is None:
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(f"register_dataclass: {nodetype.__name__} is not a dataclass; give "
                            f"data_fields and meta_fields")
        fields = [f for f in dataclasses.fields(nodetype) if f.init and f.name not in drop_fields]
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
        data_fields = [f.name for f in fields if f.name not in meta_fields]
    data, meta = tuple(data_fields), tuple(meta_fields)
    return register_pytree_node(
        nodetype, lambda x: ([getattr(x, f) for f in data], tuple(getattr(x, f) for f in meta)),
        lambda aux, children: nodetype(**dict(zip(data, children)), **dict(zip(meta, aux))),
        keys=lambda aux: [GetAttrKey(f) for f in data])


def _sorted_keys(d):
    try:
        return tuple(sorted(d))
    except TypeError:
        raise PyTreeError(f"a dict's keys are flattened in sorted order, and its keys "
                          f"{list(d)[:6]} do not sort (mixed types: "
                          f"{sorted({type(k).__name__ for k in d})}); give it keys of one type, "
                          f"e.g. all str") from None


def _flatten_dict(d):
    keys = _sorted_keys(d)
    return [d[k] for k in keys], keys


register_pytree_node(tuple, lambda t: (t, None), lambda _, c: tuple(c))
register_pytree_node(list, lambda l: (l, None), lambda _, c: list(c))
register_pytree_node(dict, _flatten_dict, lambda keys, c: dict(zip(keys, c)))
register_pytree_node(type(None), lambda n: ((), None), lambda _, c: None)


def _flatten_defaultdict(d):
    keys = _sorted_keys(d)
    return [d[k] for k in keys], (d.default_factory, keys)


# JAX's too: an OrderedDict keeps its keys' order (part of its value: PyTorch's state_dict),
# a defaultdict sorts them as a dict does and keeps its default_factory in the structure
register_pytree_node(collections.OrderedDict, lambda d: (list(d.values()), tuple(d)),
                     lambda keys, c: collections.OrderedDict(zip(keys, c)),
                     keys=lambda keys: [DictKey(k) for k in keys])
register_pytree_node(collections.defaultdict, _flatten_defaultdict,
                     lambda aux, c: collections.defaultdict(aux[0], zip(aux[1], c)),
                     keys=lambda aux: [DictKey(k) for k in aux[1]])


class TreeDef:
    """The structure of a pytree: a node type, its aux data and its children."""
    __slots__ = ("kind", "aux", "children", "num_leaves")

    def __init__(self, kind, aux, children):
        self.kind = kind  # None for a leaf
        self.aux = aux
        self.children = children
        if kind is None:
            self.num_leaves = 1
        else:
            n = 0
            for c in children:
                n += c.num_leaves
            self.num_leaves = n

    def __eq__(self, other):
        if self is other:
            return True
        return (isinstance(other, TreeDef) and self.kind is other.kind
                and self.aux == other.aux and self.children == other.children)

    def __hash__(self):
        return hash((self.kind, self.aux if _hashable(self.aux) else None, self.children))

    def __repr__(self):
        return self.show(lambda: "*")

    def show(self, leaf: Callable[[], str]) -> str:
        """The structure as text, with ``leaf()`` for each leaf in leaf order."""
        if self.kind is None:
            return leaf()
        if self.kind is type(None):
            return "None"
        inner = [c.show(leaf) for c in self.children]
        if self.kind is dict:
            return "{" + ", ".join(f"{k!r}: {c}" for k, c in zip(self.aux, inner)) + "}"
        if self.kind is list:
            return "[" + ", ".join(inner) + "]"
        if self.kind is tuple:
            return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"
        if self.kind not in _registry:   # a namedtuple
            return f"{self.kind.__name__}(" + ", ".join(
                f"{f}={c}" for f, c in zip(self.kind._fields, inner)) + ")"
        return f"{self.kind.__name__}(" + ", ".join(inner) + ")"

    def child_keys(self):
        """The key of each child: :class:`DictKey`, :class:`SequenceKey`,
        :class:`GetAttrKey` (namedtuple fields), a registered type's own keys, or
        :class:`FlattenedIndexKey`."""
        if self.kind is dict:
            return [DictKey(k) for k in self.aux]
        if self.kind in (tuple, list):
            return [SequenceKey(i) for i in range(len(self.children))]
        if self.kind not in _registry:
            return [GetAttrKey(f) for f in self.kind._fields]
        if self.kind in _child_keys:
            return list(_child_keys[self.kind](self.aux))
        return [FlattenedIndexKey(i) for i in range(len(self.children))]

    def paths(self, prefix=()):
        """The key path of every leaf, in leaf order."""
        if self.kind is None:
            return [prefix]
        return [path for key, c in zip(self.child_keys(), self.children)
                for path in c.paths(prefix + (key,))]

    def difference(self, other, prefix=()):
        """Where ``other`` first differs from this structure: ``(key path, what differs)``,
        or None where they are equal."""
        if self == other:
            return None
        if self.kind is not other.kind or self.aux != other.aux or len(self.children) != len(
                other.children):
            return prefix, f"{self!r} against {other!r}"
        for key, a, b in zip(self.child_keys(), self.children, other.children):
            found = a.difference(b, prefix + (key,))
            if found is not None:
                return found
        return None


def _hashable(x):
    try:
        hash(x)
    except TypeError:
        return False
    return True


_LEAF = TreeDef(None, None, ())


class PyTreeError(TypeError):
    """A value that is not a pytree riesz can flatten; the message names the key path."""

    def __init__(self, message, path=()):
        super().__init__(message)
        self.message, self.path = message, path

    def __str__(self):
        return f"pytree: at {keystr(self.path) or 'the root'}: {self.message}"


def tree_flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None
                 ) -> "tuple[list[Any], TreeDef]":
    """``(leaves, treedef)`` of a pytree. A node for which ``is_leaf(node)`` is true is a
    leaf, container or not (JAX's ``is_leaf``)."""
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves, is_leaf)


def _flatten(x, leaves, is_leaf=None):
    cls = type(x)
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return _LEAF
    if cls is tuple or cls is list:   # the commonest containers, without their registry entry
        children, aux = x, None
    elif (node := _registry.get(cls)) is not None:
        children, aux = node[0](x)
    elif isinstance(x, tuple) and hasattr(cls, "_fields"):   # a namedtuple
        children, aux = x, None
    else:
        leaves.append(x)
        _LEAF_TYPES.add(cls)
        return _LEAF
    flat = []
    for c in children:
        if is_leaf is None and type(c) in _LEAF_TYPES:
            leaves.append(c)
            flat.append(_LEAF)
            continue
        try:
            flat.append(_flatten(c, leaves, is_leaf))
        except PyTreeError as error:   # name the path on the way out
            keys = TreeDef(cls, aux, (_LEAF,) * len(children)).child_keys()
            raise PyTreeError(error.message, (keys[len(flat)],) + error.path) from None
    return TreeDef(cls, aux, tuple(flat))


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> "TreeDef":
    """The :class:`TreeDef` of a pytree (JAX's ``tree_structure``)."""
    return tree_flatten(tree, is_leaf)[1]


def tree_flatten_with_path(tree: Any, is_leaf: Callable[[Any], bool] | None = None
                           ) -> "tuple[list[tuple[tuple[Any, ...], Any]], TreeDef]":
    """``([(key path, leaf), ...], treedef)`` (JAX's ``tree_flatten_with_path``)."""
    leaves, treedef = tree_flatten(tree, is_leaf)
    return list(zip(treedef.paths(), leaves)), treedef


def tree_leaves_with_path(tree: Any, is_leaf: Callable[[Any], bool] | None = None
                          ) -> "list[tuple[tuple[Any, ...], Any]]":
    """``[(key path, leaf), ...]`` (JAX's ``tree_leaves_with_path``)."""
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_unflatten(treedef: "TreeDef", leaves: Iterable[Any]) -> Any:
    """Rebuild the pytree of ``treedef`` from its leaves."""
    it = iter(leaves)
    out = _unflatten(treedef, it)
    return out


def _unflatten(td, it):
    kind = td.kind
    if kind is None:
        return next(it)
    children = []
    for c in td.children:   # a leaf without a call of its own
        children.append(next(it) if c.kind is None else _unflatten(c, it))
    if kind is list:   # the commonest containers, without their registry entry
        return children
    if kind is tuple:
        return tuple(children)
    node = _registry.get(kind)
    if node is not None:
        return node[1](td.aux, children)
    return td.kind(*children)  # namedtuple


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    return tree_flatten(tree, is_leaf)[0]


def mismatch(what, expected, got):
    """The message for a pytree of structure ``got`` where ``expected`` was needed: both
    structures, and the key path of the first difference."""
    path, differs = expected.difference(got)
    whole = f"; the whole trees: {expected!r} and {got!r}" if path else ""
    return (f"{what}: the trees have different structures, first at "
            f"{keystr(path) or 'the root'}: {differs}{whole}")


def _map_leaves(name, tree, rest, is_leaf):
    leaves, td = tree_flatten(tree, is_leaf)
    others = []
    for r in rest:
        rl, rtd = tree_flatten(r, is_leaf)
        if rtd != td:
            raise ValueError(
                mismatch(name, td, rtd) + "; it maps leaf by leaf over trees of one structure "
                "(did a pair such as (grads, norm), which clip_by_global_norm returns, reach it "
                "in place of the grads?)")
        others.append(rl)
    return leaves, td, others


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any,
             is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Apply ``f`` leaf by leaf to one or more pytrees of the same structure (the nodes
    where ``is_leaf`` holds taken whole, in every tree)."""
    leaves, td, others = _map_leaves("tree_map", tree, rest, is_leaf)
    return tree_unflatten(td, [f(*xs) for xs in zip(leaves, *others)])


def tree_map_with_path(f: Callable[..., Any], tree: Any, *rest: Any,
                      is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``f(key path, leaf, *other leaves)`` leaf by leaf (JAX's ``tree_map_with_path``)."""
    leaves, td, others = _map_leaves("tree_map_with_path", tree, rest, is_leaf)
    return tree_unflatten(td, [f(path, *xs) for path, *xs in zip(td.paths(), leaves, *others)])


_NO_INITIALIZER = object()


def tree_reduce(f: Callable[[Any, Any], Any], tree: Any, initializer: Any = _NO_INITIALIZER,
                is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``functools.reduce(f, leaves)``, from ``initializer`` when given (JAX's ``tree_reduce``)."""
    leaves = tree_leaves(tree, is_leaf)
    return functools.reduce(f, leaves) if initializer is _NO_INITIALIZER else \
        functools.reduce(f, leaves, initializer)


def tree_transpose(outer_treedef: "TreeDef", inner_treedef: "TreeDef", pytree_to_transpose: Any
                   ) -> Any:
    """An ``outer`` tree of ``inner`` trees turned into an ``inner`` tree of ``outer`` trees
    (JAX's ``tree_transpose``): ``[(1, 2), (3, 4)]`` becomes ``([1, 3], [2, 4])``."""
    leaves, treedef = tree_flatten(pytree_to_transpose)
    expected = tree_structure(tree_unflatten(
        outer_treedef, [tree_unflatten(inner_treedef, [0] * inner_treedef.num_leaves)]
        * outer_treedef.num_leaves))
    if treedef != expected:
        raise ValueError(mismatch("tree_transpose", expected, treedef))
    n = inner_treedef.num_leaves
    groups = [leaves[i::n] for i in range(n)]   # leaf i of every inner tree, in outer order
    return tree_unflatten(inner_treedef, [tree_unflatten(outer_treedef, g) for g in groups])


class Partial(functools.partial):
    """JAX's ``tree_util.Partial``: a ``functools.partial`` that is a pytree, its bound
    arguments the children and the function part of the structure, so that it passes
    through ``jit``, ``vmap`` and ``grad`` as an argument."""


register_pytree_node(
    Partial, lambda p: ((p.args, p.keywords), p.func),
    lambda func, children: Partial(func, *children[0], **children[1]))


def tree_all(tree: Any, *, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether every leaf is true (JAX's ``tree_all``)."""
    return all(tree_leaves(tree, is_leaf))


# jax.tree's short names (jax.tree.map, jax.tree.leaves, ...): riesz.tree ports both
# jax.tree and jax.tree_util. Served by __getattr__ so that they never shadow the builtins
# (map, all) inside this module.
_SHORT_NAMES = {"map": tree_map, "leaves": tree_leaves, "structure": tree_structure,
                "flatten": tree_flatten, "unflatten": tree_unflatten, "reduce": tree_reduce,
                "all": tree_all,
                "map_with_path": tree_map_with_path, "leaves_with_path": tree_leaves_with_path,
                "flatten_with_path": tree_flatten_with_path}


def __getattr__(name: str) -> Any:
    try:
        return _SHORT_NAMES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
