"""A tf_keras model with a custom layer that runs a Python rule (eager values, Python control flow) through
``tf.py_function`` (the usual workaround when a Keras Input cannot go into a Python function), saved with
``model.save("dir")`` as a SavedModel for a TFLite conversion.

Rebuilt from tensorflow/tensorflow#34674: the user wrapped Python code around Keras inputs with
``tf.py_function``; the model trains and saves, and the saved graph carries ``EagerPyFunc``, which the
converter can only keep as a custom op that no TFLite runtime has. tf_keras via ``import tf_keras as keras``
with TF_USE_LEGACY_KERAS=1.

Usage: python real_tfkeras_layer_py_function.py OUT_DIR
"""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
import tf_keras as keras

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


def python_rule(x):
    if float(tf.reduce_max(x)) > 100.0:  # Python control flow on eager values: why it is a py_function
        x = x / 100.0
    return tf.where(x > 0.0, x, 0.1 * x)


class PythonRule(keras.layers.Layer):
    def call(self, inputs):
        y = tf.py_function(func=python_rule, inp=[inputs], Tout=tf.float32)
        y.set_shape(inputs.shape)
        return y


def main(out_dir):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(8,), name="features")
    x = keras.layers.Dense(8)(inputs)
    x = PythonRule()(x)
    outputs = keras.layers.Dense(2, name="logits")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", run_eagerly=False)
    model.fit(np.zeros((4, 8), "float32"), np.zeros((4, 2), "float32"), epochs=1, verbose=0)

    model.save(str(out_dir / "saved_model"))

    x = np.random.default_rng(1).standard_normal((2, 8)).astype("float32")
    write_reference(out_dir, {"features": x}, {"logits": model(x)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
