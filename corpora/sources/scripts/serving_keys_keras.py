"""A Keras 3 model exported for TF Serving, whose clients send the key ``features``.

Broken: the Input is named ``input_features``, and ``model.export`` makes the Input name the serving key;
the clients' ``{"features": ...}`` is rejected (``"features" is not a valid input key``). Renaming the
Input (``--rename input_features=features``) makes the next export speak the clients' contract.

Usage: python serving_keys_keras.py OUT_DIR
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


def build_model():
    inputs = keras.Input(shape=(8,), name="input_features")
    x = keras.layers.Dense(16, activation="relu")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def main(out_dir):
    keras.utils.set_random_seed(0)
    tf.random.set_seed(0)
    np.random.seed(0)

    model = build_model()
    model.export(str(out_dir / "saved_model"), verbose=False)

    x = np.random.default_rng(1).standard_normal((2, 8)).astype("float32")
    write_reference(out_dir, {"input_features": x}, {"output_0": model(x)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
