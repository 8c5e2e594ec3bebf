"""A JAX user's trial: JAX's own documentation examples ported to riesz, `jax.numpy` replaced
by plain NumPy and `jax.*` by `riesz.*` (random keys by numpy's default_rng; lax loops by
Python loops). Sources: the Autodiff Cookbook, "Custom derivative rules for JAX-transformable
Python functions", the gradient-checkpointing doc, autodidax's jvp/vmap examples and the
docstrings of `jax.linearize` and `jax.linear_transpose`.

Each ported program is checked against central finite differences (riesz.testing.check_grads,
both modes, second order) or closed forms, and, where JAX is installed (an optional oracle,
x64), against JAX running the original program. Where riesz differs from JAX by design (README,
"Where riesz differs") the test pins the documented answer."""
import functools
from collections import namedtuple

import numpy as np
import pytest

import riesz
from riesz import grad, jit, jvp, vjp, vmap, jacfwd, jacrev, hessian, value_and_grad
from riesz import custom_jvp, custom_vjp
from riesz.testing import check_grads, GradientCheckError

try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except ImportError:   # JAX is an optional oracle
    jax = None

needs_jax = pytest.mark.skipif(jax is None, reason="JAX is not installed")

RNG = np.random.default_rng(0)
INPUTS = np.array([[0.52, 1.12, 0.77],
                   [0.88, -1.08, 0.15],
                   [0.52, 0.06, -1.30],
                   [0.74, -2.49, 1.39]])
TARGETS = np.array([True, True, False, True])
W0, B0 = RNG.standard_normal(3), RNG.standard_normal()


def _close(a, b, **kw):
    """Two pytrees with the same structure and close leaves."""
    la, ta = riesz.tree_flatten(a)
    lb, tb = riesz.tree_flatten(b)
    assert ta == tb, (ta, tb)
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), **kw)


def _to_jax(tree):
    return jax.tree_util.tree_map(jnp.asarray, tree)


# ------------------------------------------------------------------ the Autodiff Cookbook

def _predict(m, W, b, inputs):
    sigmoid = lambda x: 0.5 * (m.tanh(x / 2) + 1)
    return sigmoid(m.dot(inputs, W) + b)


def _loss(m, W, b):
    preds = _predict(m, W, b, INPUTS)
    label_probs = preds * TARGETS + (1 - preds) * (1 - TARGETS)
    return -m.sum(m.log(label_probs))


loss = functools.partial(_loss, np)


def test_cookbook_grad_argnums_pytrees_value_and_grad():
    W_grad, b_grad = grad(loss, (0, 1))(W0, B0)
    _close(grad(loss, argnums=0)(W0, B0), W_grad)
    _close(grad(loss, 1)(W0, B0), b_grad)
    params = {"W": W0, "b": B0}
    by_dict = grad(lambda p: loss(p["W"], p["b"]))(params)
    _close(by_dict, {"W": W_grad, "b": b_grad})
    value, (gW, gb) = value_and_grad(loss, (0, 1))(W0, B0)
    assert value == loss(W0, B0)
    _close((gW, gb), (W_grad, b_grad))
    # the cookbook's numerical check, along b and along a random unit vector of W
    eps = 1e-4
    np.testing.assert_allclose((loss(W0, B0 + eps / 2) - loss(W0, B0 - eps / 2)) / eps,
                               b_grad, rtol=1e-6)
    u = RNG.normal(size=3)
    u /= np.sqrt(np.vdot(u, u))
    np.testing.assert_allclose((loss(W0 + eps / 2 * u, B0) - loss(W0 - eps / 2 * u, B0)) / eps,
                               np.vdot(W_grad, u), rtol=1e-6)
    check_grads(loss, (W0, B0), order=2)


@needs_jax
def test_cookbook_grad_matches_jax():
    jl = functools.partial(_loss, jnp)
    _close(grad(loss, (0, 1))(W0, B0), jax.grad(jl, (0, 1))(W0, B0), rtol=1e-12)
    _close(hessian(loss)(W0, B0), jax.hessian(jl)(W0, B0), rtol=1e-10)


def test_cookbook_has_aux():
    def loss2(W, b):
        return loss(W, b), _predict(np, W, b, INPUTS)
    g, preds = grad(loss2, has_aux=True)(W0, B0)
    _close(g, grad(loss)(W0, B0))
    _close(preds, _predict(np, W0, B0, INPUTS))
    (value, aux), g = value_and_grad(loss2, has_aux=True)(W0, B0)
    assert value == loss(W0, B0)
    _close(aux, preds)


def _tanh_sq(X):
    return np.sum(np.tanh(X) ** 2)


