"""tfmot pruning wrappers left in: ``model.save(dir)`` without ``strip_pruning``.

A tf_keras (Keras 2) CNN, Sequential Conv2D(4) -> MaxPool -> Flatten -> Dense(10) on (8,8,1)
inputs, wrapped with ``tfmot.sparsity.keras.prune_low_magnitude`` (ConstantSparsity 0.5), trained
2 epochs on 64 random samples with ``UpdatePruningStep`` and saved with ``model.save(dir)``,
forgetting ``tfmot.sparsity.keras.strip_pruning``. It converts and is numerically right, but the
.tflite is about twice the size, with masks as resource variables (VAR_HANDLE/READ_VARIABLE/
ASSIGN_VARIABLE, CALL_ONCE) that many delegates and micro runtimes reject (docs/facts.md 4).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case
from corpora.pruning import stripped


def build(dest: Path) -> Path:
    import numpy as np
    import tensorflow_model_optimization as tfmot
    import tf_keras

    seed_all()
    tf_keras.utils.set_random_seed(0)
    sparsity = tfmot.sparsity.keras
    base = tf_keras.Sequential(
        [
            tf_keras.layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
            tf_keras.layers.MaxPooling2D(),
            tf_keras.layers.Flatten(),
            tf_keras.layers.Dense(10),
        ]
    )
    schedule = sparsity.ConstantSparsity(0.5, begin_step=0, frequency=1)
    model = sparsity.prune_low_magnitude(base, pruning_schedule=schedule)
    model.compile(
        optimizer="adam",
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8, 8, 1)).astype("float32")
    y = rng.integers(0, 10, size=(64,))
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[sparsity.UpdatePruningStep()])
    out = dest / SAVED_MODEL
    model.save(str(out))
    return out


CASE = Case(
    id="pruning/unstripped",
    summary="tfmot prune_low_magnitude model saved without strip_pruning: masks as resource variables",
    build=build,
    expect=stripped("converts and matches, but ~2x size with VAR_HANDLE/ASSIGN_VARIABLE and CALL_ONCE"),
    legacy_keras=True,
)
