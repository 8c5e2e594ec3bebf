"""The derivative as an object: ``linearize(f, *primals) -> (f(x), ∂f(x))``.

∂f(x) is a :class:`LinearMap`: it applies to a tangent (``df(xdot)``, forward
mode), its transpose ``df.T`` applies to a cotangent (``df.T(ybar)``, reverse
mode, the VJP), ``@`` composes maps (the chain rule ∂(g∘f)(x) = ∂g(f(x)) ∂f(x)),
and ``df.matrix()`` materializes the generalized Jacobian, of shape
``y.shape + x.shape``.

``linearize`` records f's tape once. Applying ``df`` walks that tape forward
with each primitive's JVP rules, and ``df.T`` walks it backward with the VJP
rules: neither evaluates f again.

A LinearMap is also a ``scipy.sparse.linalg.LinearOperator`` in all but name (``shape``,
``dtype``, ``matvec``, ``rmatvec`` on flattened vectors), so ``scipy.sparse.linalg.cg(H, g)``
solves with the Hessian ``H`` of ``linearize(grad(f), x)`` without forming it.
"""
import math
from typing import Any, Callable

import numpy as np

from .core import JVPTrace, Tracer, ZERO
from .rules.define import dtype_of, shape_of
from .transforms import (Recording, jvp, jacobian_blocks, _like, _assemble, _tangent_like,
                         _unshared)
from .tree import tree_flatten, tree_map, tree_unflatten
from .vspace import Space

__all__ = ["LinearMap", "linearize", "linear_transpose"]


