"""``scipy.linalg`` on traced values: the triangular and Cholesky solves that
Gaussian-process and Kalman-filter code calls, and the matrix exponential, with SciPy's
arguments (``lower``, ``trans``, ``unit_diagonal``; ``cholesky`` is upper triangular by
default, as in SciPy, unlike ``numpy.linalg.cholesky``).

The solves are written with ``numpy.linalg.solve`` on the referenced triangle only
(``np.tril``/``np.triu``), so the gradient with respect to the matrix is triangular too:
entries SciPy never reads get exact zeros; ``solve_banded`` likewise builds the dense
matrix from the stored diagonals. ``eigh``, ``eigvalsh``, ``svd`` and ``qr`` are NumPy's
with SciPy's arguments, and ``block_diag`` pads and stacks. ``expm``, ``sqrtm`` and
``solve_sylvester`` are primitives (:mod:`riesz.rules.scipy_linalg`).
"""
import numpy as np

from ..rules.scipy_linalg import expm, solve_sylvester, sqrtm

__all__ = ["solve_triangular", "solve_banded", "cholesky", "cho_factor", "cho_solve", "expm",
           "sqrtm", "solve_sylvester", "solve", "inv", "det", "eigh", "eigvalsh", "svd", "qr",
           "block_diag"]

_TRANSPOSES = {0: 0, "N": 0, 1: 1, "T": 1, 2: 2, "C": 2}


def _triangle(a, lower, unit_diagonal=False):
    """The triangle of ``a`` SciPy reads: lower or upper, with ones on the diagonal if
    ``unit_diagonal``."""
    if unit_diagonal:
        off = np.tril(a, -1) if lower else np.triu(a, 1)
        return off + np.eye(np.shape(a)[-1], dtype=off.dtype)
    return np.tril(a) if lower else np.triu(a)


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     check_finite=True):
    """x with T x = b for the triangle T of ``a`` (Tᵀ x = b for trans=1 or "T", Tᴴ x = b for
    trans=2 or "C"); ``b`` is (n,) or (n, k)."""
    if trans not in _TRANSPOSES:
        raise ValueError(f"solve_triangular: trans={trans!r}; it must be 0, 1, 2, 'N', 'T' or 'C'")
    t = _triangle(a, lower, unit_diagonal)
    kind = _TRANSPOSES[trans]
    if kind:
        t = np.swapaxes(t, -1, -2)
        t = np.conj(t) if kind == 2 else t
    return np.linalg.solve(t, b)


def solve_banded(l_and_u, ab, b, overwrite_ab=False, overwrite_b=False, check_finite=True):
    """x with a x = b for the banded a stored as SciPy stores it: ``ab[u + i − j, j] = a[i, j]``
    for (l, u) = ``l_and_u`` sub- and superdiagonals. Row r of ``ab`` is the diagonal at
    offset u − r, so a = Σᵣ diag(row r's stored entries, u − r), then a dense solve (the
    gradient reaches the stored entries only)."""
    lower, upper = l_and_u
    n = np.shape(ab)[-1]
    if np.shape(ab)[0] != lower + upper + 1:
        raise ValueError(f"solve_banded: ab has {np.shape(ab)[0]} rows; (l, u) = {l_and_u} "
                         f"needs l + u + 1 = {lower + upper + 1}")
    a = sum(np.diag(ab[r, max(0, upper - r):n + min(0, upper - r)], upper - r)
            for r in range(lower + upper + 1))
    return np.linalg.solve(a, b)


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """The Cholesky factor of a Hermitian positive-definite ``a``: upper U with a = Uᴴ U by
    default (SciPy's convention), lower L with a = L Lᴴ for ``lower=True``."""
    low = np.linalg.cholesky(a)
    return low if lower else np.conj(np.swapaxes(low, -1, -2))


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """``(c, lower)`` for :func:`cho_solve`: c is :func:`cholesky` (zeros in the other
    triangle, where SciPy leaves whatever ``a`` held)."""
    return cholesky(a, lower=lower), lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """x with a x = b, given ``(c, lower) = cho_factor(a)``: two triangular solves."""
    c, lower = c_and_lower
    if lower:    # a = L Lᴴ: L y = b, then Lᴴ x = y
        return solve_triangular(c, solve_triangular(c, b, lower=True), trans=2, lower=True)
    # a = Uᴴ U: Uᴴ y = b, then U x = y
    return solve_triangular(c, solve_triangular(c, b, trans=2), lower=False)


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True,
          assume_a=None, transposed=False):
    """x with a x = b (aᵀ x = b if ``transposed``); the structure hint ``assume_a`` only
    chooses SciPy's algorithm, so every kind is the general solve here."""
    return np.linalg.solve(np.swapaxes(a, -1, -2) if transposed else a, b)


