"""Keras 3 GRU with batch and time None, saved as ``.h5``; the user knows the frame count.

Source: https://github.com/tensorflow/tensorflow/issues/34266 ("Cannot convert models to the *.tflite format
with GRU/GRUCells"; the suggested new converter then crashed on device) and
https://github.com/tensorflow/tensorflow/issues/59921 (a GRU model converted from ``.h5``). Today the converter
says ``'tf.TensorListReserve' op requires element_shape to be static during TF Lite transformation pass``.

Rebuilt: Keras 3 functional Input((None, 13), name="frames") (MFCC frames, any length) -> GRU(16) -> Dense(3),
``model.save("model.h5")``. The user runs 20-frame windows on device and says so: ``--pin frames=1,20,13``.
The pin is a contract: the published signature must be exactly [1, 20, 13].
"""

from __future__ import annotations

from pathlib import Path

from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((None, 13), name="frames")
    model = keras.Model(inp, keras.layers.Dense(3)(keras.layers.GRU(16)(inp)))
    path = dest / "model.h5"
    model.save(path)
    x = rng(2).standard_normal((1, 20, 13)).astype("float32")
    write_reference(dest, {"frames": x}, model(x, training=False))
    return path


CASE = WildCase(
    id="wild/gru_keras3_h5_dynamic_time",
    url="https://github.com/tensorflow/tensorflow/issues/34266",
    summary="Keras 3 GRU, batch and time None, .h5; user pins frames=1,20,13",
    build=build,
    expect="repaired",
    args=("--pin", "frames=1,20,13"),
    pinned={"frames": (1, 20, 13)},
)
