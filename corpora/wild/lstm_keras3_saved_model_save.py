"""Keras 3 LSTM Sequential saved with ``tf.saved_model.save``: TensorList loop *and* unbound variables.

Source: https://github.com/tensorflow/tensorflow/issues/70502 ("LSTM model conversion failed from
'from_keras_model'": a ``sequential/lstm`` model; the trace goes through ``saved_model/save.py``, and the error
is ``'tf.TensorListReserve' op requires element_shape to be static``). With Keras 3 the user's
``tf.saved_model.save(model, dir)`` adds the silent-garbage defect (variables the signature reads are never
restored, docs/facts.md 1i).

Rebuilt: Keras 3 Sequential [Input((6, 4)), LSTM(8), Dense(2)], ``tf.saved_model.save(model, dir)``. Both
defects must be repaired; the live Keras model's outputs are the reference.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, serving_keys, write_reference


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 4)), keras.layers.LSTM(8), keras.layers.Dense(2)])
    path = dest / SAVED_MODEL
    tf.saved_model.save(model, str(path))
    (key,), (out_key,) = serving_keys(path)
    x = rng(6).standard_normal((2, 6, 4)).astype("float32")
    write_reference(dest, {key: x}, {out_key: model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/lstm_keras3_saved_model_save",
    url="https://github.com/tensorflow/tensorflow/issues/70502",
    summary="Keras 3 Sequential LSTM(8), tf.saved_model.save: TensorList loop + unbound variables",
    build=build,
    expect="repaired",
)
