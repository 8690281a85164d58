"""A fully convolutional Keras 3 model with dynamic H/W that converts anyway; the user pins the camera size.

Source: https://github.com/tensorflow/tensorflow/issues/74843 ("Resizing the input shape in TensorFlow Lite C
API": the user wanted a fixed device resolution, 192x192, and resizing at run time failed with
``reshape.cc:92 num_input_elements != num_output_elements``) and
https://github.com/tensorflow/tensorflow/issues/24311 (``Interpreter.resizeInput`` not working).

Rebuilt: Keras 3 Input((None, None, 3), name="image") -> Conv2D(8, 3, stride 2) -> ReLU -> Conv2D(4, 1) ->
GlobalAveragePooling2D, ``model.export(dir)``. It converts builtins-only as it is (dynamic dims are accepted by
the default converter, docs/facts.md 2). The user asks for the device shape: ``--pin image=1,96,96,3``. An explicit pin
is a contract: it must be applied and reported even though nothing is broken.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((None, None, 3), name="image")
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inp)
    x = keras.layers.Conv2D(4, 1)(x)
    model = keras.Model(inp, keras.layers.GlobalAveragePooling2D()(x))
    path = dest / SAVED_MODEL
    model.export(str(path))
    x = rng(7).standard_normal((1, 96, 96, 3)).astype("float32")
    write_reference(dest, {"image": x}, {"output_0": model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/pin_convertible_image",
    url="https://github.com/tensorflow/tensorflow/issues/74843",
    summary="Keras 3 FCN with [None,None,None,3] input that converts; user pins image=1,96,96,3",
    build=build,
    expect="repaired",
    args=("--pin", "image=1,96,96,3"),
    pinned={"image": (1, 96, 96, 3)},
    rewrites=("pin_dynamic_dims",),
)
