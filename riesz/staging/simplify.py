"""Simplifying a staged program: constant folding, algebraic rewrites, common
subexpressions, dead code.

One forward pass over the equations (a program's equations are in a topological
order; a rewritten equation is simplified again in turn) substitutes what earlier
rewrites replaced, then for each equation

* lets an elementwise operation broadcast by itself: broadcast_to(v) and reshapes that
  only add leading unit axes are read through, a literal array of one value becomes a
  scalar of its dtype;
* folds it into a literal when all its inputs are literals and its result is small
  (never the user's own named arrays: ``W.T`` reads better than its values);
* drops it when it is an identity on one of its inputs, of the same shape and dtype:
  x + 0, x − 0, x ⊙ 1 and x / 1 (for real x: a complex product with 1 + 0j is not
  exact in NumPy), x¹, −(−x), ``where`` with a known condition, a transpose
  of a transpose that permutes back, a reshape or broadcast to the shape it already
  has, a cast to its own dtype;
* rewrites it into simpler equations: a sum over exactly the axes a broadcast created
  as n·y (the transpose of copying sums the copies), x ⊙ (−1) as −x, a transpose that
  only moves unit axes as a reshape, a reshape of a reshape as one, a matrix product
  with a vector the matmul rule promoted to a matrix and back as the matrix-vector
  product, and so a sum over the last axis of a product with a broadcast vector (its
  axis kept or not), a zero-safe product with a finite nonzero constant as a plain
  product, x⁰ as ones (a derivative's factor y xʸ⁻¹ at y = 1);
* reuses an earlier equation with the same primitive, inputs and parameters.

A backward walk then drops every equation no output needs.
"""
import numpy as np

from ..rules.define import ELEMENTWISE
from ..rules.elementwise import multiply, negative, subtract
from ..rules.linalg import matmul
from ..rules.shape import broadcast_to, reshape
from .ir import Eqn, Literal, Var, resolve

__all__ = ["simplify"]

# results with at most this many elements are folded into literals
FOLD_LIMIT = 64


def simplify(program):
    """A simplified copy of ``program`` (same inputs and outputs, fewer equations)."""
    eqns, st = _rewrite(program.eqns, set(program.const_hints))
    outputs = [st.resolve(o) for o in program.outputs]
    return program.replace(_dce(eqns, outputs), outputs)


# ---------------------------------------------------------------- the forward pass

class _State:
    def __init__(self):
        self.subst = {}      # id(Var) -> the Var or Literal that replaces it
        self.producer = {}   # id(Var) -> the Eqn that computes it
        self.fill = {}       # id(Var) -> c when every element of it is the scalar c
        self.seen = {}       # CSE key -> outputs of the first equation with that key
        self.named = set()   # ids of arrays the user named: never folded
        self.uniform_arrays = {}   # id(array) -> its one value, or None

    def resolve(self, x):
        while isinstance(x, Var) and id(x) in self.subst:
            x = self.subst[id(x)]
        return x

    def uniform(self, x):
        """The scalar every element of ``x`` equals, or None."""
        if isinstance(x, Literal):
            v = x.value
            if isinstance(v, (bool, int, float, complex, np.generic)):
                return v
            if isinstance(v, np.ndarray) and v.size and id(v) not in self.named:
                if id(v) not in self.uniform_arrays:   # the seed cotangent 1, broadcast
                    self.uniform_arrays[id(v)] = v.flat[0] if np.all(v == v.flat[0]) else None
                return self.uniform_arrays[id(v)]
            return None
        return self.fill.get(id(x))


