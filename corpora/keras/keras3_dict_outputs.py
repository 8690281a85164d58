"""Keras 3 two-head model with dict outputs saved as ``.keras``.

A multi-task model (classification head ``cls``, regression head ``reg``) returns a dict. The
.keras file must be exported, and the export must be checked against the Keras model output by
output name (the export keys them ``cls`` and ``reg``), not by position.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    inp = keras.Input((10,), name="feats")
    h = keras.layers.Dense(8, activation="relu")(inp)
    model = keras.Model(inp, {"cls": keras.layers.Dense(3, name="cls")(h), "reg": keras.layers.Dense(1, name="reg")(h)})
    out = dest / "model.keras"
    model.save(out)
    return out


CASE = Case(
    id="keras/keras3_dict_outputs",
    summary="Keras 3 .keras with dict outputs {cls, reg}",
    build=build,
    expect=Expect(
        findings=frozenset({"keras-file"}),
        fix_exit=0,
        rewrites=("export_keras_file",),
        note="export checked against Keras per output name",
    ),
)
