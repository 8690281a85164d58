"""A replaced op feeding another: ``tf.roll`` into ``tf.math.cumprod`` (NeRF-style transmittance).

A ``tf.Module`` with input_signature x [None, 8] float32 (per-sample densities along a ray) computes
alpha = sigmoid(x W), shifts ``1 - alpha`` one step along the ray with ``tf.roll`` and multiplies it up
with ``tf.math.cumprod``: the transmittance in front of each sample. Saved with ``tf.saved_model.save``.
The converter fails with ``ERROR_NEEDS_FLEX_OPS`` / ``TF Select ops: Cumprod, Roll``. Both have exact
builtin equivalents, but the Cumprod reads the Roll's output: substituting the Roll first left the
Cumprod pointing at a node that no longer existed (``KeyError: "The name '.../Roll:0' refers to a Tensor
which does not exist"``). Repair must substitute the chain.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all, weights
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf

    seed_all()

    class Transmittance(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(weights(8, 8, scale=0.4), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 8], tf.float32, name="x")])
        def serve(self, x):
            alpha = tf.sigmoid(tf.matmul(x, self.w))
            shifted = tf.roll(1.0 - alpha, shift=1, axis=1)
            return {"transmittance": tf.math.cumprod(shifted, axis=1)}

    m = Transmittance()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/roll_into_cumprod",
    summary="tf.roll feeding tf.math.cumprod: two Flex ops in a chain, both substituted",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-flex-ops"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: Cumprod, Roll",
    ),
)
