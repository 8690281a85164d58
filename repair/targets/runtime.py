"""``--target runtime=X.Y``: the oldest LiteRT/TFLite runtime that loads every (op, version) pair of a .tflite.

An older runtime refuses a model at load with "Didn't find op for builtin opcode 'EXP' version '2'. An older version
of this builtin might be supported. Are you using an old TFLite binary with a newer model?" for each operator code
whose version it does not know. The converter picks each code's version from the op's types and attributes
(op_version.cc), so the same Keras layer can need a newer runtime after a converter upgrade.

Two sources, both read from the flatbuffer without running anything:

- per operator code, TensorFlow's (op, version) -> runtime table (``runtime_table``): it says which ops set the
  minimum and which ones a given runtime cannot load;
- the ``min_runtime_version`` metadata the converter writes: its own total over the same kind of table, compiled
  into that converter. It skips pairs its table lacks, so it can be older than the truth; when it is newer than our
  table's total, the converter knew rows we lack. The model needs the newer of the two; the report says which
  decided.

Flex ops load on no stock runtime (standalone ``ai-edge-litert`` has no TensorFlow kernels), and a custom op loads
only where its kernel is registered: both are offenders whatever the version asked for.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from repair.core.options import Target
from repair.targets import Offender, TargetReport
from repair.targets.runtime_table import NEWEST_ROW, SOURCE, needed_runtime, newest_version_on, parse_version

# Custom ops the stock BuiltinOpResolver registers (tensorflow/lite/core/kernels/register.cc: AddCustom), so they
# load without the user's own registration.
_STOCK_CUSTOM = frozenset({"NumericVerify", "Mfcc", "AudioSpectrogram", "TFLite_Detection_PostProcess"})
_METADATA_KEY = b"min_runtime_version"


@dataclass(frozen=True)
class _Code:
    """One operator code as the flatbuffer declares it, and its first use."""

    op: str  # "EXP", "FLEX:Roll", "CUSTOM:MyOp"
    version: int
    subgraph: int
    node: int
    name: str  # the first node's first output tensor

    def offender(self, reason: str) -> Offender:
        return Offender(self.op, reason, node=self.node, subgraph=self.subgraph, name=self.name)


def _schema() -> Any:  # the generated flatbuffer module: its classes are read by attribute
    """LiteRT's copy of the generated schema (it loads in a fraction of a second); TensorFlow's when it is absent."""
    try:
        from ai_edge_litert import schema_py_generated
    except ImportError:
        from tensorflow.lite.python import schema_py_generated
    return schema_py_generated


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _codes(model: Any, schema: Any) -> tuple[list[_Code], int]:
    """Every operator code some node uses (as the converter's own total counts them) with its first node, and the
    number of nodes in all subgraphs."""
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    declared: list[tuple[str, int]] = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        # Codes past 127 live in builtin_code; deprecated_builtin_code holds min(code, 127) (schema_utils.cc)
        number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if number == schema.BuiltinOperator.CUSTOM:
            custom = _text(code.CustomCode())
            op = f"FLEX:{custom.removeprefix('Flex')}" if custom.startswith("Flex") else f"CUSTOM:{custom}"
        else:
            op = names.get(number, f"BUILTIN_{number}")
        declared.append((op, code.Version()))
    first: dict[int, _Code] = {}
    nodes = 0
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        nodes += subgraph.OperatorsLength()
        for n in range(subgraph.OperatorsLength()):
            operator = subgraph.Operators(n)
            index = operator.OpcodeIndex()
            if index in first or not 0 <= index < len(declared):
                continue
            name = ""
            if operator.OutputsLength() and 0 <= operator.Outputs(0) < subgraph.TensorsLength():
                name = _text(subgraph.Tensors(operator.Outputs(0)).Name())
            op, version = declared[index]
            first[index] = _Code(op, version, s, n, name)
    return [first[i] for i in sorted(first)], nodes


def _metadata_runtime(model: Any, blob: bytes) -> str | None:
    """The converter's ``min_runtime_version``: a buffer holding a NUL-padded version string (None when absent)."""
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name() != _METADATA_KEY:
            continue
        index = entry.Buffer()
        if not 0 <= index < model.BuffersLength():
            return None
        buffer = model.Buffers(index)
        if buffer.DataLength():
            data = buffer.DataAsNumpy().tobytes()
        elif buffer.Offset() > 1:  # a model past 2 GB keeps its buffers after the flatbuffer
            data = blob[buffer.Offset():buffer.Offset() + buffer.Size()]
        else:
            return None
        text = data.split(b"\0", 1)[0].decode("ascii", "replace").strip()
        return text or None
    return None


def _newer(a: str, b: str) -> bool:
    return parse_version(a) > parse_version(b)


def _check(blob: bytes, wanted: tuple[int, int], wanted_text: str) -> TargetReport:
    schema = _schema()
    model = schema.Model.GetRootAs(blob, 0)
    codes, nodes = _codes(model, schema)
    offenders: list[Offender] = []
    needs: list[tuple[_Code, str]] = []
    unknown: list[str] = []  # pairs newer than the table, on a runtime newer than the table: not decidable here
    table_commit = SOURCE[2][:7]
    for code in codes:
        if code.op.startswith("FLEX:"):
            offenders.append(code.offender("a Flex (TensorFlow) op: no stock LiteRT/TFLite runtime loads it, and "
                                           "standalone ai-edge-litert cannot run Flex ops at all"))
            continue
        if code.op.startswith("CUSTOM:"):
            if code.op.removeprefix("CUSTOM:") not in _STOCK_CUSTOM:
                offenders.append(code.offender("a custom op: it loads only on a runtime built with its kernel "
                                               "registered, whatever the version"))
            continue
        row = needed_runtime(code.op, code.version)
        if row is None:
            # Newer than every row of the table: it needs a runtime newer than NEWEST_ROW. A runtime at least that new
            # may or may not have it; the converter writes such pairs routinely (FULLY_CONNECTED v14, float16 MUL v8),
            # so only a runtime the table covers is refused.
            if parse_version(NEWEST_ROW)[:2] >= wanted:
                offenders.append(code.offender(f"version {code.version} is not in TensorFlow's runtime table (newer "
                                               f"than its newest rows, {NEWEST_ROW}, at tensorflow@{table_commit})"))
            else:
                unknown.append(f"{code.op} v{code.version}")
            continue
        runtime, _ = row
        needs.append((code, runtime))
        if parse_version(runtime)[:2] > wanted:
            has = newest_version_on(code.op, wanted)
            up_to = f"has up to version {has}" if has is not None else "has no version of it"
            offenders.append(code.offender(f"version {code.version} needs runtime {runtime}; runtime {wanted_text} {up_to}"))

    table_min = max((r for _, r in needs), key=parse_version, default=None)
    setters = tuple(f"{c.op} v{c.version} (needs {r})" for c, r in needs
                    if table_min is not None and parse_version(r) == parse_version(table_min))
    metadata = _metadata_runtime(model, blob)
    min_runtime = table_min
    notes: list[str] = []
    if metadata is not None and table_min is not None and parse_version(metadata) != parse_version(table_min):
        if _newer(metadata, table_min):
            # The converter's compiled table has rows ours lacks: its total is the stricter bound.
            min_runtime = metadata
            setters += (f"converter metadata min_runtime_version {metadata}",)
            notes.append(f"the converter's metadata says {metadata}, newer than the per-op table's {table_min}: "
                         "the metadata decides")
        else:
            notes.append(f"the converter's metadata says {metadata}, older than the per-op table's {table_min} "
                         "(its table lacks some pair): the per-op table decides")
    elif metadata is not None and table_min is None:
        min_runtime = metadata
        setters = (f"converter metadata min_runtime_version {metadata}",)
    table_explains = table_min is not None and parse_version(table_min)[:2] > wanted
    if metadata is not None and min_runtime == metadata and parse_version(metadata)[:2] > wanted and not table_explains:
        offenders.append(Offender("min_runtime_version", f"the converter wrote min_runtime_version {metadata} into the "
                                  f"model; runtime {wanted_text} is older and no op in our table explains it"))

    ok = not offenders
    need_text = f"needs {min_runtime}" if min_runtime else "needs no tabulated runtime"
    if ok:
        by = ", ".join(s.split(" (needs")[0] for s in setters) or "no op"
        summary = f"loads on {wanted_text} ({need_text}, set by {by})"
    else:
        ops = sorted({o.op for o in offenders})
        summary = f"{need_text}; runtime {wanted_text} cannot load {', '.join(ops)}"
    if unknown:
        notes.append(f"{', '.join(unknown)} newer than the table's rows ({NEWEST_ROW}): not decidable for runtime "
                     f"{wanted_text}, not counted")
    if notes:
        summary += "; " + "; ".join(notes)
    return TargetReport(target=Target.RUNTIME, ok=ok, summary=summary, offenders=tuple(offenders),
                        total=nodes, min_runtime=min_runtime, setters=setters, wanted=wanted_text)


def metadata_runtime(blob: bytes) -> str | None:
    """The ``min_runtime_version`` the converter wrote into the .tflite (None when absent or unreadable)."""
    try:
        return _metadata_runtime(_schema().Model.GetRootAs(blob, 0), blob)
    except Exception:  # an unreadable flatbuffer has no metadata to report; check_runtime says why it is unreadable
        return None


def check_runtime(blob: bytes, wanted: tuple[int, int]) -> TargetReport:
    """Which (op, version) pairs of the .tflite ``blob`` the runtime ``wanted`` (major, minor) cannot load.

    ``min_runtime`` is the oldest runtime that loads every pair (the newer of TensorFlow's per-op table and the
    converter's ``min_runtime_version`` metadata), ``setters`` the pairs that set it. Never raises: a model the
    check cannot read gives ``ok=False`` with ``error`` set.
    """
    start = time.perf_counter()
    wanted_text = f"{wanted[0]}.{wanted[1]}"
    try:
        report = _check(blob, wanted, wanted_text)
    except Exception as exc:  # a truncated or hostile flatbuffer: the report carries the reason, the caller goes on
        report = TargetReport(target=Target.RUNTIME, ok=False, summary="the runtime check could not read the .tflite",
                              wanted=wanted_text, error=f"{type(exc).__name__}: {exc}")
    return dataclasses.replace(report, seconds=time.perf_counter() - start)


__all__ = ["check_runtime", "metadata_runtime"]
