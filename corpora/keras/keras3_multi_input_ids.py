"""Two-input Keras 3 model with token ids, saved with ``tf.saved_model.save``: garbage out, ids must stay in range.

A recommender-style model: ``tokens`` (int32 ids, vocabulary 37) through an Embedding and a pooling
layer, concatenated with ``features`` float features, then a Dense head. The user saved it with
``tf.saved_model.save(model, dir)``, so the .tflite converts and reads unbound variables (docs/facts.md 1i).
It exercises what single-input float cases cannot: parity inputs must be valid ids (an id >= 37 is
rejected by TensorFlow's gather), and the interpreter's input order is not the signature's
(docs/facts.md §5), so everything must go through the signature runner by key.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect

VOCAB = 37


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    seed_all(keras=True)
    tokens = keras.Input(shape=(6,), dtype="int32", name="tokens")
    dense = keras.Input(shape=(3,), name="features")
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(VOCAB, 8)(tokens))
    merged = keras.layers.Concatenate()([pooled, dense])
    model = keras.Model([tokens, dense], keras.layers.Dense(2)(merged))
    out = dest / SAVED_MODEL
    tf.saved_model.save(model, str(out))
    return out


CASE = Case(
    id="keras/keras3_multi_input_ids",
    summary="two-input Keras 3 model (int ids + floats) saved with tf.saved_model.save: unbound variables",
    build=build,
    expect=Expect(
        findings=frozenset({"unbound-variables"}),
        fix_exit=0,
        absent_ops=frozenset({"VAR_HANDLE", "READ_VARIABLE"}),
        rewrites=("rebind_variables",),
        note="ids drawn in [0, 37) after TensorFlow's own range error names the bound",
    ),
)
