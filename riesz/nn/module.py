"""``Module``: a layer or model whose instances are pytrees of their parameters.

A module's *children* are its attributes that hold floating-point arrays (the
parameters), other modules, or lists, tuples and dicts of them; every other
attribute (sizes, activation functions, flags) is static structure, and so is every
other entry of those lists and dicts (``[Linear, relu, Linear]`` has two children).
Static arrays (an integer mask) compare by value. Subclasses register
themselves with :func:`riesz.register_pytree_node`, so transforms see a model as
a container of arrays: ``riesz.grad(loss)(model, x, y)`` returns a gradient of
the same class with the gradient arrays in place of the parameters, and
``riesz.tree_map`` over a model (an optimizer step, say) builds a new model.

Modules are immutable in practice: a training step returns a new model rather
than writing into the old one.
"""
import os
from typing import Any, TypeVar

import numpy as np

from ..tree import DictKey, GetAttrKey, SequenceKey, register_pytree_node, tree_flatten

__all__ = ["Module"]


def _is_parameter(value):
    """A floating-point (or complex) array, NumPy scalar or traced value."""
    dtype = getattr(value, "dtype", None)
    return isinstance(dtype, np.dtype) and dtype.kind in "fc" and hasattr(value, "shape")


def _is_child(value):
    """A parameter, a module, or a list, tuple or dict holding any (at any depth)."""
    if type(value) is np.ndarray:   # the common case first
        return value.dtype.kind in "fc"
    if isinstance(value, (list, tuple)):
        return any(map(_is_child, value))
    if isinstance(value, dict):
        return any(map(_is_child, value.values()))
    return isinstance(value, Module) or _is_parameter(value)


class _Static:
    """A static attribute inside a module's pytree structure. Two structures are equal when
    their static attributes are, and those may be arrays (an integer mask, say), which
    compare by value here rather than by NumPy's elementwise ``==``."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, _Static) and _same(self.value, other.value)

    def __hash__(self):
        value = self.value
        if isinstance(value, np.ndarray):
            return hash((value.shape, value.dtype.str))
        try:
            return hash(value)
        except TypeError:
            return hash(type(value))


def _same(a, b):
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
                and bool(np.array_equal(a, b)))
    if isinstance(a, (list, tuple)) and not isinstance(a, str):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return type(a) is type(b) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _flatten_module(module):
    children, names, static = [], [], []
    for name, value in vars(module).items():
        if _is_child(value):
            names.append(name)
            children.append(_Mixed(value) if isinstance(value, (list, tuple, dict)) else value)
        else:
            static.append((name, _Static(value)))
    return children, (tuple(names), tuple(static))


def _as_child(value):
    """A child as the pytree sees it: containers keep only their parameters and modules."""
    return _Mixed(value) if isinstance(value, (list, tuple, dict)) else value


class _Mixed:
    """A list, tuple or dict attribute of a module (``[Linear, relu, Linear]``, say), seen
    as a pytree of its parameters and sub-modules only: the other entries (activation
    functions, sizes, flags) are static structure, as a module's own attributes are.
    Unflattening gives back the plain container."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def flatten(self):
        value = self.value
        keys = sorted(value) if isinstance(value, dict) else range(len(value))
        children, positions, static = [], [], []
        for i, key in enumerate(keys):
            item = value[key]
            if _is_child(item):
                positions.append(i)
                children.append(_as_child(item))
            else:
                static.append((i, _Static(item)))
        return children, (type(value), tuple(keys), tuple(positions), tuple(static))

    @staticmethod
    def unflatten(aux, children):
        cls, keys, positions, static = aux
        items = [None] * len(keys)
        for i, child in zip(positions, children):
            items[i] = child
        for i, item in static:
            items[i] = item.value
        if cls is dict:
            return dict(zip(keys, items))
        if cls is list:
            return items
        return cls(*items) if hasattr(cls, "_fields") else cls(items)   # namedtuple, tuple


def _mixed_keys(aux):
    # the key of each child: its dict key or its index in the container
    cls, keys, positions, _ = aux
    return [DictKey(keys[i]) if cls is dict else SequenceKey(keys[i]) for i in positions]


