"""A Keras 3 GRU saved with ``tf.saved_model.save``: two defects, one hiding the other.

The save path of keras/keras3_saved_model_save (the signature reads variables the TF1 view never
restores: silent garbage) on a model whose GRU loop also fails builtins-only. The converter stops at
the TensorList error, so the converter alone never shows the garbage; the protos do (the signature
reads handles the restore op never assigns), so the variables are rebound first, then the loop is
unrolled, and parity against the original proves both.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    seed_all(keras=True)
    inp = keras.Input((6, 4), name="x")
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.GRU(8)(inp)))
    out = dest / SAVED_MODEL
    tf.saved_model.save(model, str(out))
    return out


CASE = Case(
    id="loops/keras3_gru_saved_model_save",
    summary="Keras 3 GRU saved with tf.saved_model.save: TensorList loop hiding unbound variables",
    build=build,
    expect=Expect(
        findings=frozenset({"tensorlist-loop", "unbound-variables"}),
        fix_exit=0,
        absent_ops=frozenset({"WHILE", "VAR_HANDLE", "READ_VARIABLE"}),
        rewrites=("rebind_variables", "unroll_static_loops"),
        note="the unbound variables are seen in the protos (the conversion fails on the TensorList first): "
             "rebind, then unroll",
    ),
)
