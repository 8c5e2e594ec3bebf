"""Batching rules: how each primitive acts on a whole batch of examples at once.

This is the table :func:`riesz.vmap` (and with it ``jacobian``, ``hessian`` and
``LinearMap.matrix``) reads, keyed by primitive name. In a rule, a *batched*
argument carries the examples along a new leading axis 0; an unbatched one is
shared by every example. A rule is called as

    rule(prim, vals, batched, size, **params) -> the output, batched along axis 0

with ``vals`` the arguments (batched ones with their leading axis), ``batched``
one flag per argument and ``size`` the number of examples. Rules call
primitives, so a batch of tracers of a lower level keeps being differentiated.

Adding a primitive: one marked ``elementwise`` (or ``broadcasting``) in its
``defprim`` needs nothing here, :func:`batch_elementwise` handles it. Any other
primitive should get an entry in :data:`BATCH_RULES`; without one, vmap stays
correct but maps the primitive over the examples one at a time
(:func:`batch_by_loop`, a Python loop), so Jacobians and Hessians that use it
become slow.
"""
import math
import string

import numpy as np

from ..numpy.dispatch import BATCHED_CONSTANTS, ConstantPrimitive, runs_on_batches
from .define import ELEMENTWISE, shape_of, dtype_of
from .elementwise import multiply, where
from .indexing import getitem, scatter_add, selection_shape
from .linalg import matmul
from .reductions import norm_squares, sum_p
from .shape import reshape, transpose, broadcast_to

__all__ = ["BATCH_RULES", "rule_for", "batch_elementwise", "batch_by_loop", "ScaledBasis",
           "BASIS_RULES", "densify"]


def _expand_after_batch(v, rank):
    """A batched value with singleton axes inserted after the batch axis, so that each
    example has ``rank`` axes: NumPy's broadcasting then lines examples up axis by axis."""
    shape = shape_of(v)
    missing = rank - (len(shape) - 1)
    if missing <= 0:
        return v
    return reshape(v, shape=shape[:1] + (1,) * missing + shape[1:])


def batch_elementwise(prim, vals, batched, size, **params):
    """An elementwise primitive applied to the batch in one call: the batch axis is in
    front and every example is brought to the output's rank, so the examples broadcast
    against each other and against the shared arguments exactly as one example does."""
    rank = max(len(shape_of(v)) - b for v, b in zip(vals, batched))
    return prim(*[_expand_after_batch(v, rank) if b else v for v, b in zip(vals, batched)],
                **params)


def batch_by_loop(prim, vals, batched, size, **params):
    """The fallback for a primitive with no batching rule: one call per example, stacked.
    Correct for any primitive, but a Python loop over the batch."""
    outs = [prim(*[v[k] if b else v for v, b in zip(vals, batched)], **params)
            for k in range(size)]
    if prim.multiple_results:
        return tuple(np.stack(list(parts)) for parts in zip(*outs))
    return np.stack(outs)


def _reduction(prim, vals, batched, size, axis, keepdims):
    # reducing an example's axis a is reducing the batch's axis a + 1
    (x,) = vals
    return prim(x, axis=tuple(a + 1 for a in axis), keepdims=keepdims)


def _scan(prim, vals, batched, size, axis):
    # a scan along an example's axis a is one along the batch's a + 1
    return prim(vals[0], axis=axis + 1)


def _squared_norm(prim, vals, batched, size):
    # one ‖x‖² per example: the sum of |x|² over the example's axes (rounded as a sum, not
    # as one dot product per example)
    (x,) = vals
    return sum_p(norm_squares(x), axis=tuple(range(1, len(shape_of(x)))), keepdims=False)


def _along_axes(prim, vals, batched, size, axis):
    # a normalization along an example's axis a (softmax) is one along the batch's a + 1
    return prim(vals[0], axis=tuple(a + 1 for a in axis))


def _reshape(prim, vals, batched, size, shape):
    return reshape(vals[0], shape=(size,) + tuple(shape))


def _transpose(prim, vals, batched, size, axes):
    return transpose(vals[0], axes=(0,) + tuple(a + 1 for a in axes))


def _broadcast_to(prim, vals, batched, size, shape):
    return broadcast_to(_expand_after_batch(vals[0], len(shape)), shape=(size,) + tuple(shape))


def _is_advanced(item):
    return not (item is None or item is Ellipsis or isinstance(item, slice))


