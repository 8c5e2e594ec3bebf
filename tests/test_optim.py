"""riesz.optim: update rules against their formulas (and PyTorch when installed), clipping,
schedules, the same steps staged by riesz.jit, and Newton's method with Hessian-vector
products."""
import math

import numpy as np
import pytest

import riesz
from riesz import nn, optim


def params_and_grads_sequence(steps=4):
    """A dict-of-arrays 'model' and a fixed sequence of gradients for it."""
    r = np.random.default_rng(0)
    params = {"w": r.standard_normal((3, 2)), "b": r.standard_normal(2)}
    grads = [{k: r.standard_normal(v.shape) for k, v in params.items()} for _ in range(steps)]
    return params, grads


def run(opt, params, grads):
    state = opt.init(params)
    for g in grads:
        params, state = opt.update(params, g, state)
    return params, state


def reference(update, params, grads, slots):
    """Apply ``update(p, g, t, slots) -> p`` leaf by leaf (t = 1, 2, ...): the textbook
    formulas written out with per-leaf state."""
    out = {}
    for name, p in params.items():
        s = {k: np.zeros_like(p) for k in slots}
        for t, g in enumerate(grads, start=1):
            p = update(p, g[name], t, s)
        out[name] = p
    return out


def sgd_momentum(lr, mu, nesterov):
    def update(p, g, t, s):
        s["v"] = mu * s["v"] + g
        return p - lr * (g + mu * s["v"] if nesterov else s["v"])
    return update


def adam(lr, b1, b2, eps, wd):
    def update(p, g, t, s):
        s["m"] = b1 * s["m"] + (1 - b1) * g
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        m_hat, v_hat = s["m"] / (1 - b1 ** t), s["v"] / (1 - b2 ** t)
        return p - lr * m_hat / (np.sqrt(v_hat) + eps) - lr * wd * p
    return update


def rmsprop(lr, alpha, eps, mu):
    def update(p, g, t, s):
        s["s"] = alpha * s["s"] + (1 - alpha) * g * g
        s["b"] = mu * s["b"] + g / (np.sqrt(s["s"]) + eps)
        return p - lr * s["b"]
    return update


CASES = [
    (optim.SGD(0.1), sgd_momentum(0.1, 0.0, False), ["v"]),
    (optim.SGD(0.1, momentum=0.9), sgd_momentum(0.1, 0.9, False), ["v"]),
    (optim.SGD(0.1, momentum=0.9, nesterov=True), sgd_momentum(0.1, 0.9, True), ["v"]),
    (optim.Adam(0.01), adam(0.01, 0.9, 0.999, 1e-8, 0.0), ["m", "v"]),
    (optim.AdamW(0.01, weight_decay=0.1), adam(0.01, 0.9, 0.999, 1e-8, 0.1), ["m", "v"]),
    (optim.RMSprop(0.01), rmsprop(0.01, 0.99, 1e-8, 0.0), ["s", "b"]),
    (optim.RMSprop(0.01, momentum=0.5), rmsprop(0.01, 0.99, 1e-8, 0.5), ["s", "b"]),
]


@pytest.mark.parametrize("case", range(len(CASES)), ids=lambda i: repr(CASES[i][0]))
def test_update_rules_follow_their_formulas(case):
    opt, update, slots = CASES[case]
    params, grads = params_and_grads_sequence()
    got, state = run(opt, params, grads)
    want = reference(update, params, grads, slots)
    for name in params:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-13, atol=1e-15)
    assert state.step == len(grads)


@pytest.mark.parametrize("case", range(len(CASES)), ids=lambda i: repr(CASES[i][0]))
def test_update_rules_match_pytorch(case):
    torch = pytest.importorskip("torch")
    opt, _, _ = CASES[case]
    kind = type(opt).__name__
    params, grads = params_and_grads_sequence()
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    order = list(tensors)
    hyper = {"SGD": lambda: torch.optim.SGD(tensors.values(), lr=opt.lr, momentum=opt.momentum,
                                            nesterov=opt.nesterov),
             "Adam": lambda: torch.optim.Adam(tensors.values(), lr=opt.lr, eps=opt.eps),
             "AdamW": lambda: torch.optim.AdamW(tensors.values(), lr=opt.lr, eps=opt.eps,
                                                weight_decay=opt.weight_decay),
             "RMSprop": lambda: torch.optim.RMSprop(tensors.values(), lr=opt.lr, eps=opt.eps,
                                                    alpha=opt.alpha, momentum=opt.momentum)}
    reference_opt = hyper[kind]()
    for g in grads:
        for name in order:
            tensors[name].grad = torch.tensor(g[name])
        reference_opt.step()
    got, _ = run(opt, params, grads)
    for name in order:
        np.testing.assert_allclose(got[name], tensors[name].detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_optimizers_keep_float32_and_model_structure():
    model = nn.MLP([3, 4, 2], rng=np.random.default_rng(0), dtype=np.float32)
    grads = riesz.tree_map(np.ones_like, model)
    for opt in (optim.SGD(0.1, momentum=0.9), optim.AdamW(1e-3), optim.RMSprop(1e-3)):
        new, state = opt.update(model, grads, opt.init(model))
        assert type(new) is nn.MLP
        assert all(p.dtype == np.float32 for p in new.parameters())


def test_adam_minimises_a_quadratic():
    target = np.array([3.0, -2.0])
    loss = lambda p: np.sum((p["x"] - target) ** 2)   # noqa: E731
    params, opt = {"x": np.zeros(2)}, optim.Adam(lr=optim.cosine_decay(0.3, 300, 1e-3))
    state = opt.init(params)
    for _ in range(300):
        params, state = opt.update(params, riesz.grad(loss)(params), state)
    np.testing.assert_allclose(params["x"], target, atol=1e-3)


def test_clip_by_global_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}   # global norm 5
    clipped, norm = optim.clip_by_global_norm(grads, 1.0)
    assert norm == 5.0
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0])
    np.testing.assert_allclose(clipped["b"], [[0.8]])
    same, _ = optim.clip_by_global_norm(grads, 10.0)
    assert same is grads


