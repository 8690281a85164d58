"""A tf.Module "solver" of pure tensor ops written NumPy-style, with NumPy behavior on, exported for TFLite.

Rebuilt from https://github.com/tensorflow/tensorflow/issues/62729: the user wrote a small ``tf.Module`` whose
``@tf.function(input_signature=[tf.TensorSpec(..., tf.float32)])`` method does only tensor math, saved it with
``tf.saved_model.save(..., signatures=...)`` and converted it; the model carried float64 tensors, which the
builtin TFLite runtime does not run (the thread ends with SELECT_TF_OPS and a C++ runtime without float64).
Here the float64 comes from NumPy rules: ``tnp.eye``, ``tnp.ones``, ``tnp.linspace`` and ``tnp.asarray`` of Python
floats are float64, and ``tnp.matmul`` promotes the float32 input to meet them.

The old codemod made the asarray and the linspace float32, left eye/ones float64 and swapped ``tnp.matmul`` for
``tf.linalg.matmul``, which does not promote: the rewritten script died with ``TypeError: Input 'b' of 'MatMul' Op
has type float32 that does not match type float64 of argument 'a'``. Every producer here meets the others in the
matmuls, so they are one group: all become float32 (then the matmuls can be swapped), or none does.

Usage: python tnp_module_mixed_matmul.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow.experimental.numpy as tnp

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

tnp.experimental_enable_numpy_behavior()

N = 8


class Solver(tf.Module):
    def __init__(self):
        super().__init__()
        self.coeffs = tnp.asarray([0.25, -0.5, 1.0, 0.75, -0.125, 0.5, 0.3, -0.2])

    @tf.function(input_signature=[tf.TensorSpec(shape=[None, N], dtype=tf.float32, name="x")])
    def solve(self, x):
        grid = tnp.linspace(0.0, 1.0, N)
        smooth = 0.5 * tnp.eye(N) + 0.25 * tnp.ones((N, N)) / N
        mix = tnp.matmul(smooth, tnp.eye(N) * self.coeffs)
        y = tnp.transpose(tnp.matmul(mix, tnp.transpose(x * grid)))
        return {"y": tnp.tanh(y) + 1.5}


def main(out_dir):
    tf.random.set_seed(0)
    np.random.seed(0)

    solver = Solver()
    tf.saved_model.save(solver, str(out_dir / "saved_model"), signatures={"serving_default": solver.solve})

    x = np.random.default_rng(1).standard_normal((2, N)).astype("float32")
    write_reference(out_dir, {"x": x}, solver.solve(x))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
