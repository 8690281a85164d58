"""Quantized conversions: calibrate once, then quantize the calibrated model by recipe; the one-shot modes.

Measured here (TF 2.21, a small conv net): the calibrating conversion (``_experimental_calibrate_only``: convert,
insert range recorders, run the representative data) takes 0.58 s; quantizing the calibrated flatbuffer with
``mlir_quantize`` takes 13 ms, with or without a denylist. So the search pays for calibration once and each of its
steps costs one ``mlir_quantize`` plus the held-out measurement. This is the same path TensorFlow's own converter
takes for int8 (``TFLiteConverter._quantize``) and its QuantizationDebugger uses for selective quantization.

What TF 2.21 does with the failure classes users meet (each reproduced in tests/e2e/test_quant_convert.py):

- Ops without an int8 kernel (CUMSUM, SIN, ATAN2, SIGN, FLOOR_MOD measured) are never refused by the MLIR int8
  quantizer: ``mlir_quantize`` (fully_quantize True or False), TF's default int8 conversion and even
  ``supported_ops=[TFLITE_BUILTINS_INT8]`` alone all keep the op in float between a DEQUANTIZE and a QUANTIZE, silently.
  "Quantization not yet supported for op: 'CUMSUM'." only comes from the old C++ quantizer
  (``experimental_new_quantizer=False``); int16x8 says "Quantization to 16x8-bit not yet supported for op: 'CUMSUM'."
  when only the 16x8 op set is allowed. So nothing needs a retry: ``convert_plain`` allows builtins float fallback
  for int16x8, and ``float_ops`` names every op a quantized model computes in float, which is how the user learns it.
- "Max and min for dynamic tensors should be recorded during calibration: Failed for tensor X" comes only from the old
  quantizer, i.e. int16x8 (TF routes 16-bit activations there, never to ``mlir_quantize``). It fires on a WHILE loop
  (tensor ``.../while_cond_arg0``, for any trip count and shape), on an IF branch the calibration data never took
  (``..._cond_true_NNN_arg0``) and on an empty representative dataset; unknown dims alone (SHAPE, RESHAPE) quantize
  fine in 2.21. The int8 MLIR quantizer handles the same WHILE and IF. Kind "dynamic-tensor": its cure is to remove
  the loop (pin the dims so the float pipeline unrolls a recurrent layer) or to quantize int8.
- Calibration data of the wrong dtype: ``repair.quantize.calibration`` casts or refuses it before anything converts.

int16x8 cannot keep chosen layers float in 2.21. The old quantizer that makes valid int16x8 models
(``Calibrator.calibrate_and_quantize``) takes no denylist; ``mlir_quantize(inference_type=QUANTIZED_INT16,
denylisted_nodes=...)`` accepts one, but its int16 activations are asymmetric and LiteRT refuses them when the tensors
are allocated ("tflite/kernels/fully_connected.cc:584 input->params.zero_point != 0 (-1 != 0) ... Node number 1
(FULLY_CONNECTED) failed to prepare", measured on Dense -> SIN -> Dense). So int16x8 is one ``convert_plain``
conversion, with no layer search.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from repair.core.options import QuantMode
from repair.core.tfenv import captured_stderr, tf
from repair.model.artifact import SERVING_DEFAULT
from repair.model.convert import shared_load
from repair.quantize import Feeds, QuantFailed, Recipe

_DYNAMIC = re.compile(r"Max and min for dynamic tensors should be recorded during calibration(?:: Failed for tensor (\S+))?")
_NO_KERNEL = re.compile(r"Quantization (?:to 16x8-bit )?not yet supported for op: '([^']+)'")
_DTYPE = re.compile(r"Got value of type (\w+) but expected type (\w+) for input (\d+)(?:, name: (\S+))?")


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]


def _failed(what: str, exc: BaseException, stderr: str) -> QuantFailed:
    """The converter's or quantizer's exception as a QuantFailed: a kind, and one line that says what to do."""
    text = f"{exc}\n{stderr}".strip()
    match = _DYNAMIC.search(text)
    if match:
        tensor = match.group(1) or "?"
        return QuantFailed(
            f"{what}: calibration recorded no range for tensor '{tensor}' (TensorFlow: \"Max and min for dynamic "
            "tensors should be recorded during calibration\"): the int16x8 quantizer cannot calibrate inside control "
            "flow (a WHILE loop, an IF branch the data never took); pin the dims (--pin NAME=1,...) so a recurrent "
            "layer's loop is unrolled, give calibration data that takes every branch, or use --quantize int8",
            text, "dynamic-tensor")
    match = _NO_KERNEL.search(text)
    if match:
        return QuantFailed(
            f"{what}: op {match.group(1)} has no quantized kernel for this mode (TensorFlow: \"{match.group(0)}\"); "
            "keep it float (int8 does that by itself) or replace it with ops that have one",
            text, "unsupported-op")
    match = _DTYPE.search(text)
    if match:
        name = f" '{match.group(4)}'" if match.group(4) else ""
        return QuantFailed(
            f"{what}: calibration data is {match.group(1)}, the model's input {match.group(3)}{name} takes "
            f"{match.group(2)}; save the calibration arrays in the inputs' dtypes",
            text, "calibration-dtype")
    return QuantFailed(f"{what} failed: {_first_line(exc)}", text, "converter")


def _representative(samples: tuple[Feeds, ...]) -> Any:
    def representative() -> Iterator[dict[str, object]]:
        for sample in samples:
            yield dict(sample)

    return representative


def calibrate(saved_model: Path, samples: tuple[Feeds, ...], float_tflite: bytes | None = None) -> bytes:
    """The float model converted with range recorders that ran on ``samples``: the input of every ``quantize``.

    ``samples`` are keyed by the serving signature's input names, one sample (batch 1) each. ``float_tflite``, the
    float conversion the pipeline already made and verified, is calibrated directly when it holds only the serving
    signature: TensorFlow's own int8 path converts the SavedModel to that same float flatbuffer and then runs the
    calibrator on it (``lite.py`` ``_quantize``), so converting again only repeats the work. Measured on MobileNetV2
    (224x224, 16 samples): 10.5 s through the converter, 1.25 s from the float .tflite, and the int8 models quantized
    from the two calibrations give identical outputs (max abs diff 0.0 on every sample); the same on a small MLP.
    """
    t = tf()
    if not samples:
        # TF would calibrate on nothing and quantize nothing, silently (measured: int8 with an empty dataset converts)
        raise QuantFailed("calibration needs at least one sample", "", "calibration")
    if float_tflite is not None and _only_serving(float_tflite):
        from tensorflow.lite.python.optimize import calibrator  # the calibrator TF's converter runs

        with captured_stderr() as err:
            try:
                recorder = calibrator.Calibrator(calibrator.add_intermediate_tensors(float_tflite))
                return bytes(recorder.calibrate(lambda: ((SERVING_DEFAULT, dict(x)) for x in samples)))
            except Exception as exc:  # the same refusals as the converter's calibration, said the same way
                raise _failed("calibration", exc, err.text) from exc
    with captured_stderr() as err, shared_load(saved_model):  # the converter's loads of it are the run's one load
        try:
            converter = t.lite.TFLiteConverter.from_saved_model(str(saved_model), signature_keys=[SERVING_DEFAULT])
            converter.optimizations = [t.lite.Optimize.DEFAULT]
            converter.representative_dataset = _representative(samples)
            converter._experimental_calibrate_only = True  # noqa: SLF001 - the documented path of QuantizationDebugger
            return bytes(converter.convert())
        except Exception as exc:  # the converter raises many types; each is a calibration that failed
            raise _failed("calibration", exc, err.text) from exc


def _only_serving(blob: bytes) -> bool:
    """Whether a float .tflite's only signature is serving_default (others would be calibrated on nothing)."""
    from repair.model.tflite import inspect_tflite

    return list(inspect_tflite(blob).signatures) == [SERVING_DEFAULT]


