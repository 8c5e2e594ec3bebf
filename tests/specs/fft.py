import numpy as np

from .case import Case

_W = np.linspace(0.5, 1.5, 4)   # a real filter on the 4 rfft frequencies of a length-6 signal


def _parts(z):
    # a complex result as its real and imaginary parts: every spec case has a real output
    # (the vmap test compares forward- and reverse-mode Jacobians, which for complex outputs
    # differ by convention); the parts carry the whole R-linear derivative
    return np.stack([np.real(z), np.imag(z)])


def _filtered(x, **kw):
    # real → real: filter in the frequency domain, back to the signal
    return np.fft.irfft(np.fft.rfft(x, **kw) * _W, n=6, **kw)


SPECS = {
    "fftn": [Case(lambda x: _parts(np.fft.fft(x)), [(4,)]),
             Case(lambda x: _parts(np.fft.ifft(np.fft.fft(x, n=6) * 1j, norm="ortho")), [(2, 4)]),
             Case(lambda x: _parts(np.fft.fft2(x, s=(3, 5), norm="forward")), [(2, 4, 3)]),
             Case(lambda x: _parts(np.fft.ifftn(x, axes=(0,)) + np.fft.ifft2(x)), [(3, 4)])],
    "rfft": [Case(lambda x: _parts(np.fft.rfft(x)), [(6,)]),
             Case(lambda x: _parts(np.fft.rfft(x, n=5, axis=0, norm="ortho")), [(4, 3)]),
             Case(lambda x: _parts(np.fft.rfftn(x)), [(2, 3, 4)]),
             Case(lambda x: _parts(np.fft.rfft2(x, norm="forward")), [(3, 4)]),
             # ihfft is conj(rfft) with the scaling direction swapped
             Case(lambda x: _parts(np.fft.ihfft(x)), [(6,)]),
             Case(lambda x: _parts(np.fft.ihfft(x, n=4, axis=0, norm="forward")), [(5, 2)])],
    "rfft_transpose": [Case(_filtered, [(6,)]), Case(lambda x: _filtered(x, norm="ortho"), [(2, 6)])],
    "irfft": [Case(lambda z: np.fft.irfft(z * (1 + 0.5j)), [(4,)]),
              Case(lambda z: np.fft.irfft(z * 1j, n=5, axis=0, norm="forward"), [(3, 2)]),
              Case(lambda z: np.fft.irfftn(z * (1 - 1j), s=(3, 4), axes=(1, 2)), [(2, 3, 3)]),
              Case(lambda z: np.fft.irfft2(z + 0j, norm="ortho"), [(3, 4)]),
              # hfft is irfft of the conjugate with the scaling direction swapped
              Case(lambda x: np.fft.hfft(x), [(4,)]),
              Case(lambda x, y: np.fft.hfft(x + 1j * y, n=5, norm="ortho"), [(3,), (3,)])],
    "irfft_transpose": [Case(lambda z: _parts(np.fft.rfft(np.fft.irfft(z + 2j * z, n=5))), [(3,)]),
                        Case(lambda z: _filtered(np.fft.irfft(z, n=6)), [(4,)])],
}

# shifting is a roll, so these reach concatenate; checked here with the other FFT names
SHIFT_CASES = [Case(lambda x: np.fft.fftshift(x) + np.fft.ifftshift(x, axes=0), [(3, 4)]),
               Case(lambda x: np.fft.ifftshift(np.fft.fftshift(x, axes=(0,))), [(5,)])]
