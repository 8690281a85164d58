"""Prune a small tf_keras CNN with tfmot and save it for TFLite.

Broken: the model is saved without ``tfmot.sparsity.keras.strip_pruning``; the pruning wrappers stay in,
so the .tflite carries masks as resource variables (VAR_HANDLE / ASSIGN_VARIABLE, CALL_ONCE) at about
twice the size, which delegates and micro runtimes reject. Stripping before the save fixes it.

tfmot needs Keras 2: TF_USE_LEGACY_KERAS=1 must be set before TensorFlow is imported.

Usage: python pruning_unstripped.py OUT_DIR
"""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


def build_model():
    return keras.Sequential([
        keras.layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(10),
    ])


def main(out_dir):
    keras.utils.set_random_seed(0)
    tf.random.set_seed(0)
    np.random.seed(0)

    schedule = tfmot.sparsity.keras.ConstantSparsity(0.5, begin_step=0, frequency=1)
    model = tfmot.sparsity.keras.prune_low_magnitude(build_model(), pruning_schedule=schedule)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x_train = np.random.standard_normal((64, 8, 8, 1)).astype("float32")
    y_train = np.random.randint(0, 10, size=(64,))
    model.fit(x_train, y_train, epochs=2, batch_size=16, verbose=0,
              callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])

    model.save(str(out_dir / "saved_model"))

    x = np.random.default_rng(1).standard_normal((2, 8, 8, 1)).astype("float32")
    write_reference(out_dir, {"conv2d_input": x}, {"dense": model(x, training=False)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
