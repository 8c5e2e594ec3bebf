"""``numpy.fft``: each primitive with its JVP and VJP rules.

Every transform here is linear, so the JVP applies the same transform to the tangent
and the VJP its transpose. Under riesz's pairing ⟨c, v⟩ = Re Σ cᵢvᵢ (no conjugation,
JAX's convention; see docs/complex.md) the transposes are:

* the complex DFT is a symmetric matrix, F_jk = e^{−2πi jk/n}, so the transpose of
  ``fftn``/``ifftn`` is the same transform (with the same ``norm``);
* ``rfft`` keeps the first m = n//2 + 1 outputs of the DFT of a real x, so its
  transpose is Re(DFT of c zero-padded to n): the primitive ``rfft_transpose``;
* ``irfft`` reads a half spectrum as Hermitian, y = (1/n) Re Σₖ wₖ Xₖ e^{2πi jk/n}
  with wₖ = 2 for the entries standing for a conjugate pair and 1 for X₀ (and X_{n/2}
  when n is even), so its transpose is c ↦ wₖ ifft(c)ₖ for k < m: the primitive
  ``irfft_transpose``. The transpose of each transpose is the transform itself.

Multi-axis real transforms are a one-axis real transform on the last axis and complex
transforms on the others; ``n``/``s`` pad with zeros or truncate first (slices), and
fftshift/ifftshift are rolls. So everything reaches these five primitives.
"""
import numpy as np

from ..backend import whole_along
from ..numpy.dispatch import implements
from .define import defprim, dtype_of, shape_of
from .elementwise import conjugate_
from .indexing import getitem
from .shape import pad, roll

# the DFT over ``axes`` (inverse: the inverse DFT); its own transpose. Each impl takes the
# transformed axes whole (whole_along: a Dask array is rechunked along them, as its FFTs need)
fftn_p = defprim(
    "fftn", lambda x, axes, norm, inverse: (np.fft.ifftn if inverse else np.fft.fftn)(
        whole_along(x, axes), axes=axes, norm=norm),
    jvp=[lambda t, ans, x, axes, norm, inverse: fftn_p(t, axes=axes, norm=norm, inverse=inverse)],
    vjp=[lambda g, ans, x, axes, norm, inverse: fftn_p(g, axes=axes, norm=norm, inverse=inverse)])


def _rfft_transpose_impl(c, axis, n, norm):
    # Re(DFT of c zero-padded to n along axis), with the scaling of rfft's norm
    return np.real(np.fft.fft(whole_along(c, [axis]), n=n, axis=axis, norm=norm))