def inv(a, overwrite_a=False, check_finite=True):
    """a⁻¹."""
    return np.linalg.inv(a)


def det(a, overwrite_a=False, check_finite=True):
    """det a."""
    return np.linalg.det(a)


def eigh(a, b=None, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False,
         check_finite=True, subset_by_index=None, subset_by_value=None, driver=None, type=1):
    """The eigenvalues (ascending) and eigenvectors of the Hermitian ``a``, read from its
    lower triangle (``lower=True``, SciPy's default) or upper: ``numpy.linalg.eigh``. The
    generalized problem (``b``) and subsets are not supported."""
    if b is not None or subset_by_index is not None or subset_by_value is not None:
        raise NotImplementedError("riesz.scipy.linalg.eigh: b= (the generalized problem) and "
                                  "subsets are not supported; for b = L Lᴴ, solve with L on "
                                  "both sides of a and call eigh on the result")
    uplo = "L" if lower else "U"
    return np.linalg.eigvalsh(a, UPLO=uplo) if eigvals_only else np.linalg.eigh(a, UPLO=uplo)


def eigvalsh(a, b=None, lower=True, overwrite_a=False, overwrite_b=False, check_finite=True,
             subset_by_index=None, subset_by_value=None, driver=None, type=1):
    """The eigenvalues of the Hermitian ``a``, ascending: :func:`eigh` with
    ``eigvals_only=True``."""
    return eigh(a, b, lower, True, subset_by_index=subset_by_index,
                subset_by_value=subset_by_value)


def svd(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True,
        lapack_driver="gesdd"):
    """``numpy.linalg.svd``: (u, s, vh), or s alone with ``compute_uv=False``."""
    return np.linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)


_QR_MODES = {"full": "complete", "economic": "reduced"}


def qr(a, overwrite_a=False, lwork=None, mode="full", pivoting=False, check_finite=True):
    """``numpy.linalg.qr`` with SciPy's modes: 'full' (q is m × m), 'economic'
    (q is m × k, k = min(m, n)) and 'r', which returns the 1-tuple ``(r,)`` with the full
    m × n r, as SciPy's does (NumPy's k × n r above m − k rows of zeros). Column pivoting
    and mode 'raw' are not supported."""
    if pivoting or mode not in ("full", "economic", "r"):
        raise NotImplementedError(f"riesz.scipy.linalg.qr(mode={mode!r}, pivoting={pivoting}): "
                                  f"the modes 'full', 'economic' and 'r' without pivoting "
                                  f"are supported")
    if mode == "r":
        r = np.linalg.qr(a, mode="r")
        return (np.pad(r, ((0, np.shape(a)[0] - np.shape(r)[0]), (0, 0))),)
    return np.linalg.qr(a, mode=_QR_MODES[mode])


def block_diag(*arrs):
    """The block-diagonal matrix with ``arrs`` (scalars and vectors taken as 1 × n rows) on
    the diagonal and zeros elsewhere: each block padded with zero columns to the full
    width, and the rows stacked."""
    blocks = [np.atleast_2d(a) for a in arrs]
    if any(np.ndim(b) != 2 for b in blocks):
        raise ValueError("arguments in the following positions have dimension greater than 2: "
                         f"{[i for i, b in enumerate(blocks) if np.ndim(b) > 2]}")
    if not blocks:
        return np.empty((1, 0))
    widths = [np.shape(b)[1] for b in blocks]
    dtype = np.result_type(*blocks)
    before = np.cumsum([0] + widths[:-1])
    return np.concatenate([np.pad(b.astype(dtype), ((0, 0), (int(s), int(sum(widths) - s - w))))
                           for b, s, w in zip(blocks, before, widths)], axis=0)
