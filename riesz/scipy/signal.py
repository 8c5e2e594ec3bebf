"""``riesz.scipy.signal``: HIPS autograd's ``autograd.scipy.signal.convolve``, the n-dimensional
convolution with summed ("dot") axes that autograd's convnet example is built on, and
SciPy's (and ``jax.scipy.signal``'s) ``convolve2d``, ``correlate``, ``correlate2d`` and
``fftconvolve`` written with it.

It is written with NumPy functions riesz differentiates (a sliding-window view and one
einsum), so its derivatives in both modes and at every order come from those rules, and it
runs on plain arrays as well.
"""
import numpy as np

__all__ = ["convolve", "convolve2d", "correlate", "correlate2d", "fftconvolve"]

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def convolve(A, B, axes=None, dot_axes=((), ()), mode="full"):
    """autograd's ``convolve(A, B, axes, dot_axes, mode)``: A and B convolved along the axes
    pairs ``axes = [A's axes, B's axes]`` (all of A's axes with B's of the same numbers by
    default) and summed over ``dot_axes`` pairs. The result's axes are A's other axes, B's
    other axes, then the convolved axes:

        full[i, j, n] = Σₖ Σₘ A[i, k, m] B[j, k, n − m]   (n of length a + b − 1 per axis)

    ``mode="valid"`` keeps the |a − b| + 1 positions where one operand covers the other,
    ``"same"`` the a positions centred as in ``scipy.signal.convolve`` (from (b − 1) // 2).
    """
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"convolve: mode {mode!r} is not 'full', 'valid' or 'same'")
    a_shape, b_shape = np.shape(A), np.shape(B)
    conv_a, conv_b = ((tuple(range(len(a_shape))),) * 2 if axes is None
                      else (tuple(axes[0]), tuple(axes[1])))
    dot_a, dot_b = tuple(dot_axes[0]), tuple(dot_axes[1])
    if len(conv_a) != len(conv_b) or len(dot_a) != len(dot_b):
        raise ValueError(f"convolve: axes {axes} and dot_axes {dot_axes} must pair A's axes "
                         f"with as many of B's")
    a_len = [a_shape[i] for i in conv_a]
    b_len = [b_shape[i] for i in conv_b]
    if mode == "valid" and not (all(a >= b for a, b in zip(a_len, b_len))
                                or all(a <= b for a, b in zip(a_len, b_len))):
        raise ValueError(f"convolve(mode='valid'): one array must be at least as large as the "
                         f"other along every convolved axis, got {a_len} and {b_len}")
    ignore_a = [i for i in range(len(a_shape)) if i not in conv_a + dot_a]
    ignore_b = [i for i in range(len(b_shape)) if i not in conv_b + dot_b]
    # A with b − 1 zeros on both sides of each convolved axis; its window at n is
    # A[n − b + 1 : n + 1], and against B flipped it gives full[n] = Σⱼ A[n − j] B[j]
    pad = [(0, 0)] * len(a_shape)
    for i, b in zip(conv_a, b_len):
        pad[i] = (b - 1, b - 1)
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(A, pad), b_len, axis=conv_a)
    flip = tuple(slice(None, None, -1) if i in conv_b else slice(None)
                 for i in range(len(b_shape)))
    letters = iter(_LETTERS)
    a_sub = [next(letters) for _ in a_shape]
    w_sub = [next(letters) for _ in conv_a]
    b_sub = [next(letters) for _ in b_shape]
    for i, j in zip(dot_a, dot_b):
        b_sub[j] = a_sub[i]
    for w, j in zip(w_sub, conv_b):
        b_sub[j] = w
    out_sub = [a_sub[i] for i in ignore_a] + [b_sub[j] for j in ignore_b] + [a_sub[i] for i in conv_a]
    full = np.einsum(f"{''.join(a_sub + w_sub)},{''.join(b_sub)}->{''.join(out_sub)}",
                     windows, B[flip])
    if mode == "full":
        return full
    crop = [slice(None)] * (len(ignore_a) + len(ignore_b))
    for a, b in zip(a_len, b_len):
        crop.append(slice(min(a, b) - 1, max(a, b)) if mode == "valid"
                    else slice((b - 1) // 2, (b - 1) // 2 + a))
    return full[tuple(crop)]


def _scipy_convolve(name, in1, in2, mode):
    """SciPy's convolution of two arrays of one number of dimensions, all axes convolved."""
    if np.ndim(in1) != np.ndim(in2):
        raise ValueError(f"{name}: in1 and in2 should have the same dimensionality, got "
                         f"{np.ndim(in1)} and {np.ndim(in2)}")
    return convolve(in1, in2, mode=mode)


def _reversed_conjugate(a):
    return np.conj(a[(slice(None, None, -1),) * np.ndim(a)])


def _two_dimensional(name, in1, in2, boundary, fillvalue):
    if np.ndim(in1) != 2 or np.ndim(in2) != 2:
        raise ValueError(f"{name} inputs must both be 2-D arrays, got {np.ndim(in1)}-D and "
                         f"{np.ndim(in2)}-D")
    if boundary not in ("fill", "fil", "pad") or fillvalue != 0:
        raise NotImplementedError(f"riesz.scipy.signal.{name}: boundary={boundary!r}, "
                                  f"fillvalue={fillvalue!r}; only the zero fill is supported "
                                  f"(np.pad the input with mode 'wrap' or 'symmetric' and use "
                                  f"mode='valid')")


def correlate(in1, in2, mode="full", method="auto"):
    """``scipy.signal.correlate``: z[k] = Σₗ in1[l + k − N + 1] conj(in2[l]), the convolution
    of in1 with in2 reversed and conjugated (``method`` only picks SciPy's algorithm)."""
    return _scipy_convolve("correlate", in1, _reversed_conjugate(in2), mode)


def fftconvolve(in1, in2, mode="full", axes=None):
    """``scipy.signal.fftconvolve``: the convolution of in1 and in2, which equals the FFT's up
    to rounding; computed directly, as :func:`convolve` (``axes`` must be None)."""
    if axes is not None:
        raise NotImplementedError("riesz.scipy.signal.fftconvolve(axes=...): only axes=None "
                                  "(every axis convolved) is supported")
    return _scipy_convolve("fftconvolve", in1, in2, mode)


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """``scipy.signal.convolve2d`` with the zero fill (``boundary='fill'``, ``fillvalue=0``)."""
    _two_dimensional("convolve2d", in1, in2, boundary, fillvalue)
    return convolve(in1, in2, mode=mode)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """``scipy.signal.correlate2d`` with the zero fill: the 2-D :func:`correlate`, except that
    SciPy centres ``mode='same'`` differently for an even-sized in2: rows and columns
    k // 2 … k // 2 + n − 1 of the full correlation (``correlate``'s start at
    (k − 1) // 2)."""
    _two_dimensional("correlate2d", in1, in2, boundary, fillvalue)
    if mode != "same":
        return correlate(in1, in2, mode=mode)
    full = correlate(in1, in2, mode="full")
    return full[tuple(slice(k // 2, k // 2 + n) for n, k in zip(np.shape(in1), np.shape(in2)))]