def test_cookbook_hessian_vector_products_three_ways():
    X, V = RNG.normal(size=(6, 5)), RNG.normal(size=(6, 5))

    def hvp_fwd_rev(f, primals, tangents):
        return jvp(grad(f), primals, tangents)[1]

    def hvp_rev_fwd(f, primals, tangents):
        return grad(lambda primals: jvp(f, primals, tangents)[1])(primals)

    def hvp_rev_rev(f, primals, tangents):
        (x,), (v,) = primals, tangents
        return grad(lambda x: np.vdot(grad(f)(x), v))(x)

    expected = np.tensordot(jacfwd(jacrev(_tanh_sq))(X), V, 2)
    _close(hvp_fwd_rev(_tanh_sq, (X,), (V,)), expected, rtol=1e-12)
    _close(hvp_rev_fwd(_tanh_sq, (X,), (V,)), (expected,), rtol=1e-12)   # a 1-tuple, as in JAX
    _close(hvp_rev_rev(_tanh_sq, (X,), (V,)), expected, rtol=1e-12)
    _close(jit(lambda x, v: hvp_fwd_rev(_tanh_sq, (x,), (v,)))(X, V), expected, rtol=1e-12)
    _close(riesz.hvp(_tanh_sq, (X,), (V,)), expected, rtol=1e-12)
    # the closed form: ∂²Σtanh²(x) = 2 sech²x (sech²x − 2 tanh²x), entry by entry
    t = np.tanh(X)
    _close(expected, 2 * (1 - t ** 2) * ((1 - t ** 2) - 2 * t ** 2) * V, rtol=1e-12)


def test_cookbook_jacobians_of_pytrees():
    def predict_dict(params, inputs):
        return _predict(np, params["W"], params["b"], inputs)
    params = {"W": W0, "b": B0}
    for jac in (jacfwd, jacrev):
        J = jac(predict_dict)(params, INPUTS)
        assert J["W"].shape == (4, 3) and J["b"].shape == (4,)
        p = _predict(np, W0, B0, INPUTS)
        _close(J["b"], p * (1 - p), rtol=1e-12)            # σ' = σ(1 − σ)
        _close(J["W"], (p * (1 - p))[:, None] * INPUTS, rtol=1e-12)
    H = hessian(lambda p: np.sum(predict_dict(p, INPUTS)))(params)
    assert (H["W"]["W"].shape, H["W"]["b"].shape, H["b"]["W"].shape, np.shape(H["b"]["b"])) \
        == ((3, 3), (3,), (3,), ())
    _close(H["W"]["b"], H["b"]["W"], rtol=1e-12)


def test_cookbook_matrix_jacobian_products_by_vmap():
    f = lambda W: _predict(np, W, B0, INPUTS)
    J = jacfwd(f)(W0)
    U, S = RNG.normal(size=(2, 4)), RNG.normal(size=(2, 3))

    def vmap_mjp(f, x, M):
        _, vjp_fun = vjp(f, x)
        outs, = vmap(vjp_fun)(M)
        return outs

    def vmap_jmp(f, x, M):
        return vmap(lambda s: jvp(f, (x,), (s,))[1])(M)

    _close(vmap_mjp(f, W0, U), U @ J, rtol=1e-12)
    _close(vmap_jmp(f, W0, S), S @ J.T, rtol=1e-12)

    def our_jacrev(f):
        def jacfun(x):
            y, vjp_fun = vjp(f, x)
            J, = vmap(vjp_fun, in_axes=0)(np.eye(len(y)))
            return J
        return jacfun

    def our_jacfwd(f):
        def jacfun(x):
            Jt = vmap(lambda s: jvp(f, (x,), (s,))[1], in_axes=1)(np.eye(len(x)))
            return np.transpose(Jt)
        return jacfun

    _close(our_jacrev(f)(W0), J, rtol=1e-12)
    _close(our_jacfwd(f)(W0), J, rtol=1e-12)


def test_cookbook_per_example_gradients():
    targets = TARGETS.astype(float)

    def example_loss(W, x, t):
        p = _predict(np, W, B0, x)
        return -(t * np.log(p) + (1 - t) * np.log(1 - p))

    per_example = vmap(grad(example_loss), in_axes=(None, 0, 0))
    G = per_example(W0, INPUTS, targets)
    assert G.shape == (4, 3)
    for n in range(4):
        _close(G[n], grad(example_loss)(W0, INPUTS[n], targets[n]), rtol=1e-12)
    _close(G.sum(0), grad(loss)(W0, B0), rtol=1e-12)
    _close(jit(per_example)(W0, INPUTS, targets), G, rtol=1e-12)


def test_cookbook_stop_gradient_td0():
    value_fn = lambda theta, state: np.dot(theta, state)
    theta = np.array([0.1, -0.1, 0.0])
    s_tm1, r_t, s_t = np.array([1.0, 2.0, -1.0]), np.array(1.0), np.array([2.0, 1.0, 0.0])

    def td_loss(theta, s_tm1, r_t, s_t):
        v_tm1 = value_fn(theta, s_tm1)
        target = r_t + value_fn(theta, s_t)
        return -0.5 * ((riesz.stop_gradient(target) - v_tm1) ** 2)

    delta = r_t + value_fn(theta, s_t) - value_fn(theta, s_tm1)
    expected = delta * s_tm1                       # the semi-gradient, [1.2, 2.4, -1.2]
    _close(grad(td_loss)(theta, s_tm1, r_t, s_t), expected, rtol=1e-12)
    _close(jit(grad(td_loss))(theta, s_tm1, r_t, s_t), expected, rtol=1e-12)
    batched = vmap(grad(td_loss), in_axes=(None, 0, 0, 0))
    stack = lambda a: np.stack([a, 2 * a])
    _close(batched(theta, stack(s_tm1), stack(r_t), stack(s_t))[0], expected, rtol=1e-12)


