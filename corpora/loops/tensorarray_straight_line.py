"""A TensorArray written in a plain Python ``for i in range(4)`` loop inside a tf.function: no While.

The loop runs at trace time, so the graph holds no While: only TensorListReserve, four
TensorListSetItem with constant indices and a TensorListStack. The converter still fails, with
"operand #0 does not dominate this use" rather than the usual TensorList message. Every index is
a constant, so the lists become a Pack of the written tensors.
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
            for i in range(4):
                h = tf.tanh(tf.matmul(h, self.w))
                ta = ta.write(i, h)
            return {"steps": ta.stack()}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="loops/tensorarray_straight_line",
    summary="TensorArray written in a Python range loop (no While), batch None: 'does not dominate this use'",
    build=build,
    expect=Expect(
        findings=frozenset({"tensorlist-loop"}),
        absent=frozenset({"converter-error"}),
        fix_exit=0,
        rewrites=("unroll_static_loops",),
        note="no loop to unroll: the TensorLists are eliminated directly",
    ),
)
