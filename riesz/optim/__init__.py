"""``riesz.optim``: optimizers whose state is a pytree, gradient clipping, schedules and
Newton's method, built only on riesz's public API."""
from .newton import Newton
from .optimizers import (SGD, Adam, AdamState, AdamW, Optimizer, RMSprop, RMSpropState,
                         SGDState, clip_by_global_norm)
from .schedules import cosine_decay, linear_warmup
from .tree_math import tree_norm

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Newton",
           "clip_by_global_norm", "cosine_decay", "linear_warmup", "tree_norm",
           "SGDState", "AdamState", "RMSpropState"]
