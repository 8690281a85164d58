"""A Keras 3 layer that fills a ``tf.TensorArray`` in a plain Python ``for i in range(N)`` loop and stacks it.

Sources: https://github.com/tensorflow/tensorflow/issues/42181 ("TensorArray cannot be converted with
TFLiteConverter": ``failed to legalize operation 'tf.TensorListReserve' that was explicitly marked illegal``)
and https://github.com/tensorflow/tensorflow/issues/37134 (a TensorArray collecting decoder outputs). With the
loop written in Python the writes are unrolled at trace time, but the TensorList ops stay: the converter fails
on the list (issue 10 quotes ``operand #0 does not dominate this use`` for this pattern).

Rebuilt: Keras 3 Input((6, 4), name="sequence") -> Stepwise layer: ``ta = tf.TensorArray(tf.float32,
size=6)``; ``for i in range(6): ta = ta.write(i, tanh(x[:, i] @ W))``; ``transpose(ta.stack(), [1, 0, 2])``
-> Flatten -> Dense(2); ``model.export(dir)``. Must be repaired without flags (the list is a stack of 6 known
tensors).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)

    class Stepwise(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(4, 5), initializer="glorot_uniform", name="w")

        def call(self, x):
            ta = tf.TensorArray(tf.float32, size=6)
            for i in range(6):
                ta = ta.write(i, tf.tanh(tf.matmul(x[:, i], self.w)))
            return tf.transpose(ta.stack(), [1, 0, 2])

    inp = keras.Input((6, 4), name="sequence")
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Flatten()(Stepwise()(inp))))
    path = dest / SAVED_MODEL
    model.export(str(path))
    x = rng(23).standard_normal((2, 6, 4)).astype("float32")
    write_reference(dest, {"sequence": x}, {"output_0": model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/tensorarray_python_loop",
    url="https://github.com/tensorflow/tensorflow/issues/42181",
    summary="Keras 3 layer: TensorArray written in a Python for-range loop then stacked, model.export",
    build=build,
    expect="repaired",
)
