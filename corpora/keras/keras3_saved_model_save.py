"""Keras 3 model saved with ``tf.saved_model.save(model, dir)``: converts, but outputs are garbage.

The user had read that SavedModel is what TFLite wants, and called ``tf.saved_model.save(model,
dir)`` on a Keras 3 functional model (Input (4,) -> Dense(16, relu) -> Dense(2)) instead of
``model.export(dir)``. The save and the conversion succeed without a warning, but in the TF1
session view the checkpoint restores into variables named ``Variable``, ``Variable_1``, ... while the
signature reads ``dense/kernel`` etc., which stay uninitialized. The .tflite has VAR_HANDLE /
READ_VARIABLE and no CALL_ONCE, and its outputs are garbage (docs/facts.md 1i).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    seed_all(keras=True)
    inp = keras.Input(shape=(4,))
    h = keras.layers.Dense(16, activation="relu")(inp)
    model = keras.Model(inp, keras.layers.Dense(2)(h))
    out = dest / SAVED_MODEL
    tf.saved_model.save(model, str(out))
    return out


CASE = Case(
    id="keras/keras3_saved_model_save",
    summary="Keras 3 model saved with tf.saved_model.save: converts silently, unbound variables, garbage out",
    build=build,
    expect=Expect(
        findings=frozenset({"unbound-variables"}),
        fix_exit=0,
        absent_ops=frozenset({"VAR_HANDLE", "READ_VARIABLE"}),
        rewrites=("rebind_variables",),
        note="silent: VAR_HANDLE/READ_VARIABLE without CALL_ONCE in the .tflite (docs/facts.md 1i)",
    ),
)
