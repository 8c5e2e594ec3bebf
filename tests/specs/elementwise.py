import numpy as np

import riesz
from riesz.rules.define import zero_safe_multiply
from riesz.rules.elementwise import i1

from .case import Case, BROADCAST_PAIRS


def unary(fn, domain="real"):
    return [Case(fn, [(3, 4)], domain=domain)]


def binary(fn, domain="real", pairs=BROADCAST_PAIRS):
    return [Case(fn, s, domain=domain) for s in pairs]


SPECS = {
    "add": binary(lambda x, y: x + y),
    "subtract": binary(lambda x, y: x - y),
    "multiply": binary(lambda x, y: x * y),
    "divide": binary(lambda x, y: x / y, "positive") + binary(np.divide, "positive")[:1],
    "power": binary(lambda x, y: x ** y, "positive")
    + [Case(lambda x: x ** 3, [(3, 2)]),
       Case(lambda x, y: np.float_power(x, y), [(3,), (3,)], domain="positive")],
    "negative": unary(lambda x: -x),
    # arguments on the grid 0.5ℤ against bounds on 0.5ℤ + 0.25: no sample near a tie
    "maximum": binary(lambda x, y: np.maximum(x, y + 0.25), "separated", BROADCAST_PAIRS[:2])
    + [Case(lambda x: np.clip(x, -0.25, 1.25), [(3, 4)], domain="separated")],
    "minimum": binary(lambda x, y: np.minimum(x + 0.25, y), "separated", BROADCAST_PAIRS[:2])
    + [Case(lambda x, lo, hi: np.clip(x, lo - 3.75, hi + 1.25), [(3, 4), (4,), (3, 1)],
            domain="separated")],
    "fmax": binary(lambda x, y: np.fmax(x, y + 0.25), "separated", BROADCAST_PAIRS[:2])
    + [Case(lambda x: np.fmax(x, np.array([np.nan, 0.25, 1.25])), [(2, 3)], domain="separated")],
    "fmin": binary(lambda x, y: np.fmin(x + 0.25, y), "separated", BROADCAST_PAIRS[:2])
    + [Case(lambda x: np.fmin(np.array([np.nan, 0.25, 1.25]), x), [(2, 3)], domain="separated")],
    "where": [Case(lambda x, y: np.where(x > 0.25, x, y), [(3, 4), (4,)], domain="separated"),
              Case(lambda x: np.where(x > 0, x ** 2, 0.0), [(5,)])],
    "logaddexp": binary(np.logaddexp),
    "logaddexp2": binary(np.logaddexp2),
    # both singular at the origin: kept a distance 1.5 away from it
    "arctan2": binary(lambda y, x: np.arctan2(y, np.exp(x) + 1.0)),
    "hypot": binary(lambda x, y: np.hypot(np.exp(x) + 1.0, y)),
    # kinks at 0: arguments on the grid 0.5ℤ - 1.25, a distance 0.25 or more from them
    "copysign": binary(lambda x, y: np.copysign(x - 1.25, y - 1.25), "separated",
                       BROADCAST_PAIRS[:2]),
    # quotients (x/2 + 5)/(y/2 + 3.5) stay in (1.15, 1.79): ⌊·⌋ = 1 near every sample
    "remainder": binary(lambda x, y: np.remainder(x * 0.5 + 5.0, y * 0.5 + 3.5), "unit")
    + [Case(lambda x: (x * 0.5 + 5.0) % 3.5, [(4,)], domain="unit")],
    # quotients in (-1.79, -1.15): trunc(·) = -1 (where floor would give -2) near every sample
    "fmod": binary(lambda x, y: np.fmod(-(x * 0.5 + 5.0), y * 0.5 + 3.5), "unit"),
    "exp": unary(np.exp),
    "exp2": unary(np.exp2),
    "expm1": unary(np.expm1),
    "log": unary(np.log, "positive"),
    "log2": unary(np.log2, "positive"),
    "log10": unary(np.log10, "positive"),
    "log1p": unary(np.log1p, "positive"),
    "sqrt": unary(np.sqrt, "positive"),
    "cbrt": unary(np.cbrt, "positive"),
    "square": unary(np.square),
    "reciprocal": unary(np.reciprocal, "positive"),
    "sin": unary(np.sin),
    "cos": unary(np.cos),
    "tan": unary(np.tan, "unit"),
    "arcsin": unary(np.arcsin, "unit"),
    "arccos": unary(np.arccos, "unit"),
    "arctan": unary(np.arctan),
    "sinh": unary(np.sinh),
    "cosh": unary(np.cosh),
    "tanh": unary(np.tanh),
    "arcsinh": unary(np.arcsinh),
    "arccosh": unary(lambda x: np.arccosh(x + 1.0), "positive"),
    "arctanh": unary(np.arctanh, "unit"),
    "fabs": unary(lambda x: np.fabs(x - 1.25), "separated"),
    "sinc": unary(np.sinc) + unary(lambda x: np.sinc(x * 1e-4)),
    # numpy.i0; I₁ (I₀') has no NumPy name: the primitive itself, and near its limit at 0
    "i0": unary(np.i0) + unary(lambda x: np.i0(x * 4.0)),
    "i1": unary(i1) + unary(lambda x: i1(x * 1e-3)),
    "absolute": [Case(lambda x: np.abs(x - 1.25), [(3, 4)], domain="separated"),
                 Case(lambda x: abs(1.25 - x), [(4,)], domain="separated"),
                 Case(lambda x, y: np.abs(x + 1j * y), [(3,), (3,)])],
    # complex values built from real arguments: the real-linear rules of Re, Im, conj
    "real": [Case(lambda x, y: np.real((x + 1j * y) ** 2), [(3,), (3, 1)]),
             Case(lambda x: np.real(np.exp(1j * x)), [(4,)])],
    "imag": [Case(lambda x, y: np.imag(np.sin(x + 1j * y)), [(3,), (3,)]),
             Case(lambda x: np.angle(np.exp(x) + 1j * x, deg=True), [(4,)])],
    "conjugate": [Case(lambda x, y: np.abs(np.conj(x + 1j * y) * (y - 2j * x)), [(3,), (3,)])],
    "zero_safe_multiply": binary(zero_safe_multiply),
    # finite differences see the identity: tests/test_core.py::test_stop_gradient checks it
    "stop_gradient": [Case(lambda x: x * riesz.stop_gradient(x), [(3,)], modes=())],
    "astype": [Case(lambda x: x.astype(np.float64) * 2, [(3,)], dtypes=("float32",)),
               Case(lambda x: x.astype(np.float32) * 2, [(3,)], dtypes=("float64",)),
               Case(lambda x: np.abs(x.astype(np.complex128) * (1 + 2j) + 2j), [(3,)])],
}

# NumPy functions built from other primitives, checked the same way
# (tests/test_derived_functions.py)
FUNCTIONS = {
    "positive": unary(np.positive),
    "deg2rad": unary(np.deg2rad) + unary(np.radians),
    "rad2deg": unary(np.rad2deg) + unary(np.degrees),
    "float_power": binary(np.float_power, "positive", BROADCAST_PAIRS[:2]),
    "clip": [Case(lambda x: np.clip(x, -0.25, None), [(5,)], domain="separated"),
             Case(lambda x: x.clip(max=1.25), [(5,)], domain="separated")],
    "angle": [Case(lambda x, y: np.angle(x + 1j * y), [(3,), (3,)])],
}
