"""Monte Carlo dropout: ``Dropout(...)(x, training=True)`` left in the inference graph.

Source: https://github.com/tensorflow/tensorflow/issues/50502 ("The TFLite Converter has errors when
``training=True`` is used in Dropout and BatchNormalization layers": a pix2pix generator keeps dropout on at
inference, as the GAN book says) and https://github.com/tensorflow/tensorflow/issues/37009 (RandomUniform from
dropout "is truly random ... cannot resolve as constant").

Rebuilt: Keras 3 Input((8,), name="features") -> Dense(16) -> Dropout(0.5)(training=True) -> Dense(2);
``model.export(dir)``. The outputs are random at inference (Keras 3 draws with stateless random ops, which
need Flex), so no repair can be *verified* and dropping the dropout would change the model: the tool must
refuse to publish (exit 1, or 3 "cannot be verified") and its message must say the model is random, not only
list ops it has no builtin for.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((8,), name="features")
    h = keras.layers.Dropout(0.5)(keras.layers.Dense(16, activation="relu")(inp), training=True)
    model = keras.Model(inp, keras.layers.Dense(2)(h))
    path = dest / SAVED_MODEL
    model.export(str(path))
    x = rng(21).standard_normal((2, 8)).astype("float32")
    write_reference(dest, {"features": x}, {"output_0": model(x)})  # one random draw: never compared
    return path


CASE = WildCase(
    id="wild/mc_dropout_training_true",
    url="https://github.com/tensorflow/tensorflow/issues/50502",
    summary="Keras 3 Dropout(training=True) (MC dropout) in the serving path: random at inference",
    build=build,
    expect="refused",
    exit_codes=(1, 3),
    reason="random",
)
