"""Products of arrays and ``numpy.linalg``: each primitive with its JVP and VJP rules.

Primitives: matmul, einsum, inv, solve, det, slogdet, cholesky, qr, eigh, eigvalsh, eig,
svd, pinv (the singular values alone are reductions.singular_values). The other functions (dot, vdot, inner, outer, kron, cross, tensordot, lstsq,
matrix_power, multi_dot, tensorsolve) are compositions of primitives. Rules are written
with riesz's own operations, so they differentiate again for higher orders. Matrices may
carry leading batch axes (..., m, n) wherever NumPy accepts them.

Where a derivative does not exist (repeated eigenvalues or singular values, zero singular
values with a non-square matrix, singular matrices) the rules say so: a RuntimeWarning
naming the function and the convention used, or a LinAlgError naming it.
"""
import functools
import string
import warnings

import numpy as np

from ..backend import asarray_like, is_numpy, values_under
from ..core import Tracer, VJPTrace, VJPTracer, full_lower, lower_to_values
from ..numpy.compat import SOLVE_READS_VECTORS_BY_NDIM, numpy_name
from ..numpy.dispatch import constant_function, implements
from .define import as_dtype, defprim, defvariadic, dtype_of, shape_of, unbroadcast
from .elementwise import conjugate, imag, multiply, real, where
from .indexing import scatter_add
from .reductions import singular_values, singular_values_for, sum_p
from .shape import broadcast_to, matrix_transpose, moveaxis, ravel, reshape, transpose


