import numpy as np


from .case import Case
from .fft import _parts


def _sign_fixed(v):
    # eigen/singular vectors are unique up to sign: each column times its first entry is not
    return v * v[..., :1, :]


def _svd_vectors(a):
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate([_sign_fixed(u).ravel(), _sign_fixed(np.swapaxes(vh, -1, -2)).ravel()])


def _svd_phase_free(a):
    # |U|², |V|², σ and U diag(√σ) Vᴴ: each column pair of U and V shares a phase that SVD
    # leaves free, and none of these sees it
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate([(np.abs(u) ** 2).ravel(), (np.abs(vh) ** 2).ravel(), s,
                           _parts((u * np.sqrt(s)) @ vh).ravel()])


def _qr_factors(a):
    q, r = np.linalg.qr(a)
    return np.concatenate([q.ravel(), r.ravel()])


def _hermitian(a, b):
    # a + 0.1i (ab − ba) for symmetric a, b: Hermitian (i times a real antisymmetric
    # matrix), with eigenvalues near a's well separated ones
    return a + 0.1j * (a @ b - b @ a)


_ROTATION = np.array([[0.0, -2.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 5.0]])


SPECS = {
    "matmul": [Case(lambda a, b: a @ b, s) for s in
               [[(3, 4), (4, 2)], [(4,), (4, 2)], [(3, 4), (4,)], [(4,), (4,)],
                [(2, 3, 4), (4, 5)], [(2, 1, 3, 4), (5, 4, 2)]]]
    + [Case(lambda a, b: np.vdot(a, b) + np.inner(a, b).sum(), [(2, 3), (2, 3)]),
       Case(lambda a, b: np.tensordot(a, b, axes=([0, 2], [2, 0])), [(2, 3, 4), (4, 5, 2)]),
       Case(lambda a, b, c: np.linalg.multi_dot([a, b, c]), [(3,), (3, 4), (4,)]),
       Case(lambda a: np.linalg.matrix_power(a, 3) + np.linalg.matrix_power(a, -2), [(3, 3)],
            domain="conditioned"),
       Case(lambda a, b: np.linalg.tensorsolve(a.reshape(2, 3, 6), b), [(6, 6), (2, 3)],
            domain="conditioned")],
    "vecdot": [Case(lambda a, b: np.vecdot(a, b), [(3, 4), (4,)], needs=("vecdot",)),
               Case(lambda a, b: np.vecdot(a, b, axis=0), [(3, 1, 2), (3, 4, 1)],
                    needs=("vecdot",)),
               # complex values, a real result (the real and imaginary parts)
               Case(lambda a, b: (lambda z: np.real(z) + 2 * np.imag(z))(
                   np.linalg.vecdot(a * (1 + 2j), b - 1j)), [(2, 3), (2, 3)],
                    needs=("linalg.vecdot",))],
    "dot_nd": [Case(np.dot, [(2, 3, 4), (4, 2)]), Case(np.dot, [(2, 2, 3), (3,)]),
               Case(np.dot, [(3,), (2, 3, 2)]), Case(np.dot, [(2, 3, 4), (5, 4, 2)])],
    "einsum": [Case(lambda a, b: np.einsum("ij,jk->ik", a, b), [(2, 3), (3, 4)]),
               Case(lambda a: np.einsum("ii->i", a) + np.einsum("ii", a), [(3, 3)]),
               Case(lambda a, b: np.einsum("iij,j->ij", a, b), [(3, 3, 2), (2,)]),
               Case(lambda a, b: np.einsum("...ij,...j", a, b), [(2, 3, 4), (4,)]),
               Case(lambda a, b: np.einsum("ij,k", a, b), [(2, 3), (2,)]),
               Case(lambda a, b, c: np.einsum(a, [0, 1], b, [1, 2], c, [2], [0]),
                    [(2, 3), (3, 4), (4,)]),
               Case(lambda a: np.einsum("ij->", a), [(2, 3)])],
    "inv": [Case(np.linalg.inv, [(3, 3)], domain="conditioned"),
            Case(np.linalg.inv, [(2, 3, 3)], domain="conditioned")],
    "solve": [Case(np.linalg.solve, [(3, 3), (3,)], domain="conditioned"),
              Case(np.linalg.solve, [(2, 3, 3), (3, 2)], domain="conditioned",
                   needs=("linalg.solve(b as matrices)",))],
    "det": [Case(np.linalg.det, [(3, 3)], domain="conditioned"),
            Case(np.linalg.det, [(2, 2, 2)], domain="conditioned")],
    "slogdet": [Case(lambda a: np.linalg.slogdet(a)[1], [(2, 3, 3)], domain="conditioned"),
                Case(lambda a: np.linalg.slogdet(a).logabsdet * np.linalg.slogdet(a).sign,
                     [(3, 3)], domain="conditioned"),
                # a complex matrix (built from two real ones): the sign is a phase that turns
                Case(lambda a, b: _parts(np.linalg.slogdet(a + 1j * b).sign)
                     + np.linalg.slogdet(a + 1j * b).logabsdet, [(3, 3), (3, 3)],
                     domain="conditioned")],
    "cholesky": [Case(np.linalg.cholesky, [(3, 3)], domain="spaced_symmetric"),
                 Case(lambda a: np.linalg.cholesky(a, upper=True), [(2, 3, 3)],
                      domain="spaced_symmetric", needs=("linalg.cholesky(upper=)",)),
                 # a Hermitian positive-definite matrix built from two real ones
                 Case(lambda a, b: _parts(np.linalg.cholesky(
                     (a + 1j * b) @ np.conj(a + 1j * b).T + np.eye(3))), [(3, 3), (3, 3)])],
    "qr": [Case(_qr_factors, [(4, 3)], domain="spaced"),
           Case(lambda a: np.linalg.qr(a).Q, [(2, 3, 3)], domain="conditioned"),
           Case(lambda a: np.linalg.qr(a, mode="r"), [(3, 2)], domain="spaced"),
           # complex (LAPACK's R has a real diagonal, which fixes the factors)
           Case(lambda a, b: _parts(_qr_factors(a + 1j * b)), [(4, 3), (4, 3)])],
    "eigh": [Case(lambda a: np.linalg.eigh(a)[0], [(3, 3)], domain="spaced_symmetric"),
             Case(lambda a: _sign_fixed(np.linalg.eigh(a)[1]), [(3, 3)], domain="spaced_symmetric"),
             Case(lambda a: _sign_fixed(np.linalg.eigh(a, UPLO="U").eigenvectors), [(2, 3, 3)],
                  domain="spaced_symmetric"),
             # Hermitian: eigenvalues, and |V|² (each eigenvector's phase is arbitrary)
             Case(lambda a, b: np.linalg.eigh(_hermitian(a, b))[0], [(3, 3), (3, 3)],
                  domain="spaced_symmetric"),
             Case(lambda a, b: np.abs(np.linalg.eigh(_hermitian(a, b), UPLO="U")[1]) ** 2,
                  [(3, 3), (3, 3)], domain="spaced_symmetric")],
    # distinct eigenvalues: near 0, 3, 6 (real), or near ±2i and 5 (a complex pair, whose
    # real and imaginary parts are the outputs)
    "eig": [Case(lambda a: np.linalg.eigvals(0.3 * a + np.diag([0.0, 3.0, 6.0])), [(3, 3)]),
            Case(lambda a: np.linalg.eig(0.3 * a + np.diag([0.0, 3.0, 6.0]))[1], [(2, 3, 3)]),
            Case(lambda a: _parts(np.linalg.eig(0.3 * a + _ROTATION).eigenvalues), [(3, 3)]),
            Case(lambda a: _parts(np.linalg.eig(0.3 * a + _ROTATION)[1]), [(3, 3)])],
    "eigvalsh": [Case(np.linalg.eigvalsh, [(3, 3)], domain="spaced_symmetric"),
                 Case(lambda a: np.linalg.eigvalsh(a, UPLO="U"), [(2, 3, 3)],
                      domain="spaced_symmetric"),
                 Case(lambda a, b: np.linalg.eigvalsh(_hermitian(a, b), UPLO="U"),
                      [(3, 3), (3, 3)], domain="spaced_symmetric")],
    "svd": [Case(lambda a: np.linalg.svd(a, full_matrices=False)[1], [(4, 3)], domain="spaced"),
            Case(_svd_vectors, [(4, 3)], domain="spaced"),
            Case(_svd_vectors, [(2, 3)], domain="spaced"),
            Case(lambda a: _sign_fixed(np.linalg.svd(a).U), [(2, 3, 3)], domain="spaced"),
            # complex: functions that do not see the singular vectors' phases
            Case(lambda a, b: _svd_phase_free(a + 1j * b), [(4, 3), (4, 3)], domain="spaced"),
            Case(lambda a, b: _svd_phase_free(a + 1j * b), [(2, 3), (2, 3)], domain="spaced")],
    "pinv": [Case(np.linalg.pinv, [(4, 3)], domain="spaced"),
             Case(np.linalg.pinv, [(2, 4)], domain="spaced"),
             Case(lambda a, b: np.linalg.lstsq(a, b)[0] + np.linalg.lstsq(a, b)[1],
                  [(5, 3), (5,)], domain="spaced"),
             Case(lambda a, b: _parts(np.linalg.pinv(a + 1j * b)), [(4, 3), (4, 3)],
                  domain="spaced")],
}
