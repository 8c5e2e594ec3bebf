"""Shape functions: each primitive with its JVP and VJP rules. All are linear:
the JVP applies the same function to the tangent, the VJP its transpose."""
import numpy as np

from ..numpy.dispatch import implements
from .define import defprim, shape_of, unbroadcast

# the transpose of reshaping is reshaping back
reshape = defprim("reshape", lambda x, shape: np.reshape(x, shape),
                  jvp=[lambda t, ans, x, shape: reshape(t, shape=shape)],
                  vjp=[lambda g, ans, x, shape: reshape(g, shape=shape_of(x))])

# the transpose of permuting axes by p is permuting by p⁻¹
transpose = defprim("transpose", lambda x, axes: np.transpose(x, axes),
                    jvp=[lambda t, ans, x, axes: transpose(t, axes=axes)],
                    vjp=[lambda g, ans, x, axes: transpose(g, axes=tuple(np.argsort(axes)))])

# the transpose of broadcasting (copying) is summing the copies
broadcast_to = defprim("broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
                       jvp=[lambda t, ans, x, shape: broadcast_to(t, shape=shape)],
                       vjp=[lambda g, ans, x, shape: unbroadcast(g, shape_of(x))])


def _shape_arg(shape):
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(n) for n in shape)


@implements(np.reshape)
def reshape_(a, shape=None, order="C", *, newshape=None, copy=None):
    if order != "C":
        raise NotImplementedError("numpy.reshape on traced values supports order='C' only")
    shape = _shape_arg(newshape if shape is None else shape)
    if -1 in shape:
        shape = np.empty(shape_of(a), dtype=np.bool_).reshape(shape).shape
    return reshape(a, shape=shape)


@implements(np.ravel)
def ravel(a, order="C"):
    return reshape_(a, (-1,), order=order)


@implements(np.transpose)
def transpose_(a, axes=None):
    ndim = len(shape_of(a))
    axes = tuple(range(ndim))[::-1] if axes is None else tuple(int(i) % ndim for i in axes)
    return transpose(a, axes=axes)


@implements(np.swapaxes)
def swapaxes(a, axis1, axis2):
    axes = list(range(len(shape_of(a))))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, axes=tuple(axes))


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    ndim = len(shape_of(a))
    src = [s % ndim for s in np.atleast_1d(source)]
    dst = [d % ndim for d in np.atleast_1d(destination)]
    order = [i for i in range(ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(a, axes=tuple(order))


@implements(np.broadcast_to)
def broadcast_to_(array, shape, subok=False):
    return broadcast_to(array, shape=_shape_arg(shape))


@implements(np.expand_dims)
def expand_dims(a, axis):
    shape = shape_of(a)
    out_ndim = len(shape) + np.size(axis)
    axes = {int(i) % out_ndim for i in np.atleast_1d(axis)}
    it = iter(shape)
    return reshape(a, shape=tuple(1 if i in axes else next(it) for i in range(out_ndim)))


@implements(np.squeeze)
def squeeze(a, axis=None):
    shape = shape_of(a)
    if axis is None:
        axes = {i for i, n in enumerate(shape) if n == 1}
    else:
        axes = {int(i) % len(shape) for i in np.atleast_1d(axis)}
        if any(shape[i] != 1 for i in axes):
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return reshape(a, shape=tuple(n for i, n in enumerate(shape) if i not in axes))
