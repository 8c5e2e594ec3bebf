"""The spec table: how each primitive is tested, one module per rule family.

Every primitive in ``riesz.rules.PRIMITIVES`` needs an entry (a test fails
otherwise). Each case is a NumPy-level function that reaches the primitive,
the shapes of its random arguments, and their domain. The cases are checked
with ``check_grads`` to second order in forward and reverse mode, in float64
and float32.
"""
from . import elementwise, reductions, shape, linalg, indexing, fft, special, softmax, numerical

SPECS = {}
for _module in (elementwise, reductions, shape, linalg, indexing, fft, special, softmax,
                numerical):
    for _name, _cases in _module.SPECS.items():
        if _name in SPECS:
            raise ValueError(f"primitive {_name!r} has specs in two modules")
        SPECS[_name] = _cases
