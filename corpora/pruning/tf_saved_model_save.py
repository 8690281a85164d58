"""tfmot pruning wrappers left in, saved with ``tf.saved_model.save(model, dir)``: no Keras metadata at all.

A functional tf_keras CNN, input ``image`` [None, 8, 8, 1] -> pruned Conv2D(4, 3, relu) -> MaxPool ->
Flatten -> pruned Dense(10, name="logits"), ``prune_low_magnitude`` with ConstantSparsity 0.5, trained 2
epochs on 64 random samples with ``UpdatePruningStep``, then exported with ``tf.saved_model.save`` (the
TF-level API many serving tutorials use) instead of ``model.save``, and without ``strip_pruning``. There is
no keras_metadata.pb to rebuild the model from: only the graph and the checkpoint say it was pruned
(``prune_low_magnitude_*/mask``, ``threshold``, ``pruning_step`` variables). The serving function runs
tfmot's ``kernel.assign(kernel * mask)`` on every call, so the .tflite keeps VAR_HANDLE/READ_VARIABLE/
ASSIGN_VARIABLE with a CALL_ONCE init, and TensorFlow's own variable freezing fails on that assignment.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case
from corpora.pruning import stripped


def build(dest: Path) -> Path:
    import numpy as np
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot
    import tf_keras

    seed_all()
    tf_keras.utils.set_random_seed(0)
    sparsity = tfmot.sparsity.keras
    schedule = sparsity.ConstantSparsity(0.5, begin_step=0, frequency=1)

    def prune(layer: tf_keras.layers.Layer) -> tf_keras.layers.Layer:
        return sparsity.prune_low_magnitude(layer, pruning_schedule=schedule)

    inputs = tf_keras.Input((8, 8, 1), name="image")
    x = prune(tf_keras.layers.Conv2D(4, 3, activation="relu"))(inputs)
    x = tf_keras.layers.MaxPooling2D()(x)
    x = tf_keras.layers.Flatten()(x)
    outputs = prune(tf_keras.layers.Dense(10, name="logits"))(x)
    model = tf_keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x_train = rng.standard_normal((64, 8, 8, 1)).astype("float32")
    y_train = rng.integers(0, 10, size=(64,))
    model.fit(x_train, y_train, epochs=2, batch_size=16, verbose=0, callbacks=[sparsity.UpdatePruningStep()])
    out = dest / SAVED_MODEL
    tf.saved_model.save(model, str(out))  # no keras_metadata.pb, and strip_pruning forgotten
    return out


CASE = Case(
    id="pruning/tf_saved_model_save",
    summary="pruned tf_keras model saved with tf.saved_model.save: no Keras metadata, kernel*mask assigned in the graph",
    build=build,
    expect=stripped("folded at graph level: the assign kernel*mask becomes a constant kernel", rewrite="strip_pruning_graph"),
    legacy_keras=True,
)
