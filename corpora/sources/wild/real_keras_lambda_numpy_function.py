"""A Keras 3 box regressor whose post-processing (clip to the image, in NumPy) sits in a ``Lambda`` layer
through ``tf.numpy_function``, exported with ``model.export`` and converted for an Android app.

Rebuilt from tensorflow/tensorflow#55445: the conversion "works" with ``allow_custom_ops`` and
``SELECT_TF_OPS``, and the interpreter then fails with ``Encountered unresolved custom op: PyFunc``. The
callback is Python; no runtime on the device has it. Nothing can be rewritten mechanically: the codemod only
points at the call.

Usage: python real_keras_lambda_numpy_function.py OUT_DIR
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

IMAGE_SIZE = 64.0


def clip_boxes_np(boxes):
    return np.clip(boxes, 0.0, IMAGE_SIZE).astype(np.float32)


def postprocess(boxes):
    clipped = tf.numpy_function(clip_boxes_np, [boxes], tf.float32)
    return tf.ensure_shape(clipped, [None, 4])


def build_model():
    inputs = keras.Input(shape=(16,), name="features")
    x = keras.layers.Dense(32, activation="relu")(inputs)
    boxes = keras.layers.Dense(4)(x)
    boxes = keras.layers.Rescaling(IMAGE_SIZE)(boxes)
    outputs = keras.layers.Lambda(postprocess, output_shape=(4,), name="clip")(boxes)
    return keras.Model(inputs, outputs)


def main(out_dir):
    keras.utils.set_random_seed(0)
    model = build_model()
    model.export(str(out_dir / "saved_model"))

    x = np.random.default_rng(1).standard_normal((2, 16)).astype("float32")
    write_reference(out_dir, {"features": x}, {"output_0": model(x)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
