"""riesz: derivatives of NumPy code, as linear maps.

The derivative ∂f(x) of f at x is the linear map that takes a small change ẋ
to the change in f. Forward mode evaluates it (``jvp``), reverse mode applies
its transpose to a cotangent (``vjp``), and the gradient is the vector that
represents it under the inner product (``grad``). See README.md.
"""
from . import numpy, tree, tree_util  # noqa: F401
from .core import NoRuleError, EscapedTracerError
from .custom import custom_vjp, custom_jvp, checkpoint, remat
from .batching import vmap
from .linear_map import LinearMap, linearize, linear_transpose
from .vspace import vspace
from .rules.elementwise import stop_gradient
from .transforms import grad, value_and_grad, vjp, jvp
from .transforms import elementwise_grad
from .transforms import hessian_vector_product, make_hvp, make_ggnvp, make_vjp, make_jvp
from .tree import register_pytree_node, tree_flatten, tree_unflatten, tree_map, tree_leaves
from .staging import trace, Program, ConcretizationError, source, graph, jit
# staged per structural key of the recorded forward pass, answering as eager (docs/source.md)
from .staging.replay import jacfwd, jacrev, jacobian, hessian, hvp
from .debug import config, debug_nans
from . import testing  # noqa: F401  (riesz.testing.check_grads after a plain `import riesz`)

__version__ = "0.1.0"


__all__ = ["grad", "value_and_grad", "vjp", "jvp", "numpy", "tree", "NoRuleError",
           "EscapedTracerError",
           "custom_vjp", "stop_gradient",
           "custom_jvp", "checkpoint", "remat", "vmap",
           "LinearMap", "linearize", "linear_transpose",
           "jacfwd", "jacrev", "jacobian", "hessian", "hvp", "elementwise_grad",
           "hessian_vector_product", "make_hvp", "make_ggnvp", "make_vjp", "make_jvp",
           "register_pytree_node", "tree_flatten", "tree_unflatten", "tree_map", "tree_leaves"]
# staging (docs/source.md)
__all__ += ["trace", "Program", "ConcretizationError", "source", "graph", "jit"]
# the vector space of a value (riesz.vspace)
__all__ += ["vspace"]
# debugging (riesz.debug): riesz.config.debug_nans, and the same for a block
__all__ += ["config", "debug_nans"]


def __getattr__(name):
    """``riesz.nn``, ``riesz.optim``, ``riesz.scipy`` and ``riesz.misc`` after a plain
    ``import riesz`` (as ``jax.nn`` after ``import jax``), imported on first use."""
    if name in ("nn", "optim", "scipy", "misc"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    if name in _JAX_ONLY:
        raise AttributeError(f"module 'riesz' has no attribute {name!r} (JAX's jax.{name}): "
                             f"{_JAX_ONLY[name]}")
    raise AttributeError(f"module 'riesz' has no attribute {name!r}")


# JAX modules with no riesz counterpart, and what a port writes instead
_JAX_ONLY = {
    "lax": "write Python loops and ifs for lax.fori_loop, lax.scan, lax.cond and lax.while_loop "
           "(riesz traces them as eager code; under riesz.jit a branch on a value raises), and "
           "riesz.stop_gradient for lax.stop_gradient",
    "random": "draw with NumPy, rng = numpy.random.default_rng(seed), and pass the draws in "
              "(riesz.nn layers take rng=)",
    "checkpoint_policies": "riesz.checkpoint saves the inputs of the checkpointed function "
                           "whatever the policy (it accepts policy= and ignores it): leave "
                           "policy= out",
    "ad_checkpoint": "riesz.checkpoint saves the inputs of the checkpointed function only; "
                     "checkpoint_name and print_saved_residuals have no counterpart",
}
