"""autograd and JAX programs port by changing imports: the names and conventions they use
(argnum=, size-1 outputs, hessian_vector_product, make_hvp, full with a traced fill value,
extend.primitive as a black box, fixed_point, scipy.signal.convolve, tree_util) and
transformed functions that keep their names, say what they are, and pickle."""
import pickle

import numpy as np
import pytest

import riesz
import riesz.numpy as rnp
from riesz.extend import defjvp, defvjp, primitive
from riesz.testing import check_grads

rng = np.random.default_rng(0)


def loss(w, x):
    """A module-level function, as pickle needs."""
    return np.sum(np.tanh(x @ w) ** 2)


W, X = rng.standard_normal(3), rng.standard_normal((4, 3))


# ---------------------------------------------------------------- autograd's conventions

@pytest.mark.parametrize("shape", [(1,), (1, 1)])
def test_grad_of_a_size_one_output(shape):
    # autograd and PyTorch take an output of one element; riesz.misc.flatten_func gives (1,)
    f = lambda x: np.reshape(np.sum(np.sin(x) * x), shape)
    x = np.array([0.3, -1.2])
    np.testing.assert_allclose(riesz.grad(f)(x), np.cos(x) * x + np.sin(x), rtol=1e-14)
    value, g = riesz.value_and_grad(f)(x)
    assert np.shape(value) == shape
    check_grads(f, (x,), order=2)


def test_grad_still_refuses_outputs_of_several_elements():
    with pytest.raises(TypeError, match=r"shape \(2,\); grad needs a real scalar output"):
        riesz.grad(lambda x: x * 2)(np.ones(2))


def test_argnum_is_autograds_name_for_argnums():
    f = lambda x, y: np.sum(np.sin(x) * y ** 2)
    x, y = np.array([0.3, 1.2]), np.array([2.0, -1.0])
    np.testing.assert_allclose(riesz.grad(f, argnum=1)(x, y), 2 * np.sin(x) * y)
    np.testing.assert_allclose(riesz.elementwise_grad(lambda a, b: a * b, argnum=1)(x, y), x)
    np.testing.assert_allclose(riesz.jacobian(f, argnum=1)(x, y), 2 * np.sin(x) * y)
    np.testing.assert_allclose(riesz.hessian(f, argnum=1)(x, y), np.diag(2 * np.sin(x)))
    with pytest.raises(TypeError, match="argnums .JAX's name. or argnum .autograd's., not both"):
        riesz.grad(f, 0, argnum=1)


def test_hessian_vector_product_and_make_hvp():
    f = lambda x, y: np.sum(np.sin(x) * y ** 2) + np.sum(x) ** 3
    x, y, v = np.array([0.3, 1.2]), np.array([2.0, -1.0]), np.array([1.0, 0.5])
    for argnum, h in ((0, riesz.hessian(f)(x, y)), (1, riesz.hessian(f, 1)(x, y))):
        np.testing.assert_allclose(riesz.hessian_vector_product(f, argnum)(x, y, v), h @ v)
        hvp_at, g = riesz.make_hvp(f, argnum)(x, y)
        np.testing.assert_allclose(hvp_at(v), h @ v)
        np.testing.assert_allclose(hvp_at(2 * v), 2 * h @ v)
        np.testing.assert_allclose(g, riesz.grad(f, argnum)(x, y))
    check_grads(lambda x: riesz.hessian_vector_product(f)(x, y, v), (x,), order=1)


def test_make_ggnvp_is_the_gauss_newton_matrix_applied():
    f = lambda W, x: np.tanh(W @ x)
    W, x, V = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal((3, 2))
    J = riesz.jacobian(f)(W, x).reshape(3, 6)
    for g, H in ((None, np.eye(3)), (lambda y: np.sum(np.exp(y)), None)):
        H = np.diag(np.exp(f(W, x))) if H is None else H
        got = riesz.make_ggnvp(f, g)(W, x)(V) if g else riesz.make_ggnvp(f)(W, x)(V)
        np.testing.assert_allclose(got.ravel(), J.T @ H @ J @ V.ravel(), rtol=1e-12)
    y = np.array([0.5, -1.0])
    np.testing.assert_allclose(riesz.make_ggnvp(f, f_argnum=1)(W, y)(np.ones(2)),
                               riesz.jacobian(f, 1)(W, y).T @ riesz.jacobian(f, 1)(W, y) @ np.ones(2))