def _rewrite(eqns, named):
    """``named``: ids of the user's named arrays, kept as they are (never folded)."""
    st = _State()
    st.named = named
    out = []
    todo = list(reversed(eqns))   # a stack: rewritten equations are simplified in turn
    while todo:
        e = todo.pop()
        inputs = _narrow(e, [st.resolve(i) for i in e.inputs], st)
        e = Eqn(e.prim, inputs, e.params, e.outputs, e.where, e.group, e.names, e.errstate)
        if _fold(e, st) or _identity(e, st):
            continue
        replacement = (_row_sum_of_picks(e, st) or _sum_of_broadcast(e, st)
                       or _matrix_vector(e, st)
                       or _reshape_like(e, st) or _negation(e, st) or _plain_product(e, st)
                       or _contraction(e, st)
                       or _negated_sum(e, st) or _subtraction(e, st) or _power_of_zero(e, st))
        if replacement is not None:
            todo.extend(reversed(replacement))
            continue
        key = _cse_key(e)
        if key is not None and key in st.seen:
            for mine, theirs in zip(e.outputs, st.seen[key]):
                st.subst[id(mine)] = theirs
            continue
        if key is not None:
            st.seen[key] = e.outputs
        for v in e.outputs:
            st.producer[id(v)] = e
        if e.prim.name in ("broadcast_to", "reshape", "astype") and st.uniform(inputs[0]) is not None:
            st.fill[id(e.outputs[0])] = st.uniform(inputs[0])
        out.append(e)
    return out, st


def _narrow(e, inputs, st):
    """The inputs of an elementwise equation with broadcasts undone where the operation
    broadcasts anyway: broadcast_to(v, S) as v, a literal array of one value as a scalar
    of its dtype (the same result, dtype and shape; less memory traffic)."""
    elementwise_ufunc = isinstance(e.prim.impl, np.ufunc) and e.prim.impl.signature is None
    if (e.prim.name not in ELEMENTWISE and not elementwise_ufunc) or e.prim.multiple_results:
        return inputs
    narrow = []
    for x in inputs:
        inner = st.producer.get(id(x)) if isinstance(x, Var) else None
        while inner is not None and (inner.prim.name == "broadcast_to" or _adds_leading_axes(inner)):
            x = inner.inputs[0]
            inner = st.producer.get(id(x)) if isinstance(x, Var) else None
        if (isinstance(x, Literal) and isinstance(x.value, np.ndarray) and x.value.ndim
              and st.uniform(x) is not None):
            x = Literal(x.value.dtype.type(st.uniform(x)))
        narrow.append(x)
    if all(a is b for a, b in zip(narrow, inputs)):
        return inputs   # nothing undone: no shape or dtype to compare
    try:
        same = np.broadcast_shapes(*[x.shape for x in narrow]) == e.outputs[0].shape
    except ValueError:
        same = False
    # and the same dtype: NumPy 1's value-based casting takes a scalar (or a 0-d array) by
    # its value's kind, so np.where(c, np.float32(1), 0.0) is float64 where the float32
    # array it stands for kept float32 (NumPy 2 decides on the dtypes alone: no change)
    return narrow if same and _promoted(narrow) == _promoted(inputs) else inputs


def _promoted(inputs):
    """The result type NumPy gives these inputs, from their shapes and dtypes (a variable's
    values do not matter: both sides of the comparison hold the same zeros)."""
    def example(x):
        if isinstance(x, Literal):
            return x.value
        if x.scalar_type is not None:
            return x.scalar_type(0)
        return np.zeros((1,) * len(x.shape), x.dtype) if x.shape else np.zeros((), x.dtype)
    return np.result_type(*[example(x) for x in inputs])


def _adds_leading_axes(e):
    """Whether ``e`` is a reshape that only puts unit axes in front (which broadcasting does)."""
    if e.prim.name != "reshape":
        return False
    shape, inner = e.outputs[0].shape, e.inputs[0].shape
    lead = len(shape) - len(inner)
    return lead >= 0 and shape[lead:] == inner and set(shape[:lead]) <= {1}


