"""A tf.Module scorer saved as a SavedModel for serving.

Broken: ``@tf.function`` without an input_signature is traced only when called, and the module is saved
before any call and without ``signatures=``: the SavedModel holds no graph at all, only an init op. The
converter says ``Only support at least one signature key``; nothing can be recovered from the artifact.
Declaring the input signature (``--pin x=-1,4``) and saving with ``signatures=`` fixes it.

Usage: python module_never_traced.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


class Scorer(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(np.random.standard_normal((4, 3)).astype("float32"), name="w")
        self.b = tf.Variable(np.zeros(3, dtype="float32"), name="b")

    @tf.function
    def __call__(self, x):
        return tf.nn.sigmoid(tf.matmul(x, self.w) + self.b)


def main(out_dir):
    tf.random.set_seed(0)
    np.random.seed(0)

    model = Scorer()
    tf.saved_model.save(model, str(out_dir / "saved_model"))

    x = np.random.default_rng(1).standard_normal((2, 4)).astype("float32")
    write_reference(out_dir, {"x": x}, {"output_0": model(x)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
