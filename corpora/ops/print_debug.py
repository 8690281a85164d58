"""A ``tf.print`` debugging call left in the serving function.

A ``tf.Module`` with input_signature x [None,8] float32 calls ``tf.print("debug", x)`` (left over
from debugging) and returns relu(x @ W). It saves and serves fine; the converter fails with
``ERROR_NEEDS_FLEX_OPS`` / ``TF Select ops: PrintV2, StringFormat`` (docs/facts.md 7). The print does not
feed the outputs, so repair removes it (diff 0).
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
            self.w = tf.Variable(weights(8, 4), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
        def serve(self, x):
            tf.print("debug", x)
            return {"y": tf.nn.relu(tf.matmul(x, self.w))}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/print_debug",
    summary="tf.print left in the serving function: needs the Flex ops PrintV2, StringFormat",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-flex-ops"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: PrintV2, StringFormat",
    ),
)
