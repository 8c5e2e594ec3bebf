"""Vector-space operations on pytrees of arrays: a model is a point of ℝⁿ."""
import numpy as np

from ..tree import tree_leaves, tree_map

__all__ = ["tree_vdot", "tree_norm", "tree_axpy", "tree_scale", "tree_zeros_like"]


def tree_vdot(a, b):
    """⟨a, b⟩ = Σ over leaves of Σᵢ aᵢ bᵢ (real pytrees)."""
    return float(sum(np.vdot(x, y) for x, y in zip(tree_leaves(a), tree_leaves(b))))


def tree_norm(a):
    """‖a‖ = √⟨a, a⟩, the global Euclidean norm over every leaf."""
    return float(np.sqrt(tree_vdot(a, a)))


def tree_axpy(alpha, x, y):
    """α x + y, leaf by leaf."""
    return tree_map(lambda xi, yi: alpha * xi + yi, x, y)


def tree_scale(alpha, x):
    """α x, leaf by leaf (keeping each leaf's dtype)."""
    return tree_map(lambda xi: (alpha * xi).astype(np.result_type(xi)), x)


def tree_zeros_like(x):
    return tree_map(np.zeros_like, x)
