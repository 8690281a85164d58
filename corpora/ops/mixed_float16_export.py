"""Keras 3 model trained under the mixed_float16 policy, exported with ``model.export``.

The user followed the mixed-precision guide: ``keras.mixed_precision.set_global_policy("mixed_float16")``
before building a small CNN (Conv2D, GlobalAveragePooling, Dense, Dense(dtype="float32") last), then
``model.export(dir)`` for TFLite. Variables stay float32, but every layer casts them and its input to
float16, so the converter fails with ``ERROR_NEEDS_FLEX_OPS`` / ``TF Select ops: BiasAdd, Conv2D,
MatMul, Relu`` whose ``Details:`` lines show ``xf16`` types: the compute dtype is the cause.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.case import Case, Expect
from corpora.ops._mixed_precision import FLOAT16_FIX_ARGS, cnn


def build(dest: Path) -> Path:
    import keras

    out = dest / SAVED_MODEL
    cnn(keras).export(str(out), verbose=False)
    return out


CASE = Case(
    id="ops/mixed_float16_export",
    summary="Keras 3 mixed_float16 CNN, model.export: float16 Conv2D/MatMul need Flex",
    build=build,
    expect=Expect(
        findings=frozenset({"float16-ops"}),
        absent=frozenset({"needs-flex-ops"}),
        fix_exit=0,
        rewrites=("compute_in_float32",),
        fix_args=FLOAT16_FIX_ARGS,
        note="converter: ERROR_NEEDS_FLEX_OPS with xf16 in the Details lines",
    ),
)
