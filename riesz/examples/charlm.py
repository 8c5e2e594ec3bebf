"""Train a small character-level transformer language model on Python's own standard
library source and print samples.

    python -m riesz.examples.charlm [--seed 0] [--steps 600] [--minutes 4] [--plot charlm.png]

The text needs no download: it is the source of the standard-library modules
next to ``os.py``, read in sorted order. The model is a GPT-style decoder:
token and position embeddings, ``layers`` pre-LayerNorm blocks
x ← x + MHA(LN(x)), x ← x + MLP(LN(x)) with causal multi-head attention, a
final LayerNorm and a linear read-out to the characters. It minimises the
next-character cross-entropy (in nats) and must beat the unigram entropy of its
data, the loss of the best model that ignores context.
"""
import argparse
import os
import time

import numpy as np

from .. import nn, optim
from . import one_blas_thread

# printable ASCII and the newline; other characters are read as "?"
ALPHABET = "\n" + "".join(chr(c) for c in range(32, 127))


def stdlib_text(max_chars):
    """Up to ``max_chars`` characters of standard-library source, in sorted file order."""
    library = os.path.dirname(os.__file__)
    chunks, total = [], 0
    for name in sorted(os.listdir(library)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(library, name), encoding="utf-8", errors="replace") as f:
            chunk = f.read()
        chunks.append(chunk)
        total += len(chunk)
        if total >= max_chars:
            break
    return "".join(chunks)[:max_chars]


def encode(text):
    lookup = {c: i for i, c in enumerate(ALPHABET)}
    unknown = lookup["?"]
    return np.array([lookup.get(c, unknown) for c in text], dtype=np.int64)


def decode(ids):
    return "".join(ALPHABET[i] for i in ids)


def windows(ids, length, stride):
    """Inputs ids[i : i+length] and next-character targets ids[i+1 : i+length+1]."""
    starts = np.arange(0, len(ids) - length - 1, stride)
    offsets = np.arange(length)
    x = ids[starts[:, None] + offsets]
    return x, ids[starts[:, None] + offsets + 1]


def unigram_entropy(ids):
    """H = −Σ_c p(c) log p(c) in nats: the cross-entropy of the best context-free model."""
    p = np.bincount(ids, minlength=len(ALPHABET)) / len(ids)
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


class Block(nn.Module):
    """x ← x + MHA(LN(x)); x ← x + MLP(LN(x)) with a 4× wide GELU MLP."""

    def __init__(self, dim, heads, *, rng, dtype):
        self.attention_norm = nn.LayerNorm(dim, dtype=dtype)
        self.attention = nn.MultiHeadAttention(dim, heads, rng=rng, causal=True, dtype=dtype)
        self.mlp_norm = nn.LayerNorm(dim, dtype=dtype)
        self.mlp = nn.MLP([dim, 4 * dim, dim], rng=rng, activation=nn.gelu, dtype=dtype)

    def __call__(self, x):
        x = x + self.attention(self.attention_norm(x))
        return x + self.mlp(self.mlp_norm(x))


class CharTransformer(nn.Module):
    """Logits (batch, t, characters) of the next character after each position."""

    def __init__(self, context, dim=64, heads=4, layers=2, *, rng, dtype=np.float32):
        self.tokens = nn.Embedding(len(ALPHABET), dim, rng=rng, dtype=dtype)
        self.positions = nn.Embedding(context, dim, rng=rng, dtype=dtype)
        self.blocks = [Block(dim, heads, rng=rng, dtype=dtype) for _ in range(layers)]
        self.norm = nn.LayerNorm(dim, dtype=dtype)
        self.readout = nn.Linear(dim, len(ALPHABET), rng=rng, dtype=dtype)

    def __call__(self, ids):
        x = self.tokens(ids) + self.positions(np.arange(ids.shape[-1]))
        for block in self.blocks:
            x = block(x)
        return self.readout(self.norm(x))


def loss_fn(model, x, y, rng):
    return nn.softmax_cross_entropy(model(x), y)


def sample(model, prompt, length, context, rng, temperature=0.8):
    """Continue ``prompt`` by ``length`` characters, sampling from softmax(logits / T)."""
    ids = list(encode(prompt))
    for _ in range(length):
        window = np.array(ids[-context:])[None, :]
        logits = model(window)[0, -1].astype(np.float64) / temperature
        ids.append(int(rng.choice(len(ALPHABET), p=nn.softmax(logits))))
    return decode(ids)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--minutes", type=float, default=4.0,
                        help="stop training after this long even if steps remain")
    parser.add_argument("--chars", type=int, default=600_000, help="characters of text")
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--plot", default="charlm.png", help="PNG path for the loss curves")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)

    ids = encode(stdlib_text(args.chars))
    split = int(0.9 * len(ids))
    train_ids, val_ids = ids[:split], ids[split:]
    train_set = windows(train_ids, args.context, stride=args.context // 2)
    val_set = tuple(a[:256] for a in windows(val_ids, args.context, stride=args.context))
    entropy = unigram_entropy(train_ids)
    print(f"{len(ids):,} characters of standard-library source; unigram entropy "
          f"{entropy:.3f} nats/char")

    model = CharTransformer(args.context, rng=rng)
    print(model)
    schedule = optim.linear_warmup(optim.cosine_decay(3e-3, args.steps, final=3e-4), 100)
    result = nn.fit(model, loss_fn, optim.AdamW(lr=schedule, weight_decay=0.01), train_set,
                    rng=rng, epochs=10 ** 6, max_steps=args.steps,
                    max_seconds=60 * args.minutes, batch_size=32,
                    validation=val_set, eval_every=max(1, args.steps // 10), clip_norm=1.0)
    written = nn.plot_history(result.history, args.plot,   # None without matplotlib
                              reference_losses={"unigram entropy": entropy})
    val_loss = result.history["val_loss"][-1]
    verdict = "below" if val_loss < entropy else "NOT below"
    print(f"validation loss {val_loss:.3f} nats/char, {verdict} the unigram entropy "
          f"{entropy:.3f}, after {time.perf_counter() - start:.0f} s"
          + (f"; plot: {written}" if written else ""))
    for prompt in ("def ", "import "):
        print("-" * 72)
        print(sample(result.model, prompt, 300, args.context, rng))


if __name__ == "__main__":
    with one_blas_thread():
        main()
