"""A tf.Module saved with ``tf.saved_model.save`` and no signatures, after calling it once.

Source: https://github.com/tensorflow/tensorflow/issues/48554 (maintainer: "I think your saved model does not
[have] any signatures. TFLite converter API needs at least one signature available ... you can create a simple
concrete function to wrap the callable saved model"). The converter: ``ValueError: Only support at least one
signature key.``

Rebuilt: tf.Module with a variable and ``@tf.function`` ``__call__`` (no input_signature), called once on a
[1, 4] batch (so it is traced), ``tf.saved_model.save(module, dir)``. The traced function becomes
serving_default (its traced shape).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, weights
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import tensorflow as tf

    class Scorer(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(weights(4, 2))

        @tf.function
        def __call__(self, x):
            return tf.nn.sigmoid(tf.matmul(x, self.w))

    model = Scorer()
    x = rng(27).standard_normal((1, 4)).astype("float32")
    y = model(tf.constant(x))
    path = dest / SAVED_MODEL
    tf.saved_model.save(model, str(path))
    write_reference(dest, {"x": x}, y)
    return path


CASE = WildCase(
    id="wild/no_signature_traced",
    url="https://github.com/tensorflow/tensorflow/issues/48554",
    summary="tf.Module saved without signatures after one call: 'Only support at least one signature key.'",
    build=build,
    expect="repaired",
    rewrites=("wrap_traced_function",),
)
