"""riesz.jit: one staging per signature, composition with the transforms both ways."""
import re
import warnings

import numpy as np
import pytest

import riesz
from riesz import grad, jit, jvp, vjp
from specs import SPECS

rng = np.random.default_rng(0)


def test_traces_once_per_signature():
    calls = []

    def f(x, y):
        calls.append(1)
        return np.sin(x) * y
    jf = jit(f)
    x = rng.standard_normal(3)
    np.testing.assert_allclose(jf(x, 2.0), f(x, 2.0))
    jf(rng.standard_normal(3), 5.0)
    assert len(calls) == 2          # one for staging, one for the eager check above
    jf(rng.standard_normal(4), 5.0)                        # new shape
    jf(rng.standard_normal(3).astype(np.float32), 5.0)     # new dtype
    jf(rng.standard_normal(3), 5)                          # int instead of float
    assert len(calls) == 5
    assert len(jf.programs) == 4


def test_python_scalars_keep_numpy_promotion():
    jf = jit(lambda x, s: x * s)
    out = jf(np.ones(2, dtype=np.float32), 3.0)
    assert out.dtype == np.float32


def test_static_argnums_retrace_per_value():
    def f(x, n):
        for _ in range(n):
            x = np.tanh(x)
        return x
    jf = jit(f, static_argnums=(1,))
    x = rng.standard_normal(3)
    np.testing.assert_allclose(jf(x, 2), np.tanh(np.tanh(x)))
    np.testing.assert_allclose(jf(x, 3), np.tanh(np.tanh(np.tanh(x))))
    with pytest.raises(TypeError, match="hashable"):
        jf(x, [3])


def test_control_flow_error_suggests_static_argnums():
    def f(x, n):
        return x if n > 0 else -x
    with pytest.raises(riesz.ConcretizationError, match=r"static_argnums.*eager"):
        jit(f)(np.ones(2), 1.0)
    np.testing.assert_allclose(jit(f, static_argnums=1)(np.ones(2), 1.0), np.ones(2))


def test_jit_of_grad_and_grad_of_jit():
    def loss(W, x):
        return np.sum(np.tanh(x @ W) ** 2)
    W, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    expected = grad(loss)(W, x)
    np.testing.assert_allclose(jit(grad(loss))(W, x), expected, rtol=1e-14)
    np.testing.assert_allclose(grad(jit(loss))(W, x), expected, rtol=1e-14)
    np.testing.assert_allclose(jit(grad(jit(loss)))(W, x), expected, rtol=1e-14)
    hvp = grad(lambda W: np.sum(grad(jit(loss))(W, x) * W))(W)   # second order through jit
    np.testing.assert_allclose(hvp, grad(lambda W: np.sum(grad(loss)(W, x) * W))(W), rtol=1e-12)


def test_inputs_are_never_overwritten():
    def f(x):
        a = np.exp(x)
        return np.sum(a * a + x * x)
    x = rng.standard_normal(5000)
    before = x.copy()
    g = jit(grad(f))
    np.testing.assert_allclose(g(x), grad(f)(x), rtol=1e-14)
    np.testing.assert_array_equal(x, before)
    out = g(x)
    assert not np.shares_memory(out, x)


def test_large_results_reuse_buffers():
    def f(x):
        return np.sum(np.tanh(np.sin(x) * 2.0))
    x = np.linspace(-1, 1, 10000)
    text = riesz.source(jit(grad(f)), x)
    assert "out=" in text and "*=" in text
    np.testing.assert_allclose(jit(grad(f))(x), grad(f)(x), rtol=1e-14)


def test_pytree_arguments_and_results():
    def f(params, x):
        return {"out": np.tanh(x @ params["W"] + params["b"]), "n": x.shape[0]}
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    x = rng.standard_normal((4, 3))
    out = jit(f)(params, x)
    np.testing.assert_allclose(out["out"], f(params, x)["out"], rtol=1e-14)
    assert out["n"] == 4


def test_keyword_arguments_are_refused_without_a_readable_signature():
    # np.sin's signature (where NumPy gives one) makes x positional-only
    with pytest.raises(TypeError, match=r"riesz.jit\(sin\).*positional"):
        jit(np.sin)(x=np.ones(2))


