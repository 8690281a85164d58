"""An autograph ``for _ in tf.range(10)`` loop in a serving function: a WHILE the converter keeps.

The most common way a static loop reaches a SavedModel: a Python ``for`` over ``tf.range(10)``
inside a ``tf.function`` becomes a ``While`` with a constant bound. It converts builtins-only to a
WHILE with cond/body subgraphs (docs/facts.md §6: about 2x slower than unrolled); the trip count is fixed by
constants, so it can be unrolled from the artifact. Body: h = tanh(h @ W), W 16x16, x [None, 16].
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
            h = x
            for _ in tf.range(10):
                h = tf.tanh(tf.matmul(h, self.w))
            return {"y": h}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="loops/range_loop",
    summary="autograph for _ in tf.range(10): a WHILE with a constant trip count",
    build=build,
    expect=Expect(
        findings=frozenset({"while-loop"}),
        fix_exit=0,
        absent_ops=frozenset({"WHILE"}),
        rewrites=("unroll_static_loops",),
        note="unrolled to 10 body copies: no WHILE in the .tflite",
    ),
)
