"""Attention: Y = softmax(Q Kᵀ · scale) V, row by row.

In the notation of the seed "Deep Learning Derivatives: the right way", with
Q, K, V ∈ ℝ^{t×d}: the pre-attention vectors are Bᵢ = K Qᵢ, the attention
vectors Aᵢ = softmax(Bᵢ), and Yᵢ = Vᵀ Aᵢ.
"""
import numpy as np

__all__ = ["attention"]


def attention(q, k, v, *, causal=False, scale=None):
    """Softmax attention over the last two axes of ``q`` (..., t_q, d), ``k`` (..., t_k, d)
    and ``v`` (..., t_k, d_v), written as a plain composition of differentiable NumPy
    operations; with ``causal`` query i attends to keys j ≤ i."""
    d = q.shape[-1]
    scale = 1.0 / np.sqrt(d) if scale is None else scale
    scores = (q @ np.swapaxes(k, -1, -2)) * scale
    if causal:
        t_q, t_k = scores.shape[-2:]
        allowed = np.tril(np.ones((t_q, t_k), dtype=bool), k=t_k - t_q)
        scores = np.where(allowed, scores, -np.inf)
    scores = scores - np.max(scores, axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / np.sum(weights, axis=-1, keepdims=True)
    return weights @ v
