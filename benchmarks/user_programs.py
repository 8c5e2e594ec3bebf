"""Gradients of HIPS autograd's example programs, ported as users port them
(``import numpy as np``, ``riesz.grad``, ``riesz.scipy.special.logsumexp``), against
HIPS autograd on the original code when it is installed.

    python benchmarks/user_programs.py

Reports the median time of one gradient and its ratio to one forward evaluation of the
same function in plain NumPy (the cost of differentiating), then autograd's figures.
"""
import timeit

import numpy as np

import riesz
from riesz.scipy.special import logsumexp

try:
    import autograd
    import autograd.numpy as anp
    from autograd.scipy.special import logsumexp as autograd_logsumexp
except ImportError:
    autograd = None


def neural_net(np, lse):
    """examples/neural_net.py: a 784-200-100-10 tanh MLP's log posterior, batch 256."""
    def log_posterior(params, x, y):
        h = x
        for W, b in params:
            out = np.dot(h, W) + b
            h = np.tanh(out)
        log_lik = np.sum((out - lse(out, axis=1, keepdims=True)) * y)
        return log_lik - 0.1 * sum(np.sum(W ** 2) + np.sum(b ** 2) for W, b in params)
    return log_posterior


def lstm(np, lse):
    """examples/lstm.py: 30 steps of a 32-unit LSTM over one-hot characters, 16 sequences."""
    def sigmoid(x):
        return 0.5 * (np.tanh(x) + 1.0)

    def loglik(params, inputs, targets):
        def gate(name, *args):
            return np.dot(np.hstack(args + (np.ones((args[0].shape[0], 1)),)), params[name])
        hiddens = np.repeat(params["h0"], inputs.shape[1], axis=0)
        cells = np.repeat(params["c0"], inputs.shape[1], axis=0)
        total = 0.0
        for x, t in zip(inputs, targets):
            change = np.tanh(gate("change", x, hiddens))
            cells = cells * sigmoid(gate("forget", x, hiddens)) + sigmoid(gate("in", x, hiddens)) * change
            hiddens = sigmoid(gate("out", x, hiddens)) * np.tanh(cells)
            out = gate("predict", hiddens)
            total = total + np.sum((out - lse(out, axis=1, keepdims=True)) * t)
        return total
    return loglik


def fluid(np, lse):
    """examples/fluidsim.py: 4 steps of advection (fancy indexing) and projection (np.roll)
    on a 32×32 grid."""
    def advect(f, vx, vy):
        rows, cols = f.shape
        ys, xs = np.meshgrid(np.arange(rows), np.arange(cols))
        cx, cy = (xs - vx).ravel(), (ys - vy).ravel()
        left, top = np.floor(cx).astype(int), np.floor(cy).astype(int)
        rw, bw = cx - left, cy - top
        left, top = np.mod(left, rows), np.mod(top, cols)
        right, bot = np.mod(left + 1, rows), np.mod(top + 1, cols)
        flat = ((1 - rw) * ((1 - bw) * f[left, top] + bw * f[left, bot])
                + rw * ((1 - bw) * f[right, top] + bw * f[right, bot]))
        return np.reshape(flat, (rows, cols))

    def project(vx, vy):
        p = np.zeros(vx.shape)
        div = -0.5 / vx.shape[0] * (np.roll(vx, -1, axis=0) - np.roll(vx, 1, axis=0)
                                   + np.roll(vy, -1, axis=1) - np.roll(vy, 1, axis=1))
        for _ in range(10):
            p = (div + np.roll(p, 1, axis=0) + np.roll(p, -1, axis=0)
                 + np.roll(p, 1, axis=1) + np.roll(p, -1, axis=1)) / 4.0
        return (vx - 0.5 * vx.shape[0] * (np.roll(p, -1, axis=0) - np.roll(p, 1, axis=0)),
                vy - 0.5 * vx.shape[0] * (np.roll(p, -1, axis=1) - np.roll(p, 1, axis=1)))

    def objective(velocity, smoke, target):
        vx, vy = velocity[0], velocity[1]
        for _ in range(4):
            vx, vy = project(advect(vx, vx, vy), advect(vy, vx, vy))
            smoke = advect(smoke, vx, vy)
        return np.mean((target - smoke) ** 2)
    return objective


def problems(rng):
    mlp = [(rng.standard_normal((m, n)) * 0.1, rng.standard_normal(n) * 0.1)
           for m, n in [(784, 200), (200, 100), (100, 10)]]
    chars = np.eye(20)[rng.integers(0, 20, (30, 16))]
    params = {name: rng.standard_normal((20 + 32 + 1, 32)) * 0.1
              for name in ("change", "forget", "in", "out")}
    params.update(predict=rng.standard_normal((33, 20)) * 0.1,
                  h0=rng.standard_normal((1, 32)) * 0.1, c0=rng.standard_normal((1, 32)) * 0.1)
    return [("neural_net", neural_net, (mlp, rng.standard_normal((256, 784)),
                                        np.eye(10)[rng.integers(0, 10, 256)])),
            ("lstm", lstm, (params, chars, chars)),
            ("fluidsim", fluid, (rng.standard_normal((2, 32, 32)) * 0.3, rng.random((32, 32)),
                                 rng.random((32, 32))))]


def median_ms(fn, repeat=7):
    fn()
    return 1e3 * float(np.median(timeit.repeat(fn, number=1, repeat=repeat)))


def main():
    rng = np.random.default_rng(0)
    print(f"{'program':12s} {'forward':>9s} {'riesz grad':>11s} {'ratio':>6s} {'autograd':>9s} {'ratio':>6s}")
    for name, make, args in problems(rng):
        f = make(np, logsumexp)
        forward = median_ms(lambda: f(*args))
        ours = median_ms(lambda: riesz.grad(f)(*args))
        line = f"{name:12s} {forward:8.2f}ms {ours:10.2f}ms {ours / forward:5.1f}×"
        if autograd is not None:
            g = autograd.grad(make(anp, autograd_logsumexp))
            theirs = median_ms(lambda: g(*args))
            line += f" {theirs:8.2f}ms {theirs / forward:5.1f}×"
        print(line)


if __name__ == "__main__":
    main()
