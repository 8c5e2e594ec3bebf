"""NumPy's semantics on traced values: a NumPy function called inside grad, jvp, vjp,
jit or vmap gives exactly what it gives on plain arrays (value, shape and dtype),
with NEP 50 promotion, 0-d arrays, negative axes, empty arrays, complex values and
every form of indexing; gradients have their argument's dtype; ties and kinks follow
the conventions of docs/numpy.md.

Each case runs the function eagerly and under every transform, and compares."""
import numpy as np
import pytest

import riesz
from riesz.testing import check_grads
from riesz.numpy.compat import NUMPY_VERSION
from specs.case import needs_numpy

# the cases include NumPy's own edge values (log 0, ddof ≥ n, ...): its warnings are expected
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

rng = np.random.default_rng(7)
M64 = rng.standard_normal((3, 4))
M32 = M64.astype(np.float32)
V64 = rng.standard_normal(4)
V32 = V64.astype(np.float32)
C128 = M64 + 1j * rng.standard_normal((3, 4))
COL = rng.standard_normal((4, 1))
SQ = rng.standard_normal((3, 3)) + 3 * np.eye(3)
I64 = np.arange(-5, 7).reshape(3, 4)
TIES = np.array([1.0, 2.0, 2.0, -1.0, 0.0])
EMPTY = np.zeros((0, 3))
if hasattr(np, "float16"):
    H16 = V64.astype(np.float16)

def _assigned(x, y):
    # y[i] = v into a float32 array casts v to float32
    z = x * 1
    z[0] = y[0] * 2
    z[1:, 1] = np.float64(0.1)
    return z


def _assigned_reversed(x):
    z = x * 1
    z[::-2] = x[:2] * 3
    return z


def _masked_assign(x, mask):
    # one value into a mask's entries: under jit the mask has no concrete value
    z = x * 1
    z[mask] = 0.5
    z[mask[:, 0]] = np.float64(2.0) * x[0, 0]
    return z


def _put_along(x):
    z = x * 1
    np.put_along_axis(z, np.array([[1], [0], [3]]), x[:, :1] * 5, axis=1)
    return z


def _updated(x, y):
    z = x * 1
    z += 1.1
    z *= y
    z -= np.float64(0.3)
    z /= 3
    return z


