"""Every primitive under vmap: the derivatives of a batch of examples, in one batched pass,
equal the derivatives of each example alone (the batching rules of the primitives and of
their derivative rules, with the masks, signs and ties those rules compute from the values
run on the whole batch), in reverse mode with the batch below or above the derivative, and
in forward mode."""
import numpy as np
import pytest

import riesz
import riesz.batching
from riesz import vjp, vmap

from specs import SPECS

CASES = [(name, i, case) for name, cases in sorted(SPECS.items()) for i, case in enumerate(cases)
         if "rev" in case.modes]

# the cases that vmap maps one example at a time, and why: an index computed from the values
# (complex eig's largest entry of each eigenvector, np.sort's permutation: a parameter of
# getitem, not an argument a batching rule sees), a rank read off the values
ONE_AT_A_TIME = {
    "eig-2", "eig-3",   # complex: the largest entry's phase
    "getitem-12",       # np.sort's permutation
    "getitem-13", "index_update-3",   # an index computed from the values
    "pinv-2",           # lstsq's rank
}


def _batch_of_examples(case, i):
    examples = [case.args(np.random.default_rng(100 * i + k), "float64") for k in range(3)]
    return examples, [np.stack(leaves) for leaves in zip(*examples)]


@pytest.mark.parametrize("name,i,case", CASES, ids=[f"{n}-{i}" for n, i, _ in CASES])
def test_vjp_of_a_batch_equals_each_examples(name, i, case, monkeypatch):
    examples, batch = _batch_of_examples(case, i)
    cts = [riesz.tree_map(lambda y: np.random.default_rng(k).standard_normal(np.shape(y)),
                          case.fn(*args)) for k, args in enumerate(examples)]
    expected = [vjp(case.fn, *args)[1](ct) for args, ct in zip(examples, cts)]
    ct_batch = riesz.tree_map(lambda *ys: np.stack(ys), *cts)
    one_at_a_time = []
    map_by_loop = riesz.batching._map_by_loop
    monkeypatch.setattr(riesz.batching, "_map_by_loop",
                        lambda *args: one_at_a_time.append(1) or map_by_loop(*args))
    got = vmap(lambda ct, *args: vjp(case.fn, *args)[1](ct))(ct_batch, *batch)
    for k in range(3):
        for g, w in zip(riesz.tree_flatten(got)[0], riesz.tree_flatten(expected[k])[0]):
            np.testing.assert_allclose(np.asarray(g)[k], w, rtol=1e-10, atol=1e-12)
    assert bool(one_at_a_time) == (f"{name}-{i}" in ONE_AT_A_TIME)


@pytest.mark.parametrize("name,i,case", CASES, ids=[f"{n}-{i}" for n, i, _ in CASES])
def test_vjp_of_the_batched_function_equals_each_examples(name, i, case):
    # the batch above the derivative: the masks are computed at the batch's level
    examples, batch = _batch_of_examples(case, i)
    cts = [riesz.tree_map(lambda y: np.random.default_rng(k).standard_normal(np.shape(y)),
                          case.fn(*args)) for k, args in enumerate(examples)]
    got = vjp(vmap(case.fn), *batch)[1](riesz.tree_map(lambda *ys: np.stack(ys), *cts))
    for k, (args, ct) in enumerate(zip(examples, cts)):
        expected = vjp(case.fn, *args)[1](ct)
        for g, w in zip(riesz.tree_flatten(got)[0], riesz.tree_flatten(expected)[0]):
            np.testing.assert_allclose(np.asarray(g)[k], w, rtol=1e-10, atol=1e-12)


FWD_CASES = [(name, i, case) for name, cases in sorted(SPECS.items())
             for i, case in enumerate(cases) if "fwd" in case.modes]


@pytest.mark.parametrize("name,i,case", FWD_CASES, ids=[f"{n}-{i}" for n, i, _ in FWD_CASES])
def test_jvp_of_a_batch_equals_each_examples(name, i, case):
    examples, batch = _batch_of_examples(case, i)
    n = len(batch)
    got = vmap(lambda *a: riesz.jvp(case.fn, a[:n], a[n:])[1])(*batch, *[0.5 * b for b in batch])
    for k, args in enumerate(examples):
        expected = riesz.jvp(case.fn, args, tuple(0.5 * a for a in args))[1]
        for g, w in zip(riesz.tree_flatten(got)[0], riesz.tree_flatten(expected)[0]):
            np.testing.assert_allclose(np.asarray(g)[k], w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,i,case", CASES, ids=[f"{n}-{i}" for n, i, _ in CASES])
def test_staged_vjp_of_a_batch_equals_each_examples(name, i, case):
    # riesz.jit of the batched pass: one program for the batch (the simplifier once took a
    # batch of scalars, reshaped to (n, 1, 1) for a product, for a vector matmul promoted)
    examples, batch = _batch_of_examples(case, i)
    cts = [riesz.tree_map(lambda y: np.random.default_rng(k).standard_normal(np.shape(y)),
                          case.fn(*args)) for k, args in enumerate(examples)]
    ct_batch = riesz.tree_map(lambda *ys: np.stack(ys), *cts)
    got = riesz.jit(vmap(lambda ct, *args: vjp(case.fn, *args)[1](ct)))(ct_batch, *batch)
    for k, (args, ct) in enumerate(zip(examples, cts)):
        expected = vjp(case.fn, *args)[1](ct)
        for g, w in zip(riesz.tree_flatten(got)[0], riesz.tree_flatten(expected)[0]):
            np.testing.assert_allclose(np.asarray(g)[k], w, rtol=1e-10, atol=1e-12)
