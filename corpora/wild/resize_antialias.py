"""An image model whose preprocessing downsamples with ``tf.image.resize(..., antialias=True)``.

Source: https://github.com/tensorflow/tensorflow/issues/39246 (a user's pipeline resizes with
``antialias=True``, "Anyone who wants to rescale images without severe resampling artifacts"; TF implements it
with ``resize_with_scale_and_translate``). In TFLite that is ``ERROR_NEEDS_CUSTOM_OPS``, ``Custom ops:
ScaleAndTranslate``, and SELECT_TF_OPS does not help; dropping antialias converts but changes the outputs by
0.25 (docs/facts.md 7): not a repair.

Rebuilt: Keras 3 Input((64, 64, 3), name="image") -> Downsample layer (``tf.image.resize((32, 32),
antialias=True)``) -> Conv2D(4, 3) -> GlobalAveragePooling2D -> Dense(2); ``model.export(dir)``. Must be
refused honestly, naming ScaleAndTranslate/antialias.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)

    class Downsample(keras.layers.Layer):
        def call(self, x):
            return tf.image.resize(x, (32, 32), antialias=True)

    inp = keras.Input((64, 64, 3), name="image")
    x = keras.layers.Conv2D(4, 3, activation="relu")(Downsample()(inp))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(x)))
    path = dest / SAVED_MODEL
    model.export(str(path))
    x = rng(31).random((1, 64, 64, 3)).astype("float32")
    write_reference(dest, {"image": x}, {"output_0": model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/resize_antialias",
    url="https://github.com/tensorflow/tensorflow/issues/39246",
    summary="Keras 3 model resizing with antialias=True: custom ScaleAndTranslate, no faithful builtin",
    build=build,
    expect="refused",
    reason="ScaleAndTranslate",
)
