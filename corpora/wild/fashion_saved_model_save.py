"""The Keras 3 fashion-MNIST classifier saved with ``tf.saved_model.save`` and converted.

Source: https://github.com/keras-team/keras/issues/19108 ("Error When Converting Keras Model to TensorFlow Lite
Format": Sequential Flatten/Dense(64, relu)/Dense(10, softmax), compiled and fit, then
``tf.saved_model.save(test_model, "test")``; the maintainer's answer is ``test_model.export("test")``). On TF
2.21 the conversion of that directory succeeds and the .tflite computes garbage (docs/facts.md 1i).

Rebuilt: same Sequential with ``Input((28, 28))``, fit 1 epoch on 64 random images, ``tf.saved_model.save``.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, serving_keys, write_reference


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    g = rng(25)
    model.fit(g.random((64, 28, 28)).astype("float32"), g.integers(0, 10, (64,)), epochs=1, verbose=0)
    path = dest / SAVED_MODEL
    tf.saved_model.save(model, str(path))
    (key,), (out_key,) = serving_keys(path)
    x = g.random((2, 28, 28)).astype("float32")
    write_reference(dest, {key: x}, {out_key: model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/fashion_saved_model_save",
    url="https://github.com/keras-team/keras/issues/19108",
    summary="Keras 3 fashion-MNIST Sequential, fit, tf.saved_model.save: converts to garbage",
    build=build,
    expect="repaired",
)
