"""The pruned tf_keras model the tfmot pruning guide builds, shrunk: shared by the three pruning cases."""

from __future__ import annotations

from typing import Any


def pruned_model() -> tuple[Any, Any]:
    """(model_for_pruning trained 2 epochs with UpdatePruningStep, x_test) - built under TF_USE_LEGACY_KERAS=1."""
    import numpy as np
    import tensorflow_model_optimization as tfmot
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    base = tf_keras.Sequential([
        tf_keras.layers.InputLayer(input_shape=(12, 12)),
        tf_keras.layers.Reshape(target_shape=(12, 12, 1)),
        tf_keras.layers.Conv2D(filters=4, kernel_size=(3, 3), activation="relu"),
        tf_keras.layers.MaxPooling2D(pool_size=(2, 2)),
        tf_keras.layers.Flatten(),
        tf_keras.layers.Dense(10),
    ])
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.50, final_sparsity=0.80, begin_step=0, end_step=8)
    model = tfmot.sparsity.keras.prune_low_magnitude(base, pruning_schedule=schedule)
    model.compile(optimizer="adam",
                  loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.random((64, 12, 12)).astype("float32")
    y = rng.integers(0, 10, size=(64,))
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    return model, x[:3]
