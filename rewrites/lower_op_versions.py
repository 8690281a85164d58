"""lower_op_versions: rewrite ops so the converter writes them at a version an older LiteRT/TFLite runtime loads.

The table is the rewrite: one row per TFLite builtin, with the versions it lowers from, the TF ops that convert to
it, the condition under which the lower-version form is exact, and that form in plain TensorFlow. The converter picks
each op's version from its operand types and attributes (``GetBuiltinOperatorVersion`` in
tensorflow/compiler/mlir/lite/tools/versioning/op_version.cc, read at tensorflow/tensorflow commit
03f49db5a23ec2b22a59f3f3d72e5744469ea30b); a row changes exactly the operand that set the higher version.

Rows, and what they rest on (op_version.cc; runtimes from runtime_version.cc, as repair/targets/runtime_table.py
transcribes it):
- DYNAMIC_UPDATE_SLICE: v2 is an int64 start index (2.17.0), v3 a float16 operand (2.19.0 in LiteRT's table), v4
  int16 (2.20.0). Lowered: the index clamped to [0, 2**31 - 1] in int64, then cast to int32 (v1, 2.9.0); a
  float16/int16 operand updated as float32/int32 and cast back (CAST v5 for float16, 2.12.0; v1 for int16).
  Exact for every index: TensorFlow's XlaDynamicUpdateSlice and both TFLite kernels (dynamic_update_slice.cc, int32
  and int64 index paths) clamp each start to [0, dim - update_dim], and a dim is below 2**31, so the pre-clamp
  never changes where the rows land; widening float16 or int16 and narrowing back is lossless for a copy.
- GATHER_ND: v5 is a bool params tensor (2.16.0), v4 int16 indices (2.13.0). Lowered: bool gathered as int32 and
  compared back (!= 0), indices cast to int32 (v1, 1.14.0). Exact: 0/1 round-trip; int16 -> int32 widens.
- GATHER: v6 is int16 indices (2.13.0). Lowered: indices cast to int32 (v1..v5 by params type, as before). Exact.

Considered and rejected (no exact form that helps, or nothing to lower):
- int64 indices of GATHER / GATHER_ND / SLICE / STRIDED_SLICE begin/end: op_version.cc does not bump any of them
  for int64 indices, so there is no version to lower.
- BROADCAST_TO: every float form is v2 (2.5.0) and v1 has no runtime row; an explicit reshape changes nothing a
  runtime from the last four years lacks.
- int64 ADD (v4, 2.6.0), SUB (v4, 2.4.0), MUL (v5, 2.6.0): int32 arithmetic is exact only for bounded values, and
  runtimes that old are not deployed targets worth the guard.
- RANGE v2 (int64, 2.14.0): exact in int32 only when start, limit and delta are provably below 2**31; not built.
- float16 ADD v6 / MUL v8, the quantized forms (FULLY_CONNECTED v11-v14, CONV_2D v8, TRANSPOSE_CONV v5, EXP/LOG/
  RSQRT int16, DEQUANTIZE/EMBEDDING_LOOKUP int4): a lower version computes at another precision or another
  quantization scheme, so it is not an exact equivalent (compute_in_float32 answers float16 compute separately).
- DYNAMIC_UPDATE_SLICE v6 (bfloat16): the converter does not legalize a bfloat16 XlaDynamicUpdateSlice at all
  (measured, TF 2.21: it stays a custom op), so there is no version to lower.
- STRIDED_SLICE v8 (offset), v7 (uint32), SLICE v6 (uint32), CONCATENATION v4 (uint32): 2.14.0 loads them; the
  uint32 forms are not what TF models produce.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repair.core.findings import Finding, FindingKind
from repair.core.options import Options
from repair.core.tfenv import tf
from repair.fix.rewrite import Applied, Rewrite, RewriteFailed, Safety
from repair.graph.surgery import FrozenGraph, Plan, Replacement, SurgeryFailed, substitute, tensor_specs
from repair.model.working import WorkingModel

_INT32_MAX = 2**31 - 1
_VERSION = re.compile(r"^version (\d+) ")  # the runtime check's reason: "version 2 needs runtime 2.17.0; ..."


@dataclass(frozen=True)
class Lowered(Replacement):
    """A replacement and the oldest runtime that loads every op it converts to."""

    runtime: str = ""


@dataclass(frozen=True)
class Lowering:
    tflite_op: str  # the builtin whose version is too new, as the runtime check names it
    versions: frozenset[int]  # the versions this row lowers from
    tf_ops: tuple[str, ...]  # the TF ops that convert to it
    lowest_runtime: str  # the oldest runtime any lowered form of this row loads on
    equivalent: str  # one line for the report and `repair rewrites`
    # A Replacement; or why this node cannot be lowered; or None: this node already converts to a low version.
    plan: Callable[[FrozenGraph, Any], Replacement | str | None]


def _dtype(frozen: FrozenGraph, ref: str) -> Any:
    return tensor_specs(frozen, [ref])[0].dtype


def _narrow_index(t: Any, index: Any) -> Any:
    """An int64 start index as int32, clamped first so the cast never wraps (the kernels clamp the same way)."""
    return t.cast(t.minimum(t.maximum(index, t.constant(0, t.int64)), t.constant(_INT32_MAX, t.int64)), t.int32)


def _dynamic_update_slice(frozen: FrozenGraph, node: Any) -> Replacement | str | None:
    t = tf()
    operand, update, indices = (i for i in node.input if not i.startswith("^"))
    wide_index = _dtype(frozen, indices) == t.int64
    dtype = _dtype(frozen, operand)
    widen = {t.float16: t.float32, t.int16: t.int32}.get(dtype)
    if not wide_index and widen is None:
        return None

    def build(x: Any, u: Any, i: Any) -> Any:
        from tensorflow.compiler.tf2xla.python.xla import dynamic_update_slice  # what keras.ops.slice_update calls

        if i.dtype == t.int64:
            i = _narrow_index(t, i)
        if widen is None:
            return dynamic_update_slice(x, u, i)
        return t.cast(dynamic_update_slice(t.cast(x, widen), t.cast(u, widen), i), dtype)

    # DYNAMIC_UPDATE_SLICE v1 is 2.9.0; CAST from/to float16 is v5 (2.12.0), int16 <-> int32 v1.
    return Lowered((operand, update, indices), build, "2.12.0" if dtype == t.float16 else "2.9.0")


def _gather_nd(frozen: FrozenGraph, node: Any) -> Replacement | str | None:
    t = tf()
    params, indices = (i for i in node.input if not i.startswith("^"))
    boolean = _dtype(frozen, params) == t.bool
    short = _dtype(frozen, indices) == t.int16
    if not boolean and not short:
        return None

    def build(p: Any, i: Any) -> Any:
        if i.dtype == t.int16:
            i = t.cast(i, t.int32)
        if p.dtype == t.bool:
            return t.not_equal(t.gather_nd(t.cast(p, t.int32), i), 0)
        return t.gather_nd(p, i)

    # GATHER_ND v1 is 1.14.0; CAST bool -> int32 and NOT_EQUAL on int32 are v1 (1.5.0, 1.14.0).
    return Lowered((params, indices), build, "1.14.0")


def _gather(frozen: FrozenGraph, node: Any) -> Replacement | str | None:
    t = tf()
    params, indices, axis = (i for i in node.input if not i.startswith("^"))
    if _dtype(frozen, indices) != t.int16:
        return None
    batch_dims = int(node.attr["batch_dims"].i)

    def build(p: Any, i: Any, a: Any) -> Any:
        return t.gather(p, t.cast(i, t.int32), axis=a, batch_dims=batch_dims)

    # GATHER with int32 indices: v1-v5 by params type and batch_dims, the newest of them 2.5.0.
    return Lowered((params, indices, axis), build, "2.5.0")


TABLE: tuple[Lowering, ...] = (
    Lowering("DYNAMIC_UPDATE_SLICE", frozenset({2, 3, 4}), ("XlaDynamicUpdateSlice",), "2.9.0",
             "int64 start index clamped to [0, 2**31-1] and cast to int32; a float16/int16 cache updated as "
             "float32/int32 and cast back", _dynamic_update_slice),
    Lowering("GATHER_ND", frozenset({4, 5}), ("GatherNd",), "1.14.0",
             "bool params gathered as int32 and compared back; int16 indices cast to int32", _gather_nd),
    Lowering("GATHER", frozenset({6}), ("GatherV2",), "2.5.0", "int16 indices cast to int32", _gather),
)
BY_TFLITE: dict[str, Lowering] = {row.tflite_op: row for row in TABLE}


def _parse(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _offenders(finding: Finding) -> list[tuple[str, int | None]]:
    """(op, version) of each offender the runtime check named; the version None when its reason gives none."""
    listed = (finding.data or {}).get("offenders")
    if not isinstance(listed, list):  # a finding without the runtime check's data: its ops, versions unknown
        listed = [{"op": op, "reason": ""} for op in finding.ops or ()]
    pairs: list[tuple[str, int | None]] = []
    for offender in listed:
        if not isinstance(offender, dict):
            continue
        match = _VERSION.match(str(offender.get("reason", "")))
        pairs.append((str(offender.get("op", "")), int(match.group(1)) if match else None))
    return pairs


class LowerOpVersions(Rewrite):
    """Rewrite ops so the converter writes them at a version the runtime you ship loads (--target runtime=X.Y).

    What it fixes:
        DYNAMIC_UPDATE_SLICE v2 (an int64 start index, as keras.ops.slice_update writes a streaming or KV cache at
        a NumPy-int position; needs 2.17.0), v3/v4 (a float16 or int16 cache); GATHER_ND v5 (bool
        params, 2.16.0) and v4 (int16 indices, 2.13.0); GATHER v6 (int16 indices, 2.13.0).
    Why it fails:
        The converter picks each op's version from its operand types (op_version.cc): an int64 index alone makes
        DYNAMIC_UPDATE_SLICE version 2, which runtimes before 2.17 refuse at load ("Didn't find op for builtin
        opcode 'DYNAMIC_UPDATE_SLICE' version '2'"). The same update with an int32 index is version 1 (2.9.0).
    Safety:
        safe. Each row changes only the operand that set the version, by a conversion that loses nothing under
        its condition: an int64 index clamped to [0, 2**31-1] before the int32 cast lands on the same rows,
        because TensorFlow and both TFLite kernels clamp every start to [0, dim - update_dim] and dims are below
        2**31; float16/int16 widened and narrowed back around a copy, bool as 0/1, int16 indices
        widened. A lowered form that itself needs a runtime newer than the one asked for is refused. The
        serving contract is unchanged, variables are frozen into constants, and the gate re-runs the runtime
        check and parity on the output.
    References:
        tensorflow/compiler/mlir/lite/tools/versioning/op_version.cc (tensorflow@03f49db5) for the versions,
        runtime_version.cc for their runtimes, tensorflow/lite/kernels/dynamic_update_slice.cc for the clamp.
        Measured: targets/new_op_version (DYNAMIC_UPDATE_SLICE v2 -> v1 with CAST, MAXIMUM, MINIMUM v1) loads on
        tflite-runtime 2.14.0 and writes the same rows for positions -3 to 2**40; a model with a float16 and an
        int16 cache update, gather_nd on bool params and gathers with int16 indices goes from "needs 2.20.0" to
        "needs 2.12.0", loads on tflite-runtime 2.14.0, and its outputs equal the original's (difference 0).
    """

    id = "lower_op_versions"
    title = "rewrite ops to versions an older runtime loads"
    answers = frozenset({FindingKind.RUNTIME_TOO_OLD})
    safety = Safety.SAFE
    cases = ("targets/new_op_version",)
    tried_in_diagnose = True  # which operand set the version is only known on the frozen graph

    def claims(self, finding: Finding) -> bool:
        if finding.kind not in self.answers:
            return False
        pairs = _offenders(finding)
        return bool(pairs) and all(op in BY_TFLITE and version in BY_TFLITE[op].versions for op, version in pairs)

    def check(self, model: WorkingModel, finding: Finding, options: Options) -> str | None:
        if model.entry is None:
            return "no serving entry"
        if options.runtime is None:
            return "no runtime version given (--target runtime=X.Y)"
        wanted = options.runtime
        for op, version in _offenders(finding):
            row = BY_TFLITE.get(op)
            if row is None or version not in row.versions:
                return f"no lower-version form known for {op}" + (f" v{version}" if version is not None else "")
            if _parse(row.lowest_runtime)[:2] > wanted:
                return (f"{op}'s lowest form needs runtime {row.lowest_runtime}; runtime {wanted[0]}.{wanted[1]} has no "
                        f"version of it to lower to")
        return None

    def apply(self, model: WorkingModel, finding: Finding, options: Options, scratch: Path) -> Applied:
        wanted = options.runtime
        rows = [BY_TFLITE[op] for op, _ in _offenders(finding) if op in BY_TFLITE]
        by_tf_op = {tf_op: row for row in rows for tf_op in row.tf_ops}

        def checked(row: Lowering) -> Plan:
            """The row's plan, refusing a lower form that still needs a newer runtime than the one asked for."""
            def plan(frozen: FrozenGraph, node: Any) -> Replacement | str | None:
                lowered = row.plan(frozen, node)
                if isinstance(lowered, Lowered) and wanted is not None and _parse(lowered.runtime)[:2] > wanted:
                    return (f"its lower form needs runtime {lowered.runtime}, newer than {wanted[0]}.{wanted[1]}")
                return lowered
            return plan

        try:
            done = substitute(model, scratch, {op: checked(row) for op, row in by_tf_op.items()}, who=self.id,
                              label=lambda node: by_tf_op[node.op].tflite_op)
        except SurgeryFailed as exc:
            raise RewriteFailed(str(exc)) from exc
        return Applied(done.model, f"rewrote {done.counts()} to lower op versions (exact; variables frozen into constants)",
                       op_delta=done.op_delta)


