"""Property tests over random shapes and broadcasting."""
import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import riesz
from riesz.testing import check_grads

shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


@settings(max_examples=25, deadline=None)
@given(shapes, st.sampled_from(["add", "mul", "div", "max"]), st.integers(0, 2**31))
def test_broadcasting_binary(bshapes, op, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(bshapes.input_shapes[0])
    b = np.abs(rng.standard_normal(bshapes.input_shapes[1])) + 0.5
    f = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
         "max": lambda a, b: np.maximum(a, b)}[op]
    check_grads(lambda a, b: np.tanh(f(a, b)), (a, b), order=1)
    ga, gb = riesz.grad(lambda a, b: np.sum(f(a, b)), argnums=(0, 1))(a, b)
    assert np.shape(ga) == np.shape(a) and np.shape(gb) == np.shape(b)


@settings(max_examples=25, deadline=None)
@given(hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), st.data())
def test_sum_over_any_axes(shape, data):
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    keepdims = data.draw(st.booleans())
    x = np.random.default_rng(len(axes)).standard_normal(shape)
    f = lambda x: np.sum(np.sin(x), axis=tuple(axes), keepdims=keepdims) ** 2
    check_grads(f, (x,), order=2)
