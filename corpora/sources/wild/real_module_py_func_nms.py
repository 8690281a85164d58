"""A rotated-box detector head served from a ``tf.Module``: the scores come from TF ops, the NMS is a NumPy
routine called through ``tf.compat.v1.py_func``; the input pipeline decodes its records with
``tf.py_function`` inside ``dataset.map``.

Rebuilt from Thinklab-SJTU/R3Det_Tensorflow#102: the model converted to a .tflite, and on Android the
interpreter stopped at ``Encountered unresolved custom op: PyFunc``. Only the ``py_func`` in the serving
function reaches the model; the one the ``tf.data`` pipeline maps over is never exported, so only the first
deserves a warning.

Usage: python real_module_py_func_nms.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

N_BOXES = 8


def nms_cpu(boxes, scores):
    order = np.argsort(-scores)
    return order[: N_BOXES // 2].astype(np.int64)


def decode_record(raw):
    return np.asarray(raw, dtype=np.float32) / 255.0


def load_example(raw):
    x = tf.py_function(decode_record, [raw], tf.float32)
    x.set_shape([N_BOXES, 5])
    return x


class DetectorHead(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(np.random.default_rng(0).standard_normal((5, 1)).astype("float32"), name="w")

    @tf.function(input_signature=[tf.TensorSpec([N_BOXES, 5], tf.float32, name="boxes")])
    def serve(self, boxes):
        scores = tf.sigmoid(tf.squeeze(tf.matmul(boxes, self.w), axis=1))
        keep = tf.compat.v1.py_func(nms_cpu, [boxes, scores], tf.int64)
        keep.set_shape([N_BOXES // 2])
        return {"boxes": tf.gather(boxes, keep), "scores": tf.gather(scores, keep)}


def main(out_dir):
    raw = np.random.default_rng(2).integers(0, 255, size=(4, N_BOXES, 5)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices(raw).map(load_example).batch(1)
    head = DetectorHead()
    for batch in dataset.take(1):
        head.serve(batch[0])  # a smoke test on real data

    tf.saved_model.save(head, str(out_dir / "saved_model"))

    x = np.random.default_rng(1).standard_normal((N_BOXES, 5)).astype("float32")
    write_reference(out_dir, {"boxes": x}, head.serve(x))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
