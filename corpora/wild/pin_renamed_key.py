"""A tf_keras model whose serving key is the auto-generated ``input_1``; the client sends ``image``.

Source: https://github.com/tensorflow/serving/issues/435 ("INVALID_ARGUMENT: input tensor alias not found in
signature": the client's key was not the signature's) and https://github.com/tensorflow/tensorflow/issues/50130
(the user is "constrained in my input names in the signature").

Rebuilt: tf_keras functional ``Input(shape=(None, None, 1))`` left unnamed (key ``input_1``) -> Conv2D(4, 3)
-> GlobalMaxPooling2D -> Dense(10), ``model.save(dir)``. The user renames the key for the client and pins the
28x28 size by the *new* key: ``--rename input_1=image --pin image=1,28,28,1``.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, serving_keys, write_reference


def build(dest: Path) -> Path:
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    inp = tf_keras.Input(shape=(None, None, 1))
    x = tf_keras.layers.Conv2D(4, 3, activation="relu")(inp)
    out = tf_keras.layers.Dense(10)(tf_keras.layers.GlobalMaxPooling2D()(x))
    model = tf_keras.Model(inp, out)
    path = dest / SAVED_MODEL
    model.save(str(path))
    (key,), (out_key,) = serving_keys(path)
    assert key == "input_1", key  # the args below name it
    x = rng(8).standard_normal((1, 28, 28, 1)).astype("float32")
    write_reference(dest, {key: x}, {out_key: model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/pin_renamed_key",
    url="https://github.com/tensorflow/serving/issues/435",
    summary="tf_keras CNN keyed input_1, dynamic H/W; --rename input_1=image --pin image=1,28,28,1",
    build=build,
    expect="repaired",
    legacy_keras=True,
    args=("--rename", "input_1=image", "--pin", "image=1,28,28,1"),
    pinned={"image": (1, 28, 28, 1)},
)