def test_stop_gradient_of_a_pytree_stops_every_leaf():
    """JAX's stop_gradient takes a pytree (stop_gradient(params)['w']); riesz's applied the
    primitive to the container itself, which held the traced leaves untouched: the gradient
    went through it, silently doubling d(w * stop_gradient(p)['w'])/dw."""
    assert grad(lambda p: p["w"] * riesz.stop_gradient(p)["w"])({"w": 3.0})["w"] == 3.0
    assert grad(lambda p: p[0] * riesz.stop_gradient(p)[0])((3.0, 2.0)) == (3.0, 0.0)
    assert grad(lambda p: p[0] * riesz.stop_gradient(p)[0])([3.0, 2.0]) == [3.0, 0.0]
    assert jit(grad(lambda p: p[0] * riesz.stop_gradient(p)[0]))([3.0, 2.0]) == [3.0, 0.0]
    held = riesz.stop_gradient({"w": np.ones(2), "b": None})
    assert held["b"] is None and np.array_equal(held["w"], np.ones(2))


def test_cookbook_complex_numbers():
    z = 3.0 + 4.0j
    assert grad(lambda z: np.real(z) ** 2 + np.imag(z) ** 2)(z) == 6 - 8j
    assert grad(lambda z: np.abs(z) ** 2)(z) == 6 - 8j
    np.testing.assert_allclose(grad(np.sin, holomorphic=True)(z), np.cos(z), rtol=1e-14)
    assert grad(np.sin, holomorphic=True)(np.complex64(z)).dtype == np.complex64
    with pytest.raises(TypeError, match="holomorphic=True"):
        grad(np.sin)(z)
    with pytest.raises(TypeError, match="needs complex inputs"):
        grad(np.sin, holomorphic=True)(1.0)
    f = lambda z: np.sin(z) * np.conj(z)         # not holomorphic: pull back 1 and i
    _, pullback = vjp(f, 1 + 2j)
    df_dz, df_dzbar = np.cos(1 + 2j) * (1 - 2j), np.sin(1 + 2j)
    for w in (1.0 + 0j, 1j):                     # JAX's convention: w ∂f/∂z + conj(w ∂f/∂z̄)
        np.testing.assert_allclose(pullback(w)[0], w * df_dz + np.conj(w * df_dzbar),
                                   rtol=1e-14)


@needs_jax
def test_cookbook_complex_matches_jax():
    z = 1 + 2j
    for w in (1.0 + 0j, 1j):
        ours = vjp(lambda z: np.sin(z) * np.conj(z), z)[1](w)
        theirs = jax.vjp(lambda z: jnp.sin(z) * jnp.conj(z), z)[1](w)
        _close(ours, theirs, rtol=1e-14)
    zs = np.array([z, 0.5 - 1j])
    f = lambda m: (lambda z: m.sin(z) * m.conj(z))
    # without the flag riesz gives what JAX gives with holomorphic=True (README)
    _close(jacfwd(f(np))(zs), jax.jacfwd(f(jnp), holomorphic=True)(zs), rtol=1e-14)
    _close(jacrev(f(np))(zs), jax.jacrev(f(jnp), holomorphic=True)(zs), rtol=1e-14)
    _close(jacrev(lambda z: np.abs(z) ** 2)(zs), jax.jacrev(lambda z: jnp.abs(z) ** 2)(zs),
           rtol=1e-14)


# ---------------------------------------------------------------- custom derivative rules

def _log1pexp_plain(x):
    return np.log(1.0 + np.exp(x))


@custom_jvp
def log1pexp(x):
    return np.log(1.0 + np.exp(x))


@log1pexp.defjvp
def _log1pexp_jvp(primals, tangents):
    x, = primals
    x_dot, = tangents
    return log1pexp(x), (1 - 1 / (1 + np.exp(x))) * x_dot


@custom_jvp
def log1pexp_defjvps(x):
    return np.log(1.0 + np.exp(x))


log1pexp_defjvps.defjvps(lambda t, ans, x: (1 - 1 / (1 + np.exp(x))) * t)


