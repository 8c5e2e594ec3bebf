"""A user's program, type-checked (never run) by tests/test_typecheck.py with mypy.

The plain lines must pass; each line marked ``# type: ignore[code]`` is a misuse that the
public API's hints must catch (mypy's ``warn_unused_ignores`` reports the marker when the
hints let the misuse through), so the test fails if a hint is lost or loosened to ``Any``.
"""
from typing import Any, Callable

import numpy as np

import riesz
from riesz import nn, optim
from riesz.testing import check_grads


def program() -> None:
    """Never called: the module imports without running anything."""
    def f(x: Any) -> Any:
        return riesz.numpy.sum(riesz.numpy.sin(x) ** 2)

    x = np.linspace(0.0, 1.0, 5)
    df: Callable[..., Any] = riesz.grad(f)
    value_and_df: Callable[..., Any] = riesz.value_and_grad(f, argnums=(0,))
    y, pullback = riesz.vjp(f, x)
    y2, ydot = riesz.jvp(f, (x,), (np.ones(5),))
    H: Callable[..., Any] = riesz.hessian(f)
    Hv = riesz.hvp(f, (x,), (np.ones(5),))
    y3, linear_map = riesz.linearize(f, x)
    applied = linear_map(np.ones(5))
    batched: Callable[..., Any] = riesz.vmap(f, in_axes=0)
    fast: Callable[..., Any] = riesz.jit(f, static_argnums=())
    text: str = riesz.source(f, x)
    leaves, treedef = riesz.tree_flatten({"a": x})
    again = riesz.tree_unflatten(treedef, leaves)
    check_grads(f, (x,), order=2, modes=("fwd", "rev"))

    riesz.grad(f, argnums="x")                     # type: ignore[arg-type]
    riesz.jit(f, fuse=3)                           # type: ignore[arg-type]
    count: int = riesz.source(f, x)                # type: ignore[assignment]
    check_grads(f, (x,), order="2")                # type: ignore[arg-type]

    rng = np.random.default_rng(0)
    model = nn.MLP([5, 8, 1], rng=rng)
    loaded: nn.MLP = model.load("checkpoint.npz")
    same: nn.MLP = nn.load("checkpoint.npz", like=model)
    wrong: int = nn.load("checkpoint.npz", like=model)   # type: ignore[assignment]
    names: dict[str, Any] = model.named_parameters()
    nn.Linear("5", 1, rng=rng)                     # type: ignore[arg-type]
    nn.Dropout(rate="half")                        # type: ignore[arg-type]
    nn.save(3.5, model)                            # type: ignore[arg-type]

    opt = optim.AdamW(lr=optim.cosine_decay(1e-3, 100), weight_decay=0.01)
    state = opt.init(model)
    model, state = opt.update(model, model, state)
    optim.SGD(lr="fast")                           # type: ignore[arg-type]

    def loss_fn(model: nn.MLP, x: Any, y: Any, rng: Any) -> Any:
        return nn.mse(model(x), y)

    result = nn.fit(model, loss_fn, opt, (x[:, None], x), rng=rng, epochs=2,
                    checkpoint="run.npz", every=10)
    interrupted: bool = result.interrupted
    trained, opt_state, history = result
    nn.fit(model, loss_fn, opt, (x, x), rng=rng, epochs=1.5)   # type: ignore[arg-type]
    nn.fit(model, loss_fn, opt, (x, x), rng=0)                 # type: ignore[arg-type]
    scores: dict[str, float] = nn.evaluate(model, loss_fn, (x, x))
