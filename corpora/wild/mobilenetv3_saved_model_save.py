"""Keras 3 ``MobileNetV3Small`` saved with ``tf.saved_model.save`` and converted: silent garbage.

Source: https://github.com/keras-team/keras-core/issues/746 ("How to convert keras core model to tflite
correctly?": option 2 is ``tf.saved_model.save(model, export_dir='test_model')`` then
``TFLiteConverter.from_saved_model``; MobileNetV3Small(weights=None, minimalistic=True,
include_preprocessing=True)). The conversion succeeds; the .tflite reads variables nothing restored (docs/facts.md 1i).

Rebuilt: MobileNetV3Small(input_shape=(32, 32, 3), minimalistic=True, weights=None, classes=10,
include_preprocessing=True), ``tf.saved_model.save(model, dir)``. Reference: the live Keras model.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, serving_keys, write_reference


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV3Small(
        input_shape=(32, 32, 3), alpha=1.0, minimalistic=True, include_top=True, weights=None, classes=10,
        dropout_rate=0.2, classifier_activation="softmax", include_preprocessing=True)
    path = dest / SAVED_MODEL
    tf.saved_model.save(model, export_dir=str(path))
    (key,), (out_key,) = serving_keys(path)
    x = rng(24).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    write_reference(dest, {key: x}, {out_key: model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/mobilenetv3_saved_model_save",
    url="https://github.com/keras-team/keras-core/issues/746",
    summary="Keras 3 MobileNetV3Small(weights=None) saved with tf.saved_model.save: unbound variables",
    build=build,
    expect="repaired",
    atol=1e-5,
    rtol=1e-3,
)
