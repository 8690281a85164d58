"""A Keras 3 sequence classifier (LSTM over 10 steps), exported for TFLite with model.export.

Broken: with ``unroll=False`` the LSTM is a while loop over a TensorList, even though the time axis is a
fixed 10 steps; the builtins-only converter fails (``tf.TensorListReserve`` requires a static
element_shape). ``unroll=True`` over the static time axis converts to plain ops.

Usage: python keras_lstm_export.py OUT_DIR
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


def build_model():
    inputs = keras.Input(shape=(10, 8), name="sequence")
    x = keras.layers.LSTM(16, unroll=False)(inputs)
    outputs = keras.layers.Dense(2, name="scores")(x)
    return keras.Model(inputs, outputs)


def main(out_dir):
    keras.utils.set_random_seed(0)
    tf.random.set_seed(0)
    np.random.seed(0)

    model = build_model()
    model.export(str(out_dir / "saved_model"), verbose=False)

    x = np.random.default_rng(1).standard_normal((2, 10, 8)).astype("float32")
    write_reference(out_dir, {"sequence": x}, {"output_0": model(x)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
