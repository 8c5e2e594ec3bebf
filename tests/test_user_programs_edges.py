"""A new user's trial at the edges: what users pass in (Python numbers, lists, tuples, dicts
with int keys, namedtuples, dataclasses, None leaves, 0-d arrays and NumPy scalars, empty,
size-1, strided, read-only and Fortran-ordered arrays, float16, ints, complex numbers,
ndarray subclasses), what their functions return (Python floats, ints, constants, tuples,
complex values), how they name arguments (argnums of every kind, *args, keyword-only
parameters, bound methods, partials, callable objects, recursion) and what they get back
(dtypes, fresh writable arrays that share memory with nothing of theirs).

Every derivative is checked against central finite differences in both modes to second
order (riesz.testing.check_grads) and, where JAX is installed (an optional oracle, x64),
against JAX. Each bad input must raise an error that names the problem and the fix."""
import dataclasses
import functools
from collections import OrderedDict, defaultdict, namedtuple

import numpy as np
import pytest

import riesz
import riesz.batching
from riesz.testing import check_grads, GradientCheckError

try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except ImportError:   # JAX is an optional oracle
    jax = None

needs_jax = pytest.mark.skipif(jax is None, reason="JAX is not installed")

Pair = namedtuple("Pair", "w b")


@dataclasses.dataclass
class Params:
    w: np.ndarray
    b: float


def _copy(x):
    return np.array(x, copy=True)


# ---------------------------------------------------------------- input kinds

def _sum_sq_sin(m, x):
    return m.sum(m.sin(x) * x)


STRIDED = np.arange(1.0, 7.0)[::2]
READ_ONLY = np.linspace(0.5, 1.5, 4)
READ_ONLY.flags.writeable = False
INPUTS = {
    "python float": 0.7,
    "0-d array": np.array(0.7),
    "numpy float32 scalar": np.float32(0.7),
    "numpy float64 scalar": np.float64(0.7),
    "size-1 array": np.array([0.7]),
    "size-1 2-d array": np.array([[0.7]]),
    "strided view x[::2]": STRIDED,
    "transposed view x.T": np.arange(1.0, 7.0).reshape(2, 3).T,
    "read-only array": READ_ONLY,
    "Fortran-ordered array": np.asfortranarray(np.arange(1.0, 7.0).reshape(2, 3) / 4),
    "float32 array": np.linspace(0.1, 0.9, 3, dtype=np.float32),
}


@pytest.mark.parametrize("name", INPUTS)
def test_gradients_of_every_kind_of_input_keep_its_shape_and_dtype(name):
    x = INPUTS[name]
    before = _copy(x)
    g = riesz.grad(lambda x: _sum_sq_sin(np, x))(x)
    assert np.shape(g) == np.shape(x) and g.dtype == np.result_type(x)
    expected = np.cos(before) * before + np.sin(before)
    np.testing.assert_allclose(g, expected, rtol=1e-6)
    np.testing.assert_array_equal(x, before)          # the input is left as it was
    assert not np.shares_memory(g, x)
    check_grads(lambda x: _sum_sq_sin(np, x), (x,), order=2, modes=("fwd", "rev"))


def _updates_in_place(x):
    x += 1.0
    x[0] = 5.0
    x *= 2.0
    return np.sum(x ** 2)


def test_in_place_updates_inside_the_function_leave_the_caller_s_arrays_alone():
    runs = {"grad": lambda x: riesz.grad(_updates_in_place)(x),
            "jvp": lambda x: riesz.jvp(_updates_in_place, (x,), (np.ones_like(x),))[1],
            "vjp": lambda x: riesz.vjp(_updates_in_place, x)[1](1.0)[0],
            "hessian": lambda x: riesz.hessian(_updates_in_place)(x),
            "vmap of grad": lambda x: riesz.vmap(riesz.grad(_updates_in_place))(x[None])[0]}
    for name, run in runs.items():
        x = np.ones(3)
        run(x)
        np.testing.assert_array_equal(x, 1.0, err_msg=name)
    np.testing.assert_array_equal(riesz.grad(_updates_in_place)(np.ones(3)), [0.0, 16.0, 16.0])


def test_python_lists_tuples_int_keyed_dicts_namedtuples_and_none_leaves():
    def f(p):
        (a, b), d, pair, skip = p
        return a * b ** 2 + d[1] * d[2] + np.sum(pair.w * pair.b)

    p = ([1.5, 2.0], {2: 3.0, 1: -1.0}, Pair(np.arange(3.0), 0.5), None)
    g = riesz.grad(f)(p)
    (ga, gb), gd, gpair, skip = g
    assert isinstance(g, tuple) and isinstance(g[0], list) and isinstance(gpair, Pair)
    assert skip is None and list(gd) == [1, 2]
    assert (ga, gb, gd[1], gd[2]) == (4.0, 6.0, 3.0, -1.0)
    np.testing.assert_array_equal(gpair.w, [0.5, 0.5, 0.5])
    assert gpair.b == 3.0
    check_grads(f, (p,), order=2)


def test_an_unregistered_dataclass_is_an_error_naming_register_dataclass():
    p = Params(np.ones(2), 0.5)
    with pytest.raises(TypeError, match=r"riesz.tree.register_dataclass\(Params\)"):
        riesz.grad(lambda p: np.sum(p.w) * p.b)(p)

    @dataclasses.dataclass
    class Registered:
        w: np.ndarray
        b: float
    riesz.tree.register_dataclass(Registered)
    g = riesz.grad(lambda p: np.sum(p.w ** 2) * p.b)(Registered(np.ones(2), 0.5))
    assert isinstance(g, Registered) and g.b == 2.0
    np.testing.assert_array_equal(g.w, [1.0, 1.0])


