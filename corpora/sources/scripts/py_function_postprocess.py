"""A tf.Module whose serving function post-processes with a NumPy function through tf.py_function.

Broken, and it stays broken: ``tf.py_function`` calls back into this Python process; the graph holds an
``EagerPyFunc`` op that no runtime outside it can run (``Custom ops: EagerPyFunc``). There is no safe
automatic rewrite of arbitrary Python: the codemod only warns.

Usage: python py_function_postprocess.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


def _np_clip(t):
    return np.clip(t.numpy(), -1.0, 1.0).astype(np.float32)


class Clipped(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(np.random.standard_normal((4, 3)).astype("float32"), name="w")

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def serve(self, x):
        y = tf.py_function(_np_clip, [tf.matmul(x, self.w)], Tout=tf.float32)
        y.set_shape([None, 3])
        return {"y": y}


def main(out_dir):
    tf.random.set_seed(0)
    np.random.seed(0)

    model = Clipped()
    tf.saved_model.save(model, str(out_dir / "saved_model"), signatures={"serving_default": model.serve})

    x = np.random.default_rng(1).standard_normal((2, 4)).astype("float32")
    write_reference(out_dir, {"x": x}, model.serve(x))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
