"""The classifier against the converter's verbatim texts and error codes (docs/facts.md §0); tests/e2e/test_classify_converter.py
checks the same against the real converter on corpus models."""

from __future__ import annotations

import pytest

from repair.core.findings import FindingKind
from repair.model.classify import classify, float16_ops, float64_ops

# Verbatim TF 2.21 texts (docs/facts.md §0), for the unit tests that need no TensorFlow.
FLEX_TEXT = """Could not translate MLIR to FlatBuffer.
error: 'tf.Roll' op is neither a custom op nor a flex op
Some ops are not supported by the native TFLite runtime, you can enable TF kernels fallback using TF Select.
TF Select ops: Roll
Details:
\ttf.Roll(tensor<?x3xf32>, tensor<i32>, tensor<i32>) -> (tensor<?x3xf32>) : {device = ""}
"""
F64_TEXT = """TF Select ops: AddV2, MatMul, Relu
Details:
\ttf.AddV2(tensor<?x8xf64>, tensor<8xf64>) -> (tensor<?x8xf64>) : {device = ""}
\ttf.MatMul(tensor<?x4xf64>, tensor<4x8xf64>) -> (tensor<?x8xf64>)
\ttf.Relu(tensor<?x8xf64>) -> (tensor<?x8xf64>) : {device = ""}
"""
# Keras 3 mixed_float16 MLP (model.export, float16 output) and the same under mixed_bfloat16, TF 2.21.
F16_TEXT = """TF Select ops: BiasAdd, MatMul, Relu
Details:
\ttf.BiasAdd(tensor<?x16xf16>, tensor<16xf16>) -> (tensor<?x16xf16>) : {data_format = "NHWC", device = ""}
\ttf.BiasAdd(tensor<?x3xf16>, tensor<3xf16>) -> (tensor<?x3xf16>) : {data_format = "NHWC", device = ""}
\ttf.MatMul(tensor<?x16xf16>, tensor<3x16xf16>) -> (tensor<?x3xf16>) : {grad_a = false, grad_b = false, transpose_a = false, transpose_b = true}
\ttf.MatMul(tensor<?x8xf16>, tensor<16x8xf16>) -> (tensor<?x16xf16>) : {grad_a = false, grad_b = false, transpose_a = false, transpose_b = true}
\ttf.Relu(tensor<?x16xf16>) -> (tensor<?x16xf16>) : {device = ""}
"""
BF16_TEXT = """TF Select ops: BiasAdd, MatMul, Relu
Details:
\ttf.BiasAdd(tensor<?x16xbf16>, tensor<16xbf16>) -> (tensor<?x16xbf16>) : {data_format = "NHWC", device = ""}
\ttf.MatMul(tensor<?x8xbf16>, tensor<16x8xbf16>) -> (tensor<?x16xbf16>) : {grad_a = false, grad_b = false, transpose_a = false, transpose_b = true}
\ttf.Relu(tensor<?x16xbf16>) -> (tensor<?x16xbf16>) : {device = ""}
"""
CUSTOM_TEXT = """'tf.Cross' op is neither a custom op nor a flex op
Some ops in the model are custom ops, See instructions to implement custom ops
Custom ops: Cross
"""
TENSORLIST_TEXT = """'tf.TensorListReserve' op requires element_shape to be static during TF Lite transformation pass
Lowering tensor list ops is failed. Please consider using Select TF ops and disabling `_experimental_lower_tensor_list_ops` flag"""


def test_flex_from_codes_and_text() -> None:
    found = classify([("ERROR_NEEDS_FLEX_OPS", "tf.Roll")], FLEX_TEXT)
    assert [(c.kind, c.ops) for c in found] == [(FindingKind.NEEDS_FLEX_OPS, ("Roll",))]


def test_float64_is_the_root_cause_not_the_ops() -> None:
    found = classify([("ERROR_NEEDS_FLEX_OPS", "tf.AddV2")], F64_TEXT)
    assert [c.kind for c in found] == [FindingKind.FLOAT64_OPS]
    assert float64_ops(F64_TEXT) == ("AddV2", "MatMul", "Relu")


@pytest.mark.parametrize("text", [F16_TEXT, BF16_TEXT], ids=["float16", "bfloat16"])
def test_float16_is_the_root_cause_not_the_ops(text: str) -> None:
    codes = [("ERROR_NEEDS_FLEX_OPS", f"tf.{op}") for op in ("BiasAdd", "MatMul", "Relu")]
    found = classify(codes, text)
    assert [(c.kind, c.ops) for c in found] == [(FindingKind.FLOAT16_OPS, ("BiasAdd", "MatMul", "Relu"))]
    assert float64_ops(text) == () and float16_ops(F64_TEXT) == ()


def test_custom_is_not_flex_even_with_the_shared_line() -> None:
    found = classify([("ERROR_NEEDS_CUSTOM_OPS", "tf.Cross")], CUSTOM_TEXT)
    assert [(c.kind, c.ops) for c in found] == [(FindingKind.NEEDS_CUSTOM_OPS, ("Cross",))]


def test_tensorlist_has_no_code() -> None:
    found = classify([], TENSORLIST_TEXT)
    assert [c.kind for c in found] == [FindingKind.TENSORLIST_LOOP]
    assert found[0].ops == ("TensorListReserve",)


# Verbatim TF 2.21 text for a TensorArray filled in a Python `for i in range(4)` loop (no While; corpus case
# loops/tensorarray_straight_line): no TensorList wording in the message, only the failing op in the location.
DOMINANCE_TEXT = """<unknown>:0: error: loc(callsite(fused["TensorListReserve:", "TensorArrayV2@__inference_serve_33"] at callsite(fused["StatefulPartitionedCall:", "StatefulPartitionedCall@__inference_signature_wrapper_serve_41"] at fused["StatefulPartitionedCall:", "StatefulPartitionedCall"]))): operand #0 does not dominate this use
<unknown>:0: note: loc(fused["StatefulPartitionedCall:", "StatefulPartitionedCall"]): called from
<unknown>:0: note: loc(callsite(fused["Tanh:", "Tanh@__inference_serve_33"] at callsite(fused["StatefulPartitionedCall:", "StatefulPartitionedCall@__inference_signature_wrapper_serve_41"] at fused["StatefulPartitionedCall:", "StatefulPartitionedCall"]))): operand defined here (op in the same block)"""


def test_straight_line_tensorarray_is_a_tensorlist_loop() -> None:
    found = classify([], DOMINANCE_TEXT)
    assert [(c.kind, c.ops) for c in found] == [(FindingKind.TENSORLIST_LOOP, ("TensorListReserve",))]


def test_dominance_error_without_tensorlist_stays_unclassified() -> None:
    text = DOMINANCE_TEXT.replace("TensorListReserve:", "Tanh:")
    assert [c.kind for c in classify([], text)] == [FindingKind.CONVERTER_ERROR]


def test_unknown_text_is_kept() -> None:
    found = classify([], "something new broke\nsecond line")
    assert found[0].kind is FindingKind.CONVERTER_ERROR and found[0].detail == "something new broke"