def _fold(e, st):
    if e.prim.multiple_results or not all(isinstance(i, Literal) for i in e.inputs):
        return False
    if any(id(i.value) in st.named for i in e.inputs):
        return False   # W.T reads better than its values
    if e.outputs[0].size > FOLD_LIMIT:
        return False
    with np.errstate(all="ignore"):
        args, params = resolve(e, [i.value for i in e.inputs])
        value = e.prim.impl(*args, **params)
    st.subst[id(e.outputs[0])] = Literal(value)
    return True


def _same_type(var, x):
    """Whether ``x`` can stand for ``var``: the same shape, dtype and kind of value."""
    if isinstance(x, Literal):
        return False   # keep literals where they are; folding handles small ones
    return x.shape == var.shape and x.dtype == var.dtype and x.scalar_type == var.scalar_type


def _identity(e, st):
    """Whether ``e`` computes one of its inputs unchanged; if so, substitute that input."""
    kept = _kept_input(e, st)
    if kept is None or not _same_type(e.outputs[0], kept):
        return False
    st.subst[id(e.outputs[0])] = kept
    producer = st.producer.get(id(kept))
    if e.names is not None and producer is not None and producer.group == e.group:
        producer.names = e.names   # g * 1 was the statement's result: now g is
    return True


def _zero_signs(z):
    """For a zero ``z``, the sign bit of each of its components (real, and imaginary for a
    complex zero); None when ``z`` is not known to be zero."""
    if z is None or z != 0:
        return None
    parts = (z.real, z.imag) if np.iscomplexobj(z) else (z,)
    return [bool(np.signbit(np.float64(part))) for part in parts]


def _kept_input(e, st):
    name, ins = e.prim.name, e.inputs
    if name == "add":   # x + (−0) = x; x + (+0) too, except −0 + (+0) = +0 in floating point
        for x, zero in ((ins[0], ins[1]), (ins[1], ins[0])):
            signs = _zero_signs(st.uniform(zero))
            if signs is not None and (all(signs) or x.dtype.kind not in "fc"):
                return x
        return None
    if name == "subtract":   # x − (+0) = x for every x (and −0 − 0 = −0)
        signs = _zero_signs(st.uniform(ins[1]))
        return ins[0] if signs is not None and not any(signs) else None
    if name in ("multiply", "divide") and e.outputs[0].dtype.kind == "c":
        return None   # NumPy's complex x · (1 + 0j) is not x: (−∞ + 0j)·1 = −∞ + nan j,
                      # (−0 − 1j)·1 = +0 − 1j (and likewise x / 1 at infinities)
    if name == "multiply":   # (the factor that is not 1, of the product's type)
        for x, one in ((ins[0], ins[1]), (ins[1], ins[0])):
            if st.uniform(one) == 1 and _same_type(e.outputs[0], x):
                return x
        return None
    if name == "divide":
        return ins[0] if st.uniform(ins[1]) == 1 else None
    if name == "power":
        return ins[0] if st.uniform(ins[1]) == 1 else None
    if name == "where":   # a condition known everywhere selects one branch
        c = st.uniform(ins[0])
        return None if c is None else ins[1] if c else ins[2]
    if name in ("reshape", "broadcast_to", "astype"):
        return ins[0]   # kept only where the shape and dtype already agree
    inner = st.producer.get(id(ins[0])) if isinstance(ins[0], Var) else None
    if inner is None or inner.prim is not e.prim:
        return None
    if name == "negative":
        return inner.inputs[0]   # −(−x) = x
    axes, inner_axes = e.param("axes", 1), inner.param("axes", 1)
    if name == "transpose" and axes is not None and inner_axes is not None and \
            tuple(np.take(inner_axes, axes)) == tuple(range(len(axes))):
        return inner.inputs[0]   # the second permutation undoes the first
    return None


