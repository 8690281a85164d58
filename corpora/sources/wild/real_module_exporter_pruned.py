"""A pruned MNIST-style classifier (tf_keras + tfmot, ``from tensorflow_model_optimization.sparsity import keras
as sparsity``) wrapped in a ``tf.Module`` export class with two ``@tf.function(input_signature=...)`` methods,
saved with ``tf.saved_model.save(exporter, export_dir)``.

Rebuilt from tensorflow/tensorflow#36676: the user's ``tf.Module`` had two functions with input signatures and
the loaded SavedModel had no signatures at all (``tf.saved_model.save`` exports a lone input_signature function
implicitly, never one of two); TF Serving has no ``serving_default`` and the converter says ``Only support at
least one signature key``. The module also holds the model still wrapped for pruning.

Usage: python real_module_exporter_pruned.py OUT_DIR
"""

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tfmot needs Keras 2

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow_model_optimization.sparsity import keras as sparsity

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


def get_model():
    return keras.Sequential([
        keras.layers.InputLayer(input_shape=(12, 12)),
        keras.layers.Reshape((12, 12, 1)),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(10),
    ])


class ExportModule(tf.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec([None, 12, 12], tf.float32, name="image")])
    def serve(self, image):
        return {"probabilities": tf.nn.softmax(self.model(image, training=False))}

    @tf.function(input_signature=[tf.TensorSpec([None, 12, 12], tf.float32, name="image")])
    def logits(self, image):
        return {"logits": self.model(image, training=False)}


def main(out_dir):
    keras.utils.set_random_seed(0)
    pruning_params = {"pruning_schedule": sparsity.ConstantSparsity(0.5, begin_step=0, frequency=1)}
    model_for_pruning = sparsity.prune_low_magnitude(get_model(), **pruning_params)
    model_for_pruning.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    images = np.random.uniform(0, 1, (32, 12, 12)).astype("float32")
    labels = np.random.randint(0, 10, size=(32,))
    model_for_pruning.fit(images, labels, epochs=1, batch_size=16, verbose=0, callbacks=[sparsity.UpdatePruningStep()])

    exporter = ExportModule(model_for_pruning)
    tf.saved_model.save(exporter, export_dir=str(out_dir / "saved_model"))

    x = np.random.default_rng(1).uniform(0, 1, (2, 12, 12)).astype("float32")
    write_reference(out_dir, {"image": x}, exporter.serve(x))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
