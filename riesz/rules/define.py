"""How a rule-table entry is written, and the one helper that undoes broadcasting.

Every primitive is made with :func:`defprim` (or a shorthand built on it) in the
module of its family, with its implementation, its JVP rules and its VJP rules
side by side. :data:`PRIMITIVES` holds them all, by name, for the spec-table
tests and the docs.
"""
import functools
import inspect
import math

import numpy as np

from ..backend import is_numpy
from ..core import Primitive, Tracer, ZERO, product_mode

__all__ = ["PRIMITIVES", "ELEMENTWISE", "NAN_PROPAGATING", "defprim", "defunary", "unbroadcast",
           "fit_shape", "ZERO", "shape_of", "dtype_of", "scale", "defbinary", "is_complex",
           "defvariadic", "as_dtype", "IMPORT_PATHS", "register_import_path", "all_finite", "add_into", "has_nan",
           "READS", "TAPE_REWRITES", "prepare_tape", "product", "fresh_product", "MODE_FREE",
           "SUMMING", "sum_holds_no_nan"]

PRIMITIVES = {}
# names of the primitives that act elementwise (with ufunc broadcasting): transforms
# that need to know the family (batching, fusion) read it here
ELEMENTWISE = set()
# functions outside NumPy that a rule computes with, by the import path generated code
# calls them by (``scipy.special.erf``): {id(function): (function, module name)}. A rule
# module declares them here; riesz.staging reads them, so no rule imports staging
IMPORT_PATHS = {}


def register_import_path(fn, module):
    """Generated code calls ``fn`` as ``module.<its __name__>``, importing ``module``."""
    IMPORT_PATHS[id(fn)] = (fn, module)

# primitives through which a NaN in an input element makes each result element that
# depends on it NaN (IEEE 754 returns a number for a NaN argument only where the result
# does not depend on that argument: pow(NaN, 0) = 1, hypot(∞, NaN) = ∞); for ``where``
# the selected branches only (its condition decides). Their VJP rules apply only these
# operations to a cotangent (a ``where`` there takes its condition from primal values),
# so they pass a NaN cotangent on the same way. The eager backward pass runs plain
# products below the first primitive not listed (riesz.core.VJPTrace.backward); staged
# programs run plain products where only these read them (riesz.staging.source)
NAN_PROPAGATING = frozenset({
    "add", "subtract", "multiply", "divide", "negative", "power", "square", "sqrt", "cbrt",
    "reciprocal", "absolute", "fabs", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p",
    "sin", "cos", "tan", "sinh", "cosh", "tanh", "arcsin", "arccos", "arctan", "arcsinh",
    "arccosh", "arctanh", "arctan2", "hypot", "maximum", "minimum", "real", "imag",
    "conjugate", "zero_safe_multiply", "sum", "cumsum", "amax", "amin", "matmul", "reshape",
    "transpose", "broadcast_to", "getitem", "scatter_add", "concatenate", "stop_gradient",
    "where", "softmax", "log_softmax", "logsumexp"})

# primitives whose VJP rules apply no product of ``scale`` (sums, negations, copies, matrix
# products): from the zero-safe walk's cotangent they give the zero-safe walk's cotangents in
# either product mode. Of those, the ones each of whose VJP rules gives the cotangent summed
# over the argument's broadcast axes (negated, for subtract's second), so that every entry of
# the cotangent is a term of an entry of each result (riesz.core.VJPTrace.backward then tests
# fewer results for NaN: :func:`sum_holds_no_nan`)
MODE_FREE = frozenset({"add", "subtract", "negative", "matmul", "sum", "reshape", "transpose",
                       "broadcast_to"})
SUMMING = frozenset({"add", "subtract"})


def shape_of(x):
    try:
        return x.shape
    except AttributeError:   # a Python number
        return np.shape(x)


def dtype_of(x):
    try:
        return x.dtype
    except AttributeError:   # a Python number
        return np.result_type(x)


def as_dtype(x, dtype):
    """``x`` (a traced value, an array or a Python scalar) as an array of ``dtype``."""
    if isinstance(x, Tracer) or not is_numpy(x):   # traced, or Dask, CuPy, ...
        return x.astype(dtype)
    return np.asarray(x, dtype=dtype)