def test_full_with_a_traced_fill_value():
    f = lambda x: np.sum(rnp.full((2, 3), x) * np.arange(6.0).reshape(2, 3))
    assert riesz.grad(f)(2.0) == 15.0
    f32 = riesz.grad(lambda x: np.sum(rnp.full(4, x[0]) ** 2))(np.ones(2, np.float32))
    assert f32.dtype == np.float32 and f32[0] == 8.0
    check_grads(lambda x: rnp.full((3, 2), x) ** 2, (np.array([0.5, -1.0]),), order=2)
    np.testing.assert_array_equal(rnp.full(2, 1.5), np.full(2, 1.5))
    with pytest.raises(TypeError, match=r"riesz\.numpy\.full\(shape, v\)"):
        riesz.grad(lambda x: np.sum(np.full(3, x)))(1.0)


# ---------------------------------------------------------------- extend.primitive

@primitive
def sin_of_float(x):
    return np.sin(float(x))   # autograd runs a primitive on plain values only


defvjp(sin_of_float, lambda ans, x: lambda g: g * np.cos(x))


@primitive
def cube(x):
    return float(x) ** 3


defjvp(cube, lambda g, ans, x: 3 * x ** 2 * g)


def test_primitive_is_a_black_box_at_every_order():
    x = 0.7
    derivatives = [np.cos(x), -np.sin(x), -np.cos(x)]
    f = sin_of_float
    for want in derivatives:
        f = riesz.grad(f)
        assert np.isclose(f(x), want, rtol=1e-14)
    assert np.isclose(riesz.hessian(sin_of_float)(x), -np.sin(x), rtol=1e-14)
    # forward mode through the VJP rule's transpose
    assert np.isclose(riesz.jvp(sin_of_float, (x,), (2.0,))[1], 2 * np.cos(x), rtol=1e-14)
    assert np.isclose(riesz.grad(riesz.grad(cube))(2.0), 12.0)
    assert np.isclose(riesz.jvp(riesz.grad(cube), (2.0,), (1.0,))[1], 12.0)


def test_primitive_rules_give_the_higher_derivatives():
    # a deliberately different second derivative: the rule's own, not the body's
    @primitive
    def f(x):
        return np.sin(x)

    defvjp(f, lambda ans, x: lambda g: g * (np.cos(x) + x ** 2))
    assert np.isclose(riesz.grad(riesz.grad(f))(0.3), -np.sin(0.3) + 0.6)
    assert np.isclose(riesz.hessian(f)(0.3), -np.sin(0.3) + 0.6)


# ---------------------------------------------------------------- transformed functions

@pytest.mark.parametrize("transform,what", [
    (riesz.grad, "the gradient"), (riesz.value_and_grad, "the value and the gradient"),
    (riesz.jacobian, "the Jacobian"), (riesz.hessian, "the Hessian"),
    (riesz.elementwise_grad, "the elementwise gradient"),
    (riesz.hessian_vector_product, "the Hessian-vector product")])
def test_transformed_functions_keep_the_name_and_say_what_they_are(transform, what):
    g = transform(loss)
    assert g.__name__ == "loss" and g.__qualname__ == "loss" and g.__wrapped__ is loss
    assert g.__module__ == __name__
    assert g.__doc__.startswith(f"riesz.{transform.__name__}(loss): {what} of loss")
    assert "A module-level function, as pickle needs." in g.__doc__
    assert repr(g) == f"<riesz.{transform.__name__}(loss)>"
    assert "argnums=1" in transform(loss, argnums=1).__doc__


def test_transformed_functions_pickle():
    for g in (riesz.grad(loss), riesz.grad(loss, argnum=1), riesz.hessian(loss),
              riesz.grad(riesz.grad(np.sin))):
        args = (0.5,) if g.__name__ == "sin" else (W, X)
        restored = pickle.loads(pickle.dumps(g))
        np.testing.assert_array_equal(restored(*args), g(*args))
        assert restored.__doc__ == g.__doc__