def test_schedules():
    cos = optim.cosine_decay(1.0, 100, final=0.1)
    assert cos(0) == 1.0 and cos(100) == pytest.approx(0.1) and cos(1000) == pytest.approx(0.1)
    assert cos(50) == pytest.approx(0.55)
    warm = optim.linear_warmup(cos, warmup_steps=10)
    assert [warm(t) for t in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert warm(60) == pytest.approx(cos(50))
    assert optim.linear_warmup(0.5, 4)(10) == 0.5
    opt = optim.SGD(warm)
    assert opt.learning_rate(4) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="total_steps"):
        optim.cosine_decay(1.0, 0)


def test_schedules_return_python_floats_for_a_concrete_step():
    cos = optim.cosine_decay(1.0, 100, final=0.1)
    warm = optim.linear_warmup(cos, warmup_steps=10)
    for t in (0, 3, 10, 57, 100, 250):
        want = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(t, 100) / 100))
        assert type(cos(t)) is float and cos(t) == pytest.approx(want, rel=1e-15)
        assert type(warm(t)) is float
    assert type(optim.SGD(warm).learning_rate(np.int64(3))) is float


def test_clipping_checks_max_norm_and_its_factor_is_one_below_it():
    with pytest.raises(ValueError, match="max_norm=0.0; it must be positive"):
        optim.clip_by_global_norm({"a": np.ones(2)}, 0.0)
    # staged, the factor max_norm / max(‖g‖, max_norm) is applied with no branch
    clip = riesz.jit(lambda g, c: optim.clip_by_global_norm(g, c)[0], static_argnums=1)
    g = {"a": np.array([3.0, 0.0], np.float32), "b": np.array([[4.0]], np.float32)}
    np.testing.assert_array_equal(clip(g, 10.0)["a"], g["a"])
    assert clip(g, 1.0)["a"].dtype == np.float32
    np.testing.assert_allclose(clip(g, 1.0)["b"], [[0.8]], rtol=1e-7)


# Every optimizer, a schedule or a constant rate, and clipping that acts on some steps.
JIT_CASES = [
    lambda: optim.SGD(optim.linear_warmup(optim.cosine_decay(0.5, 4), 2), momentum=0.9,
                      nesterov=True, weight_decay=0.01),
    lambda: optim.SGD(0.3, momentum=0.5),
    lambda: optim.Adam(optim.cosine_decay(0.05, 3, final=0.01)),
    lambda: optim.AdamW(0.05, weight_decay=0.1),
    lambda: optim.RMSprop(optim.linear_warmup(0.01, 2), momentum=0.5),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(JIT_CASES)))
def test_jitted_training_step_equals_the_eager_one(case, dtype):
    """``riesz.jit`` of value_and_grad + clipping + update: the step count is staged, so the
    schedule, the bias corrections and the clipping factor are staged values."""
    opt = JIT_CASES[case]()
    r = np.random.default_rng(case)
    model = nn.MLP([4, 6, 3], rng=r, dtype=dtype)
    x, y = r.standard_normal((8, 4)).astype(dtype), r.integers(0, 3, 8)
    loss_and_grads = riesz.value_and_grad(lambda m: nn.softmax_cross_entropy(m(x), y))
    norms = []

    def step(model, state):
        loss, grads = loss_and_grads(model)
        grads, norm = optim.clip_by_global_norm(grads, 0.25)
        norms.append(norm)
        model, state = opt.update(model, grads, state)
        return loss, model, state

    staged = riesz.jit(step)
    eager_model, eager_state = staged_model, staged_state = model, opt.init(model)
    for _ in range(3):
        eager_loss, eager_model, eager_state = step(eager_model, eager_state)
        staged_loss, staged_model, staged_state = staged(staged_model, staged_state)
        tol = 1e-6 if dtype == np.float32 else 1e-14
        assert staged_loss == pytest.approx(eager_loss, rel=tol)
        for a, b in zip(riesz.tree_leaves((staged_model, staged_state)),
                        riesz.tree_leaves((eager_model, eager_state))):
            assert np.asarray(a).dtype == np.asarray(b).dtype
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    assert staged_state.step == 3 and len(staged.programs) == 1      # staged once
    eager_norms = [n for n in norms if type(n) is float]
    assert max(eager_norms) > 0.25                 # the clipping acted
    assert eager_model.layers[0].weight.dtype == dtype


