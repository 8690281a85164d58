"""Bag-of-ids features with ``tf.math.bincount``: the Flex op DenseBincount.

A ``tf.Module`` with input_signature ids [None,6] int32 counts each id per row with
``tf.math.bincount(ids, minlength=5, maxlength=5, axis=-1)`` (a [None,5] histogram over a
vocabulary of 5), casts it to float32 and applies W [5,3]. The converter fails with
``ERROR_NEEDS_FLEX_OPS`` / ``TF Select ops: DenseBincount`` (docs/facts.md 7). The size input of
DenseBincount is not a Const: ``tf.math.bincount`` computes it as
``Minimum(maxlength, Maximum(minlength, Cast(Size(ids) > 0) * (Max(ids) + 1)))``, which depends on
the input, so the Details line shows ``tensor<?x?xi32>``. Only because minlength == maxlength == 5
does the clamp make it always 5; then the counts equal ``reduce_sum(one_hot(ids, 5), axis=1)``,
which is builtin. A substitution has to read the size through that clamp.
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
            self.w = tf.Variable(weights(5, 3), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.int32, name="ids")])
        def serve(self, ids):
            counts = tf.math.bincount(ids, minlength=5, maxlength=5, axis=-1)
            return {"y": tf.matmul(tf.cast(counts, tf.float32), self.w)}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/bincount",
    summary="tf.math.bincount(axis=-1) of int32 ids over a vocabulary of 5: needs Flex DenseBincount",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-flex-ops"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: DenseBincount (size not a Const)",
    ),
)
