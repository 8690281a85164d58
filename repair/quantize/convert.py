"""Quantized conversions: calibrate once, then quantize the calibrated model by recipe.

Measured here (TF 2.21, a small conv net): the calibrating conversion (``_experimental_calibrate_only``: convert,
insert range recorders, run the representative data) takes 0.58 s; quantizing the calibrated flatbuffer with
``mlir_quantize`` takes 13 ms, with or without a denylist. So the search pays for calibration once and each of its
steps costs one ``mlir_quantize`` plus the held-out measurement. This is the same path TensorFlow's own converter
takes for int8 (``TFLiteConverter._quantize``) and its QuantizationDebugger uses for selective quantization.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from repair.core.options import QuantMode
from repair.core.tfenv import captured_stderr, tf
from repair.model.artifact import SERVING_DEFAULT
from repair.quantize import Feeds, QuantFailed, Recipe


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]


def calibrate(saved_model: Path, samples: tuple[Feeds, ...]) -> bytes:
    """The float model converted with range recorders that ran on ``samples``: the input of every ``quantize``.

    ``samples`` are keyed by the serving signature's input names, one sample (batch 1) each.
    """
    t = tf()

    def representative() -> Iterator[dict[str, object]]:
        for sample in samples:
            yield dict(sample)

    with captured_stderr() as err:
        try:
            converter = t.lite.TFLiteConverter.from_saved_model(str(saved_model), signature_keys=[SERVING_DEFAULT])
            converter.optimizations = [t.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative
            converter._experimental_calibrate_only = True  # noqa: SLF001 - the documented path of QuantizationDebugger
            return bytes(converter.convert())
        except Exception as exc:  # the converter raises many types; each is a calibration that failed
            raise QuantFailed(f"calibration failed: {_first_line(exc)}", f"{exc}\n{err.text}".strip(), "converter") from exc


def quantize(calibrated: bytes, recipe: Recipe) -> bytes:
    """Quantize a calibrated model (``calibrate``) to ``recipe.mode``, keeping ``recipe.float_layers`` in float."""
    from tensorflow.lite.python import convert as lite_convert  # the quantizer's only Python entry point

    t = tf()
    if recipe.mode is not QuantMode.INT8:
        raise QuantFailed(f"quantize() takes int8 recipes; {recipe.mode.value} is converted by convert_plain()")
    io = {"float": t.float32, "int8": t.int8, "uint8": t.uint8}[recipe.io]
    with captured_stderr() as err:
        try:
            return bytes(lite_convert.mlir_quantize(
                calibrated, fully_quantize=True, input_data_type=io, output_data_type=io,
                denylisted_nodes=list(recipe.float_layers) or None,
            ))
        except Exception as exc:
            raise QuantFailed(f"quantization failed: {_first_line(exc)}", f"{exc}\n{err.text}".strip(), "converter") from exc


__all__ = ["calibrate", "quantize"]