def defprim(name, impl, jvp=(), vjp=(), elementwise=False, broadcasting=False,
            multiple_results=False, reads=None):
    """Register primitive ``name``.

    ``jvp[i](t, ans, *args, **params)`` and ``vjp[i](g, ans, *args, **params)``
    are the rules for argument ``i`` (``ZERO`` where the derivative vanishes).
    ``elementwise`` marks a function that acts entry by entry (a ufunc, say).
    With ``broadcasting`` (which implies ``elementwise``) the arguments broadcast
    against each other like a ufunc's, and the engine-facing rules are wrapped so
    that a JVP returns a tangent of the output's shape and a VJP a cotangent of its
    argument's shape.

    ``reads[i]`` names the values that ``vjp[i]`` reads, by the names of its signature
    (``"ans"``, ``"x y"``; ``""`` when it reads shapes and dtypes only); a value that no
    rule of a traced argument reads is given back before a gradient's backward pass
    (:func:`prepare_tape`). Without ``reads`` every value counts as read.
    """
    if name in PRIMITIVES:
        raise ValueError(f"primitive {name!r} is defined twice")
    read_positions = None if reads is None else _read_positions(vjp, reads)
    if elementwise or broadcasting:
        ELEMENTWISE.add(name)
    if broadcasting:
        jvp = tuple(r if r is ZERO else _fit_output(r) for r in jvp)
        vjp = tuple(r if r is ZERO else _unbroadcast_input(r, i) for i, r in enumerate(vjp))
    elif not elementwise:
        # an elementwise function keeps its argument's kind (real in, real out; astype and
        # Re/Im/|·| have their own rules): any other may meet complex values (solve, eig, fft)
        vjp = tuple(r if r is ZERO else _real_for_real(r, i) for i, r in enumerate(vjp))
    prim = Primitive(name, impl, jvp, vjp, multiple_results)
    prim.propagates_nan = name in NAN_PROPAGATING
    PRIMITIVES[name] = prim
    if read_positions is not None:
        READS[prim] = read_positions
    return prim


# ------------------------------------------------------------ values the rules never read

# {primitive: (positions read by the VJP rule of argument 0, of argument 1, ...)}: the
# position of ``ans`` is -1, that of argument i is i (from defprim's ``reads``)
READS = {}

# arrays below this many bytes are kept: a stand-in would cost more than it gives back
# (riesz.core reads it as VJPTrace.big_nbytes: a tape of smaller values, with no rewrite,
# is not prepared, and no cotangent smaller is handed over to be written into)
RELEASE_NBYTES = 1 << 16


def _read_positions(rules, reads):
    if len(reads) != len(rules):
        raise ValueError(f"reads names the values of {len(reads)} rules, there are {len(rules)}")
    out = []
    for rule, names in zip(rules, reads):
        if rule is ZERO:
            out.append(frozenset())
            continue
        # rule(g, ans, x, y, ..., **params): the arguments follow g and ans
        signature = list(inspect.signature(rule).parameters)[2:]
        unknown = set(names.split()) - {"ans"} - set(signature)
        if unknown:
            raise ValueError(f"reads: {sorted(unknown)} are not values of the rule {signature}")
        out.append(frozenset(-1 if n == "ans" else signature.index(n) for n in names.split()))
    return tuple(out)


# rewrites of a tape that a backward pass consumes, by the primitive of the node they start
# from: {primitive: rewrite(tape, slot, uses)}, ``uses[s]`` the number of nodes and seeds
# that read slot s (riesz.rules.softmax registers the softmax written out in NumPy)
TAPE_REWRITES = {}


