"""A decoder attention block that builds its causal/padding mask with ``mask[:, None, None, :]``.

Source: https://github.com/tensorflow/tensorflow/issues/63025 ("Failure in convert Gemma 2B models to
TfLite": ``tf.StridedSlice(tensor<?x?x1xi1>, ...) : {new_axis_mask = 8}`` and ``tensor<?x?x?xi32> ->
tensor<?x1x1x?x?xi32> {new_axis_mask = 6}`` are reported as Flex ops: masks expanded with ``None`` indexing
over the unknown sequence length).

Rebuilt, tiny: Keras 3 Input((None, 16), name="hidden") and Input((None,), name="padding_mask") (int32) ->
a self-attention layer whose call builds ``causal = band_part(ones((T, T)), -1, 0)[None, None, :, :]`` and
``pad = padding_mask[:, None, None, :]``, masks the scores with them, softmax, weighted sum, Dense(16);
``model.export(dir)``. Must be repaired without flags.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(0)

    class CausalSelfAttention(keras.layers.Layer):
        def build(self, input_shape):
            self.qkv = self.add_weight(shape=(16, 48), initializer="glorot_uniform", name="qkv")

        def call(self, hidden, padding_mask):
            q, k, v = tf.split(tf.matmul(hidden, self.qkv), 3, axis=-1)
            q, k, v = (tf.transpose(tf.reshape(t, [tf.shape(t)[0], -1, 2, 8]), [0, 2, 1, 3]) for t in (q, k, v))
            scores = tf.matmul(q, k, transpose_b=True) / 8.0**0.5
            length = tf.shape(hidden)[1]
            causal = tf.linalg.band_part(tf.ones((length, length)), -1, 0)[None, None, :, :]
            pad = tf.cast(padding_mask, tf.float32)[:, None, None, :]
            scores += (1.0 - causal * pad) * -1e9
            out = tf.matmul(tf.nn.softmax(scores), v)
            return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [tf.shape(hidden)[0], -1, 16])

    hidden = keras.Input((None, 16), name="hidden")
    mask = keras.Input((None,), dtype="int32", name="padding_mask")
    model = keras.Model([hidden, mask], keras.layers.Dense(16)(CausalSelfAttention()(hidden, mask)))
    path = dest / SAVED_MODEL
    model.export(str(path))
    h = rng(15).standard_normal((2, 6, 16)).astype("float32")
    m = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], dtype="int32")
    write_reference(dest, {"hidden": h, "padding_mask": m}, {"output_0": model([h, m], training=False)})
    return path


CASE = WildCase(
    id="wild/causal_mask_newaxis",
    url="https://github.com/tensorflow/tensorflow/issues/63025",
    summary="Keras 3 causal self-attention, masks expanded with [:, None, None, :] over unknown length",
    build=build,
    expect="repaired",
)
