"""A tf.Module with a scoring function and a preprocessing helper, saved as a SavedModel for serving.

Broken: both methods are ``@tf.function(input_signature=...)``. With one such method
``tf.saved_model.save`` would export it as serving_default by itself; with two it silently writes no
SignatureDef at all, and the converter says ``Only support at least one signature key``. Saving with
``signatures=model.__call__`` names the serving function.

Usage: python module_two_functions.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


class Scorer(tf.Module):
    def __init__(self):
        super().__init__()
        self.mean = tf.Variable(np.random.standard_normal(4).astype("float32"), name="mean")
        self.w = tf.Variable(np.random.standard_normal((4, 3)).astype("float32"), name="w")

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def normalize(self, x):
        return x - self.mean

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def __call__(self, x):
        return tf.nn.softmax(tf.matmul(self.normalize(x), self.w))


def main(out_dir):
    tf.random.set_seed(0)
    np.random.seed(0)

    model = Scorer()
    tf.saved_model.save(model, str(out_dir / "saved_model"))

    x = np.random.default_rng(1).standard_normal((2, 4)).astype("float32")
    write_reference(out_dir, {"x": x}, {"output_0": model(x)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
