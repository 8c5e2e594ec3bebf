"""Attention with hand-derived backward passes and a fused, memory-efficient kernel.

In the notation of the seed "Deep Learning Derivatives: the right way", with
Q ∈ ℝ^{t_q×d}, K ∈ ℝ^{t_k×d}, V ∈ ℝ^{t_k×d_v} and a scale s:

* the pre-attention vectors are Bᵢ = s K Qᵢ (row i of B = s Q Kᵀ),
* the attention vectors Aᵢ = f(Bᵢ) project them with a normalizer:
  ``"softmax"``  Aᵢ = f_α(exp Bᵢ), α(x) = (Σⱼ xⱼ)⁻¹ (the simplex after exponentiation);
  ``"simplex"``  Aᵢ = f_α(Bᵢ) = Bᵢ / Σⱼ Bᵢⱼ, on nonnegative scores;
  ``"sphere"``   Aᵢ = f_β(Bᵢ) = Bᵢ / ‖Bᵢ‖, β(x) = (xᵀx)^{-1/2};
* the outputs are Yᵢ = Vᵀ Aᵢ, i.e. Y = A V.

With G = ∇_Y L, D = rowsum(G ⊙ Y) and dA = G Vᵀ, the gradients are (docs/attention.md
derives them): ∇_V = Aᵀ G, ∇_Q = s dB K, ∇_K = s dBᵀ Q, where row by row

* softmax: dB = A ⊙ (dA − D uᵀ),
* simplex: dB = α ⊙ (dA − D uᵀ),       α = 1 / rowsum(B),
* sphere:  dB = β ⊙ (dA − A ⊙ D uᵀ),   β = 1 / ‖row of B‖,

and masked entries of dB are zero. Every normalizer needs one number per row to
rebuild A from B (the row *statistic*): log Σ exp for softmax, the row sum for the
simplex, the row norm for the sphere. The fused kernel keeps only that statistic
and recomputes A block by block in the backward pass.
"""
import collections
import functools
from typing import Any

import numpy as np

from ..core import Tracer, full_lower
from ..custom import custom_vjp
from ..rules.define import unbroadcast

__all__ = ["attention", "NORMALIZERS", "IMPLS"]

NORMALIZERS = ("softmax", "simplex", "sphere")
IMPLS = ("auto", "naive", "fused")

# impl="auto" materializes the scores when batch·t_q·t_k is at most this many entries
# (8 MiB in float32); beyond it the fused kernel is faster here, as well as O(t·d) in memory
AUTO_NAIVE_MAX_SCORES = 1 << 21
# the fused kernel's default blocks: 1024 keys, and as many query rows (16 to 1024) as keep
# a block of scores over all batch entries at 2²⁰ entries (4 MiB in float32). At t = 1024,
# d = 64 on one thread 256 to 512 rows were as fast (within this machine's noise), and with
# threaded BLAS 1024 rows were faster: fewer, larger products
DEFAULT_KEY_BLOCK = 1024
DEFAULT_BLOCK_ENTRIES = 1 << 20


def attention(q: Any, k: Any, v: Any, *, normalizer: str = "softmax", mask: Any = None,
              causal: bool = False, scale: float | None = None, impl: str = "auto",
              block_size: int | None = None) -> Any:
    """Attention Y = A V over the last two axes, A = normalizer(s · Q Kᵀ) row by row.

    ``q`` (..., t_q, d), ``k`` (..., t_k, d), ``v`` (..., t_k, d_v); leading (batch,
    head) axes broadcast. Returns (..., t_q, d_v).

    normalizer: ``"softmax"``, ``"simplex"`` (Aᵢ = Bᵢ / Σⱼ Bᵢⱼ: the attended scores
        must be nonnegative, a ValueError says so otherwise; scale-invariant) or
        ``"sphere"`` (Aᵢ = Bᵢ / ‖Bᵢ‖; scale-invariant).
    mask: boolean, broadcastable to (..., t_q, t_k); True = attend. Masked scores are
        left out of the normalization (softmax: −∞; simplex and sphere: 0).
    causal: query i attends to keys j ≤ i + t_k − t_q (aligned at the last query).
    scale: s, default 1/√d; a constant, not differentiated.
    impl: ``"naive"`` materializes the t_q×t_k matrices and keeps A for the backward
        pass; ``"fused"`` runs blocks of ``block_size`` = (query rows, key rows) with an
        online softmax and keeps only one statistic per row (memory O(t·d)); by default
        1024 keys and 16 to 1024 queries, fewer with more batch entries. ``"auto"`` picks
        naive up to ``AUTO_NAIVE_MAX_SCORES`` score entries (batch·t_q·t_k).

    Rows that attend to nothing (every key masked), and sphere/simplex rows whose
    scores are all zero, output zeros and pass back zero gradient; no NaN.
    Reverse mode uses the hand-derived rules; forward mode, and derivatives of the
    rules themselves (second order), differentiate the naive composition.
    """
    q, k, v = (x if isinstance(x, Tracer) else np.asarray(x) for x in (q, k, v))
    config = _configure(q, k, v, normalizer, mask, causal, scale, impl, block_size)
    return _attention(q, k, v, config)


