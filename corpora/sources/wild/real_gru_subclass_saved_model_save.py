"""A subclassed Keras model (GRU encoder + Dense head) over fixed-length token-feature sequences, built with
``model.build`` and exported with ``tf.saved_model.save`` for TF Serving and a TFLite conversion.

Rebuilt from tensorflow/tensorflow#69307: under TF 2.16 a ``keras.Model`` subclass saved with
``tf.saved_model.save`` has no usable serving signature, and the thread's answer is Keras 3's ``model.export``.
Here the subclass is built from a ``(None, SEQ_LEN, N_FEATURES)`` shape kept in module constants; its GRU
(``unroll`` left at its default) saves as a TensorList while-loop that the builtins-only converter rejects.

Usage: python real_gru_subclass_saved_model_save.py OUT_DIR
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

SEQ_LEN = 10
N_FEATURES = 6


class SequenceClassifier(keras.Model):
    def __init__(self, units=16, n_classes=3):
        super().__init__()
        self.encoder = keras.layers.GRU(units, return_sequences=False)
        self.head = keras.layers.Dense(n_classes, activation="softmax")

    def call(self, inputs, training=False):
        return self.head(self.encoder(inputs, training=training))


def main(out_dir):
    keras.utils.set_random_seed(0)

    model = SequenceClassifier()
    model.build((None, SEQ_LEN, N_FEATURES))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    x_train = np.random.standard_normal((32, SEQ_LEN, N_FEATURES)).astype("float32")
    y_train = np.random.randint(0, 3, size=(32,))
    model.fit(x_train, y_train, epochs=1, batch_size=16, verbose=0)

    tf.saved_model.save(model, str(out_dir / "saved_model"))

    x = np.random.default_rng(1).standard_normal((2, SEQ_LEN, N_FEATURES)).astype("float32")
    write_reference(out_dir, {"args_0": x}, {"output_0": model(x)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
