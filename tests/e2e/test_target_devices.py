"""--target xnnpack and --target micro: the checks on tiny real models, through the real LiteRT and TFLM interpreters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from repair.core.options import Target
from repair.core.tfenv import captured_stderr, tf
from repair.targets.micro import check_micro
from repair.targets.xnnpack import FALLBACK_REASON, check_xnnpack
from tests.cli_helpers import repair
from tests.conftest import Corpus


@dataclass(frozen=True)
class Models:
    mixed: bytes  # [None, 8] -> SIGN, TOPK_V2 and a WHILE loop among delegable arithmetic
    fixed_reshape: bytes  # [1, 8] reshaped to a constant [1, 2, 4]: XNNPACK cannot reshape it for a batch of 3
    conv: bytes  # a small Keras conv net, batch pinned to 1, float
    conv_int8: bytes  # the same, full-integer quantized with int8 input and output
    tokens: bytes  # int32 token ids [1, 6] -> gather from a table, mean, matmul
    variable: bytes  # a resource variable incremented by each call
    inner_dynamic: bytes  # [1, None] summed: TFLM runs it at the placeholder length 1
    wide: bytes  # a 2 KB model whose 256x256x8 activation needs more than the first 1 MiB arena


def _convert(module: Any, fn: Any, resource_variables: bool = False) -> bytes:
    converter = tf().lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], module)
    converter.experimental_enable_resource_variables = resource_variables
    return bytes(converter.convert())


@pytest.fixture(scope="module")
def models() -> Models:
    tf_ = tf()
    import keras

    with captured_stderr():
        class Mixed(tf_.Module):
            @tf_.function(input_signature=[tf_.TensorSpec([None, 8], tf_.float32)])
            def f(self, x: Any) -> Any:
                y = tf_.nn.relu(x * 2.0 + 1.0)
                values, indices = tf_.math.top_k(tf_.sign(y - 1.5) + y, k=3)
                _, acc = tf_.while_loop(lambda j, a: j < 3, lambda j, a: (j + 1, a * 0.5 + 1.0), [tf_.constant(0), values])
                return {"out": acc + 1.0, "idx": indices}

        class FixedReshape(tf_.Module):
            @tf_.function(input_signature=[tf_.TensorSpec([1, 8], tf_.float32)])
            def f(self, x: Any) -> Any:
                return {"y": tf_.reshape(tf_.nn.relu(x), [1, 2, 4]) + 1.0}

        class Variable(tf_.Module):
            def __init__(self) -> None:
                super().__init__()
                self.v = tf_.Variable(tf_.zeros([1, 4]))

            @tf_.function(input_signature=[tf_.TensorSpec([1, 4], tf_.float32)])
            def f(self, x: Any) -> Any:
                self.v.assign_add(x)
                return {"y": self.v.read_value() * 2.0}

        class InnerDynamic(tf_.Module):
            @tf_.function(input_signature=[tf_.TensorSpec([1, None], tf_.float32)])
            def f(self, x: Any) -> Any:
                return {"y": tf_.reduce_sum(x * 2.0, axis=1)}

        class Tokens(tf_.Module):  # (keras 3's Embedding converts to a SELECT, which TFLM lacks)
            def __init__(self) -> None:
                super().__init__()
                self.table = tf_.constant(np.random.default_rng(0).random((20, 4), dtype=np.float32))
                self.w = tf_.constant(np.random.default_rng(1).random((4, 3), dtype=np.float32))

            @tf_.function(input_signature=[tf_.TensorSpec([1, 6], tf_.int32)])
            def f(self, ids: Any) -> Any:
                return {"logits": tf_.matmul(tf_.reduce_mean(tf_.gather(self.table, ids), axis=1), self.w)}

        class Wide(tf_.Module):
            @tf_.function(input_signature=[tf_.TensorSpec([1, 256, 256, 3], tf_.float32)])
            def f(self, x: Any) -> Any:
                kernel = tf_.constant(np.full((3, 3, 3, 8), 1 / 27, np.float32))
                return {"y": tf_.reduce_mean(tf_.nn.relu(tf_.nn.conv2d(x, kernel, 1, "SAME")), axis=[1, 2])}

        keras.utils.set_random_seed(0)
        conv_model = keras.Sequential([
            keras.Input((16, 16, 3), batch_size=1),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.DepthwiseConv2D(3, padding="same"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(5, activation="softmax"),
        ])
        conv = bytes(tf_.lite.TFLiteConverter.from_keras_model(conv_model).convert())
        quant = tf_.lite.TFLiteConverter.from_keras_model(conv_model)
        quant.optimizations = [tf_.lite.Optimize.DEFAULT]
        rng = np.random.default_rng(0)
        quant.representative_dataset = lambda: ([rng.random((1, 16, 16, 3), dtype=np.float32)] for _ in range(8))
        quant.target_spec.supported_ops = [tf_.lite.OpsSet.TFLITE_BUILTINS_INT8]
        quant.inference_input_type = quant.inference_output_type = tf_.int8
        conv_int8 = bytes(quant.convert())
        tokens_module = Tokens()
        tokens = _convert(tokens_module, tokens_module.f)
        mixed, fixed, variable, inner, wide = Mixed(), FixedReshape(), Variable(), InnerDynamic(), Wide()
        return Models(_convert(mixed, mixed.f), _convert(fixed, fixed.f), conv, conv_int8, tokens,
                      _convert(variable, variable.f, resource_variables=True), _convert(inner, inner.f),
                      _convert(wide, wide.f))


def _litert(blob: bytes, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    with captured_stderr():
        runner = Interpreter(model_content=blob).get_signature_runner("serving_default")
        return {k: np.asarray(v) for k, v in runner(**feeds).items()}


def _input_name(blob: bytes) -> str:
    from ai_edge_litert.interpreter import Interpreter

    with captured_stderr():
        return str(Interpreter(model_content=blob).get_signature_list()["serving_default"]["inputs"][0])


def test_xnnpack_names_each_node_that_falls_back(models: Models) -> None:
    report = check_xnnpack(models.mixed, {"x": np.ones((2, 8), np.float32)})
    assert report.target is Target.XNNPACK and not report.ok and report.error == ""
    assert (report.delegated, report.total) == (5, 8)
    assert [(o.op, o.node, o.name) for o in report.offenders] == [("SIGN", 3, "Sign"), ("TOPK_V2", 5, "TopKV2"),
                                                                 ("WHILE", 6, "while")]
    assert all(o.reason == FALLBACK_REASON for o in report.offenders)
    assert report.summary == ("XNNPACK took 5 of 8 nodes of the signature's subgraph (control-flow bodies not counted) "
                              "in 3 partitions; 3 fall back to the CPU")


def test_xnnpack_takes_a_conv_net_whole(models: Models) -> None:
    report = check_xnnpack(models.conv, {_input_name(models.conv): np.ones((1, 16, 16, 3), np.float32)})
    assert report.ok and report.offenders == ()
    assert report.delegated == report.total and report.total is not None and report.total >= 4
    assert report.summary == f"XNNPACK took all {report.total} nodes (1 partition)"


def test_xnnpack_run_time_refusal_fails_the_check(models: Models) -> None:
    assert check_xnnpack(models.fixed_reshape, {"x": np.ones((1, 8), np.float32)}).ok
    report = check_xnnpack(models.fixed_reshape, {"x": np.ones((3, 8), np.float32)})
    assert not report.ok and (report.delegated, report.total) == (3, 3)
    assert "XNNPack delegate failed to reshape runtime" in report.error
    assert [o.op for o in report.offenders] == ["DELEGATE"] and report.error in report.offenders[0].reason


def test_micro_names_every_missing_kernel_per_node(models: Models) -> None:
    report = check_micro(models.mixed, None)
    assert report.target is Target.MICRO and not report.ok
    assert report.summary == "no TFLM kernel for SIGN, TOPK_V2"
    assert [(o.op, o.node, o.subgraph, o.reason) for o in report.offenders] == [
        ("SIGN", 3, 0, "no TFLM kernel for SIGN"), ("TOPK_V2", 5, 0, "no TFLM kernel for TOPK_V2")]
    assert report.arena_bytes is None and report.outputs is None


@pytest.mark.parametrize("kind", ["conv", "conv_int8", "tokens"])
def test_micro_runs_and_matches_litert(models: Models, kind: str) -> None:
    blob: bytes = getattr(models, kind)
    name = _input_name(blob)
    rng = np.random.default_rng(1)
    feeds = {
        "conv": {name: rng.random((3, 16, 16, 3), dtype=np.float32)},
        "conv_int8": {name: rng.integers(-128, 128, (3, 16, 16, 3), dtype=np.int8)},
        "tokens": {name: rng.integers(0, 20, (3, 6), dtype=np.int32)},
    }[kind]
    report = check_micro(blob, feeds)
    assert report.ok, report
    assert report.arena_bytes is not None and 0 < report.arena_bytes < 1 << 20
    assert report.summary == f"TFLM runs it: arena {report.arena_bytes:,} bytes"
    assert report.outputs is not None
    # the model's batch is 1: TFLM ran each of the 3 rows; LiteRT runs them one by one too, for the reference
    expected = {k: np.concatenate(parts) for k, parts in _rowwise(blob, feeds).items()}
    assert set(report.outputs) == set(expected)
    for key, want in expected.items():
        got = report.outputs[key]
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), atol=1e-5, rtol=0)


def _rowwise(blob: bytes, feeds: dict[str, np.ndarray]) -> dict[str, list[np.ndarray]]:
    rows = next(iter(feeds.values())).shape[0]
    out: dict[str, list[np.ndarray]] = {}
    for row in range(rows):
        for key, value in _litert(blob, {k: v[row:row + 1] for k, v in feeds.items()}).items():
            out.setdefault(key, []).append(value)
    return out


def test_micro_runs_resource_variables(models: Models) -> None:
    report = check_micro(models.variable, {"x": np.full((1, 4), 3.0, np.float32)})
    assert report.ok and report.offenders == ()
    assert report.outputs is not None
    np.testing.assert_array_equal(report.outputs["y"], np.full((1, 4), 6.0, np.float32))


def test_micro_flags_tensors_it_cannot_resize(models: Models) -> None:
    report = check_micro(models.inner_dynamic, None)
    assert not report.ok and report.arena_bytes is not None
    assert [(o.op, o.node, o.name) for o in report.offenders] == [("DYNAMIC_TENSOR", None, "serving_default_x:0"),
                                                                 ("DYNAMIC_TENSOR", None, "mul")]
    assert all("shape [1, -1]" in o.reason for o in report.offenders)


def test_micro_grows_a_short_arena(models: Models) -> None:
    report = check_micro(models.wide, {"x": np.ones((1, 256, 256, 3), np.float32)})
    assert report.ok and report.arena_bytes is not None and 1 << 20 < report.arena_bytes <= 4 << 20
    assert report.summary.endswith("(the first arena of 1,048,576 bytes was too small; given 4,194,304)")
    assert report.outputs is not None
    np.testing.assert_allclose(report.outputs["y"], _litert(models.wide, {"x": np.ones((1, 256, 256, 3), np.float32)})["y"],
                               atol=1e-5, rtol=0)


def test_micro_never_raises_on_garbage() -> None:
    report = check_micro(b"not a flatbuffer at all", None)
    assert not report.ok and report.error
    report = check_xnnpack(b"not a flatbuffer at all", None)
    assert not report.ok and report.error


@pytest.mark.slow
def test_xnnpack_fallback_published_only_when_accepted(corpus: Corpus, tmp_path: Path) -> None:
    """The corpus case refuses without consent (test_corpus_e2e); with --accept-fallback xnnpack it is published and
    the report keeps the fallen-back node."""
    out = tmp_path / "o"
    run = repair("fix", str(corpus.artifact("targets/xnnpack_fallback")), "--out", str(out), "--target", "xnnpack",
                 "--accept-fallback", "xnnpack")
    assert run.exit_code == 0, run.stdout
    report = json.loads((out / "report.json").read_text())
    [xnnpack] = [t for t in report["after"]["targets"] if t["target"] == "xnnpack"]
    assert xnnpack["verdict"] == "accepted fallback" and (xnnpack["delegated"], xnnpack["total"]) == (2, 3)
    assert [(o["op"], o["node"]) for o in xnnpack["offenders"]] == [("TOPK_V2", 2)]
