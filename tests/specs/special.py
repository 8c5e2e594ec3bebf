"""Specs for scipy.special's ufuncs (riesz/rules/special.py) and scipy.linalg's expm,
solve_sylvester and sqrtm (riesz/rules/scipy_linalg.py): empty without SciPy, when those primitives are not
registered either."""
import numpy as np

from .case import Case
from .elementwise import unary, binary

try:
    from scipy import special
    from riesz.rules.special import polygamma
    from riesz.scipy.linalg import expm, solve_sylvester, sqrtm
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
    # and the cotangent of y where x = 0 (SciPy's xlogy(0, y) = 0): x / y = 0
    "xlogy": binary(special.xlogy, "positive")
    + [Case(lambda y: special.xlogy(np.array([0.0, 1.0, 0.0]), y), [(3,)], domain="positive")],
    "xlog1py": binary(special.xlog1py, "positive"),
    "gamma": unary(special.gamma, "positive"),
    "rgamma": unary(special.rgamma),
    "beta": binary(special.beta, "positive"),
    # (0.1, 1.9) and (0.05, 0.95): clear of the poles at the ends
    "erfcinv": unary(lambda x: special.erfcinv(1.0 + x), "unit"),
    "ndtri": unary(lambda x: special.ndtri(0.5 + 0.5 * x), "unit"),
    "log_expit": unary(special.log_expit),
    "entr": unary(special.entr, "positive"),
    "j0": unary(special.j0),
    # and at x = 0, where J₁'(0) = ½ is the limit of J₀ − J₁/x
    "j1": unary(special.j1) + [Case(lambda x: special.j1(x * np.array([0.0, 1.0])), [(2,)])],
    "y0": unary(special.y0, "positive"),
    "y1": unary(special.y1, "positive"),
    "jv": unary(lambda x: special.jv(2.5, x), "positive") + unary(lambda x: special.jn(3, x)),
    "yv": unary(lambda x: special.yv(1.5, x), "positive"),
    "yn": unary(lambda x: special.yn(2, x), "positive"),
    "iv": unary(lambda x: special.iv(1, x)) + unary(lambda x: special.iv(0.5, x), "positive"),
    "ive": unary(lambda x: special.ive(1, x)) + unary(lambda x: special.ive(0.5, x), "positive"),
    # in x only (the shape parameters have no rule)
    "gammainc": unary(lambda x: special.gammainc(2.5, x), "positive"),
    "gammaincc": unary(lambda x: special.gammaincc(np.array([0.7, 2.0, 3.5, 1.0]), x), "positive"),
    "betainc": unary(lambda x: special.betainc(2.0, 3.5, 0.5 + 0.5 * x), "unit"),
    "expm": [Case(expm, [(3, 3)]), Case(expm, [(2, 3, 3)])],
    # SciPy's are for one matrix (no batch axes) and compute in float64; eigenvalues near 2
    # keep the Sylvester operator X ↦ aX + Xb well conditioned and √a real
    "solve_sylvester": [Case(solve_sylvester, [(3, 3), (3, 3), (3, 3)], "conditioned",
                             dtypes=("float64",))],
    "sqrtm": [Case(sqrtm, [(3, 3)], "conditioned", dtypes=("float64",))],
}
