"""A tf_keras ``.h5`` full of tfmot pruning wrappers, repaired on a machine without tfmot.

The user prunes a functional tf_keras CNN with ``prune_low_magnitude`` (ConstantSparsity 0.5), trains 2 epochs
on 64 random samples with ``UpdatePruningStep`` and saves ``model.save("pruned.h5")``, forgetting
``strip_pruning``. Input ``image`` [None, 8, 8, 3] -> pruned SeparableConv2D(6, 3, relu) (tfmot masks only its
pointwise kernel) -> pruned Conv2D(4, 1) -> GlobalAveragePooling2D -> pruned Dense(5, name="scores"). Loading it
anywhere tfmot is not installed (the tool's own install has none) fails: "Unknown layer: 'PruneLowMagnitude'".
Everything needed is in the file: the model config JSON (each wrapper holds its inner layer's config) and, per
wrapper, the inner weights plus ``mask``, ``threshold`` and ``pruning_step``. Exported with tfmot, the .tflite
would keep the masks as resource variables.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import seed_all
from corpora.case import Case
from corpora.pruning import stripped


def build(dest: Path) -> Path:
    import numpy as np
    import tensorflow_model_optimization as tfmot
    import tf_keras

    seed_all()
    tf_keras.utils.set_random_seed(0)
    sparsity = tfmot.sparsity.keras
    schedule = sparsity.ConstantSparsity(0.5, begin_step=0, frequency=1)

    def prune(layer: tf_keras.layers.Layer) -> tf_keras.layers.Layer:
        return sparsity.prune_low_magnitude(layer, pruning_schedule=schedule)

    inputs = tf_keras.Input((8, 8, 3), name="image")
    x = prune(tf_keras.layers.SeparableConv2D(6, 3, activation="relu"))(inputs)
    x = prune(tf_keras.layers.Conv2D(4, 1))(x)
    x = tf_keras.layers.GlobalAveragePooling2D()(x)
    outputs = prune(tf_keras.layers.Dense(5, name="scores"))(x)
    model = tf_keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x_train = rng.standard_normal((64, 8, 8, 3)).astype("float32")
    y_train = rng.standard_normal((64, 5)).astype("float32")
    model.fit(x_train, y_train, epochs=2, batch_size=16, verbose=0, callbacks=[sparsity.UpdatePruningStep()])
    out = dest / "pruned.h5"
    model.save(str(out))  # forgot tfmot.sparsity.keras.strip_pruning
    return out


CASE = Case(
    id="pruning/h5_without_tfmot",
    summary="tf_keras .h5 with PruneLowMagnitude wrappers: does not load without tfmot; stripped from the file itself",
    build=build,
    expect=stripped("config JSON and weights read with h5py; masks folded; no tfmot imported",
                    rewrite="strip_pruning_keras_file", findings=frozenset({"keras-file", "pruning-wrappers"})),
    legacy_keras=True,
)
