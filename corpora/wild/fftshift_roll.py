"""A Keras 3 layer that centres a 2-D spectrum with ``tf.signal.fftshift`` (``tf.roll`` inside).

Source: https://github.com/tensorflow/tensorflow/issues/51459 ("'tf.Roll' op is neither a custom op nor a flex
op": the trace goes ``fft_ops.py:459`` (fftshift) <- the user's ``conv_utils.py`` <- a Keras layer; even with
SELECT_TF_OPS on TF 2.4). Builtins-only today: ``ERROR_NEEDS_FLEX_OPS``, ``TF Select ops: Roll``.

Rebuilt: Keras 3 Input((16, 16, 1), name="diffraction") -> FFTShift layer (``tf.signal.fftshift(x, axes=[1,
2])``) -> Conv2D(4, 3) -> Flatten -> Dense(2); ``model.export(dir)``. A roll by a static shift is an exact
concat of two slices: must be repaired without flags.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)

    class FFTShift(keras.layers.Layer):
        def call(self, x):
            return tf.signal.fftshift(x, axes=[1, 2])

    inp = keras.Input((16, 16, 1), name="diffraction")
    x = keras.layers.Conv2D(4, 3, activation="relu")(FFTShift()(inp))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    path = dest / SAVED_MODEL
    model.export(str(path))
    x = rng(16).standard_normal((2, 16, 16, 1)).astype("float32")
    write_reference(dest, {"diffraction": x}, {"output_0": model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/fftshift_roll",
    url="https://github.com/tensorflow/tensorflow/issues/51459",
    summary="Keras 3 layer with tf.signal.fftshift (tf.roll), model.export: Flex Roll",
    build=build,
    expect="repaired",
    rewrites=("substitute_flex_ops",),
)
