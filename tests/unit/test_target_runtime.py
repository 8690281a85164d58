"""--target runtime=X.Y: TensorFlow's (op, version) -> runtime table and the check over hand-packed flatbuffers.

No model is converted here: the flatbuffers are packed with LiteRT's generated schema, a few operator codes each, so
every branch of the check (metadata older or newer than the table, Flex, custom, pairs missing from the table,
unreadable bytes) is exercised in milliseconds. The converted models are in tests/e2e/test_target_runtime.py.
"""

from __future__ import annotations

import flatbuffers
import pytest
from ai_edge_litert import schema_py_generated as s

from repair.core.options import Target
from repair.targets.runtime import check_runtime
from repair.targets.runtime_table import (
    LITERT_ONLY,
    NEWEST_ROW,
    RUNTIME_TABLE,
    needed_runtime,
    newest_version_on,
    parse_version,
)


def test_table_keys_are_schema_names_and_rows_are_versions() -> None:
    names = {k for k in vars(s.BuiltinOperator) if not k.startswith("_")}
    assert len(RUNTIME_TABLE) > 150
    for op, rows in {**RUNTIME_TABLE, **LITERT_ONLY}.items():
        assert op in names, op
        for version, runtime in rows.items():
            assert isinstance(version, int) and version >= 1
            assert len(runtime.split(".")) == 3 and all(p.isdigit() for p in runtime.split(".")), (op, version, runtime)
    newest = max((r for rows in RUNTIME_TABLE.values() for r in rows.values()), key=parse_version)
    assert newest == NEWEST_ROW


def test_each_op_versions_are_contiguous_and_never_need_an_older_runtime() -> None:
    """A transcription slip (a skipped row, a swapped digit) breaks one of these; TensorFlow's table keeps both."""
    for op, rows in RUNTIME_TABLE.items():
        merged = {**rows, **LITERT_ONLY.get(op, {})}
        versions = sorted(merged)
        first = 2 if op == "BROADCAST_TO" else 1  # v1 was rolled back: the .cc has no row for it
        assert versions == list(range(first, versions[-1] + 1)), op
        needs = [parse_version(merged[v]) for v in versions]
        assert needs == sorted(needs), op


@pytest.mark.parametrize(("op", "version", "runtime"), [
    # rows read in runtime_version.cc @6ee5763
    ("EXP", 1, "1.7.0"),
    ("EXP", 2, "2.12.0"),
    ("FULLY_CONNECTED", 1, "1.5.0"),
    ("FULLY_CONNECTED", 12, "2.17.0"),
    ("CONV_2D", 6, "2.9.0"),
    ("GELU", 1, "2.9.0"),
    ("DYNAMIC_UPDATE_SLICE", 2, "2.17.0"),
    ("TILE", 1, "1.10.1"),
    ("STABLEHLO_CASE", 1, "2.17.0"),
])
def test_rows_read_in_the_source(op: str, version: int, runtime: str) -> None:
    assert needed_runtime(op, version) == (runtime, "tensorflow")


def test_litert_rows_fill_in_and_missing_pairs_are_none() -> None:
    assert needed_runtime("DYNAMIC_UPDATE_SLICE", 3) == ("2.19.0", "litert")
    assert needed_runtime("BROADCAST_TO", 1) is None
    assert needed_runtime("FULLY_CONNECTED", 99) is None
    assert newest_version_on("FULLY_CONNECTED", (2, 14)) == 10
    assert newest_version_on("GELU", (2, 8)) is None
    assert parse_version("2.14") == (2, 14, 0) < parse_version("2.14.4")


def _model(codes: list[tuple[int, int] | str], nodes: list[int], metadata: str | None = None) -> bytes:
    """A flatbuffer with one subgraph: ``codes`` are (builtin code, version) or a custom code name, ``nodes`` the
    opcode index of each operator in order; each node writes tensor "t<i>"."""
    model = s.ModelT()
    model.version = 3
    model.operatorCodes = []
    for code in codes:
        oc = s.OperatorCodeT()
        if isinstance(code, str):
            oc.builtinCode = oc.deprecatedBuiltinCode = s.BuiltinOperator.CUSTOM
            oc.customCode = code
            oc.version = 1
        else:
            oc.builtinCode, oc.version = code
            oc.deprecatedBuiltinCode = min(code[0], 127)  # as the converter writes codes past 127
        model.operatorCodes.append(oc)
    graph = s.SubGraphT()
    graph.tensors = []
    graph.operators = []
    for i, index in enumerate(nodes):
        tensor = s.TensorT()
        tensor.name = f"t{i}"
        tensor.shape = [1]
        graph.tensors.append(tensor)
        op = s.OperatorT()
        op.opcodeIndex = index
        op.inputs = [max(i - 1, 0)]
        op.outputs = [i]
        graph.operators.append(op)
    model.subgraphs = [graph]
    model.buffers = [s.BufferT()]
    if metadata is not None:
        data = s.BufferT()
        data.data = list(metadata.encode().ljust(16, b"\0"))
        model.buffers.append(data)
        entry = s.MetadataT()
        entry.name = "min_runtime_version"
        entry.buffer = 1
        model.metadata = [entry]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


