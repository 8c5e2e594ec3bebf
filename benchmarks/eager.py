"""Eager riesz on big and small arrays against the same backward pass written by hand
(issue 12): speed of plain-NumPy attention and of MLP training steps, and peak memory.

* attention as a user writes it in plain NumPy (scores ``q @ k.T * c``, max shift, ``exp``,
  normalised by the row sum, ``@ v``, the loss ⟨Y, G⟩), t = 1024, d = 64, float32:
  ``riesz.value_and_grad`` with respect to q, k, v, eagerly and under ``riesz.jit``, against
  the forward and backward pass by hand;
* MLP training steps (ReLU, softmax cross-entropy, float32) by ``riesz.value_and_grad``
  of a plain-NumPy loss over a list of weights and biases, against the same step written
  by hand: 784→1024→10 at batch 256 and 64→128→10 at batch 32;
* peak memory (tracemalloc) of ``riesz.grad`` of an elementwise chain on big arrays
  against the hand-written backward pass of the chain;
* ``breakdown`` (the 64→128→10 step) and ``breakdown-big`` (784→1024→10): the phases of
  ``value_and_grad`` timed one by one (the staged backward pass it runs on small tapes,
  and the eager one), and each reverse rule alone on the tape's values.

    OPENBLAS_NUM_THREADS=1 python benchmarks/eager.py [--rounds 11] [--mib 64] [--clock wall]
                                [attention] [mlp] [memory] [breakdown] [breakdown-big]

Runs are interleaved (riesz and the hand-written code alternate within each round);
each figure is the median over the rounds, with the ratio to hand-written NumPy. The
clock is this process's CPU time (``--clock wall`` for wall time): the machine is shared.
"""
import argparse
import time
import tracemalloc

import numpy as np

import riesz


CLOCK = [time.process_time]   # --clock wall: time.perf_counter


def interleaved(fns, rounds, number):
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    clock = CLOCK[0]
    for _ in range(rounds):
        for name, fn in fns.items():
            start = clock()
            for _ in range(number):
                fn()
            times[name].append((clock() - start) / number)
    return {name: float(np.median(t)) for name, t in times.items()}


def report(title, medians):
    print(title)
    base = medians["hand-written NumPy"]
    for name, t in medians.items():
        unit, scale = ("ms", 1e3) if base > 1e-3 else ("µs", 1e6)
        print(f"  {name:24s} {t * scale:10.1f} {unit}  {t / base:6.2f}×")


# ------------------------------------------------------------------ attention

def attention_loss(q, k, v, G, c):
    s = q @ k.T * c
    s = s - np.max(s, axis=-1, keepdims=True)
    e = np.exp(s)
    p = e / np.sum(e, axis=-1, keepdims=True)
    return np.sum((p @ v) * G)


def attention_by_hand(q, k, v, G, c):
    s = q @ k.T * c
    s = s - np.max(s, axis=-1, keepdims=True)
    e = np.exp(s)
    p = e / np.sum(e, axis=-1, keepdims=True)
    y = p @ v
    loss = np.sum(y * G)
    dv = p.T @ G
    dp = G @ v.T
    ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True))
    return loss, ((ds @ k) * c, (ds.T @ q) * c, dv)


def attention(rounds):
    rng = np.random.default_rng(0)
    t, d = 1024, 64
    q, k, v, G = (rng.standard_normal((t, d)).astype(np.float32) for _ in range(4))
    c = 1.0 / float(np.sqrt(d))   # a Python float keeps the scores float32
    vg = riesz.value_and_grad(attention_loss, argnums=(0, 1, 2))
    staged = riesz.jit(vg)
    expected = attention_by_hand(q, k, v, G, c)[1]
    for fn in (vg, staged):
        for got, want in zip(fn(q, k, v, G, c)[1], expected):
            np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-4)
    report(f"attention in plain NumPy, t = {t}, d = {d}, float32 (value and ∇q, ∇k, ∇v)",
           interleaved({"hand-written NumPy": lambda: attention_by_hand(q, k, v, G, c),
                        "riesz eager": lambda: vg(q, k, v, G, c),
                        "riesz.jit": lambda: staged(q, k, v, G, c)}, rounds, 3))


