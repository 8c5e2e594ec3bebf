import numpy as np

import riesz.numpy as rnp

from .case import Case
from .fft import SHIFT_CASES

SPECS = {
    "reshape": [Case(lambda x: x.reshape(6, -1), [(2, 3, 4)]),
                Case(lambda x: np.ravel(x), [(2, 3)]),
                Case(lambda x: np.atleast_3d(x), [(2, 3)]),
                Case(lambda x: np.squeeze(np.expand_dims(x, (0, 2)), 0), [(2, 3)])],
    "transpose": [Case(lambda x: x.T, [(3, 4)]),
                  Case(lambda x: np.transpose(x, (1, 2, 0)), [(2, 3, 4)]),
                  Case(lambda x: np.moveaxis(x, 0, -1) + np.swapaxes(x, 1, 2).transpose(0, 2, 1).transpose(1, 2, 0), [(2, 3, 4)])],
    "broadcast_to": [Case(lambda x: np.broadcast_to(x, (2, 3, 4)), [(3, 1)]),
                     Case(lambda x: np.tile(x, (2, 1, 3)), [(2, 3)]),
                     Case(lambda x: np.repeat(x, 3, axis=1), [(2, 3)]),
                     Case(lambda x, y: np.broadcast_arrays(x, y)[0] * 2, [(3, 1), (4,)])],
    "concatenate": [Case(lambda x, y: np.concatenate([x, y, x], axis=1), [(2, 3), (2, 1)]),
                    Case(lambda x, y: np.concatenate((x, y), axis=None), [(2, 2), (3,)]),
                    Case(lambda x, y: np.stack([x, y, 2 * x], axis=-1), [(2, 3), (2, 3)]),
                    Case(lambda x, y: np.hstack([x, y])[:3] + np.vstack([x, y]).sum(0), [(3,), (3,)]),
                    Case(lambda x, y: np.column_stack([x, y]) + np.dstack([x, y])[0], [(3,), (3,)]),
                    Case(lambda x: rnp.array([[x[0], 1.0], [x[1] * x[0], x[2]]]), [(3,)])],
    "roll": [Case(lambda x: np.roll(x, (1, -2), axis=(0, 1)), [(3, 4)]),
             Case(lambda x: np.roll(x, 5), [(2, 3)]),
             Case(lambda x: np.roll(x, (1, 2), axis=(1, 1)), [(2, 3, 4)])] + SHIFT_CASES,
}
