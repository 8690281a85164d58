"""--target gpu: the GPU delegate's rules (gpu_compatibility.cc, ported) over real converted models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flatbuffers
import pytest

from repair.core.options import Target
from repair.core.tfenv import tf
from repair.targets.gpu import DYNAMIC_REASON, check_gpu

pytestmark = pytest.mark.slow


def _convert(fn: Any) -> bytes:
    converter = tf().lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    return bytes(converter.convert())


def _with_softmax_beta(blob: bytes, beta: float) -> bytes:
    """The converted model with its SOFTMAX's beta set: the TF2 converter never writes beta != 1 itself (softmax(2x),
    softmax(x/2) and the hand-written exp/sum all stay MUL + SOFTMAX beta=1, measured), older TOCO-written models do."""
    from ai_edge_litert import schema_py_generated as s

    model = s.ModelT.InitFromPackedBuf(blob, 0)
    changed = 0
    for op in model.subgraphs[0].operators:
        if isinstance(op.builtinOptions, s.SoftmaxOptionsT):
            op.builtinOptions.beta = beta
            changed += 1
    assert changed == 1
    builder = flatbuffers.Builder(len(blob))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _conv_model(shape: list[int | None]) -> Callable[..., Any]:
    t = tf()
    kernel = t.constant(t.random.stateless_normal([3, 3, 3, 8], seed=[1, 2]))

    @t.function(input_signature=[t.TensorSpec(shape, t.float32)])
    def f(x: Any) -> Any:
        y = t.nn.relu(t.nn.conv2d(x, kernel, strides=1, padding="SAME"))
        y = t.nn.max_pool2d(y, 2, 2, "VALID")
        return t.nn.softmax(t.reduce_mean(y, axis=[1, 2]))

    return f


@pytest.fixture(scope="module")
def models() -> dict[str, bytes]:
    t = tf()

    @t.function(input_signature=[t.TensorSpec([1, 8, 16], t.float32)])
    def refused(x: Any) -> Any:
        values, _ = t.math.top_k(t.reshape(x, [1, 128]), k=4)  # TOPK_V2
        first = x[:, 0]  # STRIDED_SLICE with shrink_axis_mask
        return values, first, t.nn.softmax(x)  # SOFTMAX, given beta=2 below

    return {
        "clean": _convert(_conv_model([1, 16, 16, 3])),
        "refused": _with_softmax_beta(_convert(refused), 2.0),
        "dynamic": _convert(_conv_model([None, None, None, 3])),
    }


@pytest.fixture(scope="module")
def mobilenet() -> dict[str, bytes]:
    """MobileNetV2 (weights=None, 96x96, alpha 0.35: the same 65 nodes, a fifth of the weights to convert) with the
    batch pinned to 1 (the dynamic-batch verdict is test_dynamic_shape_fails_then_passes_static's)."""
    keras = pytest.importorskip("keras")
    model = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3), alpha=0.35)
    pinned_input = keras.Input((96, 96, 3), batch_size=1)
    pinned = keras.Model(pinned_input, model(pinned_input))
    return {"pinned": bytes(tf().lite.TFLiteConverter.from_keras_model(pinned).convert())}


def test_conv_relu_pool_softmax_passes(models: dict[str, bytes]) -> None:
    report = check_gpu(models["clean"])
    assert report.target is Target.GPU and report.error == ""
    assert report.ok, report.offenders
    assert report.total is not None and report.total >= 4 and report.delegated == report.total
    assert report.summary == f"all {report.total} nodes GPU-compatible"


def test_refused_nodes_are_named_with_the_cc_reasons(models: dict[str, bytes]) -> None:
    report = check_gpu(models["refused"])
    assert not report.ok
    got = {(o.op, o.reason) for o in report.offenders}
    assert got == {
        ("TOPK_V2", "Not supported op TOPK_V2"),
        ("STRIDED_SLICE", "Slice does not support shrink_axis_mask parameter. "),
        ("SOFTMAX", "Softmax.beta != 1 is not supported."),
    }, report.offenders
    assert all(o.node is not None and o.subgraph == 0 and o.name for o in report.offenders)
    assert report.total is not None and report.delegated == report.total - 3
    assert report.summary.startswith(f"{report.delegated} of {report.total} nodes GPU-compatible; refused: ")


def test_dynamic_shape_fails_then_passes_static(models: dict[str, bytes]) -> None:
    report = check_gpu(models["dynamic"])
    assert not report.ok
    assert report.offenders and all(o.reason.startswith(DYNAMIC_REASON) for o in report.offenders)
    assert any(o.op == "INPUT" for o in report.offenders)  # the input itself
    assert any(o.op == "CONV_2D" and o.node is not None for o in report.offenders)  # and the tensors nodes produce
    assert "dynamic-shape tensors" in report.summary
    assert check_gpu(models["clean"]).ok  # the same model converted with a static shape


def test_unreadable_model_is_an_error_not_a_crash(models: dict[str, bytes]) -> None:
    for blob in (b"", b"not a flatbuffer at all", models["clean"][: len(models["clean"]) // 3]):
        report = check_gpu(blob)
        assert not report.ok and report.error, blob[:20]


def test_mobilenet_v2(mobilenet: dict[str, bytes]) -> None:
    # Checked by hand against gpu_compatibility.cc: its 65 nodes are CONV_2D (1 runtime input, strides 1-2, dilation 1,
    # RELU6/NONE), DEPTHWISE_CONV_2D (multiplier 1, 4-D, filter.i == output.c, bias size == output.c), ADD of two
    # same-rank tensors (no broadcast check), MEAN (1 runtime + 1 const int32 axes), FULLY_CONNECTED (default
    # weights, absent bias, runtime input) and SOFTMAX (beta 1): every one is accepted.
    pinned = check_gpu(mobilenet["pinned"])
    assert pinned.error == "" and pinned.ok, [o.describe() for o in pinned.offenders]
    assert pinned.total == 65 and pinned.delegated == 65
