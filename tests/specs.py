"""The spec table: how each primitive is tested.

Every primitive in ``riesz.rules.PRIMITIVES`` needs an entry (a test fails
otherwise). Each case is a NumPy-level function that reaches the primitive,
the shapes of its random arguments, and their domain. The cases are checked
with ``check_grads`` to second order in forward and reverse mode, in float64
and float32.
"""
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Case:
    fn: callable
    shapes: list
    domain: str = "real"         # "real", "positive" (> 0.5), "unit" (in (-0.9, 0.9))
    modes: tuple = ("fwd", "rev")
    order: int = 2
    dtypes: tuple = ("float64", "float32")
    extra: dict = field(default_factory=dict)

    def args(self, rng, dtype):
        out = []
        for shape in self.shapes:
            x = rng.standard_normal(shape)
            if self.domain == "positive":
                x = np.abs(x) + 0.5
            elif self.domain == "unit":
                x = np.tanh(x) * 0.9
            elif self.domain == "separated":   # distinct values with gaps (max, sort, ...)
                x = rng.permutation(np.arange(int(np.prod(shape)), dtype=float)).reshape(shape) * 0.5
            out.append(np.asarray(x, dtype=dtype))
        return tuple(out)


BROADCAST_PAIRS = [[(3, 4), (3, 4)], [(3, 4), (4,)], [(2, 1, 4), (3, 1)], [(), (2, 3)]]

SPECS = {
    "add": [Case(lambda x, y: x + y, s) for s in BROADCAST_PAIRS],
    "subtract": [Case(lambda x, y: x - y, s) for s in BROADCAST_PAIRS],
    "multiply": [Case(lambda x, y: x * y, s) for s in BROADCAST_PAIRS],
    "divide": [Case(lambda x, y: x / y, s, domain="positive") for s in BROADCAST_PAIRS],
    "power": [Case(lambda x, y: x ** y, s, domain="positive") for s in BROADCAST_PAIRS]
    + [Case(lambda x: x ** 3, [(3, 2)])],
    "negative": [Case(lambda x: -x, [(3, 4)])],
    "maximum": [Case(lambda x, y: np.maximum(x, y), s) for s in BROADCAST_PAIRS[:2]],
    "minimum": [Case(lambda x, y: np.minimum(x, y), s) for s in BROADCAST_PAIRS[:2]],
    "where": [Case(lambda x, y: np.where(x > 0, x, y), [(3, 4), (4,)]),
              Case(lambda x: np.where(x > 0, x ** 2, 0.0), [(5,)])],
    "exp": [Case(np.exp, [(3, 4)])],
    "log": [Case(np.log, [(3, 4)], domain="positive")],
    "sin": [Case(np.sin, [(3, 4)])],
    "cos": [Case(np.cos, [(3, 4)])],
    "tanh": [Case(np.tanh, [(3, 4)])],
    "sqrt": [Case(np.sqrt, [(3, 4)], domain="positive")],
    "absolute": [Case(np.abs, [(3, 4)], domain="positive"), Case(lambda x: abs(-x), [(4,)],
                                                                domain="positive")],
    "astype": [Case(lambda x: x.astype(np.float64) * 2, [(3,)], dtypes=("float32",)),
               Case(lambda x: x.astype(np.float32) * 2, [(3,)], dtypes=("float64",))],
    "sum": [Case(np.sum, [(3, 4)]), Case(lambda x: np.sum(x, axis=0), [(3, 4)]),
            Case(lambda x: x.sum(axis=(0, 2), keepdims=True), [(2, 3, 4)]),
            Case(lambda x: np.mean(x, axis=-1), [(2, 3, 4)])],
    "reshape": [Case(lambda x: x.reshape(6, -1), [(2, 3, 4)]),
                Case(lambda x: np.ravel(x), [(2, 3)])],
    "transpose": [Case(lambda x: x.T, [(3, 4)]),
                  Case(lambda x: np.transpose(x, (1, 2, 0)), [(2, 3, 4)])],
    "broadcast_to": [Case(lambda x: np.broadcast_to(x, (2, 3, 4)), [(3, 1)])],
    "matmul": [Case(lambda a, b: a @ b, s) for s in
               [[(3, 4), (4, 2)], [(4,), (4, 2)], [(3, 4), (4,)], [(4,), (4,)],
                [(2, 3, 4), (4, 5)], [(2, 1, 3, 4), (5, 4, 2)]]]
    + [Case(lambda a, b: np.dot(a, b), [(2, 3, 4), (5, 4, 2)])],
    "getitem": [Case(lambda x: x[1:, ::-2], [(3, 4)]), Case(lambda x: x[[0, 2, 0]], [(3, 4)]),
                Case(lambda x: x[..., 1], [(2, 3)]), Case(lambda x: x[None, 0], [(3,)])],
    "scatter_add": [Case(lambda x: np.stack([x, 2 * x]), [(3,)])],
}