def _mT(x):
    nd = len(shape_of(x))
    return transpose(x, axes=tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _matmul_vjp(g, a, b, argnum):
    # With 1-D operands promoted to matrices (a: 1×k, b: k×1) and g shaped to match,
    # ∂(a @ b)ᵀ g = (g @ bᵀ, aᵀ @ g), summed over broadcast batch axes.
    sa, sb = shape_of(a), shape_of(b)
    if len(sa) == 2 and len(sb) == 2:   # two matrices, the commonest case: nothing to promote
        other = b if argnum == 0 else a
        if type(g) is np.ndarray and type(other) is np.ndarray:
            # nothing traced: NumPy's product of a transposed view (no copy), without the
            # call layers of two primitives (3 µs a rule)
            return np.matmul(g, other.T) if argnum == 0 else np.matmul(other.T, g)
        return matmul(g, transpose(b, axes=(1, 0))) if argnum == 0 else matmul(
            transpose(a, axes=(1, 0)), g)
    a2 = reshape(a, shape=(1,) + sa) if len(sa) == 1 else a
    b2 = reshape(b, shape=sb + (1,)) if len(sb) == 1 else b
    gs = shape_of(g)
    if len(sa) == 1:
        gs = gs[:len(gs) - (len(sb) > 1)] + (1,) + gs[len(gs) - (len(sb) > 1):]
    if len(sb) == 1:
        gs = gs + (1,)
    g2 = reshape(g, shape=gs) if gs != shape_of(g) else g
    if argnum == 0:
        ct = unbroadcast(matmul(g2, _mT(b2)), shape_of(a2))
        return reshape(ct, shape=sa) if len(sa) == 1 else ct
    ct = unbroadcast(matmul(_mT(a2), g2), shape_of(b2))
    return reshape(ct, shape=sb) if len(sb) == 1 else ct


# ∂(a @ b)(ȧ, ḃ) = ȧ @ b + a @ ḃ; transpose: g ↦ (g @ bᵀ, aᵀ @ g)
matmul = defprim("matmul", np.matmul,
                 jvp=[lambda t, ans, a, b: matmul(t, b), lambda t, ans, a, b: matmul(a, t)],
                 vjp=[lambda g, ans, a, b: _matmul_vjp(g, a, b, 0),
                      lambda g, ans, a, b: _matmul_vjp(g, a, b, 1)], reads=["b", "a"])


@implements(np.matmul)
def matmul_(a, b, **kwargs):
    if kwargs:
        raise TypeError(f"numpy.matmul: keyword arguments {sorted(kwargs)} are not supported "
                        f"on traced values")
    if not shape_of(a) or not shape_of(b):
        raise ValueError("matmul: input operand does not have enough dimensions (use * for scalars)")
    return matmul(a, b)


@implements(np.tensordot)
def tensordot(a, b, axes=2):
    """Contract ``axes`` of ``a`` with ``axes`` of ``b``: moved together and reshaped
    into one matrix product."""
    na, nb = len(shape_of(a)), len(shape_of(b))
    if np.ndim(axes) == 0:
        axes_a, axes_b = list(range(na - axes, na)), list(range(axes))
    else:
        axes_a, axes_b = ([int(i) for i in np.atleast_1d(ax)] for ax in axes)
    axes_a = [i % na for i in axes_a]
    axes_b = [i % nb for i in axes_b]
    free_a = [i for i in range(na) if i not in axes_a]
    free_b = [i for i in range(nb) if i not in axes_b]
    sa, sb = shape_of(a), shape_of(b)
    m, k, n = (int(np.prod(s)) for s in ([sa[i] for i in free_a], [sa[i] for i in axes_a],
                                          [sb[i] for i in free_b]))
    a2 = reshape(transpose(a, axes=tuple(free_a + axes_a)), shape=(m, k))
    b2 = reshape(transpose(b, axes=tuple(axes_b + free_b)), shape=(k, n))
    return reshape(matmul(a2, b2), shape=tuple(sa[i] for i in free_a) + tuple(sb[i] for i in free_b))


def _strong(x):
    """``x`` with a Python number made an array: np.dot and np.inner convert their
    arguments, so np.dot(float32 array, 2.0) is float64 (no NEP 50 weak scalar)."""
    return np.asarray(x) if type(x) in (bool, int, float, complex) else x


@implements(np.dot)
def dot(a, b, out=None):
    if out is not None:
        raise TypeError("numpy.dot(..., out=...) is not supported on traced values")
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return multiply(_strong(a), _strong(b))
    if na <= 2 and nb <= 2:
        return matmul(a, b)   # NumPy's dot of matrices and vectors is BLAS's product too
    return dot_nd(a, b)


def _dot_nd_vjp_a(g, ans, a, b):
    # ā[i…, k] = Σ_{j…, n} g[i…, j…, n] b[j…, k, n] (for 1-D b: g[i…] b[k])
    na, nb = len(shape_of(a)), len(shape_of(b))
    if nb == 1:
        return tensordot(g, b, axes=0)
    return tensordot(g, b, axes=(list(range(na - 1, na - 1 + nb - 1)),
                                 list(range(nb - 2)) + [nb - 1]))


def _dot_nd_vjp_b(g, ans, a, b):
    # b̄[j…, k, n] = Σ_{i…} a[i…, k] g[i…, j…, n]: contracted with k first, then moved to its place
    na, nb = len(shape_of(a)), len(shape_of(b))
    contracted = tensordot(a, g, axes=(list(range(na - 1)), list(range(na - 1))))
    return contracted if nb == 1 else moveaxis(contracted, 0, nb - 2)


# np.dot of arrays with more than two dimensions: NumPy's own loop of dot products (its value
# to the last bit; a matrix product rounds differently). Bilinear: ∂ = dot(ȧ, b) + dot(a, ḃ),
# the transposes are contractions of g with the other argument
dot_nd = defprim("dot_nd", np.dot,
                 jvp=[lambda t, ans, a, b: dot_nd(t, b), lambda t, ans, a, b: dot_nd(a, t)],
                 vjp=[_dot_nd_vjp_a, _dot_nd_vjp_b])


# ------------------------------------------------------------ products built from matmul

@implements(np.vdot)
def vdot(a, b):
    """Σ conj(aᵢ) bᵢ over the flattened arrays."""
    if dtype_of(a).kind == "c":
        a = np.conjugate(a)
    return matmul(ravel(a), ravel(b))


@implements(np.inner)
def inner(a, b):
    """Σ over the last axes of both: tensordot(a, b, (-1, -1))."""
    if not shape_of(a) or not shape_of(b):
        return multiply(_strong(a), _strong(b))
    return tensordot(a, b, axes=([-1], [-1]))


@implements(np.outer)
def outer(a, b, out=None):
    """aᵢ bⱼ of the flattened arrays (a broadcast product)."""
    if out is not None:
        raise TypeError("numpy.outer(..., out=...) is not supported on traced values")
    a, b = ravel(a), ravel(b)
    return reshape(a, shape=shape_of(a) + (1,)) * reshape(b, shape=(1,) + shape_of(b))


@implements(np.kron)
def kron(a, b):
    """The Kronecker product: a broadcast product of a with axes (a₀, 1, a₁, 1, ...) and b with
    (1, b₀, 1, b₁, ...), merged pairwise."""
    sa, sb = shape_of(a), shape_of(b)
    nd = max(len(sa), len(sb))
    sa, sb = (1,) * (nd - len(sa)) + sa, (1,) * (nd - len(sb)) + sb
    prod = (reshape(a, shape=tuple(x for n in sa for x in (n, 1)))
            * reshape(b, shape=tuple(x for n in sb for x in (1, n))))
    return reshape(prod, shape=tuple(p * q for p, q in zip(sa, sb)))


@implements(np.cross)
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 2- or 3-vectors along the given axes (bilinear: products and
    differences of the components)."""
    from ..numpy.creation import stack
    from .shape import broadcast_arrays
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    na, nb = shape_of(a)[-1], shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product\n(dimension must be 2 or 3)")
    a0, a1, b0, b1 = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    z = a0 * b1 - a1 * b0
    if na == 2 and nb == 2:
        return z
    a2 = a[..., 2] if na == 3 else 0.0
    b2 = b[..., 2] if nb == 3 else 0.0
    parts = broadcast_arrays(a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, z)
    return moveaxis(stack(parts, axis=-1), -1, axisc)


# ------------------------------------------------------------ einsum

_LABELS = string.ascii_letters


def _einsum_impl(*operands, subscripts):
    ins, out = subscripts
    return np.einsum(",".join(ins) + "->" + out, *operands, optimize=len(operands) > 2)


def _einsum_jvp(i, t, ans, *operands, subscripts):
    # einsum is linear in each operand: ∂ᵢ = the same einsum with ẋᵢ in place of xᵢ
    ops = list(operands)
    ops[i] = t
    return einsum_p(*ops, subscripts=subscripts)


def _einsum_vjp(i, g, ans, *operands, subscripts):
    """The transpose for operand i: contract g (labels ``out``) with the other operands onto
    operand i's labels. Labels of operand i found nowhere else were summed over inside it,
    so the cotangent is constant along them (a broadcast); a label repeated in operand i
    (a diagonal) puts the result on that diagonal of zeros."""
    ins, out = subscripts
    sub = ins[i]
    sizes = dict(zip(sub, shape_of(operands[i])))
    others = [j for j in range(len(ins)) if j != i]
    unique = "".join(dict.fromkeys(sub))
    reachable = set(out).union(*(set(ins[j]) for j in others))
    kept = "".join(c for c in unique if c in reachable)
    ct = einsum_p(g, *(operands[j] for j in others),
                  subscripts=((out,) + tuple(ins[j] for j in others), kept))
    if kept != unique:
        ct = reshape(ct, shape=tuple(sizes[c] if c in kept else 1 for c in unique))
        ct = broadcast_to(ct, shape=tuple(sizes[c] for c in unique))
    if unique != sub:
        diagonal = tuple(np.arange(sizes[c]).reshape(
            [-1 if d == unique.index(c) else 1 for d in range(len(unique))]) for c in sub)
        ct = scatter_add(ct, idx=diagonal, shape=shape_of(operands[i]))
    return ct


einsum_p = defvariadic("einsum", _einsum_impl, jvp=_einsum_jvp, vjp=_einsum_vjp)


def _parse_einsum(args):
    """(operand labels, output labels, operands) for either calling form of ``numpy.einsum``,
    with ``...`` replaced by fresh labels (right-aligned, as NumPy broadcasts them) and the
    implicit output (the labels used once, sorted, after the broadcast ones) made explicit."""
    if isinstance(args[0], str):
        spec, operands = args[0].replace(" ", ""), list(args[1:])
        ins, arrow, out = spec.partition("->")
        ins, out = ins.split(","), (out if arrow else None)
    else:   # einsum(op0, sublist0, op1, sublist1, ..., [sublist_out])
        operands = list(args[0:len(args) - len(args) % 2:2])

        def labels(sublist):
            return "".join("..." if s is Ellipsis else _LABELS[int(s)] for s in sublist)
        ins = [labels(s) for s in args[1::2]]
        out = labels(args[-1]) if len(args) % 2 else None
    if len(ins) != len(operands):
        raise ValueError(f"einsum: {len(ins)} subscript groups for {len(operands)} operands")
    used = set("".join(ins) + (out or "")) - set(".")
    fresh = [c for c in _LABELS if c not in used]
    ranks = []
    for sub, op in zip(ins, operands):
        explicit = len(sub.replace("...", ""))
        if "..." not in sub and explicit != len(shape_of(op)):
            raise ValueError(f"einsum: operand has {len(shape_of(op))} dimensions but "
                             f"subscripts {sub!r} name {explicit}")
        ranks.append(len(shape_of(op)) - explicit if "..." in sub else 0)
    n_ell = max(ranks, default=0)
    ell = "".join(fresh[:n_ell])
    ins = [sub.replace("...", ell[n_ell - r:]) for sub, r in zip(ins, ranks)]
    if out is None:
        joined = "".join(ins)
        out = ell + "".join(sorted(c for c in set(joined) - set(ell) if joined.count(c) == 1))
    else:
        out = out.replace("...", ell)
    return ins, out, operands


@implements(np.einsum)
def einsum(*operands, out=None, optimize=False, dtype=None, order="K", casting="safe"):
    """``numpy.einsum`` in both calling forms, with repeated labels (diagonals), ``...`` and
    implicit outputs. Broadcast (size-1) axes are expanded first, so the primitive sees
    labels of one size each; ``optimize`` is ignored (riesz picks the contraction order)."""
    if out is not None or dtype is not None:
        raise TypeError("numpy.einsum(out=..., dtype=...) is not supported on traced values")
    ins, out_labels, ops = _parse_einsum(operands)
    sizes = {}
    for sub, op in zip(ins, ops):
        for c, n in zip(sub, shape_of(op)):
            known = sizes.get(c, 1)
            if known not in (1, n) and n != 1:
                raise ValueError(f"einsum: label {c!r} has sizes {known} and {n}")
            # a size-1 axis broadcasts against any size, 0 included
            sizes[c] = n if known == 1 else known
    ops = [op if shape_of(op) == tuple(sizes[c] for c in sub)
           else broadcast_to(op, shape=tuple(sizes[c] for c in sub)) for sub, op in zip(ins, ops)]
    return einsum_p(*ops, subscripts=(tuple(ins), out_labels))


# ------------------------------------------------------------ numpy.linalg: helpers

@functools.lru_cache(maxsize=64)
def _eye(n, dtype):
    eye = np.eye(n, dtype=dtype)
    eye.flags.writeable = False
    return eye


def _diag_embed(v):
    """(..., k) → (..., k, k) with v on the diagonal."""
    k = shape_of(v)[-1]
    return reshape(v, shape=shape_of(v)[:-1] + (1, k)) * _eye(k, dtype_of(v))


def _diag_part(x):
    """(..., k, k) → (..., k): the diagonal."""
    return sum_p(x * _eye(shape_of(x)[-1], dtype_of(x)), axis=(len(shape_of(x)) - 1,),
                 keepdims=False)


def _col(v):
    """(..., k) → (..., 1, k): v as a row that broadcasts down the columns."""
    return reshape(v, shape=shape_of(v)[:-1] + (1, shape_of(v)[-1]))


@functools.lru_cache(maxsize=64)
def _lower_mask(n, k, dtype):
    mask = np.tril(np.ones((n, n), dtype=dtype), k)
    mask.flags.writeable = False
    return mask


def _symmetric_from(t, uplo):
    """The symmetric matrix NumPy's eigh and cholesky actually read from t: its lower (or
    upper) triangle mirrored, S = tril(t) + tril(t, −1)ᵀ."""
    n = shape_of(t)[-1]
    low = t if uplo == "L" else _mT(t)
    return low * _lower_mask(n, 0, dtype_of(t)) + _mT(low * _lower_mask(n, -1, dtype_of(t)))


def _symmetric_from_transpose(s, uplo):
    """The transpose of :func:`_symmetric_from`: Ā = tril(S̄) + tril(S̄ᵀ, −1) (mirrored for 'U')."""
    n = shape_of(s)[-1]
    low = s * _lower_mask(n, 0, dtype_of(s)) + _mT(s) * _lower_mask(n, -1, dtype_of(s))
    return low if uplo == "L" else _mT(low)


# the primitives whose derivative rules warn, reading values (_gap_inverse), where the
# derivative of their vectors does not exist: a staged program does not warn (riesz.jit),
# so the auto-staged backward pass of grad leaves their tapes to the eager pass
# (riesz.staging.replay.staged_gradient)
WARNS_FROM_VALUES = frozenset({"eigh", "svd", "eig"})


def _gap_inverse(name, values, squared=False):
    """F with F_ij = 1/(λⱼ − λᵢ) (or 1/(σⱼ² − σᵢ²)) off the diagonal and 0 on it, built
    with riesz ops so it differentiates again. Where two values coincide (to rounding) the
    derivative does not exist; F is taken as 0 there and a RuntimeWarning says so."""
    lam = values * values if squared else values
    gaps = _col(lam) - reshape(lam, shape=shape_of(lam) + (1,))
    # repeated: |λⱼ − λᵢ| ≤ 100 ε max|λ| for i ≠ j, computed with array operations on the
    # values without derivatives, so that a staged program (riesz.jit) computes it too, and
    # a batch (riesz.vmap) for all of its examples at once
    v, k = lower_to_values(lam), shape_of(values)[-1]
    scale = np.max(np.abs(v), axis=-1, keepdims=True)[..., None] if k else 1.0
    tol = 100 * np.finfo(np.result_type(dtype_of(v), np.float32)).eps * np.maximum(scale, 1e-300)
    off = ~np.eye(k, dtype=bool)
    repeated = off & (np.abs(lower_to_values(gaps)) <= tol)
    seen = values_under(repeated)
    if not isinstance(seen, Tracer) and seen.any():   # concrete (a batch's: any example's)
        what = "singular values" if squared else "eigenvalues"
        warnings.warn(f"{name}: repeated {what}; the derivative of the "
                      f"{'singular vectors' if squared else 'eigenvectors'} does not exist "
                      f"there. riesz leaves out the rotation within each repeated subspace "
                      f"(takes it as zero)", RuntimeWarning, stacklevel=4)
    keep = off & ~repeated
    return where(keep, 1.0 / where(keep, gaps, 1.0), 0.0)


def _solve_T(a, x):
    """a⁻ᵀ x."""
    return solve_p(_mT(a), x)


def _right_solve(x, a):
    """x a⁻¹ = (a⁻ᵀ xᵀ)ᵀ."""
    return _mT(_solve_T(a, _mT(x)))


def _named_linalg_error(name, fn, *args):
    try:
        return fn(*args)
    except np.linalg.LinAlgError as err:
        raise np.linalg.LinAlgError(f"{name}: {err}; its derivative needs an invertible "
                                    f"matrix") from err


# ------------------------------------------------------------ inverse, solve, determinant

# ∂(A⁻¹)(Ȧ) = −A⁻¹ Ȧ A⁻¹; transpose: g ↦ −A⁻ᵀ g A⁻ᵀ
inv_p = defprim("inv", np.linalg.inv,
                jvp=[lambda t, ans, a: -matmul(ans, matmul(t, ans))],
                vjp=[lambda g, ans, a: -matmul(_mT(ans), matmul(g, _mT(ans)))])

# x = A⁻¹b with b (..., m, k): ∂x(Ȧ, ḃ) = A⁻¹(ḃ − Ȧ x); transpose: with ḡ = A⁻ᵀ g,
# (−ḡ xᵀ, ḡ), summed over broadcast batch axes
def _solve_matrices(a, b):
    # np.linalg.solve with b a stack of matrices on every NumPy (1.x reads a b of one dimension
    # fewer than a as vectors): b gets a's number of dimensions first; a NumPy matrix with a
    # Dask right-hand side joins b's library (Dask's solve takes two Dask arrays)
    if is_numpy(a) and not is_numpy(b):
        a = asarray_like(a, b)
    return np.linalg.solve(a, np.reshape(b, (1,) * (np.ndim(a) - np.ndim(b)) + np.shape(b)))


solve_p = defprim(
    "solve", _solve_matrices,
    jvp=[lambda t, ans, a, b: -solve_p(a, matmul(t, ans)), lambda t, ans, a, b: solve_p(a, t)],
    vjp=[lambda g, ans, a, b: unbroadcast(-matmul(_solve_T(a, g), _mT(ans)), shape_of(a)),
         lambda g, ans, a, b: unbroadcast(_solve_T(a, g), shape_of(b))])


def _inv_T(name, a):
    return _mT(_named_linalg_error(name, inv_p, a))


# ∂ det(A)(Ȧ) = det(A) tr(A⁻¹Ȧ) = det(A) Σ A⁻ᵀ ⊙ Ȧ; transpose: g ↦ g det(A) A⁻ᵀ
det_p = defprim(
    "det", np.linalg.det,
    jvp=[lambda t, ans, a: ans * _sum_last2(_inv_T("numpy.linalg.det", a) * t)],
    vjp=[lambda g, ans, a: _expand2(g * ans) * _inv_T("numpy.linalg.det", a)])


def _sum_last2(x):
    nd = len(shape_of(x))
    return sum_p(x, axis=(nd - 2, nd - 1), keepdims=False)


def _expand2(x):
    return reshape(x, shape=shape_of(x) + (1, 1))


# (sign, log|det A|) with y = tr(A⁻¹Ȧ) = Σ A⁻ᵀ ⊙ Ȧ: ∂ log|det A| = Re y, and the sign
# (a phase for complex A) turns by ∂ sign = sign · i Im y; for real A it is locally constant.
# Transpose (JAX's convention: Re's transpose is the identity, Im's is g ↦ −i g): for
# cotangents (s̄, ℓ̄), Ā = A⁻ᵀ (ℓ̄ − i Re(i sign s̄)).
def _slogdet_jvp(t, ans, a):
    y = _sum_last2(_inv_T("numpy.linalg.slogdet", a) * t)
    if dtype_of(a).kind != "c":
        return None, y
    return ans[0] * (1j * imag(y)), real(y)


def _slogdet_vjp(g, ans, a):
    sign_bar, logabs_bar = g
    if dtype_of(a).kind != "c" and logabs_bar is None:
        return None
    y_bar = 0.0 if logabs_bar is None else logabs_bar
    if dtype_of(a).kind == "c" and sign_bar is not None:
        y_bar = y_bar - 1j * real(1j * ans[0] * sign_bar)
    return _expand2(y_bar) * _inv_T("numpy.linalg.slogdet", a)


slogdet_p = defprim("slogdet", lambda a: tuple(np.linalg.slogdet(a)), multiple_results=True,
                    jvp=[_slogdet_jvp], vjp=[_slogdet_vjp])


# ------------------------------------------------------------ Cholesky

def _phi(x):
    """Φ(X) = tril(X) − ½ diag(X): the lower-triangular half of a symmetric change."""
    n = shape_of(x)[-1]
    return x * (_lower_mask(n, 0, dtype_of(x)) - 0.5 * _eye(n, dtype_of(x)))


def _hermitian_from(t, uplo="L"):
    """The Hermitian matrix LAPACK reads from a complex t: its strict lower (or upper)
    triangle mirrored as conjugates, and the real part of its diagonal."""
    n = shape_of(t)[-1]
    low = (t if uplo == "L" else conjugate(_mT(t))) * _lower_mask(n, -1, dtype_of(t))
    return low + conjugate(_mT(low)) + real(t) * _eye(n, real(t).dtype)


def _pullback(linear, zero, g):
    """(∂linear)ᵀ g for a function ``linear`` of one array, linear in it, traced at ``zero``
    (which gives the cotangent's shape and dtype): reverse mode through its own operations,
    whose rules make it nest to every order."""
    trace = VJPTrace()
    t = trace.new_input(zero)
    try:
        out = linear(t)
    finally:
        trace.close()
    outs, gs = (out, g) if isinstance(out, tuple) else ((out,), (g,))
    seeds = [(o.slot, c) for o, c in zip(outs, gs) if type(o) is VJPTracer and o._trace is trace]
    ct = trace.backward(seeds)[t.slot]
    return zero if ct is None else ct if dtype_of(ct) == zero.dtype else as_dtype(ct, zero.dtype)


def _transposed_jvp(jvp_rule):
    """The VJP rule g ↦ ∂ᵀg of a complex matrix function whose JVP ``jvp_rule`` is only
    R-linear (conjugates, real parts): reverse mode through the JVP's operations, whose
    rules carry JAX's convention, gives its transpose."""
    def vjp_rule(g, ans, a, **params):
        if isinstance(g, tuple):   # several outputs: None is a zero cotangent, and a real
            # output (eigenvalues, singular values) pairs with the real part of its cotangent
            g = tuple(np.zeros(shape_of(o), dtype_of(o)) if c is None
                      else real(c) if dtype_of(o).kind != "c" and dtype_of(c).kind == "c"
                      else c for c, o in zip(g, ans))
        zero = np.zeros(shape_of(a), dtype_of(a))
        return _pullback(lambda t: jvp_rule(t, ans, a, **params), zero, g)
    return vjp_rule


def _cholesky_jvp(t, ans, a):
    # A = LLᴴ reading A's lower triangle: with S the symmetric (Hermitian) matrix read from
    # Ȧ, L̇ = L Φ(L⁻¹ S L⁻ᴴ)  (one inverse of L, then matrix products)
    l_inv = inv_p(ans)
    if dtype_of(a).kind == "c":
        return matmul(ans, _phi(matmul(l_inv, matmul(_hermitian_from(t), conjugate(_mT(l_inv))))))
    return matmul(ans, _phi(matmul(l_inv, matmul(_symmetric_from(t, "L"), _mT(l_inv)))))


def _cholesky_vjp(g, ans, a):
    if dtype_of(a).kind == "c":
        return _transposed_jvp(_cholesky_jvp)(g, ans, a)
    # transpose: P = Φ(Lᵀ ḡ), S̄ = L⁻ᵀ P L⁻¹, then back through the lower-triangle reading
    l_inv = inv_p(ans)
    s_bar = matmul(_mT(l_inv), matmul(_phi(matmul(_mT(ans), g)), l_inv))
    return _symmetric_from_transpose(s_bar, "L")


cholesky_p = defprim("cholesky", np.linalg.cholesky, jvp=[_cholesky_jvp], vjp=[_cholesky_vjp])


# ------------------------------------------------------------ QR (reduced, m ≥ n)

def _qr_jvp(t, ans, a):
    # A = QR: with B = Ȧ R⁻¹, C = QᴴB and D = tril(C, −1) − tril(C, −1)ᴴ (skew), plus
    # i Im diag(C) for complex A (LAPACK's R has a real diagonal),
    # Q̇ = Q(D − C) + B and Ṙ = (C − D)R
    q, r = ans
    b = _right_solve(t, r)
    n = shape_of(r)[-1]
    if dtype_of(a).kind == "c":
        c = matmul(conjugate(_mT(q)), b)
        low = c * _lower_mask(n, -1, dtype_of(c))
        d = low - conjugate(_mT(low)) + 1j * imag(c) * _eye(n, real(c).dtype)
    else:
        c = matmul(_mT(q), b)
        low = c * _lower_mask(n, -1, dtype_of(c))
        d = low - _mT(low)
    return matmul(q, d - c) + b, matmul(c - d, r)


def _qr_vjp(g, ans, a):
    if dtype_of(a).kind == "c":
        return _transposed_jvp(_qr_jvp)(g, ans, a)
    # transpose of the JVP: M = R̄Rᵀ − QᵀQ̄, C̄ = M + tril(Mᵀ − M, −1), Ā = (Q̄ + QC̄) R⁻ᵀ
    q, r = ans
    q_bar, r_bar = g
    m = 0.0
    if r_bar is not None:
        m = matmul(r_bar, _mT(r))
    if q_bar is not None:
        m = m - matmul(_mT(q), q_bar)
    c_bar = m + (_mT(m) - m) * _lower_mask(shape_of(r)[-1], -1, dtype_of(r))
    b_bar = matmul(q, c_bar) if q_bar is None else q_bar + matmul(q, c_bar)
    return _mT(solve_p(r, _mT(b_bar)))


qr_p = defprim("qr", lambda a: tuple(np.linalg.qr(a, mode="reduced")), multiple_results=True,
               jvp=[_qr_jvp], vjp=[_qr_vjp])


# ------------------------------------------------------------ symmetric eigenproblems

def _eigh_jvp(t, ans, a, uplo):
    # A = V diag(w) Vᴴ: with X = Vᴴ S V (S the symmetric or Hermitian matrix read from Ȧ),
    # ẇ = Re diag(X) and V̇ = V (F ⊙ X), F_ij = 1/(wⱼ − wᵢ) (so diag(VᴴV̇) = 0: the phase
    # of each complex eigenvector is held fixed)
    w, v = ans
    if dtype_of(a).kind == "c":
        x = matmul(conjugate(_mT(v)), matmul(_hermitian_from(t, uplo), v))
        return real(_diag_part(x)), matmul(v, _gap_inverse("numpy.linalg.eigh", w) * x)
    x = matmul(_mT(v), matmul(_symmetric_from(t, uplo), v))
    return _diag_part(x), matmul(v, _gap_inverse("numpy.linalg.eigh", w) * x)


def _eigh_vjp(g, ans, a, uplo):
    if dtype_of(a).kind == "c":
        return _transposed_jvp(_eigh_jvp)(g, ans, a, uplo=uplo)
    # transpose: S̄ = V (diag(w̄) + F ⊙ VᵀV̄) Vᵀ, then back through the triangle reading
    w, v = ans
    w_bar, v_bar = g
    inner = 0.0
    if w_bar is not None:
        inner = _diag_embed(w_bar)
    if v_bar is not None:
        inner = inner + _gap_inverse("numpy.linalg.eigh", w) * matmul(_mT(v), v_bar)
    return _symmetric_from_transpose(matmul(v, matmul(inner, _mT(v))), uplo)


eigh_p = defprim("eigh", lambda a, uplo: tuple(np.linalg.eigh(a, UPLO=uplo)),
                 multiple_results=True, jvp=[_eigh_jvp], vjp=[_eigh_vjp])


def _eigvalsh_jvp(t, ans, a, uplo):
    # ẇᵢ = vᵢᴴ S vᵢ with the eigenvectors vᵢ (from eigh, so they differentiate again)
    v = eigh_p(a, uplo=uplo)[1]
    axis = (len(shape_of(v)) - 2,)
    if dtype_of(a).kind == "c":
        return real(sum_p(conjugate(v) * matmul(_hermitian_from(t, uplo), v), axis=axis,
                          keepdims=False))
    return sum_p(v * matmul(_symmetric_from(t, uplo), v), axis=axis, keepdims=False)


def _eigvalsh_vjp(g, ans, a, uplo):
    if dtype_of(a).kind == "c":
        return _transposed_jvp(_eigvalsh_jvp)(g, ans, a, uplo=uplo)
    # transpose: S̄ = V diag(w̄) Vᵀ
    v = eigh_p(a, uplo=uplo)[1]
    return _symmetric_from_transpose(matmul(v * _col(g), _mT(v)), uplo)


eigvalsh_p = defprim("eigvalsh", lambda a, uplo: np.linalg.eigvalsh(a, UPLO=uplo),
                     jvp=[_eigvalsh_jvp], vjp=[_eigvalsh_vjp])


# ------------------------------------------------------------ singular values

def _safe_reciprocal(name, s):
    # 1/σ, taken as 0 where σ = 0 (that direction's derivative does not exist)
    zero = lower_to_values(s) == 0   # array operations: staged where s is (riesz.jit)
    if not isinstance(zero, Tracer) and zero.any():
        warnings.warn(f"{name}: zero singular values of a non-square matrix; the derivative "
                      f"of the singular vectors does not exist there (taken as zero)",
                      RuntimeWarning, stacklevel=4)
    return where(zero, 0.0, 1.0 / where(zero, 1.0, s))


def _svd_jvp(t, ans, a):
    # A = U S Vᴴ (reduced): with Ṡ = Uᴴ Ȧ V and F_ij = 1/(σⱼ² − σᵢ²),
    # σ̇ = Re diag(Ṡ), U̇ = U (F ⊙ (Ṡ S + S Ṡᴴ)) + (I − UUᴴ) Ȧ V S⁻¹,
    # V̇ = V (F ⊙ (S Ṡ + Ṡᴴ S)) + (I − VVᴴ) Ȧᴴ U S⁻¹; for complex A also the phases
    # U̇ += U diag(i Im Ṡᵢᵢ / σᵢ) (JAX's gauge), and ᴴ is ᵀ for real A
    h = _mH if dtype_of(a).kind == "c" else _mT
    u, s, vh = ans
    v = h(vh)
    ds = matmul(h(u), matmul(t, v))
    f = _gap_inverse("numpy.linalg.svd", s, squared=True)
    s_row, s_col = _col(s), reshape(s, shape=shape_of(s) + (1,))
    du = matmul(u, f * (ds * s_row + s_col * h(ds)))
    dv = matmul(v, f * (s_col * ds + h(ds) * s_row))
    m, n = shape_of(a)[-2:]
    if m > n:
        tv = matmul(t, v)
        du = du + (tv - matmul(u, matmul(h(u), tv))) * _col(_safe_reciprocal("numpy.linalg.svd", s))
    if n > m:
        tu = matmul(h(t), u)
        dv = dv + (tu - matmul(v, matmul(vh, tu))) * _col(_safe_reciprocal("numpy.linalg.svd", s))
    if dtype_of(a).kind == "c":
        phases = 1j * imag(_diag_part(ds)) * _safe_reciprocal("numpy.linalg.svd", s)
        return du + u * _col(phases), real(_diag_part(ds)), h(dv)
    return du, _diag_part(ds), _mT(dv)


def _mH(x):
    """The conjugate transpose of the last two axes."""
    return conjugate(_mT(x))


def _svd_vjp(g, ans, a):
    if dtype_of(a).kind == "c":
        return _transposed_jvp(_svd_jvp)(g, ans, a)
    # the transpose (Townsend 2016): Ā = U [(F ⊙ (UᵀŪ − ŪᵀU)) S + diag(σ̄) + S (F ⊙ (VᵀV̄ − V̄ᵀV))] Vᵀ
    #   + (I − UUᵀ) Ū S⁻¹ Vᵀ + U S⁻¹ V̄ᵀ (I − VVᵀ)
    u, s, vh = ans
    u_bar, s_bar, vh_bar = g
    v = _mT(vh)
    f = _gap_inverse("numpy.linalg.svd", s, squared=True) if (
        u_bar is not None or vh_bar is not None) else None
    s_row, s_col = _col(s), reshape(s, shape=shape_of(s) + (1,))
    core = 0.0 if s_bar is None else _diag_embed(s_bar)
    m, n = shape_of(a)[-2:]
    extra = 0.0
    if u_bar is not None:
        utu = matmul(_mT(u), u_bar)
        core = core + f * (utu - _mT(utu)) * s_row
        if m > n:
            proj = u_bar - matmul(u, utu)
            extra = extra + matmul(proj * _col(_safe_reciprocal("numpy.linalg.svd", s)), vh)
    if vh_bar is not None:
        v_bar = _mT(vh_bar)
        vtv = matmul(vh, v_bar)
        core = core + s_col * (f * (vtv - _mT(vtv)))
        if n > m:
            proj = v_bar - matmul(v, vtv)
            extra = extra + matmul(u * _col(_safe_reciprocal("numpy.linalg.svd", s)), _mT(proj))
    return matmul(u, matmul(core, vh)) + extra


svd_p = defprim("svd", lambda a: tuple(np.linalg.svd(a, full_matrices=False)),
                multiple_results=True, jvp=[_svd_jvp], vjp=[_svd_vjp])


# ------------------------------------------------------------ pseudo-inverse

def _pinv_jvp(t, ans, a, rcond):
    # at constant rank (Golub & Pereyra 1973), with P = A⁺:
    # Ṗ = −P Ȧ P + P Pᴴ Ȧᴴ (I − A P) + (I − P A) Ȧᴴ Pᴴ P  (ᴴ is ᵀ for real A)
    h = _mH if dtype_of(a).kind == "c" else _mT
    p = ans
    m, n = shape_of(a)[-2:]
    left = _eye(m, dtype_of(p)) - matmul(a, p)
    right = _eye(n, dtype_of(p)) - matmul(p, a)
    return (-matmul(p, matmul(t, p)) + matmul(matmul(p, h(p)), matmul(h(t), left))
            + matmul(right, matmul(h(t), matmul(h(p), p))))


def _pinv_vjp(g, ans, a, rcond):
    if dtype_of(a).kind == "c":    # Ȧᴴ makes the JVP only R-linear
        return _transposed_jvp(_pinv_jvp)(g, ans, a, rcond=rcond)
    # transpose: Ā = −Pᵀ ḡ Pᵀ + (I − A P) ḡᵀ P Pᵀ + Pᵀ P ḡᵀ (I − P A)
    p = ans
    m, n = shape_of(a)[-2:]
    left = _eye(m, dtype_of(p)) - matmul(a, p)
    right = _eye(n, dtype_of(p)) - matmul(p, a)
    return (-matmul(_mT(p), matmul(g, _mT(p))) + matmul(left, matmul(_mT(g), matmul(p, _mT(p))))
            + matmul(matmul(_mT(p), p), matmul(_mT(g), right)))


pinv_p = defprim("pinv", lambda a, rcond: np.linalg.pinv(a, rcond=rcond),
                 jvp=[_pinv_jvp], vjp=[_pinv_vjp])


# ------------------------------------------------------------ the numpy.linalg names

def _square(name, a):
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise np.linalg.LinAlgError(f"{name}: last 2 dimensions of the array must be square, "
                                    f"got shape {s}")


def _result(kind, *values):
    return getattr(numpy_name("linalg._linalg"), kind)(*values)


@implements(np.linalg.inv)
def inv(a):
    """A⁻¹ (batched)."""
    _square("numpy.linalg.inv", a)
    return inv_p(a)


@implements(np.linalg.solve)
def solve(a, b):
    """x with A x = b; b is (m,) or (..., m, k), as in NumPy 2 (before NumPy 2 a b with one
    dimension fewer than A is a stack of vectors, riesz.numpy.compat)."""
    _square("numpy.linalg.solve", a)
    if len(shape_of(b)) == 1 or (SOLVE_READS_VECTORS_BY_NDIM
                                 and len(shape_of(b)) == len(shape_of(a)) - 1):
        x = solve_p(a, reshape(b, shape=shape_of(b) + (1,)))
        return reshape(x, shape=shape_of(x)[:-1])
    return solve_p(a, b)


@implements(np.linalg.det)
def det(a):
    """det A (batched). The derivative det(A) A⁻ᵀ needs A invertible (a LinAlgError names
    det otherwise)."""
    _square("numpy.linalg.det", a)
    return det_p(a)


@implements(np.linalg.slogdet)
def slogdet(a):
    """(sign, log|det A|); for real A the sign has zero derivative, for complex A it is a
    phase that turns with A."""
    _square("numpy.linalg.slogdet", a)
    return _result("SlogdetResult", *slogdet_p(a))


@implements(np.linalg.cholesky)
def cholesky(a, /, *, upper=False):
    """The Cholesky factor, reading A's lower triangle (upper with ``upper=True``) as NumPy
    does, so the gradient is lower (upper) triangular: ⟨∇, Ȧ⟩ covers exactly the entries
    NumPy reads. Symmetrize (A + Aᵀ)/2 first if you want a symmetric gradient."""
    _square("numpy.linalg.cholesky", a)
    return _mT(cholesky_p(_mT(a))) if upper else cholesky_p(a)


@implements(np.linalg.qr)
def qr(a, mode="reduced"):
    """Reduced QR of an m×n matrix with m ≥ n (full column rank); ``mode='r'`` gives R.
    For m < n the factors' derivative is not implemented (an error says so)."""
    m, n = shape_of(a)[-2:]
    if mode not in ("reduced", "r"):
        raise NotImplementedError(f"numpy.linalg.qr(mode={mode!r}) is not differentiable in "
                                  f"riesz; use mode='reduced' or 'r'")
    if m < n:
        raise NotImplementedError("numpy.linalg.qr: the derivative of QR of a wide matrix "
                                  "(m < n) is not implemented; factor the transpose instead")
    q, r = qr_p(a)
    return r if mode == "r" else _result("QRResult", q, r)


@implements(np.linalg.eigh)
def eigh(a, UPLO="L"):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, reading the triangle
    ``UPLO`` as NumPy does. The eigenvectors' derivative needs distinct eigenvalues: at
    repeated ones a RuntimeWarning names eigh and the rotation within the repeated
    eigenspace is taken as zero."""
    _square("numpy.linalg.eigh", a)
    return _result("EighResult", *eigh_p(a, uplo=UPLO.upper()))


@implements(np.linalg.eigvalsh)
def eigvalsh(a, UPLO="L"):
    """Eigenvalues of a symmetric matrix: ẇᵢ = vᵢᵀ Ȧ vᵢ."""
    _square("numpy.linalg.eigvalsh", a)
    return eigvalsh_p(a, uplo=UPLO.upper())


@implements(np.linalg.svd)
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """Singular values, with the reduced factors when ``compute_uv``. Differentiating the
    factors needs ``full_matrices=False`` and distinct nonzero singular values (at repeated
    ones a RuntimeWarning names svd); the singular values alone differentiate anywhere they
    are distinct."""
    if not compute_uv:
        return singular_values_for("numpy.linalg.svd(compute_uv=False)", a, "each")
    if full_matrices and shape_of(a)[-1] != shape_of(a)[-2]:
        raise NotImplementedError(
            "numpy.linalg.svd(full_matrices=True) of a non-square matrix: the extra singular "
            "vectors are not unique, so they have no derivative; pass full_matrices=False")
    return _result("SVDResult", *svd_p(a))


@implements(numpy_name("linalg.svdvals"))
def svdvals(x, /):
    """The singular values; each one's derivative needs it distinct and nonzero (else a
    RuntimeWarning names svdvals)."""
    return singular_values_for("numpy.linalg.svdvals", x, "each")


@implements(np.linalg.pinv)
def pinv(a, rcond=None, hermitian=False, **kwargs):
    """The Moore–Penrose pseudo-inverse A⁺; its derivative exists where the rank is locally
    constant (singular values far from the ``rcond`` cutoff)."""
    if kwargs:
        raise TypeError(f"numpy.linalg.pinv: {sorted(kwargs)} not supported on traced values; "
                        f"use rcond")
    if rcond is None:
        rcond = max(shape_of(a)[-2:]) * np.finfo(np.result_type(dtype_of(a), np.float32)).eps
    return pinv_p(a, rcond=rcond)


_matrix_rank = constant_function(np.linalg.matrix_rank)


@implements(np.linalg.lstsq)
def lstsq(a, b, rcond=None):
    """(x, residuals, rank, singular values) as NumPy returns them, with x = A⁺b: the minimum-
    norm least-squares solution, differentiable where A's rank is locally constant.

    Staged (riesz.jit, riesz.trace), the rank is computed by the program and is not known
    when staging, so the residuals are returned whenever m > n, as JAX does (NumPy returns
    an empty array for a rank-deficient A: the residuals' shape depends on the values)."""
    m, n = shape_of(a)
    x = matmul(pinv(a, rcond=rcond), b)
    rank = _matrix_rank(full_lower(a))
    if m > n and (isinstance(rank, Tracer) or rank == n):
        r = matmul(a, x) - b
        squares = real(r * conjugate(r)) if dtype_of(r).kind == "c" else r * r
        residuals = sum_p(squares, axis=(0,), keepdims=False)
        if len(shape_of(b)) == 1:
            residuals = reshape(residuals, shape=(1,))
    else:
        residuals = np.empty((0,), dtype=dtype_of(x))
    return x, residuals, rank, singular_values(a)


@implements(np.linalg.matrix_power)
def matrix_power(a, n):
    """Aⁿ by repeated squaring (A⁻¹ first for n < 0; the identity, a constant, for n = 0)."""
    _square("numpy.linalg.matrix_power", a)
    n = int(n)
    if n == 0:
        return np.broadcast_to(_eye(shape_of(a)[-1], dtype_of(a)), shape_of(a)).copy()
    if n < 0:
        a, n = inv(a), -n
    if n == 3:
        return matmul(matmul(a, a), a)   # NumPy's order of the products for n = 3
    result, power = None, a
    while n:
        if n & 1:
            result = power if result is None else matmul(result, power)
        n >>= 1
        if n:
            power = matmul(power, power)
    return result


@implements(np.linalg.multi_dot)
def multi_dot(arrays, *, out=None):
    """A chain of matrix products (a first 1-D array is a row, a last one a column)."""
    if out is not None:
        raise TypeError("numpy.linalg.multi_dot(..., out=...) is not supported on traced values")
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    result = arrays[0]
    for x in arrays[1:]:
        result = matmul(result, x)
    return result


@implements(np.linalg.tensorsolve)
def tensorsolve(a, b, axes=None):
    """x with tensordot(a, x, x.ndim) = b: the same reshaping into one square solve as NumPy."""
    if axes is not None:
        order = [i for i in range(len(shape_of(a))) if i not in [k % len(shape_of(a)) for k in axes]]
        a = transpose(a, axes=tuple(order + [k % len(shape_of(a)) for k in axes]))
    x_shape = shape_of(a)[len(shape_of(b)):]
    size = int(np.prod(x_shape))
    x = solve(reshape(a, shape=(size, size)), reshape(b, shape=(size,)))
    return reshape(x, shape=x_shape)


# ------------------------------------------------------------ the array API's names

@implements(numpy_name("vecdot"))
def vecdot(x1, x2, /, axis=-1, **kwargs):
    """``numpy.vecdot``: Σ conj(x1) x2 over ``axis``, the others broadcast."""
    if kwargs:
        raise TypeError(f"numpy.vecdot: keyword arguments {sorted(kwargs)} are not supported "
                        f"on traced values")
    if dtype_of(x1).kind == "c":
        x1 = np.conjugate(x1)   # NumPy's conjugate, undone inside _vecdot_impl: the same value
    return vecdot_p(x1, x2, axis=axis)


def _vecdot_impl(x, y, axis):
    # Σ x y over axis with NumPy's own vecdot (one dot product per vector)
    return np.vecdot(np.conjugate(x) if np.iscomplexobj(x) else x, y, axis=axis)


def _vecdot_transpose(g, other, x, axis):
    # the cotangent of x in Σ x y: g copied along the axis, times the other, summed back to x
    ndim = max(len(shape_of(x)), len(shape_of(other)))
    return unbroadcast(np.expand_dims(g, axis % ndim) * other, shape_of(x))


# Σₖ xₖ yₖ over ``axis`` (bilinear, no conjugation: vecdot conjugates its first argument
# before); ∂ = vecdot(ẋ, y) + vecdot(x, ẏ)
vecdot_p = defprim(
    "vecdot", _vecdot_impl,
    jvp=[lambda t, ans, x, y, axis: vecdot_p(t, y, axis=axis),
         lambda t, ans, x, y, axis: vecdot_p(x, t, axis=axis)],
    vjp=[lambda g, ans, x, y, axis: _vecdot_transpose(g, y, x, axis),
         lambda g, ans, x, y, axis: _vecdot_transpose(g, x, y, axis)])


@implements(numpy_name("linalg.vecdot"))
def linalg_vecdot(x1, x2, /, *, axis=-1):
    return vecdot(x1, x2, axis=axis)


@implements(numpy_name("matvec"))
def matvec(x1, x2, /, **kwargs):
    """``numpy.matvec``: A x over the last axes, (..., m, n) and (..., n) to (..., m)."""
    if kwargs:
        raise TypeError(f"numpy.matvec: keyword arguments {sorted(kwargs)} are not supported "
                        f"on traced values")
    return matmul(x1, np.expand_dims(x2, -1))[..., 0]


@implements(numpy_name("vecmat"))
def vecmat(x1, x2, /, **kwargs):
    """``numpy.vecmat``: conj(x)ᵀ A over the last axes, (..., m) and (..., m, n) to (..., n)."""
    if kwargs:
        raise TypeError(f"numpy.vecmat: keyword arguments {sorted(kwargs)} are not supported "
                        f"on traced values")
    if dtype_of(x1).kind == "c":
        x1 = np.conjugate(x1)
    return matmul(np.expand_dims(x1, -2), x2)[..., 0, :]


@implements(numpy_name("linalg.matmul"))
def linalg_matmul(x1, x2, /):
    return matmul(x1, x2)


@implements(numpy_name("linalg.outer"))
def linalg_outer(x1, x2, /):
    if len(shape_of(x1)) != 1 or len(shape_of(x2)) != 1:
        raise ValueError("Input arrays must be one-dimensional")
    return outer(x1, x2)


@implements(numpy_name("linalg.cross"))
def linalg_cross(x1, x2, /, *, axis=-1):
    return cross(x1, x2, axis=axis)


@implements(numpy_name("linalg.tensordot"))
def linalg_tensordot(x1, x2, /, *, axes=2):
    return tensordot(x1, x2, axes=axes)


@implements(numpy_name("linalg.matrix_transpose"))
def linalg_matrix_transpose(x, /):
    return matrix_transpose(x)


@implements(numpy_name("linalg.diagonal"))
def linalg_diagonal(x, /, *, offset=0):
    """The diagonals of the last two axes."""
    return np.diagonal(x, offset, -2, -1)


@implements(numpy_name("linalg.trace"))
def linalg_trace(x, /, *, offset=0, dtype=None):
    """The traces of the last two axes."""
    return np.trace(x, offset, -2, -1, dtype=dtype)


@implements(numpy_name("linalg.vector_norm"))
def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """``numpy.linalg.vector_norm``: the vector norm over ``axis`` (all axes by default, of
    any number of dimensions)."""
    if axis is None:
        out = np.linalg.norm(np.ravel(x), ord)
        return np.reshape(out, (1,) * len(shape_of(x))) if keepdims else out
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    if len(axes) == 1:
        return np.linalg.norm(x, ord, axes[0], keepdims)
    nd = len(shape_of(x))
    axes = tuple(a % nd for a in axes)
    moved = np.moveaxis(x, axes, tuple(range(nd - len(axes), nd)))
    flat = np.reshape(moved, shape_of(moved)[:nd - len(axes)] + (-1,))
    out = np.linalg.norm(flat, ord, -1)
    if keepdims:
        out = np.reshape(out, tuple(1 if i in axes else n for i, n in enumerate(shape_of(x))))
    return out


@implements(numpy_name("linalg.matrix_norm"))
def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """``numpy.linalg.matrix_norm``: the matrix norm of the last two axes."""
    return np.linalg.norm(x, ord, (-2, -1), keepdims)


@implements(np.linalg.cond)
def cond(x, p=None):
    """``numpy.linalg.cond``: σ_max / σ_min for p = None, 2 (σ_min / σ_max for -2), else
    ‖x‖ₚ ‖x⁻¹‖ₚ. Needs distinct singular values for p = ±2."""
    if p is None or p in (2, -2):
        s = singular_values_for("numpy.linalg.cond", x, "ends")
        ratio = s[..., 0] / s[..., -1]
        return ratio if p != -2 else 1.0 / ratio
    return np.linalg.norm(x, p, (-2, -1)) * np.linalg.norm(np.linalg.inv(x), p, (-2, -1))


@implements(np.linalg.tensorinv)
def tensorinv(a, ind=2):
    """``numpy.linalg.tensorinv``: the inverse of ``a`` reshaped into a square matrix, reshaped
    back."""
    shape = shape_of(a)
    rows = int(np.prod(shape[:ind]))
    cols = int(np.prod(shape[ind:]))
    return reshape(inv(reshape(a, shape=(rows, cols))), shape=shape[ind:] + shape[:ind])


# ------------------------------------------------------------ general eigenproblem

@constant_function
def _largest_entry(v):
    """The row index of each eigenvector's (column's) largest-magnitude entry, shaped for
    take_along_axis; recorded as one operation when v is staged."""
    return np.argmax(np.abs(v), axis=-2)[..., None, :]


def _eig_jvp(t, ans, a):
    # A V = V diag(w): with X = V⁻¹ Ȧ V, ẇ = diag(X) and D = V (F ⊙ X), F_ij = 1/(wⱼ − wᵢ).
    # NumPy's eigenvectors have unit norm and their largest entry real, so D loses its
    # radial part, Re(vᴴ d) v, and its phase part, i Im(d_k)/v_k v (k the largest entry,
    # fixed on the concrete values)
    w, v = ans
    x = matmul(inv_p(v), matmul(t, v))
    dw = _diag_part(x)
    d = matmul(v, _gap_inverse("numpy.linalg.eig", w) * x)
    if dtype_of(v).kind != "c":   # real eigenvalues and vectors: the real parts
        dw, d = np.real(dw), np.real(d)
    d = d - v * np.real(np.sum(np.conj(v) * d, axis=-2, keepdims=True))
    if dtype_of(v).kind != "c":
        return dw, d
    k = _largest_entry(full_lower(v))
    v_k = np.take_along_axis(v, k, axis=-2)
    d = d - 1j * v * np.imag(np.take_along_axis(d, k, axis=-2)) / np.real(v_k)
    return dw, d


def _eig_vjp(g, ans, a):
    # the transpose of the linear map ȧ ↦ (ẇ, v̇) of _eig_jvp, taken by reverse mode
    # through that map (its operations have rules, so this nests to higher orders)
    w, v = ans
    cotangents = tuple(np.zeros(shape_of(o), dtype_of(o)) if c is None else c
                       for c, o in zip(g, ans))
    # a complex tangent space when the eigenvalues are complex, so that no part is dropped
    # before the real part is taken for a real matrix
    zero = np.zeros(shape_of(a), np.result_type(dtype_of(a), dtype_of(w)))
    ct = _pullback(lambda t: _eig_jvp(t, ans, a), zero, cotangents)
    return ct if dtype_of(a).kind == "c" else np.real(ct)


# eigenvalues and eigenvectors of a square (stack of) matrices, distinct eigenvalues
eig_p = defprim("eig", lambda a: tuple(np.linalg.eig(a)), multiple_results=True,
                jvp=[_eig_jvp], vjp=[_eig_vjp])


@implements(np.linalg.eig)
def eig(a):
    """``numpy.linalg.eig``: ẇ = diag(V⁻¹ȦV), and the eigenvectors' derivative in NumPy's
    normalization (unit norm, largest entry real). Needs distinct eigenvalues: at repeated
    ones a RuntimeWarning names eig and the rotation inside the eigenspace is taken as
    zero."""
    _square("eig", a)
    return _result("EigResult", *eig_p(a))


@implements(np.linalg.eigvals)
def eigvals(a):
    """``numpy.linalg.eigvals``: the eigenvalues of :func:`eig`."""
    _square("eigvals", a)
    return eig_p(a)[0]
