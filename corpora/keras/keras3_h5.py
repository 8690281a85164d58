"""Keras 3 model saved as a legacy .h5 file and passed where a SavedModel is expected.

The user saved a Keras 3 functional model (Input 'features' (8,) -> Dense(16, relu) ->
Dense(3, name='scores')) with ``model.save('model.h5')``, the format older tutorials use.
``TFLiteConverter.from_saved_model`` fails with ``OSError: SavedModel file does not exist at:
.../model.h5/{saved_model.pbtxt|saved_model.pb}``.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import keras3_dense_model, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    seed_all(keras=True)
    model = keras3_dense_model()
    out = dest / "model.h5"
    model.save(out)
    return out


CASE = Case(
    id="keras/keras3_h5",
    summary="Keras 3 model.save('model.h5'): a legacy HDF5 file, not a SavedModel",
    build=build,
    expect=Expect(
        findings=frozenset({"keras-file"}),
        fix_exit=0,
        rewrites=("export_keras_file",),
        note="converter: OSError SavedModel file does not exist at: .../model.h5",
    ),
)
