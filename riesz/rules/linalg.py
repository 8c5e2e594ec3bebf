"""Products of arrays: each primitive with its JVP and VJP rules."""
import numpy as np

from ..numpy.dispatch import implements
from .define import defprim, shape_of, unbroadcast
from .elementwise import multiply
from .shape import reshape, transpose


def _mT(x):
    nd = len(shape_of(x))
    return transpose(x, axes=tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _matmul_vjp(g, a, b, argnum):
    # With 1-D operands promoted to matrices (a: 1×k, b: k×1) and g shaped to match,
    # ∂(a @ b)ᵀ g = (g @ bᵀ, aᵀ @ g), summed over broadcast batch axes.
    sa, sb = shape_of(a), shape_of(b)
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
                      lambda g, ans, a, b: _matmul_vjp(g, a, b, 1)])


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


@implements(np.dot)
def dot(a, b, out=None):
    if out is not None:
        raise TypeError("numpy.dot(..., out=...) is not supported on traced values")
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return multiply(a, b)
    if nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 2]))
