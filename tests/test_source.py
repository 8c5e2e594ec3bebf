"""riesz.source: generated NumPy code of first and second derivatives, for every spec case.

Table-driven over tests/specs, so primitives added to the rule table are covered as soon
as they have a spec: the derivative's source is executed with NumPy alone (a fresh
namespace holding only ``numpy``) and must match eager riesz.
"""
import ast

import numpy as np
import pytest

import riesz
from riesz import jvp, vjp
from specs import SPECS


def _random_like(tree, rng):
    return riesz.tree_map(
        lambda x: np.asarray(rng.standard_normal(np.shape(x)), dtype=np.result_type(x)), tree)


def _derivatives(f, args, rng):
    """(name, function of flat arrays, its arguments) for the first and second derivatives
    of ``f`` in both modes; cotangents and tangents are arguments, not constants."""
    n = len(args)
    ct = _random_like(f(*args), rng)
    tangents = tuple(_random_like(a, rng) for a in args)

    def rev1(*a):
        return vjp(f, *a[:n])[1](a[n])

    def fwd1(*a):
        return jvp(f, a[:n], a[n:])[1]

    ct2 = _random_like(tuple(rev1(*args, ct)), rng)

    def rev2(*a):
        return vjp(lambda *p: rev1(*p, a[n]), *a[:n])[1](a[n + 1:])

    def fwd2(*a):
        return jvp(lambda *p: fwd1(*p, *a[n:]), a[:n], a[n:])[1]

    return [("rev1", rev1, args + (ct,)), ("fwd1", fwd1, args + tangents),
            ("rev2", rev2, args + (ct,) + ct2), ("fwd2", fwd2, args + tangents)]


def _run_source(text, name, args):
    """Run generated source in a namespace of its own: its last function is the program,
    taking and returning the flattened pytree leaves."""
    namespace = {}
    exec(compile(text, f"<generated {name}>", "exec"), namespace)
    last = [node.name for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)][-1]
    out = namespace[last](*riesz.tree_flatten(args)[0])
    return out if isinstance(out, tuple) else (out,)


CASES = [(name, i, case, dtype) for name, cases in sorted(SPECS.items())
         for i, case in enumerate(cases) for dtype in case.dtypes]


@pytest.mark.parametrize("name,i,case,dtype", CASES, ids=[f"{n}-{i}-{d}" for n, i, _, d in CASES])
def test_generated_derivatives_match_eager(name, i, case, dtype):
    rng = np.random.default_rng(abs(hash((name, i, "source"))) % 2**32)
    args = case.args(rng, dtype)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)
    for kind, fn, fargs in _derivatives(case.fn, args, rng):
        try:
            expected = fn(*fargs)
        except riesz.NoRuleError:
            continue   # the mode is not supported eagerly either
        text = riesz.source(fn, *fargs)   # every rule stages: none needs concrete values
        assert "import riesz" not in text and "from riesz" not in text, text
        got, want = _run_source(text, kind, fargs), riesz.tree_flatten(expected)[0]
        assert len(got) == len(want), f"{kind}: {len(got)} results, expected {len(want)}"
        for g, e in zip(got, want):
            np.testing.assert_allclose(g, e, err_msg=f"{kind} of {name} case {i}\n{text}", **tol)
            assert np.result_type(g) == np.result_type(e), f"{kind}: dtype\n{text}"


# ------------------------------------------------------------- readability

W = np.random.default_rng(1).standard_normal((3, 4))


def mlp_layer(x):
    y = W @ x
    z = np.tanh(y)
    return np.sum(z ** 2)


def test_names_come_from_the_users_code():
    text = riesz.source(riesz.grad(mlp_layer), np.ones(4))
    assert "def grad_mlp_layer(x, *, W):" in text
    assert "y = W @ x" in text
    assert "z = np.tanh(y)" in text
    assert "dx = W.T @ dy" in text
    assert "# backward of test_source.py" in text and ": y = W @ x" in text


def test_weight_gradient_reads_like_the_outer_product():
    def loss(W, x):
        y = W @ x
        z = np.tanh(y)
        return np.sum(z)
    text = riesz.source(riesz.grad(loss), W, np.ones(4))
    assert "dW = dy[:, None] @ x[None, :]" in text
    assert "dy = " in text


def test_cotangents_accumulate_in_place():
    def f(x, y):
        a = np.sin(x) * y
        b = np.maximum(a, 0.1)
        return np.sum(np.exp(b)) + np.max(a)
    x, y = np.linspace(0, 1, 5), np.linspace(1, 2, 5)
    text = riesz.source(riesz.grad(f), x, y)
    assert "da += " in text     # a reaches the output along two paths
    namespace = {}
    exec(text, namespace)
    np.testing.assert_allclose(namespace["grad_f"](x, y), riesz.grad(f)(x, y), rtol=1e-14)


