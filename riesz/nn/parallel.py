"""Data-parallel gradients on ``dask.distributed`` workers.

The training set is cut into shards of rows, scattered to the workers once and kept
there. For a batch of rows B (global row numbers) the loss is the mean over B, which
splits by shard: with Bₖ = B ∩ shard k,

    L(θ) = (1/|B|) Σ_{i∈B} ℓᵢ(θ) = Σₖ (|Bₖ|/|B|) Lₖ(θ),   Lₖ = the mean over Bₖ,

so ∇L = Σₖ (|Bₖ|/|B|) ∇Lₖ: each worker computes the gradient of its shard's mean with
:func:`riesz.value_and_grad`, weighs it, and the weighted gradients are summed. Only the
model goes out each step and only gradients come back; the data never moves again.

``nn.fit(model, loss_fn, optimizer, DataParallel(client, x, y), ...)`` trains this way.
"""
from typing import Any, Callable

import numpy as np

from .. import value_and_grad
from ..tree import tree_map

__all__ = ["DataParallel"]


class DataParallel:
    """Training data ``(x, y)`` scattered to the workers of a ``dask.distributed`` client.

    ``shards`` (default: one per worker) contiguous blocks of rows are sent once, with
    ``client.scatter``. ``dp.value_and_grad(loss_fn)(model)`` gives the mean loss over all
    rows and its gradient; ``(model, rows)`` restricts them to the rows numbered ``rows``.
    Iterating gives ``(x, y)`` views whose ``len`` is the number of rows and whose
    ``[rows]`` names a batch, so ``nn.fit`` can draw its minibatches from it::

        from dask.distributed import Client
        dp = DataParallel(Client(), x, y)          # a cluster's client, the training set
        loss, grads = dp.value_and_grad(loss_fn)(model)
        result = nn.fit(model, loss_fn, optimizer, dp, rng=rng)   # or train on it
    """

    def __init__(self, client: Any, x: Any, y: Any, shards: int | None = None) -> None:
        if len(x) != len(y):
            raise ValueError(f"DataParallel: x has {len(x)} rows and y {len(y)}; give one "
                             f"target row per input row")
        shards = shards or max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
        self.client = client
        self.n = len(x)
        self.bounds = np.linspace(0, self.n, shards + 1).astype(int)
        parts = [(x[a:b], y[a:b]) for a, b in zip(self.bounds[:-1], self.bounds[1:])]
        self.shards = client.scatter(parts)   # one future per shard, spread over the workers

    def __len__(self):
        return self.n

    def __iter__(self):
        return iter((_Rows(self), _Rows(self)))

    def value_and_grad(self, loss_fn: Callable[..., Any]) -> Callable[..., Any]:
        """``(model, rows=None, *args) -> (loss, grads)``: the mean of ``loss_fn(model, x, y,
        *args)`` over ``rows`` (all rows by default) and its gradient with respect to
        ``model``, computed shard by shard on the workers and summed there."""
        def vg(model, rows=None, *args):
            rows = np.arange(self.n) if rows is None else _row_numbers(rows, self.n)
            model = self.client.scatter(model, broadcast=True, hash=False)
            parts = []
            for shard, a, b in zip(self.shards, self.bounds[:-1], self.bounds[1:]):
                local = rows[(rows >= a) & (rows < b)] - a
                if local.size:
                    parts.append(self.client.submit(_shard_value_and_grad, loss_fn, model, shard,
                                                    local, local.size / rows.size, args,
                                                    pure=False))
            return self.client.submit(_total, *parts).result()
        return vg


class _Rows:
    """``x`` or ``y`` of a :class:`DataParallel`: ``len`` and ``[rows]`` only (the rows stay
    on the workers; ``[rows]`` names them)."""
    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data

    def __len__(self):
        return self.data.n

    def __getitem__(self, rows):
        return _Batch(self.data, rows)


class _Batch:
    """Rows of a :class:`DataParallel` that one training step uses."""
    __slots__ = ("data", "rows")

    def __init__(self, data, rows):
        self.data, self.rows = data, rows


def _row_numbers(rows, n):
    rows = np.arange(n)[rows]
    return rows if rows.ndim else rows[None]


def _shard_value_and_grad(loss_fn, model, shard, local, weight, args):
    # on a worker: the weighted mean loss of the shard's rows `local`, and its gradient
    x, y = shard
    loss, grads = value_and_grad(loss_fn)(model, x[local], y[local], *args)
    return weight * loss, tree_map(lambda g: weight * g, grads)


def _total(*parts):
    loss = sum(p[0] for p in parts)
    grads = parts[0][1]
    for _, g in parts[1:]:
        grads = tree_map(lambda a, b: a + b, grads, g)
    return loss, grads


def data_parallel_value_and_grad(train, loss_fn):
    """``nn.fit``'s hook: for a :class:`DataParallel` training set, ``(model, x, y, rng) ->
    (loss, grads)`` computed on the workers for the batch ``x`` names; None otherwise."""
    if not isinstance(train, DataParallel):
        return None
    vg = train.value_and_grad(loss_fn)
    return lambda model, x, y, rng: vg(model, x.rows, rng)