def test_a_transformed_function_is_a_method_on_a_class():
    class Model:
        def energy(self, x):
            return np.sum(x ** 2) * 3.0
        force = riesz.grad(energy, argnums=1)

    np.testing.assert_allclose(Model().force(np.array([1.0, 2.0])), [6.0, 12.0])


# ---------------------------------------------------------------- autograd.misc and autograd.scipy

def _sqrt_by_newton(a):
    # √a as the fixed point of Newton's step x ← (x + a / x) / 2
    from riesz.misc.fixed_points import fixed_point
    return fixed_point(lambda a: lambda x: 0.5 * (x + a / x), a, np.ones(np.shape(a)),
                       lambda x, y: np.max(np.abs(x - y)), 1e-14)


def test_fixed_point_is_differentiated_by_the_implicit_function_theorem():
    a = np.array([4.0, 2.25])
    np.testing.assert_allclose(_sqrt_by_newton(a), np.sqrt(a), rtol=1e-14)
    np.testing.assert_allclose(riesz.elementwise_grad(_sqrt_by_newton)(a), 0.5 / np.sqrt(a),
                               rtol=1e-12)
    second = riesz.elementwise_grad(riesz.elementwise_grad(_sqrt_by_newton))(a)
    np.testing.assert_allclose(second, -0.25 * a ** -1.5, rtol=1e-10)
    check_grads(_sqrt_by_newton, (a,), order=2)


def test_fixed_point_of_a_pytree_parameter():
    # x* = A x* + b for a contraction A: x* = (I - A)⁻¹ b, a function of both
    from riesz.misc.fixed_points import fixed_point
    A, b = 0.1 * rng.standard_normal((3, 3)), rng.standard_normal(3)
    solve = lambda p: fixed_point(lambda p: lambda x: p["A"] @ x + p["b"], p, np.zeros(3),
                                  lambda x, y: np.max(np.abs(x - y)), 1e-15)
    loss_of = lambda p: np.sum(np.sin(solve(p)))
    want = riesz.grad(lambda p: np.sum(np.sin(np.linalg.solve(np.eye(3) - p["A"], p["b"]))))
    got = riesz.grad(loss_of)({"A": A, "b": b})
    for k in ("A", "b"):
        np.testing.assert_allclose(got[k], want({"A": A, "b": b})[k], rtol=1e-10)


CONVOLUTIONS = [  # (A's shape, B's shape, axes, dot_axes): autograd's uses
    ((6,), (3,), None, ((), ())),
    ((4, 5), (3, 2), None, ((), ())),
    ((2, 3, 6, 5), (4, 3, 3, 2), ([2, 3], [2, 3]), ([1], [1])),   # convnet: images, filters
    ((3, 4, 5), (2, 2), ([1, 2], [0, 1]), ((), ())),
    ((3,), (5,), None, ((), ())),
]


