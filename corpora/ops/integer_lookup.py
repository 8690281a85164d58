"""Keras 3 ``IntegerLookup`` in front of an Embedding, exported with ``model.export``.

A user maps raw product ids to embedding rows inside the model: ``keras.Input((4,), dtype="int64",
name="product_ids")`` -> ``IntegerLookup(vocabulary=[1, 7, 12, 42, 99, 1000])`` (known ids -> 1..6, unknown ids -> the OOV
index 0) -> Embedding(7, 4) -> GlobalAveragePooling1D -> Dense(2).
IntegerLookup is an int64 -> int64 ``StaticHashTable``; only string<->int64 tables are TFLite builtins,
so the converter fails with ``ERROR_NEEDS_FLEX_OPS`` / ``TF Select ops: HashTableV2, LookupTableFindV2,
LookupTableImportV2`` (docs/facts.md 7). The keys and values are constants imported by the table's initializer;
repair replaces the lookup by a binary search over the sorted keys, with the OOV index on a miss.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    ids = keras.Input((4,), dtype="int64", name="product_ids")
    index = keras.layers.IntegerLookup(vocabulary=[1, 7, 12, 42, 99, 1000], name="lookup")(ids)
    h = keras.layers.Embedding(7, 4)(index)
    h = keras.layers.GlobalAveragePooling1D()(h)
    model = keras.Model(ids, keras.layers.Dense(2, name="scores")(h))
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    return out


CASE = Case(
    id="ops/integer_lookup",
    summary="Keras 3 IntegerLookup (int64 -> int64 table) + Embedding, model.export: Flex HashTableV2/LookupTableFindV2",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-flex-ops"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: HashTableV2, LookupTableFindV2, LookupTableImportV2",
    ),
)
