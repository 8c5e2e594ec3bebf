import numpy as np

import riesz.numpy as rnp
from riesz.core import full_lower   # argsort carries no derivative

from .case import Case

_MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])


def _assign(x, v):
    y = x * 1.0
    y[1] = v                        # a row replaced
    y[_MASK] = 2.0 * y[_MASK]       # a boolean mask
    y[[0, 2], 1:3] += v[:2]         # mixed advanced index and slice, in place add
    return y


def _assign_repeated(x, v):
    y = x + 0.0
    y[[0, 2, 0]] = v                # repeated index: the last write lands
    return y


def _put_along(x, v):
    y = x * 1.0
    np.put_along_axis(y, np.argsort(full_lower(x), axis=1)[:, :1], v, axis=1)
    return y


SPECS = {
    "getitem": [Case(lambda x: x[1:, ::-2], [(3, 4)]), Case(lambda x: x[[0, 2, 0]], [(3, 4)]),
                Case(lambda x: x[..., 1], [(2, 3)]), Case(lambda x: x[None, 0], [(3,)]),
                Case(lambda x: x[_MASK], [(3, 4)]),
                Case(lambda x: x[[0, 2], :, [1, 1]] + x[1:, None, [0, 2], 0].sum(), [(3, 4, 2)]),
                Case(lambda x: np.flip(x, 1) + np.fliplr(x) + np.flipud(x) + np.rot90(x, 2),
                     [(3, 3)]),
                Case(lambda x: np.rot90(x) + np.rot90(x, -1, axes=(1, 0)), [(3, 3)]),
                Case(lambda x: np.pad(x, ((1, 2), (3, 0)), mode="edge"), [(2, 3)]),
                Case(lambda x: np.pad(x, 2, mode="reflect") + np.pad(x, 2, mode="wrap"), [(3,)]),
                Case(lambda x: np.pad(x, ((4, 1), (0, 2)), mode="reflect", reflect_type="odd")
                     + np.pad(x, ((4, 1), (0, 2)), mode="linear_ramp", end_values=(1.0, -2.0)),
                     [(2, 3)]),
                Case(lambda x: np.take(x, [2, 0, 2], axis=1) + np.take(x, [-1, 5, 0], mode="clip"),
                     [(2, 3)]),
                Case(lambda x: np.sort(x, axis=0) + np.partition(x, 1, axis=1), [(3, 3)],
                     domain="separated"),
                Case(lambda x: np.take_along_axis(x, np.argsort(full_lower(x), axis=1), axis=1), [(3, 4)],
                     domain="separated"),
                Case(lambda x: np.diag(x, 1) + np.diag(x)[1:], [(3, 3)]),
                Case(lambda x: np.concatenate([p.sum(0) for p in np.split(x, 2)
                                               + np.array_split(x, 3, axis=1)]), [(2, 4)]),
                Case(lambda x: np.repeat(x, [1, 0, 2], axis=0), [(3, 2)])],
    "scatter_add": [Case(lambda x: np.pad(x, (1, 2), constant_values=3.0), [(3, 2)]),
                    Case(lambda x: np.diag(x, -1) + np.diagflat(np.pad(x, (0, 1))), [(3,)]),
                    Case(lambda x, v: rnp.at(x)[[0, 1, 0]].add(v), [(3,), (3,)])],
    "index_update": [Case(_assign, [(3, 4), (4,)]),
                     Case(_assign_repeated, [(3, 2), (3, 2)]),
                     Case(lambda x, v: rnp.at(x)[1:].set(v) * x, [(3,), ()]),
                     Case(_put_along, [(3, 4), (3, 1)], domain="separated")],
}
