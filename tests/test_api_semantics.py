"""The transforms as a JAX user calls them: argnums, pytrees, dtypes, keyword arguments,
custom rules with ``nondiff_argnums``, vmap's pytree axes, and the errors for misuse
(tracers that escape a transform, functions returned from one, mismatched tangents).
Expected values are closed forms."""
import functools
from collections import namedtuple

import numpy as np
import pytest

import riesz
from riesz import EscapedTracerError

rng = np.random.default_rng(0)
Pair = namedtuple("Pair", ["a", "b"])


def f_xy(x, y):
    return np.sum(x * y ** 2)


X, Y = rng.standard_normal(3), rng.standard_normal(3)


# ---------------------------------------------------------------- argnums and pytrees

def test_argnums_negative_and_tuples():
    # ∂/∂x Σ x y² = y², ∂/∂y = 2xy
    np.testing.assert_allclose(riesz.grad(f_xy, argnums=-1)(X, Y), 2 * X * Y)
    gy, gx = riesz.grad(f_xy, argnums=(-1, 0))(X, Y)
    np.testing.assert_allclose(gx, Y ** 2)
    np.testing.assert_allclose(gy, 2 * X * Y)


def test_argnums_naming_an_argument_twice_is_an_error():
    with pytest.raises(ValueError, match="names an argument twice"):
        riesz.grad(f_xy, argnums=(0, 0))(X, Y)


def test_keyword_arguments_pass_through_and_are_not_differentiated():
    np.testing.assert_allclose(riesz.grad(f_xy)(X, y=Y), Y ** 2)
    with pytest.raises(ValueError, match="pass the differentiated ones positionally"):
        riesz.grad(f_xy)(x=X, y=Y)


def test_gradients_of_namedtuples_none_leaves_and_nested_containers():
    g = riesz.grad(lambda p: np.sum(p.a * p.b))(Pair(X, Y))
    assert type(g) is Pair
    np.testing.assert_allclose(g.a, Y)
    np.testing.assert_allclose(g.b, X)
    g = riesz.grad(lambda p: np.sum(p[0]["w"][1] ** 2))(({"w": [X, Y]}, None))
    assert g[1] is None
    np.testing.assert_allclose(g[0]["w"][0], 0 * X)
    np.testing.assert_allclose(g[0]["w"][1], 2 * Y)


# ---------------------------------------------------------------- dtypes

@pytest.mark.parametrize("x", [np.array(2.0), np.float32(2.0), 2.0])
def test_gradient_of_scalars_keeps_their_dtype(x):
    g = riesz.grad(lambda x: x ** 3)(x)
    assert np.ndim(g) == 0 and g.dtype == np.result_type(x)
    assert g == 12.0


def test_constant_functions_have_zero_gradients_of_the_arguments_shape_and_dtype():
    x32 = np.ones((2, 3), np.float32)
    g = riesz.grad(lambda x: 3.0)(x32)
    assert g.shape == (2, 3) and g.dtype == np.float32 and not g.any()
    g, h = riesz.grad(lambda a, b: np.float32(1.0), argnums=(0, 1))(x32, 1.0)
    assert h == 0.0 and h.dtype == np.float64


def test_mixed_precision_arguments_get_gradients_of_their_own_dtypes():
    a, b = np.ones(2, np.float32), np.full(2, 3.0)
    ga, gb = riesz.grad(lambda a, b: np.sum(a * b), argnums=(0, 1))(a, b)
    assert ga.dtype == np.float32 and gb.dtype == np.float64
    np.testing.assert_allclose(ga, b)
    np.testing.assert_allclose(gb, a)


@pytest.mark.parametrize("out, message", [(lambda x: 3, "dtype int"),
                                          (lambda x: x * 1j, "holomorphic=True")])
def test_grad_of_integer_or_complex_outputs_says_what_to_do(out, message):
    with pytest.raises(TypeError, match=message):
        riesz.grad(out)(2.0)