def _row_sum_of_picks(e, st):
    """Σ_j of the scatter that transposes a pick of one element per row, x[arange(n), cols]:
    scatter_add(g, (arange(n), cols), (n, k)) has g[i] in row i and zeros elsewhere, so its
    sum over the columns is g itself (g[i] + 0 + … + 0 = g[i] exactly), reshaped to the
    sum's shape (keepdims); or None."""
    if e.prim.name != "sum" or not isinstance(e.inputs[0], Var):
        return None
    inner = st.producer.get(id(e.inputs[0]))
    if inner is None or inner.prim.name != "scatter_add":
        return None
    g, axis = inner.inputs[0], e.param("axis", 1)
    idx, shape = inner.params.get("idx"), inner.params.get("shape")
    if not (isinstance(idx, tuple) and len(idx) == 2 and shape is not None and len(shape) == 2
            and axis in ((0,), (1,))):
        return None
    rows = idx[1 - axis[0]]
    n = shape[1 - axis[0]]
    out = e.outputs[0]
    if not (isinstance(rows, np.ndarray) and rows.shape == (n,) and g.shape == (n,)
            and g.dtype == out.dtype and np.array_equal(rows, np.arange(n))):
        return None
    return [Eqn(reshape, [g], {"shape": out.shape}, [out], e.where, e.group, e.names, e.errstate)]


def _sum_of_broadcast(e, st):
    """Σ over exactly the axes that ``broadcast_to`` created, as n·y (reshaped); or None."""
    if e.prim.name != "sum" or not isinstance(e.inputs[0], Var):
        return None
    inner = st.producer.get(id(e.inputs[0]))
    if inner is None or inner.prim.name != "broadcast_to":
        return None
    y, shape, axis = inner.inputs[0], inner.param("shape", 1), e.param("axis", 1)
    if shape is None or axis is None or not isinstance(y, Var) or len(e.inputs) != 1:
        return None
    lead = len(shape) - len(y.shape)
    created = set(range(lead)) | {lead + i for i, n in enumerate(y.shape)
                                  if n == 1 and shape[lead + i] != 1}
    axes = set(axis)
    if axes != created or not axes:
        return None
    count = int(np.prod([shape[a] for a in axes]))
    if count == 1:
        return None
    out = e.outputs[0]
    new = []
    if y.shape != out.shape:
        mid = Var(np.empty(out.shape, dtype=y.dtype))
        new.append(Eqn(reshape, [y], {"shape": out.shape}, [mid], e.where, e.group,
                       errstate=e.errstate))
        y = mid
    new.append(Eqn(multiply, [y, Literal(count)], {}, [out], e.where, e.group, e.names,
                   e.errstate))
    return new


def _reshape_like(e, st):
    """A transpose that keeps the order of the axes longer than 1 moves unit axes only: it is a
    reshape; and a reshape of a reshape is one reshape. None when neither applies."""
    x, out = e.inputs[0], e.outputs[0]
    if e.prim.name == "transpose":
        axes = e.param("axes", 1)
        moved = [a for a in (axes or ()) if x.shape[a] != 1]
        if axes is None or moved != sorted(moved):
            return None
        return [Eqn(reshape, [x], {"shape": out.shape}, [out], e.where, e.group, e.names,
                    e.errstate)]
    if e.prim.name == "reshape" and isinstance(x, Var):
        inner = st.producer.get(id(x))
        if inner is not None and inner.prim is reshape:
            return [Eqn(reshape, [inner.inputs[0]], {"shape": out.shape}, [out], e.where,
                        e.group, e.names, e.errstate)]
    return None


def _negation(e, st):
    """x ⊙ (−1) as −x (so that −(−x) cancels); None otherwise."""
    if e.prim.name != "multiply" or e.params:
        return None
    for k in (0, 1):
        x = e.inputs[1 - k]
        if st.uniform(e.inputs[k]) == -1 and isinstance(x, Var) and _same_type(e.outputs[0], x):
            return [Eqn(negative, [x], {}, e.outputs, e.where, e.group, e.names, e.errstate)]
    return None


