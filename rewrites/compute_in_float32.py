"""compute_in_float32: run a float64 or float16 graph in float32 inside, keeping the signature's dtypes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repair.core.findings import Finding, FindingKind
from repair.core.options import Options, Tolerance
from repair.core.tfenv import tf
from repair.fix.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.graph.surgery import FrozenGraph, freeze, op_delta, save_frozen
from repair.model.working import WorkingModel

_FLOAT = 1  # types_pb2.DT_FLOAT
# The float types TFLite builtins have no arithmetic kernels for (types_pb2 values): they all become float32.
_RETYPED = {2: "float64", 19: "float16", 14: "bfloat16"}  # DT_DOUBLE, DT_HALF, DT_BFLOAT16 -> name


def _retype_attrs(node: Any, seen: set[str]) -> bool:
    """float64/float16/bfloat16 -> float32 in every type attr and constant of one node; True if anything changed.

    The names of the types it replaced are added to ``seen``.
    """
    t = tf()
    changed = False
    for attr in node.attr.values():
        if attr.WhichOneof("value") == "type" and attr.type in _RETYPED:
            seen.add(_RETYPED[attr.type])
            attr.type = _FLOAT
            changed = True
        elif attr.WhichOneof("value") == "list" and any(x in _RETYPED for x in attr.list.type):
            seen.update(_RETYPED[x] for x in attr.list.type if x in _RETYPED)
            attr.list.type[:] = [_FLOAT if x in _RETYPED else x for x in attr.list.type]
            changed = True
        elif attr.WhichOneof("value") == "tensor" and attr.tensor.dtype in _RETYPED:
            seen.add(_RETYPED[attr.tensor.dtype])
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


def to_float32(frozen: FrozenGraph) -> tuple[int, list[str]]:
    """Retype the graph to float32; float64/float16 inputs are cast on entry and such outputs on exit.

    Returns how many nodes changed and which float types (sorted names) the graph computed in.
    """
    graph_def = frozen.graph_def
    inputs = {ref.split(":")[0] for ref in frozen.input_tensors}
    narrow_inputs = [n for n in graph_def.node if n.name in inputs and n.attr["dtype"].type in _RETYPED]
    seen: set[str] = set()
    changed = sum(_retype_attrs(n, seen) for n in graph_def.node if n.name not in inputs)
    for fn in graph_def.library.function:
        changed += sum(_retype_attrs(n, seen) for n in fn.node_def)
        for arg in list(fn.signature.input_arg) + list(fn.signature.output_arg):
            if arg.type in _RETYPED:
                seen.add(_RETYPED[arg.type])
                arg.type = _FLOAT
    for node in narrow_inputs:  # the signature keeps its dtype; the graph gets float32
        dtype = node.attr["dtype"].type
        cast = _cast_node(graph_def, f"{node.name}/repair/to_float32", f"{node.name}:0", dtype, _FLOAT)
        for other in graph_def.node:
            if other.name == cast.split(":")[0]:
                continue
            other.input[:] = [cast if ref in (node.name, f"{node.name}:0") else ref for ref in other.input]
    by_name = {name: enum for enum, name in _RETYPED.items()}
    outputs = []
    for port, ref in zip(frozen.outputs, frozen.output_tensors):
        if port.dtype in by_name:
            ref = _cast_node(graph_def, f"{ref.split(':')[0]}/repair/to_{port.dtype}", ref, _FLOAT, by_name[port.dtype])
        outputs.append(ref)
    frozen.output_tensors = tuple(outputs)
    return changed, sorted(seen)


# Parity tolerance at the precision of a half-precision original (float16: 10 mantissa bits, bfloat16: 7),
# a few units of its last place accumulated over the layers.
_OWN_PRECISION = {"float16": Tolerance(atol=1e-3, rtol=1e-2), "bfloat16": Tolerance(atol=1e-2, rtol=5e-2)}


class ComputeInFloat32(Rewrite):
    """Compute in float32 inside the graph while the signature keeps its float64/float16 inputs and outputs.

    What it fixes:
        float64 leaks: a float64 model, tnp.asarray of Python floats, tnp.linspace, tnp.arange(int)
        promoting float32 to float64. float16 compute: a Keras model built under the mixed_float16 (or
        mixed_bfloat16) policy, saved with model.export, as a .keras/.h5 file or with tf.saved_model.save.
    Why it fails:
        TFLite builtins have no float64 kernels, so AddV2/MatMul/Mul on f64 tensors become Flex ops
        (ERROR_NEEDS_FLEX_OPS with tensor<...xf64> in the Details lines); the op is not the problem.
        Likewise they have no float16 Conv2D/MatMul/BiasAdd/Relu: a mixed-precision model keeps float32
        variables and casts them and every layer's input to float16, so each layer's ops need Flex
        (tensor<...xf16> in the Details lines). Its signature is float32 in, and float32 out when the
        last layer has dtype="float32"; float16 out otherwise, which is kept by a cast.
    Safety:
        verified: float64 arithmetic becomes float32 (about 7 significant digits), so the numbers change;
        the serving contract does not (the signature's dtypes are unchanged: casts at the inputs and
        outputs). It runs by default because the verification gate then proves the result against the
        float64 original within the tolerance, and refuses to publish otherwise; the report shows the
        figure.
        For a float16 original, float32 is the more precise of the two: the differences the gate sees are
        float16's rounding in the original (about 3 significant digits), not an error of the fix.
    References:
        docs/facts.md §3 (tnp float64 leaks) and §7 (float64 signature + weights: CAST x2 + FC, diff 9.5e-7).
        Keras mixed_float16 conv+dense, model.export: ERROR_NEEDS_FLEX_OPS on Conv2D, BiasAdd, MatMul, Relu
        with xf16 types; computed in float32: CONV_2D, MEAN, FULLY_CONNECTED only, max diff 1.1e-4 on outputs
        up to 0.1 (float16 rounding in the original).
    """

    id = "compute_in_float32"
    title = "compute float64/float16 graphs in float32, keeping the signature"
    answers = frozenset({FindingKind.FLOAT64_OPS, FindingKind.FLOAT16_OPS})
    safety = Safety.VERIFIED
    cases = ("ops/float64_model", "ops/mixed_float16_export", "ops/mixed_float16_keras_file",
             "ops/mixed_float16_saved_model_save", "ops/mixed_float16_tf_keras", "ops/tnp_arange", "ops/tnp_asarray_floats",
             "ops/tnp_linspace")
    tried_in_diagnose = True  # its conditions are only known on the frozen graph

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        return None if model.entry is not None else "no serving entry"

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        assert model.entry is not None
        frozen = freeze(model)
        ops_before = frozen.op_counts()
        changed, types = to_float32(frozen)
        if not changed:
            raise RewriteFailed("no float64 or float16 computation found in the frozen serving graph")
        new = save_frozen(frozen, scratch / "saved_model", model.entry)
        kept = [f"{p.name} ({p.dtype})" for p in model.entry.inputs + model.entry.outputs if p.dtype in _RETYPED.values()]
        note = f"; {', '.join(kept)} kept at the signature by casts" if kept else ""
        precision = ("~7 significant digits, fewer than float64's ~16" if "float64" in types
                     else "~7 significant digits, more than float16's ~3" if "float16" in types
                     else "~7 significant digits, more than bfloat16's ~2")
        # The original computed in float16/bfloat16: its own outputs carry that rounding, so it can only be matched
        # at its own precision (measured: 1.1e-4..7.3e-4 on outputs up to 0.5 for float16, 3.5e-3 for bfloat16).
        floor = _OWN_PRECISION.get("bfloat16" if "bfloat16" in types else "float16" if "float16" in types else "")
        return Applied(new, f"{changed} node(s) moved from {'/'.join(types)} to float32 (precision: {precision}){note}",
                       op_delta=op_delta(ops_before, frozen.op_counts()), tolerance_floor=floor)
