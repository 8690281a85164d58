"""TensorArray filled in a ``for i in tf.range(4)`` loop, with an unknown batch dimension.

A ``tf.Module`` with input_signature x [None,16] float32 and W [16,16] writes tanh(h @ W) of every
step into a ``tf.TensorArray`` inside an autograph ``for i in tf.range(4)`` loop and returns
``ta.stack()``. The element shape [None,16] is not static, so the converter fails with
``'tf.TensorListReserve' op requires element_shape to be ...`` / ``Lowering tensor list ops is
failed`` (docs/facts.md 6).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all, weights
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf

    seed_all()

    class Model(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(weights(16, 16, scale=0.25), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 16], tf.float32, name="x")])
        def serve(self, x):
            ta = tf.TensorArray(tf.float32, size=4)
            h = x
            for i in tf.range(4):
                h = tf.tanh(tf.matmul(h, self.w))
                ta = ta.write(i, h)
            return {"steps": ta.stack()}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="loops/tensorarray",
    summary="TensorArray written in a tf.range loop, batch None: TensorList lowering fails",
    build=build,
    expect=Expect(
        findings=frozenset({"tensorlist-loop"}),
        fix_exit=0,
        absent_ops=frozenset({"WHILE"}),
        rewrites=("unroll_static_loops",),
        note="converter: tf.TensorListReserve requires element_shape to be 1D tensor",
    ),
)
