"""Learning-rate schedules: functions of the step count (0 for the first update).

They are written with NumPy operations (no ``if`` on the step, no ``math``), so they
stage under :func:`riesz.jit`, where the step count is a staged value; for a
concrete step they return a Python float.
"""
from typing import Any, Callable

import numpy as np

from .tree_math import scalar

__all__ = ["cosine_decay", "linear_warmup"]


class cosine_decay:
    """lr(t) = final + (peak − final) · ½ (1 + cos(π · min(t, total_steps) / total_steps))."""

    def __init__(self, peak: float, total_steps: int, final: float = 0.0) -> None:
        if total_steps <= 0:
            raise ValueError(f"cosine_decay: total_steps={total_steps} must be positive")
        self.peak, self.total_steps, self.final = peak, total_steps, final

    def __call__(self, step: Any) -> Any:
        progress = np.minimum(step, self.total_steps) / self.total_steps
        cosine = 0.5 * (1.0 + np.cos(np.pi * progress))
        return scalar(self.final + (self.peak - self.final) * cosine)

    def __repr__(self):
        return f"cosine_decay({self.peak}, total_steps={self.total_steps}, final={self.final})"


class linear_warmup:
    """Ramp linearly up to ``schedule`` over ``warmup_steps``, then follow it:

    lr(t) = s(0) · (t + 1) / warmup_steps for t < warmup_steps, else s(t − warmup_steps),
    with s = ``schedule`` (a number is a constant schedule). Both branches are
    evaluated (s at max(t − warmup_steps, 0)) and ``np.where`` picks one.
    """

    def __init__(self, schedule: Callable[[Any], Any], warmup_steps: int) -> None:
        if warmup_steps <= 0:
            raise ValueError(f"linear_warmup: warmup_steps={warmup_steps} must be positive")
        self.schedule, self.warmup_steps = schedule, warmup_steps

    def _after(self, step):
        return self.schedule(step) if callable(self.schedule) else self.schedule

    def __call__(self, step: Any) -> Any:
        ramp = self._after(0) * (step + 1) / self.warmup_steps
        after = self._after(np.maximum(step - self.warmup_steps, 0))
        return scalar(np.where(step < self.warmup_steps, ramp, after))

    def __repr__(self):
        return f"linear_warmup({self.schedule!r}, warmup_steps={self.warmup_steps})"
