"""A Keras 3 LSTM over a time axis of unknown length, exported: the loop can only be unrolled once pinned.

Input((None, 8), name="seq") -> LSTM(8) -> Dense(2), ``model.export``. The trip count is the
sequence length, so nothing can be unrolled until the deployment length is known: without --pin
repair refuses and says to pin; with ``--pin seq=-1,6,8`` (batch stays dynamic) the pinned graph has
a 6-trip loop that unrolls and converts builtins-only.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    inp = keras.Input((None, 8), name="seq")
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.LSTM(8)(inp)))
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    return out


CASE = Case(
    id="loops/keras_lstm_dynamic_time",
    summary="Keras 3 LSTM over Input((None, 8)): the trip count is the unknown time length",
    build=build,
    expect=Expect(
        findings=frozenset({"tensorlist-loop", "dynamic-dims"}),
        fix_exit=0,
        absent_ops=frozenset({"WHILE"}),
        rewrites=("pin_dynamic_dims", "unroll_static_loops"),
        fix_args=("--pin", "seq=-1,6,8"),
        note="without --pin: refused, 'trip count follows an unknown input dimension ... pin it'",
    ),
)
