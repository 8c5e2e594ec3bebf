"""The vector space a value lives in: ``riesz.vspace(x)``.

A derivative ∂f(x) is a linear map between vector spaces: from the space of x's
tangents to the space of f(x)'s. :func:`vspace` names that space for any value riesz
differentiates: an array, a Python or NumPy scalar, a complex value, or a pytree of
them. A :class:`Space` is fixed by the tree structure and each leaf's shape and dtype,
so ``vspace(x) == vspace(y)`` says that x and y can be added.

Over the reals, and with an inner product: a complex entry is two real coordinates, so
ℂⁿ is ℝ²ⁿ, its dimension ``size`` counts 2n, its standard basis holds 1 and i at every
entry, and

    ⟨x, y⟩ = Re Σₖ x̄ₖ yₖ                (``inner_prod``; Σₖ xₖ yₖ for real leaves)

is a real inner product (symmetric and positive definite). Tangents and cotangents are
paired without the conjugate, ⟨c, ẋ⟩ = Re Σₖ cₖ ẋₖ (docs/complex.md); the *Riesz map*
``covector`` turns a vector v into the covector c = v̄ that pairs with ẋ as ⟨v, ẋ⟩ does.
``riesz.grad(f)(x)`` is a covector (∂f(x) ẋ = Re Σ grad·ẋ), and the vector that
represents ∂f(x) under the inner product, the direction of steepest ascent, is its
preimage ``covector(grad(f)(x))`` (the map is its own inverse): for real values the two
coincide.

A Space is also what :class:`riesz.LinearMap` maps between.
"""
import math
from collections import namedtuple
from typing import Any, Iterator

import numpy as np

from . import numpy as rnp
from .rules.define import dtype_of, shape_of
from .backend import is_array
from .core import Tracer
from .transforms import _container_fix, _standard_basis
from .tree import TreeDef, keystr, tree_flatten, tree_map, tree_unflatten

__all__ = ["vspace", "Space"]

# the shape and dtype of one leaf of a space (shape_of and dtype_of read them)
Leaf = namedtuple("Leaf", ["shape", "dtype"])


class Space:
    """A real vector space of pytrees of arrays: a tree structure and the shape and dtype
    of each leaf. Build one with :func:`vspace`."""
    __slots__ = ("tree", "leaves")

    def __init__(self, tree: TreeDef, leaves: list[Any]) -> None:
        self.tree = tree
        self.leaves = [Leaf(tuple(shape_of(x)), np.dtype(dtype_of(x))) for x in leaves]

    @classmethod
    def of(cls, value: Any) -> "Space":
        leaves, tree = tree_flatten(value)
        return cls(tree, leaves)

    # ---- what the space is

    @property
    def entries(self) -> int:
        """The number of array entries (a complex one counts once): the length of the flat
        vector of a value, the side of a :class:`~riesz.LinearMap`'s matrix."""
        return sum(math.prod(leaf.shape) for leaf in self.leaves)

    @property
    def size(self) -> int:
        """The dimension over ℝ: the number of entries, a complex one counting twice."""
        return sum(math.prod(leaf.shape) * (2 if leaf.dtype.kind == "c" else 1)
                   for leaf in self.leaves)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the values of a space of single arrays."""
        return self._single("shape").shape

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the values of a space of single arrays."""
        return self._single("dtype").dtype

    def _single(self, what):
        if self.tree.kind is not None:
            raise AttributeError(f"the space {self} holds pytrees, which have no single "
                                 f"{what}; read each leaf's in .leaves")
        return self.leaves[0]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.tree == other.tree and self.leaves == other.leaves

    def __hash__(self) -> int:
        return hash((self.tree, tuple(self.leaves)))

    def __repr__(self) -> str:
        texts = map(_leaf_text, self.leaves)
        return self.tree.show(lambda: next(texts))

    # ---- special vectors

    def _build(self, make):
        return tree_unflatten(self.tree, [make(leaf) for leaf in self.leaves])

    def zeros(self) -> Any:
        """The zero vector."""
        return self._build(lambda leaf: np.zeros(leaf.shape, leaf.dtype))

    def ones(self) -> Any:
        """The sum of the standard basis: 1 at every entry, 1 + i at a complex one."""
        return self._build(lambda leaf: np.full(leaf.shape, 1 + 1j if leaf.dtype.kind == "c"
                                                else 1, leaf.dtype))

    def randn(self, rng: np.random.Generator | None = None) -> Any:
        """A vector of independent standard normal coordinates (a complex entry's real and
        imaginary parts each N(0, 1)), from ``rng`` or NumPy's global generator."""
        normal = np.random.standard_normal if rng is None else rng.standard_normal

        def draw(leaf):
            x = normal(leaf.shape)
            return (x + 1j * normal(leaf.shape) if leaf.dtype.kind == "c" else x).astype(leaf.dtype)
        return self._build(draw)

    def standard_basis(self) -> Iterator[Any]:
        """The ``size`` vectors eₖ with ⟨eₖ, eₗ⟩ = δₖₗ: 1 at one entry and 0 elsewhere,
        followed, at a complex entry, by i there."""
        basis, n = _standard_basis(self.leaves)
        complex_entry = np.repeat([leaf.dtype.kind == "c" for leaf in self.leaves],
                                  [math.prod(leaf.shape) for leaf in self.leaves])
        for k in range(n):
            e = [np.array(b[k]) for b in basis]
            yield tree_unflatten(self.tree, e)
            if complex_entry[k]:
                yield tree_unflatten(self.tree, [1j * part if leaf.dtype.kind == "c" else part
                                                 for part, leaf in zip(e, self.leaves)])

    # ---- the operations, on values of any trace level (differentiable)

    def add(self, x: Any, y: Any) -> Any:
        """x + y."""
        return tree_map(lambda a, b: a + b, x, y)

    def scalar_mul(self, x: Any, a: Any) -> Any:
        """a x for a real scalar a, in the space's dtypes (NumPy 1's value-based promotion
        made a 0-d float32 array times a Python float a float64)."""
        leaves = tree_flatten(x)[0]
        return tree_unflatten(self.tree, [_in_dtype(v * a, leaf.dtype)
                                          for v, leaf in zip(leaves, self.leaves)])

    def inner_prod(self, x: Any, y: Any) -> Any:
        """⟨x, y⟩ = Re Σₖ x̄ₖ yₖ over every entry of every leaf: the real inner product."""
        total = 0.0
        for a, b, leaf in zip(tree_flatten(x)[0], tree_flatten(y)[0], self.leaves):
            total = total + (rnp.real(rnp.vdot(a, b)) if leaf.dtype.kind == "c"
                             else rnp.vdot(a, b))
        return total

    def covector(self, x: Any) -> Any:
        """The Riesz map: the covector c = x̄ with Re Σₖ cₖ yₖ = ⟨x, y⟩ for every y (x itself
        for real leaves). It is its own inverse, so ``covector(grad(f)(x))`` is the vector
        that represents ∂f(x) under ⟨·,·⟩."""
        return tree_unflatten(self.tree, [rnp.conj(a) if leaf.dtype.kind == "c" else a
                                          for a, leaf in zip(tree_flatten(x)[0], self.leaves)])

    # ---- for LinearMap

    def same_shapes(self, other: "Space") -> bool:
        return self.tree == other.tree and [a.shape for a in self.leaves] == [
            b.shape for b in other.leaves]

    def check(self, value: Any, what: str) -> list[Any]:
        """The leaves of ``value``, after checking it belongs to this space."""
        leaves, tree = tree_flatten(value)
        if tree != self.tree:
            raise ValueError(f"{what}: expected a value of structure {self}, got structure {tree}")
        for k, (x, leaf) in enumerate(zip(leaves, self.leaves)):
            if tuple(shape_of(x)) != leaf.shape:
                raise ValueError(f"{what}: leaf {k} has shape {tuple(shape_of(x))}, expected "
                                 f"{leaf.shape} (the space is {self})")
        return leaves


