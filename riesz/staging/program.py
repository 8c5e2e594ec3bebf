"""A staged function as a :class:`Program`: equations over typed variables, runnable.

``program(*args)`` runs the generated NumPy code of :mod:`riesz.staging.source`;
with traced arguments (a transform applied to a program) it applies the equations
with ``bind``, so every transform sees the primitives.
"""
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from ..core import Tracer, bind, full_lower
from ..tree import tree_flatten, tree_unflatten
from .graph import program_dot
from .ir import Literal, arity, resolve
from .printing import program_listing
from .source import compile_program, program_source

__all__ = ["Program"]


class Program:
    """A staged function: ``outputs = f(*inputs)`` as a list of equations.

    ``program(*args)`` runs it (on arrays of the traced shapes and dtypes, through
    generated NumPy code); :meth:`source` is that code; ``str(program)`` the compact
    listing. With traced arguments (a transform applied to a program) the equations
    are applied with ``bind``, so every transform sees the primitives.
    """

    def __init__(self, name: str, invars: list[Any], outputs: list[Any], eqns: list[Any],
                 in_tree: Any, out_tree: Any) -> None:
        self.name = name
        self.invars = invars          # Vars, the flattened arguments
        self.outputs = outputs        # Var or Literal, the flattened results
        self.eqns = eqns
        self.in_tree = in_tree
        self.out_tree = out_tree
        self.const_hints = {}         # id(array) -> the user's name for a constant
        # the staged function's positional parameters, for riesz.source: (name, "static",
        # its value) or (name, "dynamic", None), in order; None where unknown
        self.arguments = None
        # names of the custom_vjp/custom_jvp functions staged as their primal operations:
        # the program computes their values, but their rules are not in it
        self.custom_rules = ()
        self._compiled = None

    def replace(self, eqns: list[Any], outputs: list[Any] | None = None,
                inputs: "tuple[list[Any], Any] | None" = None) -> "Program":
        """The same function with other equations (and outputs, and inputs: ``(invars,
        in_tree)``): a rewrite of it."""
        invars, in_tree = (self.invars, self.in_tree) if inputs is None else inputs
        new = Program(self.name, invars, self.outputs if outputs is None else outputs,
                      eqns, in_tree, self.out_tree)
        new.const_hints, new.arguments = self.const_hints, self.arguments
        new.custom_rules = self.custom_rules
        return new

    def __call__(self, *args):
        leaves, tree = tree_flatten(args)
        if tree != self.in_tree:
            raise TypeError(f"{self.name}: called with arguments of structure {tree}, but it "
                            f"was traced with {self.in_tree}")
        if any(isinstance(x, Tracer) for x in leaves):
            out = self.bind_eval(leaves)
        else:
            for x, v in zip(leaves, self.invars):
                if np.shape(x) != v.shape:
                    raise TypeError(f"{self.name}: an argument has shape {np.shape(x)}, but it "
                                    f"was traced with {v.shape}; trace it again for new shapes")
            out = self.compiled()(*leaves)
            out = list(out) if len(self.outputs) != 1 else [out]
        return tree_unflatten(self.out_tree, out)

    def dot(self) -> str:
        """The program's data flow as Graphviz DOT text (:func:`riesz.graph`)."""
        return program_dot(self)

    def bind_eval(self, leaves: Sequence[Any]) -> list[Any]:
        """The flattened outputs for flattened inputs, every equation applied with ``bind``.

        A transform applied this way differentiates the program's equations. A program
        that staged a ``custom_vjp``/``custom_jvp`` as its primal operations would give
        the derivative of those, not the custom rule's: it refuses traced inputs."""
        if self.custom_rules and any(isinstance(x, Tracer) for x in leaves):
            names = ", ".join(sorted(set(self.custom_rules)))
            raise TypeError(f"{self.name}: a transform is applied to a staged program that holds "
                            f"custom derivative rules ({names}), staged as their primal "
                            f"operations; it would differentiate those instead of the rules. "
                            f"Apply the transform before staging (riesz.jit(riesz.grad(f))), or "
                            f"to the function itself")
        env = {id(v): x for v, x in zip(self.invars, leaves)}
        for e in self.eqns:
            args = [i.value if isinstance(i, Literal) else env[id(i)] for i in e.inputs]
            n = arity(e)   # an index read from the params carries no derivative: lowered
            args, params = resolve(e, args[:n] + [full_lower(x) for x in args[n:]])
            if e.errstate is None:
                ans = bind(e.prim, args, params)
            else:   # as the program's source runs it (source.program_source)
                with np.errstate(**dict(e.errstate)):
                    ans = bind(e.prim, args, params)
            for v, x in zip(e.outputs, ans if e.prim.multiple_results else (ans,)):
                env[id(v)] = x
        return [o.value if isinstance(o, Literal) else env[id(o)] for o in self.outputs]

    def compiled(self) -> Callable[..., Any]:
        """The program as a Python function, compiled from :meth:`source` once (or, for a
        primitive that cannot be written as NumPy source, its equations interpreted)."""
        if self._compiled is None:
            try:
                self._compiled = compile_program(self)
            except NotImplementedError as error:
                warnings.warn(f"{self.name}: {error}; running the program by interpreting "
                              f"its equations", RuntimeWarning, stacklevel=3)
                self._compiled = self._interpreted
        return self._compiled

    def _interpreted(self, *leaves):
        out = self.bind_eval(leaves)
        return out[0] if len(out) == 1 else tuple(out)

    def source(self, **options: Any) -> str:
        """The program as a Python module a person can read, copy and run: one function
        that asserts the shapes and dtypes it was staged for."""
        return program_source(self, checks=True, **options).text

    def __str__(self):
        return program_listing(self)

    def __repr__(self):
        return (f"<Program {self.name}: {len(self.invars)} inputs, {len(self.eqns)} equations, "
                f"{len(self.outputs)} outputs>")

