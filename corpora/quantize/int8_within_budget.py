"""The integer-only quantization guide's MNIST classifier with uint8 input and output: int8 within budget at once.

From https://github.com/tensorflow/tensorflow/issues/44896 and https://github.com/tensorflow/tensorflow/issues/43062
(users following the "integer-only quantization" guide: the guide's Keras model, a representative dataset of 100
images at batch 1, ``inference_input_type = inference_output_type = tf.uint8``, asking how to feed the calibration data
and whether the result is still right). Here: the guide's model (Reshape -> Conv2D 12 3x3 relu -> MaxPool 2 -> Flatten ->
Dense 10 logits) in Keras 3, exported with ``model.export(dir)``; the build writes 200 normalised "images" (uniform
[0, 1)) as ``calibration.npz`` (150 calibrate, the last 50 are held out) and 100 more as ``check.npz``.
Measured with TF 2.21's own converter (uint8 I/O): on the 50 held-out rows top1 1.0, mean cosine 0.99993, max_abs
0.0077; on 100 fresh rows top1 0.99, cosine 0.99993. ``--budget top1=0.9,cosine=0.999`` holds with margin and no layer
needs to stay float.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build_mnist_guide(dest: Path) -> Path:
    """The guide's model exported to ``dest/saved_model``, with ``calibration.npz`` and ``check.npz`` beside it."""
    import keras
    import numpy as np

    seed_all(keras=True)
    model = keras.Sequential([
        keras.Input((28, 28), name="image"),
        keras.layers.Reshape((28, 28, 1)),
        keras.layers.Conv2D(12, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(10, name="logits"),
    ])
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    rng = np.random.default_rng(0)
    np.savez(dest / "calibration.npz", image=rng.uniform(0, 1, (200, 28, 28)).astype(np.float32))
    np.savez(dest / "check.npz", image=rng.uniform(0, 1, (100, 28, 28)).astype(np.float32))
    return out


def build(dest: Path) -> Path:
    return build_mnist_guide(dest)


_DATA = ("--calibration", "{case_dir}/calibration.npz")

CASE = Case(
    id="quantize/int8_within_budget",
    summary="Keras 3 MNIST conv classifier of the integer-only guide, int8 with uint8 I/O: within budget, no layer float",
    build=build,
    expect=Expect(
        findings=frozenset(),
        fix_exit=0,
        absent=frozenset({"quant-over-budget", "quant-float-ops", "quant-failed", "calibration-dtype"}),
        diagnose_args=("--quantize", "int8", "--io", "uint8", *_DATA, "--budget", "top1=0.9,cosine=0.999"),
        fix_args=("--quantize", "int8", "--io", "uint8", *_DATA, "--budget", "top1=0.9,cosine=0.999"),
        note="plain int8 meets the budget at once: top1 1.0, cosine 0.99993 on the held-out rows (measured)",
    ),
)