@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@pytest.mark.parametrize("a_shape,b_shape,axes,dot_axes", CONVOLUTIONS)
def test_scipy_signal_convolve(a_shape, b_shape, axes, dot_axes, mode):
    from riesz.scipy.signal import convolve
    A, B = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    out = convolve(A, B, axes=axes, dot_axes=dot_axes, mode=mode)
    if axes is None:   # all axes convolved: SciPy's convolution
        import scipy.signal
        np.testing.assert_allclose(out, scipy.signal.convolve(A, B, mode=mode, method="direct"),
                                   atol=1e-12)
    else:   # the sum that defines it, one output entry at a time
        full = convolve(A, B, axes=axes, dot_axes=dot_axes)
        i = (0,) * (full.ndim - len(axes[0])) + tuple(n // 2 for n in full.shape[-len(axes[0]):])
        a = np.moveaxis(A, list(axes[0]) + list(dot_axes[0]), range(-len(axes[0]) - len(dot_axes[0]), 0))
        b = np.moveaxis(B, list(axes[1]) + list(dot_axes[1]), range(-len(axes[1]) - len(dot_axes[1]), 0))
        nconv = len(axes[0])
        ndot = len(dot_axes[0])
        total = 0.0
        for m in np.ndindex(*a.shape[a.ndim - nconv - ndot:a.ndim - ndot]):
            j = tuple(n - k for n, k in zip(i[-nconv:], m))
            if all(0 <= jj < s for jj, s in zip(j, b.shape[b.ndim - nconv - ndot:b.ndim - ndot])):
                a_part = a[(0,) * (a.ndim - nconv - ndot) + m]
                b_part = b[(0,) * (b.ndim - nconv - ndot) + j]
                total += np.sum(a_part * b_part)
        np.testing.assert_allclose(full[i], total, atol=1e-12)
    check_grads(lambda A, B: convolve(A, B, axes=axes, dot_axes=dot_axes, mode=mode), (A, B),
                order=2)
    check_grads(lambda A, B: convolve(A, B, axes=axes, dot_axes=dot_axes, mode=mode),
                (A.astype(np.float32), B.astype(np.float32)), order=1)


def test_scipy_signal_convolve_names_bad_modes():
    from riesz.scipy.signal import convolve
    with pytest.raises(ValueError, match="mode 'circular' is not 'full', 'valid' or 'same'"):
        convolve(np.ones(3), np.ones(2), mode="circular")
    with pytest.raises(ValueError, match="one array must be at least as large"):
        convolve(np.ones((3, 2)), np.ones((2, 3)), mode="valid")


# ---------------------------------------------------------------- riesz's own errors

def test_a_traced_scalar_assigned_into_a_numpy_array_names_at():
    # the residual-vector idiom: NumPy would say "setting an array element with a sequence"
    def residuals(p):
        r = np.zeros(2)
        r[0] = p[0] - 1.0
        return np.sum(r ** 2)
    for transform in (riesz.grad, riesz.jit, lambda f: riesz.jit(riesz.grad(f)), riesz.vmap):
        with pytest.raises(TypeError, match=r"riesz\.numpy\.at\(y\)\[idx\]\.set\(v\)") as info:
            x = np.array([3.0, 2.0])
            transform(residuals)(np.stack([x, x]) if transform is riesz.vmap else x)
        assert info.value.__traceback__.tb_next is not None   # the user's line is in it
    # the fix works
    fixed = lambda p: np.sum(rnp.at(np.zeros(2))[0].set(p[0] - 1.0) ** 2)
    assert riesz.grad(fixed)(np.array([3.0, 2.0]))[0] == 4.0


def test_dot_at_on_a_numpy_array_names_riesz_numpy_at():
    # jnp.zeros(3).at[0].set(v) ported with jnp -> np: NumPy's type has no .at
    def loss(p):
        r = np.zeros(2).at[0].set(p[0] - 1.0)
        return np.sum(r ** 2)
    x = np.array([3.0, 2.0])
    calls = [lambda: riesz.grad(loss)(x), lambda: riesz.jit(loss)(x),
             lambda: riesz.jvp(loss, (x,), (x,)), lambda: riesz.hessian(loss)(x),
             lambda: check_grads(loss, (x,)), lambda: riesz.vmap(loss)(np.stack([x, x]))]
    for call in calls:
        with pytest.raises(AttributeError, match=r"riesz\.numpy\.at\(y\)\[idx\]\.set\(v\)") as info:
            call()
        assert info.value.name == "at" and type(info.value.obj) is np.ndarray
    # other attribute errors pass unchanged
    with pytest.raises(AttributeError, match=r"^'numpy.ndarray' object has no attribute 'att'$"):
        riesz.grad(lambda p: np.sum(np.zeros(2).att * p))(x)
    fixed = lambda p: np.sum(rnp.at(np.zeros(2))[0].set(p[0] - 1.0) ** 2)
    np.testing.assert_array_equal(riesz.grad(fixed)(x), [4.0, 0.0])
    check_grads(fixed, (x,))


def test_source_and_graph_written_as_make_jaxpr_name_the_examples():
    f = lambda x, y: np.sin(x) * y
    x = np.ones(3)
    for name in ("source", "graph"):
        with pytest.raises(TypeError, match=rf"riesz\.{name}\(f, x, y\) with arrays"):
            getattr(riesz, name)(f)(x, 2.0)
    with pytest.raises(TypeError, match=r"grad_loss takes \(w, x\): write riesz\.source\(f, w, x\)"):
        riesz.source(riesz.grad(loss))(W, X)
    with pytest.raises(TypeError, match=r"sin takes \(x\): write riesz\.graph\(f, x\)"):
        riesz.graph(np.sin)(x)   # a ufunc: no signature to read
    # a function of no arguments (or of defaults only) stages at once, as before
    assert "return np.full((2,), 3.0" in riesz.source(lambda: np.ones(2) * 3)
    assert "def grad_loss(w, x)" in riesz.source(riesz.grad(loss), W, X)
    # riesz.trace(f, x): the example where static_argnums goes
    with pytest.raises(TypeError, match=r"static_argnums takes argument positions \(ints\), "
                                        r"got a ndarray.*riesz\.trace\(f\)\(x\)"):
        riesz.trace(np.sin, x)
    with pytest.raises(TypeError, match=r"riesz\.jit\(f, static_argnums\).*riesz\.jit\(f\)\(x\)"):
        riesz.jit(np.sin, np.ones((2, 2)))   # (a set of arrays raised "unhashable" before)
    np.testing.assert_allclose(riesz.jit(f, static_argnums=range(1, 2))(x, 2.0), 2 * np.sin(x))
    program = riesz.trace(f, static_argnums=np.int64(1))(x, 2.0)
    np.testing.assert_allclose(program(np.zeros(3) + 0.5), 2 * np.sin(0.5))


def test_a_string_leaf_is_named_by_its_key_path():
    params = {"layers": [{"W": np.ones(2), "name": "dense"}], "b": np.zeros(1)}
    with pytest.raises(TypeError, match=r"argument 0 of <lambda> at \['layers'\]\[0\]\['name'\] "
                                        r"is a str \('dense'\)"):
        riesz.grad(lambda p: np.sum(p["layers"][0]["W"]))(params)
    with pytest.raises(TypeError, match=r"at \['n'\] has dtype int64"):
        riesz.grad(lambda p: p["x"] * 2)({"x": 1.0, "n": 3})


def test_dict_keys_of_mixed_types_are_named():
    # the path starts at the arguments: [0] is argument 0
    with pytest.raises(TypeError, match=r"pytree: at \[0\]\['model'\]\[1\]: a dict's keys "
                                        r".* do not sort \(mixed types: \['int', 'str'\]\)"):
        riesz.grad(lambda p: 0.0)({"model": [np.ones(1), {0: 1.0, "w": 2.0}]})


def test_mismatched_pytrees_name_the_first_difference():
    with pytest.raises(ValueError, match=r"different structures, first at \['opt'\]: "
                                         r"\{'lr': \*, 'mu': \*\} against \{'lr': \*\}"):
        riesz.tree_map(lambda a, b: a, {"opt": {"lr": 1.0, "mu": 0.9}, "w": 1.0},
                       {"opt": {"lr": 1.0}, "w": 1.0})
    with pytest.raises(ValueError, match=r"jvp: the tangents against the primals.*first at "
                                         r"\[0\]\['w'\]: \* against \(\*, \*\)"):
        riesz.jvp(lambda p: p["w"], ({"w": 1.0},), ({"w": (1.0, 2.0)},))
    _, pullback = riesz.vjp(lambda x: {"a": x, "b": 2 * x}, 1.0)
    with pytest.raises(ValueError, match=r"pullback: the cotangent against the output.*"
                                         r"\{'a': \*, 'b': \*\} against \{'a': \*\}"):
        pullback({"a": 1.0})


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_an_optimizer_names_a_wrongly_shaped_gradient(name):
    from riesz import optim
    opt = getattr(optim, name)(0.1)
    params = {"dense": {"W": np.ones((2, 3)), "b": np.zeros(3)}}
    state = opt.init(params)
    with pytest.raises(ValueError, match=rf"{name}.update: the gradient of the parameter "
                                         r"\['dense'\]\['W'\] has shape \(3, 2\), the parameter "
                                         r"\(2, 3\)"):
        opt.update(params, {"dense": {"W": np.ones((3, 2)), "b": np.zeros(3)}}, state)
    with pytest.raises(ValueError, match=r"first at \['dense'\]"):
        opt.update(params, {"dense": {"W": np.ones((2, 3))}}, state)


@pytest.mark.parametrize("name, options", [("SGD", {"momentum": 0.9}), ("Adam", {}),
                                           ("RMSprop", {}), ("RMSprop", {"momentum": 0.5})])
def test_an_optimizer_names_a_state_of_other_parameters(name, options):
    # the update works leaf by leaf: a state made for other parameters must not be zipped
    from riesz import optim
    opt = getattr(optim, name)(0.1, **options)
    params = {"W": np.ones((2, 3)), "b": np.zeros(3)}
    grads = {"W": np.ones((2, 3)), "b": np.ones(3)}
    other = opt.init({"W": np.ones((2, 3)), "b": np.zeros(3), "c": np.zeros(1)})
    with pytest.raises(ValueError, match=rf"{name}.update: the state against the parameters "
                                         r"\(pass the state that init or the last update "
                                         r"returned for these parameters\)"):
        opt.update(params, grads, other)
    new, state = opt.update(params, grads, opt.init(params))   # and the right one works
    assert set(new) == {"W", "b"} and new["W"].shape == (2, 3)


# ---------------------------------------------------------------- riesz.tree_util (JAX's names)

def test_tree_util_key_paths_as_jax_names_them():
    from collections import namedtuple
    from riesz import tree_util
    Point = namedtuple("Point", "x y")
    tree = {"b": [1.0, Point(2.0, 3.0)], "a": (4.0, None)}
    flat, treedef = tree_util.tree_flatten_with_path(tree)
    assert [tree_util.keystr(p) for p, _ in flat] == ["['a'][0]", "['b'][0]", "['b'][1].x",
                                                      "['b'][1].y"]
    assert [leaf for _, leaf in flat] == [4.0, 1.0, 2.0, 3.0]
    assert flat[2][0] == (tree_util.DictKey("b"), tree_util.SequenceKey(1), tree_util.GetAttrKey("x"))
    assert tree_util.tree_structure(tree) == treedef
    assert repr(treedef) == "{'a': (*, None), 'b': [*, Point(x=*, y=*)]}"
    assert tree_util.tree_unflatten(treedef, [l for _, l in flat]) == tree
    doubled = tree_util.tree_map_with_path(
        lambda path, v, w: v + w if path[0].key == "b" else v, tree, tree)
    assert doubled == {"b": [2.0, Point(4.0, 6.0)], "a": (4.0, None)}
    assert tree_util.tree_leaves_with_path([5.0]) == [((tree_util.SequenceKey(0),), 5.0)]


def test_tree_util_key_paths_of_registered_types():
    from riesz import tree_util

    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b

    tree_util.register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda _, c: Pair(*c))
    paths = [tree_util.keystr(p) for p, _ in tree_util.tree_leaves_with_path({"p": Pair(1.0, 2.0)})]
    assert paths == ["['p'][<flat index 0>]", "['p'][<flat index 1>]"]


