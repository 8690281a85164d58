"""An on-device sensor classifier script that prefers the light ``tflite_runtime`` package and falls back to
TensorFlow's own ``tensorflow.lite`` when it is missing; it exports, converts and runs the model.

Rebuilt from dscripka/openWakeWord#205 ("TFLite-Runtime now LiteRT"): the project imports
``tflite_runtime.interpreter as tflite`` with a fallback, but tflite-runtime has no wheels after Python 3.11, so on
current Python only the deprecated fallback runs; the thread asks for ``import ai_edge_litert.interpreter as
tflite``. Here tflite_runtime is not installed, as on Python 3.12, and the fallback is what runs.

Usage: python litert_tflite_runtime_fallback.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

try:
    import tflite_runtime.interpreter as tflite
except ImportError:
    import tensorflow.lite as tflite

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


class Classifier(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(tf.random.stateless_normal([6, 3], seed=(1, 2)))
        self.b = tf.Variable(tf.random.stateless_normal([3], seed=(3, 4)))

    @tf.function(input_signature=[tf.TensorSpec([1, 6], tf.float32, name="reading")])
    def serve(self, reading):
        return {"scores": tf.nn.softmax(tf.matmul(reading, self.w) + self.b)}


def run_tflite(model_path, readings):
    interpreter = tflite.Interpreter(model_path=model_path)
    interpreter.allocate_tensors()
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    results = []
    for reading in readings:
        interpreter.set_tensor(inp["index"], reading[None])
        interpreter.invoke()
        results.append(interpreter.get_tensor(out["index"])[0])
    return np.stack(results)


def main(out_dir):
    model = Classifier()
    saved = str(out_dir / "saved_model")
    tf.saved_model.save(model, saved, signatures={"serving_default": model.serve})
    model_path = out_dir / "classifier.tflite"
    model_path.write_bytes(tf.lite.TFLiteConverter.from_saved_model(saved).convert())

    readings = np.random.default_rng(0).standard_normal((4, 6)).astype("float32")
    write_reference(out_dir, {"reading": readings[:1]}, {"scores": run_tflite(str(model_path), readings)[:1]})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
