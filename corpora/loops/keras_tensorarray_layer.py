"""A Keras 3 custom layer that fills a TensorArray in a Python loop in ``call``, exported with model.export.

``Steps`` applies tanh(h @ W) three times and writes each step into a ``tf.TensorArray`` in a
plain ``for i in range(3)`` loop, then returns the stacked steps transposed to batch-major. There is
no While in the export, yet the builtins-only converter fails ("operand #0 does not dominate this
use"). The layer is a custom class, so only the exported SavedModel can be repaired.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all, weights
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    seed_all(keras=True)

    class Steps(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], input_shape[-1]), initializer="zeros", name="w")

        def call(self, x):
            ta = tf.TensorArray(x.dtype, size=3)
            h = x
            for i in range(3):
                h = tf.tanh(tf.matmul(h, self.w))
                ta = ta.write(i, h)
            return tf.transpose(ta.stack(), [1, 0, 2])

    inp = keras.Input((8,), name="x")
    layer = Steps()
    model = keras.Model(inp, layer(inp))
    layer.w.assign(weights(8, 8, scale=0.4))
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    return out


CASE = Case(
    id="loops/keras_tensorarray_layer",
    summary="Keras 3 layer filling a TensorArray in a Python loop in call(), model.export'ed: no While",
    build=build,
    expect=Expect(
        findings=frozenset({"tensorlist-loop"}),
        absent=frozenset({"converter-error"}),
        fix_exit=0,
        rewrites=("unroll_static_loops",),
        note="TensorLists eliminated without unrolling (there is no loop)",
    ),
)