def vspace(value: Any) -> Space:
    """The real vector space ``value`` lives in: an array, a Python or NumPy scalar
    (``float``, ``complex``), or a pytree of them, each leaf of a float or complex dtype.

    >>> import numpy as np, riesz
    >>> vs = riesz.vspace({"w": np.zeros((2, 3)), "b": 0j})
    >>> vs, vs.size
    ({'b': c128[], 'w': f64[2,3]}, 8)
    >>> float(vs.inner_prod(vs.ones(), vs.ones()))     # |1 + i|² + 6 · 1²
    8.0
    """
    leaves, tree = tree_flatten(value)
    for path, x in zip(tree.paths(), leaves):
        if not (isinstance(x, Tracer) or is_array(x)):
            raise TypeError(f"vspace: the leaf at {keystr(path) or 'the root'} is a "
                            f"{type(x).__name__} ({x!r:.40}); a vector space's leaves are arrays "
                            f"and numbers.{_container_fix(x)} Keep other values out of the "
                            f"value whose space you ask for")
    space = Space(tree, leaves)
    for path, leaf in zip(space.tree.paths(), space.leaves):
        if leaf.dtype.kind not in "fc":
            raise TypeError(f"vspace: the leaf at {keystr(path) or 'the root'} has dtype "
                            f"{leaf.dtype}; a vector space needs float or complex leaves "
                            f"(cast it, e.g. x.astype(float), or pass it outside the pytree)")
    return space


def _leaf_text(leaf):
    """``f64[2,3]``: a leaf's dtype (kind and bits) and shape."""
    code = {"f": "f", "c": "c", "i": "i", "u": "u", "b": "bool"}.get(leaf.dtype.kind, "?")
    bits = "" if code == "bool" else str(leaf.dtype.itemsize * 8)
    return f"{code}{bits}[{','.join(map(str, leaf.shape))}]"


def _in_dtype(v, dtype):
    """``v`` cast to ``dtype`` where it is a NumPy value of another dtype."""
    if isinstance(v, (np.ndarray, np.generic)) and v.dtype != dtype:
        return v.astype(dtype)
    return v
