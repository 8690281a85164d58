"""A Keras 3 CNN trained under the ``mixed_float16`` policy and exported as it is.

Source: https://github.com/tensorflow/tensorflow/issues/46380 ("Add support for converting mixed_float16
models to TF_lite": ``from_saved_model`` fails on the float16 casts) and the workaround in
https://github.com/sebastian-sz/efficientnet-lite-keras/issues/12 (save weights, rebuild under float32, load
them, export). Keras 3 still exports the float16 compute (Cast ops between float32 variables and float16
activations).

Rebuilt: ``keras.mixed_precision.set_global_policy("mixed_float16")``; Input((16, 16, 3), name="image") ->
Conv2D(8, 3) -> GlobalAveragePooling2D -> Dense(5) -> Activation("softmax", dtype="float32") (as the mixed
precision guide says); ``model.export(dir)``. Reference: the live model (float16 compute). Must be repaired
to a builtins-only model within float16 tolerance.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import keras

    keras.mixed_precision.set_global_policy("mixed_float16")
    keras.utils.set_random_seed(0)
    inp = keras.Input((16, 16, 3), name="image")
    x = keras.layers.Conv2D(8, 3, activation="relu")(inp)
    x = keras.layers.Dense(5)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inp, keras.layers.Activation("softmax", dtype="float32")(x))
    path = dest / SAVED_MODEL
    model.export(str(path))
    x = rng(18).standard_normal((2, 16, 16, 3)).astype("float32")
    write_reference(dest, {"image": x}, {"output_0": model(x, training=False)})
    return path


CASE = WildCase(
    id="wild/mixed_float16_keras3",
    url="https://github.com/tensorflow/tensorflow/issues/46380",
    summary="Keras 3 CNN under the mixed_float16 policy, model.export",
    build=build,
    expect="repaired",
    atol=2e-3,
    rtol=2e-2,
)
