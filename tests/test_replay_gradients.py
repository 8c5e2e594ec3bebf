"""The auto-staged backward pass of ``riesz.grad`` and ``riesz.value_and_grad``
(riesz/staging/replay.py ``staged_gradient``, issue 12 item 5).

The forward pass is recorded on every call, as eager reverse mode always did; from the
second sighting of a tape's structural key on, a staged program computes the gradient from
the recorded values. Every test compares the answers with the eager backward pass
(``riesz.config.stage_derivatives = False``) on several calls: the first is eager, the
second stages, the later ones run the program.
"""
import threading
import warnings

import numpy as np
import pytest

import riesz
from riesz.staging import replay
from specs import SPECS
from test_replay import assert_tree_close

RNG = np.random.default_rng(3)
B = RNG.standard_normal((3, 3))
X3 = RNG.standard_normal(3)


SIGHTINGS_TO_STAGE = replay._sightings_to_stage


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    """A cache of this test's own (the programs of other tests' tapes not in it), whose
    programs are staged on a key's second sighting whatever the tape's length (the tests
    of the answers need the program to run from the third call on)."""
    monkeypatch.setattr(replay, "_GRADIENT_PROGRAMS",
                        replay._Programs(replay.GRADIENT_CACHE_SIZE))
    monkeypatch.setattr(replay, "_sightings_to_stage", lambda n_slots: 2)


def staged_programs():
    return [e.program for e in replay._GRADIENT_PROGRAMS.entries.values() if callable(e)]


def eager(transform, *args, **kwargs):
    """``transform(f, ...)`` with the staged programs turned off."""
    def run(*call_args, **call_kwargs):
        riesz.config.stage_derivatives = False
        try:
            return transform(*args, **kwargs)(*call_args, **call_kwargs)
        finally:
            riesz.config.stage_derivatives = True
    return run


def assert_as_eager(f, args, calls=3, staged=True, tol=1e-13, transform=riesz.grad,
                    **options):
    """``transform(f, **options)`` equals the eager one on ``calls`` calls with ``args`` (a
    tuple, or a function of the call's index giving one); ``staged``: a program runs from
    the second call on (None: not asserted)."""
    auto = transform(f, **options)
    for k in range(calls):
        a = args(k) if callable(args) else args
        assert_tree_close(auto(*a), eager(transform, f, **options)(*a), tol, tol)
        if k >= 1 and staged is not None:
            assert bool(staged_programs()) == staged
    return auto


# ---------------------------------------------------------------- the same answers

def mlp_loss(params, x, onehot):
    """A ReLU network's softmax cross-entropy, as a user writes it in NumPy (the mask, the
    max shift and the log-sum-exp are what a staged backward pass must get right)."""
    *hidden, (W, b) = params
    for V, c in hidden:
        x = x @ V + c
        x = x * (x > 0)
    z = x @ W + b
    z = z - np.max(z, axis=1, keepdims=True)
    return -np.mean(np.sum((z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))) * onehot,
                           axis=1))


def mlp_args(dtype):
    rng = np.random.default_rng(0)
    params = [((rng.standard_normal((m, n)) / np.sqrt(m)).astype(dtype), np.zeros(n, dtype))
              for m, n in ((6, 8), (8, 4))]
    x = rng.standard_normal((5, 6)).astype(dtype)
    onehot = np.eye(4, dtype=dtype)[rng.integers(0, 4, 5)]
    return params, x, onehot


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 1e-6)])
@pytest.mark.parametrize("transform", [riesz.grad, riesz.value_and_grad])
def test_a_training_step_as_eager(dtype, tol, transform):
    assert_as_eager(mlp_loss, mlp_args(dtype), tol=tol, transform=transform)


def test_new_inputs_give_new_gradients():
    g = riesz.grad(lambda x: np.sum(np.tanh(B @ x) ** 2))
    for k in range(4):
        x = RNG.standard_normal(3)
        y = np.tanh(B @ x)
        np.testing.assert_allclose(g(x), B.T @ (2 * y * (1 - y ** 2)), rtol=1e-13)
    assert len(staged_programs()) == 1


def two_args(x, y):
    return np.sum(np.sin(x) * y[:2]) + np.sum(np.cos(y[1:]) * x)


@pytest.mark.parametrize("options", [{"argnums": (0, 1)}, {"argnums": 1}, {"argnums": -1},
                                     {"argnums": 0}])