_Config = collections.namedtuple(
    "_Config", "normalizer mask causal scale impl block_size batch t_q t_k")


def _configure(q, k, v, normalizer, mask, causal, scale, impl, block_size):
    if normalizer not in NORMALIZERS:
        raise ValueError(f"attention: unknown normalizer {normalizer!r}; use one of {NORMALIZERS}")
    if impl not in IMPLS:
        raise ValueError(f"attention: unknown impl {impl!r}; use one of {IMPLS}")
    for name, x in (("q", q), ("k", k), ("v", v)):
        if len(x.shape) < 2:
            raise ValueError(f"attention: {name} has shape {x.shape}; it needs the shape "
                             f"(..., t, d) (add a length-1 axis for a single vector)")
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"attention: {name} has dtype {x.dtype}; attention needs real "
                            f"floating-point arrays (e.g. {name}.astype(np.float32))")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"attention: q has feature size {q.shape[-1]} but k has "
                         f"{k.shape[-1]}; queries and keys need the same d")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"attention: k has {k.shape[-2]} keys but v has {v.shape[-2]} "
                         f"values; they need the same t_k")
    t_q, t_k = q.shape[-2], k.shape[-2]
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"attention: the leading (batch, head) axes of q {q.shape}, k "
                         f"{k.shape} and v {v.shape} do not broadcast") from None
    if mask is not None:
        if isinstance(mask, Tracer):
            raise TypeError("attention: mask is a traced value; pass a concrete boolean array")
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"attention: mask has dtype {mask.dtype}; it must be boolean "
                            f"(True = attend), e.g. mask.astype(bool)")
        mask = mask.reshape((1,) * (2 - mask.ndim) + mask.shape)
        try:
            fits = np.broadcast_shapes(mask.shape, batch + (t_q, t_k)) == batch + (t_q, t_k)
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"attention: mask of shape {mask.shape} does not broadcast to "
                             f"(..., t_q, t_k) = {batch + (t_q, t_k)}")
        mask = np.broadcast_to(mask, mask.shape[:-2] + (t_q, t_k))
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else float(scale)
    if impl == "auto":
        impl = "naive" if int(np.prod(batch)) * t_q * t_k <= AUTO_NAIVE_MAX_SCORES else "fused"
    if block_size is None:
        key_block = min(DEFAULT_KEY_BLOCK, t_k)
        rows = DEFAULT_BLOCK_ENTRIES // (int(np.prod(batch)) * key_block)
        block_size = (min(1024, max(16, rows)), key_block)
    block_size = tuple(int(b) for b in block_size)
    if len(block_size) != 2 or min(block_size) < 1:
        raise ValueError(f"attention: block_size={block_size} must be two positive sizes "
                         f"(query rows, key rows)")
    return _Config(normalizer, mask, bool(causal), scale, impl, block_size, batch, t_q, t_k)


# ---------------------------------------------------------------- the normalizers
#
# Each turns masked scores S into unnormalized weights E (in place when ``out`` is S),
# sums a row mass m from them, and divides: A = E / divisor(m). ``statistic`` is the
# per-row number that rebuilds A from S in the backward pass (``weights``), and
# ``score_cotangent`` is ∂f(Bᵢ)ᵀ applied to dAᵢ, row by row. With ``out=None`` they are
# plain compositions of NumPy operations, so riesz can differentiate them (second order).

class _RowSum:
    """Normalizers that divide each row by its sum (softmax after exponentiating)."""

    @staticmethod
    def mass(E):
        return np.sum(E, axis=-1, keepdims=True)

    @staticmethod
    def divisor(mass):
        return mass