@pytest.mark.parametrize("container, fix", [
    (type("Params", (dict,), {})(y=2.0, x=3.0), r"plain dict, dict\(x\)"),
    (type("Row", (tuple,), {})((3.0, 2.0)), r"plain tuple.*register_pytree_node\(Row,"),
])
def test_a_container_riesz_does_not_look_into_names_the_plain_one(container, fix):
    with pytest.raises(TypeError, match=fix):
        riesz.grad(lambda p: p["x"] * p["y"] if isinstance(p, dict) else p[0] * p[1])(container)
    plain = dict(container) if isinstance(container, dict) else tuple(container)
    g = riesz.grad(lambda p: p["x"] * p["y"] if isinstance(p, dict) else p[0] * p[1])(plain)
    assert g == ({"x": 2.0, "y": 3.0} if isinstance(g, dict) else (2.0, 3.0))


@pytest.mark.parametrize("shape", [(0,), (3, 0)])
def test_empty_arrays_have_empty_gradients_jacobians_and_vmaps(shape):
    x = np.zeros(shape)
    assert riesz.grad(lambda x: np.sum(np.sin(x)))(x).shape == shape
    assert riesz.jacobian(lambda x: 2 * x)(x).shape == shape + shape
    assert riesz.jacfwd(lambda x: 2 * x)(x).shape == shape + shape
    assert riesz.jvp(np.sin, (x,), (x,))[1].shape == shape
    check_grads(lambda x: np.sin(x) * x, (x,), order=2)


def test_an_empty_list_as_an_index_selects_nothing_as_in_numpy():
    x = np.arange(12.0).reshape(3, 4)
    f = lambda x: np.sum(x[[]] ** 2) + np.sum(x[:, []]) + x[1, 2]   # noqa: E731
    assert f(x) == 6.0 and riesz.grad(f)(x)[1, 2] == 1.0             # was IndexError
    assert riesz.grad(f)(x).sum() == 1.0
    check_grads(lambda x: x[[]], (x,), order=2)


def test_vmap_over_zero_examples_also_when_it_loops_over_examples():
    def sign_flip(x):   # needs concrete values: vmap calls it once per example
        return 2 * x if x > 0 else -x
    assert riesz.vmap(sign_flip)(np.ones(0)).shape == (0,)     # was IndexError
    np.testing.assert_array_equal(riesz.vmap(sign_flip)(np.array([1.0, -2.0])), [2.0, 2.0])
    out = riesz.vmap(riesz.hessian(lambda x: np.sum(x ** 3)))(np.ones((0, 3)))
    assert out.shape == (0, 3, 3) and out.dtype == np.float64
    assert riesz.vmap(riesz.grad(np.sin))(np.ones(0, np.float32)).dtype == np.float32


def test_vmap_of_grad_is_batched_not_a_loop_over_examples(monkeypatch):
    def no_loop(*args):
        raise AssertionError("vmap(grad(f)) fell back to one call per example")
    monkeypatch.setattr(riesz.batching, "_map_by_loop", no_loop)
    x = np.linspace(-1.0, 1.0, 5)
    np.testing.assert_allclose(riesz.vmap(riesz.grad(np.sin))(x), np.cos(x))
    X = np.arange(6.0).reshape(3, 2)
    value, g = riesz.vmap(riesz.value_and_grad(lambda x: np.sum(x ** 3)))(X)
    np.testing.assert_allclose(value, np.sum(X ** 3, axis=1))
    np.testing.assert_allclose(g, 3 * X ** 2)


def test_float16_is_differentiated_in_float16():
    x = np.array([0.5, 1.0, 2.0], np.float16)
    g = riesz.grad(lambda x: np.sum(np.tanh(x) * 2.5))(x)
    assert g.dtype == np.float16
    np.testing.assert_allclose(g, 2.5 / np.cosh(x.astype(float)) ** 2, rtol=5e-3)
    assert riesz.hessian(lambda x: np.sum(x ** 3))(x).dtype == np.float16
    check_grads(lambda x: np.sin(x) * x, (x,), order=2)


@pytest.mark.parametrize("x, kind", [(3, "int64"), (np.arange(3), "int64"),
                                     (np.ones(2, bool), "bool"), (np.bool_(True), "bool"),
                                     (np.array([1.0], dtype=object), "object"),
                                     (np.zeros(2, [("a", "f8")]), r"\[\('a', '<f8'\)\]")])
def test_integer_bool_object_and_structured_inputs_are_refused_with_the_fix(x, kind):
    for transform in (riesz.grad, riesz.jacobian, riesz.hessian, riesz.jacfwd):
        with pytest.raises(TypeError, match=rf"has dtype {kind}; .*Pass floats"):
            transform(lambda x: np.sum(x * 1.0))(x)
    with pytest.raises(TypeError, match="Pass floats"):
        riesz.jvp(lambda x: x * 1.0, (x,), (x,))
    with pytest.raises(TypeError, match="hvp: the primals .*Pass floats"):   # was the name
        riesz.hvp(lambda x: np.sum(x * x * 1.0), (x,), (x,))   # of riesz's inner function
    with pytest.raises(TypeError, match="Pass floats"):
        riesz.linearize(lambda x: x * 1.0, x)


