import numpy as np

from .case import Case

SPECS = {
    "reshape": [Case(lambda x: x.reshape(6, -1), [(2, 3, 4)]),
                Case(lambda x: np.ravel(x), [(2, 3)])],
    "transpose": [Case(lambda x: x.T, [(3, 4)]),
                  Case(lambda x: np.transpose(x, (1, 2, 0)), [(2, 3, 4)])],
    "broadcast_to": [Case(lambda x: np.broadcast_to(x, (2, 3, 4)), [(3, 1)])],
}
