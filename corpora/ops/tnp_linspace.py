"""tf.experimental.numpy float64 leak: ``tnp.linspace`` is float64.

A ``tf.Module`` with input_signature x [None,8] float32 returns ``x * tnp.linspace(0, 1, 8)`` (a
linear ramp weighting, with ``tnp.experimental_enable_numpy_behavior()`` on as the tnp guide says;
without it ``x * ...`` raises a dtype TypeError at trace time). ``tnp.linspace`` defaults to float64
like NumPy, and type promotion turns the product into float64, so the converter fails with
``ERROR_NEEDS_FLEX_OPS`` / ``TF Select ops: Mul`` with ``f64`` details (docs/facts.md 3). The model is meant
to be float32: repair computes in float32.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf
    import tensorflow.experimental.numpy as tnp

    seed_all()
    tnp.experimental_enable_numpy_behavior()  # as the tnp guide says; without it `x * ...` raises

    class Model(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
        def serve(self, x):
            return {"y": x * tnp.linspace(0, 1, 8)}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/tnp_linspace",
    summary="x * tnp.linspace(0, 1, 8): float64 linspace promotes the float32 input (Flex Mul on f64)",
    build=build,
    expect=Expect(
        findings=frozenset({"float64-ops"}),
        fix_exit=0,
        rewrites=("compute_in_float32",),
        # no flag: compute_in_float32 keeps the contract and runs by default, proven by the gate (Safety.VERIFIED)
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: Mul with f64 details",
    ),
)
