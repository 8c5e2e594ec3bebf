"""Newton's method for small problems, with Hessian-vector products and conjugate gradients.

The seeds describe a Newton step as minimising the local quadratic model
f(x + d) ≈ f(x) + ⟨∇f(x), d⟩ + ½ ⟨d, H d⟩: its minimiser solves H d = −∇f(x).
The Hessian is never formed: conjugate gradients needs only products H v,
and H v = ∇ₓ⟨∇f(x), v⟩, the gradient of the directional derivative, comes from
:func:`riesz.hvp` for any pytree of parameters (a model, say).
"""
from typing import Any, Callable

import numpy as np

from .. import hvp, value_and_grad
from ..core import Tracer
from ..staging import ConcretizationError
from ..tree import tree_leaves
from .tree_math import tree_axpy, tree_norm, tree_scale, tree_vdot, tree_zeros_like

__all__ = ["Newton"]


class Newton:
    """Damped Newton steps: solve (H + λI) d = −∇f(x) by conjugate gradients, then take
    x + t d with t from backtracking (Armijo) line search.

    ``damping`` λ ≥ 0 regularises an ill-conditioned H. Conjugate gradients stops after
    ``cg_iters`` iterations (by default the number of parameters, where it is exact in
    exact arithmetic), when the residual falls below ``cg_tol`` · ‖∇f‖, or on meeting a
    direction of non-positive curvature (then it keeps the direction found so far, or
    the steepest-descent direction if it has none).

    It runs eagerly only: conjugate gradients and the line search decide when to stop
    from the values they meet, which a program staged by :func:`riesz.jit` cannot do.
    """

    def __init__(self, damping: float = 0.0, cg_iters: int | None = None, cg_tol: float = 1e-10,
                 line_search: bool = True) -> None:
        self.damping, self.cg_iters, self.cg_tol = damping, cg_iters, cg_tol
        self.line_search = line_search

    def step(self, f: Callable[..., Any], params: Any) -> Any:
        """One Newton step on the real-scalar function ``f`` of the pytree ``params``:
        ``(new params, info)`` with info = {"loss", "grad_norm", "cg_iters", "step_size"}."""
        if any(isinstance(leaf, Tracer) and leaf.abstract for leaf in tree_leaves(params)):
            raise ConcretizationError(
                "Newton.step cannot be staged by riesz.jit: conjugate gradients and the line "
                "search stop on the values they meet. Call it outside riesz.jit (the function "
                "f it minimises may itself be jitted)")
        loss, g = value_and_grad(f)(params)
        g_norm = tree_norm(g)
        info = {"loss": float(loss), "grad_norm": g_norm, "cg_iters": 0, "step_size": 0.0}
        if g_norm == 0.0:
            return params, info
        direction, info["cg_iters"] = self._solve(f, params, g, g_norm)
        t = self._step_size(f, params, float(loss), g, direction) if self.line_search else 1.0
        info["step_size"] = t
        return tree_axpy(t, direction, params), info

    def minimize(self, f: Callable[..., Any], params: Any, steps: int = 20, tol: float = 1e-8) -> Any:
        """Newton steps until ‖∇f‖ ≤ ``tol`` or ``steps`` are taken: ``(params, infos)``."""
        infos = []
        for _ in range(steps):
            params, info = self.step(f, params)
            infos.append(info)
            if info["grad_norm"] <= tol:
                break
        return params, infos

    def _solve(self, f, x, g, g_norm):
        """Conjugate gradients for (H + λI) d = −g, starting from d = 0."""
        n = sum(np.size(leaf) for leaf in tree_leaves(x))
        max_iters = self.cg_iters or n
        d = tree_zeros_like(x)
        r = tree_scale(-1.0, g)             # residual −g − (H + λI) d
        p = r
        rr = tree_vdot(r, r)
        for k in range(max_iters):
            hp = hvp(f, (x,), (p,))
            if self.damping:
                hp = tree_axpy(self.damping, p, hp)
            curvature = tree_vdot(p, hp)
            if curvature <= 0.0:            # the quadratic model is unbounded along p
                return (r if k == 0 else d), k
            alpha = rr / curvature
            d = tree_axpy(alpha, p, d)
            r = tree_axpy(-alpha, hp, r)
            rr_new = tree_vdot(r, r)
            if np.sqrt(rr_new) <= self.cg_tol * g_norm:
                return d, k + 1
            p = tree_axpy(rr_new / rr, p, r)
            rr = rr_new
        return d, max_iters

    @staticmethod
    def _step_size(f, x, loss, g, d, shrink=0.5, sufficient=1e-4, min_step=1e-10):
        """Backtracking: the first t in 1, ½, ¼, ... with f(x + t d) ≤ f(x) + c t ⟨∇f, d⟩."""
        slope = tree_vdot(g, d)
        t = 1.0
        while t > min_step:
            trial = float(f(tree_axpy(t, d, x)))
            if np.isfinite(trial) and trial <= loss + sufficient * t * slope:
                return t
            t *= shrink
        return 0.0