def test_argnums(options):
    assert_as_eager(two_args, (RNG.standard_normal(2), X3), **options)
    assert_as_eager(two_args, (RNG.standard_normal(2), X3), transform=riesz.value_and_grad,
                    **options)


def test_keyword_arguments_pytrees_and_aux():
    def f(p, *, scale):
        y = np.tanh(p["w"] @ p["b"]) * scale
        return np.sum(y ** 2), {"y": y}
    p = {"w": RNG.standard_normal((2, 3)), "b": X3}
    auto = riesz.grad(f, has_aux=True)
    for _ in range(3):
        (g, aux), (g_, aux_) = auto(p, scale=2.0), eager(riesz.grad, f, has_aux=True)(p, scale=2.0)
        assert_tree_close(g, g_, 1e-13, 1e-13)
        assert_tree_close(aux, aux_, 0, 0)
    assert staged_programs()


def test_float32_keeps_its_dtype():
    x = X3.astype(np.float32)
    g = assert_as_eager(lambda x: np.sum(np.tanh(B.astype(np.float32) @ x) * 2.0), (x,), tol=1e-6)
    assert g(x).dtype == np.float32


def test_broadcasting_and_reductions():
    def f(x, b):
        return np.sum(np.sin(x[:, None] * x[None, :] + b) ** 2) + np.mean(np.max(x * b[:3], 0))
    assert_as_eager(f, (X3, RNG.standard_normal(3)), argnums=(0, 1))


def test_complex_inputs_and_holomorphic():
    z = X3 + 1j * X3[::-1]
    assert_as_eager(lambda z: np.sum(np.abs(z * B[0]) ** 2), (z,))
    assert_as_eager(lambda z: np.sum(z ** 2 * (1 + 2j) + np.exp(z)), (z,), holomorphic=True)


def test_a_metric():
    M = B @ B.T + 3 * np.eye(3)
    assert_as_eager(lambda x: np.sum(np.sin(x) ** 2), (X3,), metric=M)