CASES = [(name, i, case) for name, cases in sorted(SPECS.items()) for i, case in enumerate(cases)
         if "rev" in case.modes]


@pytest.mark.parametrize("name,i,case", CASES, ids=[f"{n}-{i}" for n, i, _ in CASES])
def test_transforms_of_jit_match_eager(name, i, case):
    args = case.args(np.random.default_rng(i), "float64")
    jf = jit(case.fn)
    ct = riesz.tree_map(lambda y: rng.standard_normal(np.shape(y)), case.fn(*args))
    results = [(vjp(jf, *args)[1](ct), vjp(case.fn, *args)[1](ct))]
    if "fwd" in case.modes:
        results.append((jvp(jf, args, args)[1], jvp(case.fn, args, args)[1]))
    for got, want in results:
        got, want = riesz.tree_flatten(got)[0], riesz.tree_flatten(want)[0]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_a_primitive_without_source_form_is_interpreted():
    from riesz.core import Primitive
    doubler = type("Doubler", (), {"__call__": lambda self, x: 2 * x})()
    p = Primitive("test_doubler", doubler, jvps=[lambda t, ans, x: 2 * t],
                  vjps=[lambda g, ans, x: 2 * g])
    with pytest.warns(RuntimeWarning, match="interpreting"):
        np.testing.assert_allclose(jit(lambda x: p(x) + 1.0)(np.ones(2)), [3.0, 3.0])
    with pytest.warns(RuntimeWarning, match="interpreting"):
        np.testing.assert_allclose(jit(grad(lambda x: np.sum(p(x) ** 2)))(np.ones(2)), [8.0, 8.0])


