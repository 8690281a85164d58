"""``tf.image.resize(antialias=True)``: the custom op ScaleAndTranslate, with no faithful builtin.

A ``tf.Module`` with input_signature image [None,8,8,3] float32 returns
``tf.image.resize(image, [5, 5], antialias=True)`` (bilinear, non-integer factor 8/5). The
converter fails with ``ERROR_NEEDS_CUSTOM_OPS`` / ``Custom ops: ScaleAndTranslate`` (docs/facts.md 7);
SELECT_TF_OPS does not help. Dropping ``antialias`` converts but changes the outputs (docs/facts.md
measured diff 0.255), so repair must refuse rather than hand back a different model.
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
            return {"y": tf.image.resize(image, [5, 5], antialias=True)}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/resize_antialias",
    summary="tf.image.resize 8x8->5x5 with antialias=True: custom op ScaleAndTranslate, refused",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-custom-ops"}),
        fix_exit=1,
        note="converter: ERROR_NEEDS_CUSTOM_OPS, Custom ops: ScaleAndTranslate (no faithful rewrite)",
    ),
)
