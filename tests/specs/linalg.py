import numpy as np

from .case import Case

SPECS = {
    "matmul": [Case(lambda a, b: a @ b, s) for s in
               [[(3, 4), (4, 2)], [(4,), (4, 2)], [(3, 4), (4,)], [(4,), (4,)],
                [(2, 3, 4), (4, 5)], [(2, 1, 3, 4), (5, 4, 2)]]]
    + [Case(lambda a, b: np.dot(a, b), [(2, 3, 4), (5, 4, 2)])],
}
