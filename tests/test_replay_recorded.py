"""The auto-staged derivatives' lean entry (riesz/staging/replay.py, issue 12): the program
reads the values the recording computed (the forward pass runs once per call), the tape is
read in one loop for its key and constants, and ``_split_args`` decides the common cases
on types. Every test compares with the eager transform on calls whose inputs, closed-over
arrays and keys change between calls, so that a program reading a stale recorded value,
or a fast path answering otherwise than the general one, fails."""
import numpy as np
import pytest

import riesz
from riesz import transforms as eager
from riesz.staging import replay
from test_replay import AUTO, EAGER, assert_tree_close, programs

RNG = np.random.default_rng(7)
def run_calls(name, f, calls, rtol=1e-13, **options):
    """``AUTO[name](f)`` against ``EAGER[name](f)`` on each argument tuple of ``calls``
    (made afresh per call: ``calls`` is a list of functions giving the arguments)."""
    auto, reference = AUTO[name](f, **options), EAGER[name](f, **options)
    for make in calls:
        args = make()
        assert_tree_close(auto(*args), reference(*args), rtol, rtol)
    return auto


# ---------------------------------------------------------------- recorded values read

W = RNG.standard_normal((5, 4))


def tanh_map(x):
    return np.tanh(W @ x)


def test_the_program_reads_the_recorded_forward_pass():
    # jacrev of tanh(Wx): the program computes (1 − t²) ⊙ Wᵀ from the recorded t and
    # computes neither Wx nor tanh
    J = run_calls("jacrev", tanh_map, [lambda: (RNG.standard_normal(4),)] * 4)
    (program,) = [e.program for e in programs(J)]
    names = [e.prim.name for e in program.eqns]
    assert "tanh" not in names and "matmul" not in names


@pytest.mark.parametrize("name", list(AUTO))
def test_new_inputs_and_a_closure_changed_in_place_every_call(name):
    V = RNG.standard_normal((4, 4))

    def f(x):
        return np.sum(np.log1p(np.exp(V @ x))) * np.tanh(x) + 0.5 * (x @ x)

    def call():
        V[1, 2] = RNG.standard_normal()   # a closed-over array refilled in place
        return (RNG.standard_normal(4),)

    g = run_calls(name, f, [call] * 5)
    assert programs(g)


def test_hvp_runs_the_product_with_a_once_per_call():
    # hvp of Σ tanh(Ax)²: the recorded Ax is read, so the program holds two matrix
    # products (Av and Aᵀ(...)) where it held three
    A = RNG.standard_normal((6, 6))
    f = lambda x: np.sum(np.tanh(A @ x) ** 2)
    for _ in range(4):
        x, v = RNG.standard_normal(6), RNG.standard_normal(6)
        A[0, 0] = RNG.standard_normal()
        assert_tree_close(riesz.hvp(f, (x,), (v,)), eager.hvp(f, (x,), (v,)), 1e-13, 1e-13)
    programs = [e.program for e in replay._HVP_PROGRAMS.entries.values()
                if callable(e) and "hvp_<lambda>" == e.program.name and
                any(v.shape == (6, 6) for v in e.program.invars)]
    assert programs
    assert [e.prim.name for e in programs[-1].eqns].count("matmul") == 2


@pytest.mark.parametrize("name", list(AUTO))
def test_aux_holding_recorded_values_is_left_alone(name):
    # the program reads the recorded y (the aux's y too) and must not write into it
    def f(x):
        y = np.tanh(W @ x)
        z = y * 2.0
        return np.sum(z ** 2) if name == "hessian" else z, {"y": y, "z": z}

    auto, reference = AUTO[name](f, has_aux=True), EAGER[name](f, has_aux=True)
    for _ in range(4):
        x = RNG.standard_normal(4)
        (jac, aux), (want, want_aux) = auto(x), reference(x)
        assert_tree_close(jac, want, 1e-13, 1e-13)
        assert_tree_close(aux, want_aux, 0, 0)
        np.testing.assert_array_equal(aux["y"], np.tanh(W @ x))
    assert programs(auto)


# ---------------------------------------------------------------- the argument fast paths

def pytree_map(p, scale, *, shift):
    return {"a": np.sin(p["w"] @ p["b"]) * scale + shift,
            "b": (np.exp(p["b"]) * scale, np.sum(p["w"] ** 2))}


def two_args(x, y):
    return np.sin(x) * y[:2] + np.cos(y[1:]) * x


@pytest.mark.parametrize("name", ["jacobian", "jacfwd", "jacrev"])
def test_pytrees_keywords_and_fixed_arguments(name):
    def call():
        return ({"w": RNG.standard_normal((2, 3)), "b": RNG.standard_normal(3)}, 1.5)
    auto = AUTO[name](pytree_map)
    ref = EAGER[name](pytree_map)
    for _ in range(4):
        args = call()
        assert_tree_close(auto(*args, shift=0.25), ref(*args, shift=0.25), 1e-13, 1e-13)
    assert programs(auto)


