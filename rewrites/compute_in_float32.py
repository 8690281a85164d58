"""compute_in_float32: run a float64 graph in float32 inside, keeping the signature's dtypes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repair.findings import Finding, FindingKind
from repair.model import WorkingModel
from repair.options import Options
from repair.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.surgery import FrozenGraph, freeze, op_delta, save_frozen
from repair.tfenv import tf

_DOUBLE = 2  # types_pb2.DT_DOUBLE
_FLOAT = 1  # types_pb2.DT_FLOAT


def _retype_attrs(node: Any) -> bool:
    """float64 -> float32 in every type attr and constant of one node; True if anything changed."""
    t = tf()
    changed = False
    for attr in node.attr.values():
        if attr.WhichOneof("value") == "type" and attr.type == _DOUBLE:
            attr.type = _FLOAT
            changed = True
        elif attr.WhichOneof("value") == "list" and _DOUBLE in attr.list.type:
            attr.list.type[:] = [_FLOAT if x == _DOUBLE else x for x in attr.list.type]
            changed = True
        elif attr.WhichOneof("value") == "tensor" and attr.tensor.dtype == _DOUBLE:
            value = t.make_ndarray(attr.tensor).astype("float32")
            attr.tensor.CopyFrom(t.make_tensor_proto(value, dtype=t.float32))
            changed = True
    return changed


def _cast_node(graph_def: Any, name: str, source: str, src: int, dst: int) -> str:
    node = graph_def.node.add()
    node.name, node.op = name, "Cast"
    node.input.append(source)
    node.attr["SrcT"].type, node.attr["DstT"].type = src, dst
    node.attr["Truncate"].b = False
    return f"{name}:0"


def to_float32(frozen: FrozenGraph) -> int:
    """Retype the graph to float32; float64 inputs are cast on entry and float64 outputs on exit."""
    graph_def = frozen.graph_def
    inputs = {ref.split(":")[0] for ref in frozen.input_tensors}
    double_inputs = [n for n in graph_def.node if n.name in inputs and n.attr["dtype"].type == _DOUBLE]
    changed = sum(_retype_attrs(n) for n in graph_def.node if n.name not in inputs)
    for fn in graph_def.library.function:
        changed += sum(_retype_attrs(n) for n in fn.node_def)
        for arg in list(fn.signature.input_arg) + list(fn.signature.output_arg):
            if arg.type == _DOUBLE:
                arg.type = _FLOAT
    for node in double_inputs:  # the signature keeps float64; the graph gets float32
        cast = _cast_node(graph_def, f"{node.name}/repair/to_float32", f"{node.name}:0", _DOUBLE, _FLOAT)
        for other in graph_def.node:
            if other.name == cast.split(":")[0]:
                continue
            other.input[:] = [cast if ref in (node.name, f"{node.name}:0") else ref for ref in other.input]
    outputs = []
    for port, ref in zip(frozen.outputs, frozen.output_tensors):
        if port.dtype == "float64":
            ref = _cast_node(graph_def, f"{ref.split(':')[0]}/repair/to_float64", ref, _FLOAT, _DOUBLE)
        outputs.append(ref)
    frozen.output_tensors = tuple(outputs)
    return changed


class ComputeInFloat32(Rewrite):
    """Compute in float32 inside the graph while the signature keeps its float64 inputs and outputs.

    What it fixes:
        float64 leaks: a float64 model, tnp.asarray of Python floats, tnp.linspace, tnp.arange(int)
        promoting float32 to float64.
    Why it fails:
        TFLite builtins have no float64 kernels, so AddV2/MatMul/Mul on f64 tensors become Flex ops
        (ERROR_NEEDS_FLEX_OPS with tensor<...xf64> in the Details lines); the op is not the problem.
    Safety:
        unsafe: float64 arithmetic becomes float32 (about 7 significant digits). The signature's dtypes
        are unchanged (casts at the inputs and outputs) and the verification gate checks the result
        against the float64 original within the tolerance; the report shows the figure.
    References:
        ATLAS.md §3 (tnp float64 leaks) and §7 (float64 signature + weights: CAST x2 + FC, diff 9.5e-7).
    """

    id = "compute_in_float32"
    title = "compute float64 graphs in float32, keeping the signature"
    answers = frozenset({FindingKind.FLOAT64_OPS})
    safety = Safety.UNSAFE

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        return None if model.entry is not None else "no serving entry"

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.entry is not None
        frozen = freeze(model)
        ops_before = frozen.op_counts()
        changed = to_float32(frozen)
        if not changed:
            raise RewriteFailed("no float64 computation found in the frozen serving graph")
        new = save_frozen(frozen, scratch / "saved_model", model.entry)
        kept = [p.name for p in model.entry.inputs + model.entry.outputs if p.dtype == "float64"]
        note = f"; float64 kept at {', '.join(kept)} by casts" if kept else ""
        return Applied(new, f"{changed} node(s) moved from float64 to float32 (precision: ~7 digits){note}",
                       op_delta=op_delta(ops_before, frozen.op_counts()))