def _batch_index(idx):
    """The index of one example as an index of the batch (a full slice in front), or None
    when NumPy would place the advanced-index axes differently for the two: advanced
    indices (arrays, and integers next to them) that are not side by side put their axes
    first, ahead of the batch axis."""
    items = idx if isinstance(idx, tuple) else (idx,)
    if any(_is_advanced(i) and not isinstance(i, (int, np.integer)) for i in items):
        advanced = [k for k, item in enumerate(items) if _is_advanced(item)]
        if advanced[-1] - advanced[0] + 1 != len(advanced):
            return None
    return (slice(None),) + items


def _getitem(prim, vals, batched, size, idx):
    batch_idx = _batch_index(idx)
    if batch_idx is None:
        return batch_by_loop(prim, vals, batched, size, idx=idx)
    return getitem(vals[0], idx=batch_idx)


def _scatter_add(prim, vals, batched, size, idx, shape):
    # g is placed (added) at idx of zeros of each example's shape
    batch_idx = _batch_index(idx)
    if batch_idx is None:
        return batch_by_loop(prim, vals, batched, size, idx=idx, shape=shape)
    region = selection_shape(shape, idx)
    g = _expand_after_batch(vals[0], len(region))
    return scatter_add(g, idx=batch_idx, shape=(size,) + tuple(shape))


def _matmul(prim, vals, batched, size):
    """Batched ``a @ b``. 1-D operands are promoted to matrices as matmul does (a to a
    row, b to a column) and the added axis dropped at the end. A batch of matrices
    times one shared matrix is folded into a single matrix product."""
    (a, b), (ba, bb) = vals, batched
    ra, rb = len(shape_of(a)) - ba, len(shape_of(b)) - bb
    if ra == 1:
        a = _insert_axis(a, -2)
    if rb == 1:
        b = _insert_axis(b, -1)
    sa, sb = shape_of(a), shape_of(b)
    if ba and not bb and len(sb) == 2:
        # (B, ..., n, k) @ (k, m): one (B⋯n × k) @ (k × m) product
        rows = int(np.prod(sa[:-1]))
        out = reshape(matmul(reshape(a, shape=(rows, sa[-1])), b), shape=sa[:-1] + sb[-1:])
    elif bb and not ba and len(sa) == 2 and len(sb) == 3:
        # (n, k) @ (B, k, m): transposed, (B m × k) @ (k × n), one product; for a
        # column (m = 1, a matrix times a batch of vectors) every reshape is a view
        (n, k), (_, _, m) = sa, sb
        rows = reshape(transpose(b, axes=(0, 2, 1)), shape=(size * m, k))
        out_t = reshape(matmul(rows, transpose(a, axes=(1, 0))), shape=(size, m, n))
        out = transpose(out_t, axes=(0, 2, 1))
    else:
        rank = max(len(sa) - ba, len(sb) - bb)
        a = _expand_after_batch(a, rank) if ba else a
        b = _expand_after_batch(b, rank) if bb else b
        out = matmul(a, b)
    out_shape = list(shape_of(out))
    if rb == 1:
        out_shape.pop(-1)                       # the column b was promoted to
    if ra == 1:
        out_shape.pop(-1 if rb == 1 else -2)    # the row a was promoted to
    return reshape(out, shape=tuple(out_shape)) if len(out_shape) != len(shape_of(out)) else out


def _roll(prim, vals, batched, size, shift, axis):
    # rolling an example's axis a is rolling the batch's axis a + 1
    return prim(vals[0], shift=shift, axis=tuple(a + 1 for a in axis))


def _insert_axis(x, where):
    shape = shape_of(x)
    where = where % (len(shape) + 1)
    return reshape(x, shape=shape[:where] + (1,) + shape[where:])


def _along_one_axis(default_axis):
    """The batching rule of argmax, argmin (``default_axis`` None) or argsort (-1), functions
    without a derivative: along an example's axis a is along the batch's a + 1, over each
    example flattened (axis None) along the batch's flattened examples. An axis given by
    position, or kept dimensions, go one example at a time."""
    def rule(prim, vals, batched, size, **params):
        if len(vals) != 1 or params.get("keepdims"):
            return batch_by_loop(prim, vals, batched, size, **params)
        (x,) = vals
        shape = shape_of(x)
        axis = params.pop("axis", default_axis)
        if axis is None:
            return prim(reshape(x, shape=(size, math.prod(shape[1:]))), axis=1, **params)
        return prim(x, axis=int(axis) % (len(shape) - 1) + 1, **params)
    return rule


for _f in (np.argmax, np.argmin, np.nanargmax, np.nanargmin):
    BATCHED_CONSTANTS[_f] = _along_one_axis(None)
BATCHED_CONSTANTS[np.argsort] = _along_one_axis(-1)


