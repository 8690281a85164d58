"""Pruned DepthwiseConv2D and SeparableConv2D, saved without strip_pruning (the MobileNet/EfficientNet shape).

tfmot prunes a different weight per layer type: nothing at all in a DepthwiseConv2D (its wrapper has a
``pruning_step`` but no ``mask``), only the ``pointwise_kernel`` of a SeparableConv2D (its
``depthwise_kernel`` stays dense). Stripping must find each mask through the wrapper's ``pruning_vars``,
not assume a ``mask`` on every wrapper over a weight called ``kernel``. Functional tf_keras model:
input ``image`` [None, 8, 8, 3] -> pruned DepthwiseConv2D(3, same) -> pruned SeparableConv2D(6, 3, relu)
-> GlobalAveragePooling2D -> Dense(4, name="head"), ConstantSparsity 0.5, trained 2 epochs on 64 random
samples with ``UpdatePruningStep`` and saved with ``model.save(dir)``.
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
    schedule = sparsity.ConstantSparsity(0.5, begin_step=0, frequency=1)

    def prune(layer: tf_keras.layers.Layer) -> tf_keras.layers.Layer:
        return sparsity.prune_low_magnitude(layer, pruning_schedule=schedule)

    inputs = tf_keras.Input((8, 8, 3), name="image")
    x = prune(tf_keras.layers.DepthwiseConv2D(3, padding="same"))(inputs)
    x = prune(tf_keras.layers.SeparableConv2D(6, 3, activation="relu"))(x)
    x = tf_keras.layers.GlobalAveragePooling2D()(x)
    outputs = tf_keras.layers.Dense(4, name="head")(x)
    model = tf_keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x_train = rng.standard_normal((64, 8, 8, 3)).astype("float32")
    y_train = rng.standard_normal((64, 4)).astype("float32")
    model.fit(x_train, y_train, epochs=2, batch_size=16, verbose=0, callbacks=[sparsity.UpdatePruningStep()])
    out = dest / SAVED_MODEL
    model.save(str(out))  # forgot tfmot.sparsity.keras.strip_pruning
    return out


CASE = Case(
    id="pruning/unstripped_depthwise_separable",
    summary="pruned DepthwiseConv2D (no mask) and SeparableConv2D (pointwise mask) saved without strip_pruning",
    build=build,
    expect=stripped("the depthwise wrapper has no mask; the separable mask belongs to pointwise_kernel"),
    legacy_keras=True,
)