# ------------------------------------------------------------------ MLP steps

def mlp_loss(params, x, onehot):
    (W1, b1), (W2, b2) = params
    h = x @ W1 + b1
    h = h * (h > 0)
    z = h @ W2 + b2
    z = z - np.max(z, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(logp * onehot) / x.shape[0]


def mlp_by_hand(params, x, onehot, lr):
    (W1, b1), (W2, b2) = params
    a = x @ W1 + b1
    mask = a > 0
    h = a * mask
    z = h @ W2 + b2
    z = z - np.max(z, axis=1, keepdims=True)
    e = np.exp(z)
    s = np.sum(e, axis=1, keepdims=True)
    loss = -np.sum((z - np.log(s)) * onehot) / x.shape[0]
    dz = (e / s - onehot) / x.shape[0]
    dW2 = h.T @ dz
    db2 = dz.sum(axis=0)
    dh = (dz @ W2.T) * mask
    dW1 = x.T @ dh
    db1 = dh.sum(axis=0)
    return loss, [(W1 - lr * dW1, b1 - lr * db1), (W2 - lr * dW2, b2 - lr * db2)]


def mlp_step_riesz(lr):
    vg = riesz.value_and_grad(mlp_loss)

    def step(params, x, onehot):
        loss, grads = vg(params, x, onehot)
        return loss, [(W - lr * dW, b - lr * db) for (W, b), (dW, db) in zip(params, grads)]
    return step


def mlp_step_torch(params, x, onehot, lr):
    """The same step in PyTorch (eager autograd, one thread), when it is installed: the peer
    the issue quotes. None without it."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    tparams = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
               for W, b in params]
    tx, tonehot = torch.from_numpy(x), torch.from_numpy(onehot)

    def step():
        (W1, b1), (W2, b2) = tparams
        h = tx @ W1 + b1
        h = h * (h > 0)
        z = h @ W2 + b2
        z = z - torch.amax(z, dim=1, keepdim=True)
        logp = z - torch.log(torch.sum(torch.exp(z), dim=1, keepdim=True))
        loss = -torch.sum(logp * tonehot) / tx.shape[0]
        grads = torch.autograd.grad(loss, [p for pair in tparams for p in pair])
        with torch.no_grad():
            return loss, [p - lr * g for p, g in zip([p for pair in tparams for p in pair], grads)]
    return step


def mlp(widths, batch, rounds, number):
    params, x, onehot = mlp_inputs(widths, batch)
    step = mlp_step_riesz(0.1)
    for (W, b), (W_, b_) in zip(step(params, x, onehot)[1], mlp_by_hand(params, x, onehot, 0.1)[1]):
        np.testing.assert_allclose(W, W_, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(b, b_, rtol=1e-4, atol=1e-6)
    candidates = {"hand-written NumPy": lambda: mlp_by_hand(params, x, onehot, 0.1),
                  "riesz eager": lambda: step(params, x, onehot)}
    torch_step = mlp_step_torch(params, x, onehot, 0.1)
    if torch_step is not None:
        new = [p.numpy() for p in torch_step()[1]]
        for got, (W_, b_) in zip((new[:2], new[2:]), mlp_by_hand(params, x, onehot, 0.1)[1]):
            np.testing.assert_allclose(got[0], W_, rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(got[1], b_, rtol=1e-4, atol=1e-6)
        candidates["PyTorch eager"] = torch_step
    arrows = "→".join(map(str, widths))
    report(f"MLP step {arrows}, batch {batch}, float32", interleaved(candidates, rounds, number))


def mlp_inputs(widths, batch):
    rng = np.random.default_rng(0)
    params = [((rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32),
               np.zeros(n, np.float32)) for m, n in zip(widths[:-1], widths[1:])]
    x = rng.standard_normal((batch, widths[0])).astype(np.float32)
    onehot = np.eye(widths[-1], dtype=np.float32)[rng.integers(0, widths[-1], batch)]
    return params, x, onehot


def breakdown(rounds, widths=(64, 128, 10), batch=32, number=100):
    """Where an MLP step's time goes (riesz's private functions, timed one by one): the
    phases of ``value_and_grad``, each reverse rule on its own (on the tape's values, hot
    caches; the pass runs them right after the big products, which cost them more), and for
    the small step the layers of one recorded operation (``np.exp`` of a traced 32×10
    array)."""
    from riesz import transforms
    from riesz.core import VJPTrace, Node, VJPTracer, bind, product_mode
    from riesz.rules.define import PRIMITIVES, has_nan
    params, x, onehot = mlp_inputs(list(widths), batch)
    vg = riesz.value_and_grad(mlp_loss)
    split = lambda: transforms._split_args(mlp_loss, (params, x, onehot), {}, 0, "grad")
    f_of_diff, diff_args, _, flat, tree = split()
    traced = lambda: transforms._trace_vjp(f_of_diff, diff_args, flat, tree, False)
    out, _, trace, slots = traced()
    _, seed_slot = transforms._lower(out, trace)
    one = np.ones((), np.float32)
    # as a pass that consumes it prepares it: a written-out log-softmax is one node
    VJPTrace.prepare_tape(trace.tape, [(seed_slot, one)], trace.rewrite_at or (), trace.big_from)
    grads = transforms._backward(trace, [(seed_slot, one)])

    def traced_and_backward():   # a fresh tape, walked once, as value_and_grad does
        out, _, trace, _ = traced()
        transforms._backward(trace, [(transforms._lower(out, trace)[1], one)], consume=True)
    rules = {}
    for slot, node in enumerate(trace.tape):
        if node is not None and type(node) is not int:
            for argnum, _ in node.parents:
                rule = node.prim.rule("reverse", argnum)
                g = np.ones_like(node.ans)
                rules[f"{slot} {node.prim.name}[{argnum}] {np.shape(node.ans)}"] = (
                    lambda rule=rule, g=g, node=node: rule(g, node.ans, *node.args, **node.params))

    def plain(rule):
        def run():
            product_mode.plain = True   # as the backward pass runs them
            rule()
            product_mode.plain = False
        return run

    def all_rules():
        for r in rules.values():
            plain(r)()
    # the staged backward pass that value_and_grad runs from a tape's second sighting on,
    # on a tape recorded as value_and_grad records it (not prepared: its key is the call's)
    from riesz.staging.replay import staged_gradient
    out2, _, trace2, slots2 = traced()
    value2, seed_slot2 = transforms._lower(out2, trace2)
    staged = lambda: staged_gradient(trace2, slots2, flat, value2, seed_slot2, False, "loss")
    for _ in range(2):
        staged()
    t = interleaved({
        "hand-written step": lambda: mlp_by_hand(params, x, onehot, 0.1),
        "NumPy forward alone": lambda: mlp_loss(params, x, onehot),
        "riesz value_and_grad": lambda: vg(params, x, onehot),
        "argnums, flatten, checks": split,
        "traced forward": traced,
        "staged backward (key, program)": staged,
        "traced forward and backward": traced_and_backward,
        "backward pass, one tape again": lambda: transforms._backward(trace, [(seed_slot, one)]),
        f"{len(rules)} reverse rules alone": all_rules,
        "NaN test of the results": lambda: [has_nan(grads[s]) for s in slots + [seed_slot]],
    }, rounds, number)
    t["eager backward pass"] = t["traced forward and backward"] - t["traced forward"]
    t["rest of the entry and exit"] = (t["riesz value_and_grad"] - t["argnums, flatten, checks"]
                                       - t["traced forward"] - t["staged backward (key, program)"])
    t["backward: walk, lookups, sums"] = (t["backward pass, one tape again"]
                                          - t[f"{len(rules)} reverse rules alone"]
                                          - t["NaN test of the results"])
    print(f"where the {'→'.join(map(str, widths))} step's time goes at batch {batch} "
          f"(µs, medians)")
    for name, v in t.items():
        print(f"  {name:32s} {v * 1e6:8.1f}")
    print("each reverse rule alone (µs, medians)")
    for name, v in interleaved({k: plain(r) for k, r in rules.items()}, rounds, number).items():
        print(f"  {name:32s} {v * 1e6:8.1f}")
    if batch > 32:
        return
    z = np.ones((32, 10), np.float32)
    tr = VJPTrace()
    tz = tr.new_input(z)
    exp = PRIMITIVES["exp"]
    tape = tr.tape
    layers = interleaved({
        "NumPy np.exp": lambda: np.exp(z),
        "primitive impl": lambda: exp.impl(z),
        "VJPTrace.process": lambda: (tr.process(exp, (tz,), {}), tape.clear()),
        "bind": lambda: (bind(exp, (tz,), {}), tape.clear()),
        "np.exp(traced)": lambda: (np.exp(tz), tape.clear()),
        "Node": lambda: Node(exp, {}, [(0, 1)], [z], z),
        "VJPTracer": lambda: VJPTracer(tr, z, 1),
    }, rounds, 2000)
    print("one recorded operation, np.exp of a traced 32×10 float32 array (µs, medians)")
    for name, v in layers.items():
        print(f"  {name:32s} {v * 1e6:8.2f}")


# ------------------------------------------------------------------ memory

def chain(x):
    y = np.tanh(x)
    z = y * x
    w = np.exp(-z)
    return np.sum(w * w)


def chain_by_hand(x):
    y = np.tanh(x)
    z = y * x
    w = np.exp(-z)
    dw = 2 * w
    dz = -(dw * w)
    dx = dz * y + (dz * x) * (1 - y * y)
    return dx


def peak(fn, *args):
    tracemalloc.start()
    tracemalloc.reset_peak()
    out = fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del out
    return peak


def memory(mib):
    x = np.random.default_rng(0).standard_normal(mib * 2 ** 20 // 8)
    np.testing.assert_allclose(riesz.grad(chain)(x[:1000]), chain_by_hand(x[:1000]))
    hand = peak(chain_by_hand, x)
    ours = peak(riesz.grad(chain), x)
    print(f"peak memory of the gradient of an elementwise chain, x of {mib} MiB (float64)")
    print(f"  hand-written NumPy       {hand / 2 ** 20:8.0f} MiB   1.00×")
    print(f"  riesz.grad               {ours / 2 ** 20:8.0f} MiB   {ours / hand:.2f}×")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--mib", type=int, default=64, help="size of the memory test's array")
    parser.add_argument("--clock", default="cpu", choices=["cpu", "wall"])
    parser.add_argument("only", nargs="*",
                        help="attention, mlp, mlp-small, breakdown, breakdown-big, memory "
                             "(default: all but mlp-small and the breakdowns)")
    args = parser.parse_args()
    CLOCK[0] = time.process_time if args.clock == "cpu" else time.perf_counter
    parts = args.only or ["attention", "mlp", "memory"]
    if "attention" in parts:
        attention(args.rounds)
    if "mlp" in parts:
        mlp([784, 1024, 10], 256, args.rounds, 3)
    if "mlp" in parts or "mlp-small" in parts:
        mlp([64, 128, 10], 32, args.rounds, 200)
    if "breakdown" in parts:
        breakdown(args.rounds)
    if "breakdown-big" in parts:
        breakdown(args.rounds, (784, 1024, 10), 256, 3)
    if "memory" in parts:
        memory(args.mib)


if __name__ == "__main__":
    main()