BATCH_RULES = {
    "sum": _reduction,
    "amax": _reduction,
    "amin": _reduction,
    "prod": _reduction,
    "cumprod": _scan,
    "squared_norm": _squared_norm,
    "logsumexp": _reduction,
    "log_softmax": _along_axes,
    "softmax": _along_axes,
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_to": _broadcast_to,
    "getitem": _getitem,
    "scatter_add": _scatter_add,
    "matmul": _matmul,
    "roll": _roll,
}


# ------------------------------------------------------------ assembly, einsum, numpy.linalg,
# numpy.fft (issue 3); index_update maps by the loop

def _concatenate(prim, vals, batched, size, axis, offsets):
    # joining examples along axis a is joining the batch along a + 1 (shared pieces copied)
    return prim(*[v if b else broadcast_to(v, shape=(size,) + shape_of(v))
                  for v, b in zip(vals, batched)], axis=axis + 1, offsets=offsets)


def _einsum(prim, vals, batched, size, subscripts):
    # a fresh label for the batch axis, on the batched operands and on the output
    ins, out = subscripts
    label = next(c for c in string.ascii_letters if c not in "".join(ins) + out)
    return prim(*vals, subscripts=(tuple(label + s if b else s for s, b in zip(ins, batched)),
                                   label + out))


def _matrix_stack(prim, vals, batched, size, **params):
    """numpy.linalg's functions act on stacks (..., m, n) and broadcast the stacks of their
    arguments, so the batch is one more stack axis in front: the same alignment as an
    elementwise primitive's."""
    return batch_elementwise(prim, vals, batched, size, **params)


def _fft_axes(prim, vals, batched, size, **params):
    # transforming an example's axis a is transforming the batch's axis a + 1
    if "axes" in params:
        params["axes"] = tuple(a + 1 for a in params["axes"])
    else:
        params["axis"] += 1
    return prim(vals[0], **params)


BATCH_RULES.update({"concatenate": _concatenate, "einsum": _einsum})
BATCH_RULES.update({name: _matrix_stack for name in (
    "inv", "solve", "det", "slogdet", "cholesky", "qr", "eigh", "eigvalsh", "svd", "pinv")})
BATCH_RULES.update({name: _fft_axes for name in (
    "fftn", "rfft", "rfft_transpose", "irfft", "irfft_transpose")})


# ------------------------------------------------------------ a scaled standard basis (issue 12)

class ScaledBasis:
    """A batch of N = size(v) examples of ``v``'s shape S whose k-th example is
    v.flat[k] eₖ, held as ``v`` alone: the standard basis that ``jacobian``, ``jacfwd``,
    ``jacrev`` and ``hessian`` push (v = ones) stays this diagonal through the products
    that scale it, instead of an (N,) + S array of zeros whose product with a matrix costs
    N³. A batch value of this type goes to :data:`BASIS_RULES`; a primitive without an
    entry there (or whose entry declines) sees it densified (:func:`densify`)."""
    __slots__ = ("v", "shape", "dtype")

    def __init__(self, v):
        self.v = v
        shape = shape_of(v)
        self.shape = (math.prod(shape),) + shape
        self.dtype = dtype_of(v)


def densify(val):
    """A batch value as an array: a :class:`ScaledBasis` as the (N,) + S array with
    v.flat[k] at entry k of example k and exact zeros elsewhere; any other value as it is."""
    if type(val) is not ScaledBasis:
        return val
    n = val.shape[0]
    if type(val.v) is np.ndarray:   # as riesz.transforms._standard_basis builds the identity
        dense = np.zeros((n, n), val.dtype)
        dense.flat[::n + 1] = val.v.ravel()
        return dense.reshape(val.shape)
    # a traced v (a Hessian's inner basis scaled by the outer level's values): v where the
    # identity is, exact zeros elsewhere (no 0 × v that could make a NaN off the diagonal)
    dense = where(np.eye(n, dtype=bool), reshape(val.v, shape=(n,)), np.zeros((), val.dtype))
    return reshape(dense, shape=val.shape)


def _fits_within(shape, target):
    # broadcasting ``shape`` against ``target`` leaves ``target`` as it is
    return len(shape) <= len(target) and all(
        a in (1, b) for a, b in zip(reversed(shape), reversed(target)))


def _basis_product(prim, vals, batched, size):
    """diag(v) ⊙ d = diag(v ⊙ d), and d ⊙ diag(v) = diag(d ⊙ v), for a shared d that
    broadcasts to S without enlarging it; the product ``prim`` (plain or zero-safe) is the
    dense one's on the diagonal. Off the diagonal the dense batch holds 0 ⊙ d: 0 for the
    zero-safe product, and for the plain one 0 too unless d is ±∞ or NaN there (NaN):
    the structured batch keeps those zeros, riesz's 0 × ∞ = 0."""
    (x, y), (bx, by) = vals, batched
    if bx and by:
        return None
    basis, d = (x, y) if bx else (y, x)
    if not _fits_within(shape_of(d), basis.shape[1:]):
        return None
    return ScaledBasis(prim(basis.v, d) if bx else prim(d, basis.v))


