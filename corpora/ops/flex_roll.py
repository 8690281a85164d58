"""Serving function that uses ``tf.roll``, which TFLite builtins do not have.

A ``tf.Module`` with input_signature x [None,4] float32 returns ``tf.roll(x @ W, shift=1, axis=1)``
(a circular shift, e.g. for a phase feature). It saves fine; the converter fails with
``ERROR_NEEDS_FLEX_OPS`` / ``TF Select ops: Roll``. SELECT_TF_OPS would convert it, but Flex models
cannot run on the pip interpreters, so repair diagnoses it and (for now) refuses to fix it.
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
            self.w = tf.Variable(weights(4, 6), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def serve(self, x):
            return {"y": tf.roll(tf.matmul(x, self.w), shift=1, axis=1)}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/flex_roll",
    summary="tf.roll in the serving function: needs the Flex op Roll",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-flex-ops"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: Roll",
    ),
)