class LinearMap:
    """A linear map A: V → W between spaces of pytrees of arrays.

    ``A(v)`` applies it, ``A.T`` is its transpose Aᵀ: W → V under the inner
    products Σᵢ aᵢbᵢ of both spaces (so ⟨Aᵀw, v⟩ = ⟨w, Av⟩), ``B @ A`` is the
    composition v ↦ B(A(v)), ``A + B``, ``A - B``, ``-A``, ``a * A`` and ``A / a`` (a
    scalar) are the maps of the vector space of linear maps (their transposes are the
    same combinations of the transposes), and ``A.matrix()`` the generalized Jacobian, of shape
    ``w.shape + v.shape`` (for pytrees, W's structure holding V's at each leaf).
    When V is a tuple of several arguments, ``A(v1, v2, ...)`` takes them
    separately, like the function it came from.
    """

    def __init__(self, apply: Callable[..., Any], transpose: Callable[..., Any], in_space: "Space", out_space: "Space",
                 name: str = "LinearMap", nargs: int | None = None) -> None:
        self._apply = apply
        self._transpose = transpose
        self.in_space = in_space
        self.out_space = out_space
        self.name = name
        self._nargs = nargs   # the input is a tuple of this many positional arguments
        self._T = None

    def __call__(self, *args):
        if self._nargs is None:
            if len(args) != 1:
                raise TypeError(f"{self!r} takes one argument (of the space {self.in_space}), "
                                f"got {len(args)}")
            v = args[0]
        else:
            if len(args) != self._nargs:
                raise TypeError(f"{self!r} takes {self._nargs} arguments, got {len(args)}")
            v = tuple(args)
        self.in_space.check(v, f"{self.name}: the argument")
        return self._apply(v)

    @property
    def T(self):
        """The transpose: ⟨Aᵀw, v⟩ = ⟨w, Av⟩ for all v and w. ``A.T.T`` is ``A``."""
        if self._T is None:
            self._T = LinearMap(self._transpose, self._apply, self.out_space, self.in_space,
                                name=f"{self.name}.T")
            self._T._T = self
        return self._T

    # NumPy defers ``u @ A`` to __rmatmul__ below instead of making A an object array
    __array_ufunc__ = None

    def __matmul__(self, other):
        """``A @ B`` for a map B is the composition ``A ∘ B``: apply B first (the chain rule's
        order). ``A @ v`` for a vector v is ``A(v)``, as for the matrix ``A.matrix()``
        contracted with v (and scipy's ``LinearOperator``)."""
        if not isinstance(other, LinearMap):
            return self(*other) if self._nargs is not None else self(other)
        if not other.out_space.same_shapes(self.in_space):
            raise ValueError(f"cannot compose {self!r} @ {other!r}: the right map's output "
                             f"space {other.out_space} is not the left map's input space "
                             f"{self.in_space}")
        return LinearMap(lambda v: self._apply(other._apply(v)),
                         lambda w: other._transpose(self._transpose(w)),
                         other.in_space, self.out_space,
                         name=f"({self.name} @ {other.name})", nargs=other._nargs)

    def __rmatmul__(self, other):
        """``u @ A`` for a covector u is ``Aᵀ(u)``: uᵀA, the VJP."""
        return self.T(other)

    def __add__(self, other):
        """``A + B`` for maps between the same spaces: v ↦ A(v) + B(v), whose transpose is
        Aᵀ + Bᵀ (⟨w, (A + B)v⟩ = ⟨Aᵀw, v⟩ + ⟨Bᵀw, v⟩)."""
        if not isinstance(other, LinearMap):
            return NotImplemented
        if not (other.in_space.same_shapes(self.in_space)
                and other.out_space.same_shapes(self.out_space)
                and other._nargs == self._nargs):
            raise ValueError(f"cannot add {self!r} and {other!r}: a sum of linear maps needs "
                             f"the same input space and the same output space")
        return LinearMap(lambda v: self.out_space.add(self._apply(v), other._apply(v)),
                         lambda w: self.in_space.add(self._transpose(w), other._transpose(w)),
                         self.in_space, self.out_space,
                         name=f"({self.name} + {other.name})", nargs=self._nargs)

    def __sub__(self, other):
        """``A - B``: A + (−1)B."""
        if not isinstance(other, LinearMap):
            return NotImplemented
        difference = self + (-other)
        difference.name = f"({self.name} - {other.name})"
        return difference

    def __neg__(self):
        """``-A``: (−1)A."""
        return self._scaled(-1, f"-{self.name}")

    def __mul__(self, a):
        """``a * A`` (or ``A * a``) for a scalar a: v ↦ a A(v), whose transpose is a Aᵀ
        (the pairing is bilinear, so a is not conjugated). A complex a needs complex
        spaces on both sides. ``A * v`` for an array v is refused: apply the map with
        ``A(v)`` or ``A @ v``."""
        if isinstance(a, LinearMap) or shape_of(a) != ():
            raise TypeError(f"{self.name} * {type(a).__name__}: a LinearMap is multiplied by "
                            f"scalars only; apply it with A(v) or A @ v, and compose maps "
                            f"with A @ B")
        return self._scaled(a, f"{_scalar_text(a)} {self.name}")

    __rmul__ = __mul__

    def __truediv__(self, a):
        """``A / a`` for a scalar a: (1/a) A."""
        return self * (1 / a)

    def _scaled(self, a, name):
        if dtype_of(a).kind == "c" and not all(
                leaf.dtype.kind == "c" for leaf in self.in_space.leaves + self.out_space.leaves):
            raise TypeError(f"{self.name} times a complex scalar: the map is between real "
                            f"spaces (or from real to complex ones), where a complex multiple "
                            f"would leave them; scale by a real number")
        return LinearMap(lambda v: self.out_space.scalar_mul(self._apply(v), a),
                         lambda w: self.in_space.scalar_mul(self._transpose(w), a),
                         self.in_space, self.out_space, name=name, nargs=self._nargs)

    def matrix(self) -> Any:
        """The generalized Jacobian: for V and W single arrays, shape ``w.shape + v.shape``.

        Built in one batched pass over the basis of the smaller space (the map on
        V's basis, or its transpose on W's); meant for small maps.
        """
        if self.in_space.entries <= self.out_space.entries:
            blocks, _ = jacobian_blocks(
                lambda *v: self._apply(tree_unflatten(self.in_space.tree, v)),
                self.in_space.leaves, forward=True)
        else:
            blocks, _ = jacobian_blocks(
                lambda *w: self._transpose(tree_unflatten(self.out_space.tree, w)),
                self.out_space.leaves, forward=False)
        return _assemble(blocks, self.out_space.tree, self.in_space.tree, single=False)

    # ---- scipy.sparse.linalg reads a LinearMap as a LinearOperator (cg, gmres, eigsh, lsqr):
    # both spaces flattened to vectors, leaf after leaf

    @property
    def shape(self):
        """``(dim W, dim V)``: the shape of the map as a matrix on flattened vectors."""
        return (self.out_space.entries, self.in_space.entries)

    @property
    def dtype(self):
        """The dtype of the map as a matrix (complex if either space is)."""
        return np.result_type(*(leaf.dtype for leaf in self.in_space.leaves + self.out_space.leaves))

    def matvec(self, v: Any) -> Any:
        """A v for a flat vector v of V (a column (n, 1) too): the flat vector of W."""
        return _to_vector(self._apply(_from_vector(self.in_space, v)), np.shape(v))

    def rmatvec(self, w: Any) -> Any:
        """Aᴴ w = conj(Aᵀ conj(w)), the adjoint on flat vectors (the transpose for real maps)."""
        w = np.asarray(w)
        conj = w.dtype.kind == "c" or self.dtype.kind == "c"
        out = self._transpose(_from_vector(self.out_space, np.conj(w) if conj else w))
        out = _to_vector(out, w.shape)
        return np.conj(out) if conj else out

    def __repr__(self):
        return f"{self.name}: {self.in_space} -> {self.out_space}"


