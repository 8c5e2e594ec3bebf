"""Train an MLP on scikit-learn's bundled handwritten digits and print its test accuracy.

    python -m riesz.examples.digits [--seed 0] [--epochs 40] [--plot digits.png]

The 1,797 8×8 images ship with scikit-learn (no download; ``pip install
'.[examples]'`` from a clone). The data are split 80/20 into training and test sets by the
seed, pixels scaled to [0, 1], and a 64 → 256 → 10 ReLU MLP is trained with AdamW
and a cosine learning-rate schedule, minimising the softmax cross-entropy with a
little label smoothing. The same seed gives the same model, bit for bit.
"""
import argparse
import time

import numpy as np

from .. import nn, optim
from . import one_blas_thread


def load_digits_split(seed, test_fraction=0.2):
    """((x_train, y_train), (x_test, y_test)) of the digits, pixels in [0, 1]."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise SystemExit("this example needs scikit-learn: pip install scikit-learn (from a "
                         "clone of riesz: pip install '.[examples]')") from e
    digits = load_digits()
    x, y = digits.data / 16.0, digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(test_fraction * len(x)))
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])


def loss_fn(model, x, y, rng):
    return nn.softmax_cross_entropy(model(x), y, label_smoothing=0.05)


def accuracy(model, x, y):
    return nn.accuracy(model(x), y)


def train(seed=0, epochs=40, batch_size=32, hidden=256, lr=3e-3, progress=True, plot=None):
    """Train the digits MLP: returns (model, history, test accuracy)."""
    train_set, test_set = load_digits_split(seed)
    rng = np.random.default_rng(seed)
    model = nn.MLP([64, hidden, 10], rng=rng)
    steps = epochs * -(-len(train_set[0]) // batch_size)
    optimizer = optim.AdamW(lr=optim.cosine_decay(lr, steps), weight_decay=1e-4)
    result = nn.fit(model, loss_fn, optimizer, train_set, rng=rng, epochs=epochs,
                    batch_size=batch_size, validation=test_set, metrics={"accuracy": accuracy},
                    eval_every=5 * -(-len(train_set[0]) // batch_size), progress=progress,
                    plot=plot)
    return result.model, result.history, accuracy(result.model, *test_set)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--plot", default="digits.png", help="PNG path for the loss curves")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    model, history, test_accuracy = train(seed=args.seed, epochs=args.epochs)
    written = nn.plot_history(history, args.plot)   # None without matplotlib
    print(model)
    print(f"test accuracy {100 * test_accuracy:.2f}% in {time.perf_counter() - start:.1f} s "
          f"(seed {args.seed})" + (f"; plot: {written}" if written else ""))


if __name__ == "__main__":
    with one_blas_thread():
        main()
