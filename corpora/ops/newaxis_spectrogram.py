"""Keras 3 audio model whose spectrogram layer adds the channel axis with ``x[..., tf.newaxis]``.

A user wrote a ``keras.layers.Layer`` that turns raw audio into a magnitude spectrogram,
``tf.abs(tf.signal.stft(audio, 8, 4, pad_end=True))[..., tf.newaxis]``, and fed it to Conv2D(4, 3) ->
GlobalAveragePooling2D -> Dense(3), with ``keras.Input((None,), name="audio")`` (clips of any length),
exported with ``model.export(dir)``. The spectrogram is [batch, frames, 5] with two unknown dims, and a
StridedSlice with ``new_axis_mask`` over two unknown dims stays a TF op: ``ERROR_NEEDS_FLEX_OPS`` /
``TF Select ops: StridedSlice`` (measured in TF 2.21; ``tf.expand_dims`` converts at any shape, which is why
Keras-Hub replaced ``x[:, None]`` by ``ops.expand_dims``). Without flags, repair substitutes a slice plus
ExpandDims and keeps the dynamic contract; with ``--pin audio=1,N`` the slice would fold away instead.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    seed_all(keras=True)

    class Spectrogram(keras.layers.Layer):
        def call(self, audio):
            return tf.abs(tf.signal.stft(audio, frame_length=8, frame_step=4, pad_end=True))[..., tf.newaxis]

    audio = keras.Input((None,), name="audio")
    h = Spectrogram(name="spectrogram")(audio)
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(audio, keras.layers.Dense(3, name="scores")(h))
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    return out


CASE = Case(
    id="ops/newaxis_spectrogram",
    summary="Keras 3 spectrogram layer with [..., tf.newaxis] on [?, ?] frames, model.export: Flex StridedSlice",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-flex-ops", "dynamic-dims"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: StridedSlice (new_axis_mask = 8); fixed without a pin",
    ),
)
