"""Serving function that uses ``tf.linalg.cross``, which is neither a builtin nor a Flex op.

A ``tf.Module`` with input_signature x [None,6] float32 returns the cross product of its two
3-vectors, ``tf.linalg.cross(x[:, :3], x[:, 3:])`` (e.g. a surface normal from two edges). The
converter fails with ``ERROR_NEEDS_CUSTOM_OPS`` / ``Custom ops: Cross``; SELECT_TF_OPS does not
help. A rewrite (explicit component formula) is needed.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf

    seed_all()

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.float32, name="x")])
        def serve(self, x):
            return {"normal": tf.linalg.cross(x[:, :3], x[:, 3:])}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/custom_cross",
    summary="tf.linalg.cross of two [None,3] slices: needs the custom op Cross",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-custom-ops"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_CUSTOM_OPS, Custom ops: Cross (SELECT_TF_OPS does not help)",
    ),
)
