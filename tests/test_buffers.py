"""The backward pass's memory: values no rule reads given back (prepare_tape), cotangents
only the pass holds scaled in place (product), and what must never be written."""
import sys
import zlib

import numpy as np
import pytest

import riesz
from riesz import grad, vjp
from riesz.core import VJPTrace
from riesz.rules import define
from riesz.rules.define import PRIMITIVES, READS, defprim
from specs import SPECS


def _every_size(monkeypatch):
    # the rule table's size and the engine's copy of it (riesz.core.VJPTrace.big_nbytes)
    monkeypatch.setattr(define, "RELEASE_NBYTES", 0)
    monkeypatch.setattr(VJPTrace, "big_nbytes", 0)


@pytest.fixture
def every_array(monkeypatch):
    """Release and write in place on arrays of every size (the tests' arrays are small)."""
    _every_size(monkeypatch)


def _products_in_place(monkeypatch):
    """Record, for every product of a cotangent, whether it was written into the cotangent."""
    wrote = []
    product = define.product

    def recording(g, d):
        out = product(g, d)
        wrote.append(out is g)
        return out
    monkeypatch.setattr(define, "product", recording)
    return wrote


# ---- every rule gives the same gradient when its unread values are released and its
# cotangent is written into

CASES = [(name, i, case, dtype) for name, cases in sorted(SPECS.items())
         for i, case in enumerate(cases) for dtype in case.dtypes
         if "rev" in case.modes and PRIMITIVES[name] in READS]


def _pairing(fn, args):
    """x ↦ Σ c ⊙ fn(x) for a fixed random c (the real part of complex outputs), or None
    where fn's output is not one array."""
    out = fn(*args)
    if not isinstance(out, np.ndarray) or out.dtype.kind not in "fc":
        return None
    c = np.random.default_rng(1).standard_normal(out.shape).astype(out.real.dtype)
    return lambda *a: np.sum(np.real(fn(*a)) * c)


@pytest.mark.parametrize("name,i,case,dtype", CASES, ids=[f"{n}-{i}-{d}" for n, i, _, d in CASES])
def test_released_values_and_in_place_products_give_the_same_gradient(name, i, case, dtype,
                                                                      monkeypatch):
    rng = np.random.default_rng(zlib.crc32(f"{name}-{i}".encode()))
    args = case.args(rng, dtype)
    loss = _pairing(case.fn, args)
    if loss is None:
        pytest.skip("the output is not one floating array")
    argnums = tuple(range(len(args)))
    kept = grad(loss, argnums=argnums)(*args)    # small arrays: nothing released or written
    before = [a.copy() for a in args]
    _every_size(monkeypatch)
    got = grad(loss, argnums=argnums)(*args)
    for g, k in zip(got, kept):
        np.testing.assert_array_equal(g, k)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)


def test_second_order_is_the_same_with_released_values_and_in_place_products(monkeypatch):
    def attention(q, k, v):
        s = q @ k.T * 0.5
        e = np.exp(s - np.max(s, axis=-1, keepdims=True))
        return np.sum(np.tanh(e / np.sum(e, axis=-1, keepdims=True) @ v))

    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((5, 3)) for _ in range(3))
    w = rng.standard_normal((5, 3))
    hvp = grad(lambda q: np.sum(grad(attention)(q, k, v) * w))
    kept = hvp(q)
    _every_size(monkeypatch)
    np.testing.assert_allclose(hvp(q), kept, rtol=1e-13)
    riesz.testing.check_grads(lambda q: grad(attention)(q, k, v), (q,), order=1)


# ---- what a rule reads

def test_reads_names_values_of_the_rule():
    with pytest.raises(ValueError, match=r"\['z'\] are not values of the rule"):
        defprim("test_reads_unknown", np.add, vjp=[lambda g, ans, x, y: g, lambda g, ans, x, y: g],
                reads=["z", ""])
    with pytest.raises(ValueError, match="names the values of 1 rules, there are 2"):
        defprim("test_reads_count", np.add, vjp=[lambda g, ans, x, y: g, lambda g, ans, x, y: g],
                reads=[""])
    assert "test_reads_unknown" not in PRIMITIVES and "test_reads_count" not in PRIMITIVES


def test_a_consuming_pass_releases_exactly_the_values_no_rule_reads(every_array, monkeypatch):
    released = []

    def recording(tape, seeds, rewrite_at, big_from):
        big = define.prepare_tape(tape, seeds, rewrite_at, big_from)
        released.extend((node.prim.name, [_is_stand_in(a) for a in [node.ans, *node.args]])
                        for node in tape if node is not None and type(node) is not int)
        return big
    monkeypatch.setattr(VJPTrace, "prepare_tape", staticmethod(recording))
    x = np.linspace(0.1, 1.0, 6)
    np.testing.assert_allclose(grad(lambda x: np.sum(np.exp(x * 3.0) * x))(x),
                               np.exp(3 * x) * (3 * x + 1))
    # (ans, *args): x * 3.0 reads neither x nor its product (the factor 3.0 is no array),
    # but x, the caller's, is kept (releasing it would give nothing back); exp reads its
    # result, not its argument; e * x reads both factors, not the product; sum reads
    # neither (its result, a NumPy scalar, is no array)
    assert released == [("multiply", [True, False, False]), ("exp", [False, True]),
                        ("multiply", [True, False, False]), ("sum", [False, True])]
    np.testing.assert_array_equal(x, np.linspace(0.1, 1.0, 6))


