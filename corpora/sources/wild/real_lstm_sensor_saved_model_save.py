"""Activity recognition from a window of accelerometer readings: a Keras LSTM trained for a step and exported
for a phone app with ``tf.saved_model.save``.

Rebuilt from tensorflow/tensorflow#70502 ("LSTM model conversion failed"): the user builds a Sequential LSTM
over fixed-length sensor windows whose sizes live in module constants, trains it with an EarlyStopping
callback, and the converter stops at ``'tf.TensorListReserve' op requires element_shape to be static``.
Under TF 2.16+ (``from tensorflow import keras`` is Keras 3) the ``tf.saved_model.save`` export is also the
silent-garbage one (docs/facts.md 1i): the session view reads variables the checkpoint never restores.

Usage: python real_lstm_sensor_saved_model_save.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow import keras

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

TIMESTEPS = 12  # samples per window
N_FEATURES = 3  # x, y, z
N_CLASSES = 4


def build_model():
    model = keras.Sequential([
        keras.layers.Input(shape=(TIMESTEPS, N_FEATURES)),
        keras.layers.LSTM(16),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(N_CLASSES, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(out_dir):
    keras.utils.set_random_seed(0)

    x_train = np.random.standard_normal((32, TIMESTEPS, N_FEATURES)).astype("float32")
    y_train = np.random.randint(0, N_CLASSES, size=(32,))
    model = build_model()
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=2)
    model.fit(x_train, y_train, epochs=1, batch_size=16, callbacks=[stop], verbose=0)

    export_path = str(out_dir / "saved_model")
    tf.saved_model.save(model, export_path)

    x = np.random.default_rng(1).standard_normal((2, TIMESTEPS, N_FEATURES)).astype("float32")
    write_reference(out_dir, {"keras_tensor": x}, {"output_0": model(x, training=False)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