def _hermitian_weights(n, m, dtype):
    # wₖ: 1 for X₀ and (n even) X_{n/2}, which stand for themselves; 2 for the others
    w = np.full(m, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0
    return w.astype(dtype)


def _irfft_transpose_impl(c, axis, n, norm):
    m = n // 2 + 1
    spectrum = np.fft.ifft(whole_along(c, [axis]), axis=axis, norm=norm)
    spectrum = np.take(spectrum, np.arange(m), axis=axis)
    shape = [1] * spectrum.ndim
    shape[axis] = m
    return spectrum * _hermitian_weights(n, m, np.real(spectrum).dtype).reshape(shape)


# the real DFT of a real x along ``axis`` (length n): first n//2 + 1 entries of the DFT
rfft_p = defprim(
    "rfft", lambda x, axis, norm: np.fft.rfft(whole_along(x, [axis]), axis=axis, norm=norm),
    jvp=[lambda t, ans, x, axis, norm: rfft_p(t, axis=axis, norm=norm)],
    vjp=[lambda g, ans, x, axis, norm: rfft_transpose_p(g, axis=axis, n=shape_of(x)[axis],
                                                        norm=norm)])

rfft_transpose_p = defprim(
    "rfft_transpose", _rfft_transpose_impl,
    jvp=[lambda t, ans, c, axis, n, norm: rfft_transpose_p(t, axis=axis, n=n, norm=norm)],
    vjp=[lambda g, ans, c, axis, n, norm: rfft_p(g, axis=axis, norm=norm)])

# the real inverse DFT of a half spectrum along ``axis``, to n real values
irfft_p = defprim(
    "irfft", lambda x, axis, n, norm: np.fft.irfft(whole_along(x, [axis]), n=n, axis=axis,
                                                   norm=norm),
    jvp=[lambda t, ans, x, axis, n, norm: irfft_p(t, axis=axis, n=n, norm=norm)],
    vjp=[lambda g, ans, x, axis, n, norm: irfft_transpose_p(g, axis=axis, n=n, norm=norm)])

irfft_transpose_p = defprim(
    "irfft_transpose", lambda c, axis, n, norm: _irfft_transpose_impl(c, axis, n, norm),
    jvp=[lambda t, ans, c, axis, n, norm: irfft_transpose_p(t, axis=axis, n=n, norm=norm)],
    vjp=[lambda g, ans, c, axis, n, norm: irfft_p(g, axis=axis, n=n, norm=norm)])


# ------------------------------------------------------------ the numpy.fft names

def _fit_length(x, n, axis):
    """x zero-padded or truncated to length n along axis (NumPy's ``n`` / ``s``)."""
    size = shape_of(x)[axis]
    if n is None or n == size:
        return x
    if n < 1:
        raise ValueError(f"Invalid number of FFT data points ({n}) specified.")
    if n < size:
        return getitem(x, idx=(slice(None),) * axis + (slice(0, n),))
    widths = [(0, 0)] * len(shape_of(x))
    widths[axis] = (0, n - size)
    return pad(x, widths)


def _axes_and_sizes(x, s, axes, default_all):
    ndim = len(shape_of(x))
    if axes is None:
        axes = tuple(range(ndim)) if (s is None and default_all) else tuple(
            range(ndim - (len(s) if s is not None else 2), ndim))
    axes = tuple(int(a) % ndim for a in axes)
    sizes = [None] * len(axes) if s is None else [int(k) for k in s]
    if len(sizes) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    return axes, sizes


def _complex(x):
    return x if dtype_of(x).kind == "c" else x.astype(np.result_type(dtype_of(x), np.complex64))


def _cfft(x, s, axes, norm, inverse, default_all=True):
    axes, sizes = _axes_and_sizes(x, s, axes, default_all)
    for a, n in zip(axes, sizes):
        x = _fit_length(x, n, a)
    return fftn_p(_complex(x), axes=axes, norm=norm, inverse=inverse)


@implements(np.fft.fft)
def fft(a, n=None, axis=-1, norm=None, out=None):
    _no_out("fft", out)
    return _cfft(a, None if n is None else [n], [axis], norm, inverse=False)


@implements(np.fft.ifft)
def ifft(a, n=None, axis=-1, norm=None, out=None):
    _no_out("ifft", out)
    return _cfft(a, None if n is None else [n], [axis], norm, inverse=True)


@implements(np.fft.fftn)
def fftn(a, s=None, axes=None, norm=None, out=None):
    _no_out("fftn", out)
    return _cfft(a, s, axes, norm, inverse=False)


@implements(np.fft.ifftn)
def ifftn(a, s=None, axes=None, norm=None, out=None):
    _no_out("ifftn", out)
    return _cfft(a, s, axes, norm, inverse=True)


@implements(np.fft.fft2)
def fft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return fftn(a, s, axes, norm, out)


@implements(np.fft.ifft2)
def ifft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return ifftn(a, s, axes, norm, out)


def _no_out(name, out):
    if out is not None:
        raise TypeError(f"numpy.fft.{name}(..., out=...) cannot write traced values into an "
                        f"array; use the returned array")


def _real_input(name, a):
    if dtype_of(a).kind == "c":
        raise TypeError(f"numpy.fft.{name} of a complex array: NumPy discards the imaginary "
                        f"part; take np.real(a) explicitly, or use numpy.fft.fft")


@implements(np.fft.rfft)
def rfft(a, n=None, axis=-1, norm=None, out=None):
    return rfftn(a, None if n is None else [n], [axis], norm, out)


@implements(np.fft.rfftn)
def rfftn(a, s=None, axes=None, norm=None, out=None):
    """The real DFT on the last of ``axes``, then complex DFTs on the others."""
    _no_out("rfftn", out)
    _real_input("rfftn", a)
    axes, sizes = _axes_and_sizes(a, s, axes, default_all=True)
    x = a
    for ax, n in zip(axes, sizes):
        x = _fit_length(x, n, ax)
    x = rfft_p(x, axis=axes[-1], norm=norm)
    return fftn_p(x, axes=axes[:-1], norm=norm, inverse=False) if len(axes) > 1 else x


@implements(np.fft.irfft)
def irfft(a, n=None, axis=-1, norm=None, out=None):
    return irfftn(a, None if n is None else [n], [axis], norm, out)


@implements(np.fft.irfftn)
def irfftn(a, s=None, axes=None, norm=None, out=None):
    """Complex inverse DFTs on all but the last of ``axes``, then the real inverse DFT on
    it, to length s[-1] (default 2(m − 1))."""
    _no_out("irfftn", out)
    axes, sizes = _axes_and_sizes(a, s, axes, default_all=True)
    x = _complex(a)
    for ax, n in zip(axes[:-1], sizes[:-1]):
        x = _fit_length(x, n, ax)
    if len(axes) > 1:
        x = fftn_p(x, axes=axes[:-1], norm=norm, inverse=True)
    last = axes[-1]
    n = sizes[-1] if sizes[-1] is not None else 2 * (shape_of(x)[last] - 1)
    return irfft_p(_fit_length(x, n // 2 + 1, last), axis=last, n=n, norm=norm)


@implements(np.fft.rfft2)
def rfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return rfftn(a, s, axes, norm, out)


@implements(np.fft.irfft2)
def irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return irfftn(a, s, axes, norm, out)


# the scaling direction swapped: hfft and ihfft are irfft and rfft seen from the other side
_SWAPPED_NORM = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}


@implements(np.fft.hfft)
def hfft(a, n=None, axis=-1, norm=None, out=None):
    """The DFT of a signal with Hermitian symmetry given by its first half: NumPy's
    irfft(conj(a)) with the scaling direction swapped (linear, so its own rules)."""
    _no_out("hfft", out)
    return irfft(conjugate_(a), n, axis, _SWAPPED_NORM[norm])


@implements(np.fft.ihfft)
def ihfft(a, n=None, axis=-1, norm=None, out=None):
    """The inverse of :func:`hfft`: conj(rfft(a)) with the scaling direction swapped."""
    _no_out("ihfft", out)
    return conjugate_(rfft(a, n, axis, _SWAPPED_NORM[norm]))


def _shift(x, axes, sign):
    ndim = len(shape_of(x))
    axes = tuple(range(ndim)) if axes is None else tuple(np.atleast_1d(axes))
    shape = shape_of(x)
    return roll(x, [sign * (shape[a] // 2) for a in axes], axes)


@implements(np.fft.fftshift)
def fftshift(x, axes=None):
    """The zero frequency moved to the center: a roll by n//2."""
    return _shift(x, axes, 1)


@implements(np.fft.ifftshift)
def ifftshift(x, axes=None):
    """The inverse of fftshift: a roll by −(n//2)."""
    return _shift(x, axes, -1)
