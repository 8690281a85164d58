"""How the micro check reads what TFLM prints (no model built: the text is what TFLM printed, quoted verbatim)."""

from __future__ import annotations

from repair.targets.micro import _prepare_failures

NODES = [(0, 7, "EMBED", "lookup"), (0, 8, "SELECT_V2", "functional_1/embedding_1/SelectV2"), (1, 8, "ADD", "other")]


def test_a_kernel_refusing_a_node_names_that_node_with_the_kernels_words() -> None:
    printed = ("Does not support type other than int8|int16|float32, but got INT32\n"
               "Node SELECT_V2 (number 8) failed to invoke with status 1\nInterpreter invocation failed.")
    (offender,) = _prepare_failures(printed, NODES)
    assert (offender.op, offender.node, offender.subgraph) == ("SELECT_V2", 8, 0)
    assert offender.name == "functional_1/embedding_1/SelectV2"  # subgraph 0's node 8, not subgraph 1's
    assert offender.reason == ("TFLM's kernel refuses it at invoke: Does not support type other than "
                               "int8|int16|float32, but got INT32")


def test_the_same_line_form_and_prepare_are_read_too() -> None:
    (offender,) = _prepare_failures("Type INT64 not supported.; Node ADD (number 3) failed to prepare with status 1", [])
    assert (offender.op, offender.node) == ("ADD", 3)
    assert offender.reason == "TFLM's kernel refuses it at prepare: Type INT64 not supported."
    assert _prepare_failures("Failed to allocate tail memory", NODES) == []
