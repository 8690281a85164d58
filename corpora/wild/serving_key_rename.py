"""A tf_keras Sequential served with its auto-generated key ``dense_input``; clients send ``features``.

Source: https://github.com/tensorflow/tensorflow/issues/50130 ("TensorFlow renames inputs when
restoring/resaving SavedModel ... I have a use case where I am constrained in my input names in the
signature") and https://github.com/kserve/kserve/issues/942 (``JSON object: does not have named input``).
A Sequential whose first layer gets ``input_shape`` has the serving key ``dense_input``; the deployed client
sends ``features`` and reads ``probabilities``.

Rebuilt: tf_keras Sequential [Dense(8, relu, input_shape=(4,)), Dense(3, softmax)], ``model.save(dir)``.
``--rename dense_input=features --rename dense_1=probabilities``.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, serving_keys, write_reference


def build(dest: Path) -> Path:
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    model = tf_keras.Sequential([
        tf_keras.layers.Dense(8, activation="relu", input_shape=(4,)),
        tf_keras.layers.Dense(3, activation="softmax"),
    ])
    path = dest / SAVED_MODEL
    model.save(str(path))
    keys = serving_keys(path)
    assert keys == (["dense_input"], ["dense_1"]), keys  # the args below name them
    x = rng(29).standard_normal((2, 4)).astype("float32")
    write_reference(dest, {"dense_input": x}, {"probabilities": model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/serving_key_rename",
    url="https://github.com/tensorflow/tensorflow/issues/50130",
    summary="tf_keras Sequential with key dense_input/dense_1; client contract features/probabilities",
    build=build,
    expect="repaired",
    legacy_keras=True,
    args=("--rename", "dense_input=features", "--rename", "dense_1=probabilities"),
    rewrites=("rename_serving_keys",),
)
