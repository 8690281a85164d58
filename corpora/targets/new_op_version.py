"""A Keras streaming model that writes each frame into a cache at an int64 position: needs LiteRT 2.17 to load.

The failure class: a model converted with a newer TensorFlow fails to load on the runtime the app ships, "Didn't
find op for builtin opcode 'FULLY_CONNECTED' version '12'. An older version of this builtin might be supported. Are
you using an old TFLite binary with a newer model?" (https://github.com/tensorflow/tensorflow/issues/80736, Android
runtime older than the converter). The construct here is the cache update of a streaming or decoding model
(``keras.ops.slice_update`` at a runtime position, as in a KV cache); the converter lowers an int64 start index to
DYNAMIC_UPDATE_SLICE version 2, a version added for exactly that (https://github.com/google-ai-edge/litert-torch/pull/37,
"lower to dynamic update slice with int64 index", for models with an external cache), which TensorFlow's runtime
table puts at 2.17.0. The position is int64 because that is what NumPy gives a Python int.

Here: a Keras 3 functional model, inputs cache [1, 8, 16], frame [1, 1, 16] and position [1] int64; a layer writes
the frame at row ``position`` of the cache (``keras.ops.slice_update``) and a Dense reads the mean of the updated
cache; exported with ``model.export(dir, input_signature=...)``. It converts builtins-only, runs on LiteRT 2.21, and
fails to load on tflite-runtime 2.14.0 with "Didn't find op for builtin opcode 'DYNAMIC_UPDATE_SLICE' version '2'"
(measured). ``repair diagnose --target runtime=2.14`` names DYNAMIC_UPDATE_SLICE v2 (needs 2.17.0); ``repair fix``
repairs it with lower_op_versions: the int64 start index is clamped to [0, 2**31-1] and cast to int32 before the
XlaDynamicUpdateSlice, so the converter writes DYNAMIC_UPDATE_SLICE v1 (2.9.0) with CAST, MAXIMUM and MINIMUM v1.
Exact for every position (TensorFlow and the TFLite kernels clamp the start to [0, rows - 1] anyway): the repaired
.tflite loads on tflite-runtime 2.14.0 and writes the same cache as the original for positions 0, 5, 7, 9, -3,
2**31 + 3 and 2**40 (measured).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    seed_all(keras=True)

    class WriteFrame(keras.layers.Layer):
        """Writes this step's frame into the rolling cache at the write position."""

        def call(self, cache, frame, position):
            zero = keras.ops.zeros((1,), dtype="int64")
            start = keras.ops.concatenate([zero, position, zero])  # [batch 0, row position, feature 0]
            return keras.ops.slice_update(cache, start, frame)

    cache = keras.Input((8, 16), batch_size=1, name="cache")
    frame = keras.Input((1, 16), batch_size=1, name="frame")
    position = keras.Input((), batch_size=1, dtype="int64", name="position")
    updated = WriteFrame(name="write_frame")(cache, frame, position)
    context = keras.layers.Dense(4, name="context")(keras.ops.mean(updated, axis=1))
    model = keras.Model({"cache": cache, "frame": frame, "position": position}, {"cache_out": updated, "context": context})
    out = dest / SAVED_MODEL
    signature = {
        "cache": tf.TensorSpec([1, 8, 16], tf.float32, name="cache"),
        "frame": tf.TensorSpec([1, 1, 16], tf.float32, name="frame"),
        "position": tf.TensorSpec([1], tf.int64, name="position"),
    }
    model.export(str(out), verbose=False, input_signature=[signature])
    return out


CASE = Case(
    id="targets/new_op_version",
    summary="Keras 3 cache update (keras.ops.slice_update) at an int64 position: DYNAMIC_UPDATE_SLICE v2 needs 2.17",
    build=build,
    expect=Expect(
        findings=frozenset({"runtime-too-old"}),
        fix_exit=0,
        rewrites=("lower_op_versions",),
        diagnose_args=("--target", "runtime=2.14"),
        fix_args=("--target", "runtime=2.14"),
        note="DYNAMIC_UPDATE_SLICE v2 (int64 start index) needs runtime 2.17.0; tflite-runtime 2.14.0 refuses it at load; "
             "the index clamped and cast to int32 gives v1 (2.9.0)",
    ),
)
