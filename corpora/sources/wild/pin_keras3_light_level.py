"""A light-level detector in Keras 3 (tf.keras), exported for an Android GPU delegate with a fully dynamic image.

Thread: https://github.com/tensorflow/tensorflow/issues/58622 ("Tensorflow lite dynamic input"). The user built
``tf.keras.layers.Input(shape=(None, None, 3), name='input_image')`` so one model would take any frame size,
converted it, and saw the .tflite input come out as ``[1 1 1 3]`` (``shape_signature`` ``[-1 -1 -1 3]``): the
interpreter and delegates need a resize before every call, and GPU delegates refuse the dynamic tensors. Here the
same shape of code: a functional model from a ``build_model()`` with a named, fully dynamic Input, exported with
Keras 3's ``model.export``. The deployment shape is one 32x32 frame: ``--pin input_image=1,32,32,3``, batch
included (Keras 3's export makes the batch unknown whatever the Input says, so the codemod also gives
``model.export`` that batch).

Usage: python pin_keras3_light_level.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

CHANNELS = 3


def build_model():
    inputs = tf.keras.layers.Input(shape=(None, None, CHANNELS), name="input_image")
    x = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = tf.keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    outputs = tf.keras.layers.Dense(4, activation="softmax", name="light_level")(x)
    return tf.keras.Model(inputs, outputs, name="light_level_detection")


def main(out_dir):
    tf.keras.utils.set_random_seed(0)
    model = build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    frames = np.random.default_rng(0).uniform(size=(4, 32, 32, 3)).astype("float32")
    model.fit(frames, np.array([0, 1, 2, 3]), epochs=1, batch_size=2, verbose=0)

    model.export(str(out_dir / "saved_model"), verbose=False)

    frame = np.random.default_rng(1).uniform(size=(1, 32, 32, 3)).astype("float32")
    write_reference(out_dir, {"input_image": frame}, {"output_0": model(frame)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
