"""A wake-word detector trained in Keras, converted to .tflite and checked on a stream of feature windows with
``tf.lite.Interpreter``, one window per ``invoke`` (the way the device runs it).

Rebuilt from OHF-Voice/micro-wake-word#85 ("TensorFlow 2.20 has deprecated tf.lite.Interpreter"): every
``tf.lite.Interpreter(...)`` now prints that it is deprecated and scheduled for deletion, and points to the
LiteRT interpreter in ``ai_edge_litert``; the project switched to ``ai_edge_litert.interpreter.Interpreter``
(#86). The script keeps TensorFlow for training and conversion.

Usage: python litert_tf_lite_interpreter_streaming.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow import keras

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

WINDOW, FEATURES = 12, 10


def build_model():
    inputs = keras.Input(shape=(WINDOW, FEATURES), name="features")
    x = keras.layers.Conv1D(8, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


def main(out_dir):
    keras.utils.set_random_seed(0)
    model = build_model()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.standard_normal((16, WINDOW, FEATURES)).astype("float32"), rng.integers(0, 2, 16), epochs=1, verbose=0)
    model.export(str(out_dir / "saved_model"), verbose=False)
    tflite_model = tf.lite.TFLiteConverter.from_saved_model(str(out_dir / "saved_model")).convert()

    interpreter = tf.lite.Interpreter(model_content=tflite_model, num_threads=1)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    stream = rng.standard_normal((3, WINDOW, FEATURES)).astype("float32")
    probabilities = []
    for window in stream:
        interpreter.set_tensor(input_index, window[np.newaxis])
        interpreter.invoke()
        probabilities.append(interpreter.get_tensor(output_index)[0])
    write_reference(out_dir, {"features": stream}, {"output_0": np.stack(probabilities)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
