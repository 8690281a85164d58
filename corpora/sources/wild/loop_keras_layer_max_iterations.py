"""A Keras 3 layer that refines its state a fixed number of times with ``tf.while_loop``, exported for a phone.

Rebuilt from https://github.com/tensorflow/tensorflow/issues/4387 (the loop shape: module-level
``condForWhile`` / ``bodyForWhile`` functions, the counter compared with ``tf.less``) and
https://github.com/cleverhans-lab/cleverhans/pull/932 ("Set maximum iterations on while loops": the bound
written as ``maximum_iterations=``). Here the loop lives in a Keras layer's ``call``, the functions are
module-level ``def``s whose bound is a default argument, and ``maximum_iterations=REFINE_STEPS`` repeats it. The
export (``model.export``) holds a WHILE, which GPU delegates and micro runtimes cannot run and
``--target tflite-strict`` refuses; the trip count is a constant, so straight-line code computes the same. The
phone build pins the batch to 1 (``--pin signal=1,6``), which the strict target also asks for.

Usage: python loop_keras_layer_max_iterations.py OUT_DIR
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

REFINE_STEPS = 3


def condForWhile(i, state, n=REFINE_STEPS):
    return tf.less(i, n)


class Refine(keras.layers.Layer):
    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], input_shape[-1]), initializer="glorot_uniform",
                                      name="kernel")

    def call(self, x):
        def bodyForWhile(i, state):
            return i + 1, tf.tanh(tf.matmul(state, self.kernel)) + x

        _, state = tf.while_loop(condForWhile, bodyForWhile, (tf.constant(0), x),
                                 maximum_iterations=REFINE_STEPS)
        return state


def main(out_dir):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(6,), name="signal")
    outputs = keras.layers.Dense(2, name="head")(Refine(name="refine")(inputs))
    model = keras.Model(inputs, outputs)
    model.export(str(out_dir / "saved_model"))

    x = np.random.default_rng(1).standard_normal((1, 6)).astype("float32")
    write_reference(out_dir, {"signal": x}, {"output_0": model(x)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
