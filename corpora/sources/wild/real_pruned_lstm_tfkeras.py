"""A pruned LSTM forecaster for a microcontroller: tf_keras (``from tensorflow import keras`` with
TF_USE_LEGACY_KERAS=1), a Sequential built with ``model.add``, tfmot ``prune_low_magnitude`` over the whole
model, a short fine-tune with ``UpdatePruningStep``, then ``tf.keras.models.save_model(...,
include_optimizer=False)`` for the converter.

Rebuilt from tensorflow/tensorflow#57710: the user pruned an LSTM model, converted it, and the board said
``Failed to get registration from op code CUSTOM``. Two things in the script cause it: the LSTM (default
``unroll=False``, its input_shape taken from the training array as the tutorials do) saves as a TensorList
loop, and the model is saved with its pruning wrappers (masks as resource variables, a
``prune_low_magnitude_`` output key).

Usage: python real_pruned_lstm_tfkeras.py OUT_DIR
"""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tfmot needs Keras 2

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
from tensorflow import keras

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

WINDOW = 16


def main(out_dir):
    keras.utils.set_random_seed(0)
    series = np.random.standard_normal((32, WINDOW, 1)).astype("float32")
    target = series[:, -1, :] * 0.5

    model = keras.Sequential()
    model.add(keras.layers.LSTM(12, input_shape=(series.shape[1], series.shape[2])))
    model.add(keras.layers.Dense(1, name="forecast"))

    pruning_params = {
        "pruning_schedule": tfmot.sparsity.keras.PolynomialDecay(
            initial_sparsity=0.0, final_sparsity=0.5, begin_step=0, end_step=2),
    }
    model_for_pruning = tfmot.sparsity.keras.prune_low_magnitude(model, **pruning_params)
    model_for_pruning.compile(optimizer="adam", loss="mse")
    callbacks = [tfmot.sparsity.keras.UpdatePruningStep()]
    model_for_pruning.fit(series, target, batch_size=16, epochs=1, callbacks=callbacks, verbose=0)

    export_dir = str(out_dir / "saved_model")
    tf.keras.models.save_model(model_for_pruning, export_dir, include_optimizer=False)

    x = np.random.default_rng(1).standard_normal((2, WINDOW, 1)).astype("float32")
    write_reference(out_dir, {"lstm_input": x}, {"forecast": model_for_pruning(x, training=False)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
