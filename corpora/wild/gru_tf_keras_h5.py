"""tf_keras stacked GRU denoiser saved as ``.h5`` and converted from the file.

Source: https://github.com/tensorflow/tensorflow/issues/59921 ("Problems of tflite conversion, about the file
of tflite (.h5 to .tflite)": ``GRU(64, return_sequences=True)`` layers; with ``unroll=False`` the converter
emits a WHILE/TensorList loop, with ``unroll=True`` it converts to plain ops) and
https://github.com/tensorflow/tensorflow/issues/97941 (GRU left as a while loop that TFLM cannot run).

Rebuilt: tf_keras Sequential [GRU(8, return_sequences=True), GRU(8), Dense(2)] on Input((12, 6)), saved with
``model.save("model.h5")``. Builtins-only conversion of the export fails on the TensorList; the file carries the
layer configs, so the loops can be unrolled.
"""

from __future__ import annotations

from pathlib import Path

from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    model = tf_keras.Sequential([
        tf_keras.Input(shape=(12, 6), name="features"),
        tf_keras.layers.GRU(8, return_sequences=True),
        tf_keras.layers.GRU(8),
        tf_keras.layers.Dense(2),
    ])
    path = dest / "model.h5"
    model.save(str(path))
    x = rng(5).standard_normal((2, 12, 6)).astype("float32")
    write_reference(dest, {"features": x}, model(x, training=False))
    return path


CASE = WildCase(
    id="wild/gru_tf_keras_h5",
    url="https://github.com/tensorflow/tensorflow/issues/59921",
    summary="tf_keras stacked GRU(8) x2 over 12 steps, .h5 file: TensorList loops",
    build=build,
    expect="repaired",
    legacy_keras=True,
)
