"""tfmot-pruned tf_keras model exported with ``tf.saved_model.save`` (wrappers and masks left in).

Source: https://github.com/tensorflow/tensorflow/issues/47838 ("Compressed pruned model is the same size as
compressed baseline model": the pruning guide's code, exported without the strip step) and
https://github.com/tensorflow/model-optimization/issues/162 ("Pruned model size is bigger than unpruned?";
answer: apply ``strip_pruning`` before export).

Rebuilt: the shrunk pruning-guide model (see _pruning.py), ``tf.saved_model.save(model_for_pruning, dir)``.
It converts, but with the masks as resource variables (VAR_HANDLE/READ_VARIABLE, CALL_ONCE) at about twice the
size. Must be repaired to a plain model with the same outputs.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, serving_keys, write_reference
from corpora.wild._pruning import pruned_model


def build(dest: Path) -> Path:
    import tensorflow as tf

    model, x = pruned_model()
    path = dest / SAVED_MODEL
    tf.saved_model.save(model, str(path))
    (key,), (out_key,) = serving_keys(path)
    write_reference(dest, {key: x}, {out_key: model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/pruning_tf_saved_model_save",
    url="https://github.com/tensorflow/tensorflow/issues/47838",
    summary="tfmot-pruned tf_keras model, tf.saved_model.save without strip_pruning",
    build=build,
    expect="repaired",
    legacy_keras=True,
)