def test_hvp_of_a_function_with_an_array_output_names_that_function():
    def cube(p):
        return np.stack(p) ** 3
    with pytest.raises(TypeError, match=r"cube returned an array of shape \(2,\)"):
        riesz.hvp(cube, ([1.0, 2.0],), ([1.0, 1.0],))    # was "directional_derivative"


def test_an_integer_primal_of_vjp_or_jvp_says_close_over_it():
    for run in (lambda: riesz.vjp(lambda x, m: x * m, np.ones(2), np.ones(2, bool)),
                lambda: riesz.jvp(lambda x, n: x ** n, (np.ones(2), 2), (np.ones(2), 2))):
        with pytest.raises(TypeError, match=r"at \[1\] has dtype .*closing over it: "
                                            r"differentiate lambda x: f\(x, n\)"):
            run()                                        # was "... out of argnums"


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize("make, fix", [(np.matrix, r"np.asarray\(x\)"),
                                       (np.ma.array, r"x.filled\(value\)")])
def test_matrix_and_masked_arrays_are_refused_with_the_fix(make, fix):
    x = make([[1.0, 2.0]])
    with pytest.raises(TypeError, match=fix):
        riesz.grad(lambda x: np.sum(x * x))(x)


def test_an_ndarray_subclass_gets_a_plain_gradient():
    class Tagged(np.ndarray):
        pass
    x = np.arange(3.0).view(Tagged)
    g = riesz.grad(lambda x: np.sum(x ** 2))(x)
    np.testing.assert_array_equal(g, [0.0, 2.0, 4.0])


def test_nan_and_inf_inputs_give_nan_only_where_the_derivative_is_nan():
    g = riesz.grad(lambda x: np.sum(np.sin(x)))(np.array([np.nan, 0.0]))
    assert np.isnan(g[0]) and g[1] == 1.0
    g = riesz.grad(lambda x: np.sum(2 * x))(np.array([np.inf, 1.0]))
    np.testing.assert_array_equal(g, [2.0, 2.0])


def test_complex_input_to_a_real_function_gives_jax_s_conjugate_gradient():
    g = riesz.grad(lambda z: np.sum(np.abs(z) ** 2))(np.array([3 + 4j, 1j]))
    np.testing.assert_allclose(g, [6 - 8j, -2j])
    check_grads(lambda z: np.abs(z) ** 2 + np.real(z ** 3), (np.array([1 + 2j, 0.5j]),), order=2)


# ---------------------------------------------------------------- outputs

@pytest.mark.parametrize("out", [lambda x: 1.0, lambda x: np.float64(1.0),
                                 lambda x: np.array(1.0), lambda x: np.ones(1)])
def test_an_output_that_ignores_the_input_gives_zeros_of_the_input_s_kind(out):
    for x in (np.ones((2, 3), np.float32), np.float32(1.0), 2.0):
        g = riesz.grad(out)(x)
        assert np.shape(g) == np.shape(x) and g.dtype == np.result_type(x) and not np.any(g)


def test_a_one_element_output_or_numpy_scalar_is_a_scalar_for_grad():
    x = np.arange(3.0)
    np.testing.assert_array_equal(riesz.grad(lambda x: np.sum(x ** 2, keepdims=True))(x), 2 * x)
    assert riesz.grad(lambda x: np.float64(3.0) * np.sum(x))(np.float32(1.0)).dtype == np.float32


@pytest.mark.parametrize("out, message", [
    (lambda x: 3, "dtype int64; grad needs a real floating-point scalar"),
    (lambda x: np.sum(x > 0), "dtype int64"),
    (lambda x: (x[0], x[1]), "returned a tuple; grad needs a real scalar output"),
    (lambda x: {"loss": np.sum(x)}, "returned a dict; .*has_aux=True"),
    (lambda x: np.sum(x) * 1j, "complex128.*holomorphic=True"),
    (lambda x: x, r"shape \(2,\).*np.sum"),
    (lambda x: None, "returned a NoneType"),
])
def test_outputs_grad_cannot_take_are_errors_that_say_what_to_do(out, message):
    with pytest.raises(TypeError, match=message):
        riesz.grad(out)(np.ones(2))


def test_a_generator_function_is_an_error_naming_the_generator():
    def gen(x):
        yield x
    with pytest.raises(TypeError, match="returned a generator"):
        riesz.grad(gen)(1.0)
    assert riesz.grad(lambda x: sum(x * k for k in range(4)))(1.0) == 6.0


# ---------------------------------------------------------------- naming the arguments

def _abc(a, b, c=1.0):
    return a * b ** 2 * c


def test_argnums_negative_tuples_lists_and_keywords():
    assert riesz.grad(_abc, argnums=-1)(2.0, 3.0) == 12.0
    assert riesz.grad(_abc, argnums=(1, 0))(2.0, 3.0) == (12.0, 9.0)
    assert riesz.grad(_abc, argnums=[0, 1])(2.0, 3.0) == (9.0, 12.0)
    assert riesz.grad(_abc, argnums=range(2))(2.0, 3.0) == (9.0, 12.0)
    assert riesz.grad(_abc, argnums=np.array([1, 0]))(2.0, 3.0) == (12.0, 9.0)
    assert riesz.grad(_abc, argnums=np.int64(1))(2.0, 3.0, c=2.0) == 24.0
    assert riesz.grad(_abc, argnum=1)(2.0, 3.0) == 12.0      # autograd's name