@pytest.mark.parametrize("f", [log1pexp, log1pexp_defjvps], ids=["defjvp", "defjvps"])
def test_custom_jvp_log1pexp(f):
    xs = np.arange(3.0)
    sigmoid = 1 / (1 + np.exp(-xs))
    _close(jit(f)(xs), _log1pexp_plain(xs), rtol=1e-14)
    _close(vmap(jit(grad(f)))(xs), sigmoid, rtol=1e-14)
    _close(grad(grad(f))(xs[2]), sigmoid[2] * (1 - sigmoid[2]), rtol=1e-12)
    with np.errstate(over="ignore"):
        assert grad(f)(np.float32(100.0)) == 1.0
    # the plain formula overflows, exp(100) = ∞ in float32: NumPy's warning, and then 0 × ∞ = 0
    # gives 0 where JAX gives NaN (README, "Singular points"; the derivative is 1)
    with pytest.warns(RuntimeWarning, match="overflow encountered in exp"):
        assert grad(_log1pexp_plain)(np.float32(100.0)) == 0.0
    check_grads(f, (xs - 1,), order=2)


def test_custom_jvp_defjvps_two_arguments():
    """JAX's defjvps: one rule per argument, None where f does not vary with it."""
    @custom_jvp
    def f(x, y):
        return x ** 2 * y

    f.defjvps(lambda x_dot, out, x, y: 2 * x * y * x_dot,
              lambda y_dot, out, x, y: x ** 2 * y_dot)
    assert grad(f, (0, 1))(2.0, 3.0) == (12.0, 4.0)
    assert jvp(f, (2.0, 3.0), (1.0, 1.0)) == (12.0, 16.0)
    check_grads(f, (2.0, 3.0), order=2)

    @custom_jvp
    def g(x, y):
        return x ** 2 * y

    g.defjvps(lambda x_dot, out, x, y: 2 * x * y * x_dot, None)
    assert grad(g, (0, 1))(2.0, 3.0) == (12.0, 0.0)    # the rule says: no change with y

    @custom_jvp
    def pair(x):
        return {"s": np.sin(x), "c": np.cos(x)}

    pair.defjvps(lambda t, out, x: {"s": out["c"] * t, "c": -out["s"] * t})
    _close(jacfwd(lambda x: pair(x)["c"])(np.ones(2)), np.diag(-np.sin(np.ones(2))))


def test_custom_jvp_defjvps_errors():
    @custom_jvp
    def f(x, y):
        return x * y

    f.defjvps(lambda t, out, x, y: y * t)
    with pytest.raises(TypeError, match="defjvps got 1 rule.*2 argument.*None where"):
        grad(f)(1.0, 2.0)
    g = custom_jvp(lambda n, x: x ** n, nondiff_argnums=(0,))
    with pytest.raises(TypeError, match="nondiff_argnums; write one rule with defjvp"):
        g.defjvps(lambda t, out, x: t)


def test_custom_jvp_enforcing_a_convention_at_zero():
    @custom_jvp
    def f(x):
        return x / (1 + np.sqrt(x))

    @f.defjvp
    def _(primals, tangents):
        x, = primals
        x_dot, = tangents
        return f(x), ((np.sqrt(x) + 2) / (2 * (np.sqrt(x) + 1) ** 2)) * x_dot

    assert grad(f)(0.0) == 1.0
    # riesz gives the plain function the same finite value (JAX: NaN; README, singular points)
    assert grad(lambda x: x / (1 + np.sqrt(x)))(0.0) == 1.0
    check_grads(f, (np.array([0.5, 2.0]),), order=2)


def test_custom_jvp_python_control_flow_and_printing(capsys):
    @custom_jvp
    def f(x):
        print("f at", x)
        return np.sin(x) if x > 0 else np.cos(x)

    @f.defjvp
    def _(primals, tangents):
        x, = primals
        x_dot, = tangents
        return f(x), (2 if x > 0 else 3) * x_dot

    assert (grad(f)(1.0), grad(f)(-1.0)) == (2.0, 3.0)
    printed = capsys.readouterr().out
    assert "f at 1.0" in printed and "f at -1.0" in printed


def _clip_sin(clip_gradient):
    return lambda x: np.sin(clip_gradient(-0.75, 0.75, x))


@custom_vjp
def clip_gradient(lo, hi, x):
    return x


clip_gradient.defvjp(lambda lo, hi, x: (x, (lo, hi)),
                     lambda res, g: (None, None, np.clip(g, *res)))


def test_custom_vjp_clip_gradient():
    t = np.linspace(0, 10, 7)
    expected = np.clip(np.cos(t), -0.75, 0.75)
    clip_sin = _clip_sin(clip_gradient)
    _close(vmap(grad(clip_sin))(t), expected, rtol=1e-14)
    _close(jit(vmap(grad(clip_sin)))(t), expected, rtol=1e-14)
    _close(riesz.elementwise_grad(clip_sin)(t), expected, rtol=1e-14)
    # forward mode differentiates the implementation (JAX raises; README "Where riesz differs")
    _close(jvp(clip_sin, (t,), (np.ones(7),))[1], np.cos(t), rtol=1e-14)


def _until_converged(f, a, x_guess):
    x_prev, x = x_guess, f(a, x_guess)
    while np.abs(x_prev - x) > 1e-10:        # lax.while_loop, as a Python loop
        x_prev, x = x, f(a, x)
    return x