# ---------------------------------------------------------------- jvp and vjp

def test_jvp_gives_tangents_the_primal_dtype_and_rejects_integer_ones():
    x32 = np.ones(3, np.float32)
    y, t = riesz.jvp(np.tanh, (x32,), (np.ones(3),))     # float64 tangent, float32 primal
    assert t.dtype == np.float32
    np.testing.assert_allclose(t, 1 - np.tanh(1.0) ** 2, rtol=1e-6)
    with pytest.raises(TypeError, match="tangent 0 has dtype int64"):
        riesz.jvp(np.tanh, (np.ones(3),), (np.ones(3, dtype=np.int64),))
    with pytest.raises(TypeError, match="tangent 0 has dtype complex128"):
        riesz.jvp(np.tanh, (np.ones(3),), (np.ones(3) * 1j,))


def test_has_aux_without_a_pair_is_an_error_in_every_mode():
    for call in (lambda f: riesz.grad(f, has_aux=True)(X),
                 lambda f: riesz.jvp(f, (X,), (X,), has_aux=True)):
        with pytest.raises(TypeError, match=r"return a pair \(output, aux\), got a single "
                                            r"array, the output alone: .* drop has_aux=True"):
            call(lambda x: np.sum(x))
        with pytest.raises(TypeError, match=r"got tuple of length 3"):
            call(lambda x: (np.sum(x), 1, 2))


def test_a_complex_cotangent_for_a_real_output_is_an_error_not_a_dropped_part():
    _, pullback = riesz.vjp(lambda x: 2 * x, X)
    with pytest.raises(TypeError, match="cotangent 0 is complex"):
        pullback(1j * np.ones(3))
    np.testing.assert_allclose(pullback(np.ones(3, dtype=np.int64))[0], 2.0)


def test_pullback_can_be_called_twice():
    _, pullback = riesz.vjp(lambda x: np.sin(x) * 2, X)
    (first,) = pullback(np.ones(3))
    (second,) = pullback(np.full(3, 2.0))
    np.testing.assert_allclose(first, 2 * np.cos(X))
    np.testing.assert_allclose(second, 4 * np.cos(X))


# ---------------------------------------------------------------- misuse

def test_a_tracer_that_escapes_a_transform_raises_rather_than_giving_a_wrong_answer():
    leaked = []

    def leak(x):
        leaked.append(x * 2)
        return np.sum(x ** 2)

    riesz.grad(leak)(X)
    riesz.jvp(leak, (X,), (X,))
    riesz.vmap(leak)(np.ones((2, 3)))
    for value in leaked:
        with pytest.raises(EscapedTracerError, match="already returned"):
            riesz.grad(lambda z: np.sum(z * value))(X)


def test_a_function_returned_from_a_transform_is_an_error():
    # Manzyuk et al.'s perturbation confusion through a returned closure
    derivative = lambda f: lambda x: riesz.jvp(f, (x,), (1.0,))[1]   # noqa: E731
    with pytest.raises(TypeError, match="returned a function"):
        derivative(lambda x: (lambda y: x * y))(3.0)


def test_nested_derivatives_do_not_confuse_perturbations():
    derivative = lambda f: lambda x: riesz.jvp(f, (x,), (1.0,))[1]   # noqa: E731
    assert derivative(lambda x: x * derivative(lambda y: x + y)(1.0))(2.0) == 1.0
    # d/dx of the vjp of y ↦ x y² at y = 3: d/dx (6x) = 6
    assert riesz.grad(lambda x: riesz.vjp(lambda y: x * y ** 2, 3.0)[1](1.0)[0])(2.0) == 6.0


# ---------------------------------------------------------------- custom rules

