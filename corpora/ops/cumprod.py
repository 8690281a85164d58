"""Serving function that uses ``tf.math.cumprod``, which TFLite builtins do not have.

A ``tf.Module`` with input_signature x [None,8] float32 returns ``tf.math.cumprod(x @ W, axis=1)``
(a running product over 6 features, e.g. survival probabilities), W [8,6] small so the products
stay bounded. It saves fine; the converter fails with ``ERROR_NEEDS_FLEX_OPS`` /
``TF Select ops: Cumprod`` (docs/facts.md 3, 7). The axis is static (6), so repair substitutes a stack of
``reduce_prod`` over growing slices, which is builtin.
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
            return {"y": tf.math.cumprod(tf.matmul(x, self.w), axis=1)}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/cumprod",
    summary="tf.math.cumprod over a static axis of 6: needs the Flex op Cumprod",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-flex-ops"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: Cumprod",
    ),
)