class _Softmax(_RowSum):
    """Aᵢ = f_α(exp Bᵢ); statistic log Σⱼ exp Bᵢⱼ."""
    fill = -np.inf      # a masked score: exp(−∞) = 0 leaves it out of the row
    shifted = True      # E = exp(S − shift) with the running row maximum as shift

    @staticmethod
    def unnormalized(S, shift, out=None):
        return np.exp(np.subtract(S, shift, out=out), out=out)

    @staticmethod
    def statistic(shift, mass):
        return shift + np.log(mass)             # log Σⱼ exp Sᵢⱼ

    @staticmethod
    def weights(S, stat, out=None):
        return np.exp(np.subtract(S, stat, out=out), out=out)

    @staticmethod
    def score_cotangent(dA, A, D, stat, out=None):
        # ∂softmax(x)ᵀ = diag(a) − a aᵀ:  dB = A ⊙ (dA − D uᵀ)
        return np.multiply(np.subtract(dA, D, out=out), A, out=out)


class _Simplex(_RowSum):
    """Aᵢ = f_α(Bᵢ) = Bᵢ / Σⱼ Bᵢⱼ on nonnegative scores; statistic Σⱼ Bᵢⱼ."""
    fill = 0.0
    shifted = False

    @staticmethod
    def unnormalized(S, shift, out=None):
        return S

    @staticmethod
    def statistic(shift, mass):
        return mass                             # Σⱼ Bᵢⱼ = 1/α(Bᵢ)

    @staticmethod
    def weights(S, stat, out=None):
        return np.divide(S, stat, out=out)

    @staticmethod
    def score_cotangent(dA, A, D, stat, out=None):
        # ∂f_α(x)ᵀ = α (I − u f_α(x)ᵀ):  dB = α ⊙ (dA − D uᵀ)
        return np.divide(np.subtract(dA, D, out=out), stat, out=out)


class _Sphere(_Simplex):
    """The simplex's masking and weights S / statistic, with the row norm as statistic."""

    @staticmethod
    def mass(E):
        return np.sum(E * E, axis=-1, keepdims=True)

    @staticmethod
    def divisor(mass):
        return np.sqrt(mass)

    @staticmethod
    def statistic(shift, mass):
        return np.sqrt(mass)                    # ‖Bᵢ‖ = 1/β(Bᵢ)

    @staticmethod
    def score_cotangent(dA, A, D, stat, out=None):
        # ∂f_β(x)ᵀ = β (I − f_β(x) f_β(x)ᵀ):  dB = β ⊙ (dA − A ⊙ D uᵀ)
        return np.divide(np.subtract(dA, A * D, out=out), stat, out=out)


_NORMALIZER = {"softmax": _Softmax, "simplex": _Simplex, "sphere": _Sphere}


def _finish(norm, shift, mass):
    """(divisor, statistic) from a row mass; a row with zero mass (nothing attended, or
    all-zero simplex/sphere scores) divides by 1 and gets the statistic +∞, so that its
    weights S/∞ or exp(S − ∞) and its score cotangent are exactly zero."""
    empty = mass == 0
    safe = np.where(empty, 1, mass)
    stat = np.where(empty, np.inf, norm.statistic(shift, safe))
    return norm.divisor(safe), stat


def _check_nonnegative(S, where):
    if np.min(full_lower(S)) < 0:
        raise ValueError(
            f"attention(normalizer='simplex'): a score s·QKᵀ is negative ({where}); α(x) = "
            f"1/Σxᵢ projects only nonnegative scores onto the simplex. Make the attended "
            f"scores nonnegative (e.g. nonnegative features such as relu(q), relu(k) with "
            f"scale > 0), mask the negative entries out, or use normalizer='softmax'")


# ---------------------------------------------------------------- the custom rule

def _traced(*xs):
    return any(isinstance(x, Tracer) for x in xs)


@functools.partial(custom_vjp, nondiff_argnums=(3,))
def _attention(q, k, v, config):
    return _attention_fwd(q, k, v, config)[0]


def _attention_fwd(q, k, v, config):
    if config.impl == "fused" and not _traced(q, k, v):
        out, stat = _fused_forward(q, k, v, config)
        return out, (q, k, v, out, stat, None, config)
    out, stat, A = _naive_forward(q, k, v, config)
    return out, (q, k, v, out, stat, A, config)


def _attention_bwd(config, residuals, g):
    q, k, v, out, stat, A, config = residuals
    if A is None and not _traced(g):
        dq, dk, dv = _fused_backward(q, k, v, out, stat, g, config)
    else:
        dq, dk, dv = _naive_backward(q, k, v, out, stat, A, g, config)
    return (unbroadcast(dq, q.shape), unbroadcast(dk, k.shape), unbroadcast(dv, v.shape))


_attention.defvjp(_attention_fwd, _attention_bwd)


# ---------------------------------------------------------------- naive: the whole matrices

def _allowed(config):
    """The boolean (…, t_q, t_k) pattern of attended entries, or None when all are."""
    allowed = config.mask
    if config.causal:
        causal = np.tri(config.t_q, config.t_k, k=config.t_k - config.t_q, dtype=bool)
        allowed = causal if allowed is None else allowed & causal
    return allowed


