"""Pytrees: nested containers of arrays, flattened to a list of leaves and a structure.

Tuples, lists, dicts (in sorted-key order, like JAX), ``None`` (no leaves) and
namedtuples are containers; anything else is a leaf unless its type was
registered with :func:`register_pytree_node`.
"""
from typing import Any, Callable, Iterable, TypeVar

__all__ = ["tree_flatten", "tree_unflatten", "tree_map", "tree_leaves",
           "register_pytree_node", "TreeDef"]

_registry: "dict[type, tuple[Callable[[Any], Any], Callable[[Any, Any], Any]]]" = {}
_T = TypeVar("_T", bound=type)


def register_pytree_node(cls: _T, flatten: Callable[[Any], tuple[Any, Any]],
                         unflatten: Callable[[Any, Any], Any]) -> _T:
    """Make ``cls`` a container: ``flatten(x) -> (children, aux)``,
    ``unflatten(aux, children) -> x``; ``aux`` must be hashable and comparable."""
    _registry[cls] = (flatten, unflatten)
    return cls


register_pytree_node(tuple, lambda t: (t, None), lambda _, c: tuple(c))
register_pytree_node(list, lambda l: (l, None), lambda _, c: list(c))
register_pytree_node(dict, lambda d: ([d[k] for k in sorted(d)], tuple(sorted(d))),
                     lambda keys, c: dict(zip(keys, c)))
register_pytree_node(type(None), lambda n: ((), None), lambda _, c: None)


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
        if self.kind is None:
            return "*"
        inner = ", ".join(map(repr, self.children))
        return f"{self.kind.__name__}({inner})"


def _hashable(x):
    try:
        hash(x)
    except TypeError:
        return False
    return True


_LEAF = TreeDef(None, None, ())


def tree_flatten(tree: Any) -> "tuple[list[Any], TreeDef]":
    """``(leaves, treedef)`` of a pytree."""
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


def _flatten(x, leaves):
    cls = type(x)
    node = _registry.get(cls)
    if node is not None:
        children, aux = node[0](x)
    elif isinstance(x, tuple) and hasattr(cls, "_fields"):   # a namedtuple
        children, aux = x, None
    else:
        leaves.append(x)
        return _LEAF
    return TreeDef(cls, aux, tuple([_flatten(c, leaves) for c in children]))


def tree_unflatten(treedef: "TreeDef", leaves: Iterable[Any]) -> Any:
    """Rebuild the pytree of ``treedef`` from its leaves."""
    it = iter(leaves)
    out = _unflatten(treedef, it)
    return out


def _unflatten(td, it):
    if td.kind is None:
        return next(it)
    children = [_unflatten(c, it) for c in td.children]
    node = _registry.get(td.kind)
    if node is not None:
        return node[1](td.aux, children)
    return td.kind(*children)  # namedtuple


def tree_leaves(tree: Any) -> list[Any]:
    return tree_flatten(tree)[0]


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``f`` leaf by leaf to one or more pytrees of the same structure."""
    leaves, td = tree_flatten(tree)
    others = []
    for r in rest:
        rl, rtd = tree_flatten(r)
        if rtd != td:
            raise ValueError(
                f"tree_map: the trees have different structures, {td} and {rtd}; it maps "
                f"leaf by leaf over trees of one structure (did a pair such as (grads, norm), "
                f"which clip_by_global_norm returns, reach it in place of the grads?)")
        others.append(rl)
    return tree_unflatten(td, [f(*xs) for xs in zip(leaves, *others)])
