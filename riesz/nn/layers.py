"""Layers: Linear, MLP, Embedding, LayerNorm, Dropout, Sequential, MultiHeadAttention.

Each layer is a :class:`~riesz.nn.Module`, so a model built from them is a
pytree of its parameters. Layers with random initial values take an explicit
``rng`` (a ``numpy.random.Generator``): the same generator state gives the same
model. ``dtype`` sets the parameters' floating-point type (float64 by default).
"""
import math
from typing import Any, Callable, Sequence

import numpy as np

from ..core import Tracer
from .attention import attention
from .functions import relu
from .module import Module

__all__ = ["Linear", "MLP", "Embedding", "LayerNorm", "Dropout", "Sequential",
           "MultiHeadAttention"]


def _require_generator(rng, layer):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{layer}: rng must be a numpy.random.Generator (e.g. "
                        f"np.random.default_rng(0)), got {type(rng).__name__}")


class Linear(Module):
    """y = x W + b with W of shape (in_features, out_features).

    The backward pass the seeds derive: for a cotangent ȳ, W̄ = xᵀ ȳ, b̄ = Σ_rows ȳ and
    x̄ = ȳ Wᵀ. W starts uniform in ±1/√in_features (PyTorch's default), b at zero.
    """

    def __init__(self, in_features: int, out_features: int, *, rng: np.random.Generator,
                 bias: bool = True, dtype: Any = np.float64) -> None:
        _require_generator(rng, "Linear")
        bound = 1.0 / np.sqrt(in_features)
        self.weight = rng.uniform(-bound, bound, (in_features, out_features)).astype(dtype)
        self.bias = np.zeros(out_features, dtype=dtype) if bias else None

    def __call__(self, x):
        y = x @ self.weight
        return y if self.bias is None else y + self.bias

    def describe(self) -> str:
        n_in, n_out = np.shape(self.weight)
        return f"Linear({n_in} → {n_out}{'' if self.bias is not None else ', bias=False'})"


class MLP(Module):
    """A stack of Linear layers with ``activation`` between them (not after the last).

    ``widths`` = (in, hidden..., out), e.g. ``MLP([64, 128, 10], rng=rng)``.
    """

    def __init__(self, widths: Sequence[int], *, rng: np.random.Generator,
                 activation: Callable[[Any], Any] = relu, dtype: Any = np.float64) -> None:
        widths = [int(w) for w in widths]
        if len(widths) < 2:
            raise ValueError(f"MLP: widths={widths} needs at least an input and an output width")
        self.layers = [Linear(a, b, rng=rng, dtype=dtype) for a, b in zip(widths, widths[1:])]
        self.activation = activation

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)

    def describe(self) -> str:
        widths = [np.shape(self.layers[0].weight)[0]] + [np.shape(l.weight)[1]
                                                         for l in self.layers]
        return (f"MLP({' → '.join(map(str, widths))}, "
                f"activation={getattr(self.activation, '__name__', self.activation)})")


class Embedding(Module):
    """A lookup table: row ``ids`` of a (num_embeddings, dim) weight, initialised N(0, 1).

    Its derivative is linear in the weight: the cotangent scatters back into the rows
    that were read, adding where an id repeats.
    """

    def __init__(self, num_embeddings: int, dim: int, *, rng: np.random.Generator,
                 dtype: Any = np.float64) -> None:
        _require_generator(rng, "Embedding")
        self.weight = rng.standard_normal((num_embeddings, dim)).astype(dtype)

    def __call__(self, ids):
        if not isinstance(ids, Tracer):   # a staged batch of ids (riesz.jit) stays staged
            ids = np.asarray(ids)
        if not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"Embedding: ids must be integers, got dtype {ids.dtype}")
        return self.weight[ids]

    def describe(self) -> str:
        return f"Embedding({np.shape(self.weight)[0]}, dim={np.shape(self.weight)[1]})"


class LayerNorm(Module):
    """Normalise the last axis to mean 0 and variance 1, then scale and shift:
    y = (x - μ) / √(σ² + eps) · gain + bias."""

    def __init__(self, dim: int, *, eps: float = 1e-5, dtype: Any = np.float64) -> None:
        self.gain = np.ones(dim, dtype=dtype)
        self.bias = np.zeros(dim, dtype=dtype)
        self.eps = eps

    def __call__(self, x):
        centred = x - np.mean(x, axis=-1, keepdims=True)
        variance = np.mean(centred * centred, axis=-1, keepdims=True)
        return centred / np.sqrt(variance + self.eps) * self.gain + self.bias

    def describe(self) -> str:
        return f"LayerNorm({np.shape(self.gain)[0]}, eps={self.eps})"


