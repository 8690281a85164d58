"""Keras 3 text model (StringLookup + Embedding) saved with ``tf.saved_model.save``: garbage despite CALL_ONCE.

Like keras/keras3_saved_model_save, the weights are read from variables the TF1-session view never
restores. The lookup table's initialiser adds a CALL_ONCE subgraph, so docs/facts.md's cheap detector
(READ_VARIABLE without CALL_ONCE) says nothing; the per-variable check does: the Embedding and
Dense variables are read and never assigned. The vocabulary travels as an asset, so the repair must
carry assets and the table through the re-save. Input: string words [None, 3].
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    seed_all(keras=True)
    lookup = keras.layers.StringLookup(vocabulary=["red", "green", "blue"])
    words = keras.Input((3,), dtype="string", name="words")
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(5, 4)(lookup(words)))
    model = keras.Model(words, keras.layers.Dense(2)(pooled))
    out = dest / SAVED_MODEL
    tf.saved_model.save(model, str(out))
    return out


CASE = Case(
    id="keras/keras3_string_lookup_saved_model_save",
    summary="Keras 3 StringLookup+Embedding saved with tf.saved_model.save: CALL_ONCE for the table, weights unbound",
    build=build,
    expect=Expect(
        findings=frozenset({"unbound-variables", "parity-mismatch"}),
        fix_exit=0,
        rewrites=("rebind_variables",),
        note="a table init CALL_ONCE hides the unbound weights from the cheap detector",
    ),
)
