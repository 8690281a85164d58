"""Keras 3 ``StringLookup`` with two OOV buckets: string hashing inside the model, an honest refusal.

A user feeds raw color names: ``keras.Input((1,), dtype="string", name="color")`` ->
``StringLookup(vocabulary=["red", "green", "blue"], num_oov_indices=2)`` -> CategoryEncoding(one_hot, 5)
-> Dense(2); ``model.export(dir)``. With more than one OOV index the lookup hashes unknown strings into
buckets (``StringToHashBucketFast``), a Flex op: ``ERROR_NEEDS_FLEX_OPS``. There is no builtin way to hash
strings, so repair refuses and says how to get out: do the string preprocessing outside the model and
serve int64 ids, or use a string -> int64 table without OOV buckets (builtin).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    color = keras.Input((1,), dtype="string", name="color")
    index = keras.layers.StringLookup(vocabulary=["red", "green", "blue"], num_oov_indices=2)(color)
    h = keras.layers.CategoryEncoding(num_tokens=5, output_mode="one_hot")(index)
    model = keras.Model(color, keras.layers.Dense(2, name="scores")(h))
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    return out


CASE = Case(
    id="ops/string_lookup_oov",
    summary="Keras 3 StringLookup with num_oov_indices=2, model.export: Flex StringToHashBucketFast, refused",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-flex-ops"}),
        fix_exit=1,
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: StringToHashBucketFast; string hashing has no builtin",
    ),
)
