"""A hand-written recurrence over ``tf.shape(x)[1]`` steps into a TensorArray, batch None.

A ``tf.Module`` with input_signature x [None, 5, 16] runs h = tanh(x[:, t] @ W + h @ U) for
``t in tf.range(tf.shape(x)[1])`` and writes every h into a ``tf.TensorArray(size=tf.shape(x)[1])``:
the usual way to write an RNN by hand. The trip count and the list size come from the input's
shape, whose time axis is static (5) while its batch is not, so after unrolling the list size is
``strided_slice(shape(x), [1], [2])``: a constant only once the known dim is read from the partially
known shape. There are no Keras configs: only the graph can be repaired.
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
            self.u = tf.Variable(weights(16, 16, 1, scale=0.25)[..., 0], name="u")

        @tf.function(input_signature=[tf.TensorSpec([None, 5, 16], tf.float32, name="x")])
        def serve(self, x):
            steps = tf.shape(x)[1]
            ta = tf.TensorArray(tf.float32, size=steps)
            h = tf.zeros_like(x[:, 0])
            for t in tf.range(steps):
                h = tf.tanh(tf.matmul(x[:, t], self.w) + tf.matmul(h, self.u))
                ta = ta.write(t, h)
            return {"states": tf.transpose(ta.stack(), [1, 0, 2])}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="loops/tensorarray_shape_sized",
    summary="hand-written recurrence into a TensorArray sized tf.shape(x)[1], batch None: sizes fold through Shape",
    build=build,
    expect=Expect(
        findings=frozenset({"tensorlist-loop"}),
        fix_exit=0,
        absent_ops=frozenset({"WHILE"}),
        rewrites=("unroll_static_loops",),
        note="the list size is strided_slice(shape(x))[1]: read from the static dims of a shape whose batch is unknown",
    ),
)