def prepare_tape(tape, seeds, rewrite_at=(), big_from=None):
    """Before a backward pass that consumes ``tape`` (seeded at ``seeds``, (slot, g) pairs):
    the rewrites of :data:`TAPE_REWRITES` at the slots ``rewrite_at`` (in increasing order);
    then, from ``big_from`` on (None: the tape made no big value), each NumPy array of at
    least :data:`RELEASE_NBYTES` that the tape made and that no VJP rule reads where it is
    kept (:data:`READS`: the node's result, the arguments of the nodes that read it) is
    replaced by a read-only stand-in of its shape and dtype (one element, broadcast).
    Returns whether the tape made such an array: only then does the pass hand cotangents
    over to be written into (:func:`product`; small arrays would only pay for the test).
    Recording gives both slot arguments (riesz.core.VJPTrace), so a small tape costs only
    the rewrites it may have, not a look at every node.

    The array's memory is given back before the backward pass allocates its cotangents,
    as a hand-written backward pass never holds the values it does not need (the scores
    ``q @ kᵀ`` before their scaling, the argument of ``exp``); the rules read only the
    stand-in's shape and dtype. Only a backward pass that consumes its tape calls this (a
    tape walked again by ``linearize``'s forward rules keeps every value). A value is
    taken as big by its maker's result, one test a node: an argument the tape did not
    make is held by the caller anyway. The rewrites come first: they drop nodes and
    change what the remaining ones read."""
    if rewrite_at:
        uses = _Uses(tape, seeds)
        for slot in rewrite_at:
            node = tape[slot]
            if node is not None:   # (not dropped by an earlier rewrite)
                rewrite = TAPE_REWRITES.get(node.prim)
                if rewrite is not None:
                    rewrite(tape, slot, uses)
    if big_from is None:
        return False
    big = {}   # the slots of big results: their stand-in, once made
    ndarray, size = np.ndarray, RELEASE_NBYTES   # (a hot loop)
    for slot in range(big_from, len(tape)):
        node = tape[slot]
        if node is None or type(node) is int:
            continue
        ans = node.ans
        if type(ans) is ndarray and ans.nbytes >= size:
            big[slot] = None
        elif not big:
            continue
        prim = node.prim
        if prim not in READS:
            continue
        parents = node.parents
        unread = unread_positions(prim, parents)
        if -1 in unread and slot in big:
            node.ans = _stand_in(big, slot, ans)
        for i, parent in parents:
            if i in unread and parent in big:
                node.args[i] = _stand_in(big, parent, node.args[i])
    return bool(big)


# (primitive, argnums of the traced arguments) -> the positions (-1: ans) no rule reads
_UNREAD = {}


def unread_positions(prim, parents):
    """The positions (-1: the result) that no VJP rule of a node of ``prim`` reads, its
    traced arguments at ``parents`` ((argnum, slot) pairs); none for a primitive that
    declares no ``reads``."""
    if prim not in READS:
        return frozenset()
    key = (prim, parents[0][0]) if len(parents) == 1 else (prim,) + tuple(i for i, _ in parents)
    unread = _UNREAD.get(key)
    if unread is None:
        unread = _UNREAD[key] = _unread(READS[prim], key[1:])
    return unread


class _Uses:
    """``uses[s]``: how many nodes and seeds read slot s, counted when first asked."""
    __slots__ = ("tape", "seeds", "counts")

    def __init__(self, tape, seeds):
        self.tape, self.seeds, self.counts = tape, seeds, None

    def __getitem__(self, slot):
        counts = self.counts
        if counts is None:
            counts = self.counts = [0] * len(self.tape)
            for s, _ in self.seeds:
                counts[s] += 1
            for node in self.tape:
                if node is not None and type(node) is not int:
                    for _, parent in node.parents:
                        counts[parent] += 1
        return counts[slot]


def _unread(reads, argnums):
    read = frozenset().union(*(reads[i] for i in argnums))
    return frozenset(i for i in range(-1, len(reads)) if i not in read)


def _stand_in(made, slot, x):
    """The stand-in of the array ``x``, the result of ``slot`` (one a slot, kept in ``made``):
    read-only, of x's shape and dtype, one zero element seen at every index (strides 0)."""
    stand_in = made[slot]
    if stand_in is None:
        if x.dtype.hasobject:   # (no buffer of bytes holds an object)
            stand_in = np.broadcast_to(np.zeros((), x.dtype), x.shape)
        else:   # as broadcast_to makes it, without its 2 µs of Python
            stand_in = np.ndarray(x.shape, x.dtype, bytes(x.itemsize), 0, (0,) * x.ndim)
        made[slot] = stand_in
    return stand_in


def defunary(name, impl, derivative, finite_derivative=False, reads="ans x"):
    """An elementwise function with f'(x) = ``derivative(ans, x)``.

    ∂f(x)(ẋ) = f'(x) ⊙ ẋ, and the map is its own transpose: the VJP is
    f'(x) ⊙ g. (For complex x this is the bilinear transpose that JAX uses;
    see docs/complex.md.) The product is :func:`scale`, so an exact zero
    cotangent stays zero where f'(x) is infinite. With ``finite_derivative``
    (f' is finite wherever f is: sin, tanh) the plain product is used, which
    saves the check: a zero cotangent still gives exactly zero, and only an
    infinite cotangent meeting f'(x) = 0 (tanh saturated to ±1) could give NaN.
    ``reads`` names what ``derivative`` reads of ``ans`` and ``x`` (see :func:`defprim`).
    """
    if finite_derivative:
        return defprim(name, impl, elementwise=True,
                       jvp=[lambda t, ans, x: t * derivative(ans, x)],
                       vjp=[lambda g, ans, x: product(g, derivative(ans, x))], reads=[reads])
    return defprim(name, impl, elementwise=True,
                   jvp=[lambda t, ans, x: scale(t, derivative(ans, x))],
                   vjp=[lambda g, ans, x: scale(g, derivative(ans, x))], reads=[reads])