def _plain_product(e, st):
    """A zero-safe product (0 × ∞ = 0, riesz.rules.define.scale) with a finite nonzero
    constant factor is a plain product; None otherwise.

    A product with a boolean mask m is not: g may be ∞ where m is false (relu' · ∞ at
    x < 0 must give 0). ``where(m, g, 0)`` would be exact, but on a mask of random signs
    NumPy's where runs 5-10× slower than the product and its finiteness check together
    (its loop branches on every element)."""
    if e.prim.name != "zero_safe_multiply" or e.params:
        return None
    for x in e.inputs:
        c = st.uniform(x)
        if c is not None and np.isfinite(c) and c != 0:
            return [Eqn(multiply, list(e.inputs), {}, e.outputs, e.where, e.group, e.names,
                        e.errstate)]
    return None


def _contraction(e, st):
    """Σ over the last axis of a ⊙ v, for a plain product of an array a (…, k) with a
    vector v (k,) that broadcasting stretched, as the matrix-vector product a @ v (one
    BLAS call instead of a product and a reduction; the same sum, added in another
    order), reshaped to (…, 1) where the sum keeps its axis (softmax's JVP on a batch of
    tangents, Σ p ⊙ ṫ, in the Hessian of a log-sum-exp); None otherwise."""
    if e.prim.name != "sum" or len(e.inputs) != 1:
        return None
    inner = st.producer.get(id(e.inputs[0])) if isinstance(e.inputs[0], Var) else None
    if inner is None or inner.prim.name != "multiply" or inner.params:
        return None
    product, out = inner.outputs[0], e.outputs[0]
    if e.param("axis", 1) != (len(product.shape) - 1,) or len(product.shape) < 2:
        return None
    for a, v in (inner.inputs, inner.inputs[::-1]):
        if (a.shape == product.shape and len(v.shape) == 1 and len(a.shape) >= 2
                and a.dtype == v.dtype == product.dtype and product.dtype.kind in "fc"):
            if out.shape == product.shape[:-1]:
                return [Eqn(matmul, [a, v], {}, [out], e.where, e.group, e.names, e.errstate)]
            rows = Var(np.empty(product.shape[:-1], dtype=product.dtype))
            return [Eqn(matmul, [a, v], {}, [rows], e.where, e.group, errstate=e.errstate),
                    Eqn(reshape, [rows], {"shape": out.shape}, [out], e.where, e.group,
                        e.names, e.errstate)]
    return None


def _negated_sum(e, st):
    """Σ(−x) as −Σx: negation is exact, so the two agree in every bit, and the negation
    runs on the (smaller) sum; None otherwise."""
    if e.prim.name != "sum" or not isinstance(e.inputs[0], Var):
        return None
    inner = st.producer.get(id(e.inputs[0]))
    if inner is None or inner.prim.name != "negative":
        return None
    out = e.outputs[0]
    total = Var(np.empty(out.shape, dtype=out.dtype))
    return [Eqn(e.prim, [inner.inputs[0]] + e.inputs[1:], e.params, [total], e.where, e.group,
                errstate=e.errstate),
            Eqn(negative, [total], {}, e.outputs, e.where, e.group, e.names, e.errstate)]


def _subtraction(e, st):
    """a + (−b) as a − b (IEEE 754 defines a − b as a + (−b)), also where −b is reshaped
    on the way, a + reshape(−b) as a − reshape(b); None otherwise."""
    if e.prim.name != "add" or e.params:
        return None
    for k in (0, 1):
        b = e.inputs[1 - k]
        inner = st.producer.get(id(b)) if isinstance(b, Var) else None
        reshaped = inner if inner is not None and inner.prim.name == "reshape" else None
        if reshaped is not None:
            x = inner.inputs[0]
            inner = st.producer.get(id(x)) if isinstance(x, Var) else None
        if inner is None or inner.prim.name != "negative" or not isinstance(inner.inputs[0], Var):
            continue
        new = []
        b = inner.inputs[0]
        if reshaped is not None:
            view = Var(np.empty(reshaped.outputs[0].shape, dtype=b.dtype))
            new.append(Eqn(reshaped.prim, [b] + reshaped.inputs[1:], reshaped.params, [view],
                           reshaped.where, reshaped.group, errstate=reshaped.errstate))
            b = view
        new.append(Eqn(subtract, [e.inputs[k], b], {}, e.outputs, e.where, e.group, e.names,
                       e.errstate))
        return new
    return None