def _masked_scores(q, k, config, allowed, inplace):
    """B = s Q Kᵀ with the masked entries set to the normalizer's fill."""
    S = q @ np.swapaxes(k, -1, -2)
    S = np.multiply(S, config.scale, out=S if inplace else None)
    if allowed is None:
        return S
    fill = _NORMALIZER[config.normalizer].fill
    if inplace and S.shape == np.broadcast_shapes(S.shape, allowed.shape):
        np.copyto(S, fill, where=~allowed)
        return S
    return np.where(allowed, S, fill)


def _naive_forward(q, k, v, config):
    """(Y, row statistic, A), computed on the whole t_q×t_k matrices. On concrete arrays
    it works in place in the buffers it allocates; on traced ones it is a plain
    composition of NumPy operations that riesz differentiates."""
    norm = _NORMALIZER[config.normalizer]
    inplace = not _traced(q, k, v)
    S = _masked_scores(q, k, config, _allowed(config), inplace)
    if config.normalizer == "simplex":
        _check_nonnegative(S, "naive path")
    shift = None
    if norm.shifted:   # the row maximum, a constant: softmax does not change under shifts
        shift = np.max(full_lower(S), axis=-1, keepdims=True)
        shift = np.where(shift == -np.inf, 0, shift)   # (no boolean-mask index: it stages)
    E = norm.unnormalized(S, shift, out=S if inplace else None)
    divisor, stat = _finish(norm, shift, norm.mass(E))
    A = np.divide(E, divisor, out=E if inplace else None)
    return A @ v, stat, A


def _naive_backward(q, k, v, out, stat, A, g, config):
    """∇_Q = s dB K, ∇_K = s dBᵀ Q, ∇_V = Aᵀ G with dB = ∂f(B)ᵀ(G Vᵀ) row by row.
    ``A`` is None after the fused forward pass: it is then rebuilt from the statistic."""
    norm = _NORMALIZER[config.normalizer]
    inplace = not _traced(q, k, v, out, stat, A, g)
    allowed = _allowed(config)
    if A is None:
        S = _masked_scores(q, k, config, allowed, inplace)
        A = norm.weights(S, stat, out=S if inplace else None)
    D = np.sum(g * out, axis=-1, keepdims=True)        # Dᵢ = Gᵢᵀ Yᵢ = Aᵢᵀ V Gᵢ
    dA = g @ np.swapaxes(v, -1, -2)
    dB = norm.score_cotangent(dA, A, D, stat, out=dA if inplace else None)
    if allowed is not None and norm.fill == 0:          # softmax's A is already 0 there
        dB = np.where(allowed, dB, 0)
    dq = (dB @ k) * config.scale
    dk = (np.swapaxes(dB, -1, -2) @ q) * config.scale
    dv = np.swapaxes(A, -1, -2) @ g
    return dq, dk, dv


# ---------------------------------------------------------------- fused: blocks, O(t·d) memory

def _blocks(config):
    """For each query block: (query slice, [(key slice, blocked), ...]) over the key blocks
    that attend to something (causal blocks right of the diagonal are left out);
    ``blocked`` is the (…, bq, bk) boolean of masked entries, or None if none are."""
    bq, bk = config.block_size
    offset = config.t_k - config.t_q      # causal: key j is allowed for query i iff j ≤ i + offset
    for i0 in range(0, config.t_q, bq):
        i1 = min(i0 + bq, config.t_q)
        blocks = []
        for j0 in range(0, config.t_k, bk):
            j1 = min(j0 + bk, config.t_k)
            blocked = None
            if config.causal:
                if j0 > i1 - 1 + offset:
                    break                     # this block and all right of it are masked
                if j1 - 1 > i0 + offset:      # the diagonal crosses the block
                    rows = np.arange(i0, i1)[:, None]
                    blocked = np.arange(j0, j1)[None, :] > rows + offset
            if config.mask is not None:
                masked = ~config.mask[..., i0:i1, j0:j1]
                blocked = masked if blocked is None else masked | blocked
            blocks.append((slice(j0, j1), blocked))
        yield slice(i0, i1), blocks


