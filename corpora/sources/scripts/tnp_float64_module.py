"""A feature transform written NumPy-style with tf.experimental.numpy, saved as a SavedModel.

Broken: tnp follows NumPy's types, so ``tnp.asarray`` of Python floats, ``tnp.linspace`` and ``tnp.arange``
are float64 (int64 for arange) and promote the float32 input to float64: the converter needs Flex ops
(AddV2 / Mul on f64). Asking for float32 where the constants are made fixes it.

Usage: python tnp_float64_module.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow.experimental.numpy as tnp

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

tnp.experimental_enable_numpy_behavior()


class FeatureTransform(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(np.random.standard_normal((8, 4)).astype("float32") * 0.5, name="w")

    @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
    def serve(self, x):
        bias = tnp.asarray([0.1, -0.2, 0.3, 0.0, 0.05, -0.1, 0.2, 0.15])
        ramp = tnp.linspace(0.5, 1.5, 8)
        position = tnp.arange(8)
        h = (x + bias) * ramp + 0.01 * position
        return {"y": h @ self.w}


def main(out_dir):
    tf.random.set_seed(0)
    np.random.seed(0)

    model = FeatureTransform()
    tf.saved_model.save(model, str(out_dir / "saved_model"), signatures={"serving_default": model.serve})

    x = np.random.default_rng(1).standard_normal((2, 8)).astype("float32")
    write_reference(out_dir, {"x": x}, model.serve(x))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