def _power_of_zero(e, st):
    """x ** 0 as ones: 1 for every x, 0, ±∞ and NaN included (IEEE 754's pow), so that a
    product with it is dropped."""
    if e.prim.name != "power" or len(e.inputs) != 2 or _zero_signs(st.uniform(e.inputs[1])) \
            is None:
        return None
    out = e.outputs[0]
    return [Eqn(broadcast_to, [Literal(out.dtype.type(1))], {"shape": out.shape}, [out],
                e.where, e.group, e.names, e.errstate)]


def _vector_under(x, st, promoted):
    """The vector v when ``x`` is ``reshape(v, promoted(v.shape))``, else None: v made a
    column (n, 1) or a row (1, n), as matmul promotes a vector. (A reshape to (n, 1, 1), say
    a batch of n scalars under vmap, is not one: the product broadcasts over its n.)"""
    inner = st.producer.get(id(x)) if isinstance(x, Var) else None
    if inner is None or inner.prim.name != "reshape":
        return None
    v = inner.inputs[0]
    return v if len(v.shape) == 1 and x.shape == promoted(v.shape) else None


def _matrix_vector(e, st):
    """reshape(A @ reshape(v, (n, 1)), ...) as A @ v, and likewise for v @ B: the product
    with a vector that the matmul rule promoted to a matrix and back; or None."""
    if e.prim.name != "reshape" or not isinstance(e.inputs[0], Var):
        return None
    inner = st.producer.get(id(e.inputs[0]))
    if inner is None or inner.prim.name != "matmul":
        return None
    a, b = inner.inputs
    shape, out = inner.outputs[0].shape, e.outputs[0]
    if isinstance(b, Var) and out.shape == shape[:-1] and b.shape[-1] == 1:
        v = _vector_under(b, st, lambda n: n + (1,))
        if v is not None:
            return [Eqn(inner.prim, [a, v], {}, [out], e.where, e.group, e.names, e.errstate)]
    if isinstance(a, Var) and len(shape) >= 2 and out.shape == shape[:-2] + shape[-1:] and a.shape[-2] == 1:
        v = _vector_under(a, st, lambda n: (1,) + n)
        if v is not None:
            return [Eqn(inner.prim, [v, b], {}, [out], e.where, e.group, e.names, e.errstate)]
    return None


# ---------------------------------------------------------------- common subexpressions

def _cse_key(e):
    try:
        params = _hashable(e.params)
    except TypeError:
        return None
    return (id(e.prim), tuple(_input_key(i) for i in e.inputs), params)


def _input_key(x):
    if isinstance(x, Var):
        return ("var", id(x))
    v = x.value
    if isinstance(v, np.ndarray):
        return ("array", id(v))
    return ("literal", type(v).__name__, v, repr(v))   # repr tells 0.0 from −0.0


def _hashable(x):
    if isinstance(x, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in x.items()))
    if isinstance(x, (tuple, list)):
        return (type(x).__name__,) + tuple(_hashable(v) for v in x)
    if isinstance(x, slice):
        return ("slice", x.start, x.stop, x.step)
    if isinstance(x, np.ndarray):
        return ("ndarray", x.shape, x.dtype.str, x.tobytes())
    hash(x)
    return x


# ---------------------------------------------------------------- dead code

def _dce(eqns, outputs):
    live = {id(o) for o in outputs if isinstance(o, Var)}
    kept = []
    for e in reversed(eqns):
        if any(id(v) in live for v in e.outputs):
            kept.append(e)
            live.update(id(i) for i in e.inputs if isinstance(i, Var))
    kept.reverse()
    return kept