def test_register_pytree_node_class_and_tree_reduce_as_jax_writes_them():
    from riesz import tree_util

    @tree_util.register_pytree_node_class
    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y

        def tree_flatten(self):
            return (self.x, self.y), None

        @classmethod
        def tree_unflatten(cls, aux, children):
            return cls(*children)

    g = riesz.grad(lambda p: p.x ** 2 * p.y)(Point(3.0, 2.0))   # (2xy, x²)
    assert type(g) is Point and (g.x, g.y) == (12.0, 9.0)
    assert tree_util.tree_reduce(lambda a, b: a + b, {"a": 1.0, "b": [2.0, 3.0]}) == 6.0
    assert tree_util.tree_reduce(max, [], -1.0) == -1.0


def test_jax_tree_short_names():
    # jax.tree.map, jax.tree.leaves, ... (JAX 0.4.25+): riesz.tree has them
    params = {"w": np.ones((2, 2)), "b": np.zeros(2)}
    doubled = riesz.tree.map(lambda p, q: p + 2 * q, params, params)
    np.testing.assert_array_equal(doubled["w"], 3 * np.ones((2, 2)))
    leaves, treedef = riesz.tree.flatten(params)
    assert [leaf.shape for leaf in riesz.tree.leaves(params)] == [(2,), (2, 2)]
    assert riesz.tree.structure(params) == treedef
    assert riesz.tree.unflatten(treedef, [1, 2]) == {"b": 1, "w": 2}
    assert riesz.tree.reduce(lambda a, b: a + b.size, params, 0) == 6
    assert [riesz.tree_util.keystr(p) for p, _ in riesz.tree.leaves_with_path(params)] == \
        ["['b']", "['w']"]
    with pytest.raises(AttributeError, match="has no attribute 'mapp'"):
        riesz.tree.mapp


