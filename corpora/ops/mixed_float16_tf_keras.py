"""tf_keras (Keras 2) model trained under mixed_float16, saved with ``model.save(dir)``.

``tf_keras.mixed_precision.set_global_policy("mixed_float16")``, the same CNN, and the legacy
SavedModel format. The converter fails on float16 ``BiasAdd, Conv2D, MatMul, Mean, Relu`` (tf_keras
also averages in float16).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.case import Case, Expect
from corpora.ops._mixed_precision import FLOAT16_FIX_ARGS, cnn


def build(dest: Path) -> Path:
    import tf_keras

    out = dest / SAVED_MODEL
    cnn(tf_keras).save(str(out))
    return out


CASE = Case(
    id="ops/mixed_float16_tf_keras",
    summary="tf_keras mixed_float16 CNN, model.save(dir): float16 ops need Flex",
    build=build,
    expect=Expect(
        findings=frozenset({"float16-ops"}),
        absent=frozenset({"needs-flex-ops"}),
        fix_exit=0,
        rewrites=("compute_in_float32",),
        fix_args=FLOAT16_FIX_ARGS,
    ),
    legacy_keras=True,
)
