"""The quantized conversions and their failure classes on real models: the real converter, the real quantizers, LiteRT.

Three tiny Keras 3 models, each exported once (``model.export``):
- ``cumsum``: Dense -> CUMSUM -> Dense. CUMSUM converts to a builtin but has no int8 or 16x8 kernel in TF 2.21.
- ``loop``: Dense -> tf.while_loop (3 x tanh) -> Dense: a WHILE, which the int16x8 quantizer cannot calibrate.
- ``ids``: int32 ids -> Embedding -> Dense, calibrated with ids saved as float (the users' "wrong dtype" class).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from repair.core.options import Options, QuantMode
from repair.core.tfenv import tf
from repair.model.working import Port
from repair.quantize import Feeds, QuantFailed, Recipe
from repair.quantize import calibration as cal
from repair.quantize.convert import _failed, calibrate, convert_plain, float_ops, quantize


def _samples(seed: int, count: int, shape: tuple[int, ...] = (1, 8)) -> tuple[Feeds, ...]:
    rng = np.random.default_rng(seed)
    return tuple({"x": rng.standard_normal(shape).astype(np.float32)} for _ in range(count))


def _export(tmp: Path, name: str, body: Any, dtype: str = "float32", shape: tuple[int, ...] = (8,)) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input(shape, name="x", dtype=dtype)
    out = keras.layers.Dense(4, name="head")(body(inp))
    path = tmp / name
    keras.Model(inp, out).export(str(path), verbose=False)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import keras

    t = tf()
    tmp = tmp_path_factory.mktemp("quant_convert")

    def cumsum(x: Any) -> Any:
        h = keras.layers.Dense(8, name="features")(x)
        return keras.layers.Lambda(lambda v: keras.ops.cumsum(v, axis=-1), name="running")(h)

    def loop(x: Any) -> Any:
        def body(v: Any) -> Any:
            _, r = t.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, t.tanh(y) * 1.5 + 0.1), [t.constant(0), v])
            return r

        return keras.layers.Lambda(body, name="loop")(keras.layers.Dense(8, name="features")(x))

    def ids(x: Any) -> Any:
        return keras.layers.Flatten()(keras.layers.Embedding(50, 4, name="embed")(x))

    return {"cumsum": _export(tmp, "cumsum", cumsum), "loop": _export(tmp, "loop", loop),
            "ids": _export(tmp, "ids", ids, dtype="int32", shape=(5,))}


def _run(blob: bytes, samples: tuple[Feeds, ...]) -> list[np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_content=blob).get_signature_runner("serving_default")
    return [np.asarray(next(iter(runner(**s).values()))) for s in samples]


def _io_dtypes(blob: bytes) -> tuple[str, str]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=blob)
    return interpreter.get_input_details()[0]["dtype"].__name__, interpreter.get_output_details()[0]["dtype"].__name__


@pytest.fixture(scope="module")
def calibrated(models: dict[str, Path]) -> bytes:
    return calibrate(models["cumsum"], _samples(1, 32))


def test_int8_keeps_an_op_without_an_int8_kernel_float_and_float_ops_names_it(models: dict[str, Path],
                                                                                calibrated: bytes) -> None:
    # TF 2.21 never refuses here: the MLIR quantizer wraps CUMSUM in DEQUANTIZE/QUANTIZE, silently; so does TF's own
    # default int8 path (convert_plain INT8). float_ops is how the user learns it.
    blob = quantize(calibrated, Recipe(QuantMode.INT8))
    assert [op for op, _ in float_ops(blob)] == ["CUMSUM"]
    assert [op for op, _ in float_ops(convert_plain(models["cumsum"], QuantMode.INT8, _samples(1, 32)))] == ["CUMSUM"]
    assert _io_dtypes(blob) == ("float32", "float32")  # io float stays float (fully_quantize=True made it int8)
    assert _io_dtypes(quantize(calibrated, Recipe(QuantMode.INT8, "int8"))) == ("int8", "int8")
    assert _io_dtypes(quantize(calibrated, Recipe(QuantMode.INT8, "uint8"))) == ("uint8", "uint8")
    held = _samples(2, 8)
    expected = _run(convert_plain(models["cumsum"], QuantMode.DYNAMIC), held)  # a float-activation reference
    got = _run(blob, held)
    assert max(float(np.abs(a - b).max()) for a, b in zip(expected, got)) < 0.5


def test_a_denylisted_layer_stays_float_by_its_output_tensor_name(calibrated: bytes) -> None:
    every = float_ops(quantize(calibrated, Recipe(QuantMode.INT8, float_layers=("x",))))
    assert [op for op, _ in every] == ["CUMSUM"]  # a name no op writes changes nothing
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(calibrated, 0)
    graph = model.subgraphs[0]
    first = graph.tensors[graph.operators[0].outputs[0]].name.decode()  # the first Dense, in the calibrated model
    kept = float_ops(quantize(calibrated, Recipe(QuantMode.INT8, float_layers=(first,))))
    assert kept[0] == ("FULLY_CONNECTED", first) and [op for op, _ in kept] == ["FULLY_CONNECTED", "CUMSUM"]


def test_weight_only_modes_and_int16x8_convert_and_run(models: dict[str, Path]) -> None:
    t = tf()
    path = models["cumsum"]
    float_blob = bytes(t.lite.TFLiteConverter.from_saved_model(str(path)).convert())
    held = _samples(2, 4)
    expected = _run(float_blob, held)
    for mode in QuantMode:
        if mode is QuantMode.INT8:
            continue
        blob = convert_plain(path, mode, _samples(1, 32) if mode.calibrated else ())
        got = _run(blob, held)
        assert max(float(np.abs(a - b).max()) for a, b in zip(expected, got)) < 0.1, mode
        if mode is QuantMode.INT16X8:  # no 16x8 CUMSUM kernel: kept float by the builtins fallback, and said
            assert [op for op, _ in float_ops(blob)] == ["CUMSUM"]
        else:  # weight-only: every op computes in float
            assert {op for op, _ in float_ops(blob)} == {"FULLY_CONNECTED", "CUMSUM"}
    with pytest.raises(QuantFailed, match="--io int8 applies to --quantize int8 only"):
        convert_plain(path, QuantMode.FLOAT16, io="int8")


def test_int16x8_without_float_fallback_is_refused_as_unsupported_op(models: dict[str, Path]) -> None:
    # What a user who sets the 16x8 op set alone sees; convert_plain avoids it by allowing builtins.
    t = tf()
    converter = t.lite.TFLiteConverter.from_saved_model(str(models["cumsum"]))
    converter.optimizations = [t.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: iter(_samples(1, 4))
    converter.target_spec.supported_ops = [t.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    with pytest.raises(Exception) as info:
        converter.convert()
    assert "Quantization to 16x8-bit not yet supported for op: 'CUMSUM'." in str(info.value)
    failed = _failed("int16x8 conversion", info.value, "")
    assert failed.kind == "unsupported-op" and "op CUMSUM has no quantized kernel" in str(failed)


def test_a_while_loop_breaks_int16x8_calibration_as_dynamic_tensor(models: dict[str, Path]) -> None:
    with pytest.raises(QuantFailed) as info:
        convert_plain(models["loop"], QuantMode.INT16X8, _samples(1, 8))
    failed = info.value
    assert failed.kind == "dynamic-tensor"
    assert "Max and min for dynamic tensors should be recorded during calibration" in failed.text
    assert "while_cond_arg0" in str(failed) and "--pin" in str(failed) and "--quantize int8" in str(failed)
    assert "\n" not in str(failed)
    # the int8 quantizer calibrates the same loop: the cure the message offers
    blob = quantize(calibrate(models["loop"], _samples(1, 8)), Recipe(QuantMode.INT8))
    assert len(_run(blob, _samples(2, 2))) == 2


def test_ids_saved_as_float_fail_in_tensorflow_and_are_cast_by_calibration(models: dict[str, Path],
                                                                            tmp_path: Path) -> None:
    ids = np.random.default_rng(3).integers(0, 50, (12, 5))
    with pytest.raises(QuantFailed) as info:  # the user's data as is: TF's own words
        calibrate(models["ids"], tuple({"x": row[None].astype(np.float32)} for row in ids))
    assert info.value.kind == "calibration-dtype"
    assert "Got value of type FLOAT32 but expected type INT32 for input 0" in info.value.text
    path = tmp_path / "calibration.npz"
    np.savez(path, x=ids.astype(np.float32))
    data = cal.from_file(path, (Port("x", "x", "x", "int32", (None, 5)),), Options(), held_out=0)
    assert data.notes == ("input 'x': float32 array cast to int32 (all 60 values integral)",)
    blob = quantize(calibrate(models["ids"], data.calibration), Recipe(QuantMode.INT8))
    assert len(_run(blob, data.held_out)) == 3
