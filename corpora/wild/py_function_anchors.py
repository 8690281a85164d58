"""A detection head that generates its anchors with ``tf.py_function`` (NumPy code) inside the graph.

Source: https://github.com/Thinklab-SJTU/R3Det_Tensorflow/issues/102 ("the model graph contains tf.py_func ...
the python function body wrapped by tf.py_func is not serialized": ``tmp_anchors =
tf.py_func(generate_anchors.generate_anchors_pre, ...)``, and on Android ``Encountered unresolved custom op:
PyFunc``) and https://github.com/tensorflow/tensorflow/issues/55445 (same error from a Keras model).

Rebuilt: tf.Module, signature features: float32 [1, 4, 4, 8] -> box deltas (conv 1x1) + anchors from
``tf.py_function(numpy_anchors, [h, w], tf.float32)`` -> decoded boxes; ``tf.saved_model.save``. The Python
body is not in the artifact: nothing can be rewritten from it. Must be refused, naming the py_function.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, weights
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import numpy as np
    import tensorflow as tf

    def numpy_anchors(h, w):
        ys, xs = np.meshgrid(np.arange(int(h)), np.arange(int(w)), indexing="ij")
        centers = np.stack([ys, xs, ys, xs], axis=-1).reshape(-1, 4).astype("float32") * 8.0
        return centers + np.array([-8, -8, 8, 8], dtype="float32")

    class Head(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.kernel = tf.Variable(weights(1, 1, 8, 4))

        @tf.function(input_signature=[tf.TensorSpec([1, 4, 4, 8], tf.float32, name="features")])
        def serve(self, features):
            deltas = tf.reshape(tf.nn.conv2d(features, self.kernel, 1, "VALID"), [-1, 4])
            anchors = tf.py_function(numpy_anchors, [4, 4], tf.float32)
            return {"boxes": tf.reshape(anchors, [-1, 4]) + deltas}

    model = Head()
    path = dest / SAVED_MODEL
    tf.saved_model.save(model, str(path), signatures={"serving_default": model.serve})
    x = rng(30).standard_normal((1, 4, 4, 8)).astype("float32")
    write_reference(dest, {"features": x}, model.serve(tf.constant(x)))
    return path


CASE = WildCase(
    id="wild/py_function_anchors",
    url="https://github.com/Thinklab-SJTU/R3Det_Tensorflow/issues/102",
    summary="detection head with anchors from tf.py_function (NumPy) in the serving graph",
    build=build,
    expect="refused",
    reason="py_function",
)
