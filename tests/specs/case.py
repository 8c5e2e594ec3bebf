"""A spec-table case: a NumPy-level function that reaches a primitive, and its random inputs."""
from dataclasses import dataclass, field

import numpy as np
import pytest

from riesz.numpy.compat import ADDED, has_numpy_name


def numpy_lacks(*names):
    """Why the running NumPy cannot run a test of ``numpy.<name>`` (names of
    riesz.numpy.compat.ADDED), or None where it can."""
    missing = [n for n in names if not has_numpy_name(n)]
    return None if not missing else "; ".join(
        f"numpy.{n} is new in NumPy {'.'.join(map(str, ADDED[n][0]))}" for n in missing)


def needs_numpy(*names):
    """A mark that skips a test of ``numpy.<name>`` on a NumPy that lacks it."""
    return pytest.mark.skipif(numpy_lacks(*names) is not None, reason=str(numpy_lacks(*names)))


@dataclass
class Case:
    fn: callable
    shapes: list
    domain: str = "real"         # "real", "positive" (> 0.5), "unit" (in (-0.9, 0.9)), "separated",
    #                              "conditioned", "spaced", "spaced_symmetric" (matrices)
    modes: tuple = ("fwd", "rev")
    order: int = 2
    dtypes: tuple = ("float64", "float32")
    extra: dict = field(default_factory=dict)
    needs: tuple = ()            # NumPy names the case calls that older NumPy lacks (compat.ADDED)

    def args(self, rng, dtype):
        """The random arguments; skips the test where the running NumPy lacks a name in ``needs``."""
        if numpy_lacks(*self.needs):
            pytest.skip(numpy_lacks(*self.needs))
        out = []
        for k, shape in enumerate(self.shapes):
            x = rng.standard_normal(shape)
            if self.domain == "positive":
                x = np.abs(x) + 0.5
            elif self.domain == "unit":
                x = np.tanh(x) * 0.9
            elif self.domain == "separated":
                # distinct values 0.5 apart, and argument k offset by 0.17 k, so no two
                # entries (within or across arguments) come near a tie (max, sort, ...)
                x = rng.permutation(np.arange(int(np.prod(shape)), dtype=float)).reshape(shape)
                x = x * 0.5 + 0.17 * k
            elif self.domain == "conditioned" and len(shape) > 1 and shape[-1] == shape[-2]:
                x = 0.5 * x / np.sqrt(shape[-1]) + 2 * np.eye(shape[-1])   # eigenvalues near 2
            elif self.domain in ("spaced", "spaced_symmetric") and len(shape) > 1:
                x = _spaced(rng, shape, symmetric=self.domain == "spaced_symmetric")   # σ or λ = 1, 2, ...
            out.append(np.asarray(x, dtype=dtype))
        return tuple(out)


def _spaced(rng, shape, symmetric):
    """Matrices U diag(1, 2, ..., k) Vᵀ with random orthonormal U, V (V = U when symmetric):
    well separated singular values or eigenvalues, as derivatives of factorizations need."""
    *batch, m, n = shape
    k = min(m, n)
    u = np.linalg.qr(rng.standard_normal((*batch, m, k)))[0]
    v = u if symmetric else np.linalg.qr(rng.standard_normal((*batch, n, k)))[0]
    return (u * np.arange(1.0, k + 1)) @ np.swapaxes(v, -1, -2)


BROADCAST_PAIRS = [[(3, 4), (3, 4)], [(3, 4), (4,)], [(2, 1, 4), (3, 1)], [(), (2, 3)]]
