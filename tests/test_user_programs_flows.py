"""A third new user's trial: jit never wrong, other arrays (Dask, array-api-strict), and the
training and learning flows of riesz.nn and the printed programs.

* ``jit`` is checked differentially: ~60 programs (elementwise chains, reductions with axis
  and keepdims, masks, max/min with ties, indexing and indexed updates, matmul and einsum,
  softmax and log-sum-exp written out, sort, cumsum, kinks at 0, float32 and float64,
  broadcasting, pytrees of parameters) run eagerly and as ``jit(f)``, ``jit(grad(f))``,
  ``jit(value_and_grad(f))``, ``grad(jit(f))``, ``jit(vmap(f))`` and
  ``jit(jacfwd(grad(f)))``, at several inputs each, singular ones included (zeros, ties,
  infinities), with inputs of a new shape or dtype after the first call; the derivatives
  are checked against central finite differences and, where JAX is installed, against JAX.
  Python control flow on values under jit raises ``ConcretizationError`` naming the line.
* A least-squares fit and a logistic regression on a chunked Dask array stay lazy through
  ``grad``/``value_and_grad``/``jvp`` (a scheduler that refuses to run proves it) and
  compute NumPy's numbers; ``array-api-strict`` arrays on a non-default device keep it.
* ``riesz.nn`` as its README teaches it: layers, losses, AdamW with a cosine schedule,
  ``fit`` with and without a progress bar, its PNG (log axis or linear), save/load round
  trips and the errors of damaged files and missing directories; ``riesz.source``,
  ``riesz.graph``, ``linearize`` and ``linear_transpose`` on small programs.
"""
import functools
import io
import os
import zipfile

import numpy as np
import pytest

import riesz
from riesz import nn, optim
from riesz.numpy import at
from riesz.testing import check_grads

pytestmark = pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                                        "ignore:invalid value:RuntimeWarning",
                                        "ignore:overflow:RuntimeWarning")

RNG = np.random.default_rng(3)
W34 = RNG.standard_normal((3, 4))
X3, X34 = RNG.standard_normal(3), RNG.standard_normal((3, 4))

# ---------------------------------------------------------------- the programs
# Each program is written once for a module ``m`` (NumPy, traced by riesz; jax.numpy where
# ``jax`` says it runs there) and holds its inputs: the first regular (finite differences
# and JAX are checked there), the others singular points and new shapes and dtypes.

PROGRAMS = {}


def program(*inputs, jax=True):
    def register(f):
        PROGRAMS[f.__name__] = (f, inputs, jax)
        return f
    return register


ZERO3, ZERO34 = np.zeros(3), np.zeros((3, 4))
TIES = np.array([1.0, 2.0, 2.0, 0.5])


@program(X3, ZERO3, X3.astype(np.float32), RNG.standard_normal(5))
def elementwise_chain(m, x):
    return m.sum(m.exp(m.sin(x) * 2) / (1 + x ** 2))


@program(X34, ZERO34, X34[:2].astype(np.float32))
def sum_axis_keepdims(m, x):
    return m.sum(m.sum(x ** 2, axis=1, keepdims=True) * x)


@program(X34, X34.astype(np.float32))
def mean_var_std(m, x):
    return m.sum(x.mean(axis=0) * x.var(axis=0)) + x.std()


@program(X3, ZERO3)
def where_mask(m, x):
    return m.sum(m.where(x > 0, x ** 2, -x))


@program(TIES + 0.1 * np.arange(4), TIES, np.ones(4), np.array([2.0, 2.0, 2.0, 1.0]))
def max_min_ties(m, x):
    return m.max(x) + m.min(x)


@program(X34, np.ones((3, 4)))
def max_min_axis(m, x):
    return m.sum(m.max(x, axis=1) ** 2) + m.sum(m.amin(x, axis=0, keepdims=True))


@program(TIES + 0.1 * np.arange(4), TIES, np.ones(4))
def maximum_minimum_ties(m, x):
    return m.sum(m.maximum(x, 2.0) + m.minimum(x, x[::-1]))


@program(X34, X34[:, :3])
def basic_and_fancy_indexing(m, x):
    return m.sum(x[1:, ::2] ** 2) + x[0, 1] * x[2, -1] + m.sum(x[m.array([0, 2, 2])])


@program(X3, ZERO3, RNG.standard_normal(6), jax=False)
def at_set_add(m, x):
    return m.sum(at(x)[0].set(5.0) * at(x)[1].add(x[2]) ** 2)


@program(X3, ZERO3, RNG.standard_normal(5), jax=False)
def in_place_updates(m, x):
    y = x * 1.0
    y[0] = x[1] ** 2
    y[1:] += x[:-1]
    return m.sum(y ** 2)


@program(X34, ZERO34, X34.astype(np.float32))
def matmul_tanh(m, x):
    return m.sum(m.tanh(x.T @ W34) @ x.T)


@program(X34, X34.astype(np.float32))
def einsum_contractions(m, x):
    return m.einsum("ij,kj->", x, W34) + m.einsum("ij,ij->i", x, x).sum()


@program(X34, ZERO34, np.array([[1e3, 0, 0, 0], [0, 0, 0, 0], [-1e3, 0, 0, 0.0]]),
         X34.astype(np.float32))
