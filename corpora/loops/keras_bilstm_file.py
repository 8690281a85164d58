"""A Keras 3 Bidirectional LSTM with return_sequences=True, handed over as a ``.keras`` file.

Input((5, 4), name="tokens") -> Bidirectional(LSTM(6, return_sequences=True)) -> Dense(2) per step.
The Bidirectional wrapper nests two LSTM configs (forward and backward); both must be rebuilt
with unroll=True. The output keeps the time axis, so every step's state is compared.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    inp = keras.Input((5, 4), name="tokens")
    seq = keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True))(inp)
    model = keras.Model(inp, keras.layers.Dense(2)(seq))
    out = dest / "model.keras"
    model.save(out)
    return out


CASE = Case(
    id="loops/keras_bilstm_file",
    summary="Keras 3 Bidirectional(LSTM(6, return_sequences=True)) over 5 steps, as a .keras file",
    build=build,
    expect=Expect(
        findings=frozenset({"keras-file", "tensorlist-loop"}),
        fix_exit=0,
        absent_ops=frozenset({"WHILE"}),
        rewrites=("export_keras_file", "unroll_keras_rnn"),
        note="both directions of the Bidirectional wrapper rebuilt with unroll=True",
    ),
)