@pytest.mark.parametrize("argnums, error, message", [
    (5, ValueError, "called with 2 positional argument"),
    ((0, 0), ValueError, "names an argument twice"),
    ((0, -2), ValueError, "names an argument twice"),
    ("b", TypeError, r"argnums='b'; give the position of an argument"),
    (1.0, TypeError, r"argnums=1.0; give the position"),
    ((0, "c"), TypeError, "a tuple of positions"),
])
def test_bad_argnums_are_errors_naming_the_fix(argnums, error, message):
    for transform in (riesz.grad, riesz.jacobian, riesz.jacfwd, riesz.hessian):
        with pytest.raises(error, match=message):
            transform(_abc, argnums=argnums)(2.0, 3.0)


def test_autograd_s_make_vjp_make_jvp_make_hvp_take_one_argnum_negative_or_not():
    f = lambda x, y: np.sum(x ** 2 * y)   # noqa: E731
    x = np.array([1.0, 2.0])
    assert riesz.make_vjp(f, -1)(x, 2.0)[0](1.0) == 5.0       # was f called with 4 arguments
    assert riesz.make_jvp(f, -1)(x, 2.0)(1.0) == (10.0, 5.0)
    np.testing.assert_array_equal(riesz.make_hvp(f, -2)(x, 2.0)[0](np.ones(2)), [4.0, 4.0])
    np.testing.assert_array_equal(riesz.hessian_vector_product(f, -2)(x, 2.0, np.ones(2)),
                                  [4.0, 4.0])
    for make in (riesz.make_vjp, riesz.make_jvp, riesz.make_hvp):
        with pytest.raises(ValueError, match="argnums=5 but the function was called with 2"):
            make(f, 5)(x, 2.0)                                # was IndexError
        with pytest.raises(TypeError, match=r"argnum=\(0, 1\); .* give its position as an int"):
            make(f, (0, 1))(x, 2.0)
    with pytest.raises(ValueError, match="argnums=3"):
        riesz.make_ggnvp(lambda x: 2 * x, f_argnum=3)(x)


def test_differentiated_arguments_passed_by_keyword_are_an_error_saying_pass_them_positionally():
    with pytest.raises(ValueError, match="pass the differentiated ones positionally"):
        riesz.grad(_abc)(a=2.0, b=3.0)


@pytest.mark.parametrize("not_a_function", [3.0, np.ones(2), "f", None])
def test_transforming_a_value_instead_of_a_function_says_so(not_a_function):
    for transform in (riesz.grad, riesz.value_and_grad, riesz.jacobian, riesz.hessian,
                      riesz.jacrev, riesz.elementwise_grad):
        with pytest.raises(TypeError, match=r"not a function; .*\(f\)\(x\), not "):
            transform(not_a_function)
    calls = [lambda f: riesz.vjp(f, 1.0), lambda f: riesz.jvp(f, (1.0,), (1.0,)),
             lambda f: riesz.linearize(f, 1.0), lambda f: riesz.hvp(f, (1.0,), (1.0,)),
             lambda f: riesz.checkpoint(f), lambda f: riesz.custom_vjp(f),
             lambda f: riesz.custom_jvp(f), lambda f: check_grads(f, (1.0,))]
    for call in calls:                                    # were "... is not callable"
        with pytest.raises(TypeError, match="not a function; pass the function itself"):
            call(not_a_function)


def test_vmap_out_axes_out_of_range_says_where_the_batch_axis_may_go():
    with pytest.raises(ValueError, match=r"out_axes=3 .* from -2 to 1"):  # was NumPy's AxisError
        riesz.vmap(lambda a: 2 * a, out_axes=3)(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"out_axes=1 .* from -1 to 0"):
        riesz.vmap(lambda a: 1.0, out_axes=1)(np.ones(4))
    assert riesz.vmap(lambda a: 2 * a, out_axes=-1)(np.ones((4, 2))).shape == (2, 4)


class Scaled:
    def __init__(self, k):
        self.k = k

    def energy(self, x):
        return self.k * np.sum(x ** 2)

    def __call__(self, x):
        return self.k * np.sum(np.sin(x))


def test_grad_decorating_a_method_says_self_is_argument_0():
    class Model:
        k = 2.0

        @riesz.grad
        def loss(self, x):
            return self.k * x ** 2

        dloss = riesz.grad(lambda self, x: self.k * x ** 2, argnums=1)
    with pytest.raises(TypeError, match="A method's self is its argument 0: argnums=1"):
        Model().loss(3.0)
    assert Model().dloss(3.0) == 12.0


def _varargs(*xs):
    return xs[0] * xs[1] ** 2


def _keyword_only(x, *, scale, **options):
    return scale * x ** 3 + options.get("shift", 0.0)


def _recursive(x, n):
    return x if n == 0 else np.sin(_recursive(x, n - 1))


