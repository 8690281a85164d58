"""Model built in float64 end to end: float64 signature and float64 weights.

Scientific code often defaults to float64: a ``tf.Module`` with float64 variables W [4,8], b [8]
and input_signature x [None,4] float64 returning relu(x @ W + b). The converter fails with
``ERROR_NEEDS_FLEX_OPS`` / ``TF Select ops: AddV2, MatMul, Relu`` whose ``Details:`` lines show
``f64`` types: the root cause is float64, not the ops (docs/facts.md 7).
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
            self.w = tf.Variable(weights(4, 8, dtype="float64"), name="w")
            self.b = tf.Variable(weights(8, dtype="float64"), name="b")

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float64, name="x")])
        def serve(self, x):
            return {"y": tf.nn.relu(tf.matmul(x, self.w) + self.b)}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/float64_model",
    summary="float64 signature and weights: AddV2/MatMul/Relu on f64 need Flex",
    build=build,
    expect=Expect(
        findings=frozenset({"float64-ops"}),
        fix_exit=0,
        rewrites=("compute_in_float32",),
        # no flag: compute_in_float32 keeps the contract and runs by default, proven by the gate (Safety.VERIFIED)
        note="converter: ERROR_NEEDS_FLEX_OPS with f64 in the Details lines",
    ),
)
