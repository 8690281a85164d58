"""A keyword-spotting model over raw audio of any length: a Keras functional model that adds the channel axis
with ``inputs[..., None]`` before its Conv1D, exported for a phone with ``model.export``.

Rebuilt from tensorflow/tensorflow#48018 ("TensorFlow Lite conversion error when using the slice semantics to
expand the last dimension"): the user's model expands the last dimension with ``tensor[..., None]``, the
converter asks for Select TF ops, which their runtime does not have, and they fix it by writing
``tf.expand_dims(tensor, axis=-1)``. Here the waveform is ``keras.Input(shape=(None,))`` (any length, any
batch), so the new-axis StridedSlice stays a Flex op.

Usage: python newaxis_keras_functional_last_dim.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
from tensorflow import keras

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

N_WORDS = 4


def build_model():
    waveform = keras.Input(shape=(None,), name="waveform")
    x = waveform[..., None]  # (batch, samples, 1) for Conv1D
    x = keras.layers.Conv1D(8, 9, strides=4, padding="same", activation="relu")(x)
    x = keras.layers.Conv1D(8, 5, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.GlobalMaxPooling1D()(x)
    outputs = keras.layers.Dense(N_WORDS, activation="softmax")(x)
    return keras.Model(waveform, outputs)


def main(out_dir):
    keras.utils.set_random_seed(0)
    model = build_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.standard_normal((8, 400)).astype("float32"), rng.integers(0, N_WORDS, 8), epochs=1, verbose=0)
    model.export(str(out_dir / "saved_model"), verbose=False)

    clip = rng.standard_normal((2, 640)).astype("float32")
    write_reference(out_dir, {"waveform": clip}, {"output_0": model(clip)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
