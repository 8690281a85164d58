"""``tf.math.cumprod`` with ``exclusive=True, reverse=True``: the Flex op Cumprod with both attrs set.

A ``tf.Module`` with input_signature x [None,8] float32 returns
``tf.math.cumprod(x @ W, axis=1, exclusive=True, reverse=True)`` (for each of 6 features, the
product of the features after it; the last one is 1), W [8,6] small. The converter fails with
``ERROR_NEEDS_FLEX_OPS`` / ``TF Select ops: Cumprod``. A substitution must honour both attributes:
ignoring either one gives a builtin model with wrong outputs.
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
            self.w = tf.Variable(weights(8, 6, scale=0.3), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
        def serve(self, x):
            h = tf.matmul(x, self.w)
            return {"y": tf.math.cumprod(h, axis=1, exclusive=True, reverse=True)}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/cumprod_reverse_exclusive",
    summary="tf.math.cumprod(exclusive=True, reverse=True): Flex Cumprod with both attrs set",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-flex-ops"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: Cumprod (exclusive, reverse)",
    ),
)
