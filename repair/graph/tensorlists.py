"""Eliminating TensorList ops from an unrolled, inlined graph.

After a loop is unrolled and its bodies inlined, every TensorList index is a constant expression
(the loop counter chain). A list is then just a Python list of tensors: TensorListFromTensor is an
Unpack, GetItem picks an item, Reserve/SetItem fill slots, and Stack is a Pack. TFLite has builtins
for Unpack and Pack; it has none for TensorLists with dynamic element shapes (docs/facts.md §6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from repair.graph.surgery import FrozenGraph, replace_node, tensor_specs, topological

_FOLDABLE: dict[str, Callable[[int, int], int]] = {
             "AddV2": lambda a, b: a + b, "Add": lambda a, b: a + b, "Sub": lambda a, b: a - b, "Mul": lambda a, b: a * b,
             "Maximum": max, "Minimum": min, "FloorMod": lambda a, b: a % b, "FloorDiv": lambda a, b: a // b}
_PASS_THROUGH = frozenset({"Identity", "Cast", "StopGradient", "Snapshot"})

# A partially known integer vector (a static shape, its unknown dims None), or an integer scalar.
Partial = tuple[int | None, ...]


@dataclass
class _List:
    items: list[str | None]


class TensorListError(Exception):
    """A TensorList pattern that cannot be resolved statically."""


class _Folder:
    """Integer constant folding over a frozen graph, through static shapes.

    After unrolling, a list index is a chain of constants and adds. A list *size* often is not a
    plain constant: tf_keras sizes the output TensorArray of ``return_sequences=True`` as
    ``strided_slice(shape(transpose(inputs)), [0], [1])`` (the time axis), and the batch dimension in
    that same shape is unknown. So a ``Shape`` folds to its static shape with unknown dims as None,
    slices, packs and gathers carry the Nones along, and a value is constant when the dims it uses are.
    """

    def __init__(self, frozen: FrozenGraph) -> None:
        self.frozen = frozen
        self.nodes = {n.name: n for n in frozen.graph_def.node}
        self.memo: dict[str, Partial | int | None] = {}
        self._graph: Any = None

    def scalar(self, ref: str) -> int | None:
        """The value of an integer scalar tensor, or None when it is not a constant."""
        value = self._value(ref)
        return value if isinstance(value, int) else None

    def _static_shape(self, ref: str) -> Partial | None:
        """TensorFlow's static shape of a tensor (the graph is imported once), unknown dims as None."""
        from repair.core.tfenv import captured_stderr, tf

        if self._graph is None:
            t = tf()
            self._graph = t.Graph()
            with self._graph.as_default(), captured_stderr():
                t.graph_util.import_graph_def(self.frozen.graph_def, name="")
        shape = self._graph.get_tensor_by_name(ref if ":" in ref else f"{ref}:0").shape
        return None if shape.rank is None else tuple(shape.as_list())

    def _value(self, ref: str) -> Partial | int | None:
        key = ref.lstrip("^")
        key = key if ":" in key else f"{key}:0"
        if key not in self.memo:
            self.memo[key] = None  # a frozen graph has no cycles; this only guards against a malformed one
            self.memo[key] = self._compute(key)
        return self.memo[key]

    def _compute(self, ref: str) -> Partial | int | None:
        name, _, port = ref.partition(":")
        node = self.nodes.get(name)
        if node is None:
            return None
        data = [r for r in node.input if not r.startswith("^")]
        if node.op == "Const":
            const = self.frozen.const(name)
            if const is None or const.dtype.kind not in "iu" or const.ndim > 1:
                return None
            return int(const) if const.ndim == 0 else tuple(int(v) for v in const)
        if node.op in _PASS_THROUGH and data:
            return self._value(data[0])
        if node.op == "Shape" and port == "0":
            return self._static_shape(data[0])
        if node.op == "Size":
            shape = self._static_shape(data[0])
            known = [d for d in shape if d is not None] if shape is not None else []
            return None if shape is None or len(known) != len(shape) else int(np.prod(known, dtype=np.int64))
        if node.op == "Rank":
            shape = self._static_shape(data[0])
            return None if shape is None else len(shape)
        if node.op in _FOLDABLE and len(data) == 2:
            a, b = self._value(data[0]), self._value(data[1])
            return int(_FOLDABLE[node.op](a, b)) if isinstance(a, int) and isinstance(b, int) else None
        if node.op == "StridedSlice" and len(data) == 4:
            return self._strided_slice(node, data)
        if node.op == "Pack" and node.attr["axis"].i == 0:
            items = [self._value(r) for r in data]
            return tuple(items) if all(i is None or isinstance(i, int) for i in items) else None  # type: ignore[arg-type]
        if node.op == "GatherV2" and len(data) == 3:
            vector, indices, axis = (self._value(r) for r in data)
            if isinstance(vector, tuple) and isinstance(indices, int) and axis == 0 and -len(vector) <= indices < len(vector):
                return vector[indices]
        return None

    def _strided_slice(self, node: Any, data: list[str]) -> Partial | int | None:
        """A 1-D strided slice of a partially known vector (the only form shape arithmetic uses)."""
        vector = self._value(data[0])
        bounds = [self._value(r) for r in data[1:4]]
        if not isinstance(vector, tuple) or not all(isinstance(v, tuple) and len(v) == 1 for v in bounds):
            return None
        if node.attr["ellipsis_mask"].i or node.attr["new_axis_mask"].i:
            return None
        begin, end, stride = (v[0] for v in bounds)  # type: ignore[index]
        if begin is None or end is None or not stride:
            return None
        if node.attr["shrink_axis_mask"].i & 1:
            return vector[begin] if -len(vector) <= begin < len(vector) else None
        return vector[slice(None if node.attr["begin_mask"].i & 1 else begin,
                            None if node.attr["end_mask"].i & 1 else end, stride)]


def _unknown_source(nodes: dict[str, Any], ref: str) -> str:
    """The first non-constant op an index depends on, for the error message (``a Placeholder``, ``a Shape ...``)."""
    stack, seen = [ref.lstrip("^").split(":")[0]], set()
    while stack:
        name = stack.pop()
        node = nodes.get(name)
        if node is None or name in seen:
            continue
        seen.add(name)
        if node.op in ("Placeholder", "Shape", "Size", "TensorListLength", "TensorListElementShape"):
            return f"{node.op} {name}"
        stack.extend(r.split(":")[0] for r in node.input if not r.startswith("^"))
    return "values that are not constants"


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
    folder = _Folder(frozen)
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
        value = folder.scalar(ref)
        if value is None:
            raise TensorListError(f"the index or size of {what} is not a constant after unrolling "
                                  f"(it depends on {_unknown_source(nodes, ref)})")
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
            replace_node(frozen, node.name, [], [item])
            replaced += 1
        elif node.op == "TensorListStack":
            items = lookup(node.input[0]).items
            if any(i is None for i in items):
                raise TensorListError(f"{node.name} stacks a list with unwritten slots")
            pack = _new_node(f"{node.name}/repair/pack", "Pack", [fresh(str(i)) for i in items], node.attr["element_dtype"].type,
                             len(items))
            replace_node(frozen, node.name, [pack], [f"{pack.name}:0"])
            replaced += 1
        elif node.op.startswith("TensorList"):
            raise TensorListError(f"{node.op} is not handled")
    return replaced