def test_large_constants_become_keyword_arguments():
    big = np.arange(100.0)

    def f(x):
        return np.sum(np.sin(x * big))
    x = np.linspace(0, 1, 100)
    text = riesz.source(riesz.grad(f), x)
    assert "def grad_f(x, *, big):" in text
    namespace = {}
    exec(text, namespace)
    np.testing.assert_allclose(namespace["grad_f"](x, big=big), np.cos(x * big) * big, rtol=1e-14)


def test_loop_lines_are_named_each_time():
    def chain(x):
        for _ in range(3):
            x = np.sin(x)
        return np.sum(x)
    text = riesz.source(chain, np.ones(2))
    assert [line.strip() for line in text.splitlines()].count("x = np.sin(x)") == 3


def test_unprintable_primitive_names_the_fix():
    from riesz.core import Primitive
    p = Primitive("mystery", type("Impl", (), {"__call__": lambda self, x: x})(),
                  jvps=[lambda t, ans, x: t])
    with pytest.raises(NotImplementedError, match="printing hint"):
        riesz.source(lambda x: p(x), np.ones(2))


def test_docs_show_the_generated_source_of_the_seeds_examples():
    import os
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(root, "examples"))
    try:
        import seeds_source
    finally:
        sys.path.pop(0)
    with open(seeds_source.DOCS, encoding="utf-8") as fh:
        doc = fh.read()
    for name, text in seeds_source.generated().items():
        shown = seeds_source.block_pattern(name).search(doc)
        assert shown is not None and shown.group(2) == text, (
            f"docs/source.md is out of date for the {name} example (run python "
            f"examples/seeds_source.py --docs):\n{text}")
    f, args = seeds_source.EXAMPLES["four variables"]
    namespace = {}
    exec(seeds_source.generated()["four variables"], namespace)
    assert namespace["grad_four_variables"](*args) == (-4096.0,) * 4


def test_tangents_are_named_after_their_primals():
    def f(x):
        y = np.sin(x)
        z = y * x
        return z
    text = riesz.source(lambda x, t: riesz.jvp(f, (x,), (t,)), np.ones(3), np.ones(3))
    assert "y_dot = " in text and "z_dot = " in text
    namespace = {}
    exec(text, namespace)
    x, t = np.linspace(0, 1, 3), np.linspace(1, 2, 3)
    np.testing.assert_allclose(namespace["_lambda_"](x, t)[1], riesz.jvp(f, (x,), (t,))[1])


def test_variables_never_shadow_copied_helpers():
    from riesz.core import Primitive

    def halve(x):
        return x / 2

    p = Primitive("test_halve", halve)

    def f(x):
        halve = np.sin(x)
        return p(halve) * 3.0
    text = riesz.source(f, np.ones(3))
    assert "def halve(x):" in text and "halve_2 = np.sin(x)" in text
    namespace = {}
    exec(text, namespace)
    np.testing.assert_allclose(namespace["f"](np.ones(3)), np.sin(1.0) / 2 * 3.0)


# ---------------------------------------------------------------- text from outside riesz

_PAYLOAD = '__import__("builtins").__dict__.__setitem__("RIESZ_PWNED", 1)'


class _EvilInt(int):
    def __repr__(self):
        return _PAYLOAD

    __str__ = __format__ = lambda self, *a: _PAYLOAD


class _EvilFloat(float):
    def __repr__(self):
        return _PAYLOAD

    __str__ = __format__ = lambda self, *a: _PAYLOAD


class _EvilStr(str):
    def __repr__(self):
        return _PAYLOAD

    __str__ = __format__ = lambda self, *a: _PAYLOAD


