"""``scipy.linalg.expm`` as a primitive (imported only when SciPy is installed).

The derivative of the matrix exponential is its Fréchet derivative L(A, E), read off
the exponential of a block matrix (Mathias 1996; Higham, *Functions of Matrices*, 3.2):

    expm([[A, E], [0, A]]) = [[expm(A), L(A, E)], [0, expm(A)]].

Under the trace inner product ⟨L(A, E), G⟩ = ⟨E, L(Aᵀ, G)⟩, so the transpose is the
Fréchet derivative at Aᵀ (the bilinear transpose; complex A needs no conjugation).
Both rules call the primitive again, on a matrix twice the size, so every order nests.
"""
import numpy as np
import scipy.linalg

from .define import register_import_path, defprim, shape_of


def _frechet(a, e):
    """L(a, e): the top-right block of expm([[a, e], [0, a]]), for (..., n, n) a and e."""
    n = shape_of(a)[-1]
    zeros = 0.0 * a     # an operation, not a constant: a staged program stays small
    block = np.concatenate([np.concatenate([a, e], axis=-1),
                            np.concatenate([zeros, a], axis=-1)], axis=-2)
    return expm(block)[..., :n, n:]


expm = defprim(
    "expm", scipy.linalg.expm,
    jvp=[lambda t, ans, a: _frechet(a, t)],
    vjp=[lambda g, ans, a: _frechet(np.swapaxes(a, -1, -2), g)])
register_import_path(scipy.linalg.expm, "scipy.linalg")
