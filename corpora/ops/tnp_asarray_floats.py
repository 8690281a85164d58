"""tf.experimental.numpy float64 leak: ``tnp.asarray`` of Python floats is float64.

A ``tf.Module`` with input_signature x [None,8] float32 returns ``tnp.add(x, tnp.asarray([0.1] * 8))``
(a bias written NumPy-style, with ``tnp.experimental_enable_numpy_behavior()`` on as the tnp guide
says). Like NumPy, tnp makes Python floats float64, and ``tnp.add`` promotes x to float64, so the
output is float64 and the converter fails with ``ERROR_NEEDS_FLEX_OPS`` / ``TF Select ops: AddV2``
with ``f64`` details (docs/facts.md 3; numpy behaviour off gives the same graph). The model is meant to be
float32: repair computes in float32.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf
    import tensorflow.experimental.numpy as tnp

    seed_all()
    tnp.experimental_enable_numpy_behavior()  # as the tnp guide says (this call traces without it too)

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
        def serve(self, x):
            return {"y": tnp.add(x, tnp.asarray([0.1] * 8))}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/tnp_asarray_floats",
    summary="tnp.add(x, tnp.asarray([0.1]*8)): Python floats are float64, AddV2 on f64 needs Flex",
    build=build,
    expect=Expect(
        findings=frozenset({"float64-ops"}),
        fix_exit=0,
        rewrites=("compute_in_float32",),
        # no flag: compute_in_float32 keeps the contract and runs by default, proven by the gate (Safety.VERIFIED)
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: AddV2 with f64 details",
    ),
)
