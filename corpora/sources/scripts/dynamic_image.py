"""A small image classifier as a tf.Module, saved with a fully dynamic input signature.

Broken for delegates and micro runtimes: ``TensorSpec([None, None, None, 3])`` leaves batch, height and
width unknown; interpreters that do not resize fail (``Cannot set tensor: Dimension mismatch``) and
``--target tflite-strict`` wants static shapes. The deployment shape is pinned with
``--pin image=1,32,32,3``.

Usage: python dynamic_image.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


class ImageClassifier(tf.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.k1 = tf.Variable(rng.standard_normal((3, 3, 3, 8)).astype("float32") * 0.5, name="conv1")
        self.k2 = tf.Variable(rng.standard_normal((3, 3, 8, 8)).astype("float32") * 0.5, name="conv2")
        self.head = tf.Variable(rng.standard_normal((8, 5)).astype("float32") * 0.5, name="head")

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="image")])
    def serve(self, image):
        h = tf.nn.relu(tf.nn.conv2d(image, self.k1, 1, "SAME"))
        h = tf.nn.conv2d(h, self.k2, 1, "SAME")
        return {"logits": tf.matmul(tf.reduce_mean(h, axis=[1, 2]), self.head)}


def main(out_dir):
    tf.random.set_seed(0)
    np.random.seed(0)

    model = ImageClassifier()
    tf.saved_model.save(model, str(out_dir / "saved_model"), signatures={"serving_default": model.serve})

    image = np.random.default_rng(1).standard_normal((1, 32, 32, 3)).astype("float32")
    write_reference(out_dir, {"image": image}, model.serve(image))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
