"""tfmot-pruned tf_keras model saved as ``.h5`` with the PruneLowMagnitude wrappers still in.

Source: https://github.com/tensorflow/model-optimization/issues/760 ("pruning cannot reduce .h5 model size":
``model_for_pruning`` saved to .h5 is larger than the baseline; the maintainer explains the extra pruning
variables and ``strip_pruning``).

Rebuilt from the pruning guide (shrunk to 12x12 inputs): prune_low_magnitude(Sequential[Reshape, Conv2D(4),
MaxPool, Flatten, Dense(10)]) with PolynomialDecay 0.5 -> 0.8, 2 epochs with UpdatePruningStep, then
``model_for_pruning.save("pruned.h5")`` without strip_pruning. The repaired model must carry no pruning
variables (no VAR_HANDLE/READ_VARIABLE) and compute what the pruned model computes.
"""

from __future__ import annotations

from pathlib import Path

from corpora.wild._core import WildCase, write_reference
from corpora.wild._pruning import pruned_model


def build(dest: Path) -> Path:
    model, x = pruned_model()
    path = dest / "pruned.h5"
    model.save(str(path))
    write_reference(dest, {model.input_names[0]: x}, model(x, training=False))
    return path


CASE = WildCase(
    id="wild/pruning_h5",
    url="https://github.com/tensorflow/model-optimization/issues/760",
    summary="tfmot prune_low_magnitude tf_keras model saved as .h5 with its wrappers",
    build=build,
    expect="repaired",
    legacy_keras=True,
)
