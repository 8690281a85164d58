"""Dynamic signature whose preprocessing pins the size itself with ``tf.ensure_shape``.

A user exported an image model with a generic ``[None, None, None, 3]`` signature, but the first
thing the function does is ``tf.ensure_shape(image, [None, 8, 8, 3])`` before a flatten + matmul
that only works at 8x8. The .tflite keeps -1 dims that can never be anything but 8, and generated
parity inputs of any other size are rejected. Measured on TF 2.21: EnsureShape on a dynamic input
does not fold, so the builtins-only conversion fails with ERROR_NEEDS_FLEX_OPS (EnsureShape). The graph fixes the
size, so repair pins it without being told: no --pin, no --sample.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all, weights
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf

    seed_all()

    class Model(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.k = tf.Variable(weights(3, 3, 3, 4), name="conv")
            self.w = tf.Variable(weights(256, 5, scale=0.1), name="head")

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="image")])
        def serve(self, image):
            image = tf.ensure_shape(image, [None, 8, 8, 3])
            h = tf.nn.relu(tf.nn.conv2d(image, self.k, 1, "SAME"))
            return {"logits": tf.matmul(tf.reshape(h, [-1, 256]), self.w)}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="shapes/ensure_shape",
    summary="signature [None,None,None,3] whose graph calls tf.ensure_shape(image, [None,8,8,3])",
    build=build,
    expect=Expect(
        findings=frozenset({"dynamic-dims", "needs-flex-ops"}),
        fix_exit=0,
        rewrites=("pin_dynamic_dims",),
        fix_args=("--unsafe-fixes",),  # the fix is unsafe: the user must ask for it
        note="EnsureShape on a dynamic input is Flex; the pin [?,8,8,3] is inferred from it and folds it away",
    ),
)
