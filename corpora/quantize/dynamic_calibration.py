"""A branch that calibration never runs: int16x8 refuses with "Max and min for dynamic tensors should be recorded during
calibration".

From https://github.com/tensorflow/tensorflow/issues/60799 and https://github.com/google-ai-edge/LiteRT/issues/168
("RuntimeError during 16x8 quantization in TFLite converter - Max and min for dynamic tensors should be recorded during
calibration"), https://github.com/tensorflow/model-optimization/issues/1090 (the same error for an RNN model in 16x8) and
https://github.com/lp6m/yolov5s_android/issues/23 ("Failed for tensor inputs / Empty min/max for tensor inputs": the
calibration images were never fed). "Dynamic tensors" there means activations (computed at run time, as opposed to
constant weights): the quantizer needs a recorded range for each, and a tensor the representative data never computes
has none. Measured (TF 2.21): a dynamic dimension alone does NOT cause it (a Conv1D over an unknown time axis calibrates
and quantizes in int8 and int16x8); an IF branch that no calibration sample takes does, in int16x8 (which still runs the
old quantizer over the calibrated model): "Max and min for dynamic tensors should be recorded during calibration: Failed
for tensor cond_true_..._arg0 / Empty min/max for tensor cond_true_..._arg0". int8 (the MLIR quantizer) converts the same
model. Here: a TF2 ``tf.Module`` saved with ``tf.saved_model.save`` whose serving function takes a rarely-true branch
(``tf.cond`` on the sum of the input exceeding 1e6: an "overload" path) that generated calibration data never reaches.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all, weights
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf

    seed_all()

    class Scorer(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(weights(8, 4), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
        def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            y = tf.matmul(x, self.w)
            # the "overload" path: taken only for inputs far outside what calibration (or normal traffic) sends
            y = tf.cond(tf.reduce_sum(x) > 1e6, lambda: tf.nn.relu(y) * 2.0, lambda: tf.tanh(y))
            return {"y": y}

    module = Scorer()
    out = dest / SAVED_MODEL
    tf.saved_model.save(module, str(out), signatures={"serving_default": module.serve})
    return out


_ARGS = ("--quantize", "int16x8", "--calibration-samples", "32")

CASE = Case(
    id="quantize/dynamic_calibration",
    summary="tf.Module with a tf.cond branch calibration never takes: int16x8 refuses (no recorded range for its tensors)",
    build=build,
    expect=Expect(
        findings=frozenset({"quant-failed"}),
        fix_exit=1,
        diagnose_args=_ARGS,
        fix_args=_ARGS,
        note="int16x8: 'Max and min for dynamic tensors should be recorded during calibration' (measured in TF 2.21)",
    ),
)
