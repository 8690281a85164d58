"""A Keras 3 churn model whose input name lives in a module constant, trained for a step and exported by an
``export_for_serving(model, export_dir)`` helper that calls ``tf.saved_model.save``, for TF Serving's REST API.

Rebuilt from tensorflow/serving#1296: the REST client posts ``{"instances": [{"features": [...]}]}`` and the
server answers ``JSON object: does not have named input: features``. Two causes in this script: Keras 3 models
saved with ``tf.saved_model.save`` get the input key ``inputs`` and a signature whose variables the TF1-session
loader (TF Serving, the converter) never restores (docs/facts.md 1i); and the Input is named ``INPUT_NAME =
"input_features"`` while the clients send ``features`` (``--rename input_features=features``).

Usage: python real_keras_input_constant_saved_model_save.py OUT_DIR
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

INPUT_NAME = "input_features"
N_FEATURES = 12


def build_model(hidden_units=(32, 16)):
    inputs = keras.layers.Input(shape=(N_FEATURES,), name=INPUT_NAME)
    x = inputs
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="churn_probability")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="churn")


def export_for_serving(model, export_dir):
    tf.saved_model.save(model, str(export_dir))
    print(f"SavedModel for TF Serving written to {export_dir}")


def main(out_dir):
    keras.utils.set_random_seed(0)
    model = build_model()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["AUC"])
    x_train = np.random.standard_normal((64, N_FEATURES)).astype("float32")
    y_train = (x_train[:, 0] > 0).astype("float32")
    model.fit({INPUT_NAME: x_train}, y_train, epochs=1, batch_size=32, verbose=0)

    export_for_serving(model, out_dir / "saved_model")

    x = np.random.default_rng(1).standard_normal((2, N_FEATURES)).astype("float32")
    write_reference(out_dir, {"input_features": x}, {"output_0": model(x)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
