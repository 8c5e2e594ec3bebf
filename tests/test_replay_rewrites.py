"""The auto-staged derivatives (riesz.staging.replay) replay a log-sum-exp written out in
NumPy, m + log Σ exp(y − m) with m = max y, as one logsumexp step, and answer as the eager
transforms do: on calls 1-3, every axis and keepdims, both float dtypes, ties, −∞ entries,
and the rows where the two differ (m = ±∞, NaN), which are left as recorded."""
import numpy as np
import pytest

import riesz
import riesz.transforms as eager

TRANSFORMS = [(riesz.hessian, eager.hessian), (riesz.jacfwd, eager.jacfwd),
              (riesz.jacrev, eager.jacrev)]


def written_out(axis, keepdims, c=0.0, swap=False, extra=False):
    """Σ lse(x + c) + ½ Σ x², the log-sum-exp written out along ``axis``."""
    def f(x):
        y = x * 1.5 + c
        m = np.max(y, axis=axis, keepdims=keepdims)
        lse = np.log(np.sum(np.exp(y - m), axis=axis, keepdims=keepdims))
        out = np.sum(lse + m if swap else m + lse) + 0.5 * np.sum(x * x)
        return out + np.sum(m) if extra else out   # extra: m read outside the chain
    return f


def fused(transformed):
    """Whether a staged program replayed a logsumexp: its derivative holds softmax and no
    maximum (the chain's would hold amax and its tie mask)."""
    programs = [str(e.program) for e in transformed._fn.programs.values() if callable(e)]
    assert programs, "nothing was staged"
    return all("softmax" in p and "amax" not in p for p in programs)


def agree(f, x, rtol, expect_fused):
    for T, TE in TRANSFORMS:
        ref, g = TE(f)(x), T(f)
        for _ in range(3):   # first sighting (eager replay), staging, the staged program
            np.testing.assert_allclose(g(x), ref, rtol=rtol, atol=rtol, equal_nan=True)
        assert fused(g) == expect_fused, T.__name__


CASES = [((4,), None, False), ((4,), 0, True), ((3, 4), None, True), ((3, 4), 0, False),
         ((3, 4), 0, True), ((3, 4), 1, True), ((3, 4), -1, True), ((2, 3, 4), -1, True),
         ((2, 3, 4), (0, 1), False), ((2, 3, 4), (0, 2), True)]


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("shape,axis,keepdims", CASES)
def test_written_out_logsumexp_is_one_step(shape, axis, keepdims, dtype, rtol):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    agree(written_out(axis, keepdims), x, rtol, True)
    agree(written_out(axis, keepdims, swap=True), x, rtol, True)


def test_chain_value_read_elsewhere_is_not_rewritten():
    x = np.random.default_rng(1).standard_normal((3, 4))
    agree(written_out(1, True, extra=True), x, 1e-12, False)


def test_max_broadcast_along_other_axes_is_not_rewritten():
    # m = max over axis 1 without kept dims, subtracted along axis 1 (a square y): not a lse
    x = np.random.default_rng(2).standard_normal((4, 4))
    agree(written_out(1, False), x, 1e-12, False)


def test_ties_in_the_maximum():
    x = np.array([[1.0, 1.0, 0.5, 1.0], [2.0, -1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]]) / 1.5
    agree(written_out(1, True), x, 1e-12, True)
    agree(written_out(None, False), x, 1e-12, True)


def test_minus_infinity_entries():
    c = np.zeros((3, 4))
    c[0, 1] = c[2, 0] = c[2, 3] = -np.inf
    agree(written_out(1, True, c), np.random.default_rng(3).standard_normal((3, 4)), 1e-12, True)


@pytest.mark.parametrize("value", [-np.inf, np.inf, np.nan])
def test_rows_where_the_chain_is_nan_are_left_as_recorded(value):
    # a row all −∞ (m = −∞), holding +∞ (m = +∞) or NaN: the chain is NaN there and its
    # derivatives differ from logsumexp's; the call replays the chain as recorded
    c = np.zeros((3, 4))
    if value == -np.inf:
        c[0, :] = value
    else:
        c[0, 2] = value
    x = np.random.default_rng(4).standard_normal((3, 4))
    with np.errstate(invalid="ignore"):
        agree(written_out(1, True, c), x, 1e-12, False)


def test_the_rewrite_changes_the_key():
    # one function, its constant refilled: the NaN call replays the chain under its own key
    c = np.zeros((3, 4))
    f = written_out(1, True, c)
    g = riesz.hessian(f)
    x = np.random.default_rng(5).standard_normal((3, 4))
    g(x), g(x)
    c[1, 1] = np.inf
    with np.errstate(invalid="ignore"):
        g(x), g(x)
        np.testing.assert_allclose(g(x), eager.hessian(f)(x), rtol=1e-12)
    c[1, 1] = 0.0
    np.testing.assert_allclose(g(x), eager.hessian(f)(x), rtol=1e-12)
    assert len(g._fn.programs) == 2
    # (the recorded maximum is an input of the program that replays the chain: softmax
    # tells the fused one)
    fused_or_not = sorted("softmax" in str(e.program) for e in g._fn.programs.values())
    assert fused_or_not == [False, True]


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_hvp_of_the_written_out_logsumexp(dtype, rtol):
    rng = np.random.default_rng(6)
    x, v = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
    f = written_out(1, True)
    ref = eager.hvp(f, (x,), (v,))
    for _ in range(3):
        np.testing.assert_allclose(riesz.hvp(f, (x,), (v,)), ref, rtol=rtol, atol=rtol)
