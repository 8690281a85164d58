"""Keras 3 ``Sequential([LSTM, Dense])`` exported with ``model.export``: still Flex TensorList ops.

Source: https://github.com/tensorflow/tensorflow/issues/58668 ("Have TensorFlow Lite convert keras.LSTM layers
without requiring Flex ops"): a tiny LSTM that fails builtins-only with ``'tf.TensorListReserve' op requires
element_shape to be static during TF Lite transformation pass`` and only converts with SELECT_TF_OPS, which
the user's runtime does not have.

Rebuilt: Keras 3 Sequential [Input((5, 4)), LSTM(8), Dense(1)], ``model.export(dir)`` (the Keras 3 way to
get a SavedModel). Static time, batch None. Must be repaired without flags.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, serving_keys, write_reference


def build(dest: Path) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5, 4)), keras.layers.LSTM(8), keras.layers.Dense(1)])
    path = dest / SAVED_MODEL
    model.export(str(path))
    (key,), (out_key,) = serving_keys(path)
    x = rng(4).standard_normal((2, 5, 4)).astype("float32")
    write_reference(dest, {key: x}, {out_key: model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/lstm_keras3_export",
    url="https://github.com/tensorflow/tensorflow/issues/58668",
    summary="Keras 3 Sequential LSTM(8) over 5 steps, model.export: Flex TensorList ops",
    build=build,
    expect="repaired",
)