def _scalar_text(a):
    """``2.0`` for a plain number, ``a`` for a traced one or an array."""
    return repr(a) if isinstance(a, (bool, int, float, complex)) else "a"


def _from_vector(space, vector):
    """The pytree of ``space`` whose leaves, raveled and concatenated, are ``vector``."""
    vector = np.ravel(vector)
    if vector.size != space.entries:
        raise ValueError(f"a vector of size {vector.size} for a space of {space.entries} "
                         f"entries ({space})")
    ends = np.cumsum([math.prod(leaf.shape) for leaf in space.leaves]).tolist()
    leaves = [np.reshape(vector[start:end], leaf.shape).astype(leaf.dtype, copy=False)
              for start, end, leaf in zip([0] + ends[:-1], ends, space.leaves)]
    return tree_unflatten(space.tree, leaves)


def _to_vector(tree, like_shape):
    """The leaves of ``tree`` raveled and concatenated, as a column if ``like_shape`` is one."""
    vector = np.concatenate([np.ravel(leaf) for leaf in tree_flatten(tree)[0]])
    return vector.reshape(-1, 1) if len(like_shape) == 2 else vector


def linearize(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``(f(*primals), df)`` with ``df`` the :class:`LinearMap` ∂f(primals); with
    ``has_aux=True`` f returns a pair ``(output, aux)`` and linearize returns
    ``(output, df, aux)``, ``aux`` not differentiated (as JAX's ``linearize``).

    ``df(*tangents)`` equals ``jvp(f, primals, tangents)[1]``, ``df.T(ct)`` equals
    ``vjp(f, *primals)[1](ct)`` (for one primal without the 1-tuple), and f is
    evaluated once, here.

    >>> import numpy as np, riesz
    >>> y, df = riesz.linearize(np.sin, np.array([0.0, np.pi]))
    >>> df
    ∂sin: f64[2] -> f64[2]
    >>> df(np.ones(2))              # ∂sin(x)(ẋ) = cos(x) ⊙ ẋ, and its transpose is the same
    array([ 1., -1.])
    >>> df.T(np.ones(2))
    array([ 1., -1.])
    """
    rec = Recording(f, primals, has_aux=has_aux)
    single = len(primals) == 1
    in_space = Space(tree_flatten(primals[0])[1] if single else rec.in_tree, rec.flat)
    out_space = Space(rec.out_tree, [v for v, _ in rec.lowered])

    def apply(v):
        tangents = [_tangent_like(t, x, k)
                    for k, (t, x) in enumerate(zip(tree_flatten(v)[0], rec.flat))]
        outs = _tape_jvp(rec.trace, rec.in_slots, tangents,
                         [slot for _, slot in rec.lowered])
        # results that share no memory with each other or with the caller's tangents (an
        # identity hands a tangent back)
        return tree_unflatten(rec.out_tree, _unshared(
            [_like(t, y) for t, (y, _) in zip(outs, rec.lowered)], held=tangents))

    def transpose(w):
        cts = rec.pullback(w)
        return cts[0] if single else cts

    name = f"∂{getattr(f, '__name__', 'f')}"
    df = LinearMap(apply, transpose, in_space, out_space, name=name,
                   nargs=None if single else len(primals))
    return (rec.out, df, rec.aux) if has_aux else (rec.out, df)


def linear_transpose(f: Callable[..., Any], *primals: Any) -> "LinearMap":
    """The transpose fᵀ of a linear ``f``, as a :class:`LinearMap` (``primals`` give the
    input's shapes and dtypes; their values do not matter for a linear f). A primal may be
    an array or a shape-and-dtype spec, JAX's ``ShapeDtypeStruct`` or any object with
    ``.shape`` and ``.dtype`` that is not an array, which stands for zeros. For one
    primal ``fᵀ(ct)`` returns one cotangent, for several a tuple of them.

    Linearity is not checked (that would take values): for an ``f`` that is not linear
    this is the transpose of its derivative at ``primals``, ∂f(x)ᵀ, the ``.T`` of
    :func:`linearize`'s map (JAX raises there)."""
    examples = tree_map(lambda x: np.zeros(x.shape, x.dtype) if _is_spec(x) else x, primals)
    return linearize(f, *examples)[1].T


def _is_spec(x):
    """Whether ``x`` describes an array by its shape and dtype without being one (JAX's
    ShapeDtypeStruct), decided by its type: it has no ``__array__`` or array namespace."""
    t = type(x)
    return (hasattr(t, "shape") or hasattr(x, "shape")) and hasattr(x, "dtype") and not (
        hasattr(t, "__array__") or hasattr(t, "__array_namespace__") or isinstance(x, Tracer))


# set by riesz.debug while riesz.config.debug_nans is on: check_tangent(node, tangent) raises
# naming the node's primitive and line where the tangent holds a NaN (None: no checks)
check_tangent = None


def _tape_jvp(trace, in_slots, in_tangents, out_slots):
    """∂f(x)(ẋ) by walking a recorded tape forward with the primitives' JVP rules, from
    the values stored on it (f is not evaluated again). ``None`` marks a zero tangent."""
    check = check_tangent
    tape = trace.tape
    tans = [None] * len(tape)
    for slot, t in zip(in_slots, in_tangents):
        tans[slot] = t
    add = JVPTrace.add
    for slot, node in enumerate(tape):
        if node is None or type(node) is int:
            continue
        moved = [(argnum, tans[parent]) for argnum, parent in node.parents
                 if tans[parent] is not None]
        if not moved:
            continue
        prim = node.prim
        if prim.jvps:
            out = None
            for argnum, t in moved:
                rule = prim.rule("forward", argnum)
                if rule is ZERO:
                    continue
                d = rule(t, node.ans, *node.args, **node.params)
                out = d if out is None else (
                    tuple(_add_or_keep(add, a, b) for a, b in zip(out, d))
                    if prim.multiple_results else add(out, d))
        else:
            # a custom rule recorded with its reverse mode only: differentiate its
            # implementation (what forward mode does for custom_vjp functions)
            given = dict(moved)
            tangents = tuple(given[i] if i in given else _like(None, a)
                             for i, a in enumerate(node.args))
            out = jvp(prim.impl, tuple(node.args), tangents)[1]
        if check is not None:
            check(node, out)
        if prim.multiple_results:
            tans[slot + 1: slot + 1 + len(out)] = list(out)
        else:
            tans[slot] = out
    return [None if slot is None else tans[slot] for slot in out_slots]


def _add_or_keep(add, a, b):
    return b if a is None else a if b is None else add(a, b)
