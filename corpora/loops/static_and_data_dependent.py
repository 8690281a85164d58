"""Two loops in one serving function: one with a static trip count, one that stops on the data.

``h = tanh(h @ W)`` three times in ``tf.while_loop(lambda i, h: i < 3, ...)``, then halve ``h`` while its largest
magnitude exceeds 0.5 (at most 20 times). Both convert to WHILE. The first is unrolled; the second must stay, and
its ``while-loop`` finding with it: the gate re-detects findings on the output and must accept that a fix which
says it left a loop alone did not remove that loop's finding (``Applied.partly``), while still refusing any other
claimed finding that remains.
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
            self.w = tf.Variable(weights(8, 8), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
        def serve(self, x):
            _, h = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, tf.tanh(tf.matmul(h, self.w))),
                                 (tf.constant(0), x))

            def cond(i, h):
                return tf.logical_and(tf.reduce_max(tf.abs(h)) > 0.5, i < 20)

            _, h = tf.while_loop(cond, lambda i, h: (i + 1, h * 0.5), (tf.constant(0), h))
            return {"y": h}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="loops/static_and_data_dependent",
    summary="a static 3-trip while_loop followed by a data-dependent one: the first is unrolled, the second kept",
    build=build,
    expect=Expect(
        findings=frozenset({"while-loop"}),
        fix_exit=0,
        rewrites=("unroll_static_loops",),
        note="the report says the second loop was left alone; the gate accepts the remaining while-loop finding",
    ),
)
