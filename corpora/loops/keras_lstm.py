"""Keras 3 LSTM (unroll=False) exported with ``model.export(dir)``: a TensorList loop.

A Keras 3 sequence model Input((5, 8)) -> LSTM(16) -> Dense(2), exported the recommended way.
Even with static shapes the LSTM becomes a while loop over a TensorList, and the builtins-only
converter fails with ``'tf.TensorListReserve' op requires element_shape to be static during TF
Lite transformation pass`` / ``Lowering tensor list ops is failed`` (docs/facts.md 6). SELECT_TF_OPS
converts it to Flex TensorList ops that the pip interpreters cannot run.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    inp = keras.Input(shape=(5, 8), name="sequence")
    h = keras.layers.LSTM(16, unroll=False)(inp)
    model = keras.Model(inp, keras.layers.Dense(2, name="scores")(h))
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    return out


CASE = Case(
    id="loops/keras_lstm",
    summary="Keras 3 LSTM(16, unroll=False) exported: TensorList while loop fails builtins conversion",
    build=build,
    expect=Expect(
        findings=frozenset({"tensorlist-loop"}),
        fix_exit=0,
        absent_ops=frozenset({"WHILE"}),
        rewrites=("unroll_static_loops",),
        note="converter: tf.TensorListReserve requires element_shape to be static",
    ),
)