def test_jit_static_argname_left_to_its_default():
    # @partial(jax.jit, static_argnames=("n",)) def f(x, n=2), called as f(x) and under grad
    def power_sum(x, n=2):
        return np.sum(x ** n)
    f = riesz.jit(power_sum, static_argnames=("n",))
    x = np.arange(3.0)
    assert f(x) == 5.0 and f(x, n=3) == 9.0 and f(x, 3) == 9.0
    np.testing.assert_array_equal(riesz.grad(f)(x), 2 * x)
    np.testing.assert_array_equal(riesz.jit(riesz.grad(f))(x), 2 * x)
    np.testing.assert_array_equal(riesz.grad(lambda x: f(x, n=3))(x), 3 * x ** 2)


def test_eigh_and_cholesky_gradients_are_triangular_where_jax_symmetrizes():
    # the README's porting note: NumPy reads the lower triangle, so riesz's gradient of the
    # top eigenvalue λ = vᵀAv is 2vvᵀ below the diagonal, vvᵀ on it and 0 above; JAX gives
    # vvᵀ; symmetrizing the input gives JAX's answer
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    v = np.linalg.eigh(A)[1][:, -1]
    top = lambda A: np.linalg.eigh(A)[0][-1]                        # noqa: E731
    vvT = np.outer(v, v)
    np.testing.assert_allclose(riesz.grad(top)(A), np.tril(2 * vvT) - np.diag(np.diag(vvT)))
    np.testing.assert_allclose(riesz.grad(lambda A: top((A + A.T) / 2))(A), vvT)
    check_grads(top, (A,), modes=("fwd", "rev"), order=1)
    L = riesz.grad(lambda A: np.sum(np.linalg.cholesky(A)))(A)
    assert L[0, 1] == 0.0 and L[1, 0] != 0.0


