"""A Keras 3 LSTM model handed over as a ``.keras`` file: the loop must be unrolled from the file.

Input((5, 8), name="seq") -> LSTM(16) (unroll=False, the default) -> Dense(2). Exported as is it
fails builtins-only with TensorList errors (docs/facts.md §6); from the .keras file the layer configs are
known, so the model is rebuilt with unroll=True, its weights copied, and exported again.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    inp = keras.Input((5, 8), name="seq")
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.LSTM(16)(inp)))
    out = dest / "model.keras"
    model.save(out)
    return out


CASE = Case(
    id="loops/keras_lstm_file",
    summary="Keras 3 LSTM(16, unroll=False) over 5 steps, as a .keras file",
    build=build,
    expect=Expect(
        findings=frozenset({"keras-file", "tensorlist-loop"}),
        fix_exit=0,
        absent_ops=frozenset({"WHILE"}),
        rewrites=("export_keras_file", "unroll_keras_rnn"),
        note="diagnose looks past the export and sees the TensorList; fix rebuilds with unroll=True",
    ),
)
