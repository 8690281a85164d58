"""Static walks over a SavedModel's GraphDef and its function library (no TensorFlow execution).

Tensor references differ by scope: the top-level GraphDef writes ``node`` or ``node:1``; inside a
FunctionDef they are ``arg_name`` or ``node:output_name:index``. A ``Scope`` hides that difference
so a walk can follow a tensor into ``StatefulPartitionedCall``/``PartitionedCall`` bodies.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

_PASS_THROUGH = frozenset({"Identity", "Cast", "StopGradient", "Snapshot"})
_CALLS = frozenset({"StatefulPartitionedCall", "PartitionedCall"})

Dims = tuple[int | None, ...]


@dataclass(frozen=True)
class _Ref:
    scope: str  # "" for the top-level graph, else a function name
    node: str  # producing node name, or the function argument name
    index: int  # output index (0 for arguments)


class Library:
    """Consumers and nodes per scope, built once from a MetaGraphDef proto."""

    def __init__(self, graph_def: Any) -> None:
        self.nodes: dict[str, dict[str, Any]] = {"": {n.name: n for n in graph_def.node}}
        self.args: dict[str, list[str]] = {}
        self.consumers: dict[str, dict[tuple[str, int], list[tuple[Any, int]]]] = {}
        self._index("", graph_def.node, top=True)
        for fn in graph_def.library.function:
            name = fn.signature.name
            self.nodes[name] = {n.name: n for n in fn.node_def}
            self.args[name] = [a.name for a in fn.signature.input_arg]
            self._index(name, fn.node_def, top=False)

    def _index(self, scope: str, nodes: Any, top: bool) -> None:
        table: dict[tuple[str, int], list[tuple[Any, int]]] = {}
        for node in nodes:
            for slot, inp in enumerate(node.input):
                if inp.startswith("^"):
                    continue
                parts = inp.split(":")
                if top:
                    key = (parts[0], int(parts[1]) if len(parts) > 1 else 0)
                else:
                    key = (parts[0], int(parts[2]) if len(parts) > 2 else 0)
                table.setdefault(key, []).append((node, slot))
        self.consumers[scope] = table

    def const_value(self, scope: str, ref: str) -> Any | None:
        """The numpy value of a Const feeding ``ref`` (same scope), or None."""
        from tensorflow.python.framework import tensor_util

        node = self.nodes[scope].get(ref.split(":")[0])
        if node is None or node.op != "Const":
            return None
        return tensor_util.MakeNdarray(node.attr["value"].tensor)


def fixed_input_shape(graph_def: Any, placeholder: str, rank: int, library: Library | None = None) -> Dims | None:
    """The shape the graph itself imposes on a top-level placeholder, if it does.

    Follows the tensor through pass-through ops and function calls until an ``EnsureShape`` or a
    ``Reshape`` to a constant shape of the same rank. Returns dims (None where still unknown).
    """
    lib = library or Library(graph_def)
    queue = deque([_Ref("", placeholder.split(":")[0], 0)])
    seen: set[_Ref] = set()
    while queue:
        ref = queue.popleft()
        if ref in seen:
            continue
        seen.add(ref)
        for node, slot in lib.consumers[ref.scope].get((ref.node, ref.index), []):
            if node.op in _PASS_THROUGH:
                queue.append(_Ref(ref.scope, node.name, 0))
            elif node.op == "EnsureShape" and slot == 0:
                dims = tuple(None if d.size < 0 else int(d.size) for d in node.attr["shape"].shape.dim)
                if len(dims) == rank:
                    return dims
            elif node.op == "Reshape" and slot == 0:
                value = lib.const_value(ref.scope, node.input[1])
                if value is not None and value.ndim == 1 and len(value) == rank:
                    return tuple(None if int(d) < 0 else int(d) for d in value.tolist())
            elif node.op in _CALLS:
                fn = node.attr["f"].func.name
                if fn in lib.args and slot < len(lib.args[fn]):
                    queue.append(_Ref(fn, lib.args[fn][slot], 0))
    return None


def function_dependencies(fdef: Any) -> dict[int, set[int]]:
    """For a FunctionDef: output index -> the argument indices its value depends on.

    Control edges (``^node``) order execution but carry no value, so they are not dependencies.

    Built as a networkx DiGraph over the function's nodes and arguments; an output depends on every
    argument that has a path to it.
    """
    import networkx as nx

    graph = nx.DiGraph()
    args = [a.name for a in fdef.signature.input_arg]
    graph.add_nodes_from(f"arg:{a}" for a in args)
    names = {n.name for n in fdef.node_def}
    for node in fdef.node_def:
        graph.add_node(node.name)
        for ref in node.input:
            if ref.startswith("^"):
                continue
            src = ref.split(":")[0]
            graph.add_edge(f"arg:{src}" if src in args and src not in names else src, node.name)
    deps: dict[int, set[int]] = {}
    for i, out in enumerate(fdef.signature.output_arg):
        src = fdef.ret[out.name].split(":")[0]
        start = f"arg:{src}" if src in args and src not in names else src
        reach = nx.ancestors(graph, start) | {start}
        deps[i] = {j for j, a in enumerate(args) if f"arg:{a}" in reach}
    return deps


def function_ops(fdef: Any) -> set[str]:
    return {n.op for n in fdef.node_def}
