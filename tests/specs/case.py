"""A spec-table case: a NumPy-level function that reaches a primitive, and its random inputs."""
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Case:
    fn: callable
    shapes: list
    domain: str = "real"         # "real", "positive" (> 0.5), "unit" (in (-0.9, 0.9)), "separated"
    modes: tuple = ("fwd", "rev")
    order: int = 2
    dtypes: tuple = ("float64", "float32")
    extra: dict = field(default_factory=dict)

    def args(self, rng, dtype):
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
            out.append(np.asarray(x, dtype=dtype))
        return tuple(out)


BROADCAST_PAIRS = [[(3, 4), (3, 4)], [(3, 4), (4,)], [(2, 1, 4), (3, 1)], [(), (2, 3)]]
