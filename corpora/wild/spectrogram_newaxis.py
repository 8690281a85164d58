"""Audio classifier whose spectrogram front end adds the channel axis with ``spec[..., None]``.

Source: https://github.com/tensorflow/tensorflow/issues/48018 ("TensorFlow Lite conversion error when using the
slice semantics to expand the last dimension": ``tensor[..., None]`` needs Flex StridedSlice; the user could
not ship the Select TF runtime and replaced it by ``tf.expand_dims(tensor, axis=-1)``). On dynamic dims a
StridedSlice with ``new_axis_mask`` is not lowered to builtins (docs/facts.md 10: Keras-Hub did the same swap).

Rebuilt: Keras 3 Input((None,), name="waveform") (any number of samples) -> Spectrogram layer
(``tf.signal.stft(frame_length=64, frame_step=32)``, magnitude, ``[..., tf.newaxis]``) -> Conv2D(4, 3) ->
GlobalMaxPooling2D -> Dense(3); ``model.export(dir)``. The user has recorded clips and hands one over as
``--sample sample.npz`` (an unknown length cannot be guessed: a generated 16-sample input is shorter than one
STFT frame, and the tool says so, asking for --pin or --sample). Must be repaired: same numbers, no Flex.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(0)

    class Spectrogram(keras.layers.Layer):
        def call(self, waveform):
            spec = tf.abs(tf.signal.stft(waveform, frame_length=64, frame_step=32))
            return spec[..., tf.newaxis]

    inp = keras.Input((None,), name="waveform")
    x = keras.layers.Conv2D(4, 3, activation="relu")(Spectrogram()(inp))
    model = keras.Model(inp, keras.layers.Dense(3)(keras.layers.GlobalMaxPooling2D()(x)))
    path = dest / SAVED_MODEL
    model.export(str(path))
    x = rng(14).standard_normal((1, 800)).astype("float32")
    write_reference(dest, {"waveform": x}, {"output_0": model(x, training=False)})
    np.savez(dest / "sample.npz", waveform=x)  # the user's recorded clip
    return path


CASE = WildCase(
    id="wild/spectrogram_newaxis",
    url="https://github.com/tensorflow/tensorflow/issues/48018",
    summary="Keras 3 audio model, stft magnitude [..., tf.newaxis] on unknown length: Flex StridedSlice",
    build=build,
    expect="repaired",
    args=("--sample", "{case_dir}/sample.npz"),
)
