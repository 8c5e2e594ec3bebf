"""``scipy.linalg.expm``, ``solve_sylvester`` and ``sqrtm`` as primitives (imported only when
SciPy is installed).

The derivative of the matrix exponential is its Fréchet derivative L(A, E), read off
the exponential of a block matrix (Mathias 1996; Higham, *Functions of Matrices*, 3.2):

    expm([[A, E], [0, A]]) = [[expm(A), L(A, E)], [0, expm(A)]].

Under the trace inner product ⟨L(A, E), G⟩ = ⟨E, L(Aᵀ, G)⟩, so the transpose is the
Fréchet derivative at Aᵀ (the bilinear transpose; complex A needs no conjugation).
Both rules call the primitive again, on a matrix twice the size, so every order nests.

``solve_sylvester(a, b, q)`` is the X with aX + Xb = q; its rules solve another Sylvester
equation (so they nest too), and ``sqrtm``'s are Sylvester solves with its answer:
S = √A has Ṡ S + S Ṡ = Ȧ. Transposes are the bilinear ones, as for ``expm``.
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


def _sylvester_rhs_jvp(i):
    # ∂X = sylv(a, b, q̇ − ȧ X − X ḃ): the tangent of argument i alone (a: −ȧX, b: −Xḃ, q: q̇)
    def jvp(t, ans, a, b, q):
        rhs = (-(t @ ans), -(ans @ t), t)[i]
        return solve_sylvester(a, b, rhs)
    return jvp


def _sylvester_vjp(i):
    # Λ = sylv(aᵀ, bᵀ, g) solves the adjoint equation aᵀΛ + Λbᵀ = g; then
    # ā = −Λ Xᵀ, b̄ = −Xᵀ Λ, q̄ = Λ
    def vjp(g, ans, a, b, q):
        lam = solve_sylvester(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2), g)
        return (-(lam @ np.swapaxes(ans, -1, -2)), -(np.swapaxes(ans, -1, -2) @ lam), lam)[i]
    return vjp


solve_sylvester = defprim(
    "solve_sylvester", scipy.linalg.solve_sylvester,
    jvp=[_sylvester_rhs_jvp(i) for i in range(3)],
    vjp=[_sylvester_vjp(i) for i in range(3)])
register_import_path(scipy.linalg.solve_sylvester, "scipy.linalg")


# Ṡ = sylv(S, S, Ȧ); the transpose: Ā = sylv(Sᵀ, Sᵀ, G)
sqrtm = defprim(
    "sqrtm", scipy.linalg.sqrtm,
    jvp=[lambda t, ans, a: solve_sylvester(ans, ans, t)],
    vjp=[lambda g, ans, a: solve_sylvester(np.swapaxes(ans, -1, -2), np.swapaxes(ans, -1, -2), g)])
register_import_path(scipy.linalg.sqrtm, "scipy.linalg")