# (name, function, arguments): every array argument of an inexact dtype is traced
CASES = [
    # NEP 50: Python scalars are weak, NumPy scalars are not
    ("f32 + python float", lambda x: x + 1.5, (M32,)),
    ("f32 * python int", lambda x: x * 3, (M32,)),
    ("f32 / python int", lambda x: x / 3, (M32,)),
    ("python float - f32", lambda x: 2.0 - x, (M32,)),
    ("f32 ** python int", lambda x: x ** 2, (M32,)),
    ("f32 ** python float", lambda x: x ** 0.5, (np.abs(M32),)),
    ("python float ** f32", lambda x: 2.0 ** x, (M32,)),
    ("f32 + float64 scalar", lambda x: x + np.float64(1.5), (M32,)),
    ("f32 * float64 0-d array", lambda x: x * np.array(2.0), (M32,)),
    ("f32 + f64 array", lambda x, y: x + y, (M32, M64)),
    ("f32 + int array", lambda x: x + I64, (M32,)),
    ("f32 * bool array", lambda x: x * (I64 > 0), (M32,)),
    ("f32 + complex python", lambda x: x + 1j, (M32,)),
    ("f32 + int8 scalar", lambda x: x + np.int8(3), (M32,)),
    ("f16 + python float", lambda x: x * 0.5 + 1.0, (H16,)),
    ("f16 + f32", lambda x, y: x + y, (H16, V32)),
    ("f32 exp", np.exp, (M32,)),
    ("f32 np.float32 scalar", lambda x: np.float32(2.0) * x, (np.float32(3.0),)),
    ("f64 scalar traced", lambda x: np.sin(x) * 2, (np.float64(0.3),)),
    ("0-d array", lambda x: x * x + 1, (np.array(0.7),)),
    ("0-d f32 array", lambda x: np.sqrt(x) + 1.0, (np.array(0.7, np.float32),)),
    # operators
    ("floordiv", lambda x: x // 0.3, (M64,)),
    ("rfloordiv", lambda x: 2.0 // (np.abs(x) + 0.1), (M32,)),
    ("mod", lambda x: x % 0.7, (M64,)),
    ("mod f32", lambda x: x % 0.7, (M32,)),
    ("rmod", lambda x: 3.0 % (np.abs(x) + 0.5), (M64,)),
    ("divmod", lambda x: divmod(x, 0.4), (M64,)),
    ("pow negative base int exponent", lambda x: x ** 3, (M64,)),
    ("pow array exponent", lambda x, y: np.abs(x) ** y, (M64, M64)),
    ("matmul", lambda a, b: a @ b, (M64, M64.T)),
    ("matmul vector", lambda a, v: a @ v, (M32, V32)),
    ("vector matmul", lambda v, a: v @ a.T, (V32, M32)),
    ("matmul mixed dtypes", lambda a, v: a @ v, (M32, V64)),
    ("rmatmul constant", lambda v: M64 @ v, (V32,)),
    ("unary minus", lambda x: -x, (M32,)),
    ("unary plus", lambda x: +x, (M32,)),
    ("abs", abs, (M32,)),
    ("abs complex", abs, (C128,)),
    ("comparisons", lambda x: (x < 0, x >= 0.5, x == x, x != 0), (M32,)),
    ("compare arrays", lambda x, y: x > y, (V32, V64)),
    # broadcasting
    ("(n,1) with (n,)", lambda a, b: a - b, (COL, V64)),
    ("(n,1) * (n,) f32", lambda a, b: a * b, (COL.astype(np.float32), V32)),
    ("broadcast to", lambda x: np.broadcast_to(x, (2, 3, 4)), (M32,)),
    # complex
    ("complex mul", lambda z: z * z.conj(), (C128,)),
    ("complex real imag", lambda z: (z.real, z.imag, np.angle(z)), (C128,)),
    ("complex exp", np.exp, (C128,)),
    ("complex sum", lambda z: z.sum(axis=0), (C128,)),
    ("complex64", lambda z: z * 2.0 + 1.0, (C128.astype(np.complex64),)),
    ("complex abs f32", np.abs, (C128.astype(np.complex64),)),
    # methods
    (".sum()", lambda x: x.sum(), (M32,)),
    (".mean(axis=-1)", lambda x: x.mean(axis=-1), (M32,)),
    (".mean(axis=(0,1))", lambda x: x.mean(axis=(0, 1)), (M64,)),
    (".reshape(-1)", lambda x: x.reshape(-1), (M32,)),
    (".reshape(2, -1)", lambda x: x.reshape(2, -1), (M32,)),
    (".T", lambda x: x.T, (M32,)),
    (".astype(float64)", lambda x: x.astype(np.float64), (M32,)),
    (".astype(float32)", lambda x: x.astype(np.float32), (M64,)),
    (".astype(int)", lambda x: x.astype(int), (M64,)),
    (".clip", lambda x: x.clip(-0.5, 0.5), (M32,)),
    (".clip python bounds f32", lambda x: np.clip(x, 0, 1), (M32,)),
    (".round", lambda x: x.round(1), (M32,)),
    ("np.round", lambda x: np.round(x, 2), (M64,)),
    (".std(ddof=1)", lambda x: x.std(axis=0, ddof=1), (M32,)),
    (".var keepdims", lambda x: x.var(axis=1, keepdims=True), (M64,)),
    ("var ddof > n", lambda x: (np.var(x, ddof=4, axis=0), np.std(x, ddof=3, axis=0)), (M64,)),
    (".max axis", lambda x: x.max(axis=-2), (M32,)),
    (".prod", lambda x: x.prod(axis=1), (M32,)),
    (".cumsum", lambda x: x.cumsum(), (M32,)),
    (".flatten", lambda x: x.flatten(), (M32,)),
    (".squeeze", lambda x: x.squeeze(), (COL,)),
    (".dot", lambda x, v: x.dot(v), (M32, V32)),
    (".argmax", lambda x: x.argmax(axis=1), (M32,)),
    (".trace", lambda x: x.trace(), (SQ,)),
    ("ptp", lambda x: np.ptp(x, axis=0), (M64,)),
    (".swapaxes", lambda x: x.swapaxes(0, 1), (M32,)),
    (".transpose()", lambda x: x.transpose(), (M32,)),
    # reductions
    ("sum negative axis", lambda x: np.sum(x, axis=-1), (M32,)),
    ("sum axis tuple keepdims", lambda x: np.sum(x, axis=(0, -1), keepdims=True), (M32,)),
    ("sum empty", lambda x: np.sum(x, axis=0), (EMPTY,)),
    ("sum empty all", np.sum, (EMPTY,)),
    ("mean f32", np.mean, (M32,)),
    ("mean f16", np.mean, (H16,)),
    ("mean dtype=float64", lambda x: np.mean(x, dtype=np.float64), (M32,)),
    ("sum dtype=float64", lambda x: np.sum(x, axis=0, dtype=np.float64), (M32,)),
    ("mean of ints", lambda x: x * np.mean(I64), (M32,)),
    ("mean of ints axis", lambda x: x + np.mean(I64, axis=0), (M32,)),
    ("max ties", lambda x: np.max(x), (TIES,)),
    ("amin keepdims", lambda x: np.amin(x, axis=0, keepdims=True), (M32,)),
    ("prod empty", np.prod, (EMPTY,)),
    ("prod axis tuple keepdims", lambda x: np.prod(x, axis=(0, -1), keepdims=True),
     (rng.uniform(0.5, 1.5, (5, 2, 7)),)),
    ("prod long", lambda x: np.prod(x, axis=0), (rng.uniform(0.9, 1.1, (1001, 2)),)),
    ("prod complex", np.prod, (C128,)),
    ("cumprod long", lambda x: np.cumprod(x, axis=0), (rng.uniform(0.9, 1.1, (1001, 2)),)),
    ("cumprod flat f32", np.cumprod, (M32,)),
    ("cumsum axis", lambda x: np.cumsum(x, axis=-1), (M32,)),
    ("cumprod", lambda x: np.cumprod(x, axis=0), (M32,)),
    ("diff", lambda x: np.diff(x, axis=0), (M32,)),
    ("diff n=2", lambda x: np.diff(x, n=2), (M32,)),
    ("average weights", lambda x: np.average(x, axis=1, weights=V64), (M32,)),
    ("var f32", np.var, (M32,)),
    ("std", lambda x: np.std(x, axis=-1), (M64,)),
    ("median", lambda x: np.median(x, axis=0), (M32,)),
    ("logsumexp-style", lambda x: np.log(np.sum(np.exp(x - x.max()))), (M32,)),
    # indexing
    ("slice", lambda x: x[1:, ::2], (M32,)),
    ("negative step", lambda x: x[::-1, -2::-2], (M32,)),
    ("None", lambda x: x[None, :, None], (M32,)),
    ("np.newaxis", lambda x: x[:, np.newaxis], (V32,)),
    ("Ellipsis", lambda x: x[..., 1], (M32,)),
    ("Ellipsis None", lambda x: x[..., None], (M32,)),
    ("scalar index", lambda x: x[1, 2], (M32,)),
    ("negative index", lambda x: x[-1], (M32,)),
    ("boolean mask", lambda x: x[x > 0], (M32,)),
    ("boolean mask rows", lambda x: x[np.array([True, False, True])], (M32,)),
    ("integer array", lambda x: x[np.array([2, 0, 2])], (M32,)),
    ("integer list", lambda x: x[[0, -1]], (M32,)),
    ("two integer arrays", lambda x: x[np.array([0, 2]), np.array([1, 3])], (M32,)),
    ("mixed slice and array", lambda x: x[1:, np.array([0, 0, 3])], (M32,)),
    ("mixed array slice array", lambda x: x[np.array([0, 1]), :, np.array([1, 0])],
     (rng.standard_normal((2, 3, 2)),)),
    ("empty slice", lambda x: x[2:1], (M32,)),
    ("0-d index", lambda x: x[()], (np.array(1.5),)),
    ("integer array 2-d", lambda x: x[np.array([[0, 1], [2, 2]])], (V32,)),
    # selection
    ("where", lambda x: np.where(x > 0, x, 0.0), (M32,)),
    ("where two traced", lambda x, y: np.where(x > y, x, y), (V32, V64)),
    ("where python scalars", lambda x: np.where(x > 0, 1.0, x), (M32,)),
    ("select", lambda x: np.select([x < -0.5, x > 0.5], [x ** 2, -x], default=0.0), (M32,)),
    ("clip", lambda x: np.clip(x, -0.5, 0.5), (M64,)),
    ("maximum ties", lambda x, y: np.maximum(x, y), (TIES, TIES[::-1].copy())),
    ("maximum python scalar f32", lambda x: np.maximum(x, 0.0), (M32,)),
    ("minimum", lambda x: np.minimum(x, 0.5), (M32,)),
    ("fmax", lambda x: np.fmax(x, np.float32(0.1)), (M32,)),
    # sorting
    ("sort", lambda x: np.sort(x, axis=0), (M32,)),
    ("sort ties", np.sort, (TIES,)),
    ("sort axis None", lambda x: np.sort(x, axis=None), (M32,)),
    ("argsort", lambda x: np.argsort(x, axis=-1), (M32,)),
    ("argsort stable ties", lambda x: np.argsort(x, kind="stable"), (TIES,)),
    # linear algebra
    ("norm", np.linalg.norm, (M32,)),
    ("norm vector ord 1", lambda x: np.linalg.norm(x, 1), (V32,)),
    ("norm vector ord inf", lambda x: np.linalg.norm(x, np.inf), (V64,)),
    ("norm ord 3", lambda x: np.linalg.norm(x, 3), (V64,)),
    ("norm fro", lambda x: np.linalg.norm(x, "fro"), (M64,)),
    ("norm nuc", lambda x: np.linalg.norm(x, "nuc"), (M64,)),
    ("norm ord 2 matrix", lambda x: np.linalg.norm(x, 2), (M64,)),
    ("norm axis", lambda x: np.linalg.norm(x, axis=-1), (M32,)),
    ("norm axis keepdims", lambda x: np.linalg.norm(x, axis=0, keepdims=True), (M64,)),
    ("norm matrix axis tuple", lambda x: np.linalg.norm(x, axis=(0, 1)), (M32,)),
    ("norm complex", np.linalg.norm, (C128,)),
    ("norm complex axis", lambda z: np.linalg.norm(z, axis=-1), (C128,)),
    ("norm long", np.linalg.norm, (rng.standard_normal(1000),)),
    ("norm long f32 keepdims", lambda x: np.linalg.norm(x, keepdims=True),
     (rng.standard_normal((40, 50)).astype(np.float32),)),
    ("norm 0-d", np.linalg.norm, (np.array(-2.0),)),
    ("inv", np.linalg.inv, (SQ,)),
    ("inv f32", np.linalg.inv, (SQ.astype(np.float32),)),
    ("det f32", np.linalg.det, (SQ.astype(np.float32),)),
    ("solve", lambda a, b: np.linalg.solve(a, b), (SQ, M64[:, :2])),
    ("slogdet", np.linalg.slogdet, (SQ,)),
    ("einsum ij,j->i", lambda a, v: np.einsum("ij,j->i", a, v), (M32, V32)),
    ("einsum trace", lambda a: np.einsum("ii", a), (SQ,)),
    ("einsum implicit", lambda a, b: np.einsum("ij,kj", a, b), (M32, M32)),
    ("einsum ellipsis", lambda a: np.einsum("...j->...", a), (M64,)),
    ("einsum outer", lambda a, b: np.einsum("i,j->ij", a, b), (V32, V64)),
    ("einsum transpose", lambda a: np.einsum("ij->ji", a), (M32,)),
    ("einsum diag", lambda a: np.einsum("ii->i", a), (SQ,)),
    ("outer", np.outer, (V32, V32)),
    ("dot scalar", lambda x: np.dot(x, 2.0), (M32,)),
    ("tensordot", lambda a, b: np.tensordot(a, b, axes=([1], [0])), (M32, M32.T)),
    ("kron", np.kron, (V32, V32[:2])),
    ("cross", np.cross, (V64[:3], V64[1:])),
    # shape
    ("concatenate", lambda a, b: np.concatenate([a, b], axis=-1), (M32, M32)),
    ("concatenate mixed dtypes", lambda a, b: np.concatenate([a, b]), (V32, V64)),
    ("concatenate with int array", lambda a: np.concatenate([a, np.arange(3)]), (V32,)),
    ("concatenate axis None", lambda a: np.concatenate([a, a], axis=None), (M32,)),
    ("stack", lambda a, b: np.stack([a, b], axis=-1), (V32, V32)),
    ("stack mixed", lambda a, b: np.stack([a, b]), (V32, V64)),
    ("vstack", lambda a, b: np.vstack([a, b]), (V32, V32)),
    ("hstack", lambda a, b: np.hstack([a, b]), (M32, M32)),
    ("column_stack", lambda a, b: np.column_stack([a, b]), (V32, V32)),
    ("split", lambda a: np.split(a, 2, axis=1), (M32,)),
    ("split indices", lambda a: np.split(a, [1, 3]), (V32,)),
    ("array_split", lambda a: np.array_split(a, 3), (V32,)),
    ("pad", lambda a: np.pad(a, 1), (M32,)),
    ("pad constant", lambda a: np.pad(a, ((1, 0), (0, 2)), constant_values=2.5), (M32,)),
    ("pad reflect", lambda a: np.pad(a, 2, mode="reflect"), (V32,)),
    ("pad edge", lambda a: np.pad(a, (1, 2), mode="edge"), (V32,)),
    ("roll", lambda a: np.roll(a, 1, axis=-1), (M32,)),
    ("roll flat", lambda a: np.roll(a, -5), (M32,)),
    ("roll tuple", lambda a: np.roll(a, (1, 2), axis=(0, 1)), (M32,)),
    ("tile", lambda a: np.tile(a, (2, 1)), (M32,)),
    ("tile int", lambda a: np.tile(a, 3), (V32,)),
    ("repeat", lambda a: np.repeat(a, 2, axis=0), (M32,)),
    ("repeat flat", lambda a: np.repeat(a, 2), (M32,)),
    ("repeat counts", lambda a: np.repeat(a, [1, 0, 2, 1]), (V32,)),
    ("flip", lambda a: np.flip(a), (M32,)),
    ("expand_dims", lambda a: np.expand_dims(a, (0, -1)), (M32,)),
    ("moveaxis", lambda a: np.moveaxis(a, 0, -1), (M32,)),
    ("squeeze axis", lambda a: np.squeeze(a, axis=-1), (COL,)),
    ("transpose axes", lambda a: np.transpose(a, (1, 0)), (M32,)),
    ("ravel", np.ravel, (M32,)),
    ("atleast_2d", np.atleast_2d, (V32,)),
    ("triu", lambda a: np.triu(a, 1), (M32,)),
    ("diag", np.diag, (V32,)),
    ("diagonal", lambda a: np.diagonal(a, offset=1), (M32,)),
    ("take", lambda a: np.take(a, [0, 3], axis=1), (M32,)),
    ("take_along_axis", lambda a: np.take_along_axis(a, np.argsort(a, axis=1), axis=1), (M32,)),
    ("interp", lambda x: np.interp(x, [-1.0, 0.0, 1.0], [0.0, 1.0, 3.0]), (V32,)),
    ("linspace", lambda a: np.linspace(a, 2 * a, 4), (np.float32(1.0),)),
    # elementwise odds and ends
    ("sign", np.sign, (M32,)),
    ("floor", np.floor, (M32,)),
    ("square f32", np.square, (M32,)),
    ("reciprocal", np.reciprocal, (M32,)),
    ("arctan2", np.arctan2, (M32, V32)),
    ("hypot", np.hypot, (M32, np.float32(1.0))),
    ("logaddexp", np.logaddexp, (M32, V32)),
    ("heaviside", lambda x: np.heaviside(x, 0.5), (M32,)),
    ("nan_to_num", lambda x: np.nan_to_num(x / np.where(x > 0, x, 0)), (M32,)),
    ("isclose", lambda x: np.isclose(x, 0.1), (M32,)),
    ("real of real", np.real, (M32,)),
    ("conj of real", np.conj, (M32,)),
    ("float_power", lambda x: np.float_power(np.abs(x), 2), (M32,)),
    ("fmod", lambda x: np.fmod(x, 0.3), (M32,)),
    ("sinc", np.sinc, (M32,)),
    ("deg2rad", np.deg2rad, (M32,)),
    ("copysign", lambda x: np.copysign(x, -1.0), (M32,)),
    ("xsq python int", lambda x: np.power(x, 2), (M32,)),
    # ufunc keyword arguments
    ("ufunc dtype=None", lambda x: np.log(np.abs(x) + 1, dtype=None), (M32,)),
    ("ufunc dtype=float64", lambda x: np.exp(x, dtype=np.float64), (M32,)),
    ("ufunc binary dtype", lambda x: np.add(x, 1.5, dtype=np.float64), (M32,)),
    ("ufunc where=True casting", lambda x: np.multiply(x, x, where=True, casting="same_kind"),
     (M32,)),
    # dot-like functions convert Python scalars to (float64) arrays
    ("inner scalar", lambda x: np.inner(x, 2.0), (V32,)),
    ("outer scalar", lambda x: np.outer(x, 2.0), (V32,)),
    ("kron scalar", lambda x: np.kron(x, 2.0), (V32,)),
    ("tensordot scalar", lambda x: np.tensordot(x, 2.0, 0), (V32,)),
    ("vdot", np.vdot, (V32, V32)),
    ("matmul 0-d error", lambda x: np.dot(x, np.float32(2.0)), (V32,)),
    # integer and boolean inputs (traced by jit and vmap)
    ("mean of int input", np.mean, (I64,)),
    ("int true divide", lambda i: i / 2, (I64,)),
    ("int floor divide", lambda i: i // 2, (I64,)),
    ("int power", lambda i: i ** 2, (I64,)),
    ("int sum", lambda i: np.sum(i, axis=0), (I64,)),
    ("bool sum", lambda i: np.sum(i > 0), (I64,)),
    ("int sqrt", np.sqrt, (np.abs(I64),)),
    ("int32 + python float", lambda i: i + 0.5, (I64.astype(np.int32),)),
    ("int8 * python int", lambda i: i * 3, (I64.astype(np.int8),)),
    ("uint8 abs diff", lambda i: np.abs(i - np.uint8(3)), (np.arange(6, dtype=np.uint8),)),
    ("int mixed with f32", lambda x, i: x * i, (M32, I64.astype(np.int16))),
    ("int index of float", lambda x, i: x[i], (V32, np.array([3, 1]))),
    ("int8 sum", np.sum, (I64.astype(np.int8),)),
    ("bool mean", lambda i: np.mean(i > 0, axis=1), (I64,)),
    ("var of ints", np.var, (I64,)),
    ("argmax ties", np.argmax, (TIES,)),
    ("where int branches", lambda x: np.where(x > 0, 1, 0), (M32,)),
    # assignment keeps the array's dtype
    ("setitem f64 into f32", _assigned, (M32, M64)),
    ("in-place ops keep f32", _updated, (M32, M64)),
    # more scalars, signs and empties
    ("round half to even", lambda x: np.round(x * 0.5), (np.arange(-3.0, 4.0),)),
    ("remainder negative divisor", lambda x: (x % -0.7, np.fmod(x, -0.7)), (M64,)),
    ("negative int power", lambda x: x ** -2, (M32,)),
    (".astype(bool)", lambda x: x.astype(bool), (M32,)),
    ("clip array bounds", lambda x, lo: np.clip(x, lo, 0.5), (M32, V32 - 1)),
    ("angle deg", lambda z: np.angle(z, deg=True), (C128,)),
    ("conjugate", np.conjugate, (C128.astype(np.complex64),)),
    ("empty matmul", lambda a, b: a @ b, (EMPTY, M64.T[:3, :2])),
    ("max empty initial", lambda x: np.max(x, axis=0, initial=-1.0), (EMPTY,)),
    ("f16 sum", lambda x: np.sum(x, axis=-1), (H16,)),
    ("stack 0-d", lambda a, b: np.stack([a, b], axis=-1), (np.array(1.0), np.array(2.0))),
    ("sum keepdims 0-d", lambda x: np.sum(x, keepdims=True), (np.array(1.5, np.float32),)),
    ("mean keepdims axis tuple f32", lambda x: np.mean(x, axis=(-1, 0), keepdims=True), (M32,)),
    ("cumsum of ints", lambda x: x * np.cumsum(I64, axis=0), (M32,)),
    # signed zeros, NaN and infinities
    ("signed zeros", lambda x: (-x * 0.0, np.abs(-x * 0.0), np.sign(x * 0.0),
                                np.sqrt(-0.0 * x)), (V64,)),
    ("x * -0.0 - 0.0", lambda x: x * -0.0 - 0.0, (V64,)),
    ("-0.0 + 0.0", lambda x: x * -0.0 + 0.0, (V64,)),
    ("x * 0.0 and x * -0.0", lambda x: (x * 0.0, x * -0.0), (V64,)),
    ("nan propagation", lambda x: (np.maximum(x, np.nan), np.fmax(x, np.nan), np.max(x / 0.0),
                                   np.sort(np.where(x > 0, np.nan, x)), np.clip(x * np.nan, 0, 1)),
     (V64,)),
    ("nan reductions", lambda x: (np.nanmean(np.where(x > 0, np.nan, x), axis=0),
                                  np.nanmax(np.where(x > 0, np.nan, x), axis=1)), (M32,)),
    ("inf arithmetic", lambda x: (x / 0.0, np.exp(x * 1000.0), np.log(x * 0.0)), (V64,)),
    # linear algebra in float32 and over stacks
    ("solve f32", np.linalg.solve, (SQ.astype(np.float32), M32[:, :2])),
    ("eigh f32", lambda a: np.linalg.eigh(a + a.T)[0], (SQ.astype(np.float32),)),
    ("svd values f32", lambda a: np.linalg.svd(a, compute_uv=False), (M32,)),
    ("det stack", np.linalg.det, (np.stack([SQ, SQ.T]),)),
    ("cholesky", lambda a: np.linalg.cholesky(a @ a.T), (SQ,)),
    ("qr", lambda a: np.abs(np.linalg.qr(a)[1]), (M64.T,)),
    ("pinv f32", np.linalg.pinv, (M32,)),
    ("lstsq", lambda a, b: np.linalg.lstsq(a, b)[0], (M64.T, V64)),
    ("norm ord -inf", lambda x: np.linalg.norm(x, -np.inf), (V32,)),
    ("norm ord 0", lambda x: np.linalg.norm(x, 0), (V32,)),
    ("norm ord -1 matrix", lambda x: np.linalg.norm(x, -1), (M32,)),
    ("matrix norms of a stack", lambda x: [np.linalg.norm(x, o, axis=(2, 0), keepdims=k)
                                           for o in (1, -1, np.inf, -np.inf, 2, -2, "nuc", "fro")
                                           for k in (False, True)],
     (rng.standard_normal((3, 2, 4)),)),
    ("norm f16", np.linalg.norm, (H16,)),
    ("vector_norm", lambda x: np.linalg.vector_norm(x, axis=0), (M32,)),
    ("matrix_norm", lambda x: np.linalg.matrix_norm(x), (M32,)),
    ("fft f32", np.fft.fft, (V32,)),
    ("rfft f32", np.fft.rfft, (V32,)),
    ("irfft", lambda x: np.fft.irfft(np.fft.rfft(x)), (V64,)),
    ("einsum optimize", lambda a, b: np.einsum("ij,jk,k->i", a, b, b[0], optimize=True),
     (M32, M32.T @ M32)),
    ("einsum mixed dtypes", lambda a, b: np.einsum("ij,j->i", a, b), (M32, V64)),
    ("tensordot int axes", lambda a, b: np.tensordot(a, b, 1), (M32, M32.T)),
    ("dot of stacks", lambda a, b: [np.dot(a, b), np.dot(a, b[:, 0]), np.dot(b.T, a.transpose(0, 2, 1))],
     (rng.standard_normal((3, 20, 30)), rng.standard_normal((30, 10)))),
    # statistics
    ("var complex", lambda z: np.var(z, axis=0), (C128,)),
    ("std f16", np.std, (H16,)),
    ("sum where", lambda x: np.sum(x, axis=1, where=I64 > 0), (M32,)),
    ("mean where", lambda x: np.mean(x, where=I64 > 0), (M32,)),
    ("average returned", lambda x: np.average(x, axis=0, weights=np.arange(1.0, 4.0),
                                               returned=True), (M32,)),
    ("cov f32", np.cov, (M32,)),
    ("corrcoef", np.corrcoef, (M64,)),
    ("quantile f32", lambda x: np.quantile(x, 0.3, axis=1), (M32,)),
    ("percentile methods", lambda x: [np.percentile(x, 40.0, method=m) for m in
                                      ("linear", "lower", "higher", "midpoint")], (V32,)),
    ("trapezoid", lambda x: np.trapezoid(x, dx=0.5), (M32,)),
    ("polyval", lambda p, x: np.polyval(p, x), (V32, M32)),
    ("convolve same", lambda a, b: np.convolve(a, b, mode="same"), (V32, V32[:3])),
    ("convolve full mixed", np.convolve, (V32, V64[:2])),
    ("long convolutions", lambda a, v: [f(x, y, m) for f in (np.convolve, np.correlate)
                                        for x, y in ((a, v), (v, a)) for m in ("full", "same")],
     (rng.standard_normal(60), rng.standard_normal(9) + 1j * rng.standard_normal(9))),
    # more indexing
    ("numpy integer index", lambda x: x[np.int64(2)], (V32,)),
    ("bool scalar index", lambda x: x[True], (V32,)),
    ("0-d int array index", lambda x: x[np.array(1)], (M32,)),
    ("index with negative ints", lambda x: x[np.array([-1, -4])], (V32,)),
    ("ellipsis middle", lambda x: x[0, ..., 1], (rng.standard_normal((2, 3, 4)),)),
    ("newaxis and int array", lambda x: x[None, np.array([1, 0])], (M32,)),
    ("setitem negative step", _assigned_reversed, (V32,)),
    ("setitem boolean mask", lambda x: _masked_assign(x, x > 0), (M32,)),
    ("put_along_axis", _put_along, (M32,)),
    ("searchsorted", lambda x: np.searchsorted(np.sort(x), [0.0, 1.0]), (V32,)),
    ("meshgrid", lambda a, b: np.meshgrid(a, b), (V32, V32[:2])),
    (".astype f16 and complex", lambda x: (x.astype(np.float16), x.astype(np.complex64)), (M32,)),
    ("matmul f16", lambda a: a @ a.T, (M64.astype(np.float16),)),
    ("uint8 negative", np.negative, (np.arange(4, dtype=np.uint8),)),
    ("int abs", np.abs, (I64,)),
    # the rest of the table, once each
    ("unary ufuncs", lambda x: [f(x) for f in (np.expm1, np.log1p, np.cbrt, np.exp2, np.log2,
                                               np.log10, np.tan, np.sinh, np.cosh, np.arcsinh,
                                               np.fabs, np.rad2deg, np.positive)], (M32,)),
    ("unit ufuncs", lambda x: [f(x) for f in (np.arcsin, np.arccos, np.arctanh)],
     (np.tanh(M32),)),
    ("binary ufuncs", lambda x, y: [f(x, y) for f in (np.logaddexp2, np.fmin, np.remainder,
                                                      np.power)], (np.abs(M32) + 0.1, V32)),
    ("arccosh", np.arccosh, (np.abs(M64) + 1.0,)),
    ("trace axes", lambda x: np.trace(x, axis1=0, axis2=2), (rng.standard_normal((3, 2, 3)),)),
    ("nan statistics", lambda x: [f(np.where(x > 1, np.nan, x), axis=0) for f in
                                  (np.nansum, np.nanstd, np.nanvar, np.nanprod, np.nanmin,
                                   np.nancumsum)], (M32,)),
    ("nanmedian", lambda x: np.nanmedian(np.where(x > 1, np.nan, x)), (M32,)),
    ("vander", lambda x: np.vander(x, 3), (V32,)),
    ("gradient", lambda x: np.gradient(x, axis=1), (M32,)),
    ("ediff1d", np.ediff1d, (M32,)),
    ("correlate", lambda a, b: np.correlate(a, b, mode="full"), (V32, V32[:2])),
    ("fft family", lambda x: [np.fft.ifft(x), np.fft.fft2(x), np.fft.fftshift(x),
                              np.fft.irfft(x, n=6), np.fft.rfftn(x)], (M64,)),
    ("matrix_power", lambda a: np.linalg.matrix_power(a, 3), (SQ,)),
    ("matrix_power -2", lambda a: np.linalg.matrix_power(a, -2), (SQ,)),
    ("eigvalsh", lambda a: np.linalg.eigvalsh(a + a.T), (SQ,)),
    ("svd", lambda a: np.abs(np.linalg.svd(a, full_matrices=False)[1]), (M64,)),
    ("multi_dot", lambda a, b: np.linalg.multi_dot([a, b, a]), (M64, M64.T)),
    ("cond", np.linalg.cond, (SQ,)),
    ("matrix_rank", np.linalg.matrix_rank, (M64,)),
    ("tensorsolve", lambda a, b: np.linalg.tensorsolve(a, b), (SQ, V64[:3])),
    ("choose compress extract", lambda x: [np.choose([0, 1, 0], x[:2, :3]),
                                           np.compress([True, False, True], x, axis=0),
                                           np.extract(x > 0, x)], (M32,)),
    ("delete insert append", lambda x: [np.delete(x, 1, axis=1), np.insert(x, 1, 5.0, axis=0),
                                        np.append(x, x[:1], axis=0), np.resize(x, (2, 7))],
     (M32,)),
    ("rotations and blocks", lambda x: [np.rot90(x), np.fliplr(x), np.block([[x, x]]),
                                        np.dstack([x, x]), np.atleast_3d(x)], (M32,)),
    ("broadcast_arrays unstack", lambda x, v: [*np.broadcast_arrays(x, v), *np.unstack(x)],
     (M32, V32)),
    ("diagflat", np.diagflat, (V32,)),
    ("fill_diagonal", lambda x: (lambda y: (np.fill_diagonal(y, 2.0), y)[1])(x * 1), (SQ,)),
    ("put place", lambda x: (lambda y: (np.put(y, [0, 5], [1.5, 2.5]),
                                        np.place(y, y > 1, [9.0]), y)[2])(x * 1), (M32,)),
    ("bincount weights", lambda w: np.bincount(np.array([0, 2, 2, 1]), weights=w), (V64,)),
    ("digitize", lambda x: np.digitize(x, [-1.0, 0.0, 1.0]), (M32,)),
    ("angle real_if_close", lambda z: [np.angle(z), np.real_if_close(z * 0 + z.real)], (C128,)),
    ("modf frexp ldexp", lambda x: [*np.modf(x), *np.frexp(x), np.ldexp(x, 3)], (M32,)),
    ("unique", lambda x: np.unique(np.round(x)), (M32,)),
    ("partition", lambda x: [np.partition(x, 2, axis=1), np.argpartition(x, 2, axis=1)], (M32,)),
    ("lexsort", lambda x: np.lexsort(x), (M32,)),
    ("logspace geomspace", lambda a: [np.logspace(0.0, a, 4), np.geomspace(1.0, a, 3)],
     (np.float32(2.0),)),
    ("spaces of arrays", lambda a, b: [np.linspace(a, b, 7, endpoint=e, axis=-1, retstep=True)
                                       for e in (True, False)] + [np.geomspace(-a, -b, 5),
                                                                  np.linspace(a, b, 4, dtype=int)],
     (np.array([1.0, 2.0], np.float32), np.array([10.0, 3.0], np.float32))),
    ("linspace num=0 of arrays", lambda a, b: np.linspace(a, b, 0), (V64[:2], V64[2:])),
    ("matvec vecmat", lambda a, v: [np.matvec(a, v), np.vecmat(v[:3], a), np.matrix_transpose(a)],
     (M32, V32)),
    ("vecdot", lambda a, b: [np.vecdot(a, b), np.vecdot(a.T, b[:, None], axis=0),
                             np.linalg.vecdot(a + 1j * a, b)], (M32, V32)),
    ("vecdot long", lambda a, b: np.vecdot(a, b), (rng.standard_normal((3, 1000)), rng.standard_normal(1000))),
    ("linalg.outer cross", lambda a, b: [np.linalg.outer(a, b), np.linalg.cross(a[:3], b[1:])],
     (V32, V32)),
    ("isin allclose count", lambda x: [np.isin(x, [0.0]), np.allclose(x, x), np.count_nonzero(x > 0),
                                       np.array_equal(x, x), np.any(x > 0), np.all(x > -9)], (M32,)),
    ("flatnonzero searchsorted", lambda x: [np.flatnonzero(x > 0),
                                            np.searchsorted(np.sort(x.ravel()), 0.5)], (M32,)),
    ("average no weights", lambda x: np.average(x, axis=(0, 1)), (M32,)),
    ("quantile methods", lambda x: [np.quantile(x, [0.2, 0.7], axis=0, method=m)
                                    for m in ("linear", "lower", "higher", "midpoint")], (M32,)),
    ("nanquantile nanpercentile", lambda x: [np.nanquantile(x, 0.5), np.nanpercentile(x, 25.0)],
     (M32,)),
    ("cumulative_sum include_initial", lambda x: np.cumulative_sum(x, axis=1,
                                                                   include_initial=True), (M32,)),
    ("cumulative_prod", lambda x: np.cumulative_prod(x, axis=0), (M32,)),
    ("nanargmax", lambda x: np.nanargmax(x, axis=0), (M32,)),
    ("corrcoef rowvar", lambda x: np.corrcoef(x, rowvar=False), (M32,)),
    ("cov weights", lambda x: [np.cov(x, aweights=np.arange(1.0, 5.0), dtype=np.float32),
                               np.cov(x, fweights=[1, 2, 1, 3], aweights=np.arange(1.0, 5.0),
                                      ddof=2)], (M64,)),
    ("corrcoef of correlated rows", lambda x: np.corrcoef(np.stack([x[0], 3 * x[0] + 1, x[1]])),
     (M64,)),
    ("xlogy-like where", lambda x: np.where(x > 0, x * np.log(np.abs(x) + 1e-30), 0.0), (M32,)),
    ("heaviside array", lambda x, h: np.heaviside(x, h), (M64, V64)),
    ("spacing signbit", lambda x: [np.spacing(x), np.signbit(x)], (M32,)),
    ("sign complex", np.sign, (C128,)),
    ("conj method", lambda z: z.conj(), (C128,)),
    ("imag of real", lambda x: np.imag(x), (M32,)),
]


def _inexact(x):
    return isinstance(x, (np.ndarray, np.generic)) and np.issubdtype(x.dtype, np.inexact)


def _leaves(out):
    return riesz.tree_leaves(out)


def assert_same(got, want, what, ulps=0):
    """Exactly NumPy's result: the same structure, and per leaf the same shape, dtype and
    values (NaN equal to NaN; within ``ulps`` units in the last place where given)."""
    got_leaves, want_leaves = _leaves(got), _leaves(want)
    assert len(got_leaves) == len(want_leaves), f"{what}: {got!r} vs {want!r}"
    for g, w in zip(got_leaves, want_leaves):
        assert np.shape(g) == np.shape(w), f"{what}: shape {np.shape(g)} != {np.shape(w)}"
        assert isinstance(g, np.generic) == isinstance(w, np.generic), \
            f"{what}: {type(g).__name__} where NumPy gives a {type(w).__name__}"
        assert np.result_type(g) == np.result_type(w), \
            f"{what}: dtype {np.result_type(g)} != {np.result_type(w)}"
        if ulps:
            np.testing.assert_array_max_ulp(g, w, maxulp=ulps)
        else:
            np.testing.assert_array_equal(g, w, err_msg=what)
            if np.result_type(w).kind == "f":   # -0.0 is not 0.0
                np.testing.assert_array_equal(np.signbit(g), np.signbit(w), err_msg=what)


def _split(args, differentiable=True):
    """The positions of the arguments that are traced: arrays of an inexact dtype (by the
    derivative transforms), or every array (by jit and vmap)."""
    if differentiable:
        return [k for k, a in enumerate(args) if _inexact(a)]
    return [k for k, a in enumerate(args) if isinstance(a, (np.ndarray, np.generic))]


def _with(args, traced, values):
    out = list(args)
    for k, v in zip(traced, values):
        out[k] = v
    return out


def _scalar_loss(out):
    """A real scalar of every inexact leaf of ``out`` (what grad needs), 0 when there is none."""
    total = 0.0
    for leaf in _leaves(out):
        if np.issubdtype(np.result_type(leaf), np.inexact):
            total = total + np.sum(np.real(leaf))
    return total


# known differences, each with its reason
STAGED_ERRORS = {
    # a result whose shape depends on values cannot be staged (JAX raises too)
    "boolean mask": "a staged boolean mask as an index",
    "unique": r"np.unique \(the size of its result depends on the values\)",
    "flatnonzero searchsorted": r"np.flatnonzero \(the size of its result depends on the values\)",
}
# the batched product is one BLAS call of another shape, and a batch of norms sums the
# squares where np.linalg.norm takes a dot product: either may round differently
VMAP_ROUNDING = {"rmatmul constant", "norm long", "norm long f32 keepdims"}
NOT_YET = {
    "lstsq": "riesz/rules/linalg.py computes lstsq's solution as pinv(a) @ b, which rounds "
             "differently from NumPy's gelsd (about 1e-15 relative)",
}
# the cases of functions new in NumPy 2 (riesz.numpy.compat.ADDED): skipped on older NumPy
NEEDS = {"vector_norm": ("linalg.vector_norm",), "matrix_norm": ("linalg.matrix_norm",),
         "trapezoid": ("trapezoid",), "broadcast_arrays unstack": ("unstack",),
         "matvec vecmat": ("matvec", "vecmat", "matrix_transpose"),
         "vecdot": ("vecdot", "linalg.vecdot"), "vecdot long": ("vecdot",),
         "linalg.outer cross": ("linalg.outer", "linalg.cross"),
         "cumulative_sum include_initial": ("cumulative_sum",),
         "cumulative_prod": ("cumulative_prod",)}
# where NumPy 1.26 differs from NumPy 2, which riesz follows (see also tests/conftest.py)
NUMPY1_DIFFERS = {
    **dict.fromkeys(["f32 ** python int", "f32 ** python float", "xsq python int"],
                    "NumPy 1.26 squares float32 by another loop, one rounding apart"),
    "norm ord 3": "NumPy 1.26's norm sums |x|³ in another order, one rounding apart",
    **dict.fromkeys(["outer scalar", "kron scalar"],
                    "NumPy 1.26's outer/kron promote a float64 0-d operand with float32 to float32"),
    **dict.fromkeys(["mean where", "sum where"], "NumPy 1.26's sum/mean(where=) of float32 is float64"),
    **dict.fromkeys(["f32 + float64 scalar", "mean of ints", "in-place ops keep f32"],
                    "NumPy 1.26's weak promotion state keeps a float64 0-d array with float32 "
                    "float32 in some loops"),
    **dict.fromkeys(["quantile f32", "percentile methods", "quantile methods",
                     "nanquantile nanpercentile", "logspace geomspace"],
                    "NumPy 1.26's quantile, percentile, logspace and geomspace of float32 are "
                    "float64"),
}
IDS = [c[0] for c in CASES]
CASES = [pytest.param(*c, marks=pytest.mark.xfail(strict=True, reason=NOT_YET[c[0]]))
         if c[0] in NOT_YET else
         pytest.param(*c, marks=pytest.mark.xfail(NUMPY_VERSION < (2, 0), strict=False,
                                                  reason=NUMPY1_DIFFERS[c[0]]))
         if c[0] in NUMPY1_DIFFERS else
         pytest.param(*c, marks=needs_numpy(*NEEDS[c[0]])) if c[0] in NEEDS else c
         for c in CASES]


@pytest.mark.parametrize("name,f,args", CASES, ids=IDS)
def test_transforms_give_numpy_results(name, f, args):
    want = f(*args)
    check_staged(f, args, want, name)
    traced = _split(args)
    if not traced:
        return
    primals = [args[k] for k in traced]

    def f_traced(*xs):
        return f(*_with(args, traced, xs))

    out, pullback = riesz.vjp(f_traced, *primals)
    assert_same(out, want, f"{name}: vjp")

    tangents = [np.ones_like(x) for x in primals]
    out, tangent = riesz.jvp(f_traced, primals, tangents)
    assert_same(out, want, f"{name}: jvp")
    for t, o in zip(_leaves(tangent), _leaves(out)):
        if np.issubdtype(np.result_type(o), np.inexact):
            assert np.shape(t) == np.shape(o) and np.result_type(t) == np.result_type(o), \
                f"{name}: the tangent is {np.result_type(t)}{np.shape(t)}, the output " \
                f"{np.result_type(o)}{np.shape(o)}"

    grads, aux = riesz.grad(lambda *xs: (_scalar_loss(f_traced(*xs)), f_traced(*xs)),
                            argnums=tuple(range(len(primals))), has_aux=True)(*primals)
    assert_same(aux, want, f"{name}: grad")
    for g, x in zip(grads, primals):
        assert np.shape(g) == np.shape(x) and np.result_type(g) == np.result_type(x), \
            f"{name}: gradient {np.result_type(g)}{np.shape(g)} for {np.result_type(x)}{np.shape(x)}"

    # two levels: forward over reverse
    out, _ = riesz.jvp(lambda *xs: riesz.vjp(f_traced, *xs)[0], primals, tangents)
    assert_same(out, want, f"{name}: jvp of vjp")


def check_staged(f, args, want, name):
    """jit and vmap trace every array argument, integer and boolean ones too."""
    traced = _split(args, differentiable=False)
    if not traced:
        return

    def f_traced(*xs):
        return f(*_with(args, traced, xs))
    primals = [args[k] for k in traced]
    if name in STAGED_ERRORS:
        with pytest.raises(riesz.ConcretizationError, match=STAGED_ERRORS[name]):
            riesz.jit(f_traced)(*primals)
        return
    assert_same(riesz.jit(f_traced)(*primals), want, f"{name}: jit")

    # a second example: x reversed along every axis (a contiguous copy: some of NumPy's
    # loops round differently on strided views)
    flipped = [np.copy(np.flip(x)) for x in primals]
    batch = [np.stack([x, y]) for x, y in zip(primals, flipped)]
    want_batched = riesz.tree_map(lambda w, v: np.stack([w, v]), want,
                                  f(*_with(args, traced, flipped)))
    assert_same(riesz.vmap(f_traced)(*batch), want_batched, f"{name}: vmap",
                ulps=4 if name in VMAP_ROUNDING else 0)


# ---------------------------------------------------------------- derivatives at ties and kinks

def _grad_and_jvp_agree(f, x):
    """∇f(x) by reverse mode, checked against forward mode along every basis direction
    (at a tie both modes must use the same convention)."""
    g = riesz.grad(f)(x)
    assert g.dtype == x.dtype and g.shape == x.shape
    for k in range(x.size):
        e = np.zeros_like(x)
        e.flat[k] = 1
        assert riesz.jvp(f, (x,), (e,))[1] == g.flat[k]
    return g


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ties_share_the_derivative_equally(dtype):
    x = np.array([1.0, 3.0, 3.0, 2.0], dtype)
    np.testing.assert_array_equal(_grad_and_jvp_agree(np.max, x), [0, 0.5, 0.5, 0])
    np.testing.assert_array_equal(_grad_and_jvp_agree(lambda x: np.ptp(x), x),
                                  [-1, 0.5, 0.5, 0])
    # maximum(x, y) at x = y: ½ each; maximum with a Python scalar at the scalar: ½
    y = np.array([1.0, 0.0, 3.0, 5.0], dtype)
    gx, gy = riesz.grad(lambda x, y: np.sum(np.maximum(x, y)), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(gx, [0.5, 1, 0.5, 0])
    np.testing.assert_array_equal(gy, [0.5, 0, 0.5, 1])
    assert gx.dtype == gy.dtype == dtype
    np.testing.assert_array_equal(
        _grad_and_jvp_agree(lambda x: np.sum(np.maximum(x, 2.0)), x), [0, 1, 1, 0.5])
    np.testing.assert_array_equal(
        _grad_and_jvp_agree(lambda x: np.sum(np.minimum(x, 3.0)), x), [1, 0.5, 0.5, 1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kinks_follow_the_documented_conventions(dtype):
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0], dtype)
    # clip: 1 inside, 0 outside, ½ on a bound
    np.testing.assert_array_equal(_grad_and_jvp_agree(lambda x: np.sum(np.clip(x, 0, 1)), x),
                                  [0, 0.5, 1, 0.5, 0])
    # |x|: 0 at 0, the minimum-norm subgradient
    np.testing.assert_array_equal(_grad_and_jvp_agree(lambda x: np.sum(np.abs(x)), x),
                                  [-1, 0, 1, 1, 1])
    # where(x > 0, sqrt(x), 0): the unselected branch's infinite derivative stays out
    np.testing.assert_array_equal(
        _grad_and_jvp_agree(lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0)), x),
        np.where(x > 0, 0.5 / np.sqrt(np.maximum(x, 1e-30)), 0).astype(dtype))
    zero = np.zeros(3, dtype)
    for f in (np.linalg.norm, lambda v: np.hypot(v[0], v[1]), np.std):
        np.testing.assert_array_equal(_grad_and_jvp_agree(f, zero), zero)


def test_sort_and_median_follow_the_stable_order_at_ties():
    x = np.array([2.0, 1.0, 2.0, 0.0, 2.0])
    w = np.arange(1.0, 6.0)
    # sum(w * sort(x)): entry x[i] gets the weight of its place in the stable order
    order = np.argsort(x, kind="stable")
    expected = np.empty_like(x)
    expected[order] = w
    np.testing.assert_array_equal(_grad_and_jvp_agree(lambda x: np.sum(w * np.sort(x)), x),
                                  expected)
    # an even count: the median is the mean of the two middle entries, ½ each
    x4 = np.array([4.0, 1.0, 3.0, 2.0])
    np.testing.assert_array_equal(_grad_and_jvp_agree(np.median, x4), [0, 0, 0.5, 0.5])


def test_products_differentiate_exactly_at_zeros():
    # ∂yᵢ/∂xⱼ = ∏_{k ≤ i, k ≠ j} xₖ for y = cumprod(x), and its last row is prod's gradient
    x = np.array([2.0, 0.0, 3.0, 0.0, 1.5])
    expected = np.array([[np.prod(np.delete(x[:i + 1], j)) if j <= i else 0.0
                          for j in range(5)] for i in range(5)])
    for jac in (riesz.jacfwd, riesz.jacrev):
        np.testing.assert_array_equal(jac(np.cumprod)(x), expected)
        np.testing.assert_array_equal(jac(np.prod)(x), expected[-1])
    # ∂²∏/∂x₁∂x₃ = x₀ x₂ x₄, the only second derivative that survives two zeros
    hessian = riesz.hessian(np.prod)(x)
    assert hessian[1, 3] == hessian[3, 1] == 2.0 * 3.0 * 1.5
    assert np.count_nonzero(hessian) == 2
    check_grads(lambda x: np.cumprod(x, axis=1), (rng.standard_normal((3, 6)),), order=3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_derivative_values_match_finite_differences(dtype):
    x = rng.uniform(0.5, 1.5, (3, 4)).astype(dtype)
    v = rng.uniform(-1, 1, 4).astype(dtype)
    functions = [
        lambda x: np.linalg.norm(x, "nuc") + np.linalg.norm(x, 2) + np.linalg.norm(x, -np.inf),
        lambda x: np.linalg.norm(x, axis=0, ord=3) + np.linalg.norm(x[0], 1),
        lambda x: np.einsum("ij,ik->jk", x, x) @ v,
        lambda x: np.pad(x, ((1, 1), (2, 0)), mode="reflect") * np.roll(np.tile(x, (1, 2)),
                                                                          3)[:5, :6].sum(),
        lambda x: np.mean(x * 2.0, axis=-1) + np.float32(0.5) * np.cumsum(x, axis=0)[-1, :3],
        lambda x: np.interp(x[0], [0.0, 1.0, 2.0], [1.0, 3.0, 2.0]) * np.diff(x, axis=0)[1],
        lambda x: np.concatenate([x[0] ** 3, np.repeat(x[1], 2)]) @ np.ones(12, dtype) / x[2],
    ]
    for f in functions:
        check_grads(f, (x,), order=2)
        assert riesz.grad(lambda x: np.sum(f(x)))(x).dtype == dtype


# ---------------------------------------------------------------- intentional differences

def _write_into_numpy_array(x):
    a = np.zeros(3)
    a[0] = x[0]
    return a


@pytest.mark.parametrize("f,error,message", [
    (lambda x: float(x[0]), TypeError, "float.. of a traced value would drop its derivative"),
    (lambda x: __import__("math").sqrt(x[0]), TypeError, "math.sqrt"),
    (lambda x: np.float64(x[0]), TypeError, "converting a traced value to a NumPy array"),
    (lambda x: np.asarray(x), TypeError, "riesz.numpy.asarray keeps derivatives"),
    (lambda x: np.array([x[0], x[1]]), TypeError, r"np.stack\(\[a, b\]\)"),
    (lambda x: x[0].item(), TypeError, r"index it instead \(x\[\(\)\] or x\[i\]\)"),
    (lambda x: np.exp(x, out=np.empty(3)), TypeError, "cannot write a traced value"),
    (lambda x: np.histogram2d(x, x), riesz.NoRuleError, "no derivative rule for numpy.histogram2d"),
])
def test_dropping_a_derivative_is_an_error_that_says_what_to_do(f, error, message):
    # NumPy would convert silently; riesz refuses, naming the fix
    with pytest.raises(error, match=message):
        riesz.grad(lambda x: np.sum(f(x)) * 1.0)(np.arange(1.0, 4.0))


def test_writing_a_traced_scalar_into_a_numpy_array_names_the_fix():
    # NumPy turns the float() error into "setting an array element with a sequence"; riesz
    # raises its own error in its place, at the user's line
    with pytest.raises(TypeError, match=r"riesz\.numpy\.at\(y\)\[idx\]\.set\(v\)"):
        riesz.grad(lambda x: np.sum(_write_into_numpy_array(x)))(np.arange(1.0, 4.0))


def _refilled_buffer(x):
    """x · (1 + 2 + 3), through a work buffer refilled after each use (NumPy: 6x)."""
    buf = np.ones(x.shape)
    acc = x * 0
    for i in range(3):
        buf[:] = i + 1.0
        acc = acc + x * buf
    buf[:] = -1.0   # after the last use too
    return acc


def test_a_constant_refilled_after_its_use_keeps_the_value_it_was_used_with():
    # a node keeps a copy of a NumPy array argument: the rule must not read the buffer's
    # later contents (it gave 9x as the gradient, and 108 as the Hessian's diagonal)
    x = np.arange(3.0)
    np.testing.assert_allclose(_refilled_buffer(x), 6 * x)
    np.testing.assert_allclose(riesz.grad(lambda x: np.sum(_refilled_buffer(x)))(x), [6.0] * 3)
    for jac in (riesz.transforms.jacobian, riesz.transforms.jacrev, riesz.transforms.jacfwd):
        np.testing.assert_allclose(jac(_refilled_buffer)(x), 6 * np.eye(3))
    hess = riesz.transforms.hessian(lambda x: np.sum(_refilled_buffer(x) ** 2))
    np.testing.assert_allclose(hess(x), 72 * np.eye(3))
    staged = riesz.jacobian(_refilled_buffer), riesz.hessian(lambda x: np.sum(
        _refilled_buffer(x) ** 2))
    for _ in range(3):   # recorded, staged, run staged
        np.testing.assert_allclose(staged[0](x), 6 * np.eye(3))
        np.testing.assert_allclose(staged[1](x), 72 * np.eye(3))


def test_jit_stages_a_refilled_constant_with_the_value_it_was_used_with():
    # staging froze constant arrays at the end of the call: the buffer entered every use
    # with its last value (jit(f) gave 9x; -3x with the refill after the last use)
    jitted = riesz.jit(_refilled_buffer)
    jitted_grad = riesz.jit(riesz.grad(lambda x: np.sum(_refilled_buffer(x) * x)))
    for x in (np.arange(3.0), np.ones(3)):
        np.testing.assert_allclose(jitted(x), 6 * x)
        np.testing.assert_allclose(jitted_grad(x), 12 * x)   # the backward pass too



def test_a_big_constant_is_protected_not_copied():
    # a constant array of PROTECT_NBYTES or more is read-only while the tape holds it: a
    # refill after its use raises (instead of a copy per operation, or a wrong derivative),
    # and the array is writable again once the tape is given back
    from riesz.rules import PROTECT_NBYTES
    n = PROTECT_NBYTES // 8
    big, small = np.full(n, 2.0), np.full(3, 2.0)
    x = np.ones(n)

    def refills(x):
        y = x * big
        big[:] = 5.0
        return np.sum(y)
    with pytest.raises(ValueError, match="read-only"):
        riesz.grad(refills)(x)
    assert big.flags.writeable and np.all(big == 2.0)

    def uses(x):
        return np.sum(x * big) + np.sum(x[:3] * small)
    g = riesz.grad(uses)(x)
    assert big.flags.writeable and small.flags.writeable   # given back with the tape
    np.testing.assert_allclose(g[:3], 4.0)
    np.testing.assert_allclose(g[3:], 2.0)
    _, pullback = riesz.vjp(uses, x)
    assert not big.flags.writeable   # the pullback may still read it
    np.testing.assert_allclose(pullback(1.0)[0][:3], 4.0)
    del pullback
    import gc
    gc.collect()
    assert big.flags.writeable

    def adds(x):   # a constant no rule reads is left writable: add's rules read neither
        y = x + big
        big[:] = 3.0
        return np.sum(y)
    np.testing.assert_allclose(riesz.grad(adds)(x), 1.0)
    assert np.all(big == 3.0)


def test_operators_defer_to_an_operand_that_refuses_ufuncs():
    # NumPy's rule for x * other with other.__array_ufunc__ = None: other's reflected method
    class Units:
        __array_ufunc__ = None

        def __rmul__(self, value):
            return ("scaled", value)

        def __radd__(self, value):
            return ("shifted", value)

    def f(x):
        scaled, shifted = x * Units(), x + Units()
        assert scaled[0] == "scaled" and shifted[0] == "shifted" and scaled[1] is x
        return np.sum(x * 3.0)
    x = np.ones(2)
    np.testing.assert_array_equal(riesz.grad(f)(x), [3.0, 3.0])
    assert f(x) == riesz.jit(f)(x) == 6.0
    with pytest.raises(TypeError, match="did not contain a loop"):   # others: NumPy's error
        riesz.grad(lambda x: np.sum(x * "text"))(x)