def _io_type(io: str) -> Any:
    t = tf()
    if io not in ("float", "int8", "uint8"):
        raise QuantFailed(f"--io {io}: choose float, int8 or uint8", "", "converter")
    return {"float": t.float32, "int8": t.int8, "uint8": t.uint8}[io]


def quantize(calibrated: bytes, recipe: Recipe) -> bytes:
    """Quantize a calibrated model (``calibrate``) to ``recipe.mode``, keeping ``recipe.float_layers`` in float.

    ``float_layers`` name ops by their output tensor in the calibrated model (``float_ops`` reports the same names).
    Ops without an int8 kernel stay float by themselves (see the module docstring); ``float_ops`` lists them.
    """
    from tensorflow.lite.python import convert as lite_convert  # the quantizer's only Python entry point

    if recipe.mode is not QuantMode.INT8:
        raise QuantFailed(f"quantize() takes int8 recipes; {recipe.mode.value} is converted by convert_plain()")
    io = _io_type(recipe.io)
    with captured_stderr() as err:
        try:
            # fully_quantize=False, as TF's own int8 path (lite.py _quantize) passes it: the body is quantized either
            # way, and fully_quantize=True makes the I/O int8 even when input_data_type is float32 (measured, 2.21).
            return bytes(lite_convert.mlir_quantize(
                calibrated, fully_quantize=False, input_data_type=io, output_data_type=io,
                denylisted_nodes=list(recipe.float_layers) or None,
            ))
        except Exception as exc:
            raise _failed("quantization", exc, err.text) from exc