def test_make_vjp_and_make_jvp_in_autograds_order():
    # f(x, y) = sin(x) y²: ∂ₓf = diag(cos(x) y²), ∂ᵧf = diag(2 sin(x) y)
    f = lambda x, y: np.sin(x) * y ** 2                       # noqa: E731
    x, y, u = np.array([0.3, 1.2]), np.array([2.0, -1.0]), np.array([1.0, 0.5])
    pullback, ans = riesz.make_vjp(f)(x, y)
    np.testing.assert_allclose(ans, f(x, y))
    np.testing.assert_allclose(pullback(u), np.cos(x) * y ** 2 * u)
    pullback_y, _ = riesz.make_vjp(f, argnum=1)(x, y)
    np.testing.assert_allclose(pullback_y(u), 2 * np.sin(x) * y * u)
    ans, tangent = riesz.make_jvp(f, 1)(x, y)(u)
    np.testing.assert_allclose(ans, f(x, y))
    np.testing.assert_allclose(tangent, 2 * np.sin(x) * y * u)
    assert riesz.make_vjp(f).__doc__.startswith("riesz.make_vjp(<lambda>)")


@pytest.mark.parametrize("name, fix", [("lax", "riesz.stop_gradient for lax.stop_gradient"),
                                       ("random", "numpy.random.default_rng"),
                                       ("checkpoint_policies", "leave policy= out"),
                                       ("ad_checkpoint", "print_saved_residuals have no")])
def test_jax_modules_riesz_lacks_name_what_to_write(name, fix):
    with pytest.raises(AttributeError, match=rf"no attribute '{name}' \(JAX's jax.{name}\): .*{fix}"):
        getattr(riesz, name)
    assert not hasattr(riesz, "no_such_name")
