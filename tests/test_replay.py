"""Auto-staged Jacobians and Hessians (riesz/staging/replay.py, issue 12 item 4).

``riesz.jacobian``, ``jacfwd``, ``jacrev`` and ``hessian`` record the forward pass on every
call and run a staged program for its derivative from the second sighting of a tape's
structural key on. Every test compares the answer with the eager transform
(``riesz.transforms``) on the first, second and third call: the third runs the program.
"""
import pickle
import warnings

import numpy as np
import pytest

import riesz
from riesz import transforms as eager
from riesz.staging import replay
from riesz.staging.tape import Tape
from riesz.testing import check_grads
from specs import SPECS

RNG = np.random.default_rng(0)
A = RNG.standard_normal((4, 3))
B = RNG.standard_normal((3, 3))
AUTO = {"jacobian": riesz.jacobian, "jacfwd": riesz.jacfwd, "jacrev": riesz.jacrev,
        "hessian": riesz.hessian}
EAGER = {"jacobian": eager.jacobian, "jacfwd": eager.jacfwd, "jacrev": eager.jacrev,
         "hessian": eager.hessian}


def programs(transformed):
    """The staged programs a transformed function holds (its cache's compiled entries)."""
    cache = transformed._fn.programs
    return [e for e in cache.values() if callable(e)]


def assert_tree_close(got, want, rtol=1e-13, atol=1e-14):
    got_leaves, got_tree = riesz.tree_flatten(got)
    want_leaves, want_tree = riesz.tree_flatten(want)
    assert got_tree == want_tree
    for g, w in zip(got_leaves, want_leaves):
        assert np.shape(g) == np.shape(w) and np.result_type(g) == np.result_type(w)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def assert_as_eager(name, f, args, calls=3, staged=True, tol=1e-13, **options):
    """``AUTO[name](f)`` equals ``EAGER[name](f)`` on ``calls`` calls with ``args`` (a
    function of the call's index giving the arguments, or a tuple); ``staged``: a program
    runs from the second call on."""
    auto, reference = AUTO[name](f, **options), EAGER[name](f, **options)
    for k in range(calls):
        a = args(k) if callable(args) else args
        assert_tree_close(auto(*a), reference(*a), rtol=tol, atol=tol)
        if k >= 1 and staged is not None:
            assert bool(programs(auto)) == staged
    return auto


# ---------------------------------------------------------------- the same answers

def tanh_map(x):
    return np.tanh(A @ x)


def softplus_sum(x):
    return np.sum(np.log1p(np.exp(B @ x))) + 0.5 * (x @ x)


def broadcasting(x):
    return np.sin(x[:, None] * x[None, :]) + x ** 2 / 3.0


def pytree_in_out(p):
    return {"u": p["w"] @ p["b"], "v": (np.exp(p["b"]) * 2.0, np.sum(p["w"] ** 2))}


def two_args(x, y):
    return np.sin(x) * y[:2] + np.cos(y[1:]) * x


def with_aux(x):
    y = np.tanh(B @ x)
    return np.sum(y ** 2), {"y": y, "n": 3}


def multiple_results(x):
    sign, logdet = np.linalg.slogdet(B + np.diag(x))
    q, r = np.linalg.qr(B * x)
    return sign * logdet + np.sum(q * r)


X3 = RNG.standard_normal(3)
CASES = [
    (tanh_map, (X3,), {}),
    (softplus_sum, (X3,), {}),
    (broadcasting, (X3,), {}),
    (pytree_in_out, ({"w": RNG.standard_normal((2, 3)), "b": X3},), {}),
    (two_args, (RNG.standard_normal(2), X3), {"argnums": (0, 1)}),
    (two_args, (RNG.standard_normal(2), X3), {"argnums": 1}),
    (two_args, (RNG.standard_normal(2), X3), {"argnums": -1}),
    (with_aux, (X3,), {"has_aux": True}),
    (multiple_results, (X3 + 2.0,), {}),
]