class Dropout(Module):
    """Zero each entry with probability ``rate`` and scale the rest by 1/(1 - rate), so
    the expectation is unchanged. Called with ``rng=None`` (evaluation) it is the
    identity; training passes a ``numpy.random.Generator``."""
    stochastic = True

    def __init__(self, rate: float) -> None:
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate={rate}; it must lie in [0, 1)")
        self.rate = float(rate)

    def __call__(self, x, *, rng=None):
        if rng is None or self.rate == 0.0:
            return x
        _require_generator(rng, "Dropout")
        keep = rng.random(x.shape) >= self.rate
        return x * (keep / (1.0 - self.rate)).astype(x.dtype)


class Sequential(Module):
    """Apply ``layers`` (modules or plain functions such as ``riesz.nn.relu``) in turn;
    ``rng`` is passed on to the stochastic ones (Dropout). The layers are given one by one,
    as PyTorch does, or as one list, as Flax, Haiku, Equinox and Keras do:
    ``Sequential([Linear(2, 8, rng=rng), relu])``."""

    def __init__(self, *layers: Any) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__}, not a "
                                "module or function; give the layers one by one or as one list")
        self.layers = [layer for layer in layers if isinstance(layer, Module)]
        # plain functions (activations) are static; their positions among the modules
        self.functions = tuple((i, f) for i, f in enumerate(layers)
                               if not isinstance(f, Module))
        self.length = len(layers)

    @property
    def stochastic(self):
        return any(layer.stochastic for layer in self.layers)

    def __call__(self, x, *, rng=None):
        for step in self._steps():
            if isinstance(step, Module) and step.stochastic:
                x = step(x, rng=rng)
            else:
                x = step(x)
        return x

    def _steps(self):
        functions = dict(self.functions)
        modules = iter(self.layers)
        return [functions[i] if i in functions else next(modules) for i in range(self.length)]

    # a list of its steps, as PyTorch's nn.Sequential: model[0], model[1:], len, iteration

    def __len__(self):
        return self.length

    def __iter__(self):
        return iter(self._steps())

    def __getitem__(self, index):
        """Step ``index`` (a module or function); a slice gives a Sequential of those steps."""
        steps = self._steps()
        return Sequential(*steps[index]) if isinstance(index, slice) else steps[index]

    def describe(self) -> str:
        names = [getattr(s, "__name__", None) or type(s).__name__ for s in self._steps()]
        return f"Sequential({', '.join(names)})"


class MultiHeadAttention(Module):
    """Multi-head attention: project to queries, keys and values, split ``heads`` ways,
    attend (``riesz.nn.attention.attention`` on (batch, heads, t, d) arrays), merge the
    heads and project out.

    For x of shape (batch, t, dim): Q = x W_q, K = c W_k, V = c W_v with c the
    ``context`` (x itself for self-attention), each split into heads of width
    dim / heads; Y = concat_h softmax(Q_h K_hᵀ / √d) V_h, and the output is Y W_o.
    With ``causal`` position i attends to positions j ≤ i only.
    """

    def __init__(self, dim: int, heads: int, *, rng: np.random.Generator, causal: bool = False,
                 dtype: Any = np.float64) -> None:
        if dim % heads:
            raise ValueError(f"MultiHeadAttention: dim={dim} is not divisible by heads={heads}")
        self.query = Linear(dim, dim, rng=rng, dtype=dtype)
        self.key = Linear(dim, dim, rng=rng, dtype=dtype)
        self.value = Linear(dim, dim, rng=rng, dtype=dtype)
        self.output = Linear(dim, dim, rng=rng, dtype=dtype)
        self.heads = heads
        self.causal = causal

    def _split(self, x):
        batch, t, dim = x.shape
        return np.swapaxes(np.reshape(x, (batch, t, self.heads, dim // self.heads)), 1, 2)

    def __call__(self, x, context=None):
        context = x if context is None else context
        q, k, v = (self._split(f(y)) for f, y in
                   ((self.query, x), (self.key, context), (self.value, context)))
        # a Python-float scale keeps float32 activations float32
        scale = 1.0 / math.sqrt(q.shape[-1])
        y = attention(q, k, v, causal=self.causal, scale=scale)   # (batch, heads, t, d)
        batch, _, t, _ = y.shape
        return self.output(np.reshape(np.swapaxes(y, 1, 2), (batch, t, -1)))

    def describe(self) -> str:
        dim = np.shape(self.query.weight)[0]
        return f"MultiHeadAttention(dim={dim}, heads={self.heads}, causal={self.causal})"
