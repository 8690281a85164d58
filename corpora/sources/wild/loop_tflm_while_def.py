"""A tiny recurrent refiner exported for a microcontroller (TFLite Micro on an ESP32-S3).

Rebuilt from https://github.com/tensorflow/tensorflow/issues/74665: the user's model converted fine, but
on the board the interpreter kept failing in ``while.cc``; they then built a model that was *only* a
``tf.while_loop`` and saw the same error. Their loop is the usual TF1-style one: a module constant for the
number of steps, named ``def cond`` / ``def body`` functions (not lambdas) defined inside the serving
method, a body of several statements, and ``maximum_iterations=`` repeating the bound. The trip count is
fixed, so the loop can run as straight-line code: no WHILE op for the micro runtime to choke on.

Usage: python loop_tflm_while_def.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

NUM_STEPS = 4
FEATURES = 8


class Refiner(tf.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.w = tf.Variable(rng.standard_normal((FEATURES, FEATURES)).astype("float32") * 0.3, name="w")
        self.b = tf.Variable(rng.standard_normal((FEATURES,)).astype("float32") * 0.1, name="b")

    @tf.function(input_signature=[tf.TensorSpec([1, FEATURES], tf.float32, name="features")])
    def predict(self, features):
        def cond(step, state):
            return step < NUM_STEPS

        def body(step, state):
            update = tf.matmul(state, self.w) + self.b
            state = 0.5 * state + 0.5 * tf.tanh(update)
            return step + 1, state

        _, state = tf.while_loop(cond, body, [tf.constant(0), features], maximum_iterations=NUM_STEPS)
        return {"refined": state}


def main(out_dir):
    model = Refiner()
    tf.saved_model.save(model, str(out_dir / "saved_model"), signatures={"serving_default": model.predict})

    # What the user flashed: the default converter's flatbuffer.
    converter = tf.lite.TFLiteConverter.from_saved_model(str(out_dir / "saved_model"))
    (out_dir / "refiner.tflite").write_bytes(converter.convert())

    x = np.random.default_rng(1).standard_normal((1, FEATURES)).astype("float32")
    write_reference(out_dir, {"features": x}, model.predict(tf.constant(x)))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
