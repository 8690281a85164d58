"""A Keras 3 GRU exported with ``model.export``: only the SavedModel reaches us, not the Python.

Input((7, 4), name="frames") -> GRU(12) -> Dense(3). The export keeps the GRU's while loop with
TensorList reads and writes, so builtins-only conversion fails (docs/facts.md §6: every Keras RNN with
unroll=False does). With no Keras file there are no layer configs to rebuild; the loop is unrolled
in the graph itself, and the TensorLists become Unpack/Pack.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    inp = keras.Input((7, 4), name="frames")
    model = keras.Model(inp, keras.layers.Dense(3)(keras.layers.GRU(12)(inp)))
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    return out


CASE = Case(
    id="loops/keras_gru_export",
    summary="Keras 3 GRU(12) over 7 steps, model.export'ed: TensorList loop in a bare SavedModel",
    build=build,
    expect=Expect(
        findings=frozenset({"tensorlist-loop"}),
        fix_exit=0,
        absent_ops=frozenset({"WHILE"}),
        rewrites=("unroll_static_loops",),
        note="unrolled 7 trips in the graph; TensorLists replaced by Unpack/Pack; parity at batch 2",
    ),
)