def test_custom_vjp_nondiff_arguments_come_first_in_bwd_as_in_jax():
    @functools.partial(riesz.custom_vjp, nondiff_argnums=(0,))
    def apply(f, x):
        return f(x)

    def apply_fwd(f, x):
        return f(x), x

    def apply_bwd(f, x, g):        # the rule says 3 f'(x) on purpose: it must be used
        return (3 * g * np.cos(x),)

    apply.defvjp(apply_fwd, apply_bwd)
    assert riesz.grad(lambda x: apply(np.sin, x))(1.0) == 3 * np.cos(1.0)


def test_custom_rules_take_keyword_arguments():
    @riesz.custom_vjp
    def power(x, n=2.0):
        return x ** n

    def power_bwd(res, g):   # ∂(xⁿ) = n xⁿ⁻¹ ẋ (n is not differentiated here)
        x, n = res
        return (g * n * x ** (n - 1), None)

    power.defvjp(lambda x, n: (power(x, n), (x, n)), power_bwd)
    assert riesz.grad(lambda x: power(x, n=3.0))(2.0) == 12.0

    @riesz.custom_jvp
    def square(x):
        return x ** 2

    square.defjvp(lambda p, t: (square(p[0]), 2 * p[0] * t[0]))
    assert riesz.grad(lambda x: square(x=x))(3.0) == 6.0


def test_checkpoint_leaves_integer_arguments_alone():
    segment = riesz.checkpoint(lambda a, n=2: a ** n)
    assert riesz.grad(lambda v: segment(v, n=3))(2.0) == 12.0
    assert riesz.grad(lambda v: segment(v, 3))(2.0) == 12.0


# ---------------------------------------------------------------- vmap

def test_vmap_in_axes_and_out_axes_are_pytree_prefixes():
    w, xs = np.arange(2.0), rng.standard_normal((4, 2))
    out = riesz.vmap(lambda p: p["w"] * p["x"], in_axes=({"w": None, "x": 0},))({"w": w, "x": xs})
    np.testing.assert_allclose(out, xs * w)
    out = riesz.vmap(lambda p: p.a * p.b, in_axes=(Pair(1, None),))(Pair(xs.T, w))
    np.testing.assert_allclose(out, xs * w)
    out = riesz.vmap(lambda x: {"s": np.sum(x), "x": x}, out_axes={"s": 0, "x": 1})(xs)
    np.testing.assert_allclose(out["s"], xs.sum(axis=1))
    np.testing.assert_allclose(out["x"], xs.T)
    with pytest.raises(ValueError, match="does not match the structure"):
        riesz.vmap(lambda p: p["w"], in_axes=({"w": 0, "y": 1},))({"w": w, "x": xs})


def test_vmap_batches_keyword_arguments_along_axis_0():
    xs, ys = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    np.testing.assert_allclose(riesz.vmap(lambda x, y=None: x @ y)(xs, y=ys),
                               np.sum(xs * ys, axis=1))


def test_jacobians_between_real_and_complex_spaces_use_the_mode_that_sees_everything():
    z = np.array([1 + 2j, 3 - 1j])
    # complex to real: row k is grad |z_k| in the conjugate convention (as JAX): conj(z)/|z|
    want = np.diag(np.conj(z) / np.abs(z))
    np.testing.assert_allclose(riesz.jacobian(np.abs)(z), want)
    np.testing.assert_allclose(riesz.jacrev(np.abs)(z), want)
    with pytest.raises(TypeError, match="Use jacrev"):
        riesz.jacfwd(np.abs)(z)
    # real to complex: x ↦ (1 + 2i) x has the Jacobian (1 + 2i) I, imaginary part included
    scale = lambda x: x * (1 + 2j)   # noqa: E731
    for mode in ("auto", "forward"):
        np.testing.assert_allclose(riesz.jacobian(scale, mode=mode)(np.ones(3)),
                                   (1 + 2j) * np.eye(3))
    with pytest.raises(TypeError, match="Use jacfwd"):
        riesz.jacrev(scale)(np.ones(3))


