import numpy as np

from .case import Case

SPECS = {
    "sum": [Case(np.sum, [(3, 4)]), Case(lambda x: np.sum(x, axis=0), [(3, 4)]),
            Case(lambda x: x.sum(axis=(0, 2), keepdims=True), [(2, 3, 4)]),
            Case(lambda x: np.mean(x, axis=-1), [(2, 3, 4)])],
    "amax": [Case(np.max, [(3, 4)], domain="separated"),
             Case(lambda x: np.amax(x, axis=1, keepdims=True), [(3, 4)], domain="separated"),
             Case(lambda x: x.max(axis=0), [(3, 4)], domain="separated")],
    "amin": [Case(np.min, [(3, 4)], domain="separated"),
             Case(lambda x: np.amin(x, axis=(0, 2)), [(2, 3, 4)], domain="separated")],
}
