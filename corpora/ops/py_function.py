"""Serving function that calls Python through ``tf.py_function``.

A ``tf.Module`` with input_signature x [None,4] float32 post-processes x @ W with a NumPy function
wrapped in ``tf.py_function`` (a clip written in NumPy). The save succeeds, but the graph holds an
``EagerPyFunc`` op that no runtime outside this Python process can run: the converter fails with
``ERROR_NEEDS_CUSTOM_OPS`` / ``Custom ops: EagerPyFunc``.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all, weights
from corpora.case import Case, Expect


def _np_clip(t):
    import numpy as np

    return np.clip(t.numpy(), -1.0, 1.0).astype(np.float32)


def build(dest: Path) -> Path:
    import tensorflow as tf

    seed_all()

    class Model(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(weights(4, 3), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def serve(self, x):
            y = tf.py_function(_np_clip, [tf.matmul(x, self.w)], Tout=tf.float32)
            y.set_shape([None, 3])
            return {"y": y}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/py_function",
    summary="tf.py_function in the serving function: needs the custom op EagerPyFunc",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-custom-ops"}),
        fix_exit=1,
        note="converter: ERROR_NEEDS_CUSTOM_OPS, Custom ops: EagerPyFunc",
    ),
)
