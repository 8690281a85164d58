"""tf_keras (Keras 2) model saved as .h5 and passed where a SavedModel is expected.

A Keras 2 codebase (``import tf_keras``, or ``tf.keras`` with TF_USE_LEGACY_KERAS=1) saved its
functional model (Input 'features' (8,) -> Dense(16, relu) -> Dense(3, name='scores')) with
``model.save('model.h5')``. ``TFLiteConverter.from_saved_model`` fails with ``OSError: SavedModel
file does not exist at: .../model.h5/{saved_model.pbtxt|saved_model.pb}``.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import seed_all, tf_keras_dense_model
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    seed_all()
    model = tf_keras_dense_model()
    out = dest / "model.h5"
    model.save(str(out))
    return out


CASE = Case(
    id="keras/tf_keras_h5",
    summary="tf_keras model.save('model.h5'): a Keras 2 HDF5 file, not a SavedModel",
    build=build,
    expect=Expect(
        findings=frozenset({"keras-file"}),
        fix_exit=0,
        rewrites=("export_keras_file",),
        note="converter: OSError SavedModel file does not exist at: .../model.h5",
    ),
    legacy_keras=True,
)
