"""An NVR-style object scorer: a detector class that runs a .tflite on the CPU, or on an Edge TPU through
``load_delegate`` when one is configured, importing the interpreter from ``tflite_runtime`` and falling back to
``tensorflow.lite.python.interpreter``.

Rebuilt from blakeblackshear/frigate#21876 ("Fallback from tflite-runtime to ai-edge-litert (instead of
tensorflow)"): frigate's detectors do ``from tflite_runtime.interpreter import Interpreter, load_delegate`` with an
``except ModuleNotFoundError`` fallback to TensorFlow's copy of the same module; ai-edge-litert "provides the same
entrypoints as tflite-runtime", so the fix is the import. Here tflite_runtime is not installed and the fallback runs.

Usage: python litert_from_import_fallback_delegate.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

try:
    from tflite_runtime.interpreter import Interpreter, load_delegate
except ModuleNotFoundError:
    from tensorflow.lite.python.interpreter import Interpreter, load_delegate

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

EDGETPU_DEVICE = None  # e.g. {"device": "usb"}; None: CPU


class CpuTfl:
    def __init__(self, model_path, num_threads=None):
        self.interpreter = Interpreter(model_path=model_path, num_threads=num_threads or 3)
        self.interpreter.allocate_tensors()
        self.tensor_input_details = self.interpreter.get_input_details()
        self.tensor_output_details = self.interpreter.get_output_details()

    def detect_raw(self, tensor_input):
        self.interpreter.set_tensor(self.tensor_input_details[0]["index"], tensor_input)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.tensor_output_details[0]["index"])


class EdgeTpuTfl(CpuTfl):
    def __init__(self, model_path, device_config):
        delegate = load_delegate("libedgetpu.so.1.0", device_config)
        self.interpreter = Interpreter(model_path=model_path, experimental_delegates=[delegate])
        self.interpreter.allocate_tensors()
        self.tensor_input_details = self.interpreter.get_input_details()
        self.tensor_output_details = self.interpreter.get_output_details()


class Scorer(tf.Module):
    def __init__(self):
        super().__init__()
        self.kernel = tf.Variable(tf.random.stateless_normal([3, 3, 3, 4], seed=(4, 2)) * 0.2)
        self.head = tf.Variable(tf.random.stateless_normal([4, 2], seed=(7, 1)))

    @tf.function(input_signature=[tf.TensorSpec([1, 16, 16, 3], tf.float32, name="frame")])
    def serve(self, frame):
        features = tf.nn.relu(tf.nn.conv2d(frame, self.kernel, 2, "SAME"))
        return {"scores": tf.nn.sigmoid(tf.matmul(tf.reduce_mean(features, axis=[1, 2]), self.head))}


def main(out_dir):
    scorer = Scorer()
    saved = str(out_dir / "saved_model")
    tf.saved_model.save(scorer, saved, signatures={"serving_default": scorer.serve})
    model_path = out_dir / "scorer.tflite"
    model_path.write_bytes(tf.lite.TFLiteConverter.from_saved_model(saved).convert())

    detector = EdgeTpuTfl(str(model_path), EDGETPU_DEVICE) if EDGETPU_DEVICE else CpuTfl(str(model_path), 2)
    frame = np.random.default_rng(0).random((1, 16, 16, 3), dtype=np.float32)
    write_reference(out_dir, {"frame": frame}, {"scores": detector.detect_raw(frame)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
