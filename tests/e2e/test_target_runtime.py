"""--target runtime=X.Y over models the real TF 2.21 converter wrote, and the LiteRT interpreter that loads them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from repair.core.tfenv import tf
from repair.targets.runtime import check_runtime, metadata_runtime
from tests.conftest import Corpus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cache_update(corpus: Corpus) -> bytes:
    """targets/new_op_version converted as repair converts a SavedModel: builtins only."""
    converter = tf().lite.TFLiteConverter.from_saved_model(str(corpus.artifact("targets/new_op_version")))
    return bytes(converter.convert())


@pytest.fixture(scope="module")
def plain_conv() -> bytes:
    t = tf()
    kernel = t.constant(t.random.stateless_normal([3, 3, 3, 4], seed=[1, 2]))

    @t.function(input_signature=[t.TensorSpec([1, 16, 16, 3], t.float32)])
    def f(x: Any) -> Any:
        y = t.nn.relu(t.nn.conv2d(x, kernel, strides=1, padding="SAME"))
        return t.reduce_mean(t.nn.max_pool2d(y, 2, 2, "VALID"), axis=[1, 2])

    return bytes(t.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f).convert())


def test_int64_cache_update_needs_a_runtime_newer_than_2_14(cache_update: bytes) -> None:
    report = check_runtime(cache_update, (2, 14))
    assert not report.ok and not report.error and report.name == "runtime=2.14"
    assert report.min_runtime == "2.17.0"
    assert report.setters == ("DYNAMIC_UPDATE_SLICE v2 (needs 2.17.0)",)
    [offender] = report.offenders
    assert offender.op == "DYNAMIC_UPDATE_SLICE" and offender.node is not None
    assert offender.reason == "version 2 needs runtime 2.17.0; runtime 2.14 has up to version 1"
    assert "DYNAMIC_UPDATE_SLICE" in report.summary and "2.17.0" in report.summary


def test_the_same_model_passes_a_new_runtime_and_loads_in_litert(cache_update: bytes) -> None:
    report = check_runtime(cache_update, (2, 21))
    assert report.ok and not report.offenders and report.min_runtime == "2.17.0"
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_content=cache_update).get_signature_runner("serving_default")
    out = runner(cache=np.zeros((1, 8, 16), np.float32), frame=np.ones((1, 1, 16), np.float32),
                 position=np.array([3], np.int64))
    assert out["cache_out"][0, :, 0].tolist() == [0, 0, 0, 1, 0, 0, 0, 0]  # the frame landed at row 3


def test_plain_conv_model_passes_2_14(plain_conv: bytes) -> None:
    report = check_runtime(plain_conv, (2, 14))
    assert report.ok and not report.offenders
    assert report.min_runtime is not None and report.min_runtime.startswith("1.")
    assert report.summary.startswith("loads on 2.14")


@pytest.mark.parametrize("model", ["cache_update", "plain_conv"])
def test_converter_metadata_agrees_with_the_table(model: str, request: pytest.FixtureRequest) -> None:
    """The converter's own total (min_runtime_version) equals the per-op table's maximum: no note, no override."""
    blob: bytes = request.getfixturevalue(model)
    report = check_runtime(blob, (2, 21))
    assert metadata_runtime(blob) == report.min_runtime
    assert "metadata" not in report.summary  # its cost is bench/'s to measure (bench/targets.py), not a test's
