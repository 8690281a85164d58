"""``tf.lookup.StaticHashTable`` from int64 category ids to float32 weights, in a ``tf.function`` signature.

A ``tf.Module`` holds a table built from ``KeyValueTensorInitializer`` (keys [5, 2, 77, 13, 40, 3, 64]
-> per-category weights, default -1.0 for unknown ids) and serves ``ids`` [None, 6] int64: the looked-up
weights and their sum per row. Saved with ``tf.saved_model.save``. Only string<->int64 tables are TFLite
builtins: ``ERROR_NEEDS_FLEX_OPS`` / ``TF Select ops: HashTableV2, LookupTableFindV2, LookupTableImportV2``
(docs/facts.md 7). The table's contents live in its initializer (``__saved_model_init_op``), not in the
serving function.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf

    seed_all()

    class Weights(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            keys = tf.constant([5, 2, 77, 13, 40, 3, 64], tf.int64)
            values = tf.constant([0.5, 1.25, -2.0, 3.5, 0.75, -0.25, 8.0], tf.float32)
            self.table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values), default_value=-1.0)

        @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.int64, name="ids")])
        def serve(self, ids):
            weights = self.table.lookup(ids)
            return {"weights": weights, "total": tf.reduce_sum(weights, axis=1)}

    m = Weights()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/int_hash_table",
    summary="StaticHashTable int64 -> float32 in a tf.function signature: Flex HashTableV2/LookupTableFindV2",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-flex-ops"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: HashTableV2, LookupTableFindV2, LookupTableImportV2",
    ),
)
