"""A Keras model for a microcontroller whose custom layer tiles and takes a sign: TFLM has no TILE or SIGN kernel.

Rebuilt from https://github.com/tensorflow/tflite-micro/issues/2231 ("How to make TFLM support Repeat/Tile op":
``tf.repeat`` in a Keras layer converts to TILE, which TFLM does not have) and
https://github.com/tensorflow/tflite-micro/issues/3236 (a maintainer: TFLM does not support TILE). Here: a Keras 3
functional model with a static batch-1 input [1, 4, 8] (a window of 4 sensor frames), Dense -> a custom layer that
repeats the window three times (``keras.ops.tile``) and keeps only the sign of each feature (``keras.ops.sign``,
a ternary quantisation) -> Flatten -> Dense(3), exported with ``model.export(dir, input_signature=...)`` at batch 1
as microcontroller builds need. It converts builtins-only, but the TFLM interpreter fails at allocation with
"Didn't find op for builtin opcode 'TILE'" (and SIGN after it). Repair substitutes CONCATENATION of copies for the
tile and comparisons for the sign.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    seed_all(keras=True)

    class RepeatSign(keras.layers.Layer):
        def call(self, x):
            return keras.ops.sign(keras.ops.tile(x, [1, 3, 1]))

    inputs = keras.Input(shape=(4, 8), batch_size=1, name="frames")
    h = keras.layers.Dense(8)(inputs)
    h = RepeatSign(name="repeat_sign")(h)
    h = keras.layers.Flatten()(h)
    model = keras.Model(inputs, keras.layers.Dense(3, name="scores")(h))
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False, input_signature=[tf.TensorSpec([1, 4, 8], tf.float32, name="frames")])
    return out


CASE = Case(
    id="targets/micro_tile_sign",
    summary="Keras 3 layer with keras.ops.tile and keras.ops.sign, batch 1: TFLM has no TILE or SIGN kernel",
    build=build,
    expect=Expect(
        findings=frozenset({"micro-incompatible"}),
        fix_exit=0,
        rewrites=("substitute_target_ops",),
        absent_ops=frozenset({"TILE", "SIGN"}),
        diagnose_args=("--target", "micro"),
        fix_args=("--target", "micro"),
        note="TFLM: Didn't find op for builtin opcode 'TILE'; repaired to CONCATENATION and GREATER/LESS/SELECT_V2",
    ),
)
