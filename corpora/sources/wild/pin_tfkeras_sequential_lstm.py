"""A tf_keras Sequential LSTM over a variable number of time steps, saved as a SavedModel for TFLite.

Thread: https://github.com/tensorflow/tensorflow/issues/40344 ("Failed to duplicate values for the stateful op").
The user's model was a ``Sequential`` whose first LSTM layer took ``input_shape=(STEPS, FEATURES)`` with the module
constant ``STEPS = None``; conversion failed with ``STEPS = None`` and worked with ``STEPS = 100``, and the answer
was to fix the input shape. Rebuilt here with tf_keras (TF_USE_LEGACY_KERAS=1, as code written for TF 2.x runs
today): the Sequential's first layer has no name, so tf_keras serves the input as ``lstm_input``; the device
feeds one window of 10 steps: ``--pin lstm_input=1,10,4`` (batch included: tf_keras exports the batch the first
layer declares, so the codemod writes ``batch_size=1``).

Usage: python pin_tfkeras_sequential_lstm.py OUT_DIR
"""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

STEPS = None
FEATURES = 4


def main(out_dir):
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([
        tf.keras.layers.LSTM(8, input_shape=(STEPS, FEATURES)),
        tf.keras.layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    model.fit(rng.standard_normal((4, 10, FEATURES)).astype("float32"), np.zeros((4, 1)), epochs=1, verbose=0)

    model.save(str(out_dir / "saved_model"), save_format="tf")

    window = rng.standard_normal((1, 10, FEATURES)).astype("float32")
    write_reference(out_dir, {"lstm_input": window}, {"dense": model(window)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
