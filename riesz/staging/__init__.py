"""Staging: a function as a program of equations over typed variables, and what is built
on it: readable NumPy source, a graph, ``jit``, fusion. A layer above the transforms
(``trace(grad(f))`` stages the backward pass); no rule module imports it.

    ir        the parts of a program: Var, Literal, Eqn (data only)
    tracer    the staging trace: StagingTracer, StagingTrace, ConcretizationError
    simplify  rewrites that make a program lean
    printing  one equation as a NumPy expression; names in generated code
    source    a program as a Python module (generated, compiled, run)
    graph     a program as Graphviz DOT text
    program   Program: staged, runnable, printable
    stage     trace, source, graph: the entry points
    fusion    elementwise chains as numexpr kernels (optional)
    jit       stage once per signature, run the generated code
"""
from .ir import Eqn, Literal, Var
from .program import Program
from .tracer import ConcretizationError, StagingTrace
from .stage import graph, source, trace
from .jit import jit

__all__ = ["trace", "Program", "ConcretizationError", "StagingTrace", "Var", "Literal", "Eqn",
           "source", "graph", "jit"]
