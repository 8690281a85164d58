"""Token ids saved as float32 in the calibration file of an Embedding model: cast to int32 losslessly.

From https://github.com/tensorflow/model-optimization/issues/1090 (the representative data of an Embedding model built
with ``np.random.randint(0, 5, (200, 10)).astype(np.float32)``) and https://github.com/tensorflow/tensorflow/issues/44197
("Cannot convert keras.layers.Embedding": Embedding(1000, 64) over 10 int ids, a representative dataset of random ids).
Measured (TF 2.21): the converter's int8 path fed those float ids stops in calibration with "ValueError: Cannot set tensor:
Got value of type FLOAT32 but expected type INT32 for input 0, name: serving_default_tokens:0". Every value is an
integer in int32's range, so the cast loses nothing. Here: Keras 3 Sequential (int32 tokens (10,) -> Embedding(1000, 16)
-> global average pool -> Dense 4), exported with ``model.export(dir)``; ``calibration.npz`` holds 120 rows of ids as
float32 (90 calibrate, 30 held out), ``check.npz`` 100 more as int32. Plain int8 on the cast data: cosine 0.9996.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras
    import numpy as np

    seed_all(keras=True)
    model = keras.Sequential([
        keras.Input((10,), name="tokens", dtype="int32"),
        keras.layers.Embedding(1000, 16),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dense(4, name="scores"),
    ])
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    rng = np.random.default_rng(0)
    np.savez(dest / "calibration.npz", tokens=rng.integers(0, 1000, (120, 10)).astype(np.float32))  # the user's mistake
    np.savez(dest / "check.npz", tokens=rng.integers(0, 1000, (100, 10)).astype(np.int32))
    return out


_ARGS = ("--quantize", "int8", "--calibration", "{case_dir}/calibration.npz")

CASE = Case(
    id="quantize/calibration_dtype",
    summary="Keras 3 Embedding model, calibration ids saved as float32: cast to int32 losslessly, int8 within budget",
    build=build,
    expect=Expect(
        findings=frozenset({"calibration-dtype"}),
        fix_exit=0,
        absent=frozenset({"quant-failed", "quant-over-budget"}),
        diagnose_args=_ARGS,
        fix_args=_ARGS,
        note="the float32 ids are all integral: cast to int32 and said in the report (default budget cosine 0.99)",
    ),
)
