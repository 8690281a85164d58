"""A face detector's box decoder written NumPy-style (numpy behavior on), exported as a tf.Module for TFLite.

Rebuilt from https://github.com/fisakhan/Face_Pose/pull/4 ("Numpy is experimental in Tensorflow ... Detector may
not be able to convert otherwise"): the detector's post-processing was NumPy code moved onto
``tf.experimental.numpy`` so that it could live inside the exported graph. Written the NumPy way, the anchors are
float64 (``tnp.arange`` is int64 and promotes, ``tnp.full`` of a Python float is float64), the box variance is a
``np.float64`` module constant reaching the decoder as a default argument, and the scores are computed
``.astype(tnp.float64)`` "for stability". Each one leaks float64 into the exported graph: Flex Mul/AddV2 (f64).

The producers live in three functions and a module constant, joined through the decoder's arguments, its default
and ``self.anchors``: one data-flow group, made float32 together. The old codemod made only the arange float32 and
swapped ``tnp.stack`` for ``tf.stack``, which does not promote: ``cannot compute Pack as input #2(zero-based) was
expected to be a float tensor but is a double tensor``.

Usage: python tnp_anchor_decoder.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow.experimental.numpy as tnp

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

tnp.experimental_enable_numpy_behavior()

GRID = 4
VARIANCE = np.float64(0.1)


def make_anchors(grid=GRID):
    centers = (tnp.arange(grid) + 0.5) / grid
    cy, cx = tnp.meshgrid(centers, centers, indexing="ij")
    size = tnp.full((grid * grid,), 0.25)
    return tnp.stack([tnp.reshape(cy, [-1]), tnp.reshape(cx, [-1]), size, size], axis=-1)


def decode(deltas, anchors, variance=VARIANCE):
    centers = anchors[:, :2] + deltas[..., :2] * variance * anchors[:, 2:]
    sizes = anchors[:, 2:] * tnp.exp(deltas[..., 2:] * 0.2)
    return tnp.concatenate([centers - sizes / 2, centers + sizes / 2], axis=-1)


class FaceDetector(tf.Module):
    def __init__(self):
        super().__init__()
        self.anchors = make_anchors()
        rng = np.random.default_rng(0)
        self.head = tf.Variable(rng.standard_normal((8, 4)).astype("float32") * 0.1, name="head")

    @tf.function(input_signature=[tf.TensorSpec([None, GRID * GRID, 8], tf.float32, name="features")])
    def detect(self, features):
        deltas = tnp.matmul(features, self.head)
        logits = tnp.sum(features, axis=-1).astype(tnp.float64)
        scores = 1.0 / (1.0 + tnp.exp(-logits))
        return {"boxes": decode(deltas, self.anchors), "scores": scores}


def main(out_dir):
    tf.random.set_seed(0)
    np.random.seed(0)

    detector = FaceDetector()
    tf.saved_model.save(detector, str(out_dir / "saved_model"), signatures={"serving_default": detector.detect})

    features = np.random.default_rng(1).standard_normal((2, GRID * GRID, 8)).astype("float32")
    write_reference(out_dir, {"features": features}, detector.detect(features))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
