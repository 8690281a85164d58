"""Image model with a fully dynamic input signature [None, None, None, 3].

A ``tf.Module`` (conv 3x3 3->8 -> relu -> conv 3x3 8->8 -> mean over H,W -> matmul to 5 classes)
saved with ``input_signature=[TensorSpec([None, None, None, 3], name='image')]`` as
serving_default. The default converter accepts it (input shape [1,1,1,3], shape_signature
[-1,-1,-1,3]), but interpreters that do not resize fail with ``Cannot set tensor: Dimension
mismatch``, and many delegates want static shapes. The user pins the deployment shape with
``--pin image=1,32,32,3``.
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
            self.k1 = tf.Variable(weights(3, 3, 3, 8), name="conv1")
            self.k2 = tf.Variable(weights(3, 3, 8, 8), name="conv2")
            self.w = tf.Variable(weights(8, 5), name="head")

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="image")])
        def serve(self, image):
            h = tf.nn.relu(tf.nn.conv2d(image, self.k1, 1, "SAME"))
            h = tf.nn.conv2d(h, self.k2, 1, "SAME")
            return {"logits": tf.matmul(tf.reduce_mean(h, axis=[1, 2]), self.w)}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="shapes/dynamic_image",
    summary="tf.Module image model with input signature [None,None,None,3]: dynamic H, W",
    build=build,
    expect=Expect(
        findings=frozenset({"dynamic-dims"}),
        fix_exit=0,
        rewrites=("pin_dynamic_dims",),
        fix_args=("--pin", "image=1,32,32,3"),
        note="converts; the interpreter needs resize_tensor_input; pinned to 1x32x32x3",
    ),
)
