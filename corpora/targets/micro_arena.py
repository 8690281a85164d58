"""A small keyword-spotting-style conv net for a microcontroller: TFLM runs it, and the check says the arena it needs.

From https://github.com/tensorflow/tflite-micro/issues/2474 ("Figuring out the arena size and required operations
(before deploying by TFLM)": is there a Python way to find the arena a model needs and the ops it requires, before
flashing the board?) and https://github.com/tensorflow/tflite-micro/issues/438 (a small conv1d model failing on the
device with "Arena size is too small"). Here: a Keras 3 Sequential model over a 49x10 spectrogram patch (Conv2D 8
3x3 stride 2, relu -> DepthwiseConv2D 3x3, relu -> Conv2D 16 1x1 -> global average pool -> Dense(4) softmax), exported
with ``model.export(dir)`` with the usual unknown batch. ``--target micro`` needs static shapes, so the batch is pinned
to 1 (``repair diagnose --target micro`` reports the unknown batch as blocking, ``repair fix --target micro`` pins it);
every op has a TFLM kernel, and the micro check passes with the arena bytes TFLM used (14,224 bytes, measured).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    model = keras.Sequential([
        keras.Input((49, 10, 1), name="spectrogram"),
        keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
        keras.layers.DepthwiseConv2D(3, padding="same", activation="relu"),
        keras.layers.Conv2D(16, 1),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(4, activation="softmax", name="keyword"),
    ])
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    return out


CASE = Case(
    id="targets/micro_arena",
    summary="Keras 3 keyword-spotting conv net, batch pinned to 1 for micro: TFLM runs it, arena bytes reported",
    build=build,
    expect=Expect(
        findings=frozenset({"dynamic-dims"}),  # blocking under --target micro until the batch is pinned
        fix_exit=0,
        absent=frozenset({"micro-incompatible"}),
        rewrites=("pin_dynamic_dims",),
        diagnose_args=("--target", "micro"),
        fix_args=("--target", "micro"),
        note="every op has a TFLM kernel; the batch is pinned to 1; the check reports the arena TFLM used (14,224 bytes)",
    ),
)
