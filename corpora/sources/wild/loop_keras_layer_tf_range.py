"""A Keras 3 model with a hand-written recurrent layer whose ``call`` loops with ``for t in tf.range(...)``.

Rebuilt from https://github.com/tensorflow/tensorflow/issues/37134: the user's model collects per-step
outputs in a ``tf.TensorArray`` inside a loop that AutoGraph converts, and the converter asks for
``While, TensorListReserve, TensorListStack ...`` (custom or Select TF ops). The same shape as in many
custom-RNN answers: a layer whose ``call`` runs ``for t in tf.range(TIME_STEPS)`` (a literal-valued
module constant), pins the state's shape with ``tf.autograph.experimental.set_loop_options(
shape_invariants=...)`` and ``.write``s each step's output, then ``.stack()``s and transposes back to
batch-major. The time axis is fixed, so the loop can be a Python loop (unrolled at trace time) and the
TensorArray a list + ``tf.stack``: no WHILE, no TensorList. ``call`` is a ``@tf.function``, as such layers
must be for AutoGraph to turn the tensor loop into a graph loop when the functional model is built.

Usage: python loop_keras_layer_tf_range.py OUT_DIR
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

TIME_STEPS = 5
FEATURES = 6
UNITS = 8


class LeakyRecurrence(keras.layers.Layer):
    """h_t = (1 - a) * h_{t-1} + a * tanh(x_t W + h_{t-1} U), every h_t returned."""

    def __init__(self, units, leak=0.3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.leak = leak

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel")
        self.recurrent = self.add_weight(shape=(self.units, self.units), initializer="orthogonal", name="recurrent")

    @tf.function
    def call(self, inputs):
        batch = tf.shape(inputs)[0]
        state = tf.zeros([batch, self.units])
        outputs = tf.TensorArray(tf.float32, size=TIME_STEPS)
        for t in tf.range(TIME_STEPS):
            tf.autograph.experimental.set_loop_options(shape_invariants=[(state, tf.TensorShape([None, self.units]))])
            candidate = tf.tanh(tf.matmul(inputs[:, t], self.kernel) + tf.matmul(state, self.recurrent))
            state = (1.0 - self.leak) * state + self.leak * candidate
            outputs = outputs.write(t, state)
        return tf.transpose(outputs.stack(), [1, 0, 2])


def build_model():
    inputs = keras.Input(shape=(TIME_STEPS, FEATURES), name="sequence")
    x = LeakyRecurrence(UNITS)(inputs)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(3, name="scores")(x)
    return keras.Model(inputs, outputs)


def main(out_dir):
    keras.utils.set_random_seed(0)
    model = build_model()
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(1)
    model.fit(rng.standard_normal((8, TIME_STEPS, FEATURES)).astype("float32"), rng.standard_normal((8, 3)).astype("float32"),
              epochs=1, verbose=0)
    model.export(str(out_dir / "saved_model"), verbose=False)

    x = rng.standard_normal((2, TIME_STEPS, FEATURES)).astype("float32")
    write_reference(out_dir, {"sequence": x}, {"output_0": model(x)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
