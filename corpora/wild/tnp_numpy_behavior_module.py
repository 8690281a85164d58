"""A tf.Module written in NumPy style with ``tnp.experimental_enable_numpy_behavior()``: float64 leaks.

Sources: the TF guide's NumPy-API "Example model" (https://www.tensorflow.org/guide/tf_numpy: enable NumPy
behaviour, then write the model with ``tnp`` calls) and https://github.com/tensorflow/tensorflow/issues/39604
("Getting error saved model to tflite - Float 64 error"). With NumPy behaviour on, ``tnp.linspace``,
``tnp.eye`` and ``tnp.ones`` return float64, so a float32 signature silently computes in float64 inside and
the converter asks for Flex ops whose Details show ``xf64`` (docs/facts.md 3).

Rebuilt: tf.Module with float32 weights, signature x: float32 [None, 8];
``y = x * tnp.linspace(0, 1, 8)`` -> ``@ (W + 0.1 * tnp.eye(8))`` -> ``+ tnp.ones(8)`` -> tanh, returned as
float32; ``tf.saved_model.save(module, dir, signatures=...)``. Issue 10 demands a repair *by default*, with no
flag: the user never chose float64.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, weights
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import tensorflow as tf
    import tensorflow.experimental.numpy as tnp

    tnp.experimental_enable_numpy_behavior()

    class Model(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(weights(8, 4))

        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
        def predict(self, x):
            h = x * tnp.linspace(0.0, 1.0, 8)  # float64: promotes x
            h = tnp.matmul(h, tnp.concatenate([tnp.eye(4), tnp.eye(4)]) * 0.1 + self.w)
            return {"y": tf.cast(tnp.tanh(h + tnp.ones(4)), tf.float32)}

    model = Model()
    path = dest / SAVED_MODEL
    tf.saved_model.save(model, str(path), signatures={"serving_default": model.predict})
    x = rng(12).standard_normal((3, 8)).astype("float32")
    write_reference(dest, {"x": x}, model.predict(tf.constant(x)))
    return path


CASE = WildCase(
    id="wild/tnp_numpy_behavior_module",
    url="https://github.com/tensorflow/tensorflow/issues/39604",
    summary="tf.Module in tnp style with numpy behaviour on: linspace/eye/ones leak float64 behind float32 I/O",
    build=build,
    expect="repaired",
)
