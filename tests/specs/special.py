"""Specs for scipy.special's ufuncs (riesz/rules/special.py): empty without SciPy, when
those primitives are not registered either."""
import numpy as np

from .case import Case
from .elementwise import unary, binary

try:
    from scipy import special
    from riesz.rules.special import polygamma
except ImportError:
    special = None

SPECS = {} if special is None else {
    "erf": unary(special.erf),
    "erfc": unary(special.erfc),
    # the unit domain (-0.9, 0.9) stays clear of the poles at ±1
    "erfinv": unary(special.erfinv, "unit"),
    "ndtr": unary(special.ndtr),
    # and far in the left tail (x < −12.5), where Φ(x) itself underflows in float32
    "log_ndtr": unary(special.log_ndtr) + unary(lambda x: special.log_ndtr(-12.0 - x), "positive"),
    "expit": unary(special.expit),
    # logit of (0.05, 0.95)
    "logit": unary(lambda x: special.logit(0.5 + 0.5 * x), "unit"),
    # poles at 0, −1, −2, ...: positive arguments (> 0.5)
    "gammaln": unary(special.gammaln, "positive"),
    "digamma": unary(special.psi, "positive"),
    "polygamma": unary(lambda x: polygamma(2, x), "positive"),
    "i0": unary(special.i0),
    "i1": unary(special.i1),
    # and the cotangent of y where x = 0 (SciPy's xlogy(0, y) = 0): x / y = 0
    "xlogy": binary(special.xlogy, "positive")
    + [Case(lambda y: special.xlogy(np.array([0.0, 1.0, 0.0]), y), [(3,)], domain="positive")],
    "xlog1py": binary(special.xlog1py, "positive"),
}
