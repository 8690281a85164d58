"""A Keras 3 self-attention layer written with NumPy behavior on; its float64 comes from producers the old
codemod never looked at.

Rebuilt from https://github.com/tensorflow/tensorflow/issues/49969: a conformer encoder whose multi-head
self-attention module did matmul and multiply; converting the SavedModel stopped at ``'tf.Mul' op is neither a
custom op nor a flex op`` (TF Select ops: Mul), and the only answer was SELECT_TF_OPS. Here, as in many
NumPy-style ports, the attention scale is ``1 / sqrt(tnp.asarray(key_dim, dtype=float))`` (``dtype=float`` is
float64), the relative-position bias divides two integer tensors (``tf.range(n) / tf.shape(x)[1]``: float64) and
the temperature is a NumPy scalar (``np.float64``) kept on the layer. With numpy behavior on, each one promotes the
float32 scores to float64, and the export needs Flex BatchMatMulV2/Mul/RealDiv/Sub/Softmax. The old codemod knew
only tnp constructors of Python floats and linspace/arange: it left every float64 in place and only swapped tnp
calls, and its "safe" swap of the last ``tnp.matmul`` for ``tf.linalg.matmul`` (no promotion) made the script die:
``Input 'y' of 'BatchMatMulV2' Op has type float32 that does not match type float64 of argument 'x'``.

Usage: python tnp_keras_attention_missed.py OUT_DIR
"""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
import tensorflow.experimental.numpy as tnp

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

tnp.experimental_enable_numpy_behavior()


class RelativeSelfAttention(keras.layers.Layer):
    def __init__(self, key_dim, **kwargs):
        super().__init__(**kwargs)
        self.key_dim = key_dim
        self.temperature = np.float64(0.5)
        self.qkv = keras.layers.Dense(3 * key_dim)

    def call(self, x):
        q, k, v = tf.split(self.qkv(x), 3, axis=-1)
        scale = 1.0 / tnp.sqrt(tnp.asarray(self.key_dim, dtype=float))
        scores = tnp.matmul(q, tnp.swapaxes(k, 1, 2)) * scale
        positions = tf.range(tf.shape(x)[1]) / tf.shape(x)[1]
        bias = tnp.abs(tnp.expand_dims(positions, 1) - tnp.expand_dims(positions, 0))
        weights = tf.nn.softmax((scores - bias) / self.temperature, axis=-1)
        return tnp.matmul(weights, v)


def build_model():
    inputs = keras.Input(shape=(6, 8), name="frames")
    x = keras.layers.Dense(8)(inputs)
    x = RelativeSelfAttention(4)(x)
    outputs = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, outputs)


def main(out_dir):
    keras.utils.set_random_seed(0)
    tf.random.set_seed(0)
    np.random.seed(0)

    model = build_model()
    model.export(str(out_dir / "saved_model"), verbose=False)

    frames = np.random.default_rng(1).standard_normal((2, 6, 8)).astype("float32")
    write_reference(out_dir, {"frames": frames}, {"output_0": model(frames)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