def _thirty_steps(f, a, x):                  # a loop whose length jit can see
    for _ in range(30):
        x = f(a, x)
    return x


def _fixed_point(iterate):
    """JAX's doc's fixed_point (custom_vjp, the function in nondiff_argnums), its backward
    pass by the implicit function theorem, solving with the loop ``iterate``."""
    @functools.partial(custom_vjp, nondiff_argnums=(0,))
    def fixed_point(f, a, x_guess):
        return iterate(f, a, x_guess)

    def fwd(f, a, x_init):
        x_star = fixed_point(f, a, x_init)
        return x_star, (a, x_star)

    def rev_iter(f, packed, u):
        a, x_star, x_star_bar = packed
        _, vjp_x = vjp(lambda x: f(a, x), x_star)
        return x_star_bar + vjp_x(u)[0]

    def rev(f, res, x_star_bar):
        a, x_star = res
        _, vjp_a = vjp(lambda a: f(a, x_star), a)
        a_bar, = vjp_a(fixed_point(functools.partial(rev_iter, f), (a, x_star, x_star_bar),
                                   x_star_bar))
        return a_bar, np.zeros_like(x_star)

    fixed_point.defvjp(fwd, rev)
    return lambda a: fixed_point(lambda a, x: 0.5 * (x + a / x), a, a)   # Newton's √a


newton_sqrt = _fixed_point(_until_converged)


def test_custom_vjp_fixed_point_nondiff_argnums():
    assert abs(newton_sqrt(2.0) - np.sqrt(2.0)) < 1e-12
    np.testing.assert_allclose(grad(newton_sqrt)(2.0), 0.5 / np.sqrt(2.0), rtol=1e-10)
    np.testing.assert_allclose(grad(grad(newton_sqrt))(2.0), -0.25 * 2.0 ** -1.5, rtol=1e-8)
    np.testing.assert_allclose(vmap(grad(newton_sqrt))(np.array([1.0, 2.0, 3.0])),
                               0.5 / np.sqrt([1.0, 2.0, 3.0]), rtol=1e-10)
    # the while loop reads values: jit says so and names the fix
    with pytest.raises(riesz.ConcretizationError, match="static_argnums"):
        jit(grad(newton_sqrt))(2.0)
    # with a loop of fixed length, the doc's jit(vmap(...)) and more
    sqrt30 = _fixed_point(_thirty_steps)
    a = np.array([1.0, 2.0, 3.0, 4.0])
    _close(jit(vmap(sqrt30))(a), np.sqrt(a), rtol=1e-14)
    _close(jit(vmap(grad(sqrt30)))(a), 0.5 / np.sqrt(a), rtol=1e-12)
    _close(vmap(grad(grad(sqrt30)))(a), -0.25 * a ** -1.5, rtol=1e-10)
    _close(hessian(lambda a: np.sum(sqrt30(a)))(a), np.diag(-0.25 * a ** -1.5), rtol=1e-10,
           atol=1e-15)


def test_custom_rules_nondiff_callables():
    @functools.partial(custom_jvp, nondiff_argnums=(0,))
    def app(f, x):
        return f(x)

    @app.defjvp
    def _(f, primals, tangents):
        x, = primals
        x_dot, = tangents
        return f(x), 2.0 * x_dot

    assert (app(lambda x: x ** 3, 3.0), grad(app, 1)(lambda x: x ** 3, 3.0)) == (27.0, 2.0)

    @functools.partial(custom_vjp, nondiff_argnums=(0,))
    def app2(f, x):
        return f(x)

    app2.defvjp(lambda f, x: (f(x), x), lambda f, x, g: (5 * g,))
    assert grad(app2, 1)(lambda x: x ** 2, 4.0) == 5.0


Point = namedtuple("Point", ["x", "y"])


def test_custom_rules_on_pytrees():
    @custom_jvp
    def f(pt):
        return {"a": pt.x ** 2, "b": (np.sin(pt.x), np.cos(pt.y))}

    @f.defjvp
    def _(primals, tangents):
        pt, = primals
        pt_dot, = tangents
        return f(pt), {"a": 2 * pt.x * pt_dot.x,
                       "b": (np.cos(pt.x) * pt_dot.x, -np.sin(pt.y) * pt_dot.y)}

    @custom_vjp
    def fv(pt):
        return {"a": pt.x ** 2, "b": (np.sin(pt.x), np.cos(pt.y))}

    def fv_bwd(pt, g):
        return (Point(2 * pt.x * g["a"] + np.cos(pt.x) * g["b"][0], -np.sin(pt.y) * g["b"][1]),)

    fv.defvjp(lambda pt: (fv(pt), pt), fv_bwd)
    pt = Point(1.0, 2.0)
    for h in (f, fv):
        g = grad(lambda pt: h(pt)["a"] + h(pt)["b"][0])(pt)
        assert type(g) is Point
        _close(g, Point(2.0 + np.cos(1.0), 0.0), rtol=1e-14)