register_pytree_node(_Mixed, _Mixed.flatten, _Mixed.unflatten, keys=_mixed_keys)


def _unflatten_module(cls, aux, children):
    names, static = aux
    module = cls.__new__(cls)
    attributes = module.__dict__   # as __init__ left them: no __setattr__ runs
    attributes.update(zip(names, children))
    for name, value in static:
        attributes[name] = value.value
    return module


def _register(cls):
    register_pytree_node(cls, _flatten_module,
                         lambda aux, children: _unflatten_module(cls, aux, children),
                         keys=lambda aux: [GetAttrKey(name) for name in aux[0]])   # .W


_M = TypeVar("_M", bound="Module")


class Module:
    """Base class of layers and models: a pytree of its parameters.

    Subclasses set their parameters (float arrays) and sub-modules as attributes in
    ``__init__`` and define ``__call__``. A trainable scalar must be an array
    (``np.array(1.0)``): a Python float attribute is a fixed setting, like ``eps``. ``stochastic`` is True for modules whose
    call takes a random generator (``rng=``), such as :class:`~riesz.nn.Dropout`.
    """
    stochastic = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _register(cls)

    def children(self) -> "list[tuple[str, Any]]":
        """``[(attribute name, child)]``: parameters, sub-modules and containers of them."""
        names, _ = _flatten_module(self)[1]
        return [(name, getattr(self, name)) for name in names]

    def parameters(self) -> list[Any]:
        """The parameter arrays, in pytree order."""
        return tree_flatten(self)[0]

    def named_parameters(self) -> dict[str, Any]:
        """``{dotted name: array}``, e.g. ``{"layers.0.weight": ..., ...}``."""
        from .serialization import named_leaves
        return named_leaves(self)

    @property
    def num_parameters(self) -> int:
        """The number of scalar parameters."""
        return int(sum(np.size(p) for p in self.parameters()))

    def save(self, path: "str | os.PathLike[str]") -> None:
        """Write the parameters to an ``.npz`` file (see :func:`riesz.nn.save`)."""
        from .serialization import save
        save(path, self)

    def load(self: _M, path: "str | os.PathLike[str]") -> _M:
        """A copy of this module with the parameters read from ``path``; the file must hold
        exactly this module's parameters, with these shapes and dtypes."""
        from .serialization import load
        return load(path, like=self)

    # ------------------------------------------------------------ printing

    def describe(self) -> str:
        """One line saying what this module is, without its children (override it)."""
        static = [(k, v.value) for k, v in _flatten_module(self)[1][1] if not k.startswith("_")]
        return f"{type(self).__name__}({', '.join(f'{k}={_short(v)}' for k, v in static)})"

    def __repr__(self):
        return "\n".join(self._repr_lines(top=True))

    def _repr_lines(self, top=False):
        try:
            head = self.describe()
        except (TypeError, ValueError, IndexError, AttributeError):
            # a module-shaped value whose leaves are not this layer's parameters (a Hessian
            # or Jacobian with respect to a model holds models at its leaves): describe
            # it generically rather than fail to print
            head = Module.describe(self)
        if top:
            head += f"  # {self.num_parameters:,} parameters"
        lines = [head]
        for name, child in self.children():
            if isinstance(child, (list, tuple, dict)):
                items = child.items() if isinstance(child, dict) else enumerate(child)
                for key, value in items:
                    lines.extend(_child_lines(f"{name}[{key!r}]", value))
            else:
                lines.extend(_child_lines(name, child))
        return lines


def _child_lines(name, child):
    if isinstance(child, Module):
        sub = child._repr_lines()
        return [f"  {name}: {sub[0]}"] + ["  " + line for line in sub[1:]]
    if _is_parameter(child):
        return [f"  {name}: {np.dtype(child.dtype).name}{list(child.shape)}"]
    return [f"  {name}: {_short(child)}"]


_register(Module)


def _short(value):
    """A short readable form of a static attribute: functions by name, arrays (an integer
    mask, say) by dtype and shape."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype.name}{list(value.shape)}"
    return getattr(value, "__name__", None) or repr(value)