def test_traced_integer_indices_are_read_at_run_time():
    def f(x, i):
        return np.take_along_axis(x, i, axis=1) * 2.0 + x[np.arange(3), i[:, 0]][:, None]
    jf = jit(f)
    x = rng.standard_normal((3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # staged, not run eagerly
        for seed in range(3):
            i = np.random.default_rng(seed).integers(0, 4, size=(3, 2))
            np.testing.assert_allclose(jf(x, i), f(x, i), rtol=1e-14)
            np.testing.assert_allclose(jit(grad(lambda x, i: np.sum(f(x, i) ** 2)))(x, i),
                                       grad(lambda x, i: np.sum(f(x, i) ** 2))(x, i), rtol=1e-13)
    assert len(jf.programs) == 1


def test_sorting_permutation_is_computed_by_the_program():
    w = np.arange(5.0)
    jg = jit(grad(lambda x: np.sum(np.sort(x) * w)))
    for seed in range(3):   # one program, a different permutation each call
        x = np.random.default_rng(seed).standard_normal(5)
        np.testing.assert_allclose(jg(x), w[np.argsort(np.argsort(x))])
    assert len(jg.programs) == 1


def test_shape_queries_are_static_when_staged():
    def f(x):
        return x * np.ndim(x) if np.shape(x)[0] == 3 and np.size(x) == 6 else -x
    x = rng.standard_normal((3, 2))
    np.testing.assert_allclose(jit(f)(x), 2 * x)


def test_eager_fallback_warns_once_per_signature(monkeypatch):
    # a rule of the library that applies a NumPy function riesz has no implementation of
    # (np.histogram_bin_edges, inside lstsq's rank): the function runs eagerly for that
    # signature, with one warning
    def rank_through_edges(a, *args, **kwargs):
        return np.linalg.matrix_rank(a, *args, **kwargs) + 0 * int(
            np.sum(np.histogram_bin_edges(a, 3)) > 0)
    monkeypatch.setattr(riesz.rules.linalg, "_matrix_rank", rank_through_edges)
    jf = jit(lambda a, b: np.linalg.lstsq(a, b, rcond=None)[0])
    a, b = rng.standard_normal((5, 3)), rng.standard_normal(5)
    with pytest.warns(RuntimeWarning, match="eagerly.*numpy.histogram_bin_edges"):
        np.testing.assert_allclose(jf(a, b), np.linalg.lstsq(a, b, rcond=None)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(jf(a, -b), -np.linalg.lstsq(a, b, rcond=None)[0])
    with pytest.warns(RuntimeWarning, match="eagerly"):
        jf(a[:4], b[:4])   # a new signature


def test_every_numpy_function_of_the_value_table_stages():
    # the functions of test_numpy_functions' table: jit(grad) runs a staged program (no
    # eager fallback) and matches eager riesz
    from test_numpy_functions import SAME_VALUES
    for name, fn, x in SAME_VALUES:
        def loss(x):
            ys = fn(x)
            ys = ys if isinstance(ys, (tuple, list)) else (ys,)
            return sum(np.sum(np.real(y) * np.cos(np.arange(np.size(y)).reshape(np.shape(y))))
                       for y in ys)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_allclose(jit(grad(loss))(x), grad(loss)(x), rtol=1e-12,
                                       atol=1e-12, err_msg=name)


def test_hessian_through_a_traced_index_update_stages():
    # vmap's rules (inside hessian) see the staged index too; no eager fallback, and the
    # per-example loop's concatenation prints as np.concatenate
    def f(x, i):
        y = x * 1.0
        np.put_along_axis(y, i[:, :1], x[:, 1:2] ** 2, axis=1)
        return np.sum(y ** 3)
    x = rng.standard_normal((3, 4))
    i = np.argsort(x, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(jit(riesz.hessian(f))(x, i), riesz.hessian(f)(x, i),
                                   rtol=1e-12)


def test_astype_of_arithmetic_on_a_python_scalar_argument():
    # at run time t + 1, 0.9 ** ... are Python floats, which have no astype method
    def f(t, x):
        return (0.5 / (1 - 0.9 ** (t + 1))).astype(x.dtype) * x
    x = np.ones(2, np.float32)
    for t in (1, 2.0, np.int64(3)):
        out = riesz.jit(f)(t, x)
        np.testing.assert_allclose(out, 0.5 / (1 - 0.9 ** (t + 1)) * x, rtol=1e-6)
        assert out.dtype == np.float32


def test_lower_gives_the_program_whose_compiled_function_takes_leaves():
    def f(params, x):
        return np.sum(np.tanh(params["w"] * x)), params
    jitted = riesz.jit(f)
    params, x = {"w": np.arange(3.0)}, np.ones(3)
    program = jitted.lower(params, x)
    assert program is jitted.lower(params, x)            # cached by signature
    loss, w = program.compiled()(params["w"], x)
    np.testing.assert_allclose(loss, f(params, x)[0])
    np.testing.assert_array_equal(w, params["w"])
    assert program.out_tree == riesz.tree_flatten(f(params, x))[1]


def test_lower_is_none_where_the_function_runs_eagerly():
    jitted = riesz.jit(lambda x: np.real_if_close(x))   # decided on the concrete values
    with pytest.warns(RuntimeWarning, match="eagerly"):
        assert jitted.lower(np.array([0.5])) is None


def test_keyword_arguments_and_static_argnames():
    def f(x, n, scale=2.0):
        for _ in range(n):          # Python control flow on n: static
            x = np.sin(x)
        return scale * x
    x = np.linspace(0, 1, 3)
    jitted = riesz.jit(f, static_argnames="n")
    np.testing.assert_allclose(jitted(x, n=3), f(x, 3))
    np.testing.assert_allclose(jitted(x, 3, scale=0.5), f(x, 3, 0.5))
    np.testing.assert_allclose(jitted(scale=1.5, n=2, x=x), f(x, 2, 1.5))
    assert len(jitted.programs) == 2                    # n = 3 and n = 2
    np.testing.assert_allclose(riesz.grad(lambda x: np.sum(jitted(x, n=1)))(x), 2 * np.cos(x))
    with pytest.raises(ValueError, match="static_argnames names 'm'.*x, n, scale"):
        riesz.jit(f, static_argnames="m")
    # keyword-only parameters: by keyword, static by name, or left to their defaults
    scaled = riesz.jit(lambda x, *, k, twice=False: x * k * (2 if twice else 1),
                       static_argnames="twice")
    np.testing.assert_allclose(scaled(x, k=2.0), 2 * x)
    np.testing.assert_allclose(scaled(x, k=3.0, twice=True), 6 * x)
    with pytest.raises(TypeError, match="positionally.*without \\*args"):
        riesz.jit(lambda *xs, k=1: xs[0] * k)(x, k=2.0)


def test_a_staged_index_into_a_numpy_array_names_riesz_numpy_take():
    table = np.arange(12.0).reshape(6, 2)
    ids = np.array([0, 3, 5])
    with pytest.raises(riesz.ConcretizationError, match=r"riesz\.numpy\.take\(table, ids"):
        riesz.jit(lambda w, ids: np.sum(w * table[ids]))(np.ones(2), ids)

    def gathered(w, ids):
        return np.sum(w * riesz.numpy.take(table, ids, axis=0))
    np.testing.assert_allclose(riesz.jit(gathered)(np.ones(2), ids), table[ids].sum())
    np.testing.assert_allclose(riesz.jit(riesz.grad(gathered))(np.ones(2), ids),
                               table[ids].sum(axis=0))
    # two index arrays, as autograd's fluid simulation gathers a grid's corners
    cols = np.array([1, 0, 1])
    with pytest.raises(riesz.ConcretizationError, match=r"riesz\.numpy\.at\(table\)\[i, j\]"
                                                        r"\.get\(\) for several index arrays"):
        riesz.jit(lambda w, i, j: np.sum(w * table[i, j]))(np.ones(3), ids, cols)

    def corners(w, i, j):
        return np.sum(w * riesz.numpy.at(table)[i, j].get())
    np.testing.assert_allclose(riesz.jit(corners)(np.ones(3), ids, cols), table[ids, cols].sum())
    np.testing.assert_allclose(riesz.jit(riesz.grad(corners))(np.ones(3), ids, cols),
                               table[ids, cols])


def test_a_branch_on_a_staged_value_inside_riesz_runs_eagerly_with_a_warning():
    import os
    namespace = {}
    library_file = os.path.join(os.path.dirname(riesz.__file__), "rules", "_a_rule.py")
    exec(compile("def magnitude(v):\n    return v if v > 0 else -v\n", library_file, "exec"),
         namespace)
    f = riesz.jit(lambda x: namespace["magnitude"](np.sum(x)))
    with pytest.warns(RuntimeWarning, match=r"eagerly.*_a_rule.py:2 branches on a staged"):
        assert f(np.array([-1.0, -2.0])) == 3.0
    with pytest.raises(riesz.ConcretizationError, match=r"bool\(\)"):   # the user's own branch
        riesz.jit(lambda x: x if np.sum(x) > 0 else -x)(np.ones(2))


def test_threads_calling_one_jitted_function_with_different_signatures():
    import threading
    f = riesz.jit(lambda p: np.sum(np.sin(p["x"])) + p["x"].shape[0])   # a pytree argument
    inputs = [np.linspace(0, 1, n) for n in (2, 3, 4, 5)]
    for x in inputs:
        f({"x": x})                                   # staged one after the other
    errors = []

    def work(x):
        for _ in range(300):
            if not np.isclose(f({"x": x}), np.sum(np.sin(x)) + len(x)):
                errors.append(len(x))
    threads = [threading.Thread(target=work, args=(x,)) for x in inputs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(f.programs) == 4


# ---------------------------------------------------------------- value dependence (issue 11)
# Every jitted call equals eager NumPy, or raises ConcretizationError naming the line:
# a staged program depends only on shapes, dtypes, Python number types and static values.

_X6 = np.arange(6.0)
_TABLE = np.linspace(0.5, 1.5, 3)

VALUE_CASES = [
    # (name, function, calls: argument tuples, the error a call may raise instead)
    ("slice bound from an int argument", lambda x, n: np.mean(x[:n]),
     [(_X6, 2), (_X6, 3)], "slice bound"),
    ("slice bound from argmax", lambda x: np.sum(x[:np.argmax(x)]),
     [(np.array([0.0, 3.0, 1.0]),), (np.array([0.0, 1.0, 3.0]),)], "slice bound"),
    ("flatnonzero", lambda x: np.sum(x[np.flatnonzero(x)]),
     [(np.array([0.0, 1.0, 2.0]),), (np.array([0.0, 0.0, 2.0]),)], "np.flatnonzero"),
    ("nonzero", lambda x: x[np.nonzero(x)], [(np.array([0.0, 1.0]),)], "np.nonzero"),
    ("nonzero method", lambda x: x[x.nonzero()], [(np.array([0.0, 1.0]),)], "np.nonzero"),
    ("unique", lambda x: np.unique(x), [(np.array([0.0, 1.0, 1.0]),)], "np.unique"),
    ("int of a value", lambda x: x * int(np.sum(x)), [(np.ones(2),)], r"int\(\)"),
    ("branch on a value", lambda x: x if x.sum() > 0 else -x, [(np.ones(2),)], r"bool\(\)"),
    ("range of an int argument", lambda x, n: sum(x for _ in range(n)), [(np.ones(2), 2)],
     "index or a size"),
    ("Python float argument", lambda x, s: x * s, [(np.ones(2), 2.0), (np.ones(2), 3.0)], None),
    ("Python int argument as an index", lambda x, i: x[i] * 2.0,
     [(_X6, 1), (_X6, 4), (_X6, -1)], None),
    ("float argument and int argument", lambda x, s: x / s, [(_X6, 2), (_X6, 2.5)], None),
    ("closed-over array and a function of it", lambda x: x * _TABLE + np.tanh(_TABLE),
     [(np.ones(3),), (np.zeros(3),)], None),
    ("argmax as an index", lambda x: x[np.argmax(x)] * 2.0,
     [(np.array([0.0, 3.0, 1.0]),), (np.array([5.0, 1.0, 3.0]),)], None),
    ("argsort gather", lambda x: x[np.argsort(x)][-1],
     [(np.array([2.0, 3.0, 1.0]),), (np.array([5.0, 1.0, 3.0]),)], None),
]


@pytest.mark.parametrize("name, f, calls, error", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_jit_equals_eager_or_raises(name, f, calls, error):
    jitted = jit(f)
    for args in calls:
        want = f(*args)
        try:
            got = jitted(*args)
        except riesz.ConcretizationError as e:
            assert error is not None, f"{name}: raised {e}"
            assert "test_jit.py" in str(e) and "static_argnums" in str(e)
            assert re.search(error, str(e)), str(e)
            continue
        np.testing.assert_array_equal(got, want, err_msg=name)
        assert np.result_type(got) == np.result_type(want), name


def test_a_grad_of_a_value_dependent_function_raises_too():
    with pytest.raises(riesz.ConcretizationError, match="slice bound"):
        jit(grad(lambda x, n: np.sum(x[:n] ** 2)))(_X6, 3)


def test_static_values_are_keyed_by_type_and_value():
    f = jit(lambda x, s: x + np.full(2, s), static_argnums=1)
    x = np.zeros(2, dtype=np.int8)
    assert f(x, True).dtype == (x + np.full(2, True)).dtype == np.int8
    assert f(x, 1).dtype == (x + np.full(2, 1)).dtype == np.int64
    assert f(x, 1.0).dtype == np.float64
    assert len(f.programs) == 3   # 1 == True == 1.0 in Python, three programs here
    g = jit(lambda x, s: x * s[0], static_argnums=1)
    assert g(x, (True,)).dtype == np.int8 and g(x, (1.0,)).dtype == np.float64


def _local_draw(x):
    generator = np.random.default_rng()   # created inside the staged function
    noise = generator.normal(size=3)
    return x * noise


def _fresh_noise():
    return np.random.default_rng().normal(size=3)   # a generator no variable holds


@pytest.mark.parametrize("draw", [
    lambda x: x * np.random.normal(size=3),
    lambda x: x * rng.normal(size=3),
    lambda x: x + np.random.random(),
    _local_draw,
    lambda x: x * np.random.default_rng().normal(size=3),
    lambda x: x + _fresh_noise(),
], ids=["np.random.normal", "closed-over Generator", "np.random.random", "local Generator",
        "default_rng() in one expression", "default_rng() in a helper"])
def test_a_random_draw_while_staging_raises(draw):
    with pytest.raises(riesz.ConcretizationError, match="draw outside and pass the numbers in"):
        jit(draw)(np.ones(3))
    with pytest.raises(riesz.ConcretizationError, match=r"random draw from .* at .*test_jit.py:\d+"):
        riesz.trace(draw)(np.ones(3))
    assert np.random.default_rng is _DEFAULT_RNG   # put back after staging


_DEFAULT_RNG = np.random.default_rng


def test_a_generator_passed_as_a_static_argument_raises_when_drawn():
    with pytest.raises(riesz.ConcretizationError, match="draw outside"):
        jit(lambda x, g: x * g.normal(size=3), static_argnums=1)(np.ones(3),
                                                                np.random.default_rng(1))


def test_a_generator_passed_as_an_argument_names_the_fix():
    # the old message said "pass it in static_argnums", which then raised at the first draw
    for generator in (np.random.default_rng(1), np.random.RandomState(1)):
        with pytest.raises(TypeError, match=r"is a numpy.random.(Generator|RandomState): .*"
                                            r"same numbers in every call. Draw outside"):
            jit(lambda x, g: x * g.normal(size=3))(np.ones(3), generator)


def test_draws_outside_passed_in_stay_fresh():
    f = jit(lambda x, noise: x * noise)
    a, b = f(np.ones(3), rng.normal(size=3)), f(np.ones(3), rng.normal(size=3))
    assert not np.array_equal(a, b)


def test_closed_over_arrays_are_frozen_when_staging():
    table = np.array([1.0, 2.0, 3.0])
    f = jit(lambda x: x * table + np.tanh(table))
    first = f(np.ones(3))
    table[:] = 10.0     # the program holds a copy: table and np.tanh(table) stay frozen
    np.testing.assert_array_equal(f(np.ones(3)), first)
    f.clear_cache()     # staged again: the new values
    np.testing.assert_allclose(f(np.ones(3)), 10.0 + np.tanh(10.0))


def test_outputs_never_alias_each_other_the_program_or_an_input():
    a, b = jit(lambda v: (-v, -v))(np.ones(3))
    a += 1
    np.testing.assert_array_equal(b, -np.ones(3))
    g = jit(grad(lambda x: np.sum(2.0 * x)))
    first = g(np.ones(3))
    first *= 0          # the gradient is a constant of the program: each call a new array
    np.testing.assert_array_equal(g(np.ones(3)), [2.0, 2.0, 2.0])
    table = np.ones(3)
    t = jit(lambda x: (table, x * 1.0, x.T))(np.zeros(3))
    t[0][:] = 5.0
    x = np.zeros(3)
    outs = jit(lambda x: (table, x * 1.0, x[::-1]))(x)
    for o in outs:
        o += 7.0
    np.testing.assert_array_equal(x, np.zeros(3))   # x * 1.0 and the view: no alias of x
    np.testing.assert_array_equal(jit(lambda x: table * 1.0)(x), np.ones(3))
    for f in (lambda v: (v * 2.0, (v * 2.0).T), lambda v: ((v * 2.0).T, v * 2.0)):
        first, second = jit(f)(np.ones((2, 3)))   # one product, CSE'd: the view is copied
        assert not np.shares_memory(first, second)
    single = jit(lambda v: (v * 2.0).T)(np.ones((2, 3)))   # a view of a new array: kept
    assert single.shape == (3, 2) and not single.flags.owndata


def test_scatters_accumulate_repeated_and_negative_aliasing_indices():
    def f(a):
        return np.sum(a ** 2) + np.sum(np.sin(a[np.array([-1, 1])]))
    x = np.array([0.3, 0.7])
    want = 2 * x + np.array([0.0, 2 * np.cos(0.7)])
    np.testing.assert_allclose(grad(f)(x), want)
    np.testing.assert_allclose(jit(grad(f))(x), want)
    h = jit(grad(lambda a: np.sum(np.sin(a[np.array([0, 2, 0])]) * a[np.array([1, 1, 1])])))
    y = np.array([0.2, 0.5, 0.9])
    np.testing.assert_allclose(h(y), grad(lambda a: np.sum(np.sin(a[np.array([0, 2, 0])])
                                                          * a[np.array([1, 1, 1])]))(y))


def test_augmented_assignment_on_an_argument():
    def inc(x):
        x += 1
        return x * 2
    x = np.ones(2)
    np.testing.assert_array_equal(jit(inc)(x), [4.0, 4.0])
    np.testing.assert_array_equal(x, np.ones(2))   # as under grad: the caller's array stays
    np.testing.assert_array_equal(jit(grad(lambda x: np.sum(inc(x))))(x), [2.0, 2.0])


def test_int_and_float_subclass_indices_and_constants():
    import enum

    class Axis(enum.IntEnum):
        SECOND = 1

    class Scale(float):
        def __repr__(self):
            return "Scale(?)"
    x = np.arange(3.0)
    assert jit(lambda x: x[Axis.SECOND] * 2.0)(x) == 2.0
    assert jit(lambda x, i: x[i] * 2.0)(x, Axis.SECOND) == 2.0
    s = Scale(0.1 + 1e-17 * 0 + 2.0 ** -40)
    np.testing.assert_array_equal(jit(lambda x: x * s)(x), x * float(s))   # the full value


def test_non_numpy_arrays_are_refused_with_the_fix():
    class DaskLike:   # an array type that is not NumPy's (Dask, CuPy)
        shape, dtype = (3,), np.dtype(float)
    for call in (lambda: jit(np.sin)(DaskLike()), lambda: riesz.trace(np.sin)(DaskLike()),
                 lambda: riesz.source(np.sin, DaskLike())):
        with pytest.raises(TypeError, match="not a NumPy array.*stage NumPy programs.*eagerly"):
            call()


def test_a_dask_array_is_refused_and_runs_eagerly():
    da = pytest.importorskip("dask.array")
    x = da.from_array(np.linspace(0.0, 1.0, 4), chunks=2)
    with pytest.raises(TypeError, match="dask.array.core.Array, not a NumPy array"):
        jit(grad(lambda v: np.sum(np.sin(v))))(x)
    np.testing.assert_allclose(grad(lambda v: np.sum(np.sin(v)))(x).compute(),
                               np.cos(np.linspace(0.0, 1.0, 4)))


def test_program_cache_is_bounded_with_a_warning_and_can_be_cleared():
    f = jit(lambda x: x * 2.0, cache_size=2)
    f(np.ones(1))
    f(np.ones(2))
    with pytest.warns(RuntimeWarning, match="staged more than 2 programs"):
        f(np.ones(3))
    assert len(f.programs) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # one warning per function
        f(np.ones(4))
        np.testing.assert_array_equal(f(np.ones(2)), [2.0, 2.0])
    f.clear_cache()
    assert len(f.programs) == 0
    np.testing.assert_array_equal(f(np.ones(2)), [2.0, 2.0])



def test_reductions_with_a_traced_where_mask_are_staged():
    # np.mean(x, where=x > c) and np.sum(..., where=...) converted the staged mask to a
    # NumPy array: jit warned and ran the whole function eagerly
    def f(x):
        return (np.sum(x * np.mean(x, where=x > 0.2)) + np.sum(x ** 2, where=x < 0.5)
                + np.sum(np.mean(x.reshape(2, 3), axis=1, where=[[True, False, True]])))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        jitted, jitted_grad = riesz.jit(f), riesz.jit(riesz.grad(f))
        for x in (np.arange(6.0) - 2, np.linspace(-1, 1, 6)):
            np.testing.assert_allclose(jitted(x), f(x), rtol=1e-12)
            np.testing.assert_allclose(jitted_grad(x), riesz.grad(f)(x), rtol=1e-12)


def test_a_function_with_no_array_outputs_returns_them_as_eager():
    # a forgotten return (None), or only empty containers: the program has no outputs
    x = np.ones(3)
    for f in (lambda t: None, lambda t: (), lambda t: {}, lambda t: [None, ()]):
        jitted = jit(f)
        assert jitted(x) == f(x) and jitted(x + 1) == f(x)   # the second call: the cached path
    assert riesz.trace(lambda t: None)(x)(x) is None


# ---- floating-point warnings: where eager code warns, and only there

def _singular_sqrt(x):
    return np.sum(np.where(x > 0, np.sqrt(np.abs(x)), 0.0))


def test_a_jitted_gradient_at_a_singular_point_warns_as_little_as_eager():
    # sqrt'(0) = ∞ meets the where's zero cotangent: the backward pass forms 1/0 and 0 × ∞,
    # which grad silences; the program sets the same error handling around its backward
    # lines, in both its runs (plain products, then zero-safe ones)
    x = np.array([0.0, 1.0, 4.0])
    g = jit(grad(_singular_sqrt))
    program = riesz.trace(grad(_singular_sqrt))(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(grad(_singular_sqrt)(x), [0.0, 0.5, 0.25])
        for _ in range(2):   # staged, then run
            np.testing.assert_array_equal(g(x), [0.0, 0.5, 0.25])
        # the equations interpreted one by one (a transform applied to the program) too
        np.testing.assert_array_equal(program.bind_eval([x])[0], [0.0, 0.5, 0.25])
    source = program.source()
    assert "with np.errstate(divide='ignore', invalid='ignore', over='ignore'):" in source
    assert source.index("np.errstate") > source.index("np.sqrt(")   # not around the forward


def test_a_jitted_function_warns_where_eager_code_does():
    def f(x):
        return np.log(x)
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        f(np.zeros(2))
    jf = jit(f)
    for _ in range(2):
        with pytest.warns(RuntimeWarning, match="divide by zero"):
            np.testing.assert_array_equal(jf(np.zeros(2)), [-np.inf, -np.inf])


def test_the_users_errstate_is_staged_with_the_lines_it_covers():
    def f(x):
        with np.errstate(divide="ignore"):
            y = np.log(x)
        return y, 1.0 / x
    x = np.zeros(2)
    with pytest.warns(RuntimeWarning, match="divide by zero") as record:
        f(x)
    assert len(record) == 1   # 1 / x only
    jf = jit(f)
    for _ in range(2):
        with pytest.warns(RuntimeWarning, match="divide by zero") as record:
            y, z = jf(x)
        assert len(record) == 1
        np.testing.assert_array_equal(y, [-np.inf, -np.inf])
        np.testing.assert_array_equal(z, [np.inf, np.inf])
    assert "with np.errstate(divide='ignore'):" in riesz.trace(f)(x).source()


def test_a_backward_pass_written_into_later_lines_leaves_no_empty_errstate_block():
    # each pullback is a transpose, written as a view into the stack: the backward pass's
    # error handling block has its comment and no statement (an IndentationError before)
    f = lambda X, CT: np.stack([vjp(lambda x: x.T, X[k])[1](CT[k])[0] for k in range(2)])
    X, CT = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 3))
    np.testing.assert_array_equal(jit(f)(X, CT), f(X, CT))
    compile(riesz.source(f, X, CT), "<source>", "exec")


def test_a_staged_size_in_numpys_own_error_names_static_argnums():
    # np.zeros(n) converts n itself and replaces riesz's error with its own, which quotes
    # the staged value's repr: the fix is in it
    def f(x, n):
        return np.zeros(n) + np.sum(x)
    with pytest.raises(TypeError, match=r"StagingTracer\(int64\[\]: a size must be static, "
                                        r"static_argnums\)"):
        jit(f)(np.ones(3), np.array(3))
    np.testing.assert_array_equal(jit(f, static_argnums=1)(np.ones(3), 3), [3.0, 3.0, 3.0])


def test_a_function_returned_from_a_jitted_function_is_refused():
    # vjp's pullback closes over the staging's values: calling it after staging gave staged
    # placeholders, not numbers
    f = np.sin
    with pytest.raises(TypeError, match="an output is a function .*returns arrays"):
        jit(lambda x: vjp(f, x))(np.ones(2))
    with pytest.raises(TypeError, match="an output is a function"):
        jit(lambda x: (x, lambda: x * 2))(np.ones(2))
    (ct,) = jit(lambda x, ct: vjp(f, x)[1](ct))(np.ones(2), np.ones(2))
    np.testing.assert_allclose(ct, np.cos(np.ones(2)))


def test_a_staged_value_kept_past_its_staging_raises_when_used():
    # stored in a list while staging and used afterwards: EscapedTracerError, as for the
    # other transforms (it gave more staged placeholders, never numbers)
    saved = []

    def f(x):
        saved.append(x * 2)
        return np.sum(x)
    assert jit(f)(np.ones(3)) == 3.0
    with pytest.raises(riesz.EscapedTracerError, match="add was applied to a traced value"):
        saved[0] + 1
    with pytest.raises(riesz.EscapedTracerError):
        np.sin(saved[0])
