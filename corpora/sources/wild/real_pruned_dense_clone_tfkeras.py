"""Prune only the Dense layers of a small tabular classifier (the tfmot guide's ``clone_model`` +
``clone_function`` recipe), fine-tune for a step, and ``model.save`` the result as a SavedModel for TF Serving
and a TFLite conversion. tf_keras throughout (``tf.keras`` with TF_USE_LEGACY_KERAS=1).

Rebuilt from tensorflow/model-optimization#722: the user pruned a Keras model, converted it, and the .tflite was
no smaller than the unpruned one; the maintainers' answer (also in #162) is ``strip_pruning`` before the
export. Saved with its wrappers, the model keeps its masks as resource variables and its output key gains the
``prune_low_magnitude_`` prefix. The serving clients send ``features``; the script names its Input
``input_features`` (``--rename input_features=features``).

Usage: python real_pruned_dense_clone_tfkeras.py OUT_DIR
"""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tfmot needs Keras 2

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


def create_base_model():
    inputs = tf.keras.layers.Input(shape=(20,), name="input_features")
    x = tf.keras.layers.Dense(32, activation="relu")(inputs)
    x = tf.keras.layers.BatchNormalization()(x)
    x = tf.keras.layers.Dense(16, activation="relu")(x)
    outputs = tf.keras.layers.Dense(2, activation="softmax", name="probabilities")(x)
    return tf.keras.Model(inputs, outputs)


def apply_pruning_to_dense(layer):
    if isinstance(layer, tf.keras.layers.Dense):
        return tfmot.sparsity.keras.prune_low_magnitude(
            layer, pruning_schedule=tfmot.sparsity.keras.ConstantSparsity(0.5, begin_step=0, frequency=1))
    return layer


def main(out_dir):
    tf.keras.utils.set_random_seed(0)

    base_model = create_base_model()
    model_for_pruning = tf.keras.models.clone_model(base_model, clone_function=apply_pruning_to_dense)
    model_for_pruning.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    x_train = np.random.standard_normal((64, 20)).astype("float32")
    y_train = (x_train[:, 0] > 0).astype("int64")
    model_for_pruning.fit(x_train, y_train, epochs=1, batch_size=32, verbose=0,
                          callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])

    model_for_pruning.save(str(out_dir / "saved_model"))

    x = np.random.default_rng(1).standard_normal((2, 20)).astype("float32")
    write_reference(out_dir, {"input_features": x}, {"probabilities": model_for_pruning(x, training=False)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