def defbinary(name, impl, dx, dy, reads=None):
    """An elementwise function of two broadcasting arguments with partial derivatives
    ∂ₓf = ``dx(ans, x, y)`` and ∂ᵧf = ``dy(ans, x, y)`` (either may be ``ZERO``), which
    read ``reads`` (see :func:`defprim`).

    ∂f(x, y)(ẋ, ẏ) = ∂ₓf ⊙ ẋ + ∂ᵧf ⊙ ẏ; the transpose sends g to (∂ₓf ⊙ g, ∂ᵧf ⊙ g),
    each summed back to its argument's shape. Products are :func:`scale`.
    """
    def rules(partial):
        if partial is ZERO:
            return ZERO, ZERO
        return (lambda t, ans, x, y: scale(t, partial(ans, x, y)),
                lambda g, ans, x, y: scale(g, partial(ans, x, y)))
    (jx, vx), (jy, vy) = rules(dx), rules(dy)
    return defprim(name, impl, broadcasting=True, jvp=[jx, jy], vjp=[vx, vy],
                   reads=reads)


# ------------------------------------------------------------ the zero-safe product

def scale(g, d):
    """g ⊙ d for a tangent or cotangent ``g`` and a derivative factor ``d``, with
    0 × ∞ = 0: where either factor is exactly zero the product is zero, even if
    the other is infinite or NaN.

    This is how riesz keeps singular points finite. ``where(x > 0, sqrt(x), 0)``
    sends an exact zero cotangent to ``sqrt`` at x = 0, where sqrt'(0) = ∞; the
    zero stays zero. ``sqrt(sum(x**2))`` at x = 0 sends ∞ back to ``x**2``,
    whose derivative 2x is 0 there, and the gradient is 0, the minimum-norm
    subgradient. Rules use it for every product of an incoming (co)tangent
    with a derivative that may be infinite.

    What it costs, by the types of its factors: on traced values it is the primitive
    ``zero_safe_multiply`` (its rules nest, so a zero stays zero at every order); a
    finite nonzero Python constant makes a plain product; on NumPy values, while an
    eager backward pass runs its rules with plain products (riesz.core.product_mode,
    which that pass turns on only where it has proved that a NaN in its results is
    the only way a plain product can show, and then walks again with this zero-safe
    one), a plain product; otherwise the product and one finiteness check of it.
    """
    if type(g) is np.ndarray and type(d) is np.ndarray:   # the commonest case, by types
        if not product_mode.plain:
            return zero_safe_scale(g, d)
    elif type(d) is float and d != 0.0 and math.isfinite(d):
        pass   # a finite nonzero constant cannot meet 0 × ∞, at any order
    elif isinstance(g, Tracer) or isinstance(d, Tracer):
        return zero_safe_multiply(g, d)
    elif not (product_mode.plain and is_numpy(g) and is_numpy(d)):
        return zero_safe_scale(g, d)
    return g * d if g is not product_mode.donated else product(g, d)


def product(g, d):
    """The plain product g ⊙ d of a cotangent ``g`` and a factor ``d``, written into ``g``
    where the backward pass has handed ``g`` over to the rule running now
    (riesz.core.product_mode.donated: no one else holds it and no later rule reads it),
    ``g`` is a NumPy array that owns its memory, and the product has its shape and dtype:
    a hand-written backward pass scales a gradient in place, without a new buffer."""
    if g is product_mode.donated and _fits(g, d):
        product_mode.donated = None   # written once: the rule reads g no more
        return np.multiply(g, d, out=g)
    return g * d


def fresh_product(h, d):
    """h ⊙ d for a value ``h`` that the calling rule has just made (no one else holds it),
    written into ``h`` where it is a NumPy array and the product has its shape and dtype."""
    if _fits(h, d):
        return np.multiply(h, d, out=h)
    return h * d