@pytest.mark.parametrize("f, args, expected", [
    (Scaled(3.0).energy, (np.arange(2.0),), np.array([0.0, 6.0])),
    (Scaled(2.0), (0.0,), 2.0),
    (functools.partial(_abc, c=2.0), (1.0, 3.0), 18.0),
    (functools.partial(_abc, 2.0), (3.0,), 12.0),
    (lambda x: _varargs(x, 3.0), (2.0,), 9.0),
    (lambda x: _keyword_only(x, scale=2.0, shift=1.0), (1.0,), 6.0),
    (lambda x: _recursive(x, 3), (0.0,), 1.0),
])
def test_methods_partials_callable_objects_varargs_keyword_only_and_recursion(f, args, expected):
    np.testing.assert_allclose(riesz.grad(f)(*args), expected)
    check_grads(f, args, order=2)


def test_has_aux_with_the_wrong_structure_says_return_a_pair():
    for out in (lambda x: np.sin(x), lambda x: (np.sin(x), 1, 2), lambda x: {"v": np.sin(x)}):
        with pytest.raises(TypeError, match=r"return a pair \(output, aux\)"):
            riesz.grad(out, has_aux=True)(1.0)
    g, aux = riesz.grad(lambda x: (np.sum(x ** 2), {"x": x, "n": 3}), has_aux=True)(np.ones(2))
    np.testing.assert_array_equal(g, [2.0, 2.0])
    assert aux["n"] == 3 and type(aux["x"]) is np.ndarray


# ---------------------------------------------------------------- dtypes of the results

@pytest.mark.parametrize("f", [
    lambda x: np.sum(x * 2.5 + 1.0),
    lambda x: np.sum(x * np.float64(2.5)),
    lambda x: np.sum(x * np.array(2.5)),
    lambda x: x @ np.ones(3),
    lambda x: np.mean(x, dtype=np.float64),
    lambda x: np.sum(x.astype(np.float64) ** 2),
    lambda x: np.max(x * np.arange(3)),
])
def test_float32_arguments_get_float32_gradients_through_float64_constants(f):
    x = np.linspace(0.5, 1.5, 3, dtype=np.float32)
    assert riesz.grad(f)(x).dtype == np.float32
    assert riesz.jacobian(f)(x).dtype == np.float32


# ---------------------------------------------------------------- fresh results

def test_a_pullback_s_cotangents_share_memory_with_nothing_of_the_caller_s():
    W = np.arange(3.0)
    for f in (lambda x: x, lambda x: x.reshape(3, 1), lambda x: x + W, lambda x: x[1:],
              lambda x: riesz.stop_gradient(x) * 0 + x):
        _, pullback = riesz.vjp(f, np.ones(3))
        ct = np.ones(np.shape(f(np.ones(3))))
        (g,) = pullback(ct)
        g *= 10                                          # an optimizer's in-place step
        np.testing.assert_array_equal(ct, 1.0)           # was 10: g was ct itself
        np.testing.assert_array_equal(W, [0.0, 1.0, 2.0])
    _, pullback = riesz.vjp(lambda a, b: a + b, np.ones(2), np.ones(2))
    ga, gb = pullback(np.ones(2))
    ga *= 0
    np.testing.assert_array_equal(gb, [1.0, 1.0])        # was 0: ga was gb


def test_a_batch_of_cotangents_or_tangents_names_vmap():
    _, pullback = riesz.vjp(lambda x: 2 * np.sin(x), np.arange(3.0))
    with pytest.raises(ValueError, match=r"shape \(3, 3\) .* riesz.vmap\(pullback\)\(cts\)"):
        pullback(np.eye(3))
    (rows,) = riesz.vmap(pullback)(np.eye(3))
    np.testing.assert_allclose(rows, np.diag(2 * np.cos(np.arange(3.0))))
    with pytest.raises(ValueError, match=r"has shape \(2,\) but the output .* shape \(3,\)\.$"):
        pullback(np.ones(2))
    x = np.arange(3.0)
    with pytest.raises(ValueError, match=r"tangent 0 has shape \(3, 3\) .*riesz.vmap\(lambda t"):
        riesz.jvp(np.sin, (x,), (np.eye(3),))
    columns = riesz.vmap(lambda t: riesz.jvp(np.sin, (x,), (t,))[1])(np.eye(3))
    np.testing.assert_allclose(columns, np.diag(np.cos(x)))


def test_a_jvp_s_tangents_share_memory_with_nothing_of_the_caller_s():
    t = np.ones(3)
    _, (ta, tb) = riesz.jvp(lambda x: (x, x[::-1]), (np.zeros(3),), (t,))
    ta *= 5
    np.testing.assert_array_equal(t, 1.0)
    np.testing.assert_array_equal(tb, 1.0)
    _, t_out = riesz.jvp(lambda x: x.T, (np.zeros((2, 3)),), (np.ones((2, 3)),))
    assert t_out.flags.writeable


def test_grad_returns_one_array_per_leaf_even_where_add_hands_both_one_cotangent():
    W = np.arange(3.0)
    g = riesz.grad(lambda p: np.sum((p["a"] + p["b"]) * W))({"a": np.ones(3), "b": np.ones(3)})
    g["a"] *= 0
    np.testing.assert_array_equal(g["b"], W)


def test_results_that_do_not_depend_on_the_batch_or_the_input_are_writable():
    for out in (riesz.vmap(lambda x: 1.0)(np.ones(3)),
                riesz.vmap(lambda x: np.ones(2))(np.ones(3)),
                riesz.vmap(riesz.grad(lambda x: 1.0))(np.ones(3)),
                riesz.jacobian(lambda x: np.ones(2))(np.ones(3)),
                riesz.hessian(lambda x: np.sum(x))(np.ones(3))):
        out[...] = 7.0                                   # was "read-only" (a broadcast view)
        assert np.all(out == 7.0)