OP = s.BuiltinOperator


def test_an_op_version_newer_than_the_runtime_is_named_at_its_first_node() -> None:
    blob = _model([(OP.FULLY_CONNECTED, 1), (OP.EXP, 2)], nodes=[0, 1, 1], metadata="2.12.0")
    old = check_runtime(blob, (2, 11))
    assert old.target is Target.RUNTIME and not old.ok and not old.error
    assert old.wanted == "2.11" and old.name == "runtime=2.11"
    assert old.min_runtime == "2.12.0" and old.setters == ("EXP v2 (needs 2.12.0)",)
    [offender] = old.offenders
    assert (offender.op, offender.node, offender.name) == ("EXP", 1, "t1")
    assert offender.reason == "version 2 needs runtime 2.12.0; runtime 2.11 has up to version 1"
    assert old.total == 3
    new = check_runtime(blob, (2, 14))
    assert new.ok and not new.offenders and new.min_runtime == "2.12.0"
    assert new.summary == "loads on 2.14 (needs 2.12.0, set by EXP v2)"


def test_codes_past_127_are_read_from_builtin_code() -> None:
    assert OP.GELU > 127
    report = check_runtime(_model([(OP.GELU, 1)], nodes=[0]), (2, 8))
    expected = ("GELU", "version 1 needs runtime 2.9.0; runtime 2.8 has no version of it")
    assert [(o.op, o.reason) for o in report.offenders] == [expected]


def test_metadata_older_than_the_table_leaves_the_table_deciding() -> None:
    report = check_runtime(_model([(OP.EXP, 2)], nodes=[0], metadata="1.7.0"), (2, 14))
    assert report.ok and report.min_runtime == "2.12.0"
    assert "metadata says 1.7.0, older than the per-op table's 2.12.0" in report.summary
    assert "the per-op table decides" in report.summary


def test_metadata_newer_than_the_table_decides_and_fails_the_runtime() -> None:
    report = check_runtime(_model([(OP.ADD, 1)], nodes=[0], metadata="2.19.0"), (2, 14))
    assert report.min_runtime == "2.19.0" and "the metadata decides" in report.summary
    assert not report.ok and [o.op for o in report.offenders] == ["min_runtime_version"]
    assert check_runtime(_model([(OP.ADD, 1)], nodes=[0], metadata="2.19.0"), (2, 20)).ok


def test_a_pair_missing_from_the_table_is_an_offender_on_a_runtime_the_table_covers() -> None:
    blob = _model([(OP.FULLY_CONNECTED, 99)], nodes=[0])
    report = check_runtime(blob, (2, 14))
    assert not report.ok
    assert "version 99 is not in TensorFlow's runtime table" in report.offenders[0].reason
    assert f"newest rows, {NEWEST_ROW}" in report.offenders[0].reason
    # On a runtime newer than every row, the table cannot say: the pair is named in the summary, not refused.
    newer = check_runtime(blob, (2, 21))
    assert newer.ok and "FULLY_CONNECTED v99 newer than the table's rows" in newer.summary


def test_flex_and_unregistered_custom_ops_load_on_no_stock_runtime() -> None:
    blob = _model(["FlexRoll", "MyOp", "TFLite_Detection_PostProcess", (OP.ADD, 1)], nodes=[3, 0, 1, 2])
    report = check_runtime(blob, (2, 21))
    assert [(o.op, o.node) for o in report.offenders] == [("FLEX:Roll", 1), ("CUSTOM:MyOp", 2)]
    assert "standalone ai-edge-litert cannot run Flex ops" in report.offenders[0].reason
    assert "registered" in report.offenders[1].reason
    assert report.min_runtime == "1.5.0"


def test_unreadable_bytes_give_an_error_not_an_exception() -> None:
    for blob in (b"", b"not a flatbuffer at all", _model([(OP.ADD, 1)], nodes=[0])[:40]):
        report = check_runtime(blob, (2, 14))
        assert not report.ok and report.error and report.wanted == "2.14"