def _basis_divide(prim, vals, batched, size):
    # diag(v) / d = diag(v / d) for a shared d (off the diagonal 0 / d, as in the product)
    if not batched[0] or batched[1]:
        return None
    return _basis_product(prim, vals, batched, size)


def _basis_unary(prim, vals, batched, size):
    # a linear elementwise map f with f(0) = 0 (−x, Re x, Im x, x̄): f(diag(v)) = diag(f(v))
    return ScaledBasis(prim(vals[0].v))


def _basis_matmul(prim, vals, batched, size):
    """diag(v) @ B and B @ diag(v) for a shared B (a matrix or a vector), the basis a
    vector (S = (n,), a row (1, n) on the left or a column (n, 1) on the right, as
    matmul's rules promote vectors): (v_k e_k) @ B = v_k B[k], the rows of B scaled, a
    dense batch v[:, None] ⊙ B; B @ (v_k e_k) = v_k B[:, k], the columns, a dense batch
    (B ⊙ v)ᵀ; for a vector b both are v ⊙ b; a column times a 1 × 1 matrix b (or b times a
    row) is the basis of v b. O(n m), where the dense product is O(n² m);
    where B holds ±∞ or NaN the dense product's 0 × ∞ off the diagonal is NaN, here 0."""
    (a, b), (ba, bb) = vals, batched
    if ba and bb:
        return None
    basis, other = (a, b) if ba else (b, a)
    n, s, so = basis.shape[0], basis.shape[1:], shape_of(other)
    if so == (1, 1) and s == ((n, 1) if ba else (1, n)):
        # a column times, or a 1 × 1 matrix times a row, scales each example: a basis still
        return ScaledBasis(matmul(basis.v, other) if ba else matmul(other, basis.v))
    if s not in ((n,), (1, n) if ba else (n, 1)) or len(so) not in (1, 2) \
            or so[0 if ba else -1] != n:
        return None   # (shapes that do not contract raise in the dense rule, as in NumPy)
    v = reshape(basis.v, shape=(n,))
    if ba:
        out = multiply(reshape(v, shape=(n, 1)), other) if len(so) == 2 else multiply(v, other)
        out_shape = (n,) + s[:-1] + so[1:]
    else:
        out = transpose(multiply(other, v), axes=(1, 0)) if len(so) == 2 else multiply(other, v)
        out_shape = (n,) + so[:-1] + s[1:]
    return out if shape_of(out) == out_shape else reshape(out, shape=out_shape)


def _basis_transpose(prim, vals, batched, size, axes):
    # a permutation that moves only axes of length 1 keeps the flat order: example k is
    # still v.flat[k] eₖ
    basis = vals[0]
    moved = [a for a in axes if basis.shape[1 + a] != 1]
    if moved != sorted(moved):
        return None
    return ScaledBasis(transpose(basis.v, axes=tuple(axes)))


def _basis_sum(prim, vals, batched, size, axis, keepdims):
    # Σ over all of S of v_k e_k is v_k: the dense batch v.ravel()
    basis = vals[0]
    rank = len(basis.shape) - 1
    if sorted(a % rank for a in axis) != list(range(rank)):
        return None
    return reshape(basis.v, shape=(basis.shape[0],) + (1,) * rank * keepdims)


def _basis_reshape(prim, vals, batched, size, shape):
    # a reshape keeps the flat (C) order, so example k is still v.flat[k] eₖ
    return ScaledBasis(reshape(vals[0].v, shape=tuple(shape)))


BASIS_RULES = {
    "multiply": _basis_product,
    "zero_safe_multiply": _basis_product,
    "divide": _basis_divide,
    "negative": _basis_unary,
    "real": _basis_unary,
    "imag": _basis_unary,
    "conjugate": _basis_unary,
    "matmul": _basis_matmul,
    "sum": _basis_sum,
    "reshape": _basis_reshape,
    "transpose": _basis_transpose,
}


def rule_for(prim):
    """The batching rule of ``prim``: its table entry, the elementwise rule, or the loop."""
    if type(prim) is ConstantPrimitive:   # (named after its function, as a primitive may be)
        rule = BATCHED_CONSTANTS.get(prim.impl)
        return rule or (batch_elementwise if runs_on_batches(prim.impl) else batch_by_loop)
    rule = BATCH_RULES.get(prim.name)
    if rule is not None:
        return rule
    return batch_elementwise if prim.name in ELEMENTWISE else batch_by_loop