@pytest.mark.parametrize("primitive, cases", sorted(SPECS.items()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_primitive_of_the_spec_table_stages_as_eager(primitive, cases):
    # the gradient of Σ real(f)² of every case tested in reverse mode, float64: the staged
    # program (third call) equals the eager backward pass (to the rounding of the
    # simplifier's rewrites)
    rng = np.random.default_rng(0)
    for case in cases:
        if "rev" not in case.modes:
            continue
        args = case.args(rng, "float64")

        def sum_of_squares(*a, fn=case.fn):
            return sum(np.sum(np.real(y) ** 2) for y in riesz.tree_leaves(fn(*a)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # warnings: eager's, once a call
            assert_as_eager(sum_of_squares, args, tol=1e-10, staged=None,
                            argnums=tuple(range(len(args))))


# ---------------------------------------------------------------- soundness: as eager, always

def test_zero_safe_products_where_a_plain_product_is_nan():
    # sqrt'(0) = ∞ times a zero cotangent: the zero-safe product gives 0, a plain one NaN
    def f(x):
        return np.sum(np.where(x > 0, np.sqrt(np.abs(x)), 0.0))
    for x in (np.array([0.0, 1.0, 4.0]), np.array([1.0, 2.0, 4.0]), np.array([0.0, 0.0, 9.0])):
        got = assert_as_eager(f, (x,))(x)
        assert np.all(np.isfinite(got))


def test_a_closed_over_array_mutated_in_place():
    W = B.copy()

    def f(x):
        return np.sum(np.tanh(W @ x) ** 2)

    def args(k):
        W[0, 0] = k + 1.0   # after the program is staged too
        return (X3,)
    assert_as_eager(f, args, calls=4)


def test_a_constant_written_into_after_its_use_inside_f():
    def f(x):
        buf = np.ones(3)
        y = np.sum(x * buf)
        buf[:] = 5.0   # the product's rule reads the value it was applied to
        return y + np.sum(np.sin(x) * buf)
    g = assert_as_eager(f, (X3,))
    np.testing.assert_allclose(g(X3), 1.0 + 5.0 * np.cos(X3), rtol=1e-14)


def test_a_python_float_that_changes_is_part_of_the_key():
    scale = [2.0]
    f = lambda x: scale[0] * np.sum(np.sin(x) ** 2)
    g = riesz.grad(f)
    for s in (2.0, 2.0, 2.0, 3.0, 3.0, -0.0):
        scale[0] = s
        np.testing.assert_allclose(g(X3), 2 * s * np.sin(X3) * np.cos(X3), rtol=1e-14)
    assert len(staged_programs()) == 2   # 2.0 and 3.0, each seen twice or more


def test_a_python_branch_on_a_value():
    def f(x):
        if x[0] > 0:
            return np.sum(np.sin(x) * x[1])
        return np.sum(np.cos(x) ** 2)
    assert_as_eager(f, lambda k: (np.array([[1, 1, -1, -1, 1, -1][k], 0.5, 2.0]),), calls=6)
    assert len(staged_programs()) == 2   # one per branch


def test_ties_masks_and_index_parameters():
    ties = [np.array([1.0, 3.0, 3.0]), np.array([3.0, 3.0, 3.0]), np.array([1.0, 2.0, 3.0]),
            np.array([2.0, 2.0, -1.0])]
    assert_as_eager(lambda x: np.sum(np.max(x) * x + np.sort(x) ** 2 + np.abs(x)),
                    lambda k: (ties[k],), calls=4, staged=None)

    def f(x, idx):
        return np.sum(np.sin(x[idx]) * x[idx[0]])
    g = riesz.grad(f)
    for idx in ([0, 2], [1, 1], [0, 2], [2, 0], [2, 0]):
        i = np.array(idx)
        assert_tree_close(g(X3, i), eager(riesz.grad, f)(X3, i), 1e-14, 1e-14)
    # [0, 2] and [2, 0], each seen twice
    assert len([p for p in staged_programs() if p.name == "grad_f"]) == 2


def test_gradients_are_new_arrays():
    # d/dx Σ x ⊙ c = c, and Σ x + y hands one cotangent to both: a user writing into a
    # gradient changes neither c nor the other gradient
    c = RNG.standard_normal(3)
    g = riesz.grad(lambda x, y: np.sum(x * c) + np.sum(x + y), argnums=(0, 1))
    for _ in range(3):
        gx, gy = g(X3, X3)
        gx *= 0.0
        np.testing.assert_allclose(gy, np.ones(3))
        assert not np.shares_memory(gx, c) and not np.shares_memory(gx, gy)
    assert staged_programs()


def test_the_forward_pass_warns_once_per_call():
    def f(x):
        return np.sum(np.log(x) * x)   # log(0): NumPy warns in the forward pass

    def messages(x):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            g(x)
        return [str(w.message) for w in caught]
    g = riesz.grad(f)
    x = np.array([0.0, 1.0, 2.0])
    for _ in range(3):
        assert messages(x) == ["divide by zero encountered in log",
                               "invalid value encountered in multiply"]
    assert staged_programs()


def test_a_call_counter_counts_every_call():
    count = [0]

    def f(x):
        count[0] += 1
        return np.sum(np.tanh(B @ x) * x)
    g = riesz.grad(f)
    for _ in range(4):
        g(X3)
    assert count == [4] and staged_programs()


def test_a_grad_made_in_a_loop_stages_once():
    # one cache for every function: the tape, not the transformed function, is the key
    for k in range(4):
        x = X3 + k
        np.testing.assert_allclose(riesz.grad(lambda x: np.sum(np.sin(x)))(x), np.cos(x),
                                   rtol=1e-15)
    assert len(staged_programs()) == 1


# ---------------------------------------------------------------- where the eager pass runs

def test_big_tapes_keep_the_eager_pass():
    # the eager pass gives memory back as it walks (benchmarks/eager.py memory)
    x = RNG.standard_normal(20_000)   # 160 kB: above RELEASE_NBYTES
    assert_as_eager(lambda x: np.sum(np.tanh(x) ** 2), (x,), staged=False)


def test_numbers_nested_tapes_custom_rules_and_debug_nans_run_eagerly():
    assert_as_eager(lambda x: np.sin(x) ** 3 * 2.0, (0.5,), staged=False)
    f = lambda x: np.sum(riesz.checkpoint(lambda y: np.sin(y) ** 2)(B @ x))
    assert_as_eager(f, (X3,), staged=False)
    hessian = riesz.jacfwd(riesz.grad(lambda x: np.sum(np.sin(x) ** 3)))   # grad is nested
    for _ in range(3):
        np.testing.assert_allclose(hessian(X3), np.diag(6 * np.sin(X3) * np.cos(X3) ** 2
                                                        - 3 * np.sin(X3) ** 3), rtol=1e-13)
    assert not staged_programs()
    g = riesz.grad(lambda x: np.sum(np.sqrt(x)))
    for _ in range(3):
        g(np.array([1.0, 4.0]))
    assert staged_programs()
    with riesz.debug_nans(), pytest.raises(FloatingPointError, match="sqrt"):
        g(np.array([1.0, -4.0]))


def test_the_switch():
    g = riesz.grad(lambda x: np.sum(np.sin(x) ** 2))
    riesz.config.stage_derivatives = False
    try:
        for _ in range(3):
            g(X3)
        assert not replay._GRADIENT_PROGRAMS.entries
    finally:
        riesz.config.stage_derivatives = True
    with pytest.raises(TypeError, match="True or False"):
        riesz.config.stage_derivatives = 1
    assert "stage_derivatives=True" in repr(riesz.config)


def test_the_third_call_runs_the_program(monkeypatch):
    g = riesz.value_and_grad(mlp_loss)
    args = mlp_args(np.float64)
    want = eager(riesz.value_and_grad, mlp_loss)(*args)
    for _ in range(2):
        g(*args)

    def refuse(*args, **kwargs):
        raise AssertionError("the eager backward pass ran")
    monkeypatch.setattr(riesz.core.VJPTrace, "backward", refuse)
    assert_tree_close(g(*args), want, 1e-13, 1e-13)


def test_threads_share_the_cache():
    from concurrent.futures import ThreadPoolExecutor
    g = riesz.grad(lambda x: np.sum(np.log1p(np.exp(B @ x))))
    xs = [RNG.standard_normal(3) for _ in range(40)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(g, xs))
    for x, gx in zip(xs, got):
        np.testing.assert_allclose(gx, B.T @ (1 / (1 + np.exp(-B @ x))), rtol=1e-13)
    assert len(staged_programs()) == 1
    assert threading.active_count() >= 1


def test_eigh_warns_as_eagerly():
    # its rule warns where eigenvalues repeat (the eigenvectors' derivative does not exist),
    # reading values: a program would not, so such tapes keep the eager pass
    def f(a):
        w, v = np.linalg.eigh(a)
        return np.sum(v[:, -1] ** 3) + np.sum(w ** 2)
    distinct, repeated = np.diag([1.0, 2.0, 3.0]), np.diag([1.0, 2.0, 2.0])
    g = riesz.grad(f)
    for _ in range(3):
        g(distinct)
    with pytest.warns(RuntimeWarning, match="repeated eigenvalues"):
        g(repeated)
    assert not staged_programs()


def test_a_big_constant_with_small_results_is_staged_and_given_back():
    # A (320 kB) is protected while a tape holds it, not copied; the results are small, so
    # the program runs, and A is writable again after each call
    A = RNG.standard_normal((200, 200))
    g = riesz.grad(lambda x: np.sum(np.tanh(A @ x)))
    for k in range(4):
        A[0, 0] = k   # between calls, after the program is staged too
        x = RNG.standard_normal(200)
        np.testing.assert_allclose(g(x), A.T @ (1 - np.tanh(A @ x) ** 2), rtol=1e-12)
        assert A.flags.writeable
    assert staged_programs()


def test_a_long_tape_is_staged_later(monkeypatch):
    # staging costs about as much as 25-45 eager calls: a longer tape waits for more
    # sightings (the 32nd from 240 slots on), a small one is staged on the second
    monkeypatch.setattr(replay, "_sightings_to_stage", SIGHTINGS_TO_STAGE)
    assert [SIGHTINGS_TO_STAGE(n) for n in (3, 16, 20, 200, 240, 10_000)] == [2, 4, 4, 27, 32, 32]

    def chain(x):
        for _ in range(50):
            x = np.tanh(x * 1.01 + 0.1)
        return np.sum(x)
    g = riesz.grad(chain)
    x = RNG.standard_normal(5)
    want = eager(riesz.grad, chain)(x)
    for k in range(32):
        np.testing.assert_array_equal(g(x), want)
        # 150 nodes, the sum and the input: 152 slots, staged on the 21st call
        assert bool(staged_programs()) == (k >= 20)
