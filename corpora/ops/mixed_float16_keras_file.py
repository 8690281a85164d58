"""Keras 3 mixed_float16 model saved as ``.keras``, with a float16 output.

The same mixed-precision CNN, but the last Dense layer was left at the policy's dtype, so the model
returns float16 (a common slip: the guide asks for ``dtype="float32"`` on the last layer). Saved
with ``model.save("model.keras")``. The file must be exported, and the export fails conversion
like ``ops/mixed_float16_export``. The float16 output is part of the serving contract: the repair
computes in float32 and casts back to float16 at the output.
"""

from __future__ import annotations

from pathlib import Path

from corpora.case import Case, Expect
from corpora.ops._mixed_precision import FLOAT16_FIX_ARGS, cnn


def build(dest: Path) -> Path:
    import keras

    out = dest / "model.keras"
    cnn(keras, float32_output=False).save(out)
    return out


CASE = Case(
    id="ops/mixed_float16_keras_file",
    summary="Keras 3 mixed_float16 CNN with a float16 output, saved as .keras",
    build=build,
    expect=Expect(
        findings=frozenset({"keras-file", "float16-ops"}),
        fix_exit=0,
        rewrites=("export_keras_file", "compute_in_float32"),
        fix_args=FLOAT16_FIX_ARGS,
        note="float16 output kept at the signature by a cast",
    ),
)
