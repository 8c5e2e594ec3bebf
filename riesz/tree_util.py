"""``riesz.tree_util``: JAX's ``jax.tree_util`` names for riesz's pytrees (:mod:`riesz.tree`),
so that ``from jax import tree_util`` ports as ``from riesz import tree_util``."""
from .tree import (DictKey, FlattenedIndexKey, GetAttrKey, Partial, SequenceKey, TreeDef, keystr,
                   register_dataclass, register_pytree_node, register_pytree_node_class,
                   tree_all, tree_flatten, tree_flatten_with_path, tree_leaves,
                   tree_leaves_with_path, tree_map, tree_map_with_path, tree_reduce,
                   tree_structure, tree_transpose, tree_unflatten)

PyTreeDef = TreeDef

__all__ = ["DictKey", "FlattenedIndexKey", "GetAttrKey", "SequenceKey", "PyTreeDef", "Partial",
           "keystr", "register_dataclass", "register_pytree_node", "register_pytree_node_class",
           "tree_all", "tree_flatten", "tree_flatten_with_path", "tree_leaves",
           "tree_leaves_with_path", "tree_map", "tree_map_with_path", "tree_reduce",
           "tree_structure", "tree_transpose", "tree_unflatten"]
