import numpy as np

from riesz.numpy.compat import NUMPY_VERSION

from .case import Case

SPECS = {
    "sum": [Case(np.sum, [(3, 4)]), Case(lambda x: np.sum(x, axis=0), [(3, 4)]),
            Case(lambda x: x.sum(axis=(0, 2), keepdims=True), [(2, 3, 4)]),
            Case(lambda x: np.mean(x, axis=-1), [(2, 3, 4)])],
    "amax": [Case(np.max, [(3, 4)], domain="separated"),
             Case(lambda x: np.amax(x, axis=1, keepdims=True), [(3, 4)], domain="separated"),
             Case(lambda x: np.pad(x, ((1, 2), (2, 1)), mode="maximum", stat_length=2)
                  + np.pad(x, ((1, 2), (2, 1)), mode="mean"), [(3, 4)], domain="separated"),
             Case(lambda x: x.max(axis=0), [(3, 4)], domain="separated")],
    "amin": [Case(np.min, [(3, 4)], domain="separated"),
             Case(lambda x: np.amin(x, axis=(0, 2)), [(2, 3, 4)], domain="separated")],
    "prod": [Case(np.prod, [(3, 4)]), Case(lambda x: np.prod(x, axis=1), [(3, 5)]),
             Case(lambda x: x.prod(axis=(0, 2), keepdims=True), [(2, 3, 3)]),
             Case(lambda x: np.prod(x, axis=0, initial=2.0), [(7, 2)])],
    "cumprod": [Case(lambda x: np.cumprod(x, axis=1), [(3, 5)]), Case(np.cumprod, [(2, 3)])],
    "squared_norm": [Case(np.linalg.norm, [(3, 4)]), Case(lambda x: np.linalg.norm(x, 2), [(5,)]),
                     Case(lambda x: np.linalg.norm(x, "fro", keepdims=True), [(3, 2)]),
                     Case(lambda x: np.linalg.norm(x * (1 + 2j) + 2j), [(2, 3)])],
    "cumsum": [Case(lambda x: np.cumsum(x, axis=1), [(3, 4)]), Case(np.cumsum, [(2, 3)]),
               Case(lambda x: x.cumsum(axis=-1) ** 2, [(2, 2, 3)])],
    # first order: the second derivative needs U and V to be differentiable, which is
    # numpy.linalg.svd's rule (riesz/rules/linalg.py); tests/test_reductions.py checks
    # the values against NumPy
    "singular_values": [Case(lambda x: np.linalg.norm(x, "nuc"), [(4, 3)], order=1),
                        Case(lambda x: np.linalg.norm(x, 2, axis=(2, 0)), [(3, 2, 4)], order=1),
                        Case(lambda x: np.linalg.norm(x, -2), [(3, 3)], order=1)],
}

# NumPy functions built from other primitives, checked the same way
# (tests/test_derived_functions.py)
FUNCTIONS = {
    "var": [Case(np.var, [(3, 4)]), Case(lambda x: np.var(x, axis=0, ddof=1), [(3, 4)]),
            Case(lambda x: x.var(axis=(0, 2), keepdims=True), [(2, 3, 2)])],
    "std": [Case(np.std, [(3, 4)]), Case(lambda x: np.std(x, axis=1, ddof=1, keepdims=True),
                                          [(3, 4)])],
    # NumPy 2.0's mean= (of the keepdims shape): the derivative flows to the given mean too
    **({} if NUMPY_VERSION < (2, 0) else {
        "var-mean": [Case(lambda x, m: np.var(x, axis=1, mean=m), [(3, 4), (3, 1)]),
                     Case(lambda x: np.var(x, mean=np.mean(x, keepdims=True), ddof=1), [(3, 4)])],
        "std-mean": [Case(lambda x: np.std(x, axis=0, mean=np.mean(x, axis=0, keepdims=True)),
                          [(3, 4)])]}),
    "average": [Case(lambda x: np.average(x, axis=1, weights=np.arange(1.0, 5.0)), [(3, 4)]),
                Case(lambda x, w: np.average(x, weights=w), [(3, 4), (3, 4)], domain="positive"),
                Case(lambda x: np.average(x, axis=0), [(3, 4)])],
    "ptp": [Case(np.ptp, [(3, 4)], domain="separated"),
            Case(lambda x: np.ptp(x, axis=1), [(3, 4)], domain="separated")],
    "diagonal": [Case(np.diagonal, [(3, 4)]), Case(lambda x: np.diagonal(x, -1), [(4, 3)]),
                 Case(lambda x: x.diagonal(1, 2, 0), [(3, 2, 4)])],
    "trace": [Case(np.trace, [(3, 3)]), Case(lambda x: np.trace(x, 1, 1, 2), [(2, 3, 4)])],
    "nansum": [Case(lambda x: np.nansum(x * np.array([1.0, np.nan, 2.0])), [(2, 3)]),
               Case(lambda x: np.nansum(x, axis=0), [(2, 3)])],
    "nanmean": [Case(lambda x: np.nanmean(x + np.array([0.0, np.nan, 1.0]), axis=1), [(2, 3)]),
                Case(np.nanmean, [(2, 3)])],
    "median": [Case(np.median, [(3, 5)], domain="separated"),
               Case(lambda x: np.median(x, axis=1), [(3, 4)], domain="separated")],
    "quantile": [Case(lambda x: np.quantile(x, 0.3, axis=1, keepdims=True), [(3, 5)],
                      domain="separated", needs=("quantile keeps float32",)),
                 Case(lambda x: np.quantile(x, [0.2, 0.5], method="lower"), [(7,)],
                      domain="separated")],
    "percentile": [Case(lambda x: np.percentile(x, [10, 90], axis=0), [(6, 2)],
                        domain="separated")],
    "norm": [Case(np.linalg.norm, [(3, 4)]), Case(lambda x: np.linalg.norm(x, axis=1), [(3, 4)]),
             Case(lambda x: np.linalg.norm(x - 1.25, 1), [(5,)], domain="separated"),
             Case(lambda x: np.linalg.norm(x, np.inf, axis=0, keepdims=True), [(3, 4)],
                  domain="separated"),
             Case(lambda x: np.linalg.norm(x + 0.25, -np.inf), [(5,)], domain="separated"),
             Case(lambda x: np.linalg.norm(x, 3.5, axis=-1), [(2, 4)]),
             Case(lambda x: np.linalg.norm(x, "fro", axis=(0, 2)), [(2, 3, 4)]),
             # column (row) sums set 10 apart: no ties between them
             Case(lambda x: np.linalg.norm(x + np.arange(4.0) * 10 - 1.25, 1), [(3, 4)],
                  domain="separated"),
             Case(lambda x: np.linalg.norm(x + np.arange(3.0)[:, None] * 10 - 1.25, -np.inf,
                                           keepdims=True), [(3, 4)],
                  domain="separated")],
}
