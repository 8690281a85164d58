"""Batched 3x3 ``tf.linalg.inv`` and ``tf.linalg.det``: the Flex ops MatrixInverse, MatrixDeterminant.

A ``tf.Module`` with input_signature m [None,3,3] float32 (e.g. per-sample covariance or pose
matrices) shifts each matrix by 3*I to keep it well conditioned, then returns its inverse "y" and
its determinant "det". The converter fails with ``ERROR_NEEDS_FLEX_OPS`` /
``TF Select ops: MatrixDeterminant, MatrixInverse`` (docs/facts.md 7). For a static 3x3 both have closed
forms (adjugate / cofactor expansion) that are builtin.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf

    seed_all()

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3, 3], tf.float32, name="m")])
        def serve(self, m):
            a = m + 3.0 * tf.eye(3)
            return {"y": tf.linalg.inv(a), "det": tf.linalg.det(a)}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/matrix_inverse",
    summary="tf.linalg.inv and det of [None,3,3] matrices: need Flex MatrixInverse, MatrixDeterminant",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-flex-ops"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: MatrixDeterminant, MatrixInverse",
    ),
)