def test_custom_rules_higher_order_jit_vmap_and_reverse_mode():
    @custom_jvp
    def f(x):
        return np.sin(x)

    @f.defjvp
    def _(primals, tangents):
        x, = primals
        g, = tangents
        return f(x), 2 * np.cos(x) * g       # a deliberately different rule: 2 cos

    xs = np.array([1.0, 3.0])
    _close(vmap(grad(f))(xs), 2 * np.cos(xs), rtol=1e-14)      # reverse mode: the rule's transpose
    _close(jit(vmap(grad(f)))(xs), 2 * np.cos(xs), rtol=1e-14)
    _close(hessian(lambda x: np.sum(f(x)))(xs), np.diag(-2 * np.sin(xs)), rtol=1e-14)

    @custom_vjp
    def s(x):
        return np.sin(x)

    s.defvjp(lambda x: (s(x), x), lambda x, g: (np.cos(x) * g,))
    _close(grad(grad(s))(1.0), -np.sin(1.0), rtol=1e-14)
    _close(hessian(lambda x: np.sum(s(x)))(xs), np.diag(-np.sin(xs)), rtol=1e-14)
    _close(jit(vmap(grad(s)))(xs), np.cos(xs), rtol=1e-14)


# ----------------------------------------------------------------------------- checkpoint

def _layer(W, x):
    return np.sin(np.dot(W, x))


def _net(W1, W2, W3, x):
    return _layer(W3, _layer(W2, _layer(W1, x)))


def test_checkpoint_examples():
    W1, W2, W3 = RNG.normal(size=(5, 4)), RNG.normal(size=(6, 5)), RNG.normal(size=(7, 6))
    x = RNG.normal(size=4)
    args = (W1, W2, W3, x)
    each = lambda W1, W2, W3, x: riesz.checkpoint(_layer)(
        W3, riesz.checkpoint(_layer)(W2, riesz.checkpoint(_layer)(W1, x)))
    whole = riesz.checkpoint(_net, policy=None)          # JAX's policy is taken and ignored
    expected = jacrev(_net, argnums=(0, 1, 2, 3))(*args)
    for f in (each, whole):
        _close(jacrev(f, argnums=(0, 1, 2, 3))(*args), expected, rtol=1e-12)
        _close(jit(grad(lambda *a: np.sum(f(*a)), (0, 3)))(*args),
               grad(lambda *a: np.sum(_net(*a)), (0, 3))(*args), rtol=1e-12)
    check_grads(lambda W, x: riesz.checkpoint(_layer)(W, x), (W1, x), order=2)

    @functools.partial(riesz.checkpoint, static_argnums=(1,))
    def foo(x, is_training):
        return np.sin(x) if is_training else np.cos(x)

    assert (grad(foo)(1.0, True), grad(foo)(1.0, False)) == (np.cos(1.0), -np.sin(1.0))
    assert riesz.remat is riesz.checkpoint


# ------------------------------------------------------------ linearize and linear_transpose

def test_linearize_docstring_example():
    f = lambda x: 3.0 * np.sin(x) + np.cos(x / 2.0)
    y, f_jvp = riesz.linearize(f, 2.0)
    assert y == f(2.0)
    np.testing.assert_allclose(f_jvp(1.0), 3.0 * np.cos(2.0) - 0.5 * np.sin(1.0), rtol=1e-14)
    _, df = riesz.linearize(np.sin, np.array([1.0, 2.0]))
    _close(vmap(df)(np.eye(2)), np.diag(np.cos([1.0, 2.0])), rtol=1e-14)
    _close(jit(df)(np.ones(2)), np.cos([1.0, 2.0]), rtol=1e-14)


def test_linearize_has_aux():
    """jax.linearize(f, x, has_aux=True) returns (out, f_jvp, aux); riesz's linearize had no
    has_aux (a TypeError on an unexpected keyword)."""
    y, df, aux = riesz.linearize(lambda x: (np.sin(x), {"x": x, "n": 3}), np.ones(2),
                                 has_aux=True)
    _close(y, np.sin(np.ones(2)))
    _close(aux, {"x": np.ones(2), "n": 3})
    _close(df(np.array([1.0, 2.0])), np.cos(1.0) * np.array([1.0, 2.0]), rtol=1e-14)
    _close(df.T(np.ones(2)), np.cos(np.ones(2)), rtol=1e-14)
    with pytest.raises(TypeError, match=r"has_aux=True needs the function to return a pair"):
        riesz.linearize(np.sin, np.ones(2), has_aux=True)


def test_linear_transpose_docstring_example():
    f = lambda x, y: 0.5 * x - 0.5 * y
    scalar = np.float32(1.0)
    ct = riesz.linear_transpose(f, scalar, scalar)(np.float32(1.0))
    assert ct == (0.5, -0.5) and all(c.dtype == np.float32 for c in ct)
    A = RNG.normal(size=(3, 2))
    u = RNG.normal(size=3)
    _close(riesz.linear_transpose(lambda v: A @ v, np.zeros(2))(u), A.T @ u, rtol=1e-14)
    # one argument: one cotangent, not JAX's 1-tuple (README, "Where riesz differs")
    assert riesz.linear_transpose(lambda x: 0.5 * x, 1.0)(1.0) == 0.5


