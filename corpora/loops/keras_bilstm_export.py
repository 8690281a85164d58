"""A Keras 3 Bidirectional LSTM, exported: two loops (forward and backward) in one SavedModel.

Input((6, 4), name="x") -> Bidirectional(LSTM(8)) -> Dense(2), ``model.export``. Each direction is
its own while loop with TensorList reads/writes (the backward one reverses the sequence first);
both must be unrolled and both sets of TensorLists replaced.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    inp = keras.Input((6, 4), name="x")
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Bidirectional(keras.layers.LSTM(8))(inp)))
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    return out


CASE = Case(
    id="loops/keras_bilstm_export",
    summary="Keras 3 Bidirectional(LSTM(8)) over 6 steps, model.export'ed: two TensorList loops",
    build=build,
    expect=Expect(
        findings=frozenset({"tensorlist-loop"}),
        fix_exit=0,
        absent_ops=frozenset({"WHILE"}),
        rewrites=("unroll_static_loops",),
        note="2 loops x 6 trips unrolled; 14 TensorList reads/stacks become Unpack/Pack",
    ),
)