def _fits(g, d):
    if not (type(g) is np.ndarray and g.nbytes >= RELEASE_NBYTES and g.base is None
            and g.flags.writeable):
        return False
    if type(d) is float:
        return g.dtype.kind in "fc"
    return (type(d) is np.ndarray and np.result_type(g, d) == g.dtype
            and np.broadcast_shapes(d.shape, g.shape) == g.shape)


def zero_safe_scale(g, d):
    """g ⊙ d with 0 × ∞ = 0. On NumPy values: the plain product when it is finite (one
    check), else zero where either factor is. On values of other libraries (Dask, CuPy,
    ...) no value is read: the test is part of the array's computation."""
    if not (is_numpy(g) and is_numpy(d)):
        return np.where((g == 0) | (d == 0), 0, g * d)
    out = g * d
    if all_finite(out):
        return out
    return np.where((np.asarray(g) == 0) | (np.asarray(d) == 0), np.zeros((), dtype_of(out)), out)


def add_into(old, ct):
    """old + ct for a cotangent ``old`` that only the backward pass holds: written into
    ``old`` where it is a NumPy array that owns its memory and the sum has its shape and
    dtype (no new buffer, as a hand-written backward pass accumulates), else a new value."""
    if (type(old) is np.ndarray and type(ct) is np.ndarray and old.base is None
            and old.shape == ct.shape and old.dtype == ct.dtype and old.flags.writeable):
        return np.add(old, ct, out=old)
    return PRIMITIVES["add"](old, ct)


def has_nan(x):
    """Whether the NumPy value ``x`` holds a NaN, in one pass: up to 8192 entries Σ|x|² (a
    BLAS dot product, cheaper than a sum), NaN exactly when an entry is (its terms are
    ≥ 0: it overflows to +∞, never to ∞ − ∞); above, for a real floating ``x``, its
    minimum (NumPy's ``minimum`` propagates NaN; ±∞ do not count; no copy, and four times
    faster than a float32 sum, whose pairwise loop does not vectorise as well).
    A value of another library (Dask, CuPy, ...) is never read: it counts as holding a
    NaN, so a backward pass that meets one walks zero-safe (a plain NumPy product's NaN
    may have reached it through a ``where`` product that no check could see)."""
    if not is_numpy(x):
        return True
    if getattr(x, "size", 1) <= _DOT_CHECK_SIZE:
        return math.isnan(np.vdot(x, x).real)   # Im Σ x̄x = 0: a NaN shows in the real part
    if dtype_of(x).kind == "f":
        least = np.minimum.reduce(x, axis=None, initial=np.inf)
        return least != least
    return np.isnan(x).any()


def sum_holds_no_nan(ct, g):
    """Whether ``ct``, a sum of the entries of the cotangent ``g`` (a rule of :data:`SUMMING`),
    holds no NaN, tested where that is cheap: a NumPy array of at most 8192 entries, fewer than
    g's (a bias's cotangent beside its layer's), of g's dtype (not the real part of a complex
    g, which would not show a NaN in its imaginary part). Then g holds no NaN either, since a
    sum with a NaN term is NaN. False, untested, where the test would cost about as much as
    testing what g reaches."""
    if type(ct) is not np.ndarray or type(g) is not np.ndarray or ct.size >= g.size or \
            ct.size > _DOT_CHECK_SIZE or ct.dtype != g.dtype:
        return False
    return not has_nan(ct)


def _fit_output(rule):
    def jvp(t, ans, *args, **params):
        return fit_shape(rule(t, ans, *args, **params), shape_of(ans))
    return jvp


_REAL = np.dtype(float)


def is_complex(x):
    return getattr(x, "dtype", _REAL).kind == "c" or type(x) is complex


def real_for_real(ct, x):
    """The cotangent ``ct`` of the argument ``x``, as its real part when ``x`` is real: for
    real ẋ, ⟨c, ẋ⟩ = Re Σ c ẋ = Σ (Re c) ẋ, so only Re c pairs with a real argument. Every
    rule of a function that mixes real and complex values passes through here (a decision
    on dtypes, never on values)."""
    if getattr(ct, "dtype", _REAL).kind == "c" and not is_complex(x):
        from .elementwise import real
        return real(ct)
    return ct


def _real_for_real(rule, argnum):
    def vjp(g, ans, *args, **params):
        ct = rule(g, ans, *args, **params)
        if (type(ct) is np.ndarray or isinstance(ct, np.generic)) and ct.dtype.kind != "c":
            return ct   # real already: decided on the type and dtype alone
        return real_for_real(ct, args[argnum])
    return vjp