def test_hostile_names_and_reprs_run_no_payload():
    import builtins
    import io
    import tokenize
    breakout = f'\n{_PAYLOAD}\n"""\n{_PAYLOAD}\n#'
    namespace = {"np": np}
    exec(compile("def f(x, p):\n    return np.sum(x * p['a'] * p['b']) + np.sum(np.tanh(p['\ufb01']) "
                 "* p['fi'] * p['\u00b5'] * p['\u03bc'])\n", "evil" + breakout + ".py", "exec"),
         namespace)
    f = namespace["f"]
    f.__name__ = f.__qualname__ = _EvilStr("f" + breakout)
    f.__doc__ = breakout
    p = {"a": np.ones(3), "b" + breakout: np.ones(3), "\ufb01": np.ones(3), "fi": np.ones(3),
         "\u00b5": np.ones(3), "\u03bc": np.ones(3)}
    p["b"] = p.pop("b" + breakout)   # f reads p['b']: the hostile key is a second dict below
    q = dict(p, **{breakout: np.ones(3)})

    def g(x, q, k, s):
        return f(x * _EvilFloat(0.1 + 2.0 ** -40), q) * x[_EvilInt(1)] + \
            np.einsum(_EvilStr("i,i->"), x, x) * k
    g.__name__ = _EvilStr("g" + breakout)
    x = np.arange(3.0) + 0.5
    texts = [riesz.source(riesz.grad(g), x, q, 2, "s", static_argnums=3),
             riesz.source(riesz.grad(g, argnums=1), x, q, 2, "s", static_argnums=3),
             riesz.graph(riesz.grad(g), x, q, 2, "s", static_argnums=3)]
    for text in texts[:2]:
        ns = {}
        exec(text, ns)   # runs as printed
    want = riesz.grad(g)(x, q, 2, "s")
    got = riesz.jit(riesz.grad(g), static_argnums=3)(x, q, 2, "s")
    np.testing.assert_allclose(got, want, rtol=1e-14)
    assert not hasattr(builtins, "RIESZ_PWNED")
    for text in texts[:2]:   # the payload is in comments, strings and longer names only
        tokens = tokenize.generate_tokens(io.StringIO(text).readline)
        assert "__import__" not in {tok.string for tok in tokens if tok.type == tokenize.NAME}
    # the float subclass keeps its full value, the IntEnum-like index its int
    assert repr(0.1 + 2.0 ** -40) in texts[0]


def test_names_that_are_one_python_name_are_told_apart():
    def f(p):
        return np.sum(p["\ufb01"] * 2.0 + p["fi"] * 3.0 + p["\u00b5"] * 5.0 + p["\u03bc"] * 7.0)
    p = {k: np.full(2, float(i + 1)) for i, k in enumerate(["\ufb01", "fi", "\u00b5", "\u03bc"])}
    text = riesz.source(f, p)
    ns = {}
    exec(text, ns)
    np.testing.assert_allclose(ns["f"](p), f(p))   # takes the dict, as f does


def test_the_printed_function_takes_the_original_arguments():
    def loss(params, x, n):
        (W1, b1), W2 = params
        return np.sum((W2 @ np.tanh(W1 @ x + b1)) ** n)
    params = ((np.linspace(-1, 1, 6).reshape(3, 2), np.zeros(3)), {"W": np.ones((1, 3))})
    params = (params[0], params[1]["W"])
    x = np.array([0.5, -0.25])
    text = riesz.source(riesz.grad(loss), params, x, 2, static_argnums=2)
    assert "def grad_loss(params, x, n):" in text and "assert n == 2" in text
    ns = {}
    exec(text, ns)
    got, want = ns["grad_loss"](params, x, 2), riesz.grad(loss)(params, x, 2)
    for g, w in zip(riesz.tree_leaves(got), riesz.tree_leaves(want)):
        np.testing.assert_allclose(g, w, rtol=1e-14)
    assert riesz.tree_flatten(got)[1] == riesz.tree_flatten(want)[1]   # the same structure
    with pytest.raises(AssertionError, match="staged for n == 2"):
        ns["grad_loss"](params, x, 3)
    with pytest.raises(AssertionError, match=r"staged for x: float64\[2\]"):
        ns["grad_loss"](params, np.ones(3), 2)   # not a silently wrong answer


def test_a_copied_mean_gradient_refuses_another_length():
    text = riesz.source(riesz.grad(lambda x: np.mean(x ** 2)), np.ones(4))
    ns = {}
    exec(text, ns)
    np.testing.assert_allclose(ns["grad__lambda_"](np.full(4, 2.0)), np.full(4, 1.0))
    with pytest.raises(AssertionError, match=r"float64\[4\]"):
        ns["grad__lambda_"](np.full(8, 2.0))   # the 1/4 is in the code: 2x wrong otherwise


def test_the_printed_function_is_named_after_its_transforms():
    def loss(x):
        return np.sum(np.sin(x))
    x = np.ones(3)
    for f, name in [(riesz.grad(loss), "grad_loss"), (riesz.hessian(loss), "hessian_loss"),
                    (riesz.jit(riesz.grad(loss)), "grad_loss"),
                    (riesz.vmap(riesz.grad(loss)), "vmap_grad_loss"), (loss, "loss")]:
        args = (np.ones((2, 3)),) if name.startswith("vmap") else (x,)
        assert f"def {name}(" in riesz.source(f, *args)
