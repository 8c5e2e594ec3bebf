"""A staged program as a graph: Graphviz DOT text of its data flow.

``riesz.graph(riesz.grad(f), x)`` draws the computation the derivative runs: one box per
primitive, one edge per value (labelled with its name and type), the function's inputs
and outputs as ovals. Operations are grouped by the line of the user's code they come
from, and the backward pass of a line is drawn in its own shaded group, so the
transposed operations sit beside the forward ones they transpose. The text needs no
library; render it with Graphviz (``dot -Tsvg grad_f.dot -o grad_f.svg``) or paste it
into any DOT viewer.
"""
import os

from .ir import Literal, resolve
from .printing import Context, Namer, preferred_name, short_literal

__all__ = ["program_dot"]

_FORWARD, _BACKWARD = "#dbe9f6", "#fbe3cf"   # the fills of forward and backward operations


def _quote(text):
    """A DOT string: quotes and backslashes escaped, line breaks written as DOT's
    backslash-n."""
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def program_dot(program):
    """The data flow of a :class:`~riesz.staging.Program` as Graphviz DOT text."""
    namer = Namer(program, Context({}))
    lines = [f"digraph {_quote(program.name)} {{",
             "  rankdir=TB;",
             '  node [fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9];']
    source = {}   # id(Var) -> (graph node, the value's name and type)
    for i, v in enumerate(program.invars):
        name = namer.bind(v, v.hint or f"a{i}", -1)
        lines.append(f"  in{i} [shape=oval, label={_quote(name + chr(10) + v.type_str())}];")
        source[id(v)] = (f"in{i}", name, v.type_str())
    groups = {}   # the user's line (and direction) -> node lines
    edges = []
    for k, e in enumerate(program.eqns):
        args = [short_literal(x.value) if isinstance(x, Literal) else namer.names[id(x)]
                for x in e.inputs]
        outs = [namer.bind(v, preferred_name(e, namer.names), k) for v in e.outputs]
        _, params = resolve(e, list(args))
        constants = [a for x, a in zip(e.inputs, args) if isinstance(x, Literal)]
        detail = " ".join([f"{key}={short_literal(value)}" for key, value in params.items()]
                          + constants)
        backward = e.where is not None and e.where.backward
        label = e.prim.name + (chr(10) + detail if detail else "")
        fill = _quote(_BACKWARD if backward else _FORWARD)
        groups.setdefault(_group_key(e), []).append(
            f"    op{k} [shape=box, style=filled, fillcolor={fill}, label={_quote(label)}];")
        for x in e.inputs:
            if not isinstance(x, Literal):
                node, name, kind = source[id(x)]
                edges.append(f"  {node} -> op{k} [label={_quote(name + ': ' + kind)}];")
        for v, name in zip(e.outputs, outs):
            source[id(v)] = (f"op{k}", name, v.type_str())
    for g, (key, nodes) in enumerate(groups.items()):
        if key is None:
            lines.extend(line[2:] for line in nodes)
            continue
        lines.append(f"  subgraph cluster_{g} {{")
        lines.append(f"    label={_quote(key)}; style=rounded; color=gray60; fontsize=10;")
        lines.extend(nodes)
        lines.append("  }")
    for i, o in enumerate(program.outputs):
        text = short_literal(o.value) if isinstance(o, Literal) else source[id(o)][1]
        lines.append(f"  out{i} [shape=doubleoctagon, label={_quote('output ' + str(i))}];")
        if not isinstance(o, Literal):
            node, name, kind = source[id(o)]
            edges.append(f"  {node} -> out{i} [label={_quote(name + ': ' + kind)}];")
        else:
            lines.append(f"  const_out{i} [shape=plaintext, label={_quote(text)}];")
            edges.append(f"  const_out{i} -> out{i};")
    lines.extend(edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _group_key(e):
    """The cluster of an equation: its user line, forward or backward (None: no line)."""
    where = e.where
    if where is None:
        return None
    what = "backward of " if where.backward else ""
    return f"{what}{os.path.basename(where.filename)}:{where.lineno}: {where.text}"