def test_newton_under_jit_runs_eagerly_saying_why():
    f = lambda p: np.sum((p - 1.0) ** 2)   # noqa: E731
    staged = riesz.jit(lambda p: optim.Newton().step(f, p)[0])
    with pytest.warns(RuntimeWarning, match="Newton.step cannot be staged by riesz.jit"):
        np.testing.assert_allclose(staged(np.zeros(2)), [1.0, 1.0])


def test_axpy_is_the_plain_expression_bit_for_bit_in_one_new_array():
    from riesz.optim.tree_math import axpy
    r = np.random.default_rng(0)
    for dtype in (np.float32, np.float64, np.complex64):
        x, y = r.standard_normal((5, 7)).astype(dtype), r.standard_normal((5, 7)).astype(dtype)
        out = axpy(-0.3, x, y)
        assert out.dtype == dtype and not np.shares_memory(out, y) and not np.shares_memory(out, x)
        np.testing.assert_array_equal(out, y - 0.3 * x)
    # mixed dtypes and broadcasting take the plain expression, with NumPy's result dtype
    x32, y64 = np.ones(3, np.float32), np.full(3, 0.1)
    assert axpy(0.5, y64, x32).dtype == np.float64 == axpy(0.5, x32, y64).dtype
    np.testing.assert_array_equal(axpy(2.0, np.ones(3), np.ones((2, 3))), np.full((2, 3), 3.0))


# ------------------------------------------------------------ Newton's method


def test_hvp_of_a_model_is_the_hessian_times_a_vector():
    # Newton's products H v, on model-shaped parameters, against finite differences of
    # the gradient along v
    r = np.random.default_rng(0)
    model = nn.Linear(3, 2, rng=r)
    x = r.standard_normal((4, 3))
    f = lambda m: np.sum(np.tanh(m(x)) ** 2)   # noqa: E731
    v = riesz.tree_map(lambda p: r.standard_normal(p.shape), model)
    eps = 1e-6
    grad_at = lambda s: riesz.grad(f)(riesz.tree_map(lambda p, d: p + s * d, model, v))  # noqa
    fd = riesz.tree_map(lambda a, b: (a - b) / (2 * eps), grad_at(eps), grad_at(-eps))
    hv = riesz.hvp(f, (model,), (v,))
    assert type(hv) is nn.Linear
    for got, want in zip(hv.parameters(), fd.parameters()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_newton_solves_a_quadratic_in_one_step():
    r = np.random.default_rng(1)
    m = r.standard_normal((5, 5))
    a, b = m @ m.T + 5 * np.eye(5), r.standard_normal(5)
    f = lambda p: 0.5 * p["x"] @ a @ p["x"] - b @ p["x"]   # noqa: E731
    params, info = optim.Newton().step(f, {"x": np.zeros(5)})
    np.testing.assert_allclose(params["x"], np.linalg.solve(a, b), rtol=1e-10)
    assert info["step_size"] == 1.0 and info["cg_iters"] <= 5


def test_newton_minimises_rosenbrock():
    f = lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2   # noqa: E731
    x, infos = optim.Newton().minimize(f, np.array([-1.2, 1.0]), steps=50, tol=1e-10)
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-8)
    assert len(infos) < 50
    losses = [i["loss"] for i in infos]
    assert all(b <= a for a, b in zip(losses, losses[1:]))   # the line search never goes up


def test_newton_trains_logistic_regression_on_a_model():
    r = np.random.default_rng(2)
    x = r.standard_normal((60, 3))
    y = (x @ np.array([1.5, -2.0, 0.5]) + 0.3 * r.standard_normal(60) > 0).astype(float)
    model = nn.Linear(3, 1, rng=r)
    loss = lambda m: (nn.binary_cross_entropy_with_logits(m(x)[:, 0], y)   # noqa: E731
                      + 1e-2 * np.sum(m.weight * m.weight))
    newton = optim.Newton(damping=1e-8)
    model, infos = newton.minimize(loss, model, steps=20, tol=1e-9)
    assert infos[-1]["grad_norm"] <= 1e-9
    assert type(model) is nn.Linear
    # at the optimum no first-order method improves it
    g = riesz.grad(loss)(model)
    assert max(np.max(np.abs(p)) for p in g.parameters()) < 1e-9
