"""A Keras 3 model with an ``IntegerLookup`` preprocessing layer for store ids, exported for serving/TFLite.

Sources: https://github.com/tensorflow/tensorflow/issues/35454 ("HashTableV2, LookupTableFindV2 are not
supported": a categorical column looked up in a vocabulary) and
https://github.com/tensorflow/tensorflow/issues/37844 ("Cannot convert model containing
categorical_column_with_vocabulary_list op"). Only string<->int64 hash tables are TFLite builtins; an int64 ->
int64 table (what IntegerLookup builds) is ``ERROR_NEEDS_FLEX_OPS``: ``HashTableV2, LookupTableFindV2,
LookupTableImportV2`` (docs/facts.md 7).

Rebuilt: Keras 3 Input((1,), dtype="int64", name="store_id") -> IntegerLookup(vocabulary=[3, 7, 11, 42, 99])
-> CategoryEncoding(one_hot, 6) -> Dense(2); ``model.export(dir)``. A small constant int table is an exact
compare-and-select: must be repaired without flags (unknown ids keep mapping to the OOV index).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, write_reference


def build(dest: Path) -> Path:
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    inp = keras.Input((1,), dtype="int64", name="store_id")
    ids = keras.layers.IntegerLookup(vocabulary=[3, 7, 11, 42, 99])(inp)
    onehot = keras.layers.CategoryEncoding(num_tokens=6, output_mode="one_hot")(ids)
    model = keras.Model(inp, keras.layers.Dense(2)(onehot))
    path = dest / SAVED_MODEL
    model.export(str(path))
    x = np.array([[3], [42], [5], [99]], dtype="int64")  # 5 is out of vocabulary
    write_reference(dest, {"store_id": x}, {"output_0": model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/integer_lookup",
    url="https://github.com/tensorflow/tensorflow/issues/35454",
    summary="Keras 3 IntegerLookup (int64 -> int64 hash table), model.export: Flex HashTableV2",
    build=build,
    expect="repaired",
)