def _unbroadcast_input(rule, argnum):
    def vjp(g, ans, *args, **params):
        x = args[argnum]
        ct = rule(g, ans, *args, **params)
        if (type(ct) is np.ndarray or isinstance(ct, np.generic)) and (
                ct.dtype.kind != "c" or is_complex(x)):
            # real for real already (a dtype test); of x's shape (a shape test), as it is
            if ct.shape == (x.shape if type(x) is np.ndarray else shape_of(x)):
                return ct
            return unbroadcast(ct, shape_of(x))
        return unbroadcast(real_for_real(ct, x), shape_of(x))
    return vjp


# above this size the dot product may go to a multithreaded BLAS, which is slow on a busy
# machine: a plain elementwise test is then the cheaper one
_DOT_CHECK_SIZE = 8192


def all_finite(x):
    if getattr(x, "size", 1) <= _DOT_CHECK_SIZE:
        # Σ|x|² is finite exactly when every entry is (or it overflows: then the slow path)
        return math.isfinite(np.vdot(x, x).real)
    return bool(np.isfinite(x).all())


# ∂(g ⊙ d)(ġ, ḋ) = ġ ⊙ d + g ⊙ ḋ; transpose: c ↦ (c ⊙ d, g ⊙ c), all with 0 × ∞ = 0,
# so the rule nests: a zero that reached a rule stays zero at every order
zero_safe_multiply = defprim(
    "zero_safe_multiply", zero_safe_scale, broadcasting=True,
    jvp=[lambda t, ans, g, d: scale(t, d), lambda t, ans, g, d: scale(g, t)],
    vjp=[lambda c, ans, g, d: scale(c, d), lambda c, ans, g, d: scale(g, c)], reads=["d", "g"])


def fit_shape(t, shape):
    """Broadcast a tangent to ``shape`` (the transpose of :func:`unbroadcast`)."""
    if shape_of(t) == shape:
        return t
    return PRIMITIVES["broadcast_to"](t, shape=shape)


def unbroadcast(g, shape):
    """Sum a cotangent over the axes that broadcasting added or stretched,
    so that it has ``shape``: the transpose of ``broadcast_to(·, shape)``."""
    gshape = shape_of(g)
    if gshape == shape:
        return g
    axes, keepdims, reshaped = _summed_axes(gshape, shape)
    if type(g) is np.ndarray:   # the sum primitive's own computation, without its layers
        g = np.add.reduce(g, axis=axes, keepdims=keepdims) if axes else g
        return g.reshape(shape) if reshaped else g
    if axes:
        g = PRIMITIVES["sum"](g, axis=axes, keepdims=keepdims)
    return PRIMITIVES["reshape"](g, shape=shape) if reshaped else g


@functools.lru_cache(maxsize=256)
def _summed_axes(gshape, shape):
    """How :func:`unbroadcast` takes ``gshape`` to ``shape``: the axes to sum, whether the
    sum keeps them (no leading axes to drop: its result then has ``shape``), and whether a
    reshape follows."""
    lead = len(gshape) - len(shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    axes = tuple(range(lead)) + stretched
    keepdims = not lead
    summed = gshape if not axes else tuple(
        1 if keepdims and i in axes else n for i, n in enumerate(gshape) if keepdims or i not in axes)
    return axes, keepdims, summed != shape


class _Variadic(Primitive):
    """A primitive of any number of arguments: one JVP rule and one VJP rule, each called
    as ``rule(i, t_or_g, ans, *args, **params)`` with the position ``i`` of the argument."""
    __slots__ = ()

    def rule(self, kind, argnum):
        if kind == "forward":
            return functools.partial(self.jvps[0], argnum)
        return functools.partial(_variadic_vjp, self.vjps[0], argnum)


def _variadic_vjp(rule, argnum, g, ans, *args, **params):
    return real_for_real(rule(argnum, g, ans, *args, **params), args[argnum])


def defvariadic(name, impl, jvp, vjp):
    """Register primitive ``name`` taking any number of array arguments (``concatenate``,
    ``einsum``): ``jvp(i, t, ans, *args, **params)`` and ``vjp(i, g, ans, *args, **params)``
    are the rules for argument ``i``."""
    if name in PRIMITIVES:
        raise ValueError(f"primitive {name!r} is defined twice")
    prim = _Variadic(name, impl, (jvp,), (vjp,))
    PRIMITIVES[name] = prim
    return prim
