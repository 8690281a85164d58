"""Train a small Keras 3 classifier and export it as a SavedModel for serving / TFLite.

Broken: a Keras 3 model saved with ``tf.saved_model.save`` converts without a word and outputs garbage
(the TF1-session view binds none of its variables). ``model.export`` is the Keras 3 way.

Usage: python keras3_saved_model_save.py OUT_DIR
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


def build_model():
    inputs = keras.Input(shape=(8,), name="features")
    x = keras.layers.Dense(16, activation="relu")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", name="scores")(x)
    return keras.Model(inputs, outputs)


def main(out_dir):
    keras.utils.set_random_seed(0)
    tf.random.set_seed(0)
    np.random.seed(0)

    model = build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x_train = np.random.standard_normal((64, 8)).astype("float32")
    y_train = np.random.randint(0, 3, size=(64,))
    model.fit(x_train, y_train, epochs=2, batch_size=16, verbose=0)

    tf.saved_model.save(model, str(out_dir / "saved_model"))

    x = np.random.default_rng(1).standard_normal((2, 8)).astype("float32")
    write_reference(out_dir, {"features": x}, {"output_0": model(x)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