def test_a_gradient_written_into_does_not_change_the_next_call():
    f = riesz.grad(lambda x: np.sum(x))
    x = np.ones(3)
    g = f(x)
    g[0] = 100.0
    np.testing.assert_array_equal(f(x), [1.0, 1.0, 1.0])


# ---------------------------------------------------------------- custom rules

def test_a_custom_vjp_returning_a_complex_cotangent_for_a_real_argument_is_an_error():
    @riesz.custom_vjp
    def f(x):
        return np.sin(x)
    f.defvjp(lambda x: (np.sin(x), np.cos(x)), lambda c, g: (c * g * 1j,))
    with pytest.raises(TypeError, match=r"cotangent 0 is complex .* is real .*np.real"):
        riesz.grad(lambda x: np.sum(f(x)))(np.ones(2))   # was the real part, and a warning


def test_a_custom_jvp_rule_returning_one_value_says_return_a_pair():
    @riesz.custom_jvp
    def f(x):
        return np.sin(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        return np.cos(primals[0]) * tangents[0]
    with pytest.raises(TypeError, match=r"custom_jvp f: the rule must return a pair"):
        riesz.jvp(f, (1.0,), (1.0,))                     # was "cannot unpack non-iterable"
    with pytest.raises(TypeError, match="must return a pair"):
        riesz.grad(f)(1.0)


def test_nondiff_argnums_and_static_argnums_may_be_an_int_or_negative():
    for nondiff in (1, (-1,)):
        power = riesz.custom_vjp(lambda x, n: x ** n, nondiff_argnums=nondiff)
        power.defvjp(lambda x, n: (x ** n, x), lambda n, x, g: (n * x ** (n - 1) * g,))
        assert riesz.grad(power)(2.0, 3) == 12.0     # -1 was no argument: n differentiated
    for static in (1, (-1,)):
        block = riesz.checkpoint(lambda x, n: np.sum(x ** n), static_argnums=static)
        np.testing.assert_array_equal(riesz.grad(block)(np.ones(2), 3), [3.0, 3.0])
    block = riesz.checkpoint(lambda x, n: np.sum(x ** n), static_argnums=(5,))
    with pytest.raises(ValueError, match=r"nondiff_argnums: argnums=\(5,\) but the function "
                                         r"was called with 2"):   # was IndexError
        riesz.grad(block)(np.ones(2), 3)


def test_a_custom_vjp_backward_rule_may_give_none_for_part_of_a_pytree_as_in_jax():
    @riesz.custom_vjp
    def affine(p, x):
        return p["w"] * x + p["b"]
    affine.defvjp(lambda p, x: (affine(p, x), (p, x)),
                  lambda r, g: ({"w": g * r[1], "b": None}, g * r[0]["w"]))
    p = {"w": 2.0, "b": 1.0}
    gp, gx = riesz.grad(lambda p, x: affine(p, x[0]) + x[1], argnums=(0, 1))(p, (3.0, 5.0))
    assert gp == {"w": 3.0, "b": 0.0}                    # was a structure error
    assert gx == (2.0, 1.0)
    with pytest.raises(TypeError, match=r"cotangent 0 has structure \{'w': \*\} but"):
        affine.defvjp(lambda p, x: (affine(p, x), x), lambda r, g: ({"w": g}, None))
        riesz.grad(affine)(p, 3.0)


def test_custom_rules_and_checkpoint_take_python_floats_float32_and_pytrees():
    @riesz.custom_vjp
    def mul(x, y):
        return x * y
    mul.defvjp(lambda x, y: (x * y, (x, y)), lambda r, g: (r[1] * g, r[0] * g))
    assert riesz.grad(mul)(3.0, 2.0) == 2.0
    x32 = np.ones(2, np.float32)
    assert riesz.grad(lambda x: np.sum(mul(x, 2 * x32)))(x32).dtype == np.float32
    g = riesz.grad(lambda d: mul(d[1], d[2]))({1: 3.0, 2: 2.0})
    assert g == {1: 2.0, 2: 3.0}
    block = riesz.checkpoint(lambda p, n: np.sin(p["a"]) * p["b"] ** n, static_argnums=(1,))
    check_grads(lambda p: block(p, 2), ({"a": 0.3, "b": np.array([1.0, 2.0])},), order=2)


def test_a_custom_jvp_rule_with_an_integer_argument_transposes_in_the_float_directions():
    @riesz.custom_jvp
    def power(x, n):
        return x ** n

    @power.defjvp
    def power_jvp(primals, tangents):
        (x, n), (x_dot, _) = primals, tangents
        return x ** n, n * x ** (n - 1) * x_dot
    assert riesz.grad(lambda x: power(x, 3))(2.0) == 12.0   # was "vjp: the inputs at [1] ..."
    assert riesz.hessian(lambda x: power(x, 3))(2.0) == 12.0
    check_grads(lambda x: power(x, 3), (np.array([0.5, 2.0]),), order=2)


def test_a_custom_jvp_rule_returning_a_complex_tangent_for_a_real_output_is_an_error():
    @riesz.custom_jvp
    def double(x):
        return 2 * x

    @double.defjvp
    def double_jvp(primals, tangents):
        return 2 * primals[0], 2j * tangents[0]
    for run in (lambda: riesz.jvp(double, (np.ones(2),), (np.ones(2),)),   # was 0, silently
                lambda: riesz.grad(lambda x: np.sum(double(x)))(np.ones(2))):
        with pytest.raises(TypeError, match=r"output tangent is complex .* output is real"):
            run()


def test_vspace_of_a_value_with_other_leaves_names_the_leaf():
    with pytest.raises(TypeError, match=r"leaf at \['f'\] is a object"):   # was NumPy's dtype
        riesz.vspace({"w": np.ones(2), "f": object()})
    with pytest.raises(TypeError, match=r"register_dataclass\(Params\)"):
        riesz.vspace(Params(np.ones(2), 0.5))
    with pytest.raises(TypeError, match="has dtype int64"):
        riesz.vspace({"n": 3})
    space = riesz.vspace((np.ones(2, np.float16), None, 1.0))
    assert space.size == 3 and space.leaves[0].dtype == np.float16


# ---------------------------------------------------------------- check_grads

def test_check_grads_takes_one_mode_as_a_string():
    check_grads(np.sin, (1.0,), modes="rev")             # was "unknown mode 'r'"
    bad = riesz.custom_vjp(lambda x: np.sin(x))
    bad.defvjp(lambda x: (np.sin(x), x), lambda x, g: (g,))   # derivative 1, not cos
    with pytest.raises(GradientCheckError, match="reverse mode"):
        check_grads(bad, (1.0,), modes="rev")
    with pytest.raises(ValueError, match="unknown mode 'both'"):
        check_grads(np.sin, (1.0,), modes="both")


def test_check_grads_holds_integer_outputs_fixed():
    # argmax jumps at a tie: its finite difference is 1/(2 eps), its derivative zero
    check_grads(lambda x: (np.sin(x), np.argmax(x)), (np.ones(2),), order=2)
    bad = riesz.custom_vjp(lambda x: np.sin(x))
    bad.defvjp(lambda x: (np.sin(x), x), lambda x, g: (g,))
    with pytest.raises(GradientCheckError):
        check_grads(lambda x: (bad(x), np.argmax(x)), (np.ones(2),), order=1, modes="rev")


def test_check_grads_holds_integer_and_string_leaves_of_a_pytree_fixed():
    p = {"w": np.array([2.0, 0.5]), "n": 3, "tag": "cubic"}
    check_grads(lambda p, s: p["w"] ** p["n"] * s, (p, 1.5), order=2)   # was "jvp: the primals"
    bad = riesz.custom_vjp(lambda x, n: x ** n)
    bad.defvjp(lambda x, n: (x ** n, (x, n)), lambda r, g: (g, None))   # derivative 1
    with pytest.raises(GradientCheckError, match="reverse mode, order 1, argument 0"):
        check_grads(lambda p: bad(p["w"], p["n"]), (p,), modes="rev")


def test_check_grads_at_a_nan_point_agrees_in_both_modes_and_an_int_point_says_pass_floats():
    check_grads(np.sin, (np.array([np.nan, 1.0]),), order=2)   # rev failed as nan != nan
    with pytest.raises(TypeError, match=r"no floating-point argument .*1.0 rather than 1"):
        check_grads(np.sin, (1,))


# ---------------------------------------------------------------- higher order

def test_higher_derivatives_of_scalars_pytrees_and_batches():
    assert riesz.grad(riesz.grad(riesz.grad(lambda x: x ** 4)))(2.0) == 48.0
    assert riesz.grad(riesz.grad(np.sin))(np.float32(1.0)).dtype == np.float32
    h = riesz.hessian(lambda p: p["a"] ** 2 * p["b"] + np.sin(p["b"]))({"a": 1.0, "b": 2.0})
    np.testing.assert_allclose([[h["a"]["a"], h["a"]["b"]], [h["b"]["a"], h["b"]["b"]]],
                               [[4.0, 2.0], [2.0, -np.sin(2.0)]])
    x = np.linspace(0.1, 0.6, 6).reshape(2, 3)
    y, t = riesz.jvp(riesz.grad(lambda x: np.sum(x ** 3)), (x,), (np.ones_like(x),))
    np.testing.assert_allclose(t, 6 * x)
    gx = riesz.vmap(riesz.grad(lambda x, y: np.sum(np.sin(x) * y)), in_axes=(1, None),
                    out_axes=1)(x, np.array([1.0, 2.0]))
    np.testing.assert_allclose(gx, np.cos(x) * [[1.0], [2.0]])
    check_grads(riesz.grad(lambda p: np.sum(p[0] ** 2 * np.tanh(p[1]))),
                ((np.array([0.3, 0.5]), np.array([0.2, -0.4])),), order=2)


# ---------------------------------------------------------------- against JAX

JAX_CASES = {
    "python float": (lambda m, x: m.sin(x) * x, (0.7,), "grad", {}),
    "0-d array": (lambda m, x: x ** 3, (np.array(2.0),), "grad", {}),
    "float32 array": (lambda m, x: m.sum(m.tanh(x) * 2.5), (np.ones(3, np.float32),), "grad", {}),
    "float16 array": (lambda m, x: m.sum(m.sin(x)), (np.ones(3, np.float16),), "grad", {}),
    "empty (3, 0)": (lambda m, x: m.sum(x ** 2), (np.zeros((3, 0)),), "grad", {}),
    "nan input": (lambda m, x: m.sum(m.sin(x)), (np.array([np.nan, 1.0]),), "grad", {}),
    "complex to real": (lambda m, z: m.abs(z) ** 2, (3 + 4j,), "grad", {}),
    "argnums (1, 0)": (lambda m, a, b: a * b ** 2, (2.0, 3.0), "grad", {"argnums": (1, 0)}),
    "argnums -1": (lambda m, a, b: a * b ** 2, (2.0, 3.0), "grad", {"argnums": -1}),
    "hessian of a dict": (lambda m, p: p["a"] ** 2 * p["b"] + m.sin(p["b"]),
                          ({"a": 1.0, "b": 2.0},), "hessian", {}),
    "hessian over argnums": (lambda m, a, b: m.sum(a ** 2 * b), (np.ones(2), np.arange(2.0)),
                             "hessian", {"argnums": (0, 1)}),
    "jacrev to a pytree": (lambda m, x: {"s": m.sin(x), "c": (m.cos(x), x ** 2)},
                           (np.arange(3.0),), "jacrev", {}),
    "jacfwd of a tuple": (lambda m, p: p[0] * p[1], ((np.arange(3.0), np.ones(3)),), "jacfwd", {}),
    "hessian of an int-keyed dict of namedtuples": (
        lambda m, p: p[1].w ** 2 * m.sum(p[2] * p[1].b) + m.sin(p[2][0]),
        ({1: Pair(0.5, np.array([1.0, 2.0])), 2: np.array([0.3, -0.2])},), "hessian", {}),
    "vmap of grad, in_axes and out_axes": (
        lambda m, x, y: m.sum(m.sin(x) * y), (np.arange(6.0).reshape(2, 3), np.ones(2)),
        "vmap_grad", {"in_axes": (1, None), "out_axes": 1}),
}


@needs_jax
@pytest.mark.parametrize("name", JAX_CASES)
def test_edges_against_jax(name):
    f, args, transform, kwargs = JAX_CASES[name]
    if transform == "vmap_grad":
        ours = riesz.vmap(riesz.grad(functools.partial(f, np)), **kwargs)(*args)
        theirs = jax.vmap(jax.grad(functools.partial(f, jnp)), **kwargs)(*args)
    else:
        ours = getattr(riesz, transform)(functools.partial(f, np), **kwargs)(*args)
        theirs = getattr(jax, transform)(functools.partial(f, jnp), **kwargs)(*args)
    assert riesz.tree_flatten(ours)[1].num_leaves == jax.tree_util.tree_structure(theirs).num_leaves
    ours_leaves, ours_tree = riesz.tree_flatten(ours)
    theirs_leaves = jax.tree_util.tree_leaves(theirs)
    assert len(ours_leaves) == len(theirs_leaves)
    for a, b in zip(ours_leaves, theirs_leaves):
        b = np.asarray(b)
        assert np.shape(a) == b.shape and np.result_type(a) == b.dtype
        np.testing.assert_allclose(a, b, rtol=2e-3 if b.dtype == np.float16 else 1e-7)


def test_linearizes_map_hands_back_no_tangent_of_the_caller():
    # an identity-like f: df(t) was the caller's t itself (or a view of it)
    t = np.ones(3)
    for f in (lambda x: x, lambda x: x.reshape(3)):
        _, df = riesz.linearize(f, np.zeros(3))
        out = df(t)
        out *= 5.0
        np.testing.assert_array_equal(t, np.ones(3))


def test_hvp_of_an_array_valued_function_names_it():
    def doubled(x):
        return x * 2
    with pytest.raises(TypeError, match="doubled returned an array of shape \\(3,\\)"):
        riesz.hvp(doubled, (np.ones(3),), (np.ones(3),))


def test_ordered_and_default_dicts_are_pytrees_as_in_jax():
    # an OrderedDict keeps its keys' order (PyTorch's state_dict is one), a defaultdict its
    # default_factory; both come back as themselves, through grad, jit and vmap
    f = lambda p: np.sum(p["w"] ** 2) * p["b"]
    sd = OrderedDict([("w", np.array([1.0, 2.0])), ("b", np.array(0.5))])
    for g in (riesz.grad(f)(sd), riesz.jit(riesz.grad(f))(sd)):
        assert type(g) is OrderedDict and list(g) == ["w", "b"]
        np.testing.assert_allclose(g["w"], [1.0, 2.0])
        np.testing.assert_allclose(g["b"], 5.0)
    dd = defaultdict(list, w=np.array([1.0, 2.0]), b=np.array(0.5))
    g = riesz.grad(f)(dd)
    assert type(g) is defaultdict and g.default_factory is list and sorted(g) == ["b", "w"]
    np.testing.assert_allclose(g["b"], 5.0)
    paths = [riesz.tree.keystr(p) for p, _ in riesz.tree.tree_flatten_with_path(sd)[0]]
    assert paths == ["['w']", "['b']"]
    out = riesz.vmap(lambda p: p["w"] * p["b"])(OrderedDict(w=np.ones((3, 2)), b=np.arange(3.0)))
    np.testing.assert_array_equal(out, [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])


def test_vmap_of_a_value_says_so_when_made():
    with pytest.raises(TypeError, match=r"riesz.vmap: the function given is a float .*"
                                        r"riesz.vmap\(f\)\(xs\), not riesz.vmap\(f\(xs\)\)"):
        riesz.vmap(3.0)
