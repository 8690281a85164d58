"""A tf.Module that refines its input three times with a shared weight, saved for a microcontroller.

Broken for delegates and micro runtimes: ``tf.while_loop(lambda i, h: i < 3, ...)`` converts to a WHILE
op with its own subgraphs (fine on the default TFLite runtime, blocking with ``--target tflite-strict``).
The trip count is a constant, so a Python ``for`` loop unrolls it at trace time.

Usage: python static_while_loop.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


class Refiner(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(np.random.standard_normal((16, 16)).astype("float32") * 0.25, name="w")

    @tf.function(input_signature=[tf.TensorSpec([1, 16], tf.float32, name="x")])
    def serve(self, x):
        _, h = tf.while_loop(
            lambda i, h: i < 3,
            lambda i, h: (i + 1, tf.tanh(tf.matmul(h, self.w))),
            (tf.constant(0), x),
        )
        return {"y": h}


def main(out_dir):
    tf.random.set_seed(0)
    np.random.seed(0)

    model = Refiner()
    tf.saved_model.save(model, str(out_dir / "saved_model"), signatures={"serving_default": model.serve})

    x = np.random.default_rng(1).standard_normal((1, 16)).astype("float32")
    write_reference(out_dir, {"x": x}, model.serve(x))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
