"""``tf.signal.fftshift`` on a spectrum: a Roll whose shift is computed from the static shape.

A ``tf.Module`` with input_signature spectrum [None, 8, 10] float32 centres the spectrum with
``tf.signal.fftshift(spectrum, axes=[1, 2])`` and scales it by W [10, 10]. Saved with
``tf.saved_model.save``. fftshift builds its shift as ``gather(shape(x), axes) // 2`` and calls Roll with
vectors of shifts and axes: ``ERROR_NEEDS_FLEX_OPS`` / ``TF Select ops: Roll``. The rolled axes have static
lengths, so the shift is fixed (4, 5) although it is not a Const node; repair evaluates it from the static
shape and substitutes one concat of two slices per axis.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all, weights
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf

    seed_all()

    class Centre(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(weights(10, 10), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 8, 10], tf.float32, name="spectrum")])
        def serve(self, spectrum):
            return {"centred": tf.matmul(tf.signal.fftshift(spectrum, axes=[1, 2]), self.w)}

    m = Centre()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/fftshift_spectrum",
    summary="tf.signal.fftshift over two static axes: Flex Roll with a shift computed from the shape",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-flex-ops"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: Roll (shift = gather(shape, axes) // 2)",
    ),
)
