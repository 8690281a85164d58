"""A loop whose trip count depends on the input: it must be left alone, and the report must say why.

``while tf.reduce_max(h) > 0.5 and i < 20: h = h * 0.5`` stops after a number of halvings that
depends on the data. It converts builtins-only to a WHILE; unrolling it would change results for
other inputs, so repair reports it and publishes the model unchanged.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
        def serve(self, x):
            def cond(i, h):
                return tf.logical_and(tf.reduce_max(tf.abs(h)) > 0.5, i < 20)

            def body(i, h):
                return i + 1, h * 0.5

            _, h = tf.while_loop(cond, body, (tf.constant(0), x))
            return {"y": h}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="loops/data_dependent_loop",
    summary="while loop whose trip count depends on the input values: left alone",
    build=build,
    expect=Expect(
        findings=frozenset({"while-loop"}),
        fix_exit=0,
        note="unroll_static_loops fails with 'trip count depends on the input'; the model is published as it was",
    ),
)
