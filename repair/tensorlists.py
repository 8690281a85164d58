"""Eliminating TensorList ops from an unrolled, inlined graph.

After a loop is unrolled and its bodies inlined, every TensorList index is a constant expression
(the loop counter chain). A list is then just a Python list of tensors: TensorListFromTensor is an
Unpack, GetItem picks an item, Reserve/SetItem fill slots, and Stack is a Pack. TFLite has builtins
for Unpack and Pack; it has none for TensorLists with dynamic element shapes (ATLAS §6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from repair.surgery import FrozenGraph, _replace, tensor_specs, topological

_FOLDABLE = {"AddV2": lambda a, b: a + b, "Add": lambda a, b: a + b, "Sub": lambda a, b: a - b, "Mul": lambda a, b: a * b,
             "Maximum": max, "Minimum": min, "FloorMod": lambda a, b: a % b}


@dataclass
class _List:
    items: list[str | None]


class TensorListError(Exception):
    """A TensorList pattern that cannot be resolved statically."""


def _fold(nodes: dict[str, Any], ref: str, frozen: FrozenGraph, memo: dict[str, int | None]) -> int | None:
    """The integer value of a scalar expression of constants, or None."""
    name = ref.split(":")[0]
    if name in memo:
        return memo[name]
    node = nodes.get(name)
    value: int | None = None
    if node is not None:
        if node.op == "Const":
            const = frozen.const(name)
            value = int(const) if const is not None and const.ndim == 0 and const.dtype.kind in "iu" else None
        elif node.op in ("Identity", "Cast") and node.input:
            value = _fold(nodes, node.input[0], frozen, memo)
        elif node.op in _FOLDABLE and len([r for r in node.input if not r.startswith("^")]) == 2:
            a, b = (_fold(nodes, r, frozen, memo) for r in node.input[:2])
            value = None if a is None or b is None else int(_FOLDABLE[node.op](a, b))
    memo[name] = value
    return value


def _new_node(name: str, op: str, inputs: list[str], dtype: int, count: int) -> Any:
    """An Unpack or Pack NodeDef (not yet in the graph: protobuf containers store copies)."""
    from tensorflow.core.framework import node_def_pb2

    node = node_def_pb2.NodeDef()
    node.name, node.op = name, op
    node.input.extend(inputs)
    node.attr["T"].type = dtype
    node.attr["num" if op == "Unpack" else "N"].i = count
    node.attr["axis"].i = 0
    return node


def eliminate(frozen: FrozenGraph) -> int:
    """Replace TensorList ops by Unpack/Pack and direct wiring; returns how many were replaced."""
    nodes = {n.name: n for n in frozen.graph_def.node}
    memo: dict[str, int | None] = {}
    lists: dict[str, _List] = {}
    aliases: dict[str, str] = {}  # replaced GetItem -> the item it now reads directly
    replaced = 0

    def fresh(ref: str) -> str:
        base = ref.split(":")[0]
        return aliases.get(base, ref) if ref in (base, f"{base}:0") else ref

    def lookup(ref: str) -> _List:
        name = ref.split(":")[0]
        while name not in lists and nodes[name].op == "Identity":
            name = nodes[name].input[0].split(":")[0]
        if name not in lists:
            raise TensorListError(f"the list fed by {name} ({nodes[name].op}) is not known statically")
        return lists[name]

    def index(ref: str, what: str) -> int:
        value = _fold(nodes, ref, frozen, memo)
        if value is None:
            raise TensorListError(f"the index of {what} is not a constant after unrolling")
        return value

    for node in topological(frozen):
        if node.op == "TensorListFromTensor":
            spec = tensor_specs(frozen, [node.input[0]])[0]
            count = spec.shape[0] if spec.shape.rank else None
            if count is None:
                raise TensorListError(f"{node.name}: the length of the unstacked tensor is unknown; pin it")
            unpack = _new_node(f"{node.name}/repair/unpack", "Unpack", [node.input[0]], node.attr["element_dtype"].type, count)
            frozen.graph_def.node.append(unpack)
            lists[node.name] = _List([f"{unpack.name}:{k}" for k in range(count)])
        elif node.op == "TensorListReserve":
            count = index(node.input[1], node.name)
            lists[node.name] = _List([None] * count)
        elif node.op == "TensorListSetItem":
            items = list(lookup(node.input[0]).items)
            items[index(node.input[1], node.name)] = fresh(node.input[2])
            lists[node.name] = _List(items)
        elif node.op == "TensorListGetItem":
            item = lookup(node.input[0]).items[index(node.input[1], node.name)]
            if item is None:
                raise TensorListError(f"{node.name} reads a slot nothing wrote")
            aliases[node.name] = item
            _replace(frozen, node.name, [], [item])
            replaced += 1
        elif node.op == "TensorListStack":
            items = lookup(node.input[0]).items
            if any(i is None for i in items):
                raise TensorListError(f"{node.name} stacks a list with unwritten slots")
            pack = _new_node(f"{node.name}/repair/pack", "Pack", [fresh(str(i)) for i in items], node.attr["element_dtype"].type, len(items))
            _replace(frozen, node.name, [pack], [f"{pack.name}:0"])
            replaced += 1
        elif node.op.startswith("TensorList"):
            raise TensorListError(f"{node.op} is not handled")
    return replaced