@pytest.mark.parametrize("name", list(AUTO))
@pytest.mark.parametrize("f, args, options", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_auto_staged_answers_as_eager(name, f, args, options):
    assert_as_eager(name, f, args, **options)


@pytest.mark.parametrize("name", list(AUTO))
def test_float32_keeps_its_dtype(name):
    x = X3.astype(np.float32)
    auto = assert_as_eager(name, lambda x: np.tanh(A.astype(np.float32) @ x) * 2.0, (x,),
                           tol=1e-6)
    assert auto(x).dtype == np.float32


def identity_and_constants(x):
    return x, np.ones(2), 3.0, np.tanh(x) * 0.5


@pytest.mark.parametrize("name", ["jacobian", "jacfwd", "jacrev"])
def test_outputs_that_are_inputs_or_constants(name):
    assert_as_eager(name, identity_and_constants, (X3,))


@pytest.mark.parametrize("name", list(AUTO))
def test_complex_inputs(name):
    z = X3 + 1j * X3[::-1]
    f = (lambda z: np.sum(np.abs(z * B[0]) ** 2)) if name == "hessian" else \
        (lambda z: z ** 2 * (1 + 2j) + np.exp(z))
    assert_as_eager(name, f, (z,))


@pytest.mark.parametrize("name", list(AUTO))
def test_number_inputs_run_the_eager_transform(name):
    auto = assert_as_eager(name, lambda x: np.sin(x) ** 3 * 2.0, (0.5,), staged=False)
    assert not auto._fn.programs


@pytest.mark.parametrize("primitive, cases", sorted(SPECS.items()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_primitive_of_the_spec_table_stages_as_eager(primitive, cases):
    # every case's Jacobian (jacrev where reverse mode is tested, else jacfwd), and the
    # Hessian and an hvp of Σ f² for the first case tested to second order in both modes:
    # the staged program (third call) equals the eager transform
    # (a tape holding eigh, eig or svd, whose rules warn from values, stays eager)
    rng = np.random.default_rng(0)
    hessian_done = False
    for case in cases:
        args = case.args(rng, "float64")
        nums = tuple(range(len(args)))
        kind = "jacrev" if "rev" in case.modes else "jacfwd"
        staged = not warns_from_values(case.fn, args)
        assert_as_eager(kind, case.fn, args, tol=1e-10, argnums=nums, staged=staged)
        if not hessian_done and case.order >= 2 and set(case.modes) == {"fwd", "rev"}:
            def sum_of_squares(*a, fn=case.fn):
                return sum(np.sum(np.real(y) ** 2) for y in riesz.tree_leaves(fn(*a)))
            assert_as_eager("hessian", sum_of_squares, args, tol=1e-10, argnums=nums,
                            staged=staged)
            tangents = tuple(rng.standard_normal(np.shape(a)) for a in args)
            for _ in range(3):
                assert_tree_close(riesz.hvp(sum_of_squares, args, tangents),
                                  eager.hvp(sum_of_squares, args, tangents), 1e-10, 1e-10)
            hessian_done = True


def warns_from_values(f, args):
    """Whether the tape of ``f`` at ``args`` holds a primitive whose rules warn, reading
    values (eigh, eig, svd: repeated eigenvalues)."""
    rec = eager.Recording(f, args, False)
    return Tape(rec.trace, rec.in_slots, rec.flat, rec.lowered).warns


def test_eigh_warns_at_every_call():
    def f(a):
        w, v = np.linalg.eigh(a)
        return v[:, -1] ** 3 + w
    for name in AUTO:
        auto = AUTO[name](f if name != "hessian" else lambda a: np.sum(f(a)))
        for _ in range(3):
            with pytest.warns(RuntimeWarning, match="repeated eigenvalues"):
                auto(np.diag([1.0, 2.0, 2.0]))
        assert not programs(auto)


def test_new_inputs_after_staging_give_new_derivatives():
    J = riesz.jacobian(tanh_map)
    for k in range(4):
        x = RNG.standard_normal(3)
        np.testing.assert_allclose(J(x), (1 - np.tanh(A @ x) ** 2)[:, None] * A, rtol=1e-13)
    assert len(programs(J)) == 1


def test_the_derivatives_pass_check_grads():
    # check_grads differentiates around the auto-staged function (the eager path) and
    # evaluates it at shifted points (the staged path)
    H = riesz.hessian(softplus_sum)
    check_grads(lambda x: np.sum(H(x) * B), (X3,), order=1)
    J = riesz.jacobian(tanh_map)
    check_grads(lambda x: J(x) @ X3, (X3,), order=2)


def test_mode_auto_picks_forward_for_wide_outputs():
    J = riesz.jacobian(lambda x: np.outer(x, x))
    assert_tree_close(J(X3), eager.jacobian(lambda x: np.outer(x, x))(X3))
    J(X3)
    assert [e.program.name for e in programs(J)] == ["jacfwd_<lambda>"]


# ---------------------------------------------------------------- soundness: as eager, always

def test_a_closed_over_array_mutated_in_place():
    W = B.copy()

    def f(x):
        return np.tanh(W @ x)

    def args(k):
        W[0, 0] = k + 1.0   # after the program is staged too
        return (X3,)
    for name in AUTO:
        assert_as_eager(name, f, args, calls=4)


SCALE = 2.0


def scaled(x):
    return SCALE * np.sin(x) ** 2


def test_a_global_python_float_changed():
    global SCALE

    def args(k):
        global SCALE
        SCALE = [2.0, 2.0, 2.0, 3.0, -0.0][k]   # after the program is staged too
        return (X3,)
    try:
        for name in AUTO:
            auto = assert_as_eager(name, scaled, args, calls=5)
            # 2.0 staged; 3.0 and -0.0 seen once, kept apart from the programs
            assert len(programs(auto)) == len(auto._fn.programs) == 1
            SCALE = 2.0
            at_2 = auto(X3)
            SCALE = 3.0
            np.testing.assert_allclose(auto(X3), 1.5 * at_2, rtol=1e-14)   # the float reaches it
    finally:
        SCALE = 2.0


def test_a_global_array_rebound():
    global G
    for name in AUTO:
        for k in range(3):
            G = np.full(3, k + 1.0)
            np.testing.assert_allclose(AUTO[name](lambda x: np.sum(G * x ** 3))(X3),
                                       EAGER[name](lambda x: np.sum(G * x ** 3))(X3))
        f = AUTO[name](lambda x: np.sum(G * x ** 3))
        for k in range(3):
            G = np.full(3, k + 1.0)
            np.testing.assert_allclose(f(X3), EAGER[name](lambda x: np.sum(G * x ** 3))(X3))


@pytest.mark.parametrize("draw", ["legacy", "generator"])
def test_a_random_draw_inside_f(draw):
    gen = np.random.default_rng(5)

    def f(x):
        noise = np.random.standard_normal(3) if draw == "legacy" else gen.standard_normal(3)
        return np.sum(np.sin(x * noise))

    for name in AUTO:
        auto, reference = AUTO[name](f), EAGER[name](f)
        for k in range(4):
            np.random.seed(k)
            state = gen.bit_generator.state
            got = auto(X3)
            np.random.seed(k)
            gen.bit_generator.state = state
            np.testing.assert_allclose(got, reference(X3), rtol=1e-13, atol=1e-14)
        assert programs(auto)


def test_a_python_branch_on_a_value():
    def f(x):
        if x[0] > 0:
            return np.sin(x) * x[1]
        return np.cos(x) ** 2

    for name in AUTO:
        auto = assert_as_eager(name, f, lambda k: (np.array([[1, 1, -1, -1, 1, -1][k], 0.5, 2.0]),),
                               calls=6)
        assert len(programs(auto)) == 2   # one per branch


def test_a_call_counter_counts_as_eager():
    for name in AUTO:
        count = {"auto": 0, "eager": 0}

        def make(which):
            def f(x):
                count[which] += 1
                return np.tanh(B @ x) * x
            return f
        auto, reference = AUTO[name](make("auto")), EAGER[name](make("eager"))
        for _ in range(3):
            auto(X3)
            reference(X3)
        assert count["auto"] == count["eager"] == 3


def test_mode_auto_going_forward_calls_f_once():
    # the eager jacobian records f to read the output's size, then calls it again under
    # jacfwd; the auto-staged one replays the recording
    count = [0]

    def f(x):
        count[0] += 1
        return np.outer(x, x)
    J = riesz.jacobian(f)
    for _ in range(3):
        J(X3)
    assert count[0] == 3


def test_a_custom_vjp_inside_f():
    @riesz.custom_vjp
    def clip_grad(x):
        return np.sin(x)

    clip_grad.defvjp(lambda x: (np.sin(x), np.cos(x)),
                     lambda c, g: (np.clip(g * c, -0.5, 0.5),))

    def f(x):
        return clip_grad(B @ x) * 2.0

    for name in ("jacrev", "jacobian", "jacfwd", "hessian"):
        assert_as_eager(name, f, (X3,), staged=False)


@riesz.custom_jvp
def soft(x):
    """softplus with its derivative given as a custom rule (σ(x) = 1 / (1 + e⁻ˣ))."""
    return np.log1p(np.exp(x))


@soft.defjvp
def soft_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return soft(x), t / (1 + np.exp(-x))


def test_f_runs_once_per_call_after_its_custom_rule_is_seen():
    # the first call records f, finds the custom rule and runs the eager transform (f a
    # second time); later calls of the same transformed function run the eager transform
    # alone: f once, with the eager answer
    calls = [0]

    def f(x):
        calls[0] += 1
        return soft(B @ x) * x
    for name in ("jacfwd", "hessian"):
        calls[0] = 0
        transformed, reference = AUTO[name](f), EAGER[name](f)
        first = transformed(X3)
        assert calls[0] == 2
        for k in range(3):
            x = X3 + k
            before = calls[0]
            got = transformed(x)
            assert calls[0] == before + 1
            assert_tree_close(got, reference(x))
        assert_tree_close(first, reference(X3))


def test_a_custom_jvp_inside_f():
    for name in AUTO:
        assert_as_eager(name, lambda x: soft(B @ x) * x, (X3,), staged=False)


def test_a_checkpoint_inside_f():
    f = lambda x: np.sum(riesz.checkpoint(lambda y: np.sin(y) ** 2)(B @ x))
    for name in AUTO:
        assert_as_eager(name, f, (X3,), staged=False)


def test_rules_that_read_values_stay_right():
    def top(x):
        return np.max(x) * x + np.sort(x) ** 2

    ties = [np.array([1.0, 3.0, 3.0]), np.array([3.0, 3.0, 3.0]), np.array([1.0, 2.0, 3.0]),
            np.array([2.0, 2.0, -1.0])]
    for name in AUTO:
        assert_as_eager(name, top, lambda k: (ties[k],), calls=4, staged=None)


def test_a_rule_that_reads_values_replays_eagerly_without_a_warning(monkeypatch):
    # a rule that branches on a value cannot be staged: the key is marked eager, silently,
    # and every call replays eagerly
    sin = riesz.rules.define.PRIMITIVES["sin"]
    rule = sin.vjps[0]

    def branching_rule(g, ans, x):
        return rule(g, ans, x) if np.all(x > -10) else -rule(g, ans, x)
    monkeypatch.setattr(sin, "vjps", (branching_rule,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        J = assert_as_eager("jacrev", lambda x: np.sin(B @ x), lambda k: (X3 * (k + 1),),
                            calls=4, staged=False)
    assert list(J._fn.programs.values()) == [replay._EAGER]


def test_np_max_ties_after_staging():
    ties = [np.array([1.0, 3.0, 0.0]), np.array([1.0, 2.0, 3.0]), np.array([3.0, 3.0, 3.0]),
            np.array([2.0, 2.0, -1.0])]
    for name in AUTO:
        assert_as_eager(name, lambda x: np.max(x) * np.sin(x), lambda k: (ties[k],), calls=4)


def test_index_parameters_are_keyed_by_value():
    def f(x, idx):
        return np.sin(x[idx]) * x[idx[0]]
    J = riesz.jacobian(f)
    for idx in ([0, 2], [1, 1], [0, 2], [2, 0], [2, 0]):
        i = np.array(idx)
        assert_tree_close(J(X3, i), eager.jacobian(f)(X3, i))
    assert len(programs(J)) == 2   # [0, 2] and [2, 0], each seen twice


def test_dask_inputs_run_eagerly():
    da = pytest.importorskip("dask.array")
    x = da.from_array(X3, chunks=2)
    f = lambda x: np.sin(x) * x * 2.0
    for name in ("jacobian", "jacrev"):   # as test_dask: eager forward mode computes on Dask
        auto = AUTO[name](f)
        for _ in range(2):
            got = auto(x)
            assert type(got).__module__.startswith("dask")
            np.testing.assert_allclose(got.compute(), EAGER[name](f)(X3), rtol=1e-12)
        assert not auto._fn.programs


def test_nested_inside_grad():
    # the inner function closes over y, traced by the outer grad: the tape is nested
    def outer(J, y):
        return np.sum(J(lambda x: np.sin(x * y) * y)(X3) ** 2)

    for name in AUTO:
        got = riesz.grad(lambda y: outer(AUTO[name], y))(X3 + 1.0)
        want = riesz.grad(lambda y: outer(EAGER[name], y))(X3 + 1.0)
        np.testing.assert_allclose(got, want, rtol=1e-12)
    J = riesz.jacobian(lambda x, y: np.sin(x * y), argnums=0)
    riesz.grad(lambda y: np.sum(J(X3, y)))(X3)
    assert not J._fn.programs   # the inputs were traced: the eager transform ran


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_debug_nans_names_the_users_line(monkeypatch):
    def f(x):
        y = np.sqrt(x)   # NaN at x < 0
        return y * x

    def refuse(*args, **kwargs):
        raise AssertionError("recorded under debug_nans")
    for name in AUTO:
        auto = AUTO[name](f)
        for _ in range(2):
            auto(np.array([1.0, 4.0]))
        assert programs(auto)
        with riesz.debug_nans(), monkeypatch.context() as patch:
            patch.setattr(replay, "Recording", refuse)
            with pytest.raises(FloatingPointError, match=r"test_replay.py:\d+: y = np.sqrt\(x\)"):
                auto(np.array([1.0, -4.0]))
            np.testing.assert_allclose(auto(np.array([1.0, 4.0])),
                                       EAGER[name](f)(np.array([1.0, 4.0])))


def test_composes_with_the_other_transforms():
    H = riesz.hessian(softplus_sum)
    xs = RNG.standard_normal((4, 3))
    np.testing.assert_allclose(riesz.vmap(H)(xs), np.stack([eager.hessian(softplus_sum)(x)
                                                            for x in xs]), rtol=1e-12)
    np.testing.assert_allclose(riesz.jit(H)(X3), eager.hessian(softplus_sum)(X3), rtol=1e-12)
    np.testing.assert_allclose(riesz.grad(lambda x: np.sum(H(x)))(X3),
                               riesz.grad(lambda x: np.sum(eager.hessian(softplus_sum)(x)))(X3),
                               rtol=1e-12)


# ---------------------------------------------------------------- the program is used

def test_the_third_call_runs_the_program(monkeypatch):
    J, H = riesz.jacobian(tanh_map), riesz.hessian(softplus_sum)
    for _ in range(2):
        J(X3), H(X3)
    assert len(programs(J)) == len(programs(H)) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("the eager path ran")
    monkeypatch.setattr(replay.Tape, "replay", refuse)
    monkeypatch.setattr(replay, "_jacrev_from_pullback", refuse)
    np.testing.assert_allclose(J(X3), (1 - np.tanh(A @ X3) ** 2)[:, None] * A, rtol=1e-13)
    np.testing.assert_allclose(H(X3), eager.hessian(softplus_sum)(X3), rtol=1e-13)


def messages(fn, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn(*args)
    return [str(w.message) for w in caught]


def test_the_forward_pass_warns_once_per_call():
    def f(x):
        return np.log(x) * x   # log(0): NumPy warns in the forward pass

    x = np.array([0.0, 1.0, 2.0])
    plain = messages(f, x)
    assert plain == ["divide by zero encountered in log", "invalid value encountered in multiply"]
    for name in ("jacobian", "hessian"):
        auto = AUTO[name](f)
        for _ in range(3):
            assert messages(auto, x) == plain
    assert messages(eager.jacobian(f), x) == plain


def test_threads_share_the_cache():
    from concurrent.futures import ThreadPoolExecutor
    H = riesz.hessian(softplus_sum)
    xs = [RNG.standard_normal(3) for _ in range(40)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(H, xs))
    for x, h in zip(xs, got):
        np.testing.assert_allclose(h, eager.hessian(softplus_sum)(x), rtol=1e-13)
    assert len(programs(H)) == 1


def test_a_key_seen_once_is_not_staged():
    H = riesz.hessian(softplus_sum)
    H(X3)
    assert not programs(H)


def test_keys_seen_once_push_no_program_out(monkeypatch):
    # a Python number that changes on every call makes a new key each time: those keys are
    # kept apart from the programs, which stay
    monkeypatch.setattr(replay, "CACHE_SIZE", 3)
    J = riesz.jacobian(lambda x, k: np.sin(x) * k)
    for _ in range(2):
        J(X3, 1.0)
    for k in range(10):
        J(X3, 2.0 + k)
    assert len(programs(J)) == 1 and len(J._fn.programs) == 1


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(replay, "CACHE_SIZE", 3)
    J = riesz.jacobian(lambda x, k: np.sin(x) * k)
    for k in range(6):
        for _ in range(2):
            J(X3, float(k))
    assert len(J._fn.programs) == 3


# ---------------------------------------------------------------- hvp

def hvp_programs():
    return [e for e in replay._HVP_PROGRAMS.entries.values() if callable(e)]


def test_hvp_answers_as_eager_and_stages(monkeypatch):
    monkeypatch.setattr(replay, "_HVP_PROGRAMS", replay._Programs())
    W = B.copy()
    gen = np.random.default_rng(1)

    def f(x, y):
        noise = gen.standard_normal(3)   # a draw inside f
        return np.sum(np.tanh(W @ x) ** 2 * y) + np.sum(np.sin(x * noise))

    for k in range(4):
        W[0, 1] = k   # a closed-over array changed in place
        x, y = RNG.standard_normal(3), RNG.standard_normal(3)
        primals, tangents = (x, y), (RNG.standard_normal(3), RNG.standard_normal(3))
        state = gen.bit_generator.state
        got = riesz.hvp(lambda a, b: f(a, b), primals, tangents)   # a new lambda every call
        gen.bit_generator.state = state
        assert_tree_close(got, eager.hvp(f, primals, tangents))
        assert len(hvp_programs()) == (k >= 1)


def test_hvp_of_pytrees_and_one_primal():
    p = {"w": RNG.standard_normal((2, 3)), "b": X3}
    f = lambda p: np.sum(np.exp(p["w"] @ p["b"]))
    v = {"w": RNG.standard_normal((2, 3)), "b": RNG.standard_normal(3)}
    for _ in range(3):
        assert_tree_close(riesz.hvp(f, (p,), (v,)), eager.hvp(f, (p,), (v,)))
        assert_tree_close(riesz.hvp(softplus_sum, [X3], [X3 + 1]),
                          eager.hvp(softplus_sum, [X3], [X3 + 1]))


def test_hvp_stays_eager_where_it_must(monkeypatch):
    monkeypatch.setattr(replay, "_HVP_PROGRAMS", replay._Programs())
    soft = riesz.checkpoint(lambda y: np.sum(np.sin(y) ** 2))
    for f, primals in ((lambda x: soft(B @ x), (X3,)), (lambda x: np.sin(x) ** 3, (0.5,))):
        tangents = tuple(np.ones_like(x) for x in primals)
        for _ in range(3):
            assert_tree_close(riesz.hvp(f, primals, tangents), eager.hvp(f, primals, tangents))
    assert not hvp_programs()
    with pytest.raises(TypeError, match="must be tuples"):
        riesz.hvp(softplus_sum, X3, X3)
    with pytest.raises(TypeError, match="dtype int"):
        riesz.hvp(softplus_sum, (np.arange(3),), (np.arange(3),))


# ---------------------------------------------------------------- what the eager ones have

def module_level(x):
    """A module-level function, as pickle needs."""
    return np.sum(np.sin(x) ** 3)


@pytest.mark.parametrize("name", list(AUTO))
def test_names_docs_and_pickling(name):
    g = AUTO[name](module_level)
    assert g.__name__ == "module_level" and g.transform_name == name
    assert g.__doc__ == EAGER[name](module_level).__doc__
    assert repr(g) == f"<riesz.{name}(module_level)>"
    g(X3)
    restored = pickle.loads(pickle.dumps(g))
    np.testing.assert_array_equal(restored(X3), g(X3))
    assert riesz.source(g, X3).startswith("import numpy as np\n\ndef " + f"{name}_module_level(")


def test_jacobian_modes_and_errors():
    for mode, kind in (("forward", "jacfwd"), ("rev", "jacrev")):
        J = riesz.jacobian(tanh_map, mode=mode)
        for _ in range(2):
            assert_tree_close(J(X3), eager.jacobian(tanh_map, mode=mode)(X3))
        assert [k[0] for k in J._fn.programs] == [kind]
    with pytest.raises(ValueError, match="mode='sideways'"):
        riesz.jacobian(tanh_map, mode="sideways")
    with pytest.raises(TypeError, match="dtype int"):
        riesz.jacobian(tanh_map)(np.arange(3))
    with pytest.raises(TypeError, match="returned a str"):
        riesz.jacobian(lambda x: "no")(X3)
    assert riesz.jacobian(tanh_map, argnum=0)(X3).shape == (4, 3)


def test_debug_nans_runs_the_eager_transform():
    # riesz.config.debug_nans checks each primitive of the eager transform; a staged
    # program's are not checked, so the program must not run while it is on
    J = riesz.jacobian(tanh_map)
    for _ in range(2):
        J(X3)
    cache = J._fn.programs

    def refuse(*args):
        raise AssertionError("the staged program ran under debug_nans")
    for key, entry in list(cache.items()):
        if callable(entry):
            cache[key] = refuse
    with riesz.debug_nans():
        np.testing.assert_allclose(J(X3), (1 - np.tanh(A @ X3) ** 2)[:, None] * A, rtol=1e-13)
    with pytest.raises(AssertionError, match="staged program ran"):
        J(X3)   # debug_nans off again: the (refusing) program runs
