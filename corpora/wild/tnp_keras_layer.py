"""A Keras 3 custom layer written with ``tf.experimental.numpy`` under numpy behaviour, exported.

Source: https://github.com/keras-team/keras/issues/18947 (Keras ops that "would only work properly if
``enable_numpy_behavior`` was on"; users turn it on globally) with the float64 leak of
https://github.com/tensorflow/tensorflow/issues/39604. With numpy behaviour on, ``tnp.linspace`` and
``tnp.ones`` are float64 and promote the layer's float32 activations, so ``model.export`` produces a graph the
builtins-only converter rejects (Flex ops on ``f64``).

Rebuilt: Keras 3 Input((6,), name="features") -> Dense(8) -> Warp layer (``x * tnp.linspace(0.5, 1.5, 8) +
tnp.ones(8)``, cast back to float32) -> Dense(2); ``model.export(dir)``. Must be repaired with no flag.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf
    import tensorflow.experimental.numpy as tnp

    tnp.experimental_enable_numpy_behavior()
    keras.utils.set_random_seed(0)

    class Warp(keras.layers.Layer):
        def call(self, x):
            return tf.cast(x * tnp.linspace(0.5, 1.5, 8) + tnp.ones(8), "float32")

    inp = keras.Input((6,), name="features")
    model = keras.Model(inp, keras.layers.Dense(2)(Warp()(keras.layers.Dense(8)(inp))))
    path = dest / SAVED_MODEL
    model.export(str(path))
    x = rng(13).standard_normal((2, 6)).astype("float32")
    write_reference(dest, {"features": x}, {"output_0": model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/tnp_keras_layer",
    url="https://github.com/keras-team/keras/issues/18947",
    summary="Keras 3 layer with tnp.linspace/tnp.ones under numpy behaviour, model.export: float64 inside",
    build=build,
    expect="repaired",
)