def softmax_written_out(m, x):
    e = m.exp(x - m.max(x, axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    return m.sum(p * m.arange(4))


@program(X34, ZERO34, np.array([[1e3, 0, 0, 0], [0, 0, 0, 0], [-1e3, 0, 0, 0.0]]))
def logsumexp_written_out(m, x):
    top = m.max(x, axis=1, keepdims=True)
    return m.sum(top[:, 0] + m.log(m.sum(m.exp(x - top), axis=1)))


@program(X3, TIES, RNG.standard_normal(7))
def sort_weighted(m, x):
    return m.sum(m.sort(x) * m.arange(len(x)))


@program(X34, X34.astype(np.float32))
def cumsum_cumprod(m, x):
    return m.sum(m.cumsum(x, axis=1) ** 2) + m.sum(m.cumprod(x[0]))


@program(np.array([-1.3, 0.2, 0.5, 2.0]), np.array([-1.0, 0.0, 0.5, 1.0]), ZERO3)
def clip_abs_sqrt_at_zero(m, x):
    return m.sum(m.clip(x, 0, 1) + m.abs(x) + m.sqrt(m.abs(x) + x ** 2))


@program(X3, ZERO3, X3.astype(np.float32))
def norm_at_zero(m, x):
    return m.linalg.norm(x) + m.sqrt(m.sum(x ** 2))


@program(X3, X3.astype(np.float32))
def broadcasting(m, x):
    return m.sum(x[:, None] * W34 + x.reshape(3, 1))


@program(np.array([0.3, 1.0, 2.0]), np.array([0.0, 1.0, np.inf]), np.array([-np.inf, 1.0, 2.0]))
def exp_arctan_at_infinity(m, x):
    return m.sum(m.exp(-m.abs(x)) + m.arctan(x))


@program(np.array(2.0), np.array(0.0), np.array(1.5, np.float32))
def zero_dimensional(m, x):
    return x ** 3 + m.sin(x) * x


@program(X34, np.ones((3, 4)))
def argmax_gather(m, x):
    return m.sum(x[m.arange(3), m.argmax(x, axis=1)])


@program(X34)
def concatenate_stack(m, x):
    return m.sum(m.concatenate([x, x ** 2], axis=1) @ m.stack([x[0], x[1]] * 4, axis=0))


@program(X34, X34.astype(np.float32))
def reshape_transpose(m, x):
    return m.sum(x.reshape(2, 6).T.reshape(-1) * m.arange(12.0))


@program(X3, ZERO3, np.array([-800.0, 0.0, 800.0]))
def logaddexp_softplus(m, x):
    return m.sum(m.logaddexp(0.0, x) - m.log1p(m.exp(-m.abs(x))))


@program(X3, ZERO3)
def hypot_arctan2(m, x):
    return m.sum(m.hypot(x, 1.0) + m.arctan2(x, 1.0))


@program(X34, ZERO34)
def linear_solve(m, x):
    return m.sum(m.linalg.solve(m.eye(3) * 3 + x @ x.T, x[:, 0]))


@program(X34)
def tril_trace(m, x):
    return m.sum(m.tril(x @ x.T)) + m.trace(x @ x.T)


@program(X3, ZERO3)
def outer_dot(m, x):
    return m.sum(m.outer(x, x) ** 2) + m.dot(x, x)


@program(X3, ZERO3)
def sign_and_relu(m, x):
    return m.sum(m.sign(x) * x + m.maximum(x, 0))


@program(X34, ZERO34)
def prod_along_axis(m, x):
    return m.sum(m.prod(x, axis=0))


@program(X34, X34.astype(np.float32))
def layer_norm_written_out(m, x):
    mu, s = x.mean(axis=1, keepdims=True), x.std(axis=1, keepdims=True)
    return m.sum(((x - mu) / (s + 1e-5)) ** 3)


@program(X34)
def roll_flip(m, x):
    return m.sum(m.roll(x, 1, axis=1) * m.flip(x, 0))


@program(X3.astype(np.float32), X3)
def astype_round_trip(m, x):   # float32 in, float32 out, float64 inside
    return m.sum((x.astype(m.float64) ** 2).astype(m.float32))


@program(X3, ZERO3)
def diff_squared(m, x):
    return m.sum(m.diff(x) ** 2)


@program(X34, np.ones((3, 4)))
def take_along_sorted(m, x):
    return m.sum(m.take_along_axis(x, m.argsort(x, axis=1), axis=1) * m.arange(4))


@program(X3, X3.astype(np.float32))
def polynomial(m, x):
    return m.sum(m.polyval(m.array([1.0, -2.0, 3.0]), x))


@program(X3.astype(np.float32), X3)
def float32_with_python_and_numpy_scalars(m, x):
    return m.sum(x * 0.1 + m.float32(2) * x + 1)


@program(X34)
def triangular_inverse(m, x):
    return m.sum(m.triu(x[:, :3]) @ m.linalg.inv(m.eye(3) * 4 + x[:, :3]))


@program(X3, ZERO3)
def hyperbolic_mix(m, x):
    return m.sum(m.tanh(x) ** 2 + m.arcsinh(x) + m.expm1(x) - m.log(m.cosh(x)))


@program(np.array([0.2, 0.5, 1.0]), np.array([0.0, 0.5, 1.0]))
def entropy_masked_at_zero(m, x):
    return m.sum(m.where(x > 0, x * m.log(m.where(x > 0, x, 1.0)), 0.0))


@program(X34)
def var_ddof_ptp(m, x):
    return m.sum(m.var(x, axis=1, ddof=1)) + m.sum(m.ptp(x, axis=0))


@program(X3, np.array([1.0, 1.0, 2.0]))
def median_percentile(m, x):
    return m.median(x) + m.percentile(x, 30)


@program(X34)
def moveaxis_swapaxes(m, x):
    return m.sum(m.moveaxis(x[None], 0, -1)[..., 0] * m.swapaxes(x, 0, 1).T)


@program(X3, np.array([0.3, -0.3, 0.0]))
def fmax_fmin(m, x):
    return m.sum(m.fmax(x, 0.3) + m.fmin(x, -0.3))


@program(X34, np.full((3, 4), -np.inf))
def logsumexp_axis0_at_minus_infinity(m, x):
    return m.sum(m.exp(m.log(m.sum(m.exp(x), axis=0) + 1.0)))


@program(X3, ZERO3)
def any_all_count_as_constants(m, x):
    return m.sum(x * m.any(x > 1) + x * m.all(x < 5) + x * m.count_nonzero(x > 0))


@program(X34)
def tensordot_kron(m, x):
    return m.sum(m.tensordot(x, x, axes=([1], [1]))) + m.sum(m.kron(x[:2, :2], m.eye(2)))


@program(X3)
def modulo_and_rounding(m, x):   # the rounding ops are flat: only x's own term has slope
    return m.sum(x * m.floor(x) + m.round(x, 1) + m.mod(x, 1.0))


@program(X3, ZERO3)
def interp_piecewise_linear(m, x):
    return m.sum(m.interp(x, m.array([-1.0, 0.5, 1.0]), m.array([0.0, 1.0, 4.0])) * x)


@program(X34, ZERO34)
def mse_of_a_linear_model(m, x):
    return m.mean((x @ m.ones(4) - m.arange(3.0)) ** 2)


@program(X3, ZERO3, RNG.standard_normal(8))
def python_loop_over_length(m, x):
    total = 0.0
    for i in range(x.shape[0] - 1):
        total = total + m.sin(x[i]) * x[i + 1]
    return total


@program(X3, ZERO3, RNG.standard_normal(8), jax=False)
def iterate_rows_and_tolist(m, x):
    return sum(v ** 2 for v in x) + sum(x.tolist())


@program(X34, X34.astype(np.float32))
def huber(m, x):
    r = m.abs(x)
    return m.sum(m.where(r < 0.5, 0.5 * x ** 2, 0.5 * (r - 0.25)))


@program(X3, ZERO3)
def cubic_root_shifted(m, x):
    return m.sum(m.cbrt(x + 5.0) * m.square(x))


@program(X34, ZERO34)
def batched_quadratic_form(m, x):
    A = W34.T @ W34 + m.eye(4)
    return m.sum(m.einsum("bi,ij,bj->b", x, A, x))


def params_program(m, params):
    """A pytree of parameters: a two-layer network's loss."""
    h = m.tanh(X34 @ params["W"] + params["b"])
    return m.mean((h @ params["v"] - 1.0) ** 2)


PARAMS = {"W": RNG.standard_normal((4, 5)), "b": np.zeros(5), "v": RNG.standard_normal(5)}
PARAMS32 = {k: v.astype(np.float32) for k, v in PARAMS.items()}


def _leaves(tree):
    return riesz.tree_leaves(tree)


def _assert_same(got, want, what):
    """got is want: the same pytree, each leaf of the same shape and dtype and equal values
    (to rounding: a staged program may order a sum differently)."""
    got_leaves, got_tree = riesz.tree_flatten(got)
    want_leaves, want_tree = riesz.tree_flatten(want)
    assert got_tree == want_tree, what
    for g, w in zip(got_leaves, want_leaves):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (what, g.shape, g.dtype, w.shape, w.dtype)
        rtol = 1e-5 if w.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol, err_msg=what)


def _transforms(f):
    """(name, transformed f, its jitted form) for each composition of the test."""
    g = riesz.grad(f)
    return [("f", f, riesz.jit(f)), ("grad", g, riesz.jit(g)),
            ("value_and_grad", riesz.value_and_grad(f), riesz.jit(riesz.value_and_grad(f))),
            ("grad(jit)", g, riesz.grad(riesz.jit(f))),
            ("vmap", riesz.vmap(f), riesz.jit(riesz.vmap(f))),
            ("jacfwd(grad)", riesz.jacfwd(g), riesz.jit(riesz.jacfwd(g)))]


def _batched(x):
    return np.stack([x, 0.5 * x])


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_jit_answers_as_the_eager_program(name):
    """Every composition, at every input, the singular ones included; one jitted function
    meets all the inputs twice (forward, then backward), so a program staged for one shape
    or dtype is never reused for another."""
    f_m, inputs, _ = PROGRAMS[name]
    f = functools.partial(f_m, np)
    f.__name__ = name
    for label, eager, jitted in _transforms(f):
        for x in list(inputs) + list(inputs[::-1]):
            arg = _batched(x) if label == "vmap" else x
            _assert_same(jitted(arg), eager(arg), f"{name}: {label} at {x!r}")
        if hasattr(jitted, "programs"):
            # one program per distinct (shape, dtype), no more
            assert len(jitted.programs) == len({(np.shape(x), np.asarray(x).dtype) for x in inputs})


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_derivatives_match_finite_differences(name):
    f_m, inputs, _ = PROGRAMS[name]
    check_grads(functools.partial(f_m, np), (inputs[0],), order=2)
    check_grads(riesz.jit(functools.partial(f_m, np)), (inputs[0],), order=1)


@pytest.mark.parametrize("name", sorted(n for n, p in PROGRAMS.items() if p[2]))
def test_derivatives_agree_with_jax(name):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    f_m, inputs, _ = PROGRAMS[name]
    x = inputs[0]
    f, f_jax = riesz.jit(functools.partial(f_m, np)), functools.partial(f_m, jax.numpy)
    tol = 1e-5 if x.dtype == np.float32 else 1e-10
    value, grads = jax.jit(jax.value_and_grad(f_jax))(x)   # one compiled call: eager JAX is slow
    np.testing.assert_allclose(f(x), value, rtol=tol, atol=tol)
    np.testing.assert_allclose(riesz.jit(riesz.grad(f))(x), grads, rtol=tol, atol=tol)


def test_pytree_of_parameters_under_every_composition():
    f = functools.partial(params_program, np)
    for params in (PARAMS, PARAMS32, PARAMS):
        _assert_same(riesz.jit(f)(params), f(params), "f")
        _assert_same(riesz.jit(riesz.grad(f))(params), riesz.grad(f)(params), "jit(grad)")
        _assert_same(riesz.grad(riesz.jit(f))(params), riesz.grad(f)(params), "grad(jit)")
        value, grads = riesz.jit(riesz.value_and_grad(f))(params)
        assert set(grads) == {"W", "b", "v"} and grads["W"].dtype == params["W"].dtype
    check_grads(f, (PARAMS,), order=2)
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    want = jax.grad(functools.partial(params_program, jax.numpy))(PARAMS)
    for key, value in riesz.jit(riesz.grad(f))(PARAMS).items():
        np.testing.assert_allclose(value, want[key], rtol=1e-10, atol=1e-12)


def test_python_numbers_and_dtypes_each_stage_their_own_program():
    scale = riesz.jit(lambda x, n: x * n)
    ints, floats = np.array([1, 2]), np.array([1.0, 2.0], np.float32)
    for x, n in [(ints, 3), (ints, 2 ** 40), (ints, True), (floats, 2), (floats, 2.5),
                 (floats, 1e300), (ints, 2.5), (ints.astype(np.int8), 3)]:
        _assert_same(scale(x, n), x * n, f"{x.dtype} * {n!r}")
    with pytest.raises(OverflowError):   # NumPy's error for an int8 array and a big int
        scale(ints.astype(np.int8), 300)


# ---------------------------------------------------------------- values in Python control flow

def _if_on_sum(x):
    if x.sum() > 0:
        return x * 2
    return x * 3


def _float_of_entry(x):
    return x * float(x[0])


def _int_of_count(x, n):
    return x * int(n)


def _loop_bound_from_value(x, n):
    for _ in range(n):
        x = x * 2
    return x


def _slice_bound(x, n):
    return x[:n]


def _while_on_value(x):
    while np.max(np.abs(x)) > 1:
        x = x / 2
    return x


def _formatted_loss(x):
    loss = np.sum(x ** 2)
    print(f"loss {loss:.3f}")   # an f-string with a format spec needs a number
    return loss


def _math_exp(x):
    import math
    return math.exp(x[0]) * x


def _all_positive(x):
    return x if (x > 0).all() else -x


def _reshape_to(x, shape):
    return x.reshape(shape)   # a shape passed as an ordinary (staged) argument


def _item(x):
    return x * x[0].item()


def _complex_of_entry(x):
    return x * complex(x[0]).real


def _boolean_mask(x):
    return x[x > 0] ** 2   # the result's shape depends on the values


CONTROL_FLOW = {   # function, extra arguments, the text of the line the error must name
    "if x.sum() > 0": (_if_on_sum, (), "if x.sum() > 0:"),
    "float(x[0])": (_float_of_entry, (), "return x * float(x[0])"),
    "int(n) of an array": (_int_of_count, (np.array(3),), "return x * int(n)"),
    "range(n) of an array": (_loop_bound_from_value, (np.array(3),), "for _ in range(n):"),
    "range(n) of a Python int": (_loop_bound_from_value, (3,), "for _ in range(n):"),
    "x[:n]": (_slice_bound, (2,), "return x[:n]"),
    "while on a value": (_while_on_value, (), "while np.max(np.abs(x)) > 1:"),
    "f-string {loss:.3f}": (_formatted_loss, (), 'print(f"loss {loss:.3f}")'),
    "math.exp": (_math_exp, (), "return math.exp(x[0]) * x"),
    "(x > 0).all()": (_all_positive, (), "return x if (x > 0).all() else -x"),
    "x[x > 0]": (_boolean_mask, (), "return x[x > 0] ** 2"),
    "x.item()": (_item, (), "return x * x[0].item()"),
    "complex(x[0])": (_complex_of_entry, (), "return x * complex(x[0]).real"),
    "x.reshape(shape) of a staged tuple": (_reshape_to, ((3, 1),), "return x.reshape(shape)"),
}


@pytest.mark.parametrize("case", sorted(CONTROL_FLOW))
def test_values_in_python_control_flow_raise_naming_the_line(case):
    """Never a number from the staging example: an error naming the user's line and the
    fixes, under jit and under jit of a transform (the loss's line, not riesz's). Under
    grad, float(), complex() and x.item() of a differentiated value are refused before
    staging sees them, as they are eagerly: the derivative would be dropped."""
    f, extra, line = CONTROL_FLOW[case]
    x = np.array([1.0, -2.0, 3.0])
    f(x, *extra)   # eagerly it runs
    for under_grad, staged in ((False, riesz.jit(f)),
                               (True, riesz.jit(riesz.grad(lambda x, *a: np.sum(f(x, *a)))))):
        with pytest.raises(TypeError) as info:
            staged(x, *extra)
        message = str(info.value)
        if under_grad and "of a traced value would drop its derivative" in message:
            continue   # as eagerly under grad: float(), complex() and x.item() are refused
        assert isinstance(info.value, riesz.ConcretizationError), message
        assert "test_user_programs_flows.py" in message and line in message, message
        assert "static_argnums" in message and "eagerly" in message


def test_formatting_a_staged_value_without_a_spec_shows_its_type(capsys):
    f = riesz.jit(lambda x: (print(f"x is {x}"), x * 2)[1])
    np.testing.assert_array_equal(f(np.ones(2)), [2.0, 2.0])
    assert "x is StagingTracer(float64[2])" in capsys.readouterr().out


def test_value_dependent_steps_that_stay_staged_answer_per_value():
    """round(x, 1), x.tolist(), len(x), a loop over x.shape: staged as array operations or
    read from the shape, so the program answers for new values."""
    f = riesz.jit(lambda x: x * round(x[0], 1) + sum(x.tolist()) * len(x))
    for x in (np.array([1.44, 2.0]), np.array([2.26, -1.0]), np.array([0.05, 3.0])):
        np.testing.assert_allclose(f(x), x * np.round(x[0], 1) + x.sum() * 2, rtol=1e-14)


def test_static_arguments_hashable_and_unhashable():
    def repeat(x, n, names):
        for _ in range(n):
            x = x * 2
        return {name: x for name in names}

    f = riesz.jit(repeat, static_argnums=1, static_argnames="names")
    x = np.array([1.0, -1.0])
    for n in (0, 1, 3, 1):
        _assert_same(f(x, n, ("a",)), repeat(x, n, ("a",)), f"n={n}")
    _assert_same(f(x, 2, names=("a", "b")), repeat(x, 2, ("a", "b")), "names by keyword")
    assert len(f.programs) == 4   # n = 0, 1, 3 with ("a",); n = 2 with ("a", "b")
    # 1, 1.0 and True are equal in Python but stage their own programs
    g = riesz.jit(lambda x, s: x * s if isinstance(s, float) else x + s, static_argnums=1)
    assert [g(x, s).tolist() for s in (1, 1.0, True)] == [[2.0, 0.0], [1.0, -1.0], [2.0, 0.0]]
    for unhashable in ([1, 2], {"a": 1}, np.ones(2)):
        with pytest.raises(TypeError, match="must be hashable.*tuple"):
            f(x, 1, unhashable)
    with pytest.raises(ValueError, match="static_argnames names 'nmae'"):
        riesz.jit(repeat, static_argnames="nmae")
    # 0.0 == -0.0 in Python, but 1 / s is inf or -inf: static floats are keyed by their
    # bits (which also lets a NaN, unequal to itself, find its program again)
    divide = riesz.jit(lambda x, s: x / s[0] + np.copysign(1.0, s[1]), static_argnums=1)
    for s in [(0.0, 1.0), (-0.0, 1.0), (-0.0, -0.0), (np.float64(-0.0), 0.0), (np.float32(0.0), 1.0),
              (complex(1, -0.0).imag, np.nan), (0.0, np.nan), (0.0, np.nan)]:
        _assert_same(divide(x, s), x / s[0] + np.copysign(1.0, s[1]), repr(s))
    assert len(divide.programs) == 7   # the second (0.0, nan) found the first's program
    # a model as a static argument: hashable (by identity), but its arrays would be frozen
    # into the program, and a change in place would not be seen: refused
    layer = nn.Linear(2, 1, rng=np.random.default_rng(0))
    apply = riesz.jit(lambda layer, x: layer(x), static_argnums=0)
    with pytest.raises(TypeError, match="static argument 0 is a Linear holding arrays"):
        apply(layer, x[None])
    activation = riesz.jit(lambda act, x: act(x), static_argnums=0)   # a function: fine
    _assert_same(activation(np.tanh, x), np.tanh(x), "np.tanh static")
    for not_an_array in ("text", np.float32, np.dtype(np.float32)):   # dtypes too
        with pytest.raises(TypeError, match="leaf 1 is a .*not an array.*static_argnums"):
            riesz.jit(lambda x, s: x.astype(s))(x, not_an_array)


def test_keyword_only_parameters():
    """``def loss(w, *, reg=0.1, training=False)``: keywords reach the program as inputs,
    static by name where Python branches on them, and left out they keep the defaults."""
    def loss(w, x, *, reg=0.1, training=False):
        out = np.mean((x @ w) ** 2) + reg * np.sum(w ** 2)
        if training:
            out = out * 2.0
        return out

    w, x = np.array([0.5, -1.0]), X34[:, :2]
    f = riesz.jit(loss, static_argnames="training")
    g = riesz.jit(riesz.grad(loss), static_argnames="training")
    for kwargs in ({}, {"reg": 0.5}, {"training": True}, {"reg": 0.0, "training": True},
                   {"reg": 0.5}):
        _assert_same(f(w, x, **kwargs), loss(w, x, **kwargs), repr(kwargs))
        _assert_same(g(w, x, **kwargs), riesz.grad(loss)(w, x, **kwargs), repr(kwargs))
    assert len(f.programs) == 4   # reg given or not, training given or not
    with pytest.raises(riesz.ConcretizationError, match="if training:"):
        riesz.jit(loss)(w, x, training=True)   # not static: staged, and branched on
    check_grads(lambda w: f(w, x, reg=0.3), (w,), order=1)


# ---------------------------------------------------------------- Dask and array-api-strict

def _least_squares(w, X, y):
    return np.mean((X @ w - y) ** 2)


def _logistic(w, X, y):
    z = X @ w
    t = (y > 0).astype(float)
    return np.mean(np.logaddexp(0.0, z) - t * z)


def _dask_data():
    da = pytest.importorskip("dask.array")
    rng = np.random.default_rng(5)
    X = rng.standard_normal((400, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(400)
    return X, y, da.from_array(X, chunks=(100, 3)), da.from_array(y, chunks=100)


@pytest.mark.parametrize("loss", [_least_squares, _logistic], ids=["least_squares", "logistic"])
def test_dask_fits_stay_lazy_and_match_numpy(loss):
    dask = pytest.importorskip("dask")
    X, y, Xd, yd = _dask_data()
    w = np.array([0.1, -0.2, 0.3])

    def refuse(*args, **kwargs):
        raise AssertionError("riesz computed a Dask graph")

    with dask.config.set(scheduler=refuse):
        grads = riesz.grad(loss)(w, Xd, yd)
        value, grads2 = riesz.value_and_grad(loss)(w, Xd, yd)
        _, tangent = riesz.jvp(loss, (w, Xd, yd), (np.ones(3), Xd * 0.0, yd * 0.0))
        grad_X = riesz.grad(loss, argnums=1)(w, Xd, yd)
        steps = w
        for _ in range(3):   # gradient descent, all lazy
            steps = steps - 0.1 * riesz.grad(loss)(steps, Xd, yd)
    for lazy in (grads, value, grads2, tangent, grad_X, steps):
        assert type(lazy).__module__.startswith("dask"), type(lazy)
    assert grad_X.chunks == Xd.chunks
    want = riesz.grad(loss)(w, X, y)
    np.testing.assert_allclose(grads.compute(), want, rtol=1e-12)
    np.testing.assert_allclose(grads2.compute(), want, rtol=1e-12)
    np.testing.assert_allclose(value.compute(), loss(w, X, y), rtol=1e-12)
    np.testing.assert_allclose(tangent.compute(), want.sum(), rtol=1e-12)
    np.testing.assert_allclose(grad_X.compute(), riesz.grad(loss, argnums=1)(w, X, y), rtol=1e-12)
    check_grads(lambda w: loss(w, X, y), (w,), order=2)


def test_dask_under_a_local_cluster_and_the_mixes():
    pytest.importorskip("distributed")
    from dask.distributed import Client, LocalCluster
    X, y, Xd, yd = _dask_data()
    w = np.zeros(3)
    with LocalCluster(processes=False, n_workers=1, threads_per_worker=1,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        grads = client.compute(riesz.grad(_least_squares)(w, Xd, yd)).result()
    np.testing.assert_allclose(grads, riesz.grad(_least_squares)(w, X, y), rtol=1e-12)
    # a NumPy array mixed in: Dask takes it; jit refuses Dask arrays with the fix
    mixed = riesz.grad(lambda w, Xd: np.sum(Xd @ w + X @ w))(w, Xd)
    np.testing.assert_allclose(mixed.compute(), 2 * X.sum(axis=0), rtol=1e-12)
    with pytest.raises(TypeError, match="dask.*not a NumPy array.*eagerly"):
        riesz.jit(riesz.grad(_least_squares))(w, Xd, yd)
    # nn.fit stages its step: Dask training data is refused before the first step, with the
    # ways to train on it
    model = nn.Linear(3, 1, rng=np.random.default_rng(0))

    def mse(model, x, y):
        return np.mean((model(x)[:, 0] - y) ** 2)
    with pytest.raises(TypeError, match="training inputs are a dask.*compute.*DataParallel"):
        nn.fit(model, mse, optim.SGD(0.1), (Xd, yd), rng=np.random.default_rng(0),
               progress=False)
    eager = nn.fit(model, mse, optim.SGD(0.1), (Xd, yd), rng=np.random.default_rng(0),
                   progress=False, jit=False, batch_size=100)
    staged = nn.fit(model, mse, optim.SGD(0.1), (X, y), rng=np.random.default_rng(0),
                    progress=False, batch_size=100)
    np.testing.assert_allclose(eager.history["train_loss"], staged.history["train_loss"],
                               rtol=1e-12)


def _strict():
    if np.lib.NumpyVersion(np.__version__) < "2.0.0":
        pytest.skip("array-api-strict needs NumPy 2")
    xp = pytest.importorskip("array_api_strict")
    pytest.importorskip("array_api_compat")
    return xp


def _from_strict(xp, a):
    return np.from_dlpack(a.to_device(xp.Device("CPU_DEVICE")))


def test_array_api_strict_arrays_through_grad_keep_their_device():
    xp = _strict()
    device = xp.Device("device1")
    data = np.array([0.5, -1.0, 2.0])
    x = xp.asarray(data, device=device)

    def f(x):
        return np.sum(np.tanh(x) ** 2 * x)

    for got in (riesz.grad(f)(x), riesz.value_and_grad(f)(x)[1],
                riesz.jvp(f, (x,), (xp.ones_like(x),))[1]):
        assert got.device == device
    np.testing.assert_allclose(_from_strict(xp, riesz.grad(f)(x)), riesz.grad(f)(data), rtol=1e-12)
    with pytest.raises(TypeError, match="array_api_strict.*not a NumPy array.*eagerly"):
        riesz.jit(f)(x)
    with pytest.raises(ValueError, match="different devices"):
        riesz.grad(lambda a, b: np.sum(a * b))(x, xp.asarray(data))
    with pytest.raises(TypeError, match="numpy.ndarray"):   # refused as the library refuses it
        riesz.grad(lambda a: np.sum(a * data))(x)


def test_array_api_code_that_asks_its_namespace():
    # xp = x.__array_namespace__() of a traced value is riesz.numpy: the functions of traced
    # values keep the library under them (array-api-strict's arrays on its device1)
    xp = _strict()
    x = xp.asarray([0.5, -1.0, 2.0], device=xp.Device("device1"))

    def f(x):
        ns = x.__array_namespace__()
        return ns.sum(ns.tanh(x) ** 2 * x)
    g = riesz.grad(f)(x)
    assert type(g) is type(x) and g.device == x.device
    v = np.array([0.5, -1.0, 2.0])
    want = 2 * np.tanh(v) * (1 - np.tanh(v) ** 2) * v + np.tanh(v) ** 2
    np.testing.assert_allclose(_from_strict(xp, g), want, rtol=1e-12)


def test_array_api_compat_code_under_the_transforms():
    # code written against the array API, through array_api_compat.array_namespace, with
    # its creation functions and NumPy 2's names, differentiated and jitted on NumPy arrays
    compat = pytest.importorskip("array_api_compat")
    if np.lib.NumpyVersion(np.__version__) < "2.0.0":
        pytest.skip("NumPy's namespace holds the array API's names (concat) from NumPy 2")

    def f(x):
        xp = compat.array_namespace(x)
        y = xp.concat([x, xp.zeros(2, dtype=x.dtype)])
        return xp.sum(xp.exp(y) * xp.linalg.vector_norm(x))
    x = np.array([0.5, -1.0, 2.0])
    n = np.linalg.norm(x)
    want = np.exp(x) * n + (np.sum(np.exp(x)) + 2.0) * x / n
    np.testing.assert_allclose(riesz.grad(f)(x), want, rtol=1e-12)
    np.testing.assert_allclose(riesz.jit(riesz.grad(f))(x), want, rtol=1e-12)
    check_grads(f, (x,), order=2)


# ---------------------------------------------------------------- training flows

X_NN = RNG.standard_normal((200, 4))
Y_NN = (X_NN @ np.array([1.0, -1.0, 0.5, 0.0]) > 0).astype(int)


def _classifier_loss(model, x, y):
    return nn.softmax_cross_entropy(model(x), y, label_smoothing=0.05)


def _fit(model, progress=False, **kwargs):
    optimizer = optim.AdamW(lr=optim.cosine_decay(1e-2, 100))
    return nn.fit(model, _classifier_loss, optimizer, (X_NN[:150], Y_NN[:150]),
                  rng=np.random.default_rng(1), epochs=3, batch_size=32,
                  validation=(X_NN[150:], Y_NN[150:]), metrics={"acc": nn.accuracy},
                  progress=progress, **kwargs)


def test_readme_training_step_and_fit_with_and_without_progress(capsys):
    rng = np.random.default_rng(0)
    model = nn.MLP([4, 16, 2], rng=rng)
    opt = optim.AdamW(lr=optim.cosine_decay(3e-3, 1000))
    state = opt.init(model)
    value, grads = riesz.value_and_grad(_classifier_loss)(model, X_NN[:32], Y_NN[:32])
    assert type(grads) is nn.MLP
    check_grads(lambda m: _classifier_loss(m, X_NN[:8], Y_NN[:8]), (model,), order=1)
    new_model, state = opt.update(model, grads, state)
    assert _classifier_loss(new_model, X_NN[:32], Y_NN[:32]) < value

    quiet = _fit(model)
    assert capsys.readouterr().err == ""
    loud = _fit(model, progress=True)
    err = capsys.readouterr().err
    assert "val_loss" in err and "val_acc" in err
    eager = _fit(model, jit=False)
    assert len(quiet.history["train_loss"]) == 15 and quiet.history["eval_step"] == [5, 10, 15]
    np.testing.assert_allclose(quiet.history["train_loss"], loud.history["train_loss"], rtol=0)
    np.testing.assert_allclose(quiet.history["train_loss"], eager.history["train_loss"],
                               rtol=1e-12)
    assert quiet.history["train_loss"][-1] < quiet.history["train_loss"][0]
    assert quiet.history["val_acc"][-1] > 0.8


def _captured_axes(monkeypatch):
    """The axes of each figure plot_history saves (its y scale is what we check)."""
    figure = pytest.importorskip("matplotlib.figure")
    saved = []
    original = figure.Figure.savefig

    def savefig(fig, *args, **kwargs):
        saved.append(fig.axes[0])
        return original(fig, *args, **kwargs)
    monkeypatch.setattr(figure.Figure, "savefig", savefig)
    return saved


def test_fit_plot_is_a_png_with_a_log_axis_for_positive_losses(tmp_path, monkeypatch):
    saved = _captured_axes(monkeypatch)
    result = _fit(nn.MLP([4, 8, 2], rng=np.random.default_rng(0)), plot=tmp_path / "curves.png")
    assert result.plot == tmp_path / "curves.png"
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert saved[-1].get_yscale() == "log"


def test_plot_of_negative_losses_uses_a_linear_axis(tmp_path, monkeypatch):
    """A Gaussian negative log-likelihood goes below zero: on a log axis matplotlib would
    drop every point (and warn); the plot takes a linear axis."""
    saved = _captured_axes(monkeypatch)
    history = {"step": [1, 2, 3], "train_loss": [0.5, -1.0, -2.0], "eval_step": [3],
               "val_loss": [-1.5]}
    nn.plot_history(history, tmp_path / "nll.png", reference_losses={"zero": 0.0})
    assert saved[-1].get_yscale() == "linear"
    lines = saved[-1].get_lines()
    np.testing.assert_array_equal(lines[0].get_ydata(), [0.5, -1.0, -2.0])


def test_fit_checks_its_output_directories_before_training(tmp_path):
    calls = []

    def loss(model, x, y):
        calls.append(1)
        return _classifier_loss(model, x, y)

    model = nn.MLP([4, 8, 2], rng=np.random.default_rng(0))
    for argument in ("checkpoint", "plot"):
        with pytest.raises(FileNotFoundError, match=f"{argument}=.*missing.*os.makedirs"):
            nn.fit(model, loss, optim.SGD(0.1), (X_NN, Y_NN), rng=np.random.default_rng(0),
                   progress=False, **{argument: str(tmp_path / "missing" / "out")})
    assert calls == []


def test_save_load_round_trip_and_damaged_files(tmp_path, monkeypatch):
    model = _fit(nn.MLP([4, 8, 2], rng=np.random.default_rng(0)))
    opt = optim.AdamW(lr=1e-2)
    tree = {"model": model.model, "opt": model.opt_state}
    template = {"model": nn.MLP([4, 8, 2], rng=np.random.default_rng(9)),
                "opt": opt.init(nn.MLP([4, 8, 2], rng=np.random.default_rng(9)))}
    path = tmp_path / "run.npz"
    nn.save(path, tree)
    back = nn.load(path, template)
    assert type(back["model"]) is nn.MLP
    for a, b in zip(_leaves(back), _leaves(tree)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back["model"](X_NN[:5]), model.model(X_NN[:5]))

    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:   # a byte inside the first array
        first = archive.infolist()[0]
        inside = first.header_offset + 30 + len(first.filename) + 100
    damaged = {"truncated": data[:len(data) // 2], "empty": b"", "not a zip": b"hello",
               "bit flip": data[:inside] + bytes([data[inside] ^ 0xFF]) + data[inside + 1:]}
    for name, blob in damaged.items():
        bad = tmp_path / f"{name}.npz"
        bad.write_bytes(blob)
        with pytest.raises(nn.CheckpointError, match="cannot be read as an .npz checkpoint"):
            nn.load(bad, template)
    with pytest.raises(nn.CheckpointError, match="shape .4, 8. in the file but .4, 3."):
        nn.load(path, {"model": nn.MLP([4, 3, 2], rng=np.random.default_rng(0)),
                       "opt": template["opt"]})
    # a failed save leaves the old file as it was and no temporary file behind
    with pytest.raises(nn.CheckpointError, match="object"):
        nn.save(path, {"model": model.model, "bad": object()})
    assert path.read_bytes() == data
    written = []

    def fail_on_the_second(member, array, **kwargs):   # the disk fills up mid-file
        written.append(1)
        if len(written) == 2:
            raise OSError(28, "No space left on device")
        return original(member, array, **kwargs)
    original = np.lib.format.write_array
    monkeypatch.setattr(np.lib.format, "write_array", fail_on_the_second)
    with pytest.raises(OSError, match="No space left"):
        nn.save(path, {"model": model.model})
    monkeypatch.undo()
    assert path.read_bytes() == data
    with pytest.raises(FileNotFoundError, match="nn.save cannot write .*no_dir.*os.makedirs"):
        nn.save(tmp_path / "no_dir" / "run.npz", tree)
    with pytest.raises(IsADirectoryError, match="nn.save cannot write"):
        nn.save(tmp_path, tree)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["run.npz"] + [f"{name}.npz" for name in damaged])


# ---------------------------------------------------------------- learning helpers

WEIRD = "it's\n'\"{x}\\"


def _weird_keys(params, x):
    return np.sum(params["lambda"] * x + np.tanh(params[WEIRD]) ** 2)


def test_source_escapes_names_and_keys_it_did_not_make():
    params = {"lambda": np.array([0.5, 1.0]), WEIRD: np.array([2.0, -1.0])}
    x = np.array([1.0, 3.0])
    for f in (_weird_keys, riesz.grad(_weird_keys)):
        text = riesz.source(f, params, x)
        compile(text, "<source>", "exec")
        namespace = {}
        exec(text, namespace)
        printed = namespace[text.split("def ", 1)[1].split("(", 1)[0]]
        _assert_same(printed(params, x), f(params, x), text)
    dot = riesz.graph(riesz.grad(_weird_keys), params, x)
    assert dot.startswith('digraph "grad__weird_keys"') and dot.rstrip().endswith("}")
    assert "\n'" not in dot   # the key's newline is escaped inside the labels


def test_linear_maps_print_and_apply():
    x = np.array([0.5, 1.0])
    y, df = riesz.linearize(lambda v: np.tanh(v) * 2, x)
    slope = 2 / np.cosh(x) ** 2
    assert str(df) == "∂<lambda>: f64[2] -> f64[2]" and repr(df.T) == "∂<lambda>.T: f64[2] -> f64[2]"
    np.testing.assert_allclose(df(np.ones(2)), slope, rtol=1e-14)
    np.testing.assert_allclose(df.T(np.array([1.0, -1.0])), slope * [1, -1], rtol=1e-14)
    np.testing.assert_allclose(df.matrix(), np.diag(slope), rtol=1e-14)
    np.testing.assert_allclose((df @ df)(np.ones(2)), slope ** 2, rtol=1e-14)
    np.testing.assert_allclose((2.0 * df - df)(np.ones(2)), slope, rtol=1e-14)
    with pytest.raises(ValueError, match=r"shape \(3,\), expected \(2,\)"):
        df(np.ones(3))
    W = np.arange(6.0).reshape(3, 2)
    transpose = riesz.linear_transpose(lambda v: W @ v, np.ones(2))
    assert str(transpose) == "∂<lambda>.T: f64[3] -> f64[2]"
    np.testing.assert_allclose(transpose(np.ones(3)), W.T @ np.ones(3))
    # not linear: the transpose of the derivative at the primal (documented, not checked)
    np.testing.assert_allclose(riesz.linear_transpose(np.sin, x)(np.ones(2)), np.cos(x))
    _, dp = riesz.linearize(lambda p: p["a"] @ p["b"], {"a": np.ones((2, 3)), "b": np.ones(3)})
    assert str(dp) == "∂<lambda>: {'a': f64[2,3], 'b': f64[3]} -> f64[2]"
    cotangent = dp.T(np.array([1.0, 2.0]))
    np.testing.assert_allclose(cotangent["a"], np.outer([1.0, 2.0], np.ones(3)))
    np.testing.assert_allclose(cotangent["b"], [3.0, 3.0, 3.0])


def test_source_of_a_model_gradient_names_leaves_by_their_key_paths():
    model = nn.MLP([4, 3, 2], rng=np.random.default_rng(0))
    loss = riesz.grad(_classifier_loss)
    text = riesz.source(loss, model, X_NN[:5], Y_NN[:5])
    assert "def grad__classifier_loss(model_layers_0_weight, model_layers_0_bias, " \
           "model_layers_1_weight, model_layers_1_bias, x, y):" in text
    assert "return dmodel_layers_0_weight, dmodel_layers_0_bias" in text
    namespace = {}
    exec(text, namespace)
    printed = namespace["grad__classifier_loss"](*riesz.tree_leaves(model), X_NN[:5], Y_NN[:5])
    _assert_same(list(printed), riesz.tree_leaves(loss(model, X_NN[:5], Y_NN[:5])), text)
