"""A Keras 3 row classifier exported with model.export(input_signature=[tf.TensorSpec(...)]) whose dims are None.

Thread: https://github.com/tensorflow/tensorflow/issues/40185 ("[RNN] dynamic input shape support"). Following the
Keras LSTM fusion codelab, the user exported the model through an explicit TensorSpec and replaced its fixed dims
with ``None`` to get a variable-shape .tflite; conversion and resize_tensor_input then failed. Rebuilt with the
Keras 3 form of that export: ``model.export(path, input_signature=[tf.TensorSpec(shape=[None, None, 28], ...,
name="pixels")])`` over a model that reads 28-pixel rows (Dense layers over the rows; the codelab's LSTM is another
case). The export's TensorSpec decides the serving shape; the device sends one 28x28 image:
``--pin pixels=1,28,28``.

Usage: python pin_keras3_export_signature.py OUT_DIR
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

ROW = 28


def build_model():
    rows = keras.Input(shape=(None, ROW), name="pixels")
    x = keras.layers.Dense(16, activation="relu")(rows)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(rows, keras.layers.Dense(10)(x))


def main(out_dir):
    keras.utils.set_random_seed(0)
    model = build_model()
    model.export(
        str(out_dir / "saved_model"),
        input_signature=[tf.TensorSpec(shape=[None, None, ROW], dtype=tf.float32, name="pixels")],
        verbose=False,
    )

    image = np.random.default_rng(1).uniform(size=(1, 28, ROW)).astype("float32")
    write_reference(out_dir, {"pixels": image}, {"output_0": model(image)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