@pytest.mark.parametrize("name", list(AUTO))
@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, 0), -1, np.int64(1), (-2,)])
def test_argnums_every_way(name, argnums):
    f = (lambda x, y: np.sum(two_args(x, y) ** 2)) if name == "hessian" else two_args
    calls = [lambda: (RNG.standard_normal(2), RNG.standard_normal(3))] * 4
    run_calls(name, f, calls, argnums=argnums)


@pytest.mark.parametrize("name", list(AUTO))
def test_float32_and_a_key_change_between_calls(name):
    f = (lambda x: np.sum(np.tanh(x) ** 2) * 0.5) if name == "hessian" else \
        (lambda x: np.tanh(x) * 0.5)
    shapes = [(3,), (3,), (3,), (4,), (4,), (4,), (3,)]
    for dtype, rtol in ((np.float32, 1e-6), (np.float64, 1e-13)):
        auto = run_calls(name, f, [lambda s=s: (RNG.standard_normal(s).astype(dtype),)
                                   for s in shapes], rtol=rtol)
        assert len(programs(auto)) == 2   # one program per shape
        x = RNG.standard_normal(3).astype(dtype)
        assert auto(x).dtype == dtype


def test_split_args_fast_paths_answer_as_the_general_path():
    x, y = RNG.standard_normal(2), RNG.standard_normal(3)
    f_of_diff, diff_args, single, leaves, tree = eager._split_args(two_args, (x, y), {},
                                                                   (0, 1), "t")
    assert f_of_diff is two_args and not single and len(leaves) == 2   # f itself
    g, diff_args, single, leaves, tree = eager._split_args(two_args, (x, y), {}, 1, "t")
    assert single and diff_args == (y,) and np.array_equal(g(y + 1), two_args(x, y + 1))
    g, diff_args, single, leaves, tree = eager._split_args(two_args, (x, y), {}, (1, 0), "t")
    assert np.array_equal(g(y, x), two_args(x, y))
    with pytest.raises(TypeError, match="argument 0 of two_args has dtype int64"):
        eager._split_args(two_args, (np.arange(2), y), {}, 0, "jacobian")
    with pytest.raises(ValueError, match="argnums=2"):
        eager._split_args(two_args, (x, y), {}, 2, "jacobian")
    with pytest.raises(TypeError, match="is a str"):
        riesz.jacobian(two_args)("no", y)


def test_the_log_sum_exps_found_on_a_tape_depend_on_its_input_types():
    # the same structure on real and complex inputs: the written-out log-sum-exp is one
    # step for the real ones only (a complex chain is replayed as recorded)
    def f(x):
        y = x * 1.5
        m = np.max(y)
        return m + np.log(np.sum(np.exp(y - m)))

    J = riesz.jacfwd(f)
    x = RNG.standard_normal(3)
    for z in (x, x, x, x + 0.5j * x[::-1], x + 0.5j * x[::-1], x - 0.25j):
        assert_tree_close(J(z), eager.jacfwd(f)(z), 1e-13, 1e-13)
    by_dtype = {e.program.invars[0].dtype.kind: str(e.program) for e in programs(J)}
    assert "softmax" in by_dtype["f"] and "softmax" not in by_dtype["c"]


@pytest.mark.parametrize("name", list(AUTO))
def test_writes_into_traced_values_and_their_views(name):
    # y[0] = ..., v[2] = ... through a view: new recorded values, never the old ones
    # changed in place, so the program reads what each step computed
    def g(x):
        y = np.tanh(x)
        v = y.T
        y[0] = 2 * y[1]
        v[2] = v[2] * 5
        return y * 3 + np.sin(v)

    f = (lambda x: np.sum(g(x) ** 2)) if name == "hessian" else g
    assert programs(run_calls(name, f, [lambda: (RNG.standard_normal(4),)] * 4, rtol=1e-12))


def test_jacobian_auto_mode_follows_the_key():
    # 2 inputs → 4 outputs: forward; 10 inputs → 4 outputs: reverse. The program found
    # under a key was staged for the mode its sizes choose
    f = lambda x: np.tanh(np.outer(x[:2], x[:2]).ravel() * np.sum(x))
    J = run_calls("jacobian", f, [lambda n=n: (RNG.standard_normal(n),) for n in
                                  (2, 10, 2, 10, 2, 10, 10, 2)])
    assert sorted(e.program.name for e in programs(J)) == ["jacfwd_<lambda>", "jacrev_<lambda>"]
