"""A Keras 3 GRU saved with ``tf.saved_model.save``: two defects, one hiding the other.

The save path of keras/keras3_saved_model_save (the signature reads variables the TF1 view never
restores: silent garbage) on a model whose GRU loop also fails builtins-only. The converter stops at
the TensorList error, so the garbage is invisible until the loop is fixed; freezing the graph
through TF2's loader for the unroll binds the variables, and parity against the original proves it.
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
        findings=frozenset({"tensorlist-loop"}),
        fix_exit=0,
        absent_ops=frozenset({"WHILE", "VAR_HANDLE", "READ_VARIABLE"}),
        rewrites=("unroll_static_loops",),
        note="the unroll freezes through tf.saved_model.load, which also binds the variables",
    ),
)