def test_a_linear_map_applies_to_vectors_with_matmul_like_its_matrix():
    A = rng.standard_normal((2, 3))
    _, df = riesz.linearize(lambda v: np.tanh(A @ v), X)
    v, u = rng.standard_normal(3), rng.standard_normal(2)
    np.testing.assert_allclose(df @ v, df.matrix() @ v)
    np.testing.assert_allclose(u @ df, u @ df.matrix())     # uᵀ ∂f = (∂fᵀ u)ᵀ
    np.testing.assert_allclose(u @ df, df.T(u))


def test_custom_rules_returning_misshapen_values_are_errors_not_wrong_gradients():
    def rule_pair(fwd, bwd):
        f = riesz.custom_vjp(lambda a, b: a * b)
        return f.defvjp(fwd, bwd)

    summed = rule_pair(lambda a, b: (a * b, (a, b)), lambda r, g: (np.sum(g * r[1]), g * r[0]))
    with pytest.raises(ValueError, match=r"cotangent 0 has shape \(\) but differentiable "
                                         r"argument 0 has shape \(3,\)"):
        riesz.grad(lambda a: np.sum(summed(a, X)))(X)
    unpaired = rule_pair(lambda a, b: a * b, lambda r, g: (g, g))
    with pytest.raises(TypeError, match=r"must return a pair \(output, residuals\)"):
        riesz.grad(lambda a: np.sum(unpaired(a, X)))(X)

    square = riesz.custom_jvp(lambda a: a ** 2)
    square.defjvp(lambda p, t: (p[0] ** 2, np.sum(t[0])))
    for differentiate in (lambda: riesz.jvp(square, (X,), (X,)),
                          lambda: riesz.grad(lambda a: np.sum(square(a)))(X)):
        with pytest.raises(ValueError, match="output tangent has shape"):
            differentiate()


def test_checkpoint_of_a_closure_over_parameters_is_an_error_and_passing_them_works():
    # grad with respect to W through a checkpointed block that closes over W: the rule can
    # only give h's cotangent, so riesz refuses (it returned a wrong gradient before)
    W0, x = rng.standard_normal((3, 3)), rng.standard_normal((2, 3))
    with pytest.raises(TypeError, match="closes over a value that is being differentiated"):
        riesz.grad(lambda W: np.sum(riesz.checkpoint(lambda h: np.tanh(h @ W))(x @ W)))(W0)
    plain = riesz.grad(lambda W: np.sum(np.tanh((x @ W) @ W)))(W0)
    passed = riesz.grad(lambda W: np.sum(riesz.checkpoint(lambda h, W: np.tanh(h @ W))(x @ W, W)))
    np.testing.assert_allclose(passed(W0), plain, rtol=1e-12)


def test_checkpoint_of_a_module_or_partial_as_a_pytree_argument():
    from riesz import nn
    model, x = nn.MLP([3, 4, 4, 1], rng=rng), rng.standard_normal((5, 3))

    def loss(m, checkpointed):
        h = x
        for layer in m.layers[:-1]:
            h = (riesz.checkpoint(lambda l, h: nn.relu(l(h)))(layer, h) if checkpointed
                 else nn.relu(layer(h)))
        return np.sum(m.layers[-1](h) ** 2)

    for got, want in zip(riesz.grad(loss)(model, True).parameters(),
                         riesz.grad(loss)(model, False).parameters()):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    double = riesz.checkpoint(functools.partial(np.multiply, 2.0))
    assert riesz.grad(double)(3.0) == 2.0


def test_custom_jvp_closing_over_a_differentiated_value_is_an_error_in_both_modes():
    def scaled_square(w):
        @riesz.custom_jvp
        def scaled(h):
            return h * w
        scaled.defjvp(lambda p, t: (scaled(p[0]), t[0] * w))
        return scaled(w * 2.0)

    for differentiate in (lambda: riesz.grad(scaled_square)(3.0),
                          lambda: riesz.jvp(scaled_square, (3.0,), (1.0,))):
        with pytest.raises(TypeError, match="closes over a value that is being differentiated"):
            differentiate()
