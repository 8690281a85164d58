"""A running sum over time (CUMSUM): the op has no int8 kernel in LiteRT, so int8 leaves it float between DEQUANTIZE
and QUANTIZE.

From https://github.com/tensorflow/tensorflow/issues/60789 (a full-integer model that comes out of the converter with
DEQUANTIZE/QUANTIZE stubs around one op, ELU then, because that op had no int8 kernel; the user asked why the model is not
fully int8) and https://github.com/tensorflow/tensorflow/issues/47290 / https://github.com/tensorflow/tensorflow/pull/48472
(int8 CUMSUM added to TFLite Micro only: LiteRT's CPU kernel is float and int32/int64). Here: a Keras 3 Sequential model
over a (16, 4) time series (Dense 8 -> a layer computing ``keras.ops.cumsum`` over time -> global average pool -> Dense 3),
exported with ``model.export(dir)``, quantized on generated calibration data (``--calibration-samples``).
Measured (TF 2.21): the converter's int8 path, even with ``supported_ops = [TFLITE_BUILTINS_INT8]``, does not refuse:
CUMSUM stays float (FLOAT32 in, FLOAT32 out) between a DEQUANTIZE and a QUANTIZE; the rest is int8. The default int8
budget (cosine 0.99) holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras
    import numpy as np

    class RunningSum(keras.layers.Layer):
        """The cumulative sum over the time axis (a running total of per-step features)."""

        def call(self, x: Any) -> Any:
            return keras.ops.cumsum(x, axis=1)

    seed_all(keras=True)
    model = keras.Sequential([
        keras.Input((16, 4), name="series"),
        keras.layers.Dense(8),
        RunningSum(name="running_sum"),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dense(3, name="scores"),
    ])
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    rng = np.random.default_rng(0)  # the same distribution as the tool's generated samples: standard normal floats
    np.savez(dest / "check.npz", series=rng.standard_normal((64, 16, 4)).astype(np.float32))
    return out


_ARGS = ("--quantize", "int8", "--calibration-samples", "64")

CASE = Case(
    id="quantize/no_int8_kernel",
    summary="Keras 3 time-series model with a running sum: CUMSUM has no int8 kernel and stays float, the rest is int8",
    build=build,
    expect=Expect(
        findings=frozenset({"quant-float-ops"}),
        fix_exit=0,
        absent=frozenset({"quant-failed", "calibration-dtype"}),
        diagnose_args=_ARGS,
        fix_args=_ARGS,
        quant_float_ops=frozenset({"CUMSUM"}),
        note="CUMSUM stays float between DEQUANTIZE and QUANTIZE; a warning, not an error (no --target micro)",
    ),
)