class _Buffers:
    """Scratch arrays owned by one kernel call, reused across blocks of the same shape."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.arrays = {}

    def get(self, name, shape):
        key = (name, shape)
        if key not in self.arrays:
            self.arrays[key] = np.empty(shape, self.dtype)
        return self.arrays[key]


def _fused_inputs(q, k, v, config):
    dtype = np.result_type(q, k, v)
    qs = np.broadcast_to(np.multiply(q, config.scale, dtype=dtype),
                         config.batch + q.shape[-2:])
    k = np.broadcast_to(k.astype(dtype, copy=False), config.batch + k.shape[-2:])
    v = np.broadcast_to(v.astype(dtype, copy=False), config.batch + v.shape[-2:])
    return dtype, qs, k, v


def _block_scores(qs, k, rows, keys, blocked, norm, buffers):
    """S = s Qᵢ K_jᵀ for one block, masked with the normalizer's fill, in a scratch buffer."""
    kT = np.swapaxes(k[..., keys, :], -1, -2)
    S = buffers.get("S", qs.shape[:-2] + (rows.stop - rows.start, keys.stop - keys.start))
    np.matmul(qs[..., rows, :], kT, out=S)
    if blocked is not None:
        np.copyto(S, norm.fill, where=blocked)
    return S


def _fused_forward(q, k, v, config):
    """Y and the row statistic, one query block at a time; over the key blocks the row
    mass accumulates online. For softmax with running maximum m, a new block with
    maximum m' rescales what came before by exp(m − max(m, m'))."""
    norm = _NORMALIZER[config.normalizer]
    dtype, qs, k, v = _fused_inputs(q, k, v, config)
    out = np.empty(config.batch + (config.t_q, v.shape[-1]), dtype)
    stat = np.empty(config.batch + (config.t_q, 1), dtype)
    buffers = _Buffers(dtype)
    for rows, blocks in _blocks(config):
        acc = mass = shift = None
        if norm.shifted:
            shift = np.full(config.batch + (rows.stop - rows.start, 1), -np.inf, dtype)
        for keys, blocked in blocks:
            S = _block_scores(qs, k, rows, keys, blocked, norm, buffers)
            if config.normalizer == "simplex":
                _check_nonnegative(S, f"fused path, queries {rows.start}:{rows.stop}")
            if norm.shifted:
                new_shift = np.maximum(shift, np.max(S, axis=-1, keepdims=True))
                new_shift[new_shift == -np.inf] = 0      # nothing attended yet: any finite shift
                rescale = np.exp(shift - new_shift)      # 0 where the old shift was −∞
                shift = new_shift
            E = norm.unnormalized(S, shift, out=S)
            if acc is None:
                acc, mass = E @ v[..., keys, :], norm.mass(E)
                continue
            if norm.shifted:
                acc *= rescale
                mass *= rescale
            acc += E @ v[..., keys, :]
            mass += norm.mass(E)
        if acc is None:                                  # every key of these rows is masked
            out[..., rows, :] = 0
            stat[..., rows, :] = np.inf
            continue
        divisor, stat[..., rows, :] = _finish(norm, shift, mass)
        np.divide(acc, divisor, out=out[..., rows, :])
    return out, stat


def _fused_backward(q, k, v, out, stat, g, config):
    """The naive backward formulas block by block, with Aᵢⱼ rebuilt from the scores and
    the row statistic; ∇_K and ∇_V accumulate over query blocks, ∇_Q over key blocks."""
    norm = _NORMALIZER[config.normalizer]
    dtype, qs, k, v = _fused_inputs(q, k, v, config)
    g = np.broadcast_to(g.astype(dtype, copy=False), out.shape)
    D = np.sum(g * out, axis=-1, keepdims=True)         # Dᵢ = Gᵢᵀ Yᵢ
    dq = np.zeros(qs.shape, dtype)
    dk = np.zeros(k.shape, dtype)
    dv = np.zeros(v.shape, dtype)
    buffers = _Buffers(dtype)
    for rows, blocks in _blocks(config):
        g_i, qs_i, D_i, stat_i = g[..., rows, :], qs[..., rows, :], D[..., rows, :], stat[..., rows, :]
        for keys, blocked in blocks:
            S = _block_scores(qs, k, rows, keys, blocked, norm, buffers)
            A = norm.weights(S, stat_i, out=S)
            dv[..., keys, :] += np.swapaxes(A, -1, -2) @ g_i
            dA = np.matmul(g_i, np.swapaxes(v[..., keys, :], -1, -2),
                           out=buffers.get("dA", S.shape))
            dB = norm.score_cotangent(dA, A, D_i, stat_i, out=dA)
            if blocked is not None and norm.fill == 0:   # softmax's A is already 0 there
                np.copyto(dB, 0, where=blocked)
            dq[..., rows, :] += dB @ k[..., keys, :]
            dk[..., keys, :] += np.swapaxes(dB, -1, -2) @ qs_i
    dq *= config.scale
    return dq, dk, dv
