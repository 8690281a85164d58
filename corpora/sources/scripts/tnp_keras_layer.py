"""A Keras 3 model with a preprocessing layer written with tf.experimental.numpy, exported for TFLite.

Broken: ``tnp.exp([...])`` of a Python list is float64 (NumPy's default), and multiplying the float32
activations by it promotes them to float64: the exported graph computes Exp/Mul in float64 and the
converter needs Flex ops. The plain tf.math ops compute in float32 (an unsafe swap: float64 -> float32
constants, equal within float32 rounding).

Usage: python tnp_keras_layer.py OUT_DIR
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
import tensorflow.experimental.numpy as tnp

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


class Standardize(keras.layers.Layer):
    def call(self, x):
        centered = tnp.subtract(x, [0.5, -0.25, 0.0, 1.0, 0.3, -0.7, 0.2, 0.1])
        scale = tnp.exp([0.1, -0.2, 0.0, 0.3, -0.1, 0.2, 0.05, -0.05])
        return tnp.tanh(tnp.multiply(centered, scale))


def build_model():
    inputs = keras.Input(shape=(8,), name="x")
    x = Standardize()(inputs)
    x = keras.layers.Dense(16, activation="relu")(x)
    outputs = keras.layers.Dense(2)(x)
    return keras.Model(inputs, outputs)


def main(out_dir):
    keras.utils.set_random_seed(0)
    tf.random.set_seed(0)
    np.random.seed(0)

    model = build_model()
    model.export(str(out_dir / "saved_model"), verbose=False)

    x = np.random.default_rng(1).standard_normal((2, 8)).astype("float32")
    write_reference(out_dir, {"x": x}, {"output_0": model(x)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
