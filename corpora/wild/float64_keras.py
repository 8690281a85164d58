"""A Keras 3 regression model built with ``floatx = "float64"`` and exported.

Source: https://github.com/tensorflow/tensorflow/issues/39604 ("Getting error saved model to tflite - Float 64
error") and https://github.com/tensorflow/tensorflow/issues/35953 (maintainer: "the input to the model was used
as tf.float64 which was not supported in tf_lite ... cast the input to tf.float32"). Today: Flex AddV2/MatMul
with ``f64`` in the Details.

Rebuilt: ``keras.config.set_floatx("float64")``; Input((5,), name="features") -> Dense(16, relu) -> Dense(1);
``model.export(dir)`` (float64 signature). Computing in float32 changes the numbers slightly but keeps the
float64 signature, and the gate proves the numbers: a verified fix, so the user passes no flag.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import keras

    keras.config.set_floatx("float64")
    keras.utils.set_random_seed(0)
    inp = keras.Input((5,), name="features")
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.Dense(16, activation="relu")(inp)))
    path = dest / SAVED_MODEL
    model.export(str(path))
    x = rng(28).standard_normal((3, 5))
    write_reference(dest, {"features": x}, {"output_0": model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/float64_keras",
    url="https://github.com/tensorflow/tensorflow/issues/39604",
    summary="Keras 3 model with floatx float64, model.export: Flex ops on f64",
    build=build,
    expect="repaired",
    rewrites=("compute_in_float32",),
)
