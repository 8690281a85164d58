"""Keras 3 model saved as a .keras file and passed where a SavedModel is expected.

The user trained a Keras 3 functional model (Input 'features' (8,) -> Dense(16, relu) ->
Dense(3, name='scores')) and saved it the way Keras 3 recommends, ``model.save('model.keras')``.
``TFLiteConverter.from_saved_model`` and TF Serving need a SavedModel directory and fail with
``OSError: SavedModel file does not exist at: .../model.keras/{saved_model.pbtxt|saved_model.pb}``.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import keras3_dense_model, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    seed_all(keras=True)
    model = keras3_dense_model()
    out = dest / "model.keras"
    model.save(out)
    return out


CASE = Case(
    id="keras/keras3_file",
    summary="Keras 3 model.save('model.keras'): a .keras file, not a SavedModel",
    build=build,
    expect=Expect(
        findings=frozenset({"keras-file"}),
        fix_exit=0,
        rewrites=("export_keras_file",),
        note="converter: OSError SavedModel file does not exist at: .../model.keras",
    ),
)
