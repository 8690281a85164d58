"""tfmot-pruned tf_keras model saved with ``model.save(dir)`` and converted: the .tflite does not shrink.

Source: https://github.com/tensorflow/model-optimization/issues/722 ("Pruning cannot reduce tflite model
size": the pruning_with_keras notebook; the .tflite of the pruned model is no smaller).

Rebuilt: the shrunk pruning-guide model (see _pruning.py), ``model_for_pruning.save(dir)`` (tf_keras
SavedModel) without strip_pruning. Must be repaired to a plain model (no resource variables) computing the same.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, serving_keys, write_reference
from corpora.wild._pruning import pruned_model


def build(dest: Path) -> Path:
    model, x = pruned_model()
    path = dest / SAVED_MODEL
    model.save(str(path))
    (key,), (out_key,) = serving_keys(path)
    write_reference(dest, {key: x}, {out_key: model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/pruning_model_save_dir",
    url="https://github.com/tensorflow/model-optimization/issues/722",
    summary="tfmot-pruned tf_keras model, model.save(dir) without strip_pruning",
    build=build,
    expect="repaired",
    legacy_keras=True,
)