@needs_jax
def test_linearize_and_linear_transpose_match_jax():
    f = lambda m: (lambda x, y: m.sin(x) * y)
    x, y = np.array([0.3, 1.2]), np.array([2.0, -1.0])
    v = (np.array([1.0, 0.5]), np.array([-1.0, 2.0]))
    _close(riesz.linearize(f(np), x, y)[1](*v), jax.linearize(f(jnp), x, y)[1](*v), rtol=1e-14)
    A = RNG.normal(size=(3, 2))
    u = RNG.normal(size=3)
    theirs, = jax.linear_transpose(lambda v: jnp.asarray(A) @ v, np.zeros(2))(u)
    _close(riesz.linear_transpose(lambda v: A @ v, np.zeros(2))(u), theirs, rtol=1e-14)


# -------------------------------------------------------------- autodidax jvp/vmap examples

def test_autodidax_jvp_and_vmap():
    def f(x):
        y = np.sin(x) * 2.0
        return -y + x

    deriv = lambda f: (lambda x: jvp(f, (x,), (1.0,))[1])
    assert jvp(f, (3.0,), (1.0,)) == (f(3.0), 1 - 2 * np.cos(3.0))
    assert (deriv(np.sin)(3.0), deriv(deriv(np.sin))(3.0), deriv(deriv(deriv(np.sin)))(3.0)) \
        == (np.cos(3.0), -np.sin(3.0), -np.cos(3.0))
    branch = lambda x: 2.0 * x if x > 0.0 else x
    assert (deriv(branch)(3.0), deriv(branch)(-3.0)) == (2.0, 1.0)
    # perturbation confusion: the inner derivative is 1, so the outer one is 1
    assert deriv(lambda x: x * deriv(lambda y: x + y)(1.0))(1.0) == 1.0

    def add_one_to_a_scalar(scalar):
        assert np.ndim(scalar) == 0
        return 1 + scalar

    _close(vmap(add_one_to_a_scalar, (0,))(np.arange(3.0)), np.arange(1.0, 4.0))
    x = np.arange(3.0)
    basis = np.eye(np.size(x)).reshape(np.shape(x) * 2)
    _close(vmap(lambda v: jvp(f, (x,), (v,))[1], (0,))(basis), np.diag(1 - 2 * np.cos(x)),
           rtol=1e-14)


@needs_jax
def test_log1pexp_overflow_against_jax():
    """JAX's doc motivates custom_jvp with grad(log1pexp)(100.) = NaN in float32; riesz gives
    0 with NumPy's overflow warning (README), and both give 1 with the custom rule."""
    j_log1pexp = lambda x: jnp.log(1.0 + jnp.exp(x))
    assert np.isnan(jax.grad(j_log1pexp)(jnp.float32(100.0)))
    with pytest.warns(RuntimeWarning, match="overflow"):
        assert grad(_log1pexp_plain)(np.float32(100.0)) == 0.0
    with np.errstate(over="ignore"):
        assert grad(log1pexp)(np.float32(100.0)) == 1.0


def test_custom_vjp_bwd_returning_a_bare_cotangent_names_the_fix():
    """The pdb example of JAX's doc writes `return g` for one argument; JAX and riesz both
    refuse it, riesz saying what it got and to return (g,)."""
    @custom_vjp
    def debug(x):
        return x

    debug.defvjp(lambda x: (x, x), lambda x, g: g)
    with pytest.raises(TypeError, match=r"tuple of 1 cotangent.*got a float64: for one "
                                        r"argument return \(ct,\)"):
        grad(lambda x: np.sin(debug(x ** 2)))(3.0)
    debug.defvjp(lambda x: (x, x), lambda x, g: (g,))
    assert grad(lambda x: np.sin(debug(x ** 2)))(3.0) == 6.0 * np.cos(9.0)


def test_linear_transpose_takes_shape_dtype_specs():
    """jax.linear_transpose's docstring passes ShapeDtypeStructs as primals; riesz raised
    vjp's error about a non-array input, which told the user to close over it. Any object
    with .shape and .dtype that is not an array now stands for zeros of that type."""
    import types
    spec = types.SimpleNamespace(shape=(), dtype=np.dtype(np.float32))
    f_transpose = riesz.linear_transpose(lambda x, y: 0.5 * x - 0.5 * y, spec, spec)
    ct = f_transpose(1.0)
    assert ct == (0.5, -0.5) and all(type(c) is np.float32 for c in ct)
    A = RNG.normal(size=(3, 2))
    u = RNG.normal(size=3)
    spec2 = types.SimpleNamespace(shape=(2,), dtype=np.dtype(np.float64))
    _close(riesz.linear_transpose(lambda d: A @ d["v"], {"v": spec2})(u), {"v": A.T @ u},
           rtol=1e-14)