def convert_plain(saved_model: Path, mode: QuantMode, samples: tuple[Feeds, ...] = (), io: str = "float") -> bytes:
    """One conversion by TensorFlow's own converter in ``mode``: the weight-only modes, int16x8, or a plain int8.

    dynamic: int8 weights, float activations, no data. float16: float16 weights. int16x8: int16 activations and int8
    weights calibrated on ``samples``; ops without a 16x8 kernel stay float (builtins allowed; ``float_ops`` names
    them). int8: TF's default full-integer path with ``io`` inputs and outputs (the baseline a search is compared to).
    """
    t = tf()
    if mode.calibrated and not samples:
        raise QuantFailed(f"{mode.value} needs calibration samples", "", "calibration")
    if io != "float" and mode is not QuantMode.INT8:
        raise QuantFailed(f"--io {io} applies to --quantize int8 only; {mode.value} keeps float inputs and outputs",
                          "", "converter")
    io_type = _io_type(io)
    with captured_stderr() as err, shared_load(saved_model):  # the converter's loads of it are the run's one load
        try:
            converter = t.lite.TFLiteConverter.from_saved_model(str(saved_model), signature_keys=[SERVING_DEFAULT])
            converter.optimizations = [t.lite.Optimize.DEFAULT]
            if mode is QuantMode.FLOAT16:
                converter.target_spec.supported_types = [t.float16]
            elif mode is QuantMode.INT16X8:
                converter.representative_dataset = _representative(samples)
                converter.target_spec.supported_ops = [
                    t.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8,
                    t.lite.OpsSet.TFLITE_BUILTINS,  # float fallback for ops without a 16x8 kernel, reported by float_ops
                ]
            elif mode is QuantMode.INT8:
                converter.representative_dataset = _representative(samples)
                converter.inference_input_type = io_type
                converter.inference_output_type = io_type
            return bytes(converter.convert())
        except Exception as exc:  # the converter raises many types; each is a conversion that failed
            raise _failed(f"{mode.value} conversion", exc, err.text) from exc


def float_ops(blob: bytes) -> tuple[tuple[str, str], ...]:
    """(op name, first output tensor name) of every op of ``blob`` that computes in float: the model's float islands.

    An op computes in float when one of its non-constant inputs or outputs is float32; QUANTIZE and DEQUANTIZE, the
    islands' borders, are left out, and so are SHAPE and RANK (a float input's shape is metadata, not float compute:
    an int8 model with float I/O reads its input's shape in every Keras Reshape with a -1). Every subgraph is read
    (a WHILE body's ops too), in execution order.
    """
    tf()
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(blob, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    float32 = schema.TensorType.FLOAT32
    buffers = model.buffers or []

    def constant(tensor: Any) -> bool:
        index = int(tensor.buffer)
        if index <= 0 or index >= len(buffers):
            return False
        buf = buffers[index]
        return (buf.data is not None and len(buf.data) > 0) or int(getattr(buf, "size", 0) or 0) > 0

    found: list[tuple[str, str]] = []
    for sg in model.subgraphs or []:
        tensors = sg.tensors or []
        for op in sg.operators or []:
            code = model.operatorCodes[op.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            name = names.get(builtin, str(builtin))
            if name == "CUSTOM":
                name = f"CUSTOM:{(code.customCode or b'').decode()}"
            if name in ("QUANTIZE", "DEQUANTIZE", "SHAPE", "RANK"):  # borders, and ops that read only a shape
                continue
            ins = [tensors[int(i)] for i in (op.inputs if op.inputs is not None else []) if int(i) >= 0]
            outs = [tensors[int(i)] for i in (op.outputs if op.outputs is not None else []) if int(i) >= 0]
            if any(t.type == float32 for t in outs) or any(t.type == float32 and not constant(t) for t in ins):
                found.append((name, (outs[0].name or b"").decode() if outs else ""))
    return tuple(found)


__all__ = ["calibrate", "convert_plain", "float_ops", "quantize"]