def _is_stand_in(a):
    return type(a) is np.ndarray and a.strides == (0,) * a.ndim and not a.flags.writeable


def test_a_pullback_keeps_every_value(every_array, monkeypatch):
    calls = []
    monkeypatch.setattr(VJPTrace, "prepare_tape", staticmethod(lambda tape, seeds: calls.append(tape)))
    x = np.linspace(0.1, 1.0, 6)
    out, pullback = vjp(lambda x: np.exp(x * 3.0), x)
    for _ in range(2):   # called twice, from the same tape
        np.testing.assert_allclose(pullback(np.ones(6))[0], 3 * np.exp(3 * x))
    assert calls == []
    np.testing.assert_allclose(riesz.linearize(lambda x: np.exp(x * 3.0), x)[1](np.ones(6)),
                               3 * np.exp(3 * x))


# ---- products in place

def test_a_cotangent_only_the_pass_holds_is_scaled_in_place(every_array, monkeypatch):
    wrote = _products_in_place(monkeypatch)
    x = np.linspace(0.0, 1.0, 100).astype(np.float32)
    g = grad(lambda x: np.sum(np.exp(np.tanh(x) * 3.0)))(x)
    np.testing.assert_allclose(g, np.exp(np.tanh(x) * 3.0) * 3.0 * (1 - np.tanh(x) ** 2),
                               rtol=1e-5)
    assert g.dtype == np.float32
    assert True in wrote


def test_no_user_array_primal_or_stored_value_is_scaled_in_place(every_array, monkeypatch):
    wrote = _products_in_place(monkeypatch)
    x = np.linspace(0.1, 1.0, 50)
    x_before = x.copy()
    # the user's cotangent, given to a pullback twice
    ct = np.full(50, 2.0)
    out, pullback = vjp(lambda x: np.exp(x * 3.0), x)
    first = pullback(ct)[0]
    np.testing.assert_allclose(pullback(ct)[0], first)
    np.testing.assert_allclose(first, 6.0 * np.exp(3.0 * x))
    np.testing.assert_array_equal(ct, np.full(50, 2.0))
    # a custom rule's residual returned as a cotangent, then scaled by exp's rule
    stored = np.full(50, 7.0)

    @riesz.custom_vjp
    def f(y):
        return y * 1.0
    f.defvjp(lambda y: (y * 1.0, stored), lambda r, g: (r,))
    for _ in range(2):
        np.testing.assert_allclose(grad(lambda x: np.sum(f(np.exp(x)) * 2.0))(x), 7.0 * np.exp(x))
    np.testing.assert_array_equal(stored, np.full(50, 7.0))
    # one cotangent handed to two arguments (x + y gives g to both), each then scaled
    np.testing.assert_allclose(grad(lambda x: np.sum(np.exp(x) + np.sin(x)))(x),
                               np.exp(x) + np.cos(x))
    # a primal kept by the user and returned as an earlier result
    y = np.exp(x)
    np.testing.assert_allclose(grad(lambda x: np.sum(np.exp(x) * y))(x), y * y)
    np.testing.assert_array_equal(y, np.exp(x))
    np.testing.assert_array_equal(x, x_before)
    assert True in wrote


def test_a_cotangent_read_by_two_rules_is_written_by_the_last_only(every_array, monkeypatch):
    wrote = _products_in_place(monkeypatch)
    x, y = np.linspace(0.5, 1.0, 20), np.linspace(1.0, 2.0, 20)
    gx, gy = grad(lambda x, y: np.sum(np.exp(x / y)), argnums=(0, 1))(x, y)
    q = np.exp(x / y)
    np.testing.assert_allclose(gx, q / y)
    np.testing.assert_allclose(gy, -q * x / y ** 2)
    assert wrote.count(True) >= 1


def test_in_place_products_keep_zero_safety(every_array):
    # sqrt'(0) = ∞ under a zero cotangent: the plain walk gives NaN, the zero-safe walk 0
    x = np.array([0.0, 1.0, 4.0])
    np.testing.assert_allclose(grad(lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0) * 2.0))(x),
                               [0.0, 1.0, 0.5])
    assert sys.getrefcount(x) >= 2


# ---- the one NaN test of a plain backward pass's results

@pytest.mark.parametrize("value,expected", [
    (np.array([1.0, np.inf, -np.inf]), False),   # +∞ and −∞ together are no NaN
    (np.array([1.0, np.nan, -np.inf], np.float32), True),
    (np.full((3, 4), np.nan).T[1:], True),        # not contiguous
    (np.array([], np.float32), False),
    (np.float32(np.nan), True),
    (np.array([1 + 1j, complex(0, np.nan)]), True),
    (np.arange(3), False),
    # above 8192 entries: the minimum, not Σ|x|²
    (np.r_[np.ones(9000, np.float32), np.inf, -np.inf], False),
    (np.r_[np.ones(9000), np.nan], True),
    (np.full((200, 100), np.nan, np.float32).T[::2], True),
    (np.r_[np.ones(9000), complex(0, np.nan)], True),
    (np.arange(9000), False),
])
def test_has_nan(value, expected):
    assert bool(define.has_nan(value)) is expected
