"""``tf.image.resize(method="area")`` by an integer factor: the custom op ResizeArea.

A ``tf.Module`` with input_signature image [None,8,8,3] float32 downsamples to 4x4 with
``method="area"`` and returns the per-channel mean over H and W. The converter fails with
``ERROR_NEEDS_CUSTOM_OPS`` / ``Custom ops: ResizeArea`` (docs/facts.md 7); SELECT_TF_OPS does not help.
The factor is exactly 2, so the area resize equals ``avg_pool2d(2, 2)``, which is builtin.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf

    seed_all()

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 3], tf.float32, name="image")])
        def serve(self, image):
            small = tf.image.resize(image, [4, 4], method="area")
            return {"y": tf.reduce_mean(small, axis=[1, 2])}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/resize_area",
    summary="tf.image.resize 8x8->4x4 with method='area': needs the custom op ResizeArea",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-custom-ops"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_CUSTOM_OPS, Custom ops: ResizeArea (integer factor 2)",
    ),
)
