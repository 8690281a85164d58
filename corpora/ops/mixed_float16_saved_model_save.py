"""Keras 3 mixed_float16 model saved with ``tf.saved_model.save(model, dir)``.

Two defects at once: Keras 3 models saved this way read variables the restore never assigns (docs/facts.md
1i), and the mixed-precision policy makes every layer compute in float16. The converter stops at the
float16 ops (``TF Select ops: BiasAdd, Conv2D, MatMul, Relu, Transpose`` with ``xf16`` types);
the static check sees the unbound variables without converting.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.case import Case, Expect
from corpora.ops._mixed_precision import FLOAT16_FIX_ARGS, cnn


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    out = dest / SAVED_MODEL
    tf.saved_model.save(cnn(keras), str(out))
    return out


CASE = Case(
    id="ops/mixed_float16_saved_model_save",
    summary="Keras 3 mixed_float16 CNN saved with tf.saved_model.save: unbound variables and float16 ops",
    build=build,
    expect=Expect(
        findings=frozenset({"unbound-variables", "float16-ops"}),
        fix_exit=0,
        rewrites=("rebind_variables", "compute_in_float32"),
        fix_args=FLOAT16_FIX_ARGS,
    ),
)
