"""STFT of a 1 s clip resized to 128x128 with the area method (124x129 -> 128x128, non-integer factors).

Source: https://github.com/tensorflow/tensorflow/issues/30872 ("can't use tf.image.resize_images in TFLite":
``stft = tf.image.resize_images(stft, (128, 128), method=3)``, method 3 = AREA; the converter lists ResizeArea
among the ops "for which you will need custom implementations"). Today: ``ERROR_NEEDS_CUSTOM_OPS``,
``Custom ops: ResizeArea``; SELECT_TF_OPS does not help.

Rebuilt in TF2 style: tf.Module, signature waveform: float32 [1, 16000];
``tf.signal.stft(frame_length=255, frame_step=128)`` (124 frames x 129 bins, the TF audio tutorial's
settings) -> magnitude -> ``[..., None]`` -> ``tf.image.resize(..., (128, 128), method="area")`` -> conv 3x3x1x4
-> mean -> dense 4x3; ``tf.saved_model.save`` with the signature. Area resize by a non-integer factor is still a
fixed linear map; must be repaired without flags.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, weights
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import tensorflow as tf

    class Classifier(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.kernel = tf.Variable(weights(3, 3, 1, 4))
            self.dense = tf.Variable(weights(4, 3))

        @tf.function(input_signature=[tf.TensorSpec([1, 16000], tf.float32, name="waveform")])
        def serve(self, waveform):
            stft = tf.abs(tf.signal.stft(waveform, frame_length=255, frame_step=128))[..., None]
            stft = tf.image.resize(stft, (128, 128), method="area")
            h = tf.nn.relu(tf.nn.conv2d(stft, self.kernel, 1, "SAME"))
            return {"scores": tf.matmul(tf.reduce_mean(h, axis=[1, 2]), self.dense)}

    model = Classifier()
    path = dest / SAVED_MODEL
    tf.saved_model.save(model, str(path), signatures={"serving_default": model.serve})
    x = (0.1 * rng(17).standard_normal((1, 16000))).astype("float32")
    write_reference(dest, {"waveform": x}, model.serve(tf.constant(x)))
    return path


CASE = WildCase(
    id="wild/stft_resize_area",
    url="https://github.com/tensorflow/tensorflow/issues/30872",
    summary="STFT 124x129 resized to 128x128 with method=area in a TF2 signature: custom ResizeArea",
    build=build,
    expect="repaired",
)
