"""NeRF-style volume rendering head: transmittance as an exclusive ``tf.math.cumprod`` along each ray.

Sources: https://github.com/tensorflow/tensorflow/issues/30131 ("Unsupported cumsum, cumprod and scatter_nd
ops": ``Here is a list of operators for which you will need custom implementations: Cumprod, ...``) and the
pattern named in https://github.com/tenstorrent/tt-forge-onnx/issues/1481 ("In a lot of NeRF models we often
do cumulative product of transmittances"). The original NeRF code is
``weights = alpha * tf.math.cumprod(1. - alpha + 1e-10, axis=-1, exclusive=True)``. Today builtins-only:
``ERROR_NEEDS_FLEX_OPS``, ``TF Select ops: Cumprod``.

Rebuilt: Keras 3 inputs ``density`` (16,) and ``rgb`` (16, 3) (16 samples per ray, batch of rays None) ->
Render layer (alpha = 1 - exp(-relu(density) * 0.1); weights = alpha * exclusive cumprod; pixel = sum of
weights * rgb); ``model.export(dir)``. Must be repaired without flags.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    class Render(keras.layers.Layer):
        def call(self, density, rgb):
            alpha = 1.0 - tf.exp(-tf.nn.relu(density) * 0.1)
            weights = alpha * tf.math.cumprod(1.0 - alpha + 1e-10, axis=-1, exclusive=True)
            return tf.reduce_sum(weights[..., None] * rgb, axis=-2)

    density = keras.Input((16,), name="density")
    rgb = keras.Input((16, 3), name="rgb")
    model = keras.Model([density, rgb], Render()(density, rgb))
    path = dest / SAVED_MODEL
    model.export(str(path))
    g = rng(33)
    feeds = {"density": (3 * g.random((4, 16))).astype("float32"), "rgb": g.random((4, 16, 3)).astype("float32")}
    write_reference(dest, feeds, {"output_0": model([feeds["density"], feeds["rgb"]], training=False)})
    return path


CASE = WildCase(
    id="wild/nerf_cumprod",
    url="https://github.com/tensorflow/tensorflow/issues/30131",
    summary="Keras 3 NeRF render layer, exclusive tf.math.cumprod along rays, model.export: Flex Cumprod",
    build=build,
    expect="repaired",
)
