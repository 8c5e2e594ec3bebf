import numpy as np

import riesz

from .case import Case, BROADCAST_PAIRS

SPECS = {
    "add": [Case(lambda x, y: x + y, s) for s in BROADCAST_PAIRS],
    "subtract": [Case(lambda x, y: x - y, s) for s in BROADCAST_PAIRS],
    "multiply": [Case(lambda x, y: x * y, s) for s in BROADCAST_PAIRS],
    "divide": [Case(lambda x, y: x / y, s, domain="positive") for s in BROADCAST_PAIRS],
    "power": [Case(lambda x, y: x ** y, s, domain="positive") for s in BROADCAST_PAIRS]
    + [Case(lambda x: x ** 3, [(3, 2)])],
    "negative": [Case(lambda x: -x, [(3, 4)])],
    "maximum": [Case(lambda x, y: np.maximum(x, y), s, domain="separated")
                for s in BROADCAST_PAIRS[:2]],
    "minimum": [Case(lambda x, y: np.minimum(x, y), s, domain="separated")
                for s in BROADCAST_PAIRS[:2]],
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
    # finite differences see the identity: tests/test_core.py::test_stop_gradient checks it
    "stop_gradient": [Case(lambda x: x * riesz.stop_gradient(x), [(3,)], modes=())],
    "astype": [Case(lambda x: x.astype(np.float64) * 2, [(3,)], dtypes=("float32",)),
               Case(lambda x: x.astype(np.float32) * 2, [(3,)], dtypes=("float64",))],
}
