"""tf_keras LSTM classifier saved with ``model.save(dir)``: batch None, TensorList loop in the SavedModel.

Sources: https://github.com/tensorflow/tensorflow/issues/53101 (a functional ``model/lstm`` that converted on
2.6.2 and fails on 2.7.0) and https://github.com/tensorflow/tensorflow/issues/53333 (same error from
``TFLiteConverter.from_keras_model(h_model)``). The users saw::

    error: 'tf.TensorListReserve' op requires element_shape to be static during TF Lite transformation pass
    error: Lowering tensor list ops is failed. Please consider using Select TF ops and disabling
    `_experimental_lower_tensor_list_ops` flag in the TFLite converter object.

Rebuilt: tf_keras functional Input((10, 8)) -> LSTM(16) -> Dense(4, softmax), batch dim None (the default),
saved with ``model.save(dir)`` (tf_keras SavedModel). The time dim is static, so the loop has a fixed trip
count; only the batch is unknown. ``repair fix`` must produce a builtins-only model with no flags.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, serving_keys, write_reference


def build(dest: Path) -> Path:
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    inp = tf_keras.Input(shape=(10, 8))
    out = tf_keras.layers.Dense(4, activation="softmax")(tf_keras.layers.LSTM(16)(inp))
    model = tf_keras.Model(inp, out)
    path = dest / SAVED_MODEL
    model.save(str(path))
    (key,), (out_key,) = serving_keys(path)
    x = rng(1).standard_normal((3, 10, 8)).astype("float32")
    write_reference(dest, {key: x}, {out_key: model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/lstm_tf_keras_savedmodel",
    url="https://github.com/tensorflow/tensorflow/issues/53101",
    summary="tf_keras LSTM(16) over 10 steps, batch None, model.save(dir): TensorListReserve not static",
    build=build,
    expect="repaired",
    legacy_keras=True,
)