@needs_jax
def test_linear_transpose_of_jax_shape_dtype_structs():
    scalar = jax.ShapeDtypeStruct(shape=(), dtype=np.dtype(np.float32))
    ours = riesz.linear_transpose(lambda x, y: 0.5 * x - 0.5 * y, scalar, scalar)(1.0)
    theirs = jax.linear_transpose(lambda x, y: 0.5 * x - 0.5 * y, scalar, scalar)(
        np.float32(1.0))
    _close(ours, theirs)
    assert [c.dtype for c in ours] == [c.dtype for c in theirs]


@pytest.mark.parametrize("rule", [lambda x, t: np.cos(x) * t ** 2,
                                  lambda x, t: np.cos(x) * t + 1.0], ids=["t**2", "t+1"])
def test_custom_jvp_rule_not_linear_in_tangents_is_caught_by_check_grads(rule):
    """JAX raises when it transposes a rule that is not linear in the tangents; riesz does not
    check (README): its two modes disagree, and check_grads says so."""
    @custom_jvp
    def f(x):
        return np.sin(x)

    f.defjvp(lambda primals, tangents: (f(primals[0]), rule(primals[0], tangents[0])))
    assert jvp(f, (1.0,), (2.0,))[1] == rule(1.0, 2.0)          # the rule, as written
    assert grad(f)(1.0) == grad(lambda t: rule(1.0, t))(0.0)    # its derivative at t = 0
    with pytest.raises(GradientCheckError):
        check_grads(f, (np.array([0.3, 1.0]),), order=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cookbook_complex_jvp_and_vjp_of_a_real_linear_map(seed):
    """The cookbook's check: f(x + iy) = u(x, y) + i v(x, y) with u, v real-linear; the JVP
    and the VJP are read off the 2×2 real Jacobian of (u, v)."""
    rng = np.random.default_rng(seed)
    a, b, c, d = rng.uniform(size=4)
    u = lambda x, y: a * x + b * y
    v = lambda x, y: c * x + d * y
    fun = lambda z: u(np.real(z), np.imag(z)) + v(np.real(z), np.imag(z)) * 1j
    x, y = rng.uniform(size=2)
    dx, dy = rng.uniform(size=2)
    ux, uy, vx, vy = grad(u, 0)(x, y), grad(u, 1)(x, y), grad(v, 0)(x, y), grad(v, 1)(x, y)
    _, tangent = jvp(fun, (x + y * 1j,), (dx + dy * 1j,))
    np.testing.assert_allclose(tangent, ux * dx + uy * dy + 1j * (vx * dx + vy * dy), rtol=1e-14)
    ct, = vjp(fun, x + y * 1j)[1](np.array(dx + dy * 1j))
    np.testing.assert_allclose(ct, ux * dx - vx * dy - 1j * (uy * dx - vy * dy), rtol=1e-14)
    # holomorphic=True on a function that is not: the derivative of Re f, as in JAX
    assert grad(np.conjugate, holomorphic=True)(3.0 + 4j) == 1 - 0j


def test_checkpoint_static_argnames():
    """jax.checkpoint takes static_argnames; riesz's raised a TypeError on the keyword."""
    def foo(x, is_training):
        return np.sin(x) if is_training else np.cos(x)

    c = riesz.checkpoint(foo, static_argnames="is_training")
    assert grad(c)(1.0, is_training=True) == np.cos(1.0)
    assert grad(c)(1.0, False) == -np.sin(1.0)
    assert jit(grad(c), static_argnames="is_training")(1.0, is_training=False) == -np.sin(1.0)

    @functools.partial(riesz.checkpoint, static_argnums=1, static_argnames=("n",))
    def power(x, flag, n=2):
        return x ** n if flag else x

    assert (grad(power)(3.0, True, n=3), grad(power)(3.0, True)) == (27.0, 6.0)
    with pytest.raises(ValueError, match=r"names 'train', which is not a positional "
                                         r"parameter of foo \(x, is_training\)"):
        riesz.checkpoint(foo, static_argnames="train")


def test_custom_jvp_in_reverse_mode_runs_its_rule_once_and_not_the_function_again():
    # as JAX: reverse mode transposes the rule's linear map, recorded while the rule gives
    # the output; the function runs only where the rule calls it
    calls = {"f": 0, "rule": 0}

    @riesz.custom_jvp
    def softplus(x):
        calls["f"] += 1
        return np.log1p(np.exp(x))

    @softplus.defjvp
    def softplus_jvp(primals, tangents):
        calls["rule"] += 1
        (x,), (t,) = primals, tangents
        return softplus(x), t / (1 + np.exp(-x))

    x = np.array([0.0, 2.0])
    np.testing.assert_allclose(riesz.grad(lambda x: np.sum(softplus(x)))(x),
                               1 / (1 + np.exp(-x)), rtol=1e-12)
    assert calls == {"f": 1, "rule": 1}
    check_grads(lambda x: np.sum(softplus(x)), (np.array([0.3, -1.2]),), order=2)
