"""A small transformer encoder classifying from its first (CLS) token: the GPU delegate refuses the token slice.

Rebuilt from https://github.com/tensorflow/tensorflow/issues/56081 ("TFLite/GPU tfl.strided_slice not supported":
``x[0, 0]`` fails the GPU compatibility check) and https://github.com/tensorflow/tensorflow/issues/59232 (a
transformer that cannot run on the GPU delegate). Here: a Keras 3 functional model on float tokens [1, 8, 16]
(Embedding-free), Dense(gelu) -> a custom self-attention layer (q, k, v Dense, softmax(q k^T / sqrt(d)) v, residual)
-> LayerNormalization -> ``h[:, 0, :]`` (the CLS token) -> Dense(4), exported with
``model.export(dir, input_signature=...)`` at batch 1. It converts builtins-only; the GPU delegate's rules refuse
the STRIDED_SLICE ("Slice does not support shrink_axis_mask parameter.") and Keras 3 LayerNormalization's MUL of
rsqrt(variance) [1, 8, 1] by gamma [1, 1, 16] ("MUL requires one tensor that not less than second in all
dimensions."), so the head runs on the CPU. Repair slices keeping the axis and reshapes, and expands gamma to
[1, 8, 16] (a folded constant).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    seed_all(keras=True)

    class SelfAttention(keras.layers.Layer):
        def __init__(self, dim: int, **kwargs):
            super().__init__(**kwargs)
            self.q, self.k, self.v = keras.layers.Dense(dim), keras.layers.Dense(dim), keras.layers.Dense(dim)
            self.scale = 1.0 / dim**0.5

        def call(self, x):
            q, k, v = self.q(x), self.k(x), self.v(x)
            weights = keras.ops.softmax(keras.ops.matmul(q, keras.ops.transpose(k, (0, 2, 1))) * self.scale, axis=-1)
            return x + keras.ops.matmul(weights, v)

    inputs = keras.Input(shape=(8, 16), batch_size=1, name="tokens")
    h = keras.layers.Dense(16, activation="gelu")(inputs)
    h = SelfAttention(16, name="attention")(h)
    h = keras.layers.LayerNormalization()(h)
    cls = h[:, 0, :]
    model = keras.Model(inputs, keras.layers.Dense(4, name="logits")(cls))
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False, input_signature=[tf.TensorSpec([1, 8, 16], tf.float32, name="tokens")])
    return out


CASE = Case(
    id="targets/gpu_cls_token",
    summary="Keras 3 encoder classifying from h[:, 0, :], batch 1: the GPU delegate refuses the shrinking slice",
    build=build,
    expect=Expect(
        findings=frozenset({"gpu-incompatible"}),
        fix_exit=0,
        rewrites=("substitute_target_ops",),
        diagnose_args=("--target", "gpu"),
        fix_args=("--target", "gpu"),
        note="GPU rules: STRIDED_SLICE with shrink_axis_mask and LayerNormalization's outer-product MUL; repaired to "
        "slice + RESHAPE and a folded [1, 8, 16] gamma",
    ),
)
